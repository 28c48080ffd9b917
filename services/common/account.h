/*
 * account: ICP account identifiers and ICRC-1 accounts, byte-compatible with the IC.
 *
 * An account identifier is hash28 = SHA-224(0x0A "account-id" || principal || subaccount32);
 * its text is hex(CRC-32(hash28) big-endian || hash28), 64 characters. The ledger keys every
 * balance by hash28. An ICRC-1 account is (owner, subaccount); a missing subaccount and 32 zero
 * bytes are the same account. All types are plain values; nothing to free.
 */
#ifndef NNS_ACCOUNT_H
#define NNS_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "principal.h"

#define ACCOUNT_HASH_BYTES 28
#define ACCOUNT_HEX_LEN 64
#define SUBACCOUNT_BYTES 32
/* principal text (63) + '-' + 7 checksum characters + '.' + 64 hex digits + NUL */
#define ICRC1_TEXT_MAX 140

typedef struct {
    uint8_t hash[ACCOUNT_HASH_BYTES];
} account_id_t;

typedef struct {
    principal_t owner;
    uint8_t subaccount[SUBACCOUNT_BYTES]; /* all zero = the default account */
} icrc1_account_t;

/* Account identifier of (owner, subaccount); subaccount NULL means the default (zero)
 * subaccount. Cannot fail. */
void account_id_of(const principal_t *owner, const uint8_t *subaccount, account_id_t *out);
void account_id_of_icrc1(const icrc1_account_t *acc, account_id_t *out);

/* The 32-byte address: CRC-32(hash) big-endian || hash. */
void account_id_to_address(const account_id_t *id, uint8_t out[32]);

/* 64 lower-case hex characters and NUL. */
void account_id_to_hex(const account_id_t *id, char out[ACCOUNT_HEX_LEN + 1]);

/* Parses hex (upper, lower or mixed case): 64 digits with a valid checksum, or 56 digits as a
 * bare hash. On failure returns false with err 400 "InvalidAccount" and the upstream-style
 * detail ("checksum failed for ...", "... has a length of N but we expected a length of 64 or
 * 56", "... is not hex"). */
bool account_id_from_hex(const char *text, size_t len, account_id_t *out, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Parses a 32-byte address and verifies its checksum; false with err 400 InvalidAccount. */
bool account_id_from_address(const uint8_t addr[32], account_id_t *out, nns_error_t *err)
    __attribute__((warn_unused_result));

bool account_id_equal(const account_id_t *a, const account_id_t *b);

/* True when the subaccount is all zero. */
bool subaccount_is_default(const uint8_t sub[SUBACCOUNT_BYTES]);

/* ICRC-1 textual encoding (TextualEncoding.md): the owner's text for the default account,
 * otherwise "<owner>-<checksum>.<hex without leading zeros>". Returns the length. */
size_t icrc1_account_to_text(const icrc1_account_t *acc, char out[ICRC1_TEXT_MAX]);

/* Decodes ICRC-1 text (canonical only, lower-case hex). On failure returns false with err 400
 * "InvalidAccount" and a detail naming the case: "invalid principal", "missing checksum",
 * "bad checksum", "not canonical", "malformed". The detail starts with the case name, followed
 * for some cases by ": <reason>" (e.g. "invalid principal: too short"); a checksum part that is
 * absent or not 7 characters long is "missing checksum". A NULL text is treated as "". */
bool icrc1_account_from_text(const char *text, icrc1_account_t *out, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Accepts either form a user may send for an account: 64 (or 56) hex digits, or ICRC-1 text.
 * Fills *id always, and *icrc1 (if non-NULL) with *has_icrc1 = true when the text was ICRC-1.
 * Text containing '-' or '.' is taken as ICRC-1 (every principal text has a '-'), anything else
 * as hex; for hex, *has_icrc1 (if non-NULL) is false and *icrc1 is left untouched.
 * On failure returns false with err 400 InvalidAccount. */
bool account_parse_any(const char *text, account_id_t *id, icrc1_account_t *icrc1,
                       bool *has_icrc1, nns_error_t *err) __attribute__((warn_unused_result));

/* Subaccount from a principal: byte 0 = length, then the principal bytes, then zeros. */
void subaccount_from_principal(const principal_t *p, uint8_t out[SUBACCOUNT_BYTES]);

/* Neuron staking subaccount: SHA-256(0x0C "neuron-stake" || controller || memo big-endian). */
void neuron_staking_subaccount(const principal_t *controller, uint64_t memo,
                               uint8_t out[SUBACCOUNT_BYTES]);

#endif
