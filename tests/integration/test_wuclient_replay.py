#!/usr/bin/env python3
"""test_wuclient_replay: the Windows Update client emulator (tests/tools/wuclient.py) against
the capture stand-in (tests/tools/wusp_capture_server.py), so that the emulator is known to work
before the issue-12 server exists. No PostgreSQL, no wsusd; loopback only; about 10 s.

Checks:
- the schema validator: every captured real answer validates against the WSDL schemas, and
  broken answers (a wrong boolean, a missing required element, an unknown element, the
  redacted GetFileLocations cookie) fail;
- the emulator's requests have the structure of the real client's captured requests;
- a full run: handshake, the staged SyncUpdates rounds (each prerequisite level arrives only
  after the client reported the level below as installed; Truncated pages are followed), the
  driver pass, GetExtendedUpdateInfo, GetFileLocations, 1 MiB range downloads with a digest
  check that rejects wrong content, ReportEventBatch; every answer schema-valid;
- content fetch: a file with the right digests is verified, wrong SHA-1/SHA-256 are rejected;
- fault recovery: CookieExpired, ConfigChanged, RegistrationRequired answered as MS-WUSP
  2.2.2.4 says, then the call is sent again;
- a second run with the saved client state scans without a new handshake and gets no updates;
- replay mode: the captured client requests against the stand-in give answers of the real
  shape, and a changed answer shape is reported.
"""

import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
TOOLS = os.path.join(HERE, "..", "tools")
sys.path.insert(0, TOOLS)
import wsustest as wt  # noqa: E402
import wuclient  # noqa: E402

EMULATOR = os.path.join(TOOLS, "wuclient.py")
STANDIN = os.path.join(TOOLS, "wusp_capture_server.py")
CAPTURES = os.path.join(HERE, "..", "data", "wusp")
# What the emulated machine has installed: the prerequisites of KB2267602 that the captures do
# not let a client evaluate (registry rules, categories whose Core fragments are not captured).
INSTALLED = ",".join([
    "0aac58ee-82a0-4452-a7fa-19f68398f1fa", "8c3fcc84-7410-4a95-8b89-a166a0190486",
    "e0789628-ce08-4437-be74-2495b842f43b", "be4048db-157c-4532-9582-7f05099590c9",
    "59653007-e2e9-4f71-8525-2ff588527978"])
KB2267602 = "a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe"
AM_ENGINE_PATH = ("C9", "BD789D42A2E027008EE3E7C4FBEE6720DD6DC4C9.exe")  # 6,662,560 bytes
AM_ENGINE_SIZE = 6662560


