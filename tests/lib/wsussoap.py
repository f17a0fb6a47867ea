"""wsussoap: helpers for the integration tests of wsusd's MS-WSUSSS web services (SOAP owns
this file). A fresh database in the test cluster, seeded through `wsusctl import` with the real
export (tests/data/WSUS.cab), the 9 real update documents (tests/data/docs, packaged here as a
wsusutil package) and generated software updates (tests/tools/wsusgen.py); a real wsusd on
127.0.0.1; SOAP calls over real HTTP; schema validation of answers with `xmllint --schema`
against the XSDs derived from the WSDL (tests/data/xsd). Python standard library only.
"""

import base64
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsustest  # noqa: E402
from wsustest import expect as check, failures, free_port  # noqa: E402,F401

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("WSUS_SOURCE_DIR", os.path.normpath(os.path.join(HERE, "..", "..")))
DATA = os.environ.get("WSUS_TEST_DATA", os.path.join(SRC, "tests", "data"))
BIN = os.environ.get("WSUS_BIN_DIR", os.path.join(SRC, "build", "bin"))
GEN = os.path.join(SRC, "tests", "tools", "wsusgen.py")
XSD = os.path.join(DATA, "xsd")

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "http://www.microsoft.com/SoftwareDistribution"
NS_AUTH = "http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService"
NS_MON = "http://www.microsoft.com/SoftwareDistribution/Server/IMonitorable"
SYNC_PATH = "/ServerSyncWebService/ServerSyncWebService.asmx"
AUTH_PATH = "/DssAuthWebService/DssAuthWebService.asmx"
UPD = "{http://schemas.microsoft.com/msus/2002/12/Update}"

# the product and classification of the real Defender documents (tests/data/docs)
DEFENDER = "8c3fcc84-7410-4a95-8b89-a166a0190486"
DEFINITION_UPDATES = "e0789628-ce08-4437-be74-2495b842f43b"
SECURITY_UPDATES = "0fa1201d-4330-4fa8-8ae9-b877473b6441"

def finish(name):
    """Exit 1 if any check failed (wsustest.finish), naming the test."""
    print("%s:" % name, end=" ")
    wsustest.finish()


def psql(sql, db="postgres"):
    r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", db],
                       input=sql.encode("utf-8"), capture_output=True)
    if r.returncode != 0:
        raise SystemExit("psql failed: %s\n%s" % (sql[:200], r.stderr.decode(errors="replace")))
    # bytes, not text mode: stored documents keep their CR LF
    out = r.stdout.decode("utf-8")
    return out[:-1] if out.endswith("\n") else out


def docs_package(dest):
    """A wsusutil package (package.xml + metadata.txt, gcab) holding the 9 real documents.
    MUUrls come from the real GetUpdateData answer of exchange 000014 where known."""
    work = tempfile.mkdtemp(prefix="soapdocs-")
    muurls = {}
    body = open(os.path.join(DATA, "exchanges", "000014", "response.body"), encoding="utf-8").read()
    for d, u in re.findall(r"<FileDigest>([^<]+)</FileDigest><MUUrl>([^<]+)</MUUrl>", body):
        muurls[d] = u
    files, entries, meta = {}, [], []
    docs = sorted(os.listdir(os.path.join(DATA, "docs")))
    # categories first, as a real export does
    docs.sort(key=lambda n: 0 if ("56309036" in n or "6964aab4" in n or "dd78b8a1" in n) else 1)
    for name in docs:
        xml = open(os.path.join(DATA, "docs", name), encoding="utf-8", newline="").read()
        root = ET.fromstring(xml)
        ident = root.find(UPD + "UpdateIdentity")
        uid, rev = ident.get("UpdateID").lower(), int(ident.get("RevisionNumber"))
        refs = []
        for f in root.iter(UPD + "File"):
            dg = f.get("Digest")
            attrs = 'Digest="%s" DigestAlgorithm="SHA1" FileName="%s" Size="%s"' % (
                dg, f.get("FileName"), f.get("Size"))
            if dg in muurls:
                attrs += ' MUUrl="%s"' % muurls[dg]
            files[base64.b64decode(dg)] = "<File %s />" % attrs
            refs.append('<File Digest="%s" />' % dg)
        entries.append('<Update UpdateId="%s" RevisionNumber="%d">%s<Categories /><Classifications />'
                       '</Update>' % (uid, rev, "<Files>%s</Files>" % "".join(refs) if refs else "<Files />"))
        units = len(xml.encode("utf-16-le")) // 2
        meta.append("%s,%08x,%08x,%s\r\n" % (uid, rev, units, xml))
    pkg = os.path.join(work, "package.xml")
    with open(pkg, "w", encoding="utf-8", newline="") as p:
        p.write("\ufeff<?xml version=\"1.0\" encoding=\"utf-8\"?><ExportPackage "
                "ServerID=\"11111111-2222-3333-4444-555555555555\" CreationTime=\"2026-10-04T16:00:00Z\" "
                "FormatVersion=\"1.0\" ProtocolVersion=\"1.20\"><Languages />")
        p.write("<Files>%s</Files>" % "".join(files[k] for k in sorted(files)))
        p.write("<Updates>%s</Updates></ExportPackage>" % "".join(entries))
    mpath = os.path.join(work, "metadata.txt")
    with open(mpath, "w", encoding="utf-8", newline="") as m:
        m.write("".join(meta))
    subprocess.run(["gcab", "-c", "-z", "-n", dest, pkg, mpath], check=True)
    shutil.rmtree(work, ignore_errors=True)


