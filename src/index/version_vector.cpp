#include <ftsync/index/version_vector.hpp>

#include <algorithm>
#include <charconv>

namespace ftsync::index {

version_vector version_vector::from_items(std::vector<item> items) {
  std::sort(items.begin(), items.end());
  version_vector v;
  for (const auto& [d, c] : items) {
    if (c == 0) continue;
    if (!v.m_items.empty() && v.m_items.back().first == d)
      v.m_items.back().second = std::max(v.m_items.back().second, c);
    else
      v.m_items.emplace_back(d, c);
  }
  return v;
}

std::uint64_t version_vector::get(device_id d) const noexcept {
  auto it = std::lower_bound(m_items.begin(), m_items.end(), item{d, 0});
  return it != m_items.end() && it->first == d ? it->second : 0;
}

void version_vector::bump(device_id me, std::uint64_t now_s) {
  auto it = std::lower_bound(m_items.begin(), m_items.end(), item{me, 0});
  if (it != m_items.end() && it->first == me)
    it->second = std::max(it->second + 1, now_s);
  else
    m_items.insert(it, item{me, std::max<std::uint64_t>(1, now_s)});
}

version_vector version_vector::merged(const version_vector& other) const {
  std::vector<item> all = m_items;
  all.insert(all.end(), other.m_items.begin(), other.m_items.end());
  return from_items(std::move(all));
}

ordering version_vector::compare(const version_vector& other) const noexcept {
  bool mine_bigger = false, theirs_bigger = false;
  std::size_t i = 0, j = 0;
  while (i < m_items.size() || j < other.m_items.size()) {
    if (j == other.m_items.size() || (i < m_items.size() && m_items[i].first < other.m_items[j].first)) {
      mine_bigger = true;  // a device only we know about (counters are > 0)
      ++i;
    } else if (i == m_items.size() || other.m_items[j].first < m_items[i].first) {
      theirs_bigger = true;
      ++j;
    } else {
      if (m_items[i].second > other.m_items[j].second) mine_bigger = true;
      if (m_items[i].second < other.m_items[j].second) theirs_bigger = true;
      ++i;
      ++j;
    }
  }
  if (mine_bigger && theirs_bigger) return ordering::concurrent;
  if (mine_bigger) return ordering::descendant;
  if (theirs_bigger) return ordering::ancestor;
  return ordering::equal;
}

device_id version_vector::last_modifier() const noexcept {
  device_id best = 0;
  std::uint64_t top = 0;
  for (const auto& [d, c] : m_items)
    if (c > top) top = c, best = d;
  return best;
}

std::string version_vector::encode() const {
  std::string out;
  char buf[20];
  for (const auto& [d, c] : m_items) {
    if (!out.empty()) out += ',';
    auto r = std::to_chars(buf, buf + sizeof buf, d, 16);
    out.append(buf, r.ptr);
    out += ':';
    r = std::to_chars(buf, buf + sizeof buf, c, 10);
    out.append(buf, r.ptr);
  }
  return out;
}

result<version_vector> version_vector::decode(std::string_view text) {
  std::vector<item> items;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto part = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const auto colon = part.find(':');
    if (colon == std::string_view::npos) return make_error(errc::malformed, "version vector item without ':'");
    device_id d = 0;
    std::uint64_t c = 0;
    auto r1 = std::from_chars(part.data(), part.data() + colon, d, 16);
    auto r2 = std::from_chars(part.data() + colon + 1, part.data() + part.size(), c, 10);
    if (r1.ec != std::errc{} || r1.ptr != part.data() + colon || r2.ec != std::errc{} ||
        r2.ptr != part.data() + part.size())
      return make_error(errc::malformed, "bad version vector item");
    items.emplace_back(d, c);
  }
  return from_items(std::move(items));
}

}  // namespace ftsync::index
