#pragma once
// Every size and count a peer can influence, in one place, each with the
// reason for its value (STYLE.md rules 6 and 8).
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace ftsync::limits {

// Transfer block: the unit of hashing, resume and wire data. 128 KiB is 32
// ENet fragments at MTU 4096: large enough that per-message costs (AEAD tag,
// msgpack header, hash) are < 0.1 %, small enough that a lost session loses
// little and a resume re-hashes at most one block of doubt.
inline constexpr std::size_t block_size = 128 * 1024;

// Largest sealed frame on the wire: one block plus headers and the AEAD tag,
// with room for a 1024-entry listing of 255-byte names (~300 KiB). ENet's own
// maximumPacketSize is set to this so larger packets never reach us.
inline constexpr std::size_t max_frame_bytes = 512 * 1024;

// Largest frame accepted before authentication. Handshake messages are < 300
// bytes; Syncthing caps its pre-auth Hello at 32,767 bytes for the same reason.
inline constexpr std::size_t max_handshake_frame_bytes = 4096;

// msgpack decode limits (msgpack-c defaults are 2^32-1, a 5-byte input can
// ask for ~96 GiB; research/security.md §2.2).
inline constexpr std::size_t max_msgpack_depth = 8;
inline constexpr std::size_t max_msgpack_array = 4096;
inline constexpr std::size_t max_msgpack_map = 64;
inline constexpr std::size_t max_msgpack_str = 4096;  // PATH_MAX
inline constexpr std::size_t max_msgpack_bin = block_size + 1024;

// Directory listing entries per reply; a larger directory is paged.
inline constexpr std::size_t max_list_entries = 1024;

// Linux NAME_MAX and PATH_MAX.
inline constexpr std::size_t max_name_bytes = 255;
inline constexpr std::size_t max_path_bytes = 4096;

// Files a peer may have open for transfer at once in one session; bounds the
// descriptors and temp files one peer can hold on the server.
inline constexpr std::size_t max_open_transfers = 64;

// Partial files untouched this long belong to transfers that will not come
// back (a client gone for good, a file deleted at the source): `serve` and
// `sync` remove them from their folder at start. A day, like Syncthing's
// temporaries: an interrupted transfer resumed within it keeps its data.
inline constexpr std::int64_t stale_partial_age_s = 24 * 3600;

// Unacknowledged bytes a sender keeps in flight per session, and the span
// from the oldest unacknowledged byte to the newest sent (what a receiver may
// have to hold behind one lost datagram). A lost datagram holds the span for
// two round trips or more (sent, found missing, resent), so at 100 ms RTT
// 16 MiB capped a push near 60 MB/s and was the limit for much of a 256 MiB
// push at 1 % loss; 32 MiB keeps the client under 64 MiB of memory.
inline constexpr std::size_t send_window_bytes = 32 * 1024 * 1024;

// Sessions one server holds at once (authenticated or in handshake).
inline constexpr std::size_t max_sessions = 128;
// Replies a session may have waiting for its peer to take them. A client
// reads as it asks (a pull keeps at most send_window_bytes of blocks asked
// for; a tree push 32 files in flight), so more means a peer that sends
// requests and never acknowledges the answers: without a bound every
// request left one more reply queued (research/security.md C5). 16,384
// small replies are a few MiB.
inline constexpr std::size_t max_unread_replies = 16384;
inline constexpr std::size_t max_unread_reply_bytes = 4 * send_window_bytes;

// Handshake must finish within this time or the connection is dropped
// (OpenSSH LoginGraceTime, Syncthing's 20 s Hello deadline; 5 s is ~50 RTTs
// of a 100 ms link).
inline constexpr std::chrono::milliseconds handshake_timeout{5000};

// Default idle timeout for a server session with no requests.
inline constexpr std::chrono::seconds default_idle_timeout{300};

// Client gives up on a request that gets no answer for this long, when the
// server's transport has gone quiet too...
inline constexpr std::chrono::seconds default_request_timeout{30};
// ...and after this long in any case. A server that still acknowledges our
// pings is alive but busy (flushing a large file to a slow disk, hashing a
// large new file); rsync likewise waits for a server that sends keep-alives.
inline constexpr std::chrono::seconds busy_server_patience{300};
// Transport silence that counts as "gone quiet": ten missed pings.
inline constexpr std::chrono::seconds server_silence{5};

// Default UDP port of `ftsync serve` (unassigned by IANA as of 2026).
inline constexpr std::uint16_t default_port = 47800;

}  // namespace ftsync::limits
