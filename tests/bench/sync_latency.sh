#!/usr/bin/env bash
# sync_latency.sh -- how long a new file takes to reach the peer in background
# `ftsync sync`, in a folder of N files (README, "Folder sync" measurements).
#
#   tests/bench/sync_latency.sh [--files N] [--runs R] [--ftsync PATH]
#
# Two nodes on 127.0.0.1 with their own XDG dirs in a temporary directory. Both
# sides start with identical copies of N small files in 1,000 directories (so
# the setup costs hashing, not transfer); a `sync --once` brings the indexes
# together, then a background `sync` runs while R new files are written, one a
# second, each timed until it exists on the server (10 s bound each). Prints
# the setup times and each latency in ms. A benchmark, not a test: it judges
# nothing, and exits 1 only when a file does not arrive or a step fails.
# Stops only the processes it started, by PID.
set -euo pipefail
NAME=sync-latency; FILES=50000; RUNS=5  # defaults; two_nodes.sh reads --files, --runs, --ftsync
# shellcheck source=tests/bench/two_nodes.sh
source "$(dirname "${BASH_SOURCE[0]}")/two_nodes.sh" "$@"

mkdir -p "$work/local" "$work/root"
t0=$(now_ms)
for ((d = 0; d < 1000; d++)); do mkdir "$work/local/d$d"; done
for ((i = 0; i < FILES; i++)); do printf '%*s' $((i % 300)) '' >"$work/local/d$((i % 1000))/f$i"; done
cp -a "$work/local" "$work/root/dir"
echo "created $FILES files on both sides in $(( $(now_ms) - t0 )) ms"

start_server "$work/root"
t0=$(now_ms); cli sync --once "$work/local" srv:/dir >/dev/null 2>"$work/once.err" || { cat "$work/once.err" >&2; exit 1; }
echo "first sync --once (both sides hash, nothing to send): $(( $(now_ms) - t0 )) ms"
t0=$(now_ms); cli sync --once "$work/local" srv:/dir >/dev/null 2>&1
echo "sync --once with nothing to do: $(( $(now_ms) - t0 )) ms"

"${cli_env[@]}" sync "$work/local" srv:/dir >"$work/bg.out" 2>"$work/bg.err" &
pids+=($!)
sleep 3
for ((k = 1; k <= RUNS; k++)); do
  rel="d$(( (k * 7) % 1000 ))/new$k"
  t0=$(now_ms)
  echo "new $k" >"$work/local/$rel"
  arrived=0
  for _ in $(seq 1000); do
    [ -e "$work/root/dir/$rel" ] && { arrived=1; break; }
    sleep 0.01
  done
  [ $arrived = 1 ] || { echo "run $k: $rel did not arrive within 10 s" >&2; cat "$work/bg.err" >&2; exit 1; }
  echo "run $k: new file at the peer after $(( $(now_ms) - t0 )) ms"
  sleep 1
done
