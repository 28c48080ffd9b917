#include "store.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"
#include "db.h"
#include "db_pool.h"
#include "dbstore.h"
#include "hex.h"
#include "jsonutil.h"
#include "log.h"

#define VERIFY_TAIL_TEXT "1000" /* blocks re-hashed and re-linked at every start */

enum { PH_BUILD, PH_COPY, PH_SEND, PH_WAIT, PH_COUNT };
_Static_assert(PH_COUNT <= LEDGER_STORE_PHASES, "LEDGER_STORE_PHASES too small");
static const char *const PHASE_NAMES[PH_COUNT] = {"build", "copy_rows", "send_upserts_and_commit",
                                                  "wait_for_commit"};

/* The binary array parameters of a round's multi-row upserts. */
enum {
    A_BAL_ACCOUNT,
    A_BAL_BALANCE,
    A_BAL_COUNT, /* balances */
    A_ALW_OWNER,
    A_ALW_SPENDER,
    A_ALW_AMOUNT,
    A_ALW_EXPIRES, /* allowances */
    A_OWN_ACCOUNT,
    A_OWN_OWNER,
    A_OWN_SUB, /* account_owners */
    A_COUNT
};
static const uint32_t ARRAY_OIDS[A_COUNT] = {
    DB_OID_BYTEA, DB_OID_NUMERIC, DB_OID_INT8,                    /* balances */
    DB_OID_BYTEA, DB_OID_BYTEA,   DB_OID_NUMERIC, DB_OID_NUMERIC, /* allowances */
    DB_OID_BYTEA, DB_OID_BYTEA,   DB_OID_BYTEA,                   /* account_owners */
};

/* The round's upserts, prepared once on the write connection. */
enum { Q_BALANCES, Q_ALLOWANCES, Q_CHAIN, Q_OWNERS, Q_COUNT };
static const db_prepared_t ROUND_SQL[Q_COUNT] = {
    [Q_BALANCES] = {"ledger_balances",
                    "INSERT INTO ledger.balances (account, balance_e8s, transaction_count) "
                    "SELECT * FROM unnest($1::bytea[], $2::numeric[], $3::bigint[]) "
                    "ON CONFLICT (account) DO UPDATE SET balance_e8s = EXCLUDED.balance_e8s, "
                    "transaction_count = EXCLUDED.transaction_count",
                    3},
    /* expires_at 0 means "does not expire" (an expiry at or before now is refused) */
    [Q_ALLOWANCES] = {"ledger_allowances",
                      "INSERT INTO ledger.allowances (owner_account, spender_account, "
                      "allowance_e8s, expires_at_nanos) "
                      "SELECT o, sp, v, nullif(e, 0) FROM unnest($1::bytea[], $2::bytea[], "
                      "$3::numeric[], $4::numeric[]) AS t(o, sp, v, e) "
                      "ON CONFLICT (owner_account, spender_account) DO UPDATE SET "
                      "allowance_e8s = EXCLUDED.allowance_e8s, "
                      "expires_at_nanos = EXCLUDED.expires_at_nanos",
                      4},
    [Q_CHAIN] =
        {"ledger_chain",
         "INSERT INTO ledger.chain (id, chain_length, tip_hash, tip_timestamp_nanos, "
         "minted_e8s, burned_e8s, fees_burned_e8s) VALUES (1, $1, $2, $3, $4, $5, $6) "
         "ON CONFLICT (id) DO UPDATE SET chain_length = EXCLUDED.chain_length, "
         "tip_hash = EXCLUDED.tip_hash, tip_timestamp_nanos = EXCLUDED.tip_timestamp_nanos, "
         "minted_e8s = EXCLUDED.minted_e8s, burned_e8s = EXCLUDED.burned_e8s, "
         "fees_burned_e8s = EXCLUDED.fees_burned_e8s",
         6},
    [Q_OWNERS] = {"ledger_owners",
                  "INSERT INTO ledger.account_owners (account, owner, subaccount) "
                  "SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[]) "
                  "ON CONFLICT (account) DO NOTHING",
                  3},
};

struct ledger_store {
    db_store_t db; /* the loader (a writer closes it after loading), the pool, the writer */
    /* time spent in each part of committing rounds: the state thread adds, /metrics reads */
    _Atomic uint64_t phase_nanos[PH_COUNT];
    copybuf_t blocks, history, replay; /* binary COPY rows */
    /* the round being written (state thread): begun, and its rows written up to here (0 when
     * none is open) */
    bool open;
    size_t open_blocks, open_replays;
    copybuf_t arr[A_COUNT];
    size_t arr_at[A_COUNT];
};

/* ---- open / close ---- */

ledger_store_t *ledger_store_open(const char *conninfo, unsigned pool_size, bool read_only,
                                  unsigned depth, unsigned commit_delay_ms, nns_error_t *err)
{
    ledger_store_t *s = calloc(1, sizeof *s);
    if (!s) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        return NULL;
    }
    db_store_config_t c = {.conninfo = conninfo,
                           .migrations = &LEDGER_MIGRATIONS,
                           .pool_size = pool_size,
                           .read_only = read_only,
                           .depth = depth,
                           .commit_delay_ms = commit_delay_ms,
                           .round_sql = ROUND_SQL,
                           .nround_sql = Q_COUNT};
    if (!db_store_open(&s->db, &c, err)) {
        free(s);
        return NULL;
    }
    return s;
}

void ledger_store_close(ledger_store_t **sp)
{
    ledger_store_t *s = *sp;
    if (!s)
        return;
    db_store_close(&s->db);
    copybuf_free(&s->blocks);
    copybuf_free(&s->history);
    copybuf_free(&s->replay);
    for (int i = 0; i < A_COUNT; i++)
        copybuf_free(&s->arr[i]);
    free(s);
    *sp = NULL;
}

db_store_t *ledger_store_db(ledger_store_t *s)
{
    return &s->db;
}

