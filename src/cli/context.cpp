#include "cli/context.hpp"

namespace ftsync::cli {

int context::prepare_config_dir() const {
  if (auto st = ensure_private_dir(dirs.config_dir); !st)
    return out.fail("", st.err(), exit_code::local_io);
  return exit_code::ok;
}

std::optional<settings> context::load_settings(int& exit) const {
  const bool explicit_file = !opts.config_file.empty();
  const std::filesystem::path file = explicit_file ? std::filesystem::path(opts.config_file) : dirs.config_file();
  auto cfg = load_config(file, explicit_file);
  if (!cfg) {
    exit = cfg.code() == errc::io ? exit_code::local_io : exit_code::usage;
    out.fail("", cfg.err(), exit);
    return std::nullopt;
  }
  for (const auto& w : cfg->warnings) out.warn(w);
  auto env_values = settings_from_env(env);
  if (!env_values) {
    exit = exit_code::usage;
    out.fail("", env_values.err(), exit);
    return std::nullopt;
  }
  return overlay(cfg->values, *env_values);
}

void add_bwlimit_option(CLI::App& app, std::string& text, const std::string& help) {
  app.add_option("--bwlimit", text, help)
      ->check(parsed_by(parse_rate))
      ->type_name("RATE");
}

std::optional<std::uint64_t> bwlimit_flag(const std::string& text) {
  if (text.empty()) return std::nullopt;
  auto r = parse_rate(text);
  return r ? std::optional<std::uint64_t>(*r) : std::nullopt;  // validated at parse time
}

std::string example_footer(std::initializer_list<const char*> lines) {
  std::string s = "\nExample:";
  for (const char* l : lines) {
    s += "\n  ";
    s += l;
  }
  s += "\n";
  return s;
}

}  // namespace ftsync::cli
