#!/usr/bin/env bash
# Installs what is missing (Debian packages), builds ftsync, and runs the
# two-node demo: two nodes on this machine, talking over 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")"
.ci/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target ftsync
exec examples/two-node-demo.sh "$PWD/build/ftsync"
