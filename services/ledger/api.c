#include "api.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "body.h"
#include "clock.h"
#include "genesis.h"
#include "hex.h"
#include "hmap.h"
#include "jsonutil.h"
#include "log.h"
#include "query.h"
#include "render.h"
#include "service.h"
#include "store.h"
#include "workpool.h"

#define CSV_LIMIT_MAX 10000
/* Blocks kept in memory after their round committed, for GET /v1/blocks/{h}: the cmc reads
 * every block it is notified about soon after the user's transfer, and at a few thousand
 * notifications a second those reads were a PostgreSQL query each. A notification makes two
 * blocks (the transfer, the burn): at 2,000 a second, 32,768 blocks are the last 8 seconds.
 * 32,768 slots of sizeof(stored_block_t) (about 600 bytes): 19 MB. */
#define RECENT_BLOCKS 32768

/* The newest committed blocks, heights [first, first + count), block h at h % RECENT_BLOCKS.
 * Written by the state thread when a round committed, read by the HTTP threads. */
typedef struct {
    pthread_mutex_t mu;
    uint64_t first;
    size_t count;
    stored_block_t *blocks; /* RECENT_BLOCKS of them; NULL on a read-only instance */
} recent_blocks_t;

/* The ledger's state, plugged into the service skeleton (service.h). Handlers get the
 * service_t as their app and reach this through service_app(). */
typedef struct {
    service_t *svc;
    ledger_t *ledger;
    ledger_store_t *store;
    bool read_only;      /* a replica: point reads go to PostgreSQL, nothing is kept in memory */
    hmap_t known_owners; /* accounts already in ledger.account_owners (state thread only) */
    recent_blocks_t recent;
} ledger_app_t;

/* Appends a committed round's blocks (state thread). A block that does not follow the newest
 * one kept (none kept yet, or a round committed by another path) starts the ring again. */
static void recent_add(ledger_app_t *lg, const ledger_block_rec_t *recs, size_t n)
{
    recent_blocks_t *rb = &lg->recent;
    if (!rb->blocks || n == 0)
        return;
    pthread_mutex_lock(&rb->mu);
    for (size_t i = 0; i < n; i++) {
        const ledger_block_rec_t *rec = &recs[i];
        if (rb->count == 0 || rec->height != rb->first + rb->count) {
            rb->first = rec->height;
            rb->count = 0;
        }
        stored_block_t *sb = &rb->blocks[rec->height % RECENT_BLOCKS];
        sb->height = rec->height;
        memcpy(sb->hash, rec->hash, 32);
        memcpy(sb->tx_hash, rec->tx_hash, 32);
        memcpy(sb->raw, rec->encoded, rec->encoded_len);
        sb->raw_len = rec->encoded_len;
        if (rb->count == RECENT_BLOCKS)
            rb->first++;
        else
            rb->count++;
    }
    pthread_mutex_unlock(&rb->mu);
}

/* Copies block height into *out when it is kept in memory (any thread). */
static bool recent_get(ledger_app_t *lg, uint64_t height, stored_block_t *out)
{
    recent_blocks_t *rb = &lg->recent;
    if (!rb->blocks)
        return false;
    pthread_mutex_lock(&rb->mu);
    bool found = rb->count > 0 && height >= rb->first && height - rb->first < rb->count;
    if (found)
        *out = rb->blocks[height % RECENT_BLOCKS];
    pthread_mutex_unlock(&rb->mu);
    return found;
}

/* The tip signature: Ed25519 over 0x0e "icp-ledger-tip" || chain_length (u64 BE) || tip hash. */
static void sign_tip(const ledger_app_t *lg, const ledger_info_t *info, char out[129])
{
    uint8_t msg[1 + 14 + 8 + 32];
    msg[0] = 14;
    memcpy(msg + 1, "icp-ledger-tip", 14);
    for (int i = 0; i < 8; i++)
        msg[15 + i] = (uint8_t)(info->chain_length >> (56 - 8 * i));
    memcpy(msg + 23, info->tip_hash, 32);
    uint8_t sig[64];
    ed25519_sign(service_key(lg->svc)->sk, msg, sizeof msg, sig);
    hex_encode(sig, sizeof sig, out);
}

/* ---------------------------------------------------------------- request helpers */

static bool parse_limit(http_request_t *req, unsigned *limit, nns_error_t *err)
{
    return query_limit(http_query(req, "limit"), limit, err);
}

