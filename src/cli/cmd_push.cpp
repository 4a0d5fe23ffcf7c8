// ftsync push LOCAL... PEER:DIR: files and trees; a dir `src` lands as DIR/src.
#include "cli/peer_path.hpp"
#include "cli/remote_peer.hpp"
#include "cli/signals.hpp"
#include "cli/transfer_report.hpp"

#include <ftsync/util/log.hpp>

#include <filesystem>

namespace ftsync::cli {
namespace {

int run_push(context& ctx, const std::vector<std::string>& args, const std::string& bwlimit) {
  if (args.size() < 2)
    return ctx.out.fail("", make_error(errc::invalid_argument, "expected LOCAL... PEER:DIR"), exit_code::usage);
  auto target = parse_peer_path(args.back());
  if (!target) return ctx.out.fail(args.back(), target.err(), exit_code::usage);
  std::vector<std::filesystem::path> local;
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    std::error_code ec;
    const auto st = std::filesystem::symlink_status(args[i], ec);
    if (ec || !std::filesystem::exists(st)) {
      // A missing "x:y" was most likely meant as a remote path.
      if (parse_peer_path(args[i]).ok())
        return ctx.out.fail(args[i], make_error(errc::invalid_argument,
                                                "push sends local files to one peer: ftsync push LOCAL... PEER:DIR"),
                            exit_code::usage);
      return ctx.out.fail(args[i], make_error(errc::not_found, ec ? ec.message() : "no such file or directory"),
                          exit_code::local_io);
    }
    local.emplace_back(args[i]);
  }
  transfer_report report(ctx, "push");
  install_interrupt_exit(report.bar_enabled(), ctx.out.json());
  auto c = connect_to_peer(ctx, target->peer, bwlimit_flag(bwlimit));
  if (!c.value) return c.exit;
  auto summary = c.value->remote->push(local, target->path, report.options());
  if (!summary) {
    report.clear();
    return ctx.out.fail(target->display(), summary.err(), phase::operation);
  }
  c.value->remote->close();
  report.finish(*summary);
  return exit_code::ok;
}

}  // namespace

command make_push(CLI::App& parent) {
  auto args = std::make_shared<std::vector<std::string>>();
  auto bwlimit = std::make_shared<std::string>();
  auto* app = parent.add_subcommand("push", "Send local files and trees to a directory on a peer (resumable)");
  app->add_option("paths", *args, "Local files or directories, then PEER:DIR")
      ->required()
      ->type_name("LOCAL... PEER:DIR");
  add_bwlimit_option(*app, *bwlimit, "Bandwidth limit in bytes/s, both directions: 512K, 10M, 1.5G (a bare number is KiB/s, as in rsync; 0 is none) [env FTSYNC_BWLIMIT, config client.bwlimit]");
  app->footer(example_footer({"ftsync push ~/photos notes.txt laptop:/backup   # lands as /backup/photos, /backup/notes.txt"}));
  return {app, [args, bwlimit](context& ctx) { return run_push(ctx, *args, *bwlimit); }};
}

}  // namespace ftsync::cli
