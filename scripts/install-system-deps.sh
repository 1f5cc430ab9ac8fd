#!/usr/bin/env bash
# The system packages the test suite needs and npm cannot provide:
#   chromium      the browser project (vitest browser mode; playwright never downloads a browser here)
#   redis-server  the Redis harness (real redis-server behind the Upstash REST front)
#   python3-pymongo  pymongo 3.11, the second client that checks the MongoDB test server
#                 (test/harness/mongodb_pymongo_check.py), imported by Debian's /usr/bin/python3
# As root with apt-get, installs what is missing from Debian's packages; otherwise prints what to
# install and exits 1. Does nothing when all are present.
set -euo pipefail

missing=()
[ -x "${BURR_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# Debian's package installs into Debian's python (a pyenv python3 on PATH would not see it).
"${BURR_PYTHON:-/usr/bin/python3}" -c 'import pymongo' >/dev/null 2>&1 || missing+=(python3-pymongo)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
  exit 0
fi

echo "install-system-deps: missing ${missing[*]}." >&2
echo "  Debian/Ubuntu: sudo apt-get install -y ${missing[*]}" >&2
echo "  Or point BURR_CHROMIUM at a Chromium binary; redis-server must be on PATH;" >&2
echo "  BURR_PYTHON may name a python3 that imports pymongo." >&2
exit 1
