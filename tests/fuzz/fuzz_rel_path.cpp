// rel_path invariants (research/security.md D1): an accepted path has no
// empty, "." or ".." component, is not absolute, holds no NUL, backslash or
// control byte, and parses back to itself.
#include <ftsync/util/rel_path.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {
void require(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto parsed : {ftsync::rel_path::parse(text), ftsync::rel_path::from_user(text)}) {
    if (!parsed) continue;
    const auto& s = parsed->str();
    require(s.empty() || (s.front() != '/' && s.back() != '/'));
    for (char c : s) require(c != '\0' && c != '\\' && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
    for (auto comp : parsed->components()) require(!comp.empty() && comp != "." && comp != "..");
    auto again = ftsync::rel_path::parse(s);
    require(again.ok() && *again == *parsed);
  }
  return 0;
}
