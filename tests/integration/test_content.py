#!/usr/bin/env python3
"""Content endpoint and store, end to end: a real wsusd on 127.0.0.1 with a throwaway catalog
in the test cluster, files placed in its WsusContent tree and listed in the `file` table, and
real download clients (curl, wget, aria2c) plus raw HTTP for every Range edge case.
Also: `wsusctl reset` on corrupt and missing files, and the start-up refusal of a content
directory the service user cannot use.

Runs on tests/lib/wsustest.py (database, config, wsusd process, wsusctl).
"""
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import wsustest as wt  # noqa: E402

DB = "it_content"
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def psql(sql):
    return wt.sql_value(DB, sql)


class Wsusd(wt.Wsusd):
    """wsustest's wsusd with this test's config (4 threads, optional service user) and the
    paths the tests use: root, content, port."""

    def __init__(self, root, user=""):
        self.root = root
        self.content = os.path.join(root, "content")
        super().__init__(wt.write_config(root, DB, server_extra="threads = 4\nuser = %s\n" % user))
        self.port = self.listen_port()

    def stop(self):
        super().stop()
        report = self.sanitizer_report()
        assert report is None, report

    def ctl(self, *args):
        return wt.wsusctl(self.conf, *args)


def make_file(w, data, name, state="present", place=True):
    """Put data in the store as WSUS would and list it in the catalog. Returns its URL path."""
    sha1 = hashlib.sha1(data).hexdigest().upper()
    sha256 = hashlib.sha256(data).hexdigest()
    ext = name.rsplit(".", 1)[1].lower()
    if place:
        d = os.path.join(w.content, "WsusContent", sha1[38:])
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"{sha1}.{ext}"), "wb") as f:
            f.write(data)
    psql(f"INSERT INTO file (sha1, sha256, size, file_name, state) VALUES "
         f"(decode('{sha1}', 'hex'), decode('{sha256}', 'hex'), {len(data)}, '{name}', "
         f"'{state}')")
    return f"/Content/{sha1[38:]}/{sha1}.{ext}", sha1


