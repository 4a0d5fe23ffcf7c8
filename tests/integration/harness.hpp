#pragma once
// Integration test harness: drives the real `ftsync` binary (FTSYNC_BINARY)
// as separate processes on 127.0.0.1 and inspects what they leave on disk.
//
// Every process the harness starts is bounded in time: a foreground command
// is SIGKILLed when its timeout passes (60 s by default) and a background
// server is SIGTERMed, then SIGKILLed after a bounded grace period, when its
// owner goes out of scope. Every directory it creates lives under /tmp and is
// removed by an RAII owner, even when a REQUIRE aborts the test.
//
// Nodes are kept apart the way the issue prescribes: each has its own
// XDG_CONFIG_HOME and XDG_STATE_HOME (and HOME, so nothing can leak into the
// real user's ~/.config).
#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace integ {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using json = nlohmann::json;

// Path of the ftsync binary under test.
const fs::path& ftsync_binary();

// ---------------------------------------------------------------- temp dirs

// A fresh directory /tmp/ftsync-integ-<tag>-XXXXXX, removed (after making
// every entry writable again: tests chmod things) when destroyed.
class temp_dir {
 public:
  explicit temp_dir(std::string_view tag);
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const fs::path& path() const noexcept { return m_path; }
  fs::path operator/(const fs::path& rel) const { return m_path / rel; }

 private:
  fs::path m_path;
};

// ---------------------------------------------------------------- processes

using env_list = std::vector<std::pair<std::string, std::string>>;

// A child process with stdin from /dev/null and stdout/stderr written to
// files (files, not pipes: a long-running server must never block on a full
// pipe that nobody drains). Killed with SIGKILL and reaped on destruction if
// it is still running.
class child {
 public:
  child(const std::vector<std::string>& argv, const env_list& env, const fs::path& out_file,
        const fs::path& err_file);
  ~child();
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  pid_t pid() const noexcept { return m_pid; }
  // True while the process has not been reaped.
  bool running();
  // Waits up to `limit` for the process to end; its raw wait status, or
  // nullopt when it is still running.
  std::optional<int> wait_for(std::chrono::milliseconds limit);
  // Sends `sig` to this process only (by pid), if it still runs.
  void signal(int sig);
  // SIGTERM, then SIGKILL after `grace`; returns the raw wait status.
  int stop(std::chrono::milliseconds grace);
  std::optional<int> status() const noexcept { return m_status; }

 private:
  pid_t m_pid = -1;
  std::optional<int> m_status;
};

struct run_result {
  std::string command;  // the argv joined, for failure messages
  int exit_code = -1;   // -1 when killed by a signal
  int signal = 0;       // the terminating signal, 0 when it exited
  bool timed_out = false;
  double seconds = 0;
  std::string out;
  std::string err;
};

// "$ cmd\nexit 3 (0.12 s)\n--- stdout\n...\n--- stderr\n..." for CHECK messages.
std::string describe(const run_result& r);

// Runs argv to completion (or kills it after `timeout`).
run_result run(const std::vector<std::string>& argv, const env_list& env,
               std::chrono::milliseconds timeout = 60s);

// Decodes a raw wait status into exit code / signal.
void decode_status(int raw, int& exit_code, int& sig);

// ---------------------------------------------------------------- nodes

// One ftsync node: an identity, trusted peers, config and state of its own.
class node {
 public:
  node(const fs::path& base, std::string name);

  const std::string& name() const noexcept { return m_name; }
  const fs::path& dir() const noexcept { return m_dir; }
  fs::path config_home() const { return m_dir / "config"; }
  fs::path state_home() const { return m_dir / "state"; }
  // $XDG_CONFIG_HOME/ftsync: where identity and trusted peers live.
  fs::path config_dir() const { return config_home() / "ftsync"; }
  env_list env() const;

  // ftsync <args...> as this node; `extra_env` adds variables (FTSYNC_CONNECT_TIMEOUT...).
  run_result ftsync(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 60s,
                    const env_list& extra_env = {}) const;
  // keygen, then id; REQUIREs both to succeed and returns the id.
  std::string init();
  // The id printed by `ftsync id` (cached after init()).
  const std::string& id() const noexcept { return m_id; }
  // ftsync trust <other's id> --name NAME [--address ADDR] [--read-only]; REQUIREs success.
  void trust(const node& other, const std::string& as_name, const std::string& address = {},
             bool read_only = false) const;

 private:
  std::string m_name;
  fs::path m_dir;
  std::string m_id;
};

