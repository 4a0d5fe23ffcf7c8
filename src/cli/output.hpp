#pragma once
// How a command talks to the user. Human mode: results on stdout, notes and
// errors on stderr. --json mode: every result is one JSON object per line on
// stdout (flushed at once: tests and scripts read it through a pipe), errors
// also as {"event":"error",...}. -q keeps only errors; NO_COLOR, a non-tty or
// TERM=dumb turn colour off (https://no-color.org).
#include "cli/exit_codes.hpp"
#include "cli/paths.hpp"

#include <ftsync/util/result.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <string_view>

namespace ftsync::cli {

struct global_options {
  bool json = false;
  bool verbose = false;
  bool quiet = false;
  std::string config_file;  // --config FILE, empty for the default
};

// True when colour may be written to `fd`: a terminal, NO_COLOR unset or
// empty, TERM not "dumb".
bool color_allowed(int fd, const env_lookup& env);

// One JSON object as one line; invalid UTF-8 (a peer's odd file name) is
// replaced rather than thrown on.
std::string json_line(const nlohmann::ordered_json& j);

// The error object of --json mode.
nlohmann::ordered_json error_json(const error& e);

// "ftsync: <command>: <subject>: <message>" (subject omitted when empty).
// The message is escaped for the terminal: it may come from a peer.
std::string error_text(std::string_view command, std::string_view subject, const error& e);

class output {
 public:
  output(const global_options& opts, std::string command, const env_lookup& env);

  bool json() const noexcept { return m_opts.json; }
  bool quiet() const noexcept { return m_opts.quiet; }
  bool verbose() const noexcept { return m_opts.verbose; }
  bool stdout_color() const noexcept { return m_stdout_color; }
  bool stderr_color() const noexcept { return m_stderr_color; }
  const std::string& command() const noexcept { return m_command; }

  // A JSON result line (json mode only; no-op otherwise).
  void emit(const nlohmann::ordered_json& j) const;
  // A human result line on stdout (not in json mode).
  void line(std::string_view text) const;
  // A human note on stderr, dropped by -q and --json.
  void note(std::string_view text) const;
  // A warning on stderr ("ftsync: warning: ..."); shown even with --json.
  void warn(std::string_view text) const;
  // Reports `e` on stderr (and as JSON on stdout in json mode) and returns
  // `exit` so a command can `return out.fail(...)`.
  int fail(std::string_view subject, const error& e, int exit) const;
  int fail(std::string_view subject, const error& e, phase where) const {
    return fail(subject, e, exit_code_for(e, where));
  }

 private:
  global_options m_opts;
  std::string m_command;
  bool m_stdout_color = false;
  bool m_stderr_color = false;
};

}  // namespace ftsync::cli
