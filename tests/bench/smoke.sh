#!/bin/bash
# smoke.sh FTSYNC -- CTest's check that bench.sh still works: `bench.sh
# --quick` (8 MiB file and 300 files of /usr/include, plain loopback in a
# private network namespace, one run per tool), then its table must show a
# verified run of every tool for both workloads. It times nothing. Exit 77
# (CTest: skipped, never passed) where the bench cannot run: not root, or no
# network namespaces.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FTSYNC="${1:?usage: smoke.sh FTSYNC}"
[ "$(id -u)" = 0 ] || { echo "bench smoke: SKIPPED: bench.sh needs root (network namespaces)"; exit 77; }
probe="ftsync-smoke-probe-$$"
if ! ip netns add "$probe" 2>/dev/null; then
  echo "bench smoke: SKIPPED: cannot create a network namespace here (ip netns add failed)"
  exit 77
fi
ip netns del "$probe"
out=$(mktemp -d /tmp/ftsync-bench-smoke.XXXXXX)
trap 'rm -rf "$out"' EXIT
"$HERE/bench.sh" --quick --ftsync "$FTSYNC" --out "$out/table.md" > "$out/log" 2>&1
rc=$?
if [ "$rc" != 0 ]; then
  echo "bench smoke: bench.sh --quick exited $rc"; tail -30 "$out/log"; exit 1
fi
fail=0
for tool in ftsync rsync scp; do
  for wl in file tree; do
    # | tool | condition | workload | verified runs | seconds ...
    row=$(grep -E "^\| $tool \| plain \| $wl \| " "$out/table.md" | head -1)
    runs=$(echo "$row" | cut -d'|' -f5 | tr -d ' ')
    secs=$(echo "$row" | cut -d'|' -f6 | tr -d ' ')
    if [ "$runs" != "1/1" ] || ! [[ "$secs" =~ ^[0-9]+\.[0-9]+$ ]]; then
      echo "bench smoke: no verified $tool $wl run in the table: '${row:-missing}'"; fail=1
    fi
  done
done
grep -qE '^\| ftsync \| plain \| file \|.*\| [0-9.]+x \| [0-9.]+x \|' "$out/table.md" ||
  { echo "bench smoke: the ftsync file row has no ratios to rsync and scp"; fail=1; }
[ "$fail" = 0 ] || { cat "$out/table.md"; exit 1; }
echo "bench smoke: bench.sh --quick ran every tool and verified every copy ($(grep -c '| ok |' "$out/table.md") runs)"
