/*
 * block: protobuf (prost) encoding and decoding of ICP blocks, and the serde_cbor transaction
 * hash. See block.h and spec/ledger.md sections 4.1, 4.2 and 4.4.
 *
 * The encoder builds each submessage in a local buffer and then appends tag, length and bytes,
 * which keeps the field layout readable at the price of a few hundred bytes of stack copying.
 * The decoder is a bounds-checked reader over the input: every read checks the remaining length
 * first, so truncated or hostile input can only make it fail, never read past the end.
 */
#include "block.h"

#include <string.h>

#include "crypto.h"

#define DEFAULT_MAX_FEE_E8S 10000u

/* Protobuf wire types. */
#define WT_VARINT 0u
#define WT_FIXED64 1u
#define WT_LEN 2u
#define WT_FIXED32 5u

/* Field numbers of ic_ledger.pb.v1 (gen/ic_ledger.pb.v1.rs). */
enum {
    F_BLOCK_PARENT = 1,
    F_BLOCK_TIMESTAMP = 2,
    F_BLOCK_TRANSACTION = 3,
    F_HASH_HASH = 1,
    F_TIMESTAMP_NANOS = 1,
    F_TX_BURN = 1,
    F_TX_MINT = 2,
    F_TX_SEND = 3,
    F_TX_MEMO = 4,
    F_TX_CREATED_AT_TIME = 6,
    F_TX_ICRC1_MEMO = 7,
    F_MEMO_MEMO = 1,
    F_ICRC1_MEMO_MEMO = 1,
    F_BURN_FROM = 1,
    F_BURN_AMOUNT = 3,
    F_BURN_SPENDER = 4,
    F_MINT_TO = 2,
    F_MINT_AMOUNT = 3,
    F_SEND_FROM = 1,
    F_SEND_TO = 2,
    F_SEND_AMOUNT = 3,
    F_SEND_MAX_FEE = 4,
    F_SEND_APPROVE = 5,
    F_SEND_TRANSFER_FROM = 6,
    F_APPROVE_ALLOWANCE = 1,
    F_APPROVE_EXPIRES_AT = 2,
    F_APPROVE_EXPECTED_ALLOWANCE = 3,
    F_TRANSFER_FROM_SPENDER = 1,
    F_ACCOUNT_HASH = 1,
    F_TOKENS_E8S = 1,
};

/* ---- output buffer ------------------------------------------------------------------------ */

/* An append-only byte buffer over caller memory; overflow is sticky and checked once at the
 * end instead of after every write. */
typedef struct {
    uint8_t *p;
    size_t len;
    size_t cap;
    bool overflow;
} wbuf_t;

static void wbuf_put(wbuf_t *w, const void *bytes, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    if (n)
        memcpy(w->p + w->len, bytes, n);
    w->len += n;
}

static void wbuf_byte(wbuf_t *w, uint8_t b)
{
    wbuf_put(w, &b, 1);
}

/* ---- protobuf writer ---------------------------------------------------------------------- */

static void pb_varint(wbuf_t *w, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        uint8_t b = (uint8_t)(v & 0x7f);
        v >>= 7;
        tmp[n++] = v ? (uint8_t)(b | 0x80) : b;
    } while (v);
    wbuf_put(w, tmp, n);
}

static void pb_key(wbuf_t *w, unsigned field, unsigned wire_type)
{
    pb_varint(w, ((uint64_t)field << 3) | wire_type);
}

/* A uint64 scalar; proto3 omits the default value 0. */
static void pb_u64(wbuf_t *w, unsigned field, uint64_t v)
{
    if (v == 0)
        return;
    pb_key(w, field, WT_VARINT);
    pb_varint(w, v);
}

/* A length-delimited field (bytes or an embedded message). */
static void pb_bytes(wbuf_t *w, unsigned field, const uint8_t *bytes, size_t n)
{
    pb_key(w, field, WT_LEN);
    pb_varint(w, n);
    wbuf_put(w, bytes, n);
}

/* An embedded message whose body was built in sub; a sub overflow poisons w. */
static void pb_message(wbuf_t *w, unsigned field, const wbuf_t *sub)
{
    if (sub->overflow) {
        w->overflow = true;
        return;
    }
    pb_bytes(w, field, sub->p, sub->len);
}

