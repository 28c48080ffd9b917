/*
 * auth: who a verified request's signer is.
 *
 * A request signed by one of the trusted service keys (DIR/ledger.pub, DIR/governance.pub,
 * DIR/cmc.pub) has that service's canister principal as caller; any other key has its
 * self-authenticating principal. The .pub files are read at start and again when a key
 * arrives that is not known, so services can start in any order: at once when a file was
 * added to or renamed in the folder since the last read (the folder is held open: one fstat;
 * not looked at once all three keys are known), otherwise at most once a second.
 * Thread-safe.
 */
#ifndef NNS_AUTH_H
#define NNS_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "principal.h"

typedef struct auth auth_t;

/* keys_dir may be NULL (no trusted service keys). Returns NULL on allocation failure. */
auth_t *auth_new(const char *keys_dir);
void auth_destroy(auth_t **auth);

/* The caller principal of a request signed with the der_len-byte DER public key der (any key
 * type; only Ed25519 keys can be service keys). Cannot fail. */
void auth_caller(auth_t *auth, const uint8_t *der, size_t der_len, principal_t *caller);

#endif
