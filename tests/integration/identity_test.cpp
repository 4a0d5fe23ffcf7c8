// keygen / id / trust / untrust / peers, and the identity key's protection
// (research/security.md B9: a key file readable by others or a symlink is
// refused; the server never dumps core).
#include "integration/harness.hpp"

#include <ftsync/crypto/keys.hpp>

#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

using namespace integ;

namespace {

// Regular files under the node's ftsync config dir -> their permission bits.
std::map<std::string, unsigned> config_files(const node& n) {
  std::map<std::string, unsigned> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(n.config_dir(), ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode))
      out[fs::relative(it->path(), n.config_dir()).string()] = st.st_mode & 07777;
  }
  return out;
}

std::string line_with(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (contains(line, needle)) return line;
  return {};
}

bool has_token(const std::string& line, const std::string& token) {
  std::istringstream in(line);
  std::string t;
  while (in >> t)
    if (t == token || t == "(" + token + ")" || t == "[" + token + "]") return true;
  return false;
}

}  // namespace

TEST_CASE("keygen, id, trust, untrust, peers") {
  temp_dir dir("identity");
  node a(dir.path(), "a"), b(dir.path(), "b"), c(dir.path(), "c");

  auto k = a.ftsync({"keygen"});
  REQUIRE_MESSAGE(k.exit_code == 0, describe(k));

  // The identity file(s) written by keygen: 0600, nothing for group/other.
  const auto files = config_files(a);
  REQUIRE_MESSAGE(!files.empty(), ("keygen wrote no file under " + a.config_dir().string()));
  for (const auto& [name, mode] : files)
    CHECK_MESSAGE(mode == 0600, (name + " has mode 0" + (std::ostringstream() << std::oct << mode).str()));

  // id: the id alone on one line, a valid checksummed id, stable.
  auto id1 = a.ftsync({"id"});
  REQUIRE_MESSAGE(id1.exit_code == 0, describe(id1));
  REQUIRE(!id1.out.empty());
  CHECK_MESSAGE(id1.out.back() == '\n', describe(id1));
  CHECK_MESSAGE(std::count(id1.out.begin(), id1.out.end(), '\n') == 1, describe(id1));
  const std::string id = id1.out.substr(0, id1.out.find('\n'));
  CHECK_MESSAGE(ftsync::crypto::parse_id(id).ok(), ("id does not parse: " + id));
  CHECK_MESSAGE(id.find(' ') == std::string::npos, ("id line has spaces: " + id));
  auto id2 = a.ftsync({"id"});
  CHECK(id2.out == id1.out);

  // keygen refuses to overwrite; the identity is unchanged.
  auto again = a.ftsync({"keygen"});
  CHECK_MESSAGE(again.exit_code != 0, describe(again));
  CHECK_MESSAGE(again.signal == 0, describe(again));
  CHECK_MESSAGE(!again.err.empty(), ("refusal should say why: " + describe(again)));
  CHECK(a.ftsync({"id"}).out == id1.out);

  // --force replaces it: a new id.
  auto forced = a.ftsync({"keygen", "--force"});
  CHECK_MESSAGE(forced.exit_code == 0, describe(forced));
  auto id3 = a.ftsync({"id"});
  CHECK_MESSAGE(id3.exit_code == 0, describe(id3));
  CHECK_MESSAGE(id3.out != id1.out, "keygen --force kept the old id");
  for (const auto& [name, mode] : config_files(a)) CHECK_MESSAGE(mode == 0600, (name));

  // id without an identity fails (not a crash, not an empty line with exit 0).
  auto no_id = b.ftsync({"id"});
  CHECK_MESSAGE(no_id.exit_code != 0, describe(no_id));
  CHECK_MESSAGE(no_id.signal == 0, describe(no_id));

  b.init();
  c.init();

  // trust with an address, and a read-only one.
  auto t1 = a.ftsync({"trust", b.id(), "--name", "bob", "--address", "127.0.0.1:47999"});
  CHECK_MESSAGE(t1.exit_code == 0, describe(t1));
  auto t2 = a.ftsync({"trust", c.id(), "--name", "carol", "--read-only"});
  CHECK_MESSAGE(t2.exit_code == 0, describe(t2));
  for (const auto& [name, mode] : config_files(a))
    CHECK_MESSAGE((mode & 077) == 0, (name + " is accessible to group/other after trust"));

  auto peers = a.ftsync({"peers"});
  REQUIRE_MESSAGE(peers.exit_code == 0, describe(peers));
  const std::string bob_line = line_with(peers.out, "bob");
  const std::string carol_line = line_with(peers.out, "carol");
  CHECK_MESSAGE(!bob_line.empty(), describe(peers));
  CHECK_MESSAGE(!carol_line.empty(), describe(peers));
  CHECK_MESSAGE(contains(peers.out, b.id().substr(0, 8)), ("peers should show bob's id\n" + describe(peers)));
  CHECK_MESSAGE(contains(bob_line, "127.0.0.1:47999"), ("peers should show bob's address\n" + describe(peers)));
  CHECK_MESSAGE((contains_icase(carol_line, "read-only") || contains_icase(carol_line, "readonly") ||
                 has_token(carol_line, "ro")),
                ("peers should mark carol read-only\n" + describe(peers)));
  CHECK_MESSAGE(!(contains_icase(bob_line, "read-only") || has_token(bob_line, "ro")),
                ("bob is not read-only\n" + describe(peers)));

  // Bad input to trust is a usage error (exit 2) and changes nothing.
  std::string broken = b.id();
  broken[3] = broken[3] == 'A' ? 'B' : 'A';  // the checksum must catch a typo
  auto bad_id = a.ftsync({"trust", broken, "--name", "typo"});
  CHECK_MESSAGE(bad_id.exit_code == 2, describe(bad_id));
  auto bad_name = a.ftsync({"trust", b.id(), "--name", "no spaces allowed"});
  CHECK_MESSAGE(bad_name.exit_code == 2, describe(bad_name));
  auto peers2 = a.ftsync({"peers"});
  CHECK_MESSAGE(!contains(peers2.out, "typo"), describe(peers2));
  CHECK_MESSAGE(!contains(peers2.out, "no spaces"), describe(peers2));

  // untrust by name and by id.
  auto u1 = a.ftsync({"untrust", "bob"});
  CHECK_MESSAGE(u1.exit_code == 0, describe(u1));
  auto u2 = a.ftsync({"untrust", c.id()});
  CHECK_MESSAGE(u2.exit_code == 0, describe(u2));
  auto peers3 = a.ftsync({"peers"});
  CHECK_MESSAGE(peers3.exit_code == 0, describe(peers3));
  CHECK_MESSAGE(!contains(peers3.out, "bob"), describe(peers3));
  CHECK_MESSAGE(!contains(peers3.out, "carol"), describe(peers3));
  auto u3 = a.ftsync({"untrust", "nobody"});
  CHECK_MESSAGE(u3.exit_code != 0, describe(u3));
  CHECK_MESSAGE(u3.signal == 0, describe(u3));
}

