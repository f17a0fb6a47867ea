/*
 * pgcluster: create/start/stop the private PostgreSQL cluster with Debian's server binaries,
 * and back up a catalog database with pg_dump. Runs initdb/pg_ctl/psql/pg_dump as child
 * processes; does not start, stop or configure a shared or remote server.
 */
#include "pgcluster.h"
#include "buf.h"
#include "log.h"
#include "strutil.h"
#include "xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Highest /usr/lib/postgresql/<major>/bin that has initdb. */
static int pgcluster_bindir(char *out, size_t outlen)
{
    DIR *d = opendir("/usr/lib/postgresql");
    struct dirent *e;
    long best = -1;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char path[512];
        char *end;
        long v = strtol(e->d_name, &end, 10);

        if (end == e->d_name || *end != '\0')
            continue;
        if (str_fmt(path, sizeof(path), "/usr/lib/postgresql/%s/bin/initdb", e->d_name) == 0 &&
            access(path, X_OK) == 0 && v > best)
            best = v;
    }
    closedir(d);
    if (best < 0)
        return -1;
    return str_fmt(out, outlen, "/usr/lib/postgresql/%ld/bin", best);
}

/* Run argv (as user pg when we are root), output appended to logpath. Exit status or -1. */
static int pgcluster_run(char *const argv[], const char *logpath, const struct passwd *pw)
{
    pid_t pid;
    int status;

    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd;

        /* switch user first: the log file must belong to the user who writes it later */
        if (pw != NULL) {
            if (setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
                _exit(126);
        }
        fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        fd = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, STDIN_FILENO);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int pgcluster_mkdir(const char *path, const struct passwd *pw)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return -1;
    if (pw != NULL && chown(path, pw->pw_uid, pw->pw_gid) < 0)
        return -1;
    return 0;
}

