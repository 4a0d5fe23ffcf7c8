#!/bin/bash
# bench.sh -- ftsync push vs rsync (daemon) vs scp (throwaway sshd), in ONE run,
# on plain loopback and on emulated WAN links (lab/netlab.sh).
#
#   tests/bench/bench.sh [--quick] [--conditions plain,rtt20,rtt100_loss1]
#                        [--tools ftsync,rsync,scp] [--workloads file,tree]
#                        [--runs N] [--size BYTES]
#                        [--timeout SEC] [--out FILE.md] [--ftsync PATH]
#                        [--netlab PATH] [--workdir DIR]
#
# Both ends of every tool run inside a private network namespace and talk to
# 127.0.0.1 only. Needs root (namespaces, iptables inside them). See README.md.
# Exit status: 0 every run verified (a peer may time out), 1 some run FAILED or
# an ftsync run timed out, 2 usage or environment error.
set -uo pipefail
export LC_ALL=C

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

# ---------------------------------------------------------------- options
QUICK=0; CONDITIONS=""; TOOLS="ftsync,rsync,scp"; WORKLOADS="file,tree"; RUNS=""; SIZE=""; TIMEOUT=""
OUT=""; FTSYNC="$REPO/build/ftsync"; NETLAB_SRC=""; WORKBASE="${TMPDIR:-/tmp}"
usage() { sed -n 2,14p "$0" | sed 's/^# \{0,1\}//'; exit 2; }
die() { echo "bench: error: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --conditions) CONDITIONS="${2:?}"; shift ;;
    --tools) TOOLS="${2:?}"; shift ;;
    --workloads) WORKLOADS="${2:?}"; shift ;;
    --runs) RUNS="${2:?}"; shift ;;
    --size) SIZE="${2:?}"; shift ;;
    --timeout) TIMEOUT="${2:?}"; shift ;;
    --out) OUT="${2:?}"; shift ;;
    --ftsync) FTSYNC="${2:?}"; shift ;;
    --netlab) NETLAB_SRC="${2:?}"; shift ;;
    --workdir) WORKBASE="${2:?}"; shift ;;
    -h|--help) usage ;;
    *) echo "bench: unknown option $1" >&2; usage ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then
  # Smoke mode for CI: tiny data, plain loopback, one run, short timeouts.
  : "${CONDITIONS:=plain}" "${RUNS:=1}" "${SIZE:=8388608}" "${TIMEOUT:=60}"
else
  : "${CONDITIONS:=plain,rtt20,rtt100_loss1}" "${RUNS:=3}"
