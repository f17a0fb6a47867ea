#!/usr/bin/env python3
"""wsusgen: deterministic generator of realistic WSUS software updates, written as a wsusutil
export package (OUT.cab = package.xml + metadata.txt, the format of a real `wsusutil export`)
plus a content folder laid out like WsusContent (OUTDIR/<XX>/<SHA1HEX>.<ext>).

What it does: bundles (ExplicitlyDeployable, no files, BundledUpdates with one AtLeastOne group
per component holding that component's per-architecture leaves) and hidden leaves (with files,
SHA-1 + SHA-256 digests and deterministic pseudo-random content), product and classification
membership (IsCategory clauses, as in the real bundle a2fef9b0), plain detectoid prerequisites
(real detectoid ids from the export: X86/AMD64/ARM64 on leaves, a product detectoid on some
bundles), supersedence within a product, en + some of de/fr/ja, KB numbers, MU-style file names
and MUUrls, CreationDate; all under the REAL products and classifications of
tests/data/WSUS.cab (read at run time with cabextract). Same --seed and options => byte-identical
OUT.cab and content. --eula K names a license (EulaID) on the first K bundles (no EULA file is
written). What it does not do: driver updates, EULA files, express/PSF files, categories of
its own (use --include-export to carry the real 4,125 category/detectoid records).

Needs: Python 3 standard library, `cabextract` (to read the real export) and `gcab` (Debian
package gcab, to write the cabinet).

Output format (what `wsusctl import OUT.cab --content OUTDIR` reads)
------------------------------------------------------------------
OUT.cab: one MSZIP folder, two files, as a real export (in this order):
  package.xml   UTF-8 with BOM, one line (the format META's common/format/wsuspkg.c reads and writes):
      <?xml version="1.0" encoding="utf-8"?><ExportPackage ServerID="GUID"
        CreationTime="yyyy-mm-ddThh:mm:ssZ" FormatVersion="1.0" ProtocolVersion="1.20">
      <Languages>...(copied from the real export)...</Languages><Files /><Updates>
      <Update UpdateId="GUID" RevisionNumber="N"><Files>FILE*</Files><Categories />
        <Classifications /></Update>   (one per metadata.txt record, same order;
                                         <Files /> when the revision has no file)
      </Updates></ExportPackage>
    FILE (our extension: the real export we have holds no software update, hence no file;
    modelled on upd:File of the update XML, without namespace, plus MUUrl):
      <File Digest="BASE64 SHA-1" DigestAlgorithm="SHA1" FileName="name.ext" Size="BYTES"
            Modified="yyyy-mm-ddThh:mm:ssZ" MUUrl="http://download.windowsupdate.com/...">
        <AdditionalDigest Algorithm="SHA256">BASE64 SHA-256</AdditionalDigest></File>
    Attributes in this order; PatchingType may follow MUUrl (never generated today). The
    top-level <Files /> stays empty, as in the real export (META's reader also accepts File
    entries there). Everything but MUUrl is also in the revision's own upd:Files/upd:File in
    metadata.txt; MUUrl exists only here (in MS-WSUSSS it travels in ServerSyncUrlData).
  metadata.txt  UTF-8 without BOM; records "<updateid>,<rev %08x>,<len %08x>,<xml>\\r\\n" where
    len is the XML's length in UTF-16 code units; the XML may itself contain CRLF (inside some
    descriptions, as in the real export), so split by length, never by line.
Content: OUTDIR/<XX>/<SHA1 HEX UPPER>.<ext>, XX = last SHA-1 byte in upper-case hex (ext = the
  FileName's extension), i.e. the /Content/ URL path of MS-WSUSSS 2.1.

Revisions: every generated update has RevisionNumber 200. --revision-bump K appends a revision
201 of K bundles (description changed); --expire K appends a revision 201 with
PublicationState="Expired" of K other bundles. The base records are identical with or without
these options, so importing the bumped package on top of the plain one is "a change upstream".

Usage: wsusgen.py --seed 1 --updates 50 --out /tmp/g/OUT.cab --content-dir /tmp/g/content
"""

import argparse
import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from xml.sax.saxutils import escape as xml_escape

NS_UPD = "http://schemas.microsoft.com/msus/2002/12/Update"
NS_PUB = "http://schemas.microsoft.com/msus/2002/12/Publishing"
NS_BAR = "http://schemas.microsoft.com/msus/2002/12/BaseApplicabilityRules"
NS_LAR = "http://schemas.microsoft.com/msus/2002/12/LogicalApplicabilityRules"
NS_CMD = "http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/CommandLineInstallation"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
PUBLISHER_ID = "bccf8ca0-2819-4598-8d15-c1506e363e92"  # as in the real Defender documents

