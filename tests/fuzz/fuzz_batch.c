/*
 * fuzz_batch: the batch envelope. batch_read() (yajl, the fast path of POST
 * /v1/transfer-batches) against jansson, the general path (batch.h's contract, as
 * tests/unit/check_batch.c checks it): when the reader accepts a document, it holds 1 to max
 * items, and jansson reads the same document as {"transfers": [...]} with the same four strings
 * in every item, byte for byte. (The contract asks this only when every item's body is a JSON
 * object, the only case in which the fast path answers itself; a body that is not one sends the
 * whole batch to the general path.)
 */
#include <jansson.h>

#include "batch.h"
#include "fuzz.h"

#define MAX_ITEMS 100

static void same_string(json_t *item, const char *name, const char *value, size_t len)
{
    json_t *v = json_object_get(item, name);
    FUZZ_CHECK(json_is_string(v), "jansson has no string '%s'", name);
    FUZZ_CHECK(json_string_length(v) == len && memcmp(json_string_value(v), value, len) == 0,
               "'%s' differs: reader '%s', jansson '%s'", name, value, json_string_value(v));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *doc = malloc(size ? size : 1);
    if (!doc)
        abort();
    if (size)
        memcpy(doc, data, size);
    batch_t b;
    /* the first byte picks a smaller maximum now and then, so the item limit is exercised */
    size_t max = size && data[0] == ' ' ? 2 : MAX_ITEMS;
    if (!batch_read(doc, size, max, &b)) {
        FUZZ_CHECK(b.items == NULL && b.arena == NULL && b.n == 0, "refused, but not empty");
        batch_free(&b);
        free(doc);
        return 0;
    }
    FUZZ_CHECK(b.n >= 1 && b.n <= max, "%zu items (max %zu)", b.n, max);
    bool objects = true;
    for (size_t i = 0; i < b.n; i++) {
        const batch_item_t *it = &b.items[i];
        FUZZ_CHECK(it->public_key_der_hex && it->expiry_nanos && it->signature_hex && it->body,
                   "item %zu has a NULL string", i);
        FUZZ_CHECK(strlen(it->body) <= it->body_len, "body length");
        json_t *body = json_loadb(it->body, it->body_len, JSON_REJECT_DUPLICATES, NULL);
        objects = objects && json_is_object(body);
        json_decref(body);
    }
    if (objects) {
        json_error_t jerr;
        json_t *o = json_loadb((const char *)doc, size, JSON_REJECT_DUPLICATES, &jerr);
        FUZZ_CHECK(o != NULL, "jansson refuses a batch the reader accepted: %s", jerr.text);
        FUZZ_CHECK(json_is_object(o) && json_object_size(o) == 1, "not {\"transfers\": [...]}");
        json_t *items = json_object_get(o, "transfers");
        FUZZ_CHECK(json_is_array(items) && json_array_size(items) == b.n, "item count differs");
        for (size_t i = 0; i < b.n; i++) {
            json_t *it = json_array_get(items, i);
            FUZZ_CHECK(json_is_object(it) && json_object_size(it) == 4, "item %zu shape", i);
            same_string(it, "public_key_der_hex", b.items[i].public_key_der_hex,
                        strlen(b.items[i].public_key_der_hex));
            same_string(it, "expiry_nanos", b.items[i].expiry_nanos,
                        strlen(b.items[i].expiry_nanos));
            same_string(it, "signature_hex", b.items[i].signature_hex,
                        strlen(b.items[i].signature_hex));
            same_string(it, "body", b.items[i].body, b.items[i].body_len);
        }
        json_decref(o);
    }
    batch_free(&b);
    batch_free(&b); /* safe twice */
    free(doc);
    return 0;
}
