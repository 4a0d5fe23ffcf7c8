#pragma once
// Every message ftsync sends, as plain structs. The codec (codec.hpp) turns
// them into msgpack and back. On the wire a message is a msgpack array:
//   [type:uint, field1, field2, ...]
// with the fields in the order they are declared below. Requests carry a
// client-chosen `id`; the server's answer to a request carries the same id,
// which is how the client matches pipelined answers (many in flight).
//
// Handshake messages travel unsealed; everything after them is AEAD-sealed
// by the session layer.
#include <ftsync/util/bytes.hpp>
#include <ftsync/util/errc.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace ftsync::wire {

using key32 = std::array<byte, 32>;
using sig64 = std::array<byte, 64>;
using digest = std::array<byte, 32>;
using request_id = std::uint32_t;

// Stable numeric tags; never reuse a retired number.
enum class msg_type : std::uint8_t {
  hello = 1,
  hello_reply = 2,
  auth = 3,
  welcome = 4,
  refused = 5,
  ping = 10,
  pong = 11,
  ok = 12,
  error_reply = 13,
  stat_request = 20,
  stat_reply = 21,
  list_request = 22,
  list_reply = 23,
  mkdir_request = 24,
  rmdir_request = 25,
  remove_request = 26,
  move_request = 27,
  put_begin = 30,
  put_ready = 31,
  put_block = 32,
  put_block_ack = 33,
  put_commit = 34,
  get_open = 40,
  get_info = 41,
  get_prefix = 42,
  get_prefix_reply = 43,
  get_block = 44,
  get_block_reply = 45,
  get_close = 46,
  bye = 60,
  rate_limit = 61,
  // folder sync (issue 4); appended, never renumbered
  sync_index_request = 70,
  sync_index_reply = 71,
  sync_chunks_request = 72,
  sync_chunks_reply = 73,
  sync_data_request = 74,
  sync_data_reply = 75,
  sync_put = 76,
  sync_put_ready = 77,
  sync_put_chunks = 78,
  sync_put_need = 79,
  sync_put_data = 80,
  sync_put_commit = 81,
};

enum class entry_kind : std::uint8_t { file = 0, directory = 1, symlink = 2, other = 3 };

// Every struct compares field by field (operator==): the codec's round-trip
// tests and the fuzz target check decode(encode(m)) == m with it.

// --- handshake (unsealed) -------------------------------------------------
struct hello { std::uint32_t version = 0; key32 ephemeral{}; bool operator==(const hello&) const = default; };
struct hello_reply { std::uint32_t version = 0; key32 ephemeral{}; key32 identity{}; sig64 signature{}; bool operator==(const hello_reply&) const = default; };
struct auth { bytes sealed; bool operator==(const auth&) const = default; };
// First sealed message from the server: the session is open.
struct welcome { bool read_only = false; std::string server_name; bool operator==(const welcome&) const = default; };
// Sealed refusal (for example an untrusted client key), then disconnect.
struct refused { errc code = errc::untrusted_peer; std::string message; bool operator==(const refused&) const = default; };

// --- generic --------------------------------------------------------------
struct ping { request_id id = 0; std::int64_t client_time_ns = 0; bool operator==(const ping&) const = default; };
struct pong { request_id id = 0; std::int64_t client_time_ns = 0; std::int64_t server_time_ns = 0; bool operator==(const pong&) const = default; };
struct ok { request_id id = 0; bool operator==(const ok&) const = default; };
struct error_reply { request_id id = 0; errc code = errc::internal; std::string message; bool operator==(const error_reply&) const = default; };
// Polite end of session (either side); the peer stops sending.
struct bye { std::string reason; bool operator==(const bye&) const = default; };
// Client to server, no reply: send this session's data no faster than
// bytes_per_s (0: no limit of ours). The client's --bwlimit, so that it
// also holds for what the client pulls.
struct rate_limit { std::uint64_t bytes_per_s = 0; bool operator==(const rate_limit&) const = default; };

// --- namespace operations -------------------------------------------------
struct entry {
  std::string name;  // one component (list) or a relative path (stat: the path asked)
  entry_kind kind = entry_kind::file;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint32_t mode = 0;  // permission bits only (07777 masked to 0777 on apply)
  bool operator==(const entry&) const = default;
};

