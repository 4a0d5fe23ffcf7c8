// ftsync keygen [--force]: create this node's identity.
#include "cli/context.hpp"

#include <ftsync/crypto/keys.hpp>
#include <ftsync/util/log.hpp>

#include <sys/stat.h>

namespace ftsync::cli {
namespace {

struct keygen_args {
  bool force = false;
};

int run_keygen(context& ctx, const keygen_args& a) {
  if (int rc = ctx.prepare_config_dir(); rc != exit_code::ok) return rc;
  const auto file = ctx.dirs.identity();
  struct stat st {};
  const bool existed = ::lstat(file.c_str(), &st) == 0;
  if (existed && !a.force)
    return ctx.out.fail("", make_error(errc::already_exists, "identity exists at " + file.string() +
                                                                 "; use --force to replace it"),
                        exit_code::local_io);
  auto id = crypto::identity::generate();
  if (!id) return ctx.out.fail("", id.err(), exit_code::internal);
  if (auto saved = id->save(file, a.force); !saved) {
    if (saved.code() == errc::already_exists)  // created by someone else meanwhile
      return ctx.out.fail("", make_error(errc::already_exists, "identity exists at " + file.string() +
                                                                   "; use --force to replace it"),
                          exit_code::local_io);
    return ctx.out.fail("", saved.err(), phase::local);
  }
  const std::string text = crypto::format_id(id->key());
  ctx.out.emit({{"event", "keygen"}, {"id", text}, {"path", file.string()}, {"replaced", existed}});
  ctx.out.line(text);
  ctx.out.note("ftsync: identity saved to " + escape_for_log(file.string()));
  if (existed)
    ctx.out.note("ftsync: the old identity is gone: peers that trusted it must trust the new id");
  return exit_code::ok;
}

}  // namespace

command make_keygen(CLI::App& parent) {
  auto args = std::make_shared<keygen_args>();
  auto* app = parent.add_subcommand("keygen", "Create this node's identity key (mode 0600) and print its id");
  app->add_flag("-f,--force", args->force, "Replace an existing identity (peers must trust the new id)");
  app->footer(example_footer({"ftsync keygen"}));
  return {app, [args](context& ctx) { return run_keygen(ctx, *args); }};
}

}  // namespace ftsync::cli
