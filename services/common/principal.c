/*
 * principal: text codec and special forms of IC principals (spec/ledger.md section 1).
 *
 * The base32 codec (RFC 4648 alphabet, lower case, no padding) lives here as static functions:
 * principals and ICRC-1 account checksums are its only users. Decoding follows the IC's
 * `PrincipalId::from_str`: parse liberally (lower-case, drop non-alphanumerics, base32-decode
 * with trailing bits ignored), then re-encode and require the input to be exactly that text.
 */
#include "principal.h"

#include <string.h>

#include "crypto.h"

#define INVALID_PRINCIPAL "InvalidPrincipal"
#define CRC_BYTES 4
#define TEXT_BYTES_MAX (CRC_BYTES + PRINCIPAL_MAX_BYTES) /* 33 bytes under the base32 */

static const char BASE32_ALPHABET[] = "abcdefghijklmnopqrstuvwxyz234567";

/* Writes the unpadded lower-case base32 of len bytes and a NUL to out (capacity at least
 * (len * 8 + 4) / 5 + 1). Returns the number of characters. Cannot fail. */
static size_t base32_encode(const uint8_t *bytes, size_t len, char *out)
{
    size_t n = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | bytes[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[n++] = BASE32_ALPHABET[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[n++] = BASE32_ALPHABET[(acc << (5 - bits)) & 31];
    out[n] = '\0';
    return n;
}

/* The 5-bit value of a lower-case base32 character, or -1 when c is not one. */
static int base32_value(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

/* Lower-cases an ASCII letter; leaves every other byte alone. */
static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool ascii_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* The liberal first pass of decoding: base32-decodes the alphanumeric characters of text
 * (case-insensitive, everything else skipped, trailing bits dropped as the `base32` crate
 * does). Returns false with err set (NotBase32, TooShort, TooLong) on failure; on success
 * writes the decoded bytes to out and their count to *out_len. */
static bool base32_decode_liberal(const char *text, size_t len, uint8_t out[TEXT_BYTES_MAX],
                                  size_t *out_len, nns_error_t *err)
{
    /* Pass 1: validate and count, so that an over-long input never touches the buffer and
     * "not base32" takes precedence over the length checks, as upstream. */
    size_t nchars = 0;
    for (size_t i = 0; i < len; i++) {
        char c = ascii_lower(text[i]);
        if (!ascii_alnum(c))
            continue;
        if (base32_value(c) < 0)
            return nns_error_set(err, 400, INVALID_PRINCIPAL, "not base32");
        nchars++;
    }
    size_t nbytes = nchars / 8 * 5 + (nchars % 8) * 5 / 8;
    if (nbytes < CRC_BYTES)
        return nns_error_set(err, 400, INVALID_PRINCIPAL, "too short");
    if (nbytes > TEXT_BYTES_MAX)
        return nns_error_set(err, 400, INVALID_PRINCIPAL, "too long");

    /* Pass 2: decode. */
    size_t n = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < len && n < nbytes; i++) {
        char c = ascii_lower(text[i]);
        if (!ascii_alnum(c))
            continue;
        acc = (acc << 5) | (uint32_t)base32_value(c);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = nbytes;
    return true;
}

size_t principal_to_text(const principal_t *p, char out[PRINCIPAL_TEXT_MAX])
{
    uint8_t buf[TEXT_BYTES_MAX];
    uint32_t crc = crc32_of(p->bytes, p->len);
    buf[0] = (uint8_t)(crc >> 24);
    buf[1] = (uint8_t)(crc >> 16);
    buf[2] = (uint8_t)(crc >> 8);
    buf[3] = (uint8_t)crc;
    memcpy(buf + CRC_BYTES, p->bytes, p->len);

    char plain[PRINCIPAL_TEXT_MAX]; /* at most 53 characters for 33 bytes */
    size_t n = base32_encode(buf, CRC_BYTES + (size_t)p->len, plain);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && i % 5 == 0)
            out[k++] = '-';
        out[k++] = plain[i];
    }
    out[k] = '\0';
    return k;
}

void principal_crc32_text(uint32_t crc, char out[8])
{
    uint8_t buf[CRC_BYTES] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8),
                              (uint8_t)crc};
    base32_encode(buf, sizeof buf, out);
}

bool principal_from_text_n(const char *text, size_t len, principal_t *out, nns_error_t *err)
{
    if (!text)
        len = 0;
    uint8_t buf[TEXT_BYTES_MAX];
    size_t n = 0;
    if (!base32_decode_liberal(text, len, buf, &n, err))
        return false;

    principal_t p = {.len = (uint8_t)(n - CRC_BYTES)};
    memcpy(p.bytes, buf + CRC_BYTES, p.len);
    char expected[PRINCIPAL_TEXT_MAX];
    size_t elen = principal_to_text(&p, expected);
    /* The canonical check also covers the checksum: a wrong CRC re-encodes differently. */
    if (elen != len || memcmp(expected, text, len) != 0)
        return nns_error_set(err, 400, INVALID_PRINCIPAL, "not in normal form, expected %s",
                             expected);
    *out = p;
    return true;
}

bool principal_from_text(const char *text, principal_t *out, nns_error_t *err)
{
    return principal_from_text_n(text, text ? strlen(text) : 0, out, err);
}

bool principal_from_bytes(const uint8_t *bytes, size_t len, principal_t *out, nns_error_t *err)
{
    if (len > PRINCIPAL_MAX_BYTES)
        return nns_error_set(err, 400, INVALID_PRINCIPAL, "too long");
    memset(out, 0, sizeof *out); /* a zero tail keeps whole-struct comparisons meaningful */
    out->len = (uint8_t)len;
    if (len > 0)
        memcpy(out->bytes, bytes, len);
    return true;
}

void principal_self_authenticating(const uint8_t *der, size_t der_len, principal_t *out)
{
    memset(out, 0, sizeof *out);
    sha224(der, der_len, out->bytes);
    out->bytes[28] = 0x02;
    out->len = 29;
}

void principal_canister(uint64_t index, principal_t *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 8; i++)
        out->bytes[i] = (uint8_t)(index >> (56 - 8 * i));
    out->bytes[8] = 0x01;
    out->bytes[9] = 0x01;
    out->len = 10;
}

void principal_anonymous(principal_t *out)
{
    memset(out, 0, sizeof *out);
    out->bytes[0] = 0x04;
    out->len = 1;
}

bool principal_is_anonymous(const principal_t *p)
{
    return p->len == 1 && p->bytes[0] == 0x04;
}

bool principal_equal(const principal_t *a, const principal_t *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}
