#pragma once
// Private to sync/: the engine's state and steps, shared by engine.cpp (the
// round: index exchange, planning, dispatch), engine_pull.cpp (pulls,
// fetch_many), engine_push.cpp (push_many) and engine_conflict.cpp.
#include <ftsync/sync/engine.hpp>

#include "sync/convert.hpp"
#include "sync/file_builder.hpp"

#include <ftsync/util/clock.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ftsync::sync {

using namespace std::chrono_literals;
using index::entry_kind;
using index::file_entry;

// Chunk requests in flight while pulling, across all files: 32 x 64 KiB
// (average chunk) = 2 MiB, enough to keep one connection busy without
// queueing megabytes behind a slow link.
inline constexpr std::size_t k_pull_window = 32;
// Unacknowledged bytes we let the session queue while pushing chunk data
// (an eighth of limits::send_window_bytes, which bounds ops::remote's push).
inline constexpr std::size_t k_push_window_bytes = 4 * 1024 * 1024;
inline constexpr std::size_t k_chunks_per_page = 2048;
// Sync puts open at once: enough to keep the server's commits (two fsyncs
// each) back to back, well under limits::max_open_transfers (64) uploads a
// server allows per session.
inline constexpr std::size_t k_puts_in_flight = 32;
// Files pulled at once (each holds a partial file open while it is built).
inline constexpr std::size_t k_fetch_files = 16;
// Pushes or pulls gathered before they are sent (bounds a batch's memory only).
inline constexpr std::size_t k_batch = 1024;
inline constexpr int k_max_rounds = 8;
// Above this many paths to plan, loading both whole indexes (one query
// each) is cheaper than a lookup per path.
inline constexpr std::size_t k_incremental_plan_max = 20000;

using wire::request_id_of;

