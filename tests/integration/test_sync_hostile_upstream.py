"""A malicious upstream (issue 8, item 11): the fake WS2025-like upstream of
test_sync_windows.py (real documents, real answer shapes), extended with content of its own and
a MODE that makes it misbehave in one way per synchronization:

  endless      GetConfigData never ends (keeps sending)
  drip         GetAuthConfig answers one byte every second
  huge-blob    an XmlUpdateBlob beyond the downstream's 64 MiB bound
  huge-base64  an XmlUpdateBlobCompressed (base64) beyond it
  path-names   update documents whose FileName is "../../../evil.exe", "..\\..\\evil.exe" or
               holds a NUL (&#0;)
  wrong-digest content bytes that do not match the catalog's SHA-1/SHA-256
  bigger       a file longer than the catalog says
  redirect-*   /Content/ answers 302 to another host (127.0.0.2), to file:///etc/passwd, to
               ftp://; the SOAP service answers 302 to another host

For each the downstream's sync fails with a clear reason in `wsusctl sync history`, and stores
nothing wrong: no file outside the content directory, no unverified file published (no file
'present' before the honest run), no revision of a refused answer, and the next honest sync
completes with every file verified. The upstream timeouts are set short (settings
upstream-answer-timeout, upstream-stall-timeout) so each case ends in seconds.
"""

import base64
import hashlib
import json
import os
import random
import re
import sys
import threading
import time

import wsustest as wt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sync_windows as tw  # noqa: E402  (the fake WS2025 upstream)

STATE = {"mode": "normal", "drip_s": 0.5, "ranges": [], "gets": 0, "chunk_delay": 0.0,
         "elsewhere": 0}
EXTRA_ID = ("0badf00d-0000-4000-8000-0000000000aa", 1)
FILE_RE = re.compile(r'<upd:File Digest="[^"]*" DigestAlgorithm="SHA1" FileName="([^"]*)" '
                     r'Size="\d+"[^>]*><upd:AdditionalDigest Algorithm="SHA256">[^<]*'
                     r'</upd:AdditionalDigest></upd:File>')


