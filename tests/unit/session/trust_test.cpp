#include <ftsync/crypto/keys.hpp>
#include <ftsync/session/trust.hpp>

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using ftsync::errc;
using ftsync::crypto::public_key;
using ftsync::session::peer_entry;
using ftsync::session::trust_store;
using ftsync::session::trust_watcher;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "ftsync-trust-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

public_key fresh_key() {
  REQUIRE(ftsync::crypto::init().ok());
  auto id = ftsync::crypto::identity::generate();
  REQUIRE(id.ok());
  return id->key();
}

peer_entry entry(std::string name, public_key key, std::string address = "", bool ro = false) {
  peer_entry e;
  e.name = std::move(name);
  e.key = key;
  e.address = std::move(address);
  e.read_only = ro;
  return e;
}

void write_file(const fs::path& p, const std::string& text, mode_t mode = 0600) {
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
  }
  REQUIRE(::chmod(p.c_str(), mode) == 0);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("validate_peer_name") {
  for (std::string ok : {std::string("laptop"), std::string("a"), std::string("NAS-2"),
                         std::string("host.example"), std::string("x_y"), std::string(64, 'n')})
    CHECK_MESSAGE(ftsync::session::validate_peer_name(ok).ok(), ok);
  for (std::string bad : {std::string(), std::string(65, 'n'), std::string("-x"), std::string("a b"),
                          std::string("a:b"), std::string("a/b"), std::string("a\tb"), std::string("é"),
                          std::string("a\0b", 3)}) {
    auto st = ftsync::session::validate_peer_name(bad);
    CHECK_FALSE_MESSAGE(st.ok(), bad);
    CHECK(st.code() == errc::invalid_argument);
  }
}

TEST_CASE("a missing trust file is an empty store") {
  temp_dir dir;
  auto store = trust_store::load(dir.path / "peers");
  REQUIRE(store.ok());
  CHECK(store->peers().empty());
  CHECK(store->find_by_name("x") == nullptr);
}

TEST_CASE("save and load round-trip, file is 0600 and in the documented format") {
  temp_dir dir;
  const auto file = dir.path / "peers";
  const auto k1 = fresh_key();
  const auto k2 = fresh_key();
  {
    auto store = trust_store::load(file);
    REQUIRE(store.ok());
    REQUIRE(store->upsert(entry("laptop", k1, "192.168.1.20:47800")).ok());
    REQUIRE(store->upsert(entry("nas", k2, "", true)).ok());
    REQUIRE(store->save().ok());
  }
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);

  const std::string text = read_file(file);
  CHECK(text.find("laptop\t" + ftsync::crypto::format_id(k1) + "\t192.168.1.20:47800\trw\n") !=
        std::string::npos);
  CHECK(text.find("nas\t" + ftsync::crypto::format_id(k2) + "\t-\tro\n") != std::string::npos);

  auto again = trust_store::load(file);
  REQUIRE(again.ok());
  REQUIRE(again->peers().size() == 2);
  CHECK(again->peers()[0].name == "laptop");
  CHECK(again->peers()[0].address == "192.168.1.20:47800");
  CHECK_FALSE(again->peers()[0].read_only);
  CHECK(again->peers()[1].name == "nas");
  CHECK(again->peers()[1].address.empty());
  CHECK(again->peers()[1].read_only);
  REQUIRE(again->find_by_key(k2) != nullptr);
  CHECK(again->find_by_key(k2)->name == "nas");
  REQUIRE(again->find_by_name("laptop") != nullptr);
  CHECK(again->find_by_name("laptop")->key == k1);

  // No temp file is left next to the store.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) {
    (void)e;
    ++files;
  }
  CHECK(files == 1);
}

