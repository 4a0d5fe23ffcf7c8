// ftsync ls PEER:PATH: list a remote directory (or show one file).
#include "cli/format.hpp"
#include "cli/peer_path.hpp"
#include "cli/remote_peer.hpp"
#include "cli/signals.hpp"

#include <ftsync/util/log.hpp>

#include <algorithm>

namespace ftsync::cli {
namespace {

int run_ls(context& ctx, const std::string& arg) {
  auto target = parse_peer_path(arg);
  if (!target) return ctx.out.fail(arg, target.err(), exit_code::usage);
  install_interrupt_exit(false, ctx.out.json());
  auto c = connect_to_peer(ctx, target->peer);
  if (!c.value) return c.exit;
  auto entries = c.value->remote->list(target->path);
  if (!entries) return ctx.out.fail(target->display(), entries.err(), phase::operation);
  c.value->remote->close();

  if (ctx.out.json()) {
    for (const auto& e : *entries)
      ctx.out.emit({{"name", e.name},
                    {"type", std::string(kind_name(e.kind))},
                    {"size", e.size},
                    {"mtime_ns", e.mtime_ns},
                    {"mode", e.mode}});
    return exit_code::ok;
  }
  std::size_t size_width = 1;
  for (const auto& e : *entries) size_width = std::max(size_width, std::to_string(e.size).size());
  const bool color = ctx.out.stdout_color();
  for (const auto& e : *entries) {
    const std::string size = std::to_string(e.size);
    // Names come from the peer: escaped so none can move the cursor.
    std::string name = escape_for_log(e.name);
    const bool dir = e.kind == wire::entry_kind::directory;
    if (color && dir) name = "\033[1;34m" + name + "\033[0m";
    ctx.out.line(mode_string(e.kind, e.mode) + " " + std::string(size_width - size.size(), ' ') + size + " " +
                 local_time(e.mtime_ns) + " " + name + (dir ? "/" : ""));
  }
  return exit_code::ok;
}

}  // namespace

command make_ls(CLI::App& parent) {
  auto arg = std::make_shared<std::string>();
  auto* app = parent.add_subcommand("ls", "List a directory on a peer: mode, size, mtime, name (dirs end in /)");
  app->add_option("path", *arg, "Remote path; PEER: alone is the served root")->required()->type_name("PEER:PATH");
  app->footer(example_footer({"ftsync ls laptop:/photos", "ftsync --json ls laptop:"}));
  return {app, [arg](context& ctx) { return run_ls(ctx, *arg); }};
}

}  // namespace ftsync::cli
