"""`wsusctl downstreams`: the downstream servers an admin sees after they authenticate and
synchronize (first contact, last sync, protocol version), as the WSUS console's "Downstream
Servers" node shows them, and the bound on rows unauthenticated callers can create (new ids per
address per hour, a total of never-synchronized rows). A real wsusd, real SOAP calls over HTTP,
the real wsusctl."""

import json
import uuid

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
    check(rows[0]["address"] == "127.0.0.1", "the address a downstream called from is listed: %r" % rows[0])

    # GetAuthorizationCookie needs no authentication: random ids from one address create at
    # most 10 never-synchronized rows per hour (branch2 is one), then a ServerBusy fault
    def random_auth(i):
        return s.call("GetAuthorizationCookie", "<accountName>spam%d.example.test</accountName>"
                      "<accountGuid>%s</accountGuid>" % (i, uuid.uuid4()), ns=ws.NS_AUTH,
                      path=ws.AUTH_PATH)
    answers = [random_auth(i) for i in range(40)]
    ok = [a for a in answers if a[0] == 200 and ws.fault(a[1]) is None]
    check(len(ok) == 9, "9 new ids accepted before the limit (got %d)" % len(ok))
    f = ws.fault(answers[-1][1])
    check(f == ("soap:Server", "ServerBusy",
                "accountGuid: 127.0.0.1 already introduced 10 new downstream server ids in the "
                "last hour that never synchronized; a downstream server keeps one id, so try "
                "again later with the same id"), "the 40th random id gets ServerBusy: %r" % (f,))
    check(s.sql("SELECT count(*) FROM downstream_server") == "11",
          "40 random ids made 9 rows, not 40: %s" % s.sql("SELECT count(*) FROM downstream_server"))
    # known downstreams are never refused, and one that synchronized keeps working
    cookie = s.authenticate(name="branch1.example.test", guid="6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12")
    s.authenticate(name="branch2.example.test", guid="0b5d7a58-2a43-4c5e-9a56-1f6f7e3c2d10")
    st, data, _ = s.call("GetRevisionIdList", cookie + ws.filter_xml(get_config=False))
    check(st == 200 and ws.fault(data) is None, "a real downstream still synchronizes (%d)" % st)
    # an hour later the address may introduce new ids again
    s.sql("UPDATE downstream_server SET first_contact = first_contact - interval '61 minutes'")
    check(random_auth(100)[0] == 200 and ws.fault(random_auth(101)[1]) is None,
          "new ids accepted again after the hour")

    # a total of 1000 never-synchronized rows: the oldest contact makes room, a downstream
    # that synchronized is never dropped
    s.sql("INSERT INTO downstream_server (account_guid, account_name, address, last_contact) "
          "SELECT gen_random_uuid(), 'old' || g, '10.9.' || (g / 250) || '.' || (g % 250), "
          "now() - interval '2 days' - g * interval '1 second' FROM generate_series(1, 1000) g")
    check(random_auth(102)[0] == 200, "a new id is accepted when 1000 unsynced rows exist")
    check(s.sql("SELECT count(*) FROM downstream_server WHERE last_sync IS NULL") == "1000",
          "never-synchronized rows stay at 1000: %s"
          % s.sql("SELECT count(*) FROM downstream_server WHERE last_sync IS NULL"))
    check(s.sql("SELECT count(*) FROM downstream_server WHERE account_name = 'old1000'") == "0",
          "the oldest never-synchronized row was dropped")
    check(s.sql("SELECT count(*) FROM downstream_server WHERE last_sync IS NOT NULL "
                "AND account_name = 'branch1.example.test'") == "1", "branch1 (synchronized) kept")
finally:
    s.cleanup()
ws.finish("test_downstreams")
