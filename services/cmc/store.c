#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_pool.h"
#include "dbstore.h"
#include "jsonutil.h"
#include "log.h"

/* The columns of cmc.pending, in the order of the round's INSERT and of the load's SELECT. */
enum {
    PC_BLOCK_INDEX,
    PC_KIND,
    PC_PHASE,
    PC_INTENT_ID,
    PC_CALLER,
    PC_CANISTER_ID,
    PC_CONTROLLER,
    PC_SUBNET_TYPE,
    PC_SUBNET_SELECTION,
    PC_SELECTION_SUBNET,
    PC_SELECTION_SUBNET_TYPE,
    PC_HAS_SETTINGS,
    PC_SETTINGS_CONTROLLERS,
    PC_TO_SUBACCOUNT,
    PC_DEPOSIT_MEMO,
    PC_FROM_ACCOUNT,
    PC_TO_ACCOUNT,
    PC_MEMO,
    PC_AMOUNT,
    PC_EXTRA_FEE,
    PC_AUTO_REFUND,
    PC_CYCLES,
    PC_SUBNET,
    PC_REASON,
    PC_REFUND_BLOCK_INDEX,
    PENDING_NCOLUMNS
};
static const char *const PENDING_COLUMN_NAMES[PENDING_NCOLUMNS] = {
    "block_index",
    "kind",
    "phase",
    "intent_id",
    "caller",
    "canister_id",
    "controller",
    "subnet_type",
    "subnet_selection",
    "selection_subnet",
    "selection_subnet_type",
    "has_settings",
    "settings_controllers",
    "to_subaccount",
    "deposit_memo",
    "from_account",
    "to_account",
    "memo",
    "amount_e8s",
    "extra_fee_e8s",
    "auto_refund",
    "cycles",
    "subnet",
    "reason",
    "refund_block_index",
};
#define PENDING_COLUMNS                                                                            \
    "block_index, kind, phase, intent_id, caller, canister_id, controller, subnet_type, "          \
    "subnet_selection, selection_subnet, selection_subnet_type, has_settings, "                    \
    "settings_controllers, to_subaccount, deposit_memo, from_account, to_account, memo, "          \
    "amount_e8s, extra_fee_e8s, auto_refund, cycles, subnet, reason, refund_block_index"

/* The round's statements, prepared once on each write connection; every value a parameter. */
enum {
    Q_STATE,
    Q_HISTORY,
    Q_RATE,
    Q_LIMITER,
    Q_NOTIFICATION,
    Q_NOTIFICATION_DEL,
    Q_PURGE,
    Q_PENDING,
    Q_PENDING_DEL,
    Q_INTENT,
    Q_INTENT_DONE,
    Q_CANISTER,
    Q_CYCLES,
    Q_SUBNET_ROWS_CLEAR,
    Q_SUBNET_RANGES_CLEAR,
    Q_SUBNET_ROW,
    Q_SUBNET_RANGE,
    Q_MINTED,
    Q_COUNT
};