static bool parse_account_param(http_request_t *req, int i, account_id_t *id,
                                icrc1_account_t *icrc1, bool *has_icrc1, nns_error_t *err)
{
    const char *text = http_param(req, i);
    return account_parse_any(text ? text : "", id, icrc1, has_icrc1, err);
}

/* ---------------------------------------------------------------- reads */

/* Point reads: committed memory on a writer, PostgreSQL on a read-only instance. */
static bool read_balance(ledger_app_t *lg, const account_id_t *id, uint64_t *balance,
                         uint64_t *count, nns_error_t *err)
{
    if (lg->read_only)
        return ledger_store_balance(lg->store, id, balance, count, err);
    ledger_balance(lg->ledger, id, balance, count);
    return true;
}

static bool read_info(ledger_app_t *lg, ledger_info_t *info, nns_error_t *err)
{
    if (lg->read_only)
        return ledger_store_chain(lg->store, info, err);
    ledger_info(lg->ledger, info);
    return true;
}

static void get_ledger(http_request_t *req, void *app)
{
    ledger_app_t *lg = service_app(app);
    const ledger_config_t *cfg = ledger_config(lg->ledger);
    ledger_info_t info;
    nns_error_t err;
    if (!read_info(lg, &info, &err)) {
        http_respond_error(req, &err);
        return;
    }
    char sig[129];
    sign_tip(lg, &info, sig);
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(cfg->token_name));
    json_object_set_new(o, "symbol", json_string(cfg->token_symbol));
    json_object_set_new(o, "decimals", json_integer(8));
    json_object_set_new(o, "fee_e8s", json_u64(cfg->fee_e8s));
    json_object_set_new(o, "minting_account", render_account(&cfg->minting_account));
    json_object_set_new(o, "total_supply_e8s", json_u64(info.total_supply));
    json_object_set_new(o, "chain_length", json_u64(info.chain_length));
    json_object_set_new(o, "tip_hash", info.has_tip ? json_hex(info.tip_hash, 32) : json_null());
    json_object_set_new(o, "tip_signature", json_string(sig));
    json_object_set_new(o, "transaction_window_seconds",
                        json_u64(cfg->window_nanos / 1000000000ULL));
    json_object_set_new(o, "max_transactions_in_window", json_u64(cfg->max_in_window));
    http_respond_json(req, 200, o);
}

static void get_supply(http_request_t *req, void *app)
{
    ledger_app_t *lg = service_app(app);
    ledger_info_t info;
    nns_error_t err;
    if (!read_info(lg, &info, &err)) {
        http_respond_error(req, &err);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "total_supply_e8s", json_u64(info.total_supply));
    json_object_set_new(o, "minted_e8s", json_u64(info.minted));
    json_object_set_new(o, "burned_e8s", json_u64(info.burned));
    json_object_set_new(o, "fees_burned_e8s", json_u64(info.fees_burned));
    http_respond_json(req, 200, o);
}

static json_t *account_object(ledger_app_t *lg, const account_id_t *id,
                              const icrc1_account_t *icrc1, nns_error_t *err)
{
    uint64_t balance, count;
    if (!read_balance(lg, id, &balance, &count, err))
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "account_identifier", render_account(id));
    if (icrc1) {
        char text[ICRC1_TEXT_MAX];
        icrc1_account_to_text(icrc1, text);
        json_object_set_new(o, "icrc1_account", json_string(text));
    }
    json_object_set_new(o, "balance_e8s", json_u64(balance));
    json_object_set_new(o, "transaction_count", json_u64(count));
    return o;
}

static void get_account(http_request_t *req, void *app)
{
    nns_error_t err;
    account_id_t id;
    icrc1_account_t icrc1;
    bool has_icrc1 = false;
    if (!parse_account_param(req, 0, &id, &icrc1, &has_icrc1, &err)) {
        http_respond_error(req, &err);
        return;
    }
    json_t *o = account_object(service_app(app), &id, has_icrc1 ? &icrc1 : NULL, &err);
    if (!o) {
        http_respond_error(req, &err);
        return;
    }
    http_respond_json(req, 200, o);
}

/* Filters of GET /v1/accounts/{account}/transactions: type (comma-separated operation names),
 * from_time / to_time (ns, [from, to)), counterparty (an account). */
