// ftsync untrust NAME|ID
#include "cli/remote_peer.hpp"

#include <ftsync/session/trust.hpp>

namespace ftsync::cli {
namespace {

int run_untrust(context& ctx, const std::string& which) {
  if (int rc = ctx.prepare_config_dir(); rc != exit_code::ok) return rc;
  auto store = session::trust_store::load(ctx.dirs.peers());
  if (!store) return ctx.out.fail("", store.err(), phase::local);
  const session::peer_entry* victim = store->find_by_name(which);
  if (victim == nullptr)
    if (auto key = crypto::parse_id(which)) victim = store->find_by_key(*key);
  if (victim == nullptr)
    return ctx.out.fail("", make_error(errc::not_found, unknown_peer_message(which, *store)), exit_code::usage);
  const session::peer_entry gone = *victim;
  if (auto st = store->remove(gone.name); !st) return ctx.out.fail(which, st.err(), exit_code::internal);
  if (auto st = store->save(); !st) return ctx.out.fail("", st.err(), phase::local);
  const std::string id_text = crypto::format_id(gone.key);
  ctx.out.emit({{"event", "untrusted"}, {"name", gone.name}, {"id", id_text}});
  ctx.out.line("untrusted " + gone.name + " (" + id_text + ")");
  return exit_code::ok;
}

}  // namespace

command make_untrust(CLI::App& parent) {
  auto which = std::make_shared<std::string>();
  auto* app = parent.add_subcommand("untrust", "Stop trusting a peer; a running server refuses its next session");
  app->add_option("PEER", *which, "The peer's name or id")->required();
  app->footer(example_footer({"ftsync untrust laptop"}));
  return {app, [which](context& ctx) { return run_untrust(ctx, *which); }};
}

}  // namespace ftsync::cli
