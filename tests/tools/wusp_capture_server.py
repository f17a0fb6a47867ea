#!/usr/bin/env python3
"""wusp_capture_server: a stand-in MS-WUSP server that answers from the real captures.

ONLY for testing tests/tools/wuclient.py while the wsusd client web services do not exist. It
is not a WSUS: it knows the updates of the captures and nothing else.

What it answers, and from what (tests/data/wusp/, see PROVENANCE.md there):
- GetConfig, GetAuthorizationCookie, GetCookie, RegisterComputer, StartCategoryScan,
  ReportEventBatch: the captured answers of native-scan/ and native-flow/, with this server's
  own cookies (random EncryptedData / CookieData, Expiration one hour ahead) in place of the
  sanitized ones.
- SyncUpdates: the envelope of the captured answers, with the UpdateInfo entries computed the
  way MS-WUSP 3.1.5.7 says, over a catalog made of every captured UpdateInfo (native-scan
  000006-000008, native-flow 000001) plus the 9 Core fragments of wusp-reference/ (revision ids
  taken from native-flow 000015; KB2267602 revision 200996 deployed with Action Install as in
  the capture, the others Evaluate). Prerequisites must be among the client's
  InstalledNonLeafUpdateIDs; a prerequisite the catalog does not hold counts as met. Cached
  revisions are not sent again. At most --page-size updates per answer (Truncated).
  A driver pass (SkipSoftwareSync true) gets the captured answer with no updates.
- GetExtendedUpdateInfo: the captured fragments (native-scan 000010, native-flow 000015) of the
  requested revisions, and the captured FileLocations of their files, with this server's URL.
- GetFileLocations: the shape of cbs/get-file-locations-response.xml with the captured
  locations of the requested digests.
- GET /Content/...: files of --content-dir, with Range (206) like IIS; 404 when absent.

Checks it makes (so a client that skips a step fails): unknown cookie -> InvalidCookie,
unknown authorization cookie -> InvalidAuthorizationCookie, SyncUpdates before
RegisterComputer -> RegistrationRequired. Faults have the shape of the spec's examples
(2.2.2.4, 4.x), HTTP 500. Test knobs: --fault OP:CODE[:N] (the N-th call of OP gets that
fault) and --expire-cookie-after N (a cookie used more than N times answers CookieExpired).
RefreshCache (no capture) is answered in the WSDL's shape.

Listens on 127.0.0.1 only; prints "listening on PORT" when ready. --log FILE writes one JSON
line per request (method, path, op, range, status; target_group of GetAuthorizationCookie).
"""

import argparse
import base64
import datetime
import html
import json
import os
import re
import sys
import threading
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_CLIENT = "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService"
NS_AUTH = "http://www.microsoft.com/SoftwareDistribution/Server/SimpleAuthWebService"
NS_REPORT = "http://www.microsoft.com/SoftwareDistribution"
CAPTURED_ORIGIN = "http://192.0.2.1:8530"
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "wusp")
APPROVED_REVISION = 200996  # KB2267602 r200, approved in the native-flow capture


def q(ns, name):
    return "{%s}%s" % (ns, name)


def read(rel, data_dir):
    with open(os.path.join(data_dir, rel), encoding="utf-8") as f:
        return f.read()


