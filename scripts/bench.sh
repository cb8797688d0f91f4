#!/usr/bin/env bash
# npm run bench [-- --repos N --tags N -w N | --shape default|few-large|many-small|other|all] (see --help)
# Installs what it needs (as root: docker-registry, wrk, GNU time), builds cleanreg and the bench, and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[bench] installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    echo "[bench] missing ${missing[*]}: install them (Debian: sudo apt-get install ${missing[*]})" >&2
    exit 2
  fi
fi

# npm install, not npm ci: see .ci/run
# Again when the lock has changed since (a pull that added a dependency, such as esbuild for the build).
[ node_modules/.package-lock.json -nt package-lock.json ] || npm install --no-audit --no-fund
npm run --silent build
node_modules/.bin/tsc -p bench/tsconfig.json
exec node bench/dist/bench/src/main.js "$@"
