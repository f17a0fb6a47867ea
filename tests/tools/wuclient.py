#!/usr/bin/env python3
"""wuclient: a Windows Update client emulator for MS-WUSP (the client web services of WSUS).

Written from the spec (MS-WUSP), the WSDLs and the real captures of a Windows 11 25H2 Windows
Update Agent (1507.2601.30012.0) talking to a Windows Server 2025 WSUS. It shares nothing with
wsusd. It sends the requests the way that agent does (envelopes, SOAPAction, User-Agent, MS-CV,
paths) and runs its flow:

  GetConfig -> GetAuthorizationCookie (SimpleAuth) -> GetCookie -> RegisterComputer (when the
  server asks) -> [StartCategoryScan when filtering on categories] -> SyncUpdates rounds (software,
  MS-WUSP 3.1.5.7) until no new updates -> one SyncUpdates driver pass -> GetExtendedUpdateInfo ->
  GetFileLocations -> content downloads in 1 MiB HTTP ranges with SHA-1 / SHA-256 checks ->
  ReportEventBatch.

Faults are handled as 2.2.2.4 says: CookieExpired -> GetAuthorizationCookie + GetCookie;
ConfigChanged -> GetConfig + GetAuthorizationCookie + GetCookie; InvalidCookie, ServerChanged ->
the same plus RefreshCache; RegistrationRequired -> RegisterComputer; ServerBusy,
InternalServerError -> retry; then the failed call is sent again (at most 3 times).

Modes (see --help):
  run     the full flow; prints a JSON summary (updates offered, files, faults, events, calls)
  replay  sends the real client requests of the captures to a server (with that server's cookies
          substituted) and prints how the shape of its answers differs from the real server's

Standard library only. Schema validation (--validate) needs xmllint (Debian libxml2-utils).
"""

import argparse
import base64
import datetime
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import ssl
import sys
import tempfile
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_CLIENT = "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService"
NS_AUTH = "http://www.microsoft.com/SoftwareDistribution/Server/SimpleAuthWebService"
NS_REPORT = "http://www.microsoft.com/SoftwareDistribution"

# service name -> (URL path the real client uses, namespace of its operations, SOAPAction prefix)
SERVICES = {
    "client": ("/ClientWebService/client.asmx", NS_CLIENT, NS_CLIENT + "/"),
    "auth": ("/SimpleAuthWebService/SimpleAuth.asmx", NS_AUTH, NS_AUTH + "/"),
    "report": ("/ReportingWebService/ReportingWebService.asmx", NS_REPORT, NS_REPORT + "/"),
}
AGENT_VERSION = "1507.2601.30012.0"
USER_AGENT = "Windows-Update-Agent/%s Client-Protocol/2.90" % AGENT_VERSION
PROTOCOL_VERSION = "2.90"
CONTENT_USER_AGENT = "Microsoft-Delivery-Optimization/10.1"
PIECE = 1024 * 1024
DEFAULT_CLIENT_ID = "e1da06a3-5601-43c9-bac3-52d5db701494"  # the captured client's id
MAX_SYNC_ROUNDS = 50
MAX_RETRIES = 3
SYSTEM_SPEC_DEVICES = (  # three devices of the captured driver pass (native-scan 000009)
    '<Device><HardwareIDs><string>{084f01fa-e634-4d77-83ee-074817c03581}</string>'
    '</HardwareIDs><installedDriver>'
    '<MatchingID>{084f01fa-e634-4d77-83ee-074817c03581}</MatchingID>'
    '<DriverVerDate>2006-06-21T00:00:00Z</DriverVerDate>'
    '<DriverVerVersion>2814751477600644</DriverVerVersion><Class>Printer</Class>'
    '<Manufacturer>Microsoft</Manufacturer><Provider>Microsoft</Provider>'
    '<Model>Microsoft Print To PDF</Model>'
    '<MatchingComputerHWID a:nil="true" xmlns:a="http://www.w3.org/2001/XMLSchema-instance"/>'
    '<DriverRank>-1</DriverRank></installedDriver><DeviceFlags>1</DeviceFlags></Device>'
    '<Device><HardwareIDs>'
    '<string>COMPUTER\\{458AB48B-ACB9-5863-B5A8-D2C32F0D3E6F}</string>'
    '<string>COMPUTER\\{DE134DB0-4B4A-51D6-98C5-F62916E550A7}</string>'
    '<string>COMPUTER\\{0005A67E-B5CB-59D5-B9FD-BE410637D24E}</string>'
    '<string>COMPUTER\\{817FCA52-AE83-52F5-8642-9497F79D49D0}</string></HardwareIDs>'
    '<CompatibleIDs><string>COMPUTER\\Generic</string><string>SWD\\GenericRaw</string>'
    '<string>SWD\\Generic</string></CompatibleIDs><installedDriver>'
    '<MatchingID>COMPUTER\\Generic</MatchingID>'
    '<DriverVerDate>2006-06-21T00:00:00Z</DriverVerDate>'
    '<DriverVerVersion>2814751477596161</DriverVerVersion>'
    '<Class>{4D36E966-E325-11CE-BFC1-08002BE10318}</Class>'
    '<MatchingComputerHWID a:nil="true" xmlns:a="http://www.w3.org/2001/XMLSchema-instance"/>'
    '<DriverRank>8192</DriverRank></installedDriver><extensionDrivers><ExtensionDriver>'
    '<ExtensionId>{96BEDF2C-18CB-4A15-B821-5E95ED0FEA61}</ExtensionId>'
    '<DriverVerDate>2006-06-21T00:00:00Z</DriverVerDate>'
    '<DriverVerVersion>2814751477600928</DriverVerVersion>'
    '<Class>{E2F84CE7-8EFA-411C-AA69-97454CA4CB57}</Class>'
    '<DriverRank>16719872</DriverRank>'
    '<MatchingComputerHWID a:nil="true" xmlns:a="http://www.w3.org/2001/XMLSchema-instance"/>'
    '</ExtensionDriver></extensionDrivers></Device><Device><HardwareIDs>'
    '<string>USB\\VID_0627&amp;PID_0001&amp;REV_0000</string>'
    '<string>USB\\VID_0627&amp;PID_0001</string></HardwareIDs><CompatibleIDs>'
    '<string>USB\\COMPAT_VID_0627&amp;Class_03&amp;SubClass_00&amp;Prot_00</string>'
    '<string>USB\\COMPAT_VID_0627&amp;Class_03&amp;SubClass_00</string>'
    '<string>USB\\COMPAT_VID_0627&amp;Class_03</string>'
    '<string>USB\\Class_03&amp;SubClass_00&amp;Prot_00</string>'
    '<string>USB\\Class_03&amp;SubClass_00</string><string>USB\\Class_03</string>'
    '</CompatibleIDs><installedDriver><MatchingID>USB\\Class_03</MatchingID>'
    '<DriverVerDate>2006-06-21T00:00:00Z</DriverVerDate>'
    '<DriverVerVersion>2814751477604080</DriverVerVersion>'
    '<Class>{745A17A0-74D3-11D0-B6FE-00A0C90F57DA}</Class>'
    '<MatchingComputerHWID a:nil="true" xmlns:a="http://www.w3.org/2001/XMLSchema-instance"/>'
    '<DriverRank>16724485</DriverRank><SkipProviderFiltering>true</SkipProviderFiltering>'
    '<IsGeneric>true</IsGeneric></installedDriver></Device>'
)
COMPUTER_SPEC = (  # the ComputerSpec of that request
    '<ComputerSpec><HardwareIDs><guid>458ab48b-acb9-5863-b5a8-d2c32f0d3e6f</guid>'
    '<guid>de134db0-4b4a-51d6-98c5-f62916e550a7</guid>'
    '<guid>0005a67e-b5cb-59d5-b9fd-be410637d24e</guid>'
    '<guid>817fca52-ae83-52f5-8642-9497f79d49d0</guid>'
    '<guid>3673e5af-4b17-57f3-b9a4-7de906abf68b</guid>'
    '<guid>3486fece-d7a3-58e0-a818-dd3796662b51</guid></HardwareIDs></ComputerSpec>'
)
ERROR_CODES = {"InvalidCookie", "ConfigChanged", "RegistrationRequired", "ServerChanged",
               "InternalServerError", "CookieExpired", "InvalidParameters",
               "InvalidAuthorizationCookie", "RegistrationNotRequired", "ServerBusy",
               "FileLocationsChanged"}

