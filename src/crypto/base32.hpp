#pragma once
// RFC 4648 base32 (alphabet A-Z 2-7), without padding, used for node ids.
#include <ftsync/util/bytes.hpp>
#include <ftsync/util/result.hpp>
#include <string>
#include <string_view>

namespace ftsync::crypto::detail {

std::string base32_encode(byte_view data);

// Accepts upper or lower case, nothing else (callers strip separators).
// Refuses lengths that no byte string encodes to (1, 3 or 6 characters mod 8)
// and non-zero trailing bits, so every byte string has exactly one text form.
result<bytes> base32_decode(std::string_view text);

}  // namespace ftsync::crypto::detail
