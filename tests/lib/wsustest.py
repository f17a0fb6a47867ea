"""wsustest: helpers for integration tests that drive the real wsusd / wsusctl binaries against
the throwaway PostgreSQL cluster of the ctest "pg" fixture (reached through PGHOST/PGUSER).

Environment (set by tests/CMakeLists.txt): PGHOST, PGUSER, WSUS_BIN_DIR (wsusd, wsusctl),
WSUS_SOURCE_DIR, WSUS_TEST_DATA (tests/data), WSUS_BUILD_DIR.

Typical use:

    import wsustest as wt
    with wt.TempDir() as tmp:
        db = wt.create_db("it_import")              # fresh, empty database
        conf = wt.write_config(tmp, db)              # wsusd.conf for that database
        r = wt.wsusctl(conf, "import", wt.data("WSUS.cab"))
        wt.check(r.returncode == 0, "import succeeds", r)
        print(wt.sql(db, "SELECT count(*) FROM revision"))
        srv = wt.Wsusd(conf); srv.start(); ...; srv.stop()
        wt.drop_db(db)
    wt.finish()                                      # exit 1 if any check failed

Only the Python standard library and the psql client are used. Nothing here touches anything
but 127.0.0.1 and the temporary directories it creates.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("WSUS_SOURCE_DIR",
                     os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..")))
DATA = os.environ.get("WSUS_TEST_DATA", os.path.join(SRC, "tests", "data"))
BIN = os.environ.get("WSUS_BIN_DIR", os.path.join(SRC, "build", "bin"))

failures = []


def data(rel):
    """Absolute path of a file under tests/data (never modify those files)."""
    return os.path.join(DATA, rel)


def check(cond, msg, detail=None):
    """Record a failed expectation (printed at once) and go on; returns cond."""
    if not cond:
        failures.append(msg)
        print("FAIL: " + msg, flush=True)
        if detail is not None:
            if isinstance(detail, subprocess.CompletedProcess):
                detail = "exit %d\nstdout: %s\nstderr: %s" % (detail.returncode, detail.stdout,
                                                              detail.stderr)
            print("  " + str(detail).replace("\n", "\n  "), flush=True)
    else:
        print("ok: " + msg, flush=True)
    return cond


def expect(cond, failure):
    """check() for messages phrased as the failure ("answered 200, expected a fault"): records
    and prints only when cond is false, so a pass prints nothing. Same failure list."""
    if not cond:
        failures.append(failure)
        print("FAIL: " + failure, flush=True)
    return cond


def finish():
    """Exit 0 when every check passed, else 1 with the list of failures."""
    if failures:
        print("%d check(s) failed:\n  %s" % (len(failures), "\n  ".join(failures)))
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


class TempDir:
    """A temporary directory (context manager), removed on exit. World-searchable so the
    postgres user and a wsusd that dropped privileges can reach files in it."""

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="wsustest-")
        os.chmod(self.path, 0o755)
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def sql(db, query, *params):
    """Run one query with psql on database db; returns the rows as lists of strings
    (psql -At, '|' separated). params are passed as psql variables :'p1', :'p2', ..."""
    args = ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", db]
    for i, p in enumerate(params, 1):
        args += ["-v", "p%d=%s" % (i, p)]
    r = subprocess.run(args, input=query, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("psql failed on %r: %s" % (query, r.stderr.strip()))
    return [line.split("|") for line in r.stdout.splitlines() if line != ""]


def sql_value(db, query, *params):
    """The single value of a one-row, one-column query."""
    rows = sql(db, query, *params)
    return rows[0][0] if rows else None


def create_db(name):
    """Create a fresh empty database (dropping a leftover of the same name); returns its name."""
    sql("postgres", 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
    sql("postgres", 'CREATE DATABASE "%s"' % name)
    return name


def drop_db(name):
    sql("postgres", 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)


def conninfo(db):
    """libpq conninfo of database db in the test cluster."""
    parts = ["dbname=%s" % db]
    if os.environ.get("PGHOST"):
        parts.append("host=%s" % os.environ["PGHOST"])
    if os.environ.get("PGPORT"):
        parts.append("port=%s" % os.environ["PGPORT"])
    if os.environ.get("PGUSER"):
        parts.append("user=%s" % os.environ["PGUSER"])
    return " ".join(parts)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(dirpath, db, name="wsusd.conf", listen=None, admin_listen=None, extra="",
                 server_extra=""):
    """Write a wsusd/wsusctl config for database db with state and content under dirpath.
    listen/admin_listen default to free ports on 127.0.0.1. server_extra is added to the
    [server] section ("threads = 4\n"), extra is appended verbatim (more sections). Returns the
    config file's path."""
    state = os.path.join(dirpath, "state")
    os.makedirs(state, exist_ok=True)
    path = os.path.join(dirpath, name)
    with open(path, "w") as f:
        f.write("[server]\nlisten = %s\n%s\n" % (listen or "127.0.0.1:%d" % free_port(),
                                                 server_extra))
        f.write("[admin]\nlisten = %s\n\n" % (admin_listen or "127.0.0.1:%d" % free_port()))
        f.write("[database]\nconninfo = %s\n\n" % conninfo(db))
        f.write("[storage]\nstate_dir = %s\ncontent_dir = %s\n\n" %
                (state, os.path.join(dirpath, "content")))
        f.write(extra)
    return path


