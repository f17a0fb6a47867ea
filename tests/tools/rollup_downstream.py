#!/usr/bin/env python3
"""rollup_downstream: a stand-in downstream server (DSS) for the reporting rollup of MS-WSUSSS.

It runs the Reporting Data Synchronization step (MS-WSUSSS 3.2.4.5) the way a Windows DSS does,
against an upstream server (USS) such as wsusd, and checks every answer against the schema of
the Reporting web service WSDL (tests/data/xsd/reporting.xsd, derived from
tests/data/wsdl/ReportingWebService.wsdl) and against the prose of 3.1.4.13-3.1.4.17.

It was written from MS-WSUSSS.md, WSUSSS-NOTES.md and the WSDL only. It shares no code with
wsusd, nor with tests/tools/wuclient.py (a different peer). Standard library only; schema
validation needs `xmllint` (Debian libxml2-utils).

The sequence (3.2.4.1 then 3.2.4.5):
  0. GetAuthConfig, GetAuthorizationCookie (DssAuth web service), GetCookie: the DSS
     authorization, so that the USS knows this DSS (a DSS Table entry, 3.1.1).
  1. GetRollupConfiguration (the fixed cookie of 3.2.4.5: Expiration 9999-12-31T23:59:59.9999999,
     no EncryptedData). A changed RollupResetGuid marks everything for a full rollup.
  2. RollupDownstreamServers: the descendant servers (parents before children), then this server
     last; a server whose ClientSummaries exceed RollupDownstreamServersMaxBatchSize is split; a
     request never holds more client summaries than that (2.4, 2.5).
  3. (DoDetailedRollup only) RollupComputers in batches of at most RollupComputersMaxBatchSize;
     Deleted removes the computer, NewParent marks its details changed; then a second round with
     the Details of the computers so marked (4.1-4.4).
  4. GetOutOfSyncComputers (batches of GetOutOfSyncComputersMaxBatchSize) for the computers
     that reported status; the named ones get a full rollup (LastStatusRollupTime = NULL).
  5. RollupComputerStatus (batches of RollupComputerStatusMaxBatchSize): full rollups and the
     statuses changed since the last one; FALSE (USS busy) waits at least a minute and resends.

By default only computers with something to send get a ComputerStatusRollupInfo (the issue's
"unchanged computers are not resent"); `status_all=True` (`--status-all`) sends one for every
computer, as the literal text of step 5.3 reads.

Library:
    dss = RollupDownstream("http://127.0.0.1:8530", Population(seed=1, computers=3000,
                           update_ids=[...]).state(), validator=SchemaValidator())
    summary = dss.run()          # the whole sequence; dss.state is the DSS's tables afterwards
    dss.call("RollupComputers", xml)   # one raw call: (http status, payload element, fault)
CLI:
    rollup_downstream.py run --server URL [--state FILE] [--computers N] [--updates G1,G2,..]
        [--descendants K] [--seed S] [--validate] [--out FILE]
Exit code 0 only when the sequence ended without fault, schema error or spec violation.
"""

import argparse
import datetime
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_XSD = os.path.normpath(os.path.join(HERE, "..", "data", "xsd", "reporting.xsd"))

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "http://www.microsoft.com/SoftwareDistribution"
NS_AUTH = "http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService"
REPORTING_PATH = "/ReportingWebService/ReportingWebService.asmx"
SYNC_PATH = "/ServerSyncWebService/ServerSyncWebService.asmx"
AUTH_PATH = "/DssAuthWebService/DssAuthWebService.asmx"
Q = "{%s}" % NS

NEVER = "1753-01-01T00:00:00"          # "never" in every rollup time stamp (3.1.4.14-17)
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
# the Reporting web service's reserved cookie (3.1.4.13.2.1, 3.2.4.5 step 1)
FIXED_COOKIE = "<cookie><Expiration>9999-12-31T23:59:59.9999999</Expiration><EncryptedData /></cookie>"
# MS-WSUSSS notes <46>-<49>: the batch sizes a Windows USS announces
WINDOWS_BATCH = {"RollupDownstreamServersMaxBatchSize": 5000, "RollupComputersMaxBatchSize": 1500,
                 "GetOutOfSyncComputersMaxBatchSize": 20000, "RollupComputerStatusMaxBatchSize": 500}
SUMMARY_FIELDS = ("UpdateCount", "DeclinedUpdateCount", "ApprovedUpdateCount",
                  "NotApprovedUpdateCount", "UpdatesWithStaleUpdateApprovalsCount",
                  "ExpiredUpdateCount", "CriticalOrSecurityUpdatesNotApprovedForInstallCount",
                  "WsusInfrastructureUpdatesNotApprovedForInstallCount",
                  "UpdatesWithClientErrorsCount", "UpdatesWithServerErrorsCount",
                  "UpdatesNeedingFilesCount", "UpdatesNeededByComputersCount",
                  "UpdatesUpToDateCount", "CustomComputerTargetGroupCount", "ComputerTargetCount",
                  "ComputerTargetsNeedingUpdatesCount", "ComputerTargetsWithUpdateErrorsCount",
                  "ComputersUpToDateCount")
