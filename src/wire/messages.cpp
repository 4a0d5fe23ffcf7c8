#include <ftsync/wire/messages.hpp>

#include "wire/schema.hpp"

namespace ftsync::wire {

msg_type type_of(const message& m) noexcept { return schema::k_tag_by_index[m.index()]; }

request_id request_id_of(const message& m) noexcept {
  return std::visit(
      [](const auto& v) -> request_id {
        if constexpr (requires { v.id; }) return v.id;
        return 0;
      },
      m);
}

const char* type_name(msg_type t) noexcept {
  switch (t) {
    case msg_type::hello:
      return "hello";
    case msg_type::hello_reply:
      return "hello_reply";
    case msg_type::auth:
      return "auth";
    case msg_type::welcome:
      return "welcome";
    case msg_type::refused:
      return "refused";
    case msg_type::ping:
      return "ping";
    case msg_type::pong:
      return "pong";
    case msg_type::ok:
      return "ok";
    case msg_type::error_reply:
      return "error_reply";
    case msg_type::stat_request:
      return "stat_request";
    case msg_type::stat_reply:
      return "stat_reply";
    case msg_type::list_request:
      return "list_request";
    case msg_type::list_reply:
      return "list_reply";
    case msg_type::mkdir_request:
      return "mkdir_request";
    case msg_type::rmdir_request:
      return "rmdir_request";
    case msg_type::remove_request:
      return "remove_request";
    case msg_type::move_request:
      return "move_request";
    case msg_type::put_begin:
      return "put_begin";
    case msg_type::put_ready:
      return "put_ready";
    case msg_type::put_block:
      return "put_block";
    case msg_type::put_block_ack:
      return "put_block_ack";
    case msg_type::put_commit:
      return "put_commit";
    case msg_type::get_open:
      return "get_open";
    case msg_type::get_info:
      return "get_info";
    case msg_type::get_prefix:
      return "get_prefix";
    case msg_type::get_prefix_reply:
      return "get_prefix_reply";
    case msg_type::get_block:
      return "get_block";
    case msg_type::get_block_reply:
      return "get_block_reply";
    case msg_type::get_close:
      return "get_close";
    case msg_type::bye:
      return "bye";
    case msg_type::rate_limit:
      return "rate_limit";
    case msg_type::sync_index_request:
      return "sync_index_request";
    case msg_type::sync_index_reply:
      return "sync_index_reply";
    case msg_type::sync_chunks_request:
      return "sync_chunks_request";
    case msg_type::sync_chunks_reply:
      return "sync_chunks_reply";
    case msg_type::sync_data_request:
      return "sync_data_request";
    case msg_type::sync_data_reply:
      return "sync_data_reply";
    case msg_type::sync_put:
      return "sync_put";
    case msg_type::sync_put_ready:
      return "sync_put_ready";
    case msg_type::sync_put_chunks:
      return "sync_put_chunks";
    case msg_type::sync_put_need:
      return "sync_put_need";
    case msg_type::sync_put_data:
      return "sync_put_data";
    case msg_type::sync_put_commit:
      return "sync_put_commit";
  }
  // A value cast from a number no message uses (logs of hostile tags).
  return "unknown";
}

}  // namespace ftsync::wire
