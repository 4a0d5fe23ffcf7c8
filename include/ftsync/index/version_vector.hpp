#pragma once
// Version vectors decide which version of a file wins (Parker et al. 1983;
// Syncthing's protocol.Vector). Each node that changes a file raises its own
// counter; comparing two vectors says whether one version descends from the
// other (it saw every change the other saw: it wins, no conflict) or whether
// they are concurrent (both changed since they last agreed: a conflict).
//
// A node is named by a device id: the first 8 bytes of BLAKE2b-256 of its
// Ed25519 public key. 64 bits make an accidental collision among the few
// dozen nodes of one sync group ~2^-50 likely; a collision could only merge
// two nodes' histories, never leak data (peers still authenticate by key).
#include <ftsync/util/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ftsync::index {

using device_id = std::uint64_t;

enum class ordering {
  equal,       // same history
  ancestor,    // *this happened before the other (the other wins)
  descendant,  // *this happened after the other (*this wins)
  concurrent,  // neither saw all of the other's changes: a conflict
};

class version_vector {
 public:
  using item = std::pair<device_id, std::uint64_t>;

  version_vector() = default;
  // Items with counter 0 are dropped; duplicate devices keep the maximum.
  static version_vector from_items(std::vector<item> items);

  std::uint64_t get(device_id d) const noexcept;
  // Records a change made by `me`. The counter becomes max(old + 1, now_s)
  // (Syncthing's rule): a node that lost its index and starts again still
  // produces counters above the ones its peers remember, as long as its
  // clock is not behind by more than its own edit count.
  void bump(device_id me, std::uint64_t now_s);
  // Element-wise maximum: the history of both.
  version_vector merged(const version_vector& other) const;
  ordering compare(const version_vector& other) const noexcept;
  // The device holding the largest counter (the last one to change the
  // file), 0 when empty.
  device_id last_modifier() const noexcept;

  const std::vector<item>& items() const noexcept { return m_items; }
  bool empty() const noexcept { return m_items.empty(); }
  // "dev:counter,dev:counter" with hex device ids, for the database.
  std::string encode() const;
  static result<version_vector> decode(std::string_view text);

  friend bool operator==(const version_vector&, const version_vector&) = default;

 private:
  std::vector<item> m_items;  // sorted by device, counters > 0
};

}  // namespace ftsync::index
