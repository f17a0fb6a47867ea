"""The two threading models of the protocol listener ([server] threading, docs/content.md):
under "pool" (the default: epoll I/O threads, handlers that may wait for the database on
worker threads) and under "per-connection" wsusd serves the same bytes: a content file
whose digest is not cached yet (the lookup goes to a worker under pool), the same file again
(cache hit, served on the I/O thread), a range of it, many requests at once on keep-alive
connections while /ready (a worker) is asked too, and a 404. An unknown model is refused by
`wsusd -n` with the accepted values.
"""

import concurrent.futures
import hashlib
import http.client
import os
import subprocess
import sys

import wsustest as wt

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")
DB = "it_http_threading"


def get(port, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def many(port, paths):
    """Every path over one keep-alive connection; the statuses and bodies' SHA-1s."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    for p in paths:
        c.request("GET", p)
        r = c.getresponse()
        out.append((r.status, hashlib.sha1(r.read()).hexdigest()))
    c.close()
    return out


def serve(tmp, servers, model, files):
    conf = wt.write_config(tmp, DB, name="wsusd-%s.conf" % model,
                           server_extra="threads = 2\nthreading = %s\n" % model)
    srv = wt.Wsusd(conf).start()
    servers.append(srv)
    port = srv.listen_port()
    want_log = "epoll threads" if model == "pool" else "a thread per connection"
    wt.expect(want_log in srv.output(), "%s: the log does not name the model (%r)"
              % (model, want_log))
    url, sha1 = files[0]
    for what in ("first request (catalog lookup)", "second request (cached)"):
        st, body = get(port, url)
        wt.expect(st == 200 and hashlib.sha1(body).hexdigest() == sha1,
                  "%s: %s of %s: status %d, %d bytes" % (model, what, url, st, len(body)))
    full = body
    st, part = get(port, url, {"Range": "bytes=10-1033"})
    wt.expect(st == 206 and part == full[10:1034],
              "%s: range 10-1033: status %d, %d bytes" % (model, st, len(part)))
    paths = [u for u, _ in files] * 5
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as ex:
        jobs = [ex.submit(many, port, paths) for _ in range(4)]
        ready = [ex.submit(get, port, "/ready") for _ in range(4)]
        for j in jobs:
            got = j.result(timeout=120)
            wt.expect(got == [(200, s) for _, s in files] * 5,
                      "%s: parallel keep-alive content requests: %r" % (model, got[:4]))
        for j in ready:
            st, body = j.result(timeout=120)
            wt.expect(st == 200 and body == b"ready\n",
                      "%s: /ready while content is served: %d %r" % (model, st, body))
    st, body = get(port, "/Content/00/" + "0" * 40 + ".cab")
    wt.expect(st == 404 and body == b"not found\n",
              "%s: unknown file: %d %r" % (model, st, body))
    srv.stop()
    servers.remove(srv)


def run(tmp, servers, dbs):
    wt.create_db(DB)
    dbs.append(DB)
    conf = wt.write_config(tmp, DB)
    content = os.path.join(tmp, "gen-content")
    pkg = os.path.join(tmp, "gen.cab")
    subprocess.run([sys.executable, GEN, "--seed", "11", "--updates", "3", "--file-size",
                    "40K-300K", "--out", pkg, "--content-dir", content], check=True,
                   capture_output=True)
    r = wt.wsusctl(conf, "import", pkg, "--content", content)
    wt.check(r.returncode == 0, "import of a generated package with content", r)
    rows = wt.sql(DB, "SELECT upper(encode(sha1, 'hex')), file_name FROM file"
                      " WHERE state = 'present' ORDER BY 1 LIMIT 4")
    wt.check(len(rows) >= 2, "the package has files", rows)
    files = []
    for hexsha, name in rows:
        ext = name.rsplit(".", 1)[1] if "." in name else ""
        files.append(("/Content/%s/%s.%s" % (hexsha[38:], hexsha, ext), hexsha.lower()))
    for model in ("pool", "per-connection"):
        serve(tmp, servers, model, files)
    bad = os.path.join(tmp, "bad.conf")
    with open(bad, "w") as f:
        f.write("[server]\nthreading = epoll\n")
    r = subprocess.run([os.path.join(wt.BIN, "wsusd"), "-n", "-c", bad], capture_output=True, text=True, timeout=30)
    wt.expect(r.returncode != 0 and
              '[server] threading "epoll": expected pool or per-connection' in r.stderr,
              "an unknown threading model is refused: rc %d, %r" % (r.returncode, r.stderr))


if __name__ == "__main__":
    wt.run_servers(run)
