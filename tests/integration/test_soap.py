#!/usr/bin/env python3
"""test_soap: wsusd as an upstream server (MS-WSUSSS), over real HTTP against a real wsusd and
a fresh database seeded with the real export, the 9 real update documents and generated
software updates (bundles, leaves with files, supersedence). Checks: every operation answers
with a body that validates against the WSDL's schema; the real request bodies of
tests/data/exchanges (our cookie and anchors substituted) get answers of the same shape as the
Windows Server 2025 answers, and the three real faults the same ErrorCode; the filter semantics
of WSUSSS-NOTES 4.7 row by row against an independent model of the catalog; anchors deliver
exactly what changed; GetUpdateData limits, blobs (plain and the original cabinet passed
through), file URLs; DownloadFiles queueing and FileDigestsMissing; GetDeployments;
cookies (forged, swapped kinds, ServerChanged after a server id change); the allow-list;
downstream bookkeeping.
"""

import base64
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import wsussoap as w  # noqa: E402
from wsussoap import check  # noqa: E402

EXCH = os.path.join(w.DATA, "exchanges")
DSS_GUID = "6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12"


class Model:
    """The catalog as plain Python sets, read with SQL, and the semantics of 4.7 on top."""

    def __init__(self, s):
        self.rev = {}  # id -> (update_id, revision, type, change_seq)
        for line in s.sql("SELECT id, update_id, revision_number, update_type, change_seq "
                          "FROM revision").splitlines():
            i, u, r, t, c = line.split("|")
            self.rev[int(i)] = (u, int(r), t, int(c))
        self.by_ident = {(u, r): i for i, (u, r, t, c) in self.rev.items()}
        self.cats = {}  # revision id -> set of is_category prerequisite ids
        for line in s.sql("SELECT revision_id, update_id FROM revision_prerequisite "
                          "WHERE is_category").splitlines():
            i, u = line.split("|")
            self.cats.setdefault(int(i), set()).add(u)
        self.bundle = {}
        for line in s.sql("SELECT revision_id, member_update_id, member_revision_number "
                          "FROM revision_bundle").splitlines():
            i, u, r = line.split("|")
            self.bundle.setdefault(int(i), set()).add((u, int(r)))

    def held(self, types):
        """Every revision of these types (a USS lists all revisions it holds, as WS2025 does;
        WSUSSS-NOTES 4.5), not only the latest of each update."""
        return {i for i, (u, r, t, c) in self.rev.items() if t in types}

    def subtree(self, ids):
        """ids plus the categories below them (through is_category parent links)."""
        out = dict(ids)
        changed = True
        while changed:
            changed = False
            for i, (u, r, t, c) in self.rev.items():
                if t != "Category" or u in out:
                    continue
                for p in self.cats.get(i, ()):
                    if p in out:
                        out[u] = out[p]
                        changed = True
                        break
        return out

    def updates(self, anchor=None, cats=None, classes=None):
        roots = {}
        held = self.held(("Software", "Driver"))
        if not cats and not classes:
            roots = {i: False for i in held}
        elif cats and classes:
            ct = self.subtree({g: d for g, d in cats})
            cl = {g: d for g, d in classes}
            for i in held:
                mine = self.cats.get(i, set())
                a = [not ct[g] for g in mine if g in ct]
                b = [not cl[g] for g in mine if g in cl]
                if a and b:
                    roots[i] = any(a) or any(b)
        force = dict(roots)
        todo = list(roots)
        while todo:
            i = todo.pop()
            for m in self.bundle.get(i, ()):
                j = self.by_ident.get(m)
                if j is None:
                    continue
                if j not in force or (force[i] and not force[j]):
                    force[j] = force.get(j, False) or force[i]
                    todo.append(j)
        return {(self.rev[i][0], self.rev[i][1]) for i, f in force.items()
                if anchor is None or f or self.rev[i][3] > anchor}

    def config(self, anchor=None):
        return {(self.rev[i][0], self.rev[i][1]) for i in self.held(("Category", "Detectoid"))
                if anchor is None or self.rev[i][3] > anchor}


def seq_of(anchor):
    return int(anchor.split(",")[0])


def revlist(s, ck, what, **kw):
    st, data, r = s.call("GetRevisionIdList", ck + w.filter_xml(**kw))
    if not check(st == 200, "%s: HTTP %d %s" % (what, st, data[:300])):
        return set(), None
    w.validate(data, what)
    ids, anchor = w.identities(data)
    check(len(ids) == len(set(ids)), "%s: duplicate identities in the answer" % what)
    return set(ids), anchor