class StandIn:
    """The capture stand-in as a child process on 127.0.0.1 (a free port)."""

    def __init__(self, tmp, name, *args):
        self.log = os.path.join(tmp, name + ".log")
        self.err = open(os.path.join(tmp, name + ".stderr"), "w+")
        self.proc = subprocess.Popen([sys.executable, STANDIN, "--log", self.log] + list(args),
                                     stdout=subprocess.PIPE, stderr=self.err, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.kill()
            self.err.seek(0)
            raise RuntimeError("stand-in did not start: %r %s" % (line, self.err.read()))
        self.url = "http://127.0.0.1:%d" % int(line.split()[2])

    def requests(self):
        with open(self.log) as f:
            return [json.loads(line) for line in f]

    def stop(self):
        """Stop it; a traceback it printed (a request it could not handle) is a failure."""
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.err.seek(0)
        errors = self.err.read()
        self.err.close()
        wt.expect("Traceback" not in errors, "the stand-in failed on a request:\n" + errors)


def emulator(server, *args, timeout=60):
    """Run the emulator CLI; returns (exit code, summary dict, stderr)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        r = subprocess.run([sys.executable, EMULATOR, "run", "--server", server, "--out",
                            out.name] + list(args), capture_output=True, text=True,
                           timeout=timeout)
        with open(out.name) as f:
            text = f.read()
    return r.returncode, (json.loads(text) if text else {}), r.stderr


def ops(summary):
    return [c["op"] + ("!" + c["fault"] if "fault" in c else "") for c in summary["calls"]]


def payload_of(path_or_text):
    """The first child of soap:Body of an answer (a file path or the XML text)."""
    text = path_or_text
    if os.path.exists(path_or_text):
        with open(path_or_text, encoding="utf-8") as f:
            text = f.read()
    return ET.fromstring(text).find("{%s}Body" % wuclient.NS_SOAP)[0]


def check_validator():
    """Every captured answer is valid; broken ones are not."""
    v = wuclient.SchemaValidator()
    try:
        for ex in wuclient.REPLAY_SET:
            with open(os.path.join(CAPTURES, ex, "meta.json")) as f:
                path = json.load(f)["path"]
            service = [s for s, (p, _, _) in wuclient.SERVICES.items() if p == path][0]
            errs = v.validate(service, payload_of(os.path.join(CAPTURES, ex, "response.body")))
            wt.expect(errs == [], "captured answer %s does not validate: %s" % (ex, errs))
        with open(os.path.join(CAPTURES, "native-scan/000006/response.body")) as f:
            sync = f.read()
        with open(os.path.join(CAPTURES, "native-scan/000001/response.body")) as f:
            config = f.read()
        broken = {
            "Truncated=maybe": ("client", sync.replace("<Truncated>false<", "<Truncated>maybe<")),
            "no Truncated": ("client", sync.replace("<Truncated>false</Truncated>", "")),
            "unknown element": ("client", config.replace("<Properties>", "<Bogus/><Properties>")),
            "redacted cookie": ("client", os.path.join(CAPTURES,
                                                       "cbs/get-file-locations-response.xml")),
        }
        for name, (service, body) in broken.items():
            errs = v.validate(service, payload_of(body))
            wt.expect(errs != [], "broken answer (%s) passed schema validation" % name)
    finally:
        v.close()


def check_full_run(tmp):
    content = os.path.join(tmp, "content")
    os.makedirs(os.path.join(content, AM_ENGINE_PATH[0]))
    with open(os.path.join(content, *AM_ENGINE_PATH), "wb") as f:
        f.truncate(AM_ENGINE_SIZE)   # right size, wrong bytes: the SHA-1 check must refuse it
    good = os.urandom(2 * 1024 * 1024 + 12345)
    os.makedirs(os.path.join(content, "AA"))
    with open(os.path.join(content, "AA", "GOOD.bin"), "wb") as f:
        f.write(good)
    srv = StandIn(tmp, "main", "--page-size", "3", "--content-dir", content)
    state = os.path.join(tmp, "state.json")
    try:
        rc, s, err = emulator(srv.url, "--validate", "--installed", INSTALLED, "--state", state,
                              "--computer-name", "pc1.test")
        wt.expect(rc == 0 and s.get("result") == "ok",
                  "full run failed: rc %d, %s %s" % (rc, s.get("error"), err[-2000:]))
        calls = ops(s)
        wt.expect(calls[:4] == ["GetConfig", "GetAuthorizationCookie", "GetCookie",
                                "RegisterComputer"], "handshake calls were %s" % calls[:4])
        wt.expect(s["schema_errors"] == [], "schema errors: %s" % s["schema_errors"][:5])
        wt.expect(s["faults"] == [], "faults in a plain run: %s" % s["faults"])
        rounds = s["scan_rounds"]
        soft = [r for r in rounds if r["software"]]
        wt.expect(len(soft) >= 5 and soft[-1]["new"] == [] and not soft[-1]["truncated"],
                  "software rounds did not end with an empty answer: %s" % soft)
        wt.expect(any(r["truncated"] for r in soft), "no Truncated page was followed")
        wt.expect(not rounds[-1]["software"] and rounds[-1]["new"] == [],
                  "the last SyncUpdates was not the driver pass: %s" % rounds[-1])
        first = {}
        for i, r in enumerate(rounds):
            for rev in r["new"]:
                first.setdefault(rev, i)
        # 108231 needs 108226 installed, 72571 needs 108231, KB2267602 (200996) needs 107200:
        # the stand-in offers each only after the client sent its prerequisite as installed.
        for later, earlier in ((108231, 108226), (72571, 108231), (200996, 107200)):
            wt.expect(later in first and earlier in first and first[later] > first[earlier],
                      "revision %d did not arrive after its prerequisite %d: %s"
                      % (later, earlier, first))
        ups = {u["revision_id"]: u for u in s["updates"]}
        kb = ups.get(200996, {})
        wt.expect(kb.get("update_id") == KB2267602 and kb.get("revision") == 200 and
                  kb.get("action") == "Install" and kb.get("selected"),
                  "KB2267602 not offered as an Install update: %s" % kb)
        wt.expect(ups.get(108226, {}).get("installed") is True and
                  ups.get(107176, {}).get("installed") is True and
                  ups.get(107199, {}).get("installed") is False,
                  "client-side evaluation wrong: %s" % [ups.get(r) for r in (108226, 107176,
                                                                             107199)])
        wt.expect(len(ups) == sum(len(r["new"]) for r in rounds), "updates offered twice")
        for op in ("GetExtendedUpdateInfo", "GetFileLocations", "ReportEventBatch"):
            wt.expect(op in calls, "%s was not called: %s" % (op, calls))
        wt.expect(calls.index("GetExtendedUpdateInfo") < calls.index("GetFileLocations"),
                  "GetFileLocations before GetExtendedUpdateInfo: %s" % calls)
        files = {f["file"]: f for f in s["files"]}
        eng = files.get("AM_Engine.exe", {})
        wt.expect(eng.get("ranges") == 7 and eng.get("verified") is False and
                  eng.get("reason") == "SHA-1 mismatch",
                  "wrong content was not refused by the SHA-1 check: %s" % eng)
        delta = files.get("AM_Delta.exe", {})
        wt.expect(delta.get("verified") is False and "404" in (delta.get("reason") or ""),
                  "a missing file was not reported: %s" % delta)
        gets = [r for r in srv.requests() if r["method"] == "GET" and AM_ENGINE_PATH[1] in
                r["path"]]
        wanted = ["bytes=%d-%d" % (o, min(o + 1048576, AM_ENGINE_SIZE) - 1)
                  for o in range(0, AM_ENGINE_SIZE, 1048576)]
        wt.expect([g["range"] for g in gets] == wanted and all(g["status"] == 206 for g in gets),
                  "content ranges were %s" % [(g["range"], g["status"]) for g in gets])
        events = [(e["event_id"], e["update_id"]) for e in s["events"]]
        status = [e["misc"] for e in s["events"] if e["event_id"] == 156]
        wt.expect(events == [(147, None), (156, None), (161, KB2267602)] and
                  status == [["U=" + KB2267602.upper()]] and
                  s["reports_accepted"] == [True, True],
                  "events reported (a status after the scan, as the capture's client sends, "
                  "listing the update it found installable): %s %s, accepted %s"
                  % (events, status, s["reports_accepted"]))
        paths = {(r["path"], r["op"]) for r in srv.requests() if r["method"] == "POST"}
        wt.expect(("/SimpleAuthWebService/SimpleAuth.asmx", "GetAuthorizationCookie") in paths
                  and ("/ReportingWebService/ReportingWebService.asmx", "ReportEventBatch")
                  in paths and ("/ClientWebService/client.asmx", "SyncUpdates") in paths,
                  "service paths: %s" % sorted(paths))

        # the next scan with the client's saved cache and cookie: no handshake, nothing new
        rc, s2, err = emulator(srv.url, "--validate", "--installed", INSTALLED, "--state",
                               state, "--no-download")
        wt.expect(rc == 0 and ops(s2)[:1] == ["SyncUpdates"],
                  "second run calls: %s (%s)" % (ops(s2), err[-1000:]))
        wt.expect(s2.get("scan_rounds") and s2["scan_rounds"][0]["new"] == [],
                  "second run got updates again: %s" % s2.get("scan_rounds"))

        # moved to another group (client-side targeting): a new authorization cookie
        rc, s3, err = emulator(srv.url, "--installed", INSTALLED, "--state", state,
                               "--no-download", "--target-group", "Ring 2")
        wt.expect(rc == 0 and ops(s3)[:4] == ["GetConfig", "GetAuthorizationCookie",
                                              "GetCookie", "SyncUpdates"],
                  "calls after a group change: %s (%s)" % (ops(s3), err[-1000:]))
        groups = [r.get("target_group") for r in srv.requests()
                  if r.get("op") == "GetAuthorizationCookie"]
        wt.expect(groups == [None, "Ring 2"], "targetGroupName sent: %s" % groups)

        # content fetch with the right digests, then wrong ones
        c = wuclient.WuClient(srv.url, None)
        url = srv.url + "/Content/AA/GOOD.bin"
        sha1 = base64.b64encode(hashlib.sha1(good).digest()).decode()
        sha256 = base64.b64encode(hashlib.sha256(good).digest()).decode()
        r = c.fetch(url, len(good), sha1, sha256)
        wt.expect(r["verified"] and r["ranges"] == 3, "good file not verified: %s" % r)
        r = c.fetch(url, len(good), sha1, base64.b64encode(b"x" * 32).decode())
        wt.expect(not r["verified"] and r["reason"] == "SHA-256 mismatch",
                  "wrong SHA-256 accepted: %s" % r)
        r = c.fetch(url, len(good) + 1, sha1, sha256)
        wt.expect(not r["verified"], "a wrong size was accepted: %s" % r)

        # replay of the captured client requests: same shapes as the real server's answers
        r = subprocess.run([sys.executable, EMULATOR, "replay", "--server", srv.url, "--validate"],
                           capture_output=True, text=True, timeout=60)
        wt.expect(r.returncode == 0 and r.stdout.count("same shape") == len(wuclient.REPLAY_SET),
                  "replay against the stand-in: rc %d\n%s%s" % (r.returncode, r.stdout,
                                                               r.stderr[-1000:]))
    finally:
        srv.stop()
    real = wuclient.answer_shape(open(os.path.join(CAPTURES, "native-scan/000006/response.body"),
                                      "rb").read())
    with open(os.path.join(CAPTURES, "native-scan/000006/response.body")) as f:
        changed = f.read().replace("<Truncated>false</Truncated>", "").replace(
            "<IsLeaf>", '<IsLeaf extra="1">')
    diffs = wuclient.compare_shapes(real, wuclient.answer_shape(changed.encode()))
    wt.expect(diffs == ["- /SyncUpdatesResponse/SyncUpdatesResult/Truncated",
                        "+ /SyncUpdatesResponse/SyncUpdatesResult/NewUpdates/UpdateInfo/"
                        "IsLeaf@extra"], "shape comparison: %s" % diffs)


def check_faults(tmp):
    srv = StandIn(tmp, "faults", "--expire-cookie-after", "2", "--fault",
                  "SyncUpdates:ConfigChanged", "--fault", "SyncUpdates:ServerChanged:3",
                  "--fault", "GetExtendedUpdateInfo:"
                  "RegistrationRequired", "--fault", "GetConfig:ServerBusy")
    try:
        rc, s, err = emulator(srv.url, "--validate", "--no-download", "--category",
                              "dd78b8a1-0b20-45c1-add6-4da72e9364cf", "--target-group", "Ring 1")
        calls = ops(s)
        wt.expect(rc == 0 and s.get("result") == "ok",
                  "run with faults failed: %s %s %s" % (s.get("error"), calls, err[-1000:]))
        wt.expect("StartCategoryScan" in calls, "no StartCategoryScan with --category")

        def after(fault, recovery):
            i = calls.index(fault) if fault in calls else -1
            return i >= 0 and calls[i + 1:i + 1 + len(recovery)] == recovery

        op = "SyncUpdates"
        wt.expect(after(op + "!ConfigChanged", ["GetConfig", "GetAuthorizationCookie",
                                                 "GetCookie", op]),
                  "ConfigChanged not recovered: %s" % calls)
        expired = [c for c in calls if c.endswith("!CookieExpired")]
        wt.expect(expired and after(expired[0], ["GetAuthorizationCookie", "GetCookie",
                                                 expired[0].split("!")[0]]),
                  "CookieExpired not met or not recovered: %s" % calls)
        wt.expect(after("GetExtendedUpdateInfo!RegistrationRequired",
                        ["RegisterComputer", "GetExtendedUpdateInfo"]),
                  "RegistrationRequired not recovered: %s" % calls)
        wt.expect(after(op + "!ServerChanged", ["GetConfig", "GetAuthorizationCookie",
                                                 "GetCookie", "RefreshCache", op]),
                  "ServerChanged not recovered: %s" % calls)
        wt.expect(s.get("refreshed", 0) > 0, "RefreshCache kept nothing: %s" % s.get("refreshed"))
        wt.expect(calls[0] == "GetConfig!ServerBusy", "GetConfig fault not met: %s" % calls)
        wt.expect(s["schema_errors"] == [], "fault shapes: %s" % s["schema_errors"])
    finally:
        srv.stop()


class RecordingClient(wuclient.WuClient):
    """The emulator, keeping the shape of every SOAP request it sends, per SOAPAction."""
    sent = {}

    def http(self, method, path, headers, body=b""):
        if method == "POST":
            root = ET.fromstring(body)
            self.sent.setdefault(headers["SOAPAction"], set()).update(
                wuclient.shape(root.find("{%s}Body" % wuclient.NS_SOAP)[0]))
        return super().http(method, path, headers, body)


def check_request_shapes(tmp):
    """Over a category scan and a full scan, the emulator's requests have exactly the element
    and attribute structure of the real client's captured requests, operation by operation."""
    srv = StandIn(tmp, "shapes", "--page-size", "3")
    try:
        installed = INSTALLED.split(",")
        RecordingClient(srv.url, wuclient.Machine(
            installed=installed, categories=["dd78b8a1-0b20-45c1-add6-4da72e9364cf"])).run(
                download=False)
        RecordingClient(srv.url, wuclient.Machine(installed=installed)).run()
    finally:
        srv.stop()
    real = {}
    for ex in wuclient.REPLAY_SET:
        with open(os.path.join(CAPTURES, ex, "meta.json")) as f:
            action = json.load(f)["soap_action"]
        root = ET.parse(os.path.join(CAPTURES, ex, "request.body")).getroot()
        real.setdefault(action, set()).update(
            wuclient.shape(root.find("{%s}Body" % wuclient.NS_SOAP)[0]))
    for action in sorted(real):
        diffs = wuclient.compare_shapes(real[action], RecordingClient.sent.get(action, set()))
        wt.expect(diffs == [], "requests %s differ from the real client's: %s" % (action, diffs))


def main():
    with wt.TempDir() as tmp:
        check_validator()
        check_request_shapes(tmp)
        check_full_run(tmp)
        check_faults(tmp)
    wt.finish()


if __name__ == "__main__":
    main()
