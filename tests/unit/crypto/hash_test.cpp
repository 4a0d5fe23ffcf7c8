#include <ftsync/crypto/hash.hpp>

#include "unit/crypto/test_support.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace ftsync;
using namespace ftsync::crypto;

// Expected values computed independently with Python's hashlib.blake2b
// (digest_size=32) following the formulas in hash.hpp.

TEST_CASE("hash_block is BLAKE2b-256") {
  CHECK(to_hex(hash_block({})) == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  CHECK(to_hex(hash_block(as_bytes("abc"))) ==
        "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST_CASE("hasher: incremental equals one-shot; keyed mode differs") {
  bytes data(100000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<byte>(i * 31 + 7);
  hasher h;
  const byte_view all(data);
  h.update(all.subspan(0, 1));
  h.update(all.subspan(1, 4999));
  h.update(all.subspan(5000, 0));
  h.update(all.subspan(5000));
  CHECK(h.finish() == hash_block(data));

  const bytes key(32, 'k');
  hasher keyed(key);
  keyed.update(as_bytes("abc"));
  CHECK(to_hex(keyed.finish()) == "0a9b1f4f633832a535f3e4539d906998c3814fbcd4cc136e57e8ea742ac36b61");

  hasher moved_from;
  moved_from.update(as_bytes("ab"));
  hasher moved(std::move(moved_from));
  moved.update(as_bytes("c"));
  CHECK(moved.finish() == hash_block(as_bytes("abc")));
}

TEST_CASE("file_hasher follows the documented formula") {
  file_hasher f;
  f.add_block(hash_block(as_bytes("a")));
  f.add_block(hash_block(as_bytes("b")));
  CHECK(f.blocks() == 2);
  CHECK(f.block_hashes()[1] == hash_block(as_bytes("b")));
  CHECK(to_hex(f.finish(2)) == "7de4efc18d7498ef5797fcf0f000a65ad9fbd1e399a0defceae8d0a01ca6b387");
  // The size is part of the hash: same blocks, other size, other hash.
  CHECK(f.finish(3) != f.finish(2));

  file_hasher empty;
  CHECK(to_hex(empty.finish(0)) == "67fc63c284034c3dcdb87c3b8bb4355bf4477449a054d6e8af8b07df78ebf57f");
  // A file hash is never just the hash of the content.
  CHECK(empty.finish(0) != hash_block({}));
}

TEST_CASE("prefix_hash follows the documented formula and commits to count") {
  const std::vector<digest> blocks = {hash_block(as_bytes("a")), hash_block(as_bytes("b")),
                                      hash_block(as_bytes("c"))};
  CHECK(to_hex(prefix_hash(blocks, 0)) == "ccb56b95431585e8c5e147592b88b6c75897ea02c39995a708473e0890605422");
  CHECK(to_hex(prefix_hash({}, 0)) == "ccb56b95431585e8c5e147592b88b6c75897ea02c39995a708473e0890605422");
  CHECK(to_hex(prefix_hash(blocks, 1)) == "e32ec424b7bd489026504f65eaf928b693dfb45e7afafbad555a3ea8bcd42836");

  // A kept prefix of 2 blocks matches the source's first 2 of 3.
  const std::vector<digest> kept(blocks.begin(), blocks.begin() + 2);
  CHECK(prefix_hash(kept, 2) == prefix_hash(blocks, 2));
  std::set<digest> distinct;
  for (std::size_t n = 0; n <= 3; ++n) distinct.insert(prefix_hash(blocks, n));
  CHECK(distinct.size() == 4);
  // Different content at block 1 changes the prefix hash.
  std::vector<digest> other = blocks;
  other[1] = hash_block(as_bytes("x"));
  CHECK(prefix_hash(other, 2) != prefix_hash(blocks, 2));
  CHECK(prefix_hash(other, 1) == prefix_hash(blocks, 1));

  // A count beyond the list (e.g. from a peer) does not abort and matches
  // no real prefix.
  for (std::size_t n = 0; n <= 3; ++n) CHECK(prefix_hash(kept, 3) != prefix_hash(blocks, n));
  CHECK(prefix_hash(kept, 1000) != prefix_hash(blocks, 3));
}
