#pragma once
// The hostile folder the confinement fuzz targets work in, one per process:
//   <base>/root     a served root, rebuilt before every input, holding d/,
//                   d/f, a symlink esc -> ../outside, an absolute symlink
//                   abs -> <base>/outside, d/up -> .., a self-loop, a
//                   symlink to the secret, a FIFO and (optionally) a hard
//                   link to outside/secret
//   <base>/outside  secret (known content), sub/; must never change
// Invariant checks abort (libFuzzer reports the input; the g++ corpus
// replay fails) rather than throw, so nothing can swallow them.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace fuzz {

namespace fs = std::filesystem;

inline constexpr const char* k_secret = "OUTSIDE-SECRET-CONTENT";

inline void require(bool ok) {
  if (!ok) std::abort();
}

struct sandbox {
  fs::path base, root_dir, outside;
  std::string outside_fingerprint;  // taken once, compared after every input
  bool hard_link = true;            // whether the current root has `hard`

  explicit sandbox(const std::string& tag) {
    std::string tmpl = "/tmp/ftsync-fuzz-" + tag + "-XXXXXX";
    require(::mkdtemp(tmpl.data()) != nullptr);
    base = tmpl;
    root_dir = base / "root";
    outside = base / "outside";
    fs::create_directories(outside / "sub");
    std::ofstream(outside / "secret") << k_secret;
    outside_fingerprint = describe(outside);
  }
  ~sandbox() {
    std::error_code ec;
    fs::remove_all(base, ec);
  }
  sandbox(const sandbox&) = delete;
  sandbox& operator=(const sandbox&) = delete;

  // Names, types, sizes, modes and mtimes of everything beneath `dir`, and
  // of `dir` itself.
  static std::string describe(const fs::path& dir) {
    std::string s;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      struct stat st {};
      if (::lstat(it->path().c_str(), &st) != 0) continue;
      s += it->path().string() + " " + std::to_string(st.st_mode) + " " + std::to_string(st.st_size) + " " +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "\n";
    }
    struct stat top {};
    ::lstat(dir.c_str(), &top);
    return s + std::to_string(top.st_mtim.tv_sec) + "." + std::to_string(top.st_mtim.tv_nsec);
  }

  void rebuild_root(bool with_hard_link = true) {
    std::error_code ec;
    fs::remove_all(root_dir, ec);  // never follows symlinks
    fs::create_directories(root_dir / "d");
    std::ofstream(root_dir / "d" / "f") << "inside";
    fs::create_directory_symlink("../outside", root_dir / "esc", ec);
    fs::create_directory_symlink(outside, root_dir / "abs", ec);
    fs::create_directory_symlink("..", root_dir / "d" / "up", ec);
    fs::create_symlink("loop", root_dir / "loop", ec);
    fs::create_symlink(outside / "secret", root_dir / "d" / "secret-link", ec);
    ::mkfifo((root_dir / "fifo").c_str(), 0644);
    hard_link = with_hard_link;
    if (with_hard_link) fs::create_hard_link(outside / "secret", root_dir / "hard", ec);
  }
};

}  // namespace fuzz