struct stat_request { request_id id = 0; std::string path; bool operator==(const stat_request&) const = default; };
struct stat_reply { request_id id = 0; entry info; bool operator==(const stat_reply&) const = default; };
// Lists a directory from `offset` (entries sorted by name); `more` says
// whether a further request with offset + entries.size() would return more.
struct list_request { request_id id = 0; std::string path; std::uint32_t offset = 0; bool operator==(const list_request&) const = default; };
struct list_reply { request_id id = 0; std::vector<entry> entries; bool more = false; bool operator==(const list_reply&) const = default; };
struct mkdir_request { request_id id = 0; std::string path; bool parents = false; std::uint32_t mode = 0755; std::int64_t mtime_ns = 0; bool operator==(const mkdir_request&) const = default; };
struct rmdir_request { request_id id = 0; std::string path; bool operator==(const rmdir_request&) const = default; };
struct remove_request { request_id id = 0; std::string path; bool recursive = false; bool operator==(const remove_request&) const = default; };
struct move_request { request_id id = 0; std::string from; std::string to; bool operator==(const move_request&) const = default; };

// --- upload (client -> server) --------------------------------------------
// put_begin opens a transfer. The server answers put_ready with how many
// leading blocks of a kept partial file it already has and their prefix hash;
// the client resumes after them when its own prefix hash matches, else
// sends from block 0 (resume_blocks = 0 in its first put_block).
struct put_begin {
  request_id id = 0;
  std::string path;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint32_t mode = 0644;
  // rsync's quick check: when the target already has this size and mtime the
  // server answers up_to_date and opens no transfer.
  bool skip_if_same = true;
  bool operator==(const put_begin&) const = default;
};
struct put_ready {
  request_id id = 0;
  std::uint32_t transfer = 0;
  bool up_to_date = false;
  std::uint64_t kept_blocks = 0;
  digest kept_prefix{};
  bool operator==(const put_ready&) const = default;
};
// Blocks arrive in increasing index order, starting at 0 or at kept_blocks
// when the client's own prefix hash matched; each is acked once written.
struct put_block { std::uint32_t transfer = 0; std::uint64_t index = 0; bytes data; digest hash{}; bool operator==(const put_block&) const = default; };
struct put_block_ack { std::uint32_t transfer = 0; std::uint64_t index = 0; bool operator==(const put_block_ack&) const = default; };
// All blocks sent; the server verifies the whole-file hash, fsyncs, renames
// into place and answers ok (or error_reply) with the same id.
struct put_commit { request_id id = 0; std::uint32_t transfer = 0; digest file_hash{}; bool operator==(const put_commit&) const = default; };

// --- download (server -> client) ------------------------------------------
struct get_open { request_id id = 0; std::string path; bool operator==(const get_open&) const = default; };
struct get_info { request_id id = 0; std::uint32_t transfer = 0; entry info; bool operator==(const get_info&) const = default; };
// Asks for the prefix hash of the first `blocks` blocks (resume check).
struct get_prefix { request_id id = 0; std::uint32_t transfer = 0; std::uint64_t blocks = 0; bool operator==(const get_prefix&) const = default; };
struct get_prefix_reply { request_id id = 0; digest prefix{}; bool operator==(const get_prefix_reply&) const = default; };
struct get_block { request_id id = 0; std::uint32_t transfer = 0; std::uint64_t index = 0; bool operator==(const get_block&) const = default; };
struct get_block_reply { request_id id = 0; std::uint64_t index = 0; bytes data; digest hash{}; bool operator==(const get_block_reply&) const = default; };
// Closes the transfer; the reply carries the whole-file hash for the client
// to compare with the one it computed.
struct get_close { request_id id = 0; std::uint32_t transfer = 0; bool operator==(const get_close&) const = default; };

// --- folder sync ------------------------------------------------------------
// A client that syncs a folder with the one a server serves reads the
// server's index (what changed since a sequence number), fetches the chunk
// lists and chunks it lacks, and offers its own changes with sync_put. The
// server keeps its own index of the served folder (scan + watcher), so edits
// made directly on the server flow back through the same index.
//
// Limits: a reply page carries at most limits::max_msgpack_array (4096)
// records or chunk references and stays under limits::max_frame_bytes (the
// sender stops a page at ~256 KiB); a chunk is at most 128 KiB
// (store::chunk_max), so its data fits one bin field.

// One device's counter in a version vector (index/version_vector.hpp).
struct version_item { std::uint64_t device = 0; std::uint64_t counter = 0; bool operator==(const version_item&) const = default; };
// A path's state in an index. `hash` is the whole-file hash over the chunk
// hashes (symlinks: BLAKE2b-256 of the target; zero for directories and
// tombstones). `target` is a symlink's text (empty otherwise).
struct file_record {
  std::string path;
  entry_kind kind = entry_kind::file;  // file, directory or symlink
  bool deleted = false;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint32_t mode = 0;
  digest hash{};
  std::vector<version_item> version;
  std::uint64_t sequence = 0;
  std::string target;
  bool operator==(const file_record&) const = default;
};
struct chunk_ref { std::uint64_t offset = 0; std::uint32_t size = 0; digest hash{}; bool operator==(const chunk_ref&) const = default; };

