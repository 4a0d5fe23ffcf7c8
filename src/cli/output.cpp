#include "cli/output.hpp"

#include <ftsync/util/log.hpp>

#include <unistd.h>

namespace ftsync::cli {

bool color_allowed(int fd, const env_lookup& env) {
  if (::isatty(fd) != 1) return false;
  if (auto nc = env("NO_COLOR"); nc && !nc->empty()) return false;
  if (auto term = env("TERM"); term && *term == "dumb") return false;
  return true;
}

std::string json_line(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

nlohmann::ordered_json error_json(const error& e) {
  return {{"event", "error"},
          {"code", std::string(errc_name(e.code))},
          {"message", e.message},
          {"remote", e.remote}};
}

std::string error_text(std::string_view command, std::string_view subject, const error& e) {
  std::string s = "ftsync: ";
  if (!command.empty()) {
    s += command;
    s += ": ";
  }
  if (!subject.empty()) {
    s += escape_for_log(subject);
    s += ": ";
  }
  std::string_view msg = e.message;
  // The ops layer prefixes its own context ("/a/b: ..."); when the subject
  // already names that path ("peer:/a/b"), say it once.
  if (const auto colon = subject.find(':'); colon != std::string_view::npos) {
    const std::string prefix = std::string(subject.substr(colon + 1)) + ": ";
    if (prefix.size() > 2 && msg.substr(0, prefix.size()) == prefix) msg.remove_prefix(prefix.size());
  }
  s += escape_for_log(msg.empty() ? errc_name(e.code) : msg);
  return s;
}

output::output(const global_options& opts, std::string command, const env_lookup& env)
    : m_opts(opts), m_command(std::move(command)) {
  m_stdout_color = color_allowed(STDOUT_FILENO, env);
  m_stderr_color = color_allowed(STDERR_FILENO, env);
}

void output::emit(const nlohmann::ordered_json& j) const {
  if (!m_opts.json) return;
  const std::string s = json_line(j) + "\n";
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

void output::line(std::string_view text) const {
  if (m_opts.json) return;
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void output::note(std::string_view text) const {
  if (m_opts.json || m_opts.quiet) return;
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fputc('\n', stderr);
}

void output::warn(std::string_view text) const {
  std::fprintf(stderr, "ftsync: warning: %.*s\n", static_cast<int>(text.size()), text.data());
}

int output::fail(std::string_view subject, const error& e, int exit) const {
  const std::string text = error_text(m_command, subject, e) + "\n";
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
  if (m_opts.json) {
    const std::string s = json_line(error_json(e)) + "\n";
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
  }
  return exit;
}

}  // namespace ftsync::cli
