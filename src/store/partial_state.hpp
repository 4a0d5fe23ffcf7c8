#pragma once
// What a partial_file holds; shared by partial_file.cpp (open, write,
// discard) and commit_together.cpp (commit).
#include <ftsync/store/root.hpp>

#include "store/unique_fd.hpp"

#include <string>

namespace ftsync::store {

struct partial_file::state {
  unique_fd dir;   // readable (not O_PATH): fsync needs a real fd
  unique_fd file;  // O_RDWR, flock'ed for the object's lifetime
  std::string temp_name;
  std::string final_name;
  std::string shown;  // the target's rel_path, for messages
};

}  // namespace ftsync::store
