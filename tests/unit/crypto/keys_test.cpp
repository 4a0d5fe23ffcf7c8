#include <ftsync/crypto/keys.hpp>

#include "crypto/base32.hpp"
#include "unit/crypto/test_support.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <random>
#include <set>

using namespace ftsync;
using namespace ftsync::crypto;
using ftsync::crypto::test::from_hex;
using ftsync::crypto::test::make_identity;
using ftsync::crypto::test::temp_dir;

namespace {

// RFC 8032 §7.1, TEST 1.
constexpr std::string_view k_rfc8032_seed =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view k_rfc8032_public =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr std::string_view k_rfc8032_sig_empty =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0"
    "595bbe24"
    "655141438e7a100b";
// Computed independently (Python base64.b32encode + hashlib.blake2b) from the
// key above: pubkey || BLAKE2b-256(pubkey)[0..3].
constexpr std::string_view k_rfc8032_id = "25NJQAMC-WEFLPVKL-73J4SZAH-HIHOC4XT-3KTCGJNP-AINGR5YH-KENHQSNM";

public_key rfc8032_key() {
  public_key k;
  const bytes b = from_hex(k_rfc8032_public);
  std::memcpy(k.bytes.data(), b.data(), b.size());
  return k;
}

void write_file(const std::filesystem::path& p, std::string_view content, mode_t mode) {
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << content;
  }
  REQUIRE(::chmod(p.c_str(), mode) == 0);
}

mode_t file_mode(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("base32 matches the RFC 4648 §10 vectors and is canonical") {
  const std::pair<std::string_view, std::string_view> rows[] = {
      {"", ""},
      {"f", "MY"},
      {"fo", "MZXQ"},
      {"foo", "MZXW6"},
      {"foob", "MZXW6YQ"},
      {"fooba", "MZXW6YTB"},
      {"foobar", "MZXW6YTBOI"},
  };
  for (const auto& [plain, encoded] : rows) {
    CHECK(detail::base32_encode(as_bytes(plain)) == encoded);
    auto back = detail::base32_decode(encoded);
    REQUIRE(back.ok());
    CHECK(as_chars(*back) == plain);
  }
  CHECK(as_chars(*detail::base32_decode("mzxw6ytboi")) == "foobar");
  CHECK(detail::base32_decode("MZ").code() == errc::bad_key);         // non-zero padding bit
  CHECK(detail::base32_decode("MZXW6YTBO").code() == errc::bad_key);  // 9 chars: impossible length
  CHECK(detail::base32_decode("MZXW6YT1").code() == errc::bad_key);   // '1' is not in the alphabet
  CHECK(detail::base32_decode("MZXW6YT=").code() == errc::bad_key);
}

TEST_CASE("node id: known answer and format") {
  REQUIRE(init().ok());
  const public_key k = rfc8032_key();
  const std::string id = format_id(k);
  CHECK(id == k_rfc8032_id);
  CHECK(id.size() == 56 + 6);
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i % 9 == 8) {
      CHECK(id[i] == '-');
    } else {
      CHECK(((id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '2' && id[i] <= '7')));
    }
  }
  CHECK(short_id(k) == "25NJQAMC");
}

TEST_CASE("node id: parse round trip, lower case, without dashes, with spaces") {
  for (int i = 0; i < 20; ++i) {
    const public_key k = make_identity().key();
    const std::string id = format_id(k);
    auto parsed = parse_id(id);
    REQUIRE(parsed.ok());
    CHECK(*parsed == k);

    std::string lower;
    std::string plain;
    std::string spaced;
    for (char c : id) {
      lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      if (c != '-') plain.push_back(c);
      spaced.push_back(c == '-' ? ' ' : c);
    }
    CHECK(parse_id(lower).value() == k);
    CHECK(parse_id(plain).value() == k);
    CHECK(parse_id(spaced).value() == k);
    CHECK(parse_id("  " + id + " ").value() == k);
    CHECK(short_id(k) == id.substr(0, 8));
  }
}

TEST_CASE("node id: a single changed character is caught by the checksum") {
  const std::string id(k_rfc8032_id);
  int changed = 0;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (id[i] == '-') continue;
    std::string typo = id;
    typo[i] = id[i] == 'A' ? 'B' : 'A';
    auto r = parse_id(typo);
    CHECK_MESSAGE(r.code() == errc::bad_key, typo);
    CHECK_MESSAGE(r.err().message.find("checksum mismatch") != std::string::npos, r.err().message);
    ++changed;
  }
  CHECK(changed == 56);
}

