/*
 * soap: SOAP 1.1 request envelopes (parsed through xml_parse() under SOAP limits, plus the
 * SOAP-only refusals: UTF-16, NUL bytes, other declared encodings, SOAP 1.2, no Body/operation),
 * the SOAP readers of xsi:nil and element text, value codecs, and the writing of responses and
 * faults (see soap.h). All libxml2 hardening (no DTD, no entity, no network) lives in xml.c.
 */
#include "soap.h"

#include <ctype.h>
#include <openssl/rand.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"
#include "xmalloc.h"
#include "xml.h"

static const char *const soap_error_names[] = {
    "",
    "InvalidParameters",
    "InvalidCookie",
    "InternalServerError",
    "IncompatibleProtocolVersion",
    "InvalidAuthorizationCookie",
    "FileDigestsMissing",
    "ServerChanged",
    "ServerBusy",
    "ConfigChanged",
    "RegistrationRequired",
    "CookieExpired",
    "RegistrationNotRequired",
    "FileLocationChanged",
};

const char *soap_error_name(enum soap_error e)
{
    if ((size_t)e >= sizeof(soap_error_names) / sizeof(soap_error_names[0]))
        return "InternalServerError";
    return soap_error_names[e];
}

const char *soap_error_faultcode(enum soap_error e)
{
    return (e == SOAP_ERR_INTERNAL || e == SOAP_ERR_SERVER_BUSY) ? "soap:Server" : "soap:Client";
}

/*
 * Limits for one request envelope. The HTTP layer already bounds the body (max_request_bytes,
 * at most 256 MiB), so the size limit here is only that ceiling. Real requests are 7 elements
 * deep and the largest legal one (a filter with 1,000 categories and 1,000 classifications) has
 * about 6,000 elements; the element limit leaves room above that so that over-long lists get
 * the precise refusal of soap_req rather than a generic one. Real requests carry at most 2
 * attributes on an element and 144 in all (xmlns, xsi:nil); 64 and 32,768 are far above that.
 */
static const struct xml_limits soap_xml_limits = {256u * 1024 * 1024, 32, 32768, 64, 32768};

/* "utf-8" in any case, or no declaration at all (XML's default). */
static int soap_encoding_ok(const xmlDoc *doc)
{
    const char *e = (const char *)doc->encoding;

    return e == NULL || strcasecmp(e, "utf-8") == 0 || strcasecmp(e, "utf8") == 0;
}

static const struct xml_limits soap_xml_limits_large = {256u * 1024 * 1024, 32, SOAP_LARGE_ELEMENTS,
                                                        64, SOAP_LARGE_ELEMENTS};

static int soap_envelope_parse_lim(const char *body, size_t len, const struct xml_limits *lim,
                                   struct soap_envelope *env, char *err, size_t errlen);

int soap_envelope_parse(const char *body, size_t len, struct soap_envelope *env, char *err,
                        size_t errlen)
{
    return soap_envelope_parse_lim(body, len, &soap_xml_limits, env, err, errlen);
}

int soap_envelope_parse_large(const char *body, size_t len, struct soap_envelope *env, char *err,
                              size_t errlen)
{
    return soap_envelope_parse_lim(body, len, &soap_xml_limits_large, env, err, errlen);
}

