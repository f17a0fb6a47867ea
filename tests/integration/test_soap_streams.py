"""Streamed SOAP answers and the busy paths of the pool threading model (docs/content.md,
threading): a GetRevisionIdList answer over the 256 KiB stream buffer arrives whole and
byte-identical, fast or read after a long pause; slow readers from one address (127.0.0.2) hold
at most two streams (the third is refused at once: 503, Retry-After, the exact message) and do
not starve another address's calls; a stream whose reader reads nothing for [server]
idle_timeout is ended and its slot freed; and when every worker is held (the catalog locked by
the test), a call that waited 10 s in the queue gets 503 with Retry-After and the exact message.
"""

import concurrent.futures
import http.client
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import wsusgen  # noqa: E402
import wsussoap as w  # noqa: E402
from wsussoap import check  # noqa: E402

SLOW = "127.0.0.2"
HANG = 120  # a bound that only catches a hang


def envelope(op, inner, ns=w.NS):
    return ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="%s"><soap:Body>'
            '<%s xmlns="%s">%s</%s></soap:Body></soap:Envelope>' % (w.ENV, op, ns, inner, op)
            ).encode("utf-8")


def raw_request(port, body, action):
    return ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: text/xml; charset=utf-8\r\n"
            "SOAPAction: \"%s\"\r\nContent-Length: %d\r\n\r\n"
            % (w.SYNC_PATH, port, action, len(body))).encode() + body


def open_slow(port, req):
    """A connection from 127.0.0.2 with a small receive buffer that sends req and reads only
    the answer's status line and headers, then stops reading. (socket, status, rest read)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(HANG)
    s.bind((SLOW, 0))
    s.connect(("127.0.0.1", port))
    s.sendall(req)
    got = b""
    while b"\r\n\r\n" not in got:
        b = s.recv(1)
        if not b:
            break
        got += b
    status = int(got.split(b" ", 2)[1]) if got.startswith(b"HTTP/1.1 ") else 0
    return s, status, got


def read_rest(s):
    """What the server sends until it closes the connection or the chunked body ends."""
    out = b""
    try:
        while not out.endswith(b"\r\n0\r\n\r\n"):
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    return out


def dechunk(data):
    """The body of a chunked transfer, or None when it is not whole."""
    out, i = b"", 0
    while True:
        j = data.find(b"\r\n", i)
        if j < 0:
            return None
        n = int(data[i:j].split(b";")[0], 16)
        if n == 0:
            return out
        if len(data) < j + 2 + n + 2:
            return None
        out += data[j + 2:j + 2 + n]
        i = j + 2 + n + 2


def same(a, b):
    """Two GetRevisionIdList answers byte for byte, but for the anchor's time."""
    return re.sub(rb"<Anchor>[^<]*</Anchor>", b"", a) == re.sub(rb"<Anchor>[^<]*</Anchor>", b"", b)


def post(port, body, action, src="127.0.0.1", path=w.SYNC_PATH):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=HANG, source_address=(src, 0))
    c.request("POST", path, body=body, headers={"Content-Type": "text/xml; charset=utf-8",
                                                "SOAPAction": '"%s"' % action})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data, r.getheader("Retry-After")


def main():
    # ~10,000 software updates: a 1.2 MB answer, far more than the stream buffer, libmicrohttpd's and
    # the sockets' hold for a client that does not read
    s = w.Server("streams", gen_args=("--seed", "7", "--updates", "3000", "--no-content"),
                 export=False, server_extra="idle_timeout = 10\n")
    try:
        run(s)
    finally:
        s.cleanup()
    w.finish("test_soap_streams")