static const db_prepared_t ROUND_SQL[Q_COUNT] = {
    [Q_STATE] = {"cmc_state",
                 "INSERT INTO cmc.state (id, rate_timestamp_seconds, xdr_permyriad_per_icp, "
                 "has_average, average_timestamp_seconds, average_xdr_permyriad_per_icp, "
                 "maturity_modulation, cache_timestamps, cache_rates, last_purged_notification, "
                 "total_cycles_minted, held_cycles, next_intent_id, last_created_at, "
                 "cycles_ledger_blocks, next_range, limiter_rejects, updated_at_nanos) VALUES "
                 "(1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) "
                 "ON CONFLICT (id) DO UPDATE SET "
                 "rate_timestamp_seconds = EXCLUDED.rate_timestamp_seconds, "
                 "xdr_permyriad_per_icp = EXCLUDED.xdr_permyriad_per_icp, "
                 "has_average = EXCLUDED.has_average, "
                 "average_timestamp_seconds = EXCLUDED.average_timestamp_seconds, "
                 "average_xdr_permyriad_per_icp = EXCLUDED.average_xdr_permyriad_per_icp, "
                 "maturity_modulation = EXCLUDED.maturity_modulation, "
                 "cache_timestamps = EXCLUDED.cache_timestamps, "
                 "cache_rates = EXCLUDED.cache_rates, "
                 "last_purged_notification = EXCLUDED.last_purged_notification, "
                 "total_cycles_minted = EXCLUDED.total_cycles_minted, "
                 "held_cycles = EXCLUDED.held_cycles, next_intent_id = EXCLUDED.next_intent_id, "
                 "last_created_at = EXCLUDED.last_created_at, "
                 "cycles_ledger_blocks = EXCLUDED.cycles_ledger_blocks, "
                 "next_range = EXCLUDED.next_range, limiter_rejects = EXCLUDED.limiter_rejects, "
                 "updated_at_nanos = EXCLUDED.updated_at_nanos",
                 17},
    [Q_HISTORY] = {"cmc_history",
                   "INSERT INTO cmc.rate_history (day, timestamp_seconds, xdr_permyriad_per_icp) "
                   "VALUES ($1, $2, $3) ON CONFLICT (day) DO NOTHING",
                   3},
    [Q_RATE] = {"cmc_rate",
                "INSERT INTO cmc.rates (timestamp_seconds, xdr_permyriad_per_icp, source, "
                "set_at_nanos) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                4},
    [Q_LIMITER] = {"cmc_limiter",
                   "INSERT INTO cmc.limiters (which, resolution, max_age, total, windows, counts) "
                   "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (which) DO UPDATE SET "
                   "resolution = EXCLUDED.resolution, max_age = EXCLUDED.max_age, "
                   "total = EXCLUDED.total, windows = EXCLUDED.windows, counts = EXCLUDED.counts",
                   6},
    /* The per-row tables: one statement per table and round, every column a binary array
     * parameter (unnest), so that a round of hundreds of notifications costs a few executor
     * starts (and CHECK constraint preparations) instead of one per row. */
    [Q_NOTIFICATION] =
        {"cmc_notification",
         "INSERT INTO cmc.notifications (block_index, status, kind, to_account, memo, refunded, "
         "cycles, canister_id, mint_block_index, minted, balance, refund_block_index, reason, "
         "updated_at_nanos) SELECT u.*, $14::numeric FROM unnest($1::numeric[], $2::text[], "
         "$3::text[], $4::bytea[], $5::numeric[], $6::boolean[], $7::numeric[], $8::bytea[], "
         "$9::numeric[], $10::numeric[], $11::numeric[], $12::numeric[], $13::text[]) AS u "
         "ON CONFLICT (block_index) DO UPDATE SET status = EXCLUDED.status, "
         "kind = EXCLUDED.kind, to_account = EXCLUDED.to_account, memo = EXCLUDED.memo, "
         "refunded = EXCLUDED.refunded, cycles = EXCLUDED.cycles, "
         "canister_id = EXCLUDED.canister_id, mint_block_index = EXCLUDED.mint_block_index, "
         "minted = EXCLUDED.minted, balance = EXCLUDED.balance, "
         "refund_block_index = EXCLUDED.refund_block_index, reason = EXCLUDED.reason, "
         "updated_at_nanos = EXCLUDED.updated_at_nanos",
         14},
    [Q_NOTIFICATION_DEL] = {"cmc_notification_del",
                            "DELETE FROM cmc.notifications WHERE block_index = ANY ($1::numeric[])",
                            1},
    [Q_PURGE] = {"cmc_purge", "DELETE FROM cmc.notifications WHERE block_index <= $1", 1},
    /* settings_controllers travels as one text of comma-separated principal texts (a principal
     * text has no comma), NULL when the settings named no controllers */
    [Q_PENDING] = {"cmc_pending",
                   "INSERT INTO cmc.pending (" PENDING_COLUMNS ") SELECT u.block_index, u.kind, "
                   "u.phase, u.intent_id, u.caller, u.canister_id, u.controller, u.subnet_type, "
                   "u.subnet_selection, u.selection_subnet, u.selection_subnet_type, "
                   "u.has_settings, string_to_array(u.settings_controllers, ','), "
                   "u.to_subaccount, u.deposit_memo, u.from_account, u.to_account, u.memo, "
                   "u.amount_e8s, u.extra_fee_e8s, u.auto_refund, u.cycles, u.subnet, u.reason, "
                   "u.refund_block_index FROM unnest($1::numeric[], $2::text[], $3::text[], "
                   "$4::numeric[], $5::bytea[], $6::bytea[], $7::bytea[], $8::text[], "
                   "$9::text[], $10::bytea[], $11::text[], $12::boolean[], $13::text[], "
                   "$14::bytea[], $15::bytea[], $16::bytea[], $17::bytea[], $18::numeric[], "
                   "$19::numeric[], $20::numeric[], $21::boolean[], $22::numeric[], $23::bytea[], "
                   "$24::text[], $25::numeric[]) AS u (" PENDING_COLUMNS ") "
                   "ON CONFLICT (block_index) DO UPDATE SET kind = EXCLUDED.kind, "
                   "phase = EXCLUDED.phase, intent_id = EXCLUDED.intent_id, "
                   "caller = EXCLUDED.caller, canister_id = EXCLUDED.canister_id, "
                   "controller = EXCLUDED.controller, subnet_type = EXCLUDED.subnet_type, "
                   "subnet_selection = EXCLUDED.subnet_selection, "
                   "selection_subnet = EXCLUDED.selection_subnet, "
                   "selection_subnet_type = EXCLUDED.selection_subnet_type, "
                   "has_settings = EXCLUDED.has_settings, "
                   "settings_controllers = EXCLUDED.settings_controllers, "
                   "to_subaccount = EXCLUDED.to_subaccount, "
                   "deposit_memo = EXCLUDED.deposit_memo, from_account = EXCLUDED.from_account, "
                   "to_account = EXCLUDED.to_account, memo = EXCLUDED.memo, "
                   "amount_e8s = EXCLUDED.amount_e8s, extra_fee_e8s = EXCLUDED.extra_fee_e8s, "
                   "auto_refund = EXCLUDED.auto_refund, cycles = EXCLUDED.cycles, "
                   "subnet = EXCLUDED.subnet, reason = EXCLUDED.reason, "
                   "refund_block_index = EXCLUDED.refund_block_index",
                   PENDING_NCOLUMNS},
    [Q_PENDING_DEL] = {"cmc_pending_del",
                       "DELETE FROM cmc.pending WHERE block_index = ANY ($1::numeric[])", 1},
    [Q_INTENT] = {"cmc_intent",
                  "INSERT INTO cmc.intents (id, kind, purpose, block_index, from_subaccount, "
                  "to_account, amount_e8s, fee_e8s, memo, created_at_time, recorded_at_nanos) "
                  "SELECT u.*, $11::numeric FROM unnest($1::numeric[], $2::text[], $3::text[], "
                  "$4::numeric[], $5::bytea[], $6::bytea[], $7::numeric[], $8::numeric[], "
                  "$9::numeric[], $10::numeric[]) AS u",
                  11},
    [Q_INTENT_DONE] = {"cmc_intent_done",
                       "UPDATE cmc.intents i SET resolved_at_nanos = $4::numeric, ok = u.ok, "
                       "ledger_block_index = u.block FROM unnest($1::numeric[], $2::boolean[], "
                       "$3::numeric[]) AS u (id, ok, block) WHERE i.id = u.id "
                       /* the rows by their key (an index scan), not a join over the table */
                       "AND i.id = ANY ($1::numeric[])",
                       4},
    [Q_CANISTER] = {"cmc_canister",
                    "INSERT INTO cmc.canisters (canister_id, subnet, controllers, cycles, "
                    "created_at_nanos) SELECT u.id, u.subnet, string_to_array(u.controllers, ','), "
                    "u.cycles, u.created FROM unnest($1::bytea[], $2::bytea[], $3::text[], "
                    "$4::numeric[], $5::numeric[]) AS u (id, subnet, controllers, cycles, created) "
                    "ON CONFLICT (canister_id) DO UPDATE SET subnet = EXCLUDED.subnet, "
                    "controllers = EXCLUDED.controllers, cycles = EXCLUDED.cycles",
                    5},
    [Q_CYCLES] = {"cmc_cycles",
                  "INSERT INTO cmc.cycles_accounts (owner, subaccount, balance) SELECT * FROM "
                  "unnest($1::bytea[], $2::bytea[], $3::numeric[]) ON CONFLICT (owner, "
                  "subaccount) DO UPDATE SET balance = EXCLUDED.balance",
                  3},
    [Q_SUBNET_ROWS_CLEAR] = {"cmc_subnet_rows_clear", "DELETE FROM cmc.subnet_rows", 0},
    [Q_SUBNET_RANGES_CLEAR] = {"cmc_subnet_ranges_clear", "DELETE FROM cmc.subnet_ranges", 0},
    [Q_SUBNET_ROW] = {"cmc_subnet_row",
                      "INSERT INTO cmc.subnet_rows (position, kind, who, type, subnet) VALUES "
                      "($1, $2, $3, $4, $5)",
                      5},
    [Q_SUBNET_RANGE] = {"cmc_subnet_range",
                        "INSERT INTO cmc.subnet_ranges (subnet, range, next) VALUES ($1, $2, $3)",
                        3},
    [Q_MINTED] = {"cmc_minted", "INSERT INTO cmc.minted (at_nanos, cycles) VALUES ($1, $2)", 2},
};

/* The parameters of a round's statements: strings owned until the round is sent. */
typedef struct {
    char **strs;
    size_t n, cap;
    db_stmt_t *st;
    size_t nst, capst;
    bool failed;
} batch_t;

/* A binary array parameter being built (db.h copybuf_array_begin). */
typedef struct {
    copybuf_t b;
    size_t at; /* where the element count goes */
    size_t n;  /* elements so far */
} arr_t;

/* Column arrays of a round: the notifications (13 + 1), the pending (25 + 1), the intents
 * (10 + 3), the canisters (5) and the cycles accounts (3). */
#define MAX_ARRAYS 64

struct cmc_store {
    db_store_t db; /* the loader (closed after loading), the pool, the writer */
    copybuf_t replay;
    batch_t b;
    arr_t arrs[MAX_ARRAYS]; /* reused round after round */
    size_t narrs;
};

static const char *const STATUS_NAMES[] = {
    [CMC_STATUS_PROCESSING] = "processing",
    [CMC_STATUS_NOTIFIED_TOP_UP] = "notified_top_up",
    [CMC_STATUS_NOTIFIED_CREATE_CANISTER] = "notified_create_canister",
    [CMC_STATUS_NOTIFIED_MINT] = "notified_mint",
    [CMC_STATUS_NOT_MEANINGFUL_MEMO] = "not_meaningful_memo",
};
static const char *const KIND_NAMES[] = {[CMC_NOTIFY_TOP_UP] = "top_up",
                                         [CMC_NOTIFY_CREATE_CANISTER] = "create_canister",
                                         [CMC_NOTIFY_MINT_CYCLES] = "mint_cycles"};
static const char *const PHASE_NAMES[] = {[CMC_PHASE_FETCH] = "fetch",
                                          [CMC_PHASE_BURN] = "burn",
                                          [CMC_PHASE_REFUND] = "refund",
                                          [CMC_PHASE_BURN_FEE] = "burn_fee"};
static const char *const SELECT_NAMES[] = {
    [CMC_SELECT_SUBNET] = "subnet", [CMC_SELECT_FILTER] = "filter"};
static const char *const PURPOSE_NAMES[] = {[CMC_PURPOSE_NONE] = "none",
                                            [CMC_PURPOSE_BURN] = "burn",
                                            [CMC_PURPOSE_REFUND] = "refund",
                                            [CMC_PURPOSE_BURN_REST] = "burn_rest"};
static const char *const ROW_KIND_NAMES[] = {[CMC_SUBNET_DEFAULT] = "default",
                                             [CMC_SUBNET_AUTHORIZED] = "authorized",
                                             [CMC_SUBNET_TYPED] = "typed",
                                             [CMC_SUBNET_TYPE_DECL] = "type"};

static int name_index(const char *const *names, int n, const char *name)
{
    for (int i = 1; i < n; i++)
        if (names[i] && strcmp(names[i], name) == 0)
            return i;
    return 0;
}
#define NAME_INDEX(names, name) name_index(names, (int)(sizeof names / sizeof names[0]), name)

/* ---- parameters ---- */

static void batch_reset(batch_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->strs[i]);
    b->n = 0;
    b->nst = 0;
    b->failed = false;
}

static void batch_free(batch_t *b)
{
    batch_reset(b);
    free(b->strs);
    free(b->st);
    memset(b, 0, sizeof *b);
}

static void *batch_keep(batch_t *b, void *p)
{
    if (!p) {
        b->failed = true;
        return NULL;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        char **s = realloc(b->strs, cap * sizeof *s);
        if (!s) {
            free(p);
            b->failed = true;
            return NULL;
        }
        b->strs = s;
        b->cap = cap;
    }
    b->strs[b->n++] = p;
    return p;
}

static const char *b_fmt(batch_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *b_fmt(batch_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return batch_keep(b, n < 0 ? NULL : s);
}

static const char *b_u64(batch_t *b, uint64_t v)
{
    return b_fmt(b, "%llu", (unsigned long long)v);
}

static const char *b_u128(batch_t *b, cmc_cycles_t v)
{
    char t[40];
    u128_text(v, t);
    return batch_keep(b, strdup(t));
}

static const char *b_bytes(batch_t *b, const uint8_t *bytes, size_t len)
{
    char *s = malloc(2 * len + 3);
    if (s)
        db_bytea_param(bytes, len, s);
    return batch_keep(b, s);
}

static const char *b_principal(batch_t *b, const principal_t *p)
{
    return b_bytes(b, p->bytes, p->len);
}

static const char *b_bool(bool v)
{
    return v ? "t" : "f";
}

/* A statement with n parameter slots, to be filled by the caller (NULL: SQL NULL). */
static const char **b_stmt(batch_t *b, int q)
{
    int n = ROUND_SQL[q].nparams;
    const char **vals = n ? batch_keep(b, calloc((size_t)n, sizeof *vals)) : NULL;
    if (n && !vals)
        return NULL;
    if (b->nst == b->capst) {
        size_t cap = b->capst ? 2 * b->capst : 64;
        db_stmt_t *st = realloc(b->st, cap * sizeof *st);
        if (!st) {
            b->failed = true;
            return NULL;
        }
        b->st = st;
        b->capst = cap;
    }
    b->st[b->nst++] = (db_stmt_t){NULL, ROUND_SQL[q].name, n, vals, NULL, NULL};
    return vals;
}

/* ---- open / close ---- */

cmc_store_t *cmc_store_open(const char *conninfo, unsigned pool_size, unsigned depth,
                            unsigned commit_delay_ms, nns_error_t *err)
{
    cmc_store_t *s = calloc(1, sizeof *s);
    if (!s) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        return NULL;
    }
    /* A round's statements reach their rows by key (ON CONFLICT, = ANY of the round's keys).
     * Prepared while the tables are small, their generic plans would scan whole tables
     * (measured: the intents' and notifications' = ANY as sequential scans, PostgreSQL's CPU
     * per notification doubled as the tables grew): on the round connections an index is
     * always preferred. */
    db_store_config_t c = {.conninfo = conninfo,
                           .migrations = &CMC_MIGRATIONS,
                           .pool_size = pool_size,
                           .depth = depth,
                           .commit_delay_ms = commit_delay_ms,
                           .round_setup = "SET enable_seqscan = off",
                           .round_sql = ROUND_SQL,
                           .nround_sql = Q_COUNT};
    if (!db_store_open(&s->db, &c, err)) {
        free(s);
        return NULL;
    }
    return s;
}

