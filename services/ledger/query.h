/*
 * query: the ledger's query-string arguments (API.md, Ledger), read from their decoded texts.
 *
 * libmicrohttpd splits and percent-decodes the query string; these functions read the values
 * the routes take: `limit`, the history filters of GET /v1/accounts/{account}/transactions,
 * and the cursors of the two paged lists. Each argument may be NULL (not given). They are pure
 * (no allocation, no state) and fill err with a 400 "BadRequest" (400 "InvalidAccount" for a
 * counterparty) naming the argument on failure. Cursors written by query_blocks_cursor() are
 * read back by query_blocks_position() as the same position.
 */
#ifndef NNS_LEDGER_QUERY_H
#define NNS_LEDGER_QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

#define QUERY_LIMIT_DEFAULT 50
#define QUERY_LIMIT_MAX 500
#define QUERY_CURSOR_MAX 24 /* 'a' or 'd', up to 20 digits, NUL */

/* `limit`: a whole number, 0 counting as 1, capped at QUERY_LIMIT_MAX; QUERY_LIMIT_DEFAULT when
 * text is NULL. */
bool query_limit(const char *text, unsigned *limit, nns_error_t *err)
    __attribute__((warn_unused_result));

/* The history filters: type (comma-separated operation names), from_time / to_time (ns),
 * counterparty (an account, hex or ICRC-1 text). f is zeroed first. */
bool query_history_filter(const char *type, const char *from_time, const char *to_time,
                          const char *counterparty, history_filter_t *f, nns_error_t *err)
    __attribute__((warn_unused_result));

/* The cursor of an account's history: the height to continue below; UINT64_MAX (from the newest)
 * when text is NULL. */
bool query_history_cursor(const char *text, uint64_t *before, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Where GET /v1/blocks starts: `start` (ascending from that height), then `cursor` ("a<height>"
 * continues an ascending list, "d<height>" a descending one), which wins over start; neither:
 * descending from the tip (*from = UINT64_MAX). */
bool query_blocks_position(const char *start, const char *cursor, bool *ascending, uint64_t *from,
                           nns_error_t *err) __attribute__((warn_unused_result));

/* Writes the cursor of GET /v1/blocks that continues at from in that direction; returns its
 * length. Cannot fail. */
size_t query_blocks_cursor(bool ascending, uint64_t from, char out[QUERY_CURSOR_MAX]);

#endif