/* Message { 1: uint64 } (Tokens, TimeStamp, Memo), always written, possibly empty. */
static void pb_u64_message(wbuf_t *w, unsigned field, uint64_t v)
{
    uint8_t tmp[16];
    wbuf_t sub = {tmp, 0, sizeof tmp, false};
    pb_u64(&sub, 1, v);
    pb_message(w, field, &sub);
}

/* AccountIdentifier { 1: bytes hash } in its 32-byte checksum || hash form. */
static void pb_account(wbuf_t *w, unsigned field, const account_id_t *id)
{
    uint8_t addr[32];
    account_id_to_address(id, addr);
    uint8_t tmp[40];
    wbuf_t sub = {tmp, 0, sizeof tmp, false};
    pb_bytes(&sub, F_ACCOUNT_HASH, addr, sizeof addr);
    pb_message(w, field, &sub);
}

static void encode_operation(wbuf_t *w, const operation_t *op)
{
    uint8_t tmp[BLOCK_ENCODED_MAX];
    wbuf_t sub = {tmp, 0, sizeof tmp, false};
    switch (op->kind) {
    case OP_BURN:
        pb_account(&sub, F_BURN_FROM, &op->from);
        pb_u64_message(&sub, F_BURN_AMOUNT, op->amount);
        if (op->has_spender)
            pb_account(&sub, F_BURN_SPENDER, &op->spender);
        pb_message(w, F_TX_BURN, &sub);
        return;
    case OP_MINT:
        pb_account(&sub, F_MINT_TO, &op->to);
        pb_u64_message(&sub, F_MINT_AMOUNT, op->amount);
        pb_message(w, F_TX_MINT, &sub);
        return;
    case OP_TRANSFER:
        pb_account(&sub, F_SEND_FROM, &op->from);
        pb_account(&sub, F_SEND_TO, &op->to);
        pb_u64_message(&sub, F_SEND_AMOUNT, op->amount);
        pb_u64_message(&sub, F_SEND_MAX_FEE, op->fee);
        if (op->has_spender) {
            uint8_t ext_tmp[48];
            wbuf_t ext = {ext_tmp, 0, sizeof ext_tmp, false};
            pb_account(&ext, F_TRANSFER_FROM_SPENDER, &op->spender);
            pb_message(&sub, F_SEND_TRANSFER_FROM, &ext);
        }
        pb_message(w, F_TX_SEND, &sub);
        return;
    case OP_APPROVE: {
        /* Send{from, to = spender, amount = 0, max_fee = fee, extension Approve{...}} */
        pb_account(&sub, F_SEND_FROM, &op->from);
        pb_account(&sub, F_SEND_TO, &op->spender);
        pb_u64_message(&sub, F_SEND_AMOUNT, 0);
        pb_u64_message(&sub, F_SEND_MAX_FEE, op->fee);
        uint8_t ext_tmp[64];
        wbuf_t ext = {ext_tmp, 0, sizeof ext_tmp, false};
        pb_u64_message(&ext, F_APPROVE_ALLOWANCE, op->allowance);
        if (op->has_expires_at)
            pb_u64_message(&ext, F_APPROVE_EXPIRES_AT, op->expires_at);
        if (op->has_expected_allowance)
            pb_u64_message(&ext, F_APPROVE_EXPECTED_ALLOWANCE, op->expected_allowance);
        pb_message(&sub, F_SEND_APPROVE, &ext);
        pb_message(w, F_TX_SEND, &sub);
        return;
    }
    }
    w->overflow = true; /* unknown kind: refuse to encode rather than write a partial block */
}

static void encode_transaction(wbuf_t *w, const transaction_t *tx)
{
    encode_operation(w, &tx->op);
    pb_u64_message(w, F_TX_MEMO, tx->memo);
    if (tx->has_created_at_time)
        pb_u64_message(w, F_TX_CREATED_AT_TIME, tx->created_at_time);
    if (tx->has_icrc1_memo) {
        if (tx->icrc1_memo_len > ICRC1_MEMO_MAX) {
            w->overflow = true;
            return;
        }
        uint8_t tmp[ICRC1_MEMO_MAX + 4];
        wbuf_t sub = {tmp, 0, sizeof tmp, false};
        if (tx->icrc1_memo_len) /* proto3 omits an empty bytes field */
            pb_bytes(&sub, F_ICRC1_MEMO_MEMO, tx->icrc1_memo, tx->icrc1_memo_len);
        pb_message(w, F_TX_ICRC1_MEMO, &sub);
    }
}

