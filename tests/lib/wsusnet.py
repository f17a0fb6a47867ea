"""wsusnet: the network parts integration tests set up around wsusd, shared by several tests:
Debian's squid with proxy authentication (Squid), certificates made with the openssl CLI
(make_ca, make_cert) and a forward proxy that strips Range (range_dropping_proxy).
Everything listens on 127.0.0.1 and lives in the test's temporary directory.
"""

import base64
import hashlib
import http.client
import http.server
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse

import wsustest as wt

HELPERS = "/usr/lib/squid"
ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def require_squid():
    """Exit the test (status 1, with the reason) when Debian's squid or its helpers are missing."""
    if not os.path.exists(os.path.join(HELPERS, "basic_ncsa_auth")) or not shutil.which("squid"):
        print("squid is not installed (scripts/install-deps.sh installs it)")
        sys.exit(1)


def apr1(password, salt):
    """htpasswd's $apr1$ (Apache MD5-crypt) hash, which basic_ncsa_auth accepts."""
    pw, sa = password.encode(), salt.encode()
    fin = hashlib.md5(pw + sa + pw).digest()
    ctx = pw + b"$apr1$" + sa
    n = len(pw)
    while n > 0:
        ctx += fin[:min(16, n)]
        n -= 16
    n = len(pw)
    while n:
        ctx += b"\0" if n & 1 else pw[:1]
        n >>= 1
    fin = hashlib.md5(ctx).digest()
    for i in range(1000):
        t = (pw if i & 1 else fin) + (sa if i % 3 else b"") + (pw if i % 7 else b"")
        fin = hashlib.md5(t + (fin if i & 1 else pw)).digest()
    out = ""
    for a, b, c in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)):
        v = fin[a] << 16 | fin[b] << 8 | fin[c]
        for _ in range(4):
            out += ITOA64[v & 0x3f]
            v >>= 6
    v = fin[11]
    for _ in range(2):
        out += ITOA64[v & 0x3f]
        v >>= 6
    return "$apr1$%s$%s" % (salt, out)


class Squid:
    """A squid in the foreground (child of this process) on a free port of 127.0.0.1 that
    requires proxy authentication with scheme basic, digest or ntlm."""

    def __init__(self, tmp, scheme, user, password, realm="wsusd-test"):
        self.dir = os.path.join(tmp, "squid-" + scheme)
        os.makedirs(self.dir)
        self.port = wt.free_port()
        self.proc = None
        if scheme == "basic":
            with open(os.path.join(self.dir, "passwd"), "w") as f:
                f.write("%s:%s\n" % (user, apr1(password, "wsusdT01")))
            auth = ("auth_param basic program %s/basic_ncsa_auth %s/passwd\n"
                    "auth_param basic realm %s\n" % (HELPERS, self.dir, realm))
        elif scheme == "digest":
            ha1 = hashlib.md5(("%s:%s:%s" % (user, realm, password)).encode()).hexdigest()
            with open(os.path.join(self.dir, "digest"), "w") as f:
                f.write("%s:%s:%s\n" % (user, realm, ha1))
            auth = ("auth_param digest program %s/digest_file_auth -c %s/digest\n"
                    "auth_param digest realm %s\n" % (HELPERS, self.dir, realm))
        else:
            auth = "auth_param ntlm program %s/ntlm_fake_auth\n" % HELPERS
        auth += "auth_param %s children 2 startup=1 idle=1\n" % scheme
        self.conf = os.path.join(self.dir, "squid.conf")
        with open(self.conf, "w") as f:
            f.write("http_port 127.0.0.1:%d\n" % self.port +
                    "visible_hostname wsusd-test\n"
                    "pid_filename %s/squid.pid\n" % self.dir +
                    "cache_log %s/cache.log\n" % self.dir +
                    "access_log stdio:%s/access.log\n" % self.dir +
                    "cache deny all\ncache_mem 8 MB\n"
                    "coredump_dir %s\n" % self.dir +
                    "netdb_filename none\ndns_nameservers 127.0.0.1\n"
                    "shutdown_lifetime 0 seconds\n" + auth +
                    "acl authed proxy_auth REQUIRED\n"
                    "http_access allow authed\nhttp_access deny all\n")
            if os.getuid() == 0:
                # squid drops to this user as root; it must reach its logs and password file
                f.write("cache_effective_user proxy\n")
        if os.getuid() == 0:
            shutil.chown(self.dir, "proxy")
            for name in os.listdir(self.dir):
                shutil.chown(os.path.join(self.dir, name), "proxy")

    def start(self):
        self.out = open(os.path.join(self.dir, "stderr.log"), "w")
        self.proc = subprocess.Popen(["squid", "-N", "-f", self.conf], stdout=self.out,
                                     stderr=subprocess.STDOUT)
        for _ in range(200):
            if self.proc.poll() is not None:
                raise RuntimeError("squid exited with %d:\n%s" % (self.proc.returncode,
                                                                  self.logs()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("squid did not listen on %d:\n%s" % (self.port, self.logs()))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.out.close()

    def access_log(self):
        try:
            with open(os.path.join(self.dir, "access.log")) as f:
                return f.read()
        except OSError:
            return ""

    def logs(self):
        text = ""
        for name in ("stderr.log", "cache.log", "access.log"):
            try:
                with open(os.path.join(self.dir, name)) as f:
                    text += f.read()
            except OSError:
                pass
        return text


CA_CNF = """[req]
distinguished_name = dn
prompt = no
[dn]
CN = %s
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
"""


def openssl(*args):
    r = subprocess.run(["openssl"] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), r.stderr))


