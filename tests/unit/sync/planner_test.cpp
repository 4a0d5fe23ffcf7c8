// The planner: which side wins for every combination of versions, renames,
// ignore rules and execution order.
#include <ftsync/sync/planner.hpp>

#include <doctest/doctest.h>

using namespace ftsync;
using namespace ftsync::sync;
using index::entry_kind;
using index::file_entry;

namespace {

constexpr index::device_id me = 1, peer = 2;

rel_path rp(const std::string& s) { return rel_path::parse(s).value(); }

file_entry file(const std::string& path, byte content, std::vector<std::pair<index::device_id, std::uint64_t>> vv,
                std::int64_t mtime = 100) {
  file_entry e;
  e.path = rp(path);
  e.kind = entry_kind::file;
  e.size = 10;
  e.hash[0] = content;
  e.mtime_ns = mtime;
  e.mode = 0644;
  e.version = index::version_vector::from_items(std::move(vv));
  return e;
}

file_entry dir(const std::string& path, std::vector<std::pair<index::device_id, std::uint64_t>> vv) {
  file_entry e = file(path, 0, std::move(vv));
  e.kind = entry_kind::directory;
  e.size = 0;
  e.hash = {};
  return e;
}

file_entry dead(file_entry e, std::vector<std::pair<index::device_id, std::uint64_t>> vv) {
  e.deleted = true;
  e.hash = {};
  e.size = 0;
  e.version = index::version_vector::from_items(std::move(vv));
  return e;
}

entry_map map_of(std::initializer_list<file_entry> es) {
  entry_map m;
  for (const auto& e : es) m.emplace(e.path, e);
  return m;
}

const action* find(const std::vector<action>& plan, const std::string& path) {
  for (const auto& a : plan)
    if (a.path.str() == path) return &a;
  return nullptr;
}

}  // namespace

TEST_CASE("planner: equal versions do nothing; the descendant wins either way") {
  const auto l = map_of({file("same", 1, {{me, 1}}), file("mine-newer", 2, {{me, 2}, {peer, 1}}),
                         file("theirs-newer", 3, {{me, 1}}), file("only-here", 4, {{me, 1}})});
  const auto r = map_of({file("same", 1, {{me, 1}}), file("mine-newer", 9, {{me, 1}, {peer, 1}}),
                         file("theirs-newer", 8, {{me, 1}, {peer, 1}}), file("only-there", 5, {{peer, 1}})});
  const auto p = plan(l, r, {});
  CHECK(find(p, "same") == nullptr);
  REQUIRE(find(p, "mine-newer"));
  CHECK(find(p, "mine-newer")->kind == action_kind::push);
  CHECK(find(p, "theirs-newer")->kind == action_kind::pull);
  CHECK(find(p, "only-here")->kind == action_kind::push);
  CHECK(find(p, "only-there")->kind == action_kind::pull);
  CHECK(p.size() == 4);
}

TEST_CASE("planner: tombstones travel; an old tombstone on one side only is not pushed") {
  const auto base = file("f", 1, {{me, 1}});
  const auto l = map_of({dead(base, {{me, 2}}), dead(file("old", 1, {{me, 1}}), {{me, 2}})});
  const auto r = map_of({base});
  const auto p = plan(l, r, {});
  REQUIRE(find(p, "f"));
  CHECK(find(p, "f")->kind == action_kind::push);
  CHECK(find(p, "old") == nullptr);
  // And the peer's deletion is pulled.
  const auto p2 = plan(r, l, {});
  CHECK(find(p2, "f")->kind == action_kind::pull);
}