TEST_CASE("node id: wrong length and bad characters are refused with clear messages") {
  const std::string id(k_rfc8032_id);
  auto too_short = parse_id(id.substr(0, id.size() - 1));
  CHECK(too_short.code() == errc::bad_key);
  CHECK(too_short.err().message.find("55 characters") != std::string::npos);
  CHECK(parse_id(id + "A").code() == errc::bad_key);
  CHECK(parse_id("").code() == errc::bad_key);
  CHECK(parse_id("--- ---").code() == errc::bad_key);
  CHECK(parse_id(id + id).code() == errc::bad_key);
  std::string bad = id;
  bad[3] = '1';  // 0, 1, 8, 9 are not in the RFC 4648 alphabet
  auto r = parse_id(bad);
  CHECK(r.code() == errc::bad_key);
  CHECK(r.err().message.find("invalid character") != std::string::npos);
  bad[3] = '\0';
  CHECK(parse_id(bad).code() == errc::bad_key);
}

TEST_CASE("node id: random garbage never crashes the parser") {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> len_dist(0, 120);
  std::uniform_int_distribution<int> byte_dist(0, 255);
  const std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcdefghijklmnopqrstuvwxyz- ";
  std::uniform_int_distribution<std::size_t> alpha_dist(0, alphabet.size() - 1);
  int refused = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s(static_cast<std::size_t>(len_dist(rng)), '\0');
    const bool from_alphabet = i % 2 == 0;
    for (char& c : s) c = from_alphabet ? alphabet[alpha_dist(rng)] : static_cast<char>(byte_dist(rng));
    auto r = parse_id(s);
    // A random string of valid characters passes the 24-bit checksum with
    // probability 2^-24 per try, so an ok result is legal but rare.
    CHECK((r.ok() || r.code() == errc::bad_key));
    if (!r.ok()) ++refused;
  }
  CHECK(refused >= 19990);
}

TEST_CASE("sign and verify, with the RFC 8032 known answer") {
  temp_dir dir;
  const auto path = dir.path() / "key";
  // Hand-written file: comment, CRLF line ends, the RFC seed.
  write_file(path, "# a comment\r\n\r\n" + std::string(k_rfc8032_seed) + "\r\n", 0600);
  auto loaded = identity::load(path);
  REQUIRE_MESSAGE(loaded.ok(), loaded.err().message);
  CHECK(loaded->key() == rfc8032_key());
  const signature sig = loaded->sign({});
  CHECK(to_hex(sig) == k_rfc8032_sig_empty);
  CHECK(verify(loaded->key(), {}, sig));

  const identity other = make_identity();
  const bytes msg = {1, 2, 3, 4, 5};
  const signature s2 = other.sign(msg);
  CHECK(verify(other.key(), msg, s2));
  CHECK_FALSE(verify(loaded->key(), msg, s2));  // wrong signer
  bytes changed = msg;
  changed[2] ^= 1;
  CHECK_FALSE(verify(other.key(), changed, s2));
  signature bad = s2;
  bad[10] ^= 0x80;
  CHECK_FALSE(verify(other.key(), msg, bad));
  CHECK_FALSE(verify(public_key{}, msg, s2));  // all-zero key: not a valid point
}

TEST_CASE("identity: save and load round trip with mode 0600 and no temp leftovers") {
  temp_dir dir;
  const auto path = dir.path() / "identity.key";
  const identity original = make_identity();
  REQUIRE(original.save(path, false).ok());
  CHECK(file_mode(path) == 0600);

  std::ifstream in(path);
  std::string first_line;
  std::getline(in, first_line);
  CHECK(first_line.rfind("# ftsync identity", 0) == 0);

  auto loaded = identity::load(path);
  REQUIRE_MESSAGE(loaded.ok(), loaded.err().message);
  CHECK(loaded->key() == original.key());
  // Ed25519 signing is deterministic: equal signatures prove equal secrets.
  const bytes msg = {9, 8, 7};
  CHECK(loaded->sign(msg) == original.sign(msg));

  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    CHECK(e.path().filename() == "identity.key");
    ++entries;
  }
  CHECK(entries == 1);
}

