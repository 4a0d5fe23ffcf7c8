#pragma once
// Requests a handler holds back to answer together (group commit: one flush
// of the disk for many files, request_handler::on_idle). Each held item
// remembers which session and request it answers. The batch must go when the
// server is idle, or at these bounds even if it never is, so that a steady
// stream from another session cannot hold an answer back.
#include <ftsync/session/server.hpp>
#include <ftsync/util/clock.hpp>

#include <chrono>
#include <cstddef>
#include <utility>
#include <vector>

namespace ftsync::session {

template <class T>
class held_batch {
 public:
  static constexpr std::size_t max_items = 64;
  static constexpr std::chrono::milliseconds max_delay{50};

  struct entry {
    session_id session = 0;
    wire::request_id reply_to = 0;
    T item;
  };

  void hold(session_id s, wire::request_id reply_to, T&& item) {
    if (m_entries.empty()) m_oldest = mono_now();
    m_entries.push_back(entry{s, reply_to, std::move(item)});
  }
  bool empty() const noexcept { return m_entries.empty(); }
  const std::vector<entry>& entries() const noexcept { return m_entries; }
  // Full, or its oldest entry has waited long enough.
  bool due() const {
    return !m_entries.empty() && (m_entries.size() >= max_items || mono_now() - m_oldest >= max_delay);
  }
  // Everything held, in arrival order; the batch is empty afterwards.
  std::vector<entry> take() { return std::exchange(m_entries, {}); }

 private:
  std::vector<entry> m_entries;
  mono_time m_oldest{};
};

}  // namespace ftsync::session
