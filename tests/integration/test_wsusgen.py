#!/usr/bin/env python3
"""test_wsusgen: the update generator (tests/tools/wsusgen.py) that every team's tests and
benchmarks feed on. Checks: same seed => byte-identical package and content; the package has
the real wsusutil export format; every document parses, has no XML declaration and follows the
real documents' element order; bundle/leaf/supersedence relations are consistent; every
product, classification and detectoid id is a real one of the right type from the real export;
every file is in the content folder with the right SHA-1/SHA-256; --revision-bump/--expire only
append; --include-export carries the real records unchanged. Then, through the agreed interface
`wsusctl -c CONF import PKG.cab --content DIR`, that an import stores what was generated
(revisions, relations, files present in the content store) idempotently, that a bumped
package adds exactly the new revisions, and that the real catalog imports alongside.
"""

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from wsustest import expect as check, failures  # noqa: E402
SRC = os.environ.get("WSUS_SOURCE_DIR", os.path.normpath(os.path.join(HERE, "..", "..")))
DATA = os.environ.get("WSUS_TEST_DATA", os.path.join(SRC, "tests", "data"))
BIN = os.environ.get("WSUS_BIN_DIR", os.path.join(SRC, "build", "bin"))
GEN = os.path.join(SRC, "tests", "tools", "wsusgen.py")

U = "{http://schemas.microsoft.com/msus/2002/12/Update}"
TOP_ORDER = ["UpdateIdentity", "Properties", "LocalizedPropertiesCollection", "Relationships",
             "ApplicabilityRules", "Files", "HandlerSpecificData"]
REL_ORDER = ["SupersededUpdates", "Prerequisites", "BundledUpdates"]
ARCH_DETECTOIDS = {"3e0afb10-a9fb-4c16-a60e-5790c3803437", "59653007-e2e9-4f71-8525-2ff588527978",
                   "6f4f15f9-589c-406b-8a4d-48ce3f715a96"}

def run_gen(*args):
    r = subprocess.run([sys.executable, GEN] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout + r.stderr)
        raise SystemExit("wsusgen failed: %s" % " ".join(args))
    return r.stdout


def records(path):
    """(update_id, revision, xml, units_field) of a metadata.txt, split by the length field
    (UTF-16 code units: done on the UTF-16 form of the file)."""
    with open(path, "rb") as f:
        u = f.read().decode("utf-8").encode("utf-16-le")
    out, pos, n = [], 0, len(u) // 2
    while pos < n:
        head = u[2 * pos:2 * (pos + 55)].decode("utf-16-le")
        m = re.match(r"([0-9a-fA-F-]{36}),([0-9a-f]{8}),([0-9a-f]{8}),$", head)
        assert m, "bad record header at %d: %r" % (pos, head)
        units = int(m.group(3), 16)
        start = pos + 55
        xml = u[2 * start:2 * (start + units)].decode("utf-16-le")
        assert u[2 * (start + units):2 * (start + units + 2)].decode("utf-16-le") == "\r\n", \
            "record not followed by CRLF"
        out.append((m.group(1), int(m.group(2), 16), xml, units))
        pos = start + units + 2
    return out


def extract(cab, dest):
    os.makedirs(dest, exist_ok=True)
    subprocess.run(["cabextract", "-q", "-d", dest, cab], check=True)
    listing = subprocess.run(["cabextract", "-l", cab], capture_output=True, text=True).stdout
    names = [n for n in re.findall(r"\|\s+(\S+)\s*$", listing, re.M) if n != "Name"]
    return names


def tree_digest(root):
    """{relative path: bytes sha1} of a directory tree (None if it does not exist)."""
    if not os.path.isdir(root):
        return None
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = hashlib.sha1(fh.read()).hexdigest()
    return out


def real_export(work):
    """Categories and detectoids of the real export: id -> (update type, category type)."""
    d = os.path.join(work, "real")
    extract(os.path.join(DATA, "WSUS.cab"), d)
    kinds = {}
    recs = records(os.path.join(d, "metadata.txt"))
    for uid, _, xml, _ in recs:
        t = re.search(r' UpdateType="(\w+)"', xml).group(1)
        c = re.search(r' CategoryType="(\w+)"', xml)
        kinds[uid.lower()] = (t, c.group(1) if c else None)
    return kinds, recs