def make_ca(tmp, name, cn):
    cnf = os.path.join(tmp, name + ".cnf")
    with open(cnf, "w") as f:
        f.write(CA_CNF % cn)
    key, pem = os.path.join(tmp, name + ".key"), os.path.join(tmp, name + ".pem")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", key, "-out", pem, "-days", "2", "-config", cnf,
            "-extensions", "v3_ca")
    return pem, key


def make_cert(tmp, name, cn, san, ca):
    key, csr = os.path.join(tmp, name + ".key"), os.path.join(tmp, name + ".csr")
    pem, ext = os.path.join(tmp, name + ".pem"), os.path.join(tmp, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName = %s\nbasicConstraints = CA:FALSE\n"
                "extendedKeyUsage = serverAuth\n" % san)
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=%s" % cn)
    openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-set_serial",
            str(int.from_bytes(os.urandom(8), "big")), "-days", "2", "-out", pem, "-extfile", ext)
    os.chmod(key, 0o600)
    return pem, key


class RangeDroppingProxy(http.server.BaseHTTPRequestHandler):
    """A forward proxy that removes the Range header of every request it forwards, as some
    real proxies do, and wants Basic proxy authentication when credentials is set to
    (user, password). Counts what it saw in seen (class-wide)."""
    seen = {"requests": 0, "unauthorized": 0, "ranges_dropped": 0}
    credentials = None

    def log_message(self, *args):
        pass

    def _forward(self):
        cred = RangeDroppingProxy.credentials
        want = cred and "Basic " + base64.b64encode(("%s:%s" % cred).encode()).decode()
        if want and self.headers.get("Proxy-Authorization") != want:
            RangeDroppingProxy.seen["unauthorized"] += 1
            body = b"proxy authentication required"
            self.send_response(407)
            self.send_header("Proxy-Authenticate", 'Basic realm="test"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        RangeDroppingProxy.seen["requests"] += 1
        u = urllib.parse.urlsplit(self.path)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("proxy-authorization", "proxy-connection", "connection",
                                        "range", "keep-alive")}
        if "Range" in self.headers:
            RangeDroppingProxy.seen["ranges_dropped"] += 1
        n = int(self.headers.get("Content-Length", "0") or "0")
        body = self.rfile.read(n) if n else None
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        c.request(self.command, u.path + ("?" + u.query if u.query else ""), body, headers)
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "keep-alive",
                                 "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        c.close()

    do_GET = _forward
    do_POST = _forward
    do_HEAD = _forward


class ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True



def range_dropping_proxy(credentials=None):
    """Start a RangeDroppingProxy on a free port of 127.0.0.1 in a thread; returns the server
    (server_address[1] is its port; shutdown() stops it)."""
    RangeDroppingProxy.credentials = credentials
    proxy = ThreadingServer(("127.0.0.1", 0), RangeDroppingProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    return proxy


def require_haproxy():
    """Exit the test (status 1, with the reason) when Debian's haproxy is missing."""
    if not shutil.which("haproxy"):
        print("haproxy is not installed (scripts/install-deps.sh installs it)")
        sys.exit(1)


class HAProxy:
    """Debian's HAProxy in the foreground (child of this process), http mode, on 127.0.0.1.

    frontends: {name: (port, [(server, host, port), ...], backend_extra)}: each frontend
    balances roundrobin over its servers (no stickiness), checks them with GET /ready, adds
    X-Forwarded-For (after removing the client's), connects from source (an address of
    127.0.0.0/8) and names the server that answered in the response header X-Served-By. Every
    request is logged to stdout as "REQ <frontend> <server> <method> <uri> <status> <SOAPAction>
    <Range>" (lines(); "-" for a header that was not sent). Its config lives in the test's temporary directory."""

    def __init__(self, tmp, frontends, source="127.0.0.3"):
        self.dir = os.path.join(tmp, "haproxy")
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "haproxy.cfg")
        self.log = os.path.join(self.dir, "stdout.log")
        self.ports = {}
        self.proc = None
        with open(self.conf, "w") as f:
            f.write("global\n    log stdout format raw local0\n\n"
                    "defaults\n    mode http\n    log global\n"
                    '    log-format "REQ %f %s %HM %HU %ST %[capture.req.hdr(0)] '
                    '%[capture.req.hdr(1)]"\n'
                    "    option redispatch\n    retries 3\n"
                    "    timeout connect 2s\n    timeout client 60s\n    timeout server 60s\n"
                    "    timeout http-request 10s\n    timeout http-keep-alive 15s\n"
                    "    timeout check 2s\n\n")
            for name, (port, servers, extra) in frontends.items():
                self.ports[name] = port
                f.write("frontend %s\n    bind 127.0.0.1:%d\n"
                        "    http-request capture req.hdr(SOAPAction) len 160\n"
                        "    http-request capture req.hdr(Range) len 60\n"
                        "    http-request del-header X-Forwarded-For\n"
                        "    option forwardfor\n    default_backend %s_servers\n\n" % (
                            name, port, name))
                f.write("backend %s_servers\n    balance roundrobin\n"
                        "    option httpchk GET /ready\n    http-check expect status 200\n"
                        "    http-response set-header X-Served-By %%s\n%s" % (name, extra))
                for sname, host, sport in servers:
                    f.write("    server %s %s:%d check inter 300ms fall 1 rise 1 source %s\n" % (
                        sname, host, sport, source))
                f.write("\n")

    def start(self):
        r = subprocess.run(["haproxy", "-c", "-q", "-f", self.conf], capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise RuntimeError("haproxy -c refused %s:\n%s%s" % (self.conf, r.stdout, r.stderr))
        self.out = open(self.log, "w")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.conf], stdout=self.out,
                                     stderr=subprocess.STDOUT)
        for port in self.ports.values():
            for _ in range(100):
                if self.proc.poll() is not None:
                    raise RuntimeError("haproxy exited with %d:\n%s" % (self.proc.returncode,
                                                                       self.output()))
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    time.sleep(0.1)
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.out.close()

    def output(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def lines(self):
        """The logged requests as (frontend, server, method, uri, status, soapaction, range)
        tuples ("" for a header that was not sent)."""
        out = []
        for line in self.output().splitlines():
            parts = line.split(" ")
            if len(parts) == 8 and parts[0] == "REQ":
                out.append(tuple(parts[1:6]) + tuple("" if p == "-" else p.strip('"')
                                                     for p in parts[6:8]))
        return out
