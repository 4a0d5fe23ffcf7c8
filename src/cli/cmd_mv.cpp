// ftsync mv PEER:FROM PEER:TO: rename within one peer's root.
#include "cli/peer_path.hpp"
#include "cli/remote_peer.hpp"
#include "cli/signals.hpp"

namespace ftsync::cli {
namespace {

struct mv_args {
  std::string from;
  std::string to;
};

int run_mv(context& ctx, const mv_args& a) {
  auto both = parse_same_peer({a.from, a.to});
  if (!both) return ctx.out.fail("", both.err(), exit_code::usage);
  const auto& from = (*both)[0];
  const auto& to = (*both)[1];
  if (from.path.is_root() || to.path.is_root())
    return ctx.out.fail(from.path.is_root() ? a.from : a.to,
                        make_error(errc::invalid_argument, "the served root cannot be moved or replaced"),
                        exit_code::usage);
  install_interrupt_exit(false, ctx.out.json());
  auto c = connect_to_peer(ctx, from.peer);
  if (!c.value) return c.exit;
  if (auto st = c.value->remote->move(from.path, to.path); !st)
    return ctx.out.fail(from.display(), st.err(), phase::operation);
  c.value->remote->close();
  ctx.out.emit({{"event", "ok"}, {"op", "mv"}, {"path", "/" + from.path.str()}, {"to", "/" + to.path.str()}});
  if (ctx.out.verbose()) ctx.out.line("mv " + from.display() + " " + to.display());
  return exit_code::ok;
}

}  // namespace

command make_mv(CLI::App& parent) {
  auto args = std::make_shared<mv_args>();
  auto* app = parent.add_subcommand("mv", "Move or rename a file or directory within a peer's folder");
  app->add_option("from", args->from, "Remote source")->required()->type_name("PEER:FROM");
  app->add_option("to", args->to, "Remote destination (replaces a file, never a non-empty directory)")
      ->required()
      ->type_name("PEER:TO");
  app->footer(example_footer({"ftsync mv laptop:/inbox/report.pdf laptop:/archive/report.pdf"}));
  return {app, [args](context& ctx) { return run_mv(ctx, *args); }};
}

}  // namespace ftsync::cli
