// Index records from a peer (sync/convert.hpp): what a symlink record may
// hold, and that a hostile one is refused before it reaches the index.
#include "sync/convert.hpp"

#include <doctest/doctest.h>

using namespace ftsync;
using namespace ftsync::sync;

namespace {

wire::file_record link_record(std::string target) {
  wire::file_record r;
  r.path = "dir/link";
  r.kind = wire::entry_kind::symlink;
  r.size = 999;           // ignored: the size is the target's length
  r.hash.fill(byte{7});   // ignored: recomputed from the target
  r.mode = 04777;
  r.version = {{1, 2}};
  r.target = std::move(target);
  return r;
}

}  // namespace

TEST_CASE("symlink records: the target is checked, the hash and size are derived from it") {
  auto e = from_wire(link_record("../a b/c"));
  REQUIRE_MESSAGE(e.ok(), e.err().message);
  CHECK(e->kind == index::entry_kind::symlink);
  CHECK(e->target == "../a b/c");
  CHECK(e->size == 8);
  CHECK(e->hash == crypto::hash_block(as_bytes("../a b/c")));
  CHECK(e->mode == 0777);
  // Round trip through the wire form.
  auto back = from_wire(to_wire(*e));
  REQUIRE(back.ok());
  CHECK(back->target == e->target);
  CHECK(back->same_data(*e));

  CHECK(from_wire(link_record("")).code() == errc::malformed);
  CHECK(from_wire(link_record(std::string("a\0b", 3))).code() == errc::malformed);
  CHECK(from_wire(link_record(std::string(4096, 'x'))).code() == errc::malformed);
  CHECK(from_wire(link_record(std::string(4095, 'x'))).ok());

  // A tombstone of a symlink needs no target; a file or directory may not carry one.
  auto dead = link_record("");
  dead.deleted = true;
  CHECK(from_wire(dead).ok());
  auto file = link_record("x");
  file.kind = wire::entry_kind::file;
  CHECK(from_wire(file).code() == errc::malformed);
  auto other = link_record("x");
  other.kind = wire::entry_kind::other;
  CHECK(from_wire(other).code() == errc::malformed);
}

TEST_CASE("symlink entries: same data means the same target; mode and mtime do not count") {
  index::file_entry a;
  a.kind = index::entry_kind::symlink;
  a.target = "x";
  a.mtime_ns = 1;
  a.mode = 0777;
  index::file_entry b = a;
  b.mtime_ns = 2;
  b.mode = 0755;
  CHECK(a.same_data(b));
  CHECK(a.same_state(b));
  b.target = "y";
  CHECK_FALSE(a.same_data(b));
  index::file_entry f;
  f.kind = index::entry_kind::file;
  CHECK_FALSE(a.same_data(f));
}
