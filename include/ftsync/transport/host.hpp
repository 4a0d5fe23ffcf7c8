#pragma once
// ENet behind a small interface: one host (UDP socket), reliable ordered
// messages per connection, and a stateless pre-authentication gate.
//
// Why a gate: ENet authenticates nothing; one forged 52-byte CONNECT holds a
// peer slot for ~30 s and makes the server send 6 replies (research/security.md
// §2.1). A listening host with a gate key drops every datagram from an
// address:port that has not first sent a valid knock (a keyed BLAKE2b MAC
// over a timestamp and nonce, key derived from the server's public key, so
// only nodes that know the server id can knock). Dropped datagrams get no
// reply and allocate nothing. A knock admits its source for 10 s; a
// connected ENet peer keeps its address admitted.
//
// Not thread-safe: one thread owns a host (ENet hosts are not thread-safe).
#include <ftsync/util/bytes.hpp>
#include <ftsync/util/limits.hpp>
#include <ftsync/util/result.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ftsync::transport {

using gate_key = std::array<byte, 32>;

struct endpoint {
  std::string host;  // name or literal; IPv6 literals without brackets
  std::uint16_t port = limits::default_port;
  std::string to_string() const;  // "host:port" or "[v6]:port"
};

// Accepts "host", "host:port", "[v6]", "[v6]:port"; the port defaults to `default_port`.
result<endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port = limits::default_port);

// Connections are numbered from 1 and never reused within a host's lifetime,
// so a stale id can never address a new peer.
using conn_id = std::uint64_t;

enum class event_kind { connected, received, disconnected };

struct event {
  event_kind kind = event_kind::received;
  conn_id conn = 0;
  bytes data;  // received only
  // disconnected only: the reason the peer gave with disconnect() (0 for
  // none, and for timeouts and resets).
  std::uint32_t reason = 0;
};

struct host_options {
  // Peer slots; each costs ENet ~1 KiB plus its queues.
  std::size_t max_connections = limits::max_sessions;
  // SO_RCVBUF/SO_SNDBUF: ENet's 256 KiB default drops datagrams once several
  // 64 KiB windows are in flight on a fast path (lab/RESULTS.md §4b).
  std::size_t socket_buffer_bytes = 4 * 1024 * 1024;
  // ENet's maximum; 3x fewer datagrams than 1400 on loopback, 717 vs 236 MB/s
  // for one peer (lab/RESULTS.md §4b).
  std::uint32_t mtu = 4096;
  // ENet maximumPacketSize / maximumWaitingData (defaults are 32 MiB each).
  // Waiting data must exceed what a peer may legitimately have in flight
  // (limits::send_window_bytes plus control traffic): ENet 1.3.17 neither
  // stores nor acknowledges a datagram past this limit, and behind a lost
  // datagram everything received waits.
  std::size_t max_packet_bytes = limits::max_frame_bytes;
  std::size_t max_waiting_bytes = limits::send_window_bytes + 8 * limits::max_frame_bytes;
  // Upper bound of ftsync's congestion window per connection (see
  // src/transport/congestion.hpp); ENet's own 64 KiB window is bypassed.
  // 32 MiB covers 160 MB/s at 100 ms RTT with a resend in the way. Also the most a peer must hold
  // behind a lost datagram (oldest unacknowledged byte to newest sent), so
  // a peer's max_waiting_bytes must exceed it.
  std::size_t max_window_bytes = limits::send_window_bytes;
  // When set on a listening host, the pre-authentication gate is active.
  std::optional<gate_key> gate;
  // How long a connect attempt may take before a disconnected event.
  std::chrono::milliseconds connect_timeout{10000};
  // ENet duplicatePeers: connections one source IP may hold (ENet's default
  // 4095 is unlimited). 16 is plenty for one machine or a NAT'd office and
  // keeps one knocking source from holding more than 1/8 of the default 128
  // slots; tests that open many connections from 127.0.0.1 may raise it.
  std::size_t max_connections_per_ip = 16;
  // Bandwidth limit of this host, in bytes per second of messages entering
  // the network, all connections together; 0 is none. Like rsync's
  // --bwlimit it paces the average rate (transport/pacer.hpp) and leaves
  // the congestion control in charge below it.
  std::uint64_t max_send_rate = 0;
};

