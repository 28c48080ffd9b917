/*
 * gendata: writes a valid ledger dataset straight into PostgreSQL, for the scale benchmark
 * (tests/bench/scale.sh). The rows are exactly those services/ledger/store.c would have written
 * had the ledger executed the same transactions:
 *
 * - blocks 0 .. A-1 are Mint blocks (memo 0, no created_at_time, as ledger_apply_mint makes
 *   them) funding account i = the default account of loadgen's identity i, i.e. of the
 *   self-authenticating principal of identity_from_seed(SHA-256("loadgen-<i>")): the funded
 *   accounts can sign, so `loadgen --seed-base 0 --identities N` (N <= A) can send transfers
 *   on top of the generated ledger;
 * - the other blocks are Transfer blocks (fee 10000) between pseudo-random distinct accounts,
 *   with small amounts that never overdraw (balances are tracked in memory); three in four are
 *   legacy transfers (memo = height), one in four ICRC-1 transfers (icrc1_memo = height as 8
 *   bytes BE, memo 0). Every transfer carries created_at_time (legacy transfers always do), a
 *   second or two before its block's timestamp, so every transaction hash is distinct;
 * - timestamps strictly increase: the mints at now - 30 days, the transfers spread up to now -
 *   25 h, except the last --recent-dedup transfers, spread over the last hour: the restart
 *   loads exactly those into its deduplication window (24 h + drift);
 * - blocks chain: parent_hash = the previous block's hash (block_encode + block_hash), tx_hash
 *   = transaction_hash; account_history gets one row per distinct account a block names;
 *   ledger.balances the final balance and transaction count of every account;
 *   ledger.account_owners the (account, principal, zero subaccount) of every sender and ICRC-1
 *   recipient, as the API records them; ledger.chain the length, tip, tip timestamp, minted,
 *   burned (0) and fees.
 *
 * Loading: one transaction on one connection with synchronous_commit off. The (empty) tables are
 * truncated first so that COPY ... FREEZE applies, the primary keys and indexes of the loaded
 * tables are dropped (their definitions are read from the catalog) and re-created after the
 * rows are in, and the re-created set is checked against the original one. A generator thread
 * builds the COPY text of the next batch while the main thread sends the current one. Rows go
 * through COPY and values through parameters; only catalog identifiers (quoted) and catalog
 * definitions are spliced into DDL. Refuses a database whose ledger.blocks is not empty.
 *
 * --accounts-file FILE receives --sample accounts (evenly spaced over creation order, 64-digit
 * hex account identifiers), one a line, for the load generators.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "block.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "jsonutil.h"
#include "keyfile.h"
#include "principal.h"
#include "store.h"

#define NANOS 1000000000ULL
#define FEE_E8S 10000ULL
#define MAX_AMOUNT_E8S 1000000ULL  /* transfers move 1 .. 0.01 ICP */
#define MINT_BASE_E8S 100000000ULL /* mints give 1 .. 101 ICP */
#define MINT_SPREAD_E8S 10000000000ULL
#define BATCH_ROWS 100000ULL
#define MAX_PICKS 100000 /* attempts to find a sender that can pay */
#define MAX_DERIVE_THREADS 64

static const char *const LOADED_TABLES = "{blocks,account_history,balances,account_owners}";

