#pragma once
// The per-folder index, kept in SQLite: one row per path (live or
// tombstone), its chunk list, and what we last saw of each peer's index.
//
// Why SQLite: 100k-file folders must restart without re-reading contents,
// so the index must survive restarts, be updated in small transactions as
// files change, and be looked up by path, by sequence (what changed since a
// peer last asked) and by chunk hash (local block reuse). SQLite gives all
// three with indexes, atomic commits and crash safety (WAL), in one file,
// from a package every distribution ships (libsqlite3); Syncthing uses an
// embedded database for the same job.
//
// Where: the CLI keeps it in $XDG_STATE_HOME/ftsync/index/<hash of the
// folder's absolute path>.db, outside the folder, so it is never synced,
// never seen by the watcher, and never writable by a peer. Two processes of
// one node (serve and sync of the same folder) share it safely: WAL mode
// and a 5 s busy timeout serialise their writes.
#include <ftsync/index/entry.hpp>
#include <ftsync/util/result.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ftsync::index {

struct chunk_location {
  rel_path path;
  std::uint64_t offset = 0;
  std::uint32_t size = 0;
};

// How far we have read a peer's index: its identity (changes when the peer
// recreated its database, which restarts its sequence numbers) and the
// highest sequence received.
struct peer_state {
  std::uint64_t index_id = 0;
  std::uint64_t sequence = 0;
};

class database {
 public:
  // Creates the file (and the schema) when missing. errc::io with SQLite's
  // message on failure.
  static result<database> open(const std::filesystem::path& file);
  database(database&&) noexcept;
  database& operator=(database&&) noexcept;
  ~database();

  // Random, chosen when the database was created (peer_state::index_id).
  std::uint64_t index_id() const;
  // Highest sequence handed out so far (0 for an empty index).
  result<std::uint64_t> max_sequence();

  // Explicit transactions batch many puts into one fsync (a 100k-file first
  // scan would otherwise take 100k commits). Nesting is not supported.
  status begin();
  status commit();
  void rollback() noexcept;

  result<std::optional<file_entry>> get(const rel_path& path);
  result<std::vector<file_entry>> all();
  // Every entry strictly beneath `dir` (the whole index for the root).
  result<std::vector<file_entry>> under(const rel_path& dir);
  // Entries whose sequence is > `after`, in sequence order, at most `limit`.
  result<std::vector<file_entry>> changed_since(std::uint64_t after, std::size_t limit);

  // Writes the entry under a new sequence number (stored in e.sequence).
  // With `chunks`, the path's chunk list is replaced (files); tombstones and
  // directories drop theirs.
  status put(file_entry& e, const std::vector<chunk>* chunks = nullptr);
  // Updates only inode, ctime, size and mtime (a file touched but not
  // changed in content or state): no new sequence, nothing for peers.
  status update_stat(const file_entry& e);
  result<std::vector<chunk>> chunks(const rel_path& path);
  // Files that hold a chunk with this hash (up to `limit` places).
  result<std::vector<chunk_location>> find_chunk(const crypto::digest& hash, std::size_t limit);

  // What we know of a peer's index (peer: its id text).
  result<peer_state> peer(std::string_view peer);
  status set_peer(std::string_view peer, const peer_state& st);
  status put_remote(std::string_view peer, const file_entry& e);
  result<std::vector<file_entry>> remote_all(std::string_view peer);
  result<std::optional<file_entry>> remote_get(std::string_view peer, const rel_path& path);
  status clear_remote(std::string_view peer);

 private:
  struct impl;
  explicit database(std::unique_ptr<impl> p);
  std::unique_ptr<impl> m_impl;
};

}  // namespace ftsync::index
