#include "cli/sync_status.hpp"

#include <ftsync/crypto/hash.hpp>

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace ftsync::cli {

std::filesystem::path sync_status_dir(const paths& dirs) { return dirs.state_dir / "sync"; }

std::filesystem::path sync_status_file(const paths& dirs, const std::filesystem::path& folder,
                                       const std::string& peer_path) {
  std::error_code ec;
  const std::string key = std::filesystem::absolute(folder, ec).lexically_normal().string() + "\n" + peer_path;
  const auto h = crypto::hash_block(as_bytes(key));
  return sync_status_dir(dirs) / (to_hex(byte_view(h.data(), 8)) + ".json");
}

void write_sync_status(const std::filesystem::path& file, const nlohmann::ordered_json& j) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  const auto tmp = file.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    if (!out) return;
  }
  std::filesystem::rename(tmp, file, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

std::vector<nlohmann::ordered_json> read_sync_statuses(const paths& dirs) {
  std::vector<nlohmann::ordered_json> out;
  std::error_code ec;
  for (const auto& de : std::filesystem::directory_iterator(sync_status_dir(dirs), ec)) {
    if (de.path().extension() != ".json") continue;
    std::ifstream in(de.path());
    std::stringstream ss;
    ss << in.rdbuf();
    auto j = nlohmann::ordered_json::parse(ss.str(), nullptr, false);
    if (j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

}  // namespace ftsync::cli