/* ---- loading ---- */

static bool value_u64(const PGresult *r, int row, int col, uint64_t *out)
{
    return !PQgetisnull(r, row, col) && parse_u64(PQgetvalue(r, row, col), out);
}

static bool load_balances(ledger_store_t *s, ledger_t *l, nns_error_t *err)
{
    PGresult *r = PQexec(s->db.loader, "COPY (SELECT encode(account, 'hex'), balance_e8s, "
                                       "transaction_count FROM ledger.balances) TO STDOUT");
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        nns_error_set(err, 503, "Unavailable", "cannot read balances: %s", PQresultErrorMessage(r));
        PQclear(r);
        return false;
    }
    PQclear(r);
    char *line;
    int n;
    bool ok = true;
    while ((n = PQgetCopyData(s->db.loader, &line, 0)) > 0) {
        account_id_t id;
        char hexpart[57], bal[24], cnt[24];
        uint64_t b, c;
        if (ok && (sscanf(line, "%56s\t%23s\t%23s", hexpart, bal, cnt) != 3 ||
                   hex_decode(hexpart, 56, id.hash, sizeof id.hash) != 28 || !parse_u64(bal, &b) ||
                   !parse_u64(cnt, &c)))
            ok = nns_error_set(err, 500, "CorruptState", "malformed balance row '%.80s'", line);
        else if (ok && !ledger_load_balance(l, &id, b, c))
            ok = nns_error_set(err, 503, "Unavailable", "out of memory loading balances");
        PQfreemem(line);
    }
    while ((r = PQgetResult(s->db.loader)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && ok)
            ok = nns_error_set(err, 503, "Unavailable", "cannot read balances: %s",
                               PQresultErrorMessage(r));
        PQclear(r);
    }
    return ok;
}

/* Re-hashes the last VERIFY_TAIL_TEXT blocks and checks their parent links and the counters. */
static bool verify_tail(ledger_store_t *s, uint64_t chain_length, const uint8_t tip[32],
                        nns_error_t *err)
{
    PGresult *r = db_exec(s->db.loader,
                          "SELECT height, hash, parent_hash, raw FROM ledger.blocks "
                          "ORDER BY height DESC LIMIT $1",
                          1, (const char *const[]){VERIFY_TAIL_TEXT}, err);
    if (!r)
        return false;
    bool ok = true;
    int rows = PQntuples(r);
    uint64_t expect = chain_length;
    uint8_t child_parent[32];
    for (int i = 0; i < rows && ok; i++) {
        uint64_t h;
        uint8_t hash[32], parent[32], raw[BLOCK_ENCODED_MAX], calc[32];
        long rawlen = db_bytea_value(PQgetvalue(r, i, 3), raw, sizeof raw);
        if (!value_u64(r, i, 0, &h) || h != expect - 1 ||
            db_bytea_value(PQgetvalue(r, i, 1), hash, 32) != 32 || rawlen < 0) {
            ok = nns_error_set(err, 500, "CorruptState", "block %llu is missing or malformed",
                               (unsigned long long)(expect - 1));
            break;
        }
        block_hash(raw, (size_t)rawlen, calc);
        if (memcmp(calc, hash, 32) != 0)
            ok = nns_error_set(err, 500, "CorruptState", "block %llu does not hash to its hash",
                               (unsigned long long)h);
        else if (i == 0 && memcmp(hash, tip, 32) != 0)
            ok = nns_error_set(err, 500, "CorruptState", "block %llu is not the recorded tip",
                               (unsigned long long)h);
        else if (i > 0 && memcmp(hash, child_parent, 32) != 0)
            ok = nns_error_set(err, 500, "CorruptState",
                               "block %llu's parent hash does not match block %llu",
                               (unsigned long long)(h + 1), (unsigned long long)h);
        bool has_parent = !PQgetisnull(r, i, 2);
        if (has_parent && db_bytea_value(PQgetvalue(r, i, 2), parent, 32) != 32)
            ok = nns_error_set(err, 500, "CorruptState", "block %llu has a malformed parent",
                               (unsigned long long)h);
        if (has_parent != (h > 0))
            ok = nns_error_set(err, 500, "CorruptState", "block %llu's parent link is wrong",
                               (unsigned long long)h);
        memcpy(child_parent, parent, 32);
        expect = h;
    }
    if (ok && rows == 0 && chain_length > 0)
        ok = nns_error_set(err, 500, "CorruptState", "chain of %llu blocks has no blocks",
                           (unsigned long long)chain_length);
    PQclear(r);
    return ok;
}

static bool load_dedup(ledger_store_t *s, ledger_t *l, uint64_t from, nns_error_t *err)
{
    char fromtxt[24];
    snprintf(fromtxt, sizeof fromtxt, "%lld", (long long)(from > INT64_MAX ? INT64_MAX : from));
    const char *p[1] = {fromtxt};
    PGresult *r = db_exec(s->db.loader,
                          "SELECT tx_hash, height, timestamp_nanos FROM ledger.blocks "
                          "WHERE created_at_time_nanos IS NOT NULL AND timestamp_nanos >= $1 "
                          "ORDER BY height",
                          1, p, err);
    if (!r)
        return false;
    bool ok = true;
    for (int i = 0; i < PQntuples(r) && ok; i++) {
        uint8_t hash[32];
        uint64_t h, ts;
        if (db_bytea_value(PQgetvalue(r, i, 0), hash, 32) != 32 || !value_u64(r, i, 1, &h) ||
            !value_u64(r, i, 2, &ts))
            ok = nns_error_set(err, 500, "CorruptState", "malformed block row");
        else if (!ledger_load_dedup(l, hash, h, ts))
            ok = nns_error_set(err, 503, "Unavailable", "out of memory");
    }
    PQclear(r);
    return ok;
}

