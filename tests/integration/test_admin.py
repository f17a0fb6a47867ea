#!/usr/bin/env python3
"""test_admin: the admin plumbing end to end. A real wsusd on a fresh database of the test
cluster (127.0.0.1, free ports), seeded with `wsusctl import` of the real export
(tests/data/WSUS.cab: 451 categories) and a small generated package (tests/tools/wsusgen.py),
driven only through the real wsusctl binary. Checks what an admin relies on: settings
round-trip, normal forms and one-line validation errors with the fix; the token and
stopped-server messages; groups, approvals, declines and EULAs visible in the database and in
`updates show`; replica-mode refusals; every --json output parses.
"""

import http.client
import json
import os
import subprocess
import sys
import unittest

import wsustest as wt

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")
DB = "it_admin"
ALL_COMPUTERS = "a0a08746-4dbe-4a37-9adf-9e7652c0b421"


def psql(query):
    return wt.sql(DB, query)


def wsusctl(conf, *args):
    r = wt.wsusctl(conf, *args)
    return r.returncode, r.stdout, r.stderr


class AdminTest(unittest.TestCase):
    srv = None

    @classmethod
    def setUpClass(cls):
        cls.tmpdir = wt.TempDir()
        cls.tmp = cls.tmpdir.__enter__()
        wt.create_db(DB)
        cls.admin_listen = "127.0.0.1:%d" % wt.free_port()
        cls.conf = wt.write_config(cls.tmp, DB, admin_listen=cls.admin_listen)
        pkg = os.path.join(cls.tmp, "gen.cab")
        subprocess.run([sys.executable, GEN, "--seed", "11", "--updates", "6", "--no-content",
                        "--revision-bump", "1", "--eula", "1", "--out", pkg], check=True,
                       capture_output=True)
        for cab in (wt.data("WSUS.cab"), pkg):
            rc, out, err = wsusctl(cls.conf, "import", cab)
            if rc != 0:
                raise RuntimeError("import %s failed: %s%s" % (cab, out, err))
        cls.srv = wt.Wsusd(cls.conf).start()
        # pick real ids from what was imported
        cls.bundles = [r[0] for r in psql(
            "SELECT DISTINCT update_id FROM revision WHERE update_type = 'Software' "
            "AND explicitly_deployable ORDER BY 1")]
        cls.bumped = psql("SELECT update_id FROM revision WHERE update_type = 'Software' "
                          "AND revision_number = 201 AND explicitly_deployable LIMIT 1")[0][0]
        cls.leaf = psql("SELECT DISTINCT member_update_id FROM revision_bundle "
                        "ORDER BY 1 LIMIT 1")[0][0]
        cls.product, cls.product_title = psql(
            "SELECT p.update_id, c.title FROM revision_prerequisite p JOIN revision r "
            "ON r.id = p.revision_id JOIN revision c ON c.update_id = p.update_id "
            "WHERE r.update_type = 'Software' AND p.is_category AND c.category_type = 'Product' "
            "ORDER BY 1 LIMIT 1")[0]
        cls.classification = psql(
            "SELECT update_id FROM revision WHERE category_type = 'UpdateClassification' "
            "ORDER BY title LIMIT 1")[0][0]
        cls.detectoid = psql("SELECT update_id FROM revision WHERE update_type = 'Detectoid' "
                             "ORDER BY 1 LIMIT 1")[0][0]

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

    # helpers
    def ctl(self, *args):
        return wsusctl(self.conf, *args)

    def conf_with(self, name, admin_listen=None, token_file=None):
        """Another config for the same database: other admin address and/or token file."""
        extra = "[admin]\ntoken_file = %s\n" % token_file if token_file else ""
        return wt.write_config(self.tmp, DB, name=name,
                               admin_listen=admin_listen or self.admin_listen, extra=extra)

    def ok(self, *args):
        rc, out, err = self.ctl(*args)
        self.assertEqual(rc, 0, "wsusctl %s: %s%s" % (" ".join(args), out, err))
        self.assertEqual(err, "", "unexpected stderr from %s" % " ".join(args))
        return out

    def fails(self, expect, *args):
        rc, out, err = self.ctl(*args)
        self.assertEqual(rc, 1, "wsusctl %s should fail: %s%s" % (" ".join(args), out, err))
        for e in (expect if isinstance(expect, tuple) else (expect,)):
            self.assertIn(e, err)
        self.assertTrue(err.startswith("wsusctl: ") and err.count("\n") == 1,
                        "one-line message expected, got %r" % err)
        return err

    def js(self, *args):
        return json.loads(self.ok("--json", *args))

    def setting(self, key):
        return json.loads(self.ok("config", "get", key, "--json"))

    # ---- settings ----
    def test_settings_roundtrip(self):
        self.assertEqual(self.ok("config", "get", "upstream"), "\n")
        out = self.ok("config", "set", "upstream", "HTTPS://up1.example.com:8531/")
        self.assertIn("https://up1.example.com:8531", out)
        self.assertEqual(self.ok("config", "get", "upstream"), "https://up1.example.com:8531\n")
        s = self.setting("upstream")
        self.assertFalse(s["is_default"])
        self.assertEqual(psql("SELECT value FROM setting WHERE key = 'upstream'"),
                         [["https://up1.example.com:8531"]])
        self.ok("config", "reset", "upstream")
        self.assertTrue(self.setting("upstream")["is_default"])
        self.assertEqual(psql("SELECT value FROM setting WHERE key = 'upstream'"), [])

        # products: braces, upper case and duplicates come back in normal form
        p = self.product
        self.ok("config", "set", "products", "{%s}, %s" % (p.upper(), p))
        self.assertEqual(self.setting("products")["value"], p)
        self.ok("config", "set", "classifications", self.classification)
        self.assertEqual(self.setting("classifications")["value"], self.classification)
        self.ok("config", "set", "products", "")
        self.assertEqual(self.setting("products")["value"], "")

        # languages drive language.enabled
        self.ok("config", "set", "languages", "de, en")
        self.assertEqual(psql("SELECT short_name FROM language WHERE enabled ORDER BY 1"),
                         [["de"], ["en"]])
        self.assertEqual(self.setting("languages")["value"], "de,en")
        self.ok("config", "reset", "languages")
        self.assertEqual(psql("SELECT short_name FROM language WHERE enabled"), [["en"]])

        self.ok("config", "set", "schedule", "4/day from 3:30")
        self.assertEqual(self.setting("schedule")["value"], "4/day from 03:30")
        self.ok("config", "set", "download", "ALL")
        self.assertEqual(self.setting("download")["value"], "all")
        self.ok("config", "set", "proxy", "proxy.example.com:3128")
        self.assertEqual(self.setting("proxy")["value"], "http://proxy.example.com:3128")

        # the account name defaults to this host's name
        self.assertNotEqual(self.setting("account-name")["value"], "")

        # a secret is stored but never shown
        secret = "s3cr3t-Pa55"
        rc, out, err = self.ctl("config", "set", "proxy-password", secret)
        self.assertEqual(rc, 0)
        self.assertEqual(err, "wsusctl: warning: proxy-password was given on the command line, "
                         "where the shell history and ps can show it; next time use wsusctl "
                         "config set proxy-password - (reads it from standard input)\n")
        self.assertNotIn(secret, out)
        self.assertEqual(psql("SELECT value FROM setting WHERE key = 'proxy-password'"),
                         [[secret]])
        every = self.ok("--json", "config", "get")
        self.assertNotIn(secret, every)
        self.assertNotIn(secret, self.ok("config", "get"))
        self.assertEqual(self.setting("proxy-password")["value"], "(set)")
        self.assertNotIn(secret, self.srv.output())

        # basic proxy authentication is allowed, with a warning
        rc, out, err = self.ctl("config", "set", "proxy-auth", "basic")
        self.assertEqual(rc, 0)
        self.assertIn("clear text", err)
        self.ok("config", "reset", "proxy-auth")

        keys = [s["key"] for s in self.js("config", "get")["settings"]]
        for k in ("upstream", "account-name", "products", "classifications", "languages",
                  "schedule", "download", "mode", "storage", "proxy", "proxy-user",
                  "proxy-password", "ca-file", "allowed-downstreams"):
            self.assertIn(k, keys)

    def test_settings_validation(self):
        before = psql("SELECT key, value FROM setting ORDER BY key")
        cases = [
            (("products", "xyz"), 'products: no product is called "xyz"; wsusctl products lists them'),
            (("products", "0000-zz"), 'products: no product is called "0000-zz"'),
            (("products", self.classification), ("is a classification", ", not a product")),
            (("classifications", self.product), ("is a product", ", not a classification")),
            (("products", "99999999-9999-9999-9999-999999999999"), "is not in the catalog"),
            (("products", self.detectoid), "is a detectoid"),
            (("upstream", "http://up.example.com"), "has no port"),
            (("upstream", "ftp://up.example.com:21"), "is not supported"),
            (("upstream", "http://up.example.com:8530/x/y"), "has a path"),
            (("upstream", "http://up.example.com:99999"), "from 1 to 65535"),
            (("languages", "en,xx"), '"xx" is not a language WSUS knows'),
            (("languages", ""), "at least one language"),
            (("schedule", "25/day"), "is not a schedule"),
            (("schedule", "2/day from 24:00"), "is not a schedule"),
            (("download", "maybe"), "is not one of approved|all|none"),
            (("mode", "replica"), "set one first"),
            (("storage", "cloud"), "is not one of local|microsoft-update"),
            (("proxy", "http://user:pw@proxy:3128"), "do not put a user or password"),
            (("ca-file", "/nonexistent/ca.pem"), "cannot read /nonexistent/ca.pem"),
            (("ca-file", "relative.pem"), "not an absolute path"),
            (("account-name", "two words"), "is not a host name"),
            (("nosuchkey", "1"), 'unknown setting "nosuchkey"'),
        ]
        for (key, value), expect in cases:
            with self.subTest(key=key, value=value):
                self.fails(expect, "config", "set", key, value)
        self.fails('unknown setting "nosuchkey"', "config", "get", "nosuchkey")
        self.assertEqual(psql("SELECT key, value FROM setting ORDER BY key"), before)
        rc, out, err = self.ctl("config", "set", "upstream")
        self.assertEqual(rc, 2)

    # ---- transport and token ----
    def test_token_and_stopped_server(self):
        wrong = os.path.join(self.tmp, "wrong.token")
        with open(wrong, "w") as f:
            f.write("0" * 64 + "\n")
        os.chmod(wrong, 0o600)
        conf = self.conf_with("wrong.conf", token_file=wrong)
        rc, out, err = wsusctl(conf, "config", "get")
        self.assertEqual(rc, 1)
        self.assertIn("wrong admin token", err)
        self.assertEqual(out, "")

        missing = os.path.join(self.tmp, "missing.token")
        conf = self.conf_with("notoken.conf", token_file=missing)
        rc, out, err = wsusctl(conf, "groups")
        self.assertEqual(rc, 1)
        self.assertEqual(err, "wsusctl: the admin token %s does not exist: wsusd creates it when it "
                         "first starts; start wsusd (systemctl start wsusd), or pass -c with the "
                         "configuration file of the running wsusd (%s was read)\n" % (missing, conf))

        port = wt.free_port()
        conf = self.conf_with("stopped.conf", admin_listen="127.0.0.1:%d" % port)
        verbs = [("config", "get"), ("config", "set", "download", "all"), ("groups",),
                 ("groups", "add", "x"), ("approve", self.bumped), ("decline", self.bumped),
                 ("updates", "list"), ("updates", "show", self.bumped)]
        for v in verbs:
            with self.subTest(verb=v):
                rc, out, err = wsusctl(conf, *v)
                self.assertEqual(rc, 1)
                self.assertEqual(err, "wsusctl: wsusd is not running on 127.0.0.1:%d (connection "
                                 "refused); start it with systemctl start wsusd\n" % port)

    # ---- groups ----
    def get(self, path):
        token = open(os.path.join(self.tmp, "state", "admin.token")).read().strip()
        c = http.client.HTTPConnection("127.0.0.1", int(self.admin_listen.rsplit(":", 1)[1]),
                                       timeout=30)
        try:
            c.request("GET", path, headers={"Authorization": "Bearer " + token})
            r = c.getresponse()
            return r.status, json.loads(r.read())
        finally:
            c.close()

    def test_computers_paged(self):
        # 5 computers of this server (2 in Pilot) and 3 rolled up from a server below: pages
        # of this server's then the rolled-up ones, each in name order, with the total
        psql("INSERT INTO computer (id, name, address) SELECT ('00000000-0000-0000-0000-"
             "00000000000' || i)::uuid, 'pc' || i || '.example.org', '127.0.0.1' "
             "FROM generate_series(1, 5) i")
        psql("INSERT INTO target_group (id, parent_id, name) VALUES "
             "('5e5e5e5e-0000-0000-0000-000000000001', "
             "'a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'Paging pilot')")
        psql("INSERT INTO computer_group (computer_id, group_id) SELECT id, "
             "'5e5e5e5e-0000-0000-0000-000000000001' FROM computer "
             "WHERE name IN ('pc2.example.org', 'pc4.example.org')")
        psql("INSERT INTO rollup_computer (computer_id, server_id, reporter_id, name) "
             "SELECT 'below-' || i, '6e6e6e6e-0000-0000-0000-000000000001', "
             "'6e6e6e6e-0000-0000-0000-000000000001', 'branch' || i || '.example.org' "
             "FROM generate_series(1, 3) i")
        try:
            st, every = self.get("/api/v1/computers")
            self.assertEqual(st, 200, every)
            names = [x["name"] for x in every["computers"]]
            self.assertEqual(names, ["pc%d.example.org" % i for i in range(1, 6)]
                             + ["branch%d.example.org" % i for i in range(1, 4)])
            self.assertEqual((every["total"], every["count"]), (8, 8))
            paged = []
            for off in range(0, 9, 3):
                st, page = self.get("/api/v1/computers?limit=3&offset=%d" % off)
                self.assertEqual((st, page["total"]), (200, 8), page)
                self.assertEqual(page["count"], len(page["computers"]))
                paged += page["computers"]
            self.assertEqual(paged, every["computers"])
            st, page = self.get("/api/v1/computers?limit=2&offset=20")
            self.assertEqual((st, page["total"], page["computers"]), (200, 8, []))
            st, page = self.get("/api/v1/computers?group=paging%20pilot&limit=1&offset=1")
            self.assertEqual((st, page["total"], [x["name"] for x in page["computers"]]),
                             (200, 2, ["pc4.example.org"]), page)
            st, page = self.get("/api/v1/computers?limit=1001")
            self.assertEqual((st, page.get("error")), (400, 'limit "1001" is not a number from 1 '
                                                            "to 1000 (leave it out for every "
                                                            "computer)"))
            st, page = self.get("/api/v1/computers?limit=5&offset=-1")
            self.assertEqual((st, page.get("error")),
                             (400, 'offset "-1" is not a whole number from 0 up'))
            # wsusctl computers lists every one of them, in one table
            out = self.ok("computers")
            for n in names:
                self.assertIn(n, out)
            self.assertEqual(len(out.strip().split("\n")), 1 + 8, out)
        finally:
            psql("DELETE FROM rollup_computer WHERE computer_id LIKE 'below-%'")
            psql("DELETE FROM computer_group WHERE group_id = "
                 "'5e5e5e5e-0000-0000-0000-000000000001'")
            psql("DELETE FROM computer WHERE name LIKE 'pc_.example.org'")
            psql("DELETE FROM target_group WHERE name = 'Paging pilot'")

    def test_groups(self):
        names = [g["name"] for g in self.js("groups")["groups"]]
        for builtin in ("All Computers", "Unassigned Computers", "Downstream Servers"):
            self.assertIn(builtin, names)
        self.ok("groups", "add", "Branch servers")
        self.ok("groups", "add", "Branch web", "--parent", "branch SERVERS")
        rows = psql("SELECT g.name, p.name FROM target_group g JOIN target_group p "
                    "ON p.id = g.parent_id WHERE g.name LIKE 'Branch%' ORDER BY 1")
        self.assertEqual(rows, [["Branch servers", "All Computers"],
                                ["Branch web", "Branch servers"]])
        self.fails("already exists", "groups", "add", "branch servers")
        self.fails('no target group "Nowhere"', "groups", "add", "x", "--parent", "Nowhere")
        self.fails("built-in", "groups", "remove", "All Computers")
        self.fails("has subgroups", "groups", "remove", "Branch servers")
        self.fails('no target group "Nope"', "groups", "remove", "Nope")
        self.ok("groups", "remove", "Branch web")
        self.ok("groups", "remove", "Branch servers")
        self.assertEqual(psql("SELECT count(*) FROM target_group WHERE name LIKE 'Branch%'"),
                         [["0"]])

    # ---- approvals, declines, EULAs ----
    def test_approvals(self):
        u = self.bumped
        self.ok("groups", "add", "Pilot")
        out = self.ok("approve", u, "--group", "pilot", "--deadline", "2031-05-01T18:00:00Z")
        self.assertIn("revision 201", out)
        rows = psql("SELECT d.revision_number, d.action, d.dead, g.name, "
                    "to_char(d.deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), d.change_seq "
                    "FROM deployment d JOIN target_group g ON g.id = d.target_group_id "
                    "WHERE d.update_id = '%s'" % u)
        self.assertEqual([r[:5] for r in rows], [["201", "0", "f", "Pilot", "2031-05-01 18:00"]])
        first_seq = int(rows[0][5])

        # re-approving replaces: the old row is dead, the new one has a later change number
        a = self.js("approve", u, "--group", "Pilot", "--action", "block", "--revision", "200")
        self.assertEqual(a["action"], "block")
        self.assertEqual(a["revision"], 200)
        self.assertEqual(len(a["replaced"]), 1)
        rows = psql("SELECT deployment_guid, revision_number, action, dead, change_seq "
                    "FROM deployment WHERE update_id = '%s' ORDER BY change_seq" % u)
        self.assertEqual(len(rows), 2)
        live = [r for r in rows if r[3] == "f"]
        self.assertEqual(len(live), 1)
        self.assertEqual(live[0][0], a["deployment_guid"])
        self.assertEqual(live[0][1:3], ["200", "3"])
        self.assertTrue(all(int(r[4]) > first_seq for r in rows))

        # visible in updates show
        show = self.js("updates", "show", u)["update"]
        self.assertEqual([(d["group"], d["action"], d["revision"]) for d in show["approvals"]],
                         [("Pilot", "block", 200)])
        self.assertEqual(show["revisions"], [200, 201])
        self.assertIn("block", self.ok("updates", "show", u))
        listed = self.js("updates", "list", "--approved", "--limit", "1000")["updates"]
        self.assertEqual([x["update_id"] for x in listed], [u])

        # default group is All Computers
        self.ok("approve", u)
        self.assertEqual(psql("SELECT count(*) FROM deployment WHERE update_id = '%s' AND NOT dead "
                              "AND target_group_id = '%s'" % (u, ALL_COMPUTERS)), [["1"]])

        self.fails("has no revision 7; the catalog has revision(s) 200, 201",
                   "approve", u, "--revision", "7")
        self.fails("only as part of bundle", "approve", self.leaf)
        self.fails("is a Category", "approve", self.product)
        self.fails("is not in the catalog", "approve", "99999999-9999-9999-9999-999999999999")
        self.fails("no update that can be approved on its own has KB number KB123", "approve",
                   "KB123")  # a KB number is looked up now
        self.fails("is not an update id", "approve", "nope")
        self.fails("is not a date and time", "approve", u, "--deadline", "tomorrow")
        self.fails("is not a date and time", "approve", u, "--deadline", "2031-02-30")
        self.fails("is not install, uninstall or block", "approve", u, "--action", "maybe")
        self.fails('no target group "Ghosts"', "approve", u, "--group", "Ghosts")

        # unapprove one group, then all
        out = self.ok("unapprove", u, "--group", "Pilot")
        self.assertIn("removed 1 approval", out)
        self.fails('is not approved for group "Pilot"', "unapprove", u, "--group", "Pilot")
        self.ok("unapprove", u)
        self.assertEqual(psql("SELECT count(*) FROM deployment WHERE update_id = '%s' AND NOT dead"
                              % u), [["0"]])
        self.fails("is not approved", "unapprove", u)

        # removing a group kills its approvals
        self.ok("approve", u, "--group", "Pilot")
        out = self.ok("groups", "remove", "Pilot")
        self.assertIn("1 approval", out)
        self.assertEqual(psql("SELECT count(*) FROM deployment WHERE update_id = '%s' AND NOT dead"
                              % u), [["0"]])

    def test_declines_and_eulas(self):
        u = [b for b in self.bundles if b != self.bumped][0]
        self.ok("approve", u)
        before = int(psql("SELECT last_value FROM change_seq")[0][0])
        d = self.js("decline", u)
        self.assertFalse(d["already_declined"])
        self.assertEqual(len(d["approvals_removed"]), 1)
        rows = psql("SELECT change_seq FROM declined_update WHERE update_id = '%s'" % u)
        self.assertEqual(len(rows), 1)
        self.assertGreater(int(rows[0][0]), before)
        self.assertEqual(psql("SELECT count(*) FROM deployment WHERE update_id = '%s' AND NOT dead"
                              % u), [["0"]])
        self.assertIn("already declined", self.ok("decline", u))
        self.fails("is declined; undecline it first", "approve", u)
        self.assertTrue(self.js("updates", "show", u)["update"]["declined"])
        declined = self.js("updates", "list", "--declined")["updates"]
        self.assertEqual([x["update_id"] for x in declined], [u])
        self.assertTrue(declined[0]["declined"])
        self.ok("undecline", u)
        self.assertEqual(psql("SELECT count(*) FROM declined_update"), [["0"]])
        self.fails("is not declined", "undecline", u)
        self.fails("is a Detectoid", "decline", self.detectoid)

        # the generated package names one license (EulaID on the first bundle's Properties)
        [[licensed, eula]] = psql("SELECT update_id, lower(substring(xml from "
                                  "'EulaID=\"([^\"]+)\"')) FROM revision WHERE xml LIKE "
                                  "'%EulaID=%' ORDER BY revision_number DESC LIMIT 1")
        self.assertIn("  EULA:          %s (wsusctl accepteula %s)\n" % (eula, eula),
                      self.ok("updates", "show", licensed))
        self.assertEqual(self.js("updates", "show", licensed)["update"]["eula_id"], eula)
        self.assertIsNone(self.js("updates", "show", u)["update"]["eula_id"])
        unknown = "0b5f1d5c-3f7a-4a5e-9a0e-1d2c3b4a5f6e"
        err = self.fails("", "accepteula", unknown)
        self.assertEqual(err, "wsusctl: EULA %s is not the license of any update in the "
                              "catalog; wsusctl updates show UPDATE-ID lists an update's EULA\n"
                         % unknown)
        self.assertEqual(psql("SELECT count(*) FROM accepted_eula"), [["0"]])
        self.assertIn("accepted EULA", self.ok("accepteula", eula.upper()))
        self.assertIn("already accepted", self.ok("accepteula", eula))
        self.assertEqual(psql("SELECT eula_id FROM accepted_eula"), [[eula]])
        self.fails("is not an update id", "accepteula", "nope")

    # ---- catalog views ----
    def test_updates_list_and_show(self):
        # the export's 451 category records are 427 categories (some have two revisions)
        cats = self.js("updates", "list", "--type", "category", "--limit", "1000")
        self.assertEqual(cats["total"], 427)
        self.assertEqual(cats["count"], 427)
        text = self.ok("updates", "list", "--categories", "--limit", "1000")
        self.assertIn(self.product_title, text)

        sw = self.js("updates", "list", "--limit", "1000")
        ids = sorted(x["update_id"] for x in sw["updates"])
        self.assertEqual(ids, sorted(self.bundles))  # bundled leaves are hidden by default
        self.assertNotIn(self.leaf, ids)
        self.assertTrue(all(x["classification"] for x in sw["updates"]))
        hidden = self.js("updates", "list", "--hidden", "--limit", "1000")
        self.assertIn(self.leaf, [x["update_id"] for x in hidden["updates"]])

        limited = self.js("updates", "list", "--limit", "2")
        self.assertEqual(limited["count"], 2)
        self.assertEqual(limited["total"], len(self.bundles))
        self.assertIn("2 of %d shown" % len(self.bundles), self.ok("updates", "list", "--limit", "2"))

        byprod = self.js("updates", "list", "--product", self.product, "--limit", "1000")
        self.assertGreater(byprod["count"], 0)
        self.assertTrue(all(self.product_title in x["products"] for x in byprod["updates"]))

        kb = psql("SELECT kb_article_id, update_id FROM revision WHERE update_id = '%s' "
                  "ORDER BY revision_number DESC LIMIT 1" % self.bundles[0])[0]
        found = self.js("updates", "list", "--search", "KB" + kb[0])["updates"]
        self.assertIn(kb[1], [x["update_id"] for x in found])
        self.assertEqual(self.js("updates", "list", "--search", "no such title")["count"], 0)
        self.assertIn(kb[1], self.ok("updates", "list", "--search", kb[0]))
        # several words with spaces reach the server decoded (they were left as %20 once)
        title = psql("SELECT title FROM revision WHERE update_id = '%s' "
                     "ORDER BY revision_number DESC LIMIT 1" % self.bundles[0])[0][0]
        words = " ".join(title.split()[:3])
        self.assertIn(" ", words)
        found = self.js("updates", "list", "--search", words, "--limit", "1000")["updates"]
        self.assertIn(self.bundles[0], [x["update_id"] for x in found])
        self.assertTrue(all(words.lower() in x["title"].lower() for x in found))

        # a title with a newline, a tab and a trailing newline still makes one table row
        psql("UPDATE revision SET title = E'Odd\\ntitle\\twith breaks\\n' WHERE update_id = '%s'"
             % self.bundles[1])
        try:
            rows = [l for l in self.ok("updates", "list", "--limit", "1000").split("\n")
                    if self.bundles[1] in l]
            self.assertEqual(len(rows), 1)
            self.assertTrue(rows[0].endswith("  Odd title with breaks"), rows[0])
            self.assertEqual(self.js("updates", "list", "--search", "Odd")["updates"][0]["title"],
                             "Odd\ntitle\twith breaks\n")
        finally:
            psql("UPDATE revision r SET title = t.title FROM revision_text t WHERE t.revision_id = r.id "
                 "AND t.language = 'en' AND r.update_id = '%s'" % self.bundles[1])

        # supersedence both ways, files with their state, categories by name
        sup = psql("SELECT r.update_id, s.superseded_update_id FROM revision_supersedes s "
                   "JOIN revision r ON r.id = s.revision_id WHERE r.update_type = 'Software' "
                   "AND s.superseded_update_id IN (SELECT update_id FROM revision "
                   "WHERE update_type = 'Software') LIMIT 1")
        self.assertTrue(sup, "the generated package has no supersedence to look at")
        newer, older = sup[0]
        show = self.js("updates", "show", newer)["update"]
        self.assertIn(older, [x["id"] for x in show["supersedes"]])
        show = self.js("updates", "show", older)["update"]
        self.assertIn(newer, [x["id"] for x in show["superseded_by"]])
        self.assertIn(older, self.ok("updates", "show", newer))
        leaf = self.js("updates", "show", self.leaf)["update"]
        self.assertGreater(len(leaf["files"]), 0)
        self.assertTrue(all(f["state"] == "absent" and len(f["sha1"]) == 40
                            for f in leaf["files"]))
        bundle = self.js("updates", "show", self.bundles[0])["update"]
        self.assertGreater(len(bundle["classifications"]), 0)
        self.assertGreater(len(bundle["products"]), 0)
        text = self.ok("updates", "show", self.bundles[0])
        self.assertIn(bundle["title"], text)
        self.assertIn("approvals: none", text)

        self.fails("is not in the catalog", "updates", "show",
                   "99999999-9999-9999-9999-999999999999")
        self.fails("is not software, driver, category, detectoid or all",
                   "updates", "list", "--type", "bogus")
        self.fails("is not a number from 1 to", "updates", "list", "--limit", "0")

    # ---- replica mode ----
    def test_replica_refusals(self):
        u = self.bundles[-1]
        self.ok("config", "set", "upstream", "http://up1.example.com:8530")
        self.ok("config", "set", "mode", "replica")
        try:
            for args, what in [(("approve", u), "approvals"),
                               (("unapprove", u), "approvals"),
                               (("decline", u), "declines"),
                               (("undecline", u), "declines"),
                               (("accepteula", u), "accepted EULAs"),
                               (("groups", "add", "Local"), "target groups"),
                               (("groups", "remove", "Local"), "target groups")]:
                with self.subTest(args=args):
                    err = self.fails("this server is a replica of http://up1.example.com:8530: "
                                     + what + " are inherited", *args)
                    self.assertIn("wsusctl config set mode autonomous", err)
            for key, value in [("products", self.product), ("classifications",
                               self.classification), ("languages", "de")]:
                with self.subTest(key=key):
                    self.fails(key + ": this server is a replica of http://up1.example.com:8530",
                               "config", "set", key, value)
            self.fails("a replica needs an upstream", "config", "set", "upstream", "")
            # reading still works, and other settings may change
            self.js("updates", "list")
            self.ok("config", "set", "schedule", "1/day from 01:00")
            self.assertEqual(psql("SELECT count(*) FROM deployment WHERE update_id = '%s'" % u),
                             [["0"]])
        finally:
            self.ok("config", "set", "mode", "autonomous")
            self.ok("config", "reset", "upstream")

    def test_sync_now_on_root(self):
        # a root has nothing to synchronize from: refused with the hint, nothing recorded
        self.assertEqual(self.setting("upstream")["value"], "")
        before = psql("SELECT count(*) FROM sync_history")
        self.fails("wsusctl: this server has no upstream (it is a root): there is nothing to "
                   "synchronize from; set one with wsusctl config set upstream http://SERVER:8530, "
                   "or bring updates in with wsusctl import\n", "sync", "now")
        self.assertEqual(psql("SELECT count(*) FROM sync_history"), before)

    def test_help_lists_every_verb(self):
        out = subprocess.run([os.path.join(wt.BIN, "wsusctl"), "--help"], capture_output=True,
                             text=True).stdout
        for verb in ("config get", "config set", "config reset", "groups add", "groups remove",
                     "groups ", "approve", "unapprove", "decline", "undecline", "accepteula",
                     "updates list", "updates show"):
            self.assertIn("  " + verb, out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
