#!/usr/bin/env bash
# Install every Debian 12 package wsusd needs to build, run and test. Idempotent; needs root.
set -euo pipefail
pkgs=(build-essential cmake pkg-config git clang clang-format
      libmicrohttpd-dev libcurl4-openssl-dev libpq-dev libxml2-dev libxml2-utils libssl-dev
      libcmocka-dev libmspack-dev libgcab-dev gcab libjansson-dev libinih-dev
      postgresql postgresql-client python3 curl wget aria2 cabextract nginx-light wrk squid haproxy
      chromium chromium-driver python3-selenium prometheus)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts a default cluster, nginx, squid, haproxy and prometheus on install; wsusd
    # and the tests use their own.
    systemctl disable --now postgresql nginx squid haproxy prometheus >/dev/null 2>&1 || true
    echo "install-deps: installed ${#missing[@]} package(s): ${missing[*]}"
else
    echo "install-deps: all ${#pkgs[@]} packages already installed"
fi