static bool load_allowances(ledger_store_t *s, ledger_t *l, nns_error_t *err)
{
    PGresult *r = db_exec(s->db.loader,
                          "SELECT owner_account, spender_account, allowance_e8s, expires_at_nanos "
                          "FROM ledger.allowances WHERE allowance_e8s > 0",
                          0, NULL, err);
    if (!r)
        return false;
    bool ok = true;
    for (int i = 0; i < PQntuples(r) && ok; i++) {
        ledger_allowance_rec_t a = {0};
        a.has_expires_at = !PQgetisnull(r, i, 3);
        if (db_bytea_value(PQgetvalue(r, i, 0), a.owner.hash, ACCOUNT_HASH_BYTES) !=
                ACCOUNT_HASH_BYTES ||
            db_bytea_value(PQgetvalue(r, i, 1), a.spender.hash, ACCOUNT_HASH_BYTES) !=
                ACCOUNT_HASH_BYTES ||
            !value_u64(r, i, 2, &a.allowance) ||
            (a.has_expires_at && !value_u64(r, i, 3, &a.expires_at)))
            ok = nns_error_set(err, 500, "CorruptState", "malformed allowance row");
        else if (!ledger_load_allowance(l, &a))
            ok = nns_error_set(err, 503, "Unavailable", "out of memory");
    }
    PQclear(r);
    return ok;
}

static bool load_replay(ledger_store_t *s, replay_cache_t *rc, uint64_t wall_now, nns_error_t *err)
{
    return db_replay_load(s->db.loader, DB_REPLAY_LOAD_SQL("ledger.replay_cache"), rc, wall_now,
                          err);
}

bool ledger_store_load(ledger_store_t *s, ledger_t *l, replay_cache_t *rc, uint64_t dedup_from,
                       uint64_t wall_now, nns_error_t *err)
{
    PGresult *r = db_exec(s->db.loader,
                          "SELECT chain_length, tip_hash, tip_timestamp_nanos, minted_e8s, "
                          "burned_e8s, fees_burned_e8s FROM ledger.chain WHERE id = 1",
                          0, NULL, err);
    if (!r)
        return false;
    if (PQntuples(r) == 1) {
        uint64_t len, ts, minted, burned, fees;
        uint8_t tip[32] = {0};
        if (!value_u64(r, 0, 0, &len) || !value_u64(r, 0, 2, &ts) || !value_u64(r, 0, 3, &minted) ||
            !value_u64(r, 0, 4, &burned) || !value_u64(r, 0, 5, &fees) ||
            (len > 0 && db_bytea_value(PQgetvalue(r, 0, 1), tip, 32) != 32)) {
            PQclear(r);
            return nns_error_set(err, 500, "CorruptState", "malformed ledger.chain row");
        }
        PQclear(r);
        ledger_load_tip(l, len, tip, ts, minted, burned, fees);
        if (!verify_tail(s, len, tip, err))
            return false;
    } else {
        PQclear(r);
    }
    bool ok = load_balances(s, l, err) && ledger_check(l, err) && load_allowances(s, l, err) &&
              load_dedup(s, l, dedup_from, err) && load_replay(s, rc, wall_now, err);
    if (ok && s->db.writer) /* loaded: a writer's rounds have connections of their own */
        db_store_loaded(&s->db);
    return ok;
}

/* ---- writing a round ---- */

/* Binary COPY fields (FORMAT binary): no hex or decimal text to make or parse. */
static void bin_account(copybuf_t *b, const account_id_t *a)
{
    copybuf_bin_bytes(b, a->hash, ACCOUNT_HASH_BYTES);
}

static void bin_opt_numeric(copybuf_t *b, bool present, uint64_t v)
{
    if (present)
        copybuf_bin_numeric(b, v);
    else
        copybuf_bin_null(b);
}

#define BLOCK_COLUMNS 18

void ledger_store_block_rows(copybuf_t *b, copybuf_t *history, const ledger_block_rec_t *rec)
{
    const block_t *bl = &rec->block;
    const operation_t *op = &bl->tx.op;
    bool has_from = op->kind != OP_MINT, has_to = op->kind == OP_MINT || op->kind == OP_TRANSFER;
    bool has_spender = op->kind == OP_APPROVE || op->has_spender;
    const char *name = op_kind_name(op->kind);
    copybuf_bin_row(b, BLOCK_COLUMNS);
    copybuf_bin_int8(b, (int64_t)rec->height);
    copybuf_bin_bytes(b, rec->hash, 32);
    if (bl->has_parent)
        copybuf_bin_bytes(b, bl->parent_hash, 32);
    else
        copybuf_bin_null(b);
    copybuf_bin_int8(b, (int64_t)bl->timestamp);
    copybuf_bin_bytes(b, rec->tx_hash, 32);
    copybuf_bin_bytes(b, name, strlen(name));
    if (has_from)
        bin_account(b, &op->from);
    else
        copybuf_bin_null(b);
    if (has_to)
        bin_account(b, &op->to);
    else
        copybuf_bin_null(b);
    if (has_spender)
        bin_account(b, &op->spender);
    else
        copybuf_bin_null(b);
    bin_opt_numeric(b, op->kind != OP_APPROVE, op->amount);
    bin_opt_numeric(b, op->kind == OP_TRANSFER || op->kind == OP_APPROVE, op->fee);
    bin_opt_numeric(b, op->kind == OP_APPROVE, op->allowance);
    bin_opt_numeric(b, op->kind == OP_APPROVE && op->has_expected_allowance,
                    op->expected_allowance);
    bin_opt_numeric(b, op->kind == OP_APPROVE && op->has_expires_at, op->expires_at);
    copybuf_bin_numeric(b, bl->tx.memo);
    if (bl->tx.has_icrc1_memo)
        copybuf_bin_bytes(b, bl->tx.icrc1_memo, bl->tx.icrc1_memo_len);
    else
        copybuf_bin_null(b);
    bin_opt_numeric(b, bl->tx.has_created_at_time, bl->tx.created_at_time);
    copybuf_bin_bytes(b, rec->encoded, rec->encoded_len);

    /* history: every distinct account the block names */
    const account_id_t *named[3];
    int n = 0;
    if (has_from)
        named[n++] = &op->from;
    if (has_to)
        named[n++] = &op->to;
    if (has_spender)
        named[n++] = &op->spender;
    for (int i = 0; i < n; i++) {
        bool seen = false;
        for (int j = 0; j < i; j++)
            seen |= account_id_equal(named[i], named[j]);
        if (seen)
            continue;
        copybuf_bin_row(history, 2);
        bin_account(history, named[i]);
        copybuf_bin_int8(history, (int64_t)rec->height);
    }
}