# Real detectoids of the export (title: X86, AMD64, ARM64).
ARCH_DETECTOIDS = {
    "x86": "3e0afb10-a9fb-4c16-a60e-5790c3803437",
    "x64": "59653007-e2e9-4f71-8525-2ff588527978",
    "arm64": "6f4f15f9-589c-406b-8a4d-48ce3f715a96",
}
ARCH_ORDER = ["x64", "x86", "arm64"]

# Defaults: a handful of real products and classifications of the export.
DEFAULT_PRODUCTS = [
    "72e7624a-5b00-45d2-b92f-e561c0a6a160",  # Windows 11
    "f702a48c-919b-45d6-9aef-ca4248d50397",  # Windows Server 2019
    "8c3fcc84-7410-4a95-8b89-a166a0190486",  # Microsoft Defender Antivirus
    "69010383-ff55-4227-bd6c-d91c26f2643b",  # Microsoft Edge
    "25aed893-7c2d-4a31-ae22-28ff8ac150ed",  # Office 2016
    "97b8b817-fce1-44e4-ac26-61127d4604c0",  # Microsoft SQL Server 2019
]
DEFAULT_CLASSIFICATIONS = [
    "0fa1201d-4330-4fa8-8ae9-b877473b6441",  # Security Updates
    "e6cf1350-c01b-414d-a61f-263d14d133b4",  # Critical Updates
    "cd5ffd1e-e932-4e3a-bf74-18bf0b1bbd83",  # Updates
    "28bc880e-0592-4cbf-8f95-c79b17911d5f",  # Update Rollups
    "e0789628-ce08-4437-be74-2495b842f43b",  # Definition Updates
]

BASE_REVISION = 200
EPOCH_DAYS = 22_000  # 2030-03-25: generated CreationDates start here, one bundle every ~37 min

# Localized title templates: {p} product title, {kb} KB number, {m} "yyyy-mm".
TITLES = {
    "Security Updates": {
        "en": "{m} Security Update for {p} (KB{kb})",
        "de": "{m} Sicherheitsupdate für {p} (KB{kb})",
        "fr": "{m} Mise à jour de sécurité pour {p} (KB{kb})",
        "ja": "{m} {p} のセキュリティ更新プログラム (KB{kb})",
    },
    "Critical Updates": {
        "en": "Critical Update for {p} (KB{kb})",
        "de": "Wichtiges Update für {p} (KB{kb})",
        "fr": "Mise à jour critique pour {p} (KB{kb})",
        "ja": "{p} の重要な更新プログラム (KB{kb})",
    },
    "Update Rollups": {
        "en": "{m} Cumulative Update Rollup for {p} (KB{kb})",
        "de": "{m} Kumulatives Updaterollup für {p} (KB{kb})",
        "fr": "{m} Correctif cumulatif pour {p} (KB{kb})",
        "ja": "{m} {p} の累積的な更新プログラムのロールアップ (KB{kb})",
    },
    "Definition Updates": {
        "en": "Security Intelligence Update for {p} - KB{kb} (Version 1.{v}.0)",
        "de": "Security Intelligence-Update für {p} – KB{kb} (Version 1.{v}.0)",
        "fr": "Mise à jour de la veille de sécurité pour {p} – KB{kb} (version 1.{v}.0)",
        "ja": "{p} のセキュリティ インテリジェンス更新プログラム - KB{kb} (バージョン 1.{v}.0)",
    },
    None: {
        "en": "{m} Update for {p} (KB{kb})",
        "de": "{m} Update für {p} (KB{kb})",
        "fr": "{m} Mise à jour pour {p} (KB{kb})",
        "ja": "{m} {p} 用更新プログラム (KB{kb})",
    },
}
DESCRIPTIONS = {
    "en": "Install this update to resolve issues in {p}. For a complete listing of the issues "
    "that are included in this update, see the associated Microsoft Knowledge Base article. "
    "After you install this item, you may have to restart your computer.",
    "de": "Installieren Sie dieses Update, um Probleme in {p} zu beheben. Eine vollständige "
    "Liste der behobenen Probleme finden Sie im zugehörigen Knowledge Base-Artikel.",
    "fr": "Installez cette mise à jour pour résoudre les problèmes de {p}. Pour obtenir la liste "
    "complète des problèmes résolus, consultez l'article de la Base de connaissances.",
    "ja": "この更新プログラムをインストールすると、{p} の問題が解決されます。"
    "解決される問題の一覧については、関連するサポート技術情報の記事を参照してください。",
}
EXTRA_LANGS = ["de", "fr", "ja"]


