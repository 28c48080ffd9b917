/*
 * fuzz_hex: hex_decode (signature headers, subaccounts, memos, DER keys). Decoding accepts
 * exactly the even-length texts of hex digits that fit; what it decodes encodes back to the
 * lower case of the input, and the encoding decodes back to the same bytes.
 */
#include <ctype.h>

#include "fuzz.h"
#include "hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    size_t cap = size / 2 + (size && data[0] == '0'); /* now and then a buffer too small */
    if (size >= 2 && data[0] == 'f')
        cap = size / 2 - 1;
    uint8_t *bytes = malloc(cap + 1);
    char *again = malloc(2 * cap + 1);
    uint8_t *back = malloc(cap + 1);
    if (!bytes || !again || !back)
        abort();
    long n = hex_decode(text, size, bytes, cap);
    bool all_hex = true;
    for (size_t i = 0; i < size; i++)
        all_hex = all_hex && isxdigit((unsigned char)text[i]);
    bool should = all_hex && size % 2 == 0 && size / 2 <= cap;
    FUZZ_CHECK((n >= 0) == should, "hex_decode returned %ld for %zu bytes (cap %zu)", n, size, cap);
    if (n >= 0) {
        FUZZ_CHECK((size_t)n == size / 2, "decoded %ld bytes", n);
        hex_encode(bytes, (size_t)n, again);
        FUZZ_CHECK(strlen(again) == size, "encoding length");
        for (size_t i = 0; i < size; i++)
            FUZZ_CHECK(again[i] == tolower((unsigned char)text[i]), "encoding differs at %zu", i);
        FUZZ_CHECK(hex_decode(again, size, back, cap) == n && memcmp(back, bytes, (size_t)n) == 0,
                   "round trip");
    }
    free(back);
    free(again);
    free(bytes);
    free(text);
    return 0;
}