class Server:
    """A fresh database seeded through wsusctl import, and a wsusd serving it (a wsustest.Wsusd
    whose clean exit, without sanitizer report, is part of the test)."""

    def __init__(self, name, gen_args=("--seed", "7", "--updates", "40"), export=True,
                 server_extra=""):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="wsusd-%s-" % name)
        self.db = wsustest.create_db("soap_" + name)
        self.port = free_port()
        self.conf = wsustest.write_config(self.dir, self.db, listen="127.0.0.1:%d" % self.port,
                                          server_extra="threads = 4\nmax_request_bytes = 1048576\n" +
                                          server_extra)
        self.wsusd = wsustest.Wsusd(self.conf)
        self.gen_cab = os.path.join(self.dir, "gen.cab")
        self.gen_content = os.path.join(self.dir, "gencontent")
        if export:
            self.ctl("import", os.path.join(DATA, "WSUS.cab"))
        docs = os.path.join(self.dir, "docs.cab")
        docs_package(docs)
        self.ctl("import", docs)
        if gen_args:
            subprocess.run([sys.executable, GEN] + list(gen_args) +
                           ["--out", self.gen_cab, "--content-dir", self.gen_content],
                           check=True, capture_output=True)
            self.ctl("import", self.gen_cab)
        self.start()

    def ctl(self, *args):
        r = wsustest.wsusctl(self.conf, *args)
        if r.returncode != 0:
            raise SystemExit("wsusctl %s failed: %s%s" % (" ".join(args), r.stdout, r.stderr))
        return r.stdout

    def sql(self, q):
        return psql(q, self.db)

    def start(self):
        try:
            self.wsusd.start(wait_seconds=60)
        except RuntimeError as e:
            raise SystemExit(str(e))

    def alive(self):
        return self.wsusd.proc is not None and self.wsusd.proc.poll() is None

    def stop(self):
        if self.wsusd.proc is None:
            return
        rc = self.wsusd.stop(timeout=60)
        report = self.wsusd.sanitizer_report()
        self.wsusd.proc = None
        # ASan reports land in the log: a clean exit and no report is part of the test
        check(report is None, "%s: sanitizer report in wsusd log:\n%s" % (self.name, report))
        check(rc == 0, "%s: wsusd exited with %s" % (self.name, rc))

    def cleanup(self):
        self.stop()
        wsustest.drop_db(self.db)
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- HTTP / SOAP ---

    def post(self, path, body, action=None, headers=None, timeout=120):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"Content-Type": "text/xml; charset=utf-8"}
        if action is not None:
            h["SOAPAction"] = '"%s"' % action
        if headers:
            h.update(headers)
        if isinstance(body, str):
            body = body.encode("utf-8")
        try:
            c.request("POST", path, body=body, headers=h)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused from its headers (413) and closed before the whole body was sent
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data, r

    def call(self, op, inner, ns=NS, path=SYNC_PATH, action=None):
        body = ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="%s"><soap:Body>'
                '<%s xmlns="%s">%s</%s></soap:Body></soap:Envelope>' % (ENV, op, ns, inner, op))
        if action is None:
            action = (NS_AUTH + "/" + op) if ns == NS_AUTH else (NS_MON + "/Ping" if ns == NS_MON
                                                               else NS + "/" + op)
        return self.post(path, body, action)

    def authenticate(self, name="branch1.example.test",
                     guid="6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12", version="1.20"):
        st, data, _ = self.call("GetAuthorizationCookie",
                                "<accountName>%s</accountName><accountGuid>%s</accountGuid>" % (name, guid),
                                ns=NS_AUTH, path=AUTH_PATH)
        if st != 200:
            raise SystemExit("GetAuthorizationCookie: %d %s" % (st, data[:500]))
        cd = re.search(rb"<CookieData>([^<]+)</CookieData>", data).group(1).decode()
        st, data, _ = self.call("GetCookie",
                                "<authCookies><AuthorizationCookie><PlugInId>DssTargeting</PlugInId>"
                                "<CookieData>%s</CookieData></AuthorizationCookie></authCookies>"
                                "<protocolVersion>%s</protocolVersion>" % (cd, version))
        if st != 200:
            raise SystemExit("GetCookie: %d %s" % (st, data[:500]))
        exp = re.search(rb"<Expiration>([^<]+)</Expiration>", data).group(1).decode()
        ed = re.search(rb"<EncryptedData>([^<]+)</EncryptedData>", data).group(1).decode()
        return "<cookie><Expiration>%s</Expiration><EncryptedData>%s</EncryptedData></cookie>" % (exp, ed)


