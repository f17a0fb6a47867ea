"""Synchronization down a three-tier chain of real wsusd processes on 127.0.0.1 (issue 5).

root   seeded with `wsusctl import` of the real export + generated updates with content, two
       of them with a second revision (the upstream must hand down older revisions too)
middle syncs from root (download = all)
leaf   syncs from middle, subscribed to one product and one classification (download = all)

Checks: after one "sync now" per tier the catalogs hold exactly the same (update id, revision)
pairs (the leaf: exactly what its subscription selects in the root's catalog, with bundle
closure, plus every category and detectoid), byte-identical documents, and the same content
bytes, every file verified by SHA-1 and SHA-256; a second sync
with no upstream change makes no GetUpdateData call and moves no content; after a change
upstream (new revisions, expired revisions) the next sync moves exactly that; status, history
and --json say what happened.
"""

import hashlib
import json
import re
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
    return {(u, int(r)) for u, r in wt.sql(db, "SELECT update_id, revision_number FROM revision")}


def documents(db):
    """(update_id, revision, md5 of the stored document) of every revision."""
    return {(u, int(r), m) for u, r, m in wt.sql(db, "SELECT update_id, revision_number, "
                                                     "md5(xml) FROM revision")}


def selected(db, products, classifications):
    """What a downstream subscribed to products x classifications must hold of db's catalog,
    computed here independently of the server's SQL: every category and detectoid revision,
    every Software/Driver revision whose own IsCategory prerequisites name one of the products
    (or a category below one) and one of the classifications, and the bundle closure of
    those (exact bundled revisions, recursively)."""
    rev = {}
    for i, u, r, t in wt.sql(db, "SELECT id, update_id, revision_number, update_type FROM "
                                 "revision"):
        rev[i] = (u, int(r), t)
    by_ident = {(u, r): i for i, (u, r, t) in rev.items()}
    cats = {}
    for i, u in wt.sql(db, "SELECT revision_id, update_id FROM revision_prerequisite WHERE "
                           "is_category"):
        cats.setdefault(i, set()).add(u)
    bundle = {}
    for i, u, r in wt.sql(db, "SELECT revision_id, member_update_id, member_revision_number "
                              "FROM revision_bundle"):
        bundle.setdefault(i, set()).add((u, int(r)))
    below = set(products)
    grown = True
    while grown:
        grown = False
        for i, (u, r, t) in rev.items():
            if t == "Category" and u not in below and cats.get(i, set()) & below:
                below.add(u)
                grown = True
    todo = [i for i, (u, r, t) in rev.items() if t in ("Software", "Driver") and
            cats.get(i, set()) & below and cats.get(i, set()) & set(classifications)]
    picked = set(todo)
    while todo:
        for m in bundle.get(todo.pop(), ()):
            j = by_ident.get(m)
            if j is not None and j not in picked:
                picked.add(j)
                todo.append(j)
    picked |= {i for i, (u, r, t) in rev.items() if t in ("Category", "Detectoid")}
    return {(rev[i][0], rev[i][1]) for i in picked}


def files_of(db, idents):
    """SHA-1 (hex) of every file of these (update_id, revision) pairs in db."""
    rows = wt.sql(db, "SELECT r.update_id, r.revision_number, encode(f.sha1, 'hex') FROM "
                      "revision r JOIN revision_file f ON f.revision_id = r.id")
    return {h for u, n, h in rows if (u, int(n)) in idents}


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
    # durations are rounded to milliseconds (no 0.0093080000000000003 in scripts' eyes)
    secs = re.findall(r'"seconds": ([0-9.e+-]+)', r.stdout)
    wt.expect(len(secs) == 1 and len(secs[0].partition(".")[2]) <= 3,
              "sync history --json: seconds not rounded to milliseconds: %s" % secs)
    return json.loads(r.stdout)[0]


def setup_server(tmp, name, upstream=None, settings=()):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    # named after the running test too: test_sync_content uses this function while
    # test_sync runs in parallel, and create_db drops a database of the same name
    test = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    db = wt.create_db("it_%s_%s" % (test, name))
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
    wt.run_servers(run)


