#pragma once
// Test messages for the wire codec: at least one per type, with every field
// set to a non-default value (checked in codec_test.cpp), plus edge values:
// 0 and max integers, unicode, empty vectors and strings, full-size blocks.
#include <ftsync/util/limits.hpp>
#include <ftsync/wire/messages.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

namespace wire_test {

using namespace ftsync;
using namespace ftsync::wire;

inline constexpr std::uint32_t u32_max = std::numeric_limits<std::uint32_t>::max();
inline constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();
inline constexpr std::int64_t i64_min = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t i64_max = std::numeric_limits<std::int64_t>::max();

template <std::size_t N>
std::array<byte, N> filled(byte seed) {
  std::array<byte, N> a{};
  for (std::size_t i = 0; i < N; ++i) a[i] = static_cast<byte>(seed + i * 7);
  return a;
}

inline bytes pattern(std::size_t n, byte seed) {
  bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<byte>(seed ^ (i * 131) ^ (i >> 8));
  return b;
}

// The first message of each type in this list has every field different
// from its default (codec_test.cpp checks that), so a round trip of it
// exercises every field.
inline std::vector<message> sample_messages() {
  const entry e1{"ünïcödé 日本語.txt", entry_kind::symlink, u64_max, i64_min, 0777};
  const entry e2{"b", entry_kind::directory, 0, -1, 01};
  std::vector<message> out;
  out.push_back(hello{3, filled<32>(1)});
  out.push_back(hello_reply{u32_max, filled<32>(2), filled<32>(3), filled<64>(4)});
  out.push_back(auth{pattern(112, 5)});
  out.push_back(welcome{true, "server ✓"});
  out.push_back(refused{errc::busy, "at capacity"});
  out.push_back(ping{7, -1});
  out.push_back(pong{u32_max, i64_min, i64_max});
  out.push_back(ok{1});
  out.push_back(error_reply{9, errc::bad_path, "a/../b: bad path"});
  out.push_back(stat_request{10, "dir/日本語"});
  out.push_back(stat_reply{11, e1});
  out.push_back(list_request{12, "d", 1024});
  out.push_back(list_reply{13, {e1, e2}, true});
  out.push_back(mkdir_request{14, "x/y", true, 0700, 1700000000123456789});
  out.push_back(rmdir_request{15, "x/y"});
  out.push_back(remove_request{16, "tree", true});
  out.push_back(move_request{17, "from", "to/ü"});
  out.push_back(put_begin{18, "big.iso", 1ull << 40, -42, 0600, false});
  out.push_back(put_ready{19, 20, true, 8191, filled<32>(6)});
  out.push_back(put_block{21, u64_max, pattern(limits::block_size, 7), filled<32>(8)});
  out.push_back(put_block_ack{22, 5});
  out.push_back(put_commit{23, 24, filled<32>(9)});
  out.push_back(get_open{25, "get/me"});
  out.push_back(get_info{26, 27, e2});
  out.push_back(get_prefix{28, 29, 30});
  out.push_back(get_prefix_reply{31, filled<32>(10)});
  out.push_back(get_block{32, 33, 34});
  out.push_back(get_block_reply{35, 36, pattern(limits::block_size, 11), filled<32>(12)});
  out.push_back(get_close{37, 38});
  out.push_back(bye{"shutting down"});
  out.push_back(rate_limit{1024 * 1024});
  const file_record r1{"dir/ünï.txt", entry_kind::directory, true, u64_max, i64_min, 0755, filled<32>(15),
                       {{u64_max, 1}, {2, u64_max}}, u64_max, ""};
  const file_record link{"a/link", entry_kind::symlink, false, 9, 1, 0777, filled<32>(18), {{3, 4}}, 5, "../target"};
  const chunk_ref c1{u64_max, u32_max, filled<32>(16)};
  out.push_back(sync_index_request{40, u64_max, 41});
  out.push_back(sync_index_reply{42, 43, {r1, link, file_record{}}, true});
  out.push_back(sync_chunks_request{44, "c/d", filled<32>(17), 45});
  out.push_back(sync_chunks_reply{46, {c1, chunk_ref{}}, true});
  out.push_back(sync_data_request{47, "e", 48, 49, filled<32>(18)});
  out.push_back(sync_data_reply{50, pattern(limits::block_size, 19)});
  out.push_back(sync_put{51, r1, {{3, 4}}, "from/here", {c1, chunk_ref{}}});
  out.push_back(sync_put{54, link, {}, ""});
  out.push_back(sync_put_ready{52, 53, {0, u64_max}});
  out.push_back(sync_put_ready{55, 56});
  out.push_back(sync_put_chunks{54, 55, 56, {c1}});
  out.push_back(sync_put_need{57, {0, 1, u64_max}});
  out.push_back(sync_put_data{58, 59, pattern(1000, 20)});
  out.push_back(sync_put_commit{60, 61});

  // Edge values: zeros, empties, maximum sizes.
  out.push_back(hello{});
  out.push_back(auth{});
  out.push_back(welcome{false, ""});
  out.push_back(refused{errc::ok, ""});
  out.push_back(refused{errc::internal, std::string(4096, 'r')});
  out.push_back(ping{0, 0});
  out.push_back(ping{u32_max, i64_max});
  out.push_back(pong{0, -32, -33});
  out.push_back(pong{128, -128, -129});
  out.push_back(pong{65536, -32769, -2147483649LL});
  out.push_back(list_reply{0, {}, false});
  out.push_back(put_block{0, 0, {}, {}});
  out.push_back(put_block{1, 1, pattern(limits::max_msgpack_bin, 13), filled<32>(14)});
  out.push_back(get_block_reply{0, 0, {}, {}});
  out.push_back(stat_reply{0, entry{}});
  out.push_back(put_begin{0, std::string(limits::max_path_bytes, 'p'), 0, 0, 0, true});
  out.push_back(bye{""});
  out.push_back(rate_limit{0});
  out.push_back(sync_index_reply{0, 0, {}, false});
  out.push_back(sync_put_need{0, {}});
  out.push_back(sync_put{0, file_record{}, {}, ""});
  return out;
}

inline bytes read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline bool file_exists(const std::filesystem::path& p) { return std::filesystem::is_regular_file(p); }

}  // namespace wire_test
