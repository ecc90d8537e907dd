#!/usr/bin/env bash
# apt-install.sh TAG PACKAGE...: install the Debian packages among PACKAGE... that are not
# installed yet (one apt-get run, nothing when all are there). TAG prefixes the message.
# Shared by scripts/setup-debian.sh and cross/setup-debian.sh.
set -euo pipefail
tag=$1; shift
need=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
[ ${#need[@]} -gt 0 ] || exit 0
echo "$tag: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