void cmc_store_close(cmc_store_t **sp)
{
    cmc_store_t *s = *sp;
    if (!s)
        return;
    db_store_close(&s->db);
    copybuf_free(&s->replay);
    batch_free(&s->b);
    for (size_t i = 0; i < MAX_ARRAYS; i++)
        copybuf_free(&s->arrs[i].b);
    free(s);
    *sp = NULL;
}

db_store_t *cmc_store_db(cmc_store_t *s)
{
    return &s->db;
}

/* ---- loading ---- */

static bool v_u64(const PGresult *r, int row, int col, uint64_t *out)
{
    return !PQgetisnull(r, row, col) && parse_u64(PQgetvalue(r, row, col), out);
}

static bool parse_u128(const char *t, cmc_cycles_t *out)
{
    cmc_cycles_t v = 0;
    if (!*t)
        return false;
    for (; *t; t++) {
        if (*t < '0' || *t > '9')
            return false;
        cmc_cycles_t next = v * 10 + (cmc_cycles_t)(*t - '0');
        if (next / 10 != v)
            return false;
        v = next;
    }
    *out = v;
    return true;
}

static bool v_u128(const PGresult *r, int row, int col, cmc_cycles_t *out)
{
    return !PQgetisnull(r, row, col) && parse_u128(PQgetvalue(r, row, col), out);
}

static bool v_principal(const PGresult *r, int row, int col, principal_t *p)
{
    uint8_t buf[PRINCIPAL_MAX_BYTES];
    nns_error_t e;
    if (PQgetisnull(r, row, col))
        return false;
    long n = db_bytea_value(PQgetvalue(r, row, col), buf, sizeof buf);
    return n >= 0 && principal_from_bytes(buf, (size_t)n, p, &e);
}

/* Splits a text array "{a,b,c}" (elements without quotes: digits or principal texts) into
 * at most max elements of at most cap-1 characters each. Returns the count or -1. */
static long split_array(const char *t, char (*out)[PRINCIPAL_TEXT_MAX], size_t max)
{
    size_t len = strlen(t);
    if (len < 2 || t[0] != '{' || t[len - 1] != '}')
        return -1;
    if (len == 2)
        return 0;
    size_t n = 0;
    const char *p = t + 1, *end = t + len - 1;
    while (p < end) {
        const char *q = memchr(p, ',', (size_t)(end - p));
        if (!q)
            q = end;
        size_t l = (size_t)(q - p);
        if (n == max || l == 0 || l >= PRINCIPAL_TEXT_MAX)
            return -1;
        memcpy(out[n], p, l);
        out[n][l] = '\0';
        n++;
        p = q + 1;
    }
    return (long)n;
}

static bool corrupt(nns_error_t *err, const char *what)
{
    return nns_error_set(err, 500, "CorruptState", "malformed %s row", what);
}

static PGresult *query(cmc_store_t *s, const char *sql, nns_error_t *err)
{
    return db_exec(s->db.loader, sql, 0, NULL, err);
}

static bool load_state(cmc_store_t *s, cmc_t *c, bool *fresh, nns_error_t *err)
{
    PGresult *r = query(s,
                        "SELECT rate_timestamp_seconds, xdr_permyriad_per_icp, has_average, "
                        "average_timestamp_seconds, average_xdr_permyriad_per_icp, "
                        "maturity_modulation, cache_timestamps, cache_rates, "
                        "last_purged_notification, total_cycles_minted, held_cycles, "
                        "next_intent_id, last_created_at, cycles_ledger_blocks, next_range, "
                        "limiter_rejects FROM cmc.state WHERE id = 1",
                        err);
    if (!r)
        return false;
    *fresh = PQntuples(r) == 0;
    if (*fresh) {
        PQclear(r);
        return true;
    }
    cmc_info_t in;
    memset(&in, 0, sizeof in);
    static char ts[CMC_CACHE_SLOTS][PRINCIPAL_TEXT_MAX], rs[CMC_CACHE_SLOTS][PRINCIPAL_TEXT_MAX];
    bool ok = v_u64(r, 0, 0, &in.rate.timestamp_seconds) &&
              v_u64(r, 0, 1, &in.rate.xdr_permyriad_per_icp) &&
              v_u64(r, 0, 3, &in.average.timestamp_seconds) &&
              v_u64(r, 0, 4, &in.average.xdr_permyriad_per_icp) &&
              split_array(PQgetvalue(r, 0, 6), ts, CMC_CACHE_SLOTS) == CMC_CACHE_SLOTS &&
              split_array(PQgetvalue(r, 0, 7), rs, CMC_CACHE_SLOTS) == CMC_CACHE_SLOTS &&
              v_u64(r, 0, 8, &in.last_purged_notification) &&
              v_u128(r, 0, 9, &in.total_cycles_minted) && v_u128(r, 0, 10, &in.held_cycles) &&
              v_u64(r, 0, 11, &in.next_intent_id) && v_u64(r, 0, 12, &in.last_created_at) &&
              v_u64(r, 0, 13, &in.cycles_ledger_blocks) && v_u64(r, 0, 14, &in.next_range) &&
              v_u64(r, 0, 15, &in.limiter_rejects);
    for (int i = 0; ok && i < CMC_CACHE_SLOTS; i++)
        ok = parse_u64(ts[i], &in.cache[i].timestamp_seconds) &&
             parse_u64(rs[i], &in.cache[i].xdr_permyriad_per_icp);
    in.has_average = strcmp(PQgetvalue(r, 0, 2), "t") == 0;
    in.maturity_modulation = atoi(PQgetvalue(r, 0, 5));
    PQclear(r);
    if (!ok)
        return corrupt(err, "cmc.state");
    cmc_load_info(c, &in);
    return true;
}

static bool load_history(cmc_store_t *s, cmc_t *c, nns_error_t *err)
{
    PGresult *r = query(s,
                        "SELECT day, timestamp_seconds, xdr_permyriad_per_icp FROM "
                        "cmc.rate_history ORDER BY day DESC LIMIT 1000",
                        err);
    if (!r)
        return false;
    bool ok = true;
    for (int i = PQntuples(r) - 1; ok && i >= 0; i--) {
        cmc_rate_day_t d;
        ok = v_u64(r, i, 0, &d.day) && v_u64(r, i, 1, &d.timestamp_seconds) &&
             v_u64(r, i, 2, &d.xdr_permyriad_per_icp) && cmc_load_history_day(c, &d);
    }
    PQclear(r);
    return ok || corrupt(err, "cmc.rate_history");
}

static bool load_limiters(cmc_store_t *s, cmc_t *c, nns_error_t *err)
{
    PGresult *r = query(s,
                        "SELECT which, resolution, max_age, total, windows, counts FROM "
                        "cmc.limiters ORDER BY which",
                        err);
    if (!r)
        return false;
    bool ok = true;
    char(*ws)[PRINCIPAL_TEXT_MAX] = malloc(CMC_LIMITER_MAX_WINDOWS * sizeof *ws);
    char(*cs)[PRINCIPAL_TEXT_MAX] = malloc(CMC_LIMITER_MAX_WINDOWS * sizeof *cs);
    cmc_limiter_t *l = malloc(sizeof *l);
    if (!ws || !cs || !l) {
        free(ws);
        free(cs);
        free(l);
        PQclear(r);
        return nns_error_set(err, 503, "Unavailable", "out of memory");
    }
    for (int i = 0; ok && i < PQntuples(r); i++) {
        memset(l, 0, sizeof *l);
        int which = atoi(PQgetvalue(r, i, 0));
        long nw = split_array(PQgetvalue(r, i, 4), ws, CMC_LIMITER_MAX_WINDOWS);
        long nc = split_array(PQgetvalue(r, i, 5), cs, CMC_LIMITER_MAX_WINDOWS);
        ok = (which == 0 || which == 1) && v_u64(r, i, 1, &l->resolution) &&
             v_u64(r, i, 2, &l->max_age) && v_u128(r, i, 3, &l->total) && nw >= 0 && nw == nc;
        for (long k = 0; ok && k < nw; k++)
            ok = parse_u64(ws[k], &l->w[k].window) && parse_u128(cs[k], &l->w[k].count);
        if (ok) {
            l->n = (size_t)nw;
            cmc_load_limiter(c, which, l);
        }
    }
    free(ws);
    free(cs);
    free(l);
    PQclear(r);
    return ok || corrupt(err, "cmc.limiters");
}

