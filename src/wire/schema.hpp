#pragma once
// The wire schema in one place: each message's type tag and the ordered list
// of its fields. The encoder, the decoder and the size hint all walk these
// lists, so a field is added to the wire by adding it here once.
#include <ftsync/wire/messages.hpp>

#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace ftsync::wire::schema {

template <class T>
inline constexpr bool always_false = false;

// Type tag of message struct M (messages.hpp `msg_type`).
template <class M>
consteval msg_type tag_of() {
  using T = std::remove_const_t<M>;
  if constexpr (std::is_same_v<T, hello>)
    return msg_type::hello;
  else if constexpr (std::is_same_v<T, hello_reply>)
    return msg_type::hello_reply;
  else if constexpr (std::is_same_v<T, auth>)
    return msg_type::auth;
  else if constexpr (std::is_same_v<T, welcome>)
    return msg_type::welcome;
  else if constexpr (std::is_same_v<T, refused>)
    return msg_type::refused;
  else if constexpr (std::is_same_v<T, ping>)
    return msg_type::ping;
  else if constexpr (std::is_same_v<T, pong>)
    return msg_type::pong;
  else if constexpr (std::is_same_v<T, ok>)
    return msg_type::ok;
  else if constexpr (std::is_same_v<T, error_reply>)
    return msg_type::error_reply;
  else if constexpr (std::is_same_v<T, stat_request>)
    return msg_type::stat_request;
  else if constexpr (std::is_same_v<T, stat_reply>)
    return msg_type::stat_reply;
  else if constexpr (std::is_same_v<T, list_request>)
    return msg_type::list_request;
  else if constexpr (std::is_same_v<T, list_reply>)
    return msg_type::list_reply;
  else if constexpr (std::is_same_v<T, mkdir_request>)
    return msg_type::mkdir_request;
  else if constexpr (std::is_same_v<T, rmdir_request>)
    return msg_type::rmdir_request;
  else if constexpr (std::is_same_v<T, remove_request>)
    return msg_type::remove_request;
  else if constexpr (std::is_same_v<T, move_request>)
    return msg_type::move_request;
  else if constexpr (std::is_same_v<T, put_begin>)
    return msg_type::put_begin;
  else if constexpr (std::is_same_v<T, put_ready>)
    return msg_type::put_ready;
  else if constexpr (std::is_same_v<T, put_block>)
    return msg_type::put_block;
  else if constexpr (std::is_same_v<T, put_block_ack>)
    return msg_type::put_block_ack;
  else if constexpr (std::is_same_v<T, put_commit>)
    return msg_type::put_commit;
  else if constexpr (std::is_same_v<T, get_open>)
    return msg_type::get_open;
  else if constexpr (std::is_same_v<T, get_info>)
    return msg_type::get_info;
  else if constexpr (std::is_same_v<T, get_prefix>)
    return msg_type::get_prefix;
  else if constexpr (std::is_same_v<T, get_prefix_reply>)
    return msg_type::get_prefix_reply;
  else if constexpr (std::is_same_v<T, get_block>)
    return msg_type::get_block;
  else if constexpr (std::is_same_v<T, get_block_reply>)
    return msg_type::get_block_reply;
  else if constexpr (std::is_same_v<T, get_close>)
    return msg_type::get_close;
  else if constexpr (std::is_same_v<T, bye>)
    return msg_type::bye;
  else if constexpr (std::is_same_v<T, rate_limit>)
    return msg_type::rate_limit;
  else if constexpr (std::is_same_v<T, sync_index_request>)
    return msg_type::sync_index_request;
  else if constexpr (std::is_same_v<T, sync_index_reply>)
    return msg_type::sync_index_reply;
  else if constexpr (std::is_same_v<T, sync_chunks_request>)
    return msg_type::sync_chunks_request;
  else if constexpr (std::is_same_v<T, sync_chunks_reply>)
    return msg_type::sync_chunks_reply;
  else if constexpr (std::is_same_v<T, sync_data_request>)
    return msg_type::sync_data_request;
  else if constexpr (std::is_same_v<T, sync_data_reply>)
    return msg_type::sync_data_reply;
  else if constexpr (std::is_same_v<T, sync_put>)
    return msg_type::sync_put;
  else if constexpr (std::is_same_v<T, sync_put_ready>)
    return msg_type::sync_put_ready;
  else if constexpr (std::is_same_v<T, sync_put_chunks>)
    return msg_type::sync_put_chunks;
  else if constexpr (std::is_same_v<T, sync_put_need>)
    return msg_type::sync_put_need;
  else if constexpr (std::is_same_v<T, sync_put_data>)
    return msg_type::sync_put_data;
  else if constexpr (std::is_same_v<T, sync_put_commit>)
    return msg_type::sync_put_commit;
  else
    static_assert(always_false<T>, "message struct without a tag");
}

