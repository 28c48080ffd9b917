/*
 * fuzz_json: json_parse_object() (yajl events building the jansson tree where yajl and jansson
 * agree, jansson otherwise) against jansson alone with JSON_REJECT_DUPLICATES: both refuse, or
 * both give the same tree with its members in the same order. Every write body goes through it.
 */
#include <jansson.h>

#include "fuzz.h"
#include "jsonutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *body = malloc(size ? size : 1);
    if (!body)
        abort();
    if (size)
        memcpy(body, data, size);
    nns_error_t err;
    json_t *ours = json_parse_object(body, size, &err);
    json_t *theirs = json_loadb((const char *)body, size, JSON_REJECT_DUPLICATES, NULL);
    if (theirs && !json_is_object(theirs)) {
        json_decref(theirs);
        theirs = NULL;
    }
    FUZZ_CHECK((ours == NULL) == (theirs == NULL), "one reader refused the body, one read it");
    if (ours) {
        char *a = json_dumps(ours, JSON_COMPACT | JSON_ENCODE_ANY);
        char *b = json_dumps(theirs, JSON_COMPACT | JSON_ENCODE_ANY);
        FUZZ_CHECK(a != NULL && b != NULL, "a tree does not print");
        FUZZ_CHECK(strcmp(a, b) == 0, "yajl read %s, jansson %s", a, b);
        FUZZ_CHECK(json_equal(ours, theirs), "trees differ");
        free(a);
        free(b);
    } else {
        FUZZ_CHECK(err.status == 400, "refused with status %d", err.status);
    }
    json_decref(ours);
    json_decref(theirs);
    free(body);
    return 0;
}
