#pragma once
// Permission bits as people read them in error messages ("0644"), for the
// checks that refuse keys, trust files, config files and directories
// others can read or write.
#include <sys/types.h>

#include <cstdio>
#include <string>

namespace ftsync {

inline std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace ftsync
