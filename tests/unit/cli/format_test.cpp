#include "cli/format.hpp"
#include "cli/output.hpp"
#include "cli/progress_bar.hpp"
#include "cli/transfer_report.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

using namespace ftsync::cli;
using ftsync::wire::entry_kind;

TEST_CASE("human sizes and rates") {
  CHECK(human_size(0) == "0 B");
  CHECK(human_size(1023) == "1023 B");
  CHECK(human_size(1024) == "1.0 KiB");
  CHECK(human_size(1536) == "1.5 KiB");
  CHECK(human_size(3565158) == "3.4 MiB");
  CHECK(human_size(1048575) == "1.0 MiB");  // not "1024.0 KiB"
  CHECK(human_size(5ull << 30) == "5.0 GiB");
  CHECK(human_size(UINT64_MAX) == "16.0 EiB");
  CHECK(human_rate(0) == "0 B/s");
  CHECK(human_rate(-1) == "0 B/s");
  CHECK(human_rate(6.5 * 1024 * 1024) == "6.5 MiB/s");
  CHECK(human_rate(1e300) == "16.0 EiB/s");
  CHECK(rate_of(100, 0) == 0);
  CHECK(rate_of(100, 2) == doctest::Approx(50));
  CHECK(human_seconds(0.523) == "0.52 s");
  CHECK(human_seconds(12.34) == "12.3 s");
  CHECK(human_seconds(125.4) == "125 s");
  CHECK(plural(1, "file", "files") == "1 file");
  CHECK(plural(0, "file", "files") == "0 files");
}

TEST_CASE("ETA") {
  CHECK(human_eta(0) == "0:00");
  CHECK(human_eta(6.2) == "0:07");
  CHECK(human_eta(754) == "12:34");
  CHECK(human_eta(3723) == "1:02:03");
  CHECK(human_eta(-1) == "--:--");
  CHECK(human_eta(1e9) == "--:--");
}

TEST_CASE("mode strings like ls -l") {
  CHECK(mode_string(entry_kind::directory, 0755) == "drwxr-xr-x");
  CHECK(mode_string(entry_kind::file, 0644) == "-rw-r--r--");
  CHECK(mode_string(entry_kind::file, 0) == "----------");
  CHECK(mode_string(entry_kind::symlink, 0777) == "lrwxrwxrwx");
  CHECK(mode_string(entry_kind::other, 0600) == "?rw-------");
  CHECK(mode_string(entry_kind::file, 04755) == "-rwsr-xr-x");
  CHECK(mode_string(entry_kind::file, 02644) == "-rw-r-Sr--");
  CHECK(mode_string(entry_kind::directory, 01777) == "drwxrwxrwt");
  CHECK(mode_string(entry_kind::directory, 01770) == "drwxrwx--T");
  CHECK(kind_name(entry_kind::directory) == "dir");
  CHECK(kind_name(entry_kind::file) == "file");
  CHECK(kind_name(entry_kind::symlink) == "symlink");
  CHECK(kind_name(entry_kind::other) == "other");
}

TEST_CASE("local time of an mtime") {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  CHECK(local_time(0) == "1970-01-01 00:00");
  CHECK(local_time(1700000000LL * 1000000000LL + 999999999) == "2023-11-14 22:13");
  CHECK(local_time(-1) == "1969-12-31 23:59");  // floor, not truncation toward zero
}

TEST_CASE("fitting names in columns keeps the end and never splits a code point") {
  CHECK(display_width("abc") == 3);
  CHECK(display_width("été") == 3);
  CHECK(fit_left("abcdef", 10) == "abcdef");
  CHECK(fit_left("abcdef", 4) == "\xE2\x80\xA6" "def");
  CHECK(fit_left("ééééé", 3) == "\xE2\x80\xA6" "éé");
  CHECK(display_width(fit_left("日本語のファイル名", 5)) == 5);
  CHECK(fit_left("abc", 0).empty());
}

