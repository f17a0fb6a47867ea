"""Synchronization down a three-tier chain of real wsusd processes on 127.0.0.1 (issue 5).

root   seeded with `wsusctl import` of the real export + generated updates with content
middle syncs from root (download = all)
leaf   syncs from middle, subscribed to one product and one classification (download = all)

Checks: after one "sync now" per tier the catalogs hold the same revisions (the leaf: what its
subscription selects, with bundle closure) and the same verified content bytes; a second sync
with no upstream change makes no GetUpdateData call and moves no content; after a change
upstream (new revisions, expired revisions) the next sync moves exactly that; status, history
and --json say what happened.
"""

import hashlib
import json
import os
import subprocess
import sys

import wsustest as wt

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")


def gen(tmp, name, *extra):
    out = os.path.join(tmp, name + ".cab")
    content = os.path.join(tmp, name + "-content")
    r = subprocess.run([sys.executable, GEN, "--seed", "5", "--updates", "25", "--include-export",
                        "--file-size", "2K-200K", "--out", out, "--content-dir", content] +
                       list(extra), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("wsusgen failed: %s" % r.stderr)
    return out, content


def revisions(db):
    return set(tuple(r) for r in wt.sql(db, "SELECT update_id, revision_number FROM revision"))


def latest(db):
    """(update_id, latest revision) of every update: what an upstream must hand down (a wsusd
    upstream lists only the latest revision of each update; older ones stay where they are)."""
    return set(tuple(r) for r in wt.sql(db, "SELECT update_id, max(revision_number) FROM "
                                            "revision GROUP BY update_id"))


def same_catalog(down, up):
    return latest(down) == latest(up) and revisions(down) <= revisions(up)


def present_files(db):
    return set(r[0] for r in wt.sql(db, "SELECT encode(sha1, 'hex') FROM file WHERE state = "
                                        "'present'"))


def verify_store(tmp_content, db):
    """Every 'present' file is in the store and hashes to its SHA-1 (and SHA-256)."""
    bad = []
    rows = wt.sql(db, "SELECT encode(sha1, 'hex'), coalesce(encode(sha256, 'hex'), ''), "
                      "file_name, size FROM file WHERE state = 'present'")
    for sha1, sha256, name, size in rows:
        ext = os.path.splitext(name)[1].lower()
        path = os.path.join(tmp_content, "WsusContent", sha1[-2:].upper(), sha1.upper() + ext)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            bad.append("%s: %s" % (path, e))
            continue
        if hashlib.sha1(data).hexdigest() != sha1 or (sha256 and
                                                      hashlib.sha256(data).hexdigest() != sha256):
            bad.append("%s: digest mismatch" % path)
        if size and int(size) != len(data):
            bad.append("%s: size %d, catalog says %s" % (path, len(data), size))
    return bad


def partials(content):
    out = []
    for dirpath, _, files in os.walk(content):
        out += [os.path.join(dirpath, f) for f in files if f.endswith(".partial")]
    return out


def last_run(conf):
    r = wt.wsusctl(conf, "sync", "history", "--limit", "1", "--json")
    return json.loads(r.stdout)[0]


def setup_server(tmp, name, upstream=None, settings=()):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    db = wt.create_db("it_sync_" + name)
    conf = wt.write_config(d, db, extra="[log]\nlevel = debug\n")
    srv = wt.Wsusd(conf).start()
    if upstream is not None:
        r = wt.wsusctl(conf, "config", "set", "upstream", upstream)
        wt.check(r.returncode == 0, "%s: config set upstream" % name, r)
    for k, v in settings:
        r = wt.wsusctl(conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "%s: config set %s %s" % (name, k, v), r)
    return d, db, conf, srv


def main():
    servers = []
    dbs = []
    with wt.TempDir() as tmp:
        try:
            run(tmp, servers, dbs)
        finally:
            for s in servers:
                s.stop()
                if wt.failures:
                    print("---- wsusd log (%s) ----\n%s" % (s.conf, s.output()[-6000:]))
            for db in dbs:
                wt.drop_db(db)
    wt.finish()


def run(tmp, servers, dbs):
    pkg, pkg_content = gen(tmp, "base")
    pkg2, pkg2_content = gen(tmp, "bumped", "--revision-bump", "3", "--expire", "2")

    root_dir, root_db, root_conf, root = setup_server(tmp, "root")
    servers.append(root)
    dbs.append(root_db)
    r = wt.wsusctl(root_conf, "import", pkg, "--content", pkg_content)
    wt.check(r.returncode == 0, "root: import of the real export + generated updates", r)
    root_url = "http://127.0.0.1:%d" % root.listen_port()

    mid_dir, mid_db, mid_conf, mid = setup_server(tmp, "middle", root_url, [("download", "all")])
    servers.append(mid)
    dbs.append(mid_db)

    # --- middle: first sync, everything
    r = wt.wsusctl(mid_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "middle: sync now --wait succeeds", r)
    wt.check("succeeded" in r.stdout, "middle: --wait prints the result", r)
    wt.check(same_catalog(mid_db, root_db),
             "middle holds the root's revisions (latest of each of %d updates)" %
             len(latest(root_db)))
    wt.check(present_files(mid_db) == present_files(root_db) and len(present_files(root_db)) > 0,
             "middle holds every content file of the root (%d)" % len(present_files(root_db)))
    bad = verify_store(os.path.join(mid_dir, "content"), mid_db)
    wt.check(not bad, "middle: every file verifies against its SHA-1/SHA-256 and size", bad)
    wt.check(not partials(os.path.join(mid_dir, "content")), "middle: no partial file left")
    h = last_run(mid_conf)
    wt.check(h["result"] == "succeeded" and h["new_revisions"] > 0 and h["categories"] > 0 and
             h["files"] > 0 and h["bytes"] > 0, "middle: history counts new, categories, files, "
             "bytes", h)
    docs = "SELECT update_id || ' ' || revision_number || ' ' || md5(xml) FROM revision"
    root_docs = set(r[0] for r in wt.sql(root_db, docs))
    mid_docs = set(r[0] for r in wt.sql(mid_db, docs))
    wt.check(mid_docs and mid_docs <= root_docs,
             "middle stores every update document byte for byte")

    # --- middle: nothing changed upstream -> no GetUpdateData, no content
    r = wt.wsusctl(mid_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "middle: second sync succeeds", r)
    h = last_run(mid_conf)
    calls = h["detail"]["calls"]
    wt.check(calls.get("GetUpdateData", -1) == 0, "no-change sync makes no GetUpdateData call",
             calls)
    wt.check(h["files"] == 0 and h["bytes"] == 0 and h["new_revisions"] == 0,
             "no-change sync moves no content and stores nothing", h)

    # --- leaf: one product, one classification, from the middle
    prod, cls = wt.sql(root_db, """
        SELECT p.update_id, c.update_id FROM revision r
          JOIN revision_prerequisite p ON p.revision_id = r.id AND p.is_category
          JOIN revision pr ON pr.update_id = p.update_id AND pr.category_type = 'Product'
          JOIN revision_prerequisite c ON c.revision_id = r.id AND c.is_category
          JOIN revision cr ON cr.update_id = c.update_id AND cr.category_type = 'UpdateClassification'
         WHERE r.update_type = 'Software' GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1""")[0]
    mid_url = "http://127.0.0.1:%d" % mid.listen_port()
    leaf_dir, leaf_db, leaf_conf, leaf = setup_server(
        tmp, "leaf", mid_url, [("download", "all")])
    servers.append(leaf)
    dbs.append(leaf_db)
    # categories must be known before a subscription can name them: first sync categories only
    r = wt.wsusctl(leaf_conf, "config", "set", "products", prod)
    if r.returncode != 0:
        # the settings check wants the category in the catalog: sync once with no updates
        wt.sql(leaf_db, "INSERT INTO setting (key, value) VALUES ('products', :'p1') "
                        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", prod)
    r = wt.wsusctl(leaf_conf, "config", "set", "classifications", cls)
    if r.returncode != 0:
        wt.sql(leaf_db, "INSERT INTO setting (key, value) VALUES ('classifications', :'p1') "
                        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", cls)
    r = wt.wsusctl(leaf_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "leaf: sync now --wait succeeds", r)
    leaf_revs, mid_revs = revisions(leaf_db), revisions(mid_db)
    wt.check(leaf_revs <= mid_revs, "leaf holds only revisions its upstream has")
    cats = set(tuple(x) for x in wt.sql(mid_db, "SELECT update_id, revision_number FROM revision "
                                                "WHERE update_type IN ('Category', 'Detectoid')"))
    wt.check(cats <= leaf_revs, "leaf holds every category and detectoid (%d)" % len(cats))
    selected = set(tuple(x) for x in wt.sql(mid_db, """
        SELECT r.update_id, r.revision_number FROM revision r
         WHERE EXISTS (SELECT 1 FROM revision_prerequisite p WHERE p.revision_id = r.id AND
                       p.is_category AND p.update_id = :'p1')
           AND EXISTS (SELECT 1 FROM revision_prerequisite p WHERE p.revision_id = r.id AND
                       p.is_category AND p.update_id = :'p2')""", prod, cls))
    wt.check(selected and selected <= leaf_revs,
             "leaf holds every revision of its product and classification (%d)" % len(selected))
    unselected = set(tuple(x) for x in wt.sql(mid_db, """
        SELECT r.update_id, r.revision_number FROM revision r WHERE r.update_type = 'Software'
           AND r.explicitly_deployable AND NOT EXISTS (SELECT 1 FROM revision_prerequisite p
               WHERE p.revision_id = r.id AND p.is_category AND p.update_id = :'p1')""", prod))
    wt.check(unselected and not (unselected & leaf_revs),
             "leaf holds no bundle of another product")
    closure = wt.sql_value(leaf_db, """
        SELECT count(*) FROM revision_bundle b WHERE NOT EXISTS (SELECT 1 FROM revision v
         WHERE v.update_id = b.member_update_id AND v.revision_number = b.member_revision_number)""")
    wt.check(closure == "0", "leaf holds every bundled revision of its bundles")
    leaf_files = set(r[0] for r in wt.sql(leaf_db, "SELECT encode(sha1, 'hex') FROM file"))
    wt.check(leaf_files and present_files(leaf_db) == leaf_files,
             "leaf downloaded every file of its updates (%d)" % len(leaf_files))
    bad = verify_store(os.path.join(leaf_dir, "content"), leaf_db)
    wt.check(not bad, "leaf: every file verifies", bad)

    # --- a replica of the root: approvals, groups and declines are inherited, and only the
    #     files of approved updates are downloaded (the default download policy)
    bundle = wt.sql_value(root_db, "SELECT update_id FROM revision WHERE explicitly_deployable "
                                   "AND update_type = 'Software' ORDER BY update_id LIMIT 1")
    declined = wt.sql_value(root_db, "SELECT update_id FROM revision WHERE explicitly_deployable "
                                     "AND update_type = 'Software' ORDER BY update_id DESC LIMIT 1")
    r = wt.wsusctl(root_conf, "groups", "add", "Branch PCs")
    wt.check(r.returncode == 0, "root: add a target group", r)
    r = wt.wsusctl(root_conf, "approve", bundle, "--group", "Branch PCs")
    wt.check(r.returncode == 0, "root: approve one bundle for install", r)
    r = wt.wsusctl(root_conf, "decline", declined)
    wt.check(r.returncode == 0, "root: decline another", r)
    rep_dir, rep_db, rep_conf, rep = setup_server(tmp, "replica", root_url, [("mode", "replica")])
    servers.append(rep)
    dbs.append(rep_db)
    r = wt.wsusctl(rep_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "replica: sync now --wait succeeds", r)
    h = last_run(rep_conf)
    wt.check(h["detail"]["calls"].get("GetDeployments") == 1, "replica: GetDeployments called",
             h["detail"]["calls"])
    wt.check(wt.sql_value(rep_db, "SELECT count(*) FROM target_group WHERE name = 'Branch PCs'")
             == "1", "replica: the root's target group arrived")
    wt.check(wt.sql_value(rep_db, "SELECT count(*) FROM deployment WHERE update_id = :'p1' AND "
                                  "action = 0 AND inherited AND NOT dead", bundle) == "1",
             "replica: the approval arrived, marked inherited")
    wt.check(wt.sql_value(rep_db, "SELECT count(*) FROM declined_update WHERE update_id = :'p1'",
                          declined) == "1", "replica: the decline arrived")
    want = set(x[0] for x in wt.sql(rep_db, """
        SELECT DISTINCT encode(rf.sha1, 'hex') FROM revision b
          JOIN revision_bundle rb ON rb.revision_id = b.id
          JOIN revision m ON m.update_id = rb.member_update_id AND
                             m.revision_number = rb.member_revision_number
          JOIN revision_file rf ON rf.revision_id = m.id WHERE b.update_id = :'p1'""", bundle))
    wt.check(want and present_files(rep_db) == want,
             "replica: exactly the files of the approved bundle were downloaded (%d)" % len(want))
    bad = verify_store(os.path.join(rep_dir, "content"), rep_db)
    wt.check(not bad, "replica: every file verifies", bad)

    # --- a change upstream: 3 new revisions, 2 expired revisions
    before = revisions(root_db)
    r = wt.wsusctl(root_conf, "import", pkg2, "--content", pkg2_content)
    wt.check(r.returncode == 0, "root: import of the changed package", r)
    added = revisions(root_db) - before
    wt.check(len(added) >= 5, "root got the new and expired revisions (%d)" % len(added))
    r = wt.wsusctl(mid_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "middle: sync after the change succeeds", r)
    h = last_run(mid_conf)
    wt.check(same_catalog(mid_db, root_db), "middle again equals the root")
    wt.check(h["new_revisions"] + h["updated_revisions"] == len(added) and
             h["detail"]["revisions_fetched"] == len(added),
             "the sync after the change fetched exactly the %d changed revisions" % len(added), h)
    wt.check(h["updated_revisions"] == len(added), "they count as updated (new revisions of known "
             "updates)", h)
    expired = wt.sql_value(mid_db, "SELECT count(*) FROM revision WHERE publication_state = "
                                   "'Expired'")
    wt.check(expired == wt.sql_value(root_db, "SELECT count(*) FROM revision WHERE "
                                               "publication_state = 'Expired'") and expired != "0",
             "expired revisions arrived (%s)" % expired)

    # --- status and history output
    r = wt.wsusctl(mid_conf, "sync", "status")
    wt.check(r.returncode == 0 and "running: no" in r.stdout and "succeeded" in r.stdout,
             "sync status shows the last result", r)
    r = wt.wsusctl(mid_conf, "sync", "history")
    wt.check(r.returncode == 0 and r.stdout.count("succeeded") >= 3, "sync history lists the "
             "runs", r)
    r = wt.wsusctl(mid_conf, "sync", "status", "--json")
    st = json.loads(r.stdout)
    wt.check(st["running"] is None and st["last"]["result"] == "succeeded", "status --json", st)


if __name__ == "__main__":
    main()