/* ---- the round's multi-row statements: binary array parameters, sent in one pipeline ---- */

static void arr_begin(ledger_store_t *s, int first, int last)
{
    for (int i = first; i <= last; i++) {
        copybuf_reset(&s->arr[i]);
        s->arr_at[i] = copybuf_array_begin(&s->arr[i], ARRAY_OIDS[i]);
    }
}

/* Ends arrays first..last (count elements each) and makes them the parameters of prepared
 * statement q. */
static db_stmt_t arr_stmt(ledger_store_t *s, int q, int first, int last, size_t count,
                          const char **values, int *lengths, int *formats)
{
    for (int i = first; i <= last; i++) {
        copybuf_array_end(&s->arr[i], s->arr_at[i], count);
        values[i] = s->arr[i].data;
        lengths[i] = (int)s->arr[i].len;
        formats[i] = 1;
    }
    return (db_stmt_t){NULL,           ROUND_SQL[q].name, last - first + 1,
                       values + first, lengths + first,   formats + first};
}

/* The chain row (length, tip, supply counters) after the round, as the text parameters of its
 * prepared upsert; text and params are the caller's storage. */
static db_stmt_t chain_stmt(const ledger_round_t *r, char text[6][2 * 32 + 3],
                            const char *params[6])
{
    ledger_info_t info;
    ledger_round_info(r, &info);
    snprintf(text[0], sizeof text[0], "%llu", (unsigned long long)info.chain_length);
    db_bytea_param(info.tip_hash, 32, text[1]);
    snprintf(text[2], sizeof text[2], "%llu", (unsigned long long)info.tip_timestamp);
    snprintf(text[3], sizeof text[3], "%llu", (unsigned long long)info.minted);
    snprintf(text[4], sizeof text[4], "%llu", (unsigned long long)info.burned);
    snprintf(text[5], sizeof text[5], "%llu", (unsigned long long)info.fees_burned);
    for (int i = 0; i < 6; i++)
        params[i] = text[i];
    if (!info.has_tip)
        params[1] = NULL;
    return (db_stmt_t){NULL, ROUND_SQL[Q_CHAIN].name, 6, params, NULL, NULL};
}

static bool arrays_failed(const ledger_store_t *s)
{
    bool failed = s->blocks.failed || s->history.failed || s->replay.failed;
    for (int i = 0; i < A_COUNT; i++)
        failed |= s->arr[i].failed || s->arr[i].len > INT32_MAX;
    return failed;
}

static bool add_balances(ledger_store_t *s, const ledger_round_t *r, size_t *count)
{
    ledger_balance_rec_t *bal = NULL;
    if (!ledger_round_balances(r, &bal, count))
        return false;
    arr_begin(s, A_BAL_ACCOUNT, A_BAL_COUNT);
    for (size_t i = 0; i < *count; i++) {
        bin_account(&s->arr[A_BAL_ACCOUNT], &bal[i].account);
        copybuf_bin_numeric(&s->arr[A_BAL_BALANCE], bal[i].balance);
        copybuf_bin_int8(&s->arr[A_BAL_COUNT], (int64_t)bal[i].tx_count);
    }
    free(bal);
    return true;
}

static bool add_allowances(ledger_store_t *s, const ledger_round_t *r, size_t *count)
{
    ledger_allowance_rec_t *a = NULL;
    if (!ledger_round_allowances(r, &a, count))
        return false;
    arr_begin(s, A_ALW_OWNER, A_ALW_EXPIRES);
    for (size_t i = 0; i < *count; i++) {
        bin_account(&s->arr[A_ALW_OWNER], &a[i].owner);
        bin_account(&s->arr[A_ALW_SPENDER], &a[i].spender);
        copybuf_bin_numeric(&s->arr[A_ALW_AMOUNT], a[i].allowance);
        copybuf_bin_numeric(&s->arr[A_ALW_EXPIRES], a[i].expires_at);
    }
    free(a);
    return true;
}

static void add_owners(ledger_store_t *s, const owner_fact_t *o, size_t n)
{
    arr_begin(s, A_OWN_ACCOUNT, A_OWN_SUB);
    for (size_t i = 0; i < n; i++) {
        bin_account(&s->arr[A_OWN_ACCOUNT], &o[i].account);
        copybuf_bin_bytes(&s->arr[A_OWN_OWNER], o[i].owner.bytes, o[i].owner.len);
        copybuf_bin_bytes(&s->arr[A_OWN_SUB], o[i].subaccount, SUBACCOUNT_BYTES);
    }
}

/* Adds the time since t0 to a phase; returns now. */
static uint64_t phase_done(ledger_store_t *s, int phase, uint64_t t0)
{
    uint64_t t = clock_wall_nanos();
    atomic_fetch_add_explicit(&s->phase_nanos[phase], t - t0, memory_order_relaxed);
    return t;
}

size_t ledger_store_phases(ledger_store_t *s, const char *const **names,
                           uint64_t nanos[LEDGER_STORE_PHASES])
{
    *names = PHASE_NAMES;
    for (int i = 0; i < PH_COUNT; i++)
        nanos[i] = atomic_load_explicit(&s->phase_nanos[i], memory_order_relaxed);
    return PH_COUNT;
}

