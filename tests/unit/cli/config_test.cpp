#include "cli/config.hpp"
#include "cli/paths.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace fs = std::filesystem;
using ftsync::errc;
using namespace ftsync::cli;

namespace {

env_lookup fake_env(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "ftsync-cli-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path, ec);
  }
};

}  // namespace

TEST_CASE("config.toml: every key, types checked") {
  auto c = parse_config(R"(
[serve]
listen = "127.0.0.1:9000"
root = "/srv/share"
idle_timeout = 60
name = "nas"
[client]
connect_timeout = 2.5
)",
                        "config.toml");
  REQUIRE(c.ok());
  CHECK(c->warnings.empty());
  CHECK(c->values.listen == "127.0.0.1:9000");
  CHECK(c->values.root == "/srv/share");
  CHECK(c->values.idle_timeout_s == doctest::Approx(60));
  CHECK(c->values.name == "nas");
  CHECK(c->values.connect_timeout_s == doctest::Approx(2.5));

  auto empty = parse_config("", "x");
  REQUIRE(empty.ok());
  CHECK_FALSE(empty->values.listen.has_value());
}

TEST_CASE("config.toml: unknown keys warn with their position, bad values and syntax fail") {
  auto c = parse_config("[serve]\nlisten = \"h:1\"\ncolour = true\n[ui]\nx = 1\n", "cfg");
  REQUIRE(c.ok());
  REQUIRE(c->warnings.size() == 2);
  CHECK(c->warnings[0].find("cfg:3:1") == 0);
  CHECK(c->warnings[0].find("serve.colour") != std::string::npos);
  CHECK(c->warnings[1].find("'ui'") != std::string::npos);
  CHECK(c->values.listen == "h:1");

  struct row {
    const char* text;
    const char* where;
  };
  const row rows[] = {
      {"[serve]\nidle_timeout = \"60\"\n", "cfg:2:"},
      {"[serve]\nidle_timeout = 0\n", "cfg:2:"},
      {"[serve]\nidle_timeout = -5\n", "cfg:2:"},
      {"[serve]\nidle_timeout = nan\n", "cfg:2:"},
      {"[serve]\nidle_timeout = 1e12\n", "cfg:2:"},
      {"[serve]\nlisten = 47800\n", "cfg:2:"},
      {"[client]\nconnect_timeout = true\n", "cfg:2:"},
      {"serve = 1\n", "cfg:1:"},
      {"[serve\nlisten = \"x\"\n", "cfg:1:"},
      {"[serve]\nlisten = \"a\"\nlisten = \"b\"\n", "cfg:3:"},
      {"[sync]\nx = 1\n", "cfg:2:"},                                            // not a pair table
      {"[sync.notes]\nfolder = \"/n\"\n", "cfg:1:"},                              // no peer
      {"[sync.notes]\npeer = \"p:/n\"\n", "cfg:1:"},                              // no folder
      {"[sync.notes]\nfolder = 1\npeer = \"p:/n\"\n", "cfg:2:"},                 // wrong type
      {"[sync.notes]\nfolder = \"/n\"\npeer = \"p:/\"\nrescan_interval = 0\n", "cfg:4:"},
      {"[sync.\"a b\"]\nfolder = \"/n\"\npeer = \"p:/\"\n", "cfg:1:"},           // bad name
  };
  for (const auto& r : rows) {
    auto bad = parse_config(r.text, "cfg");
    CHECK_MESSAGE(bad.code() == errc::invalid_argument, r.text);
    if (!bad.ok()) CHECK_MESSAGE(bad.err().message.find(r.where) == 0, bad.err().message);
  }
}

TEST_CASE("config.toml: named sync pairs") {
  auto c = parse_config(R"(
[sync.notes]
folder = "/home/me/notes"
peer = "laptop:/notes"
[sync.photos-2026]
folder = "/home/me/Photos"
peer = "nas:/photos"
rescan_interval = 600
colour = "blue"
)",
                        "cfg");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  REQUIRE(c->values.sync_pairs.size() == 2);
  const auto& notes = c->values.sync_pairs.at("notes");
  CHECK(notes.folder == "/home/me/notes");
  CHECK(notes.peer == "laptop:/notes");
  CHECK_FALSE(notes.rescan_interval_s.has_value());
  const auto& photos = c->values.sync_pairs.at("photos-2026");
  CHECK(photos.peer == "nas:/photos");
  CHECK(photos.rescan_interval_s == doctest::Approx(600));
  REQUIRE(c->warnings.size() == 1);
  CHECK(c->warnings[0].find("sync.photos-2026.colour") != std::string::npos);
}

