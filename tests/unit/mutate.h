/*
 * mutate: the byte edits of the differential tests (check_batch, check_json). Deterministic
 * (xorshift64 state in *x), so every run tries the same documents.
 */
#ifndef NNS_TEST_MUTATE_H
#define NNS_TEST_MUTATE_H

#include <stddef.h>
#include <string.h>

/* Applies `edits` random edits to doc[0..*len) (capacity cap): each replaces, inserts (possibly
 * at the end) or deletes one byte, new bytes drawn from alphabet[0..nalpha) (NUL included when
 * nalpha counts the terminator). */
static inline void mutate(char *doc, size_t *len, size_t cap, int edits, unsigned long long *x,
                          const char *alphabet, size_t nalpha)
{
    for (int k = 0; k < edits; k++) {
        *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
        size_t n = *len, at = (size_t)(*x >> 8) % (n + 1); /* n: an insert at the end */
        char c = alphabet[(*x >> 40) % nalpha];
        switch (*x % 3) {
        case 0: /* replace */
            if (n > 0)
                doc[at == n ? n - 1 : at] = c;
            break;
        case 1: /* insert */
            if (n + 1 < cap) {
                memmove(doc + at + 1, doc + at, n - at);
                doc[at] = c;
                *len = n + 1;
            }
            break;
        default: /* delete */
            if (n > 1 && at < n) {
                memmove(doc + at, doc + at + 1, n - at - 1);
                *len = n - 1;
            }
            break;
        }
    }
}

#endif
