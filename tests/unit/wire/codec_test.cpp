// Round trips, the exact wire format, and handshake limits of wire::encode /
// wire::decode.
#include <ftsync/wire/codec.hpp>

#include <doctest/doctest.h>

#include "unit/wire/samples.hpp"
#include "wire/schema.hpp"

#include <algorithm>
#include <set>
#include <string>

using namespace wire_test;

namespace {

std::string name_of(const message& m) { return type_name(type_of(m)); }

// True when every field of `s` differs from the same field of S{}.
template <class S>
bool all_fields_non_default(const S& s) {
  const S d{};
  auto a = schema::fields(s);
  auto b = schema::fields(d);
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return ((std::get<I>(a) != std::get<I>(b)) && ...);
  }
  (std::make_index_sequence<std::tuple_size_v<decltype(a)>>{});
}

}  // namespace

TEST_CASE("samples cover every message type with every field set") {
  const auto samples = sample_messages();
  std::set<msg_type> seen;
  std::set<msg_type> checked;
  for (const auto& m : samples) {
    seen.insert(type_of(m));
    // The first sample of each type must set every field.
    if (checked.insert(type_of(m)).second) {
      std::visit([&](const auto& msg) { CHECK_MESSAGE(all_fields_non_default(msg), name_of(m)); }, m);
    }
  }
  CHECK(seen.size() == std::variant_size_v<message>);
  CHECK(all_fields_non_default(std::get<stat_reply>(samples[10]).info));
}

TEST_CASE("type_of and type_name agree with the tag table") {
  std::set<std::string> names;
  for (std::size_t i = 0; i < schema::message_kinds; ++i) {
    const msg_type t = schema::k_tag_by_index[i];
    names.insert(type_name(t));
    CHECK(std::string(type_name(t)) != "unknown");
  }
  CHECK(names.size() == schema::message_kinds);
  CHECK(type_of(message{put_block{}}) == msg_type::put_block);
  CHECK(type_of(message{hello{}}) == msg_type::hello);
  CHECK(type_of(message{bye{}}) == msg_type::bye);
  CHECK(std::string(type_name(msg_type::get_block_reply)) == "get_block_reply");
  CHECK(std::string(type_name(static_cast<msg_type>(200))) == "unknown");
}

TEST_CASE("every sample survives encode -> decode unchanged") {
  for (const auto& m : sample_messages()) {
    CAPTURE(name_of(m));
    const bytes frame = encode(m);
    REQUIRE(frame.size() <= limits::max_frame_bytes);
    result<message> back = decode(frame);
    REQUIRE_MESSAGE(back.ok(), back.err().message);
    CHECK(type_of(*back) == type_of(m));
    CHECK(*back == m);  // field by field (defaulted operator== on every struct)
    CHECK(encode(*back) == frame);
  }
}

TEST_CASE("a changed field makes the round trip differ (the comparison can fail)") {
  put_block a{1, 2, pattern(100, 1), filled<32>(3)};
  put_block b = a;
  b.data[99] ^= 1;
  CHECK_FALSE(message{a} == message{b});
  auto back = decode(encode(a));
  REQUIRE(back.ok());
  CHECK_FALSE(*back == message{b});
  list_reply l{1, {entry{"x", entry_kind::file, 1, 2, 3}}, false};
  list_reply l2 = l;
  l2.entries[0].mode = 4;
  CHECK_FALSE(message{l} == message{l2});
}

TEST_CASE("wire format: [tag, fields...] with the smallest msgpack encodings") {
  CHECK(encode(ping{7, -1}) == bytes{0x93, 0x0a, 0x07, 0xff});
  CHECK(encode(ok{300}) == bytes{0x92, 0x0c, 0xcd, 0x01, 0x2c});
  CHECK(encode(bye{"hi"}) == bytes{0x92, 0x3c, 0xa2, 'h', 'i'});
  CHECK(encode(welcome{true, ""}) == bytes{0x93, 0x04, 0xc3, 0xa0});
  CHECK(encode(error_reply{1, errc::not_found, "x"}) == bytes{0x94, 0x0d, 0x01, 0x05, 0xa1, 'x'});
  CHECK(encode(pong{0, -33, i64_min}) ==
        bytes{0x94, 0x0b, 0x00, 0xd0, 0xdf, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0});
  const auto eph = filled<32>(1);
  bytes hello_frame(5 + 32);
  const byte head[] = {0x93, 0x01, 0x03, 0xc4, 32};
  std::copy(std::begin(head), std::end(head), hello_frame.begin());
  std::copy(eph.begin(), eph.end(), hello_frame.begin() + 5);
  CHECK(encode(hello{3, eph}) == hello_frame);
  // stat_reply: the entry is a nested 5-array.
  CHECK(encode(stat_reply{2, entry{"f", entry_kind::directory, 1, -1, 0755}}) ==
        bytes{0x93, 0x15, 0x02, 0x95, 0xa1, 'f', 0x01, 0x01, 0xff, 0xcd, 0x01, 0xed});
  // A block payload is a bin32 for 128 KiB.
  const bytes block = encode(put_block{1, 2, bytes(limits::block_size, 0x5a), {}});
  REQUIRE(block.size() > 8);
  CHECK(block[0] == 0x95);
  CHECK(block[1] == 32);
  CHECK(block[4] == 0xc6);
  CHECK(block.size() == 4 + 5 + limits::block_size + 2 + 32);  // head, bin32 header, data, hash
}

