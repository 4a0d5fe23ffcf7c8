// ftsync ping PEER: one authenticated round trip.
#include "cli/remote_peer.hpp"
#include "cli/signals.hpp"

#include <unistd.h>

#include <cstdio>

namespace ftsync::cli {
namespace {

int run_ping(context& ctx, const std::string& peer_arg) {
  // "laptop:" is accepted too, for symmetry with the other commands.
  std::string name = peer_arg;
  if (!name.empty() && name.back() == ':') name.pop_back();
  if (auto st = session::validate_peer_name(name); !st) return ctx.out.fail(peer_arg, st.err(), exit_code::usage);
  install_interrupt_exit(false, ctx.out.json());
  auto c = connect_to_peer(ctx, name);
  if (!c.value) return c.exit;
  auto pong = c.value->remote->ping();
  if (!pong) return ctx.out.fail(name, pong.err(), phase::operation);
  c.value->remote->close();
  const std::string id_text = crypto::format_id(c.value->peer.key);
  const std::string address = c.value->endpoint.to_string();
  const double rtt_ms = pong->rtt_seconds * 1000.0;
  ctx.out.emit({{"event", "pong"},
                {"peer", c.value->peer.name},
                {"id", id_text},
                {"address", address},
                {"rtt_ms", rtt_ms},
                {"server_time_ns", pong->server_time_ns},
                {"server_name", pong->server_name}});
  char rtt[32];
  std::snprintf(rtt, sizeof rtt, "%.2f", rtt_ms);
  ctx.out.line("reply from " + c.value->peer.name + " (" + id_text + ") at " + address + ": rtt " + rtt + " ms");
  return exit_code::ok;
}

}  // namespace

command make_ping(CLI::App& parent) {
  auto peer = std::make_shared<std::string>();
  auto* app = parent.add_subcommand("ping", "Connect to a peer, authenticate it, and time one round trip");
  app->add_option("PEER", *peer, "A trusted peer's name")->required();
  app->footer(example_footer({"ftsync ping laptop"}));
  return {app, [peer](context& ctx) { return run_ping(ctx, *peer); }};
}

}  // namespace ftsync::cli
