/*
 * batch: the fast reader of POST /v1/transfer-batches bodies.
 *
 * A batch of 100 signed transfers is about 50 KB of JSON, and jansson builds a tree of it at
 * about 100 MB/s: 6 µs per transfer, more than anything but the signature check. yajl reads
 * the same bytes in one streaming pass about nine times faster; this reader takes its events
 * and keeps only the four strings of each item.
 *
 * It accepts one shape only, the one clients send:
 *   {"transfers": [{"public_key_der_hex": s, "expiry_nanos": s, "signature_hex": s,
 *                   "body": s}, ...]}
 * with 1 to max items, each with exactly those four string members once, in any order; the
 * three header fields printable ASCII; and nothing json_yajl_agrees() turns away. Anything
 * else (another shape, a duplicate key, malformed JSON, an escape yajl and jansson would read
 * differently) returns false, and the caller takes the general jansson path, which gives every
 * error its usual answer. So for every body this reader accepts, the general path would have
 * seen the same items, and the two paths answer alike.
 */
#ifndef NNS_BATCH_H
#define NNS_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One item's strings, NUL-terminated, in the reader's arena. */
typedef struct {
    const char *public_key_der_hex;
    const char *expiry_nanos;
    const char *signature_hex;
    const char *body;
    size_t body_len;
} batch_item_t;

typedef struct {
    batch_item_t *items;
    size_t n;
    char *arena; /* every string of the items */
} batch_t;

/* Reads body into b when it has the fast path's shape with 1 to max items; false otherwise
 * (and on out of memory), with b left empty. */
bool batch_read(const uint8_t *body, size_t len, size_t max, batch_t *b)
    __attribute__((warn_unused_result));

/* Frees what batch_read() allocated; safe on an empty or freed batch. */
void batch_free(batch_t *b);

#endif
