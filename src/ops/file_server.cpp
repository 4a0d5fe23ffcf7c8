#include "ops/convert.hpp"

#include <ftsync/crypto/hash.hpp>
#include <ftsync/ops/file_server.hpp>
#include <ftsync/session/held_batch.hpp>
#include <ftsync/util/clock.hpp>
#include <ftsync/util/log.hpp>

#include <cstdio>
#include <map>
#include <optional>

namespace ftsync::ops {

std::string format_rate(std::uint64_t bytes, double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB/s", seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0.0);
  return buf;
}

namespace {

// An upload being received into a partial file.
struct upload {
  wire::request_id begin_id = 0;
  rel_path target;
  store::partial_file file;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint32_t mode = 0;
  std::uint64_t kept_blocks = 0;
  std::uint64_t next_index = 0;
  bool started = false;  // first block seen (decides resume vs restart)
  std::vector<crypto::digest> hashes;
  std::uint64_t bytes_received = 0;
  mono_time since = mono_now();
};

// A download being served from an open file.
struct download {
  rel_path path;
  store::reader file;
  std::uint64_t bytes_sent = 0;
  mono_time since = mono_now();
};

struct session_state {
  std::map<std::uint32_t, upload> uploads;
  std::map<std::uint32_t, download> downloads;
  std::uint32_t next_transfer = 1;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t requests = 0;
  mono_time since = mono_now();
};

bool is_write(const wire::message& m) {
  return std::holds_alternative<wire::mkdir_request>(m) || std::holds_alternative<wire::rmdir_request>(m) ||
         std::holds_alternative<wire::remove_request>(m) || std::holds_alternative<wire::move_request>(m) ||
         std::holds_alternative<wire::put_begin>(m) || std::holds_alternative<wire::put_block>(m) ||
         std::holds_alternative<wire::put_commit>(m);
}

}  // namespace

struct file_server::impl {
  store::root root;
  std::map<session::session_id, session_state> sessions;
  // Who is writing each target: a client killed mid-push leaves its session
  // (and the partial file's lock) alive until the transport notices, so a
  // re-run from the same peer takes the upload over instead of failing busy.
  struct writer {
    session::session_id session = 0;
    std::uint32_t transfer = 0;
    crypto::public_key peer;
  };
  std::map<rel_path, writer> writers;
  bytes buffer;
  wire::message block_reply = wire::get_block_reply{};
  std::map<session::session_id, session::session_ref*> open_sessions;
  // Uploads whose data and whole-file hash checked out, waiting for the
  // next group commit.
  session::held_batch<upload> verified;

  void release_writer(const rel_path& target, session::session_id sid) {
    auto it = writers.find(target);
    if (it != writers.end() && it->second.session == sid) writers.erase(it);
  }

  // Closes an older session's upload of `target` when it belongs to the same peer.
  void take_over(const rel_path& target, session::session_ref& s) {
    auto it = writers.find(target);
    if (it == writers.end() || it->second.session == s.id() || !(it->second.peer == s.peer().key)) return;
    auto old = sessions.find(it->second.session);
    if (old != sessions.end()) {
      old->second.uploads.erase(it->second.transfer);  // closes the partial, keeps its data
      log::info(who(s) + ": takes over the upload of " + escape_for_log(target.str()) + " from session " +
                std::to_string(it->second.session));
    }
    writers.erase(it);
  }

  explicit impl(store::root r) : root(std::move(r)) {}

  std::string who(session::session_ref& s) const {
    return escape_for_log(s.peer().name) + " (" + crypto::short_id(s.peer().key) + ") " + s.address();
  }

  status reply_error(session::session_ref& s, wire::request_id id, const error& e) {
    return s.send(wire::error_reply{id, e.code, e.message});
  }

  status handle(session::session_ref& s, session_state& st, wire::message&& msg);

  // Messages a client must never send: the session ends.
  template <class T>
  status on(session::session_ref&, session_state&, T&&) {
    return make_error(errc::unexpected_message, std::string("client sent a ") +
                                                    wire::type_name(wire::type_of(wire::message{T{}})));
  }

  status on(session::session_ref& s, session_state&, wire::ping&& m) {
    return s.send(wire::pong{m.id, m.client_time_ns, wall_now_ns()});
  }

