#pragma once
// Forged ENet 1.3.17 datagrams for the gate and flood tests: what an
// attacker, or a client that did not knock, sends. ftsync hosts verify
// ENet's per-datagram checksum (src/transport/checksum.hpp), so a forged
// CONNECT carries a valid one, or ENet would drop it before the gate matters.
#include "transport/checksum.hpp"

#include <enet/enet.h>

#include <arpa/inet.h>

#include <cstdint>
#include <vector>

namespace ftsync::transport::test {

inline std::vector<std::uint8_t> enet_connect_datagram(std::uint32_t connect_id, std::uint32_t channels = 1) {
  struct __attribute__((packed)) wire {
    ENetProtocolHeader header;
    enet_uint32 checksum;
    ENetProtocolConnect connect;
  } d{};
  d.header.peerID = htons(static_cast<std::uint16_t>(int{ENET_PROTOCOL_MAXIMUM_PEER_ID} | int{ENET_PROTOCOL_HEADER_FLAG_SENT_TIME}));
  d.header.sentTime = htons(1234);
  d.connect.header.command =
      static_cast<enet_uint8>(int{ENET_PROTOCOL_COMMAND_CONNECT} | int{ENET_PROTOCOL_COMMAND_FLAG_ACKNOWLEDGE});
  d.connect.header.channelID = 0xFF;
  d.connect.header.reliableSequenceNumber = htons(1);
  d.connect.outgoingPeerID = htons(0);
  d.connect.incomingSessionID = 0xFF;
  d.connect.outgoingSessionID = 0xFF;
  d.connect.mtu = htonl(1400);
  d.connect.windowSize = htonl(ENET_PROTOCOL_MAXIMUM_WINDOW_SIZE);
  d.connect.channelCount = htonl(channels);
  d.connect.packetThrottleInterval = htonl(ENET_PEER_PACKET_THROTTLE_INTERVAL);
  d.connect.packetThrottleAcceleration = htonl(ENET_PEER_PACKET_THROTTLE_ACCELERATION);
  d.connect.packetThrottleDeceleration = htonl(ENET_PEER_PACKET_THROTTLE_DECELERATION);
  d.connect.connectID = connect_id;
  // ENet computes a CONNECT's checksum with 0 in the field (no peer yet,
  // so no connectID to put there), over the whole datagram.
  d.checksum = 0;
  ENetBuffer whole;
  whole.data = &d;
  whole.dataLength = sizeof d;
  d.checksum = detail::datagram_checksum(&whole, 1);
  auto* p = reinterpret_cast<const std::uint8_t*>(&d);
  return {p, p + sizeof d};
}

}  // namespace ftsync::transport::test
