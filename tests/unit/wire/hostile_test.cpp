// Hostile frames against wire::decode (research/security.md checklist A1-A8).
// Each file in tests/fixtures/hostile/*.msgpack is named after its attack and
// mapped to the exact errc it must produce; decode must never throw.
#include <ftsync/wire/codec.hpp>

#include <doctest/doctest.h>

#include "unit/wire/samples.hpp"
#include "wire/schema.hpp"

#include <chrono>
#include <random>
#include <set>
#include <string>

using namespace wire_test;

namespace {

const std::filesystem::path hostile_dir = std::filesystem::path(FTSYNC_FIXTURES_DIR) / "hostile";

// The only codes decode may return (codec.hpp).
bool is_decode_error(errc c) {
  return c == errc::malformed || c == errc::too_large || c == errc::too_deep || c == errc::unsupported;
}

struct fixture_row {
  const char* file;
  errc expected;
};

// Written by tests/tools/gen_wire_fixtures.py.
const fixture_row k_fixtures[] = {
    // A2: 5-byte size headers asking for 4 G elements or bytes.
    {"array32_4g.msgpack", errc::too_large},
    {"map32_4g.msgpack", errc::too_large},
    {"str32_4g.msgpack", errc::too_large},
    {"bin32_4g.msgpack", errc::too_large},
    // Lengths one over the default limits, data present.
    {"array16_over_limit.msgpack", errc::too_large},
    {"map16_over_limit.msgpack", errc::too_large},
    {"str_over_limit.msgpack", errc::too_large},
    {"bin_over_limit.msgpack", errc::too_large},
    // A3: nesting.
    {"nested_100k.msgpack", errc::too_deep},
    {"nested_9.msgpack", errc::too_deep},
    // A4: more than one object.
    {"trailing_byte.msgpack", errc::malformed},
    {"two_messages.msgpack", errc::malformed},
    // A5: valid msgpack, wrong schema.
    {"not_an_array.msgpack", errc::malformed},
    {"map_at_top.msgpack", errc::malformed},
    {"empty.msgpack", errc::malformed},
    {"empty_array.msgpack", errc::malformed},
    {"type_tag_as_str.msgpack", errc::malformed},
    {"negative_type_tag.msgpack", errc::malformed},
    {"wrong_field_type.msgpack", errc::malformed},
    {"float_field.msgpack", errc::malformed},
    {"nil_field.msgpack", errc::malformed},
    {"bool_as_int.msgpack", errc::malformed},
    {"missing_field.msgpack", errc::malformed},
    {"extra_field.msgpack", errc::malformed},
    {"negative_size.msgpack", errc::malformed},
    {"uint32_overflow.msgpack", errc::malformed},
    {"int64_overflow.msgpack", errc::malformed},
    {"errc_out_of_range.msgpack", errc::malformed},
    {"entry_kind_out_of_range.msgpack", errc::malformed},
    {"entry_short.msgpack", errc::malformed},
    {"entry_not_array.msgpack", errc::malformed},
    {"key_wrong_length.msgpack", errc::malformed},
    {"digest_too_long.msgpack", errc::malformed},
    {"str_as_bin_path.msgpack", errc::malformed},
    {"bin_as_str_sealed.msgpack", errc::malformed},
    {"truncated_block.msgpack", errc::malformed},
    {"truncated_header.msgpack", errc::malformed},
    {"reserved_byte_c1.msgpack", errc::malformed},
    // A6: unknown message types.
    {"unknown_type.msgpack", errc::unsupported},
    {"unknown_type_300.msgpack", errc::unsupported},
    // A8: ext types.
    {"ext_type.msgpack", errc::malformed},
    {"ext_timestamp_top.msgpack", errc::malformed},
    {"ext8_in_field.msgpack", errc::malformed},
};

}  // namespace

TEST_CASE("hostile fixtures produce their exact errc and never throw") {
  CHECK(std::size(k_fixtures) >= 15);
  for (const auto& row : k_fixtures) {
    const std::string file = row.file;
    CAPTURE(file);
    const auto path = hostile_dir / file;
    REQUIRE(file_exists(path));
    const bytes frame = read_file(path);
    result<message> r = make_error(errc::internal, "not run");
    CHECK_NOTHROW(r = decode(frame));
    CHECK_FALSE(r.ok());
    CHECK(r.code() == row.expected);
    if (!r.ok()) CHECK_FALSE(r.err().message.empty());

    // The handshake limits are stricter: still an error, still no throw.
    result<message> hs = make_error(errc::internal, "not run");
    CHECK_NOTHROW(hs = decode(frame, handshake_limits()));
    CHECK_FALSE(hs.ok());
    CHECK(is_decode_error(hs.code()));
  }
}

TEST_CASE("A2: 5-byte size headers are refused by the limits, fast, with no huge allocation") {
  const bytes inputs[] = {{0xdd, 0xff, 0xff, 0xff, 0xff},
                          {0xdf, 0xff, 0xff, 0xff, 0xff},
                          {0xdb, 0xff, 0xff, 0xff, 0xff},
                          {0xc6, 0xff, 0xff, 0xff, 0xff},
                          {0xdd, 0x04, 0x00, 0x00, 0x00}};  // 67 M elements: 1.5 GiB without limits
  for (const decode_limits& lim : {decode_limits{}, handshake_limits()}) {
    for (const bytes& in : inputs) {
      CAPTURE(to_hex(in));
      const auto start = std::chrono::steady_clock::now();
      result<message> r = make_error(errc::internal, "not run");
      CHECK_NOTHROW(r = decode(in, lim));
      const auto took = std::chrono::steady_clock::now() - start;
      CHECK(r.code() == errc::too_large);
      // The limit fired (the message names it), not an allocation failure
      // that was turned into too_large afterwards.
      CHECK(r.err().message.find("limit") != std::string::npos);
      CHECK(r.err().message.find("out of memory") == std::string::npos);
      // Microseconds in practice; 100 ms leaves room for sanitizers.
      CHECK(took < std::chrono::milliseconds(100));
    }
  }
}