# DownstreamServerRollupClientSummary, in schema order (3.1.4.14.3.5); ActivitySummaries follow
CLIENT_SUMMARY_FIELDS = ("OSMajorVersion", "OSMinorVersion", "OSBuildNumber",
                         "OSServicePackMajorNumber", "OSServicePackMinorNumber", "OSLocale",
                         "SuiteMask", "OldProductType", "NewProductType", "SystemMetrics",
                         "ProcessorArchitecture", "Count")
# ComputerRollupDetails attributes (3.1.4.15.3.3)
DETAIL_ATTRS = ("IPAddress", "FullDomainName", "OSMajorVersion", "OSMinorVersion",
                "OSBuildNumber", "OSServicePackMajorNumber", "OSServicePackMinorNumber",
                "OSLocale", "OSFamily", "OSDescription", "ComputerMake", "ComputerModel",
                "BiosVersion", "BiosName", "BiosReleaseDate", "ProcessorArchitecture",
                "SuiteMask", "OldProductType", "NewProductType", "SystemMetrics", "ClientVersion")
# ComputerRollupInfo attributes (3.1.4.15.3.2)
COMPUTER_ATTRS = ("ComputerId", "LastSyncTime", "LastSyncResult", "LastReportedRebootTime",
                  "LastReportedStatusTime", "LastInventoryTime", "ParentServerId")
GUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def now_utc():
    """The current time as the xs:dateTime a DSS sends (UTC, 7 fractional digits, 'Z')."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def ts(value):
    """A stored time stamp (str or None) as sent: None becomes 1753-01-01T00:00:00."""
    return NEVER if value is None else value


def parse_time(s):
    """An xs:dateTime as an aware datetime (for comparisons only)."""
    s = s.strip()
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?", s)
    if not m:
        raise ValueError("not an xs:dateTime: %r" % s)
    y, mo, d, h, mi, se, frac, tz = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    dt = datetime.datetime(int(y), int(mo), int(d), int(h), int(mi), int(se), micro)
    off = datetime.timedelta(0)
    if tz and tz != "Z":
        off = datetime.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])) * (1 if tz[0] == "+" else -1)
    return dt.replace(tzinfo=datetime.timezone(off))


class SchemaValidator:
    """Validates payloads (the first child of soap:Body) against the reporting XSD with xmllint."""

    def __init__(self, xsd=DEFAULT_XSD):
        if not shutil.which("xmllint"):
            raise RuntimeError("schema validation needs xmllint (Debian package libxml2-utils)")
        if not os.path.exists(xsd):
            raise RuntimeError("no schema at %s" % xsd)
        self.xsd = xsd
        self.dir = tempfile.mkdtemp(prefix="rollup-xsd-")

    def validate(self, payload):
        """Errors (list of str, empty when valid) of one element (bytes or Element)."""
        path = os.path.join(self.dir, "payload.xml")
        with open(path, "wb") as f:
            f.write(payload if isinstance(payload, bytes) else ET.tostring(payload))
        r = subprocess.run(["xmllint", "--noout", "--schema", self.xsd, path],
                           capture_output=True, text=True, timeout=120)
        if r.returncode == 0:
            return []
        return [line for line in r.stderr.splitlines()
                if line.strip() and not line.endswith("fails to validate")][:20]

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def fault_problems(fault):
    """Problems of a soap:Fault against SOAP 1.1 section 4.4 and MS-WSUSSS 2.2.9.1."""
    problems = []
    for child in ("faultcode", "faultstring"):
        if fault.find(child) is None:
            problems.append("fault without <%s>" % child)
    detail = fault.find("detail")
    if detail is None:
        return problems + ["fault without <detail>"]
    for child in ("ErrorCode", "Message", "ID"):
        if detail.find(child) is None:
            problems.append("fault detail without unqualified <%s>" % child)
    code = detail.findtext("ErrorCode")
    if code is not None and code not in ("InvalidParameters", "InvalidCookie", "InternalServerError",
                                         "IncompatibleProtocolVersion", "InvalidAuthorizationCookie",
                                         "FileDigestsMissing", "ServerChanged", "ServerBusy"):
        problems.append("ErrorCode %r is not one of 2.2.9.3" % code)
    fid = detail.findtext("ID")
    if fid is not None and not GUID_RE.fullmatch(fid.strip()):
        problems.append("fault ID %r is not a GUID" % fid)
    return problems


class Fault(Exception):
    """A SOAP fault from the USS: the DSS stops the protocol (3.1.4.13-17 'Response')."""

    def __init__(self, op, code, message, http_status):
        super().__init__("%s: SOAP fault %s (HTTP %d): %s" % (op, code, http_status, message))
        self.op, self.code, self.message, self.http_status = op, code, message, http_status


def _summary_xml(summary):
    return "<ServerSummary>%s</ServerSummary>" % "".join(
        "<%s>%d</%s>" % (f, int(summary.get(f, 0)), f) for f in SUMMARY_FIELDS)


def _client_summary_xml(cs):
    out = "<DownstreamServerRollupClientSummary>"
    for f in CLIENT_SUMMARY_FIELDS:
        out += "<%s>%s</%s>" % (f, escape(str(cs[f])), f)
    out += "<ActivitySummaries>%s</ActivitySummaries>" % "".join(
        "<DownstreamServerRollupClientActivitySummary><UpdateId>%s</UpdateId>"
        "<RevisionNumber>%d</RevisionNumber><InstallSuccessCount>%d</InstallSuccessCount>"
        "<InstallFailureCount>%d</InstallFailureCount></DownstreamServerRollupClientActivitySummary>"
        % (a["UpdateId"], a["RevisionNumber"], a["InstallSuccessCount"], a["InstallFailureCount"])
        for a in cs.get("ActivitySummaries", []))
    return out + "</DownstreamServerRollupClientSummary>"


def server_info_xml(info, client_summaries):
    """One DownstreamServerRollupInfo (3.1.4.14.3.2) with the given ClientSummaries."""
    return ("<DownstreamServerRollupInfo><ServerId>%s</ServerId><FullDomainName>%s</FullDomainName>"
            "<LastSyncTime>%s</LastSyncTime><ParentServerId>%s</ParentServerId><Version>%s</Version>"
            "<IsReplica>%s</IsReplica><LastRollupTime>%s</LastRollupTime>%s"
            "<ClientSummaries>%s</ClientSummaries></DownstreamServerRollupInfo>"
            % (info["ServerId"], escape(info["FullDomainName"]), ts(info.get("LastSyncTime")),
               info["ParentServerId"], escape(info["Version"]),
               "true" if info.get("IsReplica") else "false", ts(info.get("LastRollupTime")),
               _summary_xml(info.get("ServerSummary", {})),
               "".join(_client_summary_xml(c) for c in client_summaries)))


def computer_info_xml(cid, c, with_details):
    """One ComputerRollupInfo (3.1.4.15.3.2); Details only when with_details."""
    attrs = {"ComputerId": cid, "LastSyncTime": ts(c.get("LastSyncTime")),
             "LastSyncResult": str(c.get("LastSyncResult", 0)),
             "LastReportedRebootTime": ts(c.get("LastReportedRebootTime")),
             "LastReportedStatusTime": ts(c.get("LastReportedStatusTime")),
             "LastInventoryTime": ts(c.get("LastInventoryTime")),
             "ParentServerId": c["ParentServerId"]}
    out = "<ComputerRollupInfo %s>" % " ".join("%s=%s" % (a, quoteattr(attrs[a])) for a in COMPUTER_ATTRS)
    if with_details:
        d = c["Details"]
        out += "<Details %s>" % " ".join("%s=%s" % (a, quoteattr(str(d[a]))) for a in DETAIL_ATTRS)
        out += "<TargetGroupIdList>%s</TargetGroupIdList>" % "".join(
            "<guid>%s</guid>" % g for g in d.get("TargetGroupIdList", []))
        out += "<RequestedTargetGroupNames>%s</RequestedTargetGroupNames>" % "".join(
            "<string>%s</string>" % escape(n) for n in d.get("RequestedTargetGroupNames", []))
        out += "</Details>"
    return out + "</ComputerRollupInfo>"


def status_info_xml(cid, rollup_number, full, eldt, statuses):
    """One ComputerStatusRollupInfo (3.1.4.17.3.2); statuses: [(update_id, state, time)]."""
    return ("<ComputerStatusRollupInfo><InstanceId>%s</InstanceId><ComputerId>%s</ComputerId>"
            "<EffectiveLastDetectionTime>%s</EffectiveLastDetectionTime>"
            "<RollupNumber>%d</RollupNumber><IsFullRollup>%s</IsFullRollup><UpdateStatus>%s"
            "</UpdateStatus></ComputerStatusRollupInfo>"
            % (uuid.uuid4(), escape(cid), eldt, rollup_number, "true" if full else "false",
               "".join("<ComputerStatusRollupUpdateStatus><UpdateId>%s</UpdateId>"
                       "<SummarizationState>%d</SummarizationState><LastChangeTime>%s"
                       "</LastChangeTime></ComputerStatusRollupUpdateStatus>" % s for s in statuses)))


class Population:
    """A deterministic DSS: itself, `descendants` servers below it (a chain: each the child of
    the previous one), `computers` client computers spread over them, and one status per
    update of `update_ids` per computer. Same arguments, same tables (the time stamps are on
    the day before today)."""

    def __init__(self, seed=1, computers=10, update_ids=(), descendants=0,
                 fqdn="rollup-dss.example.test", server_id=None, is_replica=False):
        self.seed, self.n, self.updates = seed, computers, [u.lower() for u in update_ids]
        self.descendants, self.fqdn, self.is_replica = descendants, fqdn, is_replica
        self.server_id = server_id or str(uuid.uuid5(uuid.NAMESPACE_DNS, "%s/%d" % (fqdn, seed)))

    def _id(self, what):
        return str(uuid.uuid5(uuid.UUID(self.server_id), what))

    def state(self):
        """The DSS tables (3.1.1) as a JSON-able dict (RollupDownstream.state)."""
        rnd = random.Random(self.seed)
        # times relative to the day before now (an upstream ages out stale computers)
        day = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)).strftime("%Y-%m-%d")
        sync = day + "T22:00:00.0000000Z"
        desc, parent = [], ZERO_GUID
        for i in range(self.descendants):
            sid = self._id("server%d" % i)
            desc.append({"ServerId": sid, "FullDomainName": "branch%d.%s" % (i + 1, self.fqdn),
                         "LastSyncTime": sync, "ParentServerId": parent if parent != ZERO_GUID
                         else self.server_id, "Version": "3.0.6000.374", "IsReplica": i % 2 == 1,
                         "LastRollupTime": day + "T22:05:00.0000000Z",
                         "ServerSummary": {f: 0 for f in SUMMARY_FIELDS}, "ClientSummaries": []})
            parent = sid
        servers = [self.server_id] + [d["ServerId"] for d in desc]
        computers, per_server = {}, {s: 0 for s in servers}
        for i in range(self.n):
            cid = self._id("computer%d" % i)
            parent_id = servers[i % len(servers)]
            per_server[parent_id] += 1
            statuses = {}
            for j, u in enumerate(self.updates):
                st = (2, 3, 4, 4, 4, 5, 6, 0)[(i + j) % 8]
                statuses[u] = [st, day + "T21:%02d:%02d.0000000Z" % (j % 60, i % 60)]
            computers[cid] = {
                "ParentServerId": parent_id, "LastSyncTime": day + "T21:30:%02d.0000000Z" % (i % 60),
                "LastSyncResult": 1, "LastReportedRebootTime": None,
                "LastReportedStatusTime": day + "T21:31:00.0000000Z" if statuses else None,
                "LastInventoryTime": None, "HasDetailsChanged": True,
                "LastSentStatusRollupNumber": 0, "LastStatusRollupTime": None,
                "EffectiveLastDetectionTime": day + "T23:00:00.0000000Z",
                "Details": {"IPAddress": "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255),
                            "FullDomainName": "pc%05d.%s" % (i, self.fqdn),
                            "OSMajorVersion": 10, "OSMinorVersion": 0,
                            "OSBuildNumber": rnd.choice((19045, 22631, 26100)),
                            "OSServicePackMajorNumber": 0, "OSServicePackMinorNumber": 0,
                            "OSLocale": "en-US", "OSFamily": "Windows", "OSDescription": "",
                            "ComputerMake": "Contoso", "ComputerModel": "Model %d" % (i % 7),
                            "BiosVersion": "1.%d" % (i % 5), "BiosName": "Contoso BIOS",
                            "BiosReleaseDate": "2024-05-01T00:00:00", "ProcessorArchitecture": "x64",
                            "SuiteMask": 256, "OldProductType": 1, "NewProductType": 4,
                            "SystemMetrics": 0, "ClientVersion": "10.0.26100.1",
                            "TargetGroupIdList": [], "RequestedTargetGroupNames": []},
                "Statuses": statuses}
        for d in desc:
            d["ServerSummary"]["ComputerTargetCount"] = per_server[d["ServerId"]]
        summary = {f: 0 for f in SUMMARY_FIELDS}
        summary.update(UpdateCount=len(self.updates), ApprovedUpdateCount=len(self.updates),
                       ComputerTargetCount=per_server[self.server_id])
        return {"ServerId": self.server_id, "FullDomainName": self.fqdn, "Version": "3.0.6000.374",
                "IsReplica": self.is_replica, "LastSyncTime": sync, "LastRollupTime": None,
                "RollupResetGuid": None, "ServerSummary": summary,
                "ClientSummaries": [{"OSMajorVersion": 10, "OSMinorVersion": 0, "OSBuildNumber": 26100,
                                     "OSServicePackMajorNumber": 0, "OSServicePackMinorNumber": 0,
                                     "OSLocale": "en-US", "SuiteMask": 256, "OldProductType": 1,
                                     "NewProductType": 4, "SystemMetrics": 0,
                                     "ProcessorArchitecture": "x64", "Count": per_server[self.server_id],
                                     "ActivitySummaries": [
                                         {"UpdateId": u, "RevisionNumber": 200, "InstallSuccessCount": 3,
                                          "InstallFailureCount": 1} for u in self.updates]}]
                if self.updates else [],
                "Descendants": desc, "SyncHistory": [sync], "Computers": computers}


class RollupDownstream:
    """One DSS and its tables (`state`, see Population.state) against one USS (`server`, a
    http://host:port URL). run() is the whole sequence; call() one raw exchange."""

    def __init__(self, server, state, validator=None, timeout=120, status_all=False,
                 busy_wait=60.0, protocol_version="1.20", log=None, validate_requests=False):
        u = urllib.parse.urlsplit(server)
        if u.scheme != "http" or not u.hostname:
            raise ValueError("--server must be http://host:port (got %r)" % server)
        self.host, self.port = u.hostname, u.port or 80
        self.state = state
        self.validator, self.timeout, self.status_all = validator, timeout, status_all
        self.busy_wait, self.protocol_version, self.log = busy_wait, protocol_version, log
        self.validate_requests = validate_requests  # also check what this DSS sends
        self.config = None          # the last GetRollupConfigurationResult, as a dict
        self.cookie = None          # the GetCookie result (XML), after authenticate()
        self.calls = []             # op, items, HTTP status, fault, ms, request bytes
        self.schema_errors = []     # answers that break the WSDL schema
        self.spec_errors = []       # answers that break the prose of 3.1.4.13-17
        self.faults = []

    # --- transport ---

    def post(self, path, action, body, timeout=None):
        """POST one SOAP envelope; (HTTP status, body bytes)."""
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout)
        try:
            headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"%s"' % action,
                       "User-Agent": "rollup_downstream.py (MS-WSUSSS 3.2.4.5 stand-in)"}
            try:
                c.request("POST", path, body=body, headers=headers)
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused from its headers (e.g. 413) before the whole body was sent
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def call(self, op, inner, path=REPORTING_PATH, ns=NS, items=0, validate=True, raw=False):
        """One exchange: <op xmlns=ns>inner</op> to path. Returns (HTTP status, payload element
        or None, fault element or None). Records the call; validates the answer's payload when
        a validator is set, and the request too with validate_requests unless raw (hostile
        requests are meant to break the schema)."""
        body = ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="%s" '
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                'xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body><%s xmlns="%s">%s</%s>'
                '</soap:Body></soap:Envelope>' % (ENV, op, ns, inner, op)).encode("utf-8")
        action = "%s/%s" % (ns, op)
        if validate and not raw and self.validate_requests and self.validator is not None and ns == NS:
            errs = self.validator.validate(('<%s xmlns="%s">%s</%s>' % (op, ns, inner, op)).encode("utf-8"))
            if errs:
                raise ValueError("%s: this stand-in built a request the schema refuses: %s" % (op, errs))
        t0 = time.monotonic()
        status, data = self.post(path, action, body)
        rec = {"op": op, "items": items, "status": status, "fault": None,
               "ms": int((time.monotonic() - t0) * 1000), "request_bytes": len(body)}
        self.calls.append(rec)
        if self.log:
            self.log("%s (%d items, %d bytes) -> %d" % (op, items, len(body), status))
        try:
            root = ET.fromstring(data)
            bodyel = root.find("{%s}Body" % ENV)
            payload = list(bodyel)[0] if bodyel is not None and len(bodyel) else None
        except ET.ParseError as e:
            self.spec_errors.append("%s: HTTP %d answer is not XML (%s): %r" % (op, status, e, data[:200]))
            return status, None, None
        if payload is None:
            self.spec_errors.append("%s: HTTP %d answer without a soap:Body child" % (op, status))
            return status, None, None
        if payload.tag == "{%s}Fault" % ENV:
            rec["fault"] = payload.findtext("detail/ErrorCode")
            self.faults.append({"op": op, "code": rec["fault"],
                                "message": payload.findtext("detail/Message")})
            for p in fault_problems(payload):
                self.spec_errors.append("%s: %s" % (op, p))
            if status != 500:
                self.spec_errors.append("%s: a fault with HTTP %d, not 500 (SOAP 1.1 6.2)" % (op, status))
            return status, None, payload
        if status != 200:
            self.spec_errors.append("%s: HTTP %d without a fault" % (op, status))
        if payload.tag != "{%s}%sResponse" % (ns, op):
            self.spec_errors.append("%s: answer element %s, not %sResponse" % (op, payload.tag, op))
        if validate and self.validator is not None and ns == NS:
            errs = self.validator.validate(payload)
            if errs:
                self.schema_errors.append({"op": op, "errors": errs})
        return status, payload, None

    def _must(self, op, inner, items=0, **kw):
        status, payload, fault = self.call(op, inner, items=items, **kw)
        if fault is not None:
            raise Fault(op, fault.findtext("detail/ErrorCode"), fault.findtext("detail/Message"), status)
        if payload is None:
            raise Fault(op, None, "no answer payload (HTTP %d)" % status, status)
        return payload

    # --- 3.2.4.1 authorization ---

    def authenticate(self):
        """GetAuthConfig, GetAuthorizationCookie, GetCookie (3.2.4.1): the USS learns this DSS."""
        p = self._must("GetAuthConfig", "", path=SYNC_PATH, validate=False)
        url = p.findtext(".//%sServiceUrl" % Q) or AUTH_PATH
        path = "/" + urllib.parse.urlsplit(url).path.lstrip("/") if "://" in url else "/" + url.lstrip("/")
        path = re.sub("/+", "/", path)
        p = self._must("GetAuthorizationCookie",
                       "<accountName>%s</accountName><accountGuid>%s</accountGuid>"
                       % (escape(self.state["FullDomainName"]), self.state["ServerId"]),
                       path=path, ns=NS_AUTH, validate=False)
        data = p.find(".//{%s}CookieData" % NS_AUTH)
        plug = p.find(".//{%s}PlugInId" % NS_AUTH)
        if data is None:
            raise Fault("GetAuthorizationCookie", None, "no CookieData in the answer", 200)
        p = self._must("GetCookie",
                       "<authCookies><AuthorizationCookie><PlugInId>%s</PlugInId><CookieData>%s"
                       "</CookieData></AuthorizationCookie></authCookies><protocolVersion>%s"
                       "</protocolVersion>" % (escape(plug.text if plug is not None else "DssTargeting"),
                                               data.text, self.protocol_version),
                       path=SYNC_PATH, validate=False)
        exp, enc = p.findtext(".//%sExpiration" % Q), p.findtext(".//%sEncryptedData" % Q)
        self.cookie = "<cookie><Expiration>%s</Expiration><EncryptedData>%s</EncryptedData></cookie>" % (
            exp, enc or "")
        return self.cookie

    # --- 3.2.4.5 step 1 ---

    def get_rollup_configuration(self, cookie=FIXED_COOKIE):
        """GetRollupConfiguration; the result as a dict (also self.config)."""
        p = self._must("GetRollupConfiguration", cookie)
        r = p.find(Q + "GetRollupConfigurationResult")
        if r is None:
            raise Fault("GetRollupConfiguration", None, "no GetRollupConfigurationResult", 200)
        cfg = {"DoDetailedRollup": (r.findtext(Q + "DoDetailedRollup") or "").strip() in ("true", "1"),
               "RollupResetGuid": (r.findtext(Q + "RollupResetGuid") or "").strip().lower(),
               "ServerId": (r.findtext(Q + "ServerId") or "").strip().lower()}
        for k in WINDOWS_BATCH:
            try:
                cfg[k] = int(r.findtext(Q + k))
            except (TypeError, ValueError):
                cfg[k] = 0
            if cfg[k] <= 0:  # 3.1.4.13.3.1: "The value MUST be greater than zero"
                self.spec_errors.append("GetRollupConfiguration: %s = %d, must be > 0" % (k, cfg[k]))
                cfg[k] = 1
        self.config = cfg
        return cfg

    # --- 3.2.4.5 step 2 ---

    def server_batches(self):
        """The DownstreamServerRollupInfo list of step 2 (descendants in table order, this
        server last, each split so that no part has more ClientSummaries than the batch size),
        grouped into requests of at most RollupDownstreamServersMaxBatchSize summaries.
        [[(info, client_summaries)]]"""
        size = self.config["RollupDownstreamServersMaxBatchSize"]
        me = dict(self.state, ParentServerId=ZERO_GUID, LastRollupTime=now_utc())
        items = []
        for info in list(self.state["Descendants"]) + [me]:
            cs = list(info.get("ClientSummaries", []))
            if len(cs) <= size:
                items.append((info, cs))
            else:
                items.extend((info, cs[i:i + size]) for i in range(0, len(cs), size))
        batches, cur, n = [], [], 0
        for info, cs in items:
            if cur and n + len(cs) > size:
                batches.append(cur)
                cur, n = [], 0
            cur.append((info, cs))
            n += len(cs)
        if cur:
            batches.append(cur)
        return batches

    def rollup_downstream_servers(self, cookie=FIXED_COOKIE):
        """Step 2: every batch; afterwards the client activity summaries sent are removed and
        this server's LastRollupTime is set. Returns the DownstreamServerRollupInfo count."""
        sent = 0
        for batch in self.server_batches():
            xml = "".join(server_info_xml(info, cs) for info, cs in batch)
            self._must("RollupDownstreamServers", "%s<clientTime>%s</clientTime><downstreamServers>%s"
                       "</downstreamServers>" % (cookie, now_utc(), xml), items=len(batch))
            sent += len(batch)
            # "the DSS removes from the Client Activity Summary Table all rows corresponding
            # to the ServerID values that were sent as part of the request"
            for info, _ in batch:
                for d in self.state["Descendants"] + [self.state]:
                    if d["ServerId"] == info["ServerId"]:
                        d["ClientSummaries"] = []
        self.state["LastRollupTime"] = now_utc()
        return sent

    # --- 3.2.4.5 step 4 ---

    def _rollup_computer_round(self, ids, cookie):
        size = self.config["RollupComputersMaxBatchSize"]
        comps = self.state["Computers"]
        sent = 0
        for i in range(0, len(ids), size):
            chunk = [c for c in ids[i:i + size] if c in comps]
            if not chunk:
                continue
            xml = "".join(computer_info_xml(cid, comps[cid], comps[cid].get("HasDetailsChanged"))
                          for cid in chunk)
            p = self._must("RollupComputers", "%s<clientTime>%s</clientTime><computers>%s</computers>"
                           % (cookie, now_utc(), xml), items=len(chunk))
            sent += len(chunk)
            for cid in chunk:  # the details went: HasDetailsChanged is cleared
                comps[cid]["HasDetailsChanged"] = False
            seen, asked = set(), set(chunk)
            for ch in p.iter(Q + "ChangedComputer"):
                cid, change = ch.get("ComputerId"), ch.get("Change")
                if cid not in asked:
                    self.spec_errors.append("RollupComputers: ChangedComputer %r not in the request" % cid)
                if cid in seen:
                    self.spec_errors.append("RollupComputers: ComputerId %r twice in the result" % cid)
                seen.add(cid)
                if change == "Deleted":
                    comps.pop(cid, None)
                elif change == "NewParent":
                    if cid in comps:
                        comps[cid]["HasDetailsChanged"] = True
                        self.new_parent.append(cid)
                else:
                    self.spec_errors.append("RollupComputers: Change %r" % change)
        return sent

    def rollup_computers(self, cookie=FIXED_COOKIE):
        """Step 4: all computers (Details where changed), then those the USS answered NewParent
        for, with Details. Returns (computers sent in round 1, in round 2)."""
        self.new_parent = []
        first = self._rollup_computer_round(sorted(self.state["Computers"]), cookie)
        again = sorted(c for c, v in self.state["Computers"].items() if v.get("HasDetailsChanged"))
        second = self._rollup_computer_round(again, cookie) if again else 0
        return first, second

    # --- 3.2.4.5 step 5 ---

    def get_out_of_sync_computers(self, cookie=FIXED_COOKIE):
        """Step 5.2: the ComputerIds the USS wants a full rollup of (their LastStatusRollupTime
        becomes NULL)."""
        size = self.config["GetOutOfSyncComputersMaxBatchSize"]
        comps = self.state["Computers"]
        ids = sorted(c for c, v in comps.items() if v.get("Statuses"))
        out = []
        for i in range(0, len(ids), size):
            chunk = ids[i:i + size]
            xml = "".join("<ComputerLastRollupNumber><ComputerId>%s</ComputerId><RollupNumber>%d"
                          "</RollupNumber></ComputerLastRollupNumber>"
                          % (escape(c), comps[c]["LastSentStatusRollupNumber"]) for c in chunk)
            p = self._must("GetOutOfSyncComputers", "%s<parentServerId>%s</parentServerId>"
                           "<lastRollupNumbers>%s</lastRollupNumbers>"
                           % (cookie, self.state["ServerId"], xml), items=len(chunk))
            asked = set(chunk)
            for s in p.iter(Q + "string"):
                cid = s.text or ""
                if cid not in asked:
                    self.spec_errors.append("GetOutOfSyncComputers: %r not in the request" % cid)
                    continue
                out.append(cid)
                comps[cid]["LastStatusRollupTime"] = None
        return out

    def _eldt(self, c):
        """EffectiveLastDetectionTime of step 5.3: the newest sync before the computer's."""
        mine = c.get("EffectiveLastDetectionTime")
        if mine is None:
            return NEVER
        best = None
        for s in self.state.get("SyncHistory", []):
            if parse_time(s) < parse_time(mine) and (best is None or parse_time(s) > parse_time(best)):
                best = s
        return best or NEVER

    def status_infos(self):
        """Step 5.3: [(ComputerId, full, [(update, state, time)])] for the computers to send."""
        out = []
        for cid in sorted(self.state["Computers"]):
            c = self.state["Computers"][cid]
            full = c.get("LastStatusRollupTime") is None
            since = None if full else parse_time(c["LastStatusRollupTime"])
            sts = [(u, v[0], v[1]) for u, v in sorted(c.get("Statuses", {}).items())
                   if full or parse_time(v[1]) > since]
            if self.status_all or full or sts:
                out.append((cid, full, sts))
        return out

    def rollup_computer_status(self, cookie=FIXED_COOKIE, max_busy=3):
        """Step 5.3-5.4; returns (computers sent, statuses sent)."""
        size = self.config["RollupComputerStatusMaxBatchSize"]
        comps = self.state["Computers"]
        infos = self.status_infos()
        n_comp = n_stat = 0
        for i in range(0, len(infos), size):
            chunk = infos[i:i + size]
            xml = "".join(status_info_xml(cid, comps[cid]["LastSentStatusRollupNumber"] + 1, full,
                                          self._eldt(comps[cid]), sts) for cid, full, sts in chunk)
            for attempt in range(max_busy + 1):
                p = self._must("RollupComputerStatus", "%s<clientTime>%s</clientTime><parentServerId>"
                               "%s</parentServerId><computers>%s</computers>"
                               % (cookie, now_utc(), self.state["ServerId"], xml), items=len(chunk))
                if (p.findtext(Q + "RollupComputerStatusResult") or "").strip() in ("true", "1"):
                    break
                if attempt == max_busy:
                    raise Fault("RollupComputerStatus", None, "USS still busy after %d waits" % max_busy, 200)
                time.sleep(self.busy_wait)  # 3.2.4.5 5.4: wait at least 1 minute
            for cid, full, sts in chunk:
                c = comps[cid]
                if sts:
                    c["LastStatusRollupTime"] = max((s[2] for s in sts), key=parse_time)
                c["LastSentStatusRollupNumber"] += 1
                n_comp += 1
                n_stat += len(sts)
        return n_comp, n_stat

    # --- the whole step ---

    def run(self, authenticate=True, cookie=FIXED_COOKIE):
        """3.2.4.1 (when authenticate) then 3.2.4.5; a summary dict. A fault stops the sequence
        (result 'fault'), as the spec says the DSS must."""
        summary = {"result": "ok", "error": None}
        try:
            if authenticate:
                self.authenticate()
            cfg = self.get_rollup_configuration(cookie)
            summary["config"] = cfg
            summary["windows_batch_sizes"] = all(cfg[k] == v for k, v in WINDOWS_BATCH.items())
            if self.state.get("RollupResetGuid") != cfg["RollupResetGuid"]:
                # a new (or reset) USS: everything is sent again in full
                self.state["RollupResetGuid"] = cfg["RollupResetGuid"]
                for c in self.state["Computers"].values():
                    c["HasDetailsChanged"] = True
                    c["LastStatusRollupTime"] = None
                summary["full_rollup"] = True
            summary["servers_sent"] = self.rollup_downstream_servers(cookie)
            if cfg["DoDetailedRollup"]:
                summary["computers_sent"], summary["details_resent"] = self.rollup_computers(cookie)
                summary["new_parent"] = len(self.new_parent)
                summary["out_of_sync"] = self.get_out_of_sync_computers(cookie)
                summary["status_computers_sent"], summary["statuses_sent"] = \
                    self.rollup_computer_status(cookie)
        except Fault as e:
            summary.update(result="fault", error=str(e), fault_code=e.code)
        except (OSError, http.client.HTTPException) as e:
            summary.update(result="error", error="%s: %s" % (type(e).__name__, e))
        summary["calls"] = self.calls
        summary["faults"] = self.faults
        summary["schema_errors"] = self.schema_errors
        summary["spec_errors"] = self.spec_errors
        if summary["result"] == "ok" and (self.schema_errors or self.spec_errors):
            summary["result"] = "invalid"
        return summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="authorize, then the whole Reporting Data Synchronization step")
    r.add_argument("--server", required=True, help="the upstream, http://host:port")
    r.add_argument("--state", help="the DSS tables (JSON) between runs; created when missing")
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--computers", type=int, default=10)
    r.add_argument("--descendants", type=int, default=0)
    r.add_argument("--updates", default="", help="update GUIDs every computer has a status for")
    r.add_argument("--fqdn", default="rollup-dss.example.test")
    r.add_argument("--server-id", help="this DSS's ServerId (default: derived from --fqdn and --seed)")
    r.add_argument("--change", type=int, default=0,
                   help="before running, change the status of the first N computers' first update")
    r.add_argument("--status-all", action="store_true",
                   help="a ComputerStatusRollupInfo for every computer (step 5.3 read literally)")
    r.add_argument("--no-auth", action="store_true", help="skip GetAuthConfig/GetAuthorizationCookie/GetCookie")
    r.add_argument("--session-cookie", action="store_true",
                   help="send the GetCookie cookie instead of the fixed 9999-12-31 one")
    r.add_argument("--validate", action="store_true", help="validate answers (xmllint, reporting.xsd)")
    r.add_argument("--xsd", default=DEFAULT_XSD)
    r.add_argument("--busy-wait", type=float, default=60.0)
    r.add_argument("--timeout", type=float, default=120.0)
    r.add_argument("--out", help="write the JSON summary here (default: stdout)")
    a = ap.parse_args(argv)
    if a.state and os.path.exists(a.state):
        with open(a.state, encoding="utf-8") as f:
            state = json.load(f)
    else:
        state = Population(seed=a.seed, computers=a.computers, descendants=a.descendants,
                           update_ids=[u for u in a.updates.split(",") if u], fqdn=a.fqdn,
                           server_id=a.server_id).state()
    change_status(state, a.change)
    try:
        validator = SchemaValidator(a.xsd) if a.validate else None
        dss = RollupDownstream(a.server, state, validator=validator, timeout=a.timeout,
                               status_all=a.status_all, busy_wait=a.busy_wait)
    except (ValueError, RuntimeError) as e:
        print("rollup_downstream: %s" % e, file=sys.stderr)
        return 2
    try:
        if a.session_cookie:
            dss.authenticate()
            summary = dss.run(authenticate=False, cookie=dss.cookie)
        else:
            summary = dss.run(authenticate=not a.no_auth)
    finally:
        if validator:
            validator.close()
    if a.state:
        with open(a.state, "w", encoding="utf-8") as f:
            json.dump(dss.state, f)
    text = json.dumps(summary, indent=1)
    if a.out:
        with open(a.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0 if summary["result"] == "ok" else 1


def change_status(state, n, new_state=4):
    """A client change: the first n computers (sorted by id) report new_state for their first
    update (sorted), now."""
    stamp = now_utc()
    for cid in sorted(state["Computers"])[:n]:
        sts = state["Computers"][cid].get("Statuses", {})
        if sts:
            u = sorted(sts)[0]
            sts[u] = [new_state if sts[u][0] != new_state else 5, stamp]
    return state


if __name__ == "__main__":
    sys.exit(main())
