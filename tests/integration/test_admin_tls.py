"""The admin listener over HTTPS (issue 15): [admin] tls_cert and tls_key.

Certificates are made here with the openssl CLI. `wsusd -n` accepts a non-loopback [admin]
listen (0.0.0.0) once tls_cert and tls_key are set, and refuses a tls_cert without its key
(the plain-HTTP refusal is in test_admin_hostile). 127.0.0.0/8 is loopback for wsusd (#8), so
the serving part runs on 127.0.0.1 with TLS, the same code path as any address: plain HTTP gets
no answer, the console and the API answer over HTTPS and still want the token (401 without,
a login gives an HttpOnly Secure cookie), and wsusctl talks to it over HTTPS, pinned to the key
of [admin] tls_cert: a configuration naming another certificate is refused with the fix.
About 5 s.
"""
import http.client
import json
import os
import ssl
import subprocess

import wsustest as wt
from wsusnet import make_ca, make_cert

DB = "it_admin_tls"


def wsusd_n(path):
    return subprocess.run([os.path.join(wt.BIN, "wsusd"), "-n", "-c", path],
                          capture_output=True, text=True, timeout=60)


def tls_conf(tmp, name, admin_listen, cert, key):
    extra = "[admin]\nconsole_dir = %s\n" % os.path.join(wt.SRC, "console") + ("tls_cert = %s\n" % cert if cert else "") + \
        ("tls_key = %s\n" % key if key else "")
    return wt.write_config(tmp, DB, name=name, admin_listen=admin_listen, extra=extra)


def run(tmp, servers, dbs):
    wt.create_db(DB)
    dbs.append(DB)
    ca = make_ca(tmp, "ca", "wsusd admin test CA")
    cert, key = make_cert(tmp, "admin", "127.0.0.1", "IP:127.0.0.1,DNS:localhost", ca)
    other, other_key = make_cert(tmp, "other", "127.0.0.1", "IP:127.0.0.1", ca)
    aport = wt.free_port()

    # ---- start-up checks ----
    r = wsusd_n(tls_conf(tmp, "open-tls.conf", "0.0.0.0:%d" % aport, cert, key))
    wt.check(r.returncode == 0 and r.stdout == "configuration OK\n",
             "wsusd -n accepts a non-loopback admin listen with tls_cert and tls_key", r)
    half = tls_conf(tmp, "half.conf", "0.0.0.0:%d" % aport, cert, None)
    r = wsusd_n(half)
    wt.check(r.returncode == 1 and r.stderr ==
             "wsusd: %s: [admin] tls_cert and tls_key go together; set both to PEM files (or "
             "neither)\n" % half, "wsusd -n refuses tls_cert without tls_key", r)

    # ---- serving over HTTPS ----
    conf = tls_conf(tmp, "wsusd.conf", "127.0.0.1:%d" % aport, cert, key)
    srv = wt.Wsusd(conf)
    servers.append(srv)
    srv.start()
    token = open(os.path.join(tmp, "state", "admin.token")).read().strip()

    # plain HTTP: no HTTP answer, so no token or cookie ever goes over it in clear text
    got = None
    try:
        c = http.client.HTTPConnection("127.0.0.1", aport, timeout=10)
        c.request("GET", "/api/v1/status", headers={"Authorization": "Bearer " + token})
        got = c.getresponse().status
    except (OSError, http.client.HTTPException):
        pass
    wt.check(got is None, "plain HTTP to the TLS admin listener gets no HTTP answer", got)

    ctx = ssl.create_default_context(cafile=ca[0])

    def https(method, path, body=None, headers=None):
        c = http.client.HTTPSConnection("127.0.0.1", aport, timeout=30, context=ctx)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r, data

    r, data = https("GET", "/console/")
    wt.check(r.status == 200 and b"wsusd console" in data and
             "default-src 'none'" in (r.getheader("Content-Security-Policy") or ""),
             "the console page over HTTPS, with its CSP", (r.status, data[:200]))
    r, data = https("GET", "/api/v1/groups")
    wt.check(r.status == 401, "the API over HTTPS still wants the token (401 without)", r.status)
    r, data = https("POST", "/console/login", json.dumps({"token": "0" * 64}),
                    {"Content-Type": "application/json"})
    wt.check(r.status == 401 and r.getheader("Set-Cookie") is None,
             "a wrong token over HTTPS: 401, no cookie", (r.status, data))
    r, data = https("POST", "/console/login", json.dumps({"token": token}),
                    {"Content-Type": "application/json"})
    cookie = r.getheader("Set-Cookie") or ""
    wt.check(r.status == 200 and cookie.startswith("wsusd_session=") and
             cookie.endswith("; Path=/; HttpOnly; SameSite=Strict; Secure"),
             "a login over HTTPS sets an HttpOnly, Secure session cookie", (r.status, cookie))
    r, data = https("GET", "/api/v1/groups", headers={"Cookie": cookie.split(";")[0]})
    names = [g["name"] for g in json.loads(data).get("groups", [])] if r.status == 200 else []
    wt.check("All Computers" in names, "the session reads the API over HTTPS", (r.status, data))

    # wsusctl over HTTPS, pinned to the key of [admin] tls_cert
    r = wt.wsusctl(conf, "groups")
    wt.check(r.returncode == 0 and "All Computers" in r.stdout, "wsusctl works over HTTPS", r)
    wrong = tls_conf(tmp, "wrong.conf", "127.0.0.1:%d" % aport, other, other_key)
    with open(wrong) as f:  # the same state_dir, so the same token: only the key differs
        assert "state_dir = %s" % os.path.join(tmp, "state") in f.read()
    r = wt.wsusctl(wrong, "groups")
    wt.check(r.returncode == 1 and r.stderr ==
             "wsusctl: the server on 127.0.0.1:%d does not hold the key of [admin] tls_cert; "
             "pass -c with the configuration file of the wsusd listening there\n" % aport,
             "wsusctl refuses a server that does not hold the pinned key", r)
    wt.check(srv.stop() == 0 and srv.sanitizer_report() is None, "wsusd stops cleanly",
             srv.sanitizer_report())


wt.run_servers(run)
