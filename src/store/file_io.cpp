#include "store/file_io.hpp"

#include "store/sys_error.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>

namespace ftsync::store {
namespace {

constexpr auto k_max_off = static_cast<std::uint64_t>(std::numeric_limits<off_t>::max());
// Linux transfers at most 0x7ffff000 bytes per call; asking for less keeps the
// loop's arithmetic far from ssize_t's limit.
constexpr std::size_t k_max_chunk = 1u << 30;

bool range_fits(std::uint64_t offset, std::size_t size) noexcept {
  return offset <= k_max_off && size <= k_max_off - offset;
}

}  // namespace

result<std::size_t> pread_full(int fd, std::uint64_t offset, std::span<byte> out,
                               std::string_view shown) {
  if (!range_fits(offset, out.size()))
    return make_error(errc::invalid_argument, "read offset out of range");
  std::size_t done = 0;
  while (done < out.size()) {
    const std::size_t want = std::min(out.size() - done, k_max_chunk);
    const ssize_t n = ::pread(fd, out.data() + done, want, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(errno, "cannot read", shown);
    }
    if (n == 0) break;  // end of file
    done += static_cast<std::size_t>(n);
  }
  return done;
}

status pwrite_full(int fd, std::uint64_t offset, byte_view data, std::string_view shown) {
  if (!range_fits(offset, data.size()))
    return make_error(errc::invalid_argument, "write offset out of range");
  std::size_t done = 0;
  while (done < data.size()) {
    const std::size_t want = std::min(data.size() - done, k_max_chunk);
    const ssize_t n = ::pwrite(fd, data.data() + done, want, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(errno, "cannot write", shown);
    }
    // pwrite returning 0 for a non-empty request has no defined cause;
    // treat it as an I/O error rather than spin.
    if (n == 0) return make_error(errc::io, "cannot write '" + std::string(shown) + "': no progress");
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace ftsync::store
