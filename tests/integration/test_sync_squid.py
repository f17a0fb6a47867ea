"""Sync through Debian's squid on 127.0.0.1 with proxy authentication (issue 10).

The test starts its own squid processes (squid -N, a config file, password files, pid and
logs in the temporary directory, no cache): one with basic authentication (basic_ncsa_auth,
an htpasswd file with an $apr1$ hash made here), one with digest authentication
(digest_file_auth) and one with NTLM (ntlm_fake_auth, which accepts any NTLM handshake: it
proves that libcurl's NTLM exchange goes through, not a password check).

Checks: `wsusctl config set proxy-password -` reads the password from standard input and the
sync through the basic-auth squid works with proxy-auth left at "any" (libcurl negotiates);
the command-line form works too but warns and names the `-` form; a wrong password fails the
sync with the proxy message; digest and NTLM negotiation work; the password appears in no
wsusctl output, no --json output, no history, no wsusd log and no squid log.
"""

import fcntl
import json
import os
import select
import subprocess
import sys
import termios
import time

import wsustest as wt
from wsusnet import Squid, require_squid

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")
USER, PASSWORD, REALM = "branch", "s3cret Squid-pass", "wsusd-test"


def main():
    require_squid()
    squids = []
    try:
        wt.run_servers(run, squids)
    finally:
        for s in squids:
            s.stop()


def ctl(conf, outputs, *args, stdin=None):
    """wsusctl, keeping every output for the final password grep."""
    r = subprocess.run([os.path.join(wt.BIN, "wsusctl"), "-c", conf] + list(args),
                       input=stdin, capture_output=True, text=True, timeout=600)
    outputs.append(r.stdout + r.stderr)
    return r


def tty_password(conf, keys=None):
    """Type keys (default PASSWORD and Enter) into `config set proxy-password -` on a
    pseudo-terminal, after its prompt; returns (exit status, everything the terminal showed,
    whether echo is on again afterwards)."""
    master, slave = os.openpty()
    p = subprocess.Popen([os.path.join(wt.BIN, "wsusctl"), "-c", conf, "config", "set",
                          "proxy-password", "-"], stdin=slave, stdout=slave, stderr=slave,
                         start_new_session=True,  # the terminal is its controlling one: ^C
                         preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    os.close(slave)
    shown = b""
    try:
        deadline = time.monotonic() + 30
        while b"proxy-password: " not in shown and time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 1)
            if r:
                shown += os.read(master, 4096)
        os.write(master, keys if keys is not None else (PASSWORD + "\n").encode())
        p.wait(30)
        echo = bool(termios.tcgetattr(master)[3] & termios.ECHO)
        while True:
            r, _, _ = select.select([master], [], [], 0.5)
            if not r:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO once the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    return p.returncode, shown.decode(errors="replace"), echo


def last_sync(conf, outputs):
    r = ctl(conf, outputs, "sync", "history", "--limit", "1", "--json")
    return json.loads(r.stdout)[0]