fi
[[ "$RUNS" =~ ^[1-9][0-9]?$ ]] || die "--runs must be 1..99"
[ -z "$SIZE" ] || [[ "$SIZE" =~ ^[1-9][0-9]*$ ]] || die "--size must be a byte count"
[ -z "$TIMEOUT" ] || [[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "--timeout must be seconds"
IFS=, read -r -a TOOL_LIST <<< "$TOOLS"
IFS=, read -r -a COND_LIST <<< "$CONDITIONS"
IFS=, read -r -a WL_LIST <<< "$WORKLOADS"
for w in "${WL_LIST[@]}"; do case "$w" in file|tree) ;; *) die "unknown workload '$w'";; esac; done
for t in "${TOOL_LIST[@]}"; do case "$t" in ftsync|rsync|scp) ;; *) die "unknown tool '$t'";; esac; done
# netlab.sh arguments per condition: one-way delay ms, loss % (RTT = 2 x delay).
cond_args() { case "$1" in plain) echo "0 0";; rtt20) echo "10 0";; rtt100_loss1) echo "50 1";; *) return 1;; esac; }
# Default file size: 1 GiB, but 256 MiB on the lossy link, where TCP tools run at
# ~12 MB/s (lab RESULTS.md 3b) and 1 GiB x 3 runs x 3 tools would take ~15 min.
cond_size() { if [ -n "$SIZE" ]; then echo "$SIZE"; elif [ "$1" = rtt100_loss1 ]; then echo 268435456; else echo 1073741824; fi; }
for c in "${COND_LIST[@]}"; do cond_args "$c" >/dev/null || die "unknown condition '$c'"; done
has_tool() { local t; for t in "${TOOL_LIST[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }
[ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
[ -n "$NETLAB_SRC" ] || NETLAB_SRC="$HERE/lab/netlab.sh"
[ -f "$NETLAB_SRC" ] && [ -f "$(dirname "$NETLAB_SRC")/netlab/nfqdelay.c" ] || die "netlab.sh not found at $NETLAB_SRC (use --netlab)"
if [ -n "$OUT" ]; then : > "$OUT" || die "cannot write $OUT"; OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"; fi
case "$FTSYNC" in /*) ;; *) FTSYNC="$PWD/$FTSYNC" ;; esac   # nodes run from other dirs

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- packages
# Installed only when missing, so a fresh Debian 12 root can run this directly.
ensure_packages() {
  local need=() p
  for p in rsync openssh-server openssh-client iproute2 iptables ethtool libnetfilter-queue-dev gcc time coreutils; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  log "installing: ${need[*]}"
  # policy-rc.d = 101 keeps the openssh-server package from starting a system
  # sshd on port 22 during installation; ours is a throwaway on 127.0.0.1 only.
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1; fi
  local rc=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"; } >&2 || rc=$?
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || die "apt-get install failed"
}
ensure_packages

# ---------------------------------------------------------------- cleanup
WORK=""; NS=""; PIDS=(); MADE_RUN_SSHD=0; CLIENT_PID=""
stop_pid() {  # stop a process we started: TERM, bounded wait, then KILL
  local pid=$1 i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local p
  trap - EXIT INT TERM
  [ -n "$CLIENT_PID" ] && stop_pid "$CLIENT_PID"
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
  [ -n "$NS" ] && "$NETLAB" down "$NS" >/dev/null 2>&1
  # Safety net: a process whose command line names our mktemp work dir was
  # started by this script (daemons get their config from it).
  if [ -n "$WORK" ]; then
    for p in $(grep -lsF "$WORK/" /proc/[0-9]*/cmdline | cut -d/ -f3); do
      [ "$p" != $$ ] && [ "$p" != "$BASHPID" ] && kill -TERM "$p" 2>/dev/null
    done
  fi
  [ -n "$WORK" ] && [ -d "$WORK" ] && rm -rf --one-file-system "$WORK"
  [ "$MADE_RUN_SSHD" = 1 ] && rmdir /run/sshd 2>/dev/null
  return 0
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

WORK="$(mktemp -d "$WORKBASE/ftsync-bench.XXXXXX")" || die "mktemp failed"
SRC="$WORK/src"; DST="$WORK/dst"; LOGS="$WORK/logs"
mkdir -p "$SRC" "$DST" "$LOGS" "$WORK/lab/netlab"
# netlab.sh keeps its state (run/, the built nfqdelay) beside itself: a
# private copy in $WORK keeps the checkout clean and runs never share state.
cp "$NETLAB_SRC" "$WORK/lab/netlab.sh"
cp "$(dirname "$NETLAB_SRC")/netlab/nfqdelay.c" "$WORK/lab/netlab/"
NETLAB="$WORK/lab/netlab.sh"; chmod +x "$NETLAB"
RESULTS="$WORK/results.tsv"; : > "$RESULTS"
NS_BASE="ftb$$"

# ---------------------------------------------------------------- workloads
# Tree: a copy of /usr/include without its symlinks (30 on Debian 12), because
# rsync keeps symlinks, scp follows them and ftsync's policy is its own; with
# regular files only, every tool must produce the same tree. --quick: first 300
# files in byte order.
make_tree() {
  local list="$WORK/tree.list"
  (cd /usr/include && find . -type f -print0 | sort -z) > "$list"
  if [ "$QUICK" = 1 ]; then head -z -n 300 "$list" > "$list.q"; mv "$list.q" "$list"; fi
  mkdir -p "$SRC/include"
  tar -C /usr/include --null -T "$list" -cf - | tar -C "$SRC/include" -xf - || die "copying /usr/include failed"
  TREE_FILES=$(find "$SRC/include" -type f | wc -l)
  TREE_BYTES=$(find "$SRC/include" -type f -printf '%s\n' | awk '{s+=$1} END{printf "%d", s}')
  TREE_HASH=$(tree_hash "$SRC/include")
}
tree_hash() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum) | sha256sum | cut -d' ' -f1; }
declare -A FILE_OF=()   # size -> source file path
make_file() {  # random data defeats any compression or dedup on the way
  local size=$1 f="$SRC/file-$1.bin"
  [ -n "${FILE_OF[$size]:-}" ] && return 0
  head -c "$size" /dev/urandom > "$f" || die "writing $f failed"
  [ "$(stat -c %s "$f")" = "$size" ] || die "short file $f"
  FILE_OF[$size]="$f"
}
need_bytes=0
for c in "${COND_LIST[@]}"; do s=$(cond_size "$c"); [ "$s" -gt "$need_bytes" ] && need_bytes=$s; done
avail=$(df -B1 --output=avail "$WORK" | tail -1)
# The tree copy (/usr/include, ~255 MB; 300 files with --quick) and its copies at the destination.
margin=1200000000; [ "$QUICK" = 1 ] && margin=100000000
[ "$avail" -gt $((need_bytes * 4 + margin)) ] || die "not enough free space in $WORKBASE for $need_bytes-byte files"
log "work dir $WORK"
log "making workloads"
for c in "${COND_LIST[@]}"; do make_file "$(cond_size "$c")"; done
make_tree
log "tree: $TREE_FILES files, $TREE_BYTES bytes"

