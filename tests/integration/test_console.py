"""The web console (issue 15) in headless Chromium (Debian's chromium, chromium-driver,
python3-selenium) against a real two-server hierarchy on 127.0.0.1: a root holding the real
export and a downstream synchronizing from it.

The browser logs in to the root's console (a wrong token first: the exact message), sees the
overview, finds an update by search, approves it for a group through the dry-run confirmation;
logs in to the downstream's console, presses "Synchronize now" and watches the progress finish;
finds the downstream in the root's tree of downstream servers; opens the history and options
pages. wsusctl is asked the same things and must agree. Also: a state-changing call with the
session cookie but without X-CSRF-Token is refused (403, exact message); the console's pages
carry the Content-Security-Policy; an update title holding <script> is shown as text and never
runs; the proxy password is shown as set, never as its value. Screenshots of every page go to
$WSUS_BUILD_DIR/artifacts/console/.
"""

import http.cookiejar as cookiejar
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import sys

import wsustest as wt

sys.path.insert(0, os.path.join(wt.SRC, "tests", "tools"))
import wuclient  # noqa: E402

# Debian's python3-selenium lives with the system Python; the python3 running ctest may be
# another one (pyenv)
if "/usr/lib/python3/dist-packages" not in sys.path:
    sys.path.append("/usr/lib/python3/dist-packages")
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # scripts/install-deps.sh installs python3-selenium
    webdriver = None

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")
ART = os.path.join(os.environ.get("WSUS_BUILD_DIR", os.path.join(wt.SRC, "build")), "artifacts",
                   "console")
WAIT = 60  # generous: only catches a hang (chromium on a loaded machine)
EVIL = "<script>window.pwned=1</script> Evil title <b>bold</b>"


def admin_url(conf):
    with open(conf) as f:
        ports = [l.split("=", 1)[1].strip() for l in f if l.split("=")[0].strip() == "listen"]
    return "http://" + ports[1]


def token(conf):
    with open(os.path.join(os.path.dirname(conf), "state", "admin.token")) as f:
        return f.read().strip()


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1366,900"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    d.set_page_load_timeout(WAIT)
    return d


def wait_text(d, css, pred, what):
    """Wait (bounded) until the element at css exists and pred(its text); returns the text."""
    last = [None]

    def ok(drv):
        try:
            last[0] = drv.find_element(By.CSS_SELECTOR, css).text
        except Exception:
            return False
        return pred(last[0])
    try:
        WebDriverWait(d, WAIT, poll_frequency=0.2).until(ok)
    except Exception:
        wt.check(False, "%s (last text of %s: %r)" % (what, css, last[0]))
        return last[0]
    wt.check(True, what)
    return last[0]


T0 = time.time()


def shot(d, name):
    print("screenshot %s at %.1f s" % (name, time.time() - T0))
    os.makedirs(ART, exist_ok=True)
    d.save_screenshot(os.path.join(ART, name + ".png"))


def login(d, conf):
    d.get(admin_url(conf) + "/console/")
    WebDriverWait(d, WAIT).until(EC.visibility_of_element_located((By.ID, "login-token")))
    d.find_element(By.ID, "login-token").send_keys("0" * 64)
    d.find_element(By.ID, "login-submit").click()
    wait_text(d, "#login-error", lambda t: t != "", "a wrong token is refused on the login page")
    wt.check(d.find_element(By.ID, "login-error").text ==
             "wrong admin token; it is the 64 hex digits in the file [admin] token_file names "
             "on the server (default /var/lib/wsusd/admin.token)",
             "the login page says what the token is: %r" % d.find_element(By.ID, "login-error").text)
    box = d.find_element(By.ID, "login-token")
    box.clear()
    box.send_keys(token(conf))
    d.find_element(By.ID, "login-submit").click()
    WebDriverWait(d, WAIT).until(EC.visibility_of_element_located((By.ID, "nav")))


