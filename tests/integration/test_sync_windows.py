"""Sync from an upstream that behaves like the Windows Server 2025 WSUS of the captures
(issue 5): a small fake upstream on 127.0.0.1 (Python standard library) serves the 9 real
update documents of tests/data/docs, the compressed blobs, file digests and MU URLs of the real
answers in tests/data/exchanges, GetConfigData in the WS2025 element order, and, like WS2025,
fails a whole GetUpdateData batch with InternalServerError when one id is unknown. It lists one
identity it cannot serve.

Checks: every real document is stored byte for byte (compressed ones decoded from the real
LZX cabinets, and the cabinet kept); the bad batch is bisected down to the unknown identity,
which the sync reports by id (failed, with the fix); the next sync asks only for what is still
missing (nothing stored is fetched again).
"""

import html
import json
import os
import re
import threading
import time
import http.server
import socketserver

import wsustest as wt

DOCS = os.path.join(wt.DATA, "docs")
EX = os.path.join(wt.DATA, "exchanges")
BOGUS = ("0badc0de-0000-4000-8000-00000000b0b0", 7)
ENV = ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope '
       'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
       'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
       'xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body>%s</soap:Body></soap:Envelope>')
NS = "http://www.microsoft.com/SoftwareDistribution"


def load():
    docs = {}
    for f in sorted(os.listdir(DOCS)):
        m = re.match(r"(.{36})-r(\d+)\.xml$", f)
        with open(os.path.join(DOCS, f), encoding="utf-8") as fh:
            docs[(m.group(1), int(m.group(2)))] = fh.read()
    compressed = {}
    for ex in ("000013", "000014", "000016"):
        with open(os.path.join(EX, ex, "response.body"), encoding="utf-8") as fh:
            body = fh.read()
        item = re.search(r"<ServerSyncUpdateData>.*?</ServerSyncUpdateData>", body).group(0)
        uid = re.search(r"<UpdateID>(.*?)</UpdateID>", item).group(1)
        rev = int(re.search(r"<RevisionNumber>(\d+)</RevisionNumber>", item).group(1))
        urls = re.search(r"<fileUrls>(.*?)</fileUrls>|<fileUrls />", body).group(1) or ""
        compressed[(uid, rev)] = (item, urls)
    return docs, compressed


DOC, CAB = load()
CALLS = {"GetUpdateData": 0, "faults": 0}


def is_category(xml):
    return 'UpdateType="Category"' in xml or 'UpdateType="Detectoid"' in xml


class FakeWsus(http.server.BaseHTTPRequestHandler):
    """The fake upstream. Subclasses (test_sync_hostile_upstream.py) change what it serves
    through these class attributes: the documents, the compressed items, the identities it
    lists but cannot serve."""
    docs = DOC
    cab = CAB
    unservable = [BOGUS]

    def log_message(self, *args):
        pass

    def reply(self, status, inner):
        body = (ENV % inner).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def fault(self, code, method):
        CALLS["faults"] += 1
        self.reply(500, '<soap:Fault><faultcode>soap:Server</faultcode><faultstring>Fault '
                   'occurred</faultstring><detail><ErrorCode>%s</ErrorCode><Message></Message>'
                   '<ID>b6114a8d-9939-41e0-ad7f-0d9a72260804</ID><Method>"%s/%s"</Method>'
                   '</detail></soap:Fault>' % (code, NS, method))

    def do_POST(self):
        self.answer(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode())

    def answer(self, body):
        exp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 4 * 3600))
        anchor = "9438," + time.strftime("%Y-%m-%d %H:%M:%S.000", time.gmtime())
        if "<GetAuthConfig" in body:
            self.reply(200, '<GetAuthConfigResponse xmlns="%s"><GetAuthConfigResult><LastChange>'
                       '2026-10-04T13:16:35.433Z</LastChange><AuthInfo><AuthPlugInInfo>'
                       '<PlugInID>DssTargeting</PlugInID><ServiceUrl>DssAuthWebService/'
                       'DssAuthWebService.asmx</ServiceUrl><Parameter /></AuthPlugInInfo>'
                       '</AuthInfo></GetAuthConfigResult></GetAuthConfigResponse>' % NS)
        elif "<GetAuthorizationCookie" in body:
            self.reply(200, '<GetAuthorizationCookieResponse xmlns="%s/Server/DssAuthWebService">'
                       '<GetAuthorizationCookieResult><PlugInId>DssTargeting</PlugInId>'
                       '<CookieData>AAAA</CookieData></GetAuthorizationCookieResult>'
                       '</GetAuthorizationCookieResponse>' % NS)
        elif "<GetCookie" in body:
            self.reply(200, '<GetCookieResponse xmlns="%s"><GetCookieResult><Expiration>%s'
                       '</Expiration><EncryptedData>AAAA</EncryptedData></GetCookieResult>'
                       '</GetCookieResponse>' % (NS, exp))
        elif "<GetConfigData" in body:
            with open(os.path.join(EX, "000004", "response.body"), encoding="utf-8") as fh:
                ans = fh.read()
            ans = re.sub(r"<NewConfigAnchor>.*?</NewConfigAnchor>",
                         "<NewConfigAnchor>%s</NewConfigAnchor>" % anchor, ans)
            inner = re.search(r"<soap:Body>(.*)</soap:Body>", ans).group(1)
            self.reply(200, inner)
        elif "<GetRevisionIdList" in body:
            config = "<GetConfig>true</GetConfig>" in body
            ids = [k for k, x in self.docs.items() if is_category(x) == config]
            if not config:
                ids += self.unservable
            self.reply(200, '<GetRevisionIdListResponse xmlns="%s"><GetRevisionIdListResult>'
                       '<Anchor>%s</Anchor><NewRevisions>%s</NewRevisions>'
                       '</GetRevisionIdListResult></GetRevisionIdListResponse>' % (
                           NS, anchor, "".join(
                               "<UpdateIdentity><UpdateID>%s</UpdateID><RevisionNumber>%d"
                               "</RevisionNumber></UpdateIdentity>" % k for k in ids)))
        elif "<GetUpdateData" in body:
            CALLS["GetUpdateData"] += 1
            want = [(u, int(r)) for u, r in re.findall(
                r"<UpdateID>(.*?)</UpdateID><RevisionNumber>(\d+)</RevisionNumber>", body)]
            if any(k not in self.docs for k in want):
                return self.fault("InternalServerError", "GetUpdateData")
            items, urls = [], []
            for k in want:
                if k in self.cab:
                    items.append(self.cab[k][0])
                    urls.append(self.cab[k][1])
                else:
                    items.append("<ServerSyncUpdateData><Id><UpdateID>%s</UpdateID>"
                                 "<RevisionNumber>%d</RevisionNumber></Id><XmlUpdateBlob>%s"
                                 "</XmlUpdateBlob></ServerSyncUpdateData>" % (
                                     k[0], k[1], html.escape(self.docs[k], quote=False)))
            self.reply(200, '<GetUpdateDataResponse xmlns="%s"><GetUpdateDataResult><updates>%s'
                       '</updates><fileUrls>%s</fileUrls></GetUpdateDataResult>'
                       '</GetUpdateDataResponse>' % (NS, "".join(items), "".join(urls)))
        else:
            self.fault("InvalidParameters", "Unknown")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    fake = Server(("127.0.0.1", 0), FakeWsus)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    srv = None
    db = wt.create_db("it_sync_windows")
    with wt.TempDir() as tmp:
        try:
            conf = wt.write_config(tmp, db)
            srv = wt.Wsusd(conf).start()
            run(conf, db, fake.server_address[1])
        finally:
            fake.shutdown()
            if srv is not None:
                srv.stop()
                if wt.failures:
                    print("---- wsusd log ----\n%s" % srv.output()[-5000:])
            wt.drop_db(db)
    wt.finish()