static bool parse_history_filter(http_request_t *req, history_filter_t *f, nns_error_t *err)
{
    return query_history_filter(http_query(req, "type"), http_query(req, "from_time"),
                                http_query(req, "to_time"), http_query(req, "counterparty"), f,
                                err);
}

static bool wants_csv(http_request_t *req)
{
    const char *format = http_query(req, "format"), *accept = http_header(req, "Accept");
    return (format && strcmp(format, "csv") == 0) || (accept && strstr(accept, "text/csv"));
}

/* A history page's query, parsed on the HTTP thread and run on the read pool. */
typedef struct {
    ledger_app_t *lg;
    http_request_t *req;
    account_id_t id;
    unsigned limit;
    uint64_t before;
    history_filter_t filter;
    bool csv;
} history_job_t;

/* Runs a history page's query and answers it, on a read-pool thread (or on the HTTP thread when
 * the pool cannot take it): the request is deferred. */
static void run_history(void *ctx, size_t i)
{
    (void)i;
    history_job_t *job = ctx;
    ledger_app_t *lg = job->lg;
    http_request_t *req = job->req;
    allocfail_t *prev = allocfail_attach(http_request_allocfail(req));
    nns_error_t err;
    stored_block_t *blocks = NULL;
    size_t n = 0;
    uint64_t oldest = 0;
    bool has_oldest = false;
    char *text = NULL;
    size_t text_len = 0;
    if (!ledger_store_history(lg->store, &job->id, job->before, job->limit, &job->filter, &blocks,
                              &n, &oldest, &has_oldest, &err) ||
        (n == 0 && !ledger_store_oldest(lg->store, &job->id, &oldest, &has_oldest, &err)))
        goto fail;
    bool more = n == job->limit && has_oldest && blocks[n - 1].height > oldest;
    if (job->csv) {
        if (!render_history_csv(&job->id, blocks, n, &text, &text_len, &err))
            goto fail;
        if (more) {
            char c[24];
            snprintf(c, sizeof c, "%llu", (unsigned long long)blocks[n - 1].height);
            http_add_header(req, "X-Next-Cursor", c);
        }
        http_add_header(req, "Content-Disposition", "attachment; filename=\"transactions.csv\"");
        http_respond_take(req, 200, "text/csv; charset=utf-8", text, text_len);
        goto done;
    }
    uint64_t balance, count, next = more ? blocks[n - 1].height : 0;
    if (!read_balance(lg, &job->id, &balance, &count, &err) ||
        !render_history_page(&job->id, balance, blocks, n, more ? &next : NULL,
                             has_oldest ? &oldest : NULL, &text, &text_len, &err))
        goto fail;
    http_respond_take(req, 200, "application/json", text, text_len);
    goto done;
fail:
    http_respond_error(req, &err);
done:
    free(blocks);
    free(job);
    allocfail_attach(prev);
}

static void get_account_transactions(http_request_t *req, void *app)
{
    ledger_app_t *lg = service_app(app);
    nns_error_t err;
    history_job_t *job = malloc(sizeof *job);
    if (!job) {
        nns_error_set(&err, 503, "Unavailable", "out of memory");
        goto fail;
    }
    *job = (history_job_t){.lg = lg, .req = req, .csv = wants_csv(req)};
    if (!parse_account_param(req, 0, &job->id, NULL, NULL, &err) ||
        !parse_limit(req, &job->limit, &err) || !parse_history_filter(req, &job->filter, &err))
        goto fail;
    if (job->csv) { /* an export wants whole years at once */
        const char *l = http_query(req, "limit");
        uint64_t v = CSV_LIMIT_MAX;
        if (l && parse_u64(l, &v) && v > 0)
            job->limit = v > CSV_LIMIT_MAX ? CSV_LIMIT_MAX : (unsigned)v;
        else if (!l)
            job->limit = CSV_LIMIT_MAX;
    }
    if (!query_history_cursor(http_query(req, "cursor"), &job->before, &err))
        goto fail;
    /* the query waits for PostgreSQL: on the read pool, not on this HTTP thread */
    http_defer(req);
    workpool_submit(service_read_pool(lg->svc), run_history, job);
    return;
fail:
    free(job);
    http_respond_error(req, &err);
}

