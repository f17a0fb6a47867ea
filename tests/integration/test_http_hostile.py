#!/usr/bin/env python3
"""test_http_hostile: connection exhaustion and bodies refused from their headers, against a
real wsusd on loopback (raw sockets, so every byte on the wire is ours).

- From 127.0.0.1, 2,000 connections on each port (protocol and admin), half idle, half
  slowloris (a header byte every half second). A fresh client from 127.0.0.2 is still served
  on both ports (a real content GET, a real SOAP call, an authenticated admin request), and
  wsusctl (from 127.0.0.1 itself) still works. Every held connection is closed by the server
  after the header deadline; a body dripped as slowly is cut at the body deadline; a
  keep-alive connection left idle is closed too.
- Bodies: a 100 MB Content-Length is answered 413 from the headers (no "100 Continue", before
  a body byte is sent); an admin request without the token is answered 401 the same way (a
  request with the token does get "100 Continue"); two Content-Length headers, or one with
  Transfer-Encoding, are 400; an endless chunked body is cut at the limit.
- A NUL byte (or another control byte) in a content path is 400, not the file.

Runs on tests/lib/wsustest.py (database, config, wsusd process, wsusctl).
"""
import hashlib
import os
import resource
import select
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import wsustest as wt  # noqa: E402

HEADER_TIMEOUT = 2
KEEPALIVE_TIMEOUT = 2
BODY_TIMEOUT = 2
MAX_BODY = 65536
PER_ADDRESS = 50
FLOOD = 2000  # connections per port
HANG = 15  # seconds: an answer later than this is a hang (the bug: 300 s or never)

SYNC_PATH = "/ServerSyncWebService/ServerSyncWebService.asmx"
AUTH_PATH = "/DssAuthWebService/DssAuthWebService.asmx"
GET_AUTH_CONFIG = ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope '
                   'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
                   '<GetAuthConfig xmlns="http://www.microsoft.com/SoftwareDistribution"/>'
                   '</soap:Body></soap:Envelope>')
ADMIN_401 = (b'{"error":"missing or wrong admin token; wsusctl reads it from [admin] token_file '
             b'(run it as a user who can read that file)"}')


def connect(port, src="127.0.0.1", timeout=HANG):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(src, 0))


def read_all(s):
    """Everything the server sends until it closes (or resets) the connection; what came
    before a hang (HANG seconds without a byte) followed by b"<no answer>"."""
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except ConnectionResetError:
        pass
    except TimeoutError:
        out += b"<no answer>"
    return out


def exchange(port, raw, src="127.0.0.1"):
    """Send raw (a whole request with Connection: close), return the whole answer."""
    try:
        with connect(port, src) as s:
            s.sendall(raw)
            return read_all(s)
    except OSError as e:
        return b"<%s>" % str(e).encode()


def status(answer):
    line = answer.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[0].startswith(b"HTTP/") else None


def body_of(answer):
    return answer.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in answer else b""


def get(path, extra=b""):
    return b"GET %s HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n\r\n" % (path, extra)


def post_headers(path, length, extra=b""):
    return (b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: text/xml; charset=utf-8\r\n"
            b"Content-Length: %d\r\n%s\r\n" % (path, length, extra))


