"""Products, classifications and languages along a hierarchy (issue 10, items 3 and 4), with
real wsusd processes on 127.0.0.1.

root    imports generated updates of Windows 11 and Microsoft Defender Antivirus (Security
        Updates) with the real export's categories; a root offers whatever it holds.
middle  synchronizes from root, subscribed BY NAME to "windows 11" / "Security Updates".
down    synchronizes from middle.

Checks: names are accepted case-insensitively and stored as GUIDs; an unknown name and an
ambiguous one are refused with the candidates; `wsusctl products|classifications [--json]`
list the catalog's categories with what is selected; a downstream asking for a product its
upstream does not synchronize, or for a language it does not carry, is refused right after
GetConfigData (nothing listed or fetched) with a message naming them, and synchronizes once
that is fixed; `wsusctl approvals count` prints the same figure on a replica and its
upstream.
"""

import json
import os
import subprocess
import sys

import wsustest as wt

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")
WIN11 = "72e7624a-5b00-45d2-b92f-e561c0a6a160"
DEFENDER = "8c3fcc84-7410-4a95-8b89-a166a0190486"
SECURITY = "0fa1201d-4330-4fa8-8ae9-b877473b6441"
PRODUCT_KINDS = "('Product', 'ProductFamily', 'Company')"


def start(tmp, servers, dbs, name, settings=()):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    db = wt.create_db("it_hieroffer_" + name)
    dbs.append(db)
    conf = wt.write_config(d, db)
    srv = wt.Wsusd(conf).start()
    servers.append(srv)
    for k, v in settings:
        r = wt.wsusctl(conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "%s: config set %s %s" % (name, k, v), r)
    return conf, "http://127.0.0.1:%d" % srv.listen_port(), db


def refused(conf, msg, what):
    r = wt.wsusctl(conf, "sync", "now", "--wait")
    h = wt.last_sync(conf)
    wt.check(r.returncode == 1 and h.get("error") == msg, "%s: refused with exactly: %s" %
             (what, msg), h.get("error"))
    calls = (h.get("detail") or {}).get("calls", {})
    wt.check(calls.get("GetConfigData") == 1 and calls.get("GetRevisionIdList") == 0,
             "%s: refused right after GetConfigData, nothing listed" % what, calls)


