/*
 * account: legacy account identifiers and ICRC-1 accounts (spec/ledger.md section 2).
 *
 * Hex parsing follows `AccountIdentifier::from_hex` (64 digits with checksum, or 56 as a bare
 * hash); ICRC-1 text follows TextualEncoding.md and the Motoko reference `Account.mo`, with the
 * Rust name "missing checksum" for a checksum part that is absent or not 7 characters long.
 * Error details never echo raw user bytes: subjects are quoted through quote_subject() so a
 * problem body is always valid UTF-8.
 */
#include "account.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "hex.h"

#define INVALID_ACCOUNT "InvalidAccount"
#define CHECKSUM_TEXT_LEN 7
#define SUBJECT_MAX 72 /* characters of user input quoted in an error detail */

/* Domain separators: length byte, then the ASCII name (no NUL). */
static const uint8_t ACCOUNT_DOMAIN[11] = {0x0a, 'a', 'c', 'c', 'o', 'u', 'n', 't', '-', 'i', 'd'};
static const uint8_t NEURON_STAKE_DOMAIN[13] = {0x0c, 'n', 'e', 'u', 'r', 'o', 'n', '-',
                                                's', 't', 'a', 'k', 'e'};
static const uint8_t ZERO_SUBACCOUNT[SUBACCOUNT_BYTES];

/* Copies up to SUBJECT_MAX characters of text into out for quoting in an error detail:
 * printable ASCII is kept, every other byte becomes '?', and a cut is marked with "...".
 * Cannot fail. */