def request(w, method, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", w.port, timeout=60)
    c.putrequest(method, path, skip_accept_encoding=True)
    for k, v in (headers or {}).items():
        c.putheader(k, v)
    c.endheaders()
    r = c.getresponse()
    body = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, hdrs, body


def parse_multipart(ctype, body):
    boundary = ctype.split("boundary=")[1].encode()
    parts = []
    for chunk in body.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.lstrip(b"\r\n").partition(b"\r\n\r\n")
        assert data.endswith(b"\r\n"), "part not followed by CRLF before the boundary"
        m = re.search(rb"Content-Range: bytes (\d+)-(\d+)/(\d+)", head)
        parts.append((int(m.group(1)), int(m.group(2)), int(m.group(3)), data[:-2]))
    return parts


# ---------------------------------------------------------------------------------------------

def setup_env(tmp):
    wt.create_db(DB)
    w = Wsusd(tmp)
    w.start()
    rnd = os.urandom(5 * 1024 * 1024 + 123)
    env = {"w": w, "big": rnd}
    env["big_path"], env["big_sha1"] = make_file(w, rnd, "windows10.0-kb5031356-x64.cab")
    # a file whose digest ends in a byte below 0x10 (one-digit folder)
    i = 0
    while True:
        small = b"small file %d\n" % i
        if hashlib.sha1(small).digest()[19] < 16:
            break
        i += 1
    env["small"] = small
    env["small_path"], env["small_sha1"] = make_file(w, small, "tiny.TXT")
    env["missing_path"], _ = make_file(w, b"never stored", "gone.exe", place=False)
    env["queued_path"], _ = make_file(w, b"stored but not present", "q.exe", state="queued")
    return env


@test
def whole_file_and_headers(env):
    w, data = env["w"], env["big"]
    st, h, body = request(w, "GET", env["big_path"])
    assert st == 200 and body == data
    assert h["content-type"] == "application/octet-stream"
    assert h["accept-ranges"] == "bytes"
    assert h["etag"] == '"%s"' % env["big_sha1"]
    assert h["content-length"] == str(len(data))
    assert "last-modified" in h and "transfer-encoding" not in h


@test
def replay_delivery_optimization_request(env):
    """The request headers a real Windows 11 Delivery Optimization client sent to a real
    WS2025 WSUS (tests/data/wsus-m0-native), aimed at our file: same response header set."""
    w, data = env["w"], env["big"]
    base = os.path.join(os.environ["WSUS_TEST_DATA"], "wsus-m0-native", "content-headers",
                        "final-range")
    req = open(os.path.join(base, "request.headers"), newline="").read().split("\r\n")
    real = open(os.path.join(base, "response.headers"), newline="").read().split("\r\n")
    headers = {}
    for line in req[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip()] = v.strip()
    first = len(data) - 272848
    headers["Range"] = f"bytes={first}-{len(data) - 1}"
    headers.pop("Host", None)
    st, h, body = request(w, "GET", env["big_path"], headers)
    assert st == 206 and body == data[first:]
    assert h["content-range"] == f"bytes {first}-{len(data) - 1}/{len(data)}"
    assert h["content-length"] == "272848"
    want = {l.split(":", 1)[0].lower() for l in real[1:] if ":" in l} - {"x-powered-by"}
    assert want <= set(h), want - set(h)


@test
def curl_single_and_multiple_ranges(env):
    w, data = env["w"], env["big"]
    url = f"http://127.0.0.1:{w.port}{env['big_path']}"
    out = subprocess.run(["curl", "-sf", "-r", "1000-1999", url], capture_output=True,
                         check=True).stdout
    assert out == data[1000:2000]
    out = subprocess.run(["curl", "-sf", "-r", "-4096", url], capture_output=True,
                         check=True).stdout
    assert out == data[-4096:]
    res = subprocess.run(["curl", "-sf", "-D", "-", "-r", "0-99,1048576-2097151,-10", url],
                         capture_output=True, check=True).stdout
    head, _, body = res.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 206")
    ctype = re.search(rb"Content-Type: (multipart/byteranges; boundary=\S+)", head).group(1)
    clen = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    assert clen == len(body)
    parts = parse_multipart(ctype.decode(), body)
    assert [(a, b) for a, b, _, _ in parts] == [(0, 99), (1048576, 2097151),
                                                  (len(data) - 10, len(data) - 1)]
    for a, b, total, chunk in parts:
        assert total == len(data) and chunk == data[a:b + 1]
    # stitching ranges fetched by curl gives back a file with the right SHA-1
    pieces = []
    for a in range(0, len(data), 1 << 20):
        b = min(a + (1 << 20), len(data)) - 1
        pieces.append(subprocess.run(["curl", "-sf", "-r", f"{a}-{b}", url],
                                     capture_output=True, check=True).stdout)
    assert hashlib.sha1(b"".join(pieces)).hexdigest().upper() == env["big_sha1"]


@test
def wget_resumes_interrupted_download(env):
    w, data = env["w"], env["big"]
    url = f"http://127.0.0.1:{w.port}{env['big_path']}"
    d = tempfile.mkdtemp()
    try:
        target = os.path.join(d, "f.cab")
        with open(target, "wb") as f:  # what an interrupted download leaves behind
            f.write(data[:1234567])
        res = subprocess.run(["wget", "-S", "-c", "-O", target, url], capture_output=True,
                             text=True)
        assert res.returncode == 0, res.stderr
        assert "206 Partial Content" in res.stderr, res.stderr
        assert f"Content-Range: bytes 1234567-{len(data) - 1}/{len(data)}" in res.stderr
        got = hashlib.sha1(open(target, "rb").read()).hexdigest().upper()
        assert got == env["big_sha1"]
    finally:
        shutil.rmtree(d)


@test
def aria2c_several_connections(env):
    w = env["w"]
    url = f"http://127.0.0.1:{w.port}{env['big_path']}"
    d = tempfile.mkdtemp()
    try:
        res = subprocess.run(["aria2c", "-q", "-x", "4", "-s", "4", "-k", "1M",
                              "--file-allocation=none", "-d", d, "-o", "f.cab", url],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr
        got = hashlib.sha1(open(os.path.join(d, "f.cab"), "rb").read()).hexdigest().upper()
        assert got == env["big_sha1"]
    finally:
        shutil.rmtree(d)


@test
def range_edge_cases(env):
    w, data, p = env["w"], env["big"], env["big_path"]
    n = len(data)
    # open range
    st, h, body = request(w, "GET", p, {"Range": f"bytes={n - 5}-"})
    assert st == 206 and body == data[-5:] and h["content-range"] == f"bytes {n - 5}-{n - 1}/{n}"
    # suffix longer than the file: whole file as 206
    st, h, body = request(w, "GET", p, {"Range": f"bytes=-{n * 2}"})
    assert st == 206 and body == data and h["content-range"] == f"bytes 0-{n - 1}/{n}"
    # last-pos past the end is clamped
    st, h, body = request(w, "GET", p, {"Range": f"bytes={n - 3}-{n * 5}"})
    assert st == 206 and body == data[-3:]
    # overlapping and adjacent ranges are coalesced into one part
    st, h, body = request(w, "GET", p, {"Range": "bytes=0-99,50-149,150-199"})
    assert st == 206 and body == data[:200] and h["content-range"] == f"bytes 0-199/{n}"
    # too many ranges: Range ignored, whole file
    many = ",".join(f"{i * 100}-{i * 100 + 1}" for i in range(17))
    st, h, body = request(w, "GET", p, {"Range": f"bytes={many}"})
    assert st == 200 and body == data
    # 16 ranges are still served, as multipart
    many = ",".join(f"{i * 100}-{i * 100 + 1}" for i in range(16))
    st, h, body = request(w, "GET", p, {"Range": f"bytes={many}"})
    assert st == 206 and len(parse_multipart(h["content-type"], body)) == 16
    # unsatisfiable
    for r in (f"bytes={n}-", f"bytes={n + 10}-{n + 20}", "bytes=-0"):
        st, h, body = request(w, "GET", p, {"Range": r})
        assert st == 416 and h["content-range"] == f"bytes */{n}", (r, st, h)
    # an unsatisfiable member next to a satisfiable one is dropped
    st, h, body = request(w, "GET", p, {"Range": f"bytes={n + 1}-,0-9"})
    assert st == 206 and body == data[:10]
    # invalid syntax or another unit: ignored
    for r in ("bytes=5-1", "bytes=abc", "items=0-1"):
        st, h, body = request(w, "GET", p, {"Range": r})
        assert st == 200 and body == data, r


@test
def if_range(env):
    w, data, p = env["w"], env["big"], env["big_path"]
    st, h, _ = request(w, "HEAD", p)
    etag, lm = h["etag"], h["last-modified"]
    st, _, body = request(w, "GET", p, {"Range": "bytes=0-9", "If-Range": etag})
    assert st == 206 and body == data[:10]
    st, _, body = request(w, "GET", p, {"Range": "bytes=0-9", "If-Range": '"0000"'})
    assert st == 200 and body == data
    st, _, body = request(w, "GET", p, {"Range": "bytes=0-9", "If-Range": "W/" + etag})
    assert st == 200
    st, _, body = request(w, "GET", p, {"Range": "bytes=0-9", "If-Range": lm})
    assert st == 206 and body == data[:10]
    st, _, body = request(w, "GET", p, {"Range": "bytes=0-9",
                                        "If-Range": "Sun, 06 Nov 1994 08:49:37 GMT"})
    assert st == 200 and body == data


@test
def conditional_get(env):
    w, data, p = env["w"], env["big"], env["big_path"]
    st, h, _ = request(w, "HEAD", p)
    etag, lm = h["etag"], h["last-modified"]
    for hdrs in ({"If-None-Match": etag}, {"If-None-Match": f'"x", W/{etag}'},
                 {"If-None-Match": "*"}, {"If-Modified-Since": lm},
                 {"If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 GMT"}):
        st, h2, body = request(w, "GET", p, hdrs)
        assert st == 304 and body == b"", hdrs
        assert h2["etag"] == etag
        assert h2.get("content-length", str(len(data))) == str(len(data))
    st, _, body = request(w, "GET", p, {"If-None-Match": '"other"'})
    assert st == 200 and body == data
    st, _, body = request(w, "GET", p, {"If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"})
    assert st == 200 and body == data
    # If-None-Match wins over If-Modified-Since
    st, _, _ = request(w, "GET", p, {"If-None-Match": '"other"', "If-Modified-Since": lm})
    assert st == 200
    st, _, _ = request(w, "GET", p, {"If-Match": '"other"'})
    assert st == 412
    st, _, _ = request(w, "GET", p, {"If-Unmodified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"})
    assert st == 412
    st, _, body = request(w, "GET", p, {"If-Match": etag, "Range": "bytes=0-0"})
    assert st == 206 and body == data[:1]


@test
def head_exact_length(env):
    w, data, p = env["w"], env["big"], env["big_path"]
    st, h, body = request(w, "HEAD", p)
    assert st == 200 and body == b"" and h["content-length"] == str(len(data))
    # Range is defined for GET only: HEAD describes the whole file
    st, h, body = request(w, "HEAD", p, {"Range": "bytes=0-9"})
    assert st == 200 and h["content-length"] == str(len(data)) and "content-range" not in h


@test
def paths(env):
    w = env["w"]
    sha1 = env["big_sha1"]
    # case-insensitive
    for path in (env["big_path"].lower(), env["big_path"].replace("Content", "CONTENT"),
                 f"/content/{sha1[38:].lower()}/{sha1}.CAB"):
        st, _, body = request(w, "GET", path)
        assert st == 200 and body == env["big"], path
    # one-digit folder for a leading-zero last byte, and the two-digit form
    s = env["small_sha1"]
    for path in (f"/Content/{s[39]}/{s}.txt", f"/Content/{s[38:]}/{s}.txt"):
        st, _, body = request(w, "GET", path)
        assert st == 200 and body == env["small"], path
    # unknown digest, known but not stored, known but not 'present', wrong extension/folder
    for path in (f"/Content/00/{'0' * 38}00.cab", env["missing_path"], env["queued_path"],
                 f"/Content/{sha1[38:]}/{sha1}.exe", f"/Content/{sha1[38:]}/{sha1}",
                 f"/Content/00/{sha1}.cab", f"/Content/{sha1[38:]}/{sha1}.cab.partial",
                 "/Content/../../etc/passwd", f"/Content/{sha1[38:]}/../{sha1[38:]}/{sha1}.cab",
                 "/Content/", "/Content/AB/"):
        st, _, _ = request(w, "GET", path)
        assert st == 404, (path, st)
    for path in (f"/Content/{sha1[38:]}/%2e%2e/%2e%2e/etc/passwd",
                 f"/Content/{sha1[38:]}/{sha1}%2Ecab", f"/Content/{sha1[38:]}%2F{sha1}.cab",
                 f"/Content/{sha1[38:]}\\..\\{sha1}.cab"):
        st, _, _ = request(w, "GET", path)
        assert st == 400, (path, st)
    st, _, _ = request(w, "POST", env["big_path"])
    assert st == 405


@test
def kept_answer_follows_the_file(env):
    """A whole-file answer is built once and kept open for the next GETs of its digest
    (content.c): served to two interleaved keep-alive connections, then the file is changed on
    disk, and the kept answer is never what is served. Quarantined (moved away): 404 at once;
    moved back: 200; replaced by other bytes (a new file renamed over it): those bytes;
    truncated in place: 404."""
    w = env["w"]
    data = os.urandom(70000)
    path, sha1 = make_file(w, data, "kept.cab")
    disk = os.path.join(w.content, "WsusContent", sha1[38:], f"{sha1}.cab")
    conns = [http.client.HTTPConnection("127.0.0.1", w.port, timeout=60) for _ in range(2)]
    for _ in range(3):
        for c in conns:
            c.request("GET", path)
            r = c.getresponse()
            assert r.status == 200 and r.read() == data
    for c in conns:
        c.close()
    qdir = os.path.join(w.content, "Quarantine")
    os.makedirs(qdir, exist_ok=True)
    moved = os.path.join(qdir, f"{sha1}.cab.1")
    os.rename(disk, moved)
    st, _, _ = request(w, "GET", path)
    assert st == 404, st
    os.rename(moved, disk)
    for _ in range(2):
        st, _, body = request(w, "GET", path)
        assert st == 200 and body == data, st
    other = os.urandom(len(data))
    with open(disk + ".new", "wb") as f:
        f.write(other)
    os.rename(disk + ".new", disk)
    for _ in range(2):
        st, _, body = request(w, "GET", path)
        assert st == 200 and body == other, st
    os.truncate(disk, 1000)
    st, _, _ = request(w, "GET", path)
    assert st == 404, st
    with open(disk, "wb") as f:  # whole again for the tests after this one (wsusctl reset)
        f.write(data)


@test
def reset_quarantines_and_queues(env):
    w = env["w"]
    good_path, good = make_file(w, os.urandom(300000), "good.cab")
    bad_path, bad = make_file(w, os.urandom(300000), "bad.cab")
    lost_path, lost = make_file(w, os.urandom(1000), "lost.psf")
    bad_file = os.path.join(w.content, "WsusContent", bad[38:], f"{bad}.cab")
    with open(bad_file, "r+b") as f:  # same size, one byte changed
        f.seek(1000)
        b = f.read(1)
        f.seek(1000)
        f.write(bytes([b[0] ^ 0xFF]))
    os.unlink(os.path.join(w.content, "WsusContent", lost[38:], f"{lost}.psf"))
    present = int(psql("SELECT count(*) FROM file WHERE state = 'present'"))
    res = w.ctl("reset", "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    out = json.loads(res.stdout)
    assert out["checked"] == present
    assert out["corrupt"] == 1 and out["missing"] == 2 and out["errors"] == 0
    assert out["ok"] == present - 3
    assert out["corrupt_files"][0]["sha1"] == bad
    assert "SHA-1 mismatch" in out["corrupt_files"][0]["detail"]
    assert {m["sha1"] for m in out["missing_files"]} == {lost, env["missing_path"][12:52]}
    assert not os.path.exists(bad_file)
    assert len([n for n in os.listdir(os.path.join(w.content, "Quarantine"))
                if n.startswith(bad)]) == 1
    for digest in (bad, lost):
        assert psql(f"SELECT state FROM file WHERE sha1 = decode('{digest}', 'hex')") == "queued"
    assert psql(f"SELECT state FROM file WHERE sha1 = decode('{good}', 'hex')") == "present"
    st, _, _ = request(w, "GET", bad_path)
    assert st == 404
    st, _, _ = request(w, "GET", good_path)
    assert st == 200
    # a second run finds everything in order; the text form says so
    res = w.ctl("reset")
    assert res.returncode == 0 and "0 corrupt, 0 missing" in res.stdout, res.stdout


def content_dir_refused(tmp):
    """A content directory the service user cannot write stops wsusd at start with a message
    naming the directory, the user and the fix. As root (CI) wsusd runs with user = nobody so
    the check applies to the service user, not to root."""
    root = os.path.join(tmp, "perm")
    os.makedirs(root)
    os.chmod(tmp, 0o711)
    os.chmod(root, 0o711)
    as_root = os.geteuid() == 0
    w = Wsusd(root, user="nobody" if as_root else "")
    os.makedirs(w.content, mode=0o755)
    os.chmod(w.content, 0o755 if as_root else 0o555)  # root-owned 755: nobody cannot write
    text = w.start_refused()
    w.stop()
    assert w.proc.returncode == 1, text
    assert f"content directory {w.content}" in text, text
    assert "missing write permission" in text, text
    assert "fix: chown -R" in text, text
    if as_root:
        assert "nobody" in text, text
    os.chmod(w.content, 0o755)


def run_all(tmp):
    """Every @test against one wsusd, then the start-up refusal; returns the failure count."""
    failed = 0
    env = None
    try:
        env = setup_env(tmp)
        for fn in TESTS:
            try:
                fn(env)
                print(f"ok   {fn.__name__}")
            except Exception as e:  # report every failure, not only the first
                failed += 1
                import traceback
                traceback.print_exc()
                print(f"FAIL {fn.__name__}: {e!r}")
        env["w"].stop()
        try:
            content_dir_refused(tmp)
            print("ok   content_dir_refused")
        except Exception as e:
            failed += 1
            import traceback
            traceback.print_exc()
            print(f"FAIL content_dir_refused: {e!r}")
    finally:
        if env:
            env["w"].stop()
    return failed


def main():
    try:
        with wt.TempDir() as tmp:
            failed = run_all(tmp)
    finally:
        wt.drop_db(DB)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
