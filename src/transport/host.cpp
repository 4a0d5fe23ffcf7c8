// ENet host wrapper. ENet facts relied on here are from ENet 1.3.17's source
// (host.c, peer.c, protocol.c, packet.c) and lab/RESULTS.md §4.
#include <ftsync/transport/host.hpp>
#include <ftsync/util/assert.hpp>
#include <ftsync/util/clock.hpp>

#include "transport/address.hpp"
#include "transport/checksum.hpp"
#include "transport/congestion.hpp"
#include "transport/enet_socket_hooks.hpp"
#include "transport/gate.hpp"
#include "transport/pacer.hpp"
#include "transport/receive_batch.hpp"
#include "transport/send_batch.hpp"

#include <enet/enet.h>
#include <enet/time.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace ftsync::transport {
namespace {

using namespace std::chrono_literals;

// One reliable ordered channel: ftsync frames are self-contained and order
// matters within a session; several channels would only add head-of-line
// bookkeeping ENet does not need here.
constexpr std::size_t k_channels = 1;
constexpr enet_uint8 k_channel = 0;

// Established peers are dropped after this much unacknowledged silence.
// ENet's defaults (limit 32, minimum 5 s, maximum 30 s) drop a LAN peer after
// ~5 s because its RTO reaches 32x quickly; a sync session over Wi-Fi or a
// mobile link should survive a 10-20 s outage, so minimum = maximum = 30 s.
constexpr enet_uint32 k_peer_timeout_ms = 30000;
constexpr enet_uint32 k_peer_timeout_limit = 32;  // ENET_PEER_TIMEOUT_LIMIT
// A CONNECT that is never completed holds a peer slot until ENet gives up
// on its VERIFY_CONNECT: ~32 s with the defaults, so 1,000 knocked
// half-open CONNECTs locked new clients out for 32 s. A listener gives a
// half-open peer 3 s (ENet drops it at its next resend, 3.5 s after the
// reply; an honest client has acknowledged after one round trip, or after
// two resends on a lossy link).
constexpr enet_uint32 k_half_open_timeout_ms = 3000;

// Knocks travel as single UDP datagrams with no retransmission of their own;
// on a lossy link the first may be lost, and ENet retries CONNECT at 0.5,
// 1.5, 3.5 s..., so re-knocking every 500 ms lets a retry find the door open.
constexpr auto k_knock_interval = 500ms;

// enet_host_service runs its retransmission and ping timers only when it
// wakes up; with a long caller timeout and no incoming datagram it would
// sleep through an RTO. Waiting at most 50 ms while connections exist keeps
// resends within ~50 ms of due at <= 20 idle wake-ups per second.
constexpr auto k_max_service_wait = 50ms;
// While data waits for congestion-window space, acknowledgements that open
// the window arrive inside enet_host_service without producing an event;
// waking every millisecond lets the backlog follow them closely.
constexpr auto k_backlog_service_wait = 1ms;
// keep_alive() takes at most this many events per call; the next call (or
// poll) takes the rest, as ENet keeps them queued.
constexpr int k_keep_alive_max_events = 256;
// A retransmission timeout is at least the minimum RTT + 200 ms (Linux TCP's
// minimum RTO). With only twice the RTT, a receiver that was briefly busy
// caused 14-38% of all bytes sent to be spurious resends (bench, 1 GiB).
constexpr enet_uint32 k_min_rto_slack_ms = 200;
// The most queueing delay the timeout follows (see regulate).
constexpr double k_max_queue_rto_ms = 1000;
// Retransmission timeouts stop doubling here (see cap_rto); checked after
// every loss and at least this often.
constexpr enet_uint32 k_rto_cap_min_ms = 1000;
constexpr auto k_rto_cap_period = 250ms;

// The MTU to give ENet for datagrams of at most `datagram` bytes. ENet
// 1.3.17 packs commands into a datagram up to peer->mtu without counting
// the 4-byte checksum it then appends (it does count it when it cuts
// fragments). A datagram packed to the brim was 4,100 bytes: more than
// ENet's 4,096-byte receive buffer, so the receiver dropped it, and its
// resends, packed the same way, forever (a connection stalled for good
// with three ~1.3 KiB messages unacknowledged after 12 resends).
constexpr std::uint32_t enet_mtu(std::uint32_t datagram) { return datagram - sizeof(enet_uint32); }

void ensure_enet() {
  static std::once_flag once;
  // On Unix enet_initialize only returns 0; never deinitialised because
  // hosts may live until exit.
  std::call_once(once, [] { FTSYNC_ASSERT(enet_initialize() == 0); });
}

std::int64_t unix_seconds() noexcept { return wall_now_ns() / 1'000'000'000; }

enet_uint32 to_ms(std::chrono::milliseconds d) {
  auto c = d.count();
  if (c <= 0) return 0;
  if (c > static_cast<long long>(UINT32_MAX / 2)) return UINT32_MAX / 2;
  return static_cast<enet_uint32>(c);
}

struct conn_state {
  conn_id id = 0;
  ENetPeer* peer = nullptr;
  std::size_t queued = 0;          // given to send(), not yet acknowledged (backlog included)
  std::size_t queued_messages = 0;  // the same, counted in messages
  std::deque<ENetPacket*> backlog;  // waiting for congestion-window space, in order
  // Packets handed to ENet, oldest first, until they and all before them
  // are acknowledged. The congestion window limits unacknowledged bytes;
  // the receiver's capacity limits the span from the oldest unacknowledged
  // byte to the newest sent (TCP's receive window): the receiver holds
  // everything after a lost datagram, and ENet stops storing (and
  // acknowledging) datagrams, the lost one's resend included, once it holds
  // max_waiting_bytes. Without the span limit a resumed sync push wedged its
  // connection for good (21 MB held behind one lost datagram, 4 MiB
  // unacknowledged). Limiting the span by the congestion window instead cost
  // ~25% of loopback throughput (a stall per socket-buffer drop).
  struct entered_packet {
    std::uint64_t offset;  // entered_bytes when it entered
    bool acked;
  };
  std::deque<entered_packet> in_enet;
  std::uint64_t first_in_enet = 0;  // sequence number of in_enet.front()
  std::uint64_t entered_bytes = 0;  // bytes ever handed to ENet
  std::size_t backlog_bytes = 0;
  std::uint64_t delivered = 0;      // bytes acknowledged (packets freed while connected)
  double rtt_sample_ms = 0;         // fastest message round trip since the last regulate()
  std::uint64_t rtt_samples = 0;    // messages timed since the last regulate()
  detail::congestion_control cc;
  detail::pacer pace;               // the limit this connection's peer asked for
  std::uint64_t sent_commands = 0;  // ENet's counters reset every 10 s; ours accumulate
  std::uint64_t lost_commands = 0;
  enet_uint32 last_enet_sent = 0;
  enet_uint32 last_enet_lost = 0;
  std::uint64_t lost_at_rto_cap = 0;
  // Fast retransmit (host::impl::resend_lost): the newest message fully
  // acknowledged, by when it entered ENet.
  enet_uint32 newest_acked_entered_ms = 0;
  bool acked_mark = false;
  mono_time last_rto_cap{};
  bool connected = false;
  mono_time connect_deadline{};
  std::optional<gate_key> knock_key;
  ENetAddress remote{};
  mono_time next_knock{};
  std::string address;
};

}  // namespace

struct host::impl {
  ENetHost* enet = nullptr;
  host_options opts;
  detail::pacer host_pace;  // opts.max_send_rate, shared by all connections
  conn_id last_turn = 0;     // the connection take_turns() served last
  std::uint64_t fast_resends = 0;
  bool listening = false;
  std::uint16_t port = 0;
  conn_id next_id = 1;
  std::unordered_map<conn_id, std::unique_ptr<conn_state>> conns;
  std::vector<conn_id> connecting;  // outgoing, not yet connected (knocks, deadlines)
  std::deque<event> pending;        // events made by us, or held back by keep_alive()
  detail::admission_table admitted;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t gate_dropped = 0;
  std::uint64_t gate_admitted = 0;
  detail::send_batch_stats batched;

