#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"
#include "icrc3.h"
#include "jsonutil.h"

json_t *render_account(const account_id_t *id)
{
    char hexs[ACCOUNT_HEX_LEN + 1];
    account_id_to_hex(id, hexs);
    return json_string(hexs);
}

json_t *render_block(uint64_t height, const uint8_t hash[32], const uint8_t tx_hash[32],
                     const block_t *b)
{
    const operation_t *op = &b->tx.op;
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(op_kind_name(op->kind)));
    if (op->kind != OP_MINT)
        json_object_set_new(o, "from", render_account(&op->from));
    if (op->kind == OP_MINT || op->kind == OP_TRANSFER)
        json_object_set_new(o, "to", render_account(&op->to));
    if (op->kind == OP_APPROVE || op->has_spender)
        json_object_set_new(o, "spender", render_account(&op->spender));
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

/* Decodes a stored block; err 500 "CorruptState" naming it when it does not decode. */
static bool decode_stored(const stored_block_t *sb, block_t *b, nns_error_t *err)
{
    if (block_decode(sb->raw, sb->raw_len, b, err))
        return true;
    return nns_error_set(err, 500, "CorruptState", "stored block %llu does not decode",
                         (unsigned long long)sb->height);
}

json_t *render_blocks(const stored_block_t *blocks, size_t n, nns_error_t *err)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        block_t b;
        if (!decode_stored(&blocks[i], &b, err)) {
            json_decref(arr);
            return NULL;
        }
        json_array_append_new(
            arr, render_block(blocks[i].height, blocks[i].hash, blocks[i].tx_hash, &b));
    }
    return arr;
}

/* ---- JSON text written directly: the same bytes as json_dumps(JSON_COMPACT) of the trees
 * above (keys in insertion order, no spaces), without building a tree: a history page of 20
 * blocks is about 900 jansson values, allocated, dumped and freed again. The strings written
 * are decimal digits, lower-case hex and operation names only: nothing to escape. */

typedef struct {
    char *p;
    size_t len, cap;
} text_t;

/* Appends len bytes; false (the text unchanged) when they do not fit. */
static bool put(text_t *t, const char *s, size_t len)
{
    if (len >= t->cap - t->len)
        return false;
    memcpy(t->p + t->len, s, len);
    t->len += len;
    t->p[t->len] = '\0';
    return true;
}

#define PUT_LIT(t, lit) put((t), (lit), sizeof(lit) - 1)

/* "v" as a JSON string of decimal digits (json_u64). */
static bool put_u64(text_t *t, uint64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "\"%llu\"", (unsigned long long)v);
    return n > 0 && put(t, buf, (size_t)n);
}

/* bytes as a JSON string of lower-case hex (json_hex; len <= 32). */
static bool put_hex(text_t *t, const uint8_t *bytes, size_t len)
{
    char buf[2 * 32 + 3];
    if (len > 32)
        return false;
    buf[0] = '"';
    hex_encode(bytes, len, buf + 1);
    buf[2 * len + 1] = '"';
    return put(t, buf, 2 * len + 2);
}

static bool put_account(text_t *t, const account_id_t *id)
{
    char buf[ACCOUNT_HEX_LEN + 3];
    buf[0] = '"';
    account_id_to_hex(id, buf + 1);
    buf[ACCOUNT_HEX_LEN + 1] = '"';
    return put(t, buf, ACCOUNT_HEX_LEN + 2);
}

/* The block object of render_block, as text. */
static bool put_block(text_t *t, uint64_t height, const uint8_t hash[32], const uint8_t tx_hash[32],
                      const block_t *b)
{
    const operation_t *op = &b->tx.op;
    bool ok = PUT_LIT(t, "{\"height\":") && put_u64(t, height) && PUT_LIT(t, ",\"hash\":") &&
              put_hex(t, hash, 32) && PUT_LIT(t, ",\"parent_hash\":") &&
              (b->has_parent ? put_hex(t, b->parent_hash, 32) : PUT_LIT(t, "null")) &&
              PUT_LIT(t, ",\"timestamp\":") && put_u64(t, b->timestamp) &&
              PUT_LIT(t, ",\"transaction\":{\"operation\":{\"type\":\"");
    const char *kind = op_kind_name(op->kind);
    ok = ok && put(t, kind, strlen(kind)) && PUT_LIT(t, "\"");
    if (op->kind != OP_MINT)
        ok = ok && PUT_LIT(t, ",\"from\":") && put_account(t, &op->from);
    if (op->kind == OP_MINT || op->kind == OP_TRANSFER)
        ok = ok && PUT_LIT(t, ",\"to\":") && put_account(t, &op->to);
    if (op->kind == OP_APPROVE || op->has_spender)
        ok = ok && PUT_LIT(t, ",\"spender\":") && put_account(t, &op->spender);
    if (op->kind != OP_APPROVE)
        ok = ok && PUT_LIT(t, ",\"amount_e8s\":") && put_u64(t, op->amount);
    if (op->kind == OP_TRANSFER || op->kind == OP_APPROVE)
        ok = ok && PUT_LIT(t, ",\"fee_e8s\":") && put_u64(t, op->fee);
    if (op->kind == OP_APPROVE) {
        ok = ok && PUT_LIT(t, ",\"allowance_e8s\":") && put_u64(t, op->allowance);
        if (op->has_expected_allowance)
            ok = ok && PUT_LIT(t, ",\"expected_allowance_e8s\":") &&
                 put_u64(t, op->expected_allowance);
        if (op->has_expires_at)
            ok = ok && PUT_LIT(t, ",\"expires_at\":") && put_u64(t, op->expires_at);
    }
    ok = ok && PUT_LIT(t, "},\"memo\":") && put_u64(t, b->tx.memo);
    if (b->tx.has_icrc1_memo)
        ok = ok && PUT_LIT(t, ",\"icrc1_memo\":") &&
             put_hex(t, b->tx.icrc1_memo, b->tx.icrc1_memo_len);
    if (b->tx.has_created_at_time)
        ok = ok && PUT_LIT(t, ",\"created_at_time\":") && put_u64(t, b->tx.created_at_time);
    return ok && PUT_LIT(t, "},\"tx_hash\":") && put_hex(t, tx_hash, 32) && PUT_LIT(t, "}");
}