TEST_CASE("planner: concurrent changes: merge, delete-vs-edit, conflict with a deterministic winner") {
  const auto l = map_of({file("same-data", 1, {{me, 2}, {peer, 1}}), file("edit-here", 2, {{me, 2}, {peer, 1}}, 500),
                         dead(file("del-here", 3, {}), {{me, 2}, {peer, 1}}),
                         file("conflict", 4, {{me, 2}, {peer, 1}}, 100), file("tie", 6, {{me, 2}}, 7),
                         dir("d", {{me, 2}})});
  const auto r = map_of({file("same-data", 1, {{me, 1}, {peer, 2}}), dead(file("edit-here", 2, {}), {{me, 1}, {peer, 2}}),
                         file("del-here", 5, {{me, 1}, {peer, 2}}), file("conflict", 9, {{me, 1}, {peer, 2}}, 200),
                         file("tie", 7, {{peer, 2}}, 7), dir("d", {{peer, 3}})});
  const auto p = plan(l, r, {});
  CHECK(find(p, "same-data")->kind == action_kind::merge);
  CHECK(find(p, "d")->kind == action_kind::merge);
  const auto* e = find(p, "edit-here");
  CHECK(e->kind == action_kind::push);  // deleted there, edited here: the edit wins
  CHECK(e->merge_versions);
  const auto* d = find(p, "del-here");
  CHECK(d->kind == action_kind::pull);  // deleted here, edited there: the edit wins
  CHECK(d->merge_versions);
  const auto* c = find(p, "conflict");
  CHECK(c->kind == action_kind::conflict);
  CHECK(c->remote_wins);  // newer mtime
  const auto* t = find(p, "tie");
  CHECK(t->kind == action_kind::conflict);
  CHECK(t->remote_wins);  // equal mtimes: the larger hash (7 > 6)
  // The same situation seen from the other node picks the same winner.
  const auto q = plan(r, l, {});
  CHECK_FALSE(find(q, "conflict")->remote_wins);
  CHECK_FALSE(find(q, "tie")->remote_wins);
}

TEST_CASE("planner: a new file with a deleted file's content is a rename, on either side") {
  const auto old_l = file("old/name.txt", 7, {{me, 1}});
  const auto l = map_of({dead(old_l, {{me, 2}}), file("new/name.txt", 7, {{me, 1}})});
  const auto r = map_of({old_l});
  const auto p = plan(l, r, {});
  const auto* a = find(p, "new/name.txt");
  REQUIRE(a);
  CHECK(a->kind == action_kind::push);
  REQUIRE(a->rename_from.has_value());
  CHECK(a->rename_from->str() == "old/name.txt");
  // Mirror: the peer renamed, we pull the rename.
  const auto q = plan(r, l, {});
  const auto* b = find(q, "new/name.txt");
  REQUIRE(b);
  CHECK(b->kind == action_kind::pull);
  REQUIRE(b->rename_from.has_value());
  // Renames come before the deletion of their source.
  std::size_t at_rename = 0, at_delete = 0;
  for (std::size_t i = 0; i < q.size(); ++i) {
    if (q[i].path.str() == "new/name.txt") at_rename = i;
    if (q[i].path.str() == "old/name.txt") at_delete = i;
  }
  CHECK(at_rename < at_delete);
}

TEST_CASE("planner: ignored paths are left alone; execution order is dirs, files, deletions, dir deletions") {
  const auto ign = index::ignore_matcher::parse("*.tmp\n");
  const auto l = map_of({file("a.tmp", 1, {{me, 1}}), dir("a", {{me, 1}}), file("a/f", 2, {{me, 1}}),
                         dead(dir("x", {}), {{me, 2}}), dead(dir("x/y", {}), {{me, 2}}),
                         dead(file("x/y/z", 3, {}), {{me, 2}})});
  const auto r = map_of({file("b.tmp", 1, {{peer, 1}}), dir("x", {{me, 1}}), dir("x/y", {{me, 1}}),
                         file("x/y/z", 3, {{me, 1}})});
  const auto p = plan(l, r, ign);
  CHECK(find(p, "a.tmp") == nullptr);
  CHECK(find(p, "b.tmp") == nullptr);
  REQUIRE(p.size() == 5);
  CHECK(p[0].path.str() == "a");
  CHECK(p[1].path.str() == "a/f");
  CHECK(p[2].path.str() == "x/y/z");
  CHECK(p[3].path.str() == "x/y");  // children before parents
  CHECK(p[4].path.str() == "x");
}

// The peer replaced directory "d" (holding d/f) with a file "d": the file
// must come after d/f's and d's deletions, or it fails on a non-empty
// directory and waits for the next round. The same pushed the other way.
TEST_CASE("planner: a file that replaces a directory comes after the deletions beneath it") {
  const auto with_dir = map_of({dir("d", {{me, 1}}), file("d/f", 1, {{me, 1}}), file("z", 2, {{me, 1}})});
  const auto with_file = map_of({file("d", 3, {{me, 1}, {peer, 2}}), dead(file("d/f", 1, {}), {{me, 1}, {peer, 2}}),
                                 file("z", 2, {{me, 1}})});
  for (const bool pulled : {true, false}) {
    CAPTURE(pulled);
    const auto p = pulled ? plan(with_dir, with_file, {}) : plan(with_file, with_dir, {});
    REQUIRE(p.size() == 2);
    CHECK(p[0].path.str() == "d/f");
    CHECK(p[1].path.str() == "d");
    CHECK(p[1].kind == (pulled ? action_kind::pull : action_kind::push));
  }
}
