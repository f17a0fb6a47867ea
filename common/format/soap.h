/*
 * soap: SOAP 1.1 envelopes for the WSUS server-to-server protocol (MS-WSUSSS), both ways.
 * Reading: a bounded request body parsed by xml_parse() (no DTD, no entities, no network, depth
 * and element limits) and refused unless it is UTF-8 SOAP 1.1; walked with xml.h's helpers.
 * Writing: the response envelope as a real Windows WSUS writes it, SOAP faults with the
 * unqualified ErrorCode/Message/ID/Method detail, and the scalar encodings of the wire (GUID,
 * base64Binary, boolean, int, dateTime). It knows no operation and no database.
 */
#ifndef WSUS_SOAP_H
#define WSUS_SOAP_H

#include "attr.h"
#include <libxml/tree.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "xml.h"

#define SOAP_NS_ENV     "http://schemas.xmlsoap.org/soap/envelope/"
#define SOAP_NS_ENV12   "http://www.w3.org/2003/05/soap-envelope"
#define SOAP_NS_SYNC    "http://www.microsoft.com/SoftwareDistribution"
#define SOAP_NS_DSSAUTH "http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService"
#define SOAP_NS_MONITOR "http://www.microsoft.com/SoftwareDistribution/Server/IMonitorable"

/* Longest text value soap_text() hands out; longer values are refused (bounded parsing). */
#define SOAP_MAX_TEXT (1u << 20)

/* ErrorCode values of MS-WSUSSS 2.2.9.3 and MS-WUSP 2.2.2.4 (the wire strings come from
 * soap_error_name()). */
enum soap_error {
    SOAP_ERR_NONE = 0,
    SOAP_ERR_INVALID_PARAMETERS,
    SOAP_ERR_INVALID_COOKIE,
    SOAP_ERR_INTERNAL,
    SOAP_ERR_INCOMPATIBLE_PROTOCOL,
    SOAP_ERR_INVALID_AUTH_COOKIE,
    SOAP_ERR_FILE_DIGESTS_MISSING,
    SOAP_ERR_SERVER_CHANGED,
    SOAP_ERR_SERVER_BUSY,
    /* MS-WUSP 2.2.2.4 only (the client web services) */
    SOAP_ERR_CONFIG_CHANGED,
    SOAP_ERR_REGISTRATION_REQUIRED,
    SOAP_ERR_COOKIE_EXPIRED,
    SOAP_ERR_REGISTRATION_NOT_REQUIRED,
    SOAP_ERR_FILE_LOCATION_CHANGED,
};

/* "InvalidParameters", ... ; never NULL. */
const char *soap_error_name(enum soap_error e);
/* soap:Client for caller errors, soap:Server for InternalServerError and ServerBusy. */
const char *soap_error_faultcode(enum soap_error e);

/* A parsed request: the document and the first element child of soap:Body. */
struct soap_envelope {
    xmlDocPtr doc;
    xmlNodePtr op; /* first element of Body; its namespace and name select the operation */
};

/*
 * Parse a request body. Refuses (returns -1 with a one-line reason in err) anything that is
 * UTF-16 or holds NUL bytes, declares an encoding other than UTF-8, is refused by xml_parse()
 * (not well-formed, a DOCTYPE or entity, nested deeper than 32 or more than 32,768 elements), is
 * not a SOAP 1.1 Envelope with a Body, or has an empty Body. Never touches the network or the
 * file system. On success fill env (free with soap_envelope_free()) and return 0. len may be 0;
 * body need not be NUL-terminated.
 */
int soap_envelope_parse(const char *body, size_t len, struct soap_envelope *env, char *err,
                        size_t errlen) WSUS_MUST_USE;
/*
 * The element and attribute caps of soap_envelope_parse() for services whose requests carry
 * long lists by design (the Reporting web service's rollup batches, MS-WSUSSS 3.1.4.13): the
 * document still ends at the body limit, and its DOM at about 40 MB.
 */
#define SOAP_LARGE_ELEMENTS 300000
/* soap_envelope_parse() with SOAP_LARGE_ELEMENTS elements and attributes instead of 32,768. */
int soap_envelope_parse_large(const char *body, size_t len, struct soap_envelope *env, char *err,
                              size_t errlen) WSUS_MUST_USE;
/* Free what soap_envelope_parse() allocated; env may be zeroed or already freed. */
void soap_envelope_free(struct soap_envelope *env);

/*
 * Walk a parsed envelope with xml_child()/xml_next()/xml_is() of xml.h (namespace URI + local
 * name, never prefixes); the readers below add what only SOAP needs.
 */
/* Number of element children of parent named (ns, name), counting at most limit+1. */
size_t soap_count(const xmlNode *parent, const char *ns, const char *name, size_t limit);
/* 1 if the element has xsi:nil="true" (an explicit NULL). */
int soap_is_nil(const xmlNode *node);
/*
 * The text of element node (its text/CDATA children concatenated, white space kept) copied
 * into a malloc'd string; NULL if node is NULL, has element children, or the text is longer
 * than maxlen bytes. The caller frees.
 */
char *soap_text(const xmlNode *node, size_t maxlen);

/* Value codecs. Parsers return 0, or -1 on any junk (out untouched or partially written). */
/*
 * 36-char hyphenated GUID, any case, optional surrounding white space (an XML value) -> 16
 * bytes; str_guid_parse() without the white space. Format with str_guid_format().
 */
int soap_guid_parse(const char *s, unsigned char out[16]) WSUS_MUST_USE;
/* A fresh random (version 4) GUID as text. */
void soap_guid_random(char out[37]);
/* "true"/"false"/"1"/"0" (XSD boolean), white space trimmed. */
int soap_bool_parse(const char *s, int *out) WSUS_MUST_USE;
/* XSD int in [min, max]. */
int soap_int_parse(const char *s, long min, long max, long *out) WSUS_MUST_USE;
/* base64 is read with str_b64_decode() (strutil.h). */
/* Append base64 of data to b. 0 or -1 (buffer full). */
int soap_b64_append(struct buf *b, const unsigned char *data, size_t len);
/* UTC dateTime as the wire writes it: 2026-10-04T20:33:26.654Z (millisecond precision). */
void soap_datetime_format(time_t t, long msec, char out[32]);
/*
 * 1 if s is an xsd:dateTime PostgreSQL reads as a timestamptz: YYYY-MM-DDTHH:MM:SS, then at
 * most 9 fraction digits, then nothing, Z or +hh:mm/-hh:mm; year 1..9999, a real calendar day,
 * hour < 24, minute < 60, second <= 60. 0 otherwise.
 */
int soap_datetime_valid(const char *s);

/* Start of every response: XML declaration + soap:Envelope (xsi/xsd declared) + soap:Body. */
#define SOAP_RESPONSE_HEAD                                                                         \
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope "                                    \
    "xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" "                                    \
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "                                     \
    "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><soap:Body>"
#define SOAP_RESPONSE_TAIL "</soap:Body></soap:Envelope>"

/*
 * Build a complete SOAP 1.1 fault document into out (which must be empty): faultcode from
 * the error, faultstring "Fault occurred", faultactor (omitted when NULL), and a detail with
 * the unqualified children ErrorCode, Message, ID (a fresh GUID) and Method (the SOAPAction,
 * quoted as Windows does; omitted when NULL). message may be NULL (empty Message). Every text
 * is escaped. 0, or -1 if out's maximum is too small.
 */
int soap_fault_build(struct buf *out, enum soap_error e, const char *message, const char *actor,
                     const char *action);

#endif