TEST_CASE("error lines and JSON objects") {
  ftsync::error e{ftsync::errc::not_found, "no such file\x1b[2J", true};
  CHECK(error_text("ls", "laptop:/x", e) == "ftsync: ls: laptop:/x: no such file\\x1b[2J");
  CHECK(error_text("id", "", e) == "ftsync: id: no such file\\x1b[2J");
  // A message that starts with the subject's path does not repeat it.
  ftsync::error ctx{ftsync::errc::not_found, "/a b/c: cannot stat 'c'", true};
  CHECK(error_text("ls", "laptop:/a b/c", ctx) == "ftsync: ls: laptop:/a b/c: cannot stat 'c'");
  CHECK(error_text("ls", "laptop:/a", ctx) == "ftsync: ls: laptop:/a: /a b/c: cannot stat 'c'");
  const auto j = error_json(e);
  CHECK(j["event"] == "error");
  CHECK(j["code"] == "not_found");
  CHECK(j["remote"] == true);
  // Invalid UTF-8 from a peer must not throw when dumped.
  nlohmann::ordered_json bad = {{"name", std::string("\xff\xfe")}};
  CHECK_NOTHROW((void)json_line(bad));
  CHECK(json_line(bad).find('\n') == std::string::npos);
}

TEST_CASE("NO_COLOR and non-terminals turn colour off") {
  auto env_with = [](std::optional<std::string> no_color) -> env_lookup {
    return [no_color](const char* name) -> std::optional<std::string> {
      if (std::string(name) == "NO_COLOR") return no_color;
      if (std::string(name) == "TERM") return std::string("xterm");
      return std::nullopt;
    };
  };
  // A pipe is never a terminal.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  CHECK_FALSE(color_allowed(fds[1], env_with(std::nullopt)));
  ::close(fds[0]);
  ::close(fds[1]);
  // On a terminal (a pseudo-terminal made here), NO_COLOR and TERM decide.
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  REQUIRE(master >= 0);
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  const int tty = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
  REQUIRE(tty >= 0);
  CHECK(color_allowed(tty, env_with(std::nullopt)));
  CHECK(color_allowed(tty, env_with(std::string())));  // empty counts as unset
  CHECK_FALSE(color_allowed(tty, env_with(std::string("1"))));
  auto dumb = [](const char* name) -> std::optional<std::string> {
    if (std::string(name) == "TERM") return std::string("dumb");
    return std::nullopt;
  };
  CHECK_FALSE(color_allowed(tty, dumb));
  ::close(tty);
  ::close(master);
}

TEST_CASE("push/pull lines: resumed files and the summary") {
  ftsync::ops::file_event ev;
  ev.path = "dir/big.bin";
  ev.action = ftsync::ops::file_action::resumed;
  ev.size = 1000;
  ev.resumed_bytes = 600;
  CHECK(resumed_line(ev) == "resumed dir/big.bin: kept 600 of 1000 bytes already verified");
  const auto fj = file_json(ev);
  CHECK(fj["event"] == "file");
  CHECK(fj["action"] == "resumed");
  CHECK(fj["resumed_bytes"] == 600);
  CHECK(action_name(ftsync::ops::file_action::up_to_date) == "up_to_date");

  ftsync::ops::transfer_summary s;
  s.files = 12;
  s.up_to_date = 3;
  s.bytes = 3565158;
  s.seconds = 0.52;
  s.wire.wire_bytes_sent = 4000000;
  CHECK(summary_line("pushed", s) == "pushed 12 files (3 up to date), 3.4 MiB in 0.52 s, 6.5 MiB/s");
  s.up_to_date = 0;
  s.files = 1;
  CHECK(summary_line("pulled", s) == "pulled 1 file, 3.4 MiB in 0.52 s, 6.5 MiB/s");
  s.skipped = 2;
  s.resumed_bytes = 2048;
  CHECK(summary_line("pulled", s) == "pulled 1 file (2.0 KiB resumed, 2 skipped), 3.4 MiB in 0.52 s, 6.5 MiB/s");
  const auto sj = summary_json("push", s);
  for (const char* key : {"files", "dirs", "bytes", "resumed_bytes", "up_to_date", "skipped", "wire_bytes_sent",
                          "wire_bytes_received", "seconds", "rate_bytes_per_second"})
    CHECK_MESSAGE(sj.contains(key), key);
  CHECK(sj["op"] == "push");
  CHECK(sj["wire_bytes_sent"] == 4000000);
}