inline std::uint64_t now_s() { return static_cast<std::uint64_t>(wall_now_ns() / 1'000'000'000); }

struct engine::impl {
  folder& f;
  session::client& s;
  engine_options o;
  wire::request_id next_id = 1;
  sync_totals t;  // of the current round
  // The last round found nothing to do; until the local scan or the peer's
  // index shows a change, a background poll skips planning (for 100k files
  // loading both indexes and planning takes ~0.5 s, every 250 ms otherwise).
  bool clean = false;
  std::uint64_t remote_new = 0;  // records the last index read brought
  // Incremental planning: after one full plan, a round plans only the paths
  // that can differ: local entries written since the last plan (sequence
  // above planned_seq), records the peer sent since, and the paths of the
  // last plan's actions (failed ones are retried, done ones confirmed). A
  // path in none of these was equal on both sides at the last plan and has
  // not changed on either since.
  bool planned_fully = false;
  std::uint64_t planned_seq = 0;
  std::set<rel_path> remote_dirty;  // paths of records received since the last plan
  std::vector<rel_path> carried;    // the last plan's action paths
  std::uint64_t planned_ignore = 0;  // folder::ignore_generation() at the last plan

  impl(folder& fo, session::client& se, engine_options op) : f(fo), s(se), o(std::move(op)) {
    cache_key = o.peer_key + ":" + o.remote_dir.str();
  }
  std::string cache_key;  // the peer's index is cached per peer and remote folder

  // Local paths are relative to the local folder, the peer's to its served
  // root; the synced remote folder is o.remote_dir inside it.
  std::string to_remote(const rel_path& p) const { return o.remote_dir.join(p).str(); }
  std::optional<rel_path> from_remote(const rel_path& p) const {
    if (o.remote_dir.is_root()) return p;
    if (!p.starts_with(o.remote_dir) || p == o.remote_dir) return std::nullopt;
    auto r = rel_path::parse(std::string_view(p.str()).substr(o.remote_dir.str().size() + 1));
    if (!r) return std::nullopt;
    return *r;
  }

  void emit(std::string path, std::string action, std::uint64_t size, std::uint64_t data, std::string note = {}) {
    if (o.on_event) o.on_event(sync_event{std::move(path), std::move(action), size, data, std::move(note)});
  }

  // Waits for the next message, as long as the peer may still answer.
  result<wire::message> next_message() {
    const auto asked = mono_now();
    while (!s.reply_overdue(asked)) {
      auto m = s.receive(100ms);
      if (!m) return std::move(m).err();
      if (*m) return std::move(**m);
    }
    return make_error(errc::timeout, "the peer stopped answering");
  }

  // Waits for the reply to request `id`; error_reply becomes a remote error.
  result<wire::message> wait_reply(wire::request_id id) {
    auto m = next_message();
    if (!m) return m;
    if (request_id_of(*m) != id)
      return make_error(errc::unexpected_message,
                        std::string("unexpected ") + wire::type_name(wire::type_of(*m)) + " from the peer");
    if (auto* e = std::get_if<wire::error_reply>(&*m)) return error{e->code, e->message, true};
    return m;
  }

  // One message if one arrives within `wait` (`heard`: when the peer last
  // answered, moved on by each message); a timeout once the peer is overdue.
  result<std::optional<wire::message>> poll_reply(mono_time& heard, std::chrono::milliseconds wait) {
    auto m = s.receive(wait);
    if (!m) return std::move(m).err();
    if (*m) heard = mono_now();
    else if (s.reply_overdue(heard)) return make_error(errc::timeout, "the peer stopped answering");
    return m;
  }

  result<wire::message> call(wire::message m) {
    const auto id = request_id_of(m);
    FTSYNC_TRY(s.send(m));
    return wait_reply(id);
  }

  template <class T>
  result<T> call_as(wire::message m) {
    auto r = call(std::move(m));
    if (!r) return std::move(r).err();
    if (auto* x = std::get_if<T>(&*r)) return std::move(*x);
    return make_error(errc::unexpected_message,
                      std::string("unexpected ") + wire::type_name(wire::type_of(*r)) + " from the peer");
  }

  // ---------------------------------------------------------------- index
  // Brings the cached copy of the peer's index up to date.
  status read_remote_index();

  // Both sides' entries for every path that can need an action (see
  // planned_fully), or for all paths when that set is large or unknown.
  status load_for_plan(entry_map& local, entry_map& remote);

  // ---------------------------------------------------------------- pull
  // Files built from the peer's chunks, up to k_fetch_files at once: each
  // asks for its chunk list, then for the chunks it finds nowhere locally,
  // with at most k_pull_window chunk requests open across all of them, so
  // the round trips of different files overlap.
  struct fetch_item {
    file_entry remote;  // the peer's entry (its path is the peer's name for it)
    rel_path target;
    file_entry want;
    std::optional<file_entry> expect;
    std::optional<file_builder> b;
    std::vector<std::uint64_t> need;
    std::size_t next = 0;         // need[next] is the next chunk to ask for
    std::size_t outstanding = 0;  // requests sent and not answered
    std::uint64_t list_first = 0;
    bool listing = true;
    bool done = false;
    std::uint64_t got = 0;  // chunk bytes received
    status result;
  };
  static constexpr std::uint64_t k_list_page = ~std::uint64_t{0};

  status fetch_many(std::vector<fetch_item>& items);

  // Puts the peer's version `remote` (at remote.path there) at `target`
  // here: a symlink directly, a file from its chunks (a conflict's one file).
  status fetch(const file_entry& remote, const rel_path& target, file_entry want,
               const std::optional<file_entry>& expect);

  status record_local(file_entry e, const std::vector<index::chunk>* chunks = nullptr);

  // Applies a pull locally; a file that needs content from the peer is
  // queued in `fetches` for fetch_many.
  status pull(const action& a, std::vector<fetch_item>& fetches);

  // ---------------------------------------------------------------- push
  // One path given to the peer with sync_put. A file's put carries the
  // first page of its chunk list, so the answer already says which chunks
  // to send; push_many keeps up to k_puts_in_flight puts open, so the round
  // trips, the server's commits (two fsyncs each) and the local reads of
  // different files overlap instead of adding up.
  enum class push_stage { waiting, put_sent, paging, ready, committing, done };
  struct push_item {
    file_entry l;
    std::optional<file_entry> r;
    std::optional<rel_path> from;
    std::vector<index::chunk> chunks;
    push_stage stage = push_stage::waiting;
    std::uint32_t transfer = 0;
    std::size_t pages_due = 0;       // sync_put_chunks pages not yet answered
    std::vector<std::uint64_t> need;
    std::size_t next_need = 0;       // need[next_need] is the next chunk to send
    std::optional<store::reader> reader;
    std::uint64_t sent = 0;
    status result;
  };

  static bool ends_round(errc c) {
    return c == errc::disconnected || c == errc::timeout || c == errc::auth_failed || c == errc::malformed ||
           c == errc::unexpected_message || c == errc::no_space;
  }

  void on_put_ok(const push_item& x);

  // Sends item i's put; a local problem fails the item, not the batch.
  status start_put(std::vector<push_item>& items, std::size_t i, std::map<wire::request_id, std::size_t>& by_id);

  // Sends item i's needed chunks while the session's queue has room, then
  // its commit. Returns false when the queue filled first (call again).
  result<bool> send_data(std::vector<push_item>& items, std::size_t i, std::map<wire::request_id, std::size_t>& by_id);

  // The answer to one of item i's requests.
  status on_push_reply(std::vector<push_item>& items, std::size_t i, wire::message& m,
                       std::map<wire::request_id, std::size_t>& by_id, std::deque<std::size_t>& ready);

  // Every item ends done, with its own result; an error returned here
  // (session lost, peer broken, interrupted) ends the round.
  status push_many(std::vector<push_item>& items);

  status push_entry(const file_entry& l, const std::optional<file_entry>& r, const std::optional<rel_path>& from);

  // The item a push or merge action gives to push_many (merged versions
  // recorded locally first, as the peer will record them).
  result<push_item> push_item_for(const action& a);

  // ---------------------------------------------------------------- conflicts
  status conflict(const action& a);

  // `changed`: rescan only these paths; none: the whole folder.
  result<sync_totals> round(bool scan_local, std::optional<std::vector<rel_path>> changed = std::nullopt);
};

}  // namespace ftsync::sync