static bool load_notifications(cmc_store_t *s, cmc_t *c, nns_error_t *err)
{
    PGresult *r = query(s,
                        "SELECT block_index, status, kind, to_account, memo, refunded, cycles, "
                        "canister_id, mint_block_index, minted, balance, refund_block_index, "
                        "reason FROM cmc.notifications ORDER BY block_index",
                        err);
    if (!r)
        return false;
    bool ok = true;
    for (int i = 0; ok && i < PQntuples(r); i++) {
        cmc_notification_t n;
        memset(&n, 0, sizeof n);
        n.status = (cmc_status_t)NAME_INDEX(STATUS_NAMES, PQgetvalue(r, i, 1));
        n.kind = (cmc_notify_kind_t)NAME_INDEX(KIND_NAMES, PQgetvalue(r, i, 2));
        ok = v_u64(r, i, 0, &n.block_index) && n.status && n.kind;
        if (ok && !PQgetisnull(r, i, 3)) {
            n.has_block = true;
            ok = db_bytea_value(PQgetvalue(r, i, 3), n.to.hash, ACCOUNT_HASH_BYTES) ==
                     ACCOUNT_HASH_BYTES &&
                 v_u64(r, i, 4, &n.memo);
        }
        cmc_result_t *res = &n.result;
        res->refunded = strcmp(PQgetvalue(r, i, 5), "t") == 0;
        if (ok && !PQgetisnull(r, i, 6))
            ok = v_u128(r, i, 6, &res->cycles);
        if (ok && !PQgetisnull(r, i, 7))
            ok = v_principal(r, i, 7, &res->canister_id);
        if (ok && !PQgetisnull(r, i, 8))
            ok = v_u64(r, i, 8, &res->mint_block_index);
        if (ok && !PQgetisnull(r, i, 9))
            ok = v_u128(r, i, 9, &res->minted);
        if (ok && !PQgetisnull(r, i, 10))
            ok = v_u128(r, i, 10, &res->balance);
        if (ok && !PQgetisnull(r, i, 11)) {
            res->has_refund_block = true;
            ok = v_u64(r, i, 11, &res->refund_block_index);
        }
        snprintf(res->reason, sizeof res->reason, "%s", PQgetvalue(r, i, 12));
        ok = ok && cmc_load_notification(c, &n);
    }
    PQclear(r);
    return ok || corrupt(err, "cmc.notifications");
}

/* A text value of at most cap-1 bytes into out; NULL reads as absent (*has false). */
static bool v_text(const PGresult *r, int row, int col, char *out, size_t cap, bool *has)
{
    *has = !PQgetisnull(r, row, col);
    if (!*has)
        return true;
    size_t len = (size_t)PQgetlength(r, row, col);
    if (len >= cap || memchr(PQgetvalue(r, row, col), '\0', len))
        return false;
    memcpy(out, PQgetvalue(r, row, col), len + 1);
    return true;
}

static bool v_bool(const PGresult *r, int row, int col, bool *out)
{
    if (PQgetisnull(r, row, col))
        return false;
    const char *t = PQgetvalue(r, row, col);
    *out = t[0] == 't';
    return (t[0] == 't' || t[0] == 'f') && t[1] == '\0';
}

/* A bytea of exactly len bytes (len 0: any length up to cap, the count into *got). */
static bool v_bytes(const PGresult *r, int row, int col, uint8_t *out, size_t len, size_t cap,
                    size_t *got)
{
    if (PQgetisnull(r, row, col))
        return false;
    long n = db_bytea_value(PQgetvalue(r, row, col), out, len ? len : cap);
    if (n < 0 || (len && (size_t)n != len))
        return false;
    if (got)
        *got = (size_t)n;
    return true;
}

/* Reads one row of cmc.pending into p, field by field; on a bad value returns the index of the
 * column that holds it, else -1. A column the kind or the phase does not use must be NULL, one
 * it uses must hold a valid value (as add_pending() writes them). */
static int pending_row(const PGresult *r, int i, cmc_pending_t *p)
{
    cmc_notify_args_t *a = &p->args;
    bool has;
    memset(p, 0, sizeof *p);
#define NUL(col) PQgetisnull(r, i, col)
#define NEED(col, cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return col;                                                                            \
    } while (0)
    NEED(PC_BLOCK_INDEX, v_u64(r, i, PC_BLOCK_INDEX, &p->block_index));
    a->block_index = p->block_index;
    a->kind =
        (cmc_notify_kind_t)(NUL(PC_KIND) ? 0 : NAME_INDEX(KIND_NAMES, PQgetvalue(r, i, PC_KIND)));
    NEED(PC_KIND, a->kind != 0);
    p->phase =
        (cmc_phase_t)(NUL(PC_PHASE) ? 0 : NAME_INDEX(PHASE_NAMES, PQgetvalue(r, i, PC_PHASE)));
    NEED(PC_PHASE, p->phase != 0);
    bool top_up = a->kind == CMC_NOTIFY_TOP_UP, create = a->kind == CMC_NOTIFY_CREATE_CANISTER,
         mint = a->kind == CMC_NOTIFY_MINT_CYCLES, fetched = p->phase != CMC_PHASE_FETCH;
    NEED(PC_INTENT_ID, v_u64(r, i, PC_INTENT_ID, &p->intent_id));
    NEED(PC_CALLER, v_principal(r, i, PC_CALLER, &a->caller));
    NEED(PC_CANISTER_ID,
         top_up ? v_principal(r, i, PC_CANISTER_ID, &a->canister_id) : NUL(PC_CANISTER_ID));
    NEED(PC_CONTROLLER,
         create ? v_principal(r, i, PC_CONTROLLER, &a->controller) : NUL(PC_CONTROLLER));
    NEED(PC_SUBNET_TYPE,
         v_text(r, i, PC_SUBNET_TYPE, a->subnet_type, sizeof a->subnet_type, &a->has_subnet_type) &&
             (create || !a->has_subnet_type));
    if (!NUL(PC_SUBNET_SELECTION)) {
        a->select =
            (cmc_select_kind_t)NAME_INDEX(SELECT_NAMES, PQgetvalue(r, i, PC_SUBNET_SELECTION));
        NEED(PC_SUBNET_SELECTION, create && a->select != CMC_SELECT_NONE);
    }
    NEED(PC_SELECTION_SUBNET, a->select == CMC_SELECT_SUBNET
                                  ? v_principal(r, i, PC_SELECTION_SUBNET, &a->select_subnet)
                                  : NUL(PC_SELECTION_SUBNET));
    NEED(PC_SELECTION_SUBNET_TYPE, v_text(r, i, PC_SELECTION_SUBNET_TYPE, a->select_type,
                                          sizeof a->select_type, &a->select_has_type) &&
                                       (a->select == CMC_SELECT_FILTER || !a->select_has_type));
    NEED(PC_HAS_SETTINGS,
         v_bool(r, i, PC_HAS_SETTINGS, &a->has_settings) && (create || !a->has_settings));
    if (!NUL(PC_SETTINGS_CONTROLLERS)) {
        char names[CMC_MAX_CONTROLLERS][PRINCIPAL_TEXT_MAX];
        long nc =
            split_array(PQgetvalue(r, i, PC_SETTINGS_CONTROLLERS), names, CMC_MAX_CONTROLLERS);
        NEED(PC_SETTINGS_CONTROLLERS, a->has_settings && nc >= 0);
        nns_error_t e;
        for (long j = 0; j < nc; j++)
            NEED(PC_SETTINGS_CONTROLLERS, principal_from_text(names[j], &a->controllers[j], &e));
        a->has_controllers = true;
        a->ncontrollers = (uint8_t)nc;
    }
    a->has_to_subaccount = !NUL(PC_TO_SUBACCOUNT);
    NEED(PC_TO_SUBACCOUNT,
         !a->has_to_subaccount || (mint && v_bytes(r, i, PC_TO_SUBACCOUNT, a->to_subaccount,
                                                   SUBACCOUNT_BYTES, 0, NULL)));
    a->has_deposit_memo = !NUL(PC_DEPOSIT_MEMO);
    NEED(PC_DEPOSIT_MEMO,
         !a->has_deposit_memo || (mint && v_bytes(r, i, PC_DEPOSIT_MEMO, a->deposit_memo, 0,
                                                  CMC_DEPOSIT_MEMO_MAX, &a->deposit_memo_len)));
    NEED(PC_FROM_ACCOUNT,
         fetched ? v_bytes(r, i, PC_FROM_ACCOUNT, p->from.hash, ACCOUNT_HASH_BYTES, 0, NULL)
                 : NUL(PC_FROM_ACCOUNT));
    NEED(PC_TO_ACCOUNT, fetched
                            ? v_bytes(r, i, PC_TO_ACCOUNT, p->to.hash, ACCOUNT_HASH_BYTES, 0, NULL)
                            : NUL(PC_TO_ACCOUNT));
    NEED(PC_MEMO, fetched ? v_u64(r, i, PC_MEMO, &p->memo) : NUL(PC_MEMO));
    NEED(PC_AMOUNT, fetched ? v_u64(r, i, PC_AMOUNT, &p->amount) : NUL(PC_AMOUNT));
    NEED(PC_EXTRA_FEE, v_u64(r, i, PC_EXTRA_FEE, &p->extra_fee));
    NEED(PC_AUTO_REFUND, v_bool(r, i, PC_AUTO_REFUND, &p->auto_refund));
    NEED(PC_CYCLES, v_u128(r, i, PC_CYCLES, &p->cycles));
    NEED(PC_SUBNET, NUL(PC_SUBNET) ||
                        (create && v_principal(r, i, PC_SUBNET, &p->subnet) && p->subnet.len > 0));
    NEED(PC_REASON,
         v_text(r, i, PC_REASON, p->reason, sizeof p->reason, &has) && (!has || p->reason[0]));
    p->has_refund_block = !NUL(PC_REFUND_BLOCK_INDEX);
    NEED(PC_REFUND_BLOCK_INDEX,
         !p->has_refund_block || (p->phase == CMC_PHASE_BURN_FEE &&
                                  v_u64(r, i, PC_REFUND_BLOCK_INDEX, &p->refund_block_index)));