def run(s):
    port = s.port
    ck = s.authenticate()
    action = w.NS + "/GetRevisionIdList"
    # the software updates of every generated product and classification
    body = envelope("GetRevisionIdList", ck + w.filter_xml(
        cats=[(p, False) for p in wsusgen.DEFAULT_PRODUCTS],
        classes=[(c, False) for c in wsusgen.DEFAULT_CLASSIFICATIONS]))
    req = raw_request(port, body, action)

    st, full, _ = post(port, body, action)
    ids, _ = w.identities(full) if st == 200 else ([], None)
    check(st == 200 and len(full) > 1024 * 1024,
          "GetRevisionIdList: status %d, %d bytes (the test needs an answer over 1 MiB)"
          % (st, len(full)))
    check(len(ids) == len(set(ids)) and len(ids) > 10000,
          "GetRevisionIdList: %d identities (%d distinct)" % (len(ids), len(set(ids))))

    # two slow readers from one address hold their streams; the third is refused at once
    a1, st1, _ = open_slow(port, req)
    a2, st2, _ = open_slow(port, req)
    check(st1 == 200 and st2 == 200, "slow readers: statuses %d, %d" % (st1, st2))
    st, data, retry = post(port, body, action, src=SLOW)
    check(st == 503 and retry == "5" and data ==
          b"server busy: 2 streamed answers to 127.0.0.2 in progress (at most 2 per address), "
          b"try again later\n",
          "third stream from %s: %d, Retry-After %r, %r" % (SLOW, st, retry, data[:300]))
    # another address is not starved: a streamed answer and a plain call
    st, again, _ = post(port, body, action)
    check(st == 200 and same(again, full), "GetRevisionIdList from 127.0.0.1 while %s holds two "
          "streams: %d, %d bytes, identical %s" % (SLOW, st, len(again), same(again, full)))
    st, data, _ = post(port, envelope("GetAuthConfig", ""), w.NS + "/GetAuthConfig")
    check(st == 200 and b"GetAuthConfigResult" in data,
          "GetAuthConfig from 127.0.0.1 while %s holds two streams: %d %r" % (SLOW, st, data[:2000]))

    # a stream read after a long pause arrives whole and byte-identical
    slow_body = dechunk(read_rest(a1))
    check(slow_body is not None and same(slow_body, full), "the paused stream: %s bytes, identical %s"
          % (None if slow_body is None else len(slow_body), slow_body is not None and same(slow_body, full)))

    # a stream whose client reads nothing for idle_timeout (10 s) is ended and its slot freed
    a3, st3, _ = open_slow(port, req)
    check(st3 == 200, "slow reader 3: status %d" % st3)
    deadline = time.monotonic() + HANG
    st = 503
    while st == 503 and time.monotonic() < deadline:
        time.sleep(1)
        st, data, _ = post(port, body, action, src=SLOW)
    check(st == 200 and same(data, full),
          "a stream from %s after the stalled ones: %d, identical %s" % (SLOW, st, same(data, full)))
    for name, a in (("2", a2), ("3", a3)):
        check(dechunk(read_rest(a)) is None, "stalled stream %s was not ended" % name)

    workers_busy(s, port)


def workers_busy(s, port):
    """Every worker waits for a table the test locks: a call queued over 10 s gets the 503."""
    lock = subprocess.Popen(["psql", "-X", "-q", "-d", s.db], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    lock.stdin.write("BEGIN;\nLOCK TABLE downstream_server IN ACCESS EXCLUSIVE MODE;\n"
                     "SELECT 1;\n")
    lock.stdin.flush()
    try:
        wait_for(s, "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                 "WHERE d.datname = current_database() AND l.relation = "
                 "'downstream_server'::regclass AND l.mode = 'AccessExclusiveLock' AND l.granted",
                 1, "the test's table lock")
        workers = 4 + 4  # [server] threads + 4
        calls = workers + 2
        body = envelope("GetAuthorizationCookie",
                        "<accountName>busy.example.test</accountName>"
                        "<accountGuid>0b0b0b0b-3f0b-4d3a-9b1e-0d2f6a1c5e12</accountGuid>",
                        ns=w.NS_AUTH)
        action = w.NS_AUTH + "/GetAuthorizationCookie"
        pool = concurrent.futures.ThreadPoolExecutor(calls)
        futs = [pool.submit(post, port, body, action, "127.0.0.1", w.AUTH_PATH)
                for _ in range(calls)]
        wait_for(s, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND wait_event_type = 'Lock' AND application_name LIKE 'wsusd%'",
                 workers, "every worker waiting for the lock")
        time.sleep(11)  # the queued calls wait over 10 s (not an assertion on time)
    finally:
        lock.stdin.write("ROLLBACK;\n\\q\n")
        lock.stdin.close()
        lock.wait(timeout=HANG)
    res = [f.result(timeout=HANG) for f in futs]
    pool.shutdown()
    busy = [r for r in res if r[0] == 503]
    check(len(busy) == calls - workers and all(r[0] == 200 for r in res if r[0] != 503),
          "workers held: statuses %s" % sorted(r[0] for r in res))
    for st, data, retry in busy:
        check(data == b"server busy: no worker thread free within 10 s, try again later\n" and
              retry == "5", "queued call: %d, Retry-After %r, %r" % (st, retry, data[:200]))


def wait_for(s, sql, want, what):
    deadline = time.monotonic() + HANG
    got = None
    while time.monotonic() < deadline:
        got = int(s.sql(sql))
        if got >= want:
            return
        time.sleep(0.1)
    raise SystemExit("%s: %s of %s after %d s" % (what, got, want, HANG))


if __name__ == "__main__":
    main()
