/*
 * body: the ledger's write bodies (API.md, Ledger: transfers, approvals, transfer-from, and
 * batches of signed transfers) read into commands for the round.
 *
 * A ledger command (ledger_op_t) is the skeleton's write envelope followed by the parsed
 * arguments and the owner facts the request reveals (an account's principal and subaccount,
 * for GET /v1/principals/{p}/accounts). The parsers are pure: they read a jansson object and
 * fill the command, or return false with err (400 "BadRequest", 400 "InvalidAccount", ...).
 */
#ifndef NNS_LEDGER_BODY_H
#define NNS_LEDGER_BODY_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"
#include "ledger.h"
#include "service.h"
#include "store.h"

#define LEDGER_BATCH_MAX 100 /* signed transfers per batch */

typedef enum { LEDGER_CMD_TRANSFER, LEDGER_CMD_APPROVE, LEDGER_CMD_TRANSFER_FROM } ledger_cmd_kind_t;

typedef struct {
    write_t w; /* first: the skeleton's envelope */
    ledger_cmd_kind_t kind;
    union {
        transfer_args_t transfer;
        approve_args_t approve;
        transfer_from_args_t transfer_from;
    } u;
    owner_fact_t facts[3]; /* account preimages the request reveals */
    int nfacts;
} ledger_op_t;

typedef bool (*ledger_body_fn)(json_t *o, const principal_t *caller, ledger_op_t *op,
                               nns_error_t *err);

/* The bodies of POST /v1/transfers (legacy or ICRC-1), /v1/approvals, /v1/transfer-from. */
bool ledger_body_transfer(json_t *o, const principal_t *caller, ledger_op_t *op,
                          nns_error_t *err) __attribute__((warn_unused_result));
bool ledger_body_approve(json_t *o, const principal_t *caller, ledger_op_t *op, nns_error_t *err)
    __attribute__((warn_unused_result));
bool ledger_body_transfer_from(json_t *o, const principal_t *caller, ledger_op_t *op,
                               nns_error_t *err) __attribute__((warn_unused_result));

/* Parses body (a JSON object) with parse. */
bool ledger_body_parse(const uint8_t *body, size_t len, ledger_body_fn parse,
                       const principal_t *caller, ledger_op_t *op, nns_error_t *err)
    __attribute__((warn_unused_result));

/* POST /v1/transfer-batches: checks every item's signature and body on the work pool; the
 * fast path (batch.h) when the body has the usual shape, jansson otherwise, answering alike.
 * Returns the command (items that failed are answered already), or NULL with err for a
 * request refused whole. A service_batch_check_fn. */
service_cmd_t *ledger_body_batch(service_t *svc, const uint8_t *body, size_t len,
                                 nns_error_t *err);

#endif