TEST_CASE("config file on disk: missing is empty unless named explicitly") {
  temp_dir dir;
  auto none = load_config(dir.path / "config.toml", false);
  REQUIRE(none.ok());
  CHECK_FALSE(none->values.root.has_value());
  CHECK(load_config(dir.path / "config.toml", true).code() == errc::not_found);
  {
    std::ofstream out(dir.path / "config.toml");
    out << "[serve]\nroot = \"/data\"\n";
  }
  auto some = load_config(dir.path / "config.toml", true);
  REQUIRE(some.ok());
  CHECK(some->values.root == "/data");
  CHECK_FALSE(load_config(dir.path, true).ok());  // a directory

  // Readable by all is fine; writable by others is refused (E2), also
  // through a symlink, since the target is what gets read.
  std::filesystem::permissions(dir.path / "config.toml", std::filesystem::perms(0644));
  CHECK(load_config(dir.path / "config.toml", true).ok());
  std::filesystem::create_symlink(dir.path / "config.toml", dir.path / "linked.toml");
  CHECK(load_config(dir.path / "linked.toml", true).ok());
  for (unsigned mode : {0664u, 0646u, 0666u}) {
    CAPTURE(mode);
    std::filesystem::permissions(dir.path / "config.toml", std::filesystem::perms(mode));
    const auto r = load_config(dir.path / "config.toml", true);
    CHECK(r.code() == errc::unsafe_permissions);
    CHECK(r.err().message.find("chmod 600") != std::string::npos);
    CHECK(load_config(dir.path / "linked.toml", true).code() == errc::unsafe_permissions);
  }
}

TEST_CASE("precedence: flags > FTSYNC_* > config file > defaults") {
  settings file;
  file.listen = "file:1";
  file.root = "/file";
  file.idle_timeout_s = 10;
  auto env = settings_from_env(fake_env({{"FTSYNC_LISTEN", "env:2"}, {"FTSYNC_IDLE_TIMEOUT", "20"},
                                         {"FTSYNC_ROOT", ""}, {"FTSYNC_CONNECT_TIMEOUT", "0.25"}}));
  REQUIRE(env.ok());
  CHECK_FALSE(env->root.has_value());  // empty counts as unset
  settings flags;
  flags.idle_timeout_s = 30;
  const settings s = overlay(overlay(file, *env), flags);
  CHECK(s.listen == "env:2");
  CHECK(s.root == "/file");
  CHECK(s.idle_timeout_s == doctest::Approx(30));
  CHECK(s.connect_timeout_s == doctest::Approx(0.25));
  CHECK_FALSE(s.name.has_value());

  CHECK(settings_from_env(fake_env({{"FTSYNC_IDLE_TIMEOUT", "abc"}})).code() == errc::invalid_argument);
  CHECK(settings_from_env(fake_env({{"FTSYNC_CONNECT_TIMEOUT", "-1"}})).code() == errc::invalid_argument);
  CHECK(settings_from_env(fake_env({{"FTSYNC_CONNECT_TIMEOUT", "5s"}})).code() == errc::invalid_argument);
}

TEST_CASE("parse_seconds") {
  CHECK(parse_seconds("30").value() == doctest::Approx(30));
  CHECK(parse_seconds("0.5").value() == doctest::Approx(0.5));
  for (const char* bad : {"", "0", "-1", " 5", "5 ", "inf", "nan", "1e9", "abc", "0x"})
    CHECK_MESSAGE(parse_seconds(bad).code() == errc::invalid_argument, bad);
}

TEST_CASE("parse_rate: rsync's units, a bare number in KiB/s, 0 for none") {
  CHECK(parse_rate("0").value() == 0);
  CHECK(parse_rate("512").value() == 512 * 1024);  // rsync: KiB/s
  CHECK(parse_rate("512K").value() == 512 * 1024);
  CHECK(parse_rate("512k").value() == 512 * 1024);
  CHECK(parse_rate("10M").value() == 10 * 1024 * 1024);
  CHECK(parse_rate("10MB").value() == 10 * 1024 * 1024);
  CHECK(parse_rate("10MiB/s").value() == 10 * 1024 * 1024);
  CHECK(parse_rate("1.5G").value() == 1536ull * 1024 * 1024);
  CHECK(parse_rate("100000B").value() == 100000);
  CHECK(parse_rate("8K").value() == 8 * 1024);
  for (const char* bad : {"", "-1", " 5K", "5K ", "5 K", "abc", "1e3K", "0x10", "10X", "10MBs", "7K", "100B",
                          "2048G", "inf", "nan", ".", "K"})
    CHECK_MESSAGE(parse_rate(bad).code() == errc::invalid_argument, bad);
  CHECK(format_rate(0) == "no limit");
  CHECK(format_rate(512 * 1024) == "512K");
  CHECK(format_rate(10 * 1024 * 1024) == "10M");
}

