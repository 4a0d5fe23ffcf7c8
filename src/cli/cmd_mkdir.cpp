// ftsync mkdir [-p] PEER:PATH...
#include "cli/path_ops.hpp"

namespace ftsync::cli {
namespace {
struct mkdir_args {
  std::vector<std::string> paths;
  bool parents = false;
};
}  // namespace

command make_mkdir(CLI::App& parent) {
  auto args = std::make_shared<mkdir_args>();
  auto* app = parent.add_subcommand("mkdir", "Create directories on a peer");
  app->add_flag("-p,--parents", args->parents, "Create missing parents; an existing directory is not an error");
  app->add_option("paths", args->paths, "Remote directories to create")->required()->type_name("PEER:PATH...");
  app->footer(example_footer({"ftsync mkdir -p laptop:/backup/2026/june"}));
  return {app, [args](context& ctx) {
            return run_each_path(ctx, args->paths, "mkdir", [&](ops::remote& r, const rel_path& p) {
              return r.make_dir(p, args->parents);
            });
          }};
}

}  // namespace ftsync::cli
