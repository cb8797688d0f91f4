#!/usr/bin/env bash
# Set-up shared by `npm test` (pretest) and `npm run demo`: the docker-registry package and node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-registry.sh
# `npm install`, not `npm ci`: the lock was made from a mirror without other platforms' optional packages
# (@unrs/resolver-binding-*), which npm 11's `npm ci` insists on; `npm install` keeps the locked versions.
# Again when the lock has changed since (a pull that added a dependency, such as esbuild for the build).
[ node_modules/.package-lock.json -nt package-lock.json ] || npm install --no-audit --no-fund
