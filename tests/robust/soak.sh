#!/usr/bin/env bash
# Soak mode of the robustness suite (issue 5): the same tests as the quick
# mode CTest runs (label "robust"), with larger counts, plus longer fuzz
# campaigns when libFuzzer binaries exist. Bounded: every test keeps its own
# per-process limits, and the whole run stops after --hours (default 2).
#
#   tests/robust/soak.sh [--build DIR] [--fuzz-build DIR] [--hours H]
#
# DIR is a configured and built tree (default: build). --fuzz-build names a
# clang tree configured with -DFTSYNC_LIBFUZZER=ON (default: build-fuzz, the
# tree ./check.sh builds); without one the fuzz step counts as failed. Counts can be overridden through the same
# variables the tests read:
#   FTSYNC_ROBUST_KILLS (200)          kill -9 rounds per push, pull, sync --once (both ways) and background sync
#   FTSYNC_ROBUST_SERVER_KILLS (5)     server-only kills under a running background sync
#   FTSYNC_ROBUST_CLIENTS (50)         concurrent clients in the load test
#   FTSYNC_ROBUST_LOAD_ROUNDS (5)      load rounds on one server
#   FTSYNC_ROBUST_SWAP_FILES (3000)    files pushed under the symlink flip
#   FTSYNC_ROBUST_CORRUPT_ATTEMPTS (8) attempts over the corrupting link
#   FTSYNC_ROBUST_SEEDS (5)            bad-link runs, each with its own seed
#   FTSYNC_FUZZ_SECONDS (600)          per fuzz target
# Prints one line per test with its result and time, and exits non-zero when
# anything failed.
set -uo pipefail
cd "$(dirname "$0")/../.."

build=build
fuzz_build=
hours=2
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --fuzz-build) fuzz_build=$2; shift 2 ;;
    --hours) hours=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--fuzz-build DIR] [--hours H]" >&2; exit 2 ;;
  esac
done
bin=$build/tests/robust/robust_tests
[[ -x $bin ]] || { echo "soak: $bin not built (cmake --build $build --target robust_tests)" >&2; exit 2; }

export FTSYNC_ROBUST_KILLS=${FTSYNC_ROBUST_KILLS:-200}
export FTSYNC_ROBUST_CLIENTS=${FTSYNC_ROBUST_CLIENTS:-50}
export FTSYNC_ROBUST_LOAD_ROUNDS=${FTSYNC_ROBUST_LOAD_ROUNDS:-5}
export FTSYNC_ROBUST_SWAP_FILES=${FTSYNC_ROBUST_SWAP_FILES:-3000}
export FTSYNC_ROBUST_CORRUPT_ATTEMPTS=${FTSYNC_ROBUST_CORRUPT_ATTEMPTS:-8}
seeds=${FTSYNC_ROBUST_SEEDS:-5}
fuzz_seconds=${FTSYNC_FUZZ_SECONDS:-600}

deadline=$(( $(date +%s) + $(awk "BEGIN{print int($hours*3600)}") ))
log_dir=$(mktemp -d /tmp/ftsync-soak-XXXXXX)
failed=0
results=()

run() {  # name, then the command
  local name=$1; shift
  local left=$(( deadline - $(date +%s) ))
  if (( left <= 0 )); then
    results+=("NOT RUN  $name (out of time)"); failed=1; return
  fi
  local t0=$SECONDS
  # doctest exits 0 when its pattern matches no test case: that is a failure here.
  if timeout --kill-after=30 "$left" "$@" > "$log_dir/$name.log" 2>&1 &&
     ! grep -Eq "test cases: +0 \|" "$log_dir/$name.log"; then
    results+=("passed   $name ($((SECONDS - t0)) s)")
  else
    results+=("FAILED   $name ($((SECONDS - t0)) s, log: $log_dir/$name.log)"); failed=1
  fi
  echo "${results[-1]}"
  grep -h "MESSAGE:" -A1 "$log_dir/$name.log" | grep -v "^--$" | sed 's/^/    /' | head -20
}

run kill_push "$bin" "--test-case=kill -9 *during push*"
run kill_pull "$bin" "--test-case=kill -9 *during pull*"
run kill_sync "$bin" "--test-case=kill -9 either side during sync --once? again*"
run kill_watch "$bin" "--test-case=kill -9 either side of a background sync*"
run kill_sync_down "$bin" "--test-case=kill -9 either side during sync --once of changes made on the server*"
FTSYNC_ROBUST_SERVER_KILLS=${FTSYNC_ROBUST_SERVER_KILLS:-5} run kill_server_only "$bin" "--test-case=a background sync reconnects and completes after its server*"
for ((s = 1; s <= seeds; s++)); do
  FTSYNC_ROBUST_SEED=$((1000 + s)) run "bad_link_seed$s" "$bin" "--test-case=push and pull over a lossy*"
  FTSYNC_ROBUST_SEED=$((1000 + s)) run "corrupt_seed$s" "$bin" "--test-case=the bad link plus 1 % corrupted*"
done
run corrupt_survives "$bin" "--test-case=corrupted datagrams are dropped below*"
run replay "$bin" "--test-case=a captured session replayed*"
run disk_full "$bin" "--test-case=disk full on the receiver*"
for i in 1 2 3; do run "flood$i" "$bin" "--test-case=1000 half-open CONNECTs*"; done
run knocked_flood "$bin" "--test-case=1000 knocked half-open CONNECTs*"
run load "$bin" "--test-case=50 clients on 50 addresses*"
run load_one_address "$bin" "--test-case=50 clients on one address*"
run paths "$bin" "--test-case=dot-dot in every position*,encoded separators*,hard links into the root*,symlinks in a pull's local destination*,device files and FIFOs*"
run path_swap "$bin" "--test-case=a symlink swapped in during a push or a pull*"

fuzz_build=${fuzz_build:-build-fuzz}
if compgen -G "$fuzz_build/tests/fuzz/fuzz_*_libfuzzer" > /dev/null; then
  run fuzz tests/fuzz/run_campaigns.sh "$fuzz_build" "$fuzz_seconds"
else
  results+=("NOT RUN  fuzz (no libFuzzer binaries in $fuzz_build: run ./check.sh once, or configure it with clang and -DFTSYNC_LIBFUZZER=ON)")
  echo "${results[-1]}"
  failed=1
fi

echo
echo "soak summary (logs in $log_dir):"
printf '  %s\n' "${results[@]}"
exit $failed