def test_operations(s, ck):
    # GetAuthConfig
    st, data, r = s.call("GetAuthConfig", "")
    check(st == 200 and r.getheader("Content-Type") == "text/xml; charset=utf-8",
          "GetAuthConfig: %d %s" % (st, r.getheader("Content-Type")))
    w.validate(data, "GetAuthConfig")
    check(b"<PlugInID>DssTargeting</PlugInID><ServiceUrl>DssAuthWebService/DssAuthWebService.asmx"
          b"</ServiceUrl>" in data, "GetAuthConfig: plug-in")
    # GetAuthorizationCookie + GetCookie (validated answers)
    st, data, _ = s.call("GetAuthorizationCookie", "<accountName>b.example.test</accountName>"
                         "<accountGuid>%s</accountGuid>" % DSS_GUID, ns=w.NS_AUTH, path=w.AUTH_PATH)
    check(st == 200, "GetAuthorizationCookie: %d" % st)
    w.validate(data, "GetAuthorizationCookie")
    cd = re.search(rb"<CookieData>([^<]+)</CookieData>", data).group(1).decode()
    st, data, _ = s.call("GetCookie", "<authCookies><AuthorizationCookie><PlugInId>DssTargeting"
                         "</PlugInId><CookieData>%s</CookieData></AuthorizationCookie></authCookies>"
                         "<protocolVersion>1.20</protocolVersion>" % cd)
    check(st == 200, "GetCookie: %d" % st)
    w.validate(data, "GetCookie")
    check(s.sql("SELECT account_name || ' ' || protocol_version FROM downstream_server "
                "WHERE account_guid = '%s'" % DSS_GUID) == "b.example.test 1.20",
          "downstream_server row after GetAuthorizationCookie + GetCookie")
    # GetConfigData: full, then with our own anchor -> empty language list
    st, data, _ = s.call("GetConfigData", ck)
    check(st == 200, "GetConfigData: %d" % st)
    w.validate(data, "GetConfigData")
    check(b"<MaxNumberOfUpdatesPerRequest>100</MaxNumberOfUpdatesPerRequest>" in data and
          b"<ProtocolVersion>1.20</ProtocolVersion>" in data and
          b"<LanguageID>1033</LanguageID><ShortLanguage>en</ShortLanguage>" in data,
          "GetConfigData: limits, version, languages")
    cfg_anchor = re.search(rb"<NewConfigAnchor>([^<]+)<", data).group(1).decode()
    st, data, _ = s.call("GetConfigData", ck + "<configAnchor>%s</configAnchor>" % cfg_anchor)
    check(st == 200 and b"<LanguageUpdateList />" in data,
          "GetConfigData with an unchanged configAnchor: empty LanguageUpdateList")
    w.validate(data, "GetConfigData(anchor)")
    s.sql("UPDATE language SET enabled = true WHERE short_name = 'de'")
    st, data, _ = s.call("GetConfigData", ck + "<configAnchor>%s</configAnchor>" % cfg_anchor)
    check(b"<ShortLanguage>de</ShortLanguage><LongLanguage>German</LongLanguage><Enabled>true"
          in data, "GetConfigData after a language change: full list again")
    s.sql("UPDATE language SET enabled = false WHERE short_name = 'de'")
    # GetUpdateDecryptionData, GetRelatedRevisionsForUpdates, Ping (both services)
    ident = "<UpdateIdentity><UpdateID>ccb78947-6453-4ecc-9de8-bc0305c98f2d</UpdateID>" \
            "<RevisionNumber>200</RevisionNumber></UpdateIdentity>"
    st, data, _ = s.call("GetUpdateDecryptionData", ck + "<updateIds>%s</updateIds>" % ident)
    check(st == 200, "GetUpdateDecryptionData: %d" % st)
    w.validate(data, "GetUpdateDecryptionData")
    st, data, _ = s.call("GetRelatedRevisionsForUpdates",
                         ck + "<updateIDs><guid>ccb78947-6453-4ecc-9de8-bc0305c98f2d</guid></updateIDs>")
    check(st == 200, "GetRelatedRevisionsForUpdates: %d" % st)
    w.validate(data, "GetRelatedRevisionsForUpdates")
    for path in (w.SYNC_PATH, w.AUTH_PATH):
        st, data, _ = s.call("Ping", "<pingLevel>0</pingLevel>", ns=w.NS_MON, path=path)
        check(st == 200, "Ping on %s: %d" % (path, st))
        w.validate(data, "Ping")
    # routing: case-insensitive, repeated slashes; GET is not a SOAP call
    st, data, _ = s.post("//dssauthwebservice//DSSAUTHWEBSERVICE.ASMX",
                         '<?xml version="1.0"?><soap:Envelope xmlns:soap="%s"><soap:Body><Ping xmlns="%s">'
                         '<pingLevel>1</pingLevel></Ping></soap:Body></soap:Envelope>' % (w.ENV, w.NS_MON))
    check(st == 200, "routing is case-insensitive and collapses slashes: %d" % st)
    # operations of the other service are not served on this one
    st, data, _ = s.call("GetAuthConfig", "", path=w.AUTH_PATH)
    check(st == 500 and w.fault(data)[1] == "InvalidParameters",
          "GetAuthConfig on the DSS auth service is refused")
    # SOAPAction cross-check
    st, data, _ = s.call("GetAuthConfig", "", action=w.NS + "/GetCookie")
    check(st == 500 and w.fault(data)[1] == "InvalidParameters" and "SOAPAction" in w.fault(data)[2],
          "mismatching SOAPAction is refused")


