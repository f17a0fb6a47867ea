"""`wsusctl downstreams`: the downstream servers an admin sees after they authenticate and
synchronize (first contact, last sync, protocol version), as the WSUS console's "Downstream
Servers" node shows them. A real wsusd, real SOAP calls over HTTP, the real wsusctl."""

import json

import wsussoap as ws
from wsussoap import check

s = ws.Server("downstreams", gen_args=None, export=False)
try:
    out = s.ctl("downstreams")
    check("no downstream server has synchronized" in out, "empty list says so: %r" % out)

    cookie = s.authenticate(name="branch1.example.test", guid="6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12")
    s.authenticate(name="branch2.example.test", guid="0b5d7a58-2a43-4c5e-9a56-1f6f7e3c2d10",
                   version="1.8")
    rows = json.loads(s.ctl("--json", "downstreams"))["downstreams"]
    check([r["account_name"] for r in rows] == ["branch1.example.test", "branch2.example.test"],
          "both downstreams listed by name: %r" % rows)
    check(all(r["last_sync"] is None for r in rows), "no sync yet: last_sync empty: %r" % rows)
    check(rows[1]["protocol_version"] == "1.8", "protocol version recorded: %r" % rows[1])

    # the update pass (GetConfig=false) is what counts as a synchronization
    st, data, _ = s.call("GetRevisionIdList", cookie + ws.filter_xml(get_config=False))
    check(st == 200, "GetRevisionIdList answers 200 (got %d)" % st)
    rows = json.loads(s.ctl("--json", "downstreams"))["downstreams"]
    check(rows[0]["last_sync"] is not None and rows[1]["last_sync"] is None,
          "last_sync set for the server that synchronized only: %r" % rows)
    out = s.ctl("downstreams")
    check("branch1.example.test" in out and "never" in out, "table shows names and 'never': %r" % out)
finally:
    s.cleanup()
ws.finish("test_downstreams")