# ---------------------------------------------------------------- rsync daemon
RSYNC_PORT=8730; SSH_PORT=2222; FT_PORT=7730   # private namespaces: fixed ports cannot collide
cat > "$WORK/rsyncd.conf" <<EOF
use chroot = false
[bench]
  path = $DST
  read only = false
  uid = root
  gid = root
EOF

# ---------------------------------------------------------------- throwaway sshd
SSHD_CFG="$WORK/ssh/sshd_config"; SSH_OPTS=()
setup_ssh() {
  local d="$WORK/ssh" me; me=$(id -un)
  mkdir -p "$d"; chmod 700 "$d"
  ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$d/host_ed25519" || die "ssh-keygen failed"
  ssh-keygen -q -t ed25519 -N '' -C bench-user -f "$d/user_ed25519" || die "ssh-keygen failed"
  echo "from=\"127.0.0.1\" $(cat "$d/user_ed25519.pub")" > "$d/authorized_keys"
  echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$d/host_ed25519.pub")" > "$d/known_hosts"
  if [ ! -d /run/sshd ]; then mkdir -p /run/sshd; chmod 755 /run/sshd; MADE_RUN_SSHD=1; fi  # sshd privsep dir
  local sftp=/usr/lib/openssh/sftp-server
  cat > "$SSHD_CFG" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $d/host_ed25519
PidFile none
AuthorizedKeysFile $d/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowUsers $me@127.0.0.1
Subsystem sftp $sftp
LogLevel ERROR
EOF
  /usr/sbin/sshd -t -f "$SSHD_CFG" || die "sshd config rejected"
  SSH_OPTS=(-F /dev/null -i "$d/user_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes
            -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$d/known_hosts"
            -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR -P "$SSH_PORT")
  SSH_USER=$me
}
has_tool scp && setup_ssh