size_t block_encode(const block_t *b, uint8_t *out, size_t cap)
{
    wbuf_t w = {out, 0, cap, false};
    if (b->has_parent) {
        uint8_t tmp[40];
        wbuf_t sub = {tmp, 0, sizeof tmp, false};
        pb_bytes(&sub, F_HASH_HASH, b->parent_hash, 32);
        pb_message(&w, F_BLOCK_PARENT, &sub);
    }
    pb_u64_message(&w, F_BLOCK_TIMESTAMP, b->timestamp);
    uint8_t tmp[BLOCK_ENCODED_MAX];
    wbuf_t tx = {tmp, 0, sizeof tmp, false};
    encode_transaction(&tx, &b->tx);
    pb_message(&w, F_BLOCK_TRANSACTION, &tx);
    return w.overflow ? 0 : w.len;
}

void block_hash(const uint8_t *encoded, size_t len, uint8_t out[32])
{
    sha256(encoded, len, out);
}

/* ---- protobuf reader ---------------------------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t len;
    size_t pos;
} rbuf_t;

typedef struct {
    unsigned field;
    unsigned wire_type;
    uint64_t u64; /* WT_VARINT */
    rbuf_t body;  /* WT_LEN */
} pb_field_t;

static bool invalid(nns_error_t *err, const char *what)
{
    return nns_error_set(err, 400, "InvalidBlock", "invalid block: %s", what);
}

