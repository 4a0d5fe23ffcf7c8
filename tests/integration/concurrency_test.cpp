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

TEST_CASE("a full server tells a client so; the client gets in once a session ends") {
  pair_setup p("full");
  p.serve.reset();  // restarted with a limit of one session
  p.serve = std::make_unique<server>(p.srv, p.root, 0, std::vector<std::string>{"--max-sessions", "1"});
  p.cli.trust(p.srv, "srv", p.serve->address());
  fs::create_directories(p.dir / "folder");
  // A background sync holds the one session.
  child holder({ftsync_binary().string(), "sync", (p.dir / "folder").string(), "srv:/folder"}, p.cli.env(),
               p.dir / "holder.out", p.dir / "holder.err");
  REQUIRE_MESSAGE(wait_until([&] { return contains(p.serve->log(), "session 1 opened"); }, 15s), p.serve->log());

  auto turned = p.c({"ls", "srv:/"}, 30s);
  CHECK_MESSAGE(turned.exit_code == 3, describe(turned));
  CHECK_MESSAGE(contains(turned.err, "is full"), describe(turned));
  CHECK_MESSAGE(turned.seconds < 5, describe(turned));  // told at once, not after the 10 s connect timeout
  CHECK_MESSAGE(wait_until([&] { return contains(p.serve->log(), "turned away 1 client"); }, 5s), p.serve->log());

  holder.stop(5s);
  REQUIRE_MESSAGE(wait_until([&] { return contains(p.serve->log(), "session 1 closed"); }, 15s), p.serve->log());
  // A session that said goodbye frees its place at once, even while its
  // transport goodbye is still under way.
  auto in = p.c({"ls", "srv:/"}, 30s);
  CHECK_MESSAGE(in.exit_code == 0, describe(in));
}
