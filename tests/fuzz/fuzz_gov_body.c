/*
 * fuzz_gov_body: governance's write bodies (POST /v1/neurons and the manage-neuron commands of
 * POST /v1/neurons/{id}/{command}). The first byte picks the claim or one of the 19 commands,
 * the rest is the body, read as the service reads it (gov_body_claim, gov_body_command). An
 * accepted body keeps what the path and the signer gave (kind, neuron id, caller) and its
 * counts within what the command can hold; a refused one is a 400 with one of the body's codes.
 */
#include <string.h>

#include "body.h"
#include "crypto.h"
#include "fuzz.h"

FUZZ_INIT_CRYPTO()

static bool body_code(const nns_error_t *err)
{
    static const char *const codes[] = {"BadRequest", "InvalidPrincipal", "InvalidAccount",
                                        "InvalidCommand"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(err->code, codes[i]) == 0)
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int pick = data[0] % 20; /* 0: a claim, 1..19: the commands */
    size_t len = size - 1;
    uint8_t *body = malloc(len ? len : 1);
    if (!body)
        abort();
    if (len)
        memcpy(body, data + 1, len);
    principal_t caller;
    principal_canister(7, &caller);
    nns_error_t err;
    nns_error_clear(&err);
    if (pick == 0) {
        gov_claim_args_t a;
        if (gov_body_claim(body, len, &caller, &a, &err)) {
            FUZZ_CHECK(principal_equal(&a.caller, &caller), "the claim's caller");
            FUZZ_CHECK(a.candidate_id == 0, "the parser drew an id");
        } else {
            FUZZ_CHECK(err.status == 400 && body_code(&err), "claim refused with %d %s", err.status,
                       err.code);
        }
    } else {
        gov_command_kind_t kind = (gov_command_kind_t)pick;
        gov_command_t c;
        if (gov_body_command(kind, 42, body, len, &caller, &c, &err)) {
            FUZZ_CHECK(c.kind == kind && c.neuron_id == 42, "kind %d id %llu", (int)c.kind,
                       (unsigned long long)c.neuron_id);
            FUZZ_CHECK(principal_equal(&c.caller, &caller), "the command's caller");
            if (kind == GOV_CMD_SET_VISIBILITY)
                FUZZ_CHECK(c.u.set_visibility.visibility == GOV_VISIBILITY_PRIVATE ||
                               c.u.set_visibility.visibility == GOV_VISIBILITY_PUBLIC,
                           "visibility %d", c.u.set_visibility.visibility);
            if (kind == GOV_CMD_FOLLOW)
                FUZZ_CHECK(c.u.follow.topic >= 0, "topic %d", c.u.follow.topic);
            if (kind == GOV_CMD_SPLIT)
                FUZZ_CHECK(c.u.split.candidate_id == 0, "the parser drew an id");
        } else {
            FUZZ_CHECK(err.status == 400 && body_code(&err), "%s refused with %d %s",
                       gov_command_name(kind), err.status, err.code);
        }
    }
    free(body);
    return 0;
}
