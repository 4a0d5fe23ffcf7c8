#!/usr/bin/env bash
# Two ftsync nodes on one machine: "alice" serves a folder, "bob" pushes,
# lists, pulls and rearranges files in it over 127.0.0.1. Each node has its
# own identity and trusted peers, kept apart by XDG_CONFIG_HOME.
# Usage: examples/two-node-demo.sh [path/to/ftsync]
set -euo pipefail
FTSYNC=${1:-ftsync}
work=$(mktemp -d /tmp/ftsync-demo.XXXXXX)
server_pid=""
cleanup() {
  [[ -n $server_pid ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Bold headings only on a terminal, and never with NO_COLOR (no-color.org).
if [[ -t 1 && -z ${NO_COLOR:-} && ${TERM:-} != dumb ]]; then
  step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
  step() { printf '\n== %s\n' "$*"; }
fi
show() { printf '$ %s\n' "$*"; "$@"; }
alice() { XDG_CONFIG_HOME=$work/alice/config XDG_STATE_HOME=$work/alice/state "$FTSYNC" "$@"; }
bob() { XDG_CONFIG_HOME=$work/bob/config XDG_STATE_HOME=$work/bob/state "$FTSYNC" "$@"; }

step "Each node creates its identity (an Ed25519 key; the id is its public half)"
alice keygen >/dev/null
bob keygen >/dev/null
alice_id=$(alice id)
bob_id=$(bob id)
echo "alice: $alice_id"
echo "bob:   $bob_id"

step "They trust each other (like exchanging SSH keys)"
port=$((47800 + RANDOM % 1000))
show alice trust "$bob_id" --name bob
show bob trust "$alice_id" --name alice --address "127.0.0.1:$port"
bob peers

step "alice serves a folder"
mkdir -p "$work/alice/shared"
# Started with env, not the alice function: a function run with & is a
# subshell, so $! would be that shell and stopping it would leave the server.
env XDG_CONFIG_HOME="$work/alice/config" XDG_STATE_HOME="$work/alice/state" \
  "$FTSYNC" serve --root "$work/alice/shared" --listen "127.0.0.1:$port" >"$work/serve.out" 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 50); do grep -q serving "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
# Say why when it did not start (e.g. the random port is taken) instead of
# failing later at the first command.
grep -q serving "$work/serve.out" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
cat "$work/serve.out"

step "bob makes some files: text, a 32 MiB binary, names with spaces and unicode"
src=$work/bob/project
mkdir -p "$src/docs" "$src/données" "$src/empty dir"
printf 'hello from bob\n' >"$src/README.txt"
printf 'notes\n' >"$src/docs/meeting notes.md"
printf 'café\n' >"$src/données/menu ☕.txt"
: >"$src/docs/empty.txt"
head -c 33554432 /dev/urandom >"$src/big.bin"
show bob ping alice

step "push: the tree lands as /backup/project"
show bob push "$src" alice:/backup
show bob ls alice:/backup/project

step "push again: nothing changed, nothing is sent"
show bob push "$src" alice:/backup

step "pull it back elsewhere and compare"
show bob pull alice:/backup/project "$work/bob/restored"
(cd "$src" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$work/a.sum"
(cd "$work/bob/restored/project" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$work/b.sum"
if cmp -s "$work/a.sum" "$work/b.sum"; then echo "identical: every file's SHA-256 matches"; else echo "MISMATCH"; exit 1; fi

step "directory operations"
show bob mkdir alice:/archive
show bob mv alice:/backup/project/big.bin alice:/archive/big.bin
show bob rm alice:/backup/project/README.txt
show bob rmdir "alice:/backup/project/empty dir"
show bob ls alice:/archive

step "machine-readable output"
show bob --json ls alice:/archive

step "alice's server log: one line per session and transfer"
kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""
cat "$work/serve.log"
printf '\nDemo finished. Everything lived in %s (now removed).\n' "$work"