  // The intercept callback gets only the ENetHost*, which has no user-data
  // field in 1.3.17; the host being serviced on this thread is recorded here.
  static thread_local impl* t_servicing;

  struct packet_tag {
    impl* owner;
    conn_id conn;
    std::size_t size;
    mono_time entered;  // handed to ENet (round-trip samples)
    enet_uint32 entered_ms;  // the same on ENet's clock, which stamps sent commands
    std::uint64_t seq;  // sequence number in conn_state::in_enet, once entered
  };

  ~impl() {
    if (enet == nullptr) return;
    enet_host_flush(enet);
    // Tell established peers now rather than letting them time out in 30 s.
    // No local events: nobody polls a dying host.
    for (auto& [id, c] : conns) {
      drop_backlog(c.get());
      c->peer->data = nullptr;
      enet_peer_disconnect_now(c->peer, 0);
    }
    // Resetting peers destroys queued packets; packet_freed still finds
    // `conns` alive because members outlive this body.
    enet_host_destroy(enet);
    enet = nullptr;
  }

  void harvest_counters() noexcept {
    // ENet's counters are 32-bit and wrap after 4 GiB; move them into ours
    // after every call that may send or receive.
    bytes_sent += enet->totalSentData;
    bytes_received += enet->totalReceivedData;
    enet->totalSentData = 0;
    enet->totalReceivedData = 0;
  }

  conn_state* find(conn_id id) const {
    auto it = conns.find(id);
    return it == conns.end() ? nullptr : it->second.get();
  }

  void drop_backlog(conn_state* c) {
    // Never handed to ENet, so ENet will not free them: release them here
    // (packet_freed runs and settles `queued`).
    while (!c->backlog.empty()) {
      ENetPacket* p = c->backlog.front();
      c->backlog.pop_front();
      enet_packet_destroy(p);
    }
    c->backlog_bytes = 0;
  }

  void forget(conn_state* c) {
    drop_backlog(c);
    c->peer->data = nullptr;
    std::erase(connecting, c->id);
    conns.erase(c->id);
  }

  conn_state* add_conn(ENetPeer* peer) {
    auto c = std::make_unique<conn_state>();
    c->id = next_id++;
    c->peer = peer;
    c->remote = peer->address;
    c->address = detail::format_address(peer->address);
    peer->data = c.get();
    auto* raw = c.get();
    conns.emplace(raw->id, std::move(c));
    return raw;
  }

  // Bytes from the oldest unacknowledged packet in ENet to the newest.
  static std::uint64_t span(const conn_state& c) {
    return c.in_enet.empty() ? 0 : c.entered_bytes - c.in_enet.front().offset;
  }

  // Hands backlog packets to ENet while the congestion window has room; a
  // packet may overshoot the window by its own size, so a window smaller
  // than one message still moves data. `everything` hands over the whole
  // backlog (a graceful disconnect: ENet's "later" means after what ENet holds).
  // With a host-wide limit, callers pass max_packets = 1 and go round the
  // connections, so that one busy session cannot take all the tokens.
  std::size_t pump(conn_state& c, bool everything = false, std::size_t max_packets = SIZE_MAX) {
    const bool paced = c.pace.limited() || host_pace.limited();
    const mono_time now = paced ? mono_now() : mono_time{};
    std::size_t moved = 0;
    while (!c.backlog.empty() && moved < max_packets &&
           (everything || (c.queued - c.backlog_bytes < c.cc.window() && span(c) < opts.max_window_bytes &&
                           (!paced || (c.pace.may_send(now) && host_pace.may_send(now)))))) {
      ENetPacket* p = c.backlog.front();
      c.backlog.pop_front();
      c.backlog_bytes -= p->dataLength;
      c.pace.on_sent(p->dataLength);
      host_pace.on_sent(p->dataLength);
      auto* tag = static_cast<packet_tag*>(p->userData);
      tag->entered = mono_now();
      tag->entered_ms = enet_time_get();
      tag->seq = c.first_in_enet + c.in_enet.size();
      c.in_enet.push_back({c.entered_bytes, false});
      c.entered_bytes += p->dataLength;
      if (enet_peer_send(c.peer, k_channel, p) < 0) {
        if (p->referenceCount == 0) enet_packet_destroy(p);  // credits `queued` back
        drop_backlog(&c);  // the peer is going away; later sends report it
        return moved;
      }
      ++moved;
    }
    return moved;
  }
  std::size_t fair_share() const { return host_pace.limited() ? 1 : SIZE_MAX; }