TEST_CASE("progress line: bar, numbers, name, within the width") {
  progress_view v;
  v.bytes_done = 512 * 1024;
  v.bytes_total = 1024 * 1024;
  v.rate = 256 * 1024;
  v.current = "photos/2026/IMG_0001.jpg";
  const std::string wide = render_progress(v, 120, false);
  CHECK(wide.find('[') == 0);
  CHECK(wide.find(" 50%") != std::string::npos);
  CHECK(wide.find("512.0 KiB/1.0 MiB") != std::string::npos);
  CHECK(wide.find("256.0 KiB/s") != std::string::npos);
  CHECK(wide.find("ETA 0:02") != std::string::npos);
  CHECK(wide.find("photos/2026/IMG_0001.jpg") != std::string::npos);
  CHECK(display_width(wide) <= 120);
  // Half the bar is filled.
  const auto open = wide.find('['), close = wide.find(']');
  const std::string bar = wide.substr(open + 1, close - open - 1);
  CHECK(std::count(bar.begin(), bar.end(), '#') == static_cast<long>(bar.size() / 2));

  // Every width from tiny to wide stays within its columns.
  for (std::size_t w = 0; w <= 140; ++w)
    CHECK_MESSAGE(display_width(render_progress(v, w, false)) <= w, w);
  // Narrow: no bar, the name shortened from the left.
  const std::string narrow = render_progress(v, 70, false);
  CHECK(narrow.find('[') == std::string::npos);
  CHECK(narrow.find("\xE2\x80\xA6") != std::string::npos);
  CHECK(narrow.find("jpg") != std::string::npos);

  // The fixed-width fields: the name starts in the same column at 1% and 99%.
  progress_view a = v, b = v;
  a.bytes_done = 10 * 1024;
  b.bytes_done = 1000 * 1024;
  const std::string la = render_progress(a, 120, false), lb = render_progress(b, 120, false);
  CHECK(la.find("photos/") == lb.find("photos/"));

  // Colour only wraps the filled part.
  CHECK(render_progress(v, 120, true).find("\033[32m#") != std::string::npos);
  CHECK(render_progress(v, 120, false).find('\033') == std::string::npos);

  // Unknown rate: no ETA; empty transfer counts as complete.
  progress_view z;
  CHECK(render_progress(z, 120, false).find("100%") != std::string::npos);
  v.rate = 0;
  CHECK(render_progress(v, 120, false).find("ETA --:--") != std::string::npos);
}

TEST_CASE("progress bar: at most 10 redraws a second, erased at the end") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  {
    progress_bar bar(f, true, false);
    ftsync::ops::progress p;
    p.bytes_total = 1000;
    const auto t0 = ftsync::mono_now();
    for (int i = 0; i < 100; ++i) {  // 100 updates over 1 s (every 10 ms)
      p.bytes_done = static_cast<std::uint64_t>(i * 10);
      bar.update(p, t0 + std::chrono::milliseconds(10 * i));
    }
    CHECK(bar.rate() == doctest::Approx(1000.0).epsilon(0.05));  // 10 bytes per 10 ms
  }
  std::rewind(f);
  std::string text;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);
  const auto draws = std::count(text.begin(), text.end(), '\r');
  CHECK(draws >= 10);   // the redraws, plus the final erase
  CHECK(draws <= 11);
  CHECK(text.size() >= 4);
  CHECK(text.substr(text.size() - 4) == "\r\033[K");  // erased on destruction

  std::FILE* g = std::tmpfile();
  REQUIRE(g != nullptr);
  {
    progress_bar off(g, false, false);
    ftsync::ops::progress p;
    off.update(p);
    off.clear();
  }
  CHECK(std::ftell(g) == 0);  // a disabled bar writes nothing
  std::fclose(g);
}