// References to the fields of `m`, in wire order (= declaration order in
// messages.hpp). Works for const and non-const structs.
template <class M>
auto fields(M& m) {
  using T = std::remove_const_t<M>;
  if constexpr (std::is_same_v<T, entry>)
    return std::tie(m.name, m.kind, m.size, m.mtime_ns, m.mode);
  else if constexpr (std::is_same_v<T, version_item>)
    return std::tie(m.device, m.counter);
  else if constexpr (std::is_same_v<T, file_record>)
    return std::tie(m.path, m.kind, m.deleted, m.size, m.mtime_ns, m.mode, m.hash, m.version, m.sequence, m.target);
  else if constexpr (std::is_same_v<T, chunk_ref>)
    return std::tie(m.offset, m.size, m.hash);
  else if constexpr (std::is_same_v<T, hello>)
    return std::tie(m.version, m.ephemeral);
  else if constexpr (std::is_same_v<T, hello_reply>)
    return std::tie(m.version, m.ephemeral, m.identity, m.signature);
  else if constexpr (std::is_same_v<T, auth>)
    return std::tie(m.sealed);
  else if constexpr (std::is_same_v<T, welcome>)
    return std::tie(m.read_only, m.server_name);
  else if constexpr (std::is_same_v<T, refused>)
    return std::tie(m.code, m.message);
  else if constexpr (std::is_same_v<T, ping>)
    return std::tie(m.id, m.client_time_ns);
  else if constexpr (std::is_same_v<T, pong>)
    return std::tie(m.id, m.client_time_ns, m.server_time_ns);
  else if constexpr (std::is_same_v<T, ok>)
    return std::tie(m.id);
  else if constexpr (std::is_same_v<T, error_reply>)
    return std::tie(m.id, m.code, m.message);
  else if constexpr (std::is_same_v<T, stat_request>)
    return std::tie(m.id, m.path);
  else if constexpr (std::is_same_v<T, stat_reply>)
    return std::tie(m.id, m.info);
  else if constexpr (std::is_same_v<T, list_request>)
    return std::tie(m.id, m.path, m.offset);
  else if constexpr (std::is_same_v<T, list_reply>)
    return std::tie(m.id, m.entries, m.more);
  else if constexpr (std::is_same_v<T, mkdir_request>)
    return std::tie(m.id, m.path, m.parents, m.mode, m.mtime_ns);
  else if constexpr (std::is_same_v<T, rmdir_request>)
    return std::tie(m.id, m.path);
  else if constexpr (std::is_same_v<T, remove_request>)
    return std::tie(m.id, m.path, m.recursive);
  else if constexpr (std::is_same_v<T, move_request>)
    return std::tie(m.id, m.from, m.to);
  else if constexpr (std::is_same_v<T, put_begin>)
    return std::tie(m.id, m.path, m.size, m.mtime_ns, m.mode, m.skip_if_same);
  else if constexpr (std::is_same_v<T, put_ready>)
    return std::tie(m.id, m.transfer, m.up_to_date, m.kept_blocks, m.kept_prefix);
  else if constexpr (std::is_same_v<T, put_block>)
    return std::tie(m.transfer, m.index, m.data, m.hash);
  else if constexpr (std::is_same_v<T, put_block_ack>)
    return std::tie(m.transfer, m.index);
  else if constexpr (std::is_same_v<T, put_commit>)
    return std::tie(m.id, m.transfer, m.file_hash);
  else if constexpr (std::is_same_v<T, get_open>)
    return std::tie(m.id, m.path);
  else if constexpr (std::is_same_v<T, get_info>)
    return std::tie(m.id, m.transfer, m.info);
  else if constexpr (std::is_same_v<T, get_prefix>)
    return std::tie(m.id, m.transfer, m.blocks);
  else if constexpr (std::is_same_v<T, get_prefix_reply>)
    return std::tie(m.id, m.prefix);
  else if constexpr (std::is_same_v<T, get_block>)
    return std::tie(m.id, m.transfer, m.index);
  else if constexpr (std::is_same_v<T, get_block_reply>)
    return std::tie(m.id, m.index, m.data, m.hash);
  else if constexpr (std::is_same_v<T, get_close>)
    return std::tie(m.id, m.transfer);
  else if constexpr (std::is_same_v<T, bye>)
    return std::tie(m.reason);
  else if constexpr (std::is_same_v<T, rate_limit>)
    return std::tie(m.bytes_per_s);
  else if constexpr (std::is_same_v<T, sync_index_request>)
    return std::tie(m.id, m.index_id, m.after);
  else if constexpr (std::is_same_v<T, sync_index_reply>)
    return std::tie(m.id, m.index_id, m.records, m.more);
  else if constexpr (std::is_same_v<T, sync_chunks_request>)
    return std::tie(m.id, m.path, m.hash, m.first);
  else if constexpr (std::is_same_v<T, sync_chunks_reply>)
    return std::tie(m.id, m.chunks, m.more);
  else if constexpr (std::is_same_v<T, sync_data_request>)
    return std::tie(m.id, m.path, m.offset, m.size, m.hash);
  else if constexpr (std::is_same_v<T, sync_data_reply>)
    return std::tie(m.id, m.data);
  else if constexpr (std::is_same_v<T, sync_put>)
    return std::tie(m.id, m.record, m.base, m.from, m.chunks);
  else if constexpr (std::is_same_v<T, sync_put_ready>)
    return std::tie(m.id, m.transfer, m.need);
  else if constexpr (std::is_same_v<T, sync_put_chunks>)
    return std::tie(m.id, m.transfer, m.first, m.chunks);
  else if constexpr (std::is_same_v<T, sync_put_need>)
    return std::tie(m.id, m.indices);
  else if constexpr (std::is_same_v<T, sync_put_data>)
    return std::tie(m.transfer, m.index, m.data);
  else if constexpr (std::is_same_v<T, sync_put_commit>)
    return std::tie(m.id, m.transfer);
  else
    static_assert(always_false<T>, "message struct without a field list");
}