TEST_CASE("an unprotected or symlinked identity key is refused (B9)") {
  temp_dir dir("keyperm");
  node a(dir.path(), "a");
  a.init();
  const auto files = config_files(a);
  REQUIRE(!files.empty());
  fs::create_directories(dir / "root");

  auto serve_once = [&] {
    // A server that starts would run until the timeout: that is a failure too.
    return a.ftsync({"serve", "--root", (dir / "root").string(), "--listen", "127.0.0.1:0"}, 8s);
  };

  SUBCASE("mode 0644") {
    for (const auto& [name, mode] : files) fs::permissions(a.config_dir() / name, fs::perms(0644));
    auto r = serve_once();
    CHECK_MESSAGE(!r.timed_out, ("serve started with a world-readable key\n" + describe(r)));
    CHECK_MESSAGE(r.exit_code != 0, describe(r));
    CHECK_MESSAGE(r.signal == 0, describe(r));
    CHECK_MESSAGE((contains_icase(r.err, "permission") || contains_icase(r.err, "unprotected") ||
                   contains_icase(r.err, "unsafe") || contains_icase(r.err, "0644") || contains_icase(r.err, "mode")),
                  (describe(r)));
  }
  SUBCASE("symlink") {
    for (const auto& [name, mode] : files) {
      const fs::path real = dir / ("real-" + fs::path(name).filename().string());
      fs::rename(a.config_dir() / name, real);
      fs::create_symlink(real, a.config_dir() / name);
    }
    auto r = serve_once();
    CHECK_MESSAGE(!r.timed_out, ("serve started with a symlinked key\n" + describe(r)));
    CHECK_MESSAGE(r.exit_code != 0, describe(r));
    CHECK_MESSAGE(r.signal == 0, describe(r));
  }
  // E2: the peers file decides who gets in; swapped for a symlink (to a
  // file an attacker controls) or made readable by others, it is refused on
  // its own, with the identity untouched.
  SUBCASE("only the peers file symlinked") {
    node b(dir.path(), "b");
    const auto t = a.ftsync({"trust", b.init(), "--name", "b"});
    REQUIRE_MESSAGE(t.exit_code == 0, describe(t));
    fs::rename(a.config_dir() / "peers", dir / "real-peers");
    fs::create_symlink(dir / "real-peers", a.config_dir() / "peers");
    auto r = serve_once();
    CHECK_MESSAGE(!r.timed_out, ("serve started with a symlinked peers file\n" + describe(r)));
    CHECK_MESSAGE(r.exit_code == 5, describe(r));
    CHECK_MESSAGE(contains(r.err, "peers"), describe(r));
  }
  SUBCASE("only the peers file readable by others") {
    node b(dir.path(), "b");
    const auto t = a.ftsync({"trust", b.init(), "--name", "b"});
    REQUIRE_MESSAGE(t.exit_code == 0, describe(t));
    fs::permissions(a.config_dir() / "peers", fs::perms(0644));
    auto r = serve_once();
    CHECK_MESSAGE(!r.timed_out, ("serve started with a world-readable peers file\n" + describe(r)));
    CHECK_MESSAGE(r.exit_code == 5, describe(r));
    CHECK_MESSAGE(contains(r.err, "chmod 600"), describe(r));
  }
}

