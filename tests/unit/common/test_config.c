/*
 * Tests for config: the admin listen must be a loopback address unless [admin] tls_cert/key are
 * set, the admin token file is refused when others may read it or when it holds anything but a
 * token wsusd generates, and a world-readable config holding a database password is reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"
#include "xmalloc.h"

#define TOKEN "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Write text to dir/name with mode; returns the path (malloc'd). */
static char *write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static void test_loopback(void **state)
{
    (void)state;
    assert_true(config_is_loopback("127.0.0.1"));
    assert_true(config_is_loopback("127.0.0.2"));
    assert_true(config_is_loopback("::1"));
    assert_true(config_is_loopback("localhost"));
    assert_false(config_is_loopback("0.0.0.0"));
    assert_false(config_is_loopback("::"));
    assert_false(config_is_loopback("10.0.0.1"));
    assert_false(config_is_loopback("128.0.0.1"));
    assert_false(config_is_loopback("wsus.example.com"));
}

/* config_load of a file holding text: its result and message. */
static int load(const char *dir, const char *text, char *err, size_t errlen, struct config *cfg)
{
    char *path = write_file(dir, "wsusd.conf", text, 0600);
    int rc;

    config_defaults(cfg);
    rc = config_load(cfg, path, 0, err, errlen);
    free(path);
    return rc;
}

static void test_admin_listen(void **state)
{
    char *dir = test_tmpdir(), err[1024], want[1024];
    struct config cfg;

    (void)state;
    assert_int_equal(load(dir, "[admin]\nlisten = 127.0.0.1:9000\n", err, sizeof(err), &cfg), 0);
    config_free(&cfg);
    assert_int_equal(load(dir, "[admin]\nlisten = [::1]:9000\n", err, sizeof(err), &cfg), 0);
    config_free(&cfg);
    assert_int_equal(load(dir, "[admin]\nlisten = 0.0.0.0:8532\n", err, sizeof(err), &cfg), -1);
    config_free(&cfg);
    snprintf(want, sizeof(want),
             "%s/wsusd.conf: [admin] listen 0.0.0.0:8532 is not a loopback address and the admin "
             "API has no TLS, so its bearer token would cross the network in clear text; set "
             "[admin] tls_cert and tls_key to serve it over HTTPS, or use 127.0.0.1:8532 (reach "
             "it through ssh)",
             dir);
    assert_string_equal(err, want);
    assert_int_equal(load(dir, "[admin]\nlisten = 192.168.1.5:8532\n", err, sizeof(err), &cfg), -1);
    config_free(&cfg);
    assert_non_null(strstr(err, "192.168.1.5:8532 is not a loopback address"));
    /* with TLS another address is allowed, whatever the order of the lines */
    assert_int_equal(load(dir,
                          "[admin]\nlisten = 0.0.0.0:8532\ntls_cert = /etc/c.pem\n"
                          "tls_key = /etc/k.pem\n",
                          err, sizeof(err), &cfg),
                     0);
    assert_string_equal(cfg.admin_tls_cert, "/etc/c.pem");
    config_free(&cfg);
    assert_int_equal(load(dir, "[admin]\ntls_cert = /etc/c.pem\nlisten = 0.0.0.0:8532\n", err,
                          sizeof(err), &cfg),
                     -1);
    config_free(&cfg);
    snprintf(want, sizeof(want),
             "%s/wsusd.conf: [admin] tls_cert and tls_key go together; set both to PEM files (or "
             "neither)",
             dir);
    assert_string_equal(err, want);
    test_rmtree(dir);
    free(dir);
}

