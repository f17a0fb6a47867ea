"""wsusctl as a newcomer meets it before anything runs: help, versions, a verb's usage, typos
answered with the nearest verb, a bare family word answered with its verbs, and the token
message when wsusd has never started with this configuration. No database, no daemon."""

import os
import subprocess

import wsustest as wt

WSUSCTL = os.path.join(wt.BIN, "wsusctl")


def ctl(*args, conf=None):
    argv = [WSUSCTL] + (["-c", conf] if conf else []) + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


with wt.TempDir() as tmp:
    conf = os.path.join(tmp, "wsusd.conf")
    with open(conf, "w") as f:
        f.write("[storage]\nstate_dir = %s/state\n[admin]\nlisten = 127.0.0.1:%d\n" % (tmp, wt.free_port()))

    for args in (("--help",), ("-h",), ("help",)):
        r = ctl(*args)
        wt.expect(r.returncode == 0 and r.stdout.startswith("usage: wsusctl ") and "sync now" in r.stdout,
                  "wsusctl %s does not print the usage with every verb: %r" % (" ".join(args), r))
    r = ctl("--version")
    wt.expect(r.returncode == 0 and r.stdout.startswith("wsusctl ") and r.stdout.count("\n") == 1,
              "wsusctl --version does not print one version line: %r" % (r,))

    # one usage text per verb: help VERB, VERB --help and a usage error print the same line
    r = ctl("help", "sync", "now")
    wt.expect(r.returncode == 0 and r.stdout.split("\n")[0] == "usage: wsusctl sync now [--wait]",
              "help sync now does not show the verb's usage: %r" % (r,))
    r2 = ctl("sync", "now", "--help")
    wt.expect(r2.returncode == 0 and r2.stdout == r.stdout, "sync now --help differs from help sync now: %r" % (r2,))
    r = ctl("sync", "now", "--bogus", conf=conf)
    wt.expect(r.returncode == 2 and r.stderr == "wsusctl: usage: wsusctl sync now [--wait]\n"
              "With --wait, Ctrl-C stops following, not the sync: wsusctl sync cancel stops it.\n",
              "a usage error does not print the verb's usage line: %r" % (r,))
    r = ctl("help", "sync")
    wt.expect(r.returncode == 0 and all("usage: wsusctl sync %s" % v in r.stdout for v in ("now", "cancel", "status", "history")),
              "help sync does not list the sync verbs: %r" % (r,))
    r = ctl("config", "set", "only-a-key", conf=conf)
    wt.expect(r.returncode == 2 and r.stderr == "wsusctl: usage: wsusctl config set KEY VALUE\n"
              "Quote a VALUE with spaces; \"\" sets an empty value. VALUE - reads the value "
              "as one line from standard input, not echoed on a terminal: use it for secrets "
              "(wsusctl config set proxy-password -), which keeps them out of the shell history "
              "and ps.\n",
              "config set with one argument does not print its usage and note: %r" % (r,))

    # typos: the nearest verb, the family's verbs
    for args, msg in [(("sync", "nwo"), 'wsusctl: unknown verb "sync nwo"; did you mean "sync now"? '
                                        '(sync verbs: now, cancel, status, history, rollup)\n'),
                      (("updates", "lst"), 'wsusctl: unknown verb "updates lst"; did you mean "updates list"? '
                                           '(updates verbs: list, show)\n'),
                      (("config",), 'wsusctl: "config" needs one of: get, set, reset; see wsusctl help config\n'),
                      (("aprove", "x"), 'wsusctl: unknown verb "aprove"; did you mean "approve"? (see wsusctl --help)\n'),
                      (("xyzzy",), 'wsusctl: unknown verb "xyzzy"; see wsusctl --help\n'),
                      (("snyc", "now"), 'wsusctl: unknown verb "snyc"; did you mean "sync"? (sync verbs: now, cancel, status, history, rollup)\n')]:
        r = ctl(*args, conf=conf)
        wt.expect(r.returncode == 2 and r.stderr == msg,
                  "wsusctl %s: expected exit 2 and %r, got %r" % (" ".join(args), msg, r))

    # wsusd never started with this configuration: say so and what to do
    r = ctl("sync", "status", conf=conf)
    token = os.path.join(tmp, "state", "admin.token")
    wt.expect(r.returncode == 1 and r.stderr ==
              "wsusctl: the admin token %s does not exist: wsusd creates it when it first starts; start "
              "wsusd (systemctl start wsusd), or pass -c with the configuration file of the running "
              "wsusd (%s was read)\n" % (token, conf),
              "missing token file: wrong message: %r" % (r,))

wt.finish()