int pgcluster_ensure(const char *state_dir, char *conninfo, size_t len, char *err, size_t errlen)
{
    char bindir[256], base[1024], data[1100], sock[1100], logf[1100], prog[512], opts[1300];
    char pidf[1200];
    struct passwd *pw = NULL;
    struct stat st;
    int rc;

    if (pgcluster_bindir(bindir, sizeof(bindir)) < 0) {
        snprintf(err, errlen,
                 "no PostgreSQL server found under /usr/lib/postgresql; install it "
                 "(apt-get install postgresql) or set [database] conninfo");
        return -1;
    }
    if (geteuid() == 0) {
        pw = getpwnam("postgres");
        if (pw == NULL) {
            snprintf(err, errlen,
                     "running as root needs the \"postgres\" user for the private database; "
                     "install Debian's postgresql package or set [database] conninfo");
            return -1;
        }
    }
    if (str_fmt(base, sizeof(base), "%s/pg", state_dir) < 0 ||
        str_fmt(data, sizeof(data), "%s/data", base) < 0 ||
        str_fmt(sock, sizeof(sock), "%s/sock", base) < 0 ||
        str_fmt(logf, sizeof(logf), "%s/postgresql.log", base) < 0 ||
        str_fmt(pidf, sizeof(pidf), "%s/PG_VERSION", data) < 0 ||
        str_fmt(prog, sizeof(prog), "%s/initdb", bindir) < 0) {
        snprintf(err, errlen, "state_dir path too long");
        return -1;
    }
    if (strlen(sock) + sizeof("/.s.PGSQL.5432") > sizeof(((struct sockaddr_un *)0)->sun_path)) {
        snprintf(err, errlen,
                 "state_dir %s is too long for a unix socket path; use a shorter state_dir",
                 state_dir);
        return -1;
    }
    if (mkdir(state_dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create state_dir %s: %s", state_dir, strerror(errno));
        return -1;
    }
    if (pgcluster_mkdir(base, pw) < 0 || pgcluster_mkdir(sock, pw) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", base, strerror(errno));
        return -1;
    }
    if (stat(pidf, &st) < 0) {
        /* trust is safe here: the socket directory is 0700, only its owner (and root) get in */
        char *argv[] = {prog, "-D",       data, "-A",   "trust",
                        "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
                        NULL};
        log_info("creating the private PostgreSQL cluster in %s", data);
        if (pgcluster_run(argv, logf, pw) != 0) {
            snprintf(err, errlen, "initdb failed; see %s", logf);
            return -1;
        }
    }
    if (str_fmt(prog, sizeof(prog), "%s/pg_ctl", bindir) < 0) {
        snprintf(err, errlen, "PostgreSQL's bin directory path is too long");
        return -1;
    }
    {
        char *argv[] = {prog, "-D", data, "status", NULL};
        rc = pgcluster_run(argv, "/dev/null", pw);
    }
    if (rc != 0) {
        snprintf(opts, sizeof(opts), "-k %s -c listen_addresses=", sock);
        char *argv[] = {prog, "-D", data, "-l", logf, "-w", "-t", "60", "-o", opts, "start", NULL};
        log_info("starting the private PostgreSQL cluster in %s", data);
        if (pgcluster_run(argv, "/dev/null", pw) != 0) {
            snprintf(err, errlen, "the private PostgreSQL cluster did not start; see %s", logf);
            return -1;
        }
    }
    {
        char psql[300], cmd_conn[1300];
        char *argv[] = {psql, "-X", "-q", "-d", cmd_conn, "-c", "CREATE DATABASE wsusd", NULL};
        char *argv_check[] = {
            psql, "-X",     "-q", "-At",
            "-d", cmd_conn, "-c", "SELECT 1 FROM pg_database WHERE datname = 'wsusd'",
            NULL};
        char chk[1200];

        if (str_fmt(psql, sizeof(psql), "%s/psql", bindir) < 0 ||
            str_fmt(cmd_conn, sizeof(cmd_conn), "host=%s user=postgres dbname=postgres", sock) <
                0 ||
            str_fmt(chk, sizeof(chk), "%s/dbcheck.out", base) < 0) {
            snprintf(err, errlen, "state_dir path too long");
            return -1;
        }
        unlink(chk);
        if (pgcluster_run(argv_check, chk, pw) != 0) {
            snprintf(err, errlen, "cannot query the private PostgreSQL cluster; see %s", logf);
            return -1;
        }
        if (stat(chk, &st) == 0 && st.st_size == 0 && pgcluster_run(argv, logf, pw) != 0) {
            snprintf(err, errlen, "cannot create database wsusd; see %s", logf);
            return -1;
        }
        unlink(chk);
    }
    if ((size_t)snprintf(conninfo, len, "host=%s user=postgres dbname=wsusd", sock) >= len) {
        snprintf(err, errlen, "state_dir path too long");
        return -1;
    }
    return 0;
}

void pgcluster_revive(void *state_dir)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static time_t last;
    char conninfo[1200], err[1024];
    time_t now;

    pthread_mutex_lock(&lock);
    now = time(NULL);
    if (last != 0 && now - last < PGCLUSTER_REVIVE_S) {
        pthread_mutex_unlock(&lock);
        return;
    }
    last = now;
    log_warnx("the private PostgreSQL cluster in %s/pg is unreachable; checking it",
              (char *)state_dir);
    if (pgcluster_ensure(state_dir, conninfo, sizeof(conninfo), err, sizeof(err)) < 0)
        log_warnx("cannot bring the private PostgreSQL cluster back: %s", err);
    last = time(NULL);
    pthread_mutex_unlock(&lock);
}

