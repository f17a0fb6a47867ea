"""Languages along a hierarchy (issue 10: "Language removed upstream"), with real wsusd
processes on 127.0.0.1 and the real PostgreSQL of the test cluster.

root     imports the real export's categories and generated updates: neutral ones and language
         packs in de and fr (tests/tools/wsusgen.py --language-packs de,fr, each specific to its
         language by Properties/Language), with their content; languages en,de,fr; approvals of
         neutral, de and fr updates.
replica  replica mode (its languages inherited from root), download none, synchronizes from
         root.
down     autonomous, languages en,de only, download all, synchronizes from root.

Checks: the languages of each revision are stored (schema 007); GetRevisionIdList leaves out
the updates specific to languages the downstream did not ask for (down has no fr pack and no
fr file, but every neutral and de one); the root disables fr: its approvals count leaves out
the fr approvals, while the replica (which takes en,de from it at its next sync) keeps
them: listinactiveapprovals on the replica lists exactly the fr-only approvals (computed here
from the root's catalog), the counts differ; removeinactiveapprovals clears them and the counts
then match; when the replica then downloads everything, no fr-only file is fetched.
"""

import json
import os
import subprocess
import sys

import wsustest as wt

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")


def start(tmp, servers, dbs, name, settings=()):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    db = wt.create_db("it_lang_" + name)
    dbs.append(db)
    conf = wt.write_config(d, db)
    srv = wt.Wsusd(conf).start()
    servers.append(srv)
    for k, v in settings:
        r = wt.wsusctl(conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "%s: config set %s %s" % (name, k, v), r)
    return conf, "http://127.0.0.1:%d" % srv.listen_port(), db


def count(conf, what):
    r = wt.wsusctl(conf, "approvals", "count")
    ok = r.returncode == 0 and r.stdout.strip().isdigit()
    wt.check(ok, "%s: approvals count" % what, r)
    return int(r.stdout) if ok else -1


def files_of(db, langs):
    """sha1 (hex) of the files of revisions whose languages are exactly langs ('{}' neutral)."""
    return set(x for (x,) in wt.sql(db, "SELECT DISTINCT encode(rf.sha1, 'hex') FROM "
                                        "revision_file rf JOIN revision r ON r.id = "
                                        "rf.revision_id WHERE r.languages = :'p1'::text[]", langs))


def present(db):
    return set(x for (x,) in wt.sql(db, "SELECT encode(sha1, 'hex') FROM file WHERE state = "
                                        "'present'"))


