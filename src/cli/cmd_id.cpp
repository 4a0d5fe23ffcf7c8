// ftsync id: print this node's public id alone on one line.
#include "cli/remote_peer.hpp"

namespace ftsync::cli {
namespace {

int run_id(context& ctx) {
  if (int rc = ctx.prepare_config_dir(); rc != exit_code::ok) return rc;
  auto me = load_identity(ctx);
  if (!me.value) return me.exit;
  const std::string text = crypto::format_id(me.value->key());
  ctx.out.emit({{"event", "id"}, {"id", text}});
  ctx.out.line(text);
  return exit_code::ok;
}

}  // namespace

command make_id(CLI::App& parent) {
  auto* app = parent.add_subcommand("id", "Print this node's id (give it to peers for `ftsync trust`)");
  app->footer(example_footer({"ftsync id"}));
  return {app, [](context& ctx) { return run_id(ctx); }};
}

}  // namespace ftsync::cli
