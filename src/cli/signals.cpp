#include "cli/signals.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstring>

namespace ftsync::cli {
namespace {

std::atomic<bool> g_stop{false};
volatile sig_atomic_t g_erase_line = 0;
volatile sig_atomic_t g_json = 0;
static_assert(std::atomic<bool>::is_always_lock_free, "the stop flag is set from a signal handler");

void write_str(int fd, const char* s) {
  const ssize_t n = ::write(fd, s, std::strlen(s));
  (void)n;  // nothing to do about a failed write in a handler
}

extern "C" void on_stop_signal(int) {
  if (g_stop.exchange(true)) ::_exit(130);
}

extern "C" void on_interrupt(int) {
  if (g_erase_line) write_str(STDERR_FILENO, "\r\033[K");
  write_str(STDERR_FILENO, "ftsync: interrupted\n");
  if (g_json)
    write_str(STDOUT_FILENO,
              "{\"event\":\"error\",\"code\":\"cancelled\",\"message\":\"interrupted\",\"remote\":false}\n");
  ::_exit(130);
}

void install(int sig, void (*handler)(int)) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking waits return EINTR and see the flag sooner
  ::sigaction(sig, &sa, nullptr);
}

}  // namespace

const std::atomic<bool>& install_stop_flag() {
  install(SIGINT, on_stop_signal);
  install(SIGTERM, on_stop_signal);
  return g_stop;
}

void install_interrupt_exit(bool erase_line, bool json) {
  g_erase_line = erase_line ? 1 : 0;
  g_json = json ? 1 : 0;
  install(SIGINT, on_interrupt);
  install(SIGTERM, on_interrupt);
}

void ignore_sigpipe() {
  struct sigaction sa {};
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGPIPE, &sa, nullptr);
}

}  // namespace ftsync::cli
