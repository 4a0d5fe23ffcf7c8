#pragma once
// Private to session/: turning messages into sealed ENet payloads and back.
#include <ftsync/crypto/channel.hpp>
#include <ftsync/util/result.hpp>
#include <ftsync/wire/codec.hpp>

namespace ftsync::session {

// Reason a server gives when it drops a connection before any handshake,
// carried by ENet's DISCONNECT (transport::event::reason): a client can say
// "the server is full" instead of "no server runs there".
inline constexpr std::uint32_t k_reason_server_full = 0x66756c6c;  // "full"

// One direction pair of an open session: seals what we send, opens what we
// receive. Stream 0 is the session's single ENet connection.
class sealed_channel {
 public:
  sealed_channel(const crypto::key32& send_key, const crypto::key32& receive_key)
      : m_sealer(send_key, 0), m_opener(receive_key, 0) {}

  result<bytes> seal(const wire::message& m) {
    m_plain.clear();
    wire::encode_into(m, m_plain);
    bytes out;
    FTSYNC_TRY(m_sealer.seal_into(m_plain, out));
    return out;
  }

  // Authenticates, then decodes with the full post-handshake limits.
  result<wire::message> open(byte_view frame) {
    if (frame.size() > limits::max_frame_bytes + crypto::aead_tag_bytes)
      return make_error(errc::too_large, "sealed frame larger than the frame limit");
    auto plain = m_opener.open(frame);
    if (!plain) return std::move(plain).err();
    return wire::decode(*plain);
  }

 private:
  crypto::sealer m_sealer;
  crypto::opener m_opener;
  bytes m_plain;
};

}  // namespace ftsync::session
