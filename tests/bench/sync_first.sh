#!/usr/bin/env bash
# sync_first.sh -- the first `ftsync sync --once` of a folder of many small
# files, both directions (README, "Folder sync" measurements).
#
#   tests/bench/sync_first.sh [--files N] [--runs R] [--ftsync PATH]
#
# Two nodes on 127.0.0.1 with their own XDG dirs in a temporary directory. N
# files of 0-2,999 bytes in N/100 directories are made once. Each run pushes
# them into an empty served folder (`sync --once LOCAL srv:/runK`), then pulls
# that folder into a second, empty local folder, and checks both copies with
# diff -r. As a peer measured in the same run, `rsync -a` copies the same tree
# on the same filesystem (no network, no daemon, no fsync: a floor, not a
# like-for-like transfer). Prints seconds and files/s per step. A benchmark,
# not a test: it exits 1 only when a step fails or a copy differs. Stops only
# the processes it started, by PID.
set -euo pipefail
NAME=sync-first; FILES=10000; RUNS=3  # defaults; two_nodes.sh reads --files, --runs, --ftsync
# shellcheck source=tests/bench/two_nodes.sh
source "$(dirname "${BASH_SOURCE[0]}")/two_nodes.sh" "$@"
rate() { awk -v n="$FILES" -v ms="$1" 'BEGIN { r = ms > 0 ? n * 1000 / ms : 0; printf "%.2f s, %.0f files/s", ms / 1000, r }'; }

dirs=$(( FILES / 100 > 0 ? FILES / 100 : 1 ))
mkdir -p "$work/src" "$work/root"
for ((d = 0; d < dirs; d++)); do mkdir "$work/src/d$d"; done
for ((i = 0; i < FILES; i++)); do
  printf 'file %d %*s\n' "$i" $(( (i * 7919) % 3000 )) '' >"$work/src/d$((i % dirs))/f$i"
done
echo "ftsync $("$FTSYNC" --version 2>/dev/null | head -1); $FILES files in $dirs directories, $(du -sb "$work/src" | cut -f1) bytes"

start_server "$work/root"

for ((r = 1; r <= RUNS; r++)); do
  cp -a "$work/src" "$work/push$r"
  t0=$(now_ms)
  cli sync --once "$work/push$r" "srv:/run$r" >/dev/null 2>"$work/push.err" || { cat "$work/push.err" >&2; exit 1; }
  push_ms=$(( $(now_ms) - t0 ))
  t0=$(now_ms)
  cli sync --once "$work/pull$r" "srv:/run$r" >/dev/null 2>"$work/pull.err" || { cat "$work/pull.err" >&2; exit 1; }
  pull_ms=$(( $(now_ms) - t0 ))
  diff -r "$work/src" "$work/root/run$r" >/dev/null || { echo "sync_first: pushed copy differs" >&2; exit 1; }
  diff -r "$work/src" "$work/pull$r" >/dev/null || { echo "sync_first: pulled copy differs" >&2; exit 1; }
  rsync_ms=-
  if command -v rsync >/dev/null; then
    t0=$(now_ms); rsync -a "$work/src/" "$work/rsync$r/"; rsync_ms=$(( $(now_ms) - t0 ))
  fi
  echo "run $r: push $(rate "$push_ms"); pull $(rate "$pull_ms"); local rsync -a $([ "$rsync_ms" = - ] && echo 'not installed' || rate "$rsync_ms")"
done
