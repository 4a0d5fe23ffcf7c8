#pragma once
// What push and pull print: the progress bar, one line per resumed file, one
// JSON object per file in --json mode, and the closing summary.
#include "cli/context.hpp"
#include "cli/progress_bar.hpp"

#include <ftsync/ops/remote.hpp>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace ftsync::cli {

std::string_view action_name(ops::file_action a) noexcept;  // "sent", "up_to_date", ...

// "resumed PATH: kept N of M bytes already verified"
std::string resumed_line(const ops::file_event& ev);
// {"event":"file","path",...}
nlohmann::ordered_json file_json(const ops::file_event& ev);
// "pushed 12 files (3 up to date), 3.4 MiB in 0.52 s, 6.5 MiB/s"; `verb` is
// "pushed" or "pulled". Parenthesised counts appear only when non-zero.
std::string summary_line(std::string_view verb, const ops::transfer_summary& s);
// {"event":"summary","op":"push",...}
nlohmann::ordered_json summary_json(std::string_view op, const ops::transfer_summary& s);

class transfer_report {
 public:
  // `op` is "push" or "pull".
  transfer_report(const context& ctx, std::string op);
  // Callbacks for ops::remote::push/pull; valid while this object lives.
  ops::transfer_options options();
  bool bar_enabled() const noexcept { return m_bar->enabled(); }
  // Erases the bar and prints the summary.
  void finish(const ops::transfer_summary& s);
  // Erases the bar (before an error message).
  void clear() { m_bar->clear(); }

 private:
  void on_file(const ops::file_event& ev);
  const context& m_ctx;
  std::string m_op;
  std::unique_ptr<progress_bar> m_bar;
};

}  // namespace ftsync::cli
