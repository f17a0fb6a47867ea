#!/usr/bin/env python3
"""test_admin_hostile: the admin surface tried as an attacker or a careless admin would. A real
wsusd on a fresh database of the test cluster (a small generated package imported), raw HTTP to
the admin API with the token from the token file: every bad field value gets a 400 naming the
field and what it must be, and nothing stored changes (approvals, settings, groups, declines,
EULAs). Then the start-up refusals: a non-loopback [admin] listen at `wsusd -n`, a token file
other users may read, a weak token; and the warning for a world-readable config file holding a
database password.
"""

import http.client
import json
import os
import subprocess
import sys

import wsustest as wt

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")
DB = "it_admin_hostile"
REV = '"revision" must be a whole number from 1 to 2147483647'


def snapshot():
    """Everything an admin change could touch."""
    return {t: wt.sql(DB, q) for t, q in (
        ("deployment", "SELECT deployment_guid, update_id, revision_number, target_group_id, "
                       "action, admin_name, dead FROM deployment ORDER BY 1"),
        ("setting", "SELECT key, value FROM setting WHERE key NOT IN ('server_id', 'cookie_key') "
                    "ORDER BY 1"),
        ("target_group", "SELECT id, name, parent_id FROM target_group ORDER BY 1"),
        ("declined_update", "SELECT update_id FROM declined_update ORDER BY 1"),
        ("accepted_eula", "SELECT eula_id FROM accepted_eula ORDER BY 1"),
    )}