#define COPY_BLOCKS                                                                                \
    "COPY " LEDGER_BLOCKS_COLUMNS " FROM STDIN WITH (FORMAT binary); "                             \
    "COPY " LEDGER_HISTORY_COLUMNS " FROM STDIN WITH (FORMAT binary);"
#define COPY_REPLAY " " DB_REPLAY_COPY_SQL("ledger.replay_cache") ";"

/* No round is being written any more (sent, abandoned, or its connection gone). */
static void close_round(ledger_store_t *s)
{
    s->open = false;
    s->open_blocks = s->open_replays = 0;
}

/* A round is one simple query ("BEGIN; COPY blocks; COPY history; COPY replay": the server moves
 * from one COPY to the next on its own) and one pipeline (the upserts, then the writer's guard
 * and COMMIT), sent without waiting for the COMMIT: a round trip per COPY and one more,
 * whatever the round's size. A round that takes late commands (ledger_store_copy_round()) has
 * one more simple query of COPYs for them. */
db_outcome_t ledger_store_copy_round(ledger_store_t *s, const ledger_round_t *r,
                                     const replay_rec_t *replays, size_t nreplays, nns_error_t *err)
{
    PGconn *w = s->db.writer ? db_writer_conn(s->db.writer) : NULL;
    if (!w) {
        close_round(s);
        nns_error_set(err, 503, "Unavailable", "database unreachable");
        return DB_NOT_COMMITTED;
    }
    uint64_t t = clock_wall_nanos();
    size_t nblocks;
    const ledger_block_rec_t *blocks = ledger_round_blocks(r, &nblocks);
    size_t from_block = s->open_blocks, from_replay = s->open_replays;
    bool new_blocks = nblocks > from_block, new_replays = nreplays > from_replay;
    copybuf_reset(&s->blocks);
    copybuf_reset(&s->history);
    copybuf_bin_begin(&s->blocks);
    copybuf_bin_begin(&s->history);
    for (size_t i = from_block; i < nblocks; i++)
        ledger_store_block_rows(&s->blocks, &s->history, &blocks[i]);
    copybuf_bin_end(&s->blocks);
    copybuf_bin_end(&s->history);
    db_replay_rows(&s->replay, replays + from_replay, nreplays - from_replay);
    const copybuf_t *copies[3];
    size_t ncopies = 0;
    const char *copy_sql = NULL;
    if (new_blocks) {
        copies[ncopies++] = &s->blocks;
        copies[ncopies++] = &s->history;
    }
    if (new_replays)
        copies[ncopies++] = &s->replay;
    if (new_blocks && new_replays)
        copy_sql = COPY_BLOCKS COPY_REPLAY;
    else if (new_blocks)
        copy_sql = COPY_BLOCKS;
    else if (new_replays)
        copy_sql = COPY_REPLAY;
    t = phase_done(s, PH_BUILD, t);

    /* BEGIN with the round's lock, then the simple query "COPY...; COPY...": it holds no
     * COMMIT, so whatever becomes of it nothing of the round can commit (a transaction left
     * open on a connection that is then closed is rolled back by the server). */
    if (!s->open && !db_writer_begin(s->db.writer, err))
        return DB_NOT_COMMITTED;
    s->open = true;
    if (copy_sql && !db_copies(w, copy_sql, copies, ncopies, err)) {
        ledger_store_abandon_round(s, err);
        return DB_NOT_COMMITTED;
    }
    s->open_blocks = nblocks;
    s->open_replays = nreplays;
    phase_done(s, PH_COPY, t);
    return DB_COMMITTED;
}

void ledger_store_abandon_round(ledger_store_t *s, const nns_error_t *why)
{
    if (s->open)
        db_writer_abandon(s->db.writer, why);
    close_round(s);
}

db_outcome_t ledger_store_send_round(ledger_store_t *s, const ledger_round_t *r,
                                     const owner_fact_t *owners, size_t nowners,
                                     const replay_rec_t *replays, size_t nreplays, nns_error_t *err)
{
    db_outcome_t o = ledger_store_copy_round(s, r, replays, nreplays, err);
    if (o != DB_COMMITTED)
        return o;
    uint64_t t = clock_wall_nanos();
    size_t nblocks, nbalances = 0, nallowances = 0;
    (void)ledger_round_blocks(r, &nblocks);
    add_owners(s, owners, nowners);
    if (!add_balances(s, r, &nbalances) || !add_allowances(s, r, &nallowances) ||
        arrays_failed(s)) {
        nns_error_set(err, 503, "Unavailable", "out of memory building the round's rows");
        ledger_store_abandon_round(s, err);
        return DB_NOT_COMMITTED;
    }
    const char *values[A_COUNT];
    int lengths[A_COUNT], formats[A_COUNT];
    db_stmt_t st[4];
    size_t n = 0;
    if (nbalances)
        st[n++] = arr_stmt(s, Q_BALANCES, A_BAL_ACCOUNT, A_BAL_COUNT, nbalances, values, lengths,
                           formats);
    if (nallowances)
        st[n++] = arr_stmt(s, Q_ALLOWANCES, A_ALW_OWNER, A_ALW_EXPIRES, nallowances, values,
                           lengths, formats);
    char chain[6][2 * 32 + 3];
    const char *chain_params[6];
    if (nblocks)
        st[n++] = chain_stmt(r, chain, chain_params);
    if (nowners)
        st[n++] =
            arr_stmt(s, Q_OWNERS, A_OWN_ACCOUNT, A_OWN_SUB, nowners, values, lengths, formats);
    t = phase_done(s, PH_BUILD, t);
    /* the pipeline of upserts ending in the guard and COMMIT, not waited for */
    close_round(s);
    o = db_writer_send(s->db.writer, st, n, err);
    phase_done(s, PH_SEND, t);
    return o;
}

