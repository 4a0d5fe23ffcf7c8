// open_read / reader: regular files only, positional reads, > 4 GiB offsets.
#include "unit/store/store_fixture.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

using ftsync::byte;
using ftsync::errc;
using ftsync::rel_path;
using ftsync::store::file_kind;
using namespace store_test;

namespace {

std::string as_string(const std::vector<byte>& b, std::size_t n) {
  return std::string(reinterpret_cast<const char*>(b.data()), n);
}

}  // namespace

TEST_CASE("open_read and read_at on a regular file") {
  temp_tree t;
  write_file(t.in_root("f.txt"), "hello, world");
  ::chmod(t.in_root("f.txt").c_str(), 0604);
  auto r = t.open_root();
  auto rd = r.open_read(rel("f.txt"));
  REQUIRE(rd.ok());
  CHECK(rd->info().name == "f.txt");
  CHECK(rd->info().size == 12);
  CHECK(rd->info().kind == file_kind::regular);
  CHECK(rd->info().mode == 0604);

  std::vector<byte> buf(5);
  auto n = rd->read_at(0, buf);
  REQUIRE(n.ok());
  CHECK(*n == 5);
  CHECK(as_string(buf, 5) == "hello");
  n = rd->read_at(7, buf);
  CHECK(*n == 5);
  CHECK(as_string(buf, 5) == "world");
  n = rd->read_at(10, buf);  // short only at end of file
  CHECK(*n == 2);
  CHECK(as_string(buf, 2) == "ld");
  n = rd->read_at(12, buf);
  CHECK(*n == 0);
  n = rd->read_at(1'000'000, buf);
  CHECK(*n == 0);
  CHECK(rd->read_at(~std::uint64_t{0}, buf).code() == errc::invalid_argument);

  // Moving keeps the fd working and leaves the source inert.
  auto moved = std::move(rd.value());
  CHECK(moved.read_at(0, buf).ok());
  CHECK(rd->read_at(0, buf).code() == errc::internal);  // NOLINT(bugprone-use-after-move)

  CHECK(r.open_read(rel("missing")).code() == errc::not_found);
  CHECK(r.open_read(rel_path{}).code() == errc::is_a_directory);
  REQUIRE(r.make_dir(rel("d"), false).ok());
  CHECK(r.open_read(rel("d")).code() == errc::is_a_directory);
}

TEST_CASE("read_at beyond 4 GiB in a sparse 5 GiB file") {
  temp_tree t;
  const std::uint64_t gib = 1ull << 30;
  {
    const int fd = ::open(t.in_root("big").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, static_cast<off_t>(5 * gib)) == 0);
    const char marker[] = "beyond-4GiB";
    REQUIRE(::pwrite(fd, marker, sizeof marker - 1, static_cast<off_t>(4 * gib + gib / 2)) ==
            static_cast<ssize_t>(sizeof marker - 1));
    ::close(fd);
  }
  auto r = t.open_root();
  auto rd = r.open_read(rel("big"));
  REQUIRE(rd.ok());
  CHECK(rd->info().size == 5 * gib);
  std::vector<byte> buf(11);
  auto n = rd->read_at(4 * gib + gib / 2, buf);
  REQUIRE(n.ok());
  CHECK(*n == 11);
  CHECK(as_string(buf, 11) == "beyond-4GiB");
  std::vector<byte> tail(16, 0xff);
  n = rd->read_at(5 * gib - 2, tail);
  CHECK(*n == 2);
  CHECK(tail[0] == 0);  // a hole reads as zeros
  auto list = r.list(rel_path{});
  REQUIRE(list.ok());
  CHECK((*list)[0].size == 5 * gib);
}

TEST_CASE("open_read refuses symlinks, FIFOs, sockets and devices without hanging") {
  temp_tree t;
  write_file(t.in_root("target"), "t");
  fs::create_symlink("target", t.in_root("link_in"));
  fs::create_symlink(t.outside() / "secret", t.in_root("link_out"));
  REQUIRE(::mkfifo(t.in_root("fifo").c_str(), 0644) == 0);

  const int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(sock >= 0);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  const std::string sock_path = t.in_root("sock").string();
  REQUIRE(sock_path.size() < sizeof addr.sun_path);
  std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
  REQUIRE(::bind(sock, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);

  auto r = t.open_root();
  // A symlink as the final component is "not a regular file" (documented in
  // reader.cpp), whether it points inside or outside.
  CHECK(r.open_read(rel("link_in")).code() == errc::not_regular_file);
  CHECK(r.open_read(rel("link_out")).code() == errc::not_regular_file);
  CHECK(r.open_read(rel("fifo")).code() == errc::not_regular_file);
  CHECK(r.open_read(rel("sock")).code() == errc::not_regular_file);
  CHECK(r.stat(rel("fifo"))->kind == file_kind::other);
  CHECK(r.stat(rel("sock"))->kind == file_kind::other);
  ::close(sock);

  if (::mknod(t.in_root("null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {
    CHECK(r.open_read(rel("null")).code() == errc::not_regular_file);
    CHECK(r.stat(rel("null"))->kind == file_kind::other);
  } else {
    MESSAGE("mknod of a character device failed (" << std::strerror(errno)
                                                   << "): device sub-check skipped");
  }
  t.check_outside_unchanged();
}
