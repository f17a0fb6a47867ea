"""Sync over HTTPS with certificates made here with the openssl CLI (issue 10).

Certificates: a test CA, an unrelated second CA, a "Microsoft" stand-in root CA; a server
certificate for 127.0.0.1/localhost from the test CA (the upstream wsusd's https_listen), one
for another name (other.example) from the test CA, and one for 127.0.0.1 from the stand-in
root (the Microsoft Update stand-in: test_sync_windows.py's FakeWsus over HTTPS, answering from
the real WS2025 captures, reached through the test-only WSUSD_TEST_MU_URL).

Checks: an upstream whose CA is not trusted fails with a message naming the upstream, the
certificate's subject and issuer and the fix (ca-file), with no ca-file and with the wrong CA
in ca-file; the right CA in ca-file works; a certificate for another name fails naming the
names it holds and the host we asked for; Microsoft Update as the upstream with an untrusted
root names the certificate and its issuer to add, and syncs once that CA is in ca-file.
"""

import json
import os
import ssl
import subprocess
import sys
import threading

import wsustest as wt
from wsusnet import make_ca, make_cert
import test_sync_windows as win

class CategoriesOnly(win.FakeWsus):
    """The WS2025 fake serving only its real category documents (the captured updates refer
    to bundle members it cannot serve): a sync from it succeeds, and quickly."""
    docs = {k: v for k, v in win.DOC.items() if win.is_category(v)}
    unservable = []


def https_fake(cert):
    srv = win.Server(("127.0.0.1", 0), CategoriesOnly)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert[0], cert[1])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    fakes = []
    try:
        wt.run_servers(run, fakes)
    finally:
        for f in fakes:
            f.shutdown()
        os.environ.pop("WSUSD_TEST_MU_URL", None)


def range_line(conf):
    """The checkhealth line of the content check: (verdict, detail, fix) or None."""
    r = wt.wsusctl(conf, "checkhealth", timeout=120)
    lines = r.stdout.splitlines()
    for i, line in enumerate(lines):
        if line[6:].startswith("HTTP Range to the upstream's content: "):
            fix = lines[i + 1][len("      fix: "):] if (
                i + 1 < len(lines) and lines[i + 1].startswith("      fix: ")) else None
            return line[:4], line[6 + len("HTTP Range to the upstream's content: "):], fix
    return None, r.stdout + r.stderr, None


def content_url(conf, root, upstream, https_port):
    """The content URL of an https upstream: derived as http://HOST:(N-1) (here a port nobody
    listens on: the root's HTTP port is another), named by checkhealth with the setting that
    changes it; upstream-content-url set to the root's HTTP port makes it work."""
    derived = "http://127.0.0.1:%d" % (https_port - 1)
    verdict, detail, fix = range_line(conf)
    want = ("the upstream's content URL %s (derived from upstream %s; WSUS serves content over "
            "plain HTTP, on port N-1 of an https://HOST:N upstream) does not answer: GET %s/Content/"
            % (derived, upstream, derived))
    wt.check(verdict == "FAIL" and detail.startswith(want) and fix ==
             "if the upstream serves /Content/ elsewhere, set it with wsusctl config set "
             "upstream-content-url http://HOST:PORT",
             "checkhealth names the derived content URL and the setting", (verdict, detail, fix))
    r = wt.wsusctl(conf, "config", "set", "upstream-content-url", "ftp://127.0.0.1")
    wt.check(r.returncode != 0 and "upstream-content-url" in r.stdout + r.stderr,
             "upstream-content-url refuses a scheme other than http(s)", r)
    plain = "http://127.0.0.1:%d" % root.listen_port()
    r = wt.wsusctl(conf, "config", "set", "upstream-content-url", plain)
    wt.check(r.returncode == 0, "config set upstream-content-url", r)
    verdict, detail, _ = range_line(conf)
    wt.check(verdict == "PASS" and detail.startswith("GET %s/Content/" % plain),
             "with upstream-content-url the content check reaches the root", (verdict, detail))
    r = wt.wsusctl(conf, "config", "set", "upstream-content-url", "")
    wt.check(r.returncode == 0, "config set upstream-content-url back to derived", r)


