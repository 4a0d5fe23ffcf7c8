#include <ftsync/util/limits.hpp>
#include <ftsync/util/rel_path.hpp>

#include <cstdint>

namespace ftsync {
namespace {

// Strict UTF-8 check (no overlongs, no surrogates, max U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000))
      return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

status check_component(std::string_view c, bool allow_reserved) {
  if (c.empty()) return make_error(errc::bad_path, "empty path component");
  if (c == "." || c == "..") return make_error(errc::bad_path, "'.' and '..' are not allowed in paths");
  if (c.size() > limits::max_name_bytes)
    return make_error(errc::bad_path, "path component longer than 255 bytes");
  for (char ch : c) {
    const auto u = static_cast<unsigned char>(ch);
    if (u == 0) return make_error(errc::bad_path, "NUL byte in path");
    if (ch == '/' || ch == '\\') return make_error(errc::bad_path, "separator inside a path component");
    if (u < 0x20 || u == 0x7f) return make_error(errc::bad_path, "control character in path");
  }
  if (!is_valid_utf8(c)) return make_error(errc::bad_path, "path is not valid UTF-8");
  if (!allow_reserved && is_reserved_name(c))
    return make_error(errc::reserved_name, "names starting with .ftsync are reserved");
  return {};
}

}  // namespace

bool is_reserved_name(std::string_view component) noexcept {
  return component.substr(0, 7) == ".ftsync";
}

status validate_component(std::string_view component) { return check_component(component, false); }

result<rel_path> rel_path::parse(std::string_view text) {
  if (text.size() > limits::max_path_bytes)
    return make_error(errc::bad_path, "path longer than 4096 bytes");
  if (text.empty()) return rel_path{};
  if (text.front() == '/') return make_error(errc::bad_path, "absolute paths are not allowed");
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto slash = text.find('/', start);
    const auto end = slash == std::string_view::npos ? text.size() : slash;
    FTSYNC_TRY(check_component(text.substr(start, end - start), false));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return rel_path{std::string(text)};
}

result<rel_path> rel_path::from_user(std::string_view text) {
  if (text.size() > limits::max_path_bytes)
    return make_error(errc::bad_path, "path longer than 4096 bytes");
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto slash = text.find('/', start);
    if (slash == std::string_view::npos) slash = text.size();
    const auto comp = text.substr(start, slash - start);
    start = slash + 1;
    if (comp.empty() || comp == ".") continue;
    FTSYNC_TRY(check_component(comp, false));
    if (!out.empty()) out.push_back('/');
    out.append(comp);
  }
  return rel_path{std::move(out)};
}

std::vector<std::string_view> rel_path::components() const {
  std::vector<std::string_view> out;
  std::string_view s = m_text;
  while (!s.empty()) {
    const auto slash = s.find('/');
    out.push_back(s.substr(0, slash));
    if (slash == std::string_view::npos) break;
    s.remove_prefix(slash + 1);
  }
  return out;
}

std::string_view rel_path::name() const noexcept {
  const auto slash = m_text.rfind('/');
  return slash == std::string::npos ? std::string_view{m_text}
                                    : std::string_view{m_text}.substr(slash + 1);
}

rel_path rel_path::parent() const {
  const auto slash = m_text.rfind('/');
  return slash == std::string::npos ? rel_path{} : rel_path{m_text.substr(0, slash)};
}

result<rel_path> rel_path::join(std::string_view component) const {
  FTSYNC_TRY(check_component(component, false));
  if (m_text.size() + 1 + component.size() > limits::max_path_bytes)
    return make_error(errc::bad_path, "path longer than 4096 bytes");
  return rel_path{is_root() ? std::string(component) : m_text + "/" + std::string(component)};
}

rel_path rel_path::join(const rel_path& tail) const {
  if (is_root()) return tail;
  if (tail.is_root()) return *this;
  return rel_path{m_text + "/" + tail.m_text};
}

bool rel_path::starts_with(const rel_path& prefix) const noexcept {
  if (prefix.is_root()) return true;
  if (m_text.size() < prefix.m_text.size()) return false;
  if (m_text.compare(0, prefix.m_text.size(), prefix.m_text) != 0) return false;
  return m_text.size() == prefix.m_text.size() || m_text[prefix.m_text.size()] == '/';
}

}  // namespace ftsync
