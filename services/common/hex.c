#include "hex.h"

void hex_encode(const uint8_t *bytes, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * len] = '\0';
}

/* The value of each hex digit, any case; -1 for every other byte. */
static const int8_t NIBBLE[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,
    ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14,
    ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15,
    ['F'] = 16, /* stored plus one, so that the zero of every other entry means "not hex" */
};

long hex_decode(const char *text, size_t text_len, uint8_t *out, size_t out_cap)
{
    if (text_len % 2 != 0 || text_len / 2 > out_cap)
        return -1;
    const unsigned char *t = (const unsigned char *)text;
    for (size_t i = 0; i < text_len / 2; i++) {
        int hi = NIBBLE[t[2 * i]] - 1, lo = NIBBLE[t[2 * i + 1]] - 1;
        if ((hi | lo) < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (long)(text_len / 2);
}