def last_error(conf):
    h = json.loads(wt.wsusctl(conf, "sync", "history", "--limit", "1", "--json").stdout)[0]
    return h["result"], h["error"] or ""


def run(tmp, servers, dbs, fakes):
    ca = make_ca(tmp, "ca", "wsusd test CA")
    other_ca = make_ca(tmp, "other-ca", "unrelated test CA")
    mu_ca = make_ca(tmp, "mu-ca", "Stand-in Microsoft Root")
    srv = make_cert(tmp, "srv", "127.0.0.1", "IP:127.0.0.1,DNS:localhost", ca)
    wrong = make_cert(tmp, "wrong", "other.example", "DNS:other.example", ca)
    mu = make_cert(tmp, "mu", "sws.update.microsoft.com", "IP:127.0.0.1", mu_ca)

    os.makedirs(os.path.join(tmp, "root"))
    root_db = wt.create_db("it_synctls_root")
    dbs.append(root_db)
    https_port = wt.free_port()
    root_conf = wt.write_config(os.path.join(tmp, "root"), root_db, server_extra=(
        "https_listen = 127.0.0.1:%d\ntls_cert = %s\ntls_key = %s\n" % (https_port, srv[0],
                                                                         srv[1])))
    r = wt.wsusctl(root_conf, "import", wt.data("WSUS.cab"))
    wt.check(r.returncode == 0, "root: import of the real export", r)
    pkg, gen_content = os.path.join(tmp, "gen.cab"), os.path.join(tmp, "gen-content")
    r = subprocess.run([sys.executable, os.path.join(wt.SRC, "tests", "tools", "wsusgen.py"),
                        "--seed", "5", "--updates", "2", "--out", pkg, "--content-dir",
                        gen_content], capture_output=True, text=True)
    wt.check(r.returncode == 0, "wsusgen", r)
    r = wt.wsusctl(root_conf, "import", pkg, "--content", gen_content)
    wt.check(r.returncode == 0, "root: import of generated updates with content", r)
    root = wt.Wsusd(root_conf).start()
    servers.append(root)
    upstream = "https://127.0.0.1:%d" % https_port

    os.makedirs(os.path.join(tmp, "down"))
    db = wt.create_db("it_synctls_down")
    dbs.append(db)
    conf = wt.write_config(os.path.join(tmp, "down"), db)
    down = wt.Wsusd(conf).start()
    servers.append(down)
    for k, v in (("upstream", upstream), ("download", "none")):
        r = wt.wsusctl(conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "config set %s" % k, r)

    untrusted = ('TLS to upstream %s failed: its certificate "CN = 127.0.0.1" issued by "CN = '
                 'wsusd test CA" is not trusted here (unable to get local issuer certificate); '
                 'if that issuer is your CA, add its certificate with wsusctl config set ca-file '
                 '/path/to/ca.pem' % upstream)
    r = wt.wsusctl(conf, "sync", "now", "--wait")
    result, err = last_error(conf)
    wt.check(r.returncode == 1 and result == "failed" and untrusted in err,
             "a private CA without ca-file: the reason names subject, issuer and the fix", err)
    wt.check(untrusted in r.stdout + r.stderr, "sync now --wait prints that reason", r)

    r = wt.wsusctl(conf, "config", "set", "ca-file", other_ca[0])
    wt.check(r.returncode == 0, "config set ca-file (an unrelated CA)", r)
    r = wt.wsusctl(conf, "sync", "now", "--wait")
    result, err = last_error(conf)
    wt.check(r.returncode == 1 and untrusted in err,
             "the wrong CA in ca-file: the same reason, naming the issuer to add", err)

    # a bundle with the unrelated CA first and ours second: every certificate of it counts
    bundle = os.path.join(tmp, "bundle.pem")
    with open(bundle, "w") as f:
        f.write(open(other_ca[0]).read() + open(ca[0]).read())
    r = wt.wsusctl(conf, "config", "set", "ca-file", bundle)
    wt.check(r.returncode == 0, "config set ca-file (a bundle with the right CA)", r)
    r = wt.wsusctl(conf, "sync", "now", "--wait")
    result, err = last_error(conf)
    wt.check(r.returncode == 0 and result == "succeeded",
             "the right CA in ca-file: the sync over HTTPS works", (r, err))
    wt.check(int(wt.sql_value(db, "SELECT count(*) FROM revision")) > 0,
             "revisions arrived over HTTPS")
    content_url(conf, root, upstream, https_port)

    # a certificate for another name, from a trusted CA
    fake_wrong = https_fake(wrong)
    fakes.append(fake_wrong)
    wrong_url = "https://127.0.0.1:%d" % fake_wrong.server_address[1]
    r = wt.wsusctl(conf, "config", "set", "upstream", wrong_url)
    wt.check(r.returncode == 0, "config set upstream (certificate for another name)", r)
    r = wt.wsusctl(conf, "sync", "now", "--wait")
    result, err = last_error(conf)
    want = ('TLS to upstream %s failed: its certificate is for DNS:other.example, not for '
            '127.0.0.1 (subject "CN = other.example", issued by "CN = wsusd test CA"); set the '
            'upstream to a name the certificate holds, or give the upstream a certificate for '
            '127.0.0.1' % wrong_url)
    wt.check(r.returncode == 1 and want in err,
             "a certificate for another name: the reason names its names and our host", err)

    # Microsoft Update as the upstream (a stand-in with a root this server does not trust)
    fake_mu = https_fake(mu)
    fakes.append(fake_mu)
    mu_url = "https://127.0.0.1:%d" % fake_mu.server_address[1]
    os.makedirs(os.path.join(tmp, "mu"))
    mu_db = wt.create_db("it_synctls_mu")
    dbs.append(mu_db)
    mu_conf = wt.write_config(os.path.join(tmp, "mu"), mu_db)
    os.environ["WSUSD_TEST_MU_URL"] = mu_url
    try:
        mu_down = wt.Wsusd(mu_conf).start()
    finally:
        os.environ.pop("WSUSD_TEST_MU_URL", None)
    servers.append(mu_down)
    for k, v in (("upstream", "microsoft-update"), ("download", "none")):
        r = wt.wsusctl(mu_conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "config set %s" % k, r)
    r = wt.wsusctl(mu_conf, "sync", "now", "--wait")
    result, err = last_error(mu_conf)
    want = ('TLS to Microsoft Update (%s) failed: its certificate "CN = sws.update.microsoft.com"'
            ' issued by "CN = Stand-in Microsoft Root" is not trusted here (unable to get local '
            'issuer certificate); add the CA certificate of "CN = Stand-in Microsoft Root" to the'
            ' system store (update-ca-certificates) or with wsusctl config set ca-file '
            '/path/to/ca.pem' % mu_url)
    wt.check(r.returncode == 1 and want in err,
             "Microsoft Update with an untrusted root: the reason names the CA to add", err)
    wt.check("WSUSD_TEST_MU_URL is set: upstream microsoft-update goes to %s instead (for tests "
             "only)" % mu_url in mu_down.output(), "wsusd logs that the test override is used")
    r = wt.wsusctl(mu_conf, "config", "set", "ca-file", mu_ca[0])
    wt.check(r.returncode == 0, "config set ca-file (the stand-in root)", r)
    r = wt.wsusctl(mu_conf, "sync", "now", "--wait")
    result, err = last_error(mu_conf)
    wt.check(r.returncode == 0 and result == "succeeded",
             "with its root in ca-file, the sync from the Microsoft Update stand-in works",
             (r, err))
    stored = int(wt.sql_value(mu_db, "SELECT count(*) FROM revision"))
    wt.check(stored == len(CategoriesOnly.docs), "every served document arrived (%d of %d)" % (
        stored, len(CategoriesOnly.docs)))
    for s in servers:
        s.stop()
        wt.check(s.sanitizer_report() is None, "wsusd ran clean (no sanitizer report)",
                 s.sanitizer_report())


if __name__ == "__main__":
    main()
