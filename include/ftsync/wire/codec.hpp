#pragma once
// msgpack encoding of wire messages with explicit decode limits
// (STYLE.md rule 6; research/security.md §2.2 and checklist A1-A8).
#include <ftsync/util/limits.hpp>
#include <ftsync/util/result.hpp>
#include <ftsync/wire/messages.hpp>

namespace ftsync::wire {

struct decode_limits {
  std::size_t max_frame = limits::max_frame_bytes;
  std::size_t max_depth = limits::max_msgpack_depth;
  std::size_t max_array = limits::max_msgpack_array;
  std::size_t max_map = limits::max_msgpack_map;
  std::size_t max_str = limits::max_msgpack_str;
  std::size_t max_bin = limits::max_msgpack_bin;
};

// Limits for unauthenticated (handshake) frames.
decode_limits handshake_limits() noexcept;

bytes encode(const message& m);
// Appends the encoding to `out` (reuses its capacity).
void encode_into(const message& m, bytes& out);

// Never throws. Errors: too_large (frame, str, bin, array over limit),
// too_deep, malformed (bad msgpack, trailing bytes, wrong field types or
// counts, out-of-range enums, ext types), unsupported (unknown message type).
// Paths are NOT validated here (they stay strings); the receiver parses them
// with rel_path::parse before use.
result<message> decode(byte_view frame, const decode_limits& lim = {});

}  // namespace ftsync::wire
