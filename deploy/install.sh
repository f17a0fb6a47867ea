#!/usr/bin/env bash
# Install wsusd as a service on Debian 12: packages, build, binaries in /usr/local/bin, the
# web console under /usr/local/share/wsusd/console, the wsusd system user, /etc/wsusd/wsusd.conf (root:wsusd 0640; an existing one is kept, made
# unreadable to others), the systemd unit. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
install -m 0755 build/bin/wsusd build/bin/wsusctl /usr/local/bin/
# the web console's static files, where wsusd looks by default (WSUSD_CONSOLE_DIR)
install -d /usr/local/share/wsusd/console/js
install -m 0644 console/*.html console/*.css /usr/local/share/wsusd/console/
install -m 0644 console/js/*.js /usr/local/share/wsusd/console/js/
id wsusd >/dev/null 2>&1 || adduser --system --group --home /var/lib/wsusd --no-create-home wsusd
install -d -o wsusd -g wsusd -m 0750 /var/lib/wsusd /var/lib/wsusd/content
# [database] conninfo may hold a password: the config is root:wsusd 0640, never world-readable
install -d -m 0755 /etc/wsusd
if [ -f /etc/wsusd/wsusd.conf ]; then
    if [ -n "$(find /etc/wsusd/wsusd.conf -perm /o=rwx)" ]; then
        chgrp wsusd /etc/wsusd/wsusd.conf && chmod 0640 /etc/wsusd/wsusd.conf
        echo "/etc/wsusd/wsusd.conf was readable by every user; it is now root:wsusd 0640"
    fi
else
    install -o root -g wsusd -m 0640 deploy/wsusd.conf.sample /etc/wsusd/wsusd.conf
fi
install -m 0644 deploy/wsusd.service /etc/systemd/system/wsusd.service
install -d /usr/share/doc/wsusd && install -m 0644 docs/*.md /usr/share/doc/wsusd/
systemctl daemon-reload
echo "installed. Edit /etc/wsusd/wsusd.conf (wsusd -n checks it), then: systemctl enable --now wsusd"
echo "Note: with [database] conninfo empty the service runs a private PostgreSQL under /var/lib/wsusd/pg;"
echo "as the wsusd user that needs no root. For production point conninfo at a PostgreSQL 15 server."