static int soap_envelope_parse_lim(const char *body, size_t len, const struct xml_limits *lim,
                                   struct soap_envelope *env, char *err, size_t errlen)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr root, b, n;
    char why[256];
    int rc = -1;

    memset(env, 0, sizeof(*env));
    if (len == 0) {
        snprintf(err, errlen, "empty request body (a SOAP envelope was expected)");
        goto out;
    }
    if (len >= 2 && (((unsigned char)body[0] == 0xfe && (unsigned char)body[1] == 0xff) ||
                     ((unsigned char)body[0] == 0xff && (unsigned char)body[1] == 0xfe))) {
        snprintf(err, errlen, "request body is UTF-16; only UTF-8 is accepted");
        goto out;
    }
    if (memchr(body, '\0', len) != NULL) {
        snprintf(err, errlen, "request body contains NUL bytes; only UTF-8 XML is accepted");
        goto out;
    }
    doc = xml_parse(body, len, lim, why, sizeof(why));
    if (doc == NULL) {
        snprintf(err, errlen, "request body refused (%s)", why);
        goto out;
    }
    if (!soap_encoding_ok(doc)) {
        snprintf(err, errlen, "request body declares encoding \"%.40s\"; only UTF-8 is accepted",
                 (const char *)doc->encoding);
        goto out;
    }
    root = xml_root(doc);
    if (xml_is(root, SOAP_NS_ENV12, "Envelope")) {
        snprintf(err, errlen, "SOAP 1.2 envelope; this server speaks SOAP 1.1 (namespace %s)",
                 SOAP_NS_ENV);
        goto out;
    }
    if (!xml_is(root, SOAP_NS_ENV, "Envelope")) {
        snprintf(err, errlen, "root element is not a SOAP 1.1 Envelope (namespace %s)",
                 SOAP_NS_ENV);
        goto out;
    }
    b = xml_child(root, SOAP_NS_ENV, "Body");
    if (b == NULL) {
        snprintf(err, errlen, "SOAP envelope without a Body");
        goto out;
    }
    n = xml_child(b, XML_NS_ANY, NULL);
    if (n == NULL) {
        snprintf(err, errlen, "SOAP Body is empty (an operation element was expected)");
        goto out;
    }
    env->doc = doc;
    env->op = n;
    doc = NULL;
    rc = 0;
out:
    xml_doc_free(doc);
    return rc;
}

void soap_envelope_free(struct soap_envelope *env)
{
    if (env == NULL)
        return;
    xml_doc_free(env->doc);
    env->doc = NULL;
    env->op = NULL;
}

size_t soap_count(const xmlNode *parent, const char *ns, const char *name, size_t limit)
{
    xmlNodePtr n;
    size_t c = 0;

    if (parent == NULL)
        return 0;
    for (n = parent->children; n != NULL && c <= limit; n = n->next)
        if (xml_is(n, ns, name))
            c++;
    return c;
}

int soap_is_nil(const xmlNode *node)
{
    xmlAttrPtr a;

    if (node == NULL)
        return 0;
    for (a = node->properties; a != NULL; a = a->next) {
        if (strcmp((const char *)a->name, "nil") == 0 && a->ns != NULL &&
            strcmp((const char *)a->ns->href, "http://www.w3.org/2001/XMLSchema-instance") == 0) {
            const xmlNode *t = a->children;
            return t != NULL && t->content != NULL &&
                   (strcmp((const char *)t->content, "true") == 0 ||
                    strcmp((const char *)t->content, "1") == 0);
        }
    }
    return 0;
}

char *soap_text(const xmlNode *node, size_t maxlen)
{
    const xmlNode *n;
    size_t total = 0, off = 0;
    char *s;

    if (node == NULL || node->type != XML_ELEMENT_NODE)
        return NULL;
    for (n = node->children; n != NULL; n = n->next) {
        if (n->type == XML_ELEMENT_NODE)
            return NULL;
        if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) && n->content) {
            total += strlen((const char *)n->content);
            if (total > maxlen)
                return NULL;
        }
    }
    s = xmalloc(total + 1);
    for (n = node->children; n != NULL; n = n->next) {
        if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) && n->content) {
            size_t k = strlen((const char *)n->content);
            memcpy(s + off, n->content, k);
            off += k;
        }
    }
    s[off] = '\0';
    return s;
}

static const char *soap_trim(const char *s, size_t *len)
{
    size_t n;

    while (isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    *len = n;
    return s;
}

int soap_guid_parse(const char *s, unsigned char out[16])
{
    size_t len;

    if (s == NULL)
        return -1;
    s = soap_trim(s, &len);
    return str_guid_parse(s, len, out);
}

void soap_guid_random(char out[37])
{
    unsigned char g[16];

    if (RAND_bytes(g, sizeof(g)) != 1) {
        /* fault IDs only need to be unique enough for an admin to grep a log */
        size_t i;
        for (i = 0; i < sizeof(g); i++)
            g[i] = (unsigned char)random();
    }
    g[6] = (unsigned char)((g[6] & 0x0f) | 0x40);
    g[8] = (unsigned char)((g[8] & 0x3f) | 0x80);
    str_guid_format(g, out);
}

int soap_bool_parse(const char *s, int *out)
{
    size_t n;

    if (s == NULL)
        return -1;
    s = soap_trim(s, &n);
    if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 1 && s[0] == '1')) {
        *out = 1;
        return 0;
    }
    if ((n == 5 && memcmp(s, "false", 5) == 0) || (n == 1 && s[0] == '0')) {
        *out = 0;
        return 0;
    }
    return -1;
}

