#include <ftsync/crypto/channel.hpp>
#include <ftsync/crypto/handshake.hpp>

#include "unit/crypto/test_support.hpp"

#include <doctest/doctest.h>

#include <set>
#include <utility>

using namespace ftsync;
using namespace ftsync::crypto;
using ftsync::crypto::test::from_hex;
using ftsync::crypto::test::make_identity;

namespace {

struct transcript {
  hello msg1;
  hello_reply msg2;
  auth msg3;
  session_keys client;
  session_keys server;
  public_key client_seen_by_server;
  public_key server_seen_by_client;
};

transcript run(const identity& client_id, const identity& server_id) {
  initiator c(client_id);
  responder s(server_id);
  transcript t;
  t.msg1 = c.start();
  auto r2 = s.on_hello(t.msg1);
  REQUIRE_MESSAGE(r2.ok(), r2.err().message);
  t.msg2 = *r2;
  auto r3 = c.on_reply(t.msg2);
  REQUIRE_MESSAGE(r3.ok(), r3.err().message);
  t.msg3 = *r3;
  auto who = s.on_auth(t.msg3);
  REQUIRE_MESSAGE(who.ok(), who.err().message);
  t.client_seen_by_server = *who;
  t.server_seen_by_client = c.server_key();
  t.client = c.keys();
  t.server = s.keys();
  return t;
}

key32 k32(std::string_view hex) {
  key32 k{};
  const bytes b = from_hex(hex);
  std::copy(b.begin(), b.end(), k.begin());
  return k;
}

// The X25519 u-coordinates of small order that libsodium refuses
// (crypto_scalarmult/curve25519: points of order 1, 2, 4 and 8, some also in
// non-canonical form >= p), little-endian.
const key32 k_low_order[] = {
    k32("0000000000000000000000000000000000000000000000000000000000000000"),  // 0, order 4
    k32("0100000000000000000000000000000000000000000000000000000000000000"),  // 1, order 1
    k32("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),  // order 8
    k32("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),  // order 8
    k32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),  // p - 1, order 2
    k32("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),  // p = 0, order 4
    k32("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),  // p + 1 = 1, order 1
};

}  // namespace

TEST_CASE("handshake: both sides derive matching, direction-separated keys") {
  const identity client = make_identity();
  const identity server = make_identity();
  const transcript t = run(client, server);
  CHECK(t.client.send == t.server.receive);
  CHECK(t.client.receive == t.server.send);
  CHECK(t.client.send != t.client.receive);  // B8: no key is used in both directions
  CHECK(t.client.transcript == t.server.transcript);
  CHECK(t.client.send != key32{});
  CHECK(t.server_seen_by_client == server.key());
  CHECK(t.client_seen_by_server == client.key());
  CHECK(t.msg3.sealed.size() == 32 + 64 + 16);
  CHECK(t.msg1.version == protocol_version);
  CHECK(t.msg2.identity == server.key());

  // The keys work for a channel in both directions.
  sealer c_out(t.client.send, 0);
  opener s_in(t.server.receive, 0);
  sealer s_out(t.server.send, 0);
  opener c_in(t.client.receive, 0);
  CHECK(s_in.open(c_out.seal(as_bytes("ping")).value()).value() == bytes{'p', 'i', 'n', 'g'});
  CHECK(c_in.open(s_out.seal(as_bytes("pong")).value()).value() == bytes{'p', 'o', 'n', 'g'});
}

TEST_CASE("handshake B2: a recorded message 3 does not authenticate a new session") {
  const identity client = make_identity();
  const identity server = make_identity();
  const transcript t = run(client, server);

  // The attacker replays message 1; the new responder answers with a fresh
  // ephemeral, so the recorded message 3 was sealed under another key.
  responder fresh(server);
  auto reply = fresh.on_hello(t.msg1);
  REQUIRE(reply.ok());
  CHECK(reply->ephemeral != t.msg2.ephemeral);
  auto r = fresh.on_auth(t.msg3);
  CHECK(r.code() == errc::auth_failed);
  CHECK(fresh.keys().send != t.server.send);  // no session keys came out of it

  // The same responder does not accept message 1 twice.
  responder once(server);
  REQUIRE(once.on_hello(t.msg1).ok());
  CHECK(once.on_hello(t.msg1).code() == errc::unexpected_message);
}

TEST_CASE("handshake B2: a tampered server signature or message 3 fails") {
  const identity client = make_identity();
  const identity server = make_identity();

  SUBCASE("signature bit flipped") {
    initiator c(client);
    responder s(server);
    auto reply = s.on_hello(c.start());
    REQUIRE(reply.ok());
    hello_reply bad = *reply;
    bad.sig[5] ^= 0x01;
    CHECK(c.on_reply(bad).code() == errc::auth_failed);
    CHECK(c.on_reply(*reply).code() == errc::unexpected_message);  // a failed handshake stays failed
  }
  SUBCASE("server ephemeral swapped after signing") {
    initiator c(client);
    responder s(server);
    auto reply = s.on_hello(c.start());
    REQUIRE(reply.ok());
    hello_reply bad = *reply;
    initiator other(client);
    bad.ephemeral = other.start().ephemeral;  // a valid X25519 key, not the signed one
    CHECK(c.on_reply(bad).code() == errc::auth_failed);
  }
  SUBCASE("message 3 bit flipped, truncated or extended") {
    for (int variant = 0; variant < 3; ++variant) {
      initiator c(client);
      responder s(server);
      auto reply = s.on_hello(c.start());
      REQUIRE(reply.ok());
      auto msg3 = c.on_reply(*reply);
      REQUIRE(msg3.ok());
      auth bad = *msg3;
      if (variant == 0) bad.sealed[40] ^= 0x20;
      if (variant == 1) bad.sealed.pop_back();
      if (variant == 2) bad.sealed.push_back(0);
      const auto code = s.on_auth(bad).code();
      CHECK((variant == 0 ? code == errc::auth_failed : code == errc::malformed));
      CHECK(s.on_auth(*msg3).code() == errc::unexpected_message);
    }
  }
}

TEST_CASE("handshake: a wrong-identity signer is detected") {
  const identity client = make_identity();
  const identity server = make_identity();
  const identity mallory = make_identity();

  SUBCASE("reply claims the server's identity but Mallory signed") {
    initiator c(client);
    responder m(mallory);
    auto reply = m.on_hello(c.start());
    REQUIRE(reply.ok());
    hello_reply forged = *reply;
    forged.identity = server.key();
    CHECK(c.on_reply(forged).code() == errc::auth_failed);
  }
  SUBCASE("Mallory answers as herself: server_key() shows it, so the pin check catches it") {
    initiator c(client);
    responder m(mallory);
    auto reply = m.on_hello(c.start());
    REQUIRE(reply.ok());
    REQUIRE(c.on_reply(*reply).ok());
    CHECK(c.server_key() == mallory.key());
    CHECK(c.server_key() != server.key());
  }
  SUBCASE("a relay passing messages between two real nodes cannot read the session") {
    // Mallory relays msg1/msg2/msg3 unchanged: both ends agree, but the keys
    // come from ephemerals whose secrets Mallory never had.
    const transcript t = run(client, server);
    const transcript u = run(client, mallory);
    CHECK(u.server_seen_by_client == mallory.key());
    CHECK(u.client.send != t.client.send);
  }
}

TEST_CASE("handshake B5: 1000 handshakes between the same identities give 1000 distinct key pairs") {
  const identity client = make_identity();
  const identity server = make_identity();
  std::set<key32> keys;
  std::set<key32> transcripts;
  std::set<bytes> ciphertexts;
  for (int i = 0; i < 1000; ++i) {
    const transcript t = run(client, server);
    REQUIRE(t.client.send == t.server.receive);
    keys.insert(t.client.send);
    keys.insert(t.client.receive);
    transcripts.insert(t.client.transcript);
    // Same plaintext, same stream, first frame of each session.
    sealer s(t.client.send, 0);
    ciphertexts.insert(s.seal(as_bytes("identical plaintext")).value());
  }
  CHECK(keys.size() == 2000);
  CHECK(transcripts.size() == 1000);
  CHECK(ciphertexts.size() == 1000);
}

TEST_CASE("handshake B7: low-order ephemeral keys are refused with bad_key") {
  const identity client = make_identity();
  const identity server = make_identity();
  for (const key32& point : k_low_order) {
    for (bool high_bit : {false, true}) {
      key32 p = point;
      if (high_bit) p[31] |= 0x80;  // X25519 ignores bit 255 (RFC 7748 §5)
      CAPTURE(to_hex(p));

      // Client sends a low-order e_c: the responder refuses and keeps no keys.
      responder s(server);
      CHECK(s.on_hello(hello{protocol_version, p}).code() == errc::bad_key);
      CHECK(s.on_auth(auth{bytes(112, 0)}).code() == errc::unexpected_message);
      CHECK(s.keys().send != s.keys().send);  // only random placeholder keys

      // Server sends a low-order e_s: the initiator refuses before trusting anything.
      initiator c(client);
      responder honest(server);
      auto reply = honest.on_hello(c.start());
      REQUIRE(reply.ok());
      hello_reply bad = *reply;
      bad.ephemeral = p;
      CHECK(c.on_reply(bad).code() == errc::bad_key);
      CHECK(c.keys().send != c.keys().send);
    }
  }
}

TEST_CASE("handshake: version mismatch and out-of-order calls are errors, never aborts") {
  const identity client = make_identity();
  const identity server = make_identity();

  responder s(server);
  hello h{protocol_version + 1, {}};
  initiator c0(client);
  h.ephemeral = c0.start().ephemeral;
  const auto refused = s.on_hello(h);
  CHECK(refused.code() == errc::unsupported);
  // Both numbers, so an operator sees which side is older.
  CHECK(refused.err().message.find("version " + std::to_string(protocol_version + 1)) != std::string::npos);
  CHECK(refused.err().message.find("speaks " + std::to_string(protocol_version)) != std::string::npos);

  initiator c(client);
  responder s2(server);
  auto reply = s2.on_hello(c.start());
  REQUIRE(reply.ok());
  hello_reply newer = *reply;
  newer.version = protocol_version + 1;
  CHECK(c.on_reply(newer).code() == errc::unsupported);

  initiator not_started(client);
  CHECK(not_started.on_reply(*reply).code() == errc::unexpected_message);

  responder no_hello(server);
  CHECK(no_hello.on_auth(auth{bytes(112, 0)}).code() == errc::unexpected_message);

  // After success every further message is out of order.
  initiator c2(client);
  responder s3(server);
  const hello first = c2.start();
  CHECK(c2.start().ephemeral == first.ephemeral);  // start() is idempotent
  auto r2 = s3.on_hello(first);
  REQUIRE(r2.ok());
  auto r3 = c2.on_reply(*r2);
  REQUIRE(r3.ok());
  REQUIRE(s3.on_auth(*r3).ok());
  CHECK(c2.on_reply(*r2).code() == errc::unexpected_message);
  CHECK(s3.on_auth(*r3).code() == errc::unexpected_message);
  CHECK(s3.on_hello(first).code() == errc::unexpected_message);
  CHECK(c2.keys().send == s3.keys().receive);  // the failed extra calls did not disturb the keys
}