def test_replay(s, ck):
    """Real request bodies, our cookie (and our anchors where a Windows anchor is meaningless)."""
    cookie_re = re.compile(r"<cookie><Expiration>[^<]*</Expiration><EncryptedData>[^<]*"
                           r"</EncryptedData></cookie>")
    # the original cabinets of exchanges 13, 14, 16 as a sync from WS2025 would have stored them
    for n in ("000013", "000014", "000016"):
        body = open(os.path.join(EXCH, n, "response.body"), encoding="utf-8").read()
        uid = re.search(r"<UpdateID>([^<]+)</UpdateID><RevisionNumber>(\d+)<", body)
        cab = re.search(r"<XmlUpdateBlobCompressed>([^<]+)<", body).group(1)
        s.sql("UPDATE revision SET xml_cab = decode('%s', 'base64') WHERE update_id = '%s' AND "
              "revision_number = %s" % (cab, uid.group(1), uid.group(2)))
    st, data, _ = s.call("GetConfigData", ck)
    cfg_anchor = re.search(rb"<NewConfigAnchor>([^<]+)<", data).group(1).decode()
    auth = None
    for n in sorted(os.listdir(EXCH)):
        d = os.path.join(EXCH, n)
        if not os.path.isdir(d):
            continue
        req = open(os.path.join(d, "request.body"), encoding="utf-8").read()
        hdr = open(os.path.join(d, "request.headers"), encoding="utf-8").read()
        path = hdr.split()[1]
        action = re.search(r"(?i)soapaction: \"([^\"]+)\"", hdr).group(1)
        req = cookie_re.sub(ck, req)
        if auth is not None:
            req = re.sub(r"<CookieData>[^<]*</CookieData>", "<CookieData>%s</CookieData>" % auth, req)
        req = re.sub(r"<configAnchor>[^<]*</configAnchor>", "<configAnchor>%s</configAnchor>" % cfg_anchor, req)
        st, data, _ = s.post(path, req, action)
        real = open(os.path.join(d, "response.body"), "rb").read()
        if n == "000002":
            auth = re.search(rb"<CookieData>([^<]+)</CookieData>", data).group(1).decode()
        real_fault = w.fault(real)
        if real_fault is not None:
            check(st == 500, "replay %s: HTTP %d, Windows 500" % (n, st))
            ours = w.fault(data)
            check(ours is not None and ours[:2] == real_fault[:2],
                  "replay %s: fault %s, Windows %s" % (n, ours, real_fault))
            w.check_fault_shape(data, "replay %s" % n)
            continue
        check(st == 200, "replay %s: HTTP %d %s" % (n, st, data[:300]))
        if st != 200:
            continue
        w.validate(data, "replay %s" % n)
        a, b = w.shape(w.body_child(data)), w.shape(w.body_child(real))
        check(a == b, "replay %s: answer shape differs from Windows\n ours %s\n real %s" % (n, a, b))
        if n in ("000013", "000014", "000016"):
            mine = re.search(rb"<XmlUpdateBlobCompressed>([^<]+)<", data)
            theirs = re.search(rb"<XmlUpdateBlobCompressed>([^<]+)<", real)
            check(mine is not None and mine.group(1) == theirs.group(1),
                  "replay %s: the original cabinet is passed through byte for byte" % n)
        if n == "000015":
            check(w.body_child(data).findtext(".//{%s}XmlUpdateBlob" % w.NS) ==
                  w.body_child(real).findtext(".//{%s}XmlUpdateBlob" % w.NS),
                  "replay 000015: XmlUpdateBlob is the stored document verbatim")