int soap_int_parse(const char *s, long min, long max, long *out)
{
    char tmp[32];
    size_t n;

    if (s == NULL)
        return -1;
    s = soap_trim(s, &n);
    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (tmp[0] == '+')
        memmove(tmp, tmp + 1, n);
    return str_to_long(tmp, min, max, out);
}

int soap_b64_append(struct buf *b, const unsigned char *data, size_t len)
{
    char chunk[STR_B64_LEN(768) + 1];
    size_t i, k;

    for (i = 0; i < len; i += k) {
        k = len - i > 768 ? 768 : len - i;
        if (str_b64_encode(data + i, k, chunk, sizeof(chunk)) < 0 ||
            buf_add(b, chunk, STR_B64_LEN(k)) < 0)
            return -1;
    }
    return 0;
}

void soap_datetime_format(time_t t, long msec, char out[32])
{
    struct tm tm;
    char base[24];

    gmtime_r(&t, &tm);
    if (msec < 0 || msec > 999)
        msec = 0;
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03ldZ", base, msec);
}

static int soap_add_escaped(struct buf *b, const char *s)
{
    return buf_add_xml_escaped(b, s, strlen(s));
}

int soap_fault_build(struct buf *out, enum soap_error e, const char *message, const char *actor,
                     const char *action)
{
    char id[37];

    soap_guid_random(id);
    buf_add_str(out, SOAP_RESPONSE_HEAD);
    buf_printf(out,
               "<soap:Fault><faultcode>%s</faultcode><faultstring>Fault occurred"
               "</faultstring>",
               soap_error_faultcode(e));
    if (actor != NULL) {
        buf_add_str(out, "<faultactor>");
        soap_add_escaped(out, actor);
        buf_add_str(out, "</faultactor>");
    }
    buf_printf(out, "<detail><ErrorCode>%s</ErrorCode><Message>", soap_error_name(e));
    if (message != NULL)
        soap_add_escaped(out, message);
    buf_printf(out, "</Message><ID>%s</ID>", id);
    if (action != NULL) {
        buf_add_str(out, "<Method>\"");
        soap_add_escaped(out, action);
        buf_add_str(out, "\"</Method>");
    }
    buf_add_str(out, "</detail></soap:Fault>" SOAP_RESPONSE_TAIL);
    return buf_failed(out) ? -1 : 0;
}

/* n decimal digits at s into *v: 1, or 0 when one is not a digit. */
static int soap_digits(const char *s, int n, int *v)
{
    int i;

    *v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

int soap_datetime_valid(const char *s)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, se, i;

    if (strlen(s) < 19 || !soap_digits(s, 4, &y) || s[4] != '-' || !soap_digits(s + 5, 2, &mo) ||
        s[7] != '-' || !soap_digits(s + 8, 2, &d) || s[10] != 'T' || !soap_digits(s + 11, 2, &h) ||
        s[13] != ':' || !soap_digits(s + 14, 2, &mi) || s[16] != ':' ||
        !soap_digits(s + 17, 2, &se))
        return 0;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
        return 0;
    if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return 0;
    s += 19;
    if (*s == '.') {
        for (s++, i = 0; *s >= '0' && *s <= '9' && i < 9; s++, i++)
            ;
        if (i == 0)
            return 0;
    }
    if (*s == 'Z')
        s++;
    else if (*s == '+' || *s == '-') {
        int oh, om;

        if (!soap_digits(s + 1, 2, &oh) || s[3] != ':' || !soap_digits(s + 4, 2, &om) || oh > 14 ||
            om > 59)
            return 0;
        s += 6;
    }
    return *s == '\0';
}
