#pragma once
// Test fixture for the store: a fresh mkdtemp directory under /tmp holding
// `root/` (what the store serves) and `outside/` (next to it, with a secret
// file) whose contents must never change. Everything is removed at the end.
#include <ftsync/store/root.hpp>
#include <ftsync/util/rel_path.hpp>

#include "store/resolve.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace store_test {

namespace fs = std::filesystem;

inline ftsync::rel_path rel(const std::string& text) {
  auto p = ftsync::rel_path::parse(text);
  REQUIRE_MESSAGE(p.ok(), text);
  return p.value();
}

inline void write_file(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
  REQUIRE(out.good());
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::int64_t lstat_mtime_ns(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// Names, kinds, sizes, mtimes, link targets and contents of everything under
// `dir`, without following symlinks.
inline std::string snapshot(const fs::path& dir) {
  std::ostringstream out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    const auto& p = it->path();
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    out << fs::relative(p, dir).string() << " mode=" << std::oct << st.st_mode << std::dec
        << " size=" << st.st_size << " mtime=" << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
    if (S_ISLNK(st.st_mode)) out << " -> " << fs::read_symlink(p).string();
    if (S_ISREG(st.st_mode)) out << " data=" << read_file(p);
    out << "\n";
  }
  return out.str();
}

class temp_tree {
 public:
  temp_tree() {
    char tmpl[] = "/tmp/ftsync-store-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    m_base = tmpl;
    m_root = m_base / "root";
    m_outside = m_base / "outside";
    fs::create_directory(m_root);
    fs::create_directory(m_outside);
    write_file(m_outside / "secret", "s3cret");
    fs::create_directory(m_outside / "inner");
    write_file(m_outside / "inner" / "deep", "deep secret");
    m_outside_before = snapshot(m_outside);
  }
  ~temp_tree() {
    std::error_code ec;
    fs::remove_all(m_base, ec);  // does not follow symlinks
  }
  temp_tree(const temp_tree&) = delete;
  temp_tree& operator=(const temp_tree&) = delete;

  const fs::path& base() const { return m_base; }
  const fs::path& root_dir() const { return m_root; }
  const fs::path& outside() const { return m_outside; }
  fs::path in_root(const std::string& rel_text) const { return m_root / rel_text; }

  ftsync::store::root open_root() const {
    auto r = ftsync::store::root::open(m_root);
    REQUIRE(r.ok());
    return std::move(r).value();
  }

  void check_outside_unchanged() const { CHECK(snapshot(m_outside) == m_outside_before); }

 private:
  fs::path m_base, m_root, m_outside;
  std::string m_outside_before;
};

// Forces a resolution strategy for the scope, then restores automatic.
class strategy_guard {
 public:
  explicit strategy_guard(ftsync::store::resolve_strategy s) { ftsync::store::set_resolve_strategy(s); }
  ~strategy_guard() { ftsync::store::set_resolve_strategy(ftsync::store::resolve_strategy::automatic); }
  strategy_guard(const strategy_guard&) = delete;
  strategy_guard& operator=(const strategy_guard&) = delete;
};

inline const char* strategy_name(ftsync::store::resolve_strategy s) {
  switch (s) {
    case ftsync::store::resolve_strategy::automatic: return "automatic";
    case ftsync::store::resolve_strategy::openat2: return "openat2";
    case ftsync::store::resolve_strategy::component_walk: return "component_walk";
  }
  return "?";
}

}  // namespace store_test