def wsusctl(conf, *args, timeout=600):
    """Run `wsusctl -c conf ARGS...`; returns the CompletedProcess (text, captured)."""
    return subprocess.run([os.path.join(BIN, "wsusctl"), "-c", conf] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def last_sync(conf):
    """The newest row of `wsusctl --json sync history` for conf ({} when there is none)."""
    r = wsusctl(conf, "--json", "sync", "history", "--limit", "1")
    rows = json.loads(r.stdout) if r.returncode == 0 else []
    return rows[0] if rows else {}


class Wsusd:
    """A wsusd process in the foreground for one config. start() waits until the protocol
    port accepts connections (bounded), stop() sends SIGTERM and waits."""

    def __init__(self, conf, args=()):
        self.conf = conf
        self.args = list(args)
        self.proc = None
        self.log = None

    def listen_port(self):
        with open(self.conf) as f:
            for line in f:
                k, _, v = line.partition("=")
                if k.strip() == "listen" and ":" in v:
                    return int(v.strip().rsplit(":", 1)[1])
        return None

    def listen_ports(self):
        """Every "listen = host:port" of the config (protocol and admin API)."""
        ports = []
        with open(self.conf) as f:
            for line in f:
                k, _, v = line.partition("=")
                if k.strip() == "listen" and ":" in v:
                    ports.append(int(v.strip().rsplit(":", 1)[1]))
        return ports

    def start(self, wait_seconds=30):
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([os.path.join(BIN, "wsusd"), "-c", self.conf, "-d"] + self.args,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        # the admin API listens last: wait for every listener, not only the protocol one
        ports = self.listen_ports()
        port = ports[0] if ports else None
        for _ in range(int(wait_seconds * 10)):
            if self.proc.poll() is not None:
                raise RuntimeError("wsusd exited with %d:\n%s" % (self.proc.returncode,
                                                                  self.output()))
            try:
                for port in ports:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        pass
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("wsusd did not listen on port %s:\n%s" % (port, self.output()))

    def start_refused(self, wait_seconds=30):
        """Start wsusd expecting it to refuse to run: wait (bounded) for it to exit and return
        its output. Raises if it is still running after wait_seconds."""
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([os.path.join(BIN, "wsusd"), "-c", self.conf, "-d"] + self.args,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self.proc.wait(wait_seconds)
        except subprocess.TimeoutExpired:
            self.stop()
            raise RuntimeError("wsusd did not exit:\n%s" % self.output())
        return self.output()

    def sanitizer_report(self):
        """The AddressSanitizer/UBSan part of the output, or None when there is none."""
        out = self.output()
        for mark in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            i = out.find(mark)
            if i >= 0:
                return out[max(0, i - 200):]
        return None

    def output(self):
        if self.log is None:
            return ""
        self.log.seek(0)
        return self.log.read()

    def stop(self, timeout=30):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc is not None else None


def run_servers(run, *args):
    """Run run(tmp, servers, dbs, *args) in a temporary directory, then stop every Wsusd that
    run appended to servers (printing its log when a check failed), drop every database in
    dbs, and finish() (exit status of the test)."""
    servers, dbs = [], []
    with TempDir() as tmp:
        try:
            run(tmp, servers, dbs, *args)
        finally:
            for s in servers:
                s.stop()
                if failures:
                    print("---- wsusd log (%s) ----\n%s" % (s.conf, s.output()[-6000:]))
            for db in dbs:
                drop_db(db)
    finish()
