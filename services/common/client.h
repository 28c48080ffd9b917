/*
 * client: a small HTTP client for the services' REST API (shared/API.md), with request signing.
 *
 * An nns_client_t talks to one service (a base URL such as "http://127.0.0.1:8081", or
 * "https://host/ledger" behind a proxy that strips the prefix) over one libcurl easy handle,
 * so consecutive requests reuse the connection (keep-alive). It optionally holds a copy of an
 * identity, with which it signs requests as DESIGN.md section 5 describes: headers
 * X-Public-Key, X-Expiry (wall clock + NNS_CLIENT_EXPIRY_NANOS) and X-Signature over exactly
 * the path_and_query that is sent (the base URL's own path, a proxy prefix, is not signed).
 *
 * Life cycle: nns_client_new() ... nns_client_request() any number of times ...
 * nns_client_destroy(&c), which wipes the identity copy. A client is not thread-safe: use one
 * per thread. Redirects are not followed (they would change the signed path).
 *
 * The same client serves the nns CLI and the services' calls to one another (call.h), which is
 * why it lives in services/common: a service links only the common library. A service sets its
 * own time-outs (nns_client_set_timeouts) and a cancel flag (nns_client_set_cancel) so that
 * stopping does not wait for a request in flight.
 */
#ifndef NNS_CLIENT_H
#define NNS_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"
#include "error.h"
#include "keyfile.h"

#define NNS_CLIENT_EXPIRY_NANOS (120ULL * 1000000000ULL) /* signed requests expire in 2 minutes */
#define NNS_CLIENT_MAX_RESPONSE_BYTES (64L * 1024 * 1024)

typedef struct nns_client nns_client_t;

/* The three signature headers' values for one request. */
typedef struct {
    char public_key_hex[2 * PUBLIC_KEY_DER_MAX + 1]; /* Ed25519: 88 digits, secp256k1: 176 */
    char expiry[21];                                 /* decimal nanoseconds since the epoch */
    char signature_hex[2 * ED25519_SIGNATURE_BYTES + 1];
} nns_signature_t;

/* Creates a client for base_url (http:// or https://; trailing '/' removed). id may be NULL
 * for a client that only sends unsigned requests; otherwise it is copied. crypto_init() must
 * have run when id is given. Returns NULL when base_url is not an http(s) URL or on allocation
 * or libcurl initialisation failure. */
nns_client_t *nns_client_new(const char *base_url, const identity_t *id)
    __attribute__((warn_unused_result));

/* Closes the connection, wipes the identity copy, frees *c and sets it to NULL. *c may be
 * NULL. */
void nns_client_destroy(nns_client_t **c);

/* Sets the connect and total time-outs of the following requests, in milliseconds (0 keeps the
 * default: 10 s to connect, 60 s in all). Cannot fail. */
void nns_client_set_timeouts(nns_client_t *c, long connect_ms, long total_ms);

/* While *cancel is true, a request in flight is abandoned (within about a second, libcurl's
 * progress interval on an idle connection, and at once while data moves) and answers as "no
 * response" (503 "Unavailable"). cancel is borrowed and must outlive the client; NULL removes
 * it. Cannot fail. */
void nns_client_set_cancel(nns_client_t *c, const atomic_bool *cancel);

/* Signs (method, path_and_query, body, expiry_nanos) with the client's identity, filling out;
 * body may be NULL (empty). Used by nns_client_request, and by callers building
 * POST /v1/transfer-batches items. Returns false with err 400 "BadRequest" when the client has
 * no identity. */
bool nns_client_sign(const nns_client_t *c, const char *method, const char *path_and_query,
                     const char *body, uint64_t expiry_nanos, nns_signature_t *out,
                     nns_error_t *err) __attribute__((warn_unused_result));

/*
 * Sends `method base_url+path_and_query` with body (NULL: none; otherwise sent as
 * application/json), signed when sign is true. path_and_query starts with '/', is sent
 * byte for byte (no normalisation) and must be printable ASCII without spaces.
 *
 * Returns 0 when a 2xx response arrived. Returns -1 otherwise:
 *  - an HTTP response that is not 2xx: *http_status and *response_body are set as for a
 *    success, and err holds the problem body's status, code, detail and u64 payload fields
 *    (code "HttpError" when the body is not a problem document);
 *  - no response: *http_status = 0, *response_body = NULL, err 503 "Unavailable" (connection
 *    failed, timed out), 502 "BadResponse" (response larger than
 *    NNS_CLIENT_MAX_RESPONSE_BYTES), 400 "BadRequest" (bad method or path, signing without an
 *    identity) or 500 "Internal" (allocation failure).
 * *response_body is malloc'd and NUL-terminated (empty string for an empty body); the caller
 * frees it. http_status and response_body may be NULL when the caller does not want them.
 */
int nns_client_request(nns_client_t *c, const char *method, const char *path_and_query,
                       const char *body, bool sign, long *http_status, char **response_body,
                       nns_error_t *err) __attribute__((warn_unused_result));

#endif
