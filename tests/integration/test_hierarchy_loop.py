"""Loops in a hierarchy are refused before data moves (issue 10, item 6), with real wsusd
processes on 127.0.0.1.

self   a server whose upstream is its own port: the sync fails right after GetConfigData
       (no GetRevisionIdList), naming the server and its id, with the fix; it does not list
       itself among its downstream servers.
b <-> c two servers pointed at each other: the first sync of b passes (c has not synchronized
       yet, so it knows nothing above it); c's sync is refused naming c, b, c; b's next sync
       is refused naming b, c, b. Once c is made a root (no upstream), b's sync passes again.
The chain travels in the X-Wsusd-Hierarchy header of GetConfigData (common/hierarchy.h).
"""

import os

import wsustest as wt

FIX_SELF = ("point it at another server (wsusctl config set upstream http://HOST:8530), or "
            "make it a root (wsusctl config set upstream '')")
FIX_LOOP = ("a hierarchy must end at a root: clear the upstream of the top server (wsusctl "
            "config set upstream '') or point one of them at a server outside the loop")


def server(tmp, servers, dbs, name):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    db = wt.create_db("it_hierloop_" + name)
    dbs.append(db)
    conf = wt.write_config(d, db)
    srv = wt.Wsusd(conf).start()
    servers.append(srv)
    r = wt.wsusctl(conf, "config", "set", "account-name", name + ".test")
    wt.check(r.returncode == 0, "%s: config set account-name" % name, r)
    url = "http://127.0.0.1:%d" % srv.listen_port()
    sid = wt.sql_value(db, "SELECT value FROM setting WHERE key = 'server_id'")
    return conf, url, sid


def refused(conf, msg, what):
    r = wt.wsusctl(conf, "sync", "now", "--wait")
    wt.check(r.returncode == 1, "%s: sync now --wait exits 1" % what, r)
    h = wt.last_sync(conf)
    wt.check(h.get("result") == "failed" and h.get("error") == msg,
             "%s: the history says exactly: %s" % (what, msg), h)
    wt.check(msg in r.stdout + r.stderr, "%s: sync now --wait prints the reason" % what, r)
    calls = (h.get("detail") or {}).get("calls", {})
    wt.check(calls.get("GetConfigData") == 1 and calls.get("GetRevisionIdList") == 0 and
             calls.get("GetUpdateData") == 0,
             "%s: refused right after GetConfigData, nothing listed or fetched" % what, calls)


def run(tmp, servers, dbs):
    # --- a server pointed at itself
    a_conf, a_url, a_id = server(tmp, servers, dbs, "a")
    r = wt.wsusctl(a_conf, "config", "set", "upstream", a_url)
    wt.check(r.returncode == 0, "a: config set upstream (its own port)", r)
    refused(a_conf, "upstream %s is this server itself (a.test, server id %s): a server cannot "
            "synchronize from itself; nothing was synchronized: %s" % (a_url, a_id, FIX_SELF),
            "self")
    r = wt.wsusctl(a_conf, "--json", "downstreams")
    wt.check(r.returncode == 0 and a_id not in r.stdout,
             "a server pointed at itself does not list itself among its downstreams", r)

    # --- two servers pointed at each other
    b_conf, b_url, _ = server(tmp, servers, dbs, "b")
    c_conf, c_url, _ = server(tmp, servers, dbs, "c")
    wt.check(wt.wsusctl(b_conf, "config", "set", "upstream", c_url).returncode == 0,
             "b: upstream = c")
    wt.check(wt.wsusctl(c_conf, "config", "set", "upstream", b_url).returncode == 0,
             "c: upstream = b")
    r = wt.wsusctl(b_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "b's first sync passes: c has not synchronized, so it knows "
             "nothing above it", r)
    refused(c_conf, "synchronization loop: this server (c.test) synchronizes from b.test (%s), "
            "which synchronizes from c.test; nothing was synchronized: %s" % (b_url, FIX_LOOP),
            "loop, seen by c")
    refused(b_conf, "synchronization loop: this server (b.test) synchronizes from c.test (%s), "
            "which synchronizes from b.test; nothing was synchronized: %s" % (c_url, FIX_LOOP),
            "loop, seen by b")

    # --- fixed: c becomes a root
    wt.check(wt.wsusctl(c_conf, "config", "set", "upstream", "").returncode == 0,
             "c: no upstream (a root)")
    r = wt.wsusctl(b_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0 and wt.last_sync(b_conf).get("result") == "succeeded",
             "b synchronizes again once c is a root", r)


def main():
    wt.run_servers(run)


if __name__ == "__main__":
    main()
