"""/metrics on the admin listener (issue 15): a real root and a real downstream on 127.0.0.1,
the downstream downloading the root's content at a capped rate so a scrape lands in the middle
of its sync.

Checks: the scrape taken during the sync and the one after it pass `promtool check metrics`;
the counters move as the sync does (downloaded bytes grow during the sync and end at what the
history row says; the root's served bytes and ServerSync requests grow; the runs by result, the
last sync time and duration, revisions, files and the downstream's last contact are there);
without a token the answer is 401; a separate scrape token ([admin] metrics_token_file) reads
/metrics and nothing else.
"""

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import wsustest as wt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sync as ts  # noqa: E402  (gen, setup_server)


def admin_url(conf):
    with open(conf) as f:
        ports = [l.split("=", 1)[1].strip() for l in f if l.split("=")[0].strip() == "listen"]
    return "http://" + ports[1]


def token(conf):
    with open(os.path.join(os.path.dirname(conf), "state", "admin.token")) as f:
        return f.read().strip()


def get(url, tok=None):
    req = urllib.request.Request(url)
    if tok:
        req.add_header("Authorization", "Bearer " + tok)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def scrape(conf, tok=None):
    st, hdrs, text = get(admin_url(conf) + "/metrics", tok or token(conf))
    wt.check(st == 200, "GET /metrics answers 200 (got %d: %s)" % (st, text[:300]))
    return text