#undef NEED
#undef NUL
    return -1;
}

static bool load_pending(cmc_store_t *s, cmc_t *c, nns_error_t *err)
{
    PGresult *r = query(s, "SELECT " PENDING_COLUMNS " FROM cmc.pending ORDER BY block_index", err);
    if (!r)
        return false;
    for (int i = 0; i < PQntuples(r); i++) {
        cmc_pending_t p;
        int bad = pending_row(r, i, &p);
        if (bad >= 0) {
            nns_error_set(err, 500, "CorruptState",
                          "cmc.pending row of block_index %s: bad value in column '%s'",
                          PQgetvalue(r, i, PC_BLOCK_INDEX), PENDING_COLUMN_NAMES[bad]);
            PQclear(r);
            return false;
        }
        if (!cmc_load_pending(c, &p)) {
            PQclear(r);
            return nns_error_set(err, 503, "Unavailable", "out of memory loading cmc.pending");
        }
    }
    PQclear(r);
    return true;
}

static bool load_intents(cmc_store_t *s, cmc_t *c, cmc_intent_t **out, size_t *nout,
                         nns_error_t *err)
{
    PGresult *r = query(s,
                        "SELECT id, kind, purpose, block_index, from_subaccount, to_account, "
                        "amount_e8s, fee_e8s, memo, created_at_time FROM cmc.intents "
                        "WHERE resolved_at_nanos IS NULL ORDER BY id",
                        err);
    if (!r)
        return false;
    size_t n = (size_t)PQntuples(r);
    cmc_intent_t *v = n ? calloc(n, sizeof *v) : NULL;
    if (n && !v) {
        PQclear(r);
        return nns_error_set(err, 503, "Unavailable", "out of memory");
    }
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        cmc_intent_t *in = &v[i];
        int row = (int)i;
        in->kind = strcmp(PQgetvalue(r, row, 1), "transfer") == 0 ? CMC_INTENT_TRANSFER
                                                                  : CMC_INTENT_FETCH_BLOCK;
        in->purpose = (cmc_purpose_t)NAME_INDEX(PURPOSE_NAMES, PQgetvalue(r, row, 2));
        ok = v_u64(r, row, 0, &in->id) && v_u64(r, row, 3, &in->block_index) &&
             db_bytea_value(PQgetvalue(r, row, 4), in->from_subaccount, SUBACCOUNT_BYTES) ==
                 SUBACCOUNT_BYTES &&
             db_bytea_value(PQgetvalue(r, row, 5), in->to.hash, ACCOUNT_HASH_BYTES) ==
                 ACCOUNT_HASH_BYTES &&
             v_u64(r, row, 6, &in->amount) && v_u64(r, row, 7, &in->fee) &&
             v_u64(r, row, 8, &in->memo) && v_u64(r, row, 9, &in->created_at_time) &&
             cmc_load_intent(c, in);
    }
    PQclear(r);
    if (!ok) {
        free(v);
        return corrupt(err, "cmc.intents");
    }
    *out = v;
    *nout = n;
    return true;
}

static bool load_canisters(cmc_store_t *s, cmc_t *c, nns_error_t *err)
{
    PGresult *r = query(s,
                        "SELECT canister_id, subnet, controllers, cycles, created_at_nanos FROM "
                        "cmc.canisters",
                        err);
    if (!r)
        return false;
    bool ok = true;
    char names[CMC_MAX_CONTROLLERS][PRINCIPAL_TEXT_MAX];
    for (int i = 0; ok && i < PQntuples(r); i++) {
        cmc_canister_t k;
        memset(&k, 0, sizeof k);
        long nc = split_array(PQgetvalue(r, i, 2), names, CMC_MAX_CONTROLLERS);
        ok = v_principal(r, i, 0, &k.canister_id) && v_principal(r, i, 1, &k.subnet) && nc >= 0 &&
             v_u128(r, i, 3, &k.cycles) && v_u64(r, i, 4, &k.created_at);
        nns_error_t e;
        for (long j = 0; ok && j < nc; j++)
            ok = principal_from_text(names[j], &k.controllers[j], &e);
        k.ncontrollers = (uint8_t)(nc > 0 ? nc : 0);
        ok = ok && cmc_load_canister(c, &k);
    }
    PQclear(r);
    return ok || corrupt(err, "cmc.canisters");
}

static bool load_cycles_accounts(cmc_store_t *s, cmc_t *c, nns_error_t *err)
{
    PGresult *r = query(s, "SELECT owner, subaccount, balance FROM cmc.cycles_accounts", err);
    if (!r)
        return false;
    bool ok = true;
    for (int i = 0; ok && i < PQntuples(r); i++) {
        cmc_cycles_account_t a;
        memset(&a, 0, sizeof a);
        ok = v_principal(r, i, 0, &a.account.owner) &&
             db_bytea_value(PQgetvalue(r, i, 1), a.account.subaccount, SUBACCOUNT_BYTES) ==
                 SUBACCOUNT_BYTES &&
             v_u128(r, i, 2, &a.balance) && cmc_load_cycles_account(c, &a);
    }
    PQclear(r);
    return ok || corrupt(err, "cmc.cycles_accounts");
}

static bool load_subnets(cmc_store_t *s, cmc_t *c, nns_error_t *err)
{
    PGresult *r =
        query(s, "SELECT kind, who, type, subnet FROM cmc.subnet_rows ORDER BY position", err);
    if (!r)
        return false;
    bool ok = true;
    for (int i = 0; ok && i < PQntuples(r); i++) {
        cmc_subnet_row_t row;
        memset(&row, 0, sizeof row);
        row.kind = (cmc_subnet_row_kind_t)NAME_INDEX(ROW_KIND_NAMES, PQgetvalue(r, i, 0));
        ok = row.kind != 0 && (PQgetisnull(r, i, 1) || v_principal(r, i, 1, &row.who)) &&
             (PQgetisnull(r, i, 3) || v_principal(r, i, 3, &row.subnet)) &&
             strlen(PQgetvalue(r, i, 2)) < sizeof row.type;
        if (ok)
            snprintf(row.type, sizeof row.type, "%s", PQgetvalue(r, i, 2));
        ok = ok && cmc_load_subnet_row(c, &row);
    }
    PQclear(r);
    if (!ok)
        return corrupt(err, "cmc.subnet_rows");
    if (!(r = query(s, "SELECT subnet, range, next FROM cmc.subnet_ranges ORDER BY range", err)))
        return false;
    for (int i = 0; ok && i < PQntuples(r); i++) {
        cmc_subnet_range_t g;
        ok = v_principal(r, i, 0, &g.subnet) && v_u64(r, i, 1, &g.range) &&
             v_u64(r, i, 2, &g.next) && cmc_load_subnet_range(c, &g);
    }
    PQclear(r);
    return ok || corrupt(err, "cmc.subnet_ranges");
}

static bool load_replay(cmc_store_t *s, replay_cache_t *rc, uint64_t wall_now, nns_error_t *err)
{
    return db_replay_load(s->db.loader, DB_REPLAY_LOAD_SQL("cmc.replay_cache"), rc, wall_now, err);
}

bool cmc_store_load(cmc_store_t *s, cmc_t *c, replay_cache_t *rc, uint64_t wall_now, bool *fresh,
                    cmc_intent_t **intents, size_t *nintents, nns_error_t *err)
{
    *intents = NULL;
    *nintents = 0;
    bool ok = load_state(s, c, fresh, err) && load_history(s, c, err) && load_limiters(s, c, err) &&
              load_notifications(s, c, err) && load_pending(s, c, err) &&
              load_canisters(s, c, err) && load_cycles_accounts(s, c, err) &&
              load_subnets(s, c, err) && load_replay(s, rc, wall_now, err) &&
              load_intents(s, c, intents, nintents, err);
    if (ok) /* loaded: the rounds have connections of their own */
        db_store_loaded(&s->db);
    return ok;
}

/* ---- writing a round ---- */

