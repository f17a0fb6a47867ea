#!/usr/bin/env python3
"""test_admin_bulk: finding updates as an admin does and changing many at once, through the
real wsusctl and wsusd on a catalog seeded with `wsusctl import` of the real export
(tests/data/WSUS.cab) and a generated package (tests/tools/wsusgen.py). Every expected set is
computed here with SQL over the catalog, not by the code under test: several title words in
any order, a KB number, product and classification by name (and the errors for a name that
matches nothing or several), the size of an update and of a bundle, bulk approve and decline by
ids, KB numbers and filters (dry run changes nothing, scripts need --yes, a terminal asks).
"""

import http.client
import json
import os
import pty
import subprocess
import sys
import unittest

import wsustest as wt

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")
DB = "it_admin_bulk"
ALL_COMPUTERS = "a0a08746-4dbe-4a37-9adf-9e7652c0b421"

# the latest revision of each update, and the software an admin approves (not bundle members)
LATEST = ("(SELECT DISTINCT ON (update_id) * FROM revision "
          "ORDER BY update_id, revision_number DESC)")
DEPLOYABLE = ("l.update_type IN ('Software', 'Driver') AND (l.explicitly_deployable OR NOT EXISTS "
              "(SELECT 1 FROM revision_bundle b WHERE b.member_update_id = l.update_id))")


def psql(query):
    return wt.sql(DB, query)


def ids_of(query):
    return sorted(r[0] for r in psql(query))


