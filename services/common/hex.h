/*
 * hex: lower-case hexadecimal encoding of byte strings.
 *
 * Encoding always writes lower case and a terminating NUL. Decoding accepts upper, lower and
 * mixed case (callers that need canonical lower case check it themselves). No allocation.
 */
#ifndef NNS_HEX_H
#define NNS_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes 2*len hex digits and a NUL to out (capacity >= 2*len+1). Cannot fail. */
void hex_encode(const uint8_t *bytes, size_t len, char *out);

/* Decodes exactly text_len hex digits into out (capacity out_cap). Returns the number of bytes
 * written, or -1 when text_len is odd, a character is not a hex digit, or out is too small. */
long hex_decode(const char *text, size_t text_len, uint8_t *out, size_t out_cap)
    __attribute__((warn_unused_result));

#endif
