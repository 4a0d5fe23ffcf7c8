#include "crypto/base32.hpp"

#include <string>

namespace ftsync::crypto::detail {
namespace {

constexpr std::string_view k_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int decode_char(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

}  // namespace

std::string base32_encode(byte_view data) {
  std::string out;
  out.reserve((data.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (byte b : data) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(k_alphabet[(buffer >> bits) & 31u]);
    }
  }
  if (bits > 0) out.push_back(k_alphabet[(buffer << (5 - bits)) & 31u]);
  return out;
}

result<bytes> base32_decode(std::string_view text) {
  // 8 characters carry 5 bytes; a final group of 1, 3 or 6 characters would
  // leave a partial byte of 5 or more bits, which no encoder produces.
  const std::size_t rest = text.size() % 8;
  if (rest == 1 || rest == 3 || rest == 6)
    return make_error(errc::bad_key, "base32 text has an impossible length (" + std::to_string(text.size()) +
                                         " characters)");
  bytes out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int v = decode_char(text[i]);
    if (v < 0)
      return make_error(errc::bad_key,
                        "invalid character at position " + std::to_string(i + 1) + " (allowed: A-Z and 2-7)");
    buffer = ((buffer << 5) | static_cast<std::uint32_t>(v)) & 0xfffu;  // at most 7 + 5 live bits
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<byte>(buffer >> bits));
    }
  }
  if ((buffer & ((1u << bits) - 1u)) != 0)
    return make_error(errc::bad_key, "base32 text has non-zero padding bits");
  return out;
}

}  // namespace ftsync::crypto::detail