  status on(session::session_ref& s, session_state&, wire::stat_request&& m) {
    auto path = rel_path::parse(m.path);
    if (!path) return reply_error(s, m.id, path.err());
    auto info = root.stat(*path);
    if (!info) return reply_error(s, m.id, info.err());
    return s.send(wire::stat_reply{m.id, to_wire(*info, path->str())});
  }

  status on(session::session_ref& s, session_state&, wire::list_request&& m) {
    auto path = rel_path::parse(m.path);
    if (!path) return reply_error(s, m.id, path.err());
    auto entries = root.list(*path);
    if (!entries) return reply_error(s, m.id, entries.err());
    wire::list_reply reply{m.id, {}, false};
    const std::size_t begin = std::min<std::size_t>(m.offset, entries->size());
    const std::size_t end = std::min(entries->size(), begin + limits::max_list_entries);
    for (std::size_t i = begin; i < end; ++i) reply.entries.push_back(to_wire((*entries)[i], (*entries)[i].name));
    reply.more = end < entries->size();
    return s.send(reply);
  }

  status ok_or_error(session::session_ref& s, wire::request_id id, const status& r) {
    if (!r) return reply_error(s, id, r.err());
    return s.send(wire::ok{id});
  }

  status on(session::session_ref& s, session_state&, wire::mkdir_request&& m) {
    auto path = rel_path::parse(m.path);
    if (!path) return reply_error(s, m.id, path.err());
    if (path->is_root() && !m.parents) return reply_error(s, m.id, make_error(errc::already_exists, "the root exists"));
    status r = path->is_root() ? status{} : root.make_dir(*path, m.parents, m.mode & 0777);
    if (r && m.mtime_ns != 0 && !path->is_root()) r = root.set_mtime(*path, m.mtime_ns);
    log::debug(who(s) + ": mkdir " + escape_for_log(path->str()));
    return ok_or_error(s, m.id, r);
  }

  status on(session::session_ref& s, session_state&, wire::rmdir_request&& m) {
    auto path = rel_path::parse(m.path);
    if (!path) return reply_error(s, m.id, path.err());
    if (path->is_root()) return reply_error(s, m.id, make_error(errc::permission_denied, "cannot remove the served root"));
    log::info(who(s) + ": rmdir " + escape_for_log(path->str()));
    return ok_or_error(s, m.id, root.remove_dir(*path));
  }

  status on(session::session_ref& s, session_state&, wire::remove_request&& m) {
    auto path = rel_path::parse(m.path);
    if (!path) return reply_error(s, m.id, path.err());
    if (path->is_root()) return reply_error(s, m.id, make_error(errc::permission_denied, "cannot remove the served root"));
    auto info = root.stat(*path);
    if (!info) return reply_error(s, m.id, info.err());
    status r;
    if (info->kind == store::file_kind::directory) {
      if (!m.recursive)
        return reply_error(s, m.id, make_error(errc::is_a_directory, path->str() + " is a directory (use rm -r or rmdir)"));
      r = root.remove_tree(*path);
    } else {
      r = root.remove_file(*path);
    }
    log::info(who(s) + ": rm " + std::string(m.recursive ? "-r " : "") + escape_for_log(path->str()));
    return ok_or_error(s, m.id, r);
  }

  status on(session::session_ref& s, session_state&, wire::move_request&& m) {
    auto from = rel_path::parse(m.from);
    if (!from) return reply_error(s, m.id, from.err());
    auto to = rel_path::parse(m.to);
    if (!to) return reply_error(s, m.id, to.err());
    if (from->is_root()) return reply_error(s, m.id, make_error(errc::permission_denied, "cannot move the served root"));
    // Like mv(1): moving onto an existing directory moves into it.
    rel_path dest = *to;
    if (auto info = root.stat(*to); info && info->kind == store::file_kind::directory) {
      auto inside = to->join(from->name());
      if (!inside) return reply_error(s, m.id, inside.err());
      dest = *inside;
    }
    if (dest.is_root()) return reply_error(s, m.id, make_error(errc::already_exists, "cannot replace the served root"));
    log::info(who(s) + ": mv " + escape_for_log(from->str()) + " -> " + escape_for_log(dest.str()));
    return ok_or_error(s, m.id, root.rename(*from, dest));
  }