def http(url, data=None, headers=None, opener=None):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with (opener or urllib.request.build_opener()).open(req, timeout=30) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def check_headers_and_csrf(conf):
    base = admin_url(conf)
    st, h, body = http(base + "/console/")
    csp = h.get("Content-Security-Policy", "")
    wt.check(st == 200 and "script-src 'self'" in csp and "default-src 'none'" in csp and
             "unsafe-inline" not in csp, "the console page carries a strict CSP: %r" % csp)
    wt.check("<script>" not in body.replace('<script type="module" src="js/app.js"></script>', ""),
             "index.html has no inline script")
    st, _, _ = http(base + "/console/../admin.token")
    wt.check(st == 404, "no file outside the console directory (%d)" % st)
    cj = cookiejar.CookieJar()
    op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cj))
    st, h, body = http(base + "/console/login", json.dumps({"token": token(conf)}).encode(),
                       {"Content-Type": "application/json"}, op)
    cookie = h.get("Set-Cookie", "")
    wt.check(st == 200 and "HttpOnly" in cookie and "SameSite=Strict" in cookie,
             "login sets an HttpOnly SameSite=Strict cookie: %r" % cookie)
    csrf = json.loads(body)["csrf"]
    st, _, body = http(base + "/api/v1/groups/add", json.dumps({"name": "CSRF victim"}).encode(),
                       {"Content-Type": "application/json"}, op)
    wt.check(st == 403 and json.loads(body)["error"] ==
             "missing or wrong X-CSRF-Token header for this console session; the console page "
             "sends it: reload the page (scripts use the bearer token instead)",
             "a POST with the session cookie but no X-CSRF-Token is refused: %d %s" % (st, body))
    r = wt.wsusctl(conf, "groups")
    wt.check("CSRF victim" not in r.stdout, "the refused call changed nothing", r)
    st, _, body = http(base + "/api/v1/groups", None, {}, op)
    wt.check(st == 200, "a GET with the session cookie needs no CSRF token (%d)" % st)
    st, _, body = http(base + "/console/logout", b"{}", {"X-CSRF-Token": csrf}, op)
    wt.check(st == 200, "logout (%d %s)" % (st, body))
    st, _, body = http(base + "/api/v1/groups", None, {}, op)
    wt.check(st == 401, "after logout the cookie is worth nothing (%d)" % st)