class Catalog:
    """The updates, fragments and file locations the captures hold."""

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.updates = {}      # revision id -> dict(update_id, deployment, is_leaf, core)
        self.fragments = {}    # revision id -> {"Extended": xml, "LocalizedProperties": xml}
        self.locations = {}    # base64 SHA-1 -> URL path (/Content/..)
        for ex in ("native-scan/000006", "native-scan/000007", "native-scan/000008",
                   "native-flow/000001"):
            root = ET.fromstring(read(ex + "/response.body", data_dir))
            for ui in root.iter(q(NS_CLIENT, "UpdateInfo")):
                dep = ui.find(q(NS_CLIENT, "Deployment"))
                self.add(int(ui.findtext(q(NS_CLIENT, "ID"))),
                         [(c.tag.split("}")[1], c.text) for c in dep],
                         ui.findtext(q(NS_CLIENT, "IsLeaf")) == "true",
                         ui.findtext(q(NS_CLIENT, "Xml")))
        for ex in ("native-scan/000010", "native-flow/000015"):
            root = ET.fromstring(read(ex + "/response.body", data_dir))
            for upd in root.iter(q(NS_CLIENT, "Update")):
                xml = upd.findtext(q(NS_CLIENT, "Xml"))
                kind = "LocalizedProperties" if xml.startswith("<LocalizedProperties") \
                    else "Extended"
                self.fragments.setdefault(int(upd.findtext(q(NS_CLIENT, "ID"))), {})[kind] = xml
            for loc in root.iter(q(NS_CLIENT, "FileLocation")):
                url = loc.findtext(q(NS_CLIENT, "Url"))
                self.locations[loc.findtext(q(NS_CLIENT, "FileDigest"))] = \
                    url[len(CAPTURED_ORIGIN):]
        self.add_reference_cores()

    def add(self, rev, deployment, is_leaf, core):
        ident = ET.fromstring("<r>%s</r>" % core).find("UpdateIdentity")
        self.updates[rev] = {"update_id": ident.get("UpdateID").lower(), "deployment": deployment,
                             "is_leaf": is_leaf, "core": core}

    def add_reference_cores(self):
        """wusp-reference Core fragments, placed at the revision id whose captured
        LocalizedProperties has the same title."""
        by_title = {}
        for rev, frags in self.fragments.items():
            loc = frags.get("LocalizedProperties")
            if loc:
                by_title[ET.fromstring(loc).findtext("Title")] = rev
        ref = os.path.join(self.data_dir, "wusp-reference")
        cores = {}
        for name in sorted(os.listdir(ref)):
            if not name.endswith(".core.xml"):
                continue
            stem = name[:-len(".core.xml")]
            loc_path = os.path.join(ref, stem + ".localized-en.xml")
            title = ET.fromstring(read(loc_path, ref)).findtext("Title") \
                if os.path.exists(loc_path) else None
            rev = by_title.get(title)
            if rev is None or rev in self.updates:
                continue
            cores[rev] = read(os.path.join(ref, name), ref)
        for rev, core in sorted(cores.items()):
            action = "Install" if rev == APPROVED_REVISION else "Evaluate"
            deployment = [("ID", str(20000 + rev % 10000)), ("Action", action),
                          ("IsAssigned", "true"), ("LastChangeTime", "2026-10-04"),
                          ("AutoSelect", "0"), ("AutoDownload", "0"),
                          ("SupersedenceBehavior", "0")]
            self.add(rev, deployment, True, core)

    def prereq_groups(self, rev):
        """Prerequisites of a revision as a list of groups (lists of update GUIDs), each
        satisfied by any one member."""
        root = ET.fromstring("<r>%s</r>" % self.updates[rev]["core"])
        pre = root.find("Relationships/Prerequisites")
        if pre is None:
            return []
        return [[c.get("UpdateID").lower()] if c.tag == "UpdateIdentity"
                else [u.get("UpdateID").lower() for u in c.iter("UpdateIdentity")] for c in pre]


