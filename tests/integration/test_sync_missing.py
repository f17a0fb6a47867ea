"""Updates missing upstream (issue 10, item 2): gone for good vs not downloaded yet, with real
wsusd processes on 127.0.0.1.

root    imports generated updates of two products (Windows 11, Microsoft Defender Antivirus)
        with content.
middle  synchronizes everything from root (download = approved: it holds no files), then is
        rebuilt (new database, new server id, same port) subscribed to Windows 11 only.
down    synchronizes from middle (download = approved) and approves two Defender bundles
        (gone upstream after the rebuild) and one Windows 11 bundle (known upstream, file not
        downloaded there yet).

Checks: the sync fails naming exactly the two gone updates by title and id with both remedies;
DownloadFiles' FileDigestsMissing marks their files gone, the Windows 11 one stays pending
("not on the upstream yet"); `updates list --failed [--json]` lists exactly the three with
why and remedy; declining the two makes the next sync clean; adding Defender upstream again
and synchronizing both brings a declined-then-approved one back.
"""

import json
import os
import subprocess
import sys
import time

import wsustest as wt

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")
WIN11 = "72e7624a-5b00-45d2-b92f-e561c0a6a160"
DEFENDER = "8c3fcc84-7410-4a95-8b89-a166a0190486"
SECURITY = "0fa1201d-4330-4fa8-8ae9-b877473b6441"
GONE_DETAIL = ("gone upstream: the upstream no longer has this file (DownloadFiles answered "
               "FileDigestsMissing)")
PENDING_DETAIL = "not on the upstream yet; asked it to download the file (DownloadFiles)"
REMEDY_GONE = ("decline it here (wsusctl decline ID), or add its product upstream and "
               "synchronize both servers")
REMEDY_PENDING = ("nothing to do: the upstream was asked to download it (DownloadFiles) and the "
                  "next synchronization fetches it")


def wait_for(pred, seconds):
    end = time.time() + seconds
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    return pred()


def start(tmp, servers, dbs, name, settings=(), fresh=True):
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    db = "it_syncmissing_" + name
    if fresh:
        wt.create_db(db)
        if db not in dbs:
            dbs.append(db)
    conf = os.path.join(d, "wsusd.conf")
    if not os.path.exists(conf):
        conf = wt.write_config(d, db)
    srv = wt.Wsusd(conf).start()
    servers.append(srv)
    for k, v in settings:
        r = wt.wsusctl(conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "%s: config set %s %s" % (name, k, v), r)
    return conf, srv, db


def sync_ok(conf, what):
    r = wt.wsusctl(conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "%s: sync succeeds" % what, r)
    return r


def bundles(db, product, n):
    """n explicitly deployable bundles of product with files in their members, by title."""
    return wt.sql(db, """
        SELECT r.update_id, r.title FROM revision r
         WHERE r.update_type = 'Software' AND r.explicitly_deployable
           AND EXISTS (SELECT 1 FROM revision_prerequisite p WHERE p.revision_id = r.id
                        AND p.is_category AND p.update_id = '%s')
           AND EXISTS (SELECT 1 FROM revision_bundle b JOIN revision m
                        ON m.update_id = b.member_update_id
                       AND m.revision_number = b.member_revision_number
                       JOIN revision_file f ON f.revision_id = m.id WHERE b.revision_id = r.id)
         ORDER BY r.title, r.update_id LIMIT %d""" % (product, n))


def files_of(db, update_id):
    return {r[0] for r in wt.sql(db, """
        SELECT encode(f.sha1, 'hex') FROM revision r JOIN revision_bundle b ON b.revision_id = r.id
          JOIN revision m ON m.update_id = b.member_update_id
           AND m.revision_number = b.member_revision_number
          JOIN revision_file f ON f.revision_id = m.id WHERE r.update_id = '%s'""" % update_id)}


def failed_list(conf):
    r = wt.wsusctl(conf, "--json", "updates", "list", "--failed")
    wt.check(r.returncode == 0, "updates list --failed --json answers", r)
    return json.loads(r.stdout)["updates"] if r.returncode == 0 else []