# ---------------------------------------------------------------- ftsync nodes
# Two nodes on one machine: each its own XDG_CONFIG_HOME / XDG_STATE_HOME.
FT_SRV="$WORK/ft/server"; FT_CLI="$WORK/ft/client"; FT_BROKEN=""
ft() { local node=$1; shift; env XDG_CONFIG_HOME="$node/config" XDG_STATE_HOME="$node/state" "$FTSYNC" "$@"; }
setup_ftsync() {
  [ -x "$FTSYNC" ] || { FT_BROKEN="no executable at $FTSYNC"; return; }
  mkdir -p "$FT_SRV/config" "$FT_SRV/state" "$FT_CLI/config" "$FT_CLI/state"
  local n sid cid
  for n in "$FT_SRV" "$FT_CLI"; do
    ft "$n" keygen > "$LOGS/ft-keygen.log" 2>&1 || { FT_BROKEN="keygen failed: $(tail -1 "$LOGS/ft-keygen.log")"; return; }
  done
  sid=$(ft "$FT_SRV" id 2>>"$LOGS/ft-id.log" | tail -1); cid=$(ft "$FT_CLI" id 2>>"$LOGS/ft-id.log" | tail -1)
  [ -n "$sid" ] && [ -n "$cid" ] || { FT_BROKEN="'ftsync id' printed nothing"; return; }
  ft "$FT_SRV" trust "$cid" --name bench-client > "$LOGS/ft-trust.log" 2>&1 || { FT_BROKEN="trust (server) failed: $(tail -1 "$LOGS/ft-trust.log")"; return; }
  ft "$FT_CLI" trust "$sid" --name benchsrv --address "127.0.0.1:$FT_PORT" >> "$LOGS/ft-trust.log" 2>&1 || { FT_BROKEN="trust (client) failed: $(tail -1 "$LOGS/ft-trust.log")"; return; }
}
if has_tool ftsync; then setup_ftsync; [ -n "$FT_BROKEN" ] && log "ftsync unusable: $FT_BROKEN (its rows will be FAILED)"; fi

