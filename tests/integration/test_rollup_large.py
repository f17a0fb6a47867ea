"""A Windows downstream's RollupComputerStatus batch larger than [server] max_request_bytes
(issue 14, found by the stand-in): Windows sizes its batches only by the announced count (500
computers, note <49>), so 500 computers with 60 update statuses each make a request of about
6 MB, over the default 4 MiB. The rollup calls of a downstream are bounded by their own
[server] max_rollup_request_bytes (32 MiB by default); every other request keeps
max_request_bytes.

The stand-in downstream (tests/tools/rollup_downstream.py, validating against the Reporting
WSDL) runs the Windows sequence with 500 x 60 statuses and must get schema-valid answers and
every status stored; a ReportEventBatch (a client's call on the same path) over
max_request_bytes and a RollupComputerStatus over max_rollup_request_bytes still get 413,
refused from their headers.
"""

import http.client
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import wsustest as wt  # noqa: E402
from wsustest import check  # noqa: E402
import rollup_downstream as rd  # noqa: E402

GEN = os.path.join(HERE, "..", "tools", "wsusgen.py")
COMPUTERS = 500  # one Windows RollupComputerStatus batch
UPDATES = 60     # statuses per computer
PATH = "/ReportingWebService/ReportingWebService.asmx"


def declared(port, op, ns, length):
    """POST headers only, declaring length bytes: (status, body text) of the refusal."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.putrequest("POST", PATH)
        c.putheader("Content-Type", "text/xml; charset=utf-8")
        c.putheader("SOAPAction", '"%s/%s"' % (ns, op))
        c.putheader("Content-Length", str(length))
        c.endheaders()
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace").strip()
    finally:
        c.close()


def run(tmp, servers, dbs):
    db = wt.create_db("rolllarge")
    dbs.append(db)
    port = wt.free_port()
    conf = wt.write_config(tmp, db, listen="127.0.0.1:%d" % port)
    cab = os.path.join(tmp, "gen.cab")
    subprocess.run([sys.executable, GEN, "--seed", "4", "--updates", str(UPDATES), "--out", cab,
                    "--no-content"], check=True, capture_output=True)
    r = wt.wsusctl(conf, "import", cab)
    check(r.returncode == 0, "import %d generated updates" % UPDATES, r)
    srv = wt.Wsusd(conf)
    servers.append(srv)
    srv.start(wait_seconds=60)
    url = "http://127.0.0.1:%d" % port
    r = wt.wsusctl(conf, "--json", "updates", "list", "--limit", "1000")
    updates = sorted(u["update_id"] for u in json.loads(r.stdout)["updates"])[:UPDATES]
    check(len(updates) == UPDATES, "%d software updates to report on" % UPDATES, len(updates))

    pop = rd.Population(seed=9, computers=COMPUTERS, update_ids=updates, fqdn="big.example.test")
    dss = rd.RollupDownstream(url, pop.state(), validator=rd.SchemaValidator(),
                              validate_requests=True, busy_wait=1)
    s = dss.run()
    st = [c for c in s["calls"] if c["op"] == "RollupComputerStatus"]
    check(s["result"] == "ok", "the Windows sequence with 500 x 60 statuses ends without fault "
          "or schema error: %s %s %s" % (s["error"], s["schema_errors"][:2], s["spec_errors"][:3]))
    check(len(st) == 1 and st[0]["items"] == COMPUTERS and st[0]["status"] == 200 and
          st[0]["request_bytes"] > 4194304,
          "one RollupComputerStatus of 500 computers, over the 4 MiB max_request_bytes, "
          "accepted: %r" % [(c["items"], c["request_bytes"], c["status"]) for c in st])
    n = int(wt.sql_value(db, "SELECT count(*) FROM rollup_status"))
    check(n == COMPUTERS * UPDATES, "all 30,000 statuses stored (%d)" % n)

    # the larger bound is the rollup calls' only; a client's ReportEventBatch keeps 4 MiB
    got = declared(port, "ReportEventBatch", rd.NS, 4194305)
    check(got == (413, "request body larger than 4194304 bytes"),
          "a ReportEventBatch of 4 MiB + 1: 413 from its headers: %r" % (got,))
    got = declared(port, "RollupComputerStatus", rd.NS, 33554433)
    check(got == (413, "request body larger than 33554432 bytes"),
          "a RollupComputerStatus of 32 MiB + 1 (max_rollup_request_bytes): 413: %r" % (got,))
    check(int(wt.sql_value(db, "SELECT count(*) FROM rollup_status")) == n,
          "the refused requests stored nothing")


if __name__ == "__main__":
    wt.run_servers(run)