def run(tmp, servers, dbs):
    pkg = os.path.join(tmp, "gen.cab")
    r = subprocess.run([sys.executable, GEN, "--seed", "3", "--updates", "10", "--include-export",
                        "--no-content", "--products", WIN11 + "," + DEFENDER,
                        "--classifications", SECURITY, "--out", pkg],
                       capture_output=True, text=True)
    wt.check(r.returncode == 0, "wsusgen", r)
    root_conf, root_url, root_db = start(tmp, servers, dbs, "root")
    r = wt.wsusctl(root_conf, "import", pkg)
    wt.check(r.returncode == 0, "root: import", r)

    # --- names instead of GUIDs (on the root's catalog)
    r = wt.wsusctl(root_conf, "config", "set", "products", "windows 11, Microsoft Defender Antivirus")
    wt.check(r.returncode == 0, "config set products by name (any case)", r)
    got = wt.sql_value(root_db, "SELECT value FROM setting WHERE key = 'products'")
    wt.check(got == WIN11 + "," + DEFENDER, "the names are stored as their GUIDs", got)
    r = wt.wsusctl(root_conf, "config", "set", "products", "Windows 99")
    similar = sorted(t for (t,) in wt.sql(root_db, """
        SELECT DISTINCT ON (update_id) title FROM revision WHERE update_type = 'Category'
           AND category_type IN %s ORDER BY update_id, revision_number DESC""" % PRODUCT_KINDS)
        if t.lower() in "windows 99" or "windows 99" in t.lower())
    want = ('wsusctl: products: no product is called "Windows 99"%s; wsusctl products lists '
            'them\n' % ("; similar: " + ", ".join('"%s"' % t for t in sorted(
                similar, key=str.lower)[:5]) if similar else ""))
    wt.check(r.returncode == 1 and r.stderr == want, "an unknown name is refused with similar "
             "names: %s" % want.strip(), r)
    dup = wt.sql(root_db, """
        SELECT title, string_agg(update_id::text, ', ' ORDER BY update_id) FROM (
          SELECT DISTINCT ON (update_id) update_id, title FROM revision
           WHERE update_type = 'Category' AND category_type IN %s
           ORDER BY update_id, revision_number DESC) c
         GROUP BY title HAVING count(*) > 1 ORDER BY title LIMIT 1""" % PRODUCT_KINDS)
    wt.check(len(dup) == 1, "the real export has two products of the same name", dup)
    if dup:
        title, ids = dup[0]
        r = wt.wsusctl(root_conf, "config", "set", "products", title.upper())
        want = ('wsusctl: products: "%s" is the name of %d products (%s); give the GUID\n' %
                (title.upper(), ids.count(",") + 1, ids))
        wt.check(r.returncode == 1 and r.stderr == want,
                 "an ambiguous name is refused with its ids: %s" % want.strip(), r)
    r = wt.wsusctl(root_conf, "config", "set", "classifications", "Windows 11")
    wt.check(r.returncode == 1 and 'no classification is called "Windows 11"' in r.stderr,
             "a product name is not a classification", r)
    r = wt.wsusctl(root_conf, "config", "reset", "products")
    wt.check(r.returncode == 0, "root: products back to everything", r)
    replica_counts(tmp, servers, dbs, root_conf, root_url, root_db)

    # --- the middle subscribes by name
    mid_conf, mid_url, mid_db = start(tmp, servers, dbs, "middle", [("upstream", root_url)])
    r = wt.wsusctl(mid_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "middle: first sync (categories, everything)", r)
    for k, v in (("products", "windows 11"), ("classifications", "security updates")):
        r = wt.wsusctl(mid_conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "middle: config set %s %s" % (k, v), r)
    r = wt.wsusctl(mid_conf, "--json", "products")
    j = json.loads(r.stdout) if r.returncode == 0 else {}
    sel = [c["id"] for c in j.get("categories", []) if c["selected"]]
    n = int(wt.sql_value(mid_db, "SELECT count(DISTINCT update_id) FROM revision WHERE "
                                 "update_type = 'Category' AND category_type IN " +
                         PRODUCT_KINDS))
    wt.check(sel == [WIN11] and len(j["categories"]) == n and j["all_selected"] is False,
             "products --json: every product of the catalog, Windows 11 selected", sel)
    r = wt.wsusctl(mid_conf, "products")
    wt.check(r.returncode == 0 and ("%-3s  %-36s  %-21s  %s\n" % ("*", WIN11, "Product", "Windows 11")) in
             r.stdout and r.stdout.endswith("%d products, 1 selected (wsusctl config set products "
                                            "\"NAME,NAME\" changes it)\n" % n),
             "products (text): the selected one is marked", r.stdout[-300:])
    r = wt.wsusctl(root_conf, "classifications")
    wt.check(r.returncode == 0 and "classifications is empty, so all are synchronized" in
             r.stdout, "classifications (text) on a server that selects everything", r)
    r = wt.wsusctl(mid_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "middle: sync of Windows 11 security updates", r)

    # --- a downstream asking for a product the middle does not synchronize
    down_conf, _, down_db = start(tmp, servers, dbs, "down", [("upstream", mid_url)])
    r = wt.wsusctl(down_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "down: first sync (everything the middle offers)", r)
    for k, v in (("products", "Windows 11,Microsoft Defender Antivirus"),
                 ("classifications", "Security Updates")):
        r = wt.wsusctl(down_conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "down: config set %s %s" % (k, v), r)
    refused(down_conf,
            'upstream %s does not synchronize the products "Microsoft Defender Antivirus" (%s) '
            'selected here (it synchronizes only "Windows 11" (%s)); nothing was synchronized: '
            'add them to products on the upstream and synchronize it, or remove them here '
            '(wsusctl config set products ...)' % (mid_url, DEFENDER, WIN11),
            "a product not offered upstream")
    health_line(down_conf, "FAIL  products and classifications offered upstream: upstream %s does "
                "not synchronize the products \"Microsoft Defender Antivirus\" (%s) selected "
                "here (it synchronizes only \"Windows 11\" (%s))" % (mid_url, DEFENDER, WIN11),
                "      fix: add them to products on the upstream and synchronize it, or remove "
                "them here (wsusctl config set products ...)", 1)
    r = wt.wsusctl(down_conf, "config", "set", "products", "Windows 11")
    wt.check(r.returncode == 0, "down: products = Windows 11 only", r)
    health_line(down_conf, "PASS  products and classifications offered upstream: upstream %s "
                "synchronizes every product and classification selected here" % mid_url)
    r = wt.wsusctl(down_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "down: synchronizes once it asks only for what is offered", r)

    # --- a language the middle does not carry: refused when set, and by the sync
    lang_msg = ("languages enabled here are not carried by upstream %s: de (it carries en)" %
                mid_url)
    lang_fix = ("enable them on the upstream first (wsusctl config set languages ... there) and "
                "synchronize it, or enable only languages it carries here (wsusctl config set "
                "languages en)")
    r = wt.wsusctl(down_conf, "config", "set", "languages", "en,de")
    want = "wsusctl: languages: %s; %s\n" % (lang_msg, lang_fix)
    wt.check(r.returncode == 1 and r.stderr == want,
             "down: config set languages en,de is refused with the upstream's list: %s" %
             want.strip(), r)
    # set behind wsusd's back (an older wsusd, a restored database): the sync refuses
    wt.sql(down_db, "UPDATE language SET enabled = short_name IN ('en', 'de')")
    refused(down_conf, "%s; nothing was synchronized: %s" % (lang_msg, lang_fix),
            "a language not carried upstream")
    health_line(down_conf, "FAIL  languages offered upstream: " + lang_msg,
                "      fix: " + lang_fix, 1)
    # the middle may carry de once its own upstream does
    r = wt.wsusctl(root_conf, "config", "set", "languages", "en,de")
    wt.check(r.returncode == 0, "root: languages en,de", r)
    wt.check(wt.wsusctl(mid_conf, "sync", "now", "--wait").returncode == 0,
             "middle: sync (learns that root carries de)")
    r = wt.wsusctl(mid_conf, "config", "set", "languages", "en,de")
    wt.check(r.returncode == 0, "middle: languages en,de", r)
    r = wt.wsusctl(down_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "down: synchronizes once the middle carries de", r)