/* [server] trusted_proxies and name: the front-ends behind a load balancer. */
static void test_front_end(void **state)
{
    char *dir = test_tmpdir(), err[1024], want[1024], name[128], host[256];
    struct config cfg;

    (void)state;
    assert_int_equal(load(dir, "[server]\ntrusted_proxies = 10.0.0.0/8, 192.0.2.7 fd00::/8\n", err,
                          sizeof(err), &cfg),
                     0);
    assert_string_equal(cfg.trusted_proxies, "10.0.0.0/8, 192.0.2.7 fd00::/8");
    config_free(&cfg);
    assert_int_equal(load(dir, "[server]\ntrusted_proxies = 10.0.0.0/8, lb.example.com\n", err,
                          sizeof(err), &cfg),
                     -1);
    config_free(&cfg);
    snprintf(want, sizeof(want),
             "%s/wsusd.conf:2: [server] trusted_proxies: \"lb.example.com\" is not an address or "
             "a network; write addresses or networks like 10.1.0.0/16, separated by commas",
             dir);
    assert_string_equal(err, want);

    assert_int_equal(load(dir, "[server]\nname = wsus-a\n", err, sizeof(err), &cfg), 0);
    config_front_end_name(&cfg, name, sizeof(name));
    assert_string_equal(name, "wsus-a");
    config_free(&cfg);
    assert_int_equal(load(dir, "[server]\nlisten = 0.0.0.0:8530\n", err, sizeof(err), &cfg), 0);
    config_front_end_name(&cfg, name, sizeof(name));
    assert_int_equal(gethostname(host, sizeof(host)), 0);
    snprintf(want, sizeof(want), "%s:8530", host);
    assert_string_equal(name, want);
    config_free(&cfg);
    test_rmtree(dir);
    free(dir);
}

