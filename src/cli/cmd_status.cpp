// ftsync status: every sync pair of this node (from the status files that
// running and finished `ftsync sync` processes leave in the state dir).
#include "cli/context.hpp"
#include "cli/format.hpp"
#include "cli/sync_status.hpp"

#include <ftsync/util/clock.hpp>
#include <ftsync/util/log.hpp>

#include <signal.h>

#include <cerrno>
#include <ctime>

namespace ftsync::cli {
namespace {

bool process_alive(std::int64_t pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

std::string when_text(std::int64_t ns) {
  if (ns <= 0) return "never";
  const std::time_t t = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

int run_status(context& ctx) {
  auto all = read_sync_statuses(ctx.dirs);
  if (all.empty()) {
    ctx.out.emit({{"event", "status"}, {"syncs", nlohmann::ordered_json::array()}});
    ctx.out.line("no folder syncs yet (start one with: ftsync sync DIR PEER:DIR)");
    return exit_code::ok;
  }
  nlohmann::ordered_json syncs = nlohmann::ordered_json::array();
  for (auto& j : all) {
    const bool running = process_alive(j.value("pid", std::int64_t{0}));
    j["running"] = running;
    if (!running) j["connected"] = false;
    syncs.push_back(j);
    if (ctx.out.json()) continue;
    const std::string state = !running ? "stopped" : (j.value("connected", false) ? "connected" : "disconnected");
    ctx.out.line(escape_for_log(j.value("folder", std::string())) + " <-> " + escape_for_log(j.value("remote", std::string())) +
                 "  [" + state + "]");
    ctx.out.line("  pending: " + plural(j.value("pending_files", std::uint64_t{0}), "path", "paths") + ", " +
                 human_size(j.value("pending_bytes", std::uint64_t{0})) +
                 "; last completed sync: " + when_text(j.value("last_sync_ns", std::int64_t{0})));
    ctx.out.line("  rates: up " + human_rate(j.value("rate_up_bytes_per_second", 0.0)) + ", down " +
                 human_rate(j.value("rate_down_bytes_per_second", 0.0)) +
                 "; conflicts seen: " + std::to_string(j.value("conflicts", std::uint64_t{0})));
  }
  ctx.out.emit({{"event", "status"}, {"syncs", syncs}});
  return exit_code::ok;
}

}  // namespace

command make_status(CLI::App& parent) {
  auto* app = parent.add_subcommand("status", "Show each folder sync: peer, connected, pending, last sync, rates, conflicts");
  app->footer(example_footer({"ftsync --json status"}));
  return {app, [](context& ctx) { return run_status(ctx); }};
}

}  // namespace ftsync::cli