def check_computers(d, root, root_conf):
    """A Windows computer registers (the emulated client); the Computers page shows it, the
    compliance picture counts it, and "Move" puts it in Pilot, as wsusctl then says."""
    c = wuclient.WuClient("http://127.0.0.1:%d" % root.listen_port(),
                          wuclient.Machine(client_id="6f0c7a52-1d6e-4c3b-9a51-0c2d3e4f5a6b",
                                           computer_name="pc-console.example.org"))
    c.get_config()
    c.authorize()
    c.register_computer()
    d.get(admin_url(root_conf) + "/console/#computers")
    wait_text(d, "#computers", lambda t: "pc-console.example.org" in t,
              "the Computers page lists the registered computer")
    wait_text(d, "#groups-table", lambda t: "Pilot" in t, "the groups are listed")
    r = wt.wsusctl(root_conf, "--json", "report")
    rep = json.loads(r.stdout) if r.returncode == 0 else {}
    wt.check(rep.get("computers") == 1, "wsusctl report: one computer", r)
    txt = wait_text(d, "#page", lambda t: "Compliance per group" in t and
                    "1 computer(s)" in t, "the compliance picture has a bar per group") or ""
    bars = d.find_elements(By.CSS_SELECTOR, "#compliance g.compliance-row")
    wt.check(sorted(b.get_attribute("data-group") for b in bars) ==
             sorted(g["name"] for g in json.loads(wt.wsusctl(root_conf, "--json", "groups").stdout)
                    ["groups"] if g["name"] != "Downstream Servers"),
             "one compliance bar per computer group")
    wt.check("1 computer(s), %d not reporting" % rep.get("not_reporting", -1) in txt,
             "the All Computers bar counts the computer as wsusctl report does: %r" % txt)
    row = d.find_element(By.CSS_SELECTOR, "#computers tr[data-id]")
    Select(row.find_element(By.CSS_SELECTOR, "select.move-group")).select_by_visible_text("Pilot")
    row.find_element(By.CSS_SELECTOR, "button.move").click()
    wait_text(d, "#computers-msg", lambda t: t.startswith("Moved pc-console.example.org to Pilot"),
              "the console moves the computer to Pilot")
    r = wt.wsusctl(root_conf, "--json", "computers", "--group", "Pilot")
    names = [x["name"] for x in json.loads(r.stdout).get("computers", [])] if r.returncode == 0 \
        else []
    wt.check(names == ["pc-console.example.org"], "wsusctl: the computer is in Pilot", r)
    wait_text(d, "#computers", lambda t: "Pilot" in t, "the table shows the new group")
    # the page is one server-side page (GET computers?limit=50): its line and buttons
    wait_text(d, "#comp-count", lambda t: t == "Computers 1 to 1 of 1",
              "the Computers page says which page of how many it shows")
    wt.check(not d.find_element(By.ID, "comp-prev").is_enabled() and
             not d.find_element(By.ID, "comp-next").is_enabled(),
             "one page: Previous and Next are disabled")
    Select(d.find_element(By.ID, "comp-group")).select_by_visible_text("Unassigned Computers")
    wait_text(d, "#comp-count", lambda t: t == "No computer.",
              "the group filter asks the server for that group's page (none left unassigned)")
    Select(d.find_element(By.ID, "comp-group")).select_by_visible_text("All computers")
    wait_text(d, "#computers", lambda t: "pc-console.example.org" in t, "all computers again")

    def pilot_bar(drv):
        g = drv.find_elements(By.CSS_SELECTOR, "#compliance g.compliance-row[data-group='Pilot']")
        return g and "1 computer(s)" in g[0].get_attribute("textContent")
    try:
        WebDriverWait(d, WAIT, poll_frequency=0.2).until(pilot_bar)
        wt.check(True, "the Pilot bar counts the moved computer")
    except Exception:
        wt.check(False, "the Pilot bar counts the moved computer")
    shot(d, "computers")


def check_red_x(d, root_db, root_conf):
    """A file that failed to download: the Updates page marks its update with the red X and,
    filtered to missing files, shows the reason and the fix wsusctl updates list --failed
    prints."""
    sha1 = wt.sql(root_db, "SELECT encode(f.sha1, 'hex'), r.update_id FROM file f "
                                "JOIN revision_file rf ON rf.sha1 = f.sha1 "
                                "JOIN revision r ON r.id = rf.revision_id "
                                "WHERE r.update_type = 'Software' ORDER BY 2, 1 LIMIT 1")[0][0]
    wt.sql(root_db, "UPDATE file SET state = 'failed', state_detail = 'HTTP 404 from the "
                    "upstream' WHERE sha1 = decode(:'p1', 'hex')", sha1)
    r = wt.wsusctl(root_conf, "updates", "list", "--failed")
    wt.check(r.returncode == 0 and sha1 in r.stdout and "remedy: see the reason; wsusctl sync "
             "now tries again" in r.stdout, "wsusctl lists the update with the failed file", r)
    d.get(admin_url(root_conf) + "/console/#updates")
    wait_text(d, "#upd-count", lambda t: t.startswith("Updates 1 to"), "the Updates page is loaded")
    wt.check(len(d.find_elements(By.CSS_SELECTOR, "#upd-table tr.redx-row .redx")) ==
             r.stdout.count("remedy:"), "the list marks the update with missing files (red X)")
    WebDriverWait(d, WAIT).until(EC.element_to_be_clickable((By.ID, "upd-failed"))).click()
    d.find_element(By.ID, "upd-go").click()
    txt = wait_text(d, "#upd-failed-table", lambda t: "HTTP 404 from the upstream" in t,
                    "the red-X list shows the failed file with its reason")
    wt.check("failed" in txt and "see the reason; wsusctl sync now tries again" in txt and
             sha1 in txt, "the red-X row has the reason and the fix wsusctl prints: %r" % txt)
    wt.check(len(d.find_elements(By.CSS_SELECTOR, "#upd-failed-table tr.redx-row")) ==
             r.stdout.count("remedy:"), "as many red-X rows as wsusctl lists")
    wt.check(not d.find_elements(By.ID, "upd-table"), "only the red-X list is shown")
    shot(d, "updates-red-x")