static void test_token_file(void **state)
{
    char *dir = test_tmpdir(), err[1024], want[1024], tok[CONFIG_TOKEN_LEN + 1];
    char *p;

    (void)state;
    p = write_file(dir, "good", TOKEN "\n", 0600);
    assert_int_equal(config_read_token(p, "", tok, sizeof(tok), err, sizeof(err)), 0);
    assert_string_equal(tok, TOKEN);
    free(p);

    /* readable or writable by others: refused, with the fix */
    p = write_file(dir, "open", TOKEN "\n", 0666);
    assert_int_equal(config_read_token(p, "", tok, sizeof(tok), err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "the admin token %s can be read or written by other users (mode 0666); run chmod "
             "600 %s",
             p, p);
    assert_string_equal(err, want);
    free(p);
    p = write_file(dir, "group", TOKEN "\n", 0640);
    assert_int_equal(config_read_token(p, "", tok, sizeof(tok), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "(mode 0640); run chmod 600"));
    free(p);

    /* a weak token (36 characters, a GUID, say) or one that is not hex */
    p = write_file(dir, "short", "6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12\n", 0600);
    assert_int_equal(config_read_token(p, "", tok, sizeof(tok), err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "the admin token %s is not one wsusd generates (64 hex digits, 256 random bits); "
             "delete it and restart wsusd to create a new one",
             p);
    assert_string_equal(err, want);
    free(p);
    p = write_file(dir, "nothex",
                   "zzzz456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", 0600);
    assert_int_equal(config_read_token(p, "", tok, sizeof(tok), err, sizeof(err)), -1);
    free(p);
    p = write_file(dir, "long", TOKEN "00\n", 0600);
    assert_int_equal(config_read_token(p, "", tok, sizeof(tok), err, sizeof(err)), -1);
    free(p);
    p = write_file(dir, "empty", "", 0600);
    assert_int_equal(config_read_token(p, "", tok, sizeof(tok), err, sizeof(err)), -1);
    free(p);

    /* a FIFO is refused at once, not waited on */
    p = xasprintf("%s/fifo", dir);
    assert_int_equal(mkfifo(p, 0600), 0);
    assert_int_equal(config_read_token(p, "", tok, sizeof(tok), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is not a regular file"));
    free(p);

    /* missing: the caller's hint ends the message */
    p = xasprintf("%s/missing", dir);
    assert_int_equal(config_read_token(p, "; run it as root", tok, sizeof(tok), err, sizeof(err)),
                     -1);
    snprintf(want, sizeof(want),
             "cannot read the admin token %s: No such file or directory; run "
             "it as root",
             p);
    assert_string_equal(err, want);
    free(p);
    test_rmtree(dir);
    free(dir);
}

static void test_exposed_secret(void **state)
{
    char *dir = test_tmpdir(), err[1024], msg[1024], want[1024];
    struct config cfg;
    char *path;

    (void)state;
    assert_int_equal(load(dir, "[database]\nconninfo = host=db user=wsusd password=s3cret\n", err,
                          sizeof(err), &cfg),
                     0);
    path = xstrdup(cfg.path);
    assert_int_equal(config_exposed_secret(&cfg, msg, sizeof(msg)), 0); /* 0600 */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(config_exposed_secret(&cfg, msg, sizeof(msg)), 1);
    snprintf(want, sizeof(want),
             "%s can be read by every user (mode 0644) and its [database] conninfo holds a "
             "password; run chown root:wsusd %s && chmod 640 %s, or move the password to "
             "~/.pgpass of the wsusd user",
             path, path, path);
    assert_string_equal(msg, want);
    assert_null(strstr(msg, "s3cret"));
    config_free(&cfg);

    /* the URI form too; no password: nothing to say */
    assert_int_equal(
        load(dir, "[database]\nconninfo = postgresql://wsusd:pw@db/wsus\n", err, sizeof(err), &cfg),
        0);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(config_exposed_secret(&cfg, msg, sizeof(msg)), 1);
    config_free(&cfg);
    assert_int_equal(
        load(dir, "[database]\nconninfo = host=db user=wsusd\n", err, sizeof(err), &cfg), 0);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(config_exposed_secret(&cfg, msg, sizeof(msg)), 0);
    config_free(&cfg);
    free(path);
    test_rmtree(dir);
    free(dir);
}

/* config_set_option(): one option rewritten, everything else (comments, other sections, case
 * of other keys) kept; the key added to its section or the section appended; the mode kept. */
static void test_set_option(void **state)
{
    char *dir = test_tmpdir(), err[1024], *text, *path;
    struct stat st;

    (void)state;
    path = write_file(dir, "wsusd.conf",
                      "# wsusd\n[server]\nlisten = 127.0.0.1:8530\n\n[storage]\n"
                      "state_dir = /var/lib/wsusd\n  Content_Dir=/old/place ; was here\n"
                      "[log]\nlevel = info\n",
                      0640);
    assert_int_equal(
        config_set_option(path, "storage", "content_dir", "/new/place", err, sizeof(err)), 0);
    text = test_read_file(path, NULL);
    assert_string_equal(text, "# wsusd\n[server]\nlisten = 127.0.0.1:8530\n\n[storage]\n"
                              "state_dir = /var/lib/wsusd\ncontent_dir = /new/place\n"
                              "[log]\nlevel = info\n");
    free(text);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);

    /* the section without the key, then no such section, then a last line without newline */
    free(path);
    path = write_file(dir, "wsusd.conf", "[storage]\nstate_dir = /s\n[log]\nlevel = info", 0600);
    assert_int_equal(config_set_option(path, "storage", "content_dir", "/c", err, sizeof(err)), 0);
    assert_int_equal(config_set_option(path, "admin", "listen", "127.0.0.1:9", err, sizeof(err)),
                     0);
    text = test_read_file(path, NULL);
    assert_string_equal(text, "[storage]\nstate_dir = /s\ncontent_dir = /c\n[log]\nlevel = "
                              "info\n\n[admin]\nlisten = 127.0.0.1:9\n");
    free(text);

    assert_int_equal(config_set_option(path, "storage", "content_dir", "/a\nb", err, sizeof(err)),
                     -1);
    assert_string_equal(err, "the value for content_dir is not one line");
    free(path);
    path = xasprintf("%s/missing.conf", dir);
    assert_int_equal(config_set_option(path, "storage", "content_dir", "/c", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot read"));
    free(path);
    test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loopback),   cmocka_unit_test(test_admin_listen),
        cmocka_unit_test(test_token_file), cmocka_unit_test(test_exposed_secret),
        cmocka_unit_test(test_set_option), cmocka_unit_test(test_front_end),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
