/*
 * render: the ledger's answers as JSON, CSV and ICRC-3 values (API.md, Ledger).
 *
 * Pure functions over decoded blocks and account ids: no state, no I/O. JSON values are new
 * references the caller owns (jansson); a stored block that does not decode is an error
 * (500 "CorruptState"), never a silent gap in a list or an export.
 */
#ifndef NNS_LEDGER_RENDER_H
#define NNS_LEDGER_RENDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "account.h"
#include "block.h"
#include "error.h"
#include "store.h"

/* The 64-hex account identifier as a JSON string. */
json_t *render_account(const account_id_t *id);

/* The block object of API.md. */
json_t *render_block(uint64_t height, const uint8_t hash[32], const uint8_t tx_hash[32],
                     const block_t *b);

/* Stored blocks as a JSON array of block objects; NULL with err 500 "CorruptState" when one
 * does not decode. */
json_t *render_blocks(const stored_block_t *blocks, size_t n, nns_error_t *err);

/* A history page (GET /v1/accounts/{account}/transactions) as JSON text:
 * {"account_identifier", "balance_e8s", "items": [block objects], "next_cursor", "oldest_tx_id"},
 * byte for byte what json_dumps(JSON_COMPACT) gives for that object built from render_account,
 * json_u64 and render_blocks (tests/unit/check_block.c compares them), written without a jansson
 * tree. next_cursor and oldest may be NULL (JSON null). A malloc'd NUL-terminated text in *out
 * (the caller frees), its length in *len. False with err 500 "CorruptState" when a block does not
 * decode, 503 when memory runs out. */
bool render_history_page(const account_id_t *acc, uint64_t balance, const stored_block_t *blocks,
                         size_t n, const uint64_t *next_cursor, const uint64_t *oldest, char **out,
                         size_t *len, nns_error_t *err) __attribute__((warn_unused_result));

/* An account's history as CSV (header row, then one row per block, CRLF line ends): a malloc'd
 * text in *out, its length in *len. False with err when a block does not decode (500) or
 * memory runs out (503): a CSV export never skips a block. */
bool render_history_csv(const account_id_t *acc, const stored_block_t *blocks, size_t n, char **out,
                        size_t *len, nns_error_t *err) __attribute__((warn_unused_result));

/* A stored block as an ICRC-3 value {"block": ..., "icrc3_hash": ...} (see docs/api.md): the
 * ICRC-3 schema, with accounts as the 32-byte account identifier blobs (an ICP block names no
 * owner and subaccount) and "icrc3_hash" the value's representation-independent hash, which is
 * not the ICP block hash. NULL with err on a corrupt block (500) or out of memory (503). */
json_t *render_block_icrc3(const stored_block_t *sb, nns_error_t *err);

#endif