static void get_principal_accounts(http_request_t *req, void *app)
{
    ledger_app_t *lg = service_app(app);
    nns_error_t err;
    principal_t p;
    owned_account_t *owned = NULL;
    size_t n = 0;
    json_t *accounts = NULL;
    const char *text = http_param(req, 0);
    if (!principal_from_text(text ? text : "", &p, &err) ||
        !ledger_store_owned(lg->store, &p, &owned, &n, &err))
        goto fail;
    icrc1_account_t def = {.owner = p};
    account_id_t def_id;
    account_id_of(&p, NULL, &def_id);
    accounts = json_array();
    json_t *d = account_object(lg, &def_id, &def, &err);
    if (!d)
        goto fail;
    json_array_append_new(accounts, d);
    for (size_t i = 0; i < n; i++) {
        if (subaccount_is_default(owned[i].subaccount))
            continue;
        icrc1_account_t a = {.owner = p};
        memcpy(a.subaccount, owned[i].subaccount, SUBACCOUNT_BYTES);
        json_t *o = account_object(lg, &owned[i].account, &a, &err);
        if (!o) /* a list that silently drops an account would be wrong, not partial */
            goto fail;
        json_object_set_new(o, "subaccount", json_hex(owned[i].subaccount, SUBACCOUNT_BYTES));
        json_array_append_new(accounts, o);
    }
    free(owned);
    json_t *o = json_object();
    json_object_set_new(o, "principal", json_string(text));
    json_object_set_new(o, "default_account_identifier", render_account(&def_id));
    json_object_set_new(o, "accounts", accounts);
    http_respond_json(req, 200, o);
    return;
fail:
    json_decref(accounts);
    free(owned);
    http_respond_error(req, &err);
}

static void get_blocks(http_request_t *req, void *app)
{
    ledger_app_t *lg = service_app(app);
    nns_error_t err;
    unsigned limit;
    stored_block_t *blocks = NULL;
    size_t n = 0;
    bool ascending;
    uint64_t from;
    if (!parse_limit(req, &limit, &err) ||
        !query_blocks_position(http_query(req, "start"), http_query(req, "cursor"), &ascending,
                               &from, &err))
        goto fail;
    if (!ledger_store_blocks(lg->store, ascending, from, limit, &blocks, &n, &err))
        goto fail;
    json_t *items = render_blocks(blocks, n, &err);
    if (!items)
        goto fail;
    ledger_info_t info;
    if (!read_info(lg, &info, &err)) {
        json_decref(items);
        goto fail;
    }
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    json_t *next = json_null();
    char c[QUERY_CURSOR_MAX];
    if (n == limit && !ascending && blocks[n - 1].height > 0) {
        query_blocks_cursor(false, blocks[n - 1].height, c);
        next = json_string(c);
    } else if (n == limit && ascending && blocks[n - 1].height + 1 < info.chain_length) {
        query_blocks_cursor(true, blocks[n - 1].height + 1, c);
        next = json_string(c);
    }
    json_object_set_new(o, "next_cursor", next);
    json_object_set_new(o, "chain_length", json_u64(info.chain_length));
    free(blocks);
    http_respond_json(req, 200, o);
    return;
fail:
    free(blocks);
    http_respond_error(req, &err);
}

static void get_block(http_request_t *req, void *app)
{
    ledger_app_t *lg = service_app(app);
    nns_error_t err;
    uint64_t height;
    stored_block_t *blocks = NULL;
    size_t n = 0;
    const char *h = http_param(req, 0);
    if (!h || !parse_u64(h, &height)) {
        nns_error_set(&err, 400, "BadRequest", "block height '%s' is not a u64", h ? h : "");
        goto fail;
    }
    stored_block_t kept;
    if (recent_get(lg, height, &kept)) {
        if (!(blocks = malloc(sizeof *blocks))) {
            nns_error_set(&err, 503, "Unavailable", "out of memory");
            goto fail;
        }
        blocks[0] = kept;
        n = 1;
    } else if (!ledger_store_block(lg->store, height, &blocks, &n, &err)) {
        goto fail;
    }
    if (n == 0) {
        nns_error_set(&err, 404, "NotFound", "block %llu not found", (unsigned long long)height);
        goto fail;
    }
    const char *format = http_query(req, "format");
    if (format && strcmp(format, "icrc3") != 0) {
        nns_error_set(&err, 400, "BadRequest", "query 'format' takes 'icrc3', not '%.40s'", format);
        goto fail;
    }
    json_t *arr = format ? NULL : render_blocks(blocks, 1, &err);
    if (format) {
        json_t *v = render_block_icrc3(&blocks[0], &err);
        if (!v)
            goto fail;
        arr = json_array();
        json_array_append_new(arr, v);
    }
    if (!arr)
        goto fail;
    char etag[70];
    snprintf(etag, sizeof etag, "\"");
    hex_encode(blocks[0].hash, 32, etag + 1);
    strcat(etag, "\"");
    http_add_header(req, "ETag", etag);
    http_add_header(req, "Cache-Control", "public, max-age=31536000, immutable");
    free(blocks);
    json_t *b = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    http_respond_json(req, 200, b);
    return;
fail:
    free(blocks);
    http_respond_error(req, &err);
}

