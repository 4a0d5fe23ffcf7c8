#pragma once
// Shared pieces of the robustness suite (issue 5): counts that grow in soak
// mode, background ftsync clients, peak RSS, and the fault-injecting UDP
// proxy (tests/tools/udp_fault_proxy.cpp) as an RAII object.
//
// Quick mode (CTest label "robust") uses the defaults below; soak mode
// (tests/robust/soak.sh) raises them through FTSYNC_ROBUST_* variables. Every
// loop is still bounded in count and every process in time.
#include "integration/harness.hpp"

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace robust {

using namespace integ;

// The integer in environment variable `name`, or `quick` when unset or not
// a positive number.
int count(const char* name, int quick);

// VmHWM (peak resident set) of a live process in KiB; 0 when unreadable.
std::uint64_t peak_rss_kib(pid_t pid);

// A background `ftsync ARGS...` of node `n`, output captured to files in its dir.
struct background {
  fs::path out, err;
  std::unique_ptr<child> proc;
  background(const node& n, const std::string& tag, const std::vector<std::string>& args,
             const env_list& extra_env = {});
  // Waits (bounded) for the end; the decoded exit code, -signal, or -1000 on timeout.
  int wait(std::chrono::milliseconds limit);
  std::string text() const;
};

// Fault settings for one proxy; percentages per datagram, both directions.
struct faults {
  double loss = 0, reorder = 0, duplicate = 0, corrupt = 0;
  int delay_ms = 0;
  long long blackout_after_bytes = -1;
  int blackout_for_s = 0;
  std::uint64_t seed = 1;
  int lifetime_s = 300;
  fs::path record;  // client->server datagrams, as [u32 length][bytes]
  bool spread_sources = false;  // each client from its own 127.0.2.x address
};

// A running udp_fault_proxy in front of 127.0.0.1:target_port; stopped
// (SIGTERM, then SIGKILL) when destroyed.
class proxy {
 public:
  proxy(const fs::path& dir, std::uint16_t target_port, const faults& f);
  ~proxy();
  std::uint16_t port() const noexcept { return m_port; }
  std::string address() const { return "127.0.0.1:" + std::to_string(m_port); }
  // Stops the proxy and returns its counters (empty object when none).
  json stop();
  std::string log() const;

 private:
  fs::path m_out, m_err, m_stats;
  std::unique_ptr<child> m_child;
  std::uint16_t m_port = 0;
};

// Path of the proxy binary (FTSYNC_PROXY_BINARY).
const fs::path& proxy_binary();

// Regular files beneath `dir`, except ftsync's own (".ftsync*": partials,
// state), relative path -> BLAKE2b hex.
std::map<std::string, std::string> final_files(const fs::path& dir);

}  // namespace robust
