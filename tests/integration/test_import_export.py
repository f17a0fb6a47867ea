#!/usr/bin/env python3
"""test_import_export: `wsusctl import` / `wsusctl export` with the real binary against fresh
databases of the test cluster. Checks: the real wsusutil export (tests/data/WSUS.cab) stores
exactly 4,125 revisions typed as in the data (3 Company, 61 ProductFamily, 367 Product,
20 UpdateClassification categories, 3,674 detectoids) and is recorded in sync_history (and
shown by `wsusctl sync history`, while `sync status` ignores imports); a
second import adds nothing; export + import into an empty database gives the same identities
with byte-identical XML (and the exported metadata.txt equals the original byte for byte);
damaged packages (truncated cabinet, bad record header, XML with a DTD, XML with an entity,
a 50 MB element) are refused with a message naming the record and leave the catalog as it was.
"""

import hashlib
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import wsustest as wt  # noqa: E402

REAL = wt.data("WSUS.cab")
DOCS = ["56309036-4c77-4dd9-951a-99ee9c246a94-r101.xml",
        "6964aab4-c5b5-43bd-a17d-ffb4346a8e1d-r100.xml",
        "a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe-r200.xml"]
UPD_NS = 'xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"'

FINGERPRINT = ("SELECT count(*) || ':' || coalesce(md5(string_agg(update_id || ',' || "
               "revision_number || ',' || md5(xml), ';' ORDER BY update_id, revision_number)), '')"
               " FROM revision")


def fingerprint(db):
    return wt.sql_value(db, FINGERPRINT) + "/" + wt.sql_value(
        db, "SELECT (SELECT count(*) FROM revision_text) || ',' || "
            "(SELECT count(*) FROM revision_prerequisite) || ',' || (SELECT count(*) FROM file)")


def record(xml, update_id=None, revision=None):
    """One metadata.txt record; the length counts UTF-16 code units."""
    if update_id is None:
        i = xml.index('UpdateID="') + 10
        update_id = xml[i:i + 36].lower()
    if revision is None:
        i = xml.index('RevisionNumber="') + 16
        revision = int(xml[i:xml.index('"', i)])
    units = len(xml.encode("utf-16-le")) // 2
    return "%s,%08x,%08x,%s" % (update_id, revision, units, xml)