  // Under a host-wide limit: a packet per connection per round while tokens
  // last, each pass starting after the connection served last, so that the
  // first connection in the table does not take every token.
  void take_turns() {
    std::vector<conn_state*> ready;
    for (auto& [id, c] : conns)
      if (c->connected && c->peer->state == ENET_PEER_STATE_CONNECTED && !c->backlog.empty()) ready.push_back(c.get());
    if (ready.empty()) return;
    std::sort(ready.begin(), ready.end(), [](const conn_state* a, const conn_state* b) { return a->id < b->id; });
    const auto after_last = std::find_if(ready.begin(), ready.end(), [&](const conn_state* c) { return c->id > last_turn; });
    std::rotate(ready.begin(), after_last, ready.end());
    for (std::size_t moved = 1; moved > 0;) {
      moved = 0;
      for (conn_state* c : ready) {
        if (pump(*c, false, 1) == 0) continue;
        ++moved;
        last_turn = c->id;
      }
    }
  }

  // Feeds ENet's counters to the congestion controller and applies its
  // window. ENet's own window is pinned open because ftsync decides what
  // enters it; ENet resets it on every BANDWIDTH_LIMIT command, which a
  // server sends to all peers whenever one connects.
  void regulate(conn_state& c, mono_time now) {
    ENetPeer* p = c.peer;
    p->windowSize = static_cast<enet_uint32>(opts.max_window_bytes + opts.max_packet_bytes);
    // packetsSent/packetsLost restart from 0 every ENET_PEER_PACKET_LOSS_INTERVAL.
    auto advance = [](enet_uint32 cur, enet_uint32& last) -> std::uint64_t {
      const std::uint64_t d = cur >= last ? cur - last : cur;
      last = cur;
      return d;
    };
    c.sent_commands += advance(p->packetsSent, c.last_enet_sent);
    c.lost_commands += advance(p->packetsLost, c.last_enet_lost);
    detail::congestion_sample s;
    s.now = now;
    s.rtt_ms = c.rtt_sample_ms;
    s.rtt_samples = c.rtt_samples;
    c.rtt_sample_ms = 0;
    c.rtt_samples = 0;
    s.delivered_bytes = c.delivered;
    s.sent_commands = c.sent_commands;
    s.lost_commands = c.lost_commands;
    s.window_full = !c.backlog.empty();
    c.cc.on_sample(s);
    // ENet times retransmissions (RTT + 4 x variance) from its own estimate,
    // which reads low under a large window: at 20 ms RTT 40% of all sends
    // were resends of datagrams that were not lost (919 socket-buffer drops
    // in 317k datagrams). The measured minimum RTT floors both terms, so a
    // timeout waits at least twice the path's round trip. (Not the smoothed
    // RTT: a message waiting for a resent datagram inflates it, which
    // lengthens timeouts, which inflates it more: 34 s timeouts, measured.)
    // Nor only the minimum: the window holds about two bandwidth-delay
    // products, so the RTT under load runs at about twice the minimum, and
    // at 100 ms a 300 ms timeout fired for thousands of datagrams at once
    // (6 % of all commands "lost" on a 1 % loss link). The fastest message
    // of the last round (congestion.hpp) follows the queue without the
    // resend inflation; capped so a stalled round cannot stretch it far.
    const double recent = std::min(c.cc.recent_rtt_ms(), c.cc.min_rtt_ms() + k_max_queue_rto_ms);
    const auto floor_ms = static_cast<enet_uint32>(std::max(c.cc.min_rtt_ms(), recent));
    if (p->roundTripTime < floor_ms) p->roundTripTime = floor_ms;
    if (p->roundTripTimeVariance < k_min_rto_slack_ms / 4) p->roundTripTimeVariance = k_min_rto_slack_ms / 4;
    resend_lost(c);
    if (peer_silent(*p, enet->serviceTime)) {
      probe_only(*p);
    } else if (c.lost_commands != c.lost_at_rto_cap || now - c.last_rto_cap >= k_rto_cap_period) {
      cap_rto(*p);
      c.lost_at_rto_cap = c.lost_commands;
      c.last_rto_cap = now;
    }
    if (!host_pace.limited()) pump(c);  // else regulate_all takes turns
  }

  // No acknowledgement for a whole retransmission timeout (RTT + 4 x
  // variance, at least 200 ms here) while data is in flight: the link or
  // the peer is down, not lossy (a lossy link still acknowledges what gets
  // through). Waiting for the capped timeout (1 s) instead let the whole
  // window go out twice more first: 2,543 datagrams into a 10 s blackout
  // with a 3.4 MB window.
  static bool peer_silent(const ENetPeer& p, enet_uint32 now_ms) {
    if (p.lastReceiveTime == 0 || enet_list_empty(&p.sentReliableCommands)) return false;
    return ENET_TIME_DIFFERENCE(now_ms, p.lastReceiveTime) > base_rto(p);
  }