def value(text, series):
    """The value of one series line ('name{labels}' exactly as printed), or None."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def promtool(text, what):
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    wt.check(r.returncode == 0, "promtool check metrics passes on the %s scrape" % what, r)


def sync_status(conf):
    r = wt.wsusctl(conf, "sync", "status", "--json")
    return json.loads(r.stdout) if r.returncode == 0 else {}


def run(tmp, servers, dbs):
    pkg, pkg_content = ts.gen(tmp, "base")
    root_dir, root_db, root_conf, root = ts.setup_server(tmp, "root")
    servers.append(root)
    dbs.append(root_db)
    r = wt.wsusctl(root_conf, "import", pkg, "--content", pkg_content)
    wt.check(r.returncode == 0, "root: import", r)
    root_url = "http://127.0.0.1:%d" % root.listen_port()
    before_root = scrape(root_conf)
    promtool(before_root, "root's first")
    served0 = value(before_root, "wsusd_content_served_bytes_total")
    wt.check(served0 == 0, "the root has served no content yet (%r)" % served0)

    down_dir, down_db, down_conf, down = ts.setup_server(
        tmp, "down", root_url, [("download", "all"), ("download-max-rate", "1000000")])
    servers.append(down)
    dbs.append(down_db)

    st, _, text = get(admin_url(down_conf) + "/metrics")
    wt.check(st == 401 and "missing or wrong admin token" in text,
             "/metrics without a token is 401 (%d %s)" % (st, text))

    r = wt.wsusctl(down_conf, "sync", "now")
    wt.check(r.returncode == 0, "down: sync now", r)
    # scrape in a loop (bounded: only stops a hung test) until one lands while the sync runs
    # and content bytes have arrived
    end, during, scrapes = time.time() + 90, None, 0
    while time.time() < end:
        text = scrape(down_conf)
        scrapes += 1
        running = value(text, "wsusd_sync_running")
        if running == 1 and (value(text, "wsusd_content_downloaded_bytes_total") or 0) > 0:
            during = text
            break
        if running == 0 and value(text, 'wsusd_sync_runs_total{result="succeeded"}') == 1:
            break  # finished before a scrape saw its download
        time.sleep(0.02)
    wt.check(during is not None, "a scrape was taken while the downstream downloaded content "
             "(%d scrapes)" % scrapes)
    if during is None:
        return
    promtool(during, "mid-sync")
    wt.check(value(during, "wsusd_sync_running") == 1, "mid-sync: wsusd_sync_running 1")
    mid_bytes = value(during, "wsusd_content_downloaded_bytes_total")
    wt.check(mid_bytes is not None and mid_bytes > 0, "mid-sync: downloaded bytes > 0 (%r)" % mid_bytes)

    end = time.time() + 120
    while time.time() < end and sync_status(down_conf).get("running"):
        time.sleep(0.2)
    last = sync_status(down_conf).get("last") or {}
    wt.check(last.get("result") == "succeeded", "down: the sync succeeded: %r" % last)
    after = scrape(down_conf)
    promtool(after, "downstream's after-sync")
    end_bytes = value(after, "wsusd_content_downloaded_bytes_total")
    wt.check(end_bytes == last.get("bytes") and end_bytes > mid_bytes,
             "downloaded bytes end at the history row's %r (got %r, mid-sync %r)" % (
                 last.get("bytes"), end_bytes, mid_bytes))
    wt.check(value(after, 'wsusd_sync_runs_total{result="succeeded"}') == 1 and
             value(after, 'wsusd_sync_runs_total{result="failed"}') == 0 and
             value(after, "wsusd_sync_running") == 0, "runs by result: one succeeded")
    fin = wt.sql_value(down_db, "SELECT extract(epoch FROM finished_at)::bigint FROM sync_history")
    wt.check(value(after, "wsusd_sync_last_success_timestamp_seconds") == float(fin) and
             value(after, "wsusd_sync_last_finished_timestamp_seconds") == float(fin),
             "last sync time is the history row's finish time (%s)" % fin)
    wt.check(value(after, "wsusd_sync_last_duration_seconds") is not None,
             "the last duration is there")
    revs = wt.sql_value(down_db, "SELECT count(*) FROM revision")
    wt.check(value(after, "wsusd_revisions") == float(revs), "wsusd_revisions is %s" % revs)
    present = wt.sql_value(down_db, "SELECT count(*) FROM file WHERE state = 'present'")
    wt.check(value(after, 'wsusd_files{state="present"}') == float(present) and int(present) > 0,
             "files held: %s present" % present)
    wt.check(value(after, 'wsusd_db_pool_connections{state="busy"}') >= 1,
             "the scrape's own database connection is counted busy")
    wt.check(value(after, 'wsusd_http_connections{listener="admin"}') >= 1,
             "the scrape's connection is counted on the admin listener")

    after_root = scrape(root_conf)
    promtool(after_root, "root's after-sync")
    served = value(after_root, "wsusd_content_served_bytes_total")
    wt.check(served is not None and served >= end_bytes,
             "the root served at least the bytes the downstream downloaded (%r >= %r)" % (
                 served, end_bytes))
    ss0 = value(before_root, 'wsusd_http_requests_total{service="serversync",status="200"}') or 0
    ss1 = value(after_root, 'wsusd_http_requests_total{service="serversync",status="200"}') or 0
    wt.check(ss1 > ss0, "the root's ServerSync 200 answers grew (%r -> %r)" % (ss0, ss1))
    c1 = value(after_root, 'wsusd_http_requests_total{service="content",status="200"}') or 0
    wt.check(c1 > 0, "the root counted content answers (%r)" % c1)
    wt.check(value(after_root, 'wsusd_downstream_servers{state="synchronized"}') == 1,
             "the root knows one downstream that synchronized")
    guid = wt.sql_value(root_db, "SELECT account_guid FROM downstream_server")
    name = wt.sql_value(root_db, "SELECT account_name FROM downstream_server")
    contact = wt.sql_value(root_db, "SELECT extract(epoch FROM last_contact)::bigint FROM "
                                    "downstream_server")
    series = 'wsusd_downstream_last_contact_timestamp_seconds{account_guid="%s",account_name="%s"}' % (
        guid, name)
    wt.check(value(after_root, series) == float(contact),
             "the downstream's last contact is exported: %s" % series)

    # a SOAP fault is counted by its code (an operation the service does not have)
    f0 = value(after_root, 'wsusd_soap_faults_total{code="InvalidParameters"}') or 0
    body = ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap='
            '"http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><NoSuchOperation xmlns='
            '"http://www.microsoft.com/SoftwareDistribution/Server/ServerSyncWebService">'
            '<cookie><Expiration>2099-01-01T00:00:00Z</Expiration><EncryptedData>AAAA'
            '</EncryptedData></cookie><filter><GetConfig>true</GetConfig></filter>'
            '</NoSuchOperation></soap:Body></soap:Envelope>')
    req = urllib.request.Request(root_url + "/ServerSyncWebService/ServerSyncWebService.asmx",
                                 data=body.encode(), headers={"Content-Type": "text/xml"})
    try:
        urllib.request.urlopen(req, timeout=30).read()
    except urllib.error.HTTPError as e:
        e.read()
    f1 = value(scrape(root_conf), 'wsusd_soap_faults_total{code="InvalidParameters"}') or 0
    wt.check(f1 == f0 + 1, "an unknown operation is counted as one InvalidParameters fault "
             "(%r -> %r)" % (f0, f1))

    # a separate scrape token: /metrics only
    mt = os.path.join(down_dir, "metrics.token")
    with open(mt, "w") as f:
        f.write("ab" * 32 + "\n")
    os.chmod(mt, 0o600)
    down.stop()
    with open(down_conf, "a") as f:
        f.write("\n[admin]\nmetrics_token_file = %s\n" % mt)
    down.start()
    promtool(scrape(down_conf, "ab" * 32), "scrape token's")
    st, _, text = get(admin_url(down_conf) + "/api/v1/status", "ab" * 32)
    wt.check(st == 401, "the scrape token cannot call the admin API (%d)" % st)


if __name__ == "__main__":
    wt.run_servers(run)
