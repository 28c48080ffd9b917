/*
 * fuzz_query: the ledger's query arguments and cursors (query.h), as libmicrohttpd hands them
 * over: decoded texts, each present or not. The input is a presence mask byte, then
 * "limit\ntype\nfrom_time\nto_time\ncounterparty\nhistory cursor\nstart\nblocks cursor".
 * Checks: a limit is within 1..QUERY_LIMIT_MAX; a counterparty reads as account_parse_any
 * reads it; a blocks cursor written by query_blocks_cursor() reads back as the same position,
 * and so does the decimal text of a history cursor.
 */
#include <inttypes.h>

#include "account.h"
#include "crypto.h"
#include "fuzz.h"
#include "query.h"

FUZZ_INIT_CRYPTO()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mask = data[0];
    char *f[8];
    char *copy = fuzz_fields(data + 1, size - 1, '\n', f, 8);
    for (int i = 0; i < 8; i++)
        if (!(mask & (1u << i)))
            f[i] = NULL;
    nns_error_t err;

    unsigned limit = 0;
    if (query_limit(f[0], &limit, &err))
        FUZZ_CHECK(limit >= 1 && limit <= QUERY_LIMIT_MAX, "limit %u", limit);
    else
        FUZZ_CHECK(f[0] && err.status == 400, "limit refused with %d", err.status);

    history_filter_t filter;
    if (query_history_filter(f[1], f[2], f[3], f[4], &filter, &err)) {
        FUZZ_CHECK(filter.op_types < 16, "types %x", filter.op_types);
        FUZZ_CHECK(filter.has_from_time == (f[2] != NULL) && filter.has_to_time == (f[3] != NULL),
                   "times");
        if (f[4]) {
            account_id_t id;
            FUZZ_CHECK(account_parse_any(f[4], &id, NULL, NULL, &err) &&
                           account_id_equal(&id, &filter.counterparty),
                       "counterparty differs");
        }
    } else {
        FUZZ_CHECK(err.status == 400, "filter refused with %d", err.status);
    }

    uint64_t before;
    if (query_history_cursor(f[5], &before, &err)) {
        FUZZ_CHECK(f[5] || before == UINT64_MAX, "no cursor, but %" PRIu64, before);
        char text[24];
        uint64_t again;
        snprintf(text, sizeof text, "%" PRIu64, before);
        FUZZ_CHECK(query_history_cursor(text, &again, &err) && again == before, "round trip");
    }

    bool ascending, asc2;
    uint64_t from, from2;
    if (query_blocks_position(f[6], f[7], &ascending, &from, &err)) {
        char c[QUERY_CURSOR_MAX];
        size_t n = query_blocks_cursor(ascending, from, c);
        FUZZ_CHECK(n > 1 && n < QUERY_CURSOR_MAX && strlen(c) == n, "cursor '%s'", c);
        FUZZ_CHECK(query_blocks_position(NULL, c, &asc2, &from2, &err), "own cursor '%s' refused",
                   c);
        FUZZ_CHECK(asc2 == ascending && from2 == from, "cursor '%s' reads as another position", c);
        FUZZ_CHECK(f[6] || f[7] || (!ascending && from == UINT64_MAX), "default position");
    } else {
        FUZZ_CHECK(err.status == 400, "position refused with %d", err.status);
    }
    free(copy);
    return 0;
}
