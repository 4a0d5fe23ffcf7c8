// ftsync peers: list trusted peers.
#include "cli/context.hpp"
#include "cli/format.hpp"

#include <ftsync/session/trust.hpp>

#include <unistd.h>

#include <algorithm>

namespace ftsync::cli {
namespace {

int run_peers(context& ctx) {
  if (int rc = ctx.prepare_config_dir(); rc != exit_code::ok) return rc;
  auto store = session::trust_store::load(ctx.dirs.peers());
  if (!store) return ctx.out.fail("", store.err(), phase::local);
  if (ctx.out.json()) {
    for (const auto& p : store->peers())
      ctx.out.emit({{"name", p.name},
                    {"id", crypto::format_id(p.key)},
                    {"address", p.address},
                    {"read_only", p.read_only}});
    return exit_code::ok;
  }
  if (store->peers().empty()) {
    ctx.out.note("no trusted peers yet: add one with ftsync trust ID --name NAME --address HOST:PORT");
    return exit_code::ok;
  }
  struct row {
    std::string name, id, address, access;
  };
  std::vector<row> rows;
  // The header only for a person: scripts reading a pipe get data lines.
  if (::isatty(STDOUT_FILENO) == 1) rows.push_back({"NAME", "ID", "ADDRESS", "ACCESS"});
  for (const auto& p : store->peers())
    rows.push_back({p.name, crypto::format_id(p.key), p.address.empty() ? "-" : p.address,
                    p.read_only ? "ro" : "rw"});
  std::size_t w_name = 0, w_id = 0, w_addr = 0;
  for (const auto& r : rows) {
    w_name = std::max(w_name, r.name.size());
    w_id = std::max(w_id, r.id.size());
    w_addr = std::max(w_addr, r.address.size());
  }
  for (const auto& r : rows) {
    std::string s = r.name + std::string(w_name - r.name.size() + 2, ' ') + r.id +
                    std::string(w_id - r.id.size() + 2, ' ') + r.address +
                    std::string(w_addr - r.address.size() + 2, ' ') + r.access;
    ctx.out.line(s);
  }
  return exit_code::ok;
}

}  // namespace

command make_peers(CLI::App& parent) {
  auto* app = parent.add_subcommand("peers", "List trusted peers: name, id, address, rw or ro");
  app->footer(example_footer({"ftsync peers", "ftsync --json peers"}));
  return {app, [](context& ctx) { return run_peers(ctx); }};
}

}  // namespace ftsync::cli