/* ---- small helpers ---- */

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t wall_nanos(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * NANOS + (uint64_t)ts.tv_nsec;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0 (the bias of a 64-bit modulo is negligible here). */
static uint64_t below(uint64_t *s, uint64_t n)
{
    return splitmix64(s) % n;
}

/* The principal of account i: loadgen's identity i (tests/bench/loadgen.c, make_identity). */
static void account_principal(uint64_t i, principal_t *p)
{
    char text[48];
    int len = snprintf(text, sizeof text, "loadgen-%" PRIu64, i);
    uint8_t seed[32];
    sha256(text, (size_t)len, seed);
    identity_t id;
    identity_from_seed(seed, &id);
    *p = id.principal;
    memset(&id, 0, sizeof id);
}

/* Derives accounts [from, to) of the shared arrays; one job per thread. */
typedef struct {
    uint64_t from, to;
    account_id_t *ids;
    principal_t *owners;
} derive_job_t;

static void *derive(void *arg)
{
    derive_job_t *j = arg;
    for (uint64_t i = j->from; i < j->to; i++) {
        account_principal(i, &j->owners[i]);
        account_id_of(&j->owners[i], NULL, &j->ids[i]);
    }
    return NULL;
}

/* Key derivation is the costly part (an Ed25519 key pair per account): one thread per core;
 * a job whose thread cannot start runs on the caller's. */
static void derive_accounts(uint64_t n, account_id_t *ids, principal_t *owners)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nt = cores > 1 ? (size_t)cores : 1;
    if (nt > MAX_DERIVE_THREADS)
        nt = MAX_DERIVE_THREADS;
    pthread_t th[MAX_DERIVE_THREADS];
    derive_job_t jobs[MAX_DERIVE_THREADS];
    bool running[MAX_DERIVE_THREADS] = {false};
    for (size_t t = 0; t < nt; t++) {
        jobs[t] = (derive_job_t){
            .from = n * t / nt, .to = n * (t + 1) / nt, .ids = ids, .owners = owners};
        running[t] = t + 1 < nt && pthread_create(&th[t], NULL, derive, &jobs[t]) == 0;
        if (!running[t])
            derive(&jobs[t]);
    }
    for (size_t t = 0; t < nt; t++)
        if (running[t])
            pthread_join(th[t], NULL);
}

static bool fail(const char *what, const nns_error_t *err)
{
    fprintf(stderr, "gendata: %s: %s\n", what, err->detail);
    return false;
}

static bool command(PGconn *c, const char *sql)
{
    nns_error_t err;
    nns_error_clear(&err);
    if (!db_command(c, sql, 0, NULL, &err))
        return fail(sql, &err);
    return true;
}

/* ---- the generator ---- */

typedef struct {
    copybuf_t blocks, history;
    uint64_t first, n;
    bool full;
} batch_t;

typedef struct {
    /* parameters */
    uint64_t naccounts, nblocks, recent;
    uint64_t t_genesis, t_old_end, t_recent_start, t_recent_end;
    /* state */
    account_id_t *ids;
    principal_t *owners; /* the principal of each account */
    uint64_t *balance, *count;
    uint8_t *owner_known;
    uint64_t rng;
    bool has_tip;
    uint8_t tip[32];
    uint64_t tip_ts, minted, fees;
    /* the pipeline: two batches, filled in turn by the generator, drained by main */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch_t slot[2];
    bool abort, failed;
    char error[200];
} gen_t;

static uint64_t timestamp_of(const gen_t *g, uint64_t h)
{
    if (h < g->naccounts)
        return g->t_genesis + h;
    uint64_t k = h - g->naccounts, transfers = g->nblocks - g->naccounts;
    uint64_t old = transfers - g->recent;
    if (k < old) {
        uint64_t from = g->t_genesis + g->naccounts, span = g->t_old_end - from;
        return from + (uint64_t)((unsigned __int128)span * (k + 1) / (old + 1));
    }
    uint64_t span = g->t_recent_end - g->t_recent_start;
    return g->t_recent_start +
           (uint64_t)((unsigned __int128)span * (k - old + 1) / (g->recent + 1));
}