def make_content(size):
    """The three real documents that carry files get files of our own (random bytes of size),
    so the content phase has something real to verify. The bundles are left out: their members
    are not among the captured documents. Returns (docs, {sha1hex: bytes})."""
    rnd = random.Random(8)
    docs, files = {}, {}
    for k, xml in tw.DOC.items():
        if "<upd:BundledUpdates>" in xml:
            continue
        m = FILE_RE.search(xml)
        if m:
            data = bytes(rnd.getrandbits(8) for _ in range(64)) * (size // 64)
            sha1 = hashlib.sha1(data).digest()
            files[sha1.hex()] = data
            xml = xml[:m.start()] + (
                '<upd:File Digest="%s" DigestAlgorithm="SHA1" FileName="%s" Size="%d" '
                'Modified="2026-10-04T09:39:26Z"><upd:AdditionalDigest Algorithm="SHA256">%s'
                '</upd:AdditionalDigest></upd:File>' % (
                    base64.b64encode(sha1).decode(), m.group(1), len(data),
                    base64.b64encode(hashlib.sha256(data).digest()).decode())) + xml[m.end():]
        docs[k] = xml
    return docs, files


def path_name_docs():
    """Three extra updates (copies of a real one) whose file names look like paths."""
    src = next(x for x in tw.DOC.values() if FILE_RE.search(x))
    out = {}
    for i, name in enumerate(("../../../evil.exe", "..\\..\\evil.exe", "evil&#0;.exe")):
        uid = "0badf00d-0000-4000-8000-0000000000%02d" % (i + 1)
        xml = re.sub(r'UpdateID="[^"]*"', 'UpdateID="%s"' % uid, src, count=1)
        xml = re.sub(r'FileName="[^"]*"', lambda _m: 'FileName="%s"' % name, xml)
        out[(uid, 200)] = xml
    return out


class Hostile(tw.FakeWsus):
    cab = {}
    unservable = []
    files = {}
    base_docs = {}
    evil = path_name_docs()

    def send_head_only(self, status, ctype="text/xml; charset=utf-8"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def do_POST(self):
        mode = STATE["mode"]
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode()
        op = re.search(r"<soap:Body><(\w+)", body)
        op = op.group(1) if op else ""
        self.docs = dict(self.base_docs)
        self.unservable = []
        if mode == "redirect-soap":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.2:%d%s" % (STATE["other_port"],
                                                                    self.path))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "hang":
            while STATE["mode"] == "hang":
                time.sleep(0.2)
            self.close_connection = True
            return
        if mode == "endless" and op == "GetConfigData":
            self.send_head_only(200)
            try:
                self.wfile.write(b'<?xml version="1.0"?><soap:Envelope xmlns:soap="http://'
                                 b'schemas.xmlsoap.org/soap/envelope/"><soap:Body>')
                chunk = b"<a>x</a>" * 8192
                while STATE["mode"] == "endless":
                    self.wfile.write(chunk)
            except OSError:
                pass
            return
        if mode == "drip" and op == "GetAuthConfig":
            self.send_head_only(200)
            try:
                for ch in (tw.ENV % "<GetAuthConfigResponse>").encode():
                    if STATE["mode"] != "drip":
                        break
                    self.wfile.write(bytes([ch]))
                    self.wfile.flush()
                    time.sleep(STATE["drip_s"])
            except OSError:
                pass
            return
        if mode in ("huge-blob", "huge-base64") and op == "GetRevisionIdList":
            self.unservable = [EXTRA_ID]
        if mode in ("huge-blob", "huge-base64") and op == "GetUpdateData":
            big = ("<XmlUpdateBlob>%s</XmlUpdateBlob>" % ("a" * (65 << 20)) if mode == "huge-blob"
                   else "<XmlUpdateBlobCompressed>%s</XmlUpdateBlobCompressed>" % (
                       "QUFB" * (17 << 20)))
            try:  # the downstream hangs up once it has seen too much
                self.reply(200, '<GetUpdateDataResponse xmlns="%s"><GetUpdateDataResult>'
                           '<updates><ServerSyncUpdateData><Id><UpdateID>%s</UpdateID>'
                           '<RevisionNumber>%d</RevisionNumber></Id>%s</ServerSyncUpdateData>'
                           '</updates></GetUpdateDataResult></GetUpdateDataResponse>' % (
                               tw.NS, EXTRA_ID[0], EXTRA_ID[1], big))
            except OSError:
                pass
            return
        if mode == "path-names":
            self.docs.update(self.evil)
        self.answer(body)

    def do_GET(self):
        STATE["gets"] += 1
        mode = STATE["mode"]
        m = re.match(r"/Content/([0-9A-F]{2})/([0-9A-F]{40})\.(\w+)$", self.path)
        data = self.files.get(m.group(2).lower()) if m else None
        if data is None:
            self.send_error(404)
            return
        if mode.startswith("redirect-"):
            where = {"redirect-host": "http://127.0.0.2:%d%s" % (STATE.get("other_port", 1),
                                                                 self.path),
                     "redirect-file": "file:///etc/passwd",
                     "redirect-ftp": "ftp://127.0.0.1/%s" % m.group(2)}[mode]
            self.send_response(302)
            self.send_header("Location", where)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "wrong-digest":
            data = bytes(len(data))
        elif mode == "bigger":
            data = data + b"x" * 4096
        start = 0
        rng = self.headers.get("Range")
        if rng:
            STATE["ranges"].append(rng)
            start = int(re.match(r"bytes=(\d+)-", rng).group(1))
        self.send_response(206 if start else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data) - start))
        if start:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        self.end_headers()
        try:
            for i in range(start, len(data), 65536):
                if STATE["chunk_delay"]:
                    time.sleep(STATE["chunk_delay"])
                self.wfile.write(data[i:i + 65536])
        except OSError:
            pass


class Elsewhere(Hostile):
    """The host a redirect points to: counts what it is asked."""

    def do_GET(self):
        STATE["elsewhere"] += 1
        self.send_error(404)

    do_POST = do_GET


def start_fake(size=256 * 1024, host="127.0.0.1"):
    """Start the hostile fake on host (a thread); returns the server (fake.files: the content
    it serves, by lower-case SHA-1 hex)."""
    docs, files = make_content(size)
    cls = type("HostileServing", (Hostile,), {"base_docs": docs, "files": files})
    fake = tw.Server((host, 0), cls)
    fake.files = files
    fake.docs = docs
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    return fake


def last(conf):
    r = wt.wsusctl(conf, "sync", "history", "--limit", "1", "--json")
    return json.loads(r.stdout)[0]


def content_names(content_dir):
    """Every file under the content directory, relative."""
    out = []
    for d, _, fs in os.walk(content_dir):
        out += [os.path.relpath(os.path.join(d, f), content_dir) for f in fs]
    return sorted(out)


def present(db):
    return wt.sql(db, "SELECT encode(sha1, 'hex') FROM file WHERE state = 'present'")