int pgcluster_stop(const char *state_dir)
{
    char bindir[256], data[1100], prog[512];
    struct passwd *pw = NULL;

    if (pgcluster_bindir(bindir, sizeof(bindir)) < 0)
        return -1;
    if (geteuid() == 0)
        pw = getpwnam("postgres");
    if (str_fmt(data, sizeof(data), "%s/pg/data", state_dir) < 0 ||
        str_fmt(prog, sizeof(prog), "%s/pg_ctl", bindir) < 0)
        return -1;
    char *argv[] = {prog, "-D", data, "-m", "fast", "-w", "stop", NULL};
    return pgcluster_run(argv, "/dev/null", pw) == 0 ? 0 : -1;
}

int pgcluster_conninfo(const char *state_dir, char *out, size_t len)
{
    int n = snprintf(out, len, "host=%s/pg/sock user=postgres dbname=wsusd", state_dir);

    return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int64_t tree_bytes;

static int tree_add(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (type == FTW_F)
        tree_bytes += (int64_t)sb->st_size;
    return 0;
}

int pgcluster_status(const char *state_dir, struct pgcluster_status *st, char *err, size_t errlen)
{
    char bindir[256], prog[512], path[1200];
    struct passwd *pw = NULL;
    struct stat sb;
    FILE *f;

    memset(st, 0, sizeof(*st));
    if (pgcluster_bindir(bindir, sizeof(bindir)) < 0) {
        snprintf(err, errlen,
                 "no PostgreSQL server found under /usr/lib/postgresql; install it "
                 "(apt-get install postgresql) or set [database] conninfo");
        return -1;
    }
    if (snprintf(st->data_dir, sizeof(st->data_dir), "%s/pg/data", state_dir) >=
            (int)sizeof(st->data_dir) ||
        snprintf(st->socket_dir, sizeof(st->socket_dir), "%s/pg/sock", state_dir) >=
            (int)sizeof(st->socket_dir) ||
        snprintf(st->log_file, sizeof(st->log_file), "%s/pg/postgresql.log", state_dir) >=
            (int)sizeof(st->log_file)) {
        snprintf(err, errlen, "state_dir path too long");
        return -1;
    }
    if (str_fmt(path, sizeof(path), "%s/PG_VERSION", st->data_dir) < 0 ||
        str_fmt(prog, sizeof(prog), "%s/pg_ctl", bindir) < 0) {
        snprintf(err, errlen, "state_dir path too long");
        return -1;
    }
    st->exists = stat(path, &sb) == 0;
    if (!st->exists)
        return 0;
    if (geteuid() == 0)
        pw = getpwnam("postgres");
    {
        char *argv[] = {prog, "-D", st->data_dir, "status", NULL};
        st->running = pgcluster_run(argv, "/dev/null", pw) == 0;
    }
    if (st->running && str_fmt(path, sizeof(path), "%s/postmaster.pid", st->data_dir) == 0 &&
        (f = fopen(path, "r")) != NULL) {
        char line[32];
        if (fgets(line, sizeof(line), f) != NULL)
            st->pid = strtol(line, NULL, 10);
        fclose(f);
    }
    tree_bytes = 0;
    nftw(st->data_dir, tree_add, 16, FTW_PHYS);
    st->data_bytes = tree_bytes;
    return 0;
}

/* conninfo's settings without the password (libpq quoting) into out; the password into pw. */
static int conninfo_split(const char *conninfo, struct buf *out, char *pw, size_t pwlen, char *err,
                          size_t errlen)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &msg), *o;

    pw[0] = '\0';
    if (opts == NULL) {
        snprintf(err, errlen, "[database] conninfo cannot be read: %s",
                 msg != NULL ? msg : "out of memory");
        PQfreemem(msg);
        return -1;
    }
    for (o = opts; o->keyword != NULL; o++) {
        const char *v = o->val;
        if (v == NULL)
            continue;
        if (strcmp(o->keyword, "password") == 0) {
            if ((size_t)snprintf(pw, pwlen, "%s", v) >= pwlen) {
                snprintf(err, errlen, "the password in [database] conninfo is too long");
                PQconninfoFree(opts);
                return -1;
            }
            continue;
        }
        buf_printf(out, "%s%s='", out->len > 0 ? " " : "", o->keyword);
        for (; *v != '\0'; v++) {
            if (*v == '\'' || *v == '\\')
                buf_add_str(out, "\\");
            buf_add(out, v, 1);
        }
        buf_add_str(out, "'");
    }
    PQconninfoFree(opts);
    return 0;
}