def run(tmp, servers, dbs):
    if webdriver is None:
        wt.check(False, "python3-selenium is installed (scripts/install-deps.sh)")
        return
    os.makedirs(os.path.join(tmp, "root"))
    root_db = wt.create_db("it_console_root")
    dbs.append(root_db)
    extra = "[admin]\nconsole_dir = %s\n" % os.path.join(wt.SRC, "console")
    root_conf = wt.write_config(os.path.join(tmp, "root"), root_db, extra=extra)
    pkg = os.path.join(tmp, "gen.cab")
    r = subprocess.run([sys.executable, GEN, "--seed", "15", "--updates", "30", "--include-export",
                        "--no-content", "--out", pkg], capture_output=True, text=True)
    wt.check(r.returncode == 0, "wsusgen", r)
    r = wt.wsusctl(root_conf, "import", pkg)
    wt.check(r.returncode == 0, "root: import of the real export and generated updates", r)
    # one title an attacker upstream could have written
    evil_id = wt.sql_value(root_db, "SELECT update_id FROM revision WHERE update_type = "
                                    "'Software' AND explicitly_deployable ORDER BY update_id "
                                    "LIMIT 1")
    wt.sql(root_db, "UPDATE revision SET title = :'p1' WHERE update_id = :'p2'", EVIL, evil_id)
    root = wt.Wsusd(root_conf).start()
    servers.append(root)
    r = wt.wsusctl(root_conf, "groups", "add", "Pilot")
    wt.check(r.returncode == 0, "root: groups add Pilot", r)
    r = wt.wsusctl(root_conf, "config", "set", "proxy-password", "s3cret-Pa55")
    wt.check(r.returncode == 0, "root: a proxy password is set", r)

    os.makedirs(os.path.join(tmp, "down"))
    down_db = wt.create_db("it_console_down")
    dbs.append(down_db)
    down_conf = wt.write_config(os.path.join(tmp, "down"), down_db, extra=extra)
    down = wt.Wsusd(down_conf).start()
    servers.append(down)
    for k, v in (("upstream", "http://127.0.0.1:%d" % root.listen_port()), ("download", "none")):
        r = wt.wsusctl(down_conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "down: config set %s" % k, r)

    check_headers_and_csrf(root_conf)

    # pick an update to approve: the first software update with a KB, by wsusctl
    r = wt.wsusctl(root_conf, "--json", "updates", "list", "--not-approved", "--limit", "200")
    cands = [u for u in json.loads(r.stdout)["updates"] if u["kb"] and u["update_id"] != evil_id]
    wt.check(len(cands) > 0, "the root has updates to approve", r)
    target = cands[0]

    d = browser()
    try:
        # --- root: log in, overview
        login(d, root_conf)
        wait_text(d, "#sync-state", lambda t: t == "Idle", "the overview shows the sync state")
        wait_text(d, "#sync-last", lambda t: t == "Never synchronized.", "a root never synchronized")
        wait_text(d, "#sync-schedule", lambda t: "Next synchronization" in t and
                  "Next reporting rollup" not in t, "a root shows no next reporting rollup")
        wait_text(d, "#disk", lambda t: "Directory" in t and "free" in t, "the overview shows the disk use")
        # the root's checkhealth lines (GET health), the same as wsusctl checkhealth prints
        wait_text(d, "#health", lambda t: "PASS database: reachable, schema" in t and
                  "SKIP upstream name: this server is a root (no upstream)" in t,
                  "the overview shows the health checks")
        shot(d, "overview")

        # --- updates: the evil title is text, search finds the target, approve it for Pilot
        d.get(admin_url(root_conf) + "/console/#updates")
        wait_text(d, "#upd-count", lambda t: t.startswith("Updates 1 to "), "the updates page lists updates")
        box = d.find_element(By.ID, "upd-search")
        box.send_keys("Evil title")
        d.find_element(By.ID, "upd-go").click()
        wait_text(d, "#upd-count", lambda t: t == "Updates 1 to 1 of 1", "the search finds the evil title")
        cell = d.find_element(By.CSS_SELECTOR, "#upd-table a.upd-title")
        wt.check(cell.text == EVIL, "a title holding <script> is shown as text: %r" % cell.text)
        wt.check(d.execute_script("return window.pwned === undefined") and
                 not d.find_elements(By.CSS_SELECTOR, "#upd-table script, #upd-table b"),
                 "the title's script never ran and made no element")
        box.clear()
        box.send_keys("KB" + target["kb"])
        d.find_element(By.ID, "upd-go").click()
        wait_text(d, "#upd-table", lambda t: target["title"] in t, "the search by KB finds the update")
        n_rows = len(d.find_elements(By.CSS_SELECTOR, "#upd-table tbody tr"))
        d.find_element(By.CSS_SELECTOR, '#upd-table a.upd-title[data-id="%s"]' % target["update_id"]).click()
        wait_text(d, "#upd-detail-title", lambda t: t == target["title"], "the details show the update")
        d.find_element(By.CSS_SELECTOR, 'input.upd-pick[data-id="%s"]' % target["update_id"]).click()
        Select(d.find_element(By.ID, "upd-group")).select_by_visible_text("Pilot")
        d.find_element(By.ID, "upd-approve").click()
        wait_text(d, "#upd-dialog-msg", lambda t: t == "Approve 1 update(s) for Pilot?",
                  "approving asks for confirmation with the dry run's count")
        shot(d, "updates")
        r = wt.wsusctl(root_conf, "--json", "updates", "show", target["update_id"])
        wt.check(json.loads(r.stdout)["update"]["approvals"] == [],
                 "nothing is approved before the confirmation", r)
        d.find_element(By.ID, "upd-confirm").click()
        wait_text(d, "#upd-dialog-msg", lambda t: t == "Approved 1 update(s) for install in Pilot.",
                  "the console says what was approved")
        r = wt.wsusctl(root_conf, "--json", "updates", "show", target["update_id"])
        appr = json.loads(r.stdout)["update"]["approvals"]
        wt.check([(a["group"], a["action"], a["admin"]) for a in appr] ==
                 [("Pilot", "install", "web console")],
                 "wsusctl agrees: approved for install in Pilot: %r" % appr)
        wt.check(n_rows >= 1, "the KB search listed %d row(s)" % n_rows)

        # --- options: the proxy password is set, never shown
        d.get(admin_url(root_conf) + "/console/#settings")
        pw = WebDriverWait(d, WAIT).until(EC.presence_of_element_located((By.ID, "set-proxy-password")))
        wt.check(pw.get_attribute("value") == "" and pw.get_attribute("placeholder") ==
                 "set (type to replace)", "the proxy password shows as set, not its value")
        wt.check("s3cret-Pa55" not in d.page_source, "the password is nowhere in the page")
        sched = d.find_element(By.ID, "set-schedule")
        sched.clear()
        sched.send_keys("4/day from 25:00")
        d.find_element(By.CSS_SELECTOR, "#form-schedule button[type=submit]").click()
        r = wt.wsusctl(root_conf, "config", "set", "schedule", "4/day from 25:00")
        wait_text(d, "#set-msg-schedule", lambda t: t == r.stderr.strip().replace("wsusctl: ", "", 1),
                  "a bad schedule shows the server's own message (as wsusctl prints it: %r)" %
                  r.stderr.strip())
        sched.clear()
        sched.send_keys("4/day from 3:00")
        d.find_element(By.CSS_SELECTOR, "#form-schedule button[type=submit]").click()
        wait_text(d, "#set-msg-schedule", lambda t: t == "saved: 4/day from 03:00",
                  "the schedule is saved in its normalized form")
        r = wt.wsusctl(root_conf, "config", "get", "schedule")
        wt.check(r.stdout.strip() == "4/day from 03:00", "wsusctl agrees on the schedule", r)
        shot(d, "options")

        # --- downstream: log in, Synchronize now, watch it finish
        login(d, down_conf)
        wait_text(d, "#sync-last", lambda t: t == "Never synchronized.", "the downstream never synchronized")
        d.find_element(By.ID, "sync-now").click()
        wait_text(d, "#sync-message", lambda t: t.startswith("Synchronization ") and t.endswith(" started."),
                  "Synchronize now starts a synchronization")
        wait_text(d, "#sync-last-result", lambda t: t.startswith("Last synchronization: succeeded at "),
                  "the progress finishes with success")
        wait_text(d, "#sync-state", lambda t: t == "Idle", "the downstream is idle again")
        saw = d.find_element(By.ID, "page").get_attribute("data-saw-running")
        wt.check(saw == "1", "the overview showed synchronization 1 running (%r)" % saw)
        # the next reporting rollup, next to the next sync (rollup on, an upstream, 24 hours)
        r = wt.wsusctl(down_conf, "--json", "sync", "status")
        nxt = json.loads(r.stdout).get("next_rollup") if r.returncode == 0 else None
        wt.check(nxt is not None, "wsusctl sync status: the downstream has a next rollup", r)
        wait_text(d, "#sync-schedule", lambda t: "Next synchronization" in t and
                  "Next reporting rollup" in t, "the downstream shows its next reporting rollup")
        dd = d.find_elements(By.XPATH, "//dl[@id='sync-schedule']/dt[text()='Next reporting "
                             "rollup']/following-sibling::dd[1]")
        wt.check(len(dd) == 1 and dd[0].text not in ("", "none"),
                 "the next reporting rollup has a time (%r)" % [x.text for x in dd])
        shot(d, "overview-downstream")
        r = wt.wsusctl(down_conf, "--json", "sync", "history")
        h = json.loads(r.stdout)
        wt.check(len(h) == 1 and h[0]["result"] == "succeeded" and h[0]["trigger"] == "manual",
                 "wsusctl agrees: one manual sync succeeded: %r" % h[:1])
        d.get(admin_url(down_conf) + "/console/#history")
        wait_text(d, "#history-table", lambda t: "succeeded" in t, "the history page lists the run")
        fe = h[0].get("front_end") if h else None
        wt.check(bool(fe) and fe in d.find_element(By.ID, "history-table").text,
                 "the history row names the front-end that ran it, as wsusctl says (%r)" % fe)
        wt.check(len(d.find_elements(By.CSS_SELECTOR, "#history-chart rect")) >= 1,
                 "the history chart has a bar for the run")
        shot(d, "history")

        # --- root: the downstream is in the tree
        login(d, root_conf)
        d.get(admin_url(root_conf) + "/console/#downstreams")
        r = wt.wsusctl(root_conf, "--json", "downstreams")
        ds = json.loads(r.stdout)["downstreams"]
        wt.check(len(ds) == 1 and ds[0]["last_sync"], "wsusctl: one downstream that synchronized", r)
        if ds:
            wait_text(d, "#tree-%s" % ds[0]["account_guid"],
                      lambda t: ds[0]["account_name"] in t and "last sync" in t,
                      "the root's tree shows the downstream with its last sync")
            wait_text(d, "#downstreams-table", lambda t: ds[0]["account_name"] in t,
                      "the table lists the downstream")
        shot(d, "downstreams")
        check_computers(d, root, root_conf)
        check_red_x(d, root_db, root_conf)
        logs = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]
        wt.check(not [e for e in logs if "Content Security Policy" in e.get("message", "")],
                 "no CSP violation in the browser log: %r" % logs)
    finally:
        d.quit()


if __name__ == "__main__":
    wt.run_servers(run)