def clauses(prereq):
    """Prerequisites -> list of (is_category, [ids]) clauses."""
    out = []
    for el in prereq:
        if el.tag == U + "UpdateIdentity":
            out.append((False, [el.get("UpdateID")]))
        elif el.tag == U + "AtLeastOne":
            out.append((el.get("IsCategory") == "true",
                        [x.get("UpdateID") for x in el if x.tag == U + "UpdateIdentity"]))
    return out


def check_package(work, cab, content, kinds, label):
    """Structural checks of one generated package; returns a summary dict."""
    d = os.path.join(work, "x-" + label)
    names = extract(cab, d)
    check(names == ["package.xml", "metadata.txt"], "%s: cab holds %s, want package.xml, "
          "metadata.txt" % (label, names))
    with open(os.path.join(d, "package.xml"), "rb") as f:
        pkg = f.read()
    check(pkg.startswith(b"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?><ExportPackage "),
          "%s: package.xml does not start like the real one" % label)
    proot = ET.fromstring(pkg[3:])
    check(proot.tag == "ExportPackage" and proot.get("FormatVersion") == "1.0"
          and proot.get("ProtocolVersion") == "1.20" and proot.get("ServerID")
          and proot.get("CreationTime"), "%s: ExportPackage attributes" % label)
    check([c.tag for c in proot] == ["Languages", "Files", "Updates"],
          "%s: ExportPackage children %s" % (label, [c.tag for c in proot]))
    entries = list(proot.find("Updates"))
    check(len(proot.find("Files")) == 0, "%s: top-level <Files> is not empty" % label)
    recs = records(os.path.join(d, "metadata.txt"))
    check([(e.get("UpdateId"), int(e.get("RevisionNumber"))) for e in entries]
          == [(r[0], r[1]) for r in recs], "%s: package.xml and metadata.txt disagree" % label)
    docs = {}
    pkg_files = {}
    for e in entries:
        check([c.tag for c in e] == ["Files", "Categories", "Classifications"],
              "%s: Update entry children" % label)
        pkg_files[(e.get("UpdateId"), int(e.get("RevisionNumber")))] = list(e.find("Files"))
    for uid, rev, xml, units in recs:
        check(units == len(xml.encode("utf-16-le")) // 2, "%s: length field of %s" % (label, uid))
        check(xml.startswith("<upd:Update ") and "<?xml" not in xml,
              "%s: %s starts with %r" % (label, uid, xml[:20]))
        try:
            root = ET.fromstring(xml)
        except ET.ParseError as ex:
            check(False, "%s: %s r%d does not parse: %s" % (label, uid, rev, ex))
            continue
        check(root.tag == U + "Update", "%s: root %s" % (label, root.tag))
        ident = root.find(U + "UpdateIdentity")
        check(ident.get("UpdateID").lower() == uid.lower() and int(ident.get("RevisionNumber")) == rev,
              "%s: identity of %s differs from the record header" % (label, uid))
        order = [c.tag[len(U):] for c in root]
        check(order == [t for t in TOP_ORDER if t in order] and len(set(order)) == len(order),
              "%s: %s element order %s" % (label, uid, order))
        rel = root.find(U + "Relationships")
        if rel is not None:
            ro = [c.tag[len(U):] for c in rel]
            check(ro == [t for t in REL_ORDER if t in ro], "%s: Relationships order %s" % (label, ro))
        docs[(uid, rev)] = root

    generated = {k: v for k, v in docs.items()
                 if v.find(U + "Properties").get("UpdateType") == "Software"}
    bundles = {k: v for k, v in generated.items()
               if v.find(U + "Properties").get("ExplicitlyDeployable") == "true"}
    leaves = {k: v for k, v in generated.items() if k not in bundles}
    leaf_owner = {}
    product_of = {}
    langs = set()
    files_seen = 0
    crlf = any("\r\n" in r[2] for r in recs)
    for (uid, rev), b in bundles.items():
        props = b.find(U + "Properties")
        check(b.find(U + "Files") is None, "%s: bundle %s has files" % (label, uid))
        check(props.find(U + "KBArticleID") is not None, "%s: bundle %s without KB" % (label, uid))
        check(props.get("PublicationState") in ("Published", "Expired"), "%s: state" % label)
        lp = b.find(U + "LocalizedPropertiesCollection")
        bl = [x.find(U + "Language").text for x in lp]
        check(bl[0] == "en", "%s: bundle %s languages %s" % (label, uid, bl))
        langs.update(bl)
        cl = clauses(b.find(U + "Relationships/" + U + "Prerequisites"))
        cats = [ids for is_cat, ids in cl if is_cat]
        plain = [ids[0] for is_cat, ids in cl if not is_cat]
        cat_types = sorted(kinds.get(ids[0], (None, None))[1] or "?" for ids in cats)
        check(cat_types == ["Product", "UpdateClassification"] and all(len(i) == 1 for i in cats),
              "%s: bundle %s category clauses %s" % (label, uid, cat_types))
        for p in plain:
            check(kinds.get(p, (None,))[0] == "Detectoid",
                  "%s: bundle %s prerequisite %s is not a real detectoid" % (label, uid, p))
        product = [ids[0] for ids in cats if kinds[ids[0]][1] == "Product"][0]
        product_of[uid] = product
        groups = b.findall(U + "Relationships/" + U + "BundledUpdates/" + U + "AtLeastOne")
        members = [(m.get("UpdateID"), int(m.get("RevisionNumber"))) for g in groups for m in g]
        check(1 <= len(members) <= 4, "%s: bundle %s has %d leaves" % (label, uid, len(members)))
        for m in members:
            check(m in leaves, "%s: bundle %s member %s is not in the package" % (label, uid, m))
            if rev == 200:
                check(m not in leaf_owner, "%s: leaf %s in two bundles" % (label, m))
                leaf_owner[m] = (uid, product)
    for k in leaves:
        check(k in leaf_owner, "%s: leaf %s belongs to no bundle" % (label, k))
    for (uid, rev), b in bundles.items():
        for s in b.findall(U + "Relationships/" + U + "SupersededUpdates/" + U + "UpdateIdentity"):
            sid = s.get("UpdateID")
            check(sid in product_of and product_of[sid] == product_of[uid] and sid != uid,
                  "%s: %s supersedes %s, not an update of the same product" % (label, uid, sid))
    for (uid, rev), leaf in leaves.items():
        props = leaf.find(U + "Properties")
        check(props.get("ExplicitlyDeployable") in (None, "false"), "%s: leaf deployable" % label)
        cl = clauses(leaf.find(U + "Relationships/" + U + "Prerequisites"))
        plain = [ids[0] for is_cat, ids in cl if not is_cat and len(ids) == 1 and
                 kinds.get(ids[0], (None,))[0] == "Detectoid"]
        check(any(p in ARCH_DETECTOIDS for p in plain), "%s: leaf %s has no arch detectoid" % (label, uid))
        groups = [ids for is_cat, ids in cl if len(ids) == 1 and kinds.get(ids[0], (None,))[0] == "Category"]
        check(groups == [[leaf_owner[(uid, rev)][1]]],
              "%s: leaf %s product clause %s differs from its bundle's" % (label, uid, groups))
        files = leaf.findall(U + "Files/" + U + "File")
        check(files, "%s: leaf %s has no file" % (label, uid))
        pfiles = {f.get("Digest"): f for f in pkg_files[(uid, rev)]}
        check(len(pfiles) == len(files), "%s: package.xml lists %d files for %s, the XML %d"
              % (label, len(pfiles), uid, len(files)))
        for f in files:
            files_seen += 1
            dig = f.get("Digest")
            sha1 = base64.b64decode(dig)
            ad = f.find(U + "AdditionalDigest")
            check(f.get("DigestAlgorithm") == "SHA1" and len(sha1) == 20 and ad is not None
                  and ad.get("Algorithm") == "SHA256", "%s: file attributes" % label)
            sha256 = base64.b64decode(ad.text)
            name = f.get("FileName")
            check(sha1.hex() in name, "%s: MU-style name %s lacks the digest" % (label, name))
            pf = pfiles.get(dig)
            if check(pf is not None, "%s: file %s not in package.xml" % (label, name)):
                pad = pf.find("AdditionalDigest")
                check(list(pf.attrib) == ["Digest", "DigestAlgorithm", "FileName", "Size",
                                          "Modified", "MUUrl"]
                      and pf.get("FileName") == name and pf.get("Size") == f.get("Size")
                      and pf.get("Modified") == f.get("Modified")
                      and pf.get("DigestAlgorithm") == "SHA1"
                      and pad is not None and pad.get("Algorithm") == "SHA256"
                      and pad.text == ad.text
                      and pf.get("MUUrl", "").startswith("http://download.windowsupdate.com/")
                      and pf.get("MUUrl").endswith("/" + name),
                      "%s: package.xml File of %s differs from the XML" % (label, name))
            if content is not None:
                ext = os.path.splitext(name)[1]
                path = os.path.join(content, "%02X" % sha1[-1], sha1.hex().upper() + ext)
                if check(os.path.isfile(path), "%s: content %s missing" % (label, path)):
                    with open(path, "rb") as fh:
                        data = fh.read()
                    check(hashlib.sha1(data).digest() == sha1 and
                          hashlib.sha256(data).digest() == sha256 and
                          len(data) == int(f.get("Size")),
                          "%s: content %s has the wrong bytes" % (label, path))
    return {"recs": recs, "docs": docs, "bundles": bundles, "leaves": leaves, "langs": langs,
            "files": files_seen, "crlf": crlf, "dir": d}


# ---------------------------------------------------------------------------------------------
# Import through wsusctl (META's verb), against the agreed interface


def psql(db, sql):
    r = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("psql failed: %s\n%s" % (sql, r.stderr))
    return r.stdout.strip()


def wsusctl(conf, *args):
    r = subprocess.run([os.path.join(BIN, "wsusctl"), "-c", conf] + list(args),
                       capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def import_available():
    exe = os.path.join(BIN, "wsusctl")
    if not os.access(exe, os.X_OK):
        return False, "%s not built" % exe
    r = subprocess.run([exe, "--help"], capture_output=True, text=True)
    if re.search(r"^\s+import\b", r.stdout, re.M):
        return True, ""
    return False, "wsusctl --help lists no import verb yet"


def check_import(work, a_cab, a_content, a, bumped_cab, n_extra, export_cab, n_export):
    db = "wsusgen_%d" % os.getpid()
    psql("postgres", "DROP DATABASE IF EXISTS %s" % db)
    psql("postgres", "CREATE DATABASE %s" % db)
    try:
        state = os.path.join(work, "state")
        store = os.path.join(work, "store")
        os.makedirs(state)
        conf = os.path.join(work, "wsusd.conf")
        with open(conf, "w") as f:
            f.write("[database]\nconninfo = host=%s port=%s user=%s dbname=%s\n"
                    "[storage]\nstate_dir = %s\ncontent_dir = %s\n"
                    % (os.environ.get("PGHOST", "/tmp"), os.environ.get("PGPORT", "5432"),
                       os.environ.get("PGUSER", "postgres"), db, state, store))
        rc, out = wsusctl(conf, "import", a_cab, "--content", a_content)
        if not check(rc == 0, "wsusctl import failed (%d): %s" % (rc, out)):
            return
        n = len(a["recs"])
        q = lambda sql: psql(db, sql)
        check(q("SELECT count(*) FROM revision") == str(n),
              "import stored %s revisions, want %d" % (q("SELECT count(*) FROM revision"), n))
        check(q("SELECT count(*) FROM revision WHERE explicitly_deployable") == str(len(a["bundles"])),
              "explicitly deployable revisions != bundles")
        check(q("SELECT count(*) FROM revision WHERE NOT is_leaf") == str(len(a["bundles"])),
              "bundles not stored as non-leaves")
        check(q("SELECT count(*) FROM revision_prerequisite WHERE is_category")
              == str(2 * len(a["bundles"])), "IsCategory clauses (product + classification)")
        check(q("SELECT count(*) FROM revision WHERE explicitly_deployable AND kb_article_id IS NULL")
              == "0", "bundles without KB number")
        check(q("SELECT count(*) FROM revision_bundle") == str(len(a["leaves"])),
              "revision_bundle rows != leaves")
        nsup = sum(len(b.findall(U + "Relationships/" + U + "SupersededUpdates/" + U + "UpdateIdentity"))
                   for b in a["bundles"].values())
        check(q("SELECT count(*) FROM revision_supersedes") == str(nsup), "supersedence rows")
        check(q("SELECT count(*) FROM file") == str(a["files"]), "file rows != generated files")
        check(q("SELECT count(*) FROM file WHERE state <> 'present'") == "0",
              "imported files not marked present")
        check(q("SELECT count(*) FROM file WHERE mu_url IS NULL OR sha256 IS NULL") == "0",
              "file rows without MUUrl or SHA-256")
        # every file is in the content store at WsusContent/XX/HEX.ext with the right bytes
        rows = q("SELECT encode(sha1,'hex'), file_name FROM file").splitlines()
        for row in rows:
            hexd, name = row.split("|", 1)
            path = os.path.join(store, "WsusContent", hexd[-2:].upper(),
                                hexd.upper() + os.path.splitext(name)[1])
            ok = os.path.isfile(path)
            if ok:
                with open(path, "rb") as fh:
                    ok = hashlib.sha1(fh.read()).hexdigest() == hexd
            check(ok, "content store lacks a correct %s" % path)
        # titles and languages of one bundle
        (uid, rev), b = sorted(a["bundles"].items())[0]
        en = [lp for lp in b.find(U + "LocalizedPropertiesCollection")
              if lp.find(U + "Language").text == "en"][0].find(U + "Title").text
        check(q("SELECT title FROM revision WHERE update_id='%s' AND revision_number=%d" % (uid, rev)) == en,
              "bundle title not stored")
        check(q("SELECT count(*) FROM revision_text WHERE revision_id=(SELECT id FROM revision WHERE "
                "update_id='%s' AND revision_number=%d)" % (uid, rev))
              == str(len(b.find(U + "LocalizedPropertiesCollection"))), "revision_text rows")
        # the stored XML is the document byte for byte
        xml = [r[2] for r in a["recs"] if r[0] == uid and r[1] == rev][0]
        check(q("SELECT md5(xml) FROM revision WHERE update_id='%s' AND revision_number=%d" % (uid, rev))
              == hashlib.md5(xml.encode()).hexdigest(), "stored XML differs from the document")
        # idempotent
        rc, out = wsusctl(conf, "import", a_cab, "--content", a_content)
        check(rc == 0 and q("SELECT count(*) FROM revision") == str(n),
              "second import of the same package is not idempotent: %s" % out)
        # a change upstream: only the new revisions are added
        rc, out = wsusctl(conf, "import", bumped_cab, "--content", a_content)
        check(rc == 0 and q("SELECT count(*) FROM revision") == str(n + n_extra),
              "bumped package did not add exactly %d revisions: %s" % (n_extra, out))
        check(q("SELECT count(*) FROM revision WHERE publication_state='Expired'") == "2",
              "expired revisions not stored as Expired")
        # the whole real catalog plus generated updates in one import
        rc, out = wsusctl(conf, "import", export_cab, "--content", a_content)
        check(rc == 0, "import of --include-export package failed: %s" % out)
        check(q("SELECT count(*) FROM revision WHERE update_type='Detectoid'") == "3674"
              and q("SELECT count(*) FROM revision WHERE category_type='Product'") == "367",
              "real categories/detectoids not imported completely")
        check(int(q("SELECT count(*) FROM revision")) >= n_export,
              "catalog smaller than the --include-export package")
    finally:
        psql("postgres", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)


def main():
    work = tempfile.mkdtemp(prefix="test_wsusgen.")
    try:
        kinds, real_recs = real_export(work)
        common = ["--seed", "11", "--updates", "12", "--file-size", "1K-8K"]
        a_cab, a_content = os.path.join(work, "a", "OUT.cab"), os.path.join(work, "a", "content")
        b_cab, b_content = os.path.join(work, "b", "OUT.cab"), os.path.join(work, "b", "content")
        run_gen(*common, "--out", a_cab, "--content-dir", a_content)
        run_gen(*common, "--out", b_cab, "--content-dir", b_content)
        with open(a_cab, "rb") as f1, open(b_cab, "rb") as f2:
            check(f1.read() == f2.read(), "same seed gave different packages")
        check(tree_digest(a_content) == tree_digest(b_content), "same seed gave different content")
        other = os.path.join(work, "c", "OUT.cab")
        run_gen("--seed", "12", "--updates", "12", "--file-size", "1K-8K", "--no-content", "--out", other)
        with open(a_cab, "rb") as f1, open(other, "rb") as f2:
            check(f1.read() != f2.read(), "different seeds gave the same package")

        a = check_package(work, a_cab, a_content, kinds, "a")
        check(len(a["bundles"]) == 12, "want 12 bundles, got %d" % len(a["bundles"]))
        check(len(a["docs"]) == len(a["bundles"]) + len(a["leaves"]), "only bundles and leaves")
        check({"en", "de", "fr", "ja"} <= a["langs"], "languages used: %s" % sorted(a["langs"]))
        check(any(b.find(U + "Relationships/" + U + "SupersededUpdates") is not None
                  for b in a["bundles"].values()), "no supersedence generated")
        check(a["crlf"], "no record with a CRLF inside its XML (importers must split by length)")
        check(len(os.listdir(a_content)) > 0 and a["files"] == sum(
            len(fs) for _, _, fs in os.walk(a_content)), "content folder holds extra files")

        # --no-content: same package bytes, no content written
        nc = os.path.join(work, "nc", "OUT.cab")
        run_gen(*common, "--no-content", "--out", nc)
        with open(a_cab, "rb") as f1, open(nc, "rb") as f2:
            check(f1.read() == f2.read(), "--no-content changed the package")

        # --revision-bump / --expire only append new revisions of existing bundles
        bumped = os.path.join(work, "bump", "OUT.cab")
        run_gen(*common, "--revision-bump", "3", "--expire", "2", "--no-content", "--out", bumped)
        bp = check_package(work, bumped, None, kinds, "bump")
        check(bp["recs"][:len(a["recs"])] == a["recs"], "bumped package changed the base records")
        extra = bp["recs"][len(a["recs"]):]
        check(len(extra) == 5 and all(r[1] == 201 and (r[0], 200) in a["bundles"] for r in extra),
              "bump/expire must append revision 201 of 5 existing bundles")
        states = sorted(ET.fromstring(r[2]).find(U + "Properties").get("PublicationState") for r in extra)
        check(states == ["Expired", "Expired", "Published", "Published", "Published"],
              "bump/expire states %s" % states)

        # --include-export: the real records first, unchanged
        exp = os.path.join(work, "exp", "OUT.cab")
        run_gen(*common, "--include-export", "--no-content", "--out", exp)
        ep = check_package(work, exp, None, kinds, "exp")
        check(ep["recs"][:len(real_recs)] == real_recs, "--include-export altered the real records")
        check(ep["recs"][len(real_recs):] == a["recs"], "--include-export changed generated records")

        # unknown product is refused
        r = subprocess.run([sys.executable, GEN, "--products", "00000000-0000-0000-0000-000000000001",
                            "--no-content", "--out", os.path.join(work, "bad.cab")],
                           capture_output=True, text=True)
        check(r.returncode != 0 and "not a Product" in r.stderr, "unknown product accepted")

        if failures:
            print("%d structural check(s) failed" % len(failures))
            return 1
        print("generator checks passed (%d revisions, %d files)" % (len(a["recs"]), a["files"]))

        ok, why = import_available()
        if not ok:
            print("FAIL: cannot run the import part: %s" % why)
            return 1
        check_import(work, a_cab, a_content, a, bumped, 5, exp, len(ep["recs"]))
        if failures:
            print("%d import check(s) failed" % len(failures))
            return 1
        print("import checks passed")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