static void get_transaction(http_request_t *req, void *app)
{
    ledger_app_t *lg = service_app(app);
    nns_error_t err;
    uint8_t hash[32];
    stored_block_t *blocks = NULL;
    size_t n = 0;
    const char *h = http_param(req, 0);
    if (!h || strlen(h) != 64 || hex_decode(h, 64, hash, sizeof hash) != 32) {
        nns_error_set(&err, 400, "BadRequest", "transaction hash '%.80s' is not 64 hex digits",
                      h ? h : "");
        goto fail;
    }
    if (!ledger_store_by_tx_hash(lg->store, hash, &blocks, &n, &err))
        goto fail;
    if (n == 0) {
        nns_error_set(&err, 404, "NotFound", "transaction '%s' not found", h);
        goto fail;
    }
    json_t *items = render_blocks(blocks, n, &err);
    if (!items)
        goto fail;
    free(blocks);
    char lower[65];
    hex_encode(hash, 32, lower); /* the path may be upper case; answers are lower case */
    json_t *o = json_object();
    json_object_set_new(o, "tx_hash", json_string(lower));
    json_object_set_new(o, "items", items);
    http_respond_json(req, 200, o);
    return;
fail:
    free(blocks);
    http_respond_error(req, &err);
}

static void get_allowance(http_request_t *req, void *app)
{
    ledger_app_t *lg = service_app(app);
    nns_error_t err;
    account_id_t owner, spender;
    if (!parse_account_param(req, 0, &owner, NULL, NULL, &err) ||
        !parse_account_param(req, 1, &spender, NULL, NULL, &err)) {
        http_respond_error(req, &err);
        return;
    }
    uint64_t allowance, expires_at;
    bool has_expires_at;
    if (lg->read_only) {
        if (!ledger_store_allowance(lg->store, &owner, &spender, clock_now_nanos(), &allowance,
                                    &has_expires_at, &expires_at, &err)) {
            http_respond_error(req, &err);
            return;
        }
    } else {
        ledger_allowance(lg->ledger, &owner, &spender, clock_now_nanos(), &allowance,
                         &has_expires_at, &expires_at);
    }
    json_t *o = json_object();
    json_object_set_new(o, "owner", render_account(&owner));
    json_object_set_new(o, "spender", render_account(&spender));
    json_object_set_new(o, "allowance_e8s", json_u64(allowance));
    json_object_set_new(o, "expires_at", has_expires_at ? json_u64(expires_at) : json_null());
    http_respond_json(req, 200, o);
}

/* ---------------------------------------------------------------- writes */

/* A signed single write: parse, then hand it to the round, which answers it. */
static void submit_single(http_request_t *req, service_t *svc, ledger_body_fn parse)
{
    nns_error_t err;
    service_cmd_t *cmd = service_cmd_new(svc, 1);
    if (!cmd) {
        service_respond_unavailable(req, "out of memory");
        return;
    }
    size_t len;
    const uint8_t *body = http_body(req, &len);
    ledger_op_t *op = (ledger_op_t *)(void *)service_cmd_op(svc, cmd, 0);
    if (!ledger_body_parse(body, len, parse, http_caller(req), op, &err)) {
        service_cmd_free(svc, &cmd);
        http_respond_error(req, &err);
        return;
    }
    service_submit(svc, req, cmd);
}

static void post_transfer(http_request_t *req, void *app)
{
    submit_single(req, app, ledger_body_transfer);
}

static void post_approval(http_request_t *req, void *app)
{
    submit_single(req, app, ledger_body_approve);
}

static void post_transfer_from(http_request_t *req, void *app)
{
    submit_single(req, app, ledger_body_transfer_from);
}