CAPTURE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "wusp")
SPEC_DIR = os.path.join(CAPTURE_DIR, "wsdl")


def q(ns, name):
    """ElementTree name {ns}name."""
    return "{%s}%s" % (ns, name)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(t):
    """dateTime the way the client writes it (2026-10-04T15:20:47.397Z)."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def parse_iso(s):
    """Parse an xs:dateTime (7 fractional digits allowed); None when it is not one."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$", s or "")
    if not m:
        return None
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    if m.group(2):
        t += datetime.timedelta(microseconds=int((m.group(2)[1:] + "000000")[:6]))
    tz = m.group(3) or "Z"
    off = datetime.timedelta(0) if tz == "Z" else \
        (1 if tz[0] == "+" else -1) * datetime.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:]))
    return t.replace(tzinfo=datetime.timezone.utc) - off


def el(name, content):
    """<name>content</name>; content is already XML (use escape() for text)."""
    return "<%s>%s</%s>" % (name, content, name)


def ints(name, values):
    """An ArrayOfInt element, or "" when empty (the client omits empty lists)."""
    return el(name, "".join(el("int", str(v)) for v in values)) if values else ""


def envelope(ns, op, inner):
    """The SOAP 1.1 envelope exactly as the Windows client writes it."""
    return ('<s:Envelope xmlns:s="%s"><s:Body><%s xmlns="%s">%s</%s></s:Body></s:Envelope>'
            % (NS_SOAP, op, ns, inner, op))


def text_of(node, path, ns=NS_CLIENT):
    """Text of the first descendant at path (names in ns, '/'-separated), or None."""
    found = node.find("/".join(q(ns, p) for p in path.split("/")))
    return found.text if found is not None else None


def fragment(xml_text):
    """Parse an update XML fragment (several roots, b.-style names) under a <Fragment> root."""
    return ET.fromstring("<Fragment>%s</Fragment>" % (xml_text or ""))


class SoapFault(Exception):
    """A SOAP fault answer: error_code is the ErrorCode of the detail (2.2.2.4)."""

    def __init__(self, op, error_code, faultstring, status):
        super().__init__("%s: fault %s (HTTP %d) %s" % (op, error_code, status, faultstring[:200]))
        self.op, self.error_code = op, error_code
        self.faultstring, self.status = faultstring, status


class ProtocolError(Exception):
    """An answer that is not what the protocol allows (HTTP status, encoding, XML, schema)."""


class SchemaValidator:
    """Validates answer payloads (the first child of soap:Body) against the XSD parts of the
    WSDLs of SPEC_DIR. ClientWebService.loadable.wsdl is used for the client service (the printed
    one does not load, see the README there). Uses xmllint."""

    WSDLS = {"client": "ClientWebService.loadable.wsdl", "auth": "SimpleAuthWebService.wsdl",
             "report": "ReportingWebService.wsdl"}

    def __init__(self, spec_dir=SPEC_DIR):
        if not shutil.which("xmllint"):
            raise RuntimeError("--validate needs xmllint (Debian package libxml2-utils)")
        self.dir = tempfile.mkdtemp(prefix="wuclient-xsd-")
        self.drivers = {svc: self._extract(os.path.join(spec_dir, f), svc)
                        for svc, f in self.WSDLS.items()}

    def _extract(self, wsdl_path, tag):
        """Write each <s:schema> of the WSDL as its own XSD (with the namespace declarations of
        <wsdl:definitions>), plus a driver XSD importing them all; returns the driver's path."""
        with open(wsdl_path, encoding="utf-8") as f:
            text = f.read()
        root_attrs = re.search(r"<wsdl:definitions([^>]*)>", text).group(1)
        nsdecl = " ".join(re.findall(r'xmlns:\w+="[^"]*"', root_attrs))
        imports = []
        for i, (attrs, body) in enumerate(re.findall(r"<s:schema\b([^>]*)>(.*?)</s:schema>",
                                                     text, re.S)):
            tns = re.search(r'targetNamespace="([^"]*)"', attrs).group(1)
            name = "%s-%d.xsd" % (tag, i)
            with open(os.path.join(self.dir, name), "w", encoding="utf-8") as f:
                f.write("<s:schema %s %s>%s</s:schema>" % (nsdecl, attrs, body))
            imports.insert(0, '<s:import namespace="%s" schemaLocation="%s"/>' % (tns, name))
        driver = os.path.join(self.dir, tag + ".xsd")
        with open(driver, "w", encoding="utf-8") as f:
            f.write('<s:schema xmlns:s="http://www.w3.org/2001/XMLSchema">%s</s:schema>'
                    % "".join(imports))
        return driver

    def validate(self, service, payload):
        """Errors (list of str, empty when valid) of one payload element against the schema."""
        path = os.path.join(self.dir, "payload.xml")
        with open(path, "wb") as f:
            f.write(ET.tostring(payload))
        r = subprocess.run(["xmllint", "--noout", "--schema", self.drivers[service], path],
                           capture_output=True, text=True, timeout=60)
        if r.returncode == 0:
            return []
        return [line for line in r.stderr.splitlines()
                if line.strip() and not line.endswith("fails to validate")]

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def check_fault_shape(fault):
    """Problems of a soap:Fault against SOAP 1.1 4.4 and MS-WUSP 2.2.2.4 (the WSDLs do not
    describe faults)."""
    problems = []
    for child in ("faultcode", "faultstring"):
        if fault.find(child) is None:
            problems.append("fault without <%s>" % child)
    code = fault.find("detail/ErrorCode")
    if code is None:
        problems.append("fault without detail/ErrorCode")
    elif code.text not in ERROR_CODES:
        problems.append("unknown ErrorCode %r" % code.text)
    return problems