TEST_CASE("upsert replaces an entry with the same name or the same key, keeping its place") {
  temp_dir dir;
  auto store = trust_store::load(dir.path / "peers");
  REQUIRE(store.ok());
  const auto k1 = fresh_key();
  const auto k2 = fresh_key();
  const auto k3 = fresh_key();
  REQUIRE(store->upsert(entry("a", k1)).ok());
  REQUIRE(store->upsert(entry("b", k2)).ok());
  // Same name, new key: the old key is no longer trusted.
  REQUIRE(store->upsert(entry("a", k3, "h:1")).ok());
  REQUIRE(store->peers().size() == 2);
  CHECK(store->peers()[0].name == "a");
  CHECK(store->peers()[0].key == k3);
  CHECK(store->find_by_key(k1) == nullptr);
  // Same key, new name: renamed, not duplicated.
  REQUIRE(store->upsert(entry("renamed", k2, "", true)).ok());
  REQUIRE(store->peers().size() == 2);
  CHECK(store->peers()[1].name == "renamed");
  CHECK(store->peers()[1].read_only);
  CHECK(store->find_by_name("b") == nullptr);
  // One entry matching by name and another by key: both go, one remains.
  REQUIRE(store->upsert(entry("a", k2)).ok());
  REQUIRE(store->peers().size() == 1);
  CHECK(store->peers()[0].name == "a");
  CHECK(store->peers()[0].key == k2);
}

TEST_CASE("upsert refuses invalid names and addresses") {
  temp_dir dir;
  auto store = trust_store::load(dir.path / "peers");
  REQUIRE(store.ok());
  const auto k = fresh_key();
  CHECK(store->upsert(entry("bad name", k)).code() == errc::invalid_argument);
  CHECK(store->upsert(entry("ok", k, "host\t1")).code() == errc::invalid_argument);
  CHECK(store->upsert(entry("ok", k, "host 1")).code() == errc::invalid_argument);
  CHECK(store->upsert(entry("ok", k, "-")).code() == errc::invalid_argument);
  CHECK(store->upsert(entry("ok", k, std::string(300, 'h'))).code() == errc::invalid_argument);
  CHECK(store->peers().empty());
}

TEST_CASE("remove by name or by id") {
  temp_dir dir;
  auto store = trust_store::load(dir.path / "peers");
  REQUIRE(store.ok());
  const auto k1 = fresh_key();
  const auto k2 = fresh_key();
  const auto k3 = fresh_key();
  REQUIRE(store->upsert(entry("one", k1)).ok());
  REQUIRE(store->upsert(entry("two", k2)).ok());
  REQUIRE(store->upsert(entry("three", k3)).ok());
  CHECK(store->remove("two").ok());
  CHECK(store->find_by_key(k2) == nullptr);
  CHECK(store->remove(ftsync::crypto::format_id(k1)).ok());
  CHECK(store->find_by_name("one") == nullptr);
  // parse_id accepts lower case without dashes.
  std::string loose;
  for (char c : ftsync::crypto::format_id(k3))
    if (c != '-') loose.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  CHECK(store->remove(loose).ok());
  CHECK(store->peers().empty());
  CHECK(store->remove("one").code() == errc::not_found);
  CHECK(store->remove(ftsync::crypto::format_id(k1)).code() == errc::not_found);
}

TEST_CASE("load refuses unsafe files (fail closed)") {
  temp_dir dir;
  const auto k = fresh_key();
  const std::string line = "x\t" + ftsync::crypto::format_id(k) + "\t-\trw\n";
  SUBCASE("group or world readable") {
    for (mode_t mode : {0644, 0640, 0604, 0660, 0606}) {
      write_file(dir.path / "peers", line, mode);
      CHECK_MESSAGE(trust_store::load(dir.path / "peers").code() == errc::unsafe_permissions, mode);
    }
  }
  SUBCASE("symlink") {
    write_file(dir.path / "real", line);
    fs::create_symlink(dir.path / "real", dir.path / "peers");
    CHECK(trust_store::load(dir.path / "peers").code() == errc::unsafe_permissions);
  }
  SUBCASE("not a regular file") {
    fs::create_directory(dir.path / "peers");
    CHECK_FALSE(trust_store::load(dir.path / "peers").ok());
  }
  SUBCASE("too large") {
    write_file(dir.path / "peers", std::string(1024 * 1024 + 1, '#'));
    CHECK(trust_store::load(dir.path / "peers").code() == errc::too_large);
  }
}