class StandIn:
    """The stand-in's state (shared by the handler threads, under a lock)."""

    def __init__(self, args):
        self.args = args
        self.catalog = Catalog(args.data_dir)
        self.lock = threading.Lock()
        self.auth_cookies = {}  # CookieData -> client id (from GetAuthorizationCookie)
        self.cookies = {}       # EncryptedData -> [client id, times used]
        self.registered = set()  # client ids that called RegisterComputer
        self.faults = [(f.split(":") + ["1"])[:3] for f in args.fault]  # [op, code, n]
        self.op_count = {}
        self.origin = None
        self.log = open(args.log, "a") if args.log else None

    def captured(self, ex):
        return read(ex + "/response.body", self.args.data_dir)

    def new_cookie(self, client):
        """A new server cookie (Expiration, EncryptedData) for a client id."""
        data = base64.b64encode(os.urandom(224)).decode()
        self.cookies[data] = [client, 0]
        exp = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
        return exp.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z", data

    def with_cookie(self, body, tag, cookie):
        """Replace the captured cookie (Expiration + EncryptedData) inside <tag>."""
        return re.sub(r"<%s><Expiration>[^<]*</Expiration><EncryptedData>[^<]*</EncryptedData>"
                      % tag, "<%s><Expiration>%s</Expiration><EncryptedData>%s</EncryptedData>"
                      % (tag, cookie[0], cookie[1]), body)

    def fault(self, code, op, ns_action):
        """A SOAP fault shaped like the spec's examples."""
        return 500, (
            '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="%s" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body><soap:Fault>'
            '<faultcode>soap:Client</faultcode><faultstring>Fault occurred</faultstring>'
            '<faultactor>%s</faultactor><detail><ErrorCode>%s</ErrorCode><Message />'
            '<ID>%s</ID><Method>"%s/%s"</Method></detail></soap:Fault></soap:Body>'
            '</soap:Envelope>' % (NS_SOAP, self.origin, code, uuid.uuid4(), ns_action, op))

    def client_of(self, req):
        """(client id, None) for the request's cookie, or (None, fault code)."""
        data = req.findtext(".//" + q(NS_CLIENT, "EncryptedData")) or \
            req.findtext(".//" + q(NS_REPORT, "EncryptedData"))
        entry = self.cookies.get(data)
        if entry is None:
            return None, "InvalidCookie"
        entry[1] += 1
        if self.args.expire_cookie_after and entry[1] > self.args.expire_cookie_after:
            return None, "CookieExpired"
        return entry[0], None

    def handle_soap(self, op, req):
        """(status, body) for one SOAP operation."""
        ns_action = NS_REPORT if op == "ReportEventBatch" else \
            NS_AUTH if op == "GetAuthorizationCookie" else NS_CLIENT
        self.op_count[op] = self.op_count.get(op, 0) + 1
        planned = [f for f in self.faults if f[0] == op and int(f[2]) == self.op_count[op]]
        if planned:
            return self.fault(planned[0][1], op, ns_action)
        if op == "GetConfig":
            return 200, self.captured("native-scan/000001")
        if op == "GetAuthorizationCookie":
            data = base64.b64encode(os.urandom(496)).decode()
            self.auth_cookies[data] = req.findtext(".//" + q(NS_AUTH, "clientId"))
            body = self.captured("native-scan/000002")
            return 200, re.sub(r"<CookieData>[^<]*</CookieData>",
                               "<CookieData>%s</CookieData>" % data, body)
        if op == "GetCookie":
            client = self.auth_cookies.get(req.findtext(".//" + q(NS_CLIENT, "CookieData")))
            if client is None:
                return self.fault("InvalidAuthorizationCookie", op, ns_action)
            cookie = self.new_cookie(client)
            return 200, self.with_cookie(self.captured("native-scan/000003"), "GetCookieResult",
                                         cookie)
        if op == "StartCategoryScan":  # the captured request carries no cookie
            return 200, self.captured("native-scan/000005")
        client, code = self.client_of(req)
        if code:
            return self.fault(code, op, ns_action)
        if op == "RegisterComputer":
            self.registered.add(client)
            return 200, self.captured("native-scan/000004")
        if op == "SyncUpdates":
            if client not in self.registered:
                return self.fault("RegistrationRequired", op, ns_action)
            return 200, self.sync_updates(req, client)
        if op == "GetExtendedUpdateInfo":
            return 200, self.extended_info(req)
        if op == "RefreshCache":
            return 200, self.refresh_cache(req)
        if op == "GetFileLocations":
            return 200, self.file_locations(req, client)
        if op == "ReportEventBatch":
            return 200, self.captured("native-flow/000016")
        return self.fault("InvalidParameters", op, ns_action)

    def ints(self, req, name):
        node = req.find(".//" + q(NS_CLIENT, name))
        return [int(i.text) for i in node] if node is not None else []

    def sync_updates(self, req, client):
        cat = self.catalog
        cookie = self.new_cookie(client)
        if req.findtext(".//" + q(NS_CLIENT, "SkipSoftwareSync")) == "true":
            return self.with_cookie(self.captured("native-scan/000009"), "NewCookie", cookie)
        installed = set(self.ints(req, "InstalledNonLeafUpdateIDs"))
        cached = installed | set(self.ints(req, "OtherCachedUpdateIDs"))
        have = {cat.updates[r]["update_id"] for r in installed if r in cat.updates}
        known = {u["update_id"] for u in cat.updates.values()}
        needed = [r for r in cat.updates if r not in cached and all(
            any(g in have or g not in known for g in group) for group in cat.prereq_groups(r))]
        page = needed[:self.args.page_size]
        infos = "".join(
            "<UpdateInfo><ID>%d</ID><Deployment>%s</Deployment><IsLeaf>%s</IsLeaf>"
            "<Xml>%s</Xml></UpdateInfo>" % (
                r, "".join("<%s>%s</%s>" % (k, html.escape(v or "", quote=False), k)
                           for k, v in cat.updates[r]["deployment"]),
                "true" if cat.updates[r]["is_leaf"] else "false",
                html.escape(cat.updates[r]["core"], quote=False)) for r in page)
        body = self.captured("native-scan/000006")
        body = re.sub(r"<NewUpdates>.*</NewUpdates>",
                      lambda m: "<NewUpdates>%s</NewUpdates>" % infos if infos else "", body)
        body = body.replace("<Truncated>false</Truncated>", "<Truncated>%s</Truncated>" % (
            "true" if len(needed) > len(page) else "false"))
        return self.with_cookie(body, "NewCookie", cookie)

    def refresh_cache(self, req):
        """RefreshCache has no capture: the answer follows the WSDL (RefreshCacheResult with
        RevisionID, GlobalID, IsLeaf, Deployment) for the known global ids."""
        by_id = {(u["update_id"], ET.fromstring("<r>%s</r>" % u["core"]).find(
            "UpdateIdentity").get("RevisionNumber")): (rev, u)
            for rev, u in self.catalog.updates.items()}
        results = []
        for ident in req.iter(q(NS_CLIENT, "UpdateIdentity")):
            key = ((ident.findtext(q(NS_CLIENT, "UpdateID")) or "").lower(),
                   ident.findtext(q(NS_CLIENT, "RevisionNumber")))
            if key in by_id:
                rev, u = by_id[key]
                results.append(
                    "<RefreshCacheResult><RevisionID>%d</RevisionID><GlobalID><UpdateID>%s"
                    "</UpdateID><RevisionNumber>%s</RevisionNumber></GlobalID><IsLeaf>%s"
                    "</IsLeaf><Deployment>%s</Deployment></RefreshCacheResult>" % (
                        rev, key[0], key[1], "true" if u["is_leaf"] else "false",
                        "".join("<%s>%s</%s>" % (k, html.escape(v or "", quote=False), k)
                                for k, v in u["deployment"])))
        return ('<s:Envelope xmlns:s="%s"><s:Body xmlns:xsi="http://www.w3.org/2001/'
                'XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
                '<RefreshCacheResponse xmlns="%s"><RefreshCacheResult>%s</RefreshCacheResult>'
                '</RefreshCacheResponse></s:Body></s:Envelope>'
                % (NS_SOAP, NS_CLIENT, "".join(results)))

    def extended_info(self, req):
        types = {t.text for t in req.iter(q(NS_CLIENT, "XmlUpdateFragmentType"))}
        revs = self.ints(req, "revisionIDs")
        updates, digests = [], []
        for kind in ("Extended", "LocalizedProperties"):
            for r in revs:
                xml = self.catalog.fragments.get(r, {}).get(kind)
                if xml and kind in types:
                    updates.append("<Update><ID>%d</ID><Xml>%s</Xml></Update>"
                                   % (r, html.escape(xml, quote=False)))
                if xml and kind == "Extended":
                    digests += re.findall(r'<File Digest="([^"]+)"', xml)
        out = [r for r in revs
               if r not in self.catalog.updates and r not in self.catalog.fragments]
        body = self.captured("native-flow/000015")
        body = re.sub(r"<Updates>.*</Updates>", lambda m: "<Updates>%s</Updates>"
                      % "".join(updates), body)
        body = re.sub(r"<FileLocations>.*</FileLocations>",
                      lambda m: self.locations_xml(digests), body)
        if out:
            body = body.replace("</GetExtendedUpdateInfoResult>",
                                "<OutOfScopeRevisionIDs>%s</OutOfScopeRevisionIDs>"
                                "</GetExtendedUpdateInfoResult>"
                                % "".join("<int>%d</int>" % r for r in out))
        return body

    def locations_xml(self, digests):
        locs = "".join("<FileLocation><FileDigest>%s</FileDigest><Url>%s%s</Url></FileLocation>"
                       % (d, self.origin, self.catalog.locations[d])
                       for d in dict.fromkeys(digests) if d in self.catalog.locations)
        return "<FileLocations>%s</FileLocations>" % locs if locs else ""

    def file_locations(self, req, client):
        digests = [d.text for d in req.iter(q(NS_CLIENT, "base64Binary"))]
        body = read("cbs/get-file-locations-response.xml", self.args.data_dir)
        body = re.sub(r"<FileLocations>.*</FileLocations>",
                      lambda m: self.locations_xml(digests), body)
        return re.sub(r"<NewCookie>.*</NewCookie>", lambda m: (
            "<NewCookie><Expiration>%s</Expiration><EncryptedData>%s</EncryptedData></NewCookie>"
            % self.new_cookie(client)), body)

    def record(self, entry):
        if self.log:
            with self.lock:
                self.log.write(json.dumps(entry) + "\n")
                self.log.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, ctype="text/xml; charset=utf-8", extra=()):
        data = body if isinstance(body, bytes) else body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "private")
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        st = self.server.standin
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        op = (self.headers.get("SOAPAction") or "").strip('"').rsplit("/", 1)[-1]
        try:
            req = ET.fromstring(body)
            first = req.find(q(NS_SOAP, "Body"))[0]
            if first.tag.split("}")[1] != op:
                raise ValueError("SOAPAction %s but body %s" % (op, first.tag))
            with st.lock:
                status, answer = st.handle_soap(op, req)
        except (ET.ParseError, ValueError, TypeError, IndexError) as e:
            status, answer = st.fault("InvalidParameters", op or "?", NS_CLIENT)
            answer = answer.replace("<Message />", "<Message>%s</Message>" % html.escape(str(e)))
        entry = {"method": "POST", "path": self.path, "op": op, "status": status}
        if op == "GetAuthorizationCookie":
            entry["target_group"] = req.findtext(".//" + q(NS_AUTH, "targetGroupName"))
        st.record(entry)
        self.send(status, answer)

    def do_GET(self):
        st = self.server.standin
        status, rng = 404, self.headers.get("Range")
        path = os.path.normpath(self.path.split("?")[0]).lstrip("/")
        parts = path.split("/")
        fs = os.path.join(st.args.content_dir, *parts[1:]) if st.args.content_dir and \
            len(parts) == 3 and parts[0] == "Content" else None
        if fs and os.path.isfile(fs):
            size = os.path.getsize(fs)
            m = re.match(r"bytes=(\d+)-(\d*)$", rng or "")
            with open(fs, "rb") as f:
                if m and int(m.group(1)) < size:
                    start = int(m.group(1))
                    end = min(int(m.group(2)) if m.group(2) else size - 1, size - 1)
                    f.seek(start)
                    status = 206
                    self.send(206, f.read(end - start + 1), "application/octet-stream",
                              [("Accept-Ranges", "bytes"),
                               ("Content-Range", "bytes %d-%d/%d" % (start, end, size))])
                elif m:
                    status = 416
                    self.send(416, b"", "text/html",
                              [("Content-Range", "bytes */%d" % size)])
                else:
                    status = 200
                    self.send(200, f.read(), "application/octet-stream",
                              [("Accept-Ranges", "bytes")])
        else:
            self.send(404, "<html><body>404 Not Found</body></html>", "text/html")
        st.record({"method": "GET", "path": self.path, "range": rng, "status": status})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free)")
    ap.add_argument("--data-dir", default=DATA, help="the captures (tests/data/wusp)")
    ap.add_argument("--content-dir", help="serve /Content/XX/NAME from DIR/XX/NAME")
    ap.add_argument("--page-size", type=int, default=50, help="updates per SyncUpdates answer")
    ap.add_argument("--fault", action="append", default=[], metavar="OP:CODE[:N]",
                    help="answer the N-th call of OP (default the first) with the fault CODE "
                         "(repeatable)")
    ap.add_argument("--expire-cookie-after", type=int, default=0, metavar="N",
                    help="a cookie used more than N times gets CookieExpired")
    ap.add_argument("--log", help="append one JSON line per request to this file")
    args = ap.parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.standin = StandIn(args)
    port = server.server_address[1]
    server.standin.origin = "http://127.0.0.1:%d" % port
    print("listening on %d" % port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