/* s in double quotes for a POSIX shell. */
static void shell_quote(struct buf *out, const char *s)
{
    buf_add_str(out, "\"");
    for (; *s != '\0'; s++) {
        if (strchr("\"$`\\", *s) != NULL)
            buf_add_str(out, "\\");
        buf_add(out, s, 1);
    }
    buf_add_str(out, "\"");
}

int pgcluster_dump(const char *conninfo, const char *file, char *restore, size_t rlen, char *err,
                   size_t errlen)
{
    char bindir[256], prog[512], password[512], partial[4200], msg[2048];
    struct buf ci, cmd;
    int fds[2] = {-1, -1}, status, rc = -1;
    size_t got = 0;
    pid_t pid;

    restore[0] = '\0';
    buf_init(&ci, 8192);
    buf_init(&cmd, 16384);
    if (pgcluster_bindir(bindir, sizeof(bindir)) < 0) {
        snprintf(err, errlen,
                 "no PostgreSQL client programs under /usr/lib/postgresql (pg_dump); "
                 "install postgresql-client");
        goto out;
    }
    if (conninfo_split(conninfo, &ci, password, sizeof(password), err, errlen) < 0)
        goto out;
    if (snprintf(partial, sizeof(partial), "%s.partial", file) >= (int)sizeof(partial)) {
        snprintf(err, errlen, "backup file name too long");
        goto out;
    }
    if (str_fmt(prog, sizeof(prog), "%s/pg_dump", bindir) < 0) {
        snprintf(err, errlen, "PostgreSQL's bin directory path is too long");
        goto out;
    }
    if (pipe(fds) < 0) {
        snprintf(err, errlen, "cannot run pg_dump: %s", strerror(errno));
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot run pg_dump: %s", strerror(errno));
        goto out;
    }
    if (pid == 0) {
        char *argv[] = {prog,    "-Fc", "--no-password",      "-f",
                        partial, "-d",  (char *)buf_str(&ci), NULL};
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDOUT_FILENO);
        }
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        if (password[0] != '\0')
            setenv("PGPASSWORD", password, 1);
        execv(prog, argv);
        _exit(127);
    }
    close(fds[1]);
    fds[1] = -1;
    for (;;) {
        ssize_t n = read(fds[0], msg + got, sizeof(msg) - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got == sizeof(msg) - 1) {
            char sink[512];
            while (read(fds[0], sink, sizeof(sink)) > 0) /* keep pg_dump from blocking */
                ;
            break;
        }
    }
    msg[got] = '\0';
    while (got > 0 && (msg[got - 1] == '\n' || msg[got - 1] == ' '))
        msg[--got] = '\0';
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            status = -1;
            break;
        }
    if (status != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        unlink(partial);
        snprintf(err, errlen, "pg_dump of the catalog failed: %s",
                 msg[0] ? msg : "no message (see the PostgreSQL log)");
        goto out;
    }
    if (rename(partial, file) < 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", partial, file, strerror(errno));
        unlink(partial);
        goto out;
    }
    buf_add_str(&cmd, "pg_restore --clean --if-exists --no-owner -d ");
    shell_quote(&cmd, buf_str(&ci));
    buf_add_str(&cmd, " ");
    shell_quote(&cmd, file);
    if (cmd.len >= rlen) {
        snprintf(err, errlen, "the restore command is too long to show");
        goto out;
    }
    snprintf(restore, rlen, "%s", buf_str(&cmd));
    rc = 0;
out:
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    explicit_bzero(password, sizeof(password));
    buf_free(&ci);
    buf_free(&cmd);
    return rc;
}