def run(tmp, servers, dbs):
    fake = start_fake()
    other = tw.Server(("127.0.0.2", 0), Elsewhere)  # redirect target: must never be asked
    STATE["other_port"] = other.server_address[1]
    threading.Thread(target=other.serve_forever, daemon=True).start()
    db = wt.create_db("it_sync_hostile")
    dbs.append(db)
    conf = wt.write_config(tmp, db)
    content = os.path.join(tmp, "content")
    srv = wt.Wsusd(conf).start()
    servers.append(srv)
    for k, v in (("upstream", "http://127.0.0.1:%d" % fake.server_address[1]),
                 ("download", "all"), ("upstream-answer-timeout", "3"),
                 ("upstream-stall-timeout", "1")):
        r = wt.wsusctl(conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "config set %s %s" % (k, v), r)

    def case(mode, want, what, content_refused=True):
        STATE["mode"] = mode
        t0 = time.time()
        r = wt.wsusctl(conf, "sync", "now", "--wait", timeout=120)
        STATE["mode"] = "normal"
        h = last(conf)
        err = h.get("error") or ""
        wt.check(r.returncode == 1 and h["result"] == "failed" and all(w in err for w in want),
                 "%s: the sync fails with the reason in the history (%.0f s): %s" % (
                     what, time.time() - t0, err), r)
        wt.check(err in r.stdout, "%s: sync now --wait prints the reason" % what, r.stdout)
        outside = [n for n in content_names(content) if not n.startswith("WsusContent/")]
        wt.check(not outside and not os.path.exists(os.path.join(tmp, "evil.exe")),
                 "%s: nothing stored outside WsusContent/" % what, outside)
        if content_refused:
            wt.check(not present(db), "%s: no file published" % what, present(db))
        return h

    up = "upstream http://127.0.0.1:%d" % fake.server_address[1]
    case("endless", [up, "GetConfigData", "larger than the 16 MiB"], "endless answer")
    wt.check(wt.sql_value(db, "SELECT count(*) FROM revision") == "0",
             "endless answer: nothing stored")
    case("drip", [up, "stopped sending its GetAuthConfig answer"], "dripping answer")
    h = case("wrong-digest", ["failed verification", "SHA-1"], "wrong digests on content")
    wt.check(wt.sql_value(db, "SELECT count(*) FROM revision") == str(len(fake.docs)),
             "the metadata of the real documents was stored", h)
    states = wt.sql(db, "SELECT state, count(*) FROM file GROUP BY state")
    wt.check(states == [["failed", "3"]], "the three files are recorded as failed", states)
    case("bigger", ["more than the", "bytes the catalog says"], "file bigger than declared")
    for mode, to in (("redirect-host", "http://127.0.0.2:"), ("redirect-file", "file:///etc"),
                     ("redirect-ftp", "ftp://")):
        case(mode, ["redirected file", to, "not downloaded"], "302 to %s" % to)
    wt.check(STATE["gets"] > 0 and STATE["elsewhere"] == 0,
             "redirects: the upstream was asked (%d GETs), the host it redirected to never (%d)"
             % (STATE["gets"], STATE["elsewhere"]))
    case("redirect-soap", [up, "answered GetAuthConfig with HTTP 302"], "SOAP call redirected")
    wt.check(STATE["elsewhere"] == 0, "SOAP redirect: the other host was never asked (%d)" %
             STATE["elsewhere"])
    before = wt.sql_value(db, "SELECT count(*) FROM revision")
    case("huge-blob", [up, "GetUpdateData"], "XmlUpdateBlob beyond 64 MiB")
    case("huge-base64", [up, "GetUpdateData"], "XmlUpdateBlobCompressed beyond 64 MiB")
    wt.check(wt.sql_value(db, "SELECT count(*) FROM revision") == before and
             wt.sql_value(db, "SELECT count(*) FROM revision WHERE update_id = :'p1'",
                          EXTRA_ID[0]) == "0",
             "huge blobs: nothing of the refused answers stored")
    h = case("path-names", ["could not be read"], "file names that look like paths",
             content_refused=False)
    wt.check("unsafe FileName" in (h.get("error") or ""), "path names: the reason says why",
             h.get("error"))
    bad = wt.sql_value(db, "SELECT count(*) FROM revision WHERE update_id::text LIKE "
                           "'0badf00d-%'")
    wt.check(bad == "0", "path names: none of those updates stored", bad)

    STATE["mode"] = "normal"
    r = wt.wsusctl(conf, "sync", "now", "--wait", timeout=120)
    wt.check(r.returncode == 0 and last(conf)["result"] == "succeeded",
             "the next honest sync succeeds", r)
    wt.check(sorted(x[0] for x in present(db)) == sorted(fake.files),
             "every file is present in the catalog", present(db))
    for sha1, data in fake.files.items():
        path = [n for n in content_names(content) if sha1.upper() in n and
                not n.endswith(".partial")]
        ok = len(path) == 1 and hashlib.sha1(open(os.path.join(content, path[0]), "rb")
                                             .read()).hexdigest() == sha1
        wt.check(ok, "file %s published with the right bytes" % sha1, path)
    other.shutdown()
    fake.shutdown()
    for s in servers:
        s.stop()
        wt.check(s.sanitizer_report() is None, "wsusd ran clean (no sanitizer report)",
                 s.sanitizer_report())


if __name__ == "__main__":
    wt.run_servers(run)
