/*
 * fuzz_call: answers of another service as the call runner classifies them (call.h). The first
 * byte picks the status (from a table of the statuses that matter, or any 100-599), the second
 * whether the request was a GET, a transfer or a lookup by hash; the rest is the body. Whatever
 * the body, a resolved transfer carries a block index, a refusal names its error, and nothing
 * else is decided.
 */
#include "call.h"
#include "crypto.h"
#include "fuzz.h"

FUZZ_INIT_CRYPTO()

static const long STATUSES[] = {0, 200, 201, 204, 400, 401, 403, 404, 408, 409, 422, 429, 500, 503};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t nst = sizeof STATUSES / sizeof *STATUSES;
    long status = data[0] < nst ? STATUSES[data[0]] : 100 + (long)data[0] * 2;
    int mode = data[1] % 3;
    char *body = fuzz_strndup(data + 2, size - 2);
    call_class_t k;
    if (mode == 2) {
        uint8_t h[32];
        sha256("fuzz", 4, h);
        call_classify_lookup(status, body, h, &k);
        FUZZ_CHECK(k.step != CALL_STEP_LOOKUP, "a lookup never asks for another lookup");
        FUZZ_CHECK(k.step != CALL_STEP_RESOLVED || k.has_block_index, "resolved without a block");
    } else {
        call_kind_t kind = mode == 0 ? CALL_GET : CALL_TRANSFER;
        call_classify(kind, status, body, &k);
        FUZZ_CHECK(kind == CALL_TRANSFER || (k.step != CALL_STEP_LOOKUP && !k.has_block_index),
                   "a GET has no block and no lookup");
        FUZZ_CHECK(kind == CALL_GET || k.step != CALL_STEP_RESOLVED || k.has_block_index,
                   "a resolved transfer has its block");
        FUZZ_CHECK(k.step != CALL_STEP_RESOLVED || (status >= 200 && status < 300) ||
                       (status == 409 && k.duplicate),
                   "resolved by status %ld", status);
    }
    FUZZ_CHECK(k.step >= CALL_STEP_RESOLVED && k.step <= CALL_STEP_LOOKUP, "step %d", (int)k.step);
    FUZZ_CHECK(memchr(k.error, '\0', sizeof k.error) != NULL, "error not terminated");
    FUZZ_CHECK((k.step == CALL_STEP_REFUSED) == (k.error[0] != '\0'), "error '%s' at step %d",
               k.error, (int)k.step);
    FUZZ_CHECK(k.step != CALL_STEP_RETRY || status == 0 || status < 200 || status >= 500 ||
                   status == 408 || status == 429,
               "retried status %ld", status);
    free(body);
    return 0;
}
