#!/usr/bin/env bash
# Set-up shared by `npm test` (pretest) and `npm run demo`: the docker-registry package and node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-registry.sh
[ -d node_modules/.bin ] || npm ci --no-audit --no-fund
