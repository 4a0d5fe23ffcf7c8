#!/usr/bin/env bash
# Installs the Debian 12 packages ftsync needs to build and test, only those
# that are missing. Needs root (or sudo) when something is missing.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libenet-dev libmsgpack-cxx-dev libsodium-dev libssl-dev libcli11-dev doctest-dev
  nlohmann-json3-dev libtomlplusplus-dev libsqlite3-dev
  bash-completion zsh fish
  clang libclang-rt-14-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