/* A block object is at most about 1,000 bytes (three accounts and three hashes of 64 hex
 * digits, a 32-byte memo, eight u64s, the keys); the envelope about 250. */
#define PAGE_BLOCK_MAX 1536
#define PAGE_ENVELOPE_MAX 512

bool render_history_page(const account_id_t *acc, uint64_t balance, const stored_block_t *blocks,
                         size_t n, const uint64_t *next_cursor, const uint64_t *oldest, char **out,
                         size_t *len, nns_error_t *err)
{
    text_t t = {.cap = PAGE_ENVELOPE_MAX + n * PAGE_BLOCK_MAX};
    if (!(t.p = malloc(t.cap)))
        return nns_error_set(err, 503, "Unavailable", "out of memory rendering the response");
    bool ok = PUT_LIT(&t, "{\"account_identifier\":") && put_account(&t, acc) &&
              PUT_LIT(&t, ",\"balance_e8s\":") && put_u64(&t, balance) &&
              PUT_LIT(&t, ",\"items\":[");
    for (size_t i = 0; i < n && ok; i++) {
        block_t b;
        if (!decode_stored(&blocks[i], &b, err)) {
            free(t.p);
            return false;
        }
        ok = (i == 0 || PUT_LIT(&t, ",")) &&
             put_block(&t, blocks[i].height, blocks[i].hash, blocks[i].tx_hash, &b);
    }
    ok = ok && PUT_LIT(&t, "],\"next_cursor\":") &&
         (next_cursor ? put_u64(&t, *next_cursor) : PUT_LIT(&t, "null")) &&
         PUT_LIT(&t, ",\"oldest_tx_id\":") &&
         (oldest ? put_u64(&t, *oldest) : PUT_LIT(&t, "null")) && PUT_LIT(&t, "}");
    if (!ok) { /* cannot happen: the sizes above bound every block */
        free(t.p);
        return nns_error_set(err, 500, "Internal", "history page longer than its bound");
    }
    *out = t.p;
    *len = t.len;
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

#define CSV_ROW_MAX 768 /* a row is at most about 520 bytes */

bool render_history_csv(const account_id_t *acc, const stored_block_t *blocks, size_t n, char **out,
                        size_t *len_out, nns_error_t *err)
{
    size_t cap = 256 + n * CSV_ROW_MAX, len = 0;
    char *csv = malloc(cap);
    if (!csv)
        return nns_error_set(err, 503, "Unavailable", "out of memory");
    len += (size_t)snprintf(csv + len, cap - len,
                            "height,timestamp_utc,timestamp_nanos,type,from,to,spender,"
                            "amount_e8s,fee_e8s,balance_change_e8s,memo,icrc1_memo,tx_hash\r\n");
    for (size_t i = 0; i < n; i++) {
        block_t b;
        if (!decode_stored(&blocks[i], &b, err)) {
            free(csv);
            return false;
        }
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
        int m = snprintf(csv + len, cap - len, "%llu,%s,%llu,%s,%s,%s,%s,%s,%s,%s,%llu,%s,%s\r\n",
                         (unsigned long long)blocks[i].height, when,
                         (unsigned long long)b.timestamp, op_kind_name(op->kind), from, to, spender,
                         amount, fee, delta, (unsigned long long)b.tx.memo, memo, txh);
        if (m < 0 || (size_t)m >= cap - len) { /* cannot happen: rows are bounded above */
            free(csv);
            return nns_error_set(err, 500, "Internal", "CSV row of block %llu too long",
                                 (unsigned long long)blocks[i].height);
        }
        len += (size_t)m;
    }
    *out = csv;
    *len_out = len;
    return true;
}

/* ---- ICRC-3: each value is built twice, as an icrc3 tree (for its hash) and as JSON
 * ({"Nat": "5"}, {"Blob": "hex"}, {"Text": "xfer"}, {"Map": {...}}), side by side. */

typedef struct {
    icrc3_value_t *v;
    json_t *j;
} pair_t;

static pair_t nat(uint64_t n)
{
    return (pair_t){icrc3_nat_new(n), json_pack("{s:o}", "Nat", json_u64(n))};
}

static pair_t blob(const uint8_t *b, size_t len)
{
    return (pair_t){icrc3_blob_new(b, len), json_pack("{s:o}", "Blob", json_hex(b, len))};
}

static pair_t text(const char *s)
{
    return (pair_t){icrc3_text_new(s), json_pack("{s:s}", "Text", s)};
}

static pair_t map_new(void)
{
    json_t *entries = json_object();
    return (pair_t){icrc3_map_new(), json_pack("{s:o}", "Map", entries)};
}

/* Sets map[key] = value, taking value in every case; false when out of memory (map stays
 * valid, value is freed). */
static bool map_set(pair_t *map, const char *key, pair_t value)
{
    json_t *entries = json_object_get(map->j, "Map");
    bool ok = value.j && entries && json_object_set_new(entries, key, value.j) == 0;
    if (!ok && value.j && !entries)
        json_decref(value.j);
    return icrc3_map_set(map->v, key, value.v) && ok;
}

static void pair_free(pair_t *p)
{
    icrc3_value_destroy(&p->v);
    json_decref(p->j);
    p->j = NULL;
}

/* An ICP account as the ICP ledger names it: the 32-byte account identifier (CRC32 || hash). */
static pair_t account(const account_id_t *id)
{
    uint8_t addr[32];
    account_id_to_address(id, addr);
    return blob(addr, sizeof addr);
}

json_t *render_block_icrc3(const stored_block_t *sb, nns_error_t *err)
{
    block_t b;
    if (!decode_stored(sb, &b, err))
        return NULL;
    const operation_t *op = &b.tx.op;
    static const char *const OPS[] = {
        [OP_BURN] = "burn", [OP_MINT] = "mint", [OP_TRANSFER] = "xfer", [OP_APPROVE] = "approve"};
    pair_t blk = map_new(), tx = map_new();
    bool ok = blk.v && blk.j && tx.v && tx.j;
    ok = ok && map_set(&tx, "op", text(OPS[op->kind]));
    if (op->kind != OP_MINT)
        ok = ok && map_set(&tx, "from", account(&op->from));
    if (op->kind == OP_MINT || op->kind == OP_TRANSFER)
        ok = ok && map_set(&tx, "to", account(&op->to));
    if (op->kind == OP_APPROVE || op->has_spender)
        ok = ok && map_set(&tx, "spender", account(&op->spender));
    if (op->kind == OP_APPROVE) {
        ok = ok && map_set(&tx, "amt", nat(op->allowance));
        if (op->has_expected_allowance)
            ok = ok && map_set(&tx, "expected_allowance", nat(op->expected_allowance));
        if (op->has_expires_at)
            ok = ok && map_set(&tx, "expires_at", nat(op->expires_at));
    } else {
        ok = ok && map_set(&tx, "amt", nat(op->amount));
    }
    if (op->kind == OP_TRANSFER || op->kind == OP_APPROVE)
        ok = ok && map_set(&tx, "fee", nat(op->fee));
    if (b.tx.has_icrc1_memo)
        ok = ok && map_set(&tx, "memo", blob(b.tx.icrc1_memo, b.tx.icrc1_memo_len));
    else if (b.tx.memo)
        ok = ok && map_set(&tx, "memo", nat(b.tx.memo));
    if (b.tx.has_created_at_time)
        ok = ok && map_set(&tx, "ts", nat(b.tx.created_at_time));
    if (b.has_parent)
        ok = ok && map_set(&blk, "phash", blob(b.parent_hash, 32));
    ok = ok && map_set(&blk, "ts", nat(b.timestamp));
    ok = ok && map_set(&blk, "tx", tx);
    tx = (pair_t){0};
    json_t *out = NULL;
    if (ok) {
        uint8_t h[32];
        icrc3_value_hash(blk.v, h);
        out = json_pack("{s:o, s:O, s:o, s:o}", "height", json_u64(sb->height), "block", blk.j,
                        "icrc3_hash", json_hex(h, 32), "icp_block_hash", json_hex(sb->hash, 32));
    }
    if (!out)
        nns_error_set(err, 503, "Unavailable", "out of memory");
    pair_free(&tx);
    pair_free(&blk);
    return out;
}
