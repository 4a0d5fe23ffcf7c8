#pragma once
// Content-defined chunking (FastCDC: Xia et al., USENIX ATC 2016, "FastCDC:
// a Fast and Efficient Content-Defined Chunking Approach for Data
// Deduplication", with normalized chunking level 2).
//
// A boundary is placed where a rolling "gear" hash of the last 64 bytes has
// its top bits zero, so it depends only on nearby content: inserting 100
// bytes in the middle of a file moves the boundaries of one or two chunks,
// and every later chunk keeps its bytes and its hash (rsync's fixed 128 KiB
// blocks would all shift). Sizes, and why:
//   - min 16 KiB: the hash is not evaluated in the first 16 KiB of a chunk
//     (FastCDC's cut-point skipping), which is ~25% of the CPU work saved, and
//     a chunk's per-entry cost (32-byte hash + offset + size in the index and
//     on the wire, ~50 bytes) stays < 0.3% of its data;
//   - avg 64 KiB: a 1 GiB file is ~16k chunks (~800 KB of chunk list), a
//     1 MiB edit re-sends ~1 MiB + at most two neighbouring chunks (~128 KiB),
//     and a 100-byte insertion re-sends ~1-2 chunks (~64-128 KiB);
//   - max 128 KiB = limits::block_size: one chunk always fits one wire
//     message (limits::max_msgpack_bin is block_size + 1 KiB). With the
//     large mask (14 bits) a chunk reaches 128 KiB without a content cut with
//     probability (1 - 2^-14)^(64 Ki) = e^-4 = 1.8%, so forced (content-
//     independent) cuts are rare.
// The gear table and the masks are part of the on-disk and wire format: two
// nodes must cut identically for chunk hashes to match. Never change them.
#include <ftsync/util/bytes.hpp>

#include <cstddef>
#include <cstdint>

namespace ftsync::store {

inline constexpr std::size_t chunk_min = 16 * 1024;
inline constexpr std::size_t chunk_avg = 64 * 1024;
inline constexpr std::size_t chunk_max = 128 * 1024;

// Length of the chunk that starts at data[0]. Pass min(chunk_max, bytes
// left in the file) bytes: with fewer than chunk_max bytes the data is taken
// to be the end of the file. Returns a value in [1, data.size()] (0 only for
// empty data).
std::size_t next_cut(byte_view data) noexcept;

}  // namespace ftsync::store
