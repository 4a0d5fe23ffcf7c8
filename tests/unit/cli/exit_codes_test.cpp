#include "cli/exit_codes.hpp"

#include <doctest/doctest.h>

using ftsync::errc;
using ftsync::error;
using ftsync::cli::exit_code_for;
using ftsync::cli::phase;
namespace code = ftsync::cli::exit_code;

namespace {
error local(errc c) { return error{c, "m", false}; }
error remote(errc c) { return error{c, "m", true}; }
}  // namespace

TEST_CASE("exit codes are distinct and stable") {
  CHECK(code::ok == 0);
  CHECK(code::internal == 1);
  CHECK(code::usage == 2);
  CHECK(code::connection == 3);
  CHECK(code::remote == 4);
  CHECK(code::local_io == 5);
  CHECK(code::integrity == 6);
  CHECK(code::interrupted == 130);
}

TEST_CASE("connection and authentication failures are 3 in every phase, local or remote") {
  for (errc c : {errc::connection_failed, errc::timeout, errc::disconnected, errc::untrusted_peer,
                 errc::peer_key_mismatch, errc::auth_failed, errc::bad_key, errc::busy, errc::replay}) {
    for (phase p : {phase::local, phase::connect, phase::operation}) {
      CHECK(exit_code_for(local(c), p) == code::connection);
      CHECK(exit_code_for(remote(c), p) == code::connection);
    }
  }
  // During the handshake a refusal of any kind is a connection failure.
  CHECK(exit_code_for(local(errc::unsupported), phase::connect) == code::connection);
  CHECK(exit_code_for(remote(errc::permission_denied), phase::connect) == code::connection);
  CHECK(exit_code_for(local(errc::malformed), phase::connect) == code::connection);
}

TEST_CASE("errors the peer reported are 4; the same codes locally are 5") {
  for (errc c : {errc::not_found, errc::permission_denied, errc::no_space, errc::io, errc::not_empty,
                 errc::already_exists, errc::is_a_directory, errc::not_a_directory, errc::path_escapes_root}) {
    CHECK(exit_code_for(remote(c), phase::operation) == code::remote);
    CHECK(exit_code_for(local(c), phase::operation) == code::local_io);
    CHECK(exit_code_for(local(c), phase::local) == code::local_io);
  }
  CHECK(exit_code_for(remote(errc::bad_path), phase::operation) == code::remote);
  CHECK(exit_code_for(local(errc::unsafe_permissions), phase::local) == code::local_io);
}

TEST_CASE("integrity, cancellation, usage and the rest") {
  CHECK(exit_code_for(local(errc::hash_mismatch), phase::operation) == code::integrity);
  CHECK(exit_code_for(remote(errc::hash_mismatch), phase::operation) == code::integrity);
  CHECK(exit_code_for(local(errc::cancelled), phase::operation) == code::interrupted);
  CHECK(exit_code_for(local(errc::cancelled), phase::connect) == code::interrupted);
  CHECK(exit_code_for(local(errc::invalid_argument), phase::local) == code::usage);
  CHECK(exit_code_for(local(errc::bad_path), phase::operation) == code::usage);
  CHECK(exit_code_for(local(errc::reserved_name), phase::local) == code::usage);
  CHECK(exit_code_for(local(errc::internal), phase::operation) == code::internal);
  CHECK(exit_code_for(local(errc::internal), phase::connect) == code::internal);
  // A peer breaking the protocol mid-session ends the session.
  CHECK(exit_code_for(local(errc::malformed), phase::operation) == code::connection);
  // A local file (the trust list) that does not parse.
  CHECK(exit_code_for(local(errc::malformed), phase::local) == code::local_io);
}
