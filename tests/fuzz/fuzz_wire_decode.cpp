// libFuzzer target for wire::decode (research/security.md A1 and "Fuzz
// targets"). Seed corpus: tests/fuzz/corpus/wire_decode/ (one valid frame per
// message type and every hostile fixture). Suggested flags:
//   -rss_limit_mb=512 -max_len=266240
// Invariants: decode never throws; it fails only with the documented codes;
// an accepted frame re-encodes to at most its own size (our encoding is the
// smallest) and decodes again to an equal message with the same bytes.
#include <ftsync/wire/codec.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ftsync;
  const result<wire::message> first = wire::decode(byte_view(data, size));
  if (!first.ok()) {
    const errc c = first.code();
    if (c != errc::malformed && c != errc::too_large && c != errc::too_deep && c != errc::unsupported)
      std::abort();
    return 0;
  }
  const bytes again = wire::encode(*first);
  if (again.size() > size) std::abort();
  const result<wire::message> second = wire::decode(again);
  if (!second.ok()) std::abort();
  if (wire::type_of(*second) != wire::type_of(*first)) std::abort();
  if (!(*second == *first)) std::abort();
  if (wire::encode(*second) != again) std::abort();
  return 0;
}
