#!/usr/bin/env bash
# Builds ftsync and runs the whole test suite twice: a normal -Werror build,
# then the same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
# Usage: ./check.sh            (what CI runs)
#        ./check.sh --quick    (normal build only)
set -euo pipefail
cd "$(dirname "$0")"
.ci/deps.sh
jobs=$(nproc)

run_suite() {  # $1 = build dir, rest = extra cmake args
  local dir=$1; shift
  # Ninja schedules the two cores better than make; an existing build dir
  # keeps whatever generator it was configured with.
  local generator=()
  [[ -f $dir/CMakeCache.txt ]] || generator=(-G Ninja)
  cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFTSYNC_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  (cd "$dir" && ctest --output-on-failure -j1)
}

run_suite build
if [[ ${1:-} != --quick ]]; then
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-asan -DFTSYNC_SANITIZE=ON
fi