def build_package(tmp, name, records, raw_metadata=None):
    """Write package.xml + metadata.txt for records [(update_id, revision, text)] and
    cabinet them with gcab (MSZIP) into tmp/name. raw_metadata replaces metadata.txt."""
    d = os.path.join(tmp, name + ".d")
    os.makedirs(d, exist_ok=True)
    meta = raw_metadata if raw_metadata is not None else "\r\n".join(records) + "\r\n"
    with open(os.path.join(d, "metadata.txt"), "wb") as f:
        f.write(meta.encode("utf-8") if isinstance(meta, str) else meta)
    ups = "".join('<Update UpdateId="%s" RevisionNumber="%s"><Files /><Categories />'
                  '<Classifications /></Update>' % (r[:36], r[37:45]) for r in records)
    with open(os.path.join(d, "package.xml"), "wb") as f:
        f.write(b"\xef\xbb\xbf" + ('<?xml version="1.0" encoding="utf-8"?><ExportPackage '
                'ServerID="a86cecaa-02ab-44a1-a09d-cac309aa7a3e" CreationTime="2024-06-19T17:11:14Z"'
                ' FormatVersion="1.0" ProtocolVersion="1.20"><Languages /><Files /><Updates>%s'
                '</Updates></ExportPackage>' % ups).encode("utf-8"))
    out = os.path.join(tmp, name)
    r = subprocess.run(["gcab", "-c", "-z", out, "package.xml", "metadata.txt"], cwd=d,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("gcab failed: " + r.stderr)
    return out


def good_records():
    out = []
    for name in DOCS:
        with open(wt.data("docs/" + name), encoding="utf-8") as f:
            out.append(record(f.read()))
    return out


def test_real_export(tmp):
    db = wt.create_db("it_import_real")
    conf = wt.write_config(tmp, db)
    r = wt.wsusctl(conf, "import", REAL)
    wt.check(r.returncode == 0, "import of the real export succeeds", r)
    wt.check("4125 new" in r.stdout, "summary counts 4125 new revisions", r)
    wt.check(wt.sql_value(db, "SELECT count(*) FROM revision") == "4125", "4,125 revisions stored")
    types = {(t or "", c or ""): int(n) for t, c, n in wt.sql(
        db, "SELECT update_type, category_type, count(*) FROM revision GROUP BY 1, 2")}
    want = {("Category", "Company"): 3, ("Category", "ProductFamily"): 61,
            ("Category", "Product"): 367, ("Category", "UpdateClassification"): 20,
            ("Detectoid", ""): 3674}
    wt.check(types == want, "categories and detectoids typed as in the data", types)
    wt.check(wt.sql_value(db, "SELECT title FROM revision WHERE update_id = "
                              "'e6cf1350-c01b-414d-a61f-263d14d133b4'") == "Critical Updates",
             "classification title in the default language")
    # the Windows product family is a child of the Microsoft company
    # (the export holds two revisions of it, both with the same parent)
    wt.check(wt.sql_value(db, "SELECT string_agg(DISTINCT p.update_id::text, ',') FROM "
                              "revision_prerequisite p JOIN revision r ON r.id = p.revision_id "
                              "WHERE r.update_id = '6964aab4-c5b5-43bd-a17d-ffb4346a8e1d' AND "
                              "p.is_category") == "56309036-4c77-4dd9-951a-99ee9c246a94",
             "category hierarchy stored as IsCategory prerequisites")
    # the stored XML is the record byte for byte (the first record of the real export)
    xml = wt.sql_value(db, "SELECT md5(xml) FROM revision WHERE update_id = "
                           "'e6cf1350-c01b-414d-a61f-263d14d133b4'")
    first = first_record_xml(tmp)
    wt.check(xml == hashlib.md5(first.encode("utf-8")).hexdigest(), "XML stored verbatim")
    before = fingerprint(db)
    r = wt.wsusctl(conf, "import", REAL)
    wt.check(r.returncode == 0 and "0 new, 4125 already present" in r.stdout,
             "second import adds nothing", r)
    wt.check(fingerprint(db) == before, "second import leaves the catalog unchanged")
    hist = wt.sql(db, "SELECT kind, result, new_revisions, categories FROM sync_history "
                      "ORDER BY id")
    wt.check(hist == [["import", "succeeded", "4125", "451"], ["import", "succeeded", "0", "0"]],
             "both imports recorded in sync_history", hist)
    return db, conf


def test_history(db, conf):
    """Imports show in `wsusctl sync history` with their counts; `sync status`'s "last" stays
    the last synchronization (there is none here)."""
    srv = wt.Wsusd(conf).start()
    try:
        r = wt.wsusctl(conf, "sync", "history")
        lines = r.stdout.splitlines()
        pat = (r"#%d +succeeded import +\S+  \S+  new %d, categories %d, files 0, "
               r"already present %d \(%s\)$")
        wt.check(r.returncode == 0 and len(lines) == 2 and
                 re.match(pat % (2, 0, 0, 4125, re.escape(REAL)), lines[0]) is not None and
                 re.match(pat % (1, 4125, 451, 0, re.escape(REAL)), lines[1]) is not None,
                 "sync history lists both imports, newest first, with their counts and package",
                 r)
        r = wt.wsusctl(conf, "--json", "sync", "history")
        h = json.loads(r.stdout) if r.returncode == 0 else []
        wt.check([(x["kind"], x["result"], x["new_revisions"], x["detail"]["already_present"])
                  for x in h] == [("import", "succeeded", 0, 4125),
                                  ("import", "succeeded", 4125, 0)],
                 "sync history --json: kind import with the counts", h)
        r = wt.wsusctl(conf, "sync", "status")
        wt.check(r.returncode == 0 and "last:    never synchronized" in r.stdout,
                 "sync status: an import is not the last synchronization", r)
    finally:
        srv.stop()


def first_record_xml(tmp):
    d = os.path.join(tmp, "real")
    os.makedirs(d, exist_ok=True)
    subprocess.run(["cabextract", "-q", "-d", d, REAL], check=True)
    with open(os.path.join(d, "metadata.txt"), "rb") as f:
        head = f.read(2 << 20).decode("utf-8", errors="ignore")
    units = int(head[46:54], 16)
    u16 = head[55:].encode("utf-16-le")[:units * 2]
    return u16.decode("utf-16-le")


def test_export_roundtrip(tmp, db, conf):
    pkg = os.path.join(tmp, "export.cab")
    r = wt.wsusctl(conf, "export", pkg)
    wt.check(r.returncode == 0 and "exported 4125 revisions" in r.stdout, "export succeeds", r)
    d = os.path.join(tmp, "export.d")
    os.makedirs(d)
    subprocess.run(["cabextract", "-q", "-d", d, pkg], check=True)
    with open(os.path.join(d, "metadata.txt"), "rb") as a, \
            open(os.path.join(tmp, "real", "metadata.txt"), "rb") as b:
        wt.check(a.read() == b.read(), "exported metadata.txt equals the original byte for byte")
    with open(os.path.join(d, "package.xml"), "rb") as f:
        p = f.read()
    wt.check(p.startswith(b"\xef\xbb\xbf<?xml") and p.count(b"<Update ") == 4125,
             "package.xml has a BOM and 4,125 <Update> entries")
    db2 = wt.create_db("it_import_roundtrip")
    conf2 = wt.write_config(tmp, db2, name="roundtrip.conf")
    r = wt.wsusctl(conf2, "import", pkg, "--json")
    wt.check(r.returncode == 0, "re-import of the export succeeds", r)
    j = json.loads(r.stdout) if r.returncode == 0 else {}
    wt.check(j.get("package") == pkg and j.get("records") == 4125 and
             j.get("new_revisions") == 4125 and j.get("already_present") == 0 and
             j.get("categories") == 451 and j.get("detectoids") == 3674 and
             j.get("updates") == 0 and j.get("files_published") == 0,
             "import --json prints one JSON object with the counts", r)
    pkg2 = os.path.join(tmp, "export2.cab")
    r = wt.wsusctl(conf2, "--json", "export", pkg2)
    j = json.loads(r.stdout) if r.returncode == 0 else {}
    wt.check(j == {"package": pkg2, "revisions": 4125, "file_references": 0},
             "export --json prints one JSON object with the counts", r)
    r = wt.wsusctl(conf2, "db", "migrate", "--json")
    j = json.loads(r.stdout) if r.returncode == 0 else {}
    wt.check(list(j) == ["schema_version"] and j["schema_version"] >= 5,
             "db migrate --json prints the schema version", r)
    wt.check(fingerprint(db2) == fingerprint(db),
             "re-imported catalog is identical (identities, XML, relations)")
    wt.drop_db(db2)


def expect_refused(tmp, db, conf, pkg, words, what):
    before = fingerprint(db)
    r = wt.wsusctl(conf, "import", pkg)
    first = r.stderr.splitlines()[0] if r.stderr else ""
    ok = r.returncode == 1 and all(w in first for w in words)
    print("  wsusctl said: " + first)
    wt.check(ok, "%s is refused naming %s" % (what, ", ".join(words)), r)
    wt.check(fingerprint(db) == before, "%s leaves the catalog as it was" % what)


def test_bad_packages(tmp, db, conf):
    good = good_records()
    # a truncated cabinet
    with open(REAL, "rb") as f:
        data = f.read()
    trunc = os.path.join(tmp, "truncated.cab")
    with open(trunc, "wb") as f:
        f.write(data[:len(data) // 2])
    expect_refused(tmp, db, conf, trunc, ["truncated.cab"], "a truncated cabinet")
    # a bad record header (revision not hex) in the 3rd record
    bad = good[2][:37] + "0000zz00" + good[2][45:]
    pkg = build_package(tmp, "badheader.cab", good[:2] + [bad])
    expect_refused(tmp, db, conf, pkg, ["record 3", "a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe"],
                   "a bad record header")
    # an XML length that runs past the record
    bad = good[1][:46] + "%08x" % (int(good[1][46:54], 16) + 7) + good[1][54:]
    pkg = build_package(tmp, "badlen.cab", [good[0], bad], raw_metadata=good[0] + "\r\n" + bad)
    expect_refused(tmp, db, conf, pkg, ["record 2"], "a wrong XML length")
    # XML with a DTD (an entity bomb would live there)
    uid = "0d7a4d2e-5a3b-4b61-9b0e-2f4c9d6e1a01"
    dtd = ('<!DOCTYPE upd:Update [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
           '<upd:Update %s><upd:UpdateIdentity UpdateID="%s" RevisionNumber="1" />'
           '<upd:Properties UpdateType="Detectoid" /></upd:Update>' % (UPD_NS, uid))
    pkg = build_package(tmp, "dtd.cab", good + [record(dtd, uid, 1)])
    expect_refused(tmp, db, conf, pkg, ["record 4", uid, "DOCTYPE"], "XML with a DTD")
    # XML with an entity reference
    ent = ('<upd:Update %s><upd:UpdateIdentity UpdateID="%s" RevisionNumber="1" />'
           '<upd:Properties UpdateType="Detectoid" /><upd:LocalizedPropertiesCollection>'
           '<upd:LocalizedProperties><upd:Language>en</upd:Language><upd:Title>&xxe;'
           '</upd:Title></upd:LocalizedProperties></upd:LocalizedPropertiesCollection>'
           '</upd:Update>' % (UPD_NS, uid))
    pkg = build_package(tmp, "entity.cab", [record(ent, uid, 1)] + good)
    expect_refused(tmp, db, conf, pkg, ["record 1", uid], "XML with an entity")
    # a 50 MB element
    big = ('<upd:Update %s><upd:UpdateIdentity UpdateID="%s" RevisionNumber="1" />'
           '<upd:Properties UpdateType="Detectoid" /><upd:LocalizedPropertiesCollection>'
           '<upd:LocalizedProperties><upd:Language>en</upd:Language><upd:Title>t</upd:Title>'
           '<upd:Description>%s</upd:Description></upd:LocalizedProperties>'
           '</upd:LocalizedPropertiesCollection></upd:Update>' % (UPD_NS, uid, "x" * (50 << 20)))
    pkg = build_package(tmp, "big.cab", good + [record(big, uid, 1)])
    expect_refused(tmp, db, conf, pkg, ["record 4", uid], "a 50 MB element")
    # the good records alone import fine (the packages above were refused for their bad record)
    pkg = build_package(tmp, "good.cab", good)
    r = wt.wsusctl(conf, "import", pkg)
    wt.check(r.returncode == 0 and "1 new, 2 already present" in r.stdout,
             "the same package without the bad record imports", r)


def main():
    with wt.TempDir() as tmp:
        db, conf = test_real_export(tmp)
        test_history(db, conf)
        test_export_roundtrip(tmp, db, conf)
        test_bad_packages(tmp, db, conf)
        wt.drop_db(db)
    wt.finish()


if __name__ == "__main__":
    main()
