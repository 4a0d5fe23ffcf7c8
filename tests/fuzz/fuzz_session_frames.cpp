// What an authenticated peer can send once the handshake is done
// (research/security.md "fuzz_session_frames"): a sequence of frames, as
// they come out of the AEAD layer, into the server's request handling,
// composed as `ftsync serve` composes it (cli/cmd_serve.cpp): sync messages
// to sync::service, everything else to ops::file_server. The crypto is
// below this line, so no null-cipher build is needed: the frames here are
// exactly what session::server hands on after a successful open().
//
// Input: [flags][u16 length, frame]... ; flags bit 0 makes the peer
// read-only, bit 1 puts the hard link into the root. Each frame goes through wire::decode with the server's limits;
// like session::server, a frame that does not decode, a handshake message,
// an error from on_message or a close() ends the session (the rest of the
// input is ignored). A fresh served folder per input (same sandbox as
// fuzz_confine: symlinks out of the root, a FIFO, a hard link to an outside
// secret).
// Invariants: nothing throws or aborts; no reply carries the outside
// secret unless it was read through the hard link placed inside the root;
// <sandbox>/outside is exactly as it was after every input; a read-only
// peer changes nothing in the root.
#include "fuzz/sandbox.hpp"

#include <ftsync/index/entry.hpp>
#include <ftsync/ops/file_server.hpp>
#include <ftsync/sync/folder.hpp>
#include <ftsync/sync/service.hpp>
#include <ftsync/util/log.hpp>
#include <ftsync/wire/codec.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

namespace {

using namespace ftsync;
using fuzz::require;

// A session that records what the handler does with it.
class recording_session final : public session::session_ref {
 public:
  explicit recording_session(bool read_only) {
    m_peer.name = "fuzzer";
    m_peer.key.bytes.fill(0x42);
    m_peer.read_only = read_only;
  }
  session::session_id id() const override { return 1; }
  const session::peer_entry& peer() const override { return m_peer; }
  const std::string& address() const override { return m_address; }
  status send(const wire::message& m) override {
    const bytes out = wire::encode(m);
    const std::string_view text(reinterpret_cast<const char*>(out.data()), out.size());
    if (text.find(fuzz::k_secret) != std::string_view::npos) leaked = true;
    sent_bytes += out.size();
    return {};
  }
  std::size_t queued_bytes() const override { return 0; }
  void keep_alive() override {}
  void close(const error&) override { closed = true; }

  bool closed = false;
  bool leaked = false;
  std::size_t sent_bytes = 0;

 private:
  session::peer_entry m_peer;
  std::string m_address = "127.0.0.1:1";
};

bool is_handshake(const wire::message& m) {
  return std::holds_alternative<wire::hello>(m) || std::holds_alternative<wire::auth>(m) ||
         std::holds_alternative<wire::hello_reply>(m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::sandbox box("session-frames");
  static const bool quiet = (log::set_level(log::level::error), true);  // a log line per refused request
  (void)quiet;
  if (size == 0) return 0;
  const bool read_only = (data[0] & 1) != 0;
  // Half the inputs without the hard link: then the secret has no way in.
  box.rebuild_root((data[0] & 2) != 0);
  const std::string root_before = read_only ? box.describe(box.root_dir) : std::string();

  {
    auto files_root = store::root::open(box.root_dir);
    require(files_root.ok());
    ops::file_server files(std::move(*files_root));
    auto folder = sync::folder::open(box.root_dir, box.base / "index.db", index::device_id{7}, false);
    require(folder.ok());
    sync::service folders(std::move(*folder), false, std::chrono::hours(1));

    recording_session s(read_only);
    files.on_open(s);
    folders.on_open(s);
    const std::uint8_t* p = data + 1;
    const std::uint8_t* end = data + size;
    for (int frames = 0; frames < 64 && end - p >= 2 && !s.closed; ++frames) {
      const std::size_t len = std::min<std::size_t>(static_cast<std::size_t>(p[0] | (p[1] << 8)),
                                                    static_cast<std::size_t>(end - p - 2));
      const byte_view frame(p + 2, len);
      p += 2 + len;
      auto m = wire::decode(frame);
      if (!m || is_handshake(*m)) break;
      if (std::holds_alternative<wire::bye>(*m) || std::holds_alternative<wire::rate_limit>(*m)) continue;
      const status st = sync::is_sync_message(*m) ? folders.on_message(s, std::move(*m))
                                                  : files.on_message(s, std::move(*m));
      if (!st) break;
    }
    const error gone{errc::disconnected, "fuzz input ended", false};
    folders.on_close(s, &gone);
    files.on_close(s, &gone);
    // A hard link placed inside the root is the operator's choice to share it.
    require(!s.leaked || box.hard_link);
  }
  require(box.describe(box.outside) == box.outside_fingerprint);
  if (read_only) require(box.describe(box.root_dir) == root_before);
  return 0;
}