TEST_CASE("load accepts comments, blank lines and CRLF; rejects malformed lines with their number") {
  temp_dir dir;
  const auto file = dir.path / "peers";
  const auto k1 = fresh_key();
  const auto k2 = fresh_key();
  const std::string id1 = ftsync::crypto::format_id(k1);
  const std::string id2 = ftsync::crypto::format_id(k2);
  write_file(file, "# comment\n\nalpha\t" + id1 + "\t[::1]:9\tro\r\n# x\nbeta\t" + id2 + "\t-\trw");
  auto ok = trust_store::load(file);
  REQUIRE(ok.ok());
  REQUIRE(ok->peers().size() == 2);
  CHECK(ok->peers()[0].address == "[::1]:9");
  CHECK(ok->peers()[0].read_only);
  CHECK(ok->peers()[1].name == "beta");

  struct row {
    std::string text;
    const char* why;
  };
  std::string bad_id = id1;
  bad_id[3] = bad_id[3] == 'A' ? 'B' : 'A';  // checksum no longer matches
  const row rows[] = {
      {"alpha " + id1 + " - rw\n", "spaces instead of tabs"},
      {"alpha\t" + id1 + "\t-\n", "three fields"},
      {"alpha\t" + id1 + "\t-\trw\textra\n", "five fields"},
      {"alpha\t" + bad_id + "\t-\trw\n", "bad checksum"},
      {"alpha\tnot-an-id\t-\trw\n", "not an id"},
      {"alpha\t" + id1 + "\t-\tRW\n", "bad access"},
      {"al pha\t" + id1 + "\t-\trw\n", "bad name"},
      {"alpha\t" + id1 + "\t\trw\n", "empty address"},
      {"alpha\t" + id1 + "\t-\trw\nalpha\t" + id2 + "\t-\trw\n", "duplicate name"},
      {"alpha\t" + id1 + "\t-\trw\nbeta\t" + id1 + "\t-\trw\n", "duplicate key"},
  };
  for (const auto& r : rows) {
    write_file(file, "# header\n" + r.text);
    auto st = trust_store::load(file);
    CHECK_MESSAGE(st.code() == errc::malformed, r.why);
    if (!st.ok())
      CHECK_MESSAGE(st.err().message.find("peers:") != std::string::npos, r.why);
  }
  write_file(file, "# header\n\nalpha\t" + id1 + "\t-\tmaybe\n");
  auto st = trust_store::load(file);
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().message.find(":3:") != std::string::npos);
}

TEST_CASE("trust_watcher follows edits to the file and fails closed") {
  temp_dir dir;
  const auto file = dir.path / "peers";
  const auto k1 = fresh_key();
  const auto k2 = fresh_key();
  trust_watcher watcher(file);
  CHECK_FALSE(watcher.lookup(k1).has_value());  // no file yet: nobody

  {
    auto store = trust_store::load(file);
    REQUIRE(store.ok());
    REQUIRE(store->upsert(entry("one", k1, "", true)).ok());
    REQUIRE(store->save().ok());
  }
  auto found = watcher.lookup(k1);
  REQUIRE(found.has_value());
  CHECK(found->name == "one");
  CHECK(found->read_only);
  CHECK_FALSE(watcher.lookup(k2).has_value());

  {  // `ftsync trust` for k2, `untrust` for k1, as another process would do
    auto store = trust_store::load(file);
    REQUIRE(store.ok());
    REQUIRE(store->upsert(entry("two", k2)).ok());
    REQUIRE(store->remove("one").ok());
    REQUIRE(store->save().ok());
  }
  CHECK_FALSE(watcher.lookup(k1).has_value());
  REQUIRE(watcher.lookup(k2).has_value());
  CHECK(watcher.lookup(k2)->name == "two");

  // A chmod alone (same mtime, size, inode) must still take effect.
  REQUIRE(::chmod(file.c_str(), 0644) == 0);
  CHECK_FALSE(watcher.lookup(k2).has_value());
  REQUIRE(::chmod(file.c_str(), 0600) == 0);
  CHECK(watcher.lookup(k2).has_value());

  // A corrupted file refuses everyone until it is fixed.
  const std::string good = read_file(file);
  write_file(file, good + "garbage line\n");
  CHECK_FALSE(watcher.lookup(k2).has_value());
  write_file(file, good);
  CHECK(watcher.lookup(k2).has_value());

  fs::remove(file);
  CHECK_FALSE(watcher.lookup(k2).has_value());
}
