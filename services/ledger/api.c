#include "api.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "auth.h"
#include "batch.h"
#include "clock.h"
#include "hex.h"
#include "hmap.h"
#include "http.h"
#include "jsonutil.h"
#include "keyfile.h"
#include "log.h"
#include "round.h"
#include "store.h"
#include "workpool.h"

#define LIMIT_DEFAULT 50
#define LIMIT_MAX 500
#define TICK_MS 1000
#define REPLAY_PURGE_NANOS (30ULL * 1000000000ULL)

struct ledger_service {
    ledger_t *ledger;
    ledger_store_t *store;
    round_loop_t *loop;
    http_server_t *http;
    auth_t *auth;
    identity_t key;
    principal_t principal; /* the ledger canister id */
    volatile bool ready;
    bool read_only;      /* a replica: point reads go to PostgreSQL, nothing is kept in memory */
    hmap_t known_owners; /* accounts already in ledger.account_owners (state thread only) */
    workpool_t *verify;  /* spreads a batch's signature checks over every core */
    uint64_t last_replay_purge;
    /* round metrics: the state thread writes, /metrics reads */
    _Atomic uint64_t commits, commit_failures, commit_nanos_sum, commit_nanos_max;
};

/* ---------------------------------------------------------------- rendering */

static json_t *account_json(const account_id_t *id)
{
    char hexs[ACCOUNT_HEX_LEN + 1];
    account_id_to_hex(id, hexs);
    return json_string(hexs);
}

/* The block object of API.md. */
static json_t *block_json(uint64_t height, const uint8_t hash[32], const uint8_t tx_hash[32],
                          const block_t *b)
{
    const operation_t *op = &b->tx.op;
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(op_kind_name(op->kind)));
    if (op->kind != OP_MINT)
        json_object_set_new(o, "from", account_json(&op->from));
    if (op->kind == OP_MINT || op->kind == OP_TRANSFER)
        json_object_set_new(o, "to", account_json(&op->to));
    if (op->kind == OP_APPROVE || op->has_spender)
        json_object_set_new(o, "spender", account_json(&op->spender));
    if (op->kind != OP_APPROVE)
        json_object_set_new(o, "amount_e8s", json_u64(op->amount));
    if (op->kind == OP_TRANSFER || op->kind == OP_APPROVE)
        json_object_set_new(o, "fee_e8s", json_u64(op->fee));
    if (op->kind == OP_APPROVE) {
        json_object_set_new(o, "allowance_e8s", json_u64(op->allowance));
        if (op->has_expected_allowance)
            json_object_set_new(o, "expected_allowance_e8s", json_u64(op->expected_allowance));
        if (op->has_expires_at)
            json_object_set_new(o, "expires_at", json_u64(op->expires_at));
    }
    json_t *tx = json_object();
    json_object_set_new(tx, "operation", o);
    json_object_set_new(tx, "memo", json_u64(b->tx.memo));
    if (b->tx.has_icrc1_memo)
        json_object_set_new(tx, "icrc1_memo", json_hex(b->tx.icrc1_memo, b->tx.icrc1_memo_len));
    if (b->tx.has_created_at_time)
        json_object_set_new(tx, "created_at_time", json_u64(b->tx.created_at_time));
    json_t *blk = json_object();
    json_object_set_new(blk, "height", json_u64(height));
    json_object_set_new(blk, "hash", json_hex(hash, 32));
    json_object_set_new(blk, "parent_hash",
                        b->has_parent ? json_hex(b->parent_hash, 32) : json_null());
    json_object_set_new(blk, "timestamp", json_u64(b->timestamp));
    json_object_set_new(blk, "transaction", tx);
    json_object_set_new(blk, "tx_hash", json_hex(tx_hash, 32));
    return blk;
}

/* Decodes stored blocks into a JSON array; false with err on a corrupt row. */
static json_t *blocks_json(const stored_block_t *blocks, size_t n, nns_error_t *err)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        block_t b;
        if (!block_decode(blocks[i].raw, blocks[i].raw_len, &b, err)) {
            json_decref(arr);
            nns_error_set(err, 500, "CorruptState", "stored block %llu does not decode",
                          (unsigned long long)blocks[i].height);
            return NULL;
        }
        json_array_append_new(arr,
                              block_json(blocks[i].height, blocks[i].hash, blocks[i].tx_hash, &b));
    }
    return arr;
}

/* The tip signature: Ed25519 over 0x0e "icp-ledger-tip" || chain_length (u64 BE) || tip hash. */
static void sign_tip(const ledger_service_t *svc, const ledger_info_t *info, char out[129])
{
    uint8_t msg[1 + 14 + 8 + 32];
    msg[0] = 14;
    memcpy(msg + 1, "icp-ledger-tip", 14);
    for (int i = 0; i < 8; i++)
        msg[15 + i] = (uint8_t)(info->chain_length >> (56 - 8 * i));
    memcpy(msg + 23, info->tip_hash, 32);
    uint8_t sig[64];
    ed25519_sign(svc->key.sk, msg, sizeof msg, sig);
    hex_encode(sig, sizeof sig, out);
}

/* ---------------------------------------------------------------- request helpers */

static bool parse_limit(http_request_t *req, unsigned *limit, nns_error_t *err)
{
    const char *l = http_query(req, "limit");
    uint64_t v = LIMIT_DEFAULT;
    if (l && !parse_u64(l, &v))
        return nns_error_set(err, 400, "BadRequest", "query 'limit' must be a positive integer");
    if (v == 0)
        v = 1;
    *limit = v > LIMIT_MAX ? LIMIT_MAX : (unsigned)v;
    return true;
}

static bool parse_account_param(http_request_t *req, int i, account_id_t *id,
                                icrc1_account_t *icrc1, bool *has_icrc1, nns_error_t *err)
{
    const char *text = http_param(req, i);
    return account_parse_any(text ? text : "", id, icrc1, has_icrc1, err);
}

/* ---------------------------------------------------------------- reads */

/* Point reads: committed memory on a writer, PostgreSQL on a read-only instance. */
static bool read_balance(ledger_service_t *svc, const account_id_t *id, uint64_t *balance,
                         uint64_t *count, nns_error_t *err)
{
    if (svc->read_only)
        return ledger_store_balance(svc->store, id, balance, count, err);
    ledger_balance(svc->ledger, id, balance, count);
    return true;
}

static bool read_info(ledger_service_t *svc, ledger_info_t *info, nns_error_t *err)
{
    if (svc->read_only)
        return ledger_store_chain(svc->store, info, err);
    ledger_info(svc->ledger, info);
    return true;
}

static void get_identity(http_request_t *req, void *app)
{
    ledger_service_t *svc = app;
    char ptext[PRINCIPAL_TEXT_MAX];
    principal_to_text(&svc->principal, ptext);
    json_t *o = json_pack("{s:s, s:s, s:o, s:o}", "service", "ledger", "principal", ptext,
                          "public_key_der_hex", json_hex(svc->key.der, sizeof svc->key.der),
                          "now_nanos", json_u64(clock_now_nanos()));
    http_respond_json(req, 200, o);
}

static void get_ledger(http_request_t *req, void *app)
{
    ledger_service_t *svc = app;
    const ledger_config_t *cfg = ledger_config(svc->ledger);
    ledger_info_t info;
    nns_error_t err;
    if (!read_info(svc, &info, &err)) {
        http_respond_error(req, &err);
        return;
    }
    char sig[129];
    sign_tip(svc, &info, sig);
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(cfg->token_name));
    json_object_set_new(o, "symbol", json_string(cfg->token_symbol));
    json_object_set_new(o, "decimals", json_integer(8));
    json_object_set_new(o, "fee_e8s", json_u64(cfg->fee_e8s));
    json_object_set_new(o, "minting_account", account_json(&cfg->minting_account));
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
    ledger_service_t *svc = app;
    ledger_info_t info;
    nns_error_t err;
    if (!read_info(svc, &info, &err)) {
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

static json_t *account_object(ledger_service_t *svc, const account_id_t *id,
                              const icrc1_account_t *icrc1, nns_error_t *err)
{
    uint64_t balance, count;
    if (!read_balance(svc, id, &balance, &count, err))
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "account_identifier", account_json(id));
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
    json_t *o = account_object(app, &id, has_icrc1 ? &icrc1 : NULL, &err);
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
    memset(f, 0, sizeof *f);
    const char *type = http_query(req, "type"), *from = http_query(req, "from_time"),
               *to = http_query(req, "to_time"), *cp = http_query(req, "counterparty");
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
    if (from && !(f->has_from_time = parse_u64(from, &f->from_time)))
        return nns_error_set(err, 400, "BadRequest", "query 'from_time' must be nanoseconds");
    if (to && !(f->has_to_time = parse_u64(to, &f->to_time)))
        return nns_error_set(err, 400, "BadRequest", "query 'to_time' must be nanoseconds");
    if (cp) {
        f->has_counterparty = true;
        if (!account_parse_any(cp, &f->counterparty, NULL, NULL, err))
            return false;
    }
    return true;
}