  // --- uploads -------------------------------------------------------------
  status on(session::session_ref& s, session_state& st, wire::put_begin&& m) {
    auto path = rel_path::parse(m.path);
    if (!path) return reply_error(s, m.id, path.err());
    if (path->is_root()) return reply_error(s, m.id, make_error(errc::is_a_directory, "cannot write the root"));
    if (m.size > (std::uint64_t{1} << 50))
      return reply_error(s, m.id, make_error(errc::too_large, "file size over 1 PiB refused"));
    if (st.uploads.size() + st.downloads.size() >= limits::max_open_transfers)
      return make_error(errc::too_large, "too many open transfers in one session");
    if (m.skip_if_same) {
      auto info = root.stat(*path);
      if (info && info->kind == store::file_kind::regular && info->size == m.size && info->mtime_ns == m.mtime_ns)
        return s.send(wire::put_ready{m.id, 0, true, 0, {}});
    }
    // A verified upload of the same target still holds its partial file.
    for (const auto& v : verified.entries())
      if (v.item.target == *path) {
        commit_verified();
        break;
      }
    take_over(*path, s);
    auto file = root.open_partial(*path);
    if (!file) return reply_error(s, m.id, file.err());
    upload up{m.id, *path, std::move(*file), m.size, m.mtime_ns, m.mode & 0777, 0, 0, false, {}, 0, mono_now()};
    // Blocks kept from an interrupted run are re-hashed here rather than
    // trusted from any record: what counts is what is on disk now.
    const auto existing = up.file.existing_size();
    std::uint64_t kept = std::min(existing / limits::block_size, block_count(m.size));
    if (kept * limits::block_size > m.size) kept = 0;
    if (auto r = hash_prefix(up.file, m.size, kept, up.hashes, buffer); !r) {
      up.hashes.clear();
      kept = 0;
    }
    up.kept_blocks = kept;
    if (auto r = up.file.truncate(kept * limits::block_size); !r) return reply_error(s, m.id, r.err());
    const auto prefix = crypto::prefix_hash(up.hashes, kept);
    const auto transfer = st.next_transfer++;
    writers[*path] = writer{s.id(), transfer, s.peer().key};
    st.uploads.emplace(transfer, std::move(up));
    return s.send(wire::put_ready{m.id, transfer, false, kept, prefix});
  }

  // Answers the request that failed: put_commit's own id, else put_begin's
  // (a failed block has no id of its own).
  status fail_upload(session::session_ref& s, session_state& st, std::map<std::uint32_t, upload>::iterator it,
                     const error& e, bool discard, wire::request_id reply_to = 0) {
    const auto id = reply_to != 0 ? reply_to : it->second.begin_id;
    release_writer(it->second.target, s.id());
    if (discard) (void)it->second.file.discard();
    log::warn(who(s) + ": push " + escape_for_log(it->second.target.str()) + " failed: " + e.message);
    st.uploads.erase(it);
    return reply_error(s, id, e);
  }

  status on(session::session_ref& s, session_state& st, wire::put_block&& m) {
    auto it = st.uploads.find(m.transfer);
    if (it == st.uploads.end()) return {};  // an upload that already failed: drop its in-flight blocks
    auto& up = it->second;
    if (!up.started) {
      up.started = true;
      if (m.index == 0 && up.kept_blocks > 0) {
        // The client's prefix differs: start over.
        up.hashes.clear();
        up.kept_blocks = 0;
        if (auto r = up.file.truncate(0); !r) return fail_upload(s, st, it, r.err(), false);
      }
      up.next_index = up.kept_blocks;
    }
    if (m.index != up.next_index || m.data.size() != block_length(up.size, m.index) || m.data.empty())
      return make_error(errc::malformed, "put_block out of order or of the wrong size");
    if (crypto::hash_block(m.data) != m.hash)
      return fail_upload(s, st, it, make_error(errc::hash_mismatch, "block " + std::to_string(m.index) + " hash mismatch"), false);
    if (auto r = up.file.write_at(m.index * limits::block_size, m.data); !r)
      return fail_upload(s, st, it, r.err(), false);
    up.hashes.push_back(m.hash);
    up.next_index++;
    up.bytes_received += m.data.size();
    st.bytes_in += m.data.size();
    return s.send(wire::put_block_ack{m.transfer, m.index});
  }

