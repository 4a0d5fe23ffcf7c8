// Path confinement under arbitrary operations (research/security.md D1-D4;
// issue 5 "Fuzz targets ... path confinement"). A sandbox per process:
//   <sandbox>/root     the store::root, rebuilt before every input, holding
//                      d/, d/f, a symlink esc -> ../outside, an absolute
//                      symlink abs -> <sandbox>/outside, d/up -> .., a
//                      self-loop, a FIFO and a hard link to outside/secret
//   <sandbox>/outside  secret (known content), sub/; never to change
// Input: up to 16 operations, each [op byte][len][path][len][path2].
// Paths go through rel_path::parse (as peer input does); accepted ones are
// applied through store::root (stat, list, walk, mkdir, rmdir, remove,
// remove_tree, rename, set_mode, set_mtime, open_read + read, open_partial +
// write + commit, read_link, make_symlink with the second string as raw
// target text, so links out of the root appear mid-input). Invariants: nothing throws or aborts; an operation that
// succeeds never went through a symlink (stat may name one as its last
// component, lstat-style); no read returns the outside secret except
// through the hard link the operator placed inside the root (or that link
// renamed); <sandbox>/outside is exactly as it was after every input.
#include "fuzz/sandbox.hpp"

#include <ftsync/store/root.hpp>
#include <ftsync/util/rel_path.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace ftsync;

using fuzz::k_secret;
using fuzz::require;

fuzz::sandbox& box() {
  static fuzz::sandbox s("confine");
  return s;
}

// Reads a length-prefixed string (length byte, at most 96 bytes).
std::string take(const std::uint8_t*& p, const std::uint8_t* end) {
  if (p >= end) return {};
  const std::size_t want = *p++ % 97u;
  const std::size_t n = std::min<std::size_t>(want, static_cast<std::size_t>(end - p));
  std::string s(reinterpret_cast<const char*>(p), n);
  p += n;
  return s;
}

// True when a component of `p` beneath `root_dir` is a symlink right now
// (the last component only when `with_last`).
bool through_symlink(const fs::path& root_dir, const rel_path& p, bool with_last) {
  fs::path cur = root_dir;
  const auto comps = p.components();
  for (std::size_t i = 0; i < comps.size(); ++i) {
    cur /= std::string(comps[i]);
    if (i + 1 == comps.size() && !with_last) break;
    std::error_code ec;
    if (fs::is_symlink(fs::symlink_status(cur, ec))) return true;
  }
  return false;
}

void apply(store::root& r, const fs::path& root_dir, std::uint8_t op, const rel_path& a, const rel_path& b,
           const std::string& raw_b, std::uint64_t secret_inode) {
  switch (op % 14) {
    case 0:
      if (r.stat(a).ok()) require(!through_symlink(root_dir, a, false));
      if ((op & 0x80) && r.read_link(a).ok()) require(!through_symlink(root_dir, a, false));
      break;
    case 1:
      if (r.list(a).ok()) require(!through_symlink(root_dir, a, true));
      break;
    case 2:
      if (r.walk(a).ok()) require(!through_symlink(root_dir, a, false));
      break;
    case 3:
      if (!(op & 0x80)) (void)r.make_dir(a, op & 0x10);
      else if (r.make_symlink(a, raw_b).ok()) require(!through_symlink(root_dir, a, false));
      break;
    case 4: (void)r.remove_dir(a); break;
    case 5: (void)r.remove_file(a); break;
    case 6: (void)r.remove_tree(a); break;
    case 7: (void)r.rename(a, b); break;
    case 8: (void)r.set_mode(a, 0700 | (op & 0x3f)); break;
    case 9: (void)r.set_mtime(a, 1234567890LL * 1000000000LL); break;
    case 10:
    case 11: {
      auto rd = r.open_read(a);
      if (!rd) break;
      require(!through_symlink(root_dir, a, true));
      byte buf[256];
      auto n = rd->read_at(0, std::span<byte>(buf, sizeof buf));
      // The hard link is the one way the secret is legitimately inside.
      if (n && *n > 0 && rd->info().inode != secret_inode)
        require(std::string(reinterpret_cast<const char*>(buf), *n).find(k_secret) == std::string::npos);
      break;
    }
    case 12: {
      auto pf = r.open_partial(a);
      if (!pf) break;
      const std::string data = "written by the fuzzer";
      (void)pf->write_at(0, byte_view(reinterpret_cast<const byte*>(data.data()), data.size()));
      if (op & 0x20) (void)pf->commit(0, 0644);
      else (void)pf->discard();
      break;
    }
    case 13: (void)r.clean_partials(a, 0); break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::sandbox& s = box();
  s.rebuild_root();
  auto r = store::root::open(s.root_dir);
  require(r.ok());
  struct stat secret {};
  require(::stat((s.outside / "secret").c_str(), &secret) == 0);
  const std::uint8_t* p = data;
  const std::uint8_t* end = data + size;
  for (int i = 0; i < 16 && p < end; ++i) {
    const std::uint8_t op = *p++;
    const std::string a = take(p, end);
    const std::string b = take(p, end);
    auto pa = rel_path::parse(a);
    auto pb = rel_path::parse(b);
    if (!pa) continue;
    apply(*r, s.root_dir, op, *pa, pb ? *pb : rel_path(), b, static_cast<std::uint64_t>(secret.st_ino));
  }
  require(s.describe(s.outside) == s.outside_fingerprint);
  return 0;
}