/* The change a block made to an account's balance, as a signed decimal. */
static void balance_delta(const block_t *b, const account_id_t *acc, char out[32])
{
    const operation_t *op = &b->tx.op;
    bool is_from = op->kind != OP_MINT && account_id_equal(&op->from, acc);
    bool is_to = (op->kind == OP_MINT || op->kind == OP_TRANSFER) && account_id_equal(&op->to, acc);
    unsigned __int128 debit = 0, credit = 0;
    if (is_from)
        debit = op->kind == OP_BURN      ? op->amount
                : op->kind == OP_APPROVE ? op->fee
                                         : (unsigned __int128)op->amount + op->fee;
    if (is_to)
        credit = op->amount;
    if (credit >= debit)
        snprintf(out, 32, "%llu", (unsigned long long)(credit - debit));
    else
        snprintf(out, 32, "-%llu", (unsigned long long)(debit - credit));
}

/* The history as CSV, for spreadsheets and tax tools. */
static void respond_history_csv(http_request_t *req, const account_id_t *acc,
                                const stored_block_t *blocks, size_t n, bool more)
{
    size_t cap = 256 + n * 768, len = 0; /* a row is at most ~520 bytes */
    char *csv = malloc(cap);
    nns_error_t err;
    if (!csv) {
        nns_error_set(&err, 503, "Unavailable", "out of memory");
        http_respond_error(req, &err);
        return;
    }
    len += (size_t)snprintf(csv + len, cap - len,
                            "height,timestamp_utc,timestamp_nanos,type,from,to,spender,"
                            "amount_e8s,fee_e8s,balance_change_e8s,memo,icrc1_memo,tx_hash\r\n");
    for (size_t i = 0; i < n; i++) {
        block_t b;
        if (!block_decode(blocks[i].raw, blocks[i].raw_len, &b, &err))
            continue;
        const operation_t *op = &b.tx.op;
        char from[65] = "", to[65] = "", spender[65] = "", amount[24] = "", fee[24] = "";
        char delta[32], memo[65] = "", txh[65], when[32];
        if (op->kind != OP_MINT)
            account_id_to_hex(&op->from, from);
        if (op->kind == OP_MINT || op->kind == OP_TRANSFER)
            account_id_to_hex(&op->to, to);
        if (op->kind == OP_APPROVE || op->has_spender)
            account_id_to_hex(&op->spender, spender);
        if (op->kind != OP_APPROVE)
            snprintf(amount, sizeof amount, "%llu", (unsigned long long)op->amount);
        if (op->kind == OP_TRANSFER || op->kind == OP_APPROVE)
            snprintf(fee, sizeof fee, "%llu", (unsigned long long)op->fee);
        if (b.tx.has_icrc1_memo)
            hex_encode(b.tx.icrc1_memo, b.tx.icrc1_memo_len, memo);
        balance_delta(&b, acc, delta);
        hex_encode(blocks[i].tx_hash, 32, txh);
        time_t secs = (time_t)(b.timestamp / 1000000000ULL);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (cap - len < 768)
            break;
        len += (size_t)snprintf(
            csv + len, cap - len, "%llu,%s,%llu,%s,%s,%s,%s,%s,%s,%s,%llu,%s,%s\r\n",
            (unsigned long long)blocks[i].height, when, (unsigned long long)b.timestamp,
            op_kind_name(op->kind), from, to, spender, amount, fee, delta,
            (unsigned long long)b.tx.memo, memo, txh);
    }
    if (more) {
        char c[24];
        snprintf(c, sizeof c, "%llu", (unsigned long long)blocks[n - 1].height);
        http_add_header(req, "X-Next-Cursor", c);
    }
    http_add_header(req, "Content-Disposition", "attachment; filename=\"transactions.csv\"");
    http_respond_raw(req, 200, "text/csv; charset=utf-8", csv, len);
    free(csv);
}

static bool wants_csv(http_request_t *req)
{
    const char *format = http_query(req, "format"), *accept = http_header(req, "Accept");
    return (format && strcmp(format, "csv") == 0) || (accept && strstr(accept, "text/csv"));
}

#define CSV_LIMIT_MAX 10000

static void get_account_transactions(http_request_t *req, void *app)
{
    ledger_service_t *svc = app;
    nns_error_t err;
    account_id_t id;
    unsigned limit;
    uint64_t before = UINT64_MAX;
    history_filter_t filter;
    const char *cursor = http_query(req, "cursor");
    bool csv = wants_csv(req);
    stored_block_t *blocks = NULL;
    size_t n = 0;
    if (!parse_account_param(req, 0, &id, NULL, NULL, &err) || !parse_limit(req, &limit, &err) ||
        !parse_history_filter(req, &filter, &err))
        goto fail;
    if (csv) { /* an export wants whole years at once */
        const char *l = http_query(req, "limit");
        uint64_t v = CSV_LIMIT_MAX;
        if (l && parse_u64(l, &v) && v > 0)
            limit = v > CSV_LIMIT_MAX ? CSV_LIMIT_MAX : (unsigned)v;
        else if (!l)
            limit = CSV_LIMIT_MAX;
    }
    if (cursor && !parse_u64(cursor, &before)) {
        nns_error_set(&err, 400, "BadRequest", "query 'cursor' is not a cursor of this list");
        goto fail;
    }
    uint64_t oldest = 0;
    bool has_oldest = false;
    if (!ledger_store_history(svc->store, &id, before, limit, &filter, &blocks, &n, &oldest,
                              &has_oldest, &err) ||
        (n == 0 && !ledger_store_oldest(svc->store, &id, &oldest, &has_oldest, &err)))
        goto fail;
    bool more = n == limit && has_oldest && blocks[n - 1].height > oldest;
    if (csv) {
        respond_history_csv(req, &id, blocks, n, more);
        free(blocks);
        return;
    }
    json_t *items = blocks_json(blocks, n, &err);
    if (!items)
        goto fail;
    uint64_t balance, count;
    if (!read_balance(svc, &id, &balance, &count, &err)) {
        json_decref(items);
        goto fail;
    }
    json_t *o = json_object();
    json_object_set_new(o, "account_identifier", account_json(&id));
    json_object_set_new(o, "balance_e8s", json_u64(balance));
    json_object_set_new(o, "items", items);
    json_object_set_new(o, "next_cursor", more ? json_u64(blocks[n - 1].height) : json_null());
    json_object_set_new(o, "oldest_tx_id", has_oldest ? json_u64(oldest) : json_null());
    free(blocks);
    http_respond_json(req, 200, o);
    return;
fail:
    free(blocks);
    http_respond_error(req, &err);
}

static void get_principal_accounts(http_request_t *req, void *app)
{
    ledger_service_t *svc = app;
    nns_error_t err;
    principal_t p;
    owned_account_t *owned = NULL;
    size_t n = 0;
    const char *text = http_param(req, 0);
    if (!principal_from_text(text ? text : "", &p, &err) ||
        !ledger_store_owned(svc->store, &p, &owned, &n, &err)) {
        http_respond_error(req, &err);
        return;
    }
    icrc1_account_t def = {.owner = p};
    account_id_t def_id;
    account_id_of(&p, NULL, &def_id);
    json_t *accounts = json_array();
    json_t *d = account_object(svc, &def_id, &def, &err);
    if (!d) {
        json_decref(accounts);
        free(owned);
        http_respond_error(req, &err);
        return;
    }
    json_array_append_new(accounts, d);
    for (size_t i = 0; i < n; i++) {
        if (subaccount_is_default(owned[i].subaccount))
            continue;
        icrc1_account_t a = {.owner = p};
        memcpy(a.subaccount, owned[i].subaccount, SUBACCOUNT_BYTES);
        json_t *o = account_object(svc, &owned[i].account, &a, &err);
        if (!o)
            continue;
        json_object_set_new(o, "subaccount", json_hex(owned[i].subaccount, SUBACCOUNT_BYTES));
        json_array_append_new(accounts, o);
    }
    free(owned);
    json_t *o = json_object();
    json_object_set_new(o, "principal", json_string(text));
    json_object_set_new(o, "default_account_identifier", account_json(&def_id));
    json_object_set_new(o, "accounts", accounts);
    http_respond_json(req, 200, o);
}