db_outcome_t ledger_store_wait_round(ledger_store_t *s, nns_error_t *err)
{
    uint64_t t = clock_wall_nanos();
    db_outcome_t o = db_writer_wait(s->db.writer, err);
    phase_done(s, PH_WAIT, t);
    return o;
}

bool ledger_store_round_ready(ledger_store_t *s, int timeout_ms)
{
    return s->db.writer && db_writer_ready(s->db.writer, timeout_ms);
}

bool ledger_store_commit_round(ledger_store_t *s, const ledger_round_t *r,
                               const owner_fact_t *owners, size_t nowners,
                               const replay_rec_t *replays, size_t nreplays, bool *fatal,
                               nns_error_t *err)
{
    db_outcome_t o = ledger_store_send_round(s, r, owners, nowners, replays, nreplays, err);
    if (o == DB_COMMITTED)
        o = ledger_store_wait_round(s, err);
    *fatal = o == DB_UNKNOWN;
    return o == DB_COMMITTED;
}

/* ---- reads ---- */

/* The reads the HTTP threads run most often, prepared on each pool connection at its first use
 * (parsed and planned once per connection: planning the history join cost as much as running
 * it) and answered in binary (bytea as bytes, bigint as 8 bytes big-endian: nothing to format as
 * hex and parse back). The filtered history keeps a plan per call: which filters are present
 * changes the best plan. */
static const db_pool_stmt_t HISTORY_STMT = {
    "ledger_history",
    /* keyset pagination on the history key: an index-only scan backward over (account,
     * height), the first `limit` rows joined to their blocks by primary key, no sort; the oldest
     * block naming the account is the same index's first entry */
    "SELECT b.height, b.hash, b.tx_hash, b.raw, "
    "(SELECT min(height) FROM ledger.account_history WHERE account = $1) "
    "FROM ledger.account_history h JOIN ledger.blocks b ON b.height = h.height "
    "WHERE h.account = $1 AND h.height < $2 ORDER BY h.height DESC LIMIT $3",
    3};
static const db_pool_stmt_t OLDEST_STMT = {
    "ledger_oldest",
    "SELECT height FROM ledger.account_history WHERE account = $1 ORDER BY height LIMIT 1", 1};
static const db_pool_stmt_t BLOCKS_UP_STMT = {
    "ledger_blocks_up",
    "SELECT height, hash, tx_hash, raw FROM ledger.blocks WHERE height >= $1 ORDER BY height "
    "LIMIT $2",
    2};
static const db_pool_stmt_t BLOCKS_DOWN_STMT = {
    "ledger_blocks_down",
    "SELECT height, hash, tx_hash, raw FROM ledger.blocks WHERE height < $1 ORDER BY height DESC "
    "LIMIT $2",
    2};
static const db_pool_stmt_t BLOCK_STMT = {
    "ledger_block", "SELECT height, hash, tx_hash, raw FROM ledger.blocks WHERE height = $1", 1};
static const db_pool_stmt_t TX_HASH_STMT = {
    "ledger_by_tx_hash",
    "SELECT height, hash, tx_hash, raw FROM ledger.blocks WHERE tx_hash = $1 ORDER BY height", 1};

/* A binary bigint column as a u64: false when NULL, not 8 bytes, or negative. */
static bool bin_u64(const PGresult *r, int row, int col, uint64_t *out)
{
    if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
        return false;
    const uint8_t *v = (const uint8_t *)PQgetvalue(r, row, col);
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = x << 8 | v[i];
    if (x > (uint64_t)INT64_MAX)
        return false;
    *out = x;
    return true;
}

/* A binary bytea column into out (cap bytes): its length, or -1 when NULL or longer than cap. */
static long bin_bytea(const PGresult *r, int row, int col, uint8_t *out, size_t cap)
{
    int len = PQgetlength(r, row, col);
    if (PQgetisnull(r, row, col) || len < 0 || (size_t)len > cap)
        return -1;
    memcpy(out, PQgetvalue(r, row, col), (size_t)len);
    return len;
}

/* Fills *out from a result whose rows are (height, hash, tx_hash, raw[, extra]) in the given
 * format (0 text, 1 binary); extra (may be NULL) receives the fifth column of the first row,
 * when there is one. Clears r. */
static bool block_rows(PGresult *r, int format, stored_block_t **out, size_t *n, uint64_t *extra,
                       bool *has_extra, nns_error_t *err)
{
    int rows = PQntuples(r);
    bool ok = true;
    if (extra && rows > 0 && PQnfields(r) > 4)
        *has_extra = format ? bin_u64(r, 0, 4, extra) : value_u64(r, 0, 4, extra);
    if (rows > 0 && !(*out = calloc((size_t)rows, sizeof **out)))
        ok = nns_error_set(err, 503, "Unavailable", "out of memory");
    for (int i = 0; i < rows && ok; i++) {
        stored_block_t *b = &(*out)[i];
        long rawlen = -1;
        bool good;
        if (format)
            good = bin_u64(r, i, 0, &b->height) && bin_bytea(r, i, 1, b->hash, 32) == 32 &&
                   bin_bytea(r, i, 2, b->tx_hash, 32) == 32 &&
                   (rawlen = bin_bytea(r, i, 3, b->raw, sizeof b->raw)) >= 0;
        else
            good = value_u64(r, i, 0, &b->height) &&
                   db_bytea_value(PQgetvalue(r, i, 1), b->hash, 32) == 32 &&
                   db_bytea_value(PQgetvalue(r, i, 2), b->tx_hash, 32) == 32 &&
                   (rawlen = db_bytea_value(PQgetvalue(r, i, 3), b->raw, sizeof b->raw)) >= 0;
        if (!good)
            ok = nns_error_set(err, 500, "CorruptState", "malformed block row");
        else
            b->raw_len = (size_t)rawlen;
    }
    PQclear(r);
    if (!ok) {
        free(*out);
        *out = NULL;
        return false;
    }
    *n = (size_t)rows;
    return true;
}

