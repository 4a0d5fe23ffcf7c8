// ftsync rm [-r] PEER:PATH...
#include "cli/path_ops.hpp"

namespace ftsync::cli {
namespace {
struct rm_args {
  std::vector<std::string> paths;
  bool recursive = false;
};
}  // namespace

command make_rm(CLI::App& parent) {
  auto args = std::make_shared<rm_args>();
  auto* app = parent.add_subcommand("rm", "Remove files on a peer (with -r, whole trees)");
  app->add_flag("-r,-R,--recursive", args->recursive, "Remove directories and everything in them");
  app->add_option("paths", args->paths, "Remote files to remove")->required()->type_name("PEER:PATH...");
  app->footer(example_footer({"ftsync rm laptop:/tmp/big.iso", "ftsync rm -r laptop:/old-backup"}));
  return {app, [args](context& ctx) {
            return run_each_path(ctx, args->paths, "rm", [&](ops::remote& r, const rel_path& p) -> status {
              // The served root itself is never a thing to delete.
              if (p.is_root()) return make_error(errc::invalid_argument, "refusing to remove the served root");
              return r.remove(p, args->recursive);
            });
          }};
}

}  // namespace ftsync::cli
