/*
 * fuzz_principal: principal texts (path segments, ICRC-1 owners, body fields). Only canonical
 * text is accepted, so an accepted text prints back as exactly the input; principal_from_text
 * and principal_from_text_n agree; any 0..29 bytes print as a text that parses back to them.
 */
#include "crypto.h"
#include "fuzz.h"
#include "principal.h"

FUZZ_INIT_CRYPTO()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    nns_error_t err;
    principal_t p, q;
    char out[PRINCIPAL_TEXT_MAX];

    bool ok_n = principal_from_text_n(text, size, &p, &err); /* embedded NULs included */
    if (ok_n) {
        size_t n = principal_to_text(&p, out);
        FUZZ_CHECK(n == size && memcmp(out, text, size) == 0, "accepted '%s' but prints '%s'", text,
                   out);
    } else {
        FUZZ_CHECK(err.status == 400 && strcmp(err.code, "InvalidPrincipal") == 0, "error %d %s",
                   err.status, err.code);
    }
    if (strlen(text) == size) {
        bool ok = principal_from_text(text, &q, &err);
        FUZZ_CHECK(ok == ok_n, "principal_from_text and principal_from_text_n disagree");
        if (ok)
            FUZZ_CHECK(principal_equal(&p, &q), "different principals");
    }

    if (principal_from_bytes(data, size, &p, &err)) {
        FUZZ_CHECK(size <= PRINCIPAL_MAX_BYTES, "%zu bytes accepted", size);
        size_t n = principal_to_text(&p, out);
        FUZZ_CHECK(n < PRINCIPAL_TEXT_MAX && strlen(out) == n, "text length");
        FUZZ_CHECK(principal_from_text(out, &q, &err), "own text '%s' refused: %s", out,
                   err.detail);
        FUZZ_CHECK(principal_equal(&p, &q), "own text parsed to another principal");
        FUZZ_CHECK(p.len == size && memcmp(p.bytes, data, size) == 0, "bytes differ");
    } else {
        FUZZ_CHECK(size > PRINCIPAL_MAX_BYTES, "%zu bytes refused", size);
    }
    free(text);
    return 0;
}
