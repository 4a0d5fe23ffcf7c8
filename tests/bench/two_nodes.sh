# two_nodes.sh -- sourced by the sync benchmarks: two ftsync nodes on
# 127.0.0.1 with their own XDG dirs in a fresh temporary directory ($work),
# keys made and trusted both ways; the client knows the server as "srv" at
# 127.0.0.1:$port. `cli` and `srv` run $FTSYNC as either node; a process
# started in the background ("${cli_env[@]}" ... &) goes into pids, and the
# EXIT trap stops exactly those (by PID) and removes $work. Needs NAME (for
# mktemp), FILES and RUNS (defaults) set; takes the benchmark's arguments
# (--files N, --runs R, --ftsync PATH; anything else prints the calling
# script's header comment).
export LC_ALL=C
FTSYNC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/ftsync"
while [ $# -gt 0 ]; do
  case "$1" in
    --files) FILES="${2:?}"; shift ;;
    --runs) RUNS="${2:?}"; shift ;;
    --ftsync) FTSYNC="${2:?}"; shift ;;
    *) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 2 ;;
  esac
  shift
done
[ -x "$FTSYNC" ] || { echo "$NAME: no ftsync binary at $FTSYNC (build first)" >&2; exit 2; }
work=$(mktemp -d "/tmp/ftsync-$NAME.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# Background starts use these directly, not the functions: a function run
# with & is a subshell, so $! would be the shell rather than ftsync, and
# stopping it would leave ftsync running.
cli_env=(env XDG_CONFIG_HOME="$work/cli/config" XDG_STATE_HOME="$work/cli/state" "$FTSYNC")
srv_env=(env XDG_CONFIG_HOME="$work/srv/config" XDG_STATE_HOME="$work/srv/state" "$FTSYNC")
cli() { "${cli_env[@]}" "$@"; }
srv() { "${srv_env[@]}" "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

cli keygen >/dev/null 2>&1; srv keygen >/dev/null 2>&1
port=$((20000 + RANDOM % 20000))
srv trust "$(cli id)" --name cli >/dev/null
cli trust "$(srv id)" --name srv --address "127.0.0.1:$port" >/dev/null

# Starts `ftsync serve` of $1 in the background and waits (10 s at most)
# until it says it is serving.
start_server() {
  "${srv_env[@]}" serve --root "$1" --listen "127.0.0.1:$port" >"$work/serve.out" 2>"$work/serve.log" &
  pids+=($!)
  for _ in $(seq 100); do grep -q serving "$work/serve.out" 2>/dev/null && return 0; sleep 0.1; done
  echo "$NAME: the server did not start: $(tail -1 "$work/serve.log")" >&2
  exit 1
}
