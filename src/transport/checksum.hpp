#pragma once
// ENet's per-datagram checksum (ENetHost::checksum), which ENet leaves off
// by default. Without it a datagram corrupted on the way (1 % in the fault
// suite's bad link) passes ENet, which acknowledges it, and reaches the AEAD
// layer, where failed authentication must end the session: the sender never
// resends an acknowledged datagram. With it ENet drops the datagram
// unacknowledged and the sender's resend repairs it.
//
// CRC-32C (Castagnoli), with the SSE 4.2 instruction where the CPU has it:
// the checksum covers every byte sent and received, and ENet's own
// byte-at-a-time CRC-32 would add a pass at well under 1 GB/s to a pipeline
// that is already CPU-bound.
#include <enet/enet.h>

#include <cstddef>
#include <cstdint>

namespace ftsync::transport::detail {

// The ENetChecksumCallback: CRC-32C over the buffers in order.
enet_uint32 ENET_CALLBACK datagram_checksum(const ENetBuffer* buffers, std::size_t count);

// CRC-32C without the CPU instruction (the fallback, and a cross-check in tests).
std::uint32_t crc32c_portable(const void* data, std::size_t size);

}  // namespace ftsync::transport::detail
