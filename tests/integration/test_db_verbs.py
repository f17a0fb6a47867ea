"""wsusctl db status | stop | backup FILE (issue 11), on a private cluster of this test's own
([database] conninfo empty, state_dir in the temporary directory) and on a conninfo database
of the ctest fixture's cluster.

Private cluster: status before it exists (not created), after `db migrate` (running, its pid,
data dir, socket, log, catalog size and schema version); `db backup FILE` writes a pg_dump
custom-format file and prints the restore command, and that very command (run by sh) brings
back what was deleted after the backup; `db stop` is refused while wsusd is connected (the
message says why and what to do), `--force` stops it anyway and says wsusd will start it
again; with wsusd stopped, `db stop` stops it and status says stopped (pg_ctl agrees).
conninfo database: status shows the server and the catalog, backup works through pg_dump, and
stop is refused with the reason. `--json` gives the same as one object.
"""

import json
import os
import re
import subprocess

import wsustest as wt


def main():
    wt.run_servers(run)


def private_conf(tmp):
    d = os.path.join(tmp, "priv")
    os.makedirs(d)
    conf = wt.write_config(d, "unused")
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(re.sub(r"(?m)^conninfo = .*$", "conninfo =", text))
    return d, conf


def pg_ctl_status(data):
    bindir = sorted((d for d in os.listdir("/usr/lib/postgresql") if d.isdigit()), key=int)[-1]
    prog = os.path.join("/usr/lib/postgresql", bindir, "bin", "pg_ctl")
    cmd = [prog, "-D", data, "status"]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True).returncode


def psql_private(sock, query):
    r = subprocess.run(["psql", "-X", "-At", "-d", "host=%s user=postgres dbname=wsusd" % sock,
                        "-c", query], capture_output=True, text=True)
    return r.stdout.strip()


