/*
 * fuzz_body: the ledger's write bodies (POST /v1/transfers, legacy and ICRC-1, /v1/approvals,
 * /v1/transfer-from). The first byte picks the route, the rest is the body. The body is read as
 * the service reads it (ledger_body_parse: json_parse_object, yajl where it can) and again from
 * jansson's own tree; both must give the same answer: the same command, or the same error
 * (status, code and detail). A command obeys its invariants (memo length, owner facts).
 */
#include <jansson.h>

#include "body.h"
#include "crypto.h"
#include "fuzz.h"

static const ledger_body_fn PARSERS[] = {ledger_body_transfer, ledger_body_approve,
                                         ledger_body_transfer_from};

FUZZ_INIT_CRYPTO()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    ledger_body_fn parse = PARSERS[data[0] % 3];
    size_t len = size - 1;
    uint8_t *body = malloc(len ? len : 1);
    if (!body)
        abort();
    if (len)
        memcpy(body, data + 1, len);
    principal_t caller;
    principal_canister(7, &caller);

    ledger_op_t ours, theirs;
    nns_error_t err_ours, err_theirs;
    memset(&ours, 0, sizeof ours);
    memset(&theirs, 0, sizeof theirs);
    nns_error_clear(&err_ours);
    nns_error_clear(&err_theirs);
    bool ok_ours = ledger_body_parse(body, len, parse, &caller, &ours, &err_ours);

    json_t *o = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        FUZZ_CHECK(!ok_ours, "a body jansson refuses was accepted");
        FUZZ_CHECK(err_ours.status == 400, "refused with status %d", err_ours.status);
        goto done;
    }
    bool ok_theirs = parse(o, &caller, &theirs, &err_theirs);
    FUZZ_CHECK(ok_ours == ok_theirs, "yajl path %s, jansson path %s (%s / %s)",
               ok_ours ? "accepted" : "refused", ok_theirs ? "accepted" : "refused",
               err_ours.detail, err_theirs.detail);
    if (!ok_ours) {
        FUZZ_CHECK(err_ours.status == err_theirs.status &&
                       strcmp(err_ours.code, err_theirs.code) == 0 &&
                       strcmp(err_ours.detail, err_theirs.detail) == 0,
                   "errors differ: %d %s '%s' / %d %s '%s'", err_ours.status, err_ours.code,
                   err_ours.detail, err_theirs.status, err_theirs.code, err_theirs.detail);
        FUZZ_CHECK(err_ours.status >= 400 && err_ours.status < 500, "status %d", err_ours.status);
        goto done;
    }
    FUZZ_CHECK(ours.kind == theirs.kind && ours.nfacts == theirs.nfacts, "command kind or facts");
    FUZZ_CHECK(memcmp(&ours.u, &theirs.u, sizeof ours.u) == 0, "arguments differ");
    FUZZ_CHECK(memcmp(ours.facts, theirs.facts, sizeof ours.facts) == 0, "owner facts differ");
    FUZZ_CHECK(ours.nfacts >= 1 && ours.nfacts <= 3, "%d facts", ours.nfacts);
    for (int i = 0; i < ours.nfacts; i++) {
        account_id_t id;
        account_id_of(&ours.facts[i].owner, ours.facts[i].subaccount, &id);
        FUZZ_CHECK(account_id_equal(&id, &ours.facts[i].account), "fact %d names another account",
                   i);
    }
    switch (ours.kind) {
    case LEDGER_CMD_TRANSFER:
        FUZZ_CHECK(ours.u.transfer.icrc1_memo_len <= ICRC1_MEMO_MAX, "memo length");
        break;
    case LEDGER_CMD_APPROVE:
        FUZZ_CHECK(ours.u.approve.icrc1_memo_len <= ICRC1_MEMO_MAX, "memo length");
        break;
    case LEDGER_CMD_TRANSFER_FROM:
        FUZZ_CHECK(ours.u.transfer_from.icrc1_memo_len <= ICRC1_MEMO_MAX, "memo length");
        break;
    }
done:
    json_decref(o);
    free(body);
    return 0;
}
