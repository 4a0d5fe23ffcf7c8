// ftsync pull PEER:PATH... LOCAL_DIR: a remote dir `src` lands as LOCAL_DIR/src.
#include "cli/peer_path.hpp"
#include "cli/remote_peer.hpp"
#include "cli/signals.hpp"
#include "cli/transfer_report.hpp"

#include <ftsync/util/log.hpp>

#include <filesystem>

namespace ftsync::cli {
namespace {

int run_pull(context& ctx, const std::vector<std::string>& args, const std::string& bwlimit) {
  if (args.size() < 2)
    return ctx.out.fail("", make_error(errc::invalid_argument, "expected PEER:PATH... LOCAL_DIR"), exit_code::usage);
  const std::vector<std::string> remote_args(args.begin(), args.end() - 1);
  auto sources = parse_same_peer(remote_args);
  if (!sources) return ctx.out.fail("", sources.err(), exit_code::usage);
  const std::filesystem::path local_dir = args.back();
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(local_dir, ec)) && parse_peer_path(args.back()).ok())
    return ctx.out.fail(args.back(), make_error(errc::invalid_argument,
                                                "the last argument of pull is a local directory (write ./" +
                                                    args.back() + " if that is the name you want)"),
                        exit_code::usage);
  std::vector<rel_path> paths;
  for (const auto& s : *sources) paths.push_back(s.path);

  transfer_report report(ctx, "pull");
  install_interrupt_exit(report.bar_enabled(), ctx.out.json());
  auto c = connect_to_peer(ctx, sources->front().peer, bwlimit_flag(bwlimit));
  if (!c.value) return c.exit;
  auto summary = c.value->remote->pull(paths, local_dir, report.options());
  if (!summary) {
    report.clear();
    const std::string subject = sources->size() == 1 ? sources->front().display() : sources->front().peer;
    return ctx.out.fail(subject, summary.err(), phase::operation);
  }
  c.value->remote->close();
  report.finish(*summary);
  return exit_code::ok;
}

}  // namespace

command make_pull(CLI::App& parent) {
  auto args = std::make_shared<std::vector<std::string>>();
  auto bwlimit = std::make_shared<std::string>();
  auto* app = parent.add_subcommand("pull", "Fetch files and trees from a peer into a local directory (resumable)");
  app->add_option("paths", *args, "Remote paths (one peer), then the local directory")
      ->required()
      ->type_name("PEER:PATH... LOCAL_DIR");
  add_bwlimit_option(*app, *bwlimit, "Bandwidth limit in bytes/s, both directions: 512K, 10M, 1.5G (a bare number is KiB/s, as in rsync; 0 is none) [env FTSYNC_BWLIMIT, config client.bwlimit]");
  app->footer(example_footer({"ftsync pull laptop:/photos laptop:/notes.txt ~/restore   # ~/restore/photos, ..."}));
  return {app, [args, bwlimit](context& ctx) { return run_pull(ctx, *args, *bwlimit); }};
}

}  // namespace ftsync::cli
