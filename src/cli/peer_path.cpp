#include "cli/peer_path.hpp"

#include <ftsync/session/trust.hpp>
#include <ftsync/util/log.hpp>

namespace ftsync::cli {

std::string peer_path::display() const { return peer + ":/" + path.str(); }

result<peer_path> parse_peer_path(std::string_view arg) {
  const auto colon = arg.find(':');
  if (colon == std::string_view::npos)
    return make_error(errc::invalid_argument, "'" + escape_for_log(arg) +
                                                  "' is not PEER:PATH (for example laptop:/photos)");
  const std::string_view peer = arg.substr(0, colon);
  if (auto st = session::validate_peer_name(peer); !st)
    return make_error(errc::invalid_argument,
                      "'" + escape_for_log(arg) + "' is not PEER:PATH: " + st.err().message);
  auto path = rel_path::from_user(arg.substr(colon + 1));
  if (!path)
    return make_error(path.code(), "bad remote path '" + escape_for_log(arg) + "': " + path.err().message);
  return peer_path{std::string(peer), std::move(*path)};
}

result<std::vector<peer_path>> parse_same_peer(const std::vector<std::string>& args) {
  std::vector<peer_path> out;
  for (const auto& a : args) {
    auto p = parse_peer_path(a);
    if (!p) return std::move(p).err();
    if (!out.empty() && p->peer != out.front().peer)
      return make_error(errc::invalid_argument, "all remote paths must name the same peer ('" +
                                                    out.front().peer + "' and '" + p->peer + "')");
    out.push_back(std::move(*p));
  }
  return out;
}

}  // namespace ftsync::cli
