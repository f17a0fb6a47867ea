/*
 * trust: the TLS trust of the upstream client. The certificates of the ca-file setting are
 * added to the store libcurl builds from the system bundle (a CURLOPT_SSL_CTX_FUNCTION
 * callback), never used instead of it; and a certificate that failed verification is put in
 * words (subject, issuer, names, why, the fix) from a second handshake that does not verify,
 * made only for the message. It does not decide what is trusted beyond that, nor retry.
 */
#ifndef WSUS_TRUST_H
#define WSUS_TRUST_H

#include <curl/curl.h>
#include <stddef.h>

struct trust;

/*
 * The PEM certificates of path (at most SETTINGS_MAX_CA_FILE bytes, at least one
 * certificate), to add to the system store. NULL with a one-line message naming the file and
 * the fix in err. Free with trust_free().
 */
struct trust *trust_load(const char *path, char *err, size_t errlen);
/* NULL is fine. No handle set up with t may be used afterwards. */
void trust_free(struct trust *t);
/*
 * Make easy add t's certificates to the system store on every TLS connection (and keep no
 * shared cached store it could change). t NULL: nothing is set, the system store alone applies.
 * t must outlive the handle's transfers.
 */
void trust_apply(const struct trust *t, CURL *easy);

/*
 * Words for a transfer on failed that ended in CURLE_PEER_FAILED_VERIFICATION: curl_err is
 * its error buffer, probe a fresh handle set up like it (proxy, trust; trust_explain sets the
 * URL and turns verification off on it, sends nothing, and leaves its cleanup to the caller),
 * root the upstream ("https://h:8531"), microsoft_update whether it is Microsoft Update,
 * timeout_s the bound of the probe. 0 with the message in msg, or -1 when the certificate
 * could not be fetched (use curl's text then).
 */
int trust_explain(CURL *failed, const char *curl_err, CURL *probe, const char *root,
                  int microsoft_update, long timeout_s, char *msg, size_t msglen);

#endif
