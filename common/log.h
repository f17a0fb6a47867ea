/*
 * log: the one logging API of wsusd and wsusctl (OpenSMTPD style).
 * Messages are lower case, short and factual; detail and the fix go on their own line.
 * Secrets never reach a log line: callers pass redacted strings (see log_redact_url()).
 * Output goes to stderr (foreground, wsusctl) or syslog (daemon). Thread-safe.
 */
#ifndef WSUS_LOG_H
#define WSUS_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Start logging as `progname`. to_stderr != 0 writes to stderr, else to syslog. */
void log_init(const char *progname, int to_stderr, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* log_warn appends ": strerror(errno)"; the x variants do not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Format a message into out (cut to fit outlen) and log it as log_warnx does: for callers that
 * also keep the text (the first error of a run). */
void log_vwarnx_keep(char *out, size_t outlen, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log at error level and exit(1). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Copy url into out (size outlen) with any "user:password@" part replaced by "***@".
 * Always NUL-terminates; truncates silently. Returns out.
 */
char *log_redact_url(const char *url, char *out, size_t outlen);

#endif