/* Fills tx with the transaction of block h and applies its effects to the tracked balances. */
static bool next_transaction(gen_t *g, uint64_t h, uint64_t ts, transaction_t *tx)
{
    memset(tx, 0, sizeof *tx);
    if (h < g->naccounts) {
        uint64_t amount = MINT_BASE_E8S + below(&g->rng, MINT_SPREAD_E8S);
        tx->op.kind = OP_MINT;
        tx->op.to = g->ids[h];
        tx->op.amount = amount;
        g->balance[h] += amount;
        g->count[h]++;
        g->minted += amount;
        return true;
    }
    uint64_t amount = 1 + below(&g->rng, MAX_AMOUNT_E8S), from = 0, to;
    int tries = 0;
    do {
        if (++tries > MAX_PICKS)
            return false;
        from = below(&g->rng, g->naccounts);
    } while (g->balance[from] < amount + FEE_E8S);
    do
        to = below(&g->rng, g->naccounts);
    while (to == from);
    bool icrc1 = (h & 3) == 3;
    tx->op.kind = OP_TRANSFER;
    tx->op.from = g->ids[from];
    tx->op.to = g->ids[to];
    tx->op.amount = amount;
    tx->op.fee = FEE_E8S;
    tx->has_created_at_time = true;
    tx->created_at_time = ts - NANOS - below(&g->rng, NANOS);
    if (icrc1) {
        tx->has_icrc1_memo = true;
        tx->icrc1_memo_len = 8;
        for (int k = 0; k < 8; k++)
            tx->icrc1_memo[k] = (uint8_t)(h >> (56 - 8 * k));
        g->owner_known[to] = 1; /* the API records an ICRC-1 recipient's owner */
    } else {
        tx->memo = h;
    }
    g->owner_known[from] = 1; /* and every sender's */
    g->balance[from] -= amount + FEE_E8S;
    g->count[from]++;
    g->balance[to] += amount;
    g->count[to]++;
    g->fees += FEE_E8S;
    return true;
}

static bool fill_batch(gen_t *g, batch_t *out, uint64_t first, uint64_t n)
{
    copybuf_reset(&out->blocks);
    copybuf_reset(&out->history);
    copybuf_bin_begin(&out->blocks);
    copybuf_bin_begin(&out->history);
    out->first = first;
    out->n = n;
    for (uint64_t h = first; h < first + n; h++) {
        block_t bl;
        memset(&bl, 0, sizeof bl);
        bl.timestamp = timestamp_of(g, h);
        bl.has_parent = g->has_tip;
        memcpy(bl.parent_hash, g->tip, 32);
        if (!next_transaction(g, h, bl.timestamp, &bl.tx)) {
            snprintf(g->error, sizeof g->error,
                     "block %" PRIu64 ": no account can pay a transfer any more", h);
            return false;
        }
        ledger_block_rec_t rec = {.height = h, .block = bl};
        rec.encoded_len = block_encode(&bl, rec.encoded, sizeof rec.encoded);
        if (rec.encoded_len == 0) {
            snprintf(g->error, sizeof g->error, "block %" PRIu64 " does not encode", h);
            return false;
        }
        block_hash(rec.encoded, rec.encoded_len, rec.hash);
        transaction_hash(&bl.tx, rec.tx_hash);
        ledger_store_block_rows(&out->blocks, &out->history, &rec);
        memcpy(g->tip, rec.hash, 32);
        g->has_tip = true;
        g->tip_ts = bl.timestamp;
    }
    copybuf_bin_end(&out->blocks);
    copybuf_bin_end(&out->history);
    if (out->blocks.failed || out->history.failed) {
        snprintf(g->error, sizeof g->error, "out of memory building COPY data");
        return false;
    }
    return true;
}

static void *generator(void *arg)
{
    gen_t *g = arg;
    uint64_t next = 0;
    for (unsigned turn = 0; next < g->nblocks; turn ^= 1) {
        batch_t *b = &g->slot[turn];
        pthread_mutex_lock(&g->mu);
        while (b->full && !g->abort)
            pthread_cond_wait(&g->cv, &g->mu);
        bool stop = g->abort;
        pthread_mutex_unlock(&g->mu);
        if (stop)
            break;
        uint64_t n = g->nblocks - next < BATCH_ROWS ? g->nblocks - next : BATCH_ROWS;
        bool ok = fill_batch(g, b, next, n);
        next += n;
        pthread_mutex_lock(&g->mu);
        if (ok)
            b->full = true;
        else
            g->failed = g->abort = true;
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        if (!ok)
            break;
    }
    return NULL;
}

/* ---- indexes: read, drop, re-create, compare ---- */

typedef struct {
    char **stmt; /* the DDL that re-creates each one */
    char **drop;
    size_t n;
} index_set_t;

static void index_set_free(index_set_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->stmt[i]);
        free(s->drop[i]);
    }
    free(s->stmt);
    free(s->drop);
    memset(s, 0, sizeof *s);
}

static char *concat(const char *a, const char *b, const char *c, const char *d)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + strlen(d) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s%s", a, b, c, d);
    return s;
}