struct host_stats {
  std::uint64_t bytes_sent = 0;       // UDP payload bytes sent (ENet headers included)
  std::uint64_t bytes_received = 0;   // UDP payload bytes received
  std::uint64_t gate_dropped = 0;     // datagrams the gate swallowed (client hosts: from non-peers)
  std::uint64_t gate_admitted = 0;    // valid knocks
  std::uint64_t fast_resends = 0;     // datagrams resent early: later ones were acknowledged
  // ENet's datagrams sent in batches: a run of equal-sized datagrams to one
  // peer leaves in one sendmsg (UDP_SEGMENT). sends < datagrams shows it works.
  std::uint64_t batched_datagrams = 0;
  std::uint64_t batched_sends = 0;
  std::uint64_t batch_send_failures = 0;  // refused by the kernel (lost; ENet resends)
  // Datagrams ENet read from runs the kernel coalesced (UDP_GRO), and the
  // reads that fetched them; reads < datagrams shows coalescing works.
  std::uint64_t batched_receive_datagrams = 0;
  std::uint64_t batched_receive_reads = 0;
  bool socket_hooks_active = false;  // libenet calls ftsync's enet_socket_* (batching possible at all)
};

class host {
 public:
  // Binds `where` (port 0 picks a free port, see local_port()).
  static result<std::unique_ptr<host>> listen(const endpoint& where, const host_options& opts);
  // An unbound client host (ephemeral port), able to hold several connections.
  static result<std::unique_ptr<host>> client(const host_options& opts);
  ~host();
  host(const host&) = delete;
  host& operator=(const host&) = delete;

  // Starts a connection; a `connected` or `disconnected` event follows. With
  // a gate key, knocks are sent from this host's socket first and repeated
  // every 500 ms until connected.
  result<conn_id> connect(const endpoint& to, const std::optional<gate_key>& knock);

  // Queues one reliable, ordered message; it enters ENet when the
  // connection's congestion window has room. errc::disconnected for a dead
  // id or one not yet connected, errc::too_large above max_packet_bytes.
  status send(conn_id conn, byte_view data);

  // A bandwidth limit for one connection (bytes/s, 0 removes it), on top
  // of max_send_rate: a client asks the server to send its session's data
  // no faster than its own --bwlimit.
  void limit_send_rate(conn_id conn, std::uint64_t bytes_per_s);

  // Bytes given to send() on `conn` and not yet acknowledged by the peer.
  std::size_t queued_bytes(conn_id conn) const;
  // Messages given to send() on `conn` and not yet acknowledged: many small
  // ones cost far more memory than their bytes say.
  std::size_t queued_messages(conn_id conn) const;

  // How long since the peer last acknowledged anything (ENet pings an idle
  // peer every 500 ms, so this stays short while the peer services its
  // socket, even when it sends nothing). Very large for a dead id.
  std::chrono::milliseconds silence(conn_id conn) const;

  // Services the socket for at most `timeout` and returns one event, or
  // nothing when the time ran out. A zero timeout only polls.
  std::optional<event> poll(std::chrono::milliseconds timeout);

  // Sends queued datagrams now.
  void flush();

  // Services the socket without delivering anything: acknowledgements,
  // pings and resends go out, and whatever arrives is held for the next
  // poll(). For long work on the polling thread (hashing a large file):
  // a peer that hears nothing for 30 s drops the connection.
  void keep_alive();

  // Disconnects gracefully after queued data is delivered (a disconnected
  // event follows), or at once without an event when `now`. The peer's
  // disconnected event carries `reason`.
  void disconnect(conn_id conn, bool now = false, std::uint32_t reason = 0);

  // "ip:port" of the peer, for logs; "" for an unknown id.
  std::string peer_address(conn_id conn) const;
  std::uint16_t local_port() const;
  host_stats stats() const;

 private:
  host();
  struct impl;
  std::unique_ptr<impl> m_impl;
};

}  // namespace ftsync::transport