def run(conf, db, port):
    for k, v in (("upstream", "http://127.0.0.1:%d" % port), ("download", "none")):
        r = wt.wsusctl(conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "config set %s" % k, r)
    r = wt.wsusctl(conf, "sync", "now", "--wait")
    wt.check(r.returncode == 1, "the sync fails: the upstream lists an update it cannot serve", r)
    h = json.loads(wt.wsusctl(conf, "sync", "history", "--limit", "1", "--json").stdout)[0]
    err = h["error"] or ""
    wt.check("has no update %s revision %d" % BOGUS in err and "decline" in err,
             "the reason names the missing update and the fix: %s" % err)
    missing = [(m["update_id"], m["revision"]) for m in h["detail"].get("missing_updates", [])]
    wt.check(BOGUS in missing, "history lists it among the missing updates", missing)
    wt.check(CALLS["faults"] >= 1 and h["detail"]["calls"]["GetUpdateData"] > 2,
             "the failing batch was bisected (%d calls, %d faults)" % (
                 h["detail"]["calls"]["GetUpdateData"], CALLS["faults"]))
    for (uid, rev), xml in DOC.items():
        stored = wt.sql(db, "SELECT md5(xml), xml_cab IS NOT NULL FROM revision WHERE "
                            "update_id = :'p1' AND revision_number = :'p2'", uid, str(rev))
        import hashlib
        ok = stored and stored[0][0] == hashlib.md5(xml.encode()).hexdigest()
        wt.check(ok, "%s r%d stored byte for byte%s" % (
            uid, rev, " (decoded from the real LZX cabinet)" if (uid, rev) in CAB else ""),
            stored)
        if (uid, rev) in CAB:
            wt.check(stored and stored[0][1] == "t", "%s r%d: original cabinet kept" % (uid, rev))
    mu = wt.sql_value(db, "SELECT mu_url FROM file WHERE encode(sha1, 'base64') = "
                          "'h/W9BGlYUAaqXTp30cZi/SiV3c0='")
    wt.check(mu and "download.windowsupdate.com" in mu, "the file's MU URL was kept", mu)

    # the next sync asks only for what is still missing
    stored_before = wt.sql_value(db, "SELECT count(*) FROM revision")
    r = wt.wsusctl(conf, "sync", "now", "--wait")
    h2 = json.loads(wt.wsusctl(conf, "sync", "history", "--limit", "1", "--json").stdout)[0]
    wt.check(h2["detail"]["revisions_to_fetch"] == len(set(missing)),
             "the next sync fetches only the %d missing identities" % len(set(missing)),
             h2["detail"])
    wt.check(wt.sql_value(db, "SELECT count(*) FROM revision") == stored_before,
             "nothing stored twice")


if __name__ == "__main__":
    main()