static void quote_subject(const char *text, size_t len, char out[SUBJECT_MAX + 4])
{
    size_t n = len < SUBJECT_MAX ? len : SUBJECT_MAX;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        out[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    if (len > SUBJECT_MAX) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static bool is_hex_digit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_lower_hex_digit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static uint32_t load_be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

void account_id_of(const principal_t *owner, const uint8_t *subaccount, account_id_t *out)
{
    const void *parts[3] = {ACCOUNT_DOMAIN, owner->bytes,
                            subaccount ? subaccount : ZERO_SUBACCOUNT};
    const size_t lens[3] = {sizeof ACCOUNT_DOMAIN, owner->len, SUBACCOUNT_BYTES};
    sha224_parts(parts, lens, 3, out->hash);
}

void account_id_of_icrc1(const icrc1_account_t *acc, account_id_t *out)
{
    account_id_of(&acc->owner, acc->subaccount, out);
}

void account_id_to_address(const account_id_t *id, uint8_t out[32])
{
    uint32_t crc = crc32_of(id->hash, ACCOUNT_HASH_BYTES);
    out[0] = (uint8_t)(crc >> 24);
    out[1] = (uint8_t)(crc >> 16);
    out[2] = (uint8_t)(crc >> 8);
    out[3] = (uint8_t)crc;
    memcpy(out + 4, id->hash, ACCOUNT_HASH_BYTES);
}

void account_id_to_hex(const account_id_t *id, char out[ACCOUNT_HEX_LEN + 1])
{
    uint8_t addr[32];
    account_id_to_address(id, addr);
    hex_encode(addr, sizeof addr, out);
}

bool account_id_from_address(const uint8_t addr[32], account_id_t *out, nns_error_t *err)
{
    uint32_t found = load_be32(addr);
    uint32_t expected = crc32_of(addr + 4, ACCOUNT_HASH_BYTES);
    if (found != expected) {
        char hex[65];
        hex_encode(addr, 32, hex);
        return nns_error_set(err, 400, INVALID_ACCOUNT,
                             "checksum failed for %s, expected check bytes %08x but found %08x",
                             hex, (unsigned)expected, (unsigned)found);
    }
    memcpy(out->hash, addr + 4, ACCOUNT_HASH_BYTES);
    return true;
}

bool account_id_from_hex(const char *text, size_t len, account_id_t *out, nns_error_t *err)
{
    if (!text)
        len = 0;
    char subject[SUBJECT_MAX + 4];
    for (size_t i = 0; i < len; i++) {
        if (!is_hex_digit(text[i])) {
            quote_subject(text, len, subject);
            return nns_error_set(err, 400, INVALID_ACCOUNT, "account identifier '%s' is not hex",
                                 subject);
        }
    }
    if (len == ACCOUNT_HEX_LEN) {
        uint8_t addr[32];
        if (hex_decode(text, len, addr, sizeof addr) != 32) /* cannot happen: checked above */
            return nns_error_set(err, 400, INVALID_ACCOUNT, "account identifier is not hex");
        return account_id_from_address(addr, out, err);
    }
    if (len == 2 * ACCOUNT_HASH_BYTES) {
        if (hex_decode(text, len, out->hash, sizeof out->hash) != ACCOUNT_HASH_BYTES)
            return nns_error_set(err, 400, INVALID_ACCOUNT, "account identifier is not hex");
        return true;
    }
    quote_subject(text, len, subject);
    return nns_error_set(err, 400, INVALID_ACCOUNT,
                         "account identifier '%s' has a length of %zu but we expected a length "
                         "of 64 or 56",
                         subject, len);
}

bool account_id_equal(const account_id_t *a, const account_id_t *b)
{
    return memcmp(a->hash, b->hash, ACCOUNT_HASH_BYTES) == 0;
}

bool subaccount_is_default(const uint8_t sub[SUBACCOUNT_BYTES])
{
    return memcmp(sub, ZERO_SUBACCOUNT, SUBACCOUNT_BYTES) == 0;
}

/* The 7-character ICRC-1 checksum of (owner, subaccount): base32 of CRC-32 over the principal
 * bytes followed by the 32 subaccount bytes. Cannot fail. */
static void icrc1_checksum_text(const principal_t *owner, const uint8_t sub[SUBACCOUNT_BYTES],
                                char out[CHECKSUM_TEXT_LEN + 1])
{
    uint8_t buf[PRINCIPAL_MAX_BYTES + SUBACCOUNT_BYTES];
    memcpy(buf, owner->bytes, owner->len);
    memcpy(buf + owner->len, sub, SUBACCOUNT_BYTES);
    principal_crc32_text(crc32_of(buf, (size_t)owner->len + SUBACCOUNT_BYTES), out);
}

size_t icrc1_account_to_text(const icrc1_account_t *acc, char out[ICRC1_TEXT_MAX])
{
    size_t n = principal_to_text(&acc->owner, out);
    if (subaccount_is_default(acc->subaccount))
        return n;
    out[n++] = '-';
    icrc1_checksum_text(&acc->owner, acc->subaccount, out + n);
    n += CHECKSUM_TEXT_LEN;
    out[n++] = '.';
    char hex[2 * SUBACCOUNT_BYTES + 1];
    hex_encode(acc->subaccount, SUBACCOUNT_BYTES, hex);
    size_t skip = 0;
    while (hex[skip] == '0') /* stops before the NUL: the subaccount is not all zero */
        skip++;
    size_t hlen = 2 * SUBACCOUNT_BYTES - skip;
    memcpy(out + n, hex + skip, hlen + 1);
    return n + hlen;
}

/* Fails with err 400 InvalidAccount and a detail "invalid principal: <principal reason>". */
static bool invalid_principal(const nns_error_t *perr, nns_error_t *err)
{
    return nns_error_set(err, 400, INVALID_ACCOUNT, "invalid principal: %s", perr->detail);
}

bool icrc1_account_from_text(const char *text, icrc1_account_t *out, nns_error_t *err)
{
    if (!text)
        text = "";
    size_t n = strlen(text);
    nns_error_t perr = {0};
    const char *dot = memchr(text, '.', n);
    if (!dot) {
        principal_t owner;
        if (!principal_from_text_n(text, n, &owner, &perr))
            return invalid_principal(&perr, err);
        memset(out, 0, sizeof *out);
        out->owner = owner;
        return true;
    }

    /* "<principal>-<checksum>.<hex>": the checksum sits between the last '-' before the dot
     * and the dot. */
    size_t dot_at = (size_t)(dot - text);
    size_t dash_at = dot_at;
    while (dash_at > 0 && text[dash_at - 1] != '-')
        dash_at--;
    if (dash_at == 0 || dot_at - dash_at != CHECKSUM_TEXT_LEN)
        return nns_error_set(err, 400, INVALID_ACCOUNT, "missing checksum");
    dash_at--; /* index of the '-' itself */
    const char *checksum = text + dash_at + 1;
    const char *digits = dot + 1;
    size_t ndigits = n - dot_at - 1;

    if (ndigits == 0)
        return nns_error_set(err, 400, INVALID_ACCOUNT, "not canonical: empty subaccount");
    if (digits[0] == '0')
        return nns_error_set(err, 400, INVALID_ACCOUNT,
                             "not canonical: subaccount with leading zeros");
    if (ndigits > 2 * SUBACCOUNT_BYTES)
        return nns_error_set(err, 400, INVALID_ACCOUNT,
                             "malformed: subaccount longer than 64 hex digits");
    for (size_t i = 0; i < ndigits; i++)
        if (!is_lower_hex_digit(digits[i]))
            return nns_error_set(err, 400, INVALID_ACCOUNT,
                                 "malformed: subaccount is not lower-case hex");

    principal_t owner;
    if (!principal_from_text_n(text, dash_at, &owner, &perr))
        return invalid_principal(&perr, err);

    char padded[2 * SUBACCOUNT_BYTES];
    size_t pad = sizeof padded - ndigits;
    memset(padded, '0', pad);
    memcpy(padded + pad, digits, ndigits);
    uint8_t sub[SUBACCOUNT_BYTES];
    if (hex_decode(padded, sizeof padded, sub, sizeof sub) != SUBACCOUNT_BYTES)
        return nns_error_set(err, 400, INVALID_ACCOUNT, "malformed: subaccount is not hex");
    if (subaccount_is_default(sub)) /* unreachable after the leading-zero check; kept for safety */
        return nns_error_set(err, 400, INVALID_ACCOUNT, "not canonical: default subaccount");

    char expected[CHECKSUM_TEXT_LEN + 1];
    icrc1_checksum_text(&owner, sub, expected);
    if (memcmp(expected, checksum, CHECKSUM_TEXT_LEN) != 0)
        return nns_error_set(err, 400, INVALID_ACCOUNT, "bad checksum");

    out->owner = owner;
    memcpy(out->subaccount, sub, SUBACCOUNT_BYTES);
    return true;
}

bool account_parse_any(const char *text, account_id_t *id, icrc1_account_t *icrc1,
                       bool *has_icrc1, nns_error_t *err)
{
    if (!text)
        text = "";
    if (has_icrc1)
        *has_icrc1 = false;
    /* Every principal text has a '-' (the shortest is "aaaaa-aa"); hex never does. */
    if (strpbrk(text, "-.")) {
        icrc1_account_t acc;
        if (!icrc1_account_from_text(text, &acc, err))
            return false;
        account_id_of_icrc1(&acc, id);
        if (icrc1)
            *icrc1 = acc;
        if (has_icrc1)
            *has_icrc1 = true;
        return true;
    }
    return account_id_from_hex(text, strlen(text), id, err);
}

void subaccount_from_principal(const principal_t *p, uint8_t out[SUBACCOUNT_BYTES])
{
    memset(out, 0, SUBACCOUNT_BYTES);
    out[0] = p->len;
    memcpy(out + 1, p->bytes, p->len);
}

void neuron_staking_subaccount(const principal_t *controller, uint64_t memo,
                               uint8_t out[SUBACCOUNT_BYTES])
{
    uint8_t memo_be[8];
    for (int i = 0; i < 8; i++)
        memo_be[i] = (uint8_t)(memo >> (56 - 8 * i));
    sha256_ctx_t ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, NEURON_STAKE_DOMAIN, sizeof NEURON_STAKE_DOMAIN);
    sha256_update(&ctx, controller->bytes, controller->len);
    sha256_update(&ctx, memo_be, sizeof memo_be);
    sha256_final(&ctx, out);
}
