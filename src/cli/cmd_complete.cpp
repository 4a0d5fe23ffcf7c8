// ftsync __complete MODE ...: what the shell completions in completions/ ask
// the binary, so they follow the commands and flags it really has.
//   __complete commands          NAME<TAB>DESCRIPTION per visible command
//   __complete flags [CMD]       NAME<TAB>VALUE<TAB>DESCRIPTION per option name;
//                                VALUE is "-" (a flag), "dir", "file" or "text"
//   __complete args CMD          what CMD's operands are: remote, local-remote,
//                                pair-local-remote (also a [sync.NAME] name), peer, none
//   __complete peers             trusted peer names, one per line
//   __complete pairs             sync pair names of the config file, one per line
//   __complete remote PEER:PREFIX  entries of PREFIX's directory on PEER that
//                                start with its last component, as PEER:DIR/NAME,
//                                directories with a trailing '/'
// Candidates are printed raw, one per line (each shell quotes them its own
// way); names that cannot travel on one line are left out. The command is
// hidden from --help (group "") and never complains: a completion that prints
// errors into the middle of a command line is worse than none.
#include "cli/context.hpp"

#include <ftsync/crypto/keys.hpp>
#include <ftsync/ops/remote.hpp>
#include <ftsync/session/client.hpp>
#include <ftsync/session/trust.hpp>
#include <ftsync/transport/host.hpp>
#include <ftsync/util/log.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace ftsync::cli {
namespace {

// scp's completion gives up after ssh's ConnectTimeout; we wait 2 s for the
// peer and 4 s for everything (connect, handshake, stat, list) so a TAB
// never freezes the prompt for long.
constexpr std::chrono::milliseconds k_connect_timeout{2000};
constexpr unsigned k_total_timeout_s = 4;

void quiet_exit(int) { ::_exit(0); }

// Lower layers may log to stderr; the shell would print it over the prompt.
void silence_stderr() {
  const int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::dup2(fd, STDERR_FILENO);
  ::close(fd);
}

// All output goes out in one write at the end, after the deadline alarm is
// cancelled, so a timeout can never leave half a list.
void write_all(const std::string& s) {
  ::alarm(0);
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, s.data() + done, s.size() - done);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// A candidate must stay one line and harmless when a shell shows it.
bool printable_line(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

bool hidden(const CLI::App* app) { return app->get_group().empty(); }

CLI::App* find_command(CLI::App& root, const std::string& name) {
  for (auto* sub : root.get_subcommands([](CLI::App*) { return true; }))
    if (sub->get_name() == name && !hidden(sub)) return sub;
  return nullptr;
}

// Which local thing an option's value is; options whose value is free text
// (addresses, names, seconds) get no candidates.
std::string value_kind(const CLI::Option* o) {
  if (o->get_items_expected_max() == 0) return "-";  // add_flag: expected(0)
  const std::string& lname = o->get_lnames().empty() ? o->get_name() : o->get_lnames().front();
  const std::string& type = o->get_type_name();
  if (lname == "root" || type.find("DIR") != std::string::npos) return "dir";
  if (lname == "config" || type.find("FILE") != std::string::npos) return "file";
  return "text";
}

void add_flags(const CLI::App& app, std::string& out, bool with_help) {
  for (const CLI::Option* o : app.get_options([](const CLI::Option* o) { return !o->get_positional(); })) {
    if (o->get_group().empty() || (!with_help && o == app.get_help_ptr())) continue;
    const std::string kind = value_kind(o);
    std::string desc = o->get_description();
    std::replace_if(desc.begin(), desc.end(), [](char c) { return c == '\t' || c == '\n'; }, ' ');
    for (const auto& s : o->get_snames()) out += "-" + s + "\t" + kind + "\t" + desc + "\n";
    for (const auto& l : o->get_lnames()) out += "--" + l + "\t" + kind + "\t" + desc + "\n";
  }
}

// From the operands' names, which every command spells the same way:
// PEER:PATH for a remote path, LOCAL (or an operand named local) for a local
// one, PEER for a peer name.
std::string operand_kind(const CLI::App& app) {
  bool remote = false, local = false, peer = false, pair = false;
  for (const CLI::Option* o : app.get_options([](const CLI::Option* o) { return o->get_positional(); })) {
    const std::string words = o->get_name() + " " + o->get_type_name();
    remote = remote || words.find("PEER:") != std::string::npos;
    local = local || words.find("LOCAL") != std::string::npos || o->get_name() == "local";
    peer = peer || o->get_name() == "PEER";
    pair = pair || o->get_type_name().find("|NAME") != std::string::npos;
  }
  if (remote && local) return pair ? "pair-local-remote" : "local-remote";
  if (remote) return "remote";
  if (peer) return "peer";
  return "none";
}

std::string remote_candidates(const context& ctx, const std::string& arg) {
  const auto colon = arg.find(':');
  if (colon == std::string::npos) return {};
  const std::string peer_name = arg.substr(0, colon);
  const std::string typed = arg.substr(colon + 1);
  const auto slash = typed.rfind('/');
  const std::string dir_text = slash == std::string::npos ? "" : typed.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? typed : typed.substr(slash + 1);
  auto dir = rel_path::from_user(dir_text);
  if (!dir) return {};

  auto store = session::trust_store::load(ctx.dirs.peers());
  if (!store) return {};
  const auto* peer = store->find_by_name(peer_name);
  if (peer == nullptr || peer->address.empty()) return {};
  auto endpoint = transport::parse_endpoint(peer->address);
  if (!endpoint) return {};
  auto me = crypto::identity::load(ctx.dirs.identity());
  if (!me) return {};
  session::client_options opts;
  opts.connect_timeout = k_connect_timeout;
  auto client = session::client::connect(*endpoint, *me, peer->key, opts);
  if (!client) return {};
  ops::remote remote(std::move(*client));
  // list() of a file returns the file itself; only a directory has entries.
  if (!dir->is_root()) {
    auto st = remote.stat(*dir);
    if (!st || st->kind != wire::entry_kind::directory) return {};
  }
  auto entries = remote.list(*dir);
  remote.close();
  if (!entries) return {};

  std::vector<std::string> lines;
  for (const auto& e : *entries) {
    // The names come from the peer: only real single components, and dot
    // files only when asked for, as a shell completes local ones.
    if (!validate_component(e.name) || !printable_line(e.name)) continue;
    if (e.name.compare(0, base.size(), base) != 0) continue;
    if (e.name.front() == '.' && (base.empty() || base.front() != '.')) continue;
    lines.push_back(peer_name + ":" + dir_text + e.name + (e.kind == wire::entry_kind::directory ? "/" : ""));
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::string peer_names(const context& ctx) {
  auto store = session::trust_store::load(ctx.dirs.peers());
  if (!store) return {};
  std::string out;
  for (const auto& p : store->peers()) out += p.name + "\n";
  return out;
}

std::string pair_names(const context& ctx) {
  auto file = load_config(ctx.dirs.config_file(), false);
  if (!file) return {};
  // FTSYNC_* variables hold no pairs; the config file is the only source.
  std::string out;
  for (const auto& [name, pair] : file->values.sync_pairs) out += name + "\n";
  return out;
}

int run_complete(context& ctx, CLI::App& root, const std::vector<std::string>& words) {
  if (words.empty()) return exit_code::usage;
  const std::string& mode = words[0];
  const std::string arg = words.size() > 1 ? words[1] : "";
  if (mode == "commands") {
    std::string out;
    for (const auto* sub : root.get_subcommands([](CLI::App*) { return true; }))
      if (!hidden(sub)) out += sub->get_name() + "\t" + sub->get_description() + "\n";
    write_all(out);
    return exit_code::ok;
  }
  if (mode == "flags") {
    std::string out;
    if (!arg.empty()) {
      const CLI::App* sub = find_command(root, arg);
      if (sub == nullptr) return exit_code::ok;
      add_flags(*sub, out, true);
    }
    // Global flags are accepted after the command too (fallthrough).
    add_flags(root, out, arg.empty());
    write_all(out);
    return exit_code::ok;
  }
  if (mode == "args") {
    const CLI::App* sub = find_command(root, arg);
    write_all((sub == nullptr ? std::string("none") : operand_kind(*sub)) + "\n");
    return exit_code::ok;
  }
  if (mode == "peers" || mode == "remote" || mode == "pairs") {
    silence_stderr();
    ::signal(SIGALRM, quiet_exit);
    ::alarm(k_total_timeout_s);
    write_all(mode == "peers" ? peer_names(ctx) : mode == "pairs" ? pair_names(ctx) : remote_candidates(ctx, arg));
    return exit_code::ok;
  }
  return exit_code::usage;
}

}  // namespace

command make_complete(CLI::App& parent) {
  auto words = std::make_shared<std::vector<std::string>>();
  auto* app = parent.add_subcommand("__complete", "Candidates for the shell completions (internal)");
  app->group("");  // hidden from --help and from the completions themselves
  app->add_option("words", *words, "MODE [ARG]");
  CLI::App* root = &parent;
  return {app, [root, words](context& ctx) { return run_complete(ctx, *root, *words); }};
}

}  // namespace ftsync::cli