def test_filters(s, ck, m):
    """WSUSSS-NOTES 4.7, row by row."""
    pairs = s.sql("SELECT DISTINCT p1.update_id, p2.update_id FROM revision r "
                  "JOIN revision_prerequisite p1 ON p1.revision_id = r.id AND p1.is_category "
                  "JOIN revision c1 ON c1.update_id = p1.update_id AND c1.category_type = 'Product' "
                  "JOIN revision_prerequisite p2 ON p2.revision_id = r.id AND p2.is_category "
                  "JOIN revision c2 ON c2.update_id = p2.update_id "
                  " AND c2.category_type = 'UpdateClassification' "
                  "WHERE r.update_type = 'Software' ORDER BY 1, 2").splitlines()
    pairs = [tuple(p.split("|")) for p in pairs]
    check(len(pairs) >= 2, "seed: generated updates in several product/classification pairs")
    prod, cls = pairs[0]
    other_cls = next((c for p, c in pairs if c != cls), None)
    unrelated = next(p for p, c in pairs if p != prod) if len({p for p, c in pairs}) > 1 else \
        "00000000-0000-0000-0000-0000000000aa"
    _, anchor = revlist(s, ck, "anchor", get_config=False)
    aseq = seq_of(anchor)
    everything = m.updates()
    got, _ = revlist(s, ck, "row1 no filter")
    check(got == everything and len(got) > 100,
          "row 1: no Categories/Classifications = every update (%d vs %d)" % (len(got), len(everything)))
    got, _ = revlist(s, ck, "row1 GetConfig", get_config=True)
    check(got == m.config(), "GetConfig=true: every category and detectoid (%d vs %d)" %
          (len(got), len(m.config())))
    for what, kw in (("categories only", dict(cats=[(prod, False)])),
                     ("classifications only", dict(classes=[(cls, False)])),
                     ("empty Categories + classifications", dict(cats=[], classes=[(cls, False)]))):
        got, _ = revlist(s, ck, "row2 " + what, **kw)
        check(got == set(), "row 2: %s = nothing (got %d)" % (what, len(got)))
    both = m.updates(cats=[(prod, False)], classes=[(cls, False)])
    got, _ = revlist(s, ck, "row3", cats=[(prod, False)], classes=[(cls, False)])
    check(got == both and len(both) > 0, "row 3: product AND classification (%d vs %d)" %
          (len(got), len(both)))
    leaves = [i for i in both if m.rev[m.by_ident[i]][0] not in
              {x for j in both for x in m.cats.get(m.by_ident[j], ())}]
    check(any(not m.cats.get(m.by_ident[i]) for i in both),
          "row 3: bundle closure brings leaves that name no product themselves")
    got, _ = revlist(s, ck, "row4", cats=[(prod, False), (unrelated, False)], classes=[(cls, False)])
    check(got == m.updates(cats=[(prod, False), (unrelated, False)], classes=[(cls, False)]) and got >= both,
          "row 4: an extra product only adds (OR within a list)")
    if other_cls:
        got, _ = revlist(s, ck, "row4b", cats=[(prod, False)], classes=[(cls, False), (other_cls, False)])
        check(got == m.updates(cats=[(prod, False)], classes=[(cls, False), (other_cls, False)]),
              "row 4: OR within Classifications")
    # family -> products: selecting the parent of a product selects its updates
    parent = s.sql("SELECT p.update_id FROM revision c JOIN revision_prerequisite p ON "
                   "p.revision_id = c.id AND p.is_category WHERE c.update_id = '%s' LIMIT 1" % prod)
    if parent:
        got, _ = revlist(s, ck, "family", cats=[(parent, False)], classes=[(cls, False)])
        check(got >= both, "a product family in Categories selects its products' updates")
    got, _ = revlist(s, ck, "row5", anchor=anchor, cats=[(prod, False)], classes=[(cls, False)])
    check(got == both, "row 5: anchor + Delta=false = everything again (%d vs %d)" % (len(got), len(both)))
    got, _ = revlist(s, ck, "row6", anchor=anchor, cats=[(prod, True)], classes=[(cls, True)])
    check(got == set(), "row 6: anchor + Delta=true, nothing changed = nothing (got %d)" % len(got))
    got, _ = revlist(s, ck, "row7 old", anchor="0,2000-01-01 00:00:00.000",
                     cats=[(prod, True)], classes=[(cls, True)])
    check(got == both, "row 7: an old anchor = everything")
    got, _ = revlist(s, ck, "row7 future", anchor="%d,2100-01-01 00:00:00.000" % (aseq + 10 ** 9),
                     cats=[(prod, True)], classes=[(cls, True)])
    check(got == set(), "row 7: a future anchor = nothing new")
    got, _ = revlist(s, ck, "no filter delta", anchor=anchor)
    check(got == set(), "no filter + anchor, nothing changed = nothing")
    return prod, cls, anchor