/* Primary-key, unique and exclusion constraints, then the other indexes, of the loaded tables. */
static bool index_set_read(PGconn *c, index_set_t *s)
{
    nns_error_t err;
    nns_error_clear(&err);
    memset(s, 0, sizeof *s);
    const char *p[1] = {LOADED_TABLES};
    PGresult *r =
        db_exec(c,
                "SELECT 0 AS kind, t.oid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
                "FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
                "JOIN pg_namespace n ON n.oid = t.relnamespace "
                "WHERE n.nspname = 'ledger' AND t.relname = ANY($1::text[]) "
                "AND c.contype IN ('p', 'u', 'x') "
                "UNION ALL "
                "SELECT 1, t.oid::regclass::text, i.indexrelid::regclass::text, "
                "pg_get_indexdef(i.indexrelid) "
                "FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
                "JOIN pg_namespace n ON n.oid = t.relnamespace "
                "WHERE n.nspname = 'ledger' AND t.relname = ANY($1::text[]) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid "
                "AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x')) "
                "ORDER BY 1, 2, 3",
                1, p, &err);
    if (!r)
        return fail("reading the indexes", &err);
    size_t rows = (size_t)PQntuples(r);
    s->stmt = calloc(rows + 1, sizeof *s->stmt);
    s->drop = calloc(rows + 1, sizeof *s->drop);
    bool ok = s->stmt && s->drop;
    for (size_t i = 0; i < rows && ok; i++) {
        int row = (int)i;
        const char *table = PQgetvalue(r, row, 1), *name = PQgetvalue(r, row, 2),
                   *def = PQgetvalue(r, row, 3);
        if (PQgetvalue(r, row, 0)[0] == '0') {
            char *q = PQescapeIdentifier(c, name, strlen(name));
            if (!q) {
                ok = false;
                break;
            }
            char *add = concat("ALTER TABLE ", table, " ADD CONSTRAINT ", q);
            s->stmt[i] = add ? concat(add, " ", def, "") : NULL;
            s->drop[i] = concat("ALTER TABLE ", table, " DROP CONSTRAINT ", q);
            free(add);
            PQfreemem(q);
        } else {
            s->stmt[i] = strdup(def);
            s->drop[i] = concat("DROP INDEX ", name, "", ""); /* regclass text: quoted */
        }
        ok = s->stmt[i] && s->drop[i];
        s->n = i + 1;
    }
    PQclear(r);
    if (!ok) {
        fprintf(stderr, "gendata: out of memory\n");
        index_set_free(s);
    }
    return ok;
}

static bool index_sets_equal(const index_set_t *a, const index_set_t *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->stmt[i], b->stmt[i]) != 0)
            return false;
    return true;
}

/* ---- loading ---- */

static bool copy_rows(PGconn *c, const char *sql, const copybuf_t *b)
{
    nns_error_t err;
    nns_error_clear(&err);
    if (!db_copy(c, sql, b, &err))
        return fail(sql, &err);
    return true;
}

static bool table_is_empty(PGconn *c, const char *sql, bool *empty)
{
    nns_error_t err;
    nns_error_clear(&err);
    PGresult *r = db_exec(c, sql, 0, NULL, &err);
    if (!r)
        return fail(sql, &err);
    *empty = PQntuples(r) == 0;
    PQclear(r);
    return true;
}

static bool load_balances_and_owners(PGconn *c, const gen_t *g)
{
    copybuf_t bal = {0}, own = {0};
    bool ok = true;
    uint8_t zero[SUBACCOUNT_BYTES] = {0};
    for (uint64_t i = 0; i < g->naccounts && ok; i++) {
        if (g->count[i]) {
            copybuf_bytea(&bal, g->ids[i].hash, ACCOUNT_HASH_BYTES);
            copybuf_sep(&bal);
            copybuf_u64(&bal, g->balance[i]);
            copybuf_sep(&bal);
            copybuf_u64(&bal, g->count[i]);
            copybuf_endrow(&bal);
        }
        if (g->owner_known[i]) {
            const principal_t *p = &g->owners[i];
            copybuf_bytea(&own, g->ids[i].hash, ACCOUNT_HASH_BYTES);
            copybuf_sep(&own);
            copybuf_bytea(&own, p->bytes, p->len);
            copybuf_sep(&own);
            copybuf_bytea(&own, zero, sizeof zero);
            copybuf_endrow(&own);
        }
        if ((i + 1) % BATCH_ROWS == 0 || i + 1 == g->naccounts) {
            ok = copy_rows(c,
                           "COPY ledger.balances (account, balance_e8s, transaction_count) "
                           "FROM STDIN (FREEZE)",
                           &bal) &&
                 copy_rows(c,
                           "COPY ledger.account_owners (account, owner, subaccount) "
                           "FROM STDIN (FREEZE)",
                           &own);
            copybuf_reset(&bal);
            copybuf_reset(&own);
        }
    }
    copybuf_free(&bal);
    copybuf_free(&own);
    return ok;
}

