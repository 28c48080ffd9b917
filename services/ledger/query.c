#include "query.h"

#include <stdio.h>
#include <string.h>

#include "account.h"
#include "block.h"
#include "jsonutil.h"

bool query_limit(const char *text, unsigned *limit, nns_error_t *err)
{
    uint64_t v = QUERY_LIMIT_DEFAULT;
    if (text && !parse_u64(text, &v))
        return nns_error_set(err, 400, "BadRequest",
                             "query 'limit' must be a whole number (0 counts as 1)");
    if (v == 0)
        v = 1;
    *limit = v > QUERY_LIMIT_MAX ? QUERY_LIMIT_MAX : (unsigned)v;
    return true;
}

bool query_history_filter(const char *type, const char *from_time, const char *to_time,
                          const char *counterparty, history_filter_t *f, nns_error_t *err)
{
    memset(f, 0, sizeof *f);
    if (type) {
        const char *p = type;
        while (*p) {
            size_t len = strcspn(p, ",");
            int k = OP_BURN;
            for (; k <= OP_APPROVE; k++)
                if (strlen(op_kind_name((op_kind_t)k)) == len &&
                    strncmp(op_kind_name((op_kind_t)k), p, len) == 0)
                    break;
            if (k > OP_APPROVE)
                return nns_error_set(err, 400, "BadRequest",
                                     "query 'type' takes transfer, mint, burn or approve, "
                                     "comma-separated");
            f->op_types |= 1u << k;
            p += len + (p[len] == ',');
        }
    }
    if (from_time && !(f->has_from_time = parse_u64(from_time, &f->from_time)))
        return nns_error_set(err, 400, "BadRequest", "query 'from_time' must be nanoseconds");
    if (to_time && !(f->has_to_time = parse_u64(to_time, &f->to_time)))
        return nns_error_set(err, 400, "BadRequest", "query 'to_time' must be nanoseconds");
    if (counterparty) {
        f->has_counterparty = true;
        if (!account_parse_any(counterparty, &f->counterparty, NULL, NULL, err))
            return false;
    }
    return true;
}

bool query_history_cursor(const char *text, uint64_t *before, nns_error_t *err)
{
    *before = UINT64_MAX;
    if (text && !parse_u64(text, before))
        return nns_error_set(err, 400, "BadRequest", "query 'cursor' is not a cursor of this list");
    return true;
}

bool query_blocks_position(const char *start, const char *cursor, bool *ascending, uint64_t *from,
                           nns_error_t *err)
{
    *ascending = false;
    *from = UINT64_MAX;
    if (start) {
        *ascending = true;
        if (!parse_u64(start, from))
            return nns_error_set(err, 400, "BadRequest", "query 'start' must be a block height");
    }
    if (cursor) {
        if ((cursor[0] != 'a' && cursor[0] != 'd') || !parse_u64(cursor + 1, from))
            return nns_error_set(err, 400, "BadRequest",
                                 "query 'cursor' is not a cursor of this list");
        *ascending = cursor[0] == 'a';
    }
    return true;
}

size_t query_blocks_cursor(bool ascending, uint64_t from, char out[QUERY_CURSOR_MAX])
{
    int n =
        snprintf(out, QUERY_CURSOR_MAX, "%c%llu", ascending ? 'a' : 'd', (unsigned long long)from);
    return n > 0 ? (size_t)n : 0;
}
