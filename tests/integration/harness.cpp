#include "integration/harness.hpp"

#include <ftsync/crypto/hash.hpp>
#include <ftsync/crypto/keys.hpp>

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace integ {

namespace {

using clock_type = std::chrono::steady_clock;

// Variables a child inherits from the test process; everything else is
// dropped so the user's own ftsync config can never be read or written.
constexpr const char* k_passthrough_env[] = {"PATH", "TMPDIR", "ASAN_OPTIONS", "UBSAN_OPTIONS",
                                             "LSAN_OPTIONS", "LANG", "LC_ALL"};

std::string sanitize_tag(std::string_view tag) {
  std::string out;
  for (char c : tag) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return out.substr(0, 40);
}

// The scratch dir for foreground commands' captured output; removed at exit.
temp_dir& scratch() {
  static temp_dir dir("scratch");
  return dir;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void make_writable(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(root, ec))) return;
  ::chmod(root.c_str(), 0700);
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
  }
}

// A sanitizer report in a child's stderr fails the test even when the
// command's exit code was as expected (a failing command aborting in ASan
// still "fails").
void check_sanitizer_clean(const std::string& err, const std::string& what) {
  const bool dirty = err.find("ERROR: AddressSanitizer") != std::string::npos ||
                     err.find("ERROR: LeakSanitizer") != std::string::npos ||
                     err.find("runtime error:") != std::string::npos;
  CHECK_MESSAGE(!dirty, ("sanitizer report from " + what + ":\n" + err.substr(0, 4000)));
}

}  // namespace

const fs::path& ftsync_binary() {
  static const fs::path p = FTSYNC_BINARY;
  return p;
}

// ---------------------------------------------------------------- temp_dir

temp_dir::temp_dir(std::string_view tag) {
  std::string templ = "/tmp/ftsync-integ-" + sanitize_tag(tag) + "-XXXXXX";
  if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  m_path = templ;
}

temp_dir::~temp_dir() {
  make_writable(m_path);
  std::error_code ec;
  fs::remove_all(m_path, ec);
}

// ---------------------------------------------------------------- child