def run(tmp, servers, dbs):
    pkg, content = os.path.join(tmp, "gen.cab"), os.path.join(tmp, "gen-content")
    r = subprocess.run([sys.executable, GEN, "--seed", "5", "--updates", "4", "--include-export",
                        "--language-packs", "de,fr", "--packs-per-language", "2",
                        "--file-size", "1K-4K", "--out", pkg, "--content-dir", content],
                       capture_output=True, text=True)
    wt.check(r.returncode == 0, "wsusgen with language packs", r)
    root_conf, root_url, root_db = start(tmp, servers, dbs, "root", [("languages", "en,de,fr")])
    r = wt.wsusctl(root_conf, "import", pkg, "--content", content)
    wt.check(r.returncode == 0, "root: import", r)

    # --- the languages of each revision, from Properties/Language
    by_lang = dict((k, int(v)) for k, v in wt.sql(root_db, "SELECT array_to_string(languages, ','), count(*) FROM "
                                   "revision WHERE update_type = 'Software' GROUP BY 1"))
    wt.check(set(by_lang) == {"", "de", "fr"} and by_lang["de"] > 2 and by_lang["fr"] > 2,
             "root: neutral, de-only and fr-only revisions stored (bundles and leaves)", by_lang)
    wt.check(wt.sql_value(root_db, "SELECT count(*) FROM revision WHERE update_type <> "
                                   "'Software' AND languages <> '{}'") == "0",
             "root: categories and detectoids are neutral")
    # the migration's backfill (schema 007, from revision.xml) finds what the ingest stored
    with open(os.path.join(wt.SRC, "schema", "007_update_languages.sql")) as f:
        mig = f.read()
    start_at = mig.index("UPDATE revision r")
    backfill = mig[start_at:mig.index(";", start_at) + 1]
    stored = "SELECT id, array_to_string(languages, ',') FROM revision ORDER BY id"
    before = wt.sql(root_db, stored)
    wt.sql(root_db, "BEGIN; UPDATE revision SET languages = '{}'; %s COMMIT;" % backfill)
    wt.check(wt.sql(root_db, stored) == before,
             "root: the migration's backfill from revision.xml gives the stored languages")
    bundles = dict()
    for lang in ("", "de", "fr"):
        bundles[lang] = [u for (u,) in wt.sql(root_db, """
            SELECT update_id::text FROM revision WHERE explicitly_deployable
               AND array_to_string(languages, ',') = :'p1' ORDER BY title, update_id LIMIT 2""",
                                              lang)]
        wt.check(len(bundles[lang]) == 2, "root: two bundles of languages '%s'" % lang, bundles)
    for lang in bundles:
        for u in bundles[lang]:
            r = wt.wsusctl(root_conf, "approve", u)
            wt.check(r.returncode == 0, "root: approve %s" % u, r)
    wt.check(count(root_conf, "root") == 6, "root: 6 active approvals")

    # --- a downstream with en,de asks for them: no fr pack reaches it, nor its content
    down_conf, _, down_db = start(tmp, servers, dbs, "down",
                                  [("upstream", root_url), ("download", "all")])
    r = wt.wsusctl(down_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "down: first sync (learns the root's languages)", r)
    r = wt.wsusctl(down_conf, "config", "set", "languages", "en,de")
    wt.check(r.returncode == 0, "down: languages en,de", r)
    r = wt.wsusctl(down_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "down: sync with languages en,de", r)
    got = dict((k, int(v)) for k, v in wt.sql(down_db, "SELECT array_to_string(languages, ','), count(*) FROM revision "
                               "WHERE update_type = 'Software' GROUP BY 1"))
    wt.check(got.get("fr") is None and got.get("de") == by_lang["de"] and
             got.get("") == by_lang[""],
             "down: every neutral and de revision, no fr one (GetRevisionIdList Languages)", got)
    want = files_of(root_db, "{}") | files_of(root_db, "{de}")
    wt.check(present(down_db) == want and not (files_of(root_db, "{fr}") & present(down_db)),
             "down: the content of every neutral and de update, none of the fr ones",
             (len(want), len(present(down_db))))

    # --- a replica inherits the root's languages (en,de,fr) and its six approvals
    rep_conf, _, rep_db = start(tmp, servers, dbs, "replica",
                                [("upstream", root_url), ("mode", "replica"),
                                 ("download", "none")])
    r = wt.wsusctl(rep_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "replica: first sync", r)
    r = wt.wsusctl(rep_conf, "config", "get", "languages")
    wt.check(r.returncode == 0 and r.stdout == "de,en,fr\n", "replica: languages inherited", r)
    wt.check(count(rep_conf, "replica") == 6, "replica: the same 6 approvals")
    r = wt.wsusctl(rep_conf, "listinactiveapprovals")
    wt.check(r.returncode == 0 and r.stdout == "0 inactive approval(s) found\n",
             "replica: no inactive approval while the root carries fr", r)

    # --- the root drops fr
    r = wt.wsusctl(root_conf, "config", "set", "languages", "en,de")
    wt.check(r.returncode == 0, "root: languages en,de", r)
    wt.check(count(root_conf, "root") == 4, "root: the fr approvals are no longer counted")
    fr = wt.sql(root_db, """
        SELECT r.title, d.update_id::text, g.name, r.deployment_lang FROM (
          SELECT *, array_to_string(languages, ',') AS deployment_lang FROM revision) r
        JOIN deployment d ON d.update_id = r.update_id AND d.revision_number = r.revision_number
        JOIN target_group g ON g.id = d.target_group_id
        WHERE NOT d.dead AND d.action = 0 AND r.languages = '{fr}'
        ORDER BY r.title, d.update_id, g.name""")
    wt.check(sorted(u for (_, u, _, _) in fr) == sorted(bundles["fr"]),
             "the fr-only approvals, computed from the root's catalog", fr)
    lines = ["%s (%s) install for \"%s\", languages fr: the update is only for fr, which is not "
             "enabled here\n" % (t, u, g) for (t, u, g, _) in fr]
    r = wt.wsusctl(root_conf, "listinactiveapprovals")
    wt.check(r.returncode == 0 and r.stdout == "".join(lines) + "2 inactive approval(s) found\n",
             "root: listinactiveapprovals lists the fr approvals", r)

    # the replica's next sync takes the root's languages; it keeps the fr approvals
    r = wt.wsusctl(rep_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "replica: sync after the root dropped fr", r)
    r = wt.wsusctl(rep_conf, "config", "get", "languages")
    wt.check(r.returncode == 0 and r.stdout == "de,en\n", "replica: languages de,en inherited", r)
    lines = ["%s (%s) install for \"%s\", languages fr: the update is only for fr, which upstream "
             "%s no longer carries\n" % (t, u, g, root_url) for (t, u, g, _) in fr]
    r = wt.wsusctl(rep_conf, "listinactiveapprovals")
    wt.check(r.returncode == 0 and r.stdout == "".join(lines) + "2 inactive approval(s) found\n",
             "replica: listinactiveapprovals lists exactly the fr-only approvals", r)
    r = wt.wsusctl(rep_conf, "--json", "listinactiveapprovals")
    j = json.loads(r.stdout) if r.returncode == 0 else {}
    wt.check(j.get("count") == 2 and sorted(a["update_id"] for a in j.get("approvals", [])) ==
             sorted(bundles["fr"]) and all(a["languages"] == "fr" and a["action"] == "install"
                                           for a in j["approvals"]),
             "replica: listinactiveapprovals --json", j)
    rc, rr = count(rep_conf, "replica"), count(root_conf, "root")
    wt.check(rc == 6 and rr == 4, "replica and root: the counts differ (6, 4)", (rc, rr))

    r = wt.wsusctl(rep_conf, "checkhealth")
    wt.check("WARN  inactive approvals: 2 approval(s) are of updates only for languages no longer "
             "enabled here or carried by the upstream\n      fix: wsusctl listinactiveapprovals "
             "lists them; wsusctl removeinactiveapprovals removes them\n" in r.stdout,
             "replica: checkhealth warns of the 2 inactive approvals", r)

    # --- removeinactiveapprovals on the replica (as the seed guide does)
    r = wt.wsusctl(rep_conf, "removeinactiveapprovals")
    wt.check(r.returncode == 0 and r.stdout == "".join(lines) + "2 inactive approval(s) removed\n",
             "replica: removeinactiveapprovals removes the two", r)
    wt.check(count(rep_conf, "replica") == count(root_conf, "root") == 4,
             "replica and root: the counts match (4)")
    dead = wt.sql_value(rep_db, "SELECT count(*) FROM deployment WHERE dead AND update_id = "
                                "ANY(:'p1'::uuid[])", "{" + ",".join(bundles["fr"]) + "}")
    wt.check(dead == "2", "replica: the fr approvals are marked dead", dead)
    r = wt.wsusctl(rep_conf, "listinactiveapprovals")
    wt.check(r.returncode == 0 and r.stdout == "0 inactive approval(s) found\n",
             "replica: none left", r)
    r = wt.wsusctl(rep_conf, "checkhealth")
    wt.check("PASS  inactive approvals: no approval is of an update only for another language\n"
             in r.stdout, "replica: checkhealth passes the inactive approvals line", r)

    # --- the replica downloads everything it holds but the fr content
    r = wt.wsusctl(rep_conf, "config", "set", "download", "all")
    wt.check(r.returncode == 0, "replica: config set download all", r)
    r = wt.wsusctl(rep_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "replica: sync with en,de, download all", r)
    have = present(rep_db)
    wt.check(have == want and not (files_of(rep_db, "{fr}") & have) and files_of(rep_db, "{fr}"),
             "replica: fr-only revisions are in its catalog but their content is not downloaded",
             (len(want), len(have)))
    wt.check(count(rep_conf, "replica") == count(root_conf, "root") == 4,
             "replica and root: still 4 after the sync")


def main():
    wt.run_servers(run)


if __name__ == "__main__":
    main()