static void get_blocks(http_request_t *req, void *app)
{
    ledger_service_t *svc = app;
    nns_error_t err;
    unsigned limit;
    stored_block_t *blocks = NULL;
    size_t n = 0;
    const char *start = http_query(req, "start"), *cursor = http_query(req, "cursor");
    bool ascending = false;
    uint64_t from = UINT64_MAX;
    if (!parse_limit(req, &limit, &err))
        goto fail;
    if (start) {
        ascending = true;
        if (!parse_u64(start, &from)) {
            nns_error_set(&err, 400, "BadRequest", "query 'start' must be a block height");
            goto fail;
        }
    }
    if (cursor) {
        /* "a<height>" continues an ascending list, "d<height>" a descending one */
        if ((cursor[0] != 'a' && cursor[0] != 'd') || !parse_u64(cursor + 1, &from)) {
            nns_error_set(&err, 400, "BadRequest", "query 'cursor' is not a cursor of this list");
            goto fail;
        }
        ascending = cursor[0] == 'a';
    }
    if (!ledger_store_blocks(svc->store, ascending, from, limit, &blocks, &n, &err))
        goto fail;
    json_t *items = blocks_json(blocks, n, &err);
    if (!items)
        goto fail;
    ledger_info_t info;
    if (!read_info(svc, &info, &err)) {
        json_decref(items);
        goto fail;
    }
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    json_t *next = json_null();
    char c[32];
    if (n == limit && !ascending && blocks[n - 1].height > 0) {
        snprintf(c, sizeof c, "d%llu", (unsigned long long)blocks[n - 1].height);
        next = json_string(c);
    } else if (n == limit && ascending && blocks[n - 1].height + 1 < info.chain_length) {
        snprintf(c, sizeof c, "a%llu", (unsigned long long)blocks[n - 1].height + 1);
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
    ledger_service_t *svc = app;
    nns_error_t err;
    uint64_t height;
    stored_block_t *blocks = NULL;
    size_t n = 0;
    const char *h = http_param(req, 0);
    if (!h || !parse_u64(h, &height)) {
        nns_error_set(&err, 400, "BadRequest", "block height '%s' is not a u64", h ? h : "");
        goto fail;
    }
    if (!ledger_store_block(svc->store, height, &blocks, &n, &err))
        goto fail;
    if (n == 0) {
        nns_error_set(&err, 404, "NotFound", "block %llu not found", (unsigned long long)height);
        goto fail;
    }
    json_t *arr = blocks_json(blocks, 1, &err);
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
    ledger_service_t *svc = app;
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
    if (!ledger_store_by_tx_hash(svc->store, hash, &blocks, &n, &err))
        goto fail;
    if (n == 0) {
        nns_error_set(&err, 404, "NotFound", "transaction '%s' not found", h);
        goto fail;
    }
    json_t *items = blocks_json(blocks, n, &err);
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

static void get_healthz(http_request_t *req, void *app)
{
    (void)app;
    http_respond_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static void get_readyz(http_request_t *req, void *app)
{
    ledger_service_t *svc = app;
    if (!svc->ready || !ledger_store_ping(svc->store)) {
        nns_error_t err;
        nns_error_set(&err, 503, "Unavailable", "%s",
                      svc->ready ? "database unreachable" : "state not loaded yet");
        http_respond_error(req, &err);
        return;
    }
    http_respond_json(req, 200, json_pack("{s:s}", "status", "ready"));
}

static void get_metrics(http_request_t *req, void *app)
{
    ledger_service_t *svc = app;
    char *buf = NULL;
    size_t len = 0;
    metrics_t *m = metrics_new("ledger");
    if (m) {
        http_server_metrics(svc->http, m);
        buf = metrics_detach(m, &len);
        metrics_destroy(&m);
    }
    ledger_info_t info;
    ledger_info(svc->ledger, &info);
    round_stats_t rs = {0};
    if (svc->loop)
        round_stats(svc->loop, &rs);
    char tmp[2048];
    int n = snprintf(
        tmp, sizeof tmp,
        "# TYPE nns_rounds_total counter\nnns_rounds_total{service=\"ledger\"} %llu\n"
        "# TYPE nns_round_commands_total counter\nnns_round_commands_total{service=\"ledger\"} "
        "%llu\n"
        "# TYPE nns_round_max_commands gauge\nnns_round_max_commands{service=\"ledger\"} %llu\n"
        "# TYPE nns_round_gather_seconds_total counter\n"
        "nns_round_gather_seconds_total{service=\"ledger\"} %.3f\n"
        "# TYPE nns_commit_seconds summary\nnns_commit_seconds_sum{service=\"ledger\"} %.6f\n"
        "nns_commit_seconds_count{service=\"ledger\"} %llu\n"
        "# TYPE nns_commit_seconds_max gauge\nnns_commit_seconds_max{service=\"ledger\"} %.6f\n"
        "# TYPE nns_commit_failures_total counter\nnns_commit_failures_total{service=\"ledger\"} "
        "%llu\n"
        "# TYPE nns_ledger_chain_length gauge\nnns_ledger_chain_length %llu\n"
        "# TYPE nns_ledger_accounts gauge\nnns_ledger_accounts %llu\n"
        "# TYPE nns_ledger_remembered_transactions gauge\nnns_ledger_remembered_transactions %llu\n"
        "# TYPE nns_ledger_state_bytes gauge\nnns_ledger_state_bytes %zu\n"
        "# TYPE nns_ledger_total_supply_e8s gauge\nnns_ledger_total_supply_e8s %llu\n",
        (unsigned long long)rs.rounds, (unsigned long long)rs.items,
        (unsigned long long)rs.max_round, (double)rs.gather_ms / 1e3,
        (double)svc->commit_nanos_sum / 1e9, (unsigned long long)svc->commits,
        (double)svc->commit_nanos_max / 1e9, (unsigned long long)svc->commit_failures,
        (unsigned long long)info.chain_length, (unsigned long long)info.accounts,
        (unsigned long long)info.remembered_transactions, info.memory_bytes,
        (unsigned long long)info.total_supply);
    const char *const *names;
    const uint64_t *nanos;
    size_t nphases;
    ledger_store_phases(svc->store, &names, &nanos, &nphases);
    for (size_t i = 0; i < nphases && n < (int)sizeof tmp - 200; i++)
        n += snprintf(tmp + n, sizeof tmp - (size_t)n,
                      "%snns_commit_phase_seconds_total{service=\"ledger\",phase=\"%s\"} %.6f\n",
                      i == 0 ? "# TYPE nns_commit_phase_seconds_total counter\n" : "", names[i],
                      (double)nanos[i] / 1e9);
    char *full = malloc(len + (size_t)n + 1);
    if (full) {
        memcpy(full, buf ? buf : "", len);
        memcpy(full + len, tmp, (size_t)n + 1);
        http_respond_raw(req, 200, "text/plain; version=0.0.4", full, len + (size_t)n);
    } else {
        nns_error_t err;
        nns_error_set(&err, 503, "Unavailable", "out of memory");
        http_respond_error(req, &err);
    }
    free(full);
    free(buf);
}

static void post_admin_time(http_request_t *req, void *app)
{
    (void)app;
    nns_error_t err;
    size_t len;
    const uint8_t *body = http_body(req, &len);
    static const char *const fields[] = {"now_nanos", NULL};
    uint64_t t;
    json_t *o = json_parse_object(body, len, &err);
    if (!o || !json_only_fields(o, fields, &err) ||
        !json_get_u64(o, "now_nanos", true, &t, NULL, &err)) {
        json_decref(o);
        http_respond_error(req, &err);
        return;
    }
    json_decref(o);
    if (t > (uint64_t)INT64_MAX / 2) { /* block timestamps are PostgreSQL bigints */
        nns_error_set(&err, 400, "BadRequest", "field 'now_nanos' is too far in the future");
        http_respond_error(req, &err);
        return;
    }
    if (!clock_set(t)) {
        nns_error_set(&err, 409, "TimeMovesBackwards",
                      "the test clock is at %llu and never moves backwards",
                      (unsigned long long)clock_now_nanos());
        http_respond_error(req, &err);
        return;
    }
    http_respond_json(req, 200, json_pack("{s:o}", "now_nanos", json_u64(clock_now_nanos())));
}

/* ---------------------------------------------------------------- writes */

typedef enum { OP_CMD_TRANSFER, OP_CMD_APPROVE, OP_CMD_TRANSFER_FROM } op_cmd_kind_t;

/* One write: parsed, authenticated, then applied in a round. */
typedef struct {
    op_cmd_kind_t kind;
    union {
        transfer_args_t transfer;
        approve_args_t approve;
        transfer_from_args_t transfer_from;
    } u;
    owner_fact_t facts[3]; /* account preimages the request reveals */
    int nfacts;
    uint8_t key[32]; /* replay-cache key: SHA-256(DER public key || signed message) */
    uint64_t expiry_nanos;
    bool replay_item; /* a batch item holding its own in-flight replay entry */
    bool skip;        /* a batch item answered before the round (bad input, replay) */
    int status;       /* the answer */
    char *body;
    size_t len;
} write_op_t;

typedef struct {
    round_item_t item; /* first: the round loop links commands through it */
    http_request_t *req;
    bool batch;
    size_t nops;
    write_op_t ops[];
} ledger_cmd_t;

static void free_cmd(ledger_cmd_t *c);

static void add_fact(write_op_t *op, const principal_t *owner, const uint8_t *sub)
{
    owner_fact_t *f = &op->facts[op->nfacts++];
    f->owner = *owner;
    if (sub)
        memcpy(f->subaccount, sub, SUBACCOUNT_BYTES);
    else
        memset(f->subaccount, 0, SUBACCOUNT_BYTES);
    account_id_of(owner, f->subaccount, &f->account);
}

/* An ICRC-1 account field: text, or {owner, subaccount}. */
static bool parse_icrc1_field(json_t *o, const char *name, icrc1_account_t *acc, nns_error_t *err)
{
    memset(acc, 0, sizeof *acc);
    json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v))
        return nns_error_set(err, 400, "BadRequest", "missing field '%s'", name);
    if (json_is_string(v))
        return icrc1_account_from_text(json_string_value(v), acc, err);
    if (!json_is_object(v))
        return nns_error_set(err, 400, "InvalidAccount",
                             "field '%s' must be ICRC-1 text or {owner, subaccount}", name);
    static const char *const fields[] = {"owner", "subaccount", NULL};
    const char *owner;
    return json_only_fields(v, fields, err) && json_get_str(v, "owner", true, &owner, NULL, err) &&
           principal_from_text(owner, &acc->owner, err) &&
           json_get_hex(v, "subaccount", false, SUBACCOUNT_BYTES, true, acc->subaccount, NULL, NULL,
                        err);
}

/* The memo and created_at_time fields every ICRC write shares. */
static bool parse_icrc_common(json_t *o, bool *has_memo, uint8_t *memo_len, uint8_t *memo,
                              bool *has_cat, uint64_t *cat, nns_error_t *err)
{
    size_t n = 0;
    if (!json_get_hex(o, "icrc1_memo", false, ICRC1_MEMO_MAX, false, memo, &n, has_memo, err) ||
        !json_get_u64(o, "created_at_time", false, cat, has_cat, err))
        return false;
    *memo_len = (uint8_t)n;
    return true;
}

static bool parse_transfer_body(json_t *o, const principal_t *caller, write_op_t *op,
                                nns_error_t *err)
{
    static const char *const legacy_fields[] = {
        "to", "amount_e8s", "fee_e8s", "memo", "from_subaccount", "created_at_time", NULL};
    static const char *const icrc1_fields[] = {"to_account", "amount_e8s",      "fee_e8s",
                                               "icrc1_memo", "from_subaccount", "created_at_time",
                                               NULL};
    transfer_args_t *a = &op->u.transfer;
    op->kind = OP_CMD_TRANSFER;
    a->caller = *caller;
    json_t *to = json_object_get(o, "to"), *to_account = json_object_get(o, "to_account");
    if (to && to_account)
        return nns_error_set(
            err, 400, "BadRequest",
            "give either 'to' (legacy transfer) or 'to_account' (ICRC-1), not both");
    if (!to && !to_account)
        return nns_error_set(err, 400, "BadRequest", "missing field 'to' or 'to_account'");
    if (!json_only_fields(o, to ? legacy_fields : icrc1_fields, err) ||
        !json_get_u64(o, "amount_e8s", true, &a->amount, NULL, err) ||
        !json_get_hex(o, "from_subaccount", false, SUBACCOUNT_BYTES, true, a->from_subaccount, NULL,
                      NULL, err) ||
        !json_get_u64(o, "created_at_time", false, &a->created_at_time, &a->has_created_at_time,
                      err))
        return false;
    add_fact(op, caller, a->from_subaccount);
    if (to) {
        const char *hexs;
        a->kind = TRANSFER_LEGACY;
        a->has_fee = true;
        if (!json_get_str(o, "to", true, &hexs, NULL, err) ||
            !json_get_u64(o, "fee_e8s", true, &a->fee, NULL, err) ||
            !json_get_u64(o, "memo", true, &a->memo, NULL, err))
            return false;
        if (strlen(hexs) != ACCOUNT_HEX_LEN)
            return nns_error_set(
                err, 400, "InvalidAccount",
                "field 'to' must be a 64-hex account identifier with its checksum");
        return account_id_from_hex(hexs, strlen(hexs), &a->to, err);
    }
    icrc1_account_t acc;
    a->kind = TRANSFER_ICRC1;
    if (!parse_icrc1_field(o, "to_account", &acc, err) ||
        !json_get_u64(o, "fee_e8s", false, &a->fee, &a->has_fee, err) ||
        !parse_icrc_common(o, &a->has_icrc1_memo, &a->icrc1_memo_len, a->icrc1_memo,
                           &a->has_created_at_time, &a->created_at_time, err))
        return false;
    account_id_of_icrc1(&acc, &a->to);
    add_fact(op, &acc.owner, acc.subaccount);
    return true;
}

static bool parse_approve_body(json_t *o, const principal_t *caller, write_op_t *op,
                               nns_error_t *err)
{
    static const char *const fields[] = {
        "spender",    "amount_e8s",      "expected_allowance_e8s", "expires_at", "fee_e8s",
        "icrc1_memo", "from_subaccount", "created_at_time",        NULL};
    approve_args_t *a = &op->u.approve;
    icrc1_account_t spender;
    op->kind = OP_CMD_APPROVE;
    a->caller = *caller;
    if (!json_only_fields(o, fields, err) || !parse_icrc1_field(o, "spender", &spender, err) ||
        !json_get_u64(o, "amount_e8s", true, &a->amount, NULL, err) ||
        !json_get_u64(o, "expected_allowance_e8s", false, &a->expected_allowance,
                      &a->has_expected_allowance, err) ||
        !json_get_u64(o, "expires_at", false, &a->expires_at, &a->has_expires_at, err) ||
        !json_get_u64(o, "fee_e8s", false, &a->fee, &a->has_fee, err) ||
        !json_get_hex(o, "from_subaccount", false, SUBACCOUNT_BYTES, true, a->from_subaccount, NULL,
                      NULL, err) ||
        !parse_icrc_common(o, &a->has_icrc1_memo, &a->icrc1_memo_len, a->icrc1_memo,
                           &a->has_created_at_time, &a->created_at_time, err))
        return false;
    a->spender_owner = spender.owner;
    account_id_of_icrc1(&spender, &a->spender);
    add_fact(op, caller, a->from_subaccount);
    add_fact(op, &spender.owner, spender.subaccount);
    return true;
}

static bool parse_transfer_from_body(json_t *o, const principal_t *caller, write_op_t *op,
                                     nns_error_t *err)
{
    static const char *const fields[] = {
        "from",    "to",         "amount_e8s",      "spender_subaccount",
        "fee_e8s", "icrc1_memo", "created_at_time", NULL};
    transfer_from_args_t *a = &op->u.transfer_from;
    icrc1_account_t from, to;
    op->kind = OP_CMD_TRANSFER_FROM;
    a->caller = *caller;
    if (!json_only_fields(o, fields, err) || !parse_icrc1_field(o, "from", &from, err) ||
        !parse_icrc1_field(o, "to", &to, err) ||
        !json_get_u64(o, "amount_e8s", true, &a->amount, NULL, err) ||
        !json_get_hex(o, "spender_subaccount", false, SUBACCOUNT_BYTES, true, a->spender_subaccount,
                      NULL, NULL, err) ||
        !json_get_u64(o, "fee_e8s", false, &a->fee, &a->has_fee, err) ||
        !parse_icrc_common(o, &a->has_icrc1_memo, &a->icrc1_memo_len, a->icrc1_memo,
                           &a->has_created_at_time, &a->created_at_time, err))
        return false;
    account_id_of_icrc1(&from, &a->from);
    account_id_of_icrc1(&to, &a->to);
    add_fact(op, &from.owner, from.subaccount);
    add_fact(op, &to.owner, to.subaccount);
    add_fact(op, caller, a->spender_subaccount);
    return true;
}

typedef bool (*write_parser_fn)(json_t *o, const principal_t *caller, write_op_t *op,
                                nns_error_t *err);

static bool parse_write(const uint8_t *body, size_t len, write_parser_fn parse,
                        const principal_t *caller, write_op_t *op, nns_error_t *err)
{
    json_t *o = json_parse_object(body, len, err);
    if (!o)
        return false;
    bool ok = parse(o, caller, op, err);
    json_decref(o);
    return ok;
}

/* A command with room for n ops (1 for a single write, a batch's items), or NULL when out of
 * memory. */
static ledger_cmd_t *cmd_new(size_t n)
{
    ledger_cmd_t *cmd = calloc(1, sizeof *cmd + n * sizeof(write_op_t));
    if (cmd)
        cmd->nops = n;
    return cmd;
}

/* A signed single write: parse, then hand it to the round. The HTTP layer owns its replay
 * entry; the round answers with http_respond_committed(). */
static void submit_single(http_request_t *req, ledger_service_t *svc, write_parser_fn parse)
{
    nns_error_t err;
    ledger_cmd_t *cmd = cmd_new(1);
    if (!cmd) {
        nns_error_set(&err, 503, "Unavailable", "out of memory");
        http_respond_error(req, &err);
        return;
    }
    size_t len;
    const uint8_t *body = http_body(req, &len);
    if (!parse_write(body, len, parse, http_caller(req), &cmd->ops[0], &err)) {
        free(cmd);
        http_respond_error(req, &err);
        return;
    }
    const sign_verified_t *sig = http_signature(req);
    memcpy(cmd->ops[0].key, sig->replay_key, 32);
    cmd->ops[0].expiry_nanos = sig->expiry_nanos;
    cmd->req = req;
    http_defer(req);
    if (!round_submit(svc->loop, &cmd->item)) {
        free_cmd(cmd);
        nns_error_set(&err, 503, "Unavailable", "the ledger is stopping; retry the same request");
        http_respond_error(req, &err);
    }
}

static void post_transfer(http_request_t *req, void *app)
{
    submit_single(req, app, parse_transfer_body);
}

static void post_approval(http_request_t *req, void *app)
{
    submit_single(req, app, parse_approve_body);
}

static void post_transfer_from(http_request_t *req, void *app)
{
    submit_single(req, app, parse_transfer_from_body);
}

static void answer_batch(ledger_cmd_t *cmd);

static void free_cmd(ledger_cmd_t *c)
{
    for (size_t i = 0; i < c->nops; i++)
        free(c->ops[i].body);
    free(c);
}

static void set_op_error(write_op_t *op, const nns_error_t *err)
{
    op->skip = true;
    op->status = err->status;
    op->body = http_problem_text(err, &op->len);
}

/* Verifies and parses one batch item given its four strings: the body was signed exactly as a
 * POST /v1/transfers. parsed is the body already parsed (the fast path), or NULL to parse it
 * after the signature check. Thread-safe: the items of a batch are checked in parallel. */
static void check_batch_item(ledger_service_t *svc, const batch_item_t *it, json_t *parsed,
                             write_op_t *op)
{
    nns_error_t err;
    sign_headers_t h = {it->public_key_der_hex, it->expiry_nanos, it->signature_hex};
    sign_verified_t v;
    if (!sign_verify(&h, "POST", "/v1/transfers", strlen("/v1/transfers"),
                     (const uint8_t *)it->body, it->body_len, clock_wall_nanos(), &v, &err)) {
        set_op_error(op, &err);
        return;
    }
    principal_t caller;
    auth_caller(svc->auth, v.der, &caller);
    bool ok = parsed ? parse_transfer_body(parsed, &caller, op, &err)
                     : parse_write((const uint8_t *)it->body, it->body_len, parse_transfer_body,
                                   &caller, op, &err);
    if (!ok) {
        set_op_error(op, &err);
        return;
    }
    memcpy(op->key, v.replay_key, 32);
    op->expiry_nanos = v.expiry_nanos;
}

/* The general path's item: a member of the batch's array as jansson read it. */
static void parse_batch_item(ledger_service_t *svc, json_t *item, write_op_t *op)
{
    static const char *const fields[] = {"public_key_der_hex", "expiry_nanos", "signature_hex",
                                         "body", NULL};
    nns_error_t err;
    batch_item_t it;
    if (!json_is_object(item)) {
        nns_error_set(&err, 400, "BadRequest", "a batch item must be an object");
        set_op_error(op, &err);
        return;
    }
    if (!json_only_fields(item, fields, &err) ||
        !json_get_str(item, "public_key_der_hex", true, &it.public_key_der_hex, NULL, &err) ||
        !json_get_str(item, "expiry_nanos", true, &it.expiry_nanos, NULL, &err) ||
        !json_get_str(item, "signature_hex", true, &it.signature_hex, NULL, &err) ||
        !json_get_str(item, "body", true, &it.body, NULL, &err)) {
        set_op_error(op, &err);
        return;
    }
    it.body_len = json_string_length(json_object_get(item, "body"));
    check_batch_item(svc, &it, NULL, op);
}

/* Enters a checked batch item in the replay cache: items in order, so that of two identical
 * items the later one is the duplicate. */
static void begin_batch_item(ledger_service_t *svc, write_op_t *op)
{
    nns_error_t err;
    if (op->skip)
        return;
    int status = 0;
    char *stored = NULL;
    size_t len = 0;
    switch (replay_begin(http_server_replay(svc->http), op->key, op->expiry_nanos, NULL, &status,
                         &stored, &len)) {
    case REPLAY_COMMITTED:
        op->skip = true;
        op->status = status;
        op->body = stored;
        op->len = len;
        break;
    case REPLAY_WAITING:
        nns_error_set(&err, 409, "Processing", "an identical transfer is being processed");
        set_op_error(op, &err);
        break;
    case REPLAY_ERROR:
        nns_error_set(&err, 503, "Unavailable", "out of memory; retry the same transfer");
        set_op_error(op, &err);
        break;
    case REPLAY_NEW:
        op->replay_item = true;
        break;
    }
}

#define BATCH_MAX 100

typedef struct {
    ledger_service_t *svc;
    ledger_cmd_t *cmd;
    json_t *items;      /* the general path: the array as jansson read it */
    const batch_t *fast; /* the fast path: the items' strings as batch_read() found them */
    json_t **bodies;     /* the fast path: each item's body, parsed */
    atomic_bool body_failed;
} batch_check_t;

static void batch_check_item(void *ctx, size_t i)
{
    batch_check_t *b = ctx;
    if (b->fast)
        check_batch_item(b->svc, &b->fast->items[i], b->bodies[i], &b->cmd->ops[i]);
    else
        parse_batch_item(b->svc, json_array_get(b->items, i), &b->cmd->ops[i]);
}

/* The fast path's first pass: every body must be a JSON object before any signature is checked.
 * One that is not (malformed, another value, or bytes yajl let through in the batch that jansson
 * refuses) sends the whole batch to the general path, which answers it exactly as it always
 * does. */
static void batch_parse_body(void *ctx, size_t i)
{
    batch_check_t *b = ctx;
    const batch_item_t *it = &b->fast->items[i];
    nns_error_t err;
    b->bodies[i] = json_parse_object((const uint8_t *)it->body, it->body_len, &err);
    if (!b->bodies[i])
        atomic_store(&b->body_failed, true);
}

static void free_bodies(json_t **bodies, size_t n)
{
    for (size_t i = 0; bodies && i < n; i++)
        json_decref(bodies[i]);
    free(bodies);
}

/* Checks the items of a batch on every core: the fast path when batch_read() accepts the body
 * and every item's body parses, the general jansson path otherwise. Returns the command, or
 * NULL with err for a request that is refused whole. */
static ledger_cmd_t *check_batch(ledger_service_t *svc, const uint8_t *body, size_t len,
                                 nns_error_t *err)
{
    batch_check_t check = {.svc = svc};
    batch_t fast;
    if (batch_read(body, len, BATCH_MAX, &fast)) {
        check.fast = &fast;
        check.bodies = calloc(fast.n, sizeof *check.bodies);
        if (check.bodies) {
            workpool_run(svc->verify, fast.n, batch_parse_body, &check);
            if (!atomic_load(&check.body_failed) && (check.cmd = cmd_new(fast.n)))
                workpool_run(svc->verify, fast.n, batch_check_item, &check);
        }
        free_bodies(check.bodies, fast.n);
        batch_free(&fast);
        if (check.cmd)
            return check.cmd;
        check.fast = NULL;
    }

    static const char *const fields[] = {"transfers", NULL};
    json_t *o = json_parse_object(body, len, err);
    if (!o || !json_only_fields(o, fields, err)) {
        json_decref(o);
        return NULL;
    }
    json_t *items = json_object_get(o, "transfers");
    size_t n = json_array_size(items);
    if (!json_is_array(items) || n == 0 || n > BATCH_MAX) {
        json_decref(o);
        nns_error_set(err, 400, "BadRequest",
                      "field 'transfers' must be an array of 1 to %d signed transfers", BATCH_MAX);
        return NULL;
    }
    if (!(check.cmd = cmd_new(n))) {
        json_decref(o);
        nns_error_set(err, 503, "Unavailable", "out of memory");
        return NULL;
    }
    check.items = items;
    workpool_run(svc->verify, n, batch_check_item, &check);
    json_decref(o);
    return check.cmd;
}

/* A batch from its check to the round, on a pool thread (run_batch) or, when the pool cannot
 * take it, on the HTTP thread. The request is deferred: it is answered from here or by the
 * round. */
static void check_and_submit_batch(ledger_service_t *svc, http_request_t *req)
{
    nns_error_t err;
    size_t len;
    const uint8_t *body = http_body(req, &len);
    ledger_cmd_t *cmd = check_batch(svc, body, len, &err);
    if (!cmd) {
        http_respond_error(req, &err);
        return;
    }
    cmd->batch = true;
    cmd->req = req;
    size_t n = cmd->nops, runnable = 0;
    for (size_t i = 0; i < n; i++) {
        begin_batch_item(svc, &cmd->ops[i]);
        runnable += !cmd->ops[i].skip;
    }
    if (runnable == 0) { /* nothing for a round: answer at once */
        answer_batch(cmd);
        free_cmd(cmd);
        return;
    }
    cmd->item.weight = runnable;
    if (!round_submit(svc->loop, &cmd->item)) {
        for (size_t i = 0; i < n; i++)
            if (cmd->ops[i].replay_item)
                replay_abandon(http_server_replay(svc->http), cmd->ops[i].key, 503, "", 0);
        free_cmd(cmd);
        nns_error_set(&err, 503, "Unavailable", "the ledger is stopping; retry the same request");
        http_respond_error(req, &err);
    }
}

typedef struct {
    ledger_service_t *svc;
    http_request_t *req;
} batch_job_t;

static void run_batch(void *ctx, size_t i)
{
    (void)i;
    batch_job_t *job = ctx;
    check_and_submit_batch(job->svc, job->req);
    round_expect(job->svc->loop, -1);
    free(job);
}

/* POST /v1/transfer-batches: the HTTP thread hands the whole batch to the work pool and goes on
 * serving its other connections. Blocking it for the batch's checks (about 5 ms of CPU) left
 * the connections it holds waiting, and, when connections were shared unevenly between the
 * HTTP threads, cores idle. */
static void post_transfer_batch(http_request_t *req, void *app)
{
    ledger_service_t *svc = app;
    batch_job_t *job = malloc(sizeof *job);
    if (!job) {
        nns_error_t err;
        nns_error_set(&err, 503, "Unavailable", "out of memory");
        http_respond_error(req, &err);
        return;
    }
    *job = (batch_job_t){svc, req};
    http_defer(req);
    round_expect(svc->loop, 1); /* the next round may wait for it (round.h: gather_ms) */
    workpool_submit(svc->verify, run_batch, job);
}

/* Adds the owner facts of an applied op unless the store already has them or the round
 * already adds them (seen: the round's accounts, room reserved for every fact). */
static void add_owners(ledger_service_t *svc, hmap_t *seen, owner_fact_t *owners, size_t *n,
                       const write_op_t *op)
{
    for (int k = 0; k < op->nfacts; k++) {
        const owner_fact_t *f = &op->facts[k];
        bool created = false;
        if (hmap_get(&svc->known_owners, f->account.hash) ||
            !hmap_put(seen, f->account.hash, &created) || !created)
            continue;
        owners[(*n)++] = *f;
    }
}

/* Outcomes that say "retry later" are not remembered: a resend of the same bytes runs again. */
static bool transient(int status)
{
    return status == 429 || status >= 500;
}

static bool apply_op(ledger_service_t *svc, ledger_round_t *r, write_op_t *op, uint64_t now,
                     uint64_t *height, nns_error_t *err)
{
    switch (op->kind) {
    case OP_CMD_TRANSFER:
        return ledger_apply_transfer(svc->ledger, r, &op->u.transfer, now, height, err);
    case OP_CMD_APPROVE:
        return ledger_apply_approve(svc->ledger, r, &op->u.approve, now, height, err);
    case OP_CMD_TRANSFER_FROM:
        return ledger_apply_transfer_from(svc->ledger, r, &op->u.transfer_from, now, height, err);
    }
    return nns_error_set(err, 400, "BadRequest", "unknown command");
}

/* The batch answer: {"results": [{"status", "block_index"} or a problem body]}. Every body is
 * a JSON object this service rendered (or stored in the replay cache): a problem carries its
 * "status" already, a success gets it spliced in as its first member, so 100 bodies are not
 * parsed and re-rendered on the state thread. */
static void answer_batch(ledger_cmd_t *cmd)
{
    size_t cap = 32;
    for (size_t i = 0; i < cmd->nops; i++)
        cap += cmd->ops[i].len + 24;
    char *out = malloc(cap), *p = out;
    if (!out) {
        nns_error_t err;
        nns_error_set(&err, 503, "Unavailable", "out of memory rendering the response");
        http_respond_error(cmd->req, &err);
        return;
    }
    p += sprintf(p, "{\"results\":[");
    for (size_t i = 0; i < cmd->nops; i++) {
        const write_op_t *op = &cmd->ops[i];
        bool object = op->body && op->len >= 2 && op->body[0] == '{';
        if (i)
            *p++ = ',';
        if (object && op->status >= 400) {
            memcpy(p, op->body, op->len);
            p += op->len;
        } else if (object && op->body[1] != '}') {
            p += sprintf(p, "{\"status\":%d,", op->status);
            memcpy(p, op->body + 1, op->len - 1);
            p += op->len - 1;
        } else {
            p += sprintf(p, "{\"status\":%d}", op->status);
        }
    }
    p += sprintf(p, "]}");
    http_respond_raw(cmd->req, 200, "application/json", out, (size_t)(p - out));
    free(out);
}

static void run_round(void *app, round_item_t *items, size_t n)
{
    ledger_service_t *svc = app;
    replay_cache_t *cache = http_server_replay(svc->http);
    size_t nops = 0, nowners = 0, nreplays = 0;
    for (round_item_t *it = items; it; it = it->next)
        nops += ((ledger_cmd_t *)(void *)it)->nops;
    replay_rec_t *replays = calloc(nops, sizeof *replays);
    owner_fact_t *owners = malloc(3 * nops * sizeof *owners);
    ledger_round_t *r = ledger_round_begin(svc->ledger);
    hmap_t seen;
    nns_error_t err;
    bool have_seen = hmap_init(&seen, ACCOUNT_HASH_BYTES, 6 * nops);
    bool ok = replays && owners && r && have_seen;
    uint64_t now = clock_now_nanos();
    for (round_item_t *it = items; it && ok; it = it->next) {
        ledger_cmd_t *c = (ledger_cmd_t *)(void *)it;
        for (size_t i = 0; i < c->nops; i++) {
            write_op_t *op = &c->ops[i];
            if (op->skip)
                continue;
            uint64_t height;
            if (apply_op(svc, r, op, now, &height, &err)) {
                char buf[64];
                int m = snprintf(buf, sizeof buf, "{\"block_index\":\"%llu\"}",
                                 (unsigned long long)height);
                op->body = strndup(buf, (size_t)m);
                op->len = (size_t)m;
                op->status = 200;
                add_owners(svc, &seen, owners, &nowners, op);
            } else {
                op->body = http_problem_text(&err, &op->len);
                op->status = err.status;
            }
            if (transient(op->status))
                continue;
            replay_rec_t *rec = &replays[nreplays++];
            memcpy(rec->key, op->key, 32);
            rec->expiry_nanos = op->expiry_nanos;
            rec->status = op->status;
            rec->body = op->body ? op->body : "";
            rec->len = op->body ? op->len : 0;
        }
    }
    bool fatal = false;
    if (ok) {
        uint64_t t0 = clock_wall_nanos();
        ok = ledger_store_commit_round(svc->store, r, owners, nowners, replays, nreplays, &fatal,
                                       &err);
        uint64_t dt = clock_wall_nanos() - t0;
        if (ok) {
            svc->commits++;
            svc->commit_nanos_sum += dt;
            if (dt > svc->commit_nanos_max)
                svc->commit_nanos_max = dt;
        }
    } else {
        nns_error_set(&err, 503, "Unavailable", "out of memory");
    }
    if (ok) {
        ledger_round_commit(svc->ledger, &r);
        for (size_t k = 0; k < nowners; k++)
            if (!hmap_put(&svc->known_owners, owners[k].account.hash, NULL))
                break; /* only an optimisation: the insert is idempotent */
    } else {
        svc->commit_failures++;
        log_error("round of %zu commands not committed: %s", n, err.detail);
    }
    nns_error_t unavailable;
    nns_error_set(&unavailable, 503, "Unavailable",
                  "the ledger could not commit this request; retry the same signed request");
    for (round_item_t *it = items, *next; it; it = next) {
        next = it->next;
        ledger_cmd_t *c = (ledger_cmd_t *)(void *)it;
        if (!c->batch) {
            write_op_t *op = &c->ops[0];
            if (!ok) {
                http_respond_error(c->req, &unavailable);
            } else if (transient(op->status)) {
                http_add_header(c->req, "Retry-After", "1");
                http_respond_raw(c->req, op->status, "application/problem+json",
                                 op->body ? op->body : "", op->body ? op->len : 0);
            } else {
                http_respond_committed(c->req, op->status, op->body ? op->body : "",
                                       op->body ? op->len : 0);
            }
        } else {
            for (size_t i = 0; i < c->nops; i++) {
                write_op_t *op = &c->ops[i];
                if (!op->replay_item)
                    continue;
                if (ok && transient(op->status)) {
                    replay_abandon(cache, op->key, op->status, "", 0);
                } else if (ok) {
                    replay_commit(cache, op->key, op->status, op->body ? op->body : "",
                                  op->body ? op->len : 0);
                } else {
                    replay_abandon(cache, op->key, 503, "", 0);
                    free(op->body);
                    op->status = unavailable.status;
                    op->body = http_problem_text(&unavailable, &op->len);
                }
            }
            if (ok)
                answer_batch(c);
            else
                http_respond_error(c->req, &unavailable);
        }
        free_cmd(c);
    }
    if (r)
        ledger_round_discard(svc->ledger, &r);
    if (have_seen)
        hmap_free(&seen);
    free(owners);
    free(replays);
    if (fatal) {
        log_error("commit outcome unknown: exiting so the restart reloads committed state");
        usleep(200000); /* let the 503 answers go out */
        _exit(75);
    }
}

static void get_allowance(http_request_t *req, void *app)
{
    ledger_service_t *svc = app;
    nns_error_t err;
    account_id_t owner, spender;
    if (!parse_account_param(req, 0, &owner, NULL, NULL, &err) ||
        !parse_account_param(req, 1, &spender, NULL, NULL, &err)) {
        http_respond_error(req, &err);
        return;
    }
    uint64_t allowance, expires_at;
    bool has_expires_at;
    if (svc->read_only) {
        if (!ledger_store_allowance(svc->store, &owner, &spender, clock_now_nanos(), &allowance,
                                    &has_expires_at, &expires_at, &err)) {
            http_respond_error(req, &err);
            return;
        }
    } else {
        ledger_allowance(svc->ledger, &owner, &spender, clock_now_nanos(), &allowance,
                         &has_expires_at, &expires_at);
    }
    json_t *o = json_object();
    json_object_set_new(o, "owner", account_json(&owner));
    json_object_set_new(o, "spender", account_json(&spender));
    json_object_set_new(o, "allowance_e8s", json_u64(allowance));
    json_object_set_new(o, "expires_at", has_expires_at ? json_u64(expires_at) : json_null());
    http_respond_json(req, 200, o);
}

static void tick(void *app)
{
    ledger_service_t *svc = app;
    uint64_t now = clock_wall_nanos();
    if (svc->read_only)
        return; /* a replica's cache is the writer's to purge */
    if (now - svc->last_replay_purge < REPLAY_PURGE_NANOS)
        return;
    svc->last_replay_purge = now;
    nns_error_t err;
    replay_purge(http_server_replay(svc->http), now);
    if (!ledger_store_purge_replay(svc->store, now, &err))
        log_warn("replay cache purge failed: %s", err.detail);
}

/* ---------------------------------------------------------------- wiring */

static const http_route_t ROUTES_TEST_CLOCK[] = {
    {"POST", "/v1/admin/time", post_admin_time, 0},
};

static const http_route_t ROUTES[] = {
    {"GET", "/v1/identity", get_identity, 0},
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
    {"GET", "/healthz", get_healthz, HTTP_ANYTIME},
    {"GET", "/readyz", get_readyz, HTTP_ANYTIME},
    {"GET", "/metrics", get_metrics, HTTP_ANYTIME},
};
#define NROUTES (sizeof ROUTES / sizeof ROUTES[0])
static http_route_t routes_in_use[NROUTES + 2];

bool ledger_genesis_config(const char *path, ledger_config_t *cfg, nns_error_t *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->fee_e8s = LEDGER_DEFAULT_FEE;
    cfg->window_nanos = LEDGER_DEFAULT_WINDOW_NANOS;
    cfg->max_in_window = LEDGER_DEFAULT_MAX_IN_WINDOW;
    snprintf(cfg->token_symbol, sizeof cfg->token_symbol, "ICP");
    snprintf(cfg->token_name, sizeof cfg->token_name, "Internet Computer");
    principal_t gov;
    principal_canister(CANISTER_GOVERNANCE, &gov);
    account_id_of(&gov, NULL, &cfg->minting_account);
    if (!path)
        return true;
    json_error_t jerr;
    json_t *g = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!g || !json_is_object(g)) {
        json_decref(g);
        return nns_error_set(err, 400, "InvalidGenesis", "genesis file '%s': %s", path,
                             g ? "not a JSON object" : jerr.text);
    }
    static const char *const fields[] = {"initial_balances",
                                         "fee_e8s",
                                         "token_symbol",
                                         "token_name",
                                         "transaction_window_seconds",
                                         "max_transactions_in_window",
                                         NULL};
    const char *sym = NULL, *name = NULL;
    bool has_sym = false, has_name = false, has_window = false;
    uint64_t window = 0;
    bool ok = json_only_fields(g, fields, err) &&
              json_get_u64(g, "fee_e8s", false, &cfg->fee_e8s, NULL, err) &&
              json_get_str(g, "token_symbol", false, &sym, &has_sym, err) &&
              json_get_str(g, "token_name", false, &name, &has_name, err) &&
              json_get_u64(g, "transaction_window_seconds", false, &window, &has_window, err) &&
              json_get_u64(g, "max_transactions_in_window", false, &cfg->max_in_window, NULL, err);
    if (ok && has_window) {
        if (window == 0 || window > UINT64_MAX / 1000000000ULL / 4)
            ok = nns_error_set(err, 400, "InvalidGenesis",
                               "transaction_window_seconds out of range");
        cfg->window_nanos = window * 1000000000ULL;
    }
    if (ok && has_sym)
        snprintf(cfg->token_symbol, sizeof cfg->token_symbol, "%s", sym);
    if (ok && has_name)
        snprintf(cfg->token_name, sizeof cfg->token_name, "%s", name);
    if (!ok && err->status != 0 && strcmp(err->code, "InvalidGenesis") != 0) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", err->detail);
        nns_error_set(err, 400, "InvalidGenesis", "genesis file '%s': %s", path, detail);
    }
    json_decref(g);
    return ok;
}