class Update:
    """One revision the client holds in its cache (from SyncUpdates), with its Core fragment."""

    def __init__(self, rev_id, deployment, is_leaf, core_xml):
        self.rev_id = rev_id
        self.deployment = deployment
        self.is_leaf = is_leaf
        self.core_xml = core_xml
        core = fragment(core_xml)
        ident = core.find("UpdateIdentity")
        self.update_id = ident.get("UpdateID", "").lower() if ident is not None else ""
        self.revision = int(ident.get("RevisionNumber", "0")) if ident is not None else 0
        props = core.find("Properties")
        self.update_type = props.get("UpdateType", "") if props is not None else ""
        self.prereqs = core.find("Relationships/Prerequisites")
        self.bundled = core.find("Relationships/BundledUpdates")
        self.is_installed_rule = core.find("ApplicabilityRules/IsInstalled")
        self.is_installable_rule = core.find("ApplicabilityRules/IsInstallable")
        self.installed = False
        self.extended = None
        self.title = None

    def to_json(self):
        return {"id": self.rev_id, "deployment": self.deployment, "is_leaf": self.is_leaf,
                "xml": self.core_xml}

    @classmethod
    def from_json(cls, d):
        return cls(d["id"], d["deployment"], d["is_leaf"], d["xml"])

    def bundled_ids(self):
        if self.bundled is None:
            return []
        return [u.get("UpdateID").lower() for u in self.bundled.iter("UpdateIdentity")]


class Machine:
    """What the emulated computer is: identity, OS, target group (client-side targeting), the
    update GUIDs it has installed, the categories it scans for, its locales and caller."""

    def __init__(self, client_id=DEFAULT_CLIENT_ID, computer_name="wuclient.test",
                 os_version="10.0.26200.8037", target_group="", installed=(), categories=(),
                 locales=("en-US", "en"), caller="<<PROCESS>>: powershell.exe"):
        self.client_id = client_id
        self.dns_name = computer_name
        parts = [int(p) for p in os_version.split(".")]
        self.os = (parts + [0, 0, 0, 0])[:4]
        self.product_type = 1
        self.target_group = target_group
        self.installed_ids = {i.strip().lower() for i in installed if i.strip()}
        self.categories = [c for c in categories if c]
        self.locales = [x for x in locales if x]
        self.caller = caller

    @classmethod
    def from_args(cls, args):
        return cls(args.client_id, args.computer_name, args.os_version, args.target_group,
                   args.installed.split(","), args.category, args.locales.split(","),
                   args.caller)

    def os_string(self):
        return ".".join(str(p) for p in self.os)

    def device_attributes(self, server_url):
        """A DeviceAttributes string in the captured client's format: a subset of its
        attributes and values, with this machine's OS version and the server URL."""
        osv = self.os_string()
        return ("ActivationChannel=Retail;App=WU_OS;AppVer=%s;AttrDataVer=344;"
                "BranchReadinessLevel=CB;CurrentBranch=ge_release;DeviceFamily=Windows.Desktop;"
                "DL_OSVersion=%s;FirmwareVersion=unknown;FlightRing=Retail;InstallationType=Client;"
                "InstallLanguage=en-US;IsVirtualDevice=0;OEMModel=Standard PC (Q35 + ICH9, 2009);"
                "OEMName_Uncleaned=QEMU;OSArchitecture=AMD64;OSSkuId=48;OSUILocale=en-US;"
                "OSVersion=%s;ProductType=WinNT;TelemetryLevel=1;UpdateManagementGroup=2;"
                "UpdateServiceUrl=%s;WuClientVer=1451.2601.23012.0;"
                % (AGENT_VERSION, osv, osv, server_url))

    def caller_attributes(self):
        return "Interactive=0;SheddingAware=1;Id=%s;AADDeviceTokenState=WU:0x00248002;" \
            % self.caller

    def products(self):
        """The first three products of the captured native-flow scan's Products string (the OS
        product with this machine's OS version); empty for a category scan, as captured."""
        if self.categories:
            return ""
        return ("PN=Client.OS.rs2.amd64&Branch=ge_release_svc_prod1&PrimaryOSProduct=1&"
                "Repairable=1&V=%s&ReofferUpdate=1;PN=DefenderPlatform.amd64&V=4.18.25080.5;"
                "PN=DefenderSignature.amd64&V=1.437.1.0;" % self.os_string())

    def computer_info(self):
        """computerInfo of RegisterComputer, field order of the capture."""
        major, minor, build = self.os[0], self.os[1], self.os[2]
        fields = [("DnsName", self.dns_name), ("OSMajorVersion", major),
                  ("OSMinorVersion", minor), ("OSBuildNumber", build),
                  ("OSServicePackMajorNumber", 0), ("OSServicePackMinorNumber", 0),
                  ("OSLocale", "en-US"), ("ComputerManufacturer", "QEMU"),
                  ("ComputerModel", "Standard PC (Q35 + ICH9, 2009)"),
                  ("BiosVersion", "unknown"), ("BiosName", "unknown"),
                  ("BiosReleaseDate", "2022-02-02T00:00:00Z"), ("ProcessorArchitecture", "AMD64"),
                  ("SuiteMask", 256), ("OldProductType", 1), ("NewProductType", 48),
                  ("SystemMetrics", 0), ("ClientVersionMajorNumber", 1507),
                  ("ClientVersionMinorNumber", 2601), ("ClientVersionBuildNumber", 30012),
                  ("ClientVersionQfeNumber", 0), ("OSDescription", "Windows 10 Pro"),
                  ("OEM", "QEMU"), ("DeviceType", "Standard PC (Q35 + ICH9, 2009)"),
                  ("FirmwareVersion", "unknown"), ("MobileOperator", "Not Present")]
        return "".join(el(k, escape(str(v))) for k, v in fields)

    # --- applicability: a tri-state evaluator (True, False, None = cannot tell) ---

    def eval_rule(self, node):
        """Evaluate an applicability rule element. Only True/False/And/Or/Not and
        b.WindowsVersion can be evaluated here; registry, file, WMI... rules give None."""
        tag = node.tag
        kids = list(node)
        if tag == "True":
            return True
        if tag == "False":
            return False
        if tag == "Not":
            v = self.eval_rule(kids[0]) if kids else None
            return None if v is None else not v
        if tag in ("And", "Or"):
            vals = [self.eval_rule(k) for k in kids]
            decisive = False if tag == "And" else True
            if decisive in vals:
                return decisive
            return None if None in vals else not decisive
        if tag == "b.WindowsVersion":
            return self._windows_version(node)
        return None

    def _windows_version(self, node):
        want = []
        mine = []
        for attr, have in (("MajorVersion", self.os[0]), ("MinorVersion", self.os[1]),
                           ("BuildNumber", self.os[2])):
            if node.get(attr) is not None:
                want.append(int(node.get(attr)))
                mine.append(have)
        if node.get("ProductType") is not None and int(node.get("ProductType")) != \
                self.product_type:
            return False
        cmp = (mine > want) - (mine < want)
        return {"EqualTo": cmp == 0, "LessThan": cmp < 0, "LessThanOrEqualTo": cmp <= 0,
                "GreaterThan": cmp > 0, "GreaterThanOrEqualTo": cmp >= 0}.get(
            node.get("Comparison", "EqualTo"))