// Structs nested inside messages (encoded as arrays of their fields).
template <class T>
inline constexpr bool is_record_v = std::is_same_v<T, entry> || std::is_same_v<T, version_item> ||
                                    std::is_same_v<T, file_record> || std::is_same_v<T, chunk_ref>;

template <class M>
inline constexpr std::size_t field_count = std::tuple_size_v<decltype(fields(std::declval<M&>()))>;

inline constexpr std::size_t message_kinds = std::variant_size_v<message>;

// Tag of each variant alternative, in variant order (derived, so the two
// orders cannot drift apart).
inline constexpr std::array<msg_type, message_kinds> k_tag_by_index =
    []<std::size_t... I>(std::index_sequence<I...>) {
  return std::array<msg_type, message_kinds>{tag_of<std::variant_alternative_t<I, message>>()...};
}
(std::make_index_sequence<message_kinds>{});

// Variant index of each tag value 0..255, -1 for tags no message uses.
inline constexpr std::array<int, 256> k_index_by_tag = [] {
  std::array<int, 256> table{};
  table.fill(-1);
  for (std::size_t i = 0; i < message_kinds; ++i)
    table[static_cast<std::size_t>(k_tag_by_index[i])] = static_cast<int>(i);
  return table;
}();

static_assert(
    [] {
      for (std::size_t i = 0; i < message_kinds; ++i)
        if (k_index_by_tag[static_cast<std::size_t>(k_tag_by_index[i])] != static_cast<int>(i)) return false;
      return true;
    }(),
    "two message structs share a type tag");

}  // namespace ftsync::wire::schema