class Flood:
    """FLOOD connections to port from 127.0.0.1: even ones idle, odd ones slowloris."""

    SLOW = b"GET /Content/ HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"a" * 4000

    def __init__(self, ports):
        self.socks = []
        for port in ports:
            for i in range(FLOOD):
                s = socket.socket()
                s.setblocking(False)
                try:
                    s.connect(("127.0.0.1", port))
                except BlockingIOError:
                    pass
                self.socks.append((s, i % 2 == 1))
        self.stop = threading.Event()
        self.drip = threading.Thread(target=self._drip, daemon=True)
        self.drip.start()

    def _drip(self):
        pos = 0
        while not self.stop.wait(0.5):
            for s, slow in self.socks:
                if slow and s.fileno() >= 0:
                    try:
                        s.send(self.SLOW[pos % len(self.SLOW):pos % len(self.SLOW) + 1])
                    except OSError:
                        pass
            pos += 1

    def wait_closed(self, seconds):
        """Wait (bounded) until the server closed every connection; returns how many it left
        open."""
        open_ = {s.fileno(): s for s, _ in self.socks}
        poller = select.poll()
        for fd in open_:
            poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
        end = time.monotonic() + seconds
        while open_ and time.monotonic() < end:
            for fd, _ in poller.poll(200):
                s = open_.get(fd)
                if s is None:
                    continue
                try:
                    data = s.recv(65536)
                except (ConnectionResetError, BlockingIOError, OSError) as e:
                    data = b"" if not isinstance(e, BlockingIOError) else None
                if data == b"":
                    poller.unregister(fd)
                    del open_[fd]
        return len(open_)

    def close(self):
        self.stop.set()
        self.drip.join()
        for s, _ in self.socks:
            s.close()


def place_file(w, data, name):
    sha1 = hashlib.sha1(data).hexdigest().upper()
    ext = name.rsplit(".", 1)[1]
    d = os.path.join(w.root, "content", "WsusContent", sha1[38:])
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "%s.%s" % (sha1, ext)), "wb") as f:
        f.write(data)
    wt.sql(w.db, "INSERT INTO file (sha1, size, file_name, state) VALUES "
           "(decode('%s', 'hex'), %d, '%s', 'present')" % (sha1, len(data), name))
    return ("/Content/%s/%s.%s" % (sha1[38:], sha1, ext)).encode()


def check_fresh_clients(w, url, data, when):
    """The protocol port serves content and SOAP to 127.0.0.2, the admin port answers it with
    the token, and wsusctl (127.0.0.1) works."""
    a = exchange(w.port, get(url), src="127.0.0.2")
    wt.expect(status(a) == 200 and body_of(a) == data,
              "%s: content GET from 127.0.0.2 answered %r, expected 200 with the file" %
              (when, a[:80]))
    body = GET_AUTH_CONFIG.encode()
    a = exchange(w.port, post_headers(SYNC_PATH.encode(), len(body),
                                      b'SOAPAction: "http://www.microsoft.com/SoftwareDistribution/'
                                      b'GetAuthConfig"\r\nConnection: close\r\n') + body,
                 src="127.0.0.2")
    wt.expect(status(a) == 200 and b"GetAuthConfigResult" in a,
              "%s: SOAP GetAuthConfig from 127.0.0.2 answered %r, expected 200 with a result" %
              (when, a[:200]))
    a = exchange(w.aport, get(b"/api/v1/groups", b"Authorization: Bearer %s\r\n" % w.token),
                 src="127.0.0.2")
    wt.expect(status(a) == 200 and b"All Computers" in a,
              "%s: admin GET /api/v1/groups from 127.0.0.2 answered %r, expected 200" %
              (when, a[:200]))
    r = wt.wsusctl(w.conf, "groups", timeout=HANG)
    wt.expect(r.returncode == 0 and "All Computers" in r.stdout,
              "%s: wsusctl groups (from 127.0.0.1) failed: %r %r" % (when, r.stdout, r.stderr))


def test_flood(w, url, data):
    check_fresh_clients(w, url, data, "before the flood")
    flood = Flood([w.port, w.aport])
    try:
        time.sleep(1)  # let the server take them all and the slow ones start dripping
        check_fresh_clients(w, url, data, "under %d idle and slow connections per port" % FLOOD)
        left = flood.wait_closed(HEADER_TIMEOUT + HANG)
        wt.check(left == 0, "the server closed all %d idle and slowloris connections after the "
                 "header deadline (%d left open)" % (len(flood.socks), left))
    finally:
        flood.close()
    wt.check("admin: " in w.output() and "closing the ones that waited longest without a request"
             in w.output(), "the admin listener logged that it evicted waiting connections")
    check_fresh_clients(w, url, data, "after the flood")