static const char *b_u64_array(batch_t *b, const uint64_t *v, size_t n, size_t stride)
{
    size_t cap = 3 + n * 21; /* "{", n values of at most 20 digits and their commas, "}", NUL */
    char *s = malloc(cap), *p = s;
    if (s) {
        *p++ = '{';
        for (size_t i = 0; i < n; i++) {
            uint64_t x;
            memcpy(&x, (const uint8_t *)v + i * stride, sizeof x);
            p += snprintf(p, cap - (size_t)(p - s), "%s%llu", i ? "," : "", (unsigned long long)x);
        }
        *p++ = '}';
        *p = '\0';
    }
    return batch_keep(b, s);
}

static void add_state(batch_t *b, const cmc_round_t *r, uint64_t now)
{
    cmc_info_t in;
    cmc_round_info(r, &in);
    const char **v = b_stmt(b, Q_STATE);
    if (!v)
        return;
    uint64_t ts[CMC_CACHE_SLOTS], rs[CMC_CACHE_SLOTS];
    for (int i = 0; i < CMC_CACHE_SLOTS; i++) {
        ts[i] = in.cache[i].timestamp_seconds;
        rs[i] = in.cache[i].xdr_permyriad_per_icp;
    }
    v[0] = b_u64(b, in.rate.timestamp_seconds);
    v[1] = b_u64(b, in.rate.xdr_permyriad_per_icp);
    v[2] = b_bool(in.has_average);
    v[3] = b_u64(b, in.average.timestamp_seconds);
    v[4] = b_u64(b, in.average.xdr_permyriad_per_icp);
    v[5] = b_fmt(b, "%d", (int)in.maturity_modulation);
    v[6] = b_u64_array(b, ts, CMC_CACHE_SLOTS, sizeof ts[0]);
    v[7] = b_u64_array(b, rs, CMC_CACHE_SLOTS, sizeof rs[0]);
    v[8] = b_u64(b, in.last_purged_notification);
    v[9] = b_u128(b, in.total_cycles_minted);
    v[10] = b_u128(b, in.held_cycles);
    v[11] = b_u64(b, in.next_intent_id);
    v[12] = b_u64(b, in.last_created_at);
    v[13] = b_u64(b, in.cycles_ledger_blocks);
    v[14] = b_u64(b, in.next_range);
    v[15] = b_u64(b, in.limiter_rejects);
    v[16] = b_u64(b, now);
}

static void add_limiter(batch_t *b, int which, const cmc_limiter_t *l)
{
    const char **v = b_stmt(b, Q_LIMITER);
    if (!v)
        return;
    v[0] = which ? "1" : "0";
    v[1] = b_u64(b, l->resolution);
    v[2] = b_u64(b, l->max_age);
    v[3] = b_u128(b, l->total);
    v[4] = b_u64_array(b, &l->w[0].window, l->n, sizeof l->w[0]);
    size_t cap = 3 + l->n * 40; /* "{", n values of at most 39 digits and commas, "}", NUL */
    char *s = malloc(cap), *p = s;
    if (s) {
        *p++ = '{';
        for (size_t i = 0; i < l->n; i++) {
            char t[40];
            u128_text(l->w[i].count, t);
            p += snprintf(p, cap - (size_t)(p - s), "%s%s", i ? "," : "", t);
        }
        *p++ = '}';
        *p = '\0';
    }
    v[5] = batch_keep(b, s);
}

/* ---- the per-row tables: binary array parameters ---- */

#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_TEXT 25
#define OID_NUMERIC 1700

/* One statement whose first ncols parameters are arrays of one element per row (column
 * arrays, in the store's pool: their bytes live until the round is sent), built row by row. */
typedef struct {
    int q;
    int ncols;
    size_t rows;
    arr_t *col[PENDING_NCOLUMNS];
} astmt_t;

/* Takes ncols arrays from the pool for statement q, with the element types oids. False (and
 * s->b.failed) when the pool is exhausted, which a fixed set of statements never does. */
static bool astmt_begin(cmc_store_t *s, astmt_t *st, int q, const uint32_t *oids, int ncols)
{
    st->q = q;
    st->ncols = ncols;
    st->rows = 0;
    if (s->narrs + (size_t)ncols > MAX_ARRAYS) {
        s->b.failed = true;
        return false;
    }
    for (int i = 0; i < ncols; i++) {
        arr_t *c = &s->arrs[s->narrs++];
        copybuf_reset(&c->b);
        c->at = copybuf_array_begin(&c->b, oids[i]);
        c->n = 0;
        st->col[i] = c;
    }
    return true;
}

static void a_null(arr_t *c)
{
    copybuf_bin_null(&c->b);
    c->n++;
}
static void a_u64(arr_t *c, uint64_t v)
{
    copybuf_bin_numeric(&c->b, v);
    c->n++;
}
/* numeric_send of a u128: ndigits, weight, sign, dscale, then base-10000 digits, most
 * significant first (at most 10 of them) */
static void a_u128(arr_t *c, cmc_cycles_t v)
{
    uint8_t out[8 + 2 * 10];
    uint16_t digits[10];
    int n = 0;
    for (cmc_cycles_t x = v; x; x /= 10000)
        digits[n++] = (uint16_t)(x % 10000);
    uint16_t head[4] = {(uint16_t)n, (uint16_t)(n ? n - 1 : 0), 0, 0};
    size_t len = 0;
    for (int i = 0; i < 4; i++) {
        out[len++] = (uint8_t)(head[i] >> 8);
        out[len++] = (uint8_t)head[i];
    }
    for (int i = n - 1; i >= 0; i--) {
        out[len++] = (uint8_t)(digits[i] >> 8);
        out[len++] = (uint8_t)digits[i];
    }
    copybuf_bin_bytes(&c->b, out, len);
    c->n++;
}
static void a_bytes(arr_t *c, const uint8_t *p, size_t len)
{
    copybuf_bin_bytes(&c->b, p, len);
    c->n++;
}
static void a_principal(arr_t *c, const principal_t *p)
{
    a_bytes(c, p->bytes, p->len);
}
static void a_text(arr_t *c, const char *t)
{
    if (t)
        copybuf_bin_bytes(&c->b, t, strlen(t));
    else
        copybuf_bin_null(&c->b);
    c->n++;
}
static void a_bool(arr_t *c, bool v)
{
    uint8_t x = v ? 1 : 0;
    a_bytes(c, &x, 1);
}
/* principal texts joined by commas (string_to_array in the SQL makes the text[]) */
static void a_principal_list(arr_t *c, const principal_t *ps, size_t n)
{
    char t[CMC_MAX_CONTROLLERS * PRINCIPAL_TEXT_MAX + CMC_MAX_CONTROLLERS];
    size_t len = 0;
    for (size_t i = 0; i < n && i < CMC_MAX_CONTROLLERS; i++) {
        if (i)
            t[len++] = ',';
        len += principal_to_text(&ps[i], t + len);
    }
    t[len] = '\0';
    a_text(c, t);
}

/* Ends the statement: its arrays as binary parameters, then nscalars text parameters (copied
 * into the batch). A statement without rows is dropped. */
static void astmt_end(batch_t *b, astmt_t *st, const char *const *scalars, int nscalars)
{
    if (st->rows == 0 || b->failed)
        return;
    int n = st->ncols + nscalars;
    const char **vals = b_stmt(b, st->q);
    int *lens = batch_keep(b, calloc((size_t)n, sizeof(int)));
    int *fmts = batch_keep(b, calloc((size_t)n, sizeof(int)));
    if (!vals || !lens || !fmts)
        return;
    for (int i = 0; i < st->ncols; i++) {
        arr_t *c = st->col[i];
        copybuf_array_end(&c->b, c->at, c->n);
        if (c->b.failed || c->n != st->rows || c->b.len > INT32_MAX) {
            b->failed = true;
            return;
        }
        vals[i] = c->b.data;
        lens[i] = (int)c->b.len;
        fmts[i] = 1;
    }
    for (int i = 0; i < nscalars; i++)
        vals[st->ncols + i] = scalars[i] ? batch_keep(b, strdup(scalars[i])) : NULL;
    b->st[b->nst - 1].lengths = lens;
    b->st[b->nst - 1].formats = fmts;
}

