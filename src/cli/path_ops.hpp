#pragma once
// Shared by mkdir, rmdir and rm: one session, the operation applied to each
// PEER:PATH in order. Like mkdir(1) and rm(1), a failing path is reported
// and the rest still run; the exit code is that of the first failure. A
// failure of the session itself stops at once.
#include "cli/context.hpp"

#include <ftsync/ops/remote.hpp>

#include <functional>
#include <string>
#include <vector>

namespace ftsync::cli {

using path_op = std::function<status(ops::remote&, const rel_path&)>;

int run_each_path(context& ctx, const std::vector<std::string>& args, const std::string& op, const path_op& fn);

}  // namespace ftsync::cli