// A background `ftsync --json serve --root ROOT --listen 127.0.0.1:PORT`.
// The constructor waits (bounded, 15 s) for the first stdout line
// {"event":"listening",...,"port":N} and REQUIREs it.
class server {
 public:
  server(const node& n, const fs::path& root, std::uint16_t port = 0,
         const std::vector<std::string>& extra_args = {});
  ~server();

  std::uint16_t port() const noexcept { return m_port; }
  std::string address() const { return "127.0.0.1:" + std::to_string(m_port); }
  pid_t pid() const noexcept { return m_child->pid(); }
  // SIGTERM, then SIGKILL after `grace`. Returns the exit code, or -signal
  // when it was killed; also records how long the shutdown took.
  int stop(std::chrono::milliseconds grace = 10s);
  double stop_seconds() const noexcept { return m_stop_seconds; }
  bool running() { return m_child->running(); }
  std::string out() const;  // everything written to stdout so far
  std::string log() const;  // everything written to stderr so far

 private:
  fs::path m_out_file;
  fs::path m_err_file;
  std::unique_ptr<child> m_child;
  std::uint16_t m_port = 0;
  double m_stop_seconds = 0;
};

// A server node and a client node that trust each other; the client knows
// the server as peer "srv" at its address, the server knows the client as
// "cli". The served root is <dir>/<root_rel> (created).
struct pair_setup {
  explicit pair_setup(std::string_view tag, bool read_only = false, const fs::path& root_rel = "srv-root");

  temp_dir dir;
  node srv;
  node cli;
  fs::path root;
  std::unique_ptr<server> serve;

  // ftsync <args...> as the client.
  run_result c(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 60s) const {
    return cli.ftsync(args, timeout);
  }
  // Restarts the server (same root); on the same port when possible.
  void restart_server();
};

// ---------------------------------------------------------------- files

// Deterministic pseudo-random content (splitmix64 seeded with `seed`).
void write_random_file(const fs::path& file, std::uint64_t size, std::uint64_t seed);
void write_text(const fs::path& file, std::string_view text);
std::string read_text(const fs::path& file);
// Sets a file's (not a symlink target's) mtime in nanoseconds since the epoch.
void set_mtime_ns(const fs::path& p, std::int64_t ns);
std::int64_t mtime_ns(const fs::path& p);  // lstat
// Files equal byte for byte (both must exist and be regular).
bool same_content(const fs::path& a, const fs::path& b);

struct tree_entry {
  char type = '?';  // 'f' file, 'd' dir, 'l' symlink, 'o' other
  std::uint64_t size = 0;
  std::uint32_t mode = 0;  // permission bits (07777)
  std::int64_t mtime_ns = 0;
  std::string digest;  // BLAKE2b-256 hex of a file's content, the target of a link
  bool operator==(const tree_entry&) const = default;
};
// Relative path ("" for the root itself) -> entry; never follows symlinks.
using tree = std::map<std::string, tree_entry>;
tree snapshot(const fs::path& root);

struct compare_options {
  bool mtime_files = true;
  bool mtime_dirs = false;
  // Compare mtimes to this precision (1 = exact nanoseconds).
  std::int64_t mtime_precision_ns = 1;
  bool mode = true;
  bool root_entry = false;  // compare the "" entry too
};
// Empty when equal under `opts`, else one line per difference.
std::string tree_diff(const tree& expected, const tree& actual, const compare_options& opts = {});

// Paths (relative to `dir`) of ftsync partial files (".ftsync.*.part") anywhere beneath dir.
std::vector<fs::path> find_partials(const fs::path& dir);
// Largest partial file size beneath dir (0 when none).
std::uint64_t largest_partial(const fs::path& dir);

// ---------------------------------------------------------------- misc

// Polls `pred` every `interval` until true or `limit` passes.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit,
                std::chrono::milliseconds interval = 20ms);

// A UDP port on 127.0.0.1 that nothing listens on right now.
std::uint16_t unused_udp_port();

// Every line of `out` that parses as a JSON object (other lines skipped).
std::vector<json> json_lines(const std::string& out);
// The last object carrying both "files" and "bytes": the push/pull summary.
std::optional<json> find_summary(const std::string& out);
// Every JSON object anywhere in `out` (recursing into arrays and objects).
std::vector<json> all_json_objects(const std::string& out);

bool contains(std::string_view hay, std::string_view needle);
bool contains_icase(std::string_view hay, std::string_view needle);

}  // namespace integ