TEST_CASE("identity: save refuses to replace a key unless told to") {
  temp_dir dir;
  const auto path = dir.path() / "key";
  const identity first = make_identity();
  const identity second = make_identity();
  REQUIRE(first.save(path, false).ok());
  auto again = second.save(path, false);
  CHECK(again.code() == errc::already_exists);
  CHECK(identity::load(path).value().key() == first.key());  // untouched

  REQUIRE(second.save(path, true).ok());
  CHECK(file_mode(path) == 0600);
  CHECK(identity::load(path).value().key() == second.key());

  // A dangling symlink counts as existing: save must not write through it.
  const auto link = dir.path() / "link";
  REQUIRE(::symlink((dir.path() / "target").c_str(), link.c_str()) == 0);
  CHECK(first.save(link, false).code() == errc::already_exists);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "target"));

  CHECK(first.save(dir.path() / "no-such-dir" / "key", false).code() == errc::not_found);
}

TEST_CASE("identity: load refuses key files others can read or write (B9)") {
  temp_dir dir;
  const auto path = dir.path() / "key";
  const identity id = make_identity();
  REQUIRE(id.save(path, false).ok());
  for (mode_t mode : {0644, 0640, 0604, 0660, 0620, 0602, 0610, 0601, 0666, 0777}) {
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    auto r = identity::load(path);
    CHECK_MESSAGE(r.code() == errc::unsafe_permissions, mode);
    if (!r.ok() && mode == 0644) {
      CHECK(r.err().message.find("unprotected private key file") != std::string::npos);
      CHECK(r.err().message.find("0644") != std::string::npos);
      CHECK(r.err().message.find("chmod 600 " + path.string()) != std::string::npos);
    }
  }
  for (mode_t mode : {0600, 0400, 0700}) {
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    CHECK_MESSAGE(identity::load(path).ok(), mode);
  }
}

TEST_CASE("identity: load refuses a symlinked key file even if the target is safe (B9)") {
  temp_dir dir;
  const auto target = dir.path() / "real";
  const auto link = dir.path() / "key";
  REQUIRE(make_identity().save(target, false).ok());
  REQUIRE(identity::load(target).ok());
  REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
  auto r = identity::load(link);
  CHECK(r.code() == errc::unsafe_permissions);
  CHECK(r.err().message.find("symlink") != std::string::npos);
}

TEST_CASE("identity: load refuses a key file owned by another user (B9)") {
  temp_dir dir;
  const auto path = dir.path() / "key";
  REQUIRE(make_identity().save(path, false).ok());
  if (::geteuid() == 0) {
    // Only root can give a file away; elsewhere the check cannot be staged.
    REQUIRE(::chown(path.c_str(), 4242, 4242) == 0);
    auto r = identity::load(path);
    CHECK(r.code() == errc::unsafe_permissions);
    CHECK(r.err().message.find("owned by uid 4242") != std::string::npos);
  } else {
    MESSAGE("not root: cannot stage a foreign-owned file");
    CHECK(identity::load(path).ok());
  }
}

TEST_CASE("identity: load errors for missing, odd and malformed files") {
  temp_dir dir;
  CHECK(identity::load(dir.path() / "missing").code() == errc::not_found);
  CHECK(identity::load(dir.path()).code() == errc::not_regular_file);

  const auto fifo = dir.path() / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(identity::load(fifo).code() == errc::not_regular_file);  // and does not hang

  const auto path = dir.path() / "key";
  const std::string good(k_rfc8032_seed);
  const std::string rows[] = {
      "",
      "# only a comment\n",
      good.substr(0, 62) + "\n",
      good + "00\n",
      good.substr(0, 63) + "g\n",
      "0x" + good.substr(2) + "\n",
      std::string(5000, 'a'),
  };
  for (const auto& content : rows) {
    write_file(path, content, 0600);
    CHECK_MESSAGE(identity::load(path).code() == errc::bad_key, content.substr(0, 80));
  }
}

TEST_CASE("identity: moves leave the source empty and the target working") {
  identity a = make_identity();
  const public_key key = a.key();
  identity b(std::move(a));
  CHECK(a.key() == public_key{});  // NOLINT(bugprone-use-after-move): checking the moved-from state
  CHECK(b.key() == key);
  const bytes msg = {1};
  CHECK(verify(key, msg, b.sign(msg)));

  identity c = make_identity();
  c = std::move(b);
  CHECK(b.key() == public_key{});  // NOLINT(bugprone-use-after-move)
  CHECK(c.key() == key);
  CHECK(verify(key, msg, c.sign(msg)));

  std::set<public_key> keys;
  for (int i = 0; i < 50; ++i) keys.insert(make_identity().key());
  CHECK(keys.size() == 50);
}
