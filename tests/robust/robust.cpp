#include "robust/robust.hpp"

#include <doctest/doctest.h>

#include <signal.h>

#include <cstdlib>
#include <sstream>

namespace robust {

int count(const char* name, int quick) {
  const char* v = std::getenv(name);
  if (!v || !*v) return quick;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return (end && !*end && n > 0 && n < 1000000) ? static_cast<int>(n) : quick;
}

std::uint64_t peak_rss_kib(pid_t pid) {
  std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

background::background(const node& n, const std::string& tag, const std::vector<std::string>& args,
                       const env_list& extra_env) {
  out = n.dir() / (tag + ".out");
  err = n.dir() / (tag + ".err");
  std::vector<std::string> argv{ftsync_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  env_list env = n.env();
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  proc = std::make_unique<child>(argv, env, out, err);
}

int background::wait(std::chrono::milliseconds limit) {
  const auto st = proc->wait_for(limit);
  if (!st) return -1000;
  int code = 0, sig = 0;
  decode_status(*st, code, sig);
  return sig ? -sig : code;
}

std::string background::text() const {
  return "--- stdout\n" + read_text(out).substr(0, 4000) + "--- stderr\n" + read_text(err).substr(0, 4000);
}

const fs::path& proxy_binary() {
  static const fs::path p = FTSYNC_PROXY_BINARY;
  return p;
}

proxy::proxy(const fs::path& dir, std::uint16_t target_port, const faults& f) {
  static unsigned counter = 0;
  const std::string k = std::to_string(++counter);
  m_out = dir / ("proxy-" + k + ".out");
  m_err = dir / ("proxy-" + k + ".err");
  m_stats = dir / ("proxy-" + k + ".stats");
  auto num = [](double d) {
    std::ostringstream s;
    s << d;
    return s.str();
  };
  std::vector<std::string> argv{proxy_binary().string(), "--listen", "0", "--target",
                                "127.0.0.1:" + std::to_string(target_port), "--lifetime",
                                std::to_string(f.lifetime_s), "--seed", std::to_string(f.seed), "--loss", num(f.loss),
                                "--reorder", num(f.reorder), "--duplicate", num(f.duplicate), "--corrupt",
                                num(f.corrupt), "--delay", std::to_string(f.delay_ms), "--stats", m_stats.string()};
  if (f.blackout_for_s > 0) {
    argv.insert(argv.end(), {"--blackout-after-bytes", std::to_string(f.blackout_after_bytes), "--blackout-for",
                             std::to_string(f.blackout_for_s)});
  }
  if (f.spread_sources) argv.insert(argv.end(), {"--spread-sources", "1"});
  if (!f.record.empty()) argv.insert(argv.end(), {"--record", f.record.string()});
  m_child = std::make_unique<child>(argv, env_list{}, m_out, m_err);
  std::string line;
  const bool got = wait_until(
      [&] {
        const std::string text = read_text(m_out);
        const auto nl = text.find('\n');
        if (nl != std::string::npos) line = text.substr(0, nl);
        return nl != std::string::npos || !m_child->running();
      },
      10s, 5ms);
  INFO("proxy stderr: ", read_text(m_err));
  REQUIRE_MESSAGE(got, "udp_fault_proxy printed nothing within 10 s");
  const json j = json::parse(line, nullptr, false);
  REQUIRE_MESSAGE((j.is_object() && j.contains("port")), ("udp_fault_proxy first line: " + line));
  m_port = j["port"].get<std::uint16_t>();
}

proxy::~proxy() {
  if (m_child && m_child->running()) (void)m_child->stop(5s);
}

json proxy::stop() {
  if (m_child->running()) (void)m_child->stop(5s);
  const json j = json::parse(read_text(m_stats), nullptr, false);
  return j.is_object() ? j : json::object();
}

std::string proxy::log() const { return read_text(m_err); }

std::map<std::string, std::string> final_files(const fs::path& dir) {
  std::map<std::string, std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& [p, e] : snapshot(dir)) {
    if (e.type != 'f') continue;
    const auto slash = p.rfind('/');
    const std::string name = slash == std::string::npos ? p : p.substr(slash + 1);
    // ftsync's own files (partials, state) are not part of the tree.
    if (name.rfind(".ftsync", 0) == 0) continue;
    out[p] = e.digest;
  }
  return out;
}

}  // namespace robust