/* Runs a query whose rows are (height, hash, tx_hash, raw[, extra]) on a pool connection: the
 * prepared stmt (binary rows) when given, else sql (text rows). */
static bool read_blocks(ledger_store_t *s, const db_pool_stmt_t *stmt, const char *sql, int nparams,
                        const char *const *p, stored_block_t **out, size_t *n, uint64_t *extra,
                        bool *has_extra, nns_error_t *err)
{
    *out = NULL;
    *n = 0;
    if (has_extra)
        *has_extra = false;
    PGresult *r = stmt ? db_pool_exec_prepared(s->db.pool, stmt, p, 1, err)
                       : db_pool_exec(s->db.pool, sql, nparams, p, err);
    return r && block_rows(r, stmt ? 1 : 0, out, n, extra, has_extra, err);
}

bool ledger_store_blocks(ledger_store_t *s, bool ascending, uint64_t from, unsigned limit,
                         stored_block_t **out, size_t *n, nns_error_t *err)
{
    char f[24], l[16];
    snprintf(f, sizeof f, "%lld", (long long)(from > INT64_MAX ? INT64_MAX : from));
    snprintf(l, sizeof l, "%u", limit);
    const char *p[2] = {f, l};
    return read_blocks(s, ascending ? &BLOCKS_UP_STMT : &BLOCKS_DOWN_STMT, NULL, 2, p, out, n, NULL,
                       NULL, err);
}

bool ledger_store_block(ledger_store_t *s, uint64_t height, stored_block_t **out, size_t *n,
                        nns_error_t *err)
{
    char h[24];
    snprintf(h, sizeof h, "%lld", (long long)(height > INT64_MAX ? INT64_MAX : height));
    const char *p[1] = {h};
    return read_blocks(s, &BLOCK_STMT, NULL, 1, p, out, n, NULL, NULL, err);
}

/* The oldest block naming account $1, as a fifth column of a filtered history page. */
#define OLDEST_SQL "(SELECT min(height) FROM ledger.account_history WHERE account = $1)"

bool ledger_store_history(ledger_store_t *s, const account_id_t *account, uint64_t before,
                          unsigned limit, const history_filter_t *f, stored_block_t **out,
                          size_t *n, uint64_t *oldest, bool *has_oldest, nns_error_t *err)
{
    char a[2 * ACCOUNT_HASH_BYTES + 3], b[24], l[16], types[64], from[24], to[24];
    char cp[2 * ACCOUNT_HASH_BYTES + 3];
    db_bytea_param(account->hash, ACCOUNT_HASH_BYTES, a);
    snprintf(b, sizeof b, "%lld", (long long)(before > INT64_MAX ? INT64_MAX : before));
    snprintf(l, sizeof l, "%u", limit);
    const char *p[7] = {a, b, l, NULL, NULL, NULL, NULL};
    if (f && f->op_types) {
        size_t len = 0;
        types[len++] = '{';
        for (int k = OP_BURN; k <= OP_APPROVE; k++)
            if (f->op_types & (1u << k))
                len += (size_t)snprintf(types + len, sizeof types - len, "%s%s", len > 1 ? "," : "",
                                        op_kind_name((op_kind_t)k));
        snprintf(types + len, sizeof types - len, "}");
        p[3] = types;
    }
    if (f && f->has_from_time) {
        snprintf(from, sizeof from, "%lld",
                 (long long)(f->from_time > INT64_MAX ? INT64_MAX : f->from_time));
        p[4] = from;
    }
    if (f && f->has_to_time) {
        snprintf(to, sizeof to, "%lld",
                 (long long)(f->to_time > INT64_MAX ? INT64_MAX : f->to_time));
        p[5] = to;
    }
    if (f && f->has_counterparty) {
        db_bytea_param(f->counterparty.hash, ACCOUNT_HASH_BYTES, cp);
        p[6] = cp;
    }
    if (!p[3] && !p[4] && !p[5] && !p[6])
        return read_blocks(s, &HISTORY_STMT, NULL, 3, p, out, n, oldest, has_oldest, err);
    return read_blocks(s, NULL,
                       "SELECT b.height, b.hash, b.tx_hash, b.raw, " OLDEST_SQL
                       " FROM ledger.account_history h "
                       "JOIN ledger.blocks b ON b.height = h.height "
                       "WHERE h.account = $1 AND h.height < $2 "
                       "AND ($4::text[] IS NULL OR b.op_type = ANY ($4::text[])) "
                       "AND ($5::bigint IS NULL OR b.timestamp_nanos >= $5::bigint) "
                       "AND ($6::bigint IS NULL OR b.timestamp_nanos < $6::bigint) "
                       "AND ($7::bytea IS NULL OR $7::bytea IN (b.from_account, b.to_account, "
                       "b.spender_account)) "
                       "ORDER BY h.height DESC LIMIT $3",
                       7, p, out, n, oldest, has_oldest, err);
}

bool ledger_store_oldest(ledger_store_t *s, const account_id_t *account, uint64_t *height,
                         bool *found, nns_error_t *err)
{
    char a[2 * ACCOUNT_HASH_BYTES + 3];
    db_bytea_param(account->hash, ACCOUNT_HASH_BYTES, a);
    const char *p[1] = {a};
    PGresult *r = db_pool_exec_prepared(s->db.pool, &OLDEST_STMT, p, 1, err);
    if (!r)
        return false;
    *found = PQntuples(r) == 1 && bin_u64(r, 0, 0, height);
    PQclear(r);
    return true;
}