def check_leaf(leaf_dir, leaf_db, root_db, prod, cls, older, what):
    """The leaf holds exactly what its subscription selects of the root's catalog, the same
    documents, and every file of those revisions, verified."""
    want, got = selected(root_db, [prod], [cls]), revisions(leaf_db)
    wt.check(got == want, "%s holds exactly the %d revisions its product and classification "
             "select in the root's catalog, with bundle closure and every category and "
             "detectoid (missing %d, extra %d)" % (what, len(want), len(want - got),
                                                   len(got - want)),
             sorted(want ^ got)[:10])
    wt.check(older & want, "%s: the subscription selects an older revision (%d)" %
             (what, len(older & want)))
    root_docs = {d for d in documents(root_db) if (d[0], d[1]) in want}
    wt.check(documents(leaf_db) == root_docs, "%s stores every document byte for byte as the "
             "root" % what)
    files = files_of(root_db, want)
    wt.check(files and present_files(leaf_db) == files,
             "%s downloaded exactly the files of its revisions (%d)" % (what, len(files)))
    bad = verify_store(os.path.join(leaf_dir, "content"), leaf_db)
    wt.check(not bad, "%s: every file verifies against its SHA-1/SHA-256 and size" % what, bad)


def run(tmp, servers, dbs):
    # the base package already holds a second revision (201) of 2 bundles; the change package
    # adds revision 201 of 3 more and an expired revision 201 of 2 others
    pkg, pkg_content = gen(tmp, "base", "--revision-bump", "2")
    pkg2, pkg2_content = gen(tmp, "bumped", "--revision-bump", "5", "--expire", "2")

    root_dir, root_db, root_conf, root = setup_server(tmp, "root")
    servers.append(root)
    dbs.append(root_db)
    r = wt.wsusctl(root_conf, "import", pkg, "--content", pkg_content)
    wt.check(r.returncode == 0, "root: import of the real export + generated updates", r)
    root_url = "http://127.0.0.1:%d" % root.listen_port()
    older = set(tuple(x) for x in wt.sql(root_db, """
        SELECT update_id, revision_number FROM revision r WHERE EXISTS (SELECT 1 FROM revision n
         WHERE n.update_id = r.update_id AND n.revision_number > r.revision_number)"""))
    older = {(u, int(n)) for u, n in older}
    wt.check(len(older) >= 2, "root: the seed holds older revisions of some updates (%d)" %
             len(older))

    mid_dir, mid_db, mid_conf, mid = setup_server(tmp, "middle", root_url, [("download", "all")])
    servers.append(mid)
    dbs.append(mid_db)

    # --- middle: first sync, everything
    r = wt.wsusctl(mid_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "middle: sync now --wait succeeds", r)
    wt.check("succeeded" in r.stdout, "middle: --wait prints the result", r)
    root_revs, mid_revs = revisions(root_db), revisions(mid_db)
    wt.check(mid_revs == root_revs, "middle holds exactly the root's %d revisions (missing %d, "
             "extra %d)" % (len(root_revs), len(root_revs - mid_revs), len(mid_revs - root_revs)),
             sorted(root_revs ^ mid_revs)[:10])
    wt.check(older <= mid_revs, "middle holds the older revisions too (%d)" % len(older))
    wt.check(documents(mid_db) == documents(root_db),
             "middle stores every update document byte for byte")
    wt.check(present_files(mid_db) == present_files(root_db) and len(present_files(root_db)) > 0,
             "middle holds every content file of the root (%d)" % len(present_files(root_db)))
    bad = verify_store(os.path.join(mid_dir, "content"), mid_db)
    wt.check(not bad, "middle: every file verifies against its SHA-1/SHA-256 and size", bad)
    wt.check(not partials(os.path.join(mid_dir, "content")), "middle: no partial file left")
    h = last_run(mid_conf)
    wt.check(h["result"] == "succeeded" and h["new_revisions"] > 0 and h["categories"] > 0 and
             h["files"] > 0 and h["bytes"] > 0, "middle: history counts new, categories, files, "
             "bytes", h)
    # every revision is new to the middle, the older revisions of an update included (they
    # arrive in the same sync as the newer ones, in whatever batch order)
    nsoft = len(mid_revs)
    wt.check(h["updated_revisions"] == 0 and h["new_revisions"] == nsoft,
             "middle: a first sync counts every one of its %d revisions as new, none as "
             "updated" % nsoft, h)
    r = wt.wsusctl(mid_conf, "sync", "history", "--limit", "1")
    wt.check(r.returncode == 0 and "updated 0" in r.stdout and "new %d" % nsoft in r.stdout,
             "middle: sync history says new %d, updated 0" % nsoft, r)

    # --- middle: nothing changed upstream -> no GetUpdateData, no content
    r = wt.wsusctl(mid_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "middle: second sync succeeds", r)
    h = last_run(mid_conf)
    calls = h["detail"]["calls"]
    wt.check(calls.get("GetUpdateData", -1) == 0, "no-change sync makes no GetUpdateData call",
             calls)
    wt.check(h["files"] == 0 and h["bytes"] == 0 and h["new_revisions"] == 0,
             "no-change sync moves no content and stores nothing", h)

    # --- leaf: one product, one classification, from the middle; the pair is one that holds
    #     an update with two revisions, so dropping older revisions fails the leaf check too
    prod, cls = wt.sql(root_db, """
        SELECT p.update_id, c.update_id FROM revision r
          JOIN revision_prerequisite p ON p.revision_id = r.id AND p.is_category
          JOIN revision pr ON pr.update_id = p.update_id AND pr.category_type = 'Product'
          JOIN revision_prerequisite c ON c.revision_id = r.id AND c.is_category
          JOIN revision cr ON cr.update_id = c.update_id AND cr.category_type = 'UpdateClassification'
         WHERE r.update_type = 'Software' GROUP BY 1, 2
         ORDER BY bool_or(r.revision_number > 200) DESC, count(*) DESC LIMIT 1""")[0]
    mid_url = "http://127.0.0.1:%d" % mid.listen_port()
    leaf_dir, leaf_db, leaf_conf, leaf = setup_server(
        tmp, "leaf", mid_url, [("download", "all"), ("products", prod),
                               ("classifications", cls)])
    servers.append(leaf)
    dbs.append(leaf_db)
    r = wt.wsusctl(leaf_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "leaf: sync now --wait succeeds", r)
    check_leaf(leaf_dir, leaf_db, root_db, prod, cls, older, "leaf")

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

    # --- a Windows computer of the replica (MS-WUSP, client-side targeting "Branch PCs") gets
    #     the approval made on the root, and its files from the replica
    r = wt.wsusctl(rep_conf, "config", "set", "client-targeting", "client")
    wt.check(r.returncode == 0, "replica: config set client-targeting client", r)
    needs = sorted({x[0] for x in wt.sql(rep_db, """
        SELECT DISTINCT p.update_id FROM revision_prerequisite p
          JOIN revision d ON d.update_id = p.update_id JOIN revision s ON s.id = p.revision_id
         WHERE d.update_type IN ('Detectoid', 'Category') AND s.update_type = 'Software'""")} |
                   {"59653007-e2e9-4f71-8525-2ff588527978"})  # the x64 detectoid
    out = os.path.join(tmp, "replica-client.json")
    r = subprocess.run([sys.executable, os.path.join(wt.SRC, "tests", "tools", "wuclient.py"),
                        "run", "--server", "http://127.0.0.1:%d" % rep.listen_port(),
                        "--validate", "--target-group", "Branch PCs", "--computer-name",
                        "branch-pc.test", "--installed", ",".join(needs), "--out", out,
                        "--timeout", "60"], capture_output=True, text=True, timeout=300)
    with open(out) as f:
        client = json.load(f)
    offered = {u["update_id"] for u in client["updates"] if u["action"] == "Install"}
    wt.check(r.returncode == 0 and client["result"] == "ok" and offered == {bundle},
             "replica: its Windows client is offered exactly the root's approval for its group",
             (r.returncode, client.get("error"), offered, bundle))
    wt.check(client["files"] and all(f["verified"] for f in client["files"]),
             "replica: the client downloads and verifies the approved files from the replica",
             [f for f in client["files"] if not f["verified"]])

    # --- a change upstream: 3 new revisions, 2 expired revisions (201 of known updates)
    before = revisions(root_db)
    r = wt.wsusctl(root_conf, "import", pkg2, "--content", pkg2_content)
    wt.check(r.returncode == 0, "root: import of the changed package", r)
    added = revisions(root_db) - before
    wt.check(len(added) >= 5, "root got the new and expired revisions (%d)" % len(added))
    r = wt.wsusctl(mid_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "middle: sync after the change succeeds", r)
    h = last_run(mid_conf)
    wt.check(revisions(mid_db) == revisions(root_db) and documents(mid_db) == documents(root_db),
             "middle again holds exactly the root's revisions and documents")
    wt.check(present_files(mid_db) == present_files(root_db),
             "middle again holds every content file of the root")
    bad = verify_store(os.path.join(mid_dir, "content"), mid_db)
    wt.check(not bad, "middle: every file verifies after the change", bad)
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
    r = wt.wsusctl(leaf_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "leaf: sync after the change succeeds", r)
    check_leaf(leaf_dir, leaf_db, root_db, prod, cls, older, "leaf after the change")

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