TEST_CASE("config.toml: limits (bwlimit for serve and client, max_sessions) and their variables") {
  auto c = parse_config("[serve]\nbwlimit = \"20M\"\nmax_sessions = 16\n[client]\nbwlimit = 512\n", "c.toml");
  REQUIRE_MESSAGE(c.ok(), c.err().message);
  CHECK(c->warnings.empty());
  CHECK(c->values.serve_bwlimit == 20 * 1024 * 1024);
  CHECK(c->values.client_bwlimit == 512 * 1024);
  CHECK(c->values.max_sessions == 16);
  for (const char* bad : {"[client]\nbwlimit = true\n", "[client]\nbwlimit = \"fast\"\n",
                          "[serve]\nbwlimit = -5\n", "[serve]\nmax_sessions = 0\n",
                          "[serve]\nmax_sessions = 5000\n", "[serve]\nmax_sessions = \"8\"\n"}) {
    auto r = parse_config(bad, "c.toml");
    CHECK_MESSAGE(r.code() == errc::invalid_argument, bad);
    if (!r.ok()) CHECK_MESSAGE(r.err().message.rfind("c.toml:2:", 0) == 0, r.err().message);
  }
  auto env = settings_from_env(
      fake_env({{"FTSYNC_BWLIMIT", "1M"}, {"FTSYNC_SERVE_BWLIMIT", "0"}, {"FTSYNC_MAX_SESSIONS", "3"}}));
  REQUIRE(env.ok());
  const settings s = overlay(c->values, *env);
  CHECK(s.client_bwlimit == 1024 * 1024);
  CHECK(s.serve_bwlimit == 0);  // the variable lifts the file's limit
  CHECK(s.max_sessions == 3);
  for (auto [name, value] : {std::pair{"FTSYNC_BWLIMIT", "x"}, std::pair{"FTSYNC_SERVE_BWLIMIT", "1T"},
                             std::pair{"FTSYNC_MAX_SESSIONS", "0"}, std::pair{"FTSYNC_MAX_SESSIONS", "3x"}}) {
    auto r = settings_from_env(fake_env({{name, value}}));
    CHECK_MESSAGE(r.code() == errc::invalid_argument, name);
    if (!r.ok()) CHECK(r.err().message.rfind(name, 0) == 0);
  }
}

TEST_CASE("XDG directories") {
  auto p = resolve_paths(fake_env({{"HOME", "/home/u"}}));
  REQUIRE(p.ok());
  CHECK(p->config_dir == "/home/u/.config/ftsync");
  CHECK(p->state_dir == "/home/u/.local/state/ftsync");
  CHECK(p->identity() == "/home/u/.config/ftsync/identity");
  CHECK(p->peers() == "/home/u/.config/ftsync/peers");
  CHECK(p->config_file() == "/home/u/.config/ftsync/config.toml");

  auto x = resolve_paths(fake_env({{"HOME", "/home/u"}, {"XDG_CONFIG_HOME", "/c"}, {"XDG_STATE_HOME", "/s"}}));
  REQUIRE(x.ok());
  CHECK(x->config_dir == "/c/ftsync");
  CHECK(x->state_dir == "/s/ftsync");

  // Relative XDG values are invalid per the spec and ignored.
  auto rel = resolve_paths(fake_env({{"HOME", "/home/u"}, {"XDG_CONFIG_HOME", "rel"}}));
  REQUIRE(rel.ok());
  CHECK(rel->config_dir == "/home/u/.config/ftsync");

  CHECK(resolve_paths(fake_env({})).code() == errc::invalid_argument);
  CHECK(resolve_paths(fake_env({{"HOME", "relative"}})).code() == errc::invalid_argument);
}

TEST_CASE("the config dir is created 0700 and refused when others could write it") {
  temp_dir dir;
  const fs::path cfg = dir.path / "a" / "b" / "ftsync";
  REQUIRE(ensure_private_dir(cfg).ok());
  struct stat st {};
  REQUIRE(::stat(cfg.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  CHECK(ensure_private_dir(cfg).ok());  // idempotent

  REQUIRE(::chmod(cfg.c_str(), 0770) == 0);
  CHECK(ensure_private_dir(cfg).code() == errc::unsafe_permissions);
  REQUIRE(::chmod(cfg.c_str(), 0702) == 0);
  CHECK(ensure_private_dir(cfg).code() == errc::unsafe_permissions);
  REQUIRE(::chmod(cfg.c_str(), 0750) == 0);  // group-readable is fine, writable is not
  CHECK(ensure_private_dir(cfg).ok());

  const fs::path real = dir.path / "real";
  fs::create_directory(real);
  REQUIRE(::chmod(real.c_str(), 0700) == 0);
  fs::create_directory_symlink(real, dir.path / "link");
  CHECK(ensure_private_dir(dir.path / "link").code() == errc::unsafe_permissions);

  std::ofstream(dir.path / "file") << "x";
  CHECK(ensure_private_dir(dir.path / "file").code() == errc::not_a_directory);
}
