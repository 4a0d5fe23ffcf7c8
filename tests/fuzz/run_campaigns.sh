#!/usr/bin/env bash
# Time-boxed libFuzzer campaigns over every fuzz target (research/security.md
# "Fuzz targets and CI budget"; issue 5: about a minute per target in CI).
#
#   tests/fuzz/run_campaigns.sh BUILD_DIR [SECONDS_PER_TARGET=45] [JOBS=nproc]
#
# BUILD_DIR is a clang tree configured with -DFTSYNC_LIBFUZZER=ON (ASan and
# UBSan are always on in those binaries). Each target starts from a scratch
# copy of tests/fuzz/corpus/<name> plus tests/fixtures/hostile; what it
# discovers is thrown away with the scratch dir. A crash, leak-free OOM or
# timeout fails the run: the input is minimised and kept as
# tests/fuzz/corpus/<name>/regression-<sha1>, so that from then on the
# ordinary corpus replay (ctest -L fuzz-corpus, g++) runs it on every change;
# commit it with the fix. Prints each target's executions and coverage.
# libFuzzer uses one core, so JOBS targets run side by side.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:?usage: $0 BUILD_DIR [SECONDS_PER_TARGET]}
seconds=${2:-45}
jobs=${3:-$(nproc)}
shopt -s nullglob
bins=("$build"/tests/fuzz/fuzz_*_libfuzzer)
if ((${#bins[@]} == 0)); then
  echo "run_campaigns: no libFuzzer binaries in $build/tests/fuzz (configure with clang and -DFTSYNC_LIBFUZZER=ON)" >&2
  exit 2
fi
work=$(mktemp -d /tmp/ftsync-fuzz-XXXXXX)
trap 'rm -rf "$work"' EXIT
# Leaks are not findings here (the g++ sanitizer pass runs with
# detect_leaks=0 too); memory errors and UB abort.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# One campaign; its report goes to $work/<name>.report, its status to .rc.
campaign() {
  local bin=$1 target name corpus max_len t0 rc execs cov
  target=$(basename "$bin" _libfuzzer)
  name=${target#fuzz_}
  corpus=$work/$name
  mkdir -p "$corpus" "$work/artifacts-$name"
  cp tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null
  cp tests/fixtures/hostile/* "$corpus"/ 2>/dev/null
  max_len=4096
  [[ $name == wire_decode ]] && max_len=266240  # a whole max frame
  t0=$SECONDS
  "$bin" "$corpus" -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 -timeout=20 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts-$name/" > "$work/$name.log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$work/$name.log" | tail -1)
  {
    echo "$target: exit $rc, ${execs:-?} executions in $((SECONDS - t0)) s, ${cov:-cov ?}"
    local artifacts=("$work/artifacts-$name"/*)
    if ((rc != 0 || ${#artifacts[@]} > 0)); then
      rc=1
      tail -60 "$work/$name.log"
      for a in "${artifacts[@]}"; do
        local min=$work/min-$(basename "$a")
        "$bin" -minimize_crash=1 -runs=20000 -max_total_time=60 -exact_artifact_path="$min" "$a" > /dev/null 2>&1
        [[ -s $min ]] || min=$a
        mkdir -p tests/fuzz/corpus/"$name"
        local keep=tests/fuzz/corpus/$name/regression-$(sha1sum "$min" | cut -c1-16)
        cp "$min" "$keep"
        echo "$target: kept the minimised input as $keep"
      done
    fi
  } > "$work/$name.report"
  echo "$rc" > "$work/$name.rc"
}

running=0
for bin in "${bins[@]}"; do
  if ((running >= jobs)); then
    wait -n
    ((running--))
  fi
  campaign "$bin" &
  ((running++))
done
wait
failed=0
for bin in "${bins[@]}"; do
  name=$(basename "$bin" _libfuzzer)
  name=${name#fuzz_}
  cat "$work/$name.report"
  [[ $(cat "$work/$name.rc" 2>/dev/null) == 0 ]] || failed=1
done
exit $failed