static void post_transfer_batch(http_request_t *req, void *app)
{
    service_submit_batch(app, req, ledger_body_batch);
}

/* ---------------------------------------------------------------- the round */

/* A round's scratch state: the state machine's round and the owner facts it reveals. */
typedef struct {
    ledger_round_t *r;
    owner_fact_t *owners; /* room for every fact of the round's writes */
    size_t nowners, cap_ops;
    hmap_t seen; /* the round's facts' accounts */
    bool have_seen;
} ledger_scratch_t;

static void scratch_free(ledger_app_t *lg, ledger_scratch_t *s)
{
    ledger_round_discard(lg->ledger, &s->r); /* a no-op once committed */
    if (s->have_seen)
        hmap_free(&s->seen);
    free(s->owners);
    free(s);
}

static void *round_begin(void *app, size_t nops)
{
    ledger_app_t *lg = app;
    ledger_scratch_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->r = ledger_round_begin(lg->ledger);
    s->owners = malloc(3 * nops * sizeof *s->owners);
    s->cap_ops = nops;
    s->have_seen = hmap_init(&s->seen, ACCOUNT_HASH_BYTES, 6 * nops);
    if (!s->r || !s->owners || !s->have_seen) {
        scratch_free(lg, s);
        return NULL;
    }
    return s;
}

/* Adds the owner facts of an applied write unless the store already has them or the round
 * already adds them. */
static void add_owners(ledger_app_t *lg, ledger_scratch_t *s, const ledger_op_t *op)
{
    for (int k = 0; k < op->nfacts; k++) {
        const owner_fact_t *f = &op->facts[k];
        bool created = false;
        if (hmap_get(&lg->known_owners, f->account.hash) ||
            !hmap_put(&s->seen, f->account.hash, &created) || !created)
            continue;
        s->owners[s->nowners++] = *f;
    }
}

static bool apply(void *app, void *round, write_t *w, uint64_t now)
{
    ledger_app_t *lg = app;
    ledger_scratch_t *s = round;
    ledger_op_t *op = (ledger_op_t *)(void *)w;
    nns_error_t err;
    uint64_t height = 0;
    bool ok = false;
    switch (op->kind) {
    case LEDGER_CMD_TRANSFER:
        ok = ledger_apply_transfer(lg->ledger, s->r, &op->u.transfer, now, &height, &err);
        break;
    case LEDGER_CMD_APPROVE:
        ok = ledger_apply_approve(lg->ledger, s->r, &op->u.approve, now, &height, &err);
        break;
    case LEDGER_CMD_TRANSFER_FROM:
        ok = ledger_apply_transfer_from(lg->ledger, s->r, &op->u.transfer_from, now, &height, &err);
        break;
    }
    if (!ok) {
        write_fail(w, &err, false);
        return true;
    }
    char buf[64];
    int m = snprintf(buf, sizeof buf, "{\"block_index\":\"%llu\"}", (unsigned long long)height);
    add_owners(lg, s, op);
    return write_succeed(w, 200, buf, (size_t)m);
}

/* Room for nops more writes in a round that takes late commands. */
static bool round_grow(void *app, void *round, size_t nops)
{
    (void)app;
    ledger_scratch_t *s = round;
    owner_fact_t *grown = realloc(s->owners, (s->cap_ops + nops) * 3 * sizeof *grown);
    if (!grown)
        return false;
    s->owners = grown;
    s->cap_ops += nops;
    return true;
}

static db_outcome_t commit_copy(void *app, void *round, const replay_rec_t *replays,
                                size_t nreplays, nns_error_t *err)
{
    ledger_app_t *lg = app;
    ledger_scratch_t *s = round;
    return ledger_store_copy_round(lg->store, s->r, replays, nreplays, err);
}

static void commit_abandon(void *app, const nns_error_t *why)
{
    ledger_app_t *lg = app;
    ledger_store_abandon_round(lg->store, why);
}

static db_outcome_t commit_send(void *app, void *round, const replay_rec_t *replays,
                                size_t nreplays, nns_error_t *err)
{
    ledger_app_t *lg = app;
    ledger_scratch_t *s = round;
    return ledger_store_send_round(lg->store, s->r, s->owners, s->nowners, replays, nreplays, err);
}

