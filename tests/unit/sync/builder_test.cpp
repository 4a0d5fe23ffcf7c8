// file_builder: an interrupted build resumes from the verified chunks of its
// partial file; chunks found elsewhere in the folder are copied, not asked
// for; nothing reaches the final path before everything verified.
#include "sync/file_builder.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>

using namespace ftsync;
namespace fs = std::filesystem;

namespace {

struct tmp {
  fs::path dir;
  tmp() {
    char t[] = "/tmp/ftsync-builder-XXXXXX";
    REQUIRE(::mkdtemp(t) != nullptr);
    dir = t;
  }
  ~tmp() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

std::string random_text(std::size_t n, unsigned seed) {
  std::mt19937_64 g(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(g());
  return s;
}

void write(const fs::path& p, const std::string& s) {
  std::ofstream o(p, std::ios::binary | std::ios::trunc);
  o << s;
}

std::string read(const fs::path& p) {
  std::ifstream i(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(i), {});
}

rel_path rp(const std::string& s) { return rel_path::parse(s).value(); }

}  // namespace

TEST_CASE("file_builder: resume after an interruption, local reuse, verification") {
  tmp t;
  fs::create_directories(t.dir / "src");
  const std::string content = random_text(1 << 20, 3);
  write(t.dir / "src" / "f.bin", content);
  auto src_root = store::root::open(t.dir / "src");
  REQUIRE(src_root.ok());
  auto h = index::hash_file(*src_root, rp("f.bin"));
  REQUIRE(h.ok());
  REQUIRE(h->chunks.size() >= 8);
  index::file_entry want;
  want.path = rp("f.bin");
  want.size = content.size();
  want.hash = h->hash;
  want.mode = 0640;
  want.mtime_ns = 1600000000000000000LL;
  want.version.bump(5, 0);
  auto chunk_data = [&](std::size_t i) {
    const auto& c = h->chunks[i];
    return as_bytes(std::string_view(content).substr(c.offset, c.size));
  };

  auto f = sync::folder::open(t.dir / "dst", t.dir / "state" / "dst.db", 1, true);
  REQUIRE(f.ok());
  const std::size_t half = h->chunks.size() / 2;
  std::uint64_t half_bytes = 0;
  {
    auto b = sync::file_builder::open(**f, want.path, want);
    REQUIRE(b.ok());
    auto need = b->add_chunks(h->chunks);
    REQUIRE(need.ok());
    CHECK(need->size() == h->chunks.size());
    for (std::size_t i = 0; i < half; ++i) {
      REQUIRE(b->put(i, chunk_data(i)).ok());
      half_bytes += h->chunks[i].size;
    }
    // A corrupted chunk is refused.
    CHECK(b->put(half, chunk_data(half + 1)).code() == errc::hash_mismatch);
    // Committing early is refused, and nothing is at the final path.
    CHECK_FALSE(b->commit(std::nullopt).ok());
  }  // interrupted: the partial file stays
  CHECK_FALSE(fs::exists(t.dir / "dst" / "f.bin"));
  {
    auto b = sync::file_builder::open(**f, want.path, want);
    REQUIRE(b.ok());
    auto need = b->add_chunks(h->chunks);
    REQUIRE(need.ok());
    CHECK(need->size() == h->chunks.size() - half);
    CHECK(b->counters().resumed_bytes == half_bytes);
    for (auto i : *need) REQUIRE(b->put(i, chunk_data(i)).ok());
    REQUIRE(b->commit(std::nullopt).ok());
  }
  CHECK(read(t.dir / "dst" / "f.bin") == content);
  CHECK((fs::status(t.dir / "dst" / "f.bin").permissions() & fs::perms::all) == fs::perms(0640));
  auto e = (*f)->db().get(want.path);
  REQUIRE(e.ok());
  REQUIRE(e->has_value());
  CHECK((*e)->hash == want.hash);
  CHECK((*e)->version.get(5) == 1);

  // A second file with the same content is built from local chunks only.
  index::file_entry copy = want;
  copy.path = rp("sub/copy.bin");
  auto b = sync::file_builder::open(**f, copy.path, copy);
  REQUIRE(b.ok());
  auto need = b->add_chunks(h->chunks);
  REQUIRE(need.ok());
  CHECK(need->empty());
  CHECK(b->counters().reused_bytes == content.size());
  REQUIRE(b->commit(std::nullopt).ok());
  CHECK(read(t.dir / "dst" / "sub" / "copy.bin") == content);

  // A target that appeared meanwhile is not overwritten.
  index::file_entry third = want;
  third.path = rp("third.bin");
  auto b3 = sync::file_builder::open(**f, third.path, third);
  REQUIRE(b3.ok());
  REQUIRE(b3->add_chunks(h->chunks).ok());
  write(t.dir / "dst" / "third.bin", "local edit");
  CHECK(b3->commit(std::nullopt).code() == errc::already_exists);
  CHECK(read(t.dir / "dst" / "third.bin") == "local edit");

  // A chunk list that is not contiguous is refused (peer input).
  auto b4 = sync::file_builder::open(**f, rp("bad.bin"), want);
  REQUIRE(b4.ok());
  auto bad = h->chunks;
  bad[1].offset += 1;
  CHECK(b4->add_chunks(bad).code() == errc::malformed);
}