bool ledger_store_by_tx_hash(ledger_store_t *s, const uint8_t tx_hash[32], stored_block_t **out,
                             size_t *n, nns_error_t *err)
{
    char h[2 * 32 + 3];
    db_bytea_param(tx_hash, 32, h);
    const char *p[1] = {h};
    return read_blocks(s, &TX_HASH_STMT, NULL, 1, p, out, n, NULL, NULL, err);
}

/* The point reads of a read-only ledger (it has no state in memory to answer from), prepared
 * like the reads above; their rows come back as text. */
static const db_pool_stmt_t BALANCE_STMT = {
    "ledger_balance",
    "SELECT balance_e8s, transaction_count FROM ledger.balances WHERE account = $1", 1};
static const db_pool_stmt_t CHAIN_STMT = {
    "ledger_chain",
    "SELECT chain_length, tip_hash, tip_timestamp_nanos, minted_e8s, burned_e8s, "
    "fees_burned_e8s FROM ledger.chain WHERE id = 1",
    0};
static const db_pool_stmt_t ALLOWANCE_STMT = {
    "ledger_allowance",
    "SELECT allowance_e8s, expires_at_nanos FROM ledger.allowances "
    "WHERE owner_account = $1 AND spender_account = $2 "
    "AND (expires_at_nanos IS NULL OR expires_at_nanos > $3::numeric)",
    3};
static const db_pool_stmt_t OWNED_STMT = {
    "ledger_owned",
    "SELECT account, subaccount FROM ledger.account_owners WHERE owner = $1 "
    "ORDER BY subaccount LIMIT 1000",
    1};

/* Runs a prepared statement on a pool connection, text rows; the caller PQclear()s the
 * result. */
static PGresult *pool_query(ledger_store_t *s, const db_pool_stmt_t *stmt, const char *const *p,
                            nns_error_t *err)
{
    return db_pool_exec_prepared(s->db.pool, stmt, p, 0, err);
}

bool ledger_store_balance(ledger_store_t *s, const account_id_t *account, uint64_t *balance,
                          uint64_t *count, nns_error_t *err)
{
    char a[2 * ACCOUNT_HASH_BYTES + 3];
    db_bytea_param(account->hash, ACCOUNT_HASH_BYTES, a);
    const char *p[1] = {a};
    PGresult *r = pool_query(s, &BALANCE_STMT, p, err);
    if (!r)
        return false;
    *balance = *count = 0;
    if (PQntuples(r) == 1 && (!value_u64(r, 0, 0, balance) || !value_u64(r, 0, 1, count))) {
        PQclear(r);
        return nns_error_set(err, 500, "CorruptState", "malformed balance row");
    }
    PQclear(r);
    return true;
}

bool ledger_store_chain(ledger_store_t *s, ledger_info_t *out, nns_error_t *err)
{
    PGresult *r = pool_query(s, &CHAIN_STMT, NULL, err);
    if (!r)
        return false;
    memset(out, 0, sizeof *out);
    bool ok = true;
    if (PQntuples(r) == 1) {
        ok = value_u64(r, 0, 0, &out->chain_length) && value_u64(r, 0, 2, &out->tip_timestamp) &&
             value_u64(r, 0, 3, &out->minted) && value_u64(r, 0, 4, &out->burned) &&
             value_u64(r, 0, 5, &out->fees_burned) &&
             (out->chain_length == 0 ||
              db_bytea_value(PQgetvalue(r, 0, 1), out->tip_hash, 32) == 32);
        out->has_tip = out->chain_length > 0;
        out->total_supply = out->minted - out->burned - out->fees_burned;
    }
    PQclear(r);
    return ok || nns_error_set(err, 500, "CorruptState", "malformed ledger.chain row");
}

bool ledger_store_allowance(ledger_store_t *s, const account_id_t *owner,
                            const account_id_t *spender, uint64_t now, uint64_t *allowance,
                            bool *has_expires_at, uint64_t *expires_at, nns_error_t *err)
{
    char o[2 * ACCOUNT_HASH_BYTES + 3], sp[2 * ACCOUNT_HASH_BYTES + 3], t[24];
    db_bytea_param(owner->hash, ACCOUNT_HASH_BYTES, o);
    db_bytea_param(spender->hash, ACCOUNT_HASH_BYTES, sp);
    snprintf(t, sizeof t, "%llu", (unsigned long long)now);
    const char *p[3] = {o, sp, t};
    PGresult *r = pool_query(s, &ALLOWANCE_STMT, p, err);
    if (!r)
        return false;
    *allowance = *expires_at = 0;
    *has_expires_at = false;
    if (PQntuples(r) == 1) {
        if (!value_u64(r, 0, 0, allowance))
            *allowance = 0;
        *has_expires_at = *allowance > 0 && value_u64(r, 0, 1, expires_at);
    }
    PQclear(r);
    return true;
}

bool ledger_store_owned(ledger_store_t *s, const principal_t *owner, owned_account_t **out,
                        size_t *n, nns_error_t *err)
{
    *out = NULL;
    *n = 0;
    char o[2 * PRINCIPAL_MAX_BYTES + 3];
    db_bytea_param(owner->bytes, owner->len, o);
    const char *p[1] = {o};
    PGresult *r = pool_query(s, &OWNED_STMT, p, err);
    if (!r)
        return false;
    int rows = PQntuples(r);
    if (rows > 0 && !(*out = calloc((size_t)rows, sizeof **out))) {
        PQclear(r);
        return nns_error_set(err, 503, "Unavailable", "out of memory");
    }
    for (int i = 0; i < rows; i++) {
        owned_account_t *a = &(*out)[*n];
        if (db_bytea_value(PQgetvalue(r, i, 0), a->account.hash, ACCOUNT_HASH_BYTES) ==
                ACCOUNT_HASH_BYTES &&
            db_bytea_value(PQgetvalue(r, i, 1), a->subaccount, SUBACCOUNT_BYTES) ==
                SUBACCOUNT_BYTES)
            (*n)++;
    }
    PQclear(r);
    return true;
}