static db_outcome_t commit_wait(void *app, nns_error_t *err)
{
    ledger_app_t *lg = app;
    return ledger_store_wait_round(lg->store, err);
}

static bool commit_ready(void *app, int timeout_ms)
{
    ledger_app_t *lg = app;
    return ledger_store_round_ready(lg->store, timeout_ms);
}

static void round_end(void *app, void *round, bool committed)
{
    ledger_app_t *lg = app;
    ledger_scratch_t *s = round;
    if (committed) {
        size_t nblocks;
        const ledger_block_rec_t *recs = ledger_round_blocks(s->r, &nblocks);
        recent_add(lg, recs, nblocks);
        ledger_round_commit(lg->ledger, &s->r);
        for (size_t k = 0; k < s->nowners; k++)
            if (!hmap_put(&lg->known_owners, s->owners[k].account.hash, NULL))
                break; /* only an optimisation: the insert is idempotent */
    }
    scratch_free(lg, s);
}

static void metrics(void *app, metrics_t *m)
{
    ledger_app_t *lg = app;
    ledger_info_t info;
    ledger_info(lg->ledger, &info);
    metrics_gauge(m, "nns_ledger_chain_length", "blocks in the chain", (double)info.chain_length);
    metrics_gauge(m, "nns_ledger_accounts", "accounts with a balance or history",
                  (double)info.accounts);
    metrics_gauge(m, "nns_ledger_remembered_transactions",
                  "transactions remembered for deduplication",
                  (double)info.remembered_transactions);
    metrics_gauge(m, "nns_ledger_state_bytes", "memory held by the ledger's state",
                  (double)info.memory_bytes);
    metrics_gauge(m, "nns_ledger_total_supply_e8s", "total supply in e8s",
                  (double)info.total_supply);
    const char *const *names;
    uint64_t nanos[LEDGER_STORE_PHASES];
    size_t n = ledger_store_phases(lg->store, &names, nanos);
    metrics_family(m, "nns_commit_phase_seconds_total", "counter",
                   "time spent in each part of committing rounds");
    for (size_t i = 0; i < n; i++) {
        char labels[64];
        snprintf(labels, sizeof labels, "phase=\"%s\"", names[i]);
        metrics_double(m, "nns_commit_phase_seconds_total", labels, (double)nanos[i] / 1e9);
    }
}

/* ---------------------------------------------------------------- construction */

/* Mints the genesis balances when the chain is empty: one Mint block per entry, one round. */
static bool apply_genesis(ledger_app_t *lg, const genesis_t *g, nns_error_t *err)
{
    ledger_info_t info;
    ledger_info(lg->ledger, &info);
    if (g->nbalances == 0 || info.chain_length > 0)
        return true;
    ledger_round_t *r = ledger_round_begin(lg->ledger);
    owner_fact_t *owners = malloc(g->nbalances * sizeof *owners);
    size_t nowners = 0;
    bool ok = r && owners;
    if (!ok)
        nns_error_set(err, 503, "Unavailable", "out of memory minting the genesis balances");
    uint64_t now = clock_now_nanos();
    for (size_t i = 0; ok && i < g->nbalances; i++) {
        const genesis_balance_t *b = &g->balances[i];
        uint64_t height;
        if (!ledger_apply_mint(lg->ledger, r, &b->account, b->amount_e8s, now, &height, err)) {
            char detail[256];
            snprintf(detail, sizeof detail, "%s", err->detail);
            ok = nns_error_set(err, 400, "InvalidGenesis", "initial_balances[%zu]: %s", i, detail);
        } else if (b->has_owner) {
            owners[nowners++] = b->owner;
        }
    }
    bool fatal = false;
    if (ok && !ledger_store_commit_round(lg->store, r, owners, nowners, NULL, 0, &fatal, err))
        ok = false;
    if (ok) {
        ledger_round_commit(lg->ledger, &r);
        log_info("genesis: minted %zu initial balances", g->nbalances);
    }
    ledger_round_discard(lg->ledger, &r);
    free(owners);
    return ok;
}

static const char *genesis_path;

static void destroy(void *app)
{
    ledger_app_t *lg = app;
    ledger_store_close(&lg->store);
    ledger_destroy(&lg->ledger);
    hmap_free(&lg->known_owners);
    if (lg->recent.blocks)
        pthread_mutex_destroy(&lg->recent.mu);
    free(lg->recent.blocks);
    free(lg);
}

