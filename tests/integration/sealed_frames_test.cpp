// Sealed frames that were tampered with, replayed or reordered, sent to a
// real `ftsync serve` by a trusted peer that runs the handshake itself and
// then seals frames by hand (research/security.md: replayed or reordered
// sealed messages, tampered ciphertext). Each must end the session before
// any file operation, and the server must keep serving others. The channel
// unit tests check the same rules on the cipher alone; this checks that the
// server applies them.
#include "integration/harness.hpp"
#include "integration/raw_session.hpp"

#include <ftsync/crypto/channel.hpp>
#include <ftsync/crypto/handshake.hpp>
#include <ftsync/crypto/keys.hpp>
#include <ftsync/session/client.hpp>
#include <ftsync/transport/host.hpp>
#include <ftsync/wire/codec.hpp>

#include <doctest/doctest.h>

#include <optional>

using namespace integ;
namespace w = ftsync::wire;
namespace crypto = ftsync::crypto;
namespace transport = ftsync::transport;

namespace {

w::message mkdir_of(std::uint32_t id, const std::string& path) { return w::mkdir_request{id, path, false, 0755, 0}; }

// The server still serves an honest client, and logged the refusal.
void server_still_serves(const pair_setup& p) {
  auto ls = p.c({"ls", "srv:/"});
  CHECK_MESSAGE(ls.exit_code == 0, describe(ls));
  CHECK_MESSAGE(contains(p.serve->log(), "auth_failed"), p.serve->log());
}

}  // namespace

TEST_CASE("a sealed frame with one flipped bit ends the session before its mkdir runs") {
  pair_setup p("tampered");
  auto peer = trusted_raw_peer(p);
  raw_session s(peer.me, peer.server, p.serve->port());
  auto frame = s.seal(mkdir_of(1, "tampered"));
  frame[frame.size() / 2] ^= 0x01;
  s.send(frame);
  CHECK(s.ended_by_server());
  CHECK_FALSE(fs::exists(p.root / "tampered"));
  server_still_serves(p);
}

TEST_CASE("a replayed sealed frame ends the session; the replayed mkdir does not run again") {
  pair_setup p("replayed");
  auto peer = trusted_raw_peer(p);
  raw_session s(peer.me, peer.server, p.serve->port());
  const auto frame = s.seal(mkdir_of(1, "once"));
  s.send(frame);
  auto ok = s.next_message();
  REQUIRE(ok.has_value());
  REQUIRE(std::holds_alternative<w::ok>(*ok));
  REQUIRE(fs::is_directory(p.root / "once"));
  // The owner removes it; a replay that ran would bring it back.
  auto rm = p.c({"rmdir", "srv:/once"});
  REQUIRE_MESSAGE(rm.exit_code == 0, describe(rm));
  s.send(frame);
  CHECK(s.ended_by_server());
  CHECK_FALSE(fs::exists(p.root / "once"));
  server_still_serves(p);
}

TEST_CASE("sealed frames delivered out of order end the session before either mkdir runs") {
  pair_setup p("reordered");
  auto peer = trusted_raw_peer(p);
  raw_session s(peer.me, peer.server, p.serve->port());
  const auto first = s.seal(mkdir_of(1, "first"));
  const auto second = s.seal(mkdir_of(2, "second"));
  s.send(second);
  CHECK(s.ended_by_server());
  CHECK_FALSE(fs::exists(p.root / "first"));
  CHECK_FALSE(fs::exists(p.root / "second"));
  server_still_serves(p);
}
