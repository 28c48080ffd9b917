/*
 * principal: Internet Computer principals, byte-compatible with the IC.
 *
 * A principal is 0..29 bytes; the last byte tags system-generated forms (0x01 opaque,
 * 0x02 self-authenticating, 0x03 derived, 0x04 anonymous). The text form is CRC-32 || bytes in
 * lower-case base32 without padding, grouped by 5 with '-'. Decoding accepts only the canonical
 * text (the error names the expected form). principal_t is a plain value type; nothing to free.
 */
#ifndef NNS_PRINCIPAL_H
#define NNS_PRINCIPAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define PRINCIPAL_MAX_BYTES 29
#define PRINCIPAL_TEXT_MAX 64 /* longest text (63 characters) plus NUL */

typedef struct {
    uint8_t len;
    uint8_t bytes[PRINCIPAL_MAX_BYTES];
} principal_t;

/* NNS canister indices (rs/nns/constants). */
enum {
    CANISTER_REGISTRY = 0,
    CANISTER_GOVERNANCE = 1,
    CANISTER_LEDGER = 2,
    CANISTER_ROOT = 3,
    CANISTER_CMC = 4,
    CANISTER_INDEX = 11,
};

/* Writes the text form and NUL into out; returns its length. Cannot fail. */
size_t principal_to_text(const principal_t *p, char out[PRINCIPAL_TEXT_MAX]);

/* Parses canonical text. On failure returns false and fills err (400, code "InvalidPrincipal",
 * detail naming the reason: "not base32", "too short", "too long", or
 * "not in normal form, expected <text>"). */
bool principal_from_text(const char *text, principal_t *out, nns_error_t *err)
    __attribute__((warn_unused_result));

/* principal_from_text for a text of len bytes that need not be NUL-terminated (a path segment,
 * part of an ICRC-1 account text). Same failures as principal_from_text. */
bool principal_from_text_n(const char *text, size_t len, principal_t *out, nns_error_t *err)
    __attribute__((warn_unused_result));

/* The 7-character lower-case base32 (no padding) of crc as 4 bytes big-endian, and NUL: the
 * checksum text of ICRC-1 accounts (account.c), encoded as principal texts are. Cannot fail. */
void principal_crc32_text(uint32_t crc, char out[8]);

/* Principal from raw bytes; false (and err 400 InvalidPrincipal) when len > 29. */
bool principal_from_bytes(const uint8_t *bytes, size_t len, principal_t *out, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Self-authenticating principal: SHA-224(der) || 0x02. Cannot fail. */
void principal_self_authenticating(const uint8_t *der, size_t der_len, principal_t *out);

/* Canister id with index i: 8-byte big-endian i || 0x01 || 0x01. Cannot fail. */
void principal_canister(uint64_t index, principal_t *out);

/* The anonymous principal (single byte 0x04). */
void principal_anonymous(principal_t *out);

bool principal_is_anonymous(const principal_t *p);
bool principal_equal(const principal_t *a, const principal_t *b);

#endif