# ---------------------------------------------------------------- helpers
# Foreground only: a function run with & is a subshell, and $! would then be
# that subshell rather than the daemon, so background starts call
# "$NETLAB" exec directly (netlab.sh and ip netns exec both exec, so $! is
# the process itself).
in_ns() { "$NETLAB" exec "$NS" "$@"; }
wait_listen() {  # bounded: 10 s for a TCP listener inside the namespace
  local port=$1 pid=$2 i
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 1
    [ -n "$(in_ns ss -Hltn "sport = :$port" 2>/dev/null)" ] && return 0
    sleep 0.1
  done
  return 1
}
start_daemons() {
  if has_tool rsync; then
    "$NETLAB" exec "$NS" rsync --daemon --no-detach --config="$WORK/rsyncd.conf" --address=127.0.0.1 --port=$RSYNC_PORT \
      --log-file="$LOGS/rsyncd-$1.log" > /dev/null 2>&1 &
    RSYNCD_PID=$!; PIDS+=("$RSYNCD_PID")
    wait_listen $RSYNC_PORT "$RSYNCD_PID" || die "rsync daemon did not start (see $LOGS/rsyncd-$1.log)"
  fi
  if has_tool scp; then
    "$NETLAB" exec "$NS" /usr/sbin/sshd -D -e -f "$SSHD_CFG" > "$LOGS/sshd-$1.log" 2>&1 &
    SSHD_PID=$!; PIDS+=("$SSHD_PID")
    wait_listen $SSH_PORT "$SSHD_PID" || die "sshd did not start: $(tail -3 "$LOGS/sshd-$1.log")"
  fi
}
stop_daemons() {
  local p keep=()
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
  PIDS=()
}
# Start an ftsync server for one run; sets FT_SRV_PID or returns 1.
start_ft_server() {
  local tag=$1 i
  rm -rf "$FT_SRV/state" "$FT_CLI/state"; mkdir -p "$FT_SRV/state" "$FT_CLI/state"
  env XDG_CONFIG_HOME="$FT_SRV/config" XDG_STATE_HOME="$FT_SRV/state" \
    "$NETLAB" exec "$NS" "$FTSYNC" serve --root "$DST" --listen "127.0.0.1:$FT_PORT" \
    > "$LOGS/ftserve-$tag.out" 2> "$LOGS/ftserve-$tag.err" &
  FT_SRV_PID=$!; PIDS+=("$FT_SRV_PID")
  for i in $(seq 100); do   # bounded: 10 s for the "serving" line
    grep -qi serving "$LOGS/ftserve-$tag.out" 2>/dev/null && return 0
    # Fallback if stdout is block-buffered into the log file: its UDP socket is bound.
    [ "$i" -gt 20 ] && [ -n "$(in_ns ss -Hlun "sport = :$FT_PORT" 2>/dev/null)" ] && { log "  (no 'serving' line yet; UDP port bound)"; return 0; }
    kill -0 "$FT_SRV_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
# Peak RSS (KiB) of the server, read just before stopping it.
stop_ft_server() {
  FT_SRV_HWM=""
  if [ -r "/proc/$FT_SRV_PID/status" ] && [ "$(cat "/proc/$FT_SRV_PID/comm" 2>/dev/null)" = "$(basename "$FTSYNC" | cut -c1-15)" ]; then
    FT_SRV_HWM=$(awk '/^VmHWM:/{print $2}' "/proc/$FT_SRV_PID/status")
  fi
  stop_pid "$FT_SRV_PID"
  local p keep=(); for p in "${PIDS[@]}"; do [ "$p" = "$FT_SRV_PID" ] || keep+=("$p"); done; PIDS=("${keep[@]}")
}
clean_dst() { find "$DST" -mindepth 1 -delete; sync; }
# This VM hands memory that stays free for ~2 s back to its host, and the
# next writer then pays for first-touch faults: a 1 GiB pwrite loop took
# 0.24-0.31 s right after a 1 GiB file was deleted and 4.3-9.1 s after a
# wait of 3 s or more. Deleting the previous copy and then starting a
# server made that cost fall on whichever tool started writing last (perf:
# 30-42 % of all samples in the page-cache copy). So every run starts right
# after the same warm-up: a scratch file as large as the data it will
# write, written, synced and deleted.
warm_memory() {
  local bytes=$1
  head -c "$bytes" /dev/zero > "$WORK/warm" && sync && rm -f "$WORK/warm"
}

# Per client run. File: a floor of 1 MB/s plus start-up slack. Tree: 600 s,
# because scp (SFTP) pays ~5 round trips per file (measured: 300 files in 30 s
# at RTT 20 ms), so the 23k-file tree would need ~40 min at 20 ms and ~3 h at
# 100 ms; a timed-out run is reported as a lower bound (">600") and not retried.
run_timeout() {
  local wl=$1 size=$2
  if [ -n "$TIMEOUT" ]; then echo "$TIMEOUT"
  elif [ "$wl" = file ]; then echo $((120 + size / 1000000))
  else echo 600; fi
}

# One measured client run. Appends a line to $RESULTS:
# tool cond workload run status seconds client_rss_kib server_rss_kib wire_sent
measure() {
  local tool=$1 cond=$2 wl=$3 run=$4 size=$5
  local tag="$tool-$cond-$wl-$run" src status="ok" secs rss="" srss="" wire="" rc t0 t1 tmo
  local rssf="$LOGS/$tag.rss"; tmo=$(run_timeout "$wl" "$size")
  if [ "$wl" = file ]; then src="${FILE_OF[$size]}"; else src="$SRC/include"; fi
  clean_dst
  local cmd=()
  case "$tool" in
    rsync) cmd=(rsync -a --whole-file "$src" "rsync://127.0.0.1:$RSYNC_PORT/bench/") ;;
    scp)   cmd=(scp "${SSH_OPTS[@]}"); [ "$wl" = tree ] && cmd+=(-r); cmd+=("$src" "$SSH_USER@127.0.0.1:$DST/") ;;
    ftsync)
      if [ -n "$FT_BROKEN" ]; then
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$cond" "$wl" "$run" FAILED - - - - >> "$RESULTS"
        log "  $tag: FAILED ($FT_BROKEN)"; return
      fi
      if ! start_ft_server "$tag"; then
        stop_ft_server
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$cond" "$wl" "$run" FAILED - - - - >> "$RESULTS"
        log "  $tag: FAILED (server did not print 'serving': $(tail -1 "$LOGS/ftserve-$tag.err" 2>/dev/null))"; return
      fi
      cmd=(env XDG_CONFIG_HOME="$FT_CLI/config" XDG_STATE_HOME="$FT_CLI/state" "$FTSYNC" --json push "$src" benchsrv:/) ;;
  esac
  if [ "$wl" = file ]; then warm_memory "$size"; else warm_memory "$TREE_BYTES"; fi
  t0=$(date +%s.%N)
  "$NETLAB" exec "$NS" timeout -k 5 "$tmo" /usr/bin/time -f %M -o "$rssf" "${cmd[@]}" > "$LOGS/$tag.out" 2> "$LOGS/$tag.err" &
  CLIENT_PID=$!
  wait "$CLIENT_PID"; rc=$?
  t1=$(date +%s.%N); CLIENT_PID=""
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
  rss=$(grep -E '^[0-9]+$' "$rssf" 2>/dev/null | tail -1); [ -n "$rss" ] || rss=-
  if [ "$tool" = ftsync ]; then
    stop_ft_server; srss=${FT_SRV_HWM:--}
    wire=$(grep '^{' "$LOGS/$tag.out" | tail -1 | grep -o '"wire_bytes_sent":[0-9]*' | cut -d: -f2)
  fi
  local why=""
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then status=TIMEOUT; why="no exit within $tmo s"
  elif [ "$rc" != 0 ]; then status=FAILED; why="exit $rc: $(tail -1 "$LOGS/$tag.err")"
  elif [ "$wl" = file ]; then
    cmp -s "$src" "$DST/$(basename "$src")" || { status=FAILED; why="destination differs from source"; }
  else
    [ "$(tree_hash "$DST/include" 2>/dev/null)" = "$TREE_HASH" ] || { status=FAILED; why="destination tree hash differs"; }
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$cond" "$wl" "$run" "$status" "$secs" "$rss" "${srss:--}" "${wire:--}" >> "$RESULTS"
  log "  $tag: $status ${secs}s${why:+ ($why)}"
}