child::child(const std::vector<std::string>& argv, const env_list& env, const fs::path& out_file,
             const fs::path& err_file) {
  std::vector<std::string> env_strings;
  for (const char* name : k_passthrough_env)
    if (const char* v = std::getenv(name)) env_strings.push_back(std::string(name) + "=" + v);
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  const int rc = ::posix_spawn(&m_pid, argp[0], &fa, &attr, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("posix_spawn " + args[0] + ": " + std::strerror(rc));
}

child::~child() {
  if (running()) {
    ::kill(m_pid, SIGKILL);
    (void)wait_for(10s);
  }
}

bool child::running() {
  if (m_status) return false;
  int st = 0;
  const pid_t r = ::waitpid(m_pid, &st, WNOHANG);
  if (r == m_pid) {
    m_status = st;
    return false;
  }
  return r == 0;
}

std::optional<int> child::wait_for(std::chrono::milliseconds limit) {
  const auto deadline = clock_type::now() + limit;
  auto nap = 1ms;
  while (running()) {
    if (clock_type::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(nap);
    nap = std::min<std::chrono::milliseconds>(nap * 2, 20ms);
  }
  return m_status;
}

void child::signal(int sig) {
  if (running()) ::kill(m_pid, sig);
}

int child::stop(std::chrono::milliseconds grace) {
  signal(SIGTERM);
  if (auto st = wait_for(grace)) return *st;
  signal(SIGKILL);
  if (auto st = wait_for(10s)) return *st;
  return -1;
}

void decode_status(int raw, int& exit_code, int& sig) {
  exit_code = -1;
  sig = 0;
  if (WIFEXITED(raw)) exit_code = WEXITSTATUS(raw);
  else if (WIFSIGNALED(raw)) sig = WTERMSIG(raw);
}

// ---------------------------------------------------------------- run

std::string describe(const run_result& r) {
  std::ostringstream s;
  s << "$ " << r.command << "\n";
  if (r.timed_out) s << "TIMED OUT and killed after " << r.seconds << " s\n";
  else if (r.signal) s << "killed by signal " << r.signal << " after " << r.seconds << " s\n";
  else s << "exit " << r.exit_code << " (" << r.seconds << " s)\n";
  auto clip = [](const std::string& t) { return t.size() > 3000 ? t.substr(0, 3000) + "...[clipped]" : t; };
  s << "--- stdout\n" << clip(r.out) << "--- stderr\n" << clip(r.err);
  return s.str();
}

run_result run(const std::vector<std::string>& argv, const env_list& env, std::chrono::milliseconds timeout) {
  static unsigned counter = 0;
  const unsigned n = ++counter;
  const fs::path out = scratch() / ("run-" + std::to_string(n) + ".out");
  const fs::path err = scratch() / ("run-" + std::to_string(n) + ".err");
  run_result r;
  for (const auto& a : argv) r.command += (r.command.empty() ? "" : " ") + (a.find(' ') == std::string::npos && !a.empty() ? a : "'" + a + "'");
  const auto t0 = clock_type::now();
  {
    child c(argv, env, out, err);
    auto st = c.wait_for(timeout);
    if (!st) {
      r.timed_out = true;
      c.signal(SIGKILL);
      st = c.wait_for(10s);
    }
    if (st) decode_status(*st, r.exit_code, r.signal);
  }
  r.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  r.out = slurp(out);
  r.err = slurp(err);
  check_sanitizer_clean(r.err, r.command);
  std::error_code ec;
  fs::remove(out, ec);
  fs::remove(err, ec);
  return r;
}

// ---------------------------------------------------------------- node

node::node(const fs::path& base, std::string name) : m_name(std::move(name)), m_dir(base / m_name) {
  fs::create_directories(m_dir / "home");
  fs::create_directories(config_home());
  fs::create_directories(state_home());
}

env_list node::env() const {
  return {{"HOME", (m_dir / "home").string()},
          {"XDG_CONFIG_HOME", config_home().string()},
          {"XDG_STATE_HOME", state_home().string()}};
}

run_result node::ftsync(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                        const env_list& extra_env) const {
  std::vector<std::string> argv{ftsync_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  env_list e = env();
  e.insert(e.end(), extra_env.begin(), extra_env.end());
  return run(argv, e, timeout);
}

std::string node::init() {
  auto k = ftsync({"keygen"});
  REQUIRE_MESSAGE(k.exit_code == 0, describe(k));
  auto i = ftsync({"id"});
  REQUIRE_MESSAGE(i.exit_code == 0, describe(i));
  std::string id = i.out;
  while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
  REQUIRE_MESSAGE(!id.empty(), describe(i));
  m_id = id;
  return m_id;
}

void node::trust(const node& other, const std::string& as_name, const std::string& address, bool read_only) const {
  std::vector<std::string> args{"trust", other.id(), "--name", as_name};
  if (!address.empty()) {
    args.push_back("--address");
    args.push_back(address);
  }
  if (read_only) args.push_back("--read-only");
  auto r = ftsync(args);
  REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
}

// ---------------------------------------------------------------- server

server::server(const node& n, const fs::path& root, std::uint16_t port, const std::vector<std::string>& extra_args) {
  static unsigned counter = 0;
  const unsigned k = ++counter;
  m_out_file = n.dir() / ("serve-" + std::to_string(k) + ".out");
  m_err_file = n.dir() / ("serve-" + std::to_string(k) + ".err");
  fs::create_directories(root);
  std::vector<std::string> argv{ftsync_binary().string(), "--json", "serve", "--root", root.string(),
                                "--listen", "127.0.0.1:" + std::to_string(port)};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  m_child = std::make_unique<child>(argv, n.env(), m_out_file, m_err_file);
  std::string first_line;
  const bool got = wait_until(
      [&] {
        const std::string text = slurp(m_out_file);
        const auto nl = text.find('\n');
        if (nl != std::string::npos) first_line = text.substr(0, nl);
        return nl != std::string::npos || !m_child->running();
      },
      15s, 10ms);
  INFO("serve stdout: ", slurp(m_out_file));
  INFO("serve stderr: ", slurp(m_err_file));
  REQUIRE_MESSAGE(got, "ftsync serve printed no line within 15 s");
  REQUIRE_MESSAGE(!first_line.empty(), "ftsync serve exited before printing its listening line");
  const json j = json::parse(first_line, nullptr, false);
  REQUIRE_MESSAGE((j.is_object() && j.contains("port") && j["port"].is_number_unsigned()),
                  ("first line of `ftsync --json serve` is not {...\"port\":N}: " + first_line));
  CHECK_MESSAGE((j.contains("event") && j["event"] == "listening"), ("first serve line: " + first_line));
  m_port = j["port"].get<std::uint16_t>();
  REQUIRE(m_port != 0);
  if (port != 0) CHECK(m_port == port);
}

server::~server() {
  if (m_child && m_child->running()) (void)stop(5s);
}

int server::stop(std::chrono::milliseconds grace) {
  const auto t0 = clock_type::now();
  const int raw = m_child->stop(grace);
  m_stop_seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  check_sanitizer_clean(log(), "ftsync serve");
  int code = 0, sig = 0;
  decode_status(raw, code, sig);
  return sig ? -sig : code;
}

std::string server::out() const { return slurp(m_out_file); }
std::string server::log() const { return slurp(m_err_file); }

// ---------------------------------------------------------------- pair_setup

pair_setup::pair_setup(std::string_view tag, bool read_only, const fs::path& root_rel)
    : dir(tag), srv(dir.path(), "srv"), cli(dir.path(), "cli"), root(dir / root_rel) {
  fs::create_directories(root);
  srv.init();
  cli.init();
  srv.trust(cli, "cli", {}, read_only);
  serve = std::make_unique<server>(srv, root);
  cli.trust(srv, "srv", serve->address());
}

void pair_setup::restart_server() {
  const std::uint16_t port = serve->port();
  serve->stop();
  serve.reset();
  serve = std::make_unique<server>(srv, root, port);
}

// ---------------------------------------------------------------- files

void write_random_file(const fs::path& file, std::uint64_t size, std::uint64_t seed) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  REQUIRE_MESSAGE(out.good(), ("cannot create " + file.string()));
  // The seed picks a random point of splitmix64's cycle. (It used to be
  // seed * gamma + 1: seed 9's stream was seed 8's shifted by one word, so
  // "different" files shared nearly all their chunks.)
  std::uint64_t state = seed * 0xbf58476d1ce4e5b9ULL;
  state = (state ^ (state >> 31)) * 0x94d049bb133111ebULL;
  state ^= state >> 29;
  std::vector<std::uint64_t> buf(1 << 17);  // 1 MiB
  std::uint64_t left = size;
  while (left > 0) {
    for (auto& w : buf) {  // splitmix64
      std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      w = z ^ (z >> 31);
    }
    const std::uint64_t n = std::min<std::uint64_t>(left, buf.size() * sizeof(std::uint64_t));
    out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(n));
    left -= n;
  }
  REQUIRE(out.good());
}

void write_text(const fs::path& file, std::string_view text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  REQUIRE_MESSAGE(out.good(), ("cannot create " + file.string()));
  out << text;
}

std::string read_text(const fs::path& file) { return slurp(file); }

void set_mtime_ns(const fs::path& p, std::int64_t ns) {
  timespec ts[2];
  ts[0].tv_sec = ns / 1000000000;
  ts[0].tv_nsec = ns % 1000000000;
  ts[1] = ts[0];
  REQUIRE(::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
}

std::int64_t mtime_ns(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return -1;
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

bool same_content(const fs::path& a, const fs::path& b) {
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  if (!fa || !fb) return false;
  std::vector<char> ba(1 << 20), bb(1 << 20);
  while (true) {
    fa.read(ba.data(), static_cast<std::streamsize>(ba.size()));
    fb.read(bb.data(), static_cast<std::streamsize>(bb.size()));
    const auto na = fa.gcount(), nb = fb.gcount();
    if (na != nb || std::memcmp(ba.data(), bb.data(), static_cast<std::size_t>(na)) != 0) return false;
    if (na == 0) return true;
  }
}

namespace {

std::string hash_file(const fs::path& p) {
  static const bool inited = ftsync::crypto::init().ok();
  REQUIRE(inited);
  ftsync::crypto::hasher h;
  std::ifstream in(p, std::ios::binary);
  if (!in) return "<unreadable>";
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = in.gcount();
    if (n > 0) h.update({reinterpret_cast<const ftsync::byte*>(buf.data()), static_cast<std::size_t>(n)});
  }
  const auto d = h.finish();
  return ftsync::to_hex(d);
}

tree_entry entry_for(const fs::path& p) {
  struct stat st {};
  tree_entry e;
  if (::lstat(p.c_str(), &st) != 0) return e;
  e.mode = st.st_mode & 07777;
  e.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (S_ISREG(st.st_mode)) {
    e.type = 'f';
    e.size = static_cast<std::uint64_t>(st.st_size);
    e.digest = hash_file(p);
  } else if (S_ISDIR(st.st_mode)) {
    e.type = 'd';
  } else if (S_ISLNK(st.st_mode)) {
    e.type = 'l';
    std::error_code ec;
    e.digest = fs::read_symlink(p, ec).string();
  } else {
    e.type = 'o';
  }
  return e;
}

}  // namespace

tree snapshot(const fs::path& root) {
  tree t;
  t[""] = entry_for(root);
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    t[fs::relative(it->path(), root).string()] = entry_for(it->path());
  }
  return t;
}

std::string tree_diff(const tree& expected, const tree& actual, const compare_options& opts) {
  std::ostringstream d;
  auto same_time = [&](std::int64_t a, std::int64_t b) {
    return a / opts.mtime_precision_ns == b / opts.mtime_precision_ns;
  };
  for (const auto& [path, e] : expected) {
    if (path.empty() && !opts.root_entry) continue;
    auto it = actual.find(path);
    const std::string name = path.empty() ? "<root>" : path;
    if (it == actual.end()) {
      d << "missing: " << name << "\n";
      continue;
    }
    const auto& a = it->second;
    if (a.type != e.type) {
      d << name << ": type " << e.type << " expected, got " << a.type << "\n";
      continue;
    }
    if (e.type == 'f' && (a.size != e.size || a.digest != e.digest))
      d << name << ": content differs (size " << e.size << " vs " << a.size << ")\n";
    if (e.type == 'l' && a.digest != e.digest) d << name << ": link target differs\n";
    if (opts.mode && e.type != 'l' && a.mode != e.mode)
      d << name << ": mode 0" << std::oct << e.mode << " expected, got 0" << a.mode << std::dec << "\n";
    const bool check_time = (e.type == 'f' && opts.mtime_files) || (e.type == 'd' && opts.mtime_dirs);
    if (check_time && !same_time(a.mtime_ns, e.mtime_ns))
      d << name << ": mtime " << e.mtime_ns << " expected, got " << a.mtime_ns << "\n";
  }
  for (const auto& [path, a] : actual)
    if (!path.empty() && !expected.count(path)) d << "unexpected: " << path << " (type " << a.type << ")\n";
  return d.str();
}

std::vector<fs::path> find_partials(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (n.rfind(".ftsync.", 0) == 0 && n.size() > 5 && n.compare(n.size() - 5, 5, ".part") == 0)
      out.push_back(fs::relative(it->path(), dir));
  }
  return out;
}

