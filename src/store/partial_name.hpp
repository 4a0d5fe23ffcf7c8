#pragma once
// Names of partial (in-transfer) files: ".ftsync.<16 hex>.part" beside the
// target, the hex being FNV-1a 64 of the target's final name. A fixed-length
// name keeps it within NAME_MAX whatever the target's length (255 bytes), and
// the ".ftsync" prefix makes it reserved: rel_path refuses it, so no peer can
// name, read or overwrite it, and list()/walk() hide it. Two targets in one
// directory whose names collide in 64 bits would share a temp file; the lock
// makes the second transfer wait (errc::busy) and block hashes catch any mix.
#include <cstdint>
#include <string>
#include <string_view>

namespace ftsync::store {

// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
std::uint64_t fnv1a_64(std::string_view data) noexcept;

std::string partial_name_for(std::string_view final_name);

// Exactly ".ftsync." + 16 lower-case hex digits + ".part".
bool is_partial_name(std::string_view name) noexcept;

}  // namespace ftsync::store