def health_line(conf, line, fix=None, rc=None):
    """wsusctl checkhealth prints line (and the fix line right under it)."""
    r = wt.wsusctl(conf, "checkhealth")
    out = r.stdout.split("\n")
    ok = line in out and (fix is None or out[out.index(line) + 1] == fix) and \
        (rc is None or r.returncode == rc)
    wt.check(ok, "checkhealth prints: %s%s" % (line, " / " + fix if fix else ""), r)


def approvals_count(conf, what):
    r = wt.wsusctl(conf, "approvals", "count")
    wt.check(r.returncode == 0 and r.stdout.strip().isdigit(), "%s: approvals count" % what, r)
    return int(r.stdout) if r.returncode == 0 and r.stdout.strip().isdigit() else -1


def replica_counts(tmp, servers, dbs, root_conf, root_url, root_db):
    """approvals count: the same figure on a replica and its upstream once consistent."""
    ids = [u for (u,) in wt.sql(root_db, "SELECT update_id FROM revision WHERE update_type = "
                                         "'Software' AND explicitly_deployable ORDER BY title, "
                                         "update_id LIMIT 3")]
    for u in ids:
        r = wt.wsusctl(root_conf, "approve", u)
        wt.check(r.returncode == 0, "root: approve %s" % u, r)
    wt.check(approvals_count(root_conf, "root") == 3, "root: 3 active approvals")
    rep_conf, _, _ = start(tmp, servers, dbs, "replica", [("upstream", root_url),
                                                          ("mode", "replica")])
    wt.check(approvals_count(rep_conf, "replica before its sync") == 0, "replica: none yet")
    r = wt.wsusctl(rep_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "replica: sync", r)
    wt.check(approvals_count(rep_conf, "replica") == 3, "replica: the same 3 approvals")
    r = wt.wsusctl(root_conf, "unapprove", ids[0])
    wt.check(r.returncode == 0, "root: unapprove one", r)
    wt.check(wt.wsusctl(rep_conf, "sync", "now", "--wait").returncode == 0, "replica: sync again")
    wt.check(approvals_count(root_conf, "root") == 2 and approvals_count(rep_conf, "replica") == 2,
             "root and replica: 2 active approvals after an unapproval upstream")


def main():
    wt.run_servers(run)


if __name__ == "__main__":
    main()
