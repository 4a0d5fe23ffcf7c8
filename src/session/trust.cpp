#include <ftsync/session/trust.hpp>
#include <ftsync/util/file_mode.hpp>
#include <ftsync/util/log.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace ftsync::session {
namespace {

// A trust file is a few dozen lines; 1 MiB (~10,000 peers) bounds what a
// corrupted or hostile file can make us read into memory.
constexpr std::size_t k_max_file_bytes = 1024 * 1024;
// host names are at most 253 bytes (RFC 1035), plus ":" and a 5-digit port,
// plus "[]" around an IPv6 literal.
constexpr std::size_t k_max_address_bytes = 262;

std::string os_error(std::string_view what, const std::filesystem::path& file, int err) {
  return std::string(what) + " " + escape_for_log(file.string()) + ": " + std::strerror(err);
}

class fd_guard {
 public:
  explicit fd_guard(int fd) noexcept : m_fd(fd) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() {
    if (m_fd >= 0) ::close(m_fd);
  }
  int get() const noexcept { return m_fd; }
  int release() noexcept {
    const int fd = m_fd;
    m_fd = -1;
    return fd;
  }

 private:
  int m_fd;
};

// Same rule as identity::load (OpenSSH sshkey_perm_ok): the owner is us and
// no group/other bit is set. Checked on the open descriptor, so a file
// swapped between a check and the open cannot slip through.
status check_safe(const struct stat& st, const std::filesystem::path& file) {
  const std::string name = escape_for_log(file.string());
  if (!S_ISREG(st.st_mode))
    return make_error(errc::unsafe_permissions, "trusted peers file " + name + " is not a regular file");
  if (st.st_uid != ::geteuid())
    return make_error(errc::unsafe_permissions,
                      "trusted peers file " + name + " is not owned by the current user");
  if ((st.st_mode & 077) != 0) {
    return make_error(errc::unsafe_permissions, "trusted peers file " + name + " has mode " + octal_mode(st.st_mode) +
                                                    "; it must be 0600 (chmod 600 " + name + ")");
  }
  return {};
}

bool valid_address_text(std::string_view a) {
  if (a.empty() || a.size() > k_max_address_bytes) return false;
  for (char c : a) {
    const auto u = static_cast<unsigned char>(c);
    // Tabs would break the line format; spaces and controls are never part
    // of a host:port.
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

status validate_entry(const peer_entry& e) {
  FTSYNC_TRY(validate_peer_name(e.name));
  if (!e.address.empty() && (!valid_address_text(e.address) || e.address == "-"))
    return make_error(errc::invalid_argument, "invalid peer address '" + escape_for_log(e.address) + "'");
  return {};
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto tab = line.find('\t', start);
    if (tab == std::string_view::npos) {
      out.push_back(line.substr(start));
      return out;
    }
    out.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
}

result<std::vector<peer_entry>> parse_file(std::string_view text, const std::filesystem::path& file) {
  std::vector<peer_entry> peers;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  const std::string name = escape_for_log(file.string());
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto bad = [&](const std::string& why) {
      return make_error(errc::malformed, name + ":" + std::to_string(line_no) + ": " + why);
    };
    const auto fields = split_tabs(line);
    if (fields.size() != 4) return bad("expected NAME<TAB>ID<TAB>ADDRESS-or-\"-\"<TAB>rw|ro");
    peer_entry e;
    e.name = std::string(fields[0]);
    if (auto st = validate_peer_name(e.name); !st) return bad(st.err().message);
    auto key = crypto::parse_id(fields[1]);
    if (!key) return bad("bad id: " + key.err().message);
    e.key = *key;
    if (fields[2] != "-") {
      if (!valid_address_text(fields[2])) return bad("bad address '" + escape_for_log(fields[2]) + "'");
      e.address = std::string(fields[2]);
    }
    if (fields[3] == "rw") {
      e.read_only = false;
    } else if (fields[3] == "ro") {
      e.read_only = true;
    } else {
      return bad("access must be rw or ro, not '" + escape_for_log(fields[3]) + "'");
    }
    for (const auto& other : peers) {
      if (other.name == e.name) return bad("peer name '" + e.name + "' appears twice");
      if (other.key == e.key) return bad("peer id appears twice (also named '" + other.name + "')");
    }
    peers.push_back(std::move(e));
  }
  return peers;
}

status write_all(int fd, std::string_view data, const std::filesystem::path& file) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(errno == ENOSPC || errno == EDQUOT ? errc::no_space : errc::io,
                        os_error("cannot write", file, errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

status validate_peer_name(std::string_view name) {
  if (name.empty() || name.size() > 64)
    return make_error(errc::invalid_argument, "peer name must be 1 to 64 characters");
  if (name.front() == '-')
    return make_error(errc::invalid_argument, "peer name must not start with '-'");
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok)
      return make_error(errc::invalid_argument, "peer name '" + escape_for_log(name) +
                                                    "' may only hold letters, digits, '.', '_' and '-'");
  }
  return {};
}

result<trust_store> trust_store::load(const std::filesystem::path& file) {
  trust_store store;
  store.m_file = file;
  const int raw = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (raw < 0) {
    if (errno == ENOENT) return store;
    if (errno == ELOOP)
      return make_error(errc::unsafe_permissions,
                        "trusted peers file " + escape_for_log(file.string()) + " is a symlink");
    return make_error(errno == EACCES || errno == EPERM ? errc::permission_denied : errc::io,
                      os_error("cannot open", file, errno));
  }
  fd_guard fd(raw);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return make_error(errc::io, os_error("cannot stat", file, errno));
  FTSYNC_TRY(check_safe(st, file));
  if (static_cast<std::uint64_t>(st.st_size) > k_max_file_bytes)
    return make_error(errc::too_large, "trusted peers file " + escape_for_log(file.string()) +
                                           " is larger than 1 MiB");
  std::string text;
  char buf[8192];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(errc::io, os_error("cannot read", file, errno));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    // The file may grow after fstat; the bound holds regardless.
    if (text.size() > k_max_file_bytes)
      return make_error(errc::too_large, "trusted peers file " + escape_for_log(file.string()) +
                                             " is larger than 1 MiB");
  }
  auto peers = parse_file(text, file);
  if (!peers) return std::move(peers).err();
  store.m_peers = std::move(*peers);
  return store;
}

status trust_store::save() const {
  if (m_file.empty()) return make_error(errc::internal, "trust_store::save without a file");
  std::string text =
      "# ftsync trusted peers: NAME<TAB>ID<TAB>ADDRESS-or-\"-\"<TAB>rw|ro\n"
      "# Edit with `ftsync trust` and `ftsync untrust`; this file must stay mode 0600.\n";
  for (const auto& p : m_peers) {
    text += p.name;
    text += '\t';
    text += crypto::format_id(p.key);
    text += '\t';
    text += p.address.empty() ? std::string("-") : p.address;
    text += '\t';
    text += p.read_only ? "ro" : "rw";
    text += '\n';
  }
  // Temp file in the same directory so rename() is atomic: a reader (a
  // running server's trust_watcher) sees the old file or the new one.
  std::string tmpl = m_file.string() + ".tmp.XXXXXX";
  const int raw = ::mkostemp(tmpl.data(), O_CLOEXEC);  // mode 0600
  if (raw < 0) return make_error(errc::io, os_error("cannot create a temp file next to", m_file, errno));
  fd_guard fd(raw);
  auto fail = [&](error e) -> status {
    ::unlink(tmpl.c_str());
    return e;
  };
  if (::fchmod(fd.get(), 0600) != 0) return fail(make_error(errc::io, os_error("cannot chmod", tmpl, errno)));
  if (auto st = write_all(fd.get(), text, tmpl); !st) return fail(std::move(st).err());
  if (::fsync(fd.get()) != 0) return fail(make_error(errc::io, os_error("cannot fsync", tmpl, errno)));
  if (::close(fd.release()) != 0) return fail(make_error(errc::io, os_error("cannot close", tmpl, errno)));
  if (::rename(tmpl.c_str(), m_file.c_str()) != 0)
    return fail(make_error(errc::io, os_error("cannot rename temp file onto", m_file, errno)));
  // Make the rename itself durable.
  auto dir = m_file.parent_path();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

const peer_entry* trust_store::find_by_name(std::string_view name) const {
  for (const auto& p : m_peers)
    if (p.name == name) return &p;
  return nullptr;
}

const peer_entry* trust_store::find_by_key(const crypto::public_key& key) const {
  for (const auto& p : m_peers)
    if (p.key == key) return &p;
  return nullptr;
}

status trust_store::upsert(peer_entry entry) {
  FTSYNC_TRY(validate_entry(entry));
  // Keep the position of the first entry replaced so the file's order is
  // stable across edits (diff-friendly).
  std::size_t at = m_peers.size();
  for (std::size_t i = m_peers.size(); i-- > 0;) {
    if (m_peers[i].name == entry.name || m_peers[i].key == entry.key) {
      m_peers.erase(m_peers.begin() + static_cast<std::ptrdiff_t>(i));
      at = i;
    }
  }
  if (at > m_peers.size()) at = m_peers.size();
  m_peers.insert(m_peers.begin() + static_cast<std::ptrdiff_t>(at), std::move(entry));
  return {};
}

status trust_store::remove(std::string_view name_or_id) {
  for (auto it = m_peers.begin(); it != m_peers.end(); ++it) {
    if (it->name == name_or_id) {
      m_peers.erase(it);
      return {};
    }
  }
  if (auto key = crypto::parse_id(name_or_id)) {
    for (auto it = m_peers.begin(); it != m_peers.end(); ++it) {
      if (it->key == *key) {
        m_peers.erase(it);
        return {};
      }
    }
  }
  return make_error(errc::not_found, "no trusted peer named '" + escape_for_log(name_or_id) + "'");
}

trust_watcher::trust_watcher(std::filesystem::path file) : m_file(std::move(file)) {}

std::optional<peer_entry> trust_watcher::lookup(const crypto::public_key& key) {
  struct stat st {};
  if (::lstat(m_file.c_str(), &st) != 0) {
    m_cached.reset();
    m_mtime_ns = -1;
    if (errno != ENOENT)
      log::warn("trusted peers: " + os_error("cannot stat", m_file, errno) + "; refusing every peer");
    return std::nullopt;  // no file: nobody is trusted
  }
  const std::int64_t mtime_ns =
      static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  // Every save is a rename, so the inode changes too; the mode and owner are
  // compared so that a chmod making the file unsafe takes effect at once.
  const bool changed = !m_cached || mtime_ns != m_mtime_ns || size != m_size ||
                       static_cast<std::uint64_t>(st.st_ino) != m_inode ||
                       static_cast<std::uint32_t>(st.st_mode) != m_mode ||
                       static_cast<std::uint32_t>(st.st_uid) != m_uid;
  if (changed) {
    auto store = trust_store::load(m_file);
    if (!store) {
      // Fail closed, and try again at the next lookup.
      log::warn("trusted peers: " + store.err().message + "; refusing every peer until fixed");
      m_cached.reset();
      m_mtime_ns = -1;
      return std::nullopt;
    }
    m_cached = std::move(*store);
    m_mtime_ns = mtime_ns;
    m_size = size;
    m_inode = static_cast<std::uint64_t>(st.st_ino);
    m_mode = static_cast<std::uint32_t>(st.st_mode);
    m_uid = static_cast<std::uint32_t>(st.st_uid);
    log::debug("trusted peers: loaded " + std::to_string(m_cached->peers().size()) + " peer(s) from " +
               escape_for_log(m_file.string()));
  }
  if (const auto* p = m_cached->find_by_key(key)) return *p;
  return std::nullopt;
}

}  // namespace ftsync::session