def test_anchor_change(s, ck, prod, cls, anchor):
    """A change in the catalog after an anchor comes back exactly."""
    before = set(s.sql("SELECT id FROM revision").split())
    bumped = os.path.join(s.dir, "bumped.cab")
    import subprocess
    subprocess.run([sys.executable, w.GEN, "--seed", "7", "--updates", "40", "--revision-bump", "6",
                    "--no-content", "--out", bumped], check=True, capture_output=True)
    s.ctl("import", bumped)
    m = Model(s)
    new = {(m.rev[i][0], m.rev[i][1]) for i in m.rev if str(i) not in before}
    check(len(new) == 6, "seed: the bumped package added 6 revisions (got %d)" % len(new))
    got, _ = revlist(s, ck, "all after change")
    older = {(u, r - 1) for u, r in new}
    check(got == m.updates() and new <= got and older <= got,
          "no anchor after a revision bump: both revisions of each bumped update are listed "
          "(%d vs %d)" % (len(got), len(m.updates())))
    got, a2 = revlist(s, ck, "after change", anchor=anchor)
    check(got == new, "no filter + anchor after a change = exactly the new revisions (%d vs %d)" %
          (len(got), len(new)))
    got, _ = revlist(s, ck, "after change filtered", anchor=anchor, cats=[(prod, True)],
                     classes=[(cls, True)])
    check(got == m.updates(anchor=seq_of(anchor), cats=[(prod, True)], classes=[(cls, True)]),
          "product/classification + anchor after a change = the model's answer")
    check(got <= new, "product/classification + anchor after a change: only changed revisions")
    got, _ = revlist(s, ck, "after change again", anchor=a2)
    check(got == set(), "the anchor returned after the change: nothing new")
    got, _ = revlist(s, ck, "config after change", get_config=True, anchor=a2)
    check(got == set(), "GetConfig=true with a fresh anchor: nothing new")
    return m


def test_update_data(s, ck, m):
    def ids_xml(ids):
        return "<updateIds>%s</updateIds>" % "".join(
            "<UpdateIdentity><UpdateID>%s</UpdateID><RevisionNumber>%d</RevisionNumber></UpdateIdentity>"
            % (u, r) for u, r in ids)
    with_files = s.sql("SELECT r.update_id, r.revision_number FROM revision r JOIN revision_file f "
                       "ON f.revision_id = r.id WHERE r.xml_cab IS NULL GROUP BY 1, 2 ORDER BY 1 LIMIT 60")
    ids = [(l.split("|")[0], int(l.split("|")[1])) for l in with_files.splitlines()]
    ids += [sorted(m.config())[k] for k in range(40)]
    st, data, _ = s.call("GetUpdateData", ck + ids_xml(ids))
    check(st == 200, "GetUpdateData 100 ids: %d %s" % (st, data[:300]))
    w.validate(data, "GetUpdateData 100")
    el = w.body_child(data)
    got = [(u.findtext("{%s}Id/{%s}UpdateID" % (w.NS, w.NS)), int(u.findtext("{%s}Id/{%s}RevisionNumber" % (w.NS, w.NS))))
           for u in el.iter("{%s}ServerSyncUpdateData" % w.NS)]
    check(got == ids, "GetUpdateData answers every id in request order")
    digests = set()
    for u in el.iter("{%s}ServerSyncUpdateData" % w.NS):
        uid = u.findtext("{%s}Id/{%s}UpdateID" % (w.NS, w.NS))
        rev = u.findtext("{%s}Id/{%s}RevisionNumber" % (w.NS, w.NS))
        blob = u.findtext("{%s}XmlUpdateBlob" % w.NS)
        stored = s.sql("SELECT xml FROM revision WHERE update_id = '%s' AND revision_number = %s" % (uid, rev))
        if not check(blob is not None and blob == stored,
                     "GetUpdateData %s: XmlUpdateBlob is the stored XML" % uid):
            k = next((i for i, (a, b) in enumerate(zip(blob or "", stored)) if a != b), None)
            print("  first difference at %s: %r / %r (lengths %d, %d)" % (
                k, (blob or "")[k - 40:k + 40] if k else "", stored[k - 40:k + 40] if k else "",
                len(blob or ""), len(stored)))
        for d in u.iter("{%s}base64Binary" % w.NS):
            digests.add(d.text)
    urls = [(x.findtext("{%s}FileDigest" % w.NS), x.findtext("{%s}MUUrl" % w.NS))
            for x in el.iter("{%s}ServerSyncUrlData" % w.NS)]
    check(len(urls) == len({d for d, u in urls}), "fileUrls are deduplicated")
    check({d for d, u in urls} == digests and len(digests) > 0,
          "fileUrls list exactly the digests of FileDigestList")
    known_mu = {l.split("|")[0]: l.split("|")[1] for l in s.sql(
        "SELECT encode(sha1, 'base64'), coalesce(mu_url, '') FROM file").splitlines()}
    check(all((u or "") == known_mu.get(d) for d, u in urls) and any(u for d, u in urls),
          "fileUrls carry the MUUrl the catalog knows, and none otherwise")
    # limits and faults
    st, data, _ = s.call("GetUpdateData", ck + ids_xml(ids + ids[:1]))
    check(st == 500 and w.fault(data)[1] == "InvalidParameters" and w.fault(data)[2].startswith("updateIds"),
          "GetUpdateData with 101 ids: InvalidParameters naming updateIds")
    st, data, _ = s.call("GetUpdateData", ck + ids_xml(ids[:3] + [(ids[0][0], 99999)]))
    check(st == 500 and w.fault(data)[:2] == ("soap:Server", "InternalServerError"),
          "GetUpdateData with an unknown revision: InternalServerError as WS2025")
    st, data, _ = s.call("GetUpdateData", ck)
    check(st == 500 and w.fault(data)[1] == "InvalidParameters", "GetUpdateData without updateIds")
    # the ~2,000,000-byte budget: a batch of big documents is cut, never empty
    big = "x" * 300000
    s.sql("UPDATE revision SET xml = replace(xml, '</upd:Update>', '<!--%s--></upd:Update>') "
          "WHERE update_id IN (%s)" % (big, ",".join("'%s'" % u for u, r in ids[:10])))
    st, data, _ = s.call("GetUpdateData", ck + ids_xml(ids[:10]))
    n = len(list(w.body_child(data).iter("{%s}ServerSyncUpdateData" % w.NS))) if st == 200 else -1
    check(st == 200 and 1 <= n < 10 and len(data) < 2400000,
          "GetUpdateData stays near 2,000,000 bytes (%d updates, %d bytes)" % (n, len(data)))
    w.validate(data, "GetUpdateData budget")


