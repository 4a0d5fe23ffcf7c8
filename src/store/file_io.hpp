#pragma once
// Positional read/write loops shared by reader and partial_file.
#include <ftsync/util/bytes.hpp>
#include <ftsync/util/result.hpp>

#include <cstdint>
#include <span>
#include <string_view>

namespace ftsync::store {

// Reads until `out` is full or end of file; retries EINTR and short reads.
// errc::invalid_argument when offset + size does not fit in off_t.
result<std::size_t> pread_full(int fd, std::uint64_t offset, std::span<byte> out,
                               std::string_view shown);

// Writes all of `data`; retries EINTR and short writes. errc::no_space on
// ENOSPC/EDQUOT.
status pwrite_full(int fd, std::uint64_t offset, byte_view data, std::string_view shown);

}  // namespace ftsync::store