class AdminBulkTest(unittest.TestCase):
    srv = None

    @classmethod
    def setUpClass(cls):
        cls.tmpdir = wt.TempDir()
        cls.tmp = cls.tmpdir.__enter__()
        wt.create_db(DB)
        cls.admin_port = wt.free_port()
        cls.conf = wt.write_config(cls.tmp, DB, admin_listen="127.0.0.1:%d" % cls.admin_port)
        pkg = os.path.join(cls.tmp, "gen.cab")
        subprocess.run([sys.executable, GEN, "--seed", "23", "--updates", "30", "--no-content",
                        "--out", pkg], check=True, capture_output=True)
        for cab in (wt.data("WSUS.cab"), pkg):
            r = wt.wsusctl(cls.conf, "import", cab)
            if r.returncode != 0:
                raise RuntimeError("import %s failed: %s%s" % (cab, r.stdout, r.stderr))
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

    def setUp(self):
        psql("DELETE FROM deployment; DELETE FROM declined_update")

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
        return err

    def js(self, *args):
        return json.loads(self.ok("--json", *args))

    def listed(self, *args):
        return sorted(u["update_id"] for u in
                      self.js("updates", "list", "--limit", "100000", *args)["updates"])

    def approved_ids(self):
        return ids_of("SELECT DISTINCT update_id FROM deployment WHERE NOT dead "
                      "AND target_group_id = '%s'" % ALL_COMPUTERS)

    def bulk_lines(self, out):
        """The update ids of the per-update lines of a bulk answer."""
        return sorted(l.split()[0] for l in out.splitlines() if l.startswith("  "))

    # ---- finding ----
    def test_search_all_words_any_order(self):
        title = psql("SELECT l.title FROM %s l WHERE %s AND l.title LIKE '%% for %%' "
                     "ORDER BY l.title LIMIT 1" % (LATEST, DEPLOYABLE))[0][0]
        words = title.split()
        # two words far apart, in reverse order and another case: not a phrase of the title
        query = "%s %s" % (words[-1].upper(), words[1].lower())
        self.assertNotIn(query.lower(), title.lower())
        expect = ids_of("SELECT l.update_id FROM %s l WHERE %s AND strpos(lower(l.title), "
                        "lower('%s')) > 0 AND strpos(lower(l.title), lower('%s')) > 0"
                        % (LATEST, DEPLOYABLE, words[-1].replace("'", "''"),
                           words[1].replace("'", "''")))
        self.assertGreater(len(expect), 0)
        self.assertEqual(self.listed("--search", query), expect)
        out = self.ok("updates", "list", "--search", query, "--limit", "100000")
        self.assertTrue(out.endswith("\n%d update(s)\n" % len(expect)), out)
        self.assertIn(title, out)
        # one word that no title has: nothing, even with the others present
        self.assertEqual(self.listed("--search", query + " zzqx"), [])

    def test_kb_number(self):
        kb, uid = psql("SELECT l.kb_article_id, l.update_id FROM %s l WHERE %s "
                       "AND l.kb_article_id IS NOT NULL ORDER BY 1 LIMIT 1"
                       % (LATEST, DEPLOYABLE))[0]
        expect = ids_of("SELECT l.update_id FROM %s l WHERE %s AND l.kb_article_id = '%s'"
                        % (LATEST, DEPLOYABLE, kb))
        self.assertIn(uid, expect)
        for form in ("KB" + kb, "kb" + kb, kb):
            self.assertIn(uid, self.listed("--search", form))
        out = self.ok("approve", "KB" + kb)
        self.assertTrue(out.startswith('approved %d update(s) for install in "All Computers":\n'
                                       % len(expect)), out)
        self.assertEqual(self.bulk_lines(out), expect)
        self.assertEqual(self.approved_ids(), expect)
        self.fails("no update that can be approved on its own has KB number KB999999999; "
                   "wsusctl updates list --search KB999999999 shows what the catalog has",
                   "approve", "KB999999999")
        self.fails('"nonsense" is neither an update id (a GUID) nor a KB number (KB5031356)',
                   "approve", "nonsense", "KB" + kb)

    def test_category_names(self):
        cls_id, cls_title = psql(
            "SELECT DISTINCT p.update_id, c.title FROM revision_prerequisite p "
            "JOIN %s l ON l.id = p.revision_id JOIN %s c ON c.update_id = p.update_id "
            "WHERE %s AND c.category_type = 'UpdateClassification' ORDER BY 2 LIMIT 1"
            % (LATEST, LATEST, DEPLOYABLE))[0]
        expect = ids_of("SELECT l.update_id FROM %s l WHERE %s AND EXISTS (SELECT 1 FROM "
                        "revision_prerequisite p WHERE p.revision_id = l.id AND p.update_id = '%s')"
                        % (LATEST, DEPLOYABLE, cls_id))
        self.assertGreater(len(expect), 0)
        self.assertEqual(self.listed("--classification", cls_title.swapcase()), expect)
        self.assertEqual(self.listed("--classification", cls_id), expect)
        prod_id, prod_title = psql(
            "SELECT DISTINCT p.update_id, c.title FROM revision_prerequisite p "
            "JOIN %s l ON l.id = p.revision_id JOIN %s c ON c.update_id = p.update_id "
            "WHERE %s AND c.category_type = 'Product' ORDER BY 2 LIMIT 1"
            % (LATEST, LATEST, DEPLOYABLE))[0]
        expect = ids_of("SELECT l.update_id FROM %s l WHERE %s AND EXISTS (SELECT 1 FROM "
                        "revision_prerequisite p WHERE p.revision_id = l.id AND p.update_id = '%s')"
                        % (LATEST, DEPLOYABLE, prod_id))
        self.assertEqual(self.listed("--product", prod_title.lower()), expect)
        self.fails('no classification is named "No Such Thing"; wsusctl updates list --type '
                   'category --search TEXT lists them',
                   "updates", "list", "--classification", "No Such Thing")
        # a part of a name: the candidates, with their ids
        cands = psql("SELECT update_id, title FROM %s c WHERE category_type = "
                     "'UpdateClassification' AND title ILIKE '%%pdate%%' ORDER BY title, "
                     "update_id LIMIT 10" % LATEST)
        self.assertGreater(len(cands), 1)
        self.fails('no classification is named "PDATE"; did you mean one of %s?'
                   % ", ".join('"%s" (%s)' % (t, i) for i, t in cands),
                   "updates", "list", "--classification", "PDATE")
        # the real export has product titles with line breaks and indentation: the name as an
        # admin types it finds them
        odd_id, odd_title = psql("SELECT update_id, to_json(title) FROM %s c WHERE category_type = "
                                 "'Product' AND title ~ '^\\s' ORDER BY update_id LIMIT 1"
                                 % LATEST)[0]
        odd_title = json.loads(odd_title)
        self.assertIn("\n", odd_title)
        typed = " ".join(odd_title.split())
        self.assertNotEqual(typed, odd_title)
        self.assertEqual(self.listed("--product", typed.lower()), self.listed("--product", odd_id))
        # several categories with one name: refused with both ids (made here: the latest
        # revision of a second product takes the first one's title for a moment)
        (a_id, a_title), (b_id, b_title) = psql(
            "SELECT update_id, title FROM %s c WHERE category_type = 'Product' "
            "AND title !~ '(^\\s|\\s$|\\s\\s|\\n)' ORDER BY title LIMIT 2" % LATEST)
        b_rev = "(SELECT id FROM revision WHERE update_id = '%s' ORDER BY revision_number " \
                "DESC LIMIT 1)" % b_id
        psql("UPDATE revision SET title = '%s' WHERE id = %s"
             % (a_title.replace("'", "''"), b_rev))
        try:
            self.fails('several products are named "%s": %s; give the id'
                       % (a_title, ", ".join('"%s" (%s)' % (a_title, i)
                                              for i in sorted((a_id, b_id)))),
                       "updates", "list", "--product", a_title.upper())
        finally:
            psql("UPDATE revision SET title = '%s' WHERE id = %s"
                 % (b_title.replace("'", "''"), b_rev))

    def test_sizes(self):
        bundle = psql("SELECT l.update_id, l.id FROM %s l WHERE %s AND EXISTS (SELECT 1 FROM "
                      "revision_bundle b WHERE b.revision_id = l.id) ORDER BY 1 LIMIT 1"
                      % (LATEST, DEPLOYABLE))[0]
        # the bundle's own files and those of its members, each file once
        files = psql("SELECT encode(f.sha1, 'hex'), f.size FROM file f JOIN revision_file rf "
                     "USING (sha1) WHERE rf.revision_id = %s UNION SELECT encode(f.sha1, 'hex'), "
                     "f.size FROM revision_bundle b JOIN revision m ON m.update_id = "
                     "b.member_update_id AND m.revision_number = b.member_revision_number "
                     "JOIN revision_file rf ON rf.revision_id = m.id JOIN file f USING (sha1) "
                     "WHERE b.revision_id = %s" % (bundle[1], bundle[1]))
        size = sum(int(s) for _, s in dict(files).items())
        self.assertGreater(size, 0)
        show = self.js("updates", "show", bundle[0])["update"]
        self.assertEqual(show["size"], size)
        self.assertIn("  size:          %s (%d bytes, with its bundled updates)\n"
                      % (human(size), size), self.ok("updates", "show", bundle[0]))
        row = [u for u in self.js("updates", "list", "--limit", "100000")["updates"]
               if u["update_id"] == bundle[0]][0]
        self.assertEqual(row["size"], size)
        line = [l for l in self.ok("updates", "list", "--limit", "100000").splitlines()
                if l.startswith(bundle[0])][0]
        self.assertIn("  %9s  " % human(size), line)
        self.assertIn("SIZE", self.ok("updates", "list", "--limit", "1").splitlines()[0])

    # ---- bulk ----
    def filter_case(self):
        """A classification + product pair that selects more than one update."""
        rows = psql("SELECT cp.update_id, cc.title, pp.update_id, pc.title, count(*) FROM %s l "
                    "JOIN revision_prerequisite cp ON cp.revision_id = l.id "
                    "JOIN %s cc ON cc.update_id = cp.update_id "
                    "  AND cc.category_type = 'UpdateClassification' "
                    "JOIN revision_prerequisite pp ON pp.revision_id = l.id "
                    "JOIN %s pc ON pc.update_id = pp.update_id AND pc.category_type = 'Product' "
                    "WHERE %s GROUP BY 1, 2, 3, 4 HAVING count(*) > 1 ORDER BY 5 DESC, 2, 4 "
                    "LIMIT 1" % (LATEST, LATEST, LATEST, DEPLOYABLE))
        self.assertTrue(rows, "the generated package has no classification+product pair")
        cid, ctitle, pid, ptitle, _ = rows[0]
        expect = ids_of("SELECT l.update_id FROM %s l WHERE %s AND EXISTS (SELECT 1 FROM "
                        "revision_prerequisite p WHERE p.revision_id = l.id AND p.update_id = '%s')"
                        " AND EXISTS (SELECT 1 FROM revision_prerequisite p WHERE p.revision_id = "
                        "l.id AND p.update_id = '%s')" % (LATEST, DEPLOYABLE, cid, pid))
        return ctitle, ptitle, expect

    def test_bulk_approve_by_filter(self):
        ctitle, ptitle, expect = self.filter_case()
        flt = ("--classification", ctitle, "--product", ptitle)
        before = psql("SELECT count(*), (SELECT last_value FROM change_seq) FROM deployment")
        out = self.ok("approve", *flt, "--group", "All Computers", "--dry-run")
        self.assertTrue(out.startswith('would approve %d update(s) for install in "All '
                                       'Computers":\n' % len(expect)), out)
        self.assertTrue(out.endswith("dry run: nothing was changed\n"), out)
        self.assertEqual(self.bulk_lines(out), expect)
        self.assertEqual(psql("SELECT count(*), (SELECT last_value FROM change_seq) "
                              "FROM deployment"), before)
        # a script must say --yes for a filter
        self.fails("approving by a filter needs --yes when not run on a terminal; see the "
                   "updates it selects first with --dry-run", "approve", *flt)
        self.assertEqual(self.approved_ids(), [])
        out = self.ok("approve", *flt, "--yes", "--action", "install")
        self.assertTrue(out.startswith('approved %d update(s) for install in "All Computers":\n'
                                       % len(expect)), out)
        self.assertEqual(self.bulk_lines(out), expect)
        self.assertEqual(self.approved_ids(), expect)
        self.assertIn('%d update(s) approved for install (group "All Computers") by %s in one '
                      'change' % (len(expect), admin_login()), self.srv.output())
        # one change: one transaction, so every new deployment is in place together
        self.assertEqual(psql("SELECT count(*) FROM deployment WHERE NOT dead"),
                         [[str(len(expect))]])
        # --not-approved now selects nothing of that set
        out = self.ok("approve", *flt, "--not-approved", "--yes")
        self.assertEqual(out, "no update matches; nothing was changed\n")
        self.assertEqual(psql("SELECT count(*) FROM deployment"), [[str(len(expect))]])

    def test_bulk_everything_not_approved(self):
        expect = ids_of("SELECT l.update_id FROM %s l WHERE %s" % (LATEST, DEPLOYABLE))
        res = self.js("approve", "--not-approved", "--yes", "--group", "Unassigned Computers")
        self.assertEqual((res["count"], res["group"]), (len(expect), "Unassigned Computers"))
        self.assertEqual(ids_of("SELECT update_id FROM deployment WHERE NOT dead"), expect)
        self.assertEqual(len(set(r[0] for r in psql("SELECT change_seq FROM deployment"))),
                         len(expect))  # each approval its own change number, as one by one

    def test_bulk_ids_one_transaction(self):
        ids = ids_of("SELECT l.update_id FROM %s l WHERE %s ORDER BY 1 LIMIT 3"
                     % (LATEST, DEPLOYABLE))
        leaf = psql("SELECT l.update_id FROM %s l WHERE l.update_type = 'Software' AND NOT "
                    "l.explicitly_deployable AND EXISTS (SELECT 1 FROM revision_bundle b WHERE "
                    "b.member_update_id = l.update_id) ORDER BY 1 LIMIT 1" % LATEST)[0][0]
        # one update that cannot be approved refuses the whole change
        rc, out, err = self.ctl("approve", *ids, leaf)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("is installed only as part of bundle", err)
        self.assertEqual(self.approved_ids(), [])
        out = self.ok("approve", *ids, "--group", "Unassigned Computers", "--action", "block")
        self.assertTrue(out.startswith('approved 3 update(s) for block in "Unassigned '
                                       'Computers":\n'), out)
        self.assertEqual(ids_of("SELECT DISTINCT update_id FROM deployment WHERE NOT dead AND "
                                "action = 3"), ids)
        res = self.js("decline", *ids)
        self.assertEqual(res["count"], 3)
        self.assertEqual(sorted(u["update_id"] for u in res["updates"]), ids)
        self.assertEqual(ids_of("SELECT update_id FROM declined_update"), ids)
        self.assertEqual(psql("SELECT count(*) FROM deployment WHERE NOT dead"), [["0"]])

    def test_bulk_decline_superseded(self):
        expect = ids_of("SELECT l.update_id FROM %s l WHERE %s AND EXISTS (SELECT 1 FROM "
                        "revision_supersedes s JOIN %s n ON n.id = s.revision_id "
                        "WHERE s.superseded_update_id = l.update_id)" % (LATEST, DEPLOYABLE, LATEST))
        self.assertGreater(len(expect), 0, "the generated package has no supersedence")
        self.assertEqual(self.listed("--superseded"), expect)
        out = self.ok("decline", "--superseded", "--yes")
        self.assertTrue(out.startswith("declined %d update(s):\n" % len(expect)), out)
        self.assertEqual(self.bulk_lines(out), expect)
        self.assertEqual(ids_of("SELECT update_id FROM declined_update"), expect)
        # approve by filter skips declined updates
        res = self.js("approve", "--superseded", "--yes")
        self.assertEqual(res["count"], 0)

    def test_terminal_confirmation(self):
        ctitle, ptitle, expect = self.filter_case()
        prompt = "decline %d update(s)? [y/N] " % len(expect)
        rc, out, err = on_terminal(self.conf, "n\n", "decline", "--classification", ctitle,
                                   "--product", ptitle)
        self.assertEqual(rc, 1)
        self.assertEqual(err, prompt + "wsusctl: cancelled; nothing was changed\n")
        self.assertEqual(self.bulk_lines(out), expect)
        self.assertEqual(psql("SELECT count(*) FROM declined_update"), [["0"]])
        rc, out, err = on_terminal(self.conf, "y\n", "decline", "--classification", ctitle,
                                   "--product", ptitle)
        self.assertEqual((rc, err), (0, prompt), out)
        self.assertIn("\ndeclined %d update(s):\n" % len(expect), out)
        self.assertEqual(ids_of("SELECT update_id FROM declined_update"), expect)

    def post(self, path, body):
        token = open(os.path.join(self.tmp, "state", "admin.token")).read().strip()
        c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=30)
        try:
            c.request("POST", path, body=json.dumps(body).encode(),
                      headers={"Authorization": "Bearer " + token})
            r = c.getresponse()
            return r.status, json.loads(r.read())
        finally:
            c.close()

    def test_bulk_api_fields(self):
        uid = psql("SELECT l.update_id FROM %s l WHERE %s ORDER BY 1 LIMIT 1"
                   % (LATEST, DEPLOYABLE))[0][0]
        ids = '"ids" must be a list of 0 to 10000 strings of 1 to 64 bytes on one line'
        for body, msg in (
                ({"ids": uid}, ids), ({"ids": ["x" * 65]}, ids), ({"ids": [1]}, ids),
                ({"ids": ["KB1\n"]}, ids), ({"ids": ["KB1"] * 10001}, ids),
                ({"ids": []}, "give update ids or KB numbers, or a filter (product, "
                              "classification, search, superseded, not_approved)"),
                ({"ids": [uid], "superseded": True},
                 "give update ids or KB numbers, or a filter, not both"),
                ({"ids": [uid], "declined": True},
                 'unknown field "declined"; this call takes "ids", "product", "classification", '
                 '"search", "superseded", "not_approved", "dry_run", "admin", "group", "action", '
                 '"deadline"'),
                ({"ids": [uid], "dry_run": "yes"}, '"dry_run" must be true or false')):
            self.assertEqual(self.post("/api/v1/approve/bulk", body), (400, {"error": msg}),
                             body if len(json.dumps(body)) < 200 else "")
        self.assertEqual(psql("SELECT count(*) FROM deployment"), [["0"]])
        status, ans = self.post("/api/v1/decline/bulk", {"ids": [uid], "dry_run": True})
        self.assertEqual((status, ans["dry_run"], ans["count"]), (200, True, 1))
        self.assertEqual(psql("SELECT count(*) FROM declined_update"), [["0"]])

    def test_bulk_validation(self):
        self.fails("give update ids or KB numbers, or a filter, not both",
                   "approve", "KB5000001", "--superseded", "--yes")
        self.fails("--revision goes with one update id; several updates are approved at their "
                   "latest revision", "approve", "KB5000001", "--revision", "3")
        rc, out, err = self.ctl("approve")
        self.assertEqual(rc, 2)
        self.assertTrue(err.startswith("wsusctl: usage: wsusctl approve ID|KB..."), err)


def admin_login():
    """The approver wsusctl records: $SUDO_USER, else the login of this uid."""
    import pwd
    return os.environ.get("SUDO_USER") or pwd.getpwuid(os.getuid()).pw_name


def human(n):
    units = ["B", "KB", "MB", "GB", "TB"]
    v, i = float(n), 0
    while v >= 1024 and i < 4:
        v /= 1024
        i += 1
    return "%.0f %s" % (v, units[i]) if i == 0 else "%.1f %s" % (v, units[i])


def on_terminal(conf, answer, *args):
    """Run wsusctl with its stdin on a pseudo-terminal that types answer; stdout and stderr
    are pipes. Returns (status, stdout, stderr)."""
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([os.path.join(wt.BIN, "wsusctl"), "-c", conf] + list(args),
                             stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        os.write(master, answer.encode())
        out, err = p.communicate(timeout=60)
        return p.returncode, out, err
    finally:
        os.close(master)
        os.close(slave)


if __name__ == "__main__":
    unittest.main(verbosity=2)
