#pragma once
// Signal handling. Handlers only touch lock-free atomics and call
// async-signal-safe functions (write, _exit): POSIX.1-2017 2.4.3.
#include <atomic>

namespace ftsync::cli {

// For `serve`: SIGINT and SIGTERM set the returned flag, which
// session::server::run polls; a second signal while shutting down ends the
// process at once (exit 130), as an impatient user expects.
const std::atomic<bool>& install_stop_flag();

// For client commands: SIGINT/SIGTERM erase the progress line (when
// `erase_line`), print "ftsync: interrupted" (and the JSON error object when
// `json`) and exit 130. Partial files stay on disk, so a re-run resumes.
void install_interrupt_exit(bool erase_line, bool json);

// Writes to a closed pipe (`ftsync ls x: | head`) fail with EPIPE instead of
// killing the process silently.
void ignore_sigpipe();

}  // namespace ftsync::cli