def test_download_files(s, ck):
    rows = s.sql("SELECT encode(sha1, 'base64'), state FROM file ORDER BY sha1 LIMIT 3").splitlines()
    known = [r.split("|")[0] for r in rows]
    s.sql("UPDATE file SET state = 'absent'")
    lst = "<fileDigestList>%s</fileDigestList>" % "".join("<base64Binary>%s</base64Binary>" % d for d in known)
    st, data, _ = s.call("DownloadFiles", ck + lst)
    check(st == 200, "DownloadFiles of known digests: %d %s" % (st, data[:300]))
    w.validate(data, "DownloadFiles")
    check(s.sql("SELECT count(*) FROM file WHERE state = 'queued'") == str(len(known)),
          "DownloadFiles queues the known files")
    unknown = [base64.b64encode(bytes([i]) * 20).decode() for i in (1, 2)]
    lst = "<fileDigestList>%s</fileDigestList>" % "".join(
        "<base64Binary>%s</base64Binary>" % d for d in known[:1] + unknown)
    st, data, _ = s.call("DownloadFiles", ck + lst)
    f = w.fault(data)
    check(st == 500 and f[1] == "FileDigestsMissing" and f[2] == "|".join(unknown),
          "DownloadFiles with unknown digests: FileDigestsMissing, Message = digests joined by | (%s)" % (f,))
    lst = "<fileDigestList>%s</fileDigestList>" % (("<base64Binary>%s</base64Binary>" % known[0]) * 101)
    st, data, _ = s.call("DownloadFiles", ck + lst)
    check(st == 500 and w.fault(data)[1] == "InvalidParameters",
          "DownloadFiles with 101 digests: %d %s" % (st, w.fault(data) if st == 500 else data[:200]))