static bool write_chain(PGconn *c, const gen_t *g)
{
    char len[24], tip[2 * 32 + 3], ts[24], minted[24], fees[24];
    snprintf(len, sizeof len, "%" PRIu64, g->nblocks);
    db_bytea_param(g->tip, 32, tip);
    snprintf(ts, sizeof ts, "%" PRIu64, g->tip_ts);
    snprintf(minted, sizeof minted, "%" PRIu64, g->minted);
    snprintf(fees, sizeof fees, "%" PRIu64, g->fees);
    const char *p[6] = {len, g->has_tip ? tip : NULL, ts, minted, "0", fees};
    nns_error_t err;
    nns_error_clear(&err);
    if (!db_command(c,
                    "INSERT INTO ledger.chain (id, chain_length, tip_hash, tip_timestamp_nanos, "
                    "minted_e8s, burned_e8s, fees_burned_e8s) VALUES (1, $1, $2, $3, $4, $5, $6)",
                    6, p, &err))
        return fail("writing ledger.chain", &err);
    return true;
}

static bool write_accounts_file(const char *path, const gen_t *g, uint64_t sample)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return false;
    }
    if (sample > g->naccounts)
        sample = g->naccounts;
    for (uint64_t k = 0; k < sample; k++) {
        char hex[ACCOUNT_HEX_LEN + 1];
        account_id_to_hex(&g->ids[(uint64_t)((unsigned __int128)k * g->naccounts / sample)], hex);
        fprintf(f, "%s\n", hex);
    }
    bool ok = fflush(f) == 0 && !ferror(f);
    ok = fclose(f) == 0 && ok;
    if (!ok)
        perror(path);
    return ok;
}

/* Streams the blocks and history rows the generator produces; true when all went in. */
static bool load_blocks(PGconn *c, gen_t *g, double t0)
{
    uint64_t done = 0, step = g->nblocks / 20 > BATCH_ROWS ? g->nblocks / 20 : BATCH_ROWS;
    uint64_t next_report = step;
    bool ok = true;
    double t_blocks = 0, t_history = 0, t_wait = 0;
    for (unsigned turn = 0; done < g->nblocks && ok; turn ^= 1) {
        double ta = mono_seconds();
        batch_t *b = &g->slot[turn];
        pthread_mutex_lock(&g->mu);
        while (!b->full && !g->failed)
            pthread_cond_wait(&g->cv, &g->mu);
        bool failed = !b->full;
        pthread_mutex_unlock(&g->mu);
        if (failed) {
            fprintf(stderr, "gendata: %s\n", g->error);
            return false;
        }
        double tb = mono_seconds();
        t_wait += tb - ta;
        ok = copy_rows(c, "COPY " LEDGER_BLOCKS_COLUMNS " FROM STDIN WITH (FORMAT binary, FREEZE)",
                       &b->blocks);
        double tc = mono_seconds();
        t_blocks += tc - tb;
        ok = ok &&
             copy_rows(c, "COPY " LEDGER_HISTORY_COLUMNS " FROM STDIN WITH (FORMAT binary, FREEZE)",
                       &b->history);
        t_history += mono_seconds() - tc;
        done += b->n;
        pthread_mutex_lock(&g->mu);
        b->full = false;
        if (!ok)
            g->abort = true;
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        if (ok && (done >= next_report || done == g->nblocks)) {
            double dt = mono_seconds() - t0;
            fprintf(stderr,
                    "gendata: %" PRIu64 "/%" PRIu64 " blocks (%.0f%%), %.0f blocks/s "
                    "(COPY blocks %.1f s, history %.1f s, waiting for the generator %.1f s)\n",
                    done, g->nblocks, 100.0 * (double)done / (double)g->nblocks,
                    dt > 0 ? (double)done / dt : 0.0, t_blocks, t_history, t_wait);
            next_report += step;
        }
    }
    return ok;
}