/* Mints the genesis balances when the chain is empty: one Mint block per entry, one round. */
static bool apply_genesis(ledger_service_t *svc, const char *path, nns_error_t *err)
{
    ledger_info_t info;
    ledger_info(svc->ledger, &info);
    if (!path || info.chain_length > 0)
        return true;
    json_t *g = json_load_file(path, 0, NULL);
    json_t *balances = g ? json_object_get(g, "initial_balances") : NULL;
    ledger_round_t *r = ledger_round_begin(svc->ledger);
    owner_fact_t *owners = NULL;
    size_t nowners = 0, idx;
    json_t *entry;
    bool ok = r != NULL;
    if (!ok)
        nns_error_set(err, 503, "Unavailable", "out of memory");
    if (ok && balances && !json_is_array(balances))
        ok = nns_error_set(err, 400, "InvalidGenesis", "'initial_balances' must be an array");
    if (ok && balances)
        owners = calloc(json_array_size(balances) + 1, sizeof *owners);
    uint64_t now = clock_now_nanos();
    json_array_foreach(balances, idx, entry)
    {
        if (!ok)
            break;
        static const char *const fields[] = {"account", "amount_e8s", NULL};
        const char *text;
        account_id_t id;
        icrc1_account_t icrc1;
        bool has_icrc1 = false;
        uint64_t amount, height;
        if (!json_is_object(entry) || !json_only_fields(entry, fields, err) ||
            !json_get_str(entry, "account", true, &text, NULL, err) ||
            !account_parse_any(text, &id, &icrc1, &has_icrc1, err) ||
            !json_get_u64(entry, "amount_e8s", true, &amount, NULL, err) ||
            !ledger_apply_mint(svc->ledger, r, &id, amount, now, &height, err)) {
            char detail[256];
            snprintf(detail, sizeof detail, "%s", err->detail);
            ok = nns_error_set(err, 400, "InvalidGenesis", "initial_balances[%zu]: %s", idx,
                               json_is_object(entry) ? detail : "not an object");
            break;
        }
        if (has_icrc1 && owners) {
            owners[nowners].account = id;
            owners[nowners].owner = icrc1.owner;
            memcpy(owners[nowners].subaccount, icrc1.subaccount, SUBACCOUNT_BYTES);
            nowners++;
        }
    }
    bool fatal = false;
    if (ok && !ledger_store_commit_round(svc->store, r, owners, nowners, NULL, 0, &fatal, err))
        ok = false;
    if (ok) {
        size_t nb;
        ledger_round_blocks(r, &nb);
        ledger_round_commit(svc->ledger, &r);
        log_info("genesis: minted %zu initial balances", nb);
    }
    ledger_round_discard(svc->ledger, &r);
    free(owners);
    json_decref(g);
    return ok;
}

