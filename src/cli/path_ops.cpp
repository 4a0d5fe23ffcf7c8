#include "cli/path_ops.hpp"

#include "cli/peer_path.hpp"
#include "cli/remote_peer.hpp"
#include "cli/signals.hpp"

namespace ftsync::cli {

int run_each_path(context& ctx, const std::vector<std::string>& args, const std::string& op, const path_op& fn) {
  auto targets = parse_same_peer(args);
  if (!targets) return ctx.out.fail("", targets.err(), exit_code::usage);
  if (targets->empty())
    return ctx.out.fail("", make_error(errc::invalid_argument, "expected PEER:PATH..."), exit_code::usage);
  install_interrupt_exit(false, ctx.out.json());
  auto c = connect_to_peer(ctx, targets->front().peer);
  if (!c.value) return c.exit;
  int first_failure = exit_code::ok;
  for (const auto& t : *targets) {
    auto st = fn(*c.value->remote, t.path);
    if (!st) {
      const int rc = ctx.out.fail(t.display(), st.err(), phase::operation);
      if (first_failure == exit_code::ok) first_failure = rc;
      if (rc == exit_code::connection || rc == exit_code::interrupted) return first_failure;
      continue;
    }
    ctx.out.emit({{"event", "ok"}, {"op", op}, {"path", "/" + t.path.str()}});
    if (ctx.out.verbose()) ctx.out.line(op + " " + t.display());
  }
  c.value->remote->close();
  return first_failure;
}

}  // namespace ftsync::cli