std::uint64_t largest_partial(const fs::path& dir) {
  std::uint64_t best = 0;
  for (const auto& p : find_partials(dir)) {
    struct stat st {};
    if (::lstat((dir / p).c_str(), &st) == 0) best = std::max<std::uint64_t>(best, static_cast<std::uint64_t>(st.st_size));
  }
  return best;
}

// ---------------------------------------------------------------- misc

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit,
                std::chrono::milliseconds interval) {
  const auto deadline = clock_type::now() + limit;
  while (true) {
    if (pred()) return true;
    if (clock_type::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

std::uint16_t unused_udp_port() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::vector<json> json_lines(const std::string& out) {
  std::vector<json> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] != '{') continue;
    json j = json::parse(line.substr(b), nullptr, false);
    if (!j.is_discarded() && j.is_object()) v.push_back(std::move(j));
  }
  return v;
}

std::optional<json> find_summary(const std::string& out) {
  std::optional<json> found;
  for (auto& j : json_lines(out))
    if (j.contains("files") && j.contains("bytes")) found = j;
  return found;
}

namespace {
void collect(const json& j, std::vector<json>& out) {
  if (j.is_object()) {
    out.push_back(j);
    for (const auto& [k, v] : j.items()) collect(v, out);
  } else if (j.is_array()) {
    for (const auto& v : j) collect(v, out);
  }
}
}  // namespace

std::vector<json> all_json_objects(const std::string& out) {
  std::vector<json> v;
  for (const auto& j : json_lines(out)) collect(j, v);
  return v;
}

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

bool contains_icase(std::string_view hay, std::string_view needle) {
  auto lower = [](std::string_view s) {
    std::string r(s);
    for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
  };
  return contains(lower(hay), lower(needle));
}

}  // namespace integ