def run(tmp, servers, dbs):
    pkg = os.path.join(tmp, "gen.cab")
    content = os.path.join(tmp, "gen-content")
    r = subprocess.run([sys.executable, GEN, "--seed", "11", "--updates", "16",
                        "--file-size", "1K-8K", "--products", WIN11 + "," + DEFENDER,
                        "--classifications", SECURITY, "--out", pkg, "--content-dir", content],
                       capture_output=True, text=True)
    wt.check(r.returncode == 0, "wsusgen", r)

    root_conf, root, _ = start(tmp, servers, dbs, "root")
    r = wt.wsusctl(root_conf, "import", pkg, "--content", content)
    wt.check(r.returncode == 0, "root: import", r)
    root_url = "http://127.0.0.1:%d" % root.listen_port()

    mid_conf, mid, mid_db = start(tmp, servers, dbs, "middle", [("upstream", root_url)])
    mid_url = "http://127.0.0.1:%d" % mid.listen_port()
    sync_ok(mid_conf, "middle (everything)")
    down_conf, down, down_db = start(tmp, servers, dbs, "down", [("upstream", mid_url)])
    sync_ok(down_conf, "down (metadata)")

    gone = bundles(down_db, DEFENDER, 2)
    pend = bundles(down_db, WIN11, 1)
    wt.check(len(gone) == 2 and len(pend) == 1, "down: two Defender bundles and one Windows 11 "
             "bundle with files", gone + pend)
    if len(gone) != 2 or len(pend) != 1:
        return
    gone_files = files_of(down_db, gone[0][0]) | files_of(down_db, gone[1][0])

    # --- the middle is rebuilt with fewer products (new database: new server id)
    mid.stop()
    start(tmp, servers, dbs, "middle", [("upstream", root_url), ("products", WIN11),
                                        ("classifications", SECURITY)])
    sync_ok(mid_conf, "rebuilt middle (Windows 11 only)")
    wt.check(wt.sql_value(mid_db, "SELECT count(*) FROM revision WHERE update_id IN ('%s', '%s')"
                          % (gone[0][0], gone[1][0])) == "0",
             "the rebuilt middle does not hold the Defender bundles")

    for uid, _ in gone + pend:
        r = wt.wsusctl(down_conf, "approve", uid)
        wt.check(r.returncode == 0, "down: approve %s" % uid, r)
    r = wt.wsusctl(down_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 1, "down: the sync with updates gone upstream fails", r)
    msg = ('upstream %s no longer has %d files of 2 updates (DownloadFiles answered '
           'FileDigestsMissing: removed there, e.g. its product is no longer synchronized '
           'there): "%s" (%s), "%s" (%s); decline them here (wsusctl updates list --failed '
           'lists them, wsusctl decline ID), or add their product upstream and synchronize both '
           'servers' % (mid_url, len(gone_files), gone[0][1], gone[0][0], gone[1][1], gone[1][0]))
    h = wt.last_sync(down_conf)
    wt.check(h.get("error") == msg, "down: the history names exactly the gone updates by title "
             "and id with both remedies: %s" % msg, h.get("error"))
    detail = h.get("detail") or {}
    wt.check(detail.get("files_gone_upstream") == len(gone_files) and
             [u["update_id"] for u in detail.get("gone_updates", [])] == [gone[0][0], gone[1][0]],
             "down: --json history counts the gone files and lists the gone updates", detail)
    states = dict((s, (st, d)) for s, st, d in wt.sql(
        down_db, "SELECT encode(sha1, 'hex'), state, coalesce(state_detail, '') FROM file"))
    wt.check(all(states[f] == ("failed", GONE_DETAIL) for f in gone_files),
             "down: the Defender files are marked gone upstream")
    pend_files = files_of(down_db, pend[0][0])
    wt.check(pend_files and all(states[f] == ("absent", PENDING_DETAIL) for f in pend_files),
             "down: the Windows 11 files are still transient (asked for with DownloadFiles)",
             [states[f] for f in pend_files])

    # the red-X list: exactly these three, by title
    fl = failed_list(down_conf)
    want = sorted([(gone[0][1], gone[0][0], "gone", REMEDY_GONE),
                   (gone[1][1], gone[1][0], "gone", REMEDY_GONE),
                   (pend[0][1], pend[0][0], "pending", REMEDY_PENDING)])
    wt.check([(u["title"], u["update_id"], u["why"], u["remedy"]) for u in fl] == want,
             "updates list --failed --json: exactly the two gone and the pending update, with "
             "why and remedy", fl)
    wt.check(all({m["sha1"] for m in u["missing"]} ==
                 (files_of(down_db, u["update_id"])) for u in fl),
             "updates list --failed --json: each update lists exactly its missing files")
    r = wt.wsusctl(down_conf, "updates", "list", "--failed")
    wt.check(r.returncode == 0 and ("%s  gone  %s" % (gone[0][0], gone[0][1])) in r.stdout and
             ("  remedy: %s" % REMEDY_GONE) in r.stdout and
             ("%s  pending  %s" % (pend[0][0], pend[0][1])) in r.stdout and
             r.stdout.endswith("3 update(s) with missing files\n"),
             "updates list --failed (text): update, why, title, files, remedy", r)

    # the middle fetches the file it was asked for (a sync triggered by the downstream)
    done = wait_for(lambda: wt.sql_value(mid_db, "SELECT 1 FROM sync_history WHERE trigger = "
                                                 "'downstream' AND result = 'succeeded'"), 60)
    wt.check(bool(done), "middle: the DownloadFiles request triggers its own sync")

    # --- remedy 1: decline them here; the next sync is clean
    for uid, _ in gone:
        r = wt.wsusctl(down_conf, "decline", uid)
        wt.check(r.returncode == 0, "down: decline %s" % uid, r)
    sync_ok(down_conf, "down after the declines")
    h = wt.last_sync(down_conf)
    wt.check(h.get("result") == "succeeded" and h.get("error") is None,
             "down: the sync after the declines is clean (no error, no note)", h)
    wt.check(failed_list(down_conf) == [], "updates list --failed is empty")
    wt.check(wt.sql_value(down_db, "SELECT count(*) FROM file WHERE state = 'present'") ==
             str(len(pend_files)), "down: the Windows 11 files arrived")

    # --- remedy 2: add the product upstream again and synchronize both
    for k, v in (("products", WIN11 + "," + DEFENDER), ("download", "all")):
        r = wt.wsusctl(mid_conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "middle: config set %s" % k, r)
    sync_ok(mid_conf, "middle with Defender again")
    for verb in ("undecline", "approve"):
        r = wt.wsusctl(down_conf, verb, gone[0][0])
        wt.check(r.returncode == 0, "down: %s %s" % (verb, gone[0][0]), r)
    sync_ok(down_conf, "down after Defender is back upstream")
    h = wt.last_sync(down_conf)
    wt.check(h.get("error") is None, "down: that sync is clean too", h)
    present = {r[0] for r in wt.sql(down_db, "SELECT encode(sha1, 'hex') FROM file WHERE state "
                                             "= 'present'")}
    wt.check(files_of(down_db, gone[0][0]) <= present,
             "down: the files of the Defender update arrived once its product is back upstream")
    wt.check(failed_list(down_conf) == [], "updates list --failed is still empty")


def main():
    wt.run_servers(run)


if __name__ == "__main__":
    main()
