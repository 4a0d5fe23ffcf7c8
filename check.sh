#!/usr/bin/env bash
# Builds ftsync and runs the whole test suite twice: a normal -Werror build,
# then the same tests under AddressSanitizer + UndefinedBehaviorSanitizer;
# then time-boxed libFuzzer campaigns built with clang (ASan + UBSan).
# The robustness suite (label "robust": kill -9 loops, bad links, disk full,
# floods, 50 clients, path attacks) runs in the normal pass only: it drives
# real processes for minutes, and those binaries are the same code the
# sanitizer pass already checks through the unit and integration tests.
# Usage: ./check.sh            (what CI runs)
#        ./check.sh --quick    (normal build only)
# FTSYNC_FUZZ_SECONDS sets the time per fuzz target (default 60, the
# issue's "about a minute": seven targets, two at a time, take ~4 min;
# building them with clang ~3 min. A fresh-clone run with 45 s took 24.7 min
# on a 2-core VM, so 60 s stays inside CI's 30 minutes; soak.sh fuzzes longer).
set -euo pipefail
cd "$(dirname "$0")"
.ci/deps.sh
jobs=$(nproc)

configure() {  # $1 = build dir, rest = extra cmake args
  local dir=$1; shift
  # Ninja schedules the two cores better than make; an existing build dir
  # keeps whatever generator it was configured with.
  local generator=()
  [[ -f $dir/CMakeCache.txt ]] || generator=(-G Ninja)
  # -g1 (line tables, enough for sanitizer stack traces) instead of -g: full
  # debug info of the template-heavy headers is a large share of compile time
  # on CI's two cores.
  cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DFTSYNC_WERROR=ON "$@" >/dev/null
}

run_suite() {  # $1 = build dir, $2 = extra ctest args (e.g. "-LE robust"), rest = extra cmake args
  local dir=$1 ctest_args=$2; shift 2
  configure "$dir" "$@"
  cmake --build "$dir" -j"$jobs"
  # Two tests at a time (not more, whatever the core count: the robustness
  # tests start dozens of processes each): most tests wait on sockets, timers
  # and fsync rather than the CPU (normal pass 340 s -> 200 s on two cores).
  # Every test picks its own free ports and temporary directories.
  # shellcheck disable=SC2086  # ctest_args is a list of words
  (cd "$dir" && ctest --output-on-failure -j2 $ctest_args)
}

run_suite build ""
if [[ ${1:-} != --quick ]]; then
  export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suite build-asan "-LE robust|bench" -DFTSYNC_SANITIZE=ON -DFTSYNC_ROBUST=OFF
  # libFuzzer needs clang; only the fuzz targets and the modules they use
  # are built with it (tests/fuzz/CMakeLists.txt).
  CC=clang CXX=clang++ configure build-fuzz -DFTSYNC_SANITIZE=ON -DFTSYNC_LIBFUZZER=ON
  targets=()
  for f in tests/fuzz/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp)_libfuzzer"); done
  cmake --build build-fuzz -j"$jobs" --target "${targets[@]}"
  tests/fuzz/run_campaigns.sh build-fuzz "${FTSYNC_FUZZ_SECONDS:-60}" "$jobs"
fi