/* The round's statuses: one upsert, one delete (status NONE: removed). */
static void add_notifications(cmc_store_t *s, const cmc_notification_t *ns, size_t count,
                              uint64_t now)
{
    static const uint32_t up_oids[13] = {
        OID_NUMERIC, OID_TEXT,    OID_TEXT,    OID_BYTEA,   OID_NUMERIC, OID_BOOL, OID_NUMERIC,
        OID_BYTEA,   OID_NUMERIC, OID_NUMERIC, OID_NUMERIC, OID_NUMERIC, OID_TEXT};
    static const uint32_t del_oids[1] = {OID_NUMERIC};
    astmt_t up, del;
    if (!astmt_begin(s, &up, Q_NOTIFICATION, up_oids, 13) ||
        !astmt_begin(s, &del, Q_NOTIFICATION_DEL, del_oids, 1))
        return;
    for (size_t i = 0; i < count; i++) {
        const cmc_notification_t *n = &ns[i];
        if (n->status == CMC_STATUS_NONE) {
            a_u64(del.col[0], n->block_index);
            del.rows++;
            continue;
        }
        arr_t **v = up.col;
        const cmc_result_t *res = &n->result;
        bool done = n->status != CMC_STATUS_PROCESSING;
        bool ok = done && !res->refunded;
        bool mint = ok && n->status == CMC_STATUS_NOTIFIED_MINT;
        a_u64(v[0], n->block_index);
        a_text(v[1], STATUS_NAMES[n->status]);
        a_text(v[2], KIND_NAMES[n->kind]);
        if (n->has_block) {
            a_bytes(v[3], n->to.hash, ACCOUNT_HASH_BYTES);
            a_u64(v[4], n->memo);
        } else {
            a_null(v[3]);
            a_null(v[4]);
        }
        a_bool(v[5], done && res->refunded);
        if (ok && n->status == CMC_STATUS_NOTIFIED_TOP_UP)
            a_u128(v[6], res->cycles);
        else
            a_null(v[6]);
        if (ok && n->status == CMC_STATUS_NOTIFIED_CREATE_CANISTER)
            a_principal(v[7], &res->canister_id);
        else
            a_null(v[7]);
        if (mint) {
            a_u64(v[8], res->mint_block_index);
            a_u128(v[9], res->minted);
            a_u128(v[10], res->balance);
        } else {
            a_null(v[8]);
            a_null(v[9]);
            a_null(v[10]);
        }
        if (done && res->refunded && res->has_refund_block)
            a_u64(v[11], res->refund_block_index);
        else
            a_null(v[11]);
        a_text(v[12], done && res->refunded ? res->reason : NULL);
        up.rows++;
    }
    char t[24];
    snprintf(t, sizeof t, "%llu", (unsigned long long)now);
    const char *scalars[1] = {t};
    astmt_end(&s->b, &up, scalars, 1);
    astmt_end(&s->b, &del, NULL, 0);
}

/* Every field of the notifications in flight, one column each (PENDING_COLUMN_NAMES): one
 * upsert and one delete (finished ones). Fields the kind or the phase does not use are NULL;
 * load_pending() reads them back as zero. */
static void add_pendings(cmc_store_t *s, const cmc_pending_t *ps, const bool *removed, size_t count)
{
    static const uint32_t oids[PENDING_NCOLUMNS] = {[PC_BLOCK_INDEX] = OID_NUMERIC,
                                                    [PC_KIND] = OID_TEXT,
                                                    [PC_PHASE] = OID_TEXT,
                                                    [PC_INTENT_ID] = OID_NUMERIC,
                                                    [PC_CALLER] = OID_BYTEA,
                                                    [PC_CANISTER_ID] = OID_BYTEA,
                                                    [PC_CONTROLLER] = OID_BYTEA,
                                                    [PC_SUBNET_TYPE] = OID_TEXT,
                                                    [PC_SUBNET_SELECTION] = OID_TEXT,
                                                    [PC_SELECTION_SUBNET] = OID_BYTEA,
                                                    [PC_SELECTION_SUBNET_TYPE] = OID_TEXT,
                                                    [PC_HAS_SETTINGS] = OID_BOOL,
                                                    [PC_SETTINGS_CONTROLLERS] = OID_TEXT,
                                                    [PC_TO_SUBACCOUNT] = OID_BYTEA,
                                                    [PC_DEPOSIT_MEMO] = OID_BYTEA,
                                                    [PC_FROM_ACCOUNT] = OID_BYTEA,
                                                    [PC_TO_ACCOUNT] = OID_BYTEA,
                                                    [PC_MEMO] = OID_NUMERIC,
                                                    [PC_AMOUNT] = OID_NUMERIC,
                                                    [PC_EXTRA_FEE] = OID_NUMERIC,
                                                    [PC_AUTO_REFUND] = OID_BOOL,
                                                    [PC_CYCLES] = OID_NUMERIC,
                                                    [PC_SUBNET] = OID_BYTEA,
                                                    [PC_REASON] = OID_TEXT,
                                                    [PC_REFUND_BLOCK_INDEX] = OID_NUMERIC};
    static const uint32_t del_oids[1] = {OID_NUMERIC};
    astmt_t up, del;
    if (!astmt_begin(s, &up, Q_PENDING, oids, PENDING_NCOLUMNS) ||
        !astmt_begin(s, &del, Q_PENDING_DEL, del_oids, 1))
        return;
    for (size_t i = 0; i < count; i++) {
        const cmc_pending_t *p = &ps[i];
        if (removed[i]) {
            a_u64(del.col[0], p->block_index);
            del.rows++;
            continue;
        }
        arr_t **v = up.col;
        const cmc_notify_args_t *a = &p->args;
        bool create = a->kind == CMC_NOTIFY_CREATE_CANISTER,
             mint = a->kind == CMC_NOTIFY_MINT_CYCLES;
        bool fetched = p->phase != CMC_PHASE_FETCH;
        a_u64(v[PC_BLOCK_INDEX], p->block_index);
        a_text(v[PC_KIND], KIND_NAMES[a->kind]);
        a_text(v[PC_PHASE], PHASE_NAMES[p->phase]);
        a_u64(v[PC_INTENT_ID], p->intent_id);
        a_principal(v[PC_CALLER], &a->caller);
        if (a->kind == CMC_NOTIFY_TOP_UP)
            a_principal(v[PC_CANISTER_ID], &a->canister_id);
        else
            a_null(v[PC_CANISTER_ID]);
        if (create)
            a_principal(v[PC_CONTROLLER], &a->controller);
        else
            a_null(v[PC_CONTROLLER]);
        a_text(v[PC_SUBNET_TYPE], create && a->has_subnet_type ? a->subnet_type : NULL);
        a_text(v[PC_SUBNET_SELECTION],
               create && a->select != CMC_SELECT_NONE ? SELECT_NAMES[a->select] : NULL);
        if (create && a->select == CMC_SELECT_SUBNET)
            a_principal(v[PC_SELECTION_SUBNET], &a->select_subnet);
        else
            a_null(v[PC_SELECTION_SUBNET]);
        a_text(v[PC_SELECTION_SUBNET_TYPE],
               create && a->select == CMC_SELECT_FILTER && a->select_has_type ? a->select_type
                                                                              : NULL);
        a_bool(v[PC_HAS_SETTINGS], create && a->has_settings);
        if (create && a->has_settings && a->has_controllers)
            a_principal_list(v[PC_SETTINGS_CONTROLLERS], a->controllers, a->ncontrollers);
        else
            a_null(v[PC_SETTINGS_CONTROLLERS]);
        if (mint && a->has_to_subaccount)
            a_bytes(v[PC_TO_SUBACCOUNT], a->to_subaccount, SUBACCOUNT_BYTES);
        else
            a_null(v[PC_TO_SUBACCOUNT]);
        if (mint && a->has_deposit_memo)
            a_bytes(v[PC_DEPOSIT_MEMO], a->deposit_memo,
                    a->deposit_memo_len < CMC_DEPOSIT_MEMO_MAX ? a->deposit_memo_len
                                                               : CMC_DEPOSIT_MEMO_MAX);
        else
            a_null(v[PC_DEPOSIT_MEMO]);
        if (fetched) {
            a_bytes(v[PC_FROM_ACCOUNT], p->from.hash, ACCOUNT_HASH_BYTES);
            a_bytes(v[PC_TO_ACCOUNT], p->to.hash, ACCOUNT_HASH_BYTES);
            a_u64(v[PC_MEMO], p->memo);
            a_u64(v[PC_AMOUNT], p->amount);
        } else {
            a_null(v[PC_FROM_ACCOUNT]);
            a_null(v[PC_TO_ACCOUNT]);
            a_null(v[PC_MEMO]);
            a_null(v[PC_AMOUNT]);
        }
        a_u64(v[PC_EXTRA_FEE], p->extra_fee);
        a_bool(v[PC_AUTO_REFUND], p->auto_refund);
        a_u128(v[PC_CYCLES], p->cycles);
        if (create && p->subnet.len)
            a_principal(v[PC_SUBNET], &p->subnet);
        else
            a_null(v[PC_SUBNET]);
        a_text(v[PC_REASON], p->reason[0] ? p->reason : NULL);
        if (p->has_refund_block)
            a_u64(v[PC_REFUND_BLOCK_INDEX], p->refund_block_index);
        else
            a_null(v[PC_REFUND_BLOCK_INDEX]);
        up.rows++;
    }
    astmt_end(&s->b, &up, NULL, 0);
    astmt_end(&s->b, &del, NULL, 0);
}

static void add_intents(cmc_store_t *s, const cmc_intent_t *ins, size_t count, uint64_t now)
{
    static const uint32_t oids[10] = {OID_NUMERIC, OID_TEXT,   OID_TEXT,    OID_NUMERIC,
                                      OID_BYTEA,   OID_BYTEA,  OID_NUMERIC, OID_NUMERIC,
                                      OID_NUMERIC, OID_NUMERIC};
    astmt_t st;
    if (!astmt_begin(s, &st, Q_INTENT, oids, 10))
        return;
    for (size_t i = 0; i < count; i++) {
        const cmc_intent_t *in = &ins[i];
        arr_t **v = st.col;
        a_u64(v[0], in->id);
        a_text(v[1], in->kind == CMC_INTENT_TRANSFER ? "transfer" : "fetch_block");
        a_text(v[2], PURPOSE_NAMES[in->purpose]);
        a_u64(v[3], in->block_index);
        a_bytes(v[4], in->from_subaccount, SUBACCOUNT_BYTES);
        a_bytes(v[5], in->to.hash, ACCOUNT_HASH_BYTES);
        a_u64(v[6], in->amount);
        a_u64(v[7], in->fee);
        a_u64(v[8], in->memo);
        a_u64(v[9], in->created_at_time);
        st.rows++;
    }
    char t[24];
    snprintf(t, sizeof t, "%llu", (unsigned long long)now);
    const char *scalars[1] = {t};
    astmt_end(&s->b, &st, scalars, 1);
}