class Rng:
    """splitmix64, seeded from BLAKE2b(seed, label): stable across Python versions (the random
    module only guarantees random() itself), and one independent stream per label."""

    MASK = (1 << 64) - 1

    def __init__(self, seed, label):
        h = hashlib.blake2b(("%d:%s" % (seed, label)).encode(), digest_size=8).digest()
        self.state = int.from_bytes(h, "little")

    def next64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def below(self, n):
        return self.next64() % n

    def chance(self, percent):
        return self.below(100) < percent

    def choice(self, seq):
        return seq[self.below(len(seq))]

    def uuid(self):
        b = bytearray(self.next64().to_bytes(8, "little") + self.next64().to_bytes(8, "little"))
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        h = b.hex()
        return "%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])


def attr(value):
    return xml_escape(str(value), {'"': "&quot;"})


def iso_date(minutes, millis=None):
    """minutes since 1970-01-01 -> ISO dateTime (UTC), with milliseconds when given."""
    days, rem = divmod(minutes, 1440)
    y, m, d = civil_from_days(days)
    s = "%04d-%02d-%02dT%02d:%02d:%02d" % (y, m, d, rem // 60, rem % 60, (minutes * 7) % 60)
    if millis is not None:
        s += ".%03d" % millis
    return s + "Z"


def civil_from_days(z):
    """days since 1970-01-01 -> (year, month, day), proleptic Gregorian (H. Hinnant)."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m, d


def parse_size(text):
    text = text.strip().upper()
    mult = 1
    for suffix, factor in (("K", 1024), ("M", 1024**2), ("G", 1024**3)):
        if text.endswith(suffix):
            mult, text = factor, text[:-1]
    return int(text) * mult


# ---------------------------------------------------------------------------------------------
# The real export


def read_export_records(metadata_path):
    """Yield (update_id, revision, xml) from a real metadata.txt (split by the length field,
    which counts UTF-16 code units: work on the UTF-16 form so that is plain arithmetic)."""
    with open(metadata_path, encoding="utf-8", newline="") as f:
        u = f.read().encode("utf-16-le")
    pos, n = 0, len(u) // 2
    while pos < n:
        head = u[2 * pos : 2 * (pos + 55)].decode("utf-16-le")
        uid, rev, units = head[0:36], int(head[37:45], 16), int(head[46:54], 16)
        start = pos + 55
        yield uid, rev, u[2 * start : 2 * (start + units)].decode("utf-16-le")
        pos = start + units + 2  # CRLF


def unescape(text):
    return (
        text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
        .replace("&apos;", "'").replace("&amp;", "&")
    )


class Export:
    """The real export: categories (latest revision wins), detectoids, languages, raw records."""

    def __init__(self, cab_path, workdir):
        d = os.path.join(workdir, "export")
        os.makedirs(d)
        subprocess.run(["cabextract", "-q", "-d", d, cab_path], check=True,
                       stdout=subprocess.DEVNULL)
        self.metadata_path = os.path.join(d, "metadata.txt")
        self.package_path = os.path.join(d, "package.xml")
        self.categories = {}  # id -> (revision, type, category_type, title)
        self.detectoids = set()
        self.count = 0
        for uid, rev, xml in read_export_records(self.metadata_path):
            self.count += 1
            uid = uid.lower()
            utype = re.search(r' UpdateType="(\w+)"', xml).group(1)
            if utype == "Detectoid":
                self.detectoids.add(uid)
                continue
            if utype != "Category":
                continue
            ct = re.search(r' CategoryType="(\w+)"', xml)
            title = ""
            for m in re.finditer(r"<upd:Language>([^<]*)</upd:Language><upd:Title>([^<]*)</upd:Title>", xml):
                if m.group(1) == "en" or not title:
                    title = unescape(m.group(2))
            old = self.categories.get(uid)
            if old is None or old[0] < rev:
                self.categories[uid] = (rev, utype, ct.group(1) if ct else None, title)
        self.detectoid_list = sorted(self.detectoids)
        with open(self.package_path, encoding="utf-8-sig") as f:
            pkg = f.read()
        self.languages_xml = re.search(r"<Languages>.*?</Languages>", pkg, re.S).group(0)
        self.package_entries = re.findall(r"<Update UpdateId=.*?</Update>", pkg, re.S)

    def of_type(self, category_type):
        return {k: v for k, v in self.categories.items() if v[2] == category_type}


# ---------------------------------------------------------------------------------------------
# Content


def content_bytes(key, size):
    """Deterministic pseudo-random content in 1 MiB chunks (SHAKE-256 of key + chunk number)."""
    chunk = 1 << 20
    off, i = 0, 0
    while off < size:
        n = min(chunk, size - off)
        yield hashlib.shake_256(b"%s:%d" % (key, i)).digest(n)
        off += n
        i += 1


def make_file(key, size, tmpdir, write):
    """Generate one file; returns (sha1, sha256, tmp path or None)."""
    h1, h2 = hashlib.sha1(), hashlib.sha256()
    path = None
    out = None
    if write:
        path = os.path.join(tmpdir, "gen.partial")
        out = open(path, "wb")
    for block in content_bytes(key, size):
        h1.update(block)
        h2.update(block)
        if out is not None:
            out.write(block)
    if out is not None:
        out.close()
    return h1.digest(), h2.digest(), path


# ---------------------------------------------------------------------------------------------
# Documents


def classification_key(title):
    return title if title in TITLES else None


def bundle_model(rng, idx, opts, products, classifications, history):
    """Everything about bundle idx and its leaves, drawn from rng. history: product -> list of
    earlier bundle ids of that product (the newest last), updated here."""
    prod_id = rng.choice(products)
    prod_title = opts.export.categories[prod_id][3]
    if prod_id == "8c3fcc84-7410-4a95-8b89-a166a0190486" and \
            "e0789628-ce08-4437-be74-2495b842f43b" in classifications:
        class_id = "e0789628-ce08-4437-be74-2495b842f43b"  # Defender ships definition updates
    else:
        class_id = rng.choice(classifications)
    class_title = opts.export.categories[class_id][3]
    minutes = EPOCH_DAYS * 1440 + idx * 37 + rng.below(30)
    y, mo, _ = civil_from_days(minutes // 1440)
    kb = 5_000_000 + idx
    b = {
        "idx": idx,
        "id": rng.uuid(),
        "rev": BASE_REVISION,
        "product": prod_id,
        "product_title": prod_title,
        "classification": class_id,
        "classification_title": class_title,
        "kb": kb,
        "month": "%04d-%02d" % (y, mo),
        "date": iso_date(minutes, rng.below(1000)),
        "file_date": iso_date(minutes - 600 - rng.below(3000)),
        "ver": "%d.%d" % (400 + idx // 1000, idx % 1000),
        "langs": ["en"] + [l for l in EXTRA_LANGS if rng.chance(35)],
        "crlf": idx % 8 == 3,  # some records carry CRLF inside, as in the real export
        "auto_select": rng.chance(60),
        "severity": rng.choice(["Critical", "Important", "Moderate"]) if class_title == "Security Updates" else None,
        "bulletin": "MS%02d-%03d" % (y % 100, 1 + idx % 200) if class_title == "Security Updates" and rng.chance(25) else None,
        "detectoid": opts.export.detectoid_list[
            int(hashlib.sha1(prod_id.encode()).hexdigest(), 16) % len(opts.export.detectoid_list)
        ] if rng.chance(50) else None,
        "state": "Published",
        "revised": False,
    }
    prior = history.setdefault(prod_id, [])
    b["supersedes"] = []
    if prior and rng.chance(60):
        b["supersedes"] = prior[-(1 + rng.below(min(2, len(prior)))):]
    prior.append(b["id"])
    if len(prior) > 4:
        del prior[0]
    nleaves = 1 + rng.below(4)
    if nleaves <= 3:
        groups = [ARCH_ORDER[:nleaves]]
    else:
        groups = [["x64", "x86"], ["x64", "x86"]]
    b["groups"] = []
    family = re.sub(r"[^a-z0-9]+", "", prod_title.lower())[:20] or "update"
    lo, hi = opts.file_size
    for g, archs in enumerate(groups):
        leaves = []
        for arch in archs:
            leaf = {"id": rng.uuid(), "arch": arch, "files": [], "ssu": g == 1, "impact": rng.choice(["Minor", "Normal"])}
            nfiles = 2 if rng.chance(20) else 1
            for fno in range(nfiles):
                ext = rng.choice([".cab", ".msu", ".exe", ".exe"]) if fno == 0 else ".exe"
                size = lo + rng.below(hi - lo + 1)
                leaf["files"].append({
                    "key": b"%d:%d:%d:%s:%d" % (opts.seed, idx, g, arch.encode(), fno),
                    "size": size,
                    "stem": "%s%s-kb%d-%s%s" % (family, "-ssu" if g == 1 else "", kb, arch,
                                               "-helper" if fno else ""),
                    "ext": ext,
                })
            leaves.append(leaf)
        b["groups"].append(leaves)
    return b


def title_of(b, lang):
    t = TITLES.get(classification_key(b["classification_title"]), TITLES[None])[lang]
    t = t.format(m=b["month"], p=b["product_title"], kb=b["kb"], v=b["ver"])
    if b.get("pack_lang"):
        t += " - %s language pack" % b["pack_lang"]
    return t


def language_xml(b):
    """Properties/Language of a language-specific update (a language pack), else nothing."""
    return "<upd:Language>%s</upd:Language>" % b["pack_lang"] if b.get("pack_lang") else ""


def bundle_xml(b):
    out = []
    w = out.append
    w('<upd:Update xmlns:pub="%s" xmlns:upd="%s">' % (NS_PUB, NS_UPD))
    w('<upd:UpdateIdentity UpdateID="%s" RevisionNumber="%d" />' % (b["id"], b["rev"]))
    w('<upd:Properties UpdateType="Software" DefaultPropertiesLanguage="en" '
      'AutoSelectOnWebSites="%s" ExplicitlyDeployable="true" MaxDownloadSize="0" '
      'MinDownloadSize="0"%s PublicationState="%s" CreationDate="%s" PublisherID="%s"%s>'
      % ("true" if b["auto_select"] else "false",
         ' MsrcSeverity="%s"' % b["severity"] if b["severity"] else "",
         b["state"], b["date"], PUBLISHER_ID,
         ' EulaID="%s"' % b["eula"] if b.get("eula") else ""))
    w("<upd:SupportUrl>https://go.microsoft.com/fwlink/?LinkId=52661</upd:SupportUrl>")
    if b["bulletin"]:
        w("<upd:SecurityBulletinID>%s</upd:SecurityBulletinID>" % b["bulletin"])
    w("<upd:KBArticleID>%d</upd:KBArticleID>" % b["kb"])
    w(language_xml(b))
    w("</upd:Properties><upd:LocalizedPropertiesCollection>")
    for lang in b["langs"]:
        desc = DESCRIPTIONS[lang].format(p=b["product_title"])
        if b["crlf"] and lang == "en":
            desc = desc.replace(". ", ".\r\n", 1)
        if b["revised"] and lang == "en":
            desc += " This revision corrects the applicability information."
        w("<upd:LocalizedProperties><upd:Language>%s</upd:Language><upd:Title>%s</upd:Title>"
          "<upd:Description>%s</upd:Description>"
          "<upd:MoreInfoUrl>https://support.microsoft.com/help/%d</upd:MoreInfoUrl>"
          "<upd:SupportUrl>https://go.microsoft.com/fwlink/?LinkId=52661</upd:SupportUrl>"
          "</upd:LocalizedProperties>"
          % (lang, xml_escape(title_of(b, lang)), xml_escape(desc), b["kb"]))
    w("</upd:LocalizedPropertiesCollection><upd:Relationships>")
    if b["supersedes"]:
        w("<upd:SupersededUpdates>")
        for s in b["supersedes"]:
            w('<upd:UpdateIdentity UpdateID="%s" />' % s)
        w("</upd:SupersededUpdates>")
    w("<upd:Prerequisites>")
    if b["detectoid"]:
        w('<upd:UpdateIdentity UpdateID="%s" />' % b["detectoid"])
    w('<upd:AtLeastOne IsCategory="true"><upd:UpdateIdentity UpdateID="%s" /></upd:AtLeastOne>'
      % b["classification"])
    w('<upd:AtLeastOne IsCategory="true"><upd:UpdateIdentity UpdateID="%s" /></upd:AtLeastOne>'
      % b["product"])
    w("</upd:Prerequisites><upd:BundledUpdates>")
    for leaves in b["groups"]:
        w("<upd:AtLeastOne>")
        for leaf in leaves:
            w('<upd:UpdateIdentity UpdateID="%s" RevisionNumber="%d" />' % (leaf["id"], BASE_REVISION))
        w("</upd:AtLeastOne>")
    w("</upd:BundledUpdates></upd:Relationships></upd:Update>")
    return "".join(out)


def leaf_xml(b, leaf):
    out = []
    w = out.append
    arch_name = {"x86": "x86-based", "x64": "x64-based", "arm64": "ARM64-based"}[leaf["arch"]]
    w('<upd:Update xmlns:pub="%s" xmlns:bar="%s" xmlns:lar="%s" xmlns:cmd="%s" xmlns:upd="%s">'
      % (NS_PUB, NS_BAR, NS_LAR, NS_CMD, NS_UPD))
    w('<upd:UpdateIdentity UpdateID="%s" RevisionNumber="%d" />' % (leaf["id"], BASE_REVISION))
    w('<upd:Properties UpdateType="Software" DefaultPropertiesLanguage="en" Handler="%s" '
      'MaxDownloadSize="%d" MinDownloadSize="0" PublicationState="Published" CreationDate="%s" '
      'PublisherID="%s"><upd:InstallationBehavior Impact="%s" />%s</upd:Properties>'
      % (NS_CMD, sum(f["size"] for f in leaf["files"]), b["date"], PUBLISHER_ID, leaf["impact"],
         language_xml(b)))
    w("<upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en</upd:Language>"
      "<upd:Title>%s for %s Systems%s</upd:Title></upd:LocalizedProperties>"
      "</upd:LocalizedPropertiesCollection>"
      % (xml_escape(title_of(b, "en")), arch_name, " - Servicing Stack" if leaf["ssu"] else ""))
    w("<upd:Relationships><upd:Prerequisites>")
    w('<upd:UpdateIdentity UpdateID="%s" />' % ARCH_DETECTOIDS[leaf["arch"]])
    w('<upd:AtLeastOne><upd:UpdateIdentity UpdateID="%s" /></upd:AtLeastOne>' % b["product"])
    w("</upd:Prerequisites></upd:Relationships>")
    regkey = "SOFTWARE\\Microsoft\\Updates\\KB%d" % b["kb"]
    w('<upd:ApplicabilityRules><upd:IsInstalled><bar:RegKeyExists Key="HKEY_LOCAL_MACHINE" '
      'Subkey="%s" xmlns:bar="%s" /></upd:IsInstalled><upd:IsInstallable><lar:And xmlns:lar="%s">'
      '<bar:Processor Architecture="%d" xmlns:bar="%s" /><lar:Not><bar:RegKeyExists '
      'Key="HKEY_LOCAL_MACHINE" Subkey="%s\\Blocked" xmlns:bar="%s" /></lar:Not></lar:And>'
      "</upd:IsInstallable></upd:ApplicabilityRules>"
      % (attr(regkey), NS_BAR, NS_LAR, {"x86": 0, "x64": 9, "arm64": 12}[leaf["arch"]], NS_BAR,
         attr(regkey), NS_BAR))
    w("<upd:Files>")
    for f in leaf["files"]:
        w('<upd:File Digest="%s" DigestAlgorithm="SHA1" FileName="%s" Size="%d" Modified="%s">'
          '<upd:AdditionalDigest Algorithm="SHA256">%s</upd:AdditionalDigest></upd:File>'
          % (f["digest"], attr(f["name"]), f["size"], b["file_date"], f["digest256"]))
    w("</upd:Files>")
    w('<upd:HandlerSpecificData xsi:type="cmd:CommandLineInstallation" xmlns:xsi="%s">'
      '<cmd:InstallCommand Program="%s" Arguments="/quiet /norestart" xmlns:cmd="%s">'
      '<cmd:ReturnCode Code="0" Result="Succeeded" />'
      '<cmd:ReturnCode Code="3010" Result="Succeeded" Reboot="true" />'
      "</cmd:InstallCommand></upd:HandlerSpecificData></upd:Update>"
      % (NS_XSI, attr(leaf["files"][0]["name"]), NS_CMD))
    return "".join(out)


def package_entry(uid, rev, files):
    if not files:
        return '<Update UpdateId="%s" RevisionNumber="%d"><Files /><Categories /><Classifications /></Update>' % (uid, rev)
    parts = ['<Update UpdateId="%s" RevisionNumber="%d"><Files>' % (uid, rev)]
    for f in files:
        parts.append(
            '<File Digest="%s" DigestAlgorithm="SHA1" FileName="%s" Size="%d" Modified="%s" MUUrl="%s">'
            '<AdditionalDigest Algorithm="SHA256">%s</AdditionalDigest></File>'
            % (f["digest"], attr(f["name"]), f["size"], f["modified"], attr(f["muurl"]), f["digest256"]))
    parts.append("</Files><Categories /><Classifications /></Update>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------


class Writer:
    """Streams metadata.txt records and package.xml entries to two files."""

    def __init__(self, workdir):
        self.meta_path = os.path.join(workdir, "metadata.txt")
        self.entries_path = os.path.join(workdir, "entries.part")
        self.meta = open(self.meta_path, "w", encoding="utf-8", newline="")
        self.entries = open(self.entries_path, "w", encoding="utf-8", newline="")
        self.count = 0

    def record(self, uid, rev, xml, entry):
        units = len(xml.encode("utf-16-le")) // 2
        self.meta.write("%s,%08x,%08x,%s\r\n" % (uid, rev, units, xml))
        self.entries.write(entry)
        self.count += 1

    def close(self):
        self.meta.close()
        self.entries.close()


def materialize_files(b, opts, tmpdir):
    """Compute digests (and write content) of every leaf file of bundle b."""
    y, mo = b["month"].split("-")
    kind = "secu" if b["classification_title"] == "Security Updates" else "updt"
    for leaves in b["groups"]:
        for leaf in leaves:
            for f in leaf["files"]:
                sha1, sha256, tmp = make_file(f["key"], f["size"], tmpdir, opts.content_dir is not None)
                hexd = sha1.hex()
                f["digest"] = base64.b64encode(sha1).decode()
                f["digest256"] = base64.b64encode(sha256).decode()
                f["name"] = "%s_%s%s" % (f["stem"], hexd, f["ext"])
                f["modified"] = b["file_date"]
                f["muurl"] = "http://download.windowsupdate.com/c/msdownload/update/software/%s/%s/%s/%s" % (
                    kind, y, mo, f["name"])
                if tmp is not None:
                    folder = os.path.join(opts.content_dir, "%02X" % sha1[-1])
                    os.makedirs(folder, exist_ok=True)
                    os.utime(tmp, (opts.mtime, opts.mtime))
                    os.replace(tmp, os.path.join(folder, hexd.upper() + f["ext"]))


def emit_bundle(writer, b, with_leaves):
    if with_leaves:
        for leaves in b["groups"]:
            for leaf in leaves:
                writer.record(leaf["id"], BASE_REVISION, leaf_xml(b, leaf),
                              package_entry(leaf["id"], BASE_REVISION, leaf["files"]))
    writer.record(b["id"], b["rev"], bundle_xml(b), package_entry(b["id"], b["rev"], []))


def pick_ids(ids, wanted, label):
    for i in ids:
        if i not in wanted:
            sys.exit("wsusgen: %s %s is not a %s of the real export" % (
                "product" if label == "Product" else "classification", i, label))
    return list(ids)


def generate(opts):
    work = tempfile.mkdtemp(prefix="wsusgen.")
    try:
        opts.export = Export(opts.export_cab, work)
        products = pick_ids(opts.products, opts.export.of_type("Product"), "Product")
        classifications = pick_ids(opts.classifications, opts.export.of_type("UpdateClassification"),
                                   "UpdateClassification")
        opts.mtime = (EPOCH_DAYS - 1) * 86400
        if opts.content_dir is not None:
            os.makedirs(opts.content_dir, exist_ok=True)
        n = opts.updates
        if opts.revision_bump + opts.expire > n:
            sys.exit("wsusgen: --revision-bump + --expire must not exceed --updates")
        # which bundles get a second revision: an independent stream, so base records don't move
        order = list(range(n))
        prng = Rng(opts.seed, "revisions")
        for i in range(n - 1, 0, -1):
            j = prng.below(i + 1)
            order[i], order[j] = order[j], order[i]
        bump = set(order[: opts.revision_bump])
        expire = set(order[n - opts.expire:]) if opts.expire else set()
        later = []

        writer = Writer(work)
        if opts.include_export:
            for uid, rev, xml in read_export_records(opts.export.metadata_path):
                writer.meta.write("%s,%08x,%08x,%s\r\n" % (uid, rev, len(xml.encode("utf-16-le")) // 2, xml))
                writer.count += 1
            writer.entries.write("".join(opts.export.package_entries))
        history = {}
        for idx in range(n):
            rng = Rng(opts.seed, "bundle:%d" % idx)
            b = bundle_model(rng, idx, opts, products, classifications, history)
            if idx < opts.eula:  # its own stream: the other records do not move
                b["eula"] = Rng(opts.seed, "eula:%d" % idx).uuid()
            materialize_files(b, opts, work)
            emit_bundle(writer, b, True)
            if idx in bump or idx in expire:
                later.append((idx, b))
        # language packs: extra bundles after the others (so the base records do not move),
        # specific to one language each (Properties/Language), no supersedence
        packs = [x for x in opts.language_packs.split(",") if x] if opts.language_packs else []
        for k, lang in enumerate(p for p in packs for _ in range(opts.packs_per_language)):
            idx = n + k
            b = bundle_model(Rng(opts.seed, "pack:%d" % idx), idx, opts, products, classifications, {})
            b["pack_lang"] = lang
            b["supersedes"] = []
            materialize_files(b, opts, work)
            emit_bundle(writer, b, True)
        for idx, b in later:
            b["rev"] = BASE_REVISION + 1
            if idx in bump:
                b["revised"] = True
            else:
                b["state"] = "Expired"
            emit_bundle(writer, b, False)
        writer.close()

        server_id = Rng(opts.seed, "server").uuid()
        pkg_path = os.path.join(work, "package.xml")
        with open(pkg_path, "w", encoding="utf-8", newline="") as p:
            p.write("\ufeff<?xml version=\"1.0\" encoding=\"utf-8\"?>")
            p.write('<ExportPackage ServerID="%s" CreationTime="%s" FormatVersion="1.0" '
                    'ProtocolVersion="1.20">' % (server_id, iso_date(EPOCH_DAYS * 1440 + n * 37 + 60)))
            p.write(opts.export.languages_xml)
            p.write("<Files />")
            p.write("<Updates>" if writer.count else "<Updates />")
            with open(writer.entries_path, encoding="utf-8", newline="") as e:
                shutil.copyfileobj(e, p, 1 << 20)
            p.write("</Updates></ExportPackage>" if writer.count else "</ExportPackage>")
        os.remove(writer.entries_path)
        for path in (pkg_path, writer.meta_path):
            os.utime(path, (opts.mtime, opts.mtime))
        if os.path.dirname(opts.out):
            os.makedirs(os.path.dirname(opts.out), exist_ok=True)
        out_tmp = opts.out + ".tmp"
        env = dict(os.environ, TZ="UTC")
        subprocess.run(["gcab", "-c", "-z", "-n", out_tmp, pkg_path, writer.meta_path],
                       check=True, env=env)
        os.replace(out_tmp, opts.out)
        return writer.count
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Generate a deterministic wsusutil export package "
                                 "of realistic software updates (see the header of this file).")
    ap.add_argument("--seed", type=int, default=1, help="same seed + options = same bytes (default 1)")
    ap.add_argument("--updates", type=int, default=20, help="number of bundles, each with 1-4 leaves (default 20)")
    ap.add_argument("--products", default=",".join(DEFAULT_PRODUCTS), help="comma-separated real product GUIDs")
    ap.add_argument("--classifications", default=",".join(DEFAULT_CLASSIFICATIONS),
                    help="comma-separated real classification GUIDs")
    ap.add_argument("--include-export", action="store_true",
                    help="also carry every record of the real export (categories, detectoids)")
    ap.add_argument("--file-size", default="1K-64K", help="content file sizes MIN-MAX, suffix K/M/G (default 1K-64K)")
    ap.add_argument("--no-content", action="store_true", help="compute digests but write no content files")
    ap.add_argument("--revision-bump", type=int, default=0, metavar="K", help="append revision 201 of K bundles")
    ap.add_argument("--expire", type=int, default=0, metavar="K",
                    help="append an Expired revision 201 of K other bundles")
    ap.add_argument("--language-packs", default="", metavar="LANGS",
                    help="also write language packs: updates specific to each of these languages "
                         "(comma-separated short names, e.g. de,fr; Properties/Language)")
    ap.add_argument("--packs-per-language", type=int, default=2, metavar="K",
                    help="language packs per language (default 2)")
    ap.add_argument("--out", required=True, help="the package to write (OUT.cab)")
    ap.add_argument("--eula", type=int, default=0, metavar="K",
                    help="the first K bundles name a license (EulaID on their Properties)")
    ap.add_argument("--content-dir", help="where to write content (OUTDIR/XX/HEX.ext)")
    ap.add_argument("--export-cab", default=os.path.join(here, "..", "data", "WSUS.cab"),
                    help="the real export to take categories from (default tests/data/WSUS.cab)")
    a = ap.parse_args(argv)
    a.products = [x.strip().lower() for x in a.products.split(",") if x.strip()]
    a.classifications = [x.strip().lower() for x in a.classifications.split(",") if x.strip()]
    try:
        lo, hi = a.file_size.split("-")
        a.file_size = (parse_size(lo), parse_size(hi))
    except ValueError:
        ap.error("--file-size wants MIN-MAX, e.g. 1K-64K")
    if a.file_size[0] < 1 or a.file_size[0] > a.file_size[1]:
        ap.error("--file-size: need 1 <= MIN <= MAX")
    if a.updates < 0 or a.revision_bump < 0 or a.expire < 0 or a.eula < 0:
        ap.error("counts must not be negative")
    if not a.products or not a.classifications:
        ap.error("need at least one product and one classification")
    if a.no_content:
        a.content_dir = None
    elif a.content_dir is None:
        ap.error("--content-dir is required unless --no-content")
    count = generate(a)
    print("wsusgen: wrote %d revisions to %s" % (count, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
