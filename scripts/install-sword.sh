#!/usr/bin/env bash
# Install the SWORD tools and Bible modules that corpora/bible.py reads.
# Idempotent: does nothing when the packages are already installed, and runs
# `apt-get update` only when installing from the current package lists fails.
set -euo pipefail

packages=(sword-text-web sword-text-sparv libsword-utils)

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$pkg")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-sword: already installed: ${packages[*]}"
    exit 0
fi

apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q)
if [ "$(id -u)" -ne 0 ]; then
    apt=(sudo "${apt[@]}")
fi

echo "install-sword: installing ${missing[*]}"
if ! "${apt[@]}" install --no-install-recommends "${missing[@]}"; then
    "${apt[@]}" update
    "${apt[@]}" install --no-install-recommends "${missing[@]}"
fi
