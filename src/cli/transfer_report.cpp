#include "cli/transfer_report.hpp"

#include "cli/format.hpp"

#include <ftsync/util/log.hpp>

#include <unistd.h>

namespace ftsync::cli {

std::string_view action_name(ops::file_action a) noexcept {
  switch (a) {
    case ops::file_action::sent: return "sent";
    case ops::file_action::received: return "received";
    case ops::file_action::up_to_date: return "up_to_date";
    case ops::file_action::resumed: return "resumed";
    case ops::file_action::skipped: return "skipped";
  }
  return "unknown";
}

std::string resumed_line(const ops::file_event& ev) {
  return "resumed " + escape_for_log(ev.path) + ": kept " + std::to_string(ev.resumed_bytes) + " of " +
         std::to_string(ev.size) + " bytes already verified";
}

nlohmann::ordered_json file_json(const ops::file_event& ev) {
  return {{"event", "file"},
          {"path", ev.path},
          {"action", std::string(action_name(ev.action))},
          {"size", ev.size},
          {"resumed_bytes", ev.resumed_bytes},
          {"note", ev.note}};
}

std::string summary_line(std::string_view verb, const ops::transfer_summary& s) {
  std::string extra;
  auto add = [&](const std::string& part) {
    if (!extra.empty()) extra += ", ";
    extra += part;
  };
  if (s.up_to_date > 0) add(std::to_string(s.up_to_date) + " up to date");
  if (s.resumed_bytes > 0) add(human_size(s.resumed_bytes) + " resumed");
  if (s.skipped > 0) add(std::to_string(s.skipped) + " skipped");
  std::string line = std::string(verb) + " " + plural(s.files, "file", "files");
  if (!extra.empty()) line += " (" + extra + ")";
  line += ", " + human_size(s.bytes) + " in " + human_seconds(s.seconds) + ", " +
          human_rate(rate_of(s.bytes, s.seconds));
  return line;
}

nlohmann::ordered_json summary_json(std::string_view op, const ops::transfer_summary& s) {
  return {{"event", "summary"},
          {"op", std::string(op)},
          {"files", s.files},
          {"dirs", s.dirs},
          {"bytes", s.bytes},
          {"resumed_bytes", s.resumed_bytes},
          {"up_to_date", s.up_to_date},
          {"skipped", s.skipped},
          {"wire_bytes_sent", s.wire.wire_bytes_sent},
          {"wire_bytes_received", s.wire.wire_bytes_received},
          {"seconds", s.seconds},
          {"rate_bytes_per_second", rate_of(s.bytes, s.seconds)}};
}

transfer_report::transfer_report(const context& ctx, std::string op) : m_ctx(ctx), m_op(std::move(op)) {
  const bool bar = ::isatty(STDERR_FILENO) == 1 && !ctx.out.quiet() && !ctx.out.json();
  m_bar = std::make_unique<progress_bar>(stderr, bar, ctx.out.stderr_color());
}

ops::transfer_options transfer_report::options() {
  ops::transfer_options o;
  o.on_progress = [this](const ops::progress& p) { m_bar->update(p); };
  o.on_file = [this](const ops::file_event& ev) { on_file(ev); };
  return o;
}

void transfer_report::on_file(const ops::file_event& ev) {
  if (m_ctx.out.json()) {
    m_ctx.out.emit(file_json(ev));
    return;
  }
  if (m_ctx.out.quiet()) return;
  const bool resumed = ev.resumed_bytes > 0;
  const bool skipped = ev.action == ops::file_action::skipped;
  if (!resumed && !skipped && !m_ctx.out.verbose()) return;
  m_bar->clear();
  if (resumed) m_ctx.out.line(resumed_line(ev));
  if (skipped)
    m_ctx.out.note("skipped " + escape_for_log(ev.path) + (ev.note.empty() ? "" : ": " + escape_for_log(ev.note)));
  else if (!resumed)  // -v: every file
    m_ctx.out.line(std::string(action_name(ev.action)) + " " + escape_for_log(ev.path) + " (" +
                   human_size(ev.size) + ")");
}

void transfer_report::finish(const ops::transfer_summary& s) {
  m_bar->clear();
  m_ctx.out.emit(summary_json(m_op, s));
  if (!m_ctx.out.quiet()) m_ctx.out.line(summary_line(m_op == "push" ? "pushed" : "pulled", s));
}

}  // namespace ftsync::cli
