// Many clients at once on one server (the issue: "many concurrent clients").
#include "integration/harness.hpp"

#include <doctest/doctest.h>

#include <signal.h>

using namespace integ;

TEST_CASE("eight clients push at the same time; every file arrives intact") {
  constexpr int k_clients = 8;
  temp_dir dir("concurrent");
  node srv(dir.path(), "srv");
  srv.init();
  const fs::path root = dir / "root";
  fs::create_directories(root);
  server serve(srv, root);

  std::vector<std::unique_ptr<node>> clients;
  for (int i = 0; i < k_clients; ++i) {
    clients.push_back(std::make_unique<node>(dir.path(), "cli" + std::to_string(i)));
    clients.back()->init();
    srv.trust(*clients.back(), "cli" + std::to_string(i));
    clients.back()->trust(srv, "srv", serve.address());
    write_random_file(clients.back()->dir() / "data.bin", 2 * 1024 * 1024, 100 + i);
  }

  std::vector<std::unique_ptr<child>> procs;
  for (int i = 0; i < k_clients; ++i) {
    const auto& c = *clients[i];
    procs.push_back(std::make_unique<child>(
        std::vector<std::string>{ftsync_binary().string(), "push", (c.dir() / "data.bin").string(),
                                 "srv:/c" + std::to_string(i)},
        c.env(), c.dir() / "push.out", c.dir() / "push.err"));
  }
  for (int i = 0; i < k_clients; ++i) {
    CAPTURE(i);
    const auto st = procs[i]->wait_for(90s);
    INFO("stderr: ", read_text(clients[i]->dir() / "push.err"));
    REQUIRE_MESSAGE(st.has_value(), "client did not finish within 90 s");
    int code = 0, sig = 0;
    decode_status(*st, code, sig);
    CHECK(code == 0);
    CHECK(sig == 0);
    CHECK(same_content(clients[i]->dir() / "data.bin", root / ("c" + std::to_string(i)) / "data.bin"));
  }
  CHECK(find_partials(root).empty());
  CHECK(serve.running());
  // Each session shows in the server's log with its own peer id.
  const std::string log = serve.log();
  for (const auto& c : clients) CHECK_MESSAGE(contains(log, c->id().substr(0, 8)), log);
}

TEST_CASE("SIGINT stops a server cleanly, like SIGTERM") {
  temp_dir dir("sigint");
  node srv(dir.path(), "srv");
  srv.init();
  fs::create_directories(dir / "root");
  server serve(srv, dir / "root");
  CHECK(serve.running());
  ::kill(serve.pid(), SIGINT);
  const bool ended = wait_until([&] { return !serve.running(); }, 5s);
  CHECK_MESSAGE(ended, "serve still running 5 s after SIGINT");
  CHECK(serve.stop(1s) == 0);
}
