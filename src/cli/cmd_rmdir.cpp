// ftsync rmdir PEER:PATH...
#include "cli/path_ops.hpp"

namespace ftsync::cli {

command make_rmdir(CLI::App& parent) {
  auto paths = std::make_shared<std::vector<std::string>>();
  auto* app = parent.add_subcommand("rmdir", "Remove empty directories on a peer");
  app->add_option("paths", *paths, "Remote directories to remove")->required()->type_name("PEER:PATH...");
  app->footer(example_footer({"ftsync rmdir laptop:/old"}));
  return {app, [paths](context& ctx) {
            return run_each_path(ctx, *paths, "rmdir",
                                 [](ops::remote& r, const rel_path& p) { return r.remove_dir(p); });
          }};
}

}  // namespace ftsync::cli