// Index entries with sequence > `after`. `index_id` is the server index the
// client last read (0: none); when it differs from the server's, the server
// sends everything (after is taken as 0) and the client drops its cache.
struct sync_index_request { request_id id = 0; std::uint64_t index_id = 0; std::uint64_t after = 0; bool operator==(const sync_index_request&) const = default; };
struct sync_index_reply { request_id id = 0; std::uint64_t index_id = 0; std::vector<file_record> records; bool more = false; bool operator==(const sync_index_reply&) const = default; };
// The chunk list of `path`, from chunk `first`; error_reply when the file's
// hash is no longer `hash` (it changed since the index was read).
struct sync_chunks_request { request_id id = 0; std::string path; digest hash{}; std::uint64_t first = 0; bool operator==(const sync_chunks_request&) const = default; };
struct sync_chunks_reply { request_id id = 0; std::vector<chunk_ref> chunks; bool more = false; bool operator==(const sync_chunks_reply&) const = default; };
// One chunk's bytes; the server checks them against `hash` before sending.
struct sync_data_request { request_id id = 0; std::string path; std::uint64_t offset = 0; std::uint32_t size = 0; digest hash{}; bool operator==(const sync_data_request&) const = default; };
struct sync_data_reply { request_id id = 0; bytes data; bool operator==(const sync_data_reply&) const = default; };
// Applies the client's version of record.path. `base` is the server's
// version vector the client planned against; a server whose current entry
// differs refuses (errc::already_exists: changed meanwhile, re-plan).
// `from` names a path whose content (same hash) the server may rename
// instead of receiving data ("" none). Deletions, directories, symlinks,
// metadata-only changes and renames are answered ok; content needs data:
// sync_put_ready. `chunks` is the first page of the file's chunk list (the
// rest, if any, follows in sync_put_chunks from index chunks.size()), so a
// file whose list fits one page costs one round trip before its data, and a
// client can have many puts in flight; `need` answers that page as
// sync_put_need would.
struct sync_put { request_id id = 0; file_record record; std::vector<version_item> base; std::string from; std::vector<chunk_ref> chunks{}; bool operator==(const sync_put&) const = default; };
struct sync_put_ready { request_id id = 0; std::uint32_t transfer = 0; std::vector<std::uint64_t> need{}; bool operator==(const sync_put_ready&) const = default; };
// The file's chunk list, page by page; the reply lists the indices (of this
// page's chunks, counted from 0 for the file) the server neither holds in a
// kept partial file nor finds elsewhere in its folder.
struct sync_put_chunks { request_id id = 0; std::uint32_t transfer = 0; std::uint64_t first = 0; std::vector<chunk_ref> chunks; bool operator==(const sync_put_chunks&) const = default; };
struct sync_put_need { request_id id = 0; std::vector<std::uint64_t> indices; bool operator==(const sync_put_need&) const = default; };
struct sync_put_data { std::uint32_t transfer = 0; std::uint64_t index = 0; bytes data; bool operator==(const sync_put_data&) const = default; };
// Every chunk sent: the server verifies, commits and answers ok or error_reply.
struct sync_put_commit { request_id id = 0; std::uint32_t transfer = 0; bool operator==(const sync_put_commit&) const = default; };

using message = std::variant<hello, hello_reply, auth, welcome, refused, ping, pong, ok, error_reply,
                             stat_request, stat_reply, list_request, list_reply, mkdir_request,
                             rmdir_request, remove_request, move_request, put_begin, put_ready,
                             put_block, put_block_ack, put_commit, get_open, get_info, get_prefix,
                             get_prefix_reply, get_block, get_block_reply, get_close, bye, sync_index_request,
                             sync_index_reply, sync_chunks_request, sync_chunks_reply, sync_data_request,
                             sync_data_reply, sync_put, sync_put_ready, sync_put_chunks, sync_put_need,
                             sync_put_data, sync_put_commit, rate_limit>;

msg_type type_of(const message& m) noexcept;
const char* type_name(msg_type t) noexcept;
// The request id a message carries (its `id` field), 0 for those without one.
request_id request_id_of(const message& m) noexcept;

}  // namespace ftsync::wire