// B9: the server holds the identity's secret key in memory for its whole
// life, so it must never write a core file. The test first allows core
// files for itself (children inherit the limit); a server that forgot to
// lower the limit would then show it in /proc/PID/limits.
TEST_CASE("serve runs with core dumps disabled (B9)") {
  struct rlimit saved {};
  REQUIRE(::getrlimit(RLIMIT_CORE, &saved) == 0);
  struct rlimit allow {RLIM_INFINITY, RLIM_INFINITY};
  if (::setrlimit(RLIMIT_CORE, &allow) != 0) {
    allow = {saved.rlim_max, saved.rlim_max};
    REQUIRE(::setrlimit(RLIMIT_CORE, &allow) == 0);
  }
  REQUIRE_MESSAGE(allow.rlim_cur > 0, "this user cannot allow core files, so the check could not fail");

  temp_dir dir("nocore");
  node a(dir.path(), "a");
  a.init();
  fs::create_directories(dir / "root");
  std::string line;
  {
    server serve(a, dir / "root");
    std::ifstream limits("/proc/" + std::to_string(serve.pid()) + "/limits");
    for (std::string l; std::getline(limits, l);)
      if (l.rfind("Max core file size", 0) == 0) line = l;
  }
  ::setrlimit(RLIMIT_CORE, &saved);
  REQUIRE_MESSAGE(!line.empty(), "no core limit in /proc/PID/limits");
  std::istringstream fields(line.substr(std::string("Max core file size").size()));
  std::string soft, hard;
  fields >> soft >> hard;
  CHECK_MESSAGE(soft == "0", line);
  CHECK_MESSAGE(hard == "0", line);
}