  // Into a silent link only one datagram goes at a time: the one due first
  // is resent every capped timeout (~1 s) as a probe, every other one waits
  // as long as the peer timeout. With every timer capped (cap_rto), a 30 s
  // blackout drew ~117 resent datagrams a second (3,507: the whole window
  // each second; udp_fault_proxy, bad-link test). The probe is not backed
  // off as TCP's would be: one datagram a second is no load, and ENet ends
  // the connection after 30 s of silence anyway, so a doubling timer
  // (1, 2, 4, 8, 16 s) would turn a 16 s outage into a lost session. The
  // first acknowledgement ends the silence: cap_rto brings the held timers
  // back down and they go out at once.
  static void probe_only(ENetPeer& p) {
    ENetOutgoingCommand* probe = nullptr;
    for (ENetListIterator it = enet_list_begin(&p.sentReliableCommands); it != enet_list_end(&p.sentReliableCommands);
         it = enet_list_next(it)) {
      auto* cmd = reinterpret_cast<ENetOutgoingCommand*>(it);
      if (probe == nullptr || ENET_TIME_LESS(cmd->sentTime + cmd->roundTripTimeout,
                                             probe->sentTime + probe->roundTripTimeout))
        probe = cmd;
    }
    if (probe == nullptr) return;
    for (ENetListIterator it = enet_list_begin(&p.sentReliableCommands); it != enet_list_end(&p.sentReliableCommands);
         it = enet_list_next(it)) {
      auto* cmd = reinterpret_cast<ENetOutgoingCommand*>(it);
      if (cmd != probe && cmd->roundTripTimeout < k_peer_timeout_ms) cmd->roundTripTimeout = k_peer_timeout_ms;
    }
    probe->roundTripTimeout = std::min(probe->roundTripTimeout, rto_cap(p));
    // ENet checks timeouts from nextTimeout on, which it takes from the
    // first command in the list: here one that is held.
    const enet_uint32 due = probe->sentTime + probe->roundTripTimeout;
    if (ENET_TIME_LESS(due, p.nextTimeout)) p.nextTimeout = due;
  }

  // ENet's own retransmission timeout for a fresh command (with regulate's
  // floors applied), and the cap the doubling stops at (see cap_rto).
  static enet_uint32 base_rto(const ENetPeer& p) { return p.roundTripTime + 4 * p.roundTripTimeVariance; }
  static enet_uint32 rto_cap(const ENetPeer& p) { return std::max<enet_uint32>(k_rto_cap_min_ms, 2 * base_rto(p)); }

  // Fast retransmit. ENet resends a reliable datagram only when its timer
  // runs out (at least the minimum RTT + 200 ms here, see regulate), and
  // everything behind it waits. On loopback a receiver that stalls for a
  // moment overflows its socket buffer: 9,873 of 159k datagrams of a
  // 512 MiB push were dropped, and both ends sat idle for over half of the
  // run (2.8 s of CPU in 6-10 s). Acknowledgements come back in the order
  // datagrams arrived, so once a message that entered ENet at time T is
  // fully acknowledged, every datagram sent before T and still
  // unacknowledged was lost: it is resent now, as TCP does after three
  // duplicate ACKs. Its timer is set to 0, which makes ENet's next timeout
  // check resend it (counted as lost, so the congestion window reacts) and
  // start a fresh timer when it goes out again.
  void resend_lost(conn_state& c) {
    if (!c.acked_mark) return;
    ENetPeer* p = c.peer;
    bool forced = false;
    for (ENetListIterator it = enet_list_begin(&p->sentReliableCommands); it != enet_list_end(&p->sentReliableCommands);
         it = enet_list_next(it)) {
      auto* cmd = reinterpret_cast<ENetOutgoingCommand*>(it);
      // The list is in sending order (sentTime never decreases).
      if (!ENET_TIME_LESS(cmd->sentTime, c.newest_acked_entered_ms)) break;
      if (cmd->packet == nullptr || cmd->roundTripTimeout == 0) continue;  // ENet's own; or already due
      cmd->roundTripTimeout = 0;
      forced = true;
      ++fast_resends;
    }
    if (forced) p->nextTimeout = enet->serviceTime;
  }

  // ENet doubles a command's retransmission timeout on every loss and never
  // lowers it again: after a burst of socket-buffer drops on loopback, single
  // datagrams waited 6-25 s to be resent while everything behind them waited
  // too. Capped at max(1 s, 2 x the current base timeout), recovery takes
  // about a second; ENet still ends the connection after 30 s with no
  // acknowledgement at all.
  static void cap_rto(ENetPeer& p) {
    const enet_uint32 cap = rto_cap(p);
    auto cap_list = [cap](ENetList& list) {
      for (ENetListIterator it = enet_list_begin(&list); it != enet_list_end(&list); it = enet_list_next(it)) {
        auto* cmd = reinterpret_cast<ENetOutgoingCommand*>(it);
        if (cmd->roundTripTimeout > cap) cmd->roundTripTimeout = cap;
      }
    };
    cap_list(p.sentReliableCommands);
    cap_list(p.outgoingCommands);
    // ENet checks timeouts only from nextTimeout on (the oldest command's).
    if (!enet_list_empty(&p.sentReliableCommands)) {
      auto* oldest = reinterpret_cast<ENetOutgoingCommand*>(enet_list_begin(&p.sentReliableCommands));
      const enet_uint32 due = oldest->sentTime + oldest->roundTripTimeout;
      if (ENET_TIME_LESS(due, p.nextTimeout)) p.nextTimeout = due;
    }
  }

  // Regulates every connection; returns how soon the host must be serviced
  // again to move a backlog on (nullopt: nothing is waiting). Waiting for
  // the congestion window, 1 ms (acknowledgements open it); waiting for a
  // bandwidth limit, until the pacer has tokens again.
  std::optional<std::chrono::milliseconds> regulate_all(mono_time now) {
    std::optional<std::chrono::milliseconds> soonest;
    for (auto& [id, c] : conns) {
      if (!c->connected || c->peer->state != ENET_PEER_STATE_CONNECTED) continue;
      regulate(*c, now);
    }
    if (host_pace.limited()) take_turns();
    for (auto& [id, c] : conns) {
      if (!c->connected || c->peer->state != ENET_PEER_STATE_CONNECTED || c->backlog.empty()) continue;
      const auto paced = std::max(c->pace.wait(now), host_pace.wait(now));
      const auto wait = std::max(k_backlog_service_wait, std::chrono::ceil<std::chrono::milliseconds>(paced));
      soonest = soonest ? std::min(*soonest, wait) : wait;
    }
    return soonest;
  }