def body_child(data):
    """The first element of soap:Body of an answer."""
    root = ET.fromstring(data)
    body = root.find("{%s}Body" % ENV)
    return list(body)[0]


def fault(data):
    """(faultcode, ErrorCode, Message) of a SOAP fault answer, or None."""
    el = body_child(data)
    if el.tag != "{%s}Fault" % ENV:
        return None
    d = el.find("detail")
    return (el.findtext("faultcode"), d.findtext("ErrorCode") if d is not None else None,
            d.findtext("Message") if d is not None else None)


def check_fault_shape(data, what):
    """Every fault: soap:Fault with faultcode, faultstring, faultactor and unqualified
    detail/ErrorCode, Message, ID (a GUID), Method, as WS2025 (exchanges 000017-000019)."""
    el = body_child(data)
    if not check(el.tag == "{%s}Fault" % ENV, "%s: not a fault" % what):
        return
    names = [c.tag for c in el]
    check(names == ["faultcode", "faultstring", "faultactor", "detail"],
          "%s: fault children %s" % (what, names))
    d = el.find("detail")
    dn = [c.tag for c in d] if d is not None else []
    check(dn in (["ErrorCode", "Message", "ID", "Method"], ["ErrorCode", "Message", "ID"]),
          "%s: detail children %s" % (what, dn))
    if d is not None and d.find("ID") is not None:
        check(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                           d.findtext("ID") or "") is not None, "%s: fault ID not a GUID" % what)


def validate(data, what):
    """Validate the body's element against the WSDL-derived schema with xmllint --schema."""
    el = body_child(data)
    ns = el.tag[1:].split("}")[0]
    xsd = {NS: "serversync.xsd", NS_AUTH: "dssauth.xsd", NS_MON: "monitorable.xsd"}.get(ns)
    if not check(xsd is not None, "%s: answer element %s in no WSDL namespace" % (what, el.tag)):
        return False
    fd, path = tempfile.mkstemp(suffix=".xml")
    with os.fdopen(fd, "wb") as f:
        f.write(ET.tostring(el))
    r = subprocess.run(["xmllint", "--noout", "--schema", os.path.join(XSD, xsd), path],
                       capture_output=True, text=True)
    os.unlink(path)
    return check(r.returncode == 0, "%s: answer does not validate against %s: %s" %
                 (what, xsd, r.stderr[-1500:]))


def identities(data):
    """[(update_id, revision)] of a GetRevisionIdList answer, and its Anchor."""
    el = body_child(data)
    res = el.find("{%s}GetRevisionIdListResult" % NS)
    anchor = res.findtext("{%s}Anchor" % NS)
    ids = [(u.findtext("{%s}UpdateID" % NS), int(u.findtext("{%s}RevisionNumber" % NS)))
           for u in res.iter("{%s}UpdateIdentity" % NS)]
    return ids, anchor


def shape(el):
    """Element names in order with repeated siblings collapsed: the 'shape' of an answer."""
    out, last = [], None
    for c in el:
        s = shape(c)
        key = (c.tag, tuple(s))
        if key == last:
            continue
        last = key
        out.append(key)
    return out


def filter_xml(anchor=None, get_config=False, cats=None, classes=None):
    x = "<filter>"
    if anchor is not None:
        x += "<Anchor>%s</Anchor>" % anchor
    x += "<GetConfig>%s</GetConfig><Get63LanguageOnly>false</Get63LanguageOnly>" % (
        "true" if get_config else "false")
    for name, lst in (("Categories", cats), ("Classifications", classes)):
        if lst is None:
            continue
        x += "<%s>%s</%s>" % (name, "".join("<IdAndDelta><Id>%s</Id><Delta>%s</Delta></IdAndDelta>" % (
            i, "true" if d else "false") for i, d in lst), name)
    return x + "</filter>"