def run(tmp, servers, dbs, squids):
    outputs = []
    pkg = os.path.join(tmp, "gen.cab")
    gen_content = os.path.join(tmp, "gen-content")
    r = subprocess.run([sys.executable, GEN, "--seed", "5", "--updates", "2", "--file-size",
                        "10K-40K", "--out", pkg, "--content-dir", gen_content],
                       capture_output=True, text=True)
    wt.check(r.returncode == 0, "wsusgen", r)
    os.makedirs(os.path.join(tmp, "root"))
    root_db = wt.create_db("it_syncsquid_root")
    dbs.append(root_db)
    root_conf = wt.write_config(os.path.join(tmp, "root"), root_db)
    r = wt.wsusctl(root_conf, "import", wt.data("WSUS.cab"))
    wt.check(r.returncode == 0, "root: import of the real export", r)
    r = wt.wsusctl(root_conf, "import", pkg, "--content", gen_content)
    wt.check(r.returncode == 0, "root: import of generated updates with content", r)
    root = wt.Wsusd(root_conf).start()
    servers.append(root)
    upstream = "http://127.0.0.1:%d" % root.listen_port()

    down_dir = os.path.join(tmp, "down")
    os.makedirs(down_dir)
    db = wt.create_db("it_syncsquid_down")
    dbs.append(db)
    conf = wt.write_config(down_dir, db, extra="[log]\nlevel = debug\n")
    down = wt.Wsusd(conf).start()
    servers.append(down)

    basic = Squid(tmp, "basic", USER, PASSWORD, REALM).start()
    squids.append(basic)
    for k, v in (("upstream", upstream), ("download", "all"),
                 ("proxy", "http://127.0.0.1:%d" % basic.port), ("proxy-user", USER)):
        r = ctl(conf, outputs, "config", "set", k, v)
        wt.check(r.returncode == 0, "config set %s" % k, r)

    # the password from standard input (as `read -s` or a pipe would give it)
    r = ctl(conf, outputs, "config", "set", "proxy-password", "-", stdin=PASSWORD + "\n")
    wt.check(r.returncode == 0 and r.stdout == "proxy-password (set)  (default: empty)\n" and
             r.stderr == "", "config set proxy-password - takes the line from standard input, "
             "without a warning", r)
    rc, typed, echo = tty_password(conf)
    outputs.append(typed)
    wt.check(rc == 0 and typed.startswith("proxy-password: ") and PASSWORD not in typed and
             "proxy-password (set)" in typed and echo,
             "on a terminal, config set proxy-password - prompts and does not echo", typed)
    rc, typed, echo = tty_password(conf, b"half-typed\x03")
    wt.check(rc == 1 and "wsusctl: config set proxy-password -: interrupted; nothing was "
             "changed" in typed and "half-typed" not in typed and echo,
             "Ctrl-C at the prompt changes nothing and gives the terminal its echo back",
             (rc, typed, echo))
    r = ctl(conf, outputs, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "sync through squid with basic authentication (proxy-auth any, "
             "password from standard input) succeeds", r)
    log = basic.access_log()
    wt.check(" TCP_MISS/200 " in log and (" %s HIER_DIRECT/127.0.0.1" % USER) in log,
             "squid forwarded the calls for the authenticated user %s" % USER, log[-2000:])
    want = set(x[0] for x in wt.sql(root_db, "SELECT encode(sha1, 'hex') FROM file"))
    got = set(x[0] for x in wt.sql(db, "SELECT encode(sha1, 'hex') FROM file WHERE state = "
                                       "'present'"))
    wt.check(want and want <= got, "every file came through squid (%d)" % len(want))

    # a wrong password (standard input again): the proxy's refusal in plain words
    r = ctl(conf, outputs, "config", "set", "proxy-password", "-", stdin="wrong-" + PASSWORD)
    wt.check(r.returncode == 0, "config set proxy-password - without a final newline", r)
    r = ctl(conf, outputs, "sync", "now", "--wait")
    h = last_sync(conf, outputs)
    msg = ("the proxy refused our credentials when calling upstream %s (HTTP 407); check "
           "proxy-user, proxy-password and proxy-auth" % upstream)
    wt.check(r.returncode == 1 and h["result"] == "failed" and msg in (h["error"] or ""),
             "a wrong proxy password fails the sync with the proxy's refusal", h)
    wt.check(msg in r.stderr + r.stdout, "sync now --wait prints the reason", r)

    # the command-line form still works but warns, naming the standard-input form
    r = ctl(conf, outputs, "config", "set", "proxy-password", PASSWORD)
    wt.check(r.returncode == 0 and r.stderr ==
             "wsusctl: warning: proxy-password was given on the command line, where the shell "
             "history and ps can show it; next time use wsusctl config set proxy-password - "
             "(reads it from standard input)\n", "the command-line form warns and names the "
             "- form", r)
    r = ctl(conf, outputs, "config", "set", "proxy-password", "-", stdin="")
    wt.check(r.returncode == 1 and r.stderr == "wsusctl: config set proxy-password -: nothing "
             "on standard input; give the value as one line\n",
             "an empty standard input is refused", r)
    basic.stop()

    # digest: squid offers only Digest, proxy-auth any must negotiate it
    digest = Squid(tmp, "digest", USER, PASSWORD, REALM).start()
    squids.append(digest)
    r = ctl(conf, outputs, "config", "set", "proxy", "http://127.0.0.1:%d" % digest.port)
    wt.check(r.returncode == 0, "config set proxy (digest squid)", r)
    r = ctl(conf, outputs, "config", "set", "proxy-password", "-", stdin=PASSWORD + "\n")
    r = ctl(conf, outputs, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "sync through squid with digest authentication succeeds", r)
    log = digest.access_log()
    wt.check((" %s HIER_DIRECT/127.0.0.1" % USER) in log and "TCP_DENIED/407" in log,
             "squid challenged with Digest and then forwarded for %s" % USER, log[-2000:])
    r = ctl(conf, outputs, "config", "set", "proxy-auth", "digest")
    r = ctl(conf, outputs, "config", "set", "proxy-password", "-", stdin="not-it\n")
    r = ctl(conf, outputs, "sync", "now", "--wait")
    h = last_sync(conf, outputs)
    wt.check(r.returncode == 1 and msg in (h["error"] or ""),
             "a wrong digest password fails with the proxy's refusal", h)
    digest.stop()

    # NTLM (ntlm_fake_auth accepts any handshake: this proves libcurl's NTLM goes through)
    ntlm = Squid(tmp, "ntlm", USER, PASSWORD, REALM).start()
    squids.append(ntlm)
    for k, v in (("proxy", "http://127.0.0.1:%d" % ntlm.port), ("proxy-auth", "ntlm"),
                 ("proxy-domain", "TESTDOM")):
        r = ctl(conf, outputs, "config", "set", k, v)
        wt.check(r.returncode == 0, "config set %s (ntlm squid)" % k, r)
    r = ctl(conf, outputs, "config", "set", "proxy-password", "-", stdin=PASSWORD + "\n")
    r = ctl(conf, outputs, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "sync through squid with NTLM authentication succeeds", r)
    log = ntlm.access_log()
    wt.check(" TCP_MISS/200 " in log and "HIER_DIRECT/127.0.0.1" in log,
             "squid forwarded the NTLM-authenticated calls", log[-2000:])
    ntlm.stop()

    # the password is nowhere: wsusctl output, --json, history, wsusd log, squid logs
    for args in (("config", "get"), ("--json", "config", "get"), ("sync", "status", "--json"),
                 ("sync", "history", "--json"), ("--json", "config", "get", "proxy-password")):
        ctl(conf, outputs, *args)
    texts = {"wsusctl output": "".join(outputs), "wsusd log": down.output(),
             "upstream log": root.output(),
             "squid logs": basic.logs() + digest.logs() + ntlm.logs()}
    for what, text in texts.items():
        wt.check(PASSWORD not in text, "the proxy password appears nowhere in the %s" % what)
    for s in servers:
        s.stop()
        wt.check(s.sanitizer_report() is None, "wsusd ran clean (no sanitizer report)",
                 s.sanitizer_report())


if __name__ == "__main__":
    main()