def test_deployments(s, ck, m):
    _, sync = revlist(s, ck, "sync anchor", get_config=False)
    st, data, _ = s.call("GetDeployments", ck + "<syncAnchor>%s</syncAnchor>" % sync)
    check(st == 200, "GetDeployments (first): %d %s" % (st, data[:300]))
    w.validate(data, "GetDeployments")
    el = w.body_child(data)
    check(len(list(el.iter("{%s}ServerSyncTargetGroup" % w.NS))) == 3, "GetDeployments: the 3 built-in groups")
    dep_anchor = el.findtext(".//{%s}Anchor" % w.NS)
    some = sorted(m.updates())[:3]
    s.sql("INSERT INTO target_group (id, parent_id, name) VALUES ('11111111-0000-4000-8000-000000000001',"
          " 'a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'Servers & <Test>')")
    for k, (u, r) in enumerate(some):
        s.sql("INSERT INTO deployment (deployment_guid, update_id, revision_number, target_group_id,"
              " action, admin_name) VALUES ('22222222-0000-4000-8000-00000000000%d', '%s', %d,"
              " '11111111-0000-4000-8000-000000000001', 0, 'admin')" % (k, u, r))
    s.sql("INSERT INTO declined_update (update_id) VALUES ('%s')" % some[0][0])
    s.sql("INSERT INTO accepted_eula (eula_id) VALUES ('33333333-0000-4000-8000-000000000001')")
    # with the old sync anchor, the new deployments are not yet visible
    st, data, _ = s.call("GetDeployments", ck + "<deploymentAnchor>%s</deploymentAnchor>"
                         "<syncAnchor>%s</syncAnchor>" % (dep_anchor, sync))
    el = w.body_child(data)
    check(st == 200 and not list(el.iter("{%s}ServerSyncDeployment" % w.NS)),
          "GetDeployments: nothing newer than the syncAnchor")
    _, sync2 = revlist(s, ck, "sync anchor 2", get_config=False)
    st, data, _ = s.call("GetDeployments", ck + "<deploymentAnchor>%s</deploymentAnchor>"
                         "<syncAnchor>%s</syncAnchor>" % (dep_anchor, sync2))
    w.validate(data, "GetDeployments 2")
    el = w.body_child(data)
    deps = list(el.iter("{%s}ServerSyncDeployment" % w.NS))
    check(len(deps) == 3, "GetDeployments: the 3 new deployments (%d)" % len(deps))
    check(el.findtext(".//{%s}HiddenUpdates/{%s}guid" % (w.NS, w.NS)) == some[0][0],
          "GetDeployments: declines as HiddenUpdates")
    check(el.findtext(".//{%s}AcceptedEulas/{%s}guid" % (w.NS, w.NS)) == "33333333-0000-4000-8000-000000000001",
          "GetDeployments: accepted EULAs")
    check(b"Servers &amp; &lt;Test&gt;" in data, "GetDeployments: group names escaped")
    a3 = el.findtext("{%s}GetDeploymentsResult/{%s}Anchor" % (w.NS, w.NS))
    s.sql("UPDATE deployment SET dead = true, change_seq = nextval('change_seq') "
          "WHERE deployment_guid = '22222222-0000-4000-8000-000000000000'")
    _, sync3 = revlist(s, ck, "sync anchor 3", get_config=False)
    st, data, _ = s.call("GetDeployments", ck + "<deploymentAnchor>%s</deploymentAnchor>"
                         "<syncAnchor>%s</syncAnchor>" % (a3, sync3))
    w.validate(data, "GetDeployments 3")
    el = w.body_child(data)
    check(not list(el.iter("{%s}ServerSyncDeployment" % w.NS)) and
          el.findtext(".//{%s}DeadDeployments/{%s}guid" % (w.NS, w.NS)) == "22222222-0000-4000-8000-000000000000",
          "GetDeployments: a removed approval comes back as a dead deployment, once")
    st, data, _ = s.call("GetDeployments", ck)
    check(st == 500 and w.fault(data)[1] == "InvalidParameters" and "syncAnchor" in w.fault(data)[2],
          "GetDeployments without syncAnchor: InvalidParameters")


