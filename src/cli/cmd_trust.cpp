// ftsync trust ID --name NAME [--address HOST:PORT] [--read-only]
#include "cli/context.hpp"

#include <ftsync/crypto/keys.hpp>
#include <ftsync/session/trust.hpp>
#include <ftsync/transport/host.hpp>
#include <ftsync/util/log.hpp>

namespace ftsync::cli {
namespace {

struct trust_args {
  std::string id;
  std::string name;
  std::string address;
  bool read_only = false;
};

int run_trust(context& ctx, const trust_args& a) {
  auto key = crypto::parse_id(a.id);
  if (!key) return ctx.out.fail(a.id, key.err(), exit_code::usage);
  if (auto st = session::validate_peer_name(a.name); !st) return ctx.out.fail(a.name, st.err(), exit_code::usage);
  std::string address;
  if (!a.address.empty()) {
    auto ep = transport::parse_endpoint(a.address);
    if (!ep) return ctx.out.fail(a.address, ep.err(), exit_code::usage);
    address = ep->to_string();  // always with its port
  }
  if (int rc = ctx.prepare_config_dir(); rc != exit_code::ok) return rc;
  auto store = session::trust_store::load(ctx.dirs.peers());
  if (!store) return ctx.out.fail("", store.err(), phase::local);

  const auto* same_name = store->find_by_name(a.name);
  const auto* same_key = store->find_by_key(*key);
  // Re-trusting a known peer (e.g. to change --read-only) keeps its address.
  if (address.empty() && same_key != nullptr) address = same_key->address;
  if (same_name != nullptr && same_name->key != *key)
    ctx.out.note("ftsync: trust: replacing peer " + a.name + " (was " + crypto::format_id(same_name->key) + ")");
  if (same_key != nullptr && same_key->name != a.name)
    ctx.out.note("ftsync: trust: renaming peer " + same_key->name + " to " + a.name);

  session::peer_entry e;
  e.name = a.name;
  e.key = *key;
  e.address = address;
  e.read_only = a.read_only;
  if (auto st = store->upsert(e); !st) return ctx.out.fail(a.name, st.err(), exit_code::usage);
  if (auto st = store->save(); !st) return ctx.out.fail("", st.err(), phase::local);

  const std::string id_text = crypto::format_id(*key);
  ctx.out.emit({{"event", "trusted"},
                {"name", e.name},
                {"id", id_text},
                {"address", e.address},
                {"read_only", e.read_only}});
  ctx.out.line("trusted " + e.name + " (" + id_text + ")" + (e.address.empty() ? "" : " at " + e.address) +
               (e.read_only ? ", read-only" : ", read-write"));
  return exit_code::ok;
}

}  // namespace

command make_trust(CLI::App& parent) {
  auto args = std::make_shared<trust_args>();
  auto* app = parent.add_subcommand("trust", "Allow a peer to connect, under a name used as PEER in PEER:PATH");
  app->add_option("ID", args->id, "The peer's id, as printed by `ftsync id` on it")->required();
  app->add_option("-n,--name", args->name, "Name for the peer: 1-64 of A-Z a-z 0-9 . _ -")
      ->required()
      ->type_name("NAME");
  app->add_option("-a,--address", args->address,
                  "Where the peer serves, HOST:PORT (default port 47800); kept from an earlier entry for "
                  "the same id when omitted")
      ->type_name("HOST:PORT");
  app->add_flag("-r,--read-only", args->read_only, "The peer may list and pull from us, nothing else");
  app->footer(example_footer({"ftsync trust ABCDEFGH-...-XYZ23456 --name laptop --address 192.168.1.20:47800"}));
  return {app, [args](context& ctx) { return run_trust(ctx, *args); }};
}

}  // namespace ftsync::cli