# ---------------------------------------------------------------- main loop
START=$(date +%s)
declare -A SKIP=()   # a tool/condition/workload that timed out is not retried
DELAYER=()
LOADS=()
for cond in "${COND_LIST[@]}"; do
  NS="$NS_BASE$cond"
  read -r delay loss <<< "$(cond_args "$cond")"
  log "condition $cond: netlab up (one-way delay ${delay} ms, loss ${loss}%)"
  LOADS+=("$cond: $(cut -d' ' -f1-3 /proc/loadavg) at start")
  "$NETLAB" up "$NS" "$delay" "$loss" > "$LOGS/netlab-$cond.log" 2>&1 || die "netlab up failed: $(tail -3 "$LOGS/netlab-$cond.log")"
  start_daemons "$cond"
  size=$(cond_size "$cond")
  for wl in "${WL_LIST[@]}"; do
    for run in $(seq "$RUNS"); do
      for tool in "${TOOL_LIST[@]}"; do
        if [ -n "${SKIP[$tool/$cond/$wl]:-}" ]; then
          printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$cond" "$wl" "$run" TIMEOUT - - - - >> "$RESULTS"; continue
        fi
        measure "$tool" "$cond" "$wl" "$run" "$size"
        tail -1 "$RESULTS" | cut -f5 | grep -q TIMEOUT && SKIP[$tool/$cond/$wl]=1
      done
    done
  done
  stop_daemons
  mode=$(cat "$WORK/lab/netlab/run/$NS.mode" 2>/dev/null)
  DELAYER+=("$cond (${mode:-?}): $("$NETLAB" down "$NS" 2>&1 | tail -1 | grep . || echo 'no delayer')"); NS=""
  LOADS[-1]+=", $(cut -d' ' -f1-3 /proc/loadavg) at end"
