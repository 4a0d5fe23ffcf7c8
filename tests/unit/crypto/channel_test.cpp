#include <ftsync/crypto/channel.hpp>
#include <ftsync/crypto/handshake.hpp>

#include "unit/crypto/test_support.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace ftsync;
using namespace ftsync::crypto;
using ftsync::crypto::test::make_identity;

namespace {

key32 random_key() {
  key32 k{};
  random_bytes(k);
  return k;
}

bytes frame_text(int i) {
  const std::string s =
      "frame number " + std::to_string(i) + std::string(static_cast<std::size_t>(i % 50), 'x');
  return bytes(s.begin(), s.end());
}

std::vector<bytes> seal_frames(sealer& s, int n) {
  std::vector<bytes> out;
  for (int i = 0; i < n; ++i) out.push_back(s.seal(frame_text(i)).value());
  return out;
}

}  // namespace

TEST_CASE("channel: many frames round trip, including empty ones") {
  REQUIRE(init().ok());
  const key32 key = random_key();
  sealer s(key, 3);
  opener o(key, 3);
  for (int i = 0; i < 2000; ++i) {
    const bytes plain = i % 100 == 0 ? bytes{} : frame_text(i);
    auto sealed = s.seal(plain);
    REQUIRE(sealed.ok());
    CHECK(sealed->size() == plain.size() + aead_tag_bytes);
    auto opened = o.open(*sealed);
    REQUIRE_MESSAGE(opened.ok(), i);
    CHECK(*opened == plain);
  }
  // seal_into gives the same frames as seal.
  sealer a(key, 9);
  sealer b(key, 9);
  bytes out;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(a.seal_into(frame_text(i), out).ok());
    CHECK(out == b.seal(frame_text(i)).value());
  }
  // The nonce is implicit: the same plaintext never seals to the same bytes.
  CHECK(a.seal(as_bytes("same")).value() != a.seal(as_bytes("same")).value());
}

TEST_CASE("channel B4: any flipped bit fails, and the opener recovers for the real frame") {
  const key32 key = random_key();
  sealer s(key, 0);
  const bytes sealed = s.seal(as_bytes("the quick brown fox")).value();
  for (std::size_t bit = 0; bit < sealed.size() * 8; ++bit) {
    opener o(key, 0);
    bytes bad = sealed;
    bad[bit / 8] ^= static_cast<byte>(1u << (bit % 8));
    CHECK_MESSAGE(o.open(bad).code() == errc::auth_failed, bit);
    // Counter not advanced on failure: the genuine frame still opens.
    CHECK(o.open(sealed).ok());
  }
  opener o(key, 0);
  CHECK(o.open({}).code() == errc::auth_failed);
  CHECK(o.open(byte_view(sealed).subspan(0, 15)).code() == errc::auth_failed);
  CHECK(o.open(byte_view(sealed).subspan(0, sealed.size() - 1)).code() == errc::auth_failed);
  CHECK(o.open(sealed).ok());
}

TEST_CASE("channel B4: duplicated, swapped and dropped frames fail at exactly that frame") {
  const key32 key = random_key();
  constexpr int n = 10;
  constexpr int k = 4;

  SUBCASE("duplicate") {
    sealer s(key, 0);
    const auto frames = seal_frames(s, n);
    opener o(key, 0);
    for (int i = 0; i <= k; ++i) REQUIRE(o.open(frames[i]).ok());
    CHECK(o.open(frames[k]).code() == errc::auth_failed);  // replay of frame k
    for (int i = 0; i <= k; ++i) CHECK(o.open(frames[i]).code() == errc::auth_failed);
    for (int i = k + 1; i < n; ++i) CHECK(o.open(frames[i]).ok());
  }
  SUBCASE("swap k and k+1") {
    sealer s(key, 0);
    const auto frames = seal_frames(s, n);
    opener o(key, 0);
    for (int i = 0; i < k; ++i) REQUIRE(o.open(frames[i]).ok());
    CHECK(o.open(frames[k + 1]).code() == errc::auth_failed);
  }
  SUBCASE("drop k") {
    sealer s(key, 0);
    const auto frames = seal_frames(s, n);
    opener o(key, 0);
    for (int i = 0; i < k; ++i) REQUIRE(o.open(frames[i]).ok());
    for (int i = k + 1; i < n; ++i) CHECK(o.open(frames[i]).code() == errc::auth_failed);
  }
}

TEST_CASE("channel: streams are separate nonce and key spaces") {
  const key32 key = random_key();
  sealer s1(key, 1);
  sealer s2(key, 2);
  const bytes f1 = s1.seal(as_bytes("hello")).value();
  const bytes f2 = s2.seal(as_bytes("hello")).value();
  CHECK(f1 != f2);
  opener o2(key, 2);
  CHECK(o2.open(f1).code() == errc::auth_failed);
  CHECK(o2.open(f2).ok());
  opener o1(key, 1);
  CHECK(o1.open(f1).ok());
  // Stream ids at the edges of the 32-bit range work too.
  sealer smax(key, 0xffffffffu);
  opener omax(key, 0xffffffffu);
  CHECK(omax.open(smax.seal(as_bytes("edge")).value()).ok());
}

TEST_CASE("channel B8: a frame reflected back to its sender does not open") {
  const identity client = make_identity();
  const identity server = make_identity();
  initiator c(client);
  responder s(server);
  auto reply = s.on_hello(c.start());
  REQUIRE(reply.ok());
  auto msg3 = c.on_reply(*reply);
  REQUIRE(msg3.ok());
  REQUIRE(s.on_auth(*msg3).ok());
  const session_keys ck = c.keys();
  const session_keys sk = s.keys();

  sealer client_out(ck.send, 0);    // c2s
  opener client_in(ck.receive, 0);  // s2c
  const bytes frame = client_out.seal(as_bytes("delete x")).value();
  CHECK(client_in.open(frame).code() == errc::auth_failed);  // reflected to the client
  opener server_in(sk.receive, 0);
  CHECK(server_in.open(frame).ok());  // the real recipient
  opener wrong_dir(sk.send, 0);
  CHECK(wrong_dir.open(frame).code() == errc::auth_failed);
}

TEST_CASE("channel: a wrong session key fails; moved channels keep their counter") {
  const key32 key = random_key();
  const key32 other = random_key();
  sealer s(key, 0);
  opener wrong(other, 0);
  const bytes f0 = s.seal(as_bytes("a")).value();
  CHECK(wrong.open(f0).code() == errc::auth_failed);

  opener o(key, 0);
  REQUIRE(o.open(f0).ok());
  sealer s_moved(std::move(s));
  opener o_moved(std::move(o));
  const bytes f1 = s_moved.seal(as_bytes("b")).value();
  CHECK(o_moved.open(f1).value() == bytes{'b'});
}