  void send_knock(conn_state& c) {
    auto k = detail::make_knock(*c.knock_key, unix_seconds());
    ENetBuffer buf;
    buf.data = k.data();
    buf.dataLength = k.size();
    // A failed send (EWOULDBLOCK, no route) is the same as a lost datagram:
    // the next re-knock or the connect deadline handles it.
    if (enet_socket_send(enet->socket, &c.remote, &buf, 1) > 0) bytes_sent += k.size();
  }

  // Peers ENet created for a CONNECT and is waiting to hear back from get
  // k_half_open_timeout_ms; translate() gives a peer that completes the
  // normal timeout.
  void shorten_half_open() {
    for (std::size_t i = 0; i < enet->peerCount; ++i) {
      ENetPeer& p = enet->peers[i];
      if (p.state == ENET_PEER_STATE_ACKNOWLEDGING_CONNECT && p.timeoutMaximum != k_half_open_timeout_ms)
        enet_peer_timeout(&p, k_peer_timeout_limit, k_half_open_timeout_ms, k_half_open_timeout_ms);
    }
  }

  // Knock resends and connect deadlines; returns the next time it must run.
  mono_time housekeeping(mono_time now) {
    mono_time next = mono_time::max();
    if (listening) shorten_half_open();
    for (std::size_t i = 0; i < connecting.size();) {
      conn_state* c = find(connecting[i]);
      if (c == nullptr || c->connected) {
        connecting.erase(connecting.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      if (now >= c->connect_deadline) {
        // enet_peer_reset sends nothing and makes no event; the event is ours.
        conn_id id = c->id;
        enet_peer_reset(c->peer);
        forget(c);
        pending.push_back(event{event_kind::disconnected, id, {}});
        continue;
      }
      if (c->knock_key && now >= c->next_knock) {
        send_knock(*c);
        c->next_knock = now + k_knock_interval;
      }
      next = std::min(next, c->connect_deadline);
      if (c->knock_key) next = std::min(next, c->next_knock);
      ++i;
    }
    return next;
  }

  std::optional<event> translate(const ENetEvent& ev) {
    auto* c = ev.peer != nullptr ? static_cast<conn_state*>(ev.peer->data) : nullptr;
    switch (ev.type) {
      case ENET_EVENT_TYPE_CONNECT:
        if (c == nullptr) c = add_conn(ev.peer);  // incoming
        c->connected = true;
        c->knock_key.reset();
        enet_peer_timeout(ev.peer, k_peer_timeout_limit, k_peer_timeout_ms, k_peer_timeout_ms);
        // ENet's throttle shrinks the 64 KiB window whenever the RTT rises
        // above its mean, which a receiver busy hashing and writing a block
        // causes on every message; the window then never reopens on
        // loopback. Keep it fully open: ftsync bounds what it queues itself.
        enet_peer_throttle_configure(ev.peer, ENET_PEER_PACKET_THROTTLE_INTERVAL, 0, 0);
        ev.peer->packetThrottle = ENET_PEER_PACKET_THROTTLE_SCALE;
        c->cc = detail::congestion_control(congestion_settings());
        return event{event_kind::connected, c->id, {}};
      case ENET_EVENT_TYPE_RECEIVE: {
        event out{event_kind::received, c != nullptr ? c->id : 0, {}};
        if (c != nullptr) out.data.assign(ev.packet->data, ev.packet->data + ev.packet->dataLength);
        enet_packet_destroy(ev.packet);
        if (c == nullptr) return std::nullopt;  // peer already forgotten by disconnect(now)
        return out;
      }
      case ENET_EVENT_TYPE_DISCONNECT: {
        if (c == nullptr) return std::nullopt;
        conn_id id = c->id;
        forget(c);
        return event{event_kind::disconnected, id, {}, ev.data};
      }
      case ENET_EVENT_TYPE_NONE:
        break;
    }
    return std::nullopt;
  }

  // ENetPacket::freeCallback: the packet was acknowledged, or dropped with
  // its peer. Looked up by id because the connection may be gone already.
  static void ENET_CALLBACK packet_freed(ENetPacket* packet) {
    auto* tag = static_cast<packet_tag*>(packet->userData);
    if (tag == nullptr) return;
    if (conn_state* c = tag->owner->find(tag->conn)) {
      c->queued -= std::min(c->queued, tag->size);
      c->queued_messages -= std::min<std::size_t>(c->queued_messages, 1);
      c->delivered += tag->size;
      if (tag->entered != mono_time{} && tag->seq - c->first_in_enet < c->in_enet.size()) {
        c->in_enet[tag->seq - c->first_in_enet].acked = true;
        while (!c->in_enet.empty() && c->in_enet.front().acked) {
          c->in_enet.pop_front();
          ++c->first_in_enet;
        }
      }
      if (tag->entered != mono_time{}) {
        if (!c->acked_mark || ENET_TIME_GREATER(tag->entered_ms, c->newest_acked_entered_ms)) {
          c->newest_acked_entered_ms = tag->entered_ms;
          c->acked_mark = true;
        }
        const double ms = std::chrono::duration<double, std::milli>(mono_now() - tag->entered).count();
        if (c->rtt_sample_ms == 0 || ms < c->rtt_sample_ms) c->rtt_sample_ms = ms;
        ++c->rtt_samples;
      }
    }
    packet->userData = nullptr;
    std::free(tag);  // also frees the payload, which lives right after the tag
  }

  // True when the datagram comes from the address of a live ENet peer.
  bool from_peer(const ENetHost* h) const noexcept {
    const ENetAddress& from = h->receivedAddress;
    auto same = [&](const ENetPeer& p) {
      return p.state != ENET_PEER_STATE_DISCONNECTED && p.address.host == from.host && p.address.port == from.port;
    };
    // Fast path: every ENet datagram but CONNECT names its target peer in
    // the low 12 bits of its first two bytes (big-endian peerID).
    if (h->receivedDataLength >= 2) {
      std::size_t id = ((std::size_t{h->receivedData[0]} << 8) | h->receivedData[1]) & 0x0FFF;
      if (id < h->peerCount && same(h->peers[id])) return true;
    }
    for (std::size_t i = 0; i < h->peerCount; ++i)
      if (same(h->peers[i])) return true;
    return false;
  }

  // Listening host with a gate: only knocks, admitted sources and live peers
  // reach ENet. Everything else is swallowed without a reply, so a spoofed
  // source can neither take a peer slot nor be used as a reflector.
  static int ENET_CALLBACK gate_intercept(ENetHost* h, ENetEvent*) {
    impl* self = t_servicing;
    FTSYNC_ASSERT(self != nullptr && self->enet == h);
    byte_view datagram(h->receivedData, h->receivedDataLength);
    auto key = detail::address_key(h->receivedAddress);
    auto now = mono_now();
    if (detail::looks_like_knock(datagram)) {
      if (detail::verify_knock(*self->opts.gate, datagram, unix_seconds())) {
        self->admitted.admit(key, now);
        ++self->gate_admitted;
      } else {
        ++self->gate_dropped;
      }
      return 1;
    }
    if (self->from_peer(h) || self->admitted.admitted(key, now)) return 0;
    ++self->gate_dropped;
    return 1;
  }

  // Client host: ENet 1.3.17 accepts CONNECT on any host, even one created
  // without an address, so a client would otherwise hand out peer slots to
  // whoever finds its ephemeral port. Only our peers' datagrams pass.
  static int ENET_CALLBACK client_intercept(ENetHost* h, ENetEvent*) {
    impl* self = t_servicing;
    FTSYNC_ASSERT(self != nullptr && self->enet == h);
    if (self->from_peer(h)) return 0;
    ++self->gate_dropped;
    return 1;
  }

  detail::congestion_config congestion_settings() const {
    detail::congestion_config cfg;
    cfg.max_window = opts.max_window_bytes;
    cfg.initial_window = std::min(cfg.initial_window, cfg.max_window);
    cfg.min_window = std::min(cfg.min_window, cfg.max_window);
    return cfg;
  }

  // Hands ENet's queued datagrams to the kernel in runs (transport/send_batch.hpp).
  void flush_batched() {
    {
      detail::send_batch batch(enet->socket, batched);
      enet_host_flush(enet);
    }
    harvest_counters();
  }

  // Also batches what ENet sends meanwhile (transport/send_batch.hpp).
  struct servicing_guard {
    impl* prev;
    detail::send_batch batch;
    explicit servicing_guard(impl* self) : prev(t_servicing), batch(self->enet->socket, self->batched) {
      t_servicing = self;
    }
    ~servicing_guard() { t_servicing = prev; }
    servicing_guard(const servicing_guard&) = delete;
    servicing_guard& operator=(const servicing_guard&) = delete;
  };
};

thread_local host::impl* host::impl::t_servicing = nullptr;

namespace {

status validate(const host_options& o) {
  auto bad = [](const char* why) { return make_error(errc::invalid_argument, why); };
  if (o.max_connections < 1 || o.max_connections >= ENET_PROTOCOL_MAXIMUM_PEER_ID)
    return bad("max_connections must be 1-4094 (ENet peer ids are 12 bits)");
  if (o.mtu < ENET_PROTOCOL_MINIMUM_MTU || o.mtu > ENET_PROTOCOL_MAXIMUM_MTU)
    return bad("mtu must be 576-4096 (ENet protocol limits)");
  if (o.socket_buffer_bytes < 64 * 1024 || o.socket_buffer_bytes > INT_MAX)
    return bad("socket_buffer_bytes must be 64 KiB - 2 GiB");
  if (o.max_packet_bytes < 1 || o.max_waiting_bytes < o.max_packet_bytes)
    return bad("max_packet_bytes must be > 0 and <= max_waiting_bytes");
  if (o.connect_timeout <= 0ms) return bad("connect_timeout must be positive");
  if (o.max_window_bytes < 64 * 1024 || o.max_window_bytes > 256 * 1024 * 1024)
    return bad("max_window_bytes must be 64 KiB - 256 MiB");
  if (o.max_connections_per_ip < 1) return bad("max_connections_per_ip must be >= 1");
  return {};
}

}  // namespace

host::host() : m_impl(std::make_unique<impl>()) {}

host::~host() = default;

namespace {

// Shared by listen() and client(): creates and configures the ENet host.
status configure(ENetHost* h, const host_options& o) {
  int buf = static_cast<int>(o.socket_buffer_bytes);
  // The kernel caps these at net.core.rmem_max/wmem_max silently; a failure
  // here means a broken socket, not a small cap.
  if (enet_socket_set_option(h->socket, ENET_SOCKOPT_RCVBUF, buf) < 0 ||
      enet_socket_set_option(h->socket, ENET_SOCKOPT_SNDBUF, buf) < 0)
    return make_error(errc::io, std::string("setsockopt SO_RCVBUF/SO_SNDBUF: ") + std::strerror(errno));
  // enet_host_create turns SO_BROADCAST on; ftsync never broadcasts.
  enet_socket_set_option(h->socket, ENET_SOCKOPT_BROADCAST, 0);
  // enet_host_create already copied the default 1400 into every peer, and
  // enet_host_connect/handle_connect use peer->mtu, so set both
  // (lab/RESULTS.md §4: setting only host->mtu has no effect).
  h->mtu = enet_mtu(o.mtu);
  for (std::size_t i = 0; i < h->peerCount; ++i) h->peers[i].mtu = h->mtu;
  h->checksum = &detail::datagram_checksum;  // transport/checksum.hpp says why
  h->maximumPacketSize = o.max_packet_bytes;
  h->maximumWaitingData = o.max_waiting_bytes;
  h->duplicatePeers = o.max_connections_per_ip;
  return {};
}

}  // namespace

result<std::unique_ptr<host>> host::listen(const endpoint& where, const host_options& opts) {
  FTSYNC_TRY(validate(opts));
  auto addr = detail::resolve(where);
  if (!addr) return std::move(addr).err();
  ensure_enet();
  std::unique_ptr<host> h(new host());
  impl& im = *h->m_impl;
  im.opts = opts;
  im.host_pace.set_rate(opts.max_send_rate, mono_now());
  im.listening = true;
  im.enet = enet_host_create(&*addr, opts.max_connections, k_channels, 0, 0);
  if (im.enet == nullptr)
    return make_error(errc::io, "cannot listen on " + where.to_string() + ": " + std::strerror(errno));
  FTSYNC_TRY(configure(im.enet, opts));
  if (opts.gate) im.enet->intercept = &impl::gate_intercept;
  ENetAddress bound{};
  if (enet_socket_get_address(im.enet->socket, &bound) < 0)
    return make_error(errc::io, std::string("getsockname: ") + std::strerror(errno));
  im.port = bound.port;
  return h;
}

result<std::unique_ptr<host>> host::client(const host_options& opts) {
  FTSYNC_TRY(validate(opts));
  ensure_enet();
  std::unique_ptr<host> h(new host());
  impl& im = *h->m_impl;
  im.opts = opts;
  im.host_pace.set_rate(opts.max_send_rate, mono_now());
  im.enet = enet_host_create(nullptr, opts.max_connections, k_channels, 0, 0);
  if (im.enet == nullptr) return make_error(errc::io, std::string("cannot create UDP socket: ") + std::strerror(errno));
  FTSYNC_TRY(configure(im.enet, opts));
  im.enet->intercept = &impl::client_intercept;
  // The ephemeral port is chosen at the first send; bind it now so
  // local_port() is meaningful and knocks and CONNECT share one source port.
  ENetAddress any{};
  any.host = ENET_HOST_ANY;
  any.port = 0;
  if (enet_socket_bind(im.enet->socket, &any) < 0)
    return make_error(errc::io, std::string("bind: ") + std::strerror(errno));
  ENetAddress bound{};
  if (enet_socket_get_address(im.enet->socket, &bound) == 0) im.port = bound.port;
  return h;
}

result<conn_id> host::connect(const endpoint& to, const std::optional<gate_key>& knock) {
  impl& im = *m_impl;
  auto addr = detail::resolve(to);
  if (!addr) return std::move(addr).err();
  if (addr->host == ENET_HOST_ANY || addr->host == ENET_HOST_BROADCAST || addr->port == 0)
    return make_error(errc::invalid_argument, "cannot connect to " + to.to_string());
  // Datagrams no larger than the route's MTU (IP + UDP headers are 28
  // bytes): 4096 on loopback, ~1472 on an Ethernet path. ENet takes the MTU
  // from the peer slot it picks, and the server agrees to the smaller one.
  if (const std::uint32_t route = detail::route_mtu(*addr); route > 28) {
    const auto mtu = std::clamp<std::uint32_t>(enet_mtu(route - 28), ENET_PROTOCOL_MINIMUM_MTU, enet_mtu(im.opts.mtu));
    for (std::size_t i = 0; i < im.enet->peerCount; ++i)
      if (im.enet->peers[i].state == ENET_PEER_STATE_DISCONNECTED) im.enet->peers[i].mtu = mtu;
  }
  ENetPeer* peer = enet_host_connect(im.enet, &*addr, k_channels, 0);
  if (peer == nullptr) return make_error(errc::busy, "no free connection slot on this host");
  // ENet would give up on its own only at a retransmission boundary (0.5,
  // 1.5, 3.5, 7.5, 15.5 s...); housekeeping() enforces the exact deadline.
  enet_peer_timeout(peer, k_peer_timeout_limit, to_ms(im.opts.connect_timeout), to_ms(im.opts.connect_timeout));
  conn_state* c = im.add_conn(peer);
  auto now = mono_now();
  c->connect_deadline = now + im.opts.connect_timeout;
  im.connecting.push_back(c->id);
  if (knock) {
    // The knock leaves now, ENet's CONNECT at the next service call: the
    // gate sees the knock first on an ordinary path.
    c->knock_key = knock;
    im.send_knock(*c);
    c->next_knock = now + k_knock_interval;
  }
  return c->id;
}

status host::send(conn_id conn, byte_view data) {
  impl& im = *m_impl;
  conn_state* c = im.find(conn);
  if (c == nullptr) return make_error(errc::disconnected, "connection " + std::to_string(conn) + " is closed");
  if (!c->connected || c->peer->state != ENET_PEER_STATE_CONNECTED)
    return make_error(errc::disconnected, "connection " + std::to_string(conn) + " is not established");
  if (data.size() > im.opts.max_packet_bytes)
    return make_error(errc::too_large, "message of " + std::to_string(data.size()) + " bytes exceeds max_packet_bytes");
  // One allocation holds the tag and the payload; ENet references the
  // payload (NO_ALLOCATE) and packet_freed releases both.
  auto* tag = static_cast<impl::packet_tag*>(std::malloc(sizeof(impl::packet_tag) + data.size()));
  if (tag == nullptr) return make_error(errc::internal, "out of memory");
  *tag = impl::packet_tag{&im, conn, data.size(), mono_time{}, 0, 0};
  auto* payload = reinterpret_cast<byte*>(tag + 1);
  if (!data.empty()) std::memcpy(payload, data.data(), data.size());
  ENetPacket* packet =
      enet_packet_create(payload, data.size(), ENET_PACKET_FLAG_RELIABLE | ENET_PACKET_FLAG_NO_ALLOCATE);
  if (packet == nullptr) {
    std::free(tag);
    return make_error(errc::internal, "out of memory");
  }
  packet->userData = tag;
  packet->freeCallback = &impl::packet_freed;
  c->queued += data.size();
  ++c->queued_messages;
  c->backlog.push_back(packet);
  c->backlog_bytes += data.size();
  im.pump(*c, false, im.fair_share());
  return {};
}

void host::limit_send_rate(conn_id conn, std::uint64_t bytes_per_s) {
  if (conn_state* c = m_impl->find(conn)) c->pace.set_rate(bytes_per_s, mono_now());
}

std::size_t host::queued_bytes(conn_id conn) const {
  conn_state* c = m_impl->find(conn);
  return c == nullptr ? 0 : c->queued;
}

std::size_t host::queued_messages(conn_id conn) const {
  conn_state* c = m_impl->find(conn);
  return c == nullptr ? 0 : c->queued_messages;
}

std::chrono::milliseconds host::silence(conn_id conn) const {
  conn_state* c = m_impl->find(conn);
  if (c == nullptr || c->peer->lastReceiveTime == 0) return std::chrono::milliseconds::max();
  const enet_uint32 now = enet_time_get();
  return std::chrono::milliseconds(ENET_TIME_DIFFERENCE(now, c->peer->lastReceiveTime));
}

std::optional<event> host::poll(std::chrono::milliseconds timeout) {
  impl& im = *m_impl;
  const mono_time deadline = mono_now() + std::max(timeout, 0ms);
  bool serviced = false;
  for (;;) {
    mono_time now = mono_now();
    mono_time next_housekeeping = im.housekeeping(now);
    if (!im.pending.empty()) {
      event e = std::move(im.pending.front());
      im.pending.pop_front();
      return e;
    }
    if (serviced && now >= deadline) return std::nullopt;
    mono_time wake = std::min(deadline, next_housekeeping);
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(std::max(wake - now, mono_clock::duration::zero()));
    if (!im.conns.empty() || im.enet->connectedPeers > 0) wait = std::min(wait, k_max_service_wait);
    if (auto soon = im.regulate_all(now)) wait = std::min(wait, *soon);
    ENetEvent ev{};
    int rc;
    {
      impl::servicing_guard guard(&im);
      rc = enet_host_service(im.enet, &ev, to_ms(wait));
    }
    serviced = true;
    im.harvest_counters();
    // rc < 0: a receive error, e.g. a datagram larger than ENet's 4096-byte
    // buffer (MSG_TRUNC), which ENet has already consumed; keep going.
    if (rc > 0) {
      // enet_host_service returns a queued event before it touches the
      // socket, so while queued events last nothing is read and no
      // acknowledgement leaves. When a resent datagram fills a gap, ENet
      // releases everything held behind it (up to the 32 MiB window) at
      // once; handling those messages took long enough that the peer timed
      // out thousands of datagrams that had arrived (lost 8 % of commands on
      // a 1 % loss link). So after each delivered message ENet also reads
      // the socket (a NULL event makes it queue what it reads rather than
      // return it) and sends the acks and our queued data.
      if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
        {
          impl::servicing_guard guard(&im);
          enet_host_service(im.enet, nullptr, 0);
        }
        im.harvest_counters();
      }
      if (auto e = im.translate(ev)) return e;
    }
  }
}

void host::keep_alive() {
  impl& im = *m_impl;
  const mono_time now = mono_now();
  im.housekeeping(now);
  im.regulate_all(now);
  // Bounded: a peer sending flat out must not keep the caller here.
  for (int i = 0; i < k_keep_alive_max_events; ++i) {
    ENetEvent ev{};
    int rc;
    {
      impl::servicing_guard guard(&im);
      rc = enet_host_service(im.enet, &ev, 0);
    }
    im.harvest_counters();
    if (rc <= 0) break;
    if (auto e = im.translate(ev)) im.pending.push_back(std::move(*e));
  }
  im.flush_batched();
}

void host::flush() { m_impl->flush_batched(); }

void host::disconnect(conn_id conn, bool now, std::uint32_t reason) {
  impl& im = *m_impl;
  conn_state* c = im.find(conn);
  if (c == nullptr) return;
  if (!now && c->connected) {
    // ENet sends DISCONNECT after the queued data; its acknowledgement (or a
    // timeout) produces the disconnected event. A second call finds the
    // peer already disconnecting and waits for the same event.
    if (c->peer->state == ENET_PEER_STATE_CONNECTED) {
      im.pump(*c, /*everything=*/true);
      enet_peer_disconnect_later(c->peer, reason);
    }
    return;
  }
  // A connection still connecting has no graceful path in ENet (it would be
  // reset silently): reset it, and make the promised event ourselves.
  enet_peer_disconnect_now(c->peer, reason);
  im.harvest_counters();
  im.forget(c);
  if (!now) im.pending.push_back(event{event_kind::disconnected, conn, {}});
}

std::string host::peer_address(conn_id conn) const {
  conn_state* c = m_impl->find(conn);
  return c == nullptr ? std::string() : c->address;
}

std::uint16_t host::local_port() const { return m_impl->port; }

host_stats host::stats() const {
  const impl& im = *m_impl;
  host_stats s;
  s.bytes_sent = im.bytes_sent + im.enet->totalSentData;
  s.bytes_received = im.bytes_received + im.enet->totalReceivedData;
  s.gate_dropped = im.gate_dropped;
  s.gate_admitted = im.gate_admitted;
  s.fast_resends = im.fast_resends;
  s.batched_datagrams = im.batched.datagrams;
  s.batched_sends = im.batched.sends;
  s.batch_send_failures = im.batched.failed;
  const auto received = detail::receive_stats(im.enet->socket);
  s.batched_receive_datagrams = received.datagrams;
  s.batched_receive_reads = received.reads;
  s.socket_hooks_active = detail::enet_socket_hooks_active();
  return s;
}

}  // namespace ftsync::transport