static bool rd_varint(rbuf_t *r, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (r->pos >= r->len)
            return false;
        uint8_t b = r->p[r->pos++];
        if (i == 9 && b > 1) /* more than 64 bits */
            return false;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Reads the next field. Unknown fields are returned like known ones; callers skip what they
 * do not know, as prost does. Group wire types (3, 4) and field number 0 are rejected. */
static bool rd_field(rbuf_t *r, pb_field_t *f, nns_error_t *err)
{
    uint64_t key;
    if (!rd_varint(r, &key))
        return invalid(err, "truncated or overlong field key");
    if ((key >> 3) == 0 || (key >> 3) > 0x1fffffffu)
        return invalid(err, "bad field number");
    f->field = (unsigned)(key >> 3);
    f->wire_type = (unsigned)(key & 7);
    switch (f->wire_type) {
    case WT_VARINT:
        if (!rd_varint(r, &f->u64))
            return invalid(err, "truncated or overlong varint");
        return true;
    case WT_FIXED64:
    case WT_FIXED32: {
        size_t n = f->wire_type == WT_FIXED64 ? 8 : 4;
        if (r->len - r->pos < n)
            return invalid(err, "truncated fixed-width field");
        r->pos += n;
        return true;
    }
    case WT_LEN: {
        uint64_t n;
        if (!rd_varint(r, &n))
            return invalid(err, "truncated length");
        if (n > r->len - r->pos)
            return invalid(err, "length past the end of the message");
        f->body.p = r->p + r->pos;
        f->body.len = (size_t)n;
        f->body.pos = 0;
        r->pos += (size_t)n;
        return true;
    }
    default:
        return invalid(err, "unsupported wire type");
    }
}

static bool rd_more(const rbuf_t *r)
{
    return r->pos < r->len;
}

/* Checks the wire type of a known field. */
static bool expect(const pb_field_t *f, unsigned wire_type, nns_error_t *err)
{
    if (f->wire_type != wire_type)
        return invalid(err, "wrong wire type for a known field");
    return true;
}

/* Message { 1: uint64 } (Tokens, TimeStamp, Memo, BlockIndex): absent value means 0. */
static bool rd_u64_message(rbuf_t body, uint64_t *out, nns_error_t *err)
{
    *out = 0;
    pb_field_t f;
    while (rd_more(&body)) {
        if (!rd_field(&body, &f, err))
            return false;
        if (f.field == 1) {
            if (!expect(&f, WT_VARINT, err))
                return false;
            *out = f.u64;
        }
    }
    return true;
}

/* Message { 1: bytes } (Hash, AccountIdentifier, Icrc1Memo); an absent field is empty. */
static bool rd_bytes_message(rbuf_t body, rbuf_t *out, nns_error_t *err)
{
    out->p = body.p;
    out->len = 0;
    out->pos = 0;
    pb_field_t f;
    while (rd_more(&body)) {
        if (!rd_field(&body, &f, err))
            return false;
        if (f.field == 1) {
            if (!expect(&f, WT_LEN, err))
                return false;
            *out = f.body;
        }
    }
    return true;
}

/* AccountIdentifier: 32 bytes (checksum verified) or a bare 28-byte hash. */
static bool rd_account(rbuf_t body, account_id_t *out, nns_error_t *err)
{
    rbuf_t hash;
    if (!rd_bytes_message(body, &hash, err))
        return false;
    if (hash.len == ACCOUNT_HASH_BYTES) {
        memcpy(out->hash, hash.p, ACCOUNT_HASH_BYTES);
        return true;
    }
    if (hash.len != 32)
        return invalid(err, "account identifier is not 28 or 32 bytes");
    nns_error_t inner = {0};
    if (!account_id_from_address(hash.p, out, &inner))
        return invalid(err, "account identifier checksum failed");
    return true;
}

/* Fields common to Burn, Mint and Send, with presence flags. */
typedef struct {
    bool has_from, has_to, has_amount, has_max_fee, has_spender;
    account_id_t from, to, spender;
    uint64_t amount, max_fee;
    enum { EXT_NONE, EXT_APPROVE, EXT_TRANSFER_FROM } ext;
    bool has_allowance, has_expires_at, has_expected_allowance;
    uint64_t allowance, expires_at, expected_allowance;
} pb_op_t;

static bool rd_approve(rbuf_t body, pb_op_t *o, nns_error_t *err)
{
    o->has_allowance = o->has_expires_at = o->has_expected_allowance = false;
    pb_field_t f;
    while (rd_more(&body)) {
        if (!rd_field(&body, &f, err))
            return false;
        uint64_t *target = NULL;
        bool *flag = NULL;
        if (f.field == F_APPROVE_ALLOWANCE) {
            target = &o->allowance;
            flag = &o->has_allowance;
        } else if (f.field == F_APPROVE_EXPIRES_AT) {
            target = &o->expires_at;
            flag = &o->has_expires_at;
        } else if (f.field == F_APPROVE_EXPECTED_ALLOWANCE) {
            target = &o->expected_allowance;
            flag = &o->has_expected_allowance;
        } else {
            continue;
        }
        if (!expect(&f, WT_LEN, err) || !rd_u64_message(f.body, target, err))
            return false;
        *flag = true;
    }
    return true;
}

static bool rd_transfer_from(rbuf_t body, pb_op_t *o, nns_error_t *err)
{
    o->has_spender = false;
    pb_field_t f;
    while (rd_more(&body)) {
        if (!rd_field(&body, &f, err))
            return false;
        if (f.field == F_TRANSFER_FROM_SPENDER) {
            if (!expect(&f, WT_LEN, err) || !rd_account(f.body, &o->spender, err))
                return false;
            o->has_spender = true;
        }
    }
    return true;
}

/* Reads a Burn (kind OP_BURN), Mint (OP_MINT) or Send (OP_TRANSFER) body into o. The field
 * numbers of the three messages agree where they overlap (from 1, to 2, amount 3), and each
 * message's own fields are the only ones interpreted for it. */
static bool rd_operation_fields(rbuf_t body, op_kind_t kind, pb_op_t *o, nns_error_t *err)
{
    memset(o, 0, sizeof *o);
    pb_field_t f;
    while (rd_more(&body)) {
        if (!rd_field(&body, &f, err))
            return false;
        bool ok = true;
        if (f.field == 1 && kind != OP_MINT) {
            ok = expect(&f, WT_LEN, err) && rd_account(f.body, &o->from, err);
            o->has_from = true;
        } else if (f.field == 2 && kind != OP_BURN) {
            ok = expect(&f, WT_LEN, err) && rd_account(f.body, &o->to, err);
            o->has_to = true;
        } else if (f.field == 3) {
            ok = expect(&f, WT_LEN, err) && rd_u64_message(f.body, &o->amount, err);
            o->has_amount = true;
        } else if (f.field == F_BURN_SPENDER && kind == OP_BURN) {
            ok = expect(&f, WT_LEN, err) && rd_account(f.body, &o->spender, err);
            o->has_spender = true;
        } else if (f.field == F_SEND_MAX_FEE && kind == OP_TRANSFER) {
            ok = expect(&f, WT_LEN, err) && rd_u64_message(f.body, &o->max_fee, err);
            o->has_max_fee = true;
        } else if (f.field == F_SEND_APPROVE && kind == OP_TRANSFER) {
            /* oneof extension: the last one written wins, as in prost */
            o->ext = EXT_APPROVE;
            o->has_spender = false;
            ok = expect(&f, WT_LEN, err) && rd_approve(f.body, o, err);
        } else if (f.field == F_SEND_TRANSFER_FROM && kind == OP_TRANSFER) {
            o->ext = EXT_TRANSFER_FROM;
            ok = expect(&f, WT_LEN, err) && rd_transfer_from(f.body, o, err);
        }
        if (!ok)
            return false;
    }
    return true;
}

/* Turns the wire-level fields into the logical operation, as upstream's from_proto does:
 * accounts and amounts are required, a missing max_fee means the default fee. */
static bool to_operation(op_kind_t kind, const pb_op_t *o, operation_t *op, nns_error_t *err)
{
    memset(op, 0, sizeof *op);
    if (!o->has_amount)
        return invalid(err, "operation lacks an amount");
    switch (kind) {
    case OP_BURN:
        if (!o->has_from)
            return invalid(err, "burn lacks a from account");
        op->kind = OP_BURN;
        op->from = o->from;
        op->amount = o->amount;
        op->has_spender = o->has_spender;
        if (o->has_spender)
            op->spender = o->spender;
        return true;
    case OP_MINT:
        if (!o->has_to)
            return invalid(err, "mint lacks a to account");
        op->kind = OP_MINT;
        op->to = o->to;
        op->amount = o->amount;
        return true;
    case OP_TRANSFER:
    case OP_APPROVE:
        break;
    }
    if (!o->has_from || !o->has_to)
        return invalid(err, "send lacks a from or to account");
    uint64_t fee = o->has_max_fee ? o->max_fee : DEFAULT_MAX_FEE_E8S;
    switch (o->ext) {
    case EXT_APPROVE:
        if (!o->has_allowance)
            return invalid(err, "approve lacks an allowance");
        /* Send.amount is carried (always 0 when the ledger writes it) but has no meaning */
        op->kind = OP_APPROVE;
        op->from = o->from;
        op->spender = o->to;
        op->has_spender = true;
        op->fee = fee;
        op->allowance = o->allowance;
        op->has_expected_allowance = o->has_expected_allowance;
        op->expected_allowance = o->has_expected_allowance ? o->expected_allowance : 0;
        op->has_expires_at = o->has_expires_at;
        op->expires_at = o->has_expires_at ? o->expires_at : 0;
        return true;
    case EXT_TRANSFER_FROM:
        if (!o->has_spender)
            return invalid(err, "transfer_from lacks a spender");
        break;
    case EXT_NONE:
        break;
    }
    op->kind = OP_TRANSFER;
    op->from = o->from;
    op->to = o->to;
    op->amount = o->amount;
    op->fee = fee;
    op->has_spender = o->ext == EXT_TRANSFER_FROM;
    if (op->has_spender)
        op->spender = o->spender;
    return true;
}

static bool rd_transaction(rbuf_t body, transaction_t *tx, nns_error_t *err)
{
    memset(tx, 0, sizeof *tx);
    bool has_op = false;
    pb_field_t f;
    while (rd_more(&body)) {
        if (!rd_field(&body, &f, err))
            return false;
        switch (f.field) {
        case F_TX_BURN:
        case F_TX_MINT:
        case F_TX_SEND: {
            op_kind_t kind = f.field == F_TX_BURN   ? OP_BURN
                             : f.field == F_TX_MINT ? OP_MINT
                                                    : OP_TRANSFER;
            pb_op_t o;
            if (!expect(&f, WT_LEN, err) || !rd_operation_fields(f.body, kind, &o, err) ||
                !to_operation(kind, &o, &tx->op, err))
                return false;
            has_op = true;
            break;
        }
        case F_TX_MEMO:
            if (!expect(&f, WT_LEN, err) || !rd_u64_message(f.body, &tx->memo, err))
                return false;
            break;
        case F_TX_CREATED_AT_TIME:
            if (!expect(&f, WT_LEN, err) || !rd_u64_message(f.body, &tx->created_at_time, err))
                return false;
            tx->has_created_at_time = true;
            break;
        case F_TX_ICRC1_MEMO: {
            rbuf_t memo;
            if (!expect(&f, WT_LEN, err) || !rd_bytes_message(f.body, &memo, err))
                return false;
            if (memo.len > ICRC1_MEMO_MAX)
                return invalid(err, "icrc1_memo longer than 32 bytes");
            memset(tx->icrc1_memo, 0, sizeof tx->icrc1_memo);
            if (memo.len)
                memcpy(tx->icrc1_memo, memo.p, memo.len);
            tx->icrc1_memo_len = (uint8_t)memo.len;
            tx->has_icrc1_memo = true;
            break;
        }
        default: /* including 5 created_at (obsolete BlockIndex) */
            break;
        }
    }
    if (!has_op)
        return invalid(err, "transaction lacks an operation");
    return true;
}

bool block_decode(const uint8_t *encoded, size_t len, block_t *out, nns_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (!encoded && len)
        return invalid(err, "no input");
    rbuf_t r = {encoded, len, 0};
    bool has_timestamp = false, has_tx = false;
    pb_field_t f;
    while (rd_more(&r)) {
        if (!rd_field(&r, &f, err))
            return false;
        switch (f.field) {
        case F_BLOCK_PARENT: {
            rbuf_t hash;
            if (!expect(&f, WT_LEN, err) || !rd_bytes_message(f.body, &hash, err))
                return false;
            if (hash.len != 32)
                return invalid(err, "parent hash is not 32 bytes");
            memcpy(out->parent_hash, hash.p, 32);
            out->has_parent = true;
            break;
        }
        case F_BLOCK_TIMESTAMP:
            if (!expect(&f, WT_LEN, err) || !rd_u64_message(f.body, &out->timestamp, err))
                return false;
            has_timestamp = true;
            break;
        case F_BLOCK_TRANSACTION:
            if (!expect(&f, WT_LEN, err) || !rd_transaction(f.body, &out->tx, err))
                return false;
            has_tx = true;
            break;
        default:
            break;
        }
    }
    if (!has_timestamp)
        return invalid(err, "block lacks a timestamp");
    if (!has_tx)
        return invalid(err, "block lacks a transaction");
    return true;
}

/* ---- serde_cbor packed transaction -------------------------------------------------------- */

/* A CBOR head: major type and argument in the shortest form (RFC 8949 section 3). */
static void cbor_head(wbuf_t *w, uint8_t major, uint64_t v)
{
    uint8_t m = (uint8_t)(major << 5);
    uint8_t tmp[9];
    size_t extra; /* argument bytes after the initial byte */
    if (v < 24) {
        tmp[0] = (uint8_t)(m | v);
        extra = 0;
    } else if (v <= 0xff) {
        tmp[0] = (uint8_t)(m | 24);
        extra = 1;
    } else if (v <= 0xffff) {
        tmp[0] = (uint8_t)(m | 25);
        extra = 2;
    } else if (v <= 0xffffffffu) {
        tmp[0] = (uint8_t)(m | 26);
        extra = 4;
    } else {
        tmp[0] = (uint8_t)(m | 27);
        extra = 8;
    }
    for (size_t i = 0; i < extra; i++)
        tmp[1 + i] = (uint8_t)(v >> (8 * (extra - 1 - i)));
    wbuf_put(w, tmp, 1 + extra);
}

#define CBOR_UINT 0
#define CBOR_BYTES 2
#define CBOR_TEXT 3
#define CBOR_MAP 5
#define CBOR_NULL 0xf6

static void cbor_uint(wbuf_t *w, uint64_t v)
{
    cbor_head(w, CBOR_UINT, v);
}

static void cbor_map(wbuf_t *w, uint64_t entries)
{
    cbor_head(w, CBOR_MAP, entries);
}

/* The account identifier as its 64-character lower-case hex text. */
static void cbor_account(wbuf_t *w, uint64_t key, const account_id_t *id)
{
    char hex[ACCOUNT_HEX_LEN + 1];
    account_id_to_hex(id, hex);
    cbor_uint(w, key);
    cbor_head(w, CBOR_TEXT, ACCOUNT_HEX_LEN);
    wbuf_put(w, hex, ACCOUNT_HEX_LEN);
}

/* Tokens and TimeStamp: {0: value}. */
static void cbor_u64_struct(wbuf_t *w, uint64_t key, uint64_t v)
{
    cbor_uint(w, key);
    cbor_map(w, 1);
    cbor_uint(w, 0);
    cbor_uint(w, v);
}

/* Option<Tokens | TimeStamp> without skip_serializing_if: None is null. */
static void cbor_opt_u64_struct(wbuf_t *w, uint64_t key, bool present, uint64_t v)
{
    if (present) {
        cbor_u64_struct(w, key, v);
    } else {
        cbor_uint(w, key);
        wbuf_byte(w, CBOR_NULL);
    }
}

static void cbor_operation(wbuf_t *w, const operation_t *op)
{
    cbor_map(w, 1);
    cbor_uint(w, (uint64_t)op->kind);
    switch (op->kind) {
    case OP_BURN:
        cbor_map(w, op->has_spender ? 3 : 2);
        cbor_account(w, 0, &op->from);
        cbor_u64_struct(w, 1, op->amount);
        if (op->has_spender)
            cbor_account(w, 2, &op->spender);
        return;
    case OP_MINT:
        cbor_map(w, 2);
        cbor_account(w, 0, &op->to);
        cbor_u64_struct(w, 1, op->amount);
        return;
    case OP_TRANSFER:
        cbor_map(w, op->has_spender ? 5 : 4);
        cbor_account(w, 0, &op->from);
        cbor_account(w, 1, &op->to);
        cbor_u64_struct(w, 2, op->amount);
        cbor_u64_struct(w, 3, op->fee);
        if (op->has_spender)
            cbor_account(w, 4, &op->spender);
        return;
    case OP_APPROVE:
        cbor_map(w, 6);
        cbor_account(w, 0, &op->from);
        cbor_account(w, 1, &op->spender);
        cbor_u64_struct(w, 2, op->allowance);
        cbor_opt_u64_struct(w, 3, op->has_expected_allowance, op->expected_allowance);
        cbor_opt_u64_struct(w, 4, op->has_expires_at, op->expires_at);
        cbor_u64_struct(w, 5, op->fee);
        return;
    }
    w->overflow = true;
}

size_t transaction_cbor(const transaction_t *tx, uint8_t *out, size_t cap)
{
    wbuf_t w = {out, 0, cap, false};
    if (tx->has_icrc1_memo && tx->icrc1_memo_len > ICRC1_MEMO_MAX)
        return 0;
    cbor_map(&w, tx->has_icrc1_memo ? 4 : 3);
    cbor_uint(&w, 0);
    cbor_operation(&w, &tx->op);
    cbor_uint(&w, 1);
    cbor_uint(&w, tx->memo);
    cbor_opt_u64_struct(&w, 2, tx->has_created_at_time, tx->created_at_time);
    if (tx->has_icrc1_memo) {
        cbor_uint(&w, 3);
        cbor_head(&w, CBOR_BYTES, tx->icrc1_memo_len);
        wbuf_put(&w, tx->icrc1_memo, tx->icrc1_memo_len);
    }
    return w.overflow ? 0 : w.len;
}

void transaction_hash(const transaction_t *tx, uint8_t out[32])
{
    uint8_t buf[BLOCK_ENCODED_MAX];
    size_t n = transaction_cbor(tx, buf, sizeof buf);
    sha256(buf, n, out);
}

const char *op_kind_name(op_kind_t kind)
{
    switch (kind) {
    case OP_BURN:
        return "burn";
    case OP_MINT:
        return "mint";
    case OP_TRANSFER:
        return "transfer";
    case OP_APPROVE:
        return "approve";
    }
    return "unknown";
}
