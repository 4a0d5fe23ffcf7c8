#pragma once
// Single-threaded test harness: several hosts polled in turn from one loop.
// Every wait is bounded both in iterations and in wall time.
#include <ftsync/transport/host.hpp>
#include <ftsync/util/clock.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <deque>
#include <initializer_list>
#include <memory>
#include <optional>
#include <vector>

namespace ftsync::transport::test {

using namespace std::chrono_literals;

struct node {
  std::unique_ptr<host> h;
  std::deque<event> events;

  // Takes the first event of `kind`, if any.
  std::optional<event> take(event_kind kind) {
    for (auto it = events.begin(); it != events.end(); ++it) {
      if (it->kind == kind) {
        event e = std::move(*it);
        events.erase(it);
        return e;
      }
    }
    return std::nullopt;
  }
  std::size_t count(event_kind kind) const {
    std::size_t n = 0;
    for (const auto& e : events) n += e.kind == kind;
    return n;
  }
};

// Polls each node once with `timeout` (then drains with zero timeouts, at
// most 4096 events per node per step).
inline void step(std::initializer_list<node*> nodes, std::chrono::milliseconds timeout = 1ms) {
  for (node* n : nodes) {
    auto t = timeout;
    for (int i = 0; i < 4096; ++i) {
      auto e = n->h->poll(t);
      if (!e) break;
      n->events.push_back(std::move(*e));
      t = 0ms;
    }
  }
}

// Steps until pred() holds; false when `limit` wall time or 200,000 steps pass.
template <class Pred>
bool pump_until(std::initializer_list<node*> nodes, Pred pred, std::chrono::milliseconds limit = 10s) {
  const auto deadline = mono_now() + limit;
  for (int i = 0; i < 200000; ++i) {
    if (pred()) return true;
    if (mono_now() >= deadline) return false;
    step(nodes);
  }
  return pred();
}

// Steps for a fixed wall time (to show that something does NOT happen).
inline void pump_for(std::initializer_list<node*> nodes, std::chrono::milliseconds span) {
  const auto deadline = mono_now() + span;
  for (int i = 0; i < 200000 && mono_now() < deadline; ++i) step(nodes);
}

inline host_options small_opts() {
  host_options o;
  o.max_connections = 8;
  o.connect_timeout = 3000ms;
  return o;
}

inline node make_server(const host_options& o = small_opts()) {
  auto h = host::listen(endpoint{"127.0.0.1", 0}, o);
  REQUIRE_MESSAGE(h.ok(), (h.ok() ? "" : h.err().message));
  return node{std::move(*h), {}};
}

inline node make_client(const host_options& o = small_opts()) {
  auto h = host::client(o);
  REQUIRE_MESSAGE(h.ok(), (h.ok() ? "" : h.err().message));
  return node{std::move(*h), {}};
}

inline endpoint local(const node& server) { return endpoint{"127.0.0.1", server.h->local_port()}; }

// Connects `client` to `server` and returns {client conn, server conn}.
inline std::pair<conn_id, conn_id> connect_pair(node& client, node& server,
                                                const std::optional<gate_key>& knock = std::nullopt) {
  auto cid = client.h->connect(local(server), knock);
  REQUIRE(cid.ok());
  REQUIRE(pump_until({&client, &server}, [&] {
    return client.count(event_kind::connected) == 1 && server.count(event_kind::connected) == 1;
  }));
  auto ce = client.take(event_kind::connected);
  auto se = server.take(event_kind::connected);
  CHECK(ce->conn == *cid);
  return {*cid, se->conn};
}

}  // namespace ftsync::transport::test
