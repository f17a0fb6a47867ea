#!/usr/bin/env python3
"""test_movecontent: `wsusctl content` and `wsusctl movecontent` through the real wsusctl and
wsusd. A generated package with content is imported (files 'present' in the catalog), then:
the report matches the catalog (SQL here), NEWDIR inside the old directory and a relative
NEWDIR are refused, a move that finds one file already copied and one corrupt copy (an
interrupted earlier run) copies the rest, replaces the corrupt one and verifies all, the
running wsusd serves every file from the new place at once (before and after
`movecontent --remove-old` deletes the old tree), and the config file names the new place.
"""

import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import unittest

import wsustest as wt

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")
DB = "it_movecontent"


def psql(query):
    return wt.sql(DB, query)


def human(n):
    units = ["B", "KB", "MB", "GB", "TB"]
    v, i = float(n), 0
    while v >= 1024 and i < 4:
        v /= 1024
        i += 1
    return "%.0f %s" % (v, units[i]) if i == 0 else "%.1f %s" % (v, units[i])


class MoveContentTest(unittest.TestCase):
    srv = None

    @classmethod
    def setUpClass(cls):
        cls.tmpdir = wt.TempDir()
        cls.tmp = cls.tmpdir.__enter__()
        wt.create_db(DB)
        cls.conf = wt.write_config(cls.tmp, DB)
        pkg = os.path.join(cls.tmp, "gen.cab")
        gen_content = os.path.join(cls.tmp, "gen-content")
        subprocess.run([sys.executable, GEN, "--seed", "5", "--updates", "5", "--file-size",
                        "2K-40K", "--out", pkg, "--content-dir", gen_content],
                       check=True, capture_output=True)
        r = wt.wsusctl(cls.conf, "import", pkg, "--content", gen_content)
        if r.returncode != 0:
            raise RuntimeError("import failed: %s%s" % (r.stdout, r.stderr))
        cls.old = os.path.join(cls.tmp, "content")
        cls.srv = wt.Wsusd(cls.conf).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop() if cls.srv else 0
        if rc != 0:
            print(cls.srv.output())
        try:
            wt.drop_db(DB)
        finally:
            cls.tmpdir.__exit__(None, None, None)
        if rc != 0:
            raise AssertionError("wsusd exited with status %d (log above)" % rc)

    def ctl(self, *args):
        r = wt.wsusctl(self.conf, *args)
        return r.returncode, r.stdout, r.stderr

    def ok(self, *args):
        rc, out, err = self.ctl(*args)
        self.assertEqual(rc, 0, "wsusctl %s: %s%s" % (" ".join(args), out, err))
        self.assertEqual(err, "", "unexpected stderr from %s" % " ".join(args))
        return out

    def fails(self, expect, *args):
        rc, out, err = self.ctl(*args)
        self.assertEqual(rc, 1, "wsusctl %s should fail: %s%s" % (" ".join(args), out, err))
        self.assertEqual(err, "wsusctl: %s\n" % expect)

    def files(self):
        """(sha1 upper, sha256 hex or '', size, relative path) of every stored file."""
        rows = psql("SELECT upper(encode(sha1, 'hex')), coalesce(encode(sha256, 'hex'), ''), "
                    "size, file_name FROM file WHERE state = 'present' ORDER BY 1")
        out = []
        for sha1, sha256, size, name in rows:
            ext = name.rsplit(".", 1)[1].lower() if "." in name else ""
            rel = os.path.join("WsusContent", sha1[38:], sha1 + ("." + ext if ext else ""))
            out.append((sha1, sha256, int(size), rel))
        return out

    def get(self, rel):
        c = http.client.HTTPConnection("127.0.0.1", self.srv.listen_port(), timeout=30)
        try:
            c.request("GET", "/Content/" + rel.split("/", 1)[1])
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def assert_verified(self, root, files):
        for sha1, sha256, size, rel in files:
            with open(os.path.join(root, rel), "rb") as f:
                data = f.read()
            self.assertEqual(len(data), size, rel)
            self.assertEqual(hashlib.sha1(data).hexdigest().upper(), sha1, rel)
            if sha256:
                self.assertEqual(hashlib.sha256(data).hexdigest(), sha256, rel)

    def test_content_and_move(self):
        files = self.files()
        self.assertGreater(len(files), 3)
        total = sum(f[2] for f in files)

        # the report an admin reads, against the catalog
        out = self.ok("content")
        self.assertIn("content directory: %s\n" % os.path.realpath(self.old), out)
        self.assertIn("stored:            %d files, %s\n" % (len(files), human(total)), out)
        states = psql("SELECT state, count(*), coalesce(sum(size), 0) FROM file GROUP BY 1 "
                      "ORDER BY 1")
        for state, n, b in states:
            self.assertIn("  %-12s %8s  %10s\n" % (state, n, human(int(b))), out)
        self.assertIn("largest updates:\n", out)
        # the largest update, computed here: its files and its bundled updates' files, once
        sizes = psql(
            "SELECT l.update_id, (SELECT sum(f.size) FROM file f WHERE f.sha1 IN ("
            "  SELECT sha1 FROM revision_file WHERE revision_id = l.id UNION "
            "  SELECT rf.sha1 FROM revision_bundle b JOIN revision m ON m.update_id = "
            "  b.member_update_id AND m.revision_number = b.member_revision_number "
            "  JOIN revision_file rf ON rf.revision_id = m.id WHERE b.revision_id = l.id)) AS s "
            "FROM revision l WHERE l.explicitly_deployable AND l.revision_number = (SELECT "
            "max(revision_number) FROM revision WHERE update_id = l.update_id) "
            "ORDER BY s DESC, l.title, l.update_id")
        report = json.loads(self.ok("--json", "content"))
        self.assertEqual([(u["update_id"], u["size"], u["stored"]) for u in report["largest"]],
                         [(i, int(b), int(b)) for i, b in sizes[:10]])
        self.assertEqual(report["to_download"], {"files": 0, "bytes": 0})
        # an approved update with a file not stored yet: still to download
        uid = sizes[0][0]
        sha1, size = psql(
            "SELECT encode(f.sha1, 'hex'), f.size FROM file f WHERE f.sha1 IN (SELECT rf.sha1 "
            "FROM revision l JOIN revision_bundle b ON b.revision_id = l.id JOIN revision m ON "
            "m.update_id = b.member_update_id AND m.revision_number = b.member_revision_number "
            "JOIN revision_file rf ON rf.revision_id = m.id WHERE l.update_id = '%s') "
            "ORDER BY 1 LIMIT 1" % uid)[0]
        psql("UPDATE file SET state = 'queued' WHERE sha1 = decode('%s', 'hex')" % sha1)
        try:
            self.ok("approve", uid)
            report = json.loads(self.ok("--json", "content"))
            self.assertEqual(report["to_download"], {"files": 1, "bytes": int(size)})
            self.assertIn("to download:       1 files, %s (for approved updates)\n"
                          % human(int(size)), self.ok("content"))
        finally:
            psql("UPDATE file SET state = 'present' WHERE sha1 = decode('%s', 'hex')" % sha1)

        # refusals: inside the old directory, relative
        inside = os.path.join(os.path.realpath(self.old), "sub")
        self.fails("%s is inside the content directory %s; choose a directory outside it"
                   % (inside, os.path.realpath(self.old)), "movecontent", inside)
        self.fails('"rel/dir" is not an absolute path; give NEWDIR from /',
                   "movecontent", "rel/dir")
        self.assertFalse(os.path.exists(inside))

        # an earlier run was interrupted: one file copied, one copy corrupt
        new = os.path.join(self.tmp, "moved", "content")
        for k in (0, 1):
            dst = os.path.join(new, files[k][3])
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(os.path.join(self.old, files[k][3]), dst)
        with open(os.path.join(new, files[1][3]), "r+b") as f:
            f.write(b"X")
        out = self.ok("movecontent", new)
        copied = total - files[0][2]
        self.assertEqual(out,
                         "copied and verified %d files (%s), 1 were already in place\n"
                         "wsusd serves from %s now\n"
                         "%s: [storage] content_dir = %s\n"
                         "the old copy stays in %s; remove it with wsusctl movecontent "
                         "--remove-old\n"
                         % (len(files) - 1, human(copied), new, self.conf, new,
                            os.path.realpath(self.old)))
        self.assert_verified(new, files)
        self.assert_verified(self.old, files)  # kept until told
        with open(self.conf) as f:
            self.assertIn("content_dir = %s\n" % new, f.read())
        self.assertIn("content directory: %s\n" % new, self.ok("content"))

        # the server serves from the new place, also once the old tree is gone
        out = self.ok("movecontent", "--remove-old")
        self.assertEqual(out, "removed %s/WsusContent (the content before the move to %s)\n"
                         % (os.path.realpath(self.old), new))
        self.assertFalse(os.path.exists(os.path.join(self.old, "WsusContent")))
        for sha1, _, size, rel in files:
            status, body = self.get(rel)
            self.assertEqual(status, 200, rel)
            self.assertEqual(hashlib.sha1(body).hexdigest().upper(), sha1)
        self.fails("%s has no record of a move (%s/.wsusd-moved-from: No such file or "
                   "directory); nothing to remove" % (new, new), "movecontent", "--remove-old")
        # moving to where it already is
        self.fails("wsusd already serves from %s; nothing to move" % new, "movecontent", new)


if __name__ == "__main__":
    unittest.main(verbosity=2)
