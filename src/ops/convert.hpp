#pragma once
// Private to ops/: conversions between store and wire types, and helpers
// shared by the client and the server side.
#include <ftsync/crypto/hash.hpp>
#include <ftsync/store/root.hpp>
#include <ftsync/util/limits.hpp>
#include <ftsync/wire/messages.hpp>

#include <cstdint>
#include <string>

namespace ftsync::ops {

inline wire::entry_kind to_wire(store::file_kind k) noexcept {
  switch (k) {
    case store::file_kind::regular: return wire::entry_kind::file;
    case store::file_kind::directory: return wire::entry_kind::directory;
    case store::file_kind::symlink: return wire::entry_kind::symlink;
    case store::file_kind::other: break;
  }
  return wire::entry_kind::other;
}

inline wire::entry to_wire(const store::file_info& info, std::string name) {
  return wire::entry{std::move(name), to_wire(info.kind), info.size, info.mtime_ns, info.mode};
}

inline std::uint64_t block_count(std::uint64_t size) noexcept {
  return (size + limits::block_size - 1) / limits::block_size;
}

inline std::size_t block_length(std::uint64_t size, std::uint64_t index) noexcept {
  const std::uint64_t start = index * limits::block_size;
  return start >= size ? 0 : static_cast<std::size_t>(std::min<std::uint64_t>(limits::block_size, size - start));
}

// Reads and hashes the first `count` blocks of a file through `read_at`
// (a store::reader or store::partial_file), appending the hashes.
template <class Readable>
status hash_prefix(const Readable& file, std::uint64_t file_size, std::uint64_t count,
                   std::vector<crypto::digest>& out, bytes& buffer) {
  buffer.resize(limits::block_size);
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto len = block_length(file_size, i);
    auto got = file.read_at(i * limits::block_size, std::span<byte>(buffer.data(), len));
    if (!got) return std::move(got).err();
    if (*got != len) return make_error(errc::io, "file shrank while being read");
    out.push_back(crypto::hash_block(byte_view(buffer.data(), len)));
  }
  return {};
}

using wire::request_id_of;

// An error the server reported, marked remote for the CLI's exit code.
inline error remote_error(const wire::error_reply& r, const std::string& context) {
  return error{r.code, context.empty() ? r.message : context + ": " + r.message, true};
}

// Human-friendly rate for logs: "12.3 MB/s".
std::string format_rate(std::uint64_t bytes, double seconds);

}  // namespace ftsync::ops