def run(tmp, servers, dbs):
    d, conf = private_conf(tmp)
    state = os.path.join(d, "state")
    data, sock = os.path.join(state, "pg", "data"), os.path.join(state, "pg", "sock")
    logf = os.path.join(state, "pg", "postgresql.log")

    r = wt.wsusctl(conf, "db", "status")
    wt.check(r.returncode == 0 and r.stdout.splitlines()[:2] == [
        "database: private PostgreSQL cluster ([database] conninfo is empty)",
        "  state:    not created yet (wsusd or any wsusctl verb that needs the catalog creates "
        "it)"], "db status before the cluster exists says so", r)
    wt.check(not os.path.exists(data), "db status did not create the cluster")

    r = wt.wsusctl(conf, "import", wt.data("WSUS.cab"))
    wt.check(r.returncode == 0, "import into the private cluster (creates and starts it)", r)
    r = wt.wsusctl(conf, "db", "status")
    with open(os.path.join(data, "postmaster.pid")) as f:
        pid = int(f.readline())
    lines = r.stdout.splitlines()
    wt.check(r.returncode == 0 and lines[1] == "  state:    running (pid %d)" % pid and
             re.match(r"  data:     %s \([0-9.]+ MB on disk\)$" % re.escape(data), lines[2]) and
             lines[3] == "  socket:   %s" % sock and lines[4] == "  log:      %s" % logf and
             re.match(r"  catalog:  database wsusd, [0-9.]+ MB, schema version \d+, "
                      r"0 wsusd connections$", lines[5]),
             "db status: running with its pid, data dir, socket, log and the catalog", r)
    r = wt.wsusctl(conf, "--json", "db", "status")
    j = json.loads(r.stdout) if r.returncode == 0 else {}
    wt.check(j.get("kind") == "private" and j.get("running") is True and j.get("pid") == pid and
             j.get("data_dir") == data and j.get("socket_dir") == sock and
             j.get("database") == "wsusd" and j.get("database_bytes", 0) > 0 and
             j.get("data_bytes", 0) > j.get("database_bytes", 0) and
             j.get("wsusd_connections") == 0, "db status --json", j)

    # --- backup, then the printed restore command brings back what was deleted since
    dump = os.path.join(tmp, "catalog.dump")
    r = wt.wsusctl(conf, "db", "backup", dump)
    lines = r.stdout.splitlines()
    restore = lines[2].strip() if len(lines) == 3 else ""
    size = os.path.getsize(dump) if os.path.exists(dump) else 0
    wt.check(r.returncode == 0 and lines[0] == "backed up the catalog to %s (%d bytes, pg_dump "
             "custom format)" % (dump, size) and lines[1] == "restore it (wsusd stopped) with:" and
             restore.startswith("pg_restore --clean --if-exists --no-owner -d "),
             "db backup prints the file, its size and the restore command", r)
    with open(dump, "rb") as f:
        wt.check(f.read(5) == b"PGDMP", "the backup is a pg_dump custom-format file")
    wt.check(not os.path.exists(dump + ".partial"), "no partial backup left")
    psql_private(sock, "DELETE FROM revision")
    wt.check(psql_private(sock, "SELECT count(*) FROM revision") == "0", "catalog emptied")
    r = subprocess.run(["sh", "-c", restore], capture_output=True, text=True)
    wt.check(r.returncode == 0 and psql_private(sock, "SELECT count(*) FROM revision") == "4125",
             "the printed restore command brings back the 4,125 revisions", r)
    r = wt.wsusctl(conf, "db", "backup", os.path.join(tmp, "no", "such", "dir.dump"))
    wt.check(r.returncode == 1 and r.stderr.startswith("wsusctl: cannot back up the catalog to "
                                                       "%s: pg_dump of the catalog failed: " %
                                                       os.path.join(tmp, "no", "such", "dir.dump")),
             "db backup into a missing directory fails with pg_dump's reason", r)

    # --- stop: refused while wsusd uses the cluster, --force stops it anyway
    srv = wt.Wsusd(conf).start(wait_seconds=120)
    servers.append(srv)
    r = wt.wsusctl(conf, "db", "stop")
    m = re.match(r"wsusctl: wsusd is using the private PostgreSQL cluster in %s \((\d+) "
                 r"connections?\) and would start it again when a request needs the catalog; "
                 r"stop wsusd first \(systemctl stop wsusd\), or use --force\n$" % re.escape(data),
                 r.stderr)
    wt.check(r.returncode == 1 and m is not None and int(m.group(1)) >= 1,
             "db stop is refused while wsusd is connected, saying what to do", r)
    wt.check(pg_ctl_status(data) == 0, "the refused stop left the cluster running")
    r = wt.wsusctl(conf, "db", "stop", "--force")
    wt.check(r.returncode == 0 and r.stdout == "stopped the private PostgreSQL cluster in %s; the "
             "running wsusd starts it again when a request needs the catalog\n" % data,
             "db stop --force stops it and says what wsusd will do", r)
    srv.stop()
    r = wt.wsusctl(conf, "db", "stop")
    wt.check(r.returncode == 0 and r.stdout in (
        "the private PostgreSQL cluster in %s is not running\n" % data,
        "stopped the private PostgreSQL cluster in %s\n" % data),
             "db stop with wsusd stopped", r)
    wt.check(pg_ctl_status(data) != 0, "the private cluster is stopped (pg_ctl status)")
    r = wt.wsusctl(conf, "db", "status")
    wt.check(r.returncode == 0 and r.stdout.splitlines()[1] ==
             "  state:    stopped (wsusd, or a wsusctl verb that needs the catalog, starts it)",
             "db status: stopped", r)
    r = wt.wsusctl(conf, "--json", "db", "stop")
    wt.check(r.returncode == 0 and json.loads(r.stdout) == {"data_dir": data, "was_running": False,
                                                            "running": False},
             "db stop --json", r)

    # --- a conninfo database: status and backup through libpq / pg_dump, stop refused
    db = wt.create_db("it_db_verbs")
    dbs.append(db)
    cd = os.path.join(tmp, "shared")
    os.makedirs(cd)
    cconf = wt.write_config(cd, db)
    r = wt.wsusctl(cconf, "db", "migrate")
    wt.check(r.returncode == 0, "db migrate on the conninfo database", r)
    r = wt.wsusctl(cconf, "db", "status")
    lines = r.stdout.splitlines()
    wt.check(r.returncode == 0 and lines[0] == "database: the PostgreSQL server of [database] "
             "conninfo" and lines[1].startswith("  state:    reachable (host ") and
             re.match(r"  catalog:  database it_db_verbs, [0-9.]+ MB, schema version \d+, 0 wsusd "
                      r"connections$", lines[2]), "db status on a conninfo database", r)
    r = wt.wsusctl(cconf, "db", "stop")
    wt.check(r.returncode == 1 and r.stderr == "wsusctl: the catalog is in the PostgreSQL server "
             "of [database] conninfo, not in a private cluster; wsusctl stops only its own "
             "cluster: stop that server with its service (systemctl stop postgresql)\n",
             "db stop on a conninfo database is refused with the reason", r)
    cdump = os.path.join(tmp, "shared.dump")
    r = wt.wsusctl(cconf, "--json", "db", "backup", cdump)
    j = json.loads(r.stdout) if r.returncode == 0 else {}
    wt.check(j.get("file") == cdump and j.get("bytes") == os.path.getsize(cdump) and
             j.get("format") == "pg_dump custom" and "dbname='it_db_verbs'" in j.get("restore", ""),
             "db backup --json on a conninfo database", r)


if __name__ == "__main__":
    main()