TEST_CASE("A7: a frame over max_frame is refused before parsing") {
  bytes frame = encode(ping{1, 2});
  frame.resize(limits::max_frame_bytes + 1, 0);
  result<message> r = make_error(errc::internal, "not run");
  CHECK_NOTHROW(r = decode(frame));
  CHECK(r.code() == errc::too_large);
  // One byte less is parsed, and the padding is trailing garbage.
  frame.pop_back();
  CHECK(decode(frame).code() == errc::malformed);
  // The limit is the caller's: a smaller max_frame refuses a valid ping.
  decode_limits tiny;
  tiny.max_frame = 3;
  CHECK(decode(encode(ping{1, 2}), tiny).code() == errc::too_large);
}

TEST_CASE("A3: depth limit is exact") {
  decode_limits lim;
  // 8 nested arrays decode (then fail the schema); 9 are too deep.
  bytes eight(7, 0x91);
  eight.push_back(0x90);
  CHECK(decode(eight, lim).code() == errc::malformed);
  bytes nine(8, 0x91);
  nine.push_back(0x90);
  CHECK(decode(nine, lim).code() == errc::too_deep);
}

TEST_CASE("A1: 20,000 random frames never throw and only yield documented errors") {
  std::mt19937_64 rng(0x5eed'f75cULL);
  std::uniform_int_distribution<int> byte_dist(0, 255);
  std::uniform_int_distribution<std::size_t> len_dist(0, 512);
  const auto& tags = schema::k_tag_by_index;
  std::size_t threw = 0, bad_code = 0, accepted = 0, mismatched = 0;
  for (int i = 0; i < 20000; ++i) {
    bytes frame(len_dist(rng));
    for (auto& b : frame) b = static_cast<byte>(byte_dist(rng));
    // Half the inputs start like a message (fixarray + known tag) so they
    // reach the schema checks instead of failing on the first byte.
    if (i % 2 == 0 && frame.size() >= 2) {
      frame[0] = static_cast<byte>(0x90 | (frame[0] & 0x07));
      frame[1] = static_cast<byte>(tags[frame[1] % tags.size()]);
    }
    try {
      result<message> r = decode(frame);
      if (r.ok()) {
        ++accepted;
        result<message> again = decode(encode(*r));
        if (!again.ok() || !(*again == *r)) ++mismatched;
      } else if (!is_decode_error(r.code())) {
        ++bad_code;
      }
    } catch (...) {
      ++threw;
    }
  }
  CHECK(threw == 0);
  CHECK(bad_code == 0);
  CHECK(mismatched == 0);
  MESSAGE("random frames accepted: " << accepted);
}

TEST_CASE("A1: mutated valid frames never throw; accepted ones round-trip") {
  std::mt19937_64 rng(42);
  std::size_t threw = 0, bad_code = 0, accepted = 0, mismatched = 0;
  for (const auto& m : sample_messages()) {
    const bytes base = encode(m);
    for (int i = 0; i < 100; ++i) {
      bytes frame = base;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        switch (rng() % 4) {
          case 0:
            frame[rng() % frame.size()] = static_cast<byte>(rng());
            break;
          case 1:
            frame[rng() % std::min<std::size_t>(frame.size(), 16)] ^= static_cast<byte>(1u << (rng() % 8));
            break;
          case 2:
            frame.resize(rng() % (frame.size() + 1));
            break;
          default:
            frame.push_back(static_cast<byte>(rng()));
            break;
        }
        if (frame.empty()) frame.push_back(0x90);
      }
      try {
        result<message> r = decode(frame);
        if (r.ok()) {
          ++accepted;
          result<message> again = decode(encode(*r));
          if (!again.ok() || !(*again == *r)) ++mismatched;
        } else if (!is_decode_error(r.code())) {
          ++bad_code;
        }
      } catch (...) {
        ++threw;
      }
    }
  }
  CHECK(threw == 0);
  CHECK(bad_code == 0);
  CHECK(mismatched == 0);
  CHECK(accepted > 0);  // some single-byte edits keep a valid message
}

TEST_CASE("fuzz seed corpus: valid seeds decode, hostile seeds are refused") {
  const auto dir =
      std::filesystem::path(FTSYNC_FIXTURES_DIR).parent_path() / "fuzz" / "corpus" / "wire_decode";
  REQUIRE(std::filesystem::is_directory(dir));
  std::size_t valid = 0, hostile = 0;
  for (const auto& de : std::filesystem::directory_iterator(dir)) {
    const std::string name = de.path().filename().string();
    CAPTURE(name);
    const bytes frame = read_file(de.path());
    result<message> r = make_error(errc::internal, "not run");
    CHECK_NOTHROW(r = decode(frame));
    if (name.rfind("valid_", 0) == 0) {
      CHECK(r.ok());
      ++valid;
    } else {
      CHECK_FALSE(r.ok());
      ++hostile;
    }
  }
  CHECK(valid == schema::message_kinds);
  CHECK(hostile >= std::size(k_fixtures));
}