static bool parse_count(const char *name, const char *text, uint64_t *out)
{
    if (!text || !parse_u64(text, out)) {
        fprintf(stderr, "gendata: --%s must be a non-negative integer\n", name);
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    const char *accounts_s = NULL, *blocks_s = NULL, *recent_s = NULL, *database = NULL,
               *seed_s = NULL, *accounts_file = NULL, *sample_s = NULL;
    const config_option_t options[] = {
        {CONFIG_OPT("accounts", OPT_STRING, &accounts_s, "10000",
                    "accounts (one Mint block each)")},
        {CONFIG_OPT("blocks", OPT_STRING, &blocks_s, "100000", "blocks in all (>= accounts)")},
        {CONFIG_OPT("recent-dedup", OPT_STRING, &recent_s, "100000",
                    "transfers in the last hour, inside the deduplication window (at most blocks - "
                    "accounts)")},
        {CONFIG_OPT("database", OPT_STRING, &database, NULL,
                    "PostgreSQL connection string or URL (default: $DATABASE_URL)")},
        {CONFIG_OPT("seed", OPT_STRING, &seed_s, "1", "pseudo-random seed")},
        {CONFIG_OPT("accounts-file", OPT_STRING, &accounts_file, NULL,
                    "write a sample of the account identifiers (hex), one a line, to this file")},
        {CONFIG_OPT("sample", OPT_STRING, &sample_s, "200000",
                    "accounts written to --accounts-file")},
        {0},
    };
    int status = config_exit_status(config_parse(
        "gendata", "Writes a valid ledger dataset into an empty database.", options, argc, argv));
    if (status >= 0)
        return status;
    gen_t *g = calloc(1, sizeof *g);
    uint64_t sample = 0;
    if (!g) {
        fprintf(stderr, "gendata: out of memory\n");
        return 1;
    }
    if (!parse_count("accounts", accounts_s, &g->naccounts) ||
        !parse_count("blocks", blocks_s, &g->nblocks) ||
        !parse_count("recent-dedup", recent_s, &g->recent) ||
        !parse_count("seed", seed_s, &g->rng) || !parse_count("sample", sample_s, &sample))
        return 2;
    if (g->nblocks < g->naccounts || (g->nblocks > g->naccounts && g->naccounts < 2) ||
        g->nblocks > (uint64_t)INT64_MAX) {
        fprintf(stderr, "gendata: need accounts <= blocks, and 2 accounts or more for transfers\n");
        return 2;
    }
    if (g->recent > g->nblocks - g->naccounts)
        g->recent = g->nblocks - g->naccounts;
    if (!crypto_init()) {
        fprintf(stderr, "gendata: cannot initialise libsodium\n");
        return 1;
    }
    if (!database)
        database = getenv("DATABASE_URL");

    uint64_t now = wall_nanos();
    g->t_genesis = now - 30ULL * 86400ULL * NANOS;
    g->t_old_end = now - 25ULL * 3600ULL * NANOS;
    g->t_recent_start = now - 3590ULL * NANOS;
    g->t_recent_end = now - NANOS;

    nns_error_t err;
    nns_error_clear(&err);
    PGconn *c = db_connect(database, &err);
    if (!c || !db_migrate(c, &LEDGER_MIGRATIONS, &err)) {
        fail("cannot open the database", &err);
        return 1;
    }
    bool empty_blocks = false, empty_chain = false, empty_balances = false;
    if (!table_is_empty(c, "SELECT 1 FROM ledger.blocks LIMIT 1", &empty_blocks) ||
        !table_is_empty(c, "SELECT 1 FROM ledger.chain LIMIT 1", &empty_chain) ||
        !table_is_empty(c, "SELECT 1 FROM ledger.balances LIMIT 1", &empty_balances))
        return 1;
    if (!empty_blocks || !empty_chain || !empty_balances) {
        fprintf(stderr, "gendata: refusing: the database already holds a ledger "
                        "(ledger.blocks, ledger.chain or ledger.balances is not empty)\n");
        return 1;
    }

    double t0 = mono_seconds();
    g->ids = malloc(g->naccounts * sizeof *g->ids + 1);
    g->owners = malloc(g->naccounts * sizeof *g->owners + 1);
    g->balance = calloc(g->naccounts + 1, sizeof *g->balance);
    g->count = calloc(g->naccounts + 1, sizeof *g->count);
    g->owner_known = calloc(g->naccounts + 1, 1);
    if (!g->ids || !g->owners || !g->balance || !g->count || !g->owner_known) {
        fprintf(stderr, "gendata: out of memory for %" PRIu64 " accounts\n", g->naccounts);
        return 1;
    }
    derive_accounts(g->naccounts, g->ids, g->owners);
    fprintf(stderr, "gendata: %" PRIu64 " accounts derived in %.1f s\n", g->naccounts,
            mono_seconds() - t0);
    if (accounts_file && !write_accounts_file(accounts_file, g, sample))
        return 1;

    index_set_t before = {0}, after = {0};
    if (!command(c, "SET synchronous_commit = off") ||
        !command(c, "SET maintenance_work_mem = '1GB'") || !command(c, "BEGIN") ||
        !command(c, "TRUNCATE ledger.blocks, ledger.account_history, ledger.balances, "
                    "ledger.account_owners") ||
        !index_set_read(c, &before))
        return 1;
    for (size_t i = 0; i < before.n; i++)
        if (!command(c, before.drop[i]))
            return 1;

    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    pthread_t th;
    if (pthread_create(&th, NULL, generator, g) != 0) {
        fprintf(stderr, "gendata: cannot start the generator thread\n");
        return 1;
    }
    bool ok = load_blocks(c, g, t0);
    pthread_mutex_lock(&g->mu);
    g->abort = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(th, NULL);
    for (int i = 0; i < 2; i++) {
        copybuf_free(&g->slot[i].blocks);
        copybuf_free(&g->slot[i].history);
    }
    if (!ok)
        return 1;
    double t_rows = mono_seconds();
    if (!load_balances_and_owners(c, g) || !write_chain(c, g))
        return 1;
    double t_idx = mono_seconds();
    fprintf(stderr, "gendata: rows in after %.1f s; re-creating %zu indexes\n", t_idx - t0,
            before.n);
    for (size_t i = 0; i < before.n; i++) {
        double ti = mono_seconds();
        if (!command(c, before.stmt[i]))
            return 1;
        fprintf(stderr, "gendata:   %.1f s  %s\n", mono_seconds() - ti, before.stmt[i]);
    }
    if (!index_set_read(c, &after))
        return 1;
    if (!index_sets_equal(&before, &after)) {
        fprintf(stderr, "gendata: the re-created indexes differ from the original ones\n");
        return 1;
    }
    if (!command(c, "COMMIT"))
        return 1;
    double t_commit = mono_seconds();
    if (!command(c, "ANALYZE ledger.blocks, ledger.account_history, ledger.balances, "
                    "ledger.account_owners"))
        return 1;
    double t1 = mono_seconds();
    index_set_free(&before);
    index_set_free(&after);
    PQfinish(c);
    printf("gendata: accounts=%" PRIu64 " blocks=%" PRIu64 " recent_dedup=%" PRIu64
           " seconds=%.1f blocks_per_second=%.0f (blocks+history %.1f s, balances+owners %.1f "
           "s, indexes %.1f s, analyze %.1f s)\n",
           g->naccounts, g->nblocks, g->recent, t1 - t0, (double)g->nblocks / (t1 - t0),
           t_rows - t0, t_idx - t_rows, t_commit - t_idx, t1 - t_commit);
    free(g->ids);
    free(g->owners);
    free(g->balance);
    free(g->count);
    free(g->owner_known);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g);
    return 0;
}