def drip(port, head, payload):
    """Send head, then payload a byte every 0.3 s from 127.0.0.3; seconds until the server
    closed the connection, or None if it never did."""
    s = connect(port, src="127.0.0.3")
    closed = None
    start = time.monotonic()
    s.sendall(head)
    for b in payload:
        try:
            s.send(bytes([b]))
        except OSError:
            closed = time.monotonic() - start
            break
        r, _, _ = select.select([s], [], [], 0.3)
        try:
            if r and s.recv(100) == b"":
                closed = time.monotonic() - start
                break
        except ConnectionResetError:
            closed = time.monotonic() - start
            break
    s.close()
    return closed


def test_deadlines(w):
    """A slowloris from an address of its own is closed at the header deadline although it
    keeps sending, a body sent as slowly at the body deadline; a keep-alive connection left
    idle is closed after keepalive_timeout."""
    closed = drip(w.port, b"", b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 200)
    wt.check(closed is not None and closed < HEADER_TIMEOUT + HANG,
             "a slowloris sending a header byte every 0.3 s was closed at the header deadline "
             "(after %s s)" % closed)
    closed = drip(w.port, post_headers(AUTH_PATH.encode(), 200), b"a" * 200)
    wt.check(closed is not None and closed < BODY_TIMEOUT + HANG,
             "a body sent a byte every 0.3 s was cut at the body deadline (after %s s)" % closed)

    with connect(w.port, src="127.0.0.3") as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(4096)
        wt.check(status(head) == 200, "a keep-alive GET / is answered 200")
        s.settimeout(KEEPALIVE_TIMEOUT + HANG)
        rest = read_all(s)  # the small body, then the close
        wt.check(len(rest) < 4096, "the idle keep-alive connection was closed by the server")


def test_bodies(w):
    big = 100 * 1024 * 1024
    # 100 MB declared: 413 at once, before a body byte is sent, no 100 Continue
    for extra in (b"", b"Expect: 100-continue\r\n"):
        with connect(w.port) as s:
            s.sendall(post_headers(SYNC_PATH.encode(), big, extra))
            a = read_all(s)
        wt.expect(status(a) == 413 and b"100 Continue" not in a and
                  body_of(a) == b"request body larger than %d bytes\n" % MAX_BODY,
                  "100 MB Content-Length (%r) answered %r, expected 413 without 100 Continue" %
                  (extra, a[:200]))
    with connect(w.aport) as s:
        s.sendall(post_headers(b"/api/v1/config", big, b"Expect: 100-continue\r\n"))
        a = read_all(s)
    wt.expect(status(a) == 413 and b"100 Continue" not in a,
              "admin: 100 MB Content-Length answered %r, expected 413" % a[:200])
    # admin without the token: 401 from the headers, no 100 Continue
    for extra in (b"", b"Expect: 100-continue\r\n", b"Authorization: Bearer 00\r\n"):
        with connect(w.aport) as s:
            s.sendall(post_headers(b"/api/v1/config", 2000, extra))
            a = read_all(s)
        wt.expect(status(a) == 401 and b"100 Continue" not in a and body_of(a) == ADMIN_401,
                  "admin POST without a valid token (%r), body not sent, answered %r, expected "
                  "401" % (extra, a[:300]))
    # with the token the same request is invited to send its body (the check is not blanket)
    body = b'{"settings": {}}'
    with connect(w.aport) as s:
        s.sendall(post_headers(b"/api/v1/config", len(body),
                               b"Expect: 100-continue\r\nAuthorization: Bearer %s\r\n"
                               b"Connection: close\r\n" % w.token))
        first = s.recv(100)
        wt.expect(first.startswith(b"HTTP/1.1 100 Continue"),
                  "admin POST with the token and Expect got %r, expected 100 Continue" % first)
        s.sendall(body)
        read_all(s)
    # framing: two Content-Length headers (conflicting or equal), Content-Length + chunked
    for what, hdrs, msg in (
            ("conflicting", b"Content-Length: 5\r\nContent-Length: 7\r\n",
             b"more than one Content-Length header; send exactly one\n"),
            ("equal", b"Content-Length: 5\r\nContent-Length: 5\r\n",
             b"more than one Content-Length header; send exactly one\n"),
            ("with chunked", b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
             b"both Content-Length and Transfer-Encoding; send one of them\n")):
        a = exchange(w.port, b"POST %s HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n\r\nhello" %
                     (AUTH_PATH.encode(), hdrs))
        wt.expect(status(a) == 400 and body_of(a) == msg,
                  "Content-Length %s answered %r, expected 400 %r" % (what, a[:200], msg))
    # an endless chunked body is cut at the limit: the server closes, the sender stops
    with connect(w.port) as s:
        s.sendall(b"POST %s HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" %
                  AUTH_PATH.encode())
        sent, chunk = 0, b"1000\r\n" + b"a" * 4096 + b"\r\n"
        try:
            while sent < 50 * MAX_BODY:
                s.sendall(chunk)
                sent += 4096
        except OSError:
            pass
    wt.expect(sent < 50 * MAX_BODY, "an endless chunked body was still read after %d bytes" % sent)
    wt.expect("chunked request body for %s over the %d-byte limit; connection closed" %
              (AUTH_PATH, MAX_BODY) in w.output(), "no log line for the chunked body cut")