/* The intents the round finished, with a transfer's outcome from x->resolved (in the same
 * order: the answers of the round, one per finished intent at most). */
static void add_intents_done(cmc_store_t *s, const uint64_t *ids, size_t count,
                             const cmc_store_extras_t *x)
{
    static const uint32_t oids[3] = {OID_NUMERIC, OID_BOOL, OID_NUMERIC};
    astmt_t st;
    if (!astmt_begin(s, &st, Q_INTENT_DONE, oids, 3))
        return;
    size_t hint = 0;
    for (size_t i = 0; i < count; i++) {
        const cmc_resolved_t *res = NULL;
        for (size_t k = 0; k < x->nresolved && !res; k++) {
            size_t j = (hint + k) % x->nresolved;
            if (x->resolved[j].intent_id == ids[i]) {
                res = &x->resolved[j];
                hint = j + 1;
            }
        }
        a_u64(st.col[0], ids[i]);
        if (res && res->is_transfer)
            a_bool(st.col[1], res->ok);
        else
            a_null(st.col[1]);
        if (res && res->is_transfer && res->has_block)
            a_u64(st.col[2], res->block_index);
        else
            a_null(st.col[2]);
        st.rows++;
    }
    char t[24];
    snprintf(t, sizeof t, "%llu", (unsigned long long)x->now);
    const char *scalars[1] = {t};
    astmt_end(&s->b, &st, scalars, 1);
}

static void add_canisters(cmc_store_t *s, const cmc_canister_t *ks, size_t count)
{
    static const uint32_t oids[5] = {OID_BYTEA, OID_BYTEA, OID_TEXT, OID_NUMERIC, OID_NUMERIC};
    astmt_t st;
    if (!astmt_begin(s, &st, Q_CANISTER, oids, 5))
        return;
    for (size_t i = 0; i < count; i++) {
        const cmc_canister_t *k = &ks[i];
        a_principal(st.col[0], &k->canister_id);
        a_principal(st.col[1], &k->subnet);
        a_principal_list(st.col[2], k->controllers, k->ncontrollers);
        a_u128(st.col[3], k->cycles);
        a_u64(st.col[4], k->created_at);
        st.rows++;
    }
    astmt_end(&s->b, &st, NULL, 0);
}

static void add_cycles_accounts(cmc_store_t *s, const cmc_cycles_account_t *as, size_t count)
{
    static const uint32_t oids[3] = {OID_BYTEA, OID_BYTEA, OID_NUMERIC};
    astmt_t st;
    if (!astmt_begin(s, &st, Q_CYCLES, oids, 3))
        return;
    for (size_t i = 0; i < count; i++) {
        a_principal(st.col[0], &as[i].account.owner);
        a_bytes(st.col[1], as[i].account.subaccount, SUBACCOUNT_BYTES);
        a_u128(st.col[2], as[i].balance);
        st.rows++;
    }
    astmt_end(&s->b, &st, NULL, 0);
}

static void add_subnets(batch_t *b, const cmc_subnet_row_t *rows, size_t nrows,
                        const cmc_subnet_range_t *ranges, size_t nranges)
{
    b_stmt(b, Q_SUBNET_ROWS_CLEAR);
    b_stmt(b, Q_SUBNET_RANGES_CLEAR);
    for (size_t i = 0; i < nrows; i++) {
        const cmc_subnet_row_t *row = &rows[i];
        const char **v = b_stmt(b, Q_SUBNET_ROW);
        if (!v)
            return;
        v[0] = b_u64(b, i);
        v[1] = ROW_KIND_NAMES[row->kind];
        v[2] = row->kind == CMC_SUBNET_AUTHORIZED ? b_principal(b, &row->who) : NULL;
        v[3] = row->kind == CMC_SUBNET_TYPED || row->kind == CMC_SUBNET_TYPE_DECL
                   ? batch_keep(b, strdup(row->type))
                   : NULL;
        v[4] = row->kind != CMC_SUBNET_TYPE_DECL ? b_principal(b, &row->subnet) : NULL;
    }
    for (size_t i = 0; i < nranges; i++) {
        const char **v = b_stmt(b, Q_SUBNET_RANGE);
        if (!v)
            return;
        v[0] = b_principal(b, &ranges[i].subnet);
        v[1] = b_u64(b, ranges[i].range);
        v[2] = b_u64(b, ranges[i].next);
    }
}

/* Builds the round's statements in s->b (the order matters: statuses before the purge). */
static void build_round(cmc_store_t *s, const cmc_round_t *r, const cmc_store_extras_t *x)
{
    batch_t *b = &s->b;
    batch_reset(b);
    s->narrs = 0;
    size_t n;
    add_state(b, r, x->now);
    const cmc_rate_day_t *days = cmc_round_history(r, &n);
    for (size_t i = 0; i < n; i++) {
        const char **v = b_stmt(b, Q_HISTORY);
        if (!v)
            return;
        v[0] = b_u64(b, days[i].day);
        v[1] = b_u64(b, days[i].timestamp_seconds);
        v[2] = b_u64(b, days[i].xdr_permyriad_per_icp);
    }
    for (size_t i = 0; i < x->nrates; i++) {
        const char **v = b_stmt(b, Q_RATE);
        if (!v)
            return;
        v[0] = b_u64(b, x->rates[i].rate.timestamp_seconds);
        v[1] = b_u64(b, x->rates[i].rate.xdr_permyriad_per_icp);
        v[2] = x->rates[i].source;
        v[3] = b_u64(b, x->now);
    }
    for (int which = 0; which < 2; which++) {
        const cmc_limiter_t *l;
        if (cmc_round_limiter(r, which, &l))
            add_limiter(b, which, l);
    }
    const cmc_notification_t *ns = cmc_round_notifications(r, &n);
    add_notifications(s, ns, n, x->now);
    uint64_t horizon;
    if (cmc_round_purged(r, &horizon)) {
        const char **v = b_stmt(b, Q_PURGE);
        if (v)
            v[0] = b_u64(b, horizon);
    }
    const bool *removed;
    const cmc_pending_t *ps = cmc_round_pending(r, &removed, &n);
    add_pendings(s, ps, removed, n);
    const cmc_intent_t *ins = cmc_round_intents(r, &n);
    add_intents(s, ins, n, x->now);
    const uint64_t *done = cmc_round_finished_intents(r, &n);
    add_intents_done(s, done, n, x);
    const cmc_canister_t *ks = cmc_round_canisters(r, &n);
    add_canisters(s, ks, n);
    const cmc_cycles_account_t *as = cmc_round_cycles_accounts(r, &n);
    add_cycles_accounts(s, as, n);
    const cmc_subnet_row_t *rows;
    const cmc_subnet_range_t *ranges;
    size_t nrows, nranges;
    if (cmc_round_subnets(r, &rows, &nrows, &ranges, &nranges))
        add_subnets(b, rows, nrows, ranges, nranges);
    if (x->minted) {
        const char **v = b_stmt(b, Q_MINTED);
        if (v) {
            v[0] = b_u64(b, x->now);
            v[1] = b_u128(b, x->minted);
        }
    }
}

#define COPY_REPLAY DB_REPLAY_COPY_SQL("cmc.replay_cache")

db_outcome_t cmc_store_send_round(cmc_store_t *s, const cmc_round_t *r, const cmc_store_extras_t *x,
                                  const replay_rec_t *replays, size_t nreplays, nns_error_t *err)
{
    PGconn *w = db_writer_conn(s->db.writer);
    if (!w) {
        nns_error_set(err, 503, "Unavailable", "database unreachable");
        return DB_NOT_COMMITTED;
    }
    build_round(s, r, x);
    db_replay_rows(&s->replay, replays, nreplays);
    if (s->b.failed || s->replay.failed) {
        batch_reset(&s->b);
        nns_error_set(err, 503, "Unavailable", "out of memory building the round's rows");
        return DB_NOT_COMMITTED;
    }
    if (!db_writer_begin(s->db.writer, err)) {
        batch_reset(&s->b);
        return DB_NOT_COMMITTED;
    }
    const copybuf_t *copies[1] = {&s->replay};
    if (nreplays && !db_copies(w, COPY_REPLAY, copies, 1, err)) {
        db_writer_abandon(s->db.writer, err);
        batch_reset(&s->b);
        return DB_NOT_COMMITTED;
    }
    db_outcome_t o = db_writer_send(s->db.writer, s->b.st, s->b.nst, err);
    batch_reset(&s->b);
    return o;
}

db_outcome_t cmc_store_wait_round(cmc_store_t *s, nns_error_t *err)
{
    return db_writer_wait(s->db.writer, err);
}

bool cmc_store_round_ready(cmc_store_t *s, int timeout_ms)
{
    return db_writer_ready(s->db.writer, timeout_ms);
}