TEST_CASE(
    "golden encodings (written by tests/tools/gen_wire_fixtures.py) decode and re-encode byte for byte") {
  const std::filesystem::path dir = std::filesystem::path(FTSYNC_FIXTURES_DIR) / "wire";
  std::set<std::string> types;
  for (const auto& de : std::filesystem::directory_iterator(dir)) {
    if (de.path().extension() != ".msgpack") continue;
    const std::string stem = de.path().stem().string();
    CAPTURE(stem);
    const bytes frame = read_file(de.path());
    result<message> m = decode(frame);
    REQUIRE_MESSAGE(m.ok(), m.err().message);
    CHECK(name_of(*m) == stem);
    CHECK(encode(*m) == frame);
    types.insert(stem);
  }
  CHECK(types.size() == schema::message_kinds);
}

TEST_CASE("encode_into appends and reuses capacity") {
  bytes out{0xaa, 0xbb};
  encode_into(ping{7, -1}, out);
  CHECK(out == bytes{0xaa, 0xbb, 0x93, 0x0a, 0x07, 0xff});

  const message big = put_block{1, 2, pattern(limits::block_size, 3), filled<32>(4)};
  const bytes expected = encode(big);
  bytes buf;
  encode_into(big, buf);
  CHECK(buf == expected);
  // The size hint reserves once: no reallocation while packing a block.
  CHECK(buf.capacity() < expected.size() + 256);
  const auto* data = buf.data();
  const std::size_t cap = buf.capacity();
  buf.clear();
  encode_into(big, buf);
  CHECK(buf == expected);
  CHECK(buf.data() == data);  // same allocation reused
  CHECK(buf.capacity() == cap);
}

TEST_CASE("largest legitimate frames fit the default limits") {
  // A full listing page: 1024 entries with 255-byte names (limits.hpp).
  list_reply page{1, {}, true};
  for (std::size_t i = 0; i < limits::max_list_entries; ++i)
    page.entries.push_back(entry{std::string(limits::max_name_bytes, static_cast<char>('a' + i % 26)),
                                 entry_kind::file, u64_max, i64_min, 0644});
  const bytes frame = encode(page);
  CHECK(frame.size() <= limits::max_frame_bytes);
  auto back = decode(frame);
  REQUIRE_MESSAGE(back.ok(), back.err().message);
  CHECK(*back == message{page});

  // A bin of exactly max_msgpack_bin is accepted; one byte more is not.
  const put_block at_limit{1, 1, bytes(limits::max_msgpack_bin, 1), {}};
  CHECK(decode(encode(at_limit)).ok());
  const put_block over{1, 1, bytes(limits::max_msgpack_bin + 1, 1), {}};
  CHECK(decode(encode(over)).code() == errc::too_large);
}

TEST_CASE("decode copies payloads: the message outlives the frame") {
  bytes frame = encode(get_block_reply{1, 2, pattern(4096, 9), filled<32>(1)});
  result<message> m = decode(frame);
  REQUIRE(m.ok());
  std::fill(frame.begin(), frame.end(), byte{0});
  frame.clear();
  frame.shrink_to_fit();
  CHECK(std::get<get_block_reply>(*m).data == pattern(4096, 9));
}

TEST_CASE("handshake_limits are small and reject what the handshake never sends") {
  const decode_limits hs = handshake_limits();
  CHECK(hs.max_frame == limits::max_handshake_frame_bytes);
  CHECK(hs.max_depth == 2);
  CHECK(hs.max_array <= 16);
  CHECK(hs.max_str <= 64);
  CHECK(hs.max_bin <= 256);

  // Every handshake message decodes under them.
  for (const message& m : {message{hello{3, filled<32>(1)}},
                           message{hello_reply{u32_max, filled<32>(2), filled<32>(3), filled<64>(4)}},
                           message{auth{pattern(112, 5)}}}) {
    auto r = decode(encode(m), hs);
    CHECK_MESSAGE(r.ok(), name_of(m));
  }

  // 5000 bytes: over the 4096-byte handshake frame limit, before parsing.
  const bytes frame5000 = encode(auth{pattern(4995, 1)});
  REQUIRE(frame5000.size() == 5000);
  CHECK(decode(frame5000).ok());
  CHECK(decode(frame5000, hs).code() == errc::too_large);

  // A list_reply nests three arrays deep; the handshake allows two.
  const bytes listing = encode(list_reply{1, {entry{"a", entry_kind::file, 1, 1, 1}}, false});
  CHECK(decode(listing).ok());
  CHECK(decode(listing, hs).code() == errc::too_deep);
  // ... and a long one is refused for its length.
  list_reply many{1, {}, false};
  many.entries.resize(17);
  const bytes many_frame = encode(many);
  CHECK(decode(many_frame).ok());
  CHECK(decode(many_frame, hs).code() == errc::too_large);

  // Strings, bins and maps over the small caps.
  CHECK(decode(encode(welcome{true, std::string(65, 'w')}), hs).code() == errc::too_large);
  CHECK(decode(encode(auth{bytes(257, 1)}), hs).code() == errc::too_large);
  CHECK(decode(bytes{0x81, 0x01, 0x02}, hs).code() == errc::too_large);
}