class WuClient:
    """The emulated Windows Update Agent against one server. Everything it saw is in .summary."""

    def __init__(self, server_url, machine, validator=None, timeout=30.0, state=None,
                 ca_file=None):
        self.server_url = server_url.rstrip("/")
        u = urllib.parse.urlsplit(self.server_url)
        if u.scheme not in ("http", "https"):
            raise ValueError("only http:// and https:// server URLs are supported")
        self.scheme = u.scheme
        self.host, self.port = u.hostname, u.port or (443 if u.scheme == "https" else 80)
        # HTTPS as Windows does it: the server's certificate checked against the trusted CAs
        # (ca_file, else the system's) and its name
        self.tls = ssl.create_default_context(cafile=ca_file) if u.scheme == "https" else None
        self.machine = machine
        self.validator = validator
        self.timeout = timeout
        self.conn = None
        self.cv_base = base64.b64encode(os.urandom(12)).decode()[:16]
        self.cv_seq = 0
        self.config = None
        self.auth_cookie = None
        self.cookie = None          # (Expiration, EncryptedData) as sent by the server
        self.registered = False
        self.cache = {}             # revision id -> Update
        self.file_urls = {}         # base64 SHA-1 digest -> URL
        self.events_sent = 0
        self.summary = {"server": self.server_url, "calls": [], "faults": [],
                        "schema_errors": [], "updates": [], "files": [], "events": [],
                        "scan_rounds": [], "out_of_scope": [], "reports_accepted": []}
        if state:
            same_group = state.get("target_group", "") == machine.target_group
            self.cookie = tuple(state["cookie"]) if state.get("cookie") and same_group else None
            self.config = state.get("config")
            self.registered = state.get("registered", False)
            for d in state.get("cache", []):
                self.cache[d["id"]] = Update.from_json(d)

    def state(self):
        """What a real client keeps between scans (its datastore), as JSON."""
        return {"cookie": list(self.cookie) if self.cookie else None, "config": self.config,
                "target_group": self.machine.target_group, "registered": self.registered,
                "cache": [u.to_json() for u in self.cache.values()]}

    # --- transport ---

    def _connection(self):
        if self.conn is None:
            self.conn = self._open(self.scheme, self.host, self.port)
        return self.conn

    def _open(self, scheme, host, port):
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=self.timeout,
                                               context=self.tls or ssl.create_default_context())
        return http.client.HTTPConnection(host, port, timeout=self.timeout)

    def http(self, method, path, headers, body=b""):
        """One HTTP exchange on the keep-alive connection (reconnects once if it was closed).
        Returns (status, headers dict with lower-case names, body bytes)."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                hdrs = {k.lower(): v for k, v in resp.getheaders()}
                if hdrs.get("connection", "").lower() == "close":
                    self.close()
                return resp.status, hdrs, data
            except (http.client.HTTPException, ConnectionError, OSError):
                self.close()
                if attempt == 2:
                    raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def post(self, service, op, inner):
        """Send one SOAP request; returns the payload element (first child of soap:Body) of a
        200 answer, raises SoapFault for a fault, ProtocolError for anything else."""
        path, ns, action_prefix = SERVICES[service]
        body = envelope(ns, op, inner).encode("utf-8")
        headers = {"Cache-Control": "no-cache", "Connection": "Keep-Alive", "Pragma": "no-cache",
                   "Content-Type": "text/xml; charset=utf-8", "Accept-Encoding": "xpress",
                   "User-Agent": USER_AGENT, "SOAPAction": '"%s%s"' % (action_prefix, op)}
        if service == "client":
            self.cv_seq += 1
            headers["MS-CV"] = "%s.1.0.0.2.%d" % (self.cv_base, self.cv_seq)
        t0 = time.monotonic()
        status, hdrs, data = self.http("POST", path, headers, body)
        call = {"op": op, "path": path, "status": status,
                "ms": int((time.monotonic() - t0) * 1000)}
        self.summary["calls"].append(call)
        enc = hdrs.get("content-encoding", "identity").lower()
        if enc != "identity":
            raise ProtocolError("%s: answer has Content-Encoding %s, which this emulator cannot "
                                "decode" % (op, enc))
        try:
            root = ET.fromstring(data)
        except ET.ParseError as e:
            raise ProtocolError("%s: HTTP %d, answer is not XML (%s): %r"
                                % (op, status, e, data[:200]))
        payload_parent = root.find(q(NS_SOAP, "Body"))
        if root.tag != q(NS_SOAP, "Envelope") or payload_parent is None or not len(payload_parent):
            raise ProtocolError("%s: answer is not a SOAP 1.1 envelope with a body" % op)
        payload = payload_parent[0]
        if payload.tag == q(NS_SOAP, "Fault"):
            problems = check_fault_shape(payload)
            code = payload.findtext("detail/ErrorCode") or "(none)"
            call["fault"] = code
            self._schema_errors(op, problems)
            self.summary["faults"].append({"op": op, "error_code": code, "status": status})
            raise SoapFault(op, code, payload.findtext("faultstring") or "", status)
        if status != 200:
            raise ProtocolError("%s: HTTP %d without a SOAP fault" % (op, status))
        if payload.tag != q(ns, op + "Response"):
            raise ProtocolError("%s: answer element is %s" % (op, payload.tag))
        if self.validator:
            self._schema_errors(op, self.validator.validate(service, payload))
        return payload

    def _schema_errors(self, op, errors):
        for e in errors:
            self.summary["schema_errors"].append({"op": op, "error": e})

    def call(self, service, op, build):
        """post() with the fault recovery of MS-WUSP 2.2.2.4. build() makes the inner XML (it
        is called again after a recovery, so it picks up the new cookie)."""
        for attempt in range(MAX_RETRIES + 1):
            try:
                return self.post(service, op, build())
            except SoapFault as f:
                if attempt == MAX_RETRIES or not self.recover(f.error_code, op):
                    raise

    def recover(self, code, op):
        """Do what the spec tells a client to do for a fault; False when nothing helps."""
        if code == "CookieExpired":
            self.authorize()
        elif code == "ConfigChanged":
            self.get_config()
            self.authorize()
        elif code in ("InvalidCookie", "ServerChanged"):
            self.cookie = None
            self.get_config()
            self.authorize()
            if op != "RefreshCache":
                self.refresh_cache()
        elif code == "RegistrationRequired" and op != "RegisterComputer":
            self.register_computer()
        elif code in ("ServerBusy", "InternalServerError"):
            time.sleep(0.2)
        else:
            return False
        return True

    def cookie_xml(self, name="cookie"):
        exp, data = self.cookie
        return el(name, el("Expiration", escape(exp)) + el("EncryptedData", escape(data)))

    def take_new_cookie(self, result):
        """Keep NewCookie of a result element when the server sent one."""
        nc = result.find(q(NS_CLIENT, "NewCookie")) if result is not None else None
        if nc is not None:
            self.cookie = (text_of(nc, "Expiration") or "", text_of(nc, "EncryptedData") or "")

    # --- handshake ---

    def get_config(self):
        resp = self.call("client", "GetConfig", lambda: el("protocolVersion", PROTOCOL_VERSION))
        res = resp.find(q(NS_CLIENT, "GetConfigResult"))
        props = {}
        for p in res.iter(q(NS_CLIENT, "ConfigurationProperty")):
            props[text_of(p, "Name")] = text_of(p, "Value")
        plugins = [text_of(p, "PlugInID") for p in res.iter(q(NS_CLIENT, "AuthPlugInInfo"))]
        self.config = {"last_change": text_of(res, "LastChange"),
                       "registration_required": text_of(res, "IsRegistrationRequired") == "true",
                       "plugins": plugins, "properties": props}
        self.summary["config"] = self.config
        return self.config

    def authorize(self):
        """GetAuthorizationCookie (SimpleAuth) then GetCookie."""
        inner = el("clientId", escape(self.machine.client_id))
        if self.machine.target_group:
            inner += el("targetGroupName", escape(self.machine.target_group))
        inner += el("dnsName", escape(self.machine.dns_name))
        resp = self.post("auth", "GetAuthorizationCookie", inner)
        res = resp.find(q(NS_AUTH, "GetAuthorizationCookieResult"))
        self.auth_cookie = (text_of(res, "PlugInId", NS_AUTH), text_of(res, "CookieData", NS_AUTH))
        now = utcnow()
        old = self.cookie_xml("oldCookie") if self.cookie else \
            el("oldCookie", el("Expiration", now.strftime("%Y-%m-%dT%H:%M:%SZ")))
        inner = (el("authCookies", el("AuthorizationCookie",
                                      el("PlugInId", escape(self.auth_cookie[0] or "")) +
                                      el("CookieData", escape(self.auth_cookie[1] or "")))) +
                 old + el("lastChange", escape(self.config["last_change"] or "")) +
                 el("currentTime", now.strftime("%Y-%m-%dT%H:%M:%SZ")) +
                 el("protocolVersion", PROTOCOL_VERSION))
        resp = self.post("client", "GetCookie", inner)
        res = resp.find(q(NS_CLIENT, "GetCookieResult"))
        self.cookie = (text_of(res, "Expiration") or "", text_of(res, "EncryptedData") or "")

    def register_computer(self):
        self.call("client", "RegisterComputer",
                  lambda: self.cookie_xml() + el("computerInfo", self.machine.computer_info()))
        self.registered = True

    def refresh_cache(self):
        """RefreshCache (3.1.5.8): the server's revision ids for the cached updates; updates it
        does not return are no longer deployed and leave the cache."""
        if not self.cache:
            return
        ids = "".join(el("UpdateIdentity", el("UpdateID", u.update_id) +
                         el("RevisionNumber", str(u.revision))) for u in self.cache.values())
        resp = self.call("client", "RefreshCache", lambda: self.cookie_xml() +
                         el("globalIDs", ids))
        by_guid = {(u.update_id, u.revision): u for u in self.cache.values()}
        fresh = {}
        for r in resp.iter(q(NS_CLIENT, "RefreshCacheResult")):
            gid = r.find(q(NS_CLIENT, "GlobalID"))
            old = by_guid.get(((text_of(gid, "UpdateID") or "").lower(),
                               int(text_of(gid, "RevisionNumber") or 0))) \
                if gid is not None else None
            if old is None:
                continue
            dep = r.find(q(NS_CLIENT, "Deployment"))
            old.rev_id = int(text_of(r, "RevisionID"))
            old.is_leaf = text_of(r, "IsLeaf") == "true"
            if dep is not None:
                old.deployment = {c.tag.split("}")[1]: c.text for c in dep}
            fresh[old.rev_id] = old
        self.summary["refreshed"] = len(fresh)
        self.cache = fresh

    def cookie_is_expired(self):
        exp = parse_iso(self.cookie[0]) if self.cookie else None
        return exp is None or exp <= utcnow()

    def handshake(self):
        """What the client does before a scan. With a cached configuration and a valid cookie
        nothing (the native-flow capture starts with SyncUpdates); otherwise GetConfig, the
        cookie calls and RegisterComputer when the server wants it (native-scan)."""
        if self.config and self.cookie and not self.cookie_is_expired():
            return
        self.get_config()
        if self.cookie is None or self.cookie_is_expired():
            self.authorize()
        if self.config["registration_required"] and not self.registered:
            self.register_computer()
        if self.machine.categories:
            cats = "".join(el("CategoryRelationship", el("IndexOfAndGroup", "0") +
                              el("CategoryId", c)) for c in self.machine.categories)
            self.call("client", "StartCategoryScan", lambda: el("requestedCategories", cats))

    # --- scan ---

    def prereqs_ok(self, upd, installed_guids):
        """Prerequisites of the Core fragment: each plain UpdateIdentity installed, and at least
        one of each AtLeastOne group installed."""
        if upd.prereqs is None:
            return True
        for child in upd.prereqs:
            ids = [child.get("UpdateID", "").lower()] if child.tag == "UpdateIdentity" else \
                [u.get("UpdateID", "").lower() for u in child.iter("UpdateIdentity")]
            if not any(i in installed_guids for i in ids):
                return False
        return True

    def evaluate(self):
        """Client-side evaluation of the whole cache: which updates are installed. Repeats until
        stable, because an update's prerequisites are other updates' installed state."""
        installed = set(self.machine.installed_ids)
        changed = True
        while changed:
            changed = False
            for upd in self.cache.values():
                if upd.update_id in installed or not self.prereqs_ok(upd, installed):
                    continue
                rule = self.machine.eval_rule(upd.is_installed_rule[0]) \
                    if upd.is_installed_rule is not None and len(upd.is_installed_rule) else None
                if rule:
                    installed.add(upd.update_id)
                    changed = True
        for upd in self.cache.values():
            upd.installed = upd.update_id in installed
        return installed

    def sync_parameters(self, software):
        installed_nonleaf = sorted(u.rev_id for u in self.cache.values()
                                   if u.installed and not u.is_leaf and u.update_type != "Driver")
        nonleaf = set(installed_nonleaf)
        other = sorted(u.rev_id for u in self.cache.values()
                       if u.rev_id not in nonleaf and u.update_type != "Driver")
        drivers = sorted(u.rev_id for u in self.cache.values() if u.update_type == "Driver")
        filt = el("FilterCategoryIds", "".join(
            el("CategoryIdentifier", el("Id", c)) for c in self.machine.categories)) \
            if self.machine.categories else ""
        products = el("ProductsParameters",
                      el("SyncCurrentVersionOnly", "false") +
                      el("DeviceAttributes",
                         escape(self.machine.device_attributes(self.server_url))) +
                      el("CallerAttributes", escape(self.machine.caller_attributes())) +
                      (el("Products", escape(self.machine.products())) if self.machine.products()
                       else "<Products/>"))
        if software:
            p = (el("ExpressQuery", "false") + ints("InstalledNonLeafUpdateIDs", installed_nonleaf)
                 + ints("OtherCachedUpdateIDs", other) + el("SkipSoftwareSync", "false") + filt +
                 el("NeedTwoGroupOutOfScopeUpdates", "true") +
                 el("AlsoPerformRegularSync", "false" if self.machine.categories else "true") +
                 "<ComputerSpec/>" + products)
        else:
            p = (el("ExpressQuery", "false") + ints("InstalledNonLeafUpdateIDs", installed_nonleaf)
                 + el("SystemSpec", SYSTEM_SPEC_DEVICES) + ints("CachedDriverIDs", drivers) +
                 el("SkipSoftwareSync", "true") + filt +
                 el("NeedTwoGroupOutOfScopeUpdates", "true") +
                 el("AlsoPerformRegularSync", "false") + COMPUTER_SPEC +
                 el("FeatureScoreMatchingKey", "AMD64.%d.%d" % (self.machine.os[0],
                                                               self.machine.os[1])) + products)
        return self.cookie_xml() + el("parameters", p)

    def sync_round(self, software):
        """One SyncUpdates call; adds what it returned to the cache. Returns (new, truncated)."""
        resp = self.call("client", "SyncUpdates", lambda: self.sync_parameters(software))
        res = resp.find(q(NS_CLIENT, "SyncUpdatesResult"))
        self.take_new_cookie(res)
        new, changed = [], []
        for kind, bucket in (("NewUpdates", new), ("ChangedUpdates", changed)):
            for ui in res.findall("%s/%s" % (q(NS_CLIENT, kind), q(NS_CLIENT, "UpdateInfo"))):
                rev = int(text_of(ui, "ID"))
                dep = ui.find(q(NS_CLIENT, "Deployment"))
                deployment = {c.tag.split("}")[1]: c.text for c in dep} if dep is not None else {}
                xml_text = text_of(ui, "Xml")
                if xml_text is None and rev in self.cache:
                    xml_text = self.cache[rev].core_xml
                upd = Update(rev, deployment, text_of(ui, "IsLeaf") == "true", xml_text or "")
                for old in [o for o in self.cache.values()
                            if o.update_id == upd.update_id and o.rev_id != rev]:
                    del self.cache[old.rev_id]   # one revision per update (3.1.5.7)
                self.cache[rev] = upd
                bucket.append(rev)
        gone = []
        oos = res.find(q(NS_CLIENT, "OutOfScopeRevisionIDs"))
        if oos is not None:
            gone = [int(i.text) for i in oos.findall(q(NS_CLIENT, "int"))]
            for rev in gone:
                self.cache.pop(rev, None)
            self.summary["out_of_scope"].extend(gone)
        truncated = text_of(res, "Truncated") == "true"
        self.summary["scan_rounds"].append({"software": software, "new": new, "changed": changed,
                                            "out_of_scope": gone, "truncated": truncated})
        self.evaluate()
        return new, truncated

    def scan(self):
        """The staged software scan of MS-WUSP 3.1.5.7, then one driver pass."""
        self.evaluate()
        for _ in range(MAX_SYNC_ROUNDS):
            new, truncated = self.sync_round(software=True)
            if not new and not truncated:
                break
        else:
            raise ProtocolError("SyncUpdates still returned new updates after %d rounds"
                                % MAX_SYNC_ROUNDS)
        self.sync_round(software=False)

    # --- selection, metadata, content ---

    def by_guid(self):
        return {u.update_id: u for u in self.cache.values()}

    def installable(self, upd):
        """An update the machine would install: prerequisites met, not installed, and an
        IsInstallable rule that is true or cannot be evaluated here (assumed true)."""
        installed = {u.update_id for u in self.cache.values() if u.installed} | \
            self.machine.installed_ids
        if upd.installed or not self.prereqs_ok(upd, installed):
            return False
        rule = upd.is_installable_rule
        return rule is None or not len(rule) or self.machine.eval_rule(rule[0]) is not False

    def wanted(self):
        """{approved update: its parts}: the updates deployed with Action Install that are
        installable, each with itself and, recursively, the installable bundled updates the
        client has in its cache (the parts whose Extended fragments list the files)."""
        guids = self.by_guid()
        wanted = {}
        for top in sorted(self.cache.values(), key=lambda u: u.rev_id):
            if top.deployment.get("Action") != "Install" or top.update_type == "Detectoid" \
                    or not self.installable(top):
                continue
            parts, todo = [], [top]
            while todo:
                u = todo.pop()
                if u in parts:
                    continue
                parts.append(u)
                todo.extend(guids[g] for g in u.bundled_ids()
                            if g in guids and self.installable(guids[g]))
            wanted[top] = parts
        return wanted

    def get_extended_update_info(self, rev_ids):
        """GetExtendedUpdateInfo (Extended + LocalizedProperties) in chunks of the server's
        MaxExtendedUpdatesPerRequest; keeps fragments and FileLocations."""
        props = (self.config or {}).get("properties", {})
        chunk = max(1, int(props.get("MaxExtendedUpdatesPerRequest") or 50))
        for i in range(0, len(rev_ids), chunk):
            part = rev_ids[i:i + chunk]

            def build(part=part):
                return (self.cookie_xml() + ints("revisionIDs", part) +
                        el("infoTypes", el("XmlUpdateFragmentType", "Extended") +
                           el("XmlUpdateFragmentType", "LocalizedProperties")) +
                        el("locales", "".join(el("string", escape(x))
                                              for x in self.machine.locales)) +
                        el("deviceAttributes",
                           escape(self.machine.device_attributes(self.server_url))) +
                        el("GeoId", "USA") +
                        el("callerAttributes", escape(self.machine.caller_attributes())))
            resp = self.call("client", "GetExtendedUpdateInfo", build)
            res = resp.find(q(NS_CLIENT, "GetExtendedUpdateInfoResult"))
            for upd in res.iter(q(NS_CLIENT, "Update")):
                rev = int(text_of(upd, "ID"))
                frag = fragment(text_of(upd, "Xml"))
                if rev not in self.cache:
                    continue
                if frag.find("ExtendedProperties") is not None:
                    self.cache[rev].extended = frag
                title = frag.findtext("LocalizedProperties/Title")
                if title:
                    self.cache[rev].title = title
            self.collect_locations(res)

    def collect_locations(self, result):
        for loc in result.iter(q(NS_CLIENT, "FileLocation")):
            self.file_urls[text_of(loc, "FileDigest")] = text_of(loc, "Url")

    def get_file_locations(self, digests):
        """GetFileLocations for the given base64 SHA-1 digests (refreshes self.file_urls)."""
        if not digests:
            return
        resp = self.call("client", "GetFileLocations", lambda: self.cookie_xml() + el(
            "fileDigests", "".join(el("base64Binary", d) for d in digests)))
        res = resp.find(q(NS_CLIENT, "GetFileLocationsResult"))
        self.take_new_cookie(res)
        self.collect_locations(res)

    def fetch(self, url, size, sha1_b64, sha256_b64=None):
        """Download one content file the way Delivery Optimization does: GET with Range in
        1 MiB pieces (a file below 1 MiB as one exact range), then check SHA-1 and SHA-256.
        Returns a result dict (verified true/false, reason)."""
        res = {"url": url, "size": size, "digest": sha1_b64, "ranges": 0, "verified": False}
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https"):
            res["reason"] = "not an http or https URL"
            return res
        conn = self._open(u.scheme, u.hostname, u.port or (443 if u.scheme == "https" else 80))
        sha1, sha256 = hashlib.sha1(), hashlib.sha256()
        try:
            for start in range(0, size, PIECE):
                end = min(start + PIECE, size) - 1
                conn.request("GET", u.path + ("?" + u.query if u.query else ""), headers={
                    "Connection": "Keep-Alive", "Accept": "*/*",
                    "Range": "bytes=%d-%d" % (start, end), "User-Agent": CONTENT_USER_AGENT,
                    "Content-Length": "0"})
                r = conn.getresponse()
                data = r.read()
                res["ranges"] += 1
                want = "bytes %d-%d/%d" % (start, end, size)
                if r.status != 206:
                    res["reason"] = "HTTP %d for range %d-%d" % (r.status, start, end)
                    return res
                if r.getheader("Content-Range") != want or len(data) != end - start + 1:
                    res["reason"] = "Content-Range %r with %d bytes, expected %r" % (
                        r.getheader("Content-Range"), len(data), want)
                    return res
                sha1.update(data)
                sha256.update(data)
        except (http.client.HTTPException, OSError) as e:
            res["reason"] = "transport error: %s" % e
            return res
        finally:
            conn.close()
        if base64.b64encode(sha1.digest()).decode() != sha1_b64:
            res["reason"] = "SHA-1 mismatch"
        elif sha256_b64 is None:
            res["reason"] = "no SHA-256 AdditionalDigest in the metadata"
        elif base64.b64encode(sha256.digest()).decode() != sha256_b64:
            res["reason"] = "SHA-256 mismatch"
        else:
            res["verified"] = True
        return res

    def download(self, parts):
        """Content of the parts' Extended fragments: refresh the locations with
        GetFileLocations, then fetch and verify each file. Returns {rev_id: all verified}."""
        files = []
        for upd in parts:
            if upd.extended is None:
                continue
            for f in upd.extended.iter("File"):
                extra = {a.get("Algorithm"): a.text for a in f.iter("AdditionalDigest")}
                files.append((upd, f.get("Digest"), int(f.get("Size", "0")), extra.get("SHA256"),
                              f.get("FileName")))
        self.get_file_locations(sorted({d for _, d, _, _, _ in files}))
        ok = {}
        for upd, digest, size, sha256, name in files:
            url = self.file_urls.get(digest)
            if url is None:
                r = {"url": None, "size": size, "digest": digest, "ranges": 0,
                     "verified": False, "reason": "no FileLocation for this digest"}
            else:
                r = self.fetch(url, size, digest, sha256)
            r.update({"update_id": upd.update_id, "revision_id": upd.rev_id, "file": name})
            self.summary["files"].append(r)
            ok[upd.rev_id] = ok.get(upd.rev_id, True) and r["verified"]
        return ok

    # --- reporting ---

    def event(self, event_id, hresult=0, upd=None, strings=(), misc=()):
        """One ReportingEvent, shaped like those of the native-flow capture; misc: more
        MiscData strings ("U=id;id" of a status event)."""
        now = iso(utcnow())
        basic = (el("TargetID", el("Sid", self.machine.client_id)) +
                 el("SequenceNumber", "0") + el("TimeAtTarget", now) +
                 el("EventInstanceID", str(uuid.uuid4())) + el("NamespaceID", "1") +
                 el("EventID", str(event_id)) + el("SourceID", "101") +
                 el("UpdateID", el("UpdateID", upd.update_id if upd else str(uuid.UUID(int=0))) +
                    el("RevisionNumber", str(upd.revision if upd else 0))) +
                 el("Win32HResult", str(hresult)) + el("AppName", escape(self.machine.caller)))
        osv = self.machine.os
        ext = ((el("ReplacementStrings", "".join(el("string", escape(s)) for s in strings))
                if strings else "") +
               el("MiscData", el("string", "G=" + AGENT_VERSION) +
                  "".join(el("string", escape(m)) for m in misc) +
                  el("string", escape("AppName=" + self.machine.caller))) +
               el("ComputerBrand", "QEMU") + el("ComputerModel", "Standard PC (Q35 + ICH9, 2009)") +
               el("BiosRevision", "unknown") + el("ProcessorArchitecture", "Amd64Compatible") +
               el("OSVersion", el("Major", str(osv[0])) + el("Minor", str(osv[1])) +
                  el("Build", str(osv[2])) + el("Revision", str(osv[3])) +
                  el("ServicePackMajor", "0") + el("ServicePackMinor", "0")) +
               el("OSLocaleID", "1033"))
        self.summary["events"].append({"event_id": event_id, "hresult": hresult,
                                       "update_id": upd.update_id if upd else None,
                                       "strings": list(strings), "misc": list(misc)})
        return el("ReportingEvent", el("BasicData", basic) + el("ExtendedData", ext) +
                  "<PrivateData/>")

    def status_misc(self, wanted):
        """The MiscData of the status event (156 AGENT_STATUS_30, as the native-flow capture
        sends after a scan): U = the updates deployed for install that the machine found
        installable, V = those it has installed (MS-WUSP 2.2.2.3.1 MiscData table). An
        approved update in neither list is not applicable to it."""
        deployed = [u for u in self.cache.values() if u.deployment.get("Action") == "Install"
                    and u.update_type != "Detectoid"]
        inst = sorted(u.update_id.upper() for u in deployed
                      if u.installed or u.update_id.lower() in self.machine.installed_ids)
        misc = ["U=" + ";".join(sorted(u.update_id.upper() for u in wanted))] if wanted else []
        return misc + (["V=" + ";".join(inst)] if inst else [])

    def report(self, events):
        """ReportEventBatch (Reporting service); True when the server answered true."""
        if not events:
            return True
        batch = "".join(events)
        resp = self.call("report", "ReportEventBatch", lambda: self.cookie_xml() +
                         el("clientTime", iso(utcnow())) + el("eventBatch", batch))
        accepted = resp.findtext(q(NS_REPORT, "ReportEventBatchResult")) == "true"
        self.summary["reports_accepted"].append(accepted)
        return accepted

    # --- the whole flow ---

    def run(self, download=True):
        """Handshake, scan, metadata, content, events. Returns the summary."""
        try:
            self.handshake()
            self.scan()
            wanted = self.wanted()
            all_parts = list(dict.fromkeys(p for parts in wanted.values() for p in parts))
            new = {rev for r in self.summary["scan_rounds"] for rev in r["new"] + r["changed"]}
            self.get_extended_update_info(sorted(
                {u.rev_id for u in self.cache.values()
                 if u.update_type != "Detectoid" and u.rev_id in new} |
                {u.rev_id for u in all_parts}))
            for u in sorted(self.cache.values(), key=lambda u: u.rev_id):
                d = u.deployment
                self.summary["updates"].append({
                    "revision_id": u.rev_id, "update_id": u.update_id, "revision": u.revision,
                    "type": u.update_type, "is_leaf": u.is_leaf, "action": d.get("Action"),
                    "deadline": d.get("Deadline"), "deployment_id": d.get("ID"),
                    "installed": u.installed, "title": u.title, "new": u.rev_id in new,
                    "selected": u in wanted})
            self.report([self.event(147, strings=[str(len(wanted))]),
                         self.event(156, misc=self.status_misc(wanted))])
            if download and wanted:
                ok = self.download(all_parts)
                events = []
                for top, parts in wanted.items():
                    results = [ok[p.rev_id] for p in parts if p.rev_id in ok]
                    good = bool(results) and all(results)
                    events.append(self.event(162 if good else 161, 0 if good else -2145099769,
                                             top, [top.title or top.update_id]))
                self.report(events)
            self.summary["result"] = "ok"
        except (SoapFault, ProtocolError, OSError, http.client.HTTPException) as e:
            self.summary["result"] = "error"
            self.summary["error"] = str(e)
        finally:
            self.close()
        return self.summary


# --- replay of the captured client requests ---

REPLAY_SET = ["native-scan/%06d" % i for i in range(1, 11)] + \
    ["native-flow/%06d" % i for i in (1, 15, 16, 17, 18)]


def shape(node, path="", out=None):
    """The structure of an answer: a set of element paths ('/A/B') and attribute entries
    ('/A/B@name'); repeated siblings collapse; text values are ignored."""
    if out is None:
        out = set()
    name = node.tag.split("}")[-1]
    path = "%s/%s" % (path, name)
    out.add(path)
    for a in node.attrib:
        out.add("%s@%s" % (path, a.split("}")[-1]))
    for child in node:
        shape(child, path, out)
    return out


def answer_shape(data):
    """Shape of a SOAP answer body (bytes): from the first child of soap:Body down."""
    root = ET.fromstring(data)
    body = root.find(q(NS_SOAP, "Body"))
    return shape(body[0]) if body is not None and len(body) else {"(no body)"}


def compare_shapes(real, ours):
    """Differences as lines: '- path' only in the real answer, '+ path' only in ours."""
    return ["- " + p for p in sorted(real - ours)] + ["+ " + p for p in sorted(ours - real)]


def substitute_cookies(body, client):
    """The captured request with this server's cookies in place of the sanitized ones."""
    if client.cookie:
        body = re.sub(r"<Expiration>[^<]*</Expiration><EncryptedData>[^<]*</EncryptedData>",
                      lambda m: el("Expiration", escape(client.cookie[0])) +
                      el("EncryptedData", escape(client.cookie[1])), body)
    if client.auth_cookie:
        body = re.sub(r"<CookieData>[^<]*</CookieData>",
                      lambda m: el("CookieData", escape(client.auth_cookie[1] or "")), body)
    if client.config:
        body = re.sub(r"<lastChange>[^<]*</lastChange>",
                      lambda m: el("lastChange", escape(client.config["last_change"] or "")), body)
    return body


