#!/usr/bin/env bash
# Makes sure the Debian `docker-registry` package (distribution 2.8) is installed: installs it when root,
# otherwise prints the exact command and fails.
set -euo pipefail
if command -v docker-registry >/dev/null 2>&1 && command -v htpasswd >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" -eq 0 ]; then
  echo "Installing docker-registry, apache2-utils and openssl with apt-get..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry apache2-utils openssl >/dev/null
else
  echo "docker-registry is missing. Install it with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y docker-registry apache2-utils openssl" >&2
  exit 1
fi
