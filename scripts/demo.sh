#!/usr/bin/env bash
# npm run demo: a throwaway local registry, sample images, cleanreg in dry-run then for real, before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run build --silent
exec node scripts/demo.mjs "$@"