  status on(session::session_ref& s, session_state& st, wire::put_commit&& m) {
    auto it = st.uploads.find(m.transfer);
    if (it == st.uploads.end()) return reply_error(s, m.id, make_error(errc::not_found, "no such transfer"));
    auto& up = it->second;
    if (!up.started) up.next_index = up.kept_blocks;  // nothing sent: the kept prefix is the whole file
    if (up.next_index != block_count(up.size))
      return fail_upload(s, st, it, make_error(errc::malformed, "commit before all blocks arrived"), false, m.id);
    crypto::file_hasher fh;
    for (const auto& h : up.hashes) fh.add_block(h);
    if (fh.finish(up.size) != m.file_hash)
      return fail_upload(s, st, it, make_error(errc::hash_mismatch, "whole-file hash mismatch"), true, m.id);
    // Answered by commit_verified, after the flush it shares with others.
    verified.hold(s.id(), m.id, std::move(up));
    st.uploads.erase(it);
    return {};
  }

  void commit_verified() {
    if (verified.empty()) return;
    auto batch = verified.take();
    std::vector<store::commit_item> items;
    for (auto& v : batch) items.push_back(store::commit_item{&v.item.file, v.item.mtime_ns, v.item.mode});
    // Any session's keep_alive services the whole host.
    session::session_ref* any = open_sessions.empty() ? nullptr : open_sessions.begin()->second;
    const auto results = store::commit_together(items, any ? keep_alive_fn([any] { any->keep_alive(); }) : keep_alive_fn{});
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& v = batch[i];
      release_writer(v.item.target, v.session);
      auto ref = open_sessions.find(v.session);
      if (ref == open_sessions.end()) continue;  // on_close commits first, so this does not happen
      session::session_ref& s = *ref->second;
      if (!results[i]) {
        log::warn(who(s) + ": push " + escape_for_log(v.item.target.str()) + " failed: " + results[i].err().message);
        (void)reply_error(s, v.reply_to, results[i].err());
        continue;
      }
      const double secs = seconds_since(v.item.since);
      log::info(who(s) + ": push " + escape_for_log(v.item.target.str()) + " " + std::to_string(v.item.size) + " bytes (" +
                std::to_string(v.item.bytes_received) + " sent, " +
                std::to_string(v.item.kept_blocks * limits::block_size) + " kept) in " + std::to_string(secs) + " s, " +
                format_rate(v.item.bytes_received, secs));
      // A session that is closing cannot be answered; its files are in place all the same.
      (void)s.send(wire::ok{v.reply_to});
    }
  }

  // --- downloads -----------------------------------------------------------
  status on(session::session_ref& s, session_state& st, wire::get_open&& m) {
    auto path = rel_path::parse(m.path);
    if (!path) return reply_error(s, m.id, path.err());
    if (st.uploads.size() + st.downloads.size() >= limits::max_open_transfers)
      return make_error(errc::too_large, "too many open transfers in one session");
    auto file = root.open_read(*path);
    if (!file) return reply_error(s, m.id, file.err());
    const auto info = to_wire(file->info(), path->str());
    const auto transfer = st.next_transfer++;
    st.downloads.emplace(transfer, download{*path, std::move(*file), 0, mono_now()});
    return s.send(wire::get_info{m.id, transfer, info});
  }

  status on(session::session_ref& s, session_state& st, wire::get_prefix&& m) {
    auto it = st.downloads.find(m.transfer);
    if (it == st.downloads.end()) return reply_error(s, m.id, make_error(errc::not_found, "no such transfer"));
    const auto size = it->second.file.info().size;
    if (m.blocks > block_count(size)) return reply_error(s, m.id, make_error(errc::invalid_argument, "prefix longer than the file"));
    std::vector<crypto::digest> hashes;
    if (auto r = hash_prefix(it->second.file, size, m.blocks, hashes, buffer); !r) return reply_error(s, m.id, r.err());
    return s.send(wire::get_prefix_reply{m.id, crypto::prefix_hash(hashes, m.blocks)});
  }

  status on(session::session_ref& s, session_state& st, wire::get_block&& m) {
    auto it = st.downloads.find(m.transfer);
    if (it == st.downloads.end()) return reply_error(s, m.id, make_error(errc::not_found, "no such transfer"));
    auto& dl = it->second;
    const auto len = block_length(dl.file.info().size, m.index);
    if (len == 0) return reply_error(s, m.id, make_error(errc::invalid_argument, "block beyond the end of the file"));
    // Reused for every block (see push.cpp's block_message).
    auto& reply = std::get<wire::get_block_reply>(block_reply);
    reply.id = m.id;
    reply.index = m.index;
    reply.data.resize(len);
    auto got = dl.file.read_at(m.index * limits::block_size, reply.data);
    if (!got) return reply_error(s, m.id, got.err());
    if (*got != len) return reply_error(s, m.id, make_error(errc::io, "file shrank while being read"));
    reply.hash = crypto::hash_block(reply.data);
    dl.bytes_sent += len;
    st.bytes_out += len;
    return s.send(block_reply);
  }

