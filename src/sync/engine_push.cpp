// Pushes: sync_put for many paths at a time (push_many).
#include "sync/engine_impl.hpp"

namespace ftsync::sync {

void engine::impl::on_put_ok(const push_item& x) {
  const file_entry& l = x.l;
  if (l.deleted) {
    ++t.deleted;
    emit(l.path.str(), "deleted_remote", 0, 0);
  } else if (l.kind == entry_kind::directory) {
    if (!x.r || x.r->deleted) ++t.dirs, emit(l.path.str(), "dir", 0, 0);
  } else if (l.kind == entry_kind::symlink) {
    ++t.files;
    emit(l.path.str(), "pushed", l.size, 0);
  } else if (x.from) {
    ++t.renamed;
    emit(l.path.str(), "renamed_remote", l.size, 0, x.from->str());
  } else {
    ++t.files;
    emit(l.path.str(), "meta", l.size, 0);
  }
}

status engine::impl::start_put(std::vector<push_item>& items, std::size_t i,
                               std::map<wire::request_id, std::size_t>& by_id) {
  auto& x = items[i];
  const file_entry& l = x.l;
  if (!l.deleted && l.kind != entry_kind::directory && !f.disk_matches(l)) {
    x.stage = push_stage::done;
    x.result = make_error(errc::already_exists, "'" + l.path.str() + "' changed locally since the scan");
    return {};
  }
  wire::sync_put put;
  put.id = next_id++;
  put.record = to_wire(l);
  put.record.path = to_remote(l.path);
  if (x.r) put.base = to_wire(x.r->version);
  if (x.from) put.from = to_remote(*x.from);
  if (!l.deleted && l.kind == entry_kind::file) {
    auto chunks = f.db().chunks(l.path);
    if (!chunks) return std::move(chunks).err();
    x.chunks = std::move(*chunks);
    for (std::size_t c = 0; c < x.chunks.size() && c < k_chunks_per_page; ++c)
      put.chunks.push_back(to_wire(x.chunks[c]));
  }
  FTSYNC_TRY(s.send(put));
  by_id.emplace(put.id, i);
  x.stage = push_stage::put_sent;
  return {};
}

result<bool> engine::impl::send_data(std::vector<push_item>& items, std::size_t i,
                                     std::map<wire::request_id, std::size_t>& by_id) {
  auto& x = items[i];
  if (x.next_need < x.need.size() && !x.reader) {
    auto rd = f.root().open_read(x.l.path);
    if (!rd) {
      x.stage = push_stage::done;
      x.result = std::move(rd).err();
      return true;
    }
    x.reader.emplace(std::move(*rd));
  }
  bytes buf;
  for (; x.next_need < x.need.size(); ++x.next_need) {
    if (s.queued_bytes() > k_push_window_bytes) return false;
    const auto& c = x.chunks[x.need[x.next_need]];
    buf.resize(c.size);
    auto got = x.reader->read_at(c.offset, std::span<byte>(buf.data(), c.size));
    if (!got || *got != c.size || crypto::hash_block(buf) != c.hash) {
      // The upload stays open on the server until the session ends (its
      // partial file kept for a later resume); the next round decides.
      x.stage = push_stage::done;
      x.result = got ? make_error(errc::already_exists, "'" + x.l.path.str() + "' changed locally while being sent")
                     : status{std::move(got).err()};
      return true;
    }
    FTSYNC_TRY(s.send(wire::sync_put_data{x.transfer, x.need[x.next_need], buf}));
    x.sent += c.size;
  }
  x.reader.reset();
  const auto id = next_id++;
  FTSYNC_TRY(s.send(wire::sync_put_commit{id, x.transfer}));
  by_id.emplace(id, i);
  x.stage = push_stage::committing;
  return true;
}

status engine::impl::on_push_reply(std::vector<push_item>& items, std::size_t i, wire::message& m,
                                   std::map<wire::request_id, std::size_t>& by_id, std::deque<std::size_t>& ready) {
  auto& x = items[i];
  if (auto* e = std::get_if<wire::error_reply>(&m)) {
    x.stage = push_stage::done;
    x.result = error{e->code, e->message, true};
    return {};
  }
  auto add_need = [&](const std::vector<std::uint64_t>& indices) -> status {
    for (auto n : indices) {
      if (n >= x.chunks.size()) return make_error(errc::malformed, "the peer asked for a chunk that does not exist");
      x.need.push_back(n);
    }
    return {};
  };
  switch (x.stage) {
    case push_stage::put_sent:
      if (std::holds_alternative<wire::ok>(m)) {
        on_put_ok(x);
        x.stage = push_stage::done;
        return {};
      }
      if (auto* r = std::get_if<wire::sync_put_ready>(&m)) {
        x.transfer = r->transfer;
        FTSYNC_TRY(add_need(r->need));
        // The rest of a chunk list longer than the put's page.
        for (std::size_t first = k_chunks_per_page; first < x.chunks.size(); first += k_chunks_per_page) {
          wire::sync_put_chunks page{next_id++, x.transfer, first, {}};
          for (std::size_t c = first; c < x.chunks.size() && c < first + k_chunks_per_page; ++c)
            page.chunks.push_back(to_wire(x.chunks[c]));
          FTSYNC_TRY(s.send(page));
          by_id.emplace(page.id, i);
          ++x.pages_due;
        }
        x.stage = x.pages_due > 0 ? push_stage::paging : push_stage::ready;
        if (x.stage == push_stage::ready) ready.push_back(i);
        return {};
      }
      break;
    case push_stage::paging:
      if (auto* n = std::get_if<wire::sync_put_need>(&m)) {
        FTSYNC_TRY(add_need(n->indices));
        if (--x.pages_due == 0) {
          x.stage = push_stage::ready;
          ready.push_back(i);
        }
        return {};
      }
      break;
    case push_stage::committing:
      if (std::holds_alternative<wire::ok>(m)) {
        t.bytes += x.sent;
        t.bytes_sent += x.sent;
        ++t.files;
        emit(x.l.path.str(), "pushed", x.l.size, x.sent);
        x.stage = push_stage::done;
        return {};
      }
      break;
    default: break;
  }
  return make_error(errc::unexpected_message,
                    std::string("unexpected ") + wire::type_name(wire::type_of(m)) + " during a sync upload");
}

status engine::impl::push_many(std::vector<push_item>& items) {
  std::map<wire::request_id, std::size_t> by_id;
  std::deque<std::size_t> ready;
  std::size_t next = 0;
  std::size_t in_flight = 0;  // puts sent whose item is not done
  auto ended = [&](std::size_t i) {
    if (items[i].stage == push_stage::done) --in_flight;
  };
  mono_time heard = mono_now();
  while (true) {
    if (o.stop && o.stop->load()) return make_error(errc::cancelled, "interrupted");
    while (next < items.size() && in_flight < k_puts_in_flight) {
      FTSYNC_TRY(start_put(items, next, by_id));
      if (items[next].stage != push_stage::done) ++in_flight;
      ++next;
    }
    while (!ready.empty()) {
      const std::size_t i = ready.front();
      auto sent = send_data(items, i, by_id);
      if (!sent) return std::move(sent).err();
      if (!*sent) break;  // the session's queue is full: wait for acknowledgements
      ready.pop_front();
      ended(i);
    }
    // Done when every item is, and every answer (a failed item's chunk
    // pages too) has arrived, so the next request's answer comes next.
    if (in_flight == 0 && next == items.size() && by_id.empty()) return {};
    if (by_id.empty() && ready.empty()) continue;
    auto m = poll_reply(heard, ready.empty() ? 100ms : 1ms);
    if (!m) return std::move(m).err();
    if (!*m) continue;
    auto it = by_id.find(request_id_of(**m));
    if (it == by_id.end()) return make_error(errc::unexpected_message, "a reply nobody asked for");
    const std::size_t i = it->second;
    by_id.erase(it);
    if (items[i].stage == push_stage::done) continue;  // a page answered after the item failed
    FTSYNC_TRY(on_push_reply(items, i, **m, by_id, ready));
    ended(i);
  }
}

status engine::impl::push_entry(const file_entry& l, const std::optional<file_entry>& r,
                                const std::optional<rel_path>& from) {
  std::vector<push_item> one(1);
  one[0].l = l;
  one[0].r = r;
  one[0].from = from;
  FTSYNC_TRY(push_many(one));
  return one[0].result;
}

result<engine::impl::push_item> engine::impl::push_item_for(const action& a) {
  push_item x;
  x.l = *a.local;
  x.r = a.remote;
  if (a.kind == action_kind::merge || (a.merge_versions && a.remote)) {
    x.l.version = x.l.version.merged(a.remote->version);
    FTSYNC_TRY(f.db().put(x.l));
  }
  if (a.kind == action_kind::push) x.from = a.rename_from;
  return x;
}

}  // namespace ftsync::sync