def replay(server_url, machine, capture_dir=CAPTURE_DIR, timeout=30.0, validator=None):
    """Replay the captured requests (REPLAY_SET) against server_url. A handshake first gets
    this server's cookies. Returns a list of {exchange, op, status, differences}; with a
    validator, schema errors of 200 answers are differences too."""
    client = WuClient(server_url, machine, timeout=timeout)
    client.get_config()
    client.authorize()
    results = []
    for ex in REPLAY_SET:
        d = os.path.join(capture_dir, ex)
        with open(os.path.join(d, "meta.json")) as f:
            meta = json.load(f)
        with open(os.path.join(d, "request.body"), encoding="utf-8") as f:
            body = substitute_cookies(f.read(), client)
        with open(os.path.join(d, "response.body"), "rb") as f:
            real = answer_shape(f.read())
        headers = {"Cache-Control": "no-cache", "Connection": "Keep-Alive", "Pragma": "no-cache",
                   "Content-Type": "text/xml; charset=utf-8", "User-Agent": USER_AGENT,
                   "SOAPAction": meta["soap_action"]}
        status, hdrs, data = client.http("POST", meta["path"], headers, body.encode("utf-8"))
        op = meta["soap_action"].strip('"').rsplit("/", 1)[-1]
        try:
            ours = answer_shape(data)
        except ET.ParseError:
            ours = {"(not XML)"}
        diffs = compare_shapes(real, ours)
        service = [s for s, (p, _, _) in SERVICES.items() if p == meta["path"]][0]
        if validator and status == 200 and "(not XML)" not in ours:
            body_el = ET.fromstring(data).find(q(NS_SOAP, "Body"))
            if body_el is not None and len(body_el):
                diffs += ["schema: " + e for e in validator.validate(service, body_el[0])]
        if status != meta["status"]:
            code = re.search(rb"<ErrorCode>([^<]*)</ErrorCode>", data)
            diffs.insert(0, "status %d%s, the real server answered %d" % (
                status, " (fault %s)" % code.group(1).decode() if code else "", meta["status"]))
        results.append({"exchange": ex, "op": op, "status": status, "differences": diffs})
        if op in ("GetCookie", "SyncUpdates") and status == 200:
            nc = ET.fromstring(data).find(".//" + q(NS_CLIENT, "EncryptedData"))
            exp = ET.fromstring(data).find(".//" + q(NS_CLIENT, "Expiration"))
            if nc is not None and exp is not None:
                client.cookie = (exp.text or "", nc.text or "")
    client.close()
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["run", "replay"], help="run the client flow, or replay "
                    "the captured requests and compare answer shapes")
    ap.add_argument("--server", required=True, help="server URL, e.g. http://127.0.0.1:8530")
    ap.add_argument("--computer-name", default="wuclient.test", help="DNS name of the computer")
    ap.add_argument("--client-id", default=DEFAULT_CLIENT_ID,
                    help="client id (SusClientId GUID); the default is the captured client's")
    ap.add_argument("--os-version", default="10.0.26200.8037", help="Windows version a.b.c.d")
    ap.add_argument("--target-group", default="",
                    help="client-side targeting: targetGroupName sent to GetAuthorizationCookie")
    ap.add_argument("--installed", default="",
                    help="comma-separated update GUIDs the machine has installed (detectoids, "
                         "categories, updates); rules that cannot be evaluated count as false")
    ap.add_argument("--category", action="append", default=[],
                    help="scan only this category GUID (StartCategoryScan + FilterCategoryIds); "
                         "repeatable")
    ap.add_argument("--caller", default="<<PROCESS>>: powershell.exe",
                    help="caller Id of CallerAttributes and AppName of events")
    ap.add_argument("--locales", default="en-US,en", help="locales for GetExtendedUpdateInfo")
    ap.add_argument("--validate", action="store_true",
                    help="validate every answer against the WSDL schemas (needs xmllint)")
    ap.add_argument("--spec-dir", default=SPEC_DIR, help="directory of the MS-WUSP WSDLs")
    ap.add_argument("--capture-dir", default=CAPTURE_DIR, help="captures for replay mode")
    ap.add_argument("--no-download", action="store_true", help="skip content downloads")
    ap.add_argument("--state", help="JSON file holding the client's cache and cookie between "
                                    "runs (read if present, written at the end)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per HTTP exchange")
    ap.add_argument("--ca-file", help="CA certificates (PEM) trusted for an https:// server")
    ap.add_argument("--out", help="write the JSON summary here instead of stdout")
    args = ap.parse_args(argv)
    machine = Machine.from_args(args)
    if args.mode == "replay":
        validator = SchemaValidator(args.spec_dir) if args.validate else None
        try:
            results = replay(args.server, machine, args.capture_dir, args.timeout, validator)
        finally:
            if validator:
                validator.close()
        for r in results:
            print("%s %s: HTTP %d, %s" % (r["exchange"], r["op"], r["status"],
                                          "same shape" if not r["differences"] else
                                          "%d difference(s)" % len(r["differences"])))
            for d in r["differences"]:
                print("    " + d)
        return 1 if any(r["differences"] for r in results) else 0
    state = None
    if args.state and os.path.exists(args.state):
        with open(args.state) as f:
            state = json.load(f)
    validator = SchemaValidator(args.spec_dir) if args.validate else None
    try:
        client = WuClient(args.server, machine, validator, args.timeout, state, args.ca_file)
        summary = client.run(download=not args.no_download)
    finally:
        if validator:
            validator.close()
    if args.state:
        with open(args.state, "w") as f:
            json.dump(client.state(), f)
    text = json.dumps(summary, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0 if summary["result"] == "ok" and not summary["schema_errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
