#!/usr/bin/env bash
# `cmake --install` into a temp prefix (and with DESTDIR), then checks that
# every file is where it belongs and works there: the binary runs, each
# completion loads in its shell, the man page renders without warnings and
# documents every command and flag the binary has, the example config
# parses without warnings, the systemd units name the installed binary.
# Usage: tests/install/run.sh CMAKE BUILD_DIR
set -uo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: $0 CMAKE BUILD_DIR" >&2
  exit 2
fi
cmake=$1
build=$2
work=$(mktemp -d /tmp/ftsync-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
checks=0
fail() {
  echo "FAIL: $*"
  ((failures++))
}
check() {  # check DESCRIPTION COMMAND...: the command must succeed
  local what=$1
  shift
  ((checks++))
  "$@" >/dev/null 2>&1 || fail "$what"
}

prefix=$work/prefix
if ! "$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1; then
  cat "$work/install.log"
  fail "cmake --install $build --prefix $prefix"
  exit 1
fi

files=(
  bin/ftsync
  share/bash-completion/completions/ftsync
  share/zsh/site-functions/_ftsync
  share/fish/vendor_completions.d/ftsync.fish
  share/man/man1/ftsync.1
  share/doc/ftsync/examples/README.md
  share/doc/ftsync/examples/config.toml
  share/doc/ftsync/examples/two-node-demo.sh
  share/doc/ftsync/examples/systemd/ftsync-serve.service
  share/doc/ftsync/examples/systemd/ftsync-sync@.service
)
for f in "${files[@]}"; do
  check "installed: $f" test -f "$prefix/$f"
done
check "bin/ftsync is executable" test -x "$prefix/bin/ftsync"
check "two-node-demo.sh is executable" test -x "$prefix/share/doc/ftsync/examples/two-node-demo.sh"
ftsync=$prefix/bin/ftsync
((checks++))
[[ $("$ftsync" --version) == "ftsync "[0-9]* ]] || fail "installed ftsync --version: $("$ftsync" --version 2>&1)"

# --- completions load in their shells -----------------------------------------
for sh in bash zsh fish; do
  command -v "$sh" >/dev/null || fail "$sh is not installed: cannot check its completion (run .ci/deps.sh)"
done
check "bash loads the installed completion and registers it" \
  bash -c 'source "$1" && complete -p ftsync | grep -q _ftsync' _ "$prefix/share/bash-completion/completions/ftsync"
check "zsh parses the installed _ftsync" zsh -n "$prefix/share/zsh/site-functions/_ftsync"
check "zsh's first line marks it #compdef ftsync" grep -qx '#compdef ftsync' "$prefix/share/zsh/site-functions/_ftsync"
check "fish loads the installed completion" \
  fish --no-config -c 'source $argv[1]; and complete -c ftsync | string match -q "*__ftsync*"' \
  "$prefix/share/fish/vendor_completions.d/ftsync.fish"

# --- the man page ---------------------------------------------------------------
man_page=$prefix/share/man/man1/ftsync.1
if command -v man >/dev/null; then
  MANWIDTH=80 man --warnings -l "$man_page" >"$work/man.txt" 2>"$work/man.err"
  ((checks++))
  [[ ! -s $work/man.err ]] || fail "man page warnings: $(cat "$work/man.err")"
  # Found by name through MANPATH, as `man ftsync` and systemd's
  # Documentation=man:ftsync(1) find it.
  check "man finds ftsync(1) under the prefix" env MANPATH="$prefix/share/man:" man -w ftsync
else
  fail "man is not installed: cannot check that the man page renders"
  groff -man -Tutf8 "$man_page" >"$work/man.txt" 2>/dev/null
fi
text=$(col -b <"$work/man.txt" 2>/dev/null || cat "$work/man.txt")
for section in NAME SYNOPSIS DESCRIPTION "GLOBAL OPTIONS" COMMANDS CONFIGURATION ENVIRONMENT FILES \
  "EXIT STATUS" EXAMPLES; do
  ((checks++))
  grep -q "^$section\$" <<<"$text" || fail "man page has no $section section"
done
# Every command and every flag the binary has, and every exit code.
mapfile -t commands < <("$ftsync" __complete commands | cut -f1)
((${#commands[@]} >= 14)) || fail "ftsync __complete commands listed only ${#commands[@]} commands"
for c in "${commands[@]}"; do
  ((checks++))
  grep -Eq "^ {7}$c( |$)" <<<"$text" || fail "man page does not describe command '$c' under COMMANDS"
  while IFS=$'\t' read -r flag _; do
    ((checks++))
    grep -q -- "$flag\\b" <<<"$text" || fail "man page does not mention $c's flag $flag"
  done < <("$ftsync" __complete flags "$c")
done
for code in $(sed -n 's/^inline constexpr int [a-z_]* = \([0-9]*\);.*/\1/p' "$(dirname "$0")/../../src/cli/exit_codes.hpp"); do
  ((checks++))
  grep -Eq "^ {7}$code( |$)" <<<"$text" || fail "man page does not document exit code $code"
done
for var in FTSYNC_LISTEN FTSYNC_ROOT FTSYNC_NAME FTSYNC_IDLE_TIMEOUT FTSYNC_CONNECT_TIMEOUT XDG_CONFIG_HOME \
  XDG_STATE_HOME NO_COLOR; do
  ((checks++))
  grep -q "^ \{7\}$var\$" <<<"$text" || fail "man page does not document $var under ENVIRONMENT"
done

# --- examples ---------------------------------------------------------------------
# The example config parses and knows no key the binary does not (no
# warning): `ping` reads the config first, then stops at the unknown peer.
mkdir -p "$work/xdg"
chmod 700 "$work/xdg"
((checks++))
XDG_CONFIG_HOME=$work/xdg "$ftsync" --config "$prefix/share/doc/ftsync/examples/config.toml" ping nosuch \
  >/dev/null 2>"$work/config.err"
if ! grep -q "unknown peer 'nosuch'" "$work/config.err" || grep -qi warning "$work/config.err"; then
  fail "the example config.toml is refused or gives warnings: $(cat "$work/config.err")"
fi
for unit in ftsync-serve.service ftsync-sync@.service; do
  ((checks++))
  grep -q "^ExecStart=$prefix/bin/ftsync " "$prefix/share/doc/ftsync/examples/systemd/$unit" ||
    fail "$unit: ExecStart does not name the installed binary"
done
if command -v systemd-analyze >/dev/null; then
  # An instance of the template, as systemctl would name it.
  units=$work/units
  mkdir -p "$units" "$work/run"
  chmod 700 "$work/run"
  cp "$prefix/share/doc/ftsync/examples/systemd/ftsync-serve.service" "$units/"
  cp "$prefix/share/doc/ftsync/examples/systemd/ftsync-sync@.service" "$units/ftsync-sync@home-me-Photos.service"
  ((checks++))
  if ! (cd "$units" && MANPATH="$prefix/share/man:" XDG_RUNTIME_DIR=$work/run \
    systemd-analyze --user verify ./ftsync-serve.service ./ftsync-sync@home-me-Photos.service) \
    >"$work/verify.log" 2>&1; then
    fail "systemd-analyze --user verify: $(cat "$work/verify.log")"
  fi
else
  echo "note: systemd-analyze not installed, the systemd units were not verified (systemd is optional)"
fi

# --- DESTDIR, as distribution packages install ------------------------------------
((checks++))
if DESTDIR=$work/dest "$cmake" --install "$build" --prefix /usr >/dev/null 2>&1; then
  for f in "${files[@]}"; do
    [[ -f $work/dest/usr/$f ]] || fail "DESTDIR install: $f missing"
  done
  grep -q '^ExecStart=/usr/bin/ftsync serve$' "$work/dest/usr/share/doc/ftsync/examples/systemd/ftsync-serve.service" ||
    fail "DESTDIR install: the serve unit does not name /usr/bin/ftsync"
else
  fail "DESTDIR=... cmake --install --prefix /usr"
fi

echo "install: $checks checks, $failures failed"
((failures == 0))
