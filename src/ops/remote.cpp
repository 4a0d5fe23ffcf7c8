#include "ops/convert.hpp"

#include <ftsync/ops/remote.hpp>
#include <ftsync/util/clock.hpp>
#include <ftsync/util/log.hpp>

namespace ftsync::ops {

using namespace std::chrono_literals;

remote::remote(std::unique_ptr<session::client> session) : m_session(std::move(session)) {}
remote::~remote() = default;

void remote::close() { m_session->close(); }

namespace {

// Sends one request and waits for the answer that carries its id.
template <class Reply>
result<Reply> call(session::client& s, wire::message request, const std::string& context) {
  const auto id = request_id_of(request);
  FTSYNC_TRY(s.send(request));
  const auto asked = mono_now();
  while (!s.reply_overdue(asked)) {
    auto m = s.receive(200ms);
    if (!m) return std::move(m).err();
    if (!*m) continue;
    if (request_id_of(**m) != id) continue;  // a late answer to an abandoned request
    if (auto* r = std::get_if<Reply>(&**m)) return std::move(*r);
    if (auto* e = std::get_if<wire::error_reply>(&**m)) return remote_error(*e, context);
    return make_error(errc::malformed, "unexpected answer from the server");
  }
  return make_error(errc::timeout, context + ": no answer from the server");
}

}  // namespace

result<ping_result> remote::ping() {
  const auto start = mono_now();
  auto pong = call<wire::pong>(*m_session, wire::ping{m_next_id++, wall_now_ns()}, "ping");
  if (!pong) return std::move(pong).err();
  return ping_result{seconds_since(start), pong->server_time_ns, m_session->server_name()};
}

result<wire::entry> remote::stat(const rel_path& path) {
  auto r = call<wire::stat_reply>(*m_session, wire::stat_request{m_next_id++, path.str()}, "/" + path.str());
  if (!r) return std::move(r).err();
  return std::move(r->info);
}

result<std::vector<wire::entry>> remote::list(const rel_path& path) {
  auto self = stat(path);
  if (!self) return std::move(self).err();
  if (self->kind != wire::entry_kind::directory) {
    self->name = std::string(path.name());
    return std::vector<wire::entry>{*self};
  }
  std::vector<wire::entry> all;
  while (true) {
    auto page = call<wire::list_reply>(
        *m_session, wire::list_request{m_next_id++, path.str(), static_cast<std::uint32_t>(all.size())},
        "/" + path.str());
    if (!page) return std::move(page).err();
    for (auto& e : page->entries) {
      // A server's names are validated like any peer input (scp CVE-2019-6111).
      if (auto v = validate_component(e.name); !v)
        return make_error(errc::malformed, "server sent an invalid name: " + escape_for_log(e.name));
      all.push_back(std::move(e));
    }
    if (!page->more || page->entries.empty()) break;
  }
  return all;
}

status remote::make_dir(const rel_path& path, bool parents) {
  auto r = call<wire::ok>(*m_session, wire::mkdir_request{m_next_id++, path.str(), parents, 0755, 0}, "/" + path.str());
  if (!r) return std::move(r).err();
  return {};
}

status remote::remove_dir(const rel_path& path) {
  auto r = call<wire::ok>(*m_session, wire::rmdir_request{m_next_id++, path.str()}, "/" + path.str());
  if (!r) return std::move(r).err();
  return {};
}

status remote::remove(const rel_path& path, bool recursive) {
  auto r = call<wire::ok>(*m_session, wire::remove_request{m_next_id++, path.str(), recursive}, "/" + path.str());
  if (!r) return std::move(r).err();
  return {};
}

status remote::move(const rel_path& from, const rel_path& to) {
  auto r = call<wire::ok>(*m_session, wire::move_request{m_next_id++, from.str(), to.str()}, "/" + from.str());
  if (!r) return std::move(r).err();
  return {};
}

}  // namespace ftsync::ops
