#!/usr/bin/env bash
# Tests completions/ in bash, zsh and fish against the real binary: commands,
# flags, peer names, local paths, and remote paths listed by a real
# `ftsync serve` on 127.0.0.1. A missing shell is a failure, not a skip
# (.ci/deps.sh installs bash-completion, zsh and fish).
# Usage: tests/completions/run.sh path/to/ftsync
set -uo pipefail
if [[ $# -ne 1 || ! -x $1 ]]; then
  echo "usage: $0 path/to/ftsync" >&2
  exit 2
fi
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
comp=$(cd "$here/../../completions" && pwd)
bash_completion=${BASH_COMPLETION_SCRIPT:-/usr/share/bash-completion/bash_completion}

failures=0
checks=0
fail() {
  echo "FAIL: $*"
  ((failures++))
}

# --- the shells must be there ------------------------------------------------
shells=()
for sh in bash zsh fish; do
  if command -v "$sh" >/dev/null; then
    shells+=("$sh")
  else
    fail "$sh is not installed: cannot test completions/ for it (run .ci/deps.sh)"
  fi
done
if [[ ! -r $bash_completion ]]; then
  fail "bash-completion is not installed ($bash_completion missing; run .ci/deps.sh)"
  shells=("${shells[@]/bash/}")
fi

# --- two nodes: alice serves a folder, we complete as bob ----------------------
work=$(mktemp -d /tmp/ftsync-completions.XXXXXX)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/bin" "$work/cwd" "$work/local"
ln -s "$bin" "$work/bin/ftsync"
export PATH="$work/bin:$PATH"
alice() { XDG_CONFIG_HOME=$work/alice XDG_STATE_HOME=$work/alice-state ftsync "$@"; }
export XDG_CONFIG_HOME=$work/bob XDG_STATE_HOME=$work/bob-state
export LC_ALL=C.UTF-8

root=$work/root
mkdir -p "$root/docs/sub" "$root/dir with space" "$root/.hidden" "$root/other"
touch "$root/data.txt" "$root/doc file.txt" "$root/.dotfile" "$root/docs/inner.txt" "$root/café ☕.txt" \
  "$root/it's.txt"
touch "$work/local/report.txt"

alice keygen >/dev/null 2>&1 || { fail "alice keygen"; exit 1; }
ftsync keygen >/dev/null 2>&1 || { fail "bob keygen"; exit 1; }
alice trust "$(ftsync id)" --name bob >/dev/null 2>&1 || fail "alice trust bob"
# Not through the alice() function: backgrounded, a function runs in a
# subshell, $! would be that subshell, and killing it left the server running.
XDG_CONFIG_HOME=$work/alice XDG_STATE_HOME=$work/alice-state \
  ftsync --json serve --root "$root" --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.log" &
server_pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$work/serve.out" 2>/dev/null | head -1)
  [[ -n $port ]] && break
  sleep 0.1
done
if [[ -z $port ]]; then
  fail "ftsync serve did not report its port"
  cat "$work/serve.log"
  exit 1
fi
ftsync trust "$(alice id)" --name alice --address "127.0.0.1:$port" >/dev/null 2>&1 || fail "bob trust alice"
# A peer that never answers: its remote paths must come back empty, quickly.
XDG_CONFIG_HOME=$work/ghost ftsync keygen >/dev/null 2>&1
ftsync trust "$(XDG_CONFIG_HOME=$work/ghost ftsync id)" --name backup --address 127.0.0.1:9 >/dev/null 2>&1 ||
  fail "bob trust backup"

# --- one completion per shell, normalised to the words they would make --------
# bash gives what replaces readline's last word (after ':' or '='), quoted;
# put back the part before it and unquote, so all shells compare alike.
unquote() {
  local s=$1 out=
  while [[ -n $s ]]; do
    if [[ $s == \\?* ]]; then out+=${s:1:1} s=${s:2}; else out+=${s:0:1} s=${s:1}; fi
  done
  printf '%s' "$out"
}
complete_bash() {
  local line=$1 last= head= c i
  # The last word: after the last blank not escaped by a backslash.
  for ((i = 0; i < ${#line}; i++)); do
    c=${line:i:1}
    if [[ $c == \\ ]]; then last+=${line:i:2} i=$((i + 1)); elif [[ $c == [[:blank:]] ]]; then last=; else last+=$c; fi
  done
  [[ $last == *[:=]* ]] && head=$(unquote "${last%"${last##*[:=]}"}")
  while IFS= read -r c; do
    [[ $c == '#compopt '* ]] && continue
    c=${c% }
    printf '%s\n' "$head$(unquote "$c")"
  done < <(cd "$work/cwd" && timeout 30 bash "$here/bash_complete.sh" "$bash_completion" "$comp/ftsync.bash" "$line")
}
complete_zsh() {
  (cd "$work/cwd" && timeout 30 zsh "$here/zsh_complete.zsh" "$comp" "$work" "$1")
}
complete_fish() {
  (cd "$work/cwd" && timeout 30 fish --no-config -c 'source $argv[1]; complete -C $argv[2]' -- "$comp/ftsync.fish" "$1") |
    cut -f1
}
# Directories: zsh adds the '/' when inserting, bash and fish list it.
normalise() { sed 's|/$||' | LC_ALL=C sort -u; }

# expect LINE WORD... : every shell offers exactly these words for LINE.
# expect_dirs ... : the same, ignoring a trailing '/' (local directories).
check() {
  local strip=$1 line=$2
  shift 2
  local want got sh
  want=$(printf '%s\n' "$@" | sed '/^$/d' | { if ((strip)); then normalise; else LC_ALL=C sort -u; fi; })
  for sh in "${shells[@]}"; do
    [[ -n $sh ]] || continue
    ((checks++))
    got=$("complete_$sh" "$line" | { if ((strip)); then normalise; else LC_ALL=C sort -u; fi; })
    if [[ $got != "$want" ]]; then
      fail "$sh: '$line'"
      diff <(echo "$want") <(echo "$got") | sed -n 's/^</    missing:/p; s/^>/    unexpected:/p'
    fi
  done
}
expect() { check 0 "$@"; }
expect_dirs() { check 1 "$@"; }

# --- subcommands and flags ----------------------------------------------------
mapfile -t commands < <(ftsync __complete commands | cut -f1)
for c in keygen id trust untrust peers serve ping ls push pull mkdir rmdir rm mv sync status; do
  [[ " ${commands[*]} " == *" $c "* ]] || fail "ftsync __complete commands does not list $c"
done
[[ " ${commands[*]} " != *" __complete "* ]] || fail "__complete is listed as a command"
ftsync --help | grep -q __complete && fail "__complete shows in ftsync --help"
globals=(--json -v --verbose -q --quiet --config --version)
expect "ftsync " "${commands[@]}"
expect "ftsync pu" pull push
expect "ftsync --json " "${commands[@]}"
expect "ftsync push -" -h --help --bwlimit "${globals[@]}"
expect "ftsync rm -" -h --help -r -R --recursive "${globals[@]}"
expect "ftsync serve --" --help --root --listen --idle-timeout --name --bwlimit --max-sessions --json --verbose \
  --quiet --config --version
expect "ftsync keygen --f" --force
expect "ftsync -" -h --help "${globals[@]}"

# --- peer names ---------------------------------------------------------------
expect "ftsync ls " alice: backup:
expect "ftsync ls al" alice:
expect "ftsync ping " alice backup
expect "ftsync untrust b" backup
expect "ftsync trust "  # an id: nothing to offer

# --- sync pair names from config.toml ------------------------------------------
mkdir -p "$work/bob/ftsync"
printf '[sync.notes]\nfolder = "/tmp/n"\npeer = "alice:/n"\n[sync.photos]\nfolder = "/tmp/p"\npeer = "alice:/p"\n' \
  >"$work/bob/ftsync/config.toml"
expect "ftsync sync " notes photos alice: backup:
expect "ftsync sync no" notes
expect "ftsync sync --once p" photos
expect "ftsync push " alice: backup:  # pairs only where a NAME is an operand

# --- local paths --------------------------------------------------------------
expect_dirs "ftsync push $work/local/rep" "$work/local/report.txt"
expect_dirs "ftsync serve --root $work/loc" "$work/local"
expect_dirs "ftsync --config $work/local/r" "$work/local/report.txt"
expect "ftsync push $work/local/report.txt al" alice:
expect_dirs "ftsync pull alice:/data.txt $work/loc" "$work/local"

# --- remote paths, listed by the peer -----------------------------------------
expect "ftsync ls alice:/d" "alice:/data.txt" "alice:/dir with space/" "alice:/doc file.txt" "alice:/docs/"
expect "ftsync ls alice:d" "alice:data.txt" "alice:dir with space/" "alice:doc file.txt" "alice:docs/"
expect "ftsync pull alice:/docs/" "alice:/docs/inner.txt" "alice:/docs/sub/"
expect "ftsync pull alice:/." "alice:/.dotfile" "alice:/.hidden/"
expect "ftsync ls alice:/dir\\ w" "alice:/dir with space/"
expect "ftsync mv alice:/data.txt alice:/c" "alice:/café ☕.txt"
expect "ftsync rm alice:/it" "alice:/it's.txt"
expect "ftsync --json ls alice:/o" "alice:/other/"
expect "ftsync push $work/local/report.txt alice:/ot" "alice:/other/"
expect "ftsync ls alice:/nothing-here/"
expect "ftsync ls nobody:/"
start=$SECONDS
expect "ftsync ls backup:/"
((SECONDS - start <= 4 * ${#shells[@]} + 2)) || fail "completing an unreachable peer took $((SECONDS - start)) s"

# --- bash specifics: quoting, and no space after a directory or a peer ---------
if [[ " ${shells[*]} " == *" bash "* ]]; then
  ((checks++))
  raw=$(cd "$work/cwd" && bash "$here/bash_complete.sh" "$bash_completion" "$comp/ftsync.bash" "ftsync ls alice:/d")
  want=$'/data.txt \n/dir\\ with\\ space/\n/doc\\ file.txt \n/docs/\n#compopt -o nospace'
  [[ $raw == "$want" ]] || fail "bash: quoted candidates for 'ftsync ls alice:/d' were: $(printf '%q' "$raw")"
  ((checks++))
  raw=$(cd "$work/cwd" && bash "$here/bash_complete.sh" "$bash_completion" "$comp/ftsync.bash" "ftsync rm alice:/it")
  [[ $raw == $'/it\\\'s.txt \n#compopt -o nospace' ]] || fail "bash: quoting of it's.txt: $(printf '%q' "$raw")"
fi

# --- the hidden helper itself -------------------------------------------------
((checks++))
[[ $(ftsync __complete peers) == $'alice\nbackup' ]] || fail "ftsync __complete peers: $(ftsync __complete peers)"
((checks++))
out=$(ftsync __complete remote backup:/ 2>&1)
rc=$?
[[ $rc -eq 0 && -z $out ]] || fail "__complete remote on a dead peer: rc $rc, output '$out'"
((checks++))
out=$(ftsync __complete remote alice:../ 2>&1)
[[ -z $out ]] || fail "__complete remote alice:../ printed '$out'"

echo "completions: $checks checks in ${shells[*]}, $failures failed"
((failures == 0))