def test_control_bytes(w, url, data):
    a = exchange(w.port, get(url))
    wt.check(status(a) == 200 and body_of(a) == data, "the content file is served by its path")
    for what, path, msg in (
            ("a NUL byte", url[:-4] + b".msu\x00.txt", b"request path contains a NUL byte\n"),
            ("a NUL byte before a query", url + b"\x00x?a=b", b"request path contains a NUL byte\n"),
            ("%00", url + b"%00.txt", None), ("a raw 0x01", url[:-4] + b"\x01.msu", None),
            ("a raw 0x7f", url + b"\x7f", None), ("%7F", url + b"%7F", None)):
        a = exchange(w.port, get(path))
        wt.expect(status(a) == 400 and (msg is None or body_of(a) == msg),
                  "content path with %s answered %r, expected 400" % (what, a[:200]))
    a = exchange(w.port, get(url + b"?x=1"))
    wt.check(status(a) == 200 and body_of(a) == data, "a query after the path still serves the file")


def run(tmp, servers, dbs):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * FLOOD + 512
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    db = wt.create_db("it_http_hostile")
    dbs.append(db)
    conf = wt.write_config(tmp, db, server_extra=(
        "threads = 4\nmax_request_bytes = %d\nmax_connections = 400\n"
        "max_connections_per_address = %d\nheader_timeout = %d\nkeepalive_timeout = %d\n"
        "body_timeout = %d\n" % (MAX_BODY, PER_ADDRESS, HEADER_TIMEOUT, KEEPALIVE_TIMEOUT,
                                 BODY_TIMEOUT)))
    w = wt.Wsusd(conf)
    servers.append(w)
    w.start()
    w.root, w.db = tmp, db
    w.port, w.aport = w.listen_ports()
    with open(os.path.join(tmp, "state", "admin.token"), "rb") as f:
        w.token = f.read().strip()
    data = os.urandom(3000)
    url = place_file(w, data, "windows10.0-kb1-x64.msu")

    test_control_bytes(w, url, data)
    test_bodies(w)
    test_deadlines(w)
    test_flood(w, url, data)
    wt.check(w.proc.poll() is None, "wsusd still runs")
    w.stop()
    report = w.sanitizer_report()
    wt.check(report is None, "no sanitizer report", report)


if __name__ == "__main__":
    wt.run_servers(run)
