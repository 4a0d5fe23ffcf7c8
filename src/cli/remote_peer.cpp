#include "cli/remote_peer.hpp"

#include <ftsync/session/client.hpp>
#include <ftsync/util/log.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cmath>

namespace ftsync::cli {

identity_outcome load_identity(const context& ctx) {
  identity_outcome r;
  const auto file = ctx.dirs.identity();
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0 && errno == ENOENT) {
    r.exit = ctx.out.fail("", make_error(errc::not_found, "no identity yet: run ftsync keygen"),
                          exit_code::local_io);
    return r;
  }
  auto id = crypto::identity::load(file);
  if (!id) {
    r.exit = ctx.out.fail("", id.err(), exit_code::local_io);
    return r;
  }
  r.value = std::make_unique<crypto::identity>(std::move(*id));
  return r;
}

std::string unknown_peer_message(std::string_view name, const session::trust_store& store) {
  std::string msg = "unknown peer '" + escape_for_log(name) + "'";
  if (store.peers().empty()) return msg + ": no trusted peers yet (add one with ftsync trust ID --name NAME --address HOST:PORT)";
  msg += "; trusted peers: ";
  for (std::size_t i = 0; i < store.peers().size(); ++i) {
    if (i > 0) msg += ", ";
    msg += store.peers()[i].name;
  }
  return msg;
}

connect_outcome connect_to_peer(const context& ctx, std::string_view peer_name,
                                std::optional<std::uint64_t> bwlimit_flag) {
  connect_outcome r;
  if ((r.exit = ctx.prepare_config_dir()) != exit_code::ok) return r;
  int exit = 0;
  auto cfg = ctx.load_settings(exit);
  if (!cfg) {
    r.exit = exit;
    return r;
  }
  auto store = session::trust_store::load(ctx.dirs.peers());
  if (!store) {
    r.exit = ctx.out.fail("", store.err(), phase::local);
    return r;
  }
  const auto* peer = store->find_by_name(peer_name);
  if (peer == nullptr) {
    r.exit = ctx.out.fail("", make_error(errc::not_found, unknown_peer_message(peer_name, *store)),
                          exit_code::usage);
    return r;
  }
  if (peer->address.empty()) {
    r.exit = ctx.out.fail(peer->name,
                          make_error(errc::invalid_argument,
                                     "peer " + peer->name + " has no address: add one with ftsync trust " +
                                         crypto::format_id(peer->key) + " --name " + peer->name +
                                         " --address HOST:PORT"),
                          exit_code::usage);
    return r;
  }
  auto endpoint = transport::parse_endpoint(peer->address);
  if (!endpoint) {
    r.exit = ctx.out.fail(peer->name, endpoint.err(), exit_code::usage);
    return r;
  }
  auto me = load_identity(ctx);
  if (!me.value) {
    r.exit = me.exit;
    return r;
  }
  session::client_options opts;
  if (cfg->connect_timeout_s)
    opts.connect_timeout =
        std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(*cfg->connect_timeout_s * 1000.0)));
  opts.max_send_rate = bwlimit_flag.value_or(cfg->client_bwlimit.value_or(0));
  if (opts.max_send_rate != 0) log::debug("bandwidth limit " + format_rate(opts.max_send_rate) + "/s");
  log::debug("connecting to " + peer->name + " at " + endpoint->to_string());
  auto client = session::client::connect(*endpoint, *me.value, peer->key, opts);
  if (!client) {
    r.exit = ctx.out.fail(peer->name, client.err(), phase::connect);
    return r;
  }
  connected_peer c;
  c.peer = *peer;
  c.endpoint = *endpoint;
  c.me = std::move(me.value);
  c.remote = std::make_unique<ops::remote>(std::move(*client));
  r.value = std::move(c);
  return r;
}

}  // namespace ftsync::cli