def run(tmp, servers, dbs):
    wt.create_db(DB)
    dbs.append(DB)
    aport = wt.free_port()
    conf = wt.write_config(tmp, DB, admin_listen="127.0.0.1:%d" % aport)
    pkg = os.path.join(tmp, "gen.cab")
    subprocess.run([sys.executable, GEN, "--seed", "5", "--updates", "4", "--no-content",
                    "--out", pkg], check=True, capture_output=True)
    r = wt.wsusctl(conf, "import", pkg)
    if r.returncode != 0:
        raise RuntimeError("import failed: %s%s" % (r.stdout, r.stderr))
    srv = wt.Wsusd(conf).start()
    servers.append(srv)
    token = open(os.path.join(tmp, "state", "admin.token")).read().strip()
    upd = wt.sql_value(DB, "SELECT update_id FROM revision WHERE update_type = 'Software' "
                           "AND explicitly_deployable ORDER BY 1 LIMIT 1")

    def post(path, body):
        c = http.client.HTTPConnection("127.0.0.1", aport, timeout=30)
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        c.request("POST", path, body=raw, headers={"Authorization": "Bearer " + token,
                                                   "Content-Type": "application/json"})
        resp = c.getresponse()
        status, data = resp.status, resp.read()
        c.close()
        try:
            return status, json.loads(data)
        except ValueError:
            return status, {"raw": data[:200]}

    # a good approval first, so "nothing changed" compares a non-empty approval list
    st, ans = post("/api/v1/approve", {"update_id": upd, "admin": "alice"})
    wt.check(st == 200 and ans.get("update_id") == upd, "a well-formed approval is stored", ans)
    before = snapshot()

    big = "a" * 500000
    fields_approve = ('"update_id", "revision", "group", "action", "deadline", "admin"')
    cases = [
        # approvals: revision by type and range, group by type, the admin name bounded
        ("/api/v1/approve", {"update_id": upd, "revision": 1.5}, REV),
        ("/api/v1/approve", {"update_id": upd, "revision": "200"}, REV),
        ("/api/v1/approve", {"update_id": upd, "revision": 0}, REV),
        ("/api/v1/approve", {"update_id": upd, "revision": 2147483648}, REV),
        ("/api/v1/approve", {"update_id": upd, "revision": True}, REV),
        ("/api/v1/approve", {"update_id": upd, "group": 5},
         '"group" must be a string of 1 to 256 bytes on one line'),
        ("/api/v1/approve", {"update_id": upd, "group": ""},
         '"group" must be a string of 1 to 256 bytes on one line'),
        ("/api/v1/approve", {"update_id": upd, "group": ["All Computers"]},
         '"group" must be a string of 1 to 256 bytes on one line'),
        ("/api/v1/approve", {"update_id": upd, "admin": big},
         '"admin" must be a string of 1 to 256 bytes on one line'),
        ("/api/v1/approve", {"update_id": upd, "admin": "eve\nINFO forged log line"},
         '"admin" must be a string of 1 to 256 bytes on one line'),
        ("/api/v1/approve", {"update_id": upd, "action": {"x": 1}},
         '"action" must be a string of 1 to 16 bytes on one line'),
        ("/api/v1/approve", {"update_id": upd, "deadline": 20250701},
         '"deadline" must be a string of 1 to 64 bytes on one line'),
        ("/api/v1/approve", {"update_id": upd, "revison": 200},
         'unknown field "revison"; this call takes ' + fields_approve),
        ("/api/v1/approve", {"revision": 200},
         '"update_id" is missing; it must be a string of 1 to 38 bytes on one line'),
        ("/api/v1/approve", {"update_id": None},
         '"update_id" must be a string of 1 to 38 bytes on one line'),
        ("/api/v1/approve", {"update_id": 12},
         '"update_id" must be a string of 1 to 38 bytes on one line'),
        ("/api/v1/approve", b'[1, 2]', "request body is not a JSON object"),
        ("/api/v1/unapprove", {"update_id": upd, "group": 0},
         '"group" must be a string of 1 to 256 bytes on one line'),
        ("/api/v1/unapprove", {"update_id": upd, "revision": 1},
         'unknown field "revision"; this call takes "update_id", "group", "admin"'),
        ("/api/v1/decline", {"update_id": upd, "admin": big},
         '"admin" must be a string of 1 to 256 bytes on one line'),
        ("/api/v1/undecline", {"update_id": [upd]},
         '"update_id" must be a string of 1 to 38 bytes on one line'),
        ("/api/v1/accepteula", {"eula_id": upd, "admin": ""},
         '"admin" must be a string of 1 to 256 bytes on one line'),
        # groups
        ("/api/v1/groups/add", {"name": 7},
         '"name" must be a string of 1 to 256 bytes on one line'),
        ("/api/v1/groups/add", {"name": big},
         '"name" must be a string of 1 to 256 bytes on one line'),
        ("/api/v1/groups/add", {"name": "x", "parent": False},
         '"parent" must be a string of 1 to 256 bytes on one line'),
        ("/api/v1/groups/remove", {},
         '"name" is missing; it must be a string of 1 to 256 bytes on one line'),
        # settings: JSON types here, then settings.c's own rules for the value
        ("/api/v1/config", {"key": "download", "value": 42},
         '"value" must be a string of 0 to 65536 bytes on one line'),
        ("/api/v1/config", {"key": "proxy-user", "value": "a\u0000b"},  # jansson: no NUL
         "request body is not a JSON object"),
        ("/api/v1/config", {"key": "proxy-user", "value": "a\u001bb"},
         '"value" must be a string of 0 to 65536 bytes on one line'),
        ("/api/v1/config", {"key": big, "value": "x"},
         '"key" must be a string of 1 to 64 bytes on one line'),
        ("/api/v1/config", {"key": "download", "reset": "yes"}, '"reset" must be true or false'),
        ("/api/v1/config", {"key": "allowed-downstreams", "value": "10.0.0.0/33"},
         'allowed-downstreams: "10.0.0.0/33": the prefix length of an IPv4 network is 0 to 32'),
        ("/api/v1/config", {"key": "ca-file", "value": "/etc/shadow"},
         "ca-file: /etc/shadow holds no PEM certificate (-----BEGIN CERTIFICATE-----); give a "
         "CA bundle such as /etc/ssl/certs/ca-certificates.crt"),
        ("/api/v1/config", {"key": "proxy-user", "value": "u" * 2000},
         "proxy-user: the value is longer than 1024 bytes"),
        ("/api/v1/config", {"key": "account-name", "value": "a" * 60000},
         'account-name: "' + "a" * 60000),
    ]
    for path, body, msg in cases:
        st, ans = post(path, body)
        what = "%s %s" % (path, json.dumps(body)[:80] if isinstance(body, dict) else body)
        err = ans.get("error", "")
        if msg.startswith('account-name: "'):  # the message quotes the value, cut at 1023 bytes
            ok = st == 400 and err.startswith(msg[:200])
        else:
            ok = st == 400 and err == msg
        wt.expect(ok, "%s: expected 400 %r, got %d %r" % (what, msg, st, err[:300]))
    wt.check(snapshot() == before, "nothing stored changed after %d refused calls" % len(cases))
    # /etc/shadow's content never reaches an answer or the log
    shadow_root = open("/etc/shadow").read().split(":")[1] if os.access("/etc/shadow", os.R_OK) else None
    if shadow_root and len(shadow_root) > 3:
        wt.check(shadow_root not in srv.output(), "no byte of /etc/shadow in the wsusd log")
    # the good forms still work after the refusals
    st, ans = post("/api/v1/config", {"key": "allowed-downstreams", "value": "10.0.0.0/8, wsus2"})
    wt.check(st == 200 and ans.get("value") == "10.0.0.0/8,wsus2", "a valid network is stored", ans)
    wt.check(srv.stop() == 0 and srv.sanitizer_report() is None, "wsusd stops cleanly",
             srv.sanitizer_report())

    # ---- start-up refusals ----
    def wsusd_n(path):
        return subprocess.run([os.path.join(wt.BIN, "wsusd"), "-n", "-c", path],
                              capture_output=True, text=True, timeout=60)

    bad = wt.write_config(tmp, DB, name="open-admin.conf", admin_listen="0.0.0.0:%d" % aport)
    r = wsusd_n(bad)
    wt.check(r.returncode == 1 and r.stdout == "" and r.stderr ==
             "wsusd: %s: [admin] listen 0.0.0.0:%d is not a loopback address and the admin API "
             "has no TLS, so its bearer token would cross the network in clear text; set [admin] "
             "tls_cert and tls_key to serve it over HTTPS, or use 127.0.0.1:%d (reach it through "
             "ssh)\n" % (bad, aport, aport),
             "wsusd -n refuses a non-loopback admin listen", r)
    r = wt.wsusctl(bad, "groups")
    wt.check(r.returncode != 0 and "is not a loopback address" in r.stderr,
             "wsusctl refuses the same config", r)

    token_file = os.path.join(tmp, "state", "admin.token")
    os.chmod(token_file, 0o666)
    out = wt.Wsusd(conf).start_refused()
    wt.expect("Sanitizer" not in out and "runtime error:" not in out, "sanitizer report: " + out[-3000:])
    wt.check("the admin token %s can be read or written by other users (mode 0666); run chmod "
             "600 %s" % (token_file, token_file) in out, "wsusd refuses a token file mode 0666",
             out[-2000:])
    r = wt.wsusctl(conf, "groups")
    wt.check(r.returncode == 1 and "(mode 0666); run chmod 600" in r.stderr,
             "wsusctl refuses to send a token others can read", r)
    with open(token_file, "w") as f:
        f.write("6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12\n")
    os.chmod(token_file, 0o600)
    out = wt.Wsusd(conf).start_refused()
    wt.expect("Sanitizer" not in out and "runtime error:" not in out, "sanitizer report: " + out[-3000:])
    wt.check("the admin token %s is not one wsusd generates (64 hex digits, 256 random bits); "
             "delete it and restart wsusd to create a new one" % token_file in out,
             "wsusd refuses a 36-character token", out[-2000:])
    # a fresh one is generated strong and private
    os.unlink(token_file)
    srv = wt.Wsusd(conf).start()
    servers.append(srv)
    tok = open(token_file).read()
    wt.check(len(tok) == 65 and all(c in "0123456789abcdef" for c in tok[:64]) and
             (os.stat(token_file).st_mode & 0o777) == 0o600,
             "a new token is 64 hex digits (256 bits) in a 0600 file")
    wt.check(srv.stop() == 0 and srv.sanitizer_report() is None, "wsusd stops cleanly",
             srv.sanitizer_report())

    # a config every user can read, holding a database password: a warning with the fix
    leaky = wt.write_config(tmp, DB, name="leaky.conf")
    with open(leaky) as f:
        text = f.read().replace("conninfo = ", "conninfo = password=hunter2 ", 1)
    with open(leaky, "w") as f:
        f.write(text)
    os.chmod(leaky, 0o644)
    r = wsusd_n(leaky)
    wt.check(r.returncode == 0 and r.stdout == "configuration OK\n" and r.stderr ==
             "wsusd: warning: %s can be read by every user (mode 0644) and its [database] "
             "conninfo holds a password; run chown root:wsusd %s && chmod 640 %s, or move the "
             "password to ~/.pgpass of the wsusd user\n" % (leaky, leaky, leaky),
             "wsusd -n warns about a world-readable config with a password", r)
    os.chmod(leaky, 0o640)
    r = wsusd_n(leaky)
    wt.check(r.returncode == 0 and r.stderr == "", "no warning once the file is 0640", r)


wt.run_servers(run)