def test_cookies(s, ck):
    q = "<filter><GetConfig>true</GetConfig></filter>"
    ed = re.search(r"<EncryptedData>([^<]+)<", ck).group(1)
    raw = bytearray(base64.b64decode(ed))
    raw[-1] ^= 1
    forged = ck.replace(ed, base64.b64encode(bytes(raw)).decode())
    for what, c, code in (("no cookie", "", "InvalidCookie"),
                          ("tampered cookie", forged, "InvalidCookie"),
                          ("garbage cookie", ck.replace(ed, "AAAA"), "InvalidCookie"),
                          ("not base64", ck.replace(ed, "!!!"), "InvalidCookie")):
        st, data, _ = s.call("GetRevisionIdList", c + q)
        f = w.fault(data) if st == 500 else None
        check(f is not None and f[1] == code, "%s: %s, got %s" % (what, code, f))
        w.check_fault_shape(data, what)
    # an authorization cookie is not a cookie, and the other way round
    st, data, _ = s.call("GetAuthorizationCookie", "<accountName>b.example.test</accountName>"
                         "<accountGuid>%s</accountGuid>" % DSS_GUID, ns=w.NS_AUTH, path=w.AUTH_PATH)
    cd = re.search(rb"<CookieData>([^<]+)</CookieData>", data).group(1).decode()
    st, data, _ = s.call("GetRevisionIdList", ck.replace(ed, cd) + q)
    check(st == 500 and w.fault(data)[1] == "InvalidCookie", "an authorization cookie used as a cookie")
    st, data, _ = s.call("GetCookie", "<authCookies><AuthorizationCookie><CookieData>%s</CookieData>"
                         "</AuthorizationCookie></authCookies><protocolVersion>1.20</protocolVersion>" % ed)
    check(st == 500 and w.fault(data)[1] == "InvalidAuthorizationCookie", "a cookie used as an authorization cookie")
    for ver, code in (("2.0", "IncompatibleProtocolVersion"), ("one", "InvalidParameters"), ("", "InvalidParameters")):
        st, data, _ = s.call("GetCookie", "<authCookies><AuthorizationCookie><CookieData>%s</CookieData>"
                             "</AuthorizationCookie></authCookies><protocolVersion>%s</protocolVersion>" % (cd, ver))
        check(st == 500 and w.fault(data)[1] == code, "GetCookie protocolVersion %r: %s" % (ver, code))
    st, data, _ = s.call("GetCookie", "<authCookies /><protocolVersion>1.20</protocolVersion>")
    check(st == 500 and w.fault(data)[1] == "InvalidParameters", "GetCookie without an authorization cookie")
    for name, guid in (("bad name!", DSS_GUID), ("ok.example.test", "not-a-guid"), ("", DSS_GUID)):
        st, data, _ = s.call("GetAuthorizationCookie", "<accountName>%s</accountName><accountGuid>%s"
                             "</accountGuid>" % (name, guid), ns=w.NS_AUTH, path=w.AUTH_PATH)
        check(st == 500 and w.fault(data)[1] == "InvalidParameters",
              "GetAuthorizationCookie %r/%r: InvalidParameters" % (name, guid))
    # allow-list (ADMIN's setting allowed-downstreams): by name, by GUID, by address
    s.sql("INSERT INTO setting (key, value) VALUES ('allowed-downstreams', 'other.example.test')")
    st, data, _ = s.call("GetAuthorizationCookie", "<accountName>b.example.test</accountName>"
                         "<accountGuid>%s</accountGuid>" % DSS_GUID, ns=w.NS_AUTH, path=w.AUTH_PATH)
    f = w.fault(data)
    check(st == 500 and f[1] == "InvalidParameters" and "not allowed" in f[2] and "b.example.test" in f[2],
          "a downstream outside allowed-downstreams is refused with a clear message (%s)" % (f,))
    st, data, _ = s.call("GetCookie", "<authCookies><AuthorizationCookie><CookieData>%s</CookieData>"
                         "</AuthorizationCookie></authCookies><protocolVersion>1.20</protocolVersion>" % cd)
    check(st == 500 and w.fault(data)[1] == "InvalidAuthorizationCookie",
          "GetCookie of a downstream removed from the allow-list")
    for entry in (DSS_GUID.upper(), "B.example.test", "127.0.0.0/8"):
        s.sql("UPDATE setting SET value = 'x.example.test, %s' WHERE key = 'allowed-downstreams'" % entry)
        st, data, _ = s.call("GetAuthorizationCookie", "<accountName>b.example.test</accountName>"
                             "<accountGuid>%s</accountGuid>" % DSS_GUID, ns=w.NS_AUTH, path=w.AUTH_PATH)
        check(st == 200, "allowed-downstreams entry %s lets the downstream in" % entry)
    s.sql("DELETE FROM setting WHERE key = 'allowed-downstreams'")
    check(s.sql("SELECT last_sync IS NOT NULL FROM downstream_server WHERE account_guid = '%s'"
                % DSS_GUID) == "t", "downstream_server.last_sync after a GetRevisionIdList")


def test_server_changed(s, ck):
    s.stop()
    s.sql("UPDATE setting SET value = gen_random_uuid()::text WHERE key = 'server_id'")
    s.start()
    st, data, _ = s.call("GetRevisionIdList", ck + "<filter><GetConfig>true</GetConfig></filter>")
    check(st == 500 and w.fault(data)[1] == "ServerChanged",
          "a cookie of the previous server id: ServerChanged (%s)" % (w.fault(data),))
    ck2 = s.authenticate()
    st, data, _ = s.call("GetRevisionIdList", ck2 + "<filter><GetConfig>true</GetConfig></filter>")
    check(st == 200, "after re-authentication the new server id serves again")


def main():
    s = w.Server("main")
    try:
        ck = s.authenticate(guid=DSS_GUID)
        test_operations(s, ck)
        test_replay(s, ck)
        m = Model(s)
        prod, cls, anchor = test_filters(s, ck, m)
        m = test_anchor_change(s, ck, prod, cls, anchor)
        test_update_data(s, ck, m)
        test_download_files(s, ck)
        test_deployments(s, ck, m)
        test_cookies(s, ck)
        test_server_changed(s, ck)
        check(s.alive(), "wsusd still running")
    finally:
        s.cleanup()
    w.finish("test_soap")


if __name__ == "__main__":
    main()