static void *create(service_t *svc, nns_error_t *err)
{
    const service_config_t *cfg = service_config(svc);
    genesis_t g;
    if (!genesis_read(genesis_path, &g, err))
        return NULL;
    ledger_app_t *lg = calloc(1, sizeof *lg);
    if (!lg || !(lg->ledger = ledger_new(&g.config)) ||
        !hmap_init(&lg->known_owners, ACCOUNT_HASH_BYTES, 1024)) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        goto fail;
    }
    lg->svc = svc;
    lg->read_only = cfg->read_only;
    if (!cfg->read_only) {
        if (!(lg->recent.blocks = calloc(RECENT_BLOCKS, sizeof *lg->recent.blocks))) {
            nns_error_set(err, 503, "Unavailable", "out of memory");
            goto fail;
        }
        pthread_mutex_init(&lg->recent.mu, NULL);
    }
    if (!(lg->store = ledger_store_open(
              cfg->database, service_threads(svc) + 1 + service_read_threads(svc), cfg->read_only,
              (unsigned)cfg->pipeline_depth, (unsigned)cfg->commit_delay_ms, err)))
        goto fail;
    service_use_store(svc, ledger_store_db(lg->store));
    uint64_t now = clock_now_nanos();
    uint64_t horizon = g.config.window_nanos + LEDGER_PERMITTED_DRIFT_NANOS;
    if (!cfg->read_only &&
        (!ledger_store_load(lg->store, lg->ledger, service_replay(svc),
                            now > horizon ? now - horizon : 0, clock_wall_nanos(), err) ||
         !apply_genesis(lg, &g, err)))
        goto fail;
    ledger_info_t info;
    ledger_info(lg->ledger, &info);
    if (clock_is_test() && info.tip_timestamp > clock_now_nanos() && !clock_set(info.tip_timestamp))
        log_warn("test clock could not catch up with the last block");
    log_info("ledger ready: %llu blocks, %llu accounts, %llu remembered transactions",
             (unsigned long long)info.chain_length, (unsigned long long)info.accounts,
             (unsigned long long)info.remembered_transactions);
    genesis_free(&g);
    return lg;
fail:
    genesis_free(&g);
    if (lg)
        destroy(lg);
    return NULL;
}

static const http_route_t ROUTES[] = {
    {"GET", "/v1/ledger", get_ledger, 0},
    {"GET", "/v1/supply", get_supply, 0},
    {"GET", "/v1/accounts/{}", get_account, 0},
    {"GET", "/v1/accounts/{}/transactions", get_account_transactions, 0},
    {"GET", "/v1/principals/{}/accounts", get_principal_accounts, 0},
    {"GET", "/v1/blocks", get_blocks, 0},
    {"GET", "/v1/blocks/{}", get_block, 0},
    {"GET", "/v1/transactions/{}", get_transaction, 0},
    {"POST", "/v1/transfers", post_transfer, HTTP_SIGNED | HTTP_WRITE},
    {"POST", "/v1/transfer-batches", post_transfer_batch, HTTP_WRITE},
    {"POST", "/v1/approvals", post_approval, HTTP_SIGNED | HTTP_WRITE},
    {"POST", "/v1/transfer-from", post_transfer_from, HTTP_SIGNED | HTTP_WRITE},
    {"GET", "/v1/allowances/{}/{}", get_allowance, 0},
    {0},
};

static const config_option_t OPTIONS[] = {
    {CONFIG_OPT(
        "genesis", OPT_STRING, &genesis_path, NULL,
        "genesis JSON: initial balances (minted when the chain is empty), fee, token, window")},
    {0},
};

const service_def_t LEDGER_SERVICE = {
    .name = "ledger",
    .summary = "The ICP ledger service (REST/JSON, PostgreSQL mirror).",
    .canister = CANISTER_LEDGER,
    .default_listen = "127.0.0.1:8081",
    .options = OPTIONS,
    .routes = ROUTES,
    .op_size = sizeof(ledger_op_t),
    .create = create,
    .destroy = destroy,
    .round_begin = round_begin,
    .apply = apply,
    .commit_send = commit_send,
    .commit_wait = commit_wait,
    .commit_ready = commit_ready,
    .round_end = round_end,
    .round_grow = round_grow,
    .commit_copy = commit_copy,
    .commit_abandon = commit_abandon,
    .metrics = metrics,
};
