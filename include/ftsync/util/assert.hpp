#pragma once
// FTSYNC_ASSERT is for invariants the program owns: it aborts, also in release
// builds. Peer input must never reach it; use peer_check-style error returns.
#include <cstdio>
#include <cstdlib>

#define FTSYNC_ASSERT(cond)                                                          \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "ftsync: bug: assertion '%s' failed at %s:%d\n", #cond, \
                   __FILE__, __LINE__);                                              \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)