done
ELAPSED=$(( $(date +%s) - START ))

# ---------------------------------------------------------------- report
machine_info() {
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) x $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo), $(awk '/^MemTotal/{printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "- ftsync: $FTSYNC ($(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown))"
  echo "- rsync $(rsync --version | head -1 | awk '{print $3}'), $(ssh -V 2>&1 | cut -d, -f1), TCP congestion control $(cat /proc/sys/net/ipv4/tcp_congestion_control)"
  echo "- runs per cell: $RUNS (median; min/max over verified runs); workloads: file $(for c in "${COND_LIST[@]}"; do printf '%s=%s ' "$c" "$(cond_size "$c")"; done)bytes; tree $TREE_FILES files, $TREE_BYTES bytes$([ "$QUICK" = 1 ] && echo ' (--quick subset)')"
  echo "- total wall time of this benchmark: ${ELAPSED} s"
  echo "- load average (1/5/15 min) per condition, from other work on the machine too: $(printf "%s; " "${LOADS[@]}" | sed "s/; \$//")"
}
# The summary is computed by awk from results.tsv: median over verified runs; a
# cell whose runs all timed out shows the timeout as a lower bound (">600").
summary_table() {
  awk -F'\t' -v tf="$TREE_FILES" -v tb="$TREE_BYTES" -v sizes="$(for c in "${COND_LIST[@]}"; do printf '%s=%s,' "$c" "$(cond_size "$c")"; done)" '
  function median(arr, n,   i, j, t) {
    for (i = 2; i <= n; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j+1] = arr[j]; arr[j+1] = t }
    return (n % 2) ? arr[(n+1)/2] : (arr[n/2] + arr[n/2+1]) / 2
  }
  # speed ratio peer/ftsync as text: exact when both verified in every run,
  # a bound when one side only has a timeout lower bound, "-" otherwise
  function ratio(kf, kp) {
    if (!(kp in total)) return "-"
    if (allok(kf) && allok(kp)) return sprintf("%.2fx", med[kp] / med[kf])
    if (allok(kf) && ok[kp] + 0 == 0 && lb[kp] > 0) return sprintf(">%.2fx", lb[kp] / med[kf])
    if (ok[kf] + 0 == 0 && lb[kf] > 0 && allok(kp)) return sprintf("<%.2fx", med[kp] / lb[kf])
    return "-"
  }
  function allok(k) { return (k in total) && ok[k] + 0 == total[k] }
  BEGIN { n = split(sizes, sz, ","); for (i = 1; i <= n; i++) if (sz[i] != "") { split(sz[i], kv, "="); size[kv[1]] = kv[2] } }
  {
    k = $1 SUBSEP $2 SUBSEP $3
    if (!(k in total)) order[++nk] = k
    total[k]++
    if ($5 == "ok") { ok[k]++; v[k, ok[k]] = $6 }
    else if ($5 == "TIMEOUT") { to[k]++; if ($6 != "-" && $6 + 0 > lb[k]) lb[k] = $6 + 0 }
    if ($7 != "-" && $7 + 0 > crss[k]) crss[k] = $7 + 0
    if ($8 != "-" && $8 + 0 > srss[k]) srss[k] = $8 + 0
  }
  END {
    for (i = 1; i <= nk; i++) {
      k = order[i]
      if (ok[k] > 0) {
        delete a; mn = 1e18; mx = 0
        for (j = 1; j <= ok[k]; j++) { a[j] = v[k, j] + 0; if (a[j] < mn) mn = a[j]; if (a[j] > mx) mx = a[j] }
        med[k] = median(a, ok[k]); lo[k] = mn; hi[k] = mx
      }
    }
    print "| tool | condition | workload | verified runs | seconds (median) | min | max | MB/s | files/s | ftsync vs rsync | ftsync vs scp | client peak RSS MiB | server peak RSS MiB |"
    print "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= nk; i++) {
      k = order[i]; split(k, p, SUBSEP); tool = p[1]; cond = p[2]; wl = p[3]
      bytes = (wl == "file") ? size[cond] : tb
      st = (ok[k] + 0) "/" total[k]
      if (ok[k] + 0 < total[k]) st = st " " ((to[k] > 0) ? "TIMEOUT" : "FAILED")
      smin = smax = mbs = fps = "-"
      if (ok[k] > 0) {
        s = sprintf("%.2f", med[k]); smin = sprintf("%.2f", lo[k]); smax = sprintf("%.2f", hi[k])
        mbs = sprintf("%.1f", bytes / med[k] / 1e6); if (wl == "tree") fps = sprintf("%.0f", tf / med[k])
      } else if (lb[k] > 0) {
        s = sprintf(">%.0f", lb[k]); mbs = sprintf("<%.1f", bytes / lb[k] / 1e6); if (wl == "tree") fps = sprintf("<%.0f", tf / lb[k])
      } else s = (to[k] > 0) ? "TIMEOUT" : "FAILED"
      r1 = r2 = "-"
      if (tool == "ftsync") { r1 = ratio(k, "rsync" SUBSEP cond SUBSEP wl); r2 = ratio(k, "scp" SUBSEP cond SUBSEP wl) }
      cr = (crss[k] > 0) ? sprintf("%.1f", crss[k] / 1024) : "-"
      sr = (srss[k] > 0) ? sprintf("%.1f", srss[k] / 1024) : "-"
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", tool, cond, wl, st, s, smin, smax, mbs, fps, r1, r2, cr, sr
    }
  }' "$RESULTS"
}
runs_table() {
  echo "| tool | condition | workload | run | status | seconds | client RSS KiB | server RSS KiB | ftsync wire bytes sent |"
  echo "|---|---|---|---|---|---|---|---|---|"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' "$RESULTS"
}
report() {
  echo "# ftsync benchmark: push vs rsync daemon vs scp"
  echo
  machine_info
  echo
  summary_table
  echo
  echo "Ratios are speed ratios, peer seconds / ftsync seconds (above 1.00x ftsync is faster), exact only when every run of both rows verified; '>' or '<' marks a bound against a row whose runs timed out (its timeout is a lower bound on its time)."
  echo "MB/s = 10^6 bytes/s of payload. Client RSS: /usr/bin/time %M of the client process (max over runs); server RSS: VmHWM of \`ftsync serve\` just before SIGTERM (max over runs)."
  echo
  echo "Delayer (netlab) at the end of each condition:"
  echo
  local d; for d in "${DELAYER[@]}"; do echo "- $d"; done
  echo
  echo "## Individual runs"
  echo
  runs_table
}
report > "$WORK/report.md"
cat "$WORK/report.md"
[ -n "$OUT" ] && cp "$WORK/report.md" "$OUT" && log "wrote $OUT"
# A peer's timeout is a result (scp's tree on a WAN link, see run_timeout);
# a FAILED run or an ftsync timeout is not.
if awk -F'\t' '$5 == "FAILED" || ($1 == "ftsync" && $5 != "ok") { bad = 1 } END { exit !bad }' "$RESULTS"; then exit 1; fi
exit 0
