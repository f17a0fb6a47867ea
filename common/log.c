/*
 * log: stderr/syslog logging with one message style. Does not buffer or rotate: syslog or the
 * journal does that. Each message is written with one write so threads do not interleave.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *log_progname = "wsusd";
static int log_to_stderr = 1;
static enum log_level log_level_now = LOG_LEVEL_INFO;

void log_init(const char *progname, int to_stderr, enum log_level level)
{
    log_progname = progname;
    log_to_stderr = to_stderr;
    log_level_now = level;
    if (!to_stderr)
        openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
    log_level_now = level;
}

enum log_level log_get_level(void)
{
    return log_level_now;
}

static void log_emit(enum log_level level, int with_errno, int saved_errno, const char *fmt,
                     va_list ap) __attribute__((format(printf, 4, 0)));

static void log_emit(enum log_level level, int with_errno, int saved_errno, const char *fmt,
                     va_list ap)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    char msg[4096];
    int n;

    if (level > log_level_now)
        return;
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n < 0)
        return;
    if (with_errno && (size_t)n < sizeof(msg))
        snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(saved_errno));
    if (log_to_stderr) {
        char line[4400];
        char stamp[32];
        struct tm tm;
        time_t now = time(NULL);
        int len;

        gmtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
        len = snprintf(line, sizeof(line), "%s %s[%ld] %s: %s\n", stamp, log_progname,
                       (long)getpid(), names[level], msg);
        if (len < 0)
            return;
        if ((size_t)len >= sizeof(line))
            len = sizeof(line) - 1;
        if (write(STDERR_FILENO, line, (size_t)len) < 0)
            return;
    } else {
        syslog(prio[level], "%s", msg);
    }
}

#define LOG_BODY(level, with_errno)                                                                \
    do {                                                                                           \
        int saved = errno;                                                                         \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        log_emit(level, with_errno, saved, fmt, ap);                                               \
        va_end(ap);                                                                                \
        errno = saved;                                                                             \
    } while (0)

void log_warn(const char *fmt, ...)
{
    LOG_BODY(LOG_LEVEL_WARN, 1);
}

void log_warnx(const char *fmt, ...)
{
    LOG_BODY(LOG_LEVEL_WARN, 0);
}

void log_vwarnx_keep(char *out, size_t outlen, const char *fmt, va_list ap)
{
    vsnprintf(out, outlen, fmt, ap);
    log_warnx("%s", out);
}

void log_info(const char *fmt, ...)
{
    LOG_BODY(LOG_LEVEL_INFO, 0);
}

void log_debug(const char *fmt, ...)
{
    LOG_BODY(LOG_LEVEL_DEBUG, 0);
}

void fatal(const char *fmt, ...)
{
    LOG_BODY(LOG_LEVEL_ERROR, 1);
    exit(1);
}

void fatalx(const char *fmt, ...)
{
    LOG_BODY(LOG_LEVEL_ERROR, 0);
    exit(1);
}

char *log_redact_url(const char *url, char *out, size_t outlen)
{
    const char *scheme_end, *at, *slash;

    if (outlen == 0)
        return out;
    out[0] = '\0';
    if (url == NULL)
        return out;
    scheme_end = strstr(url, "://");
    if (scheme_end == NULL) {
        snprintf(out, outlen, "%s", url);
        return out;
    }
    scheme_end += 3;
    slash = strchr(scheme_end, '/');
    at = strchr(scheme_end, '@');
    if (at == NULL || (slash != NULL && at > slash)) {
        snprintf(out, outlen, "%s", url);
        return out;
    }
    snprintf(out, outlen, "%.*s***%s", (int)(scheme_end - url), url, at);
    return out;
}