ledger_service_t *ledger_service_new(const ledger_service_config_t *cfg, nns_error_t *err)
{
    ledger_service_t *svc = calloc(1, sizeof *svc);
    ledger_config_t lcfg;
    if (!svc) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        return NULL;
    }
    principal_canister(CANISTER_LEDGER, &svc->principal);
    if (!ledger_genesis_config(cfg->genesis_path, &lcfg, err))
        goto fail;
    if (cfg->keys_dir) {
        if (!identity_load_or_create(cfg->keys_dir, "ledger", &svc->key, err))
            goto fail;
    } else {
        identity_generate(&svc->key);
    }
    unsigned threads = cfg->http_threads;
    if (!threads) {
        long nproc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = nproc > 0 ? (unsigned)nproc : 1;
    }
    if (!(svc->ledger = ledger_new(&lcfg)) ||
        !hmap_init(&svc->known_owners, ACCOUNT_HASH_BYTES, 1024) ||
        !(svc->verify = workpool_new(threads)) ||
        !(svc->auth = auth_new(cfg->keys_dir))) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        goto fail;
    }
    svc->read_only = cfg->read_only;
    if (!(svc->store = ledger_store_open(cfg->database, threads + 1, cfg->read_only, err)))
        goto fail;
    size_t nr = 0;
    for (size_t i = 0; i < NROUTES; i++)
        routes_in_use[nr++] = ROUTES[i];
    if (clock_is_test())
        routes_in_use[nr++] = ROUTES_TEST_CLOCK[0];
    routes_in_use[nr] = (http_route_t){0};
    http_config_t hc = {.listen = cfg->listen,
                        .threads = threads,
                        .read_only = cfg->read_only,
                        .auth = svc->auth,
                        .service = "ledger"};
    if (!(svc->http = http_server_new(&hc, routes_in_use, svc, err)))
        goto fail;
    uint64_t now = clock_now_nanos();
    uint64_t horizon = lcfg.window_nanos + LEDGER_PERMITTED_DRIFT_NANOS;
    if (!cfg->read_only &&
        !ledger_store_load(svc->store, svc->ledger, http_server_replay(svc->http),
                           now > horizon ? now - horizon : 0, clock_wall_nanos(), err))
        goto fail;
    if (!cfg->read_only && !apply_genesis(svc, cfg->genesis_path, err))
        goto fail;
    ledger_info_t tip;
    ledger_info(svc->ledger, &tip);
    if (clock_is_test() && tip.tip_timestamp > clock_now_nanos() && !clock_set(tip.tip_timestamp))
        log_warn("test clock could not catch up with the last block");
    round_config_t rc = {.run = run_round,
                         .tick = tick,
                         .tick_ms = TICK_MS,
                         .max_batch = cfg->max_round,
                         .gather_ms = cfg->round_gather_ms};
    if (!(svc->loop = round_loop_new(&rc, svc))) {
        nns_error_set(err, 503, "Unavailable", "cannot start the state thread");
        goto fail;
    }
    ledger_info_t info;
    ledger_info(svc->ledger, &info);
    log_info("ledger ready: %llu blocks, %llu accounts, %llu remembered transactions",
             (unsigned long long)info.chain_length, (unsigned long long)info.accounts,
             (unsigned long long)info.remembered_transactions);
    svc->ready = true;
    http_server_set_ready(svc->http, true);
    return svc;
fail:
    ledger_service_destroy(&svc);
    return NULL;
}

void ledger_service_destroy(ledger_service_t **sp)
{
    ledger_service_t *svc = *sp;
    if (!svc)
        return;
    /* stop taking connections and commands, answer every round still queued, then close the
     * connections: no request is left suspended when the HTTP server stops */
    if (svc->http) {
        http_server_set_ready(svc->http, false);
        http_server_quiesce(svc->http);
    }
    workpool_drain(svc->verify); /* batches being checked reach the round loop, or are answered */
    round_loop_stop(svc->loop);
    http_server_destroy(&svc->http);
    round_loop_destroy(&svc->loop);
    ledger_store_close(&svc->store);
    ledger_destroy(&svc->ledger);
    auth_destroy(&svc->auth);
    workpool_destroy(&svc->verify);
    hmap_free(&svc->known_owners);
    free(svc);
    *sp = NULL;
}
