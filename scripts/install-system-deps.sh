#!/usr/bin/env bash
# Installs the Debian packages the tests need (as root; a no-op for packages already installed):
# Python Beaker and PasteDeploy as the reference oracle, and the servers that are not on every machine.
set -euo pipefail

PACKAGES=(python3-beaker python3-pastedeploy python3-cryptography python3-pycryptodome memcached redis-server nats-server chromium)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system packages missing: ${missing[*]} (run this script as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "system packages: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