  status on(session::session_ref& s, session_state& st, wire::get_close&& m) {
    auto it = st.downloads.find(m.transfer);
    if (it == st.downloads.end()) return reply_error(s, m.id, make_error(errc::not_found, "no such transfer"));
    auto& dl = it->second;
    const auto before = dl.file.info();
    auto now = root.stat(dl.path);
    const bool unchanged = now && now->size == before.size && now->mtime_ns == before.mtime_ns;
    const double secs = seconds_since(dl.since);
    log::info(who(s) + ": pull " + escape_for_log(dl.path.str()) + " " + std::to_string(dl.bytes_sent) +
              " bytes in " + std::to_string(secs) + " s, " + format_rate(dl.bytes_sent, secs) +
              (unchanged ? "" : " (source changed during the transfer)"));
    st.downloads.erase(it);
    if (!unchanged) return reply_error(s, m.id, make_error(errc::hash_mismatch, "the file changed while it was being read"));
    return s.send(wire::ok{m.id});
  }
};

// Defined after every on() overload: clang 14 rejects the catch-all template
// ("used but not defined") when the visitor is instantiated inside the class.
status file_server::impl::handle(session::session_ref& s, session_state& st, wire::message&& msg) {
  return std::visit([&](auto&& m) -> status { return on(s, st, std::move(m)); }, std::move(msg));
}

file_server::file_server(store::root root) : m_impl(std::make_unique<impl>(std::move(root))) {}
file_server::~file_server() = default;

void file_server::on_open(session::session_ref& s) {
  m_impl->sessions[s.id()] = session_state{};
  m_impl->open_sessions[s.id()] = &s;
}

bool file_server::has_deferred_work() const { return !m_impl->verified.empty(); }
void file_server::on_idle() { m_impl->commit_verified(); }

status file_server::on_message(session::session_ref& s, wire::message&& m) {
  auto it = m_impl->sessions.find(s.id());
  if (it == m_impl->sessions.end()) return make_error(errc::internal, "message for an unknown session");
  it->second.requests++;
  if (s.peer().read_only && is_write(m)) {
    const auto id = request_id_of(m);
    if (std::holds_alternative<wire::put_block>(m)) return make_error(errc::permission_denied, "read-only peer sent data");
    log::warn(m_impl->who(s) + ": refused " + wire::type_name(wire::type_of(m)) + " from a read-only peer");
    return m_impl->reply_error(s, id, make_error(errc::permission_denied, "this peer is read-only on the server"));
  }
  auto st = m_impl->handle(s, it->second, std::move(m));
  if (m_impl->verified.due()) m_impl->commit_verified();
  return st;
}

void file_server::on_close(session::session_ref& s, const error* why) {
  // Its verified uploads are complete: they are committed, not left as partials.
  m_impl->commit_verified();
  m_impl->open_sessions.erase(s.id());
  auto it = m_impl->sessions.find(s.id());
  if (it == m_impl->sessions.end()) return;
  const auto& st = it->second;
  const double secs = seconds_since(st.since);
  // Partial uploads stay on disk (closed, not discarded) for a later resume.
  log::info("session " + std::to_string(s.id()) + " closed: peer " + m_impl->who(s) + ", " +
            std::to_string(st.requests) + " requests, " + std::to_string(st.bytes_in) + " bytes in, " +
            std::to_string(st.bytes_out) + " bytes out, " + std::to_string(secs) + " s, " +
            format_rate(st.bytes_in + st.bytes_out, secs) + (why ? ", " + why->message : std::string{}) +
            (st.uploads.empty() ? "" : ", " + std::to_string(st.uploads.size()) + " partial uploads kept"));
  for (const auto& [transfer, up] : st.uploads) m_impl->release_writer(up.target, s.id());
  m_impl->sessions.erase(it);
}

}  // namespace ftsync::ops
