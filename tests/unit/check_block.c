/*
 * check_block: the protobuf block encoding, its decoder and the CBOR transaction hash against
 * spec/ledger.md (the mainnet block 9840566, vectors 25-29), plus decode(encode(b)) == b for
 * every operation shape and a decoder that survives truncated, mutated and random input; the
 * history page written directly as text (render_history_page) against the jansson tree it
 * replaces, byte for byte.
 */
#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "block.h"
#include "crypto.h"
#include "error.h"
#include "hex.h"
#include "jsonutil.h"
#include "render.h"
#include "store.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define ACC_E7A8 "e7a879ea563d273c46dd28c1584eaa132fad6f3e316615b3eb657d067f3519b5"
#define ACC_207E "207ec07185bedd0f2176ec2760057b8b7bc619a94d60e70fbc91af322a9f7e93"
#define ACC_D360 "d360ba83413713928ec6a61438f7c611c6c81a09b36a99462f654473f9a1a671"
#define ACC_4272 "42727096b88d2ef0527c77e16c4b11b8685e623bfdd0b035b3680f36078cca06"

/* ---- helpers ------------------------------------------------------------------------------ */

/* Decodes a hex vector of any length into out (capacity cap); returns the byte count. */
static size_t unhex(const char *text, uint8_t *out, size_t cap)
{
    long n = hex_decode(text, strlen(text), out, cap);
    ck_assert_msg(n >= 0, "bad hex in test vector: %s", text);
    return (size_t)n;
}

static void unhex32(const char *text, uint8_t out[32])
{
    ck_assert_uint_eq(unhex(text, out, 32), 32);
}

static account_id_t acct(const char *hex)
{
    account_id_t id;
    nns_error_t err = {0};
    ck_assert_msg(account_id_from_hex(hex, strlen(hex), &id, &err), "%s: %s", hex, err.detail);
    return id;
}

/* An account whose 28 hash bytes are all `fill`. */
static account_id_t acct_fill(uint8_t fill)
{
    account_id_t id;
    memset(id.hash, fill, sizeof id.hash);
    return id;
}

static void assert_hex(const uint8_t *bytes, size_t len, const char *expected)
{
    char *text = malloc(2 * len + 1);
    ck_assert_ptr_nonnull(text);
    hex_encode(bytes, len, text);
    ck_assert_str_eq(text, expected);
    free(text);
}

static bool account_eq(const account_id_t *a, const account_id_t *b)
{
    return memcmp(a->hash, b->hash, sizeof a->hash) == 0;
}

/* Field-wise equality (no memcmp over padding). */
static bool operation_eq(const operation_t *a, const operation_t *b)
{
    return a->kind == b->kind && account_eq(&a->from, &b->from) && account_eq(&a->to, &b->to) &&
           account_eq(&a->spender, &b->spender) && a->has_spender == b->has_spender &&
           a->amount == b->amount && a->fee == b->fee && a->allowance == b->allowance &&
           a->has_expected_allowance == b->has_expected_allowance &&
           a->expected_allowance == b->expected_allowance &&
           a->has_expires_at == b->has_expires_at && a->expires_at == b->expires_at;
}

static bool block_eq(const block_t *a, const block_t *b)
{
    const transaction_t *x = &a->tx, *y = &b->tx;
    return a->has_parent == b->has_parent && memcmp(a->parent_hash, b->parent_hash, 32) == 0 &&
           a->timestamp == b->timestamp && operation_eq(&x->op, &y->op) && x->memo == y->memo &&
           x->has_created_at_time == y->has_created_at_time &&
           x->created_at_time == y->created_at_time && x->has_icrc1_memo == y->has_icrc1_memo &&
           x->icrc1_memo_len == y->icrc1_memo_len &&
           memcmp(x->icrc1_memo, y->icrc1_memo, ICRC1_MEMO_MAX) == 0;
}

static size_t encode_ok(const block_t *b, uint8_t out[BLOCK_ENCODED_MAX])
{
    size_t n = block_encode(b, out, BLOCK_ENCODED_MAX);
    ck_assert_uint_gt(n, 0);
    return n;
}

static block_t decode_ok(const uint8_t *enc, size_t len)
{
    block_t b;
    nns_error_t err = {0};
    ck_assert_msg(block_decode(enc, len, &b, &err), "decode failed: %s", err.detail);
    ck_assert(!nns_error_is_set(&err));
    return b;
}

static void assert_decode_fails(const uint8_t *enc, size_t len)
{
    block_t b;
    nns_error_t err = {0};
    ck_assert(!block_decode(enc, len, &b, &err));
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.code, "InvalidBlock");
}

static void assert_decode_hex_fails(const char *hex)
{
    uint8_t buf[BLOCK_ENCODED_MAX];
    size_t n = unhex(hex, buf, sizeof buf);
    assert_decode_fails(buf, n);
}

/* ---- fixtures: the vector transactions ---------------------------------------------------- */

/* Block 9840566 (spec: "A real mainnet block"). */
static block_t mainnet_block(void)
{
    block_t b;
    memset(&b, 0, sizeof b);
    b.has_parent = true;
    unhex32("b9683af7a13e8400b05e582fec77d180db036aba865b4bc7abc0d13ccddeb610", b.parent_hash);
    b.timestamp = 1705420805314666462ULL;
    b.tx.op.kind = OP_TRANSFER;
    b.tx.op.from = acct(ACC_D360);
    b.tx.op.to = acct(ACC_4272);
    b.tx.op.amount = 830010000ULL;
    b.tx.op.fee = 10000;
    b.tx.memo = 0;
    b.tx.has_created_at_time = true;
    b.tx.created_at_time = 1705420805314666462ULL;
    return b;
}

/* Vector 25's transaction. */
static transaction_t tx_v25(void)
{
    transaction_t tx;
    memset(&tx, 0, sizeof tx);
    tx.op.kind = OP_TRANSFER;
    tx.op.from = acct(ACC_E7A8);
    tx.op.to = acct(ACC_207E);
    tx.op.amount = 11541900000ULL;
    tx.op.fee = 10000;
    tx.memo = 5432845643782906771ULL;
    tx.has_created_at_time = true;
    tx.created_at_time = 1621901572293430780ULL;
    return tx;
}

static block_t block_v28(void)
{
    block_t b;
    memset(&b, 0, sizeof b);
    b.timestamp = 1621901572293430780ULL;
    b.tx = tx_v25();
    return b;
}

static const char *const V28_HEX =
    "120a08fc9bcaa9b0dc89c1161a6f1a550a220a20e7a879ea563d273c46dd28c1584eaa132fad6f3e316615b3"
    "eb657d067f3519b512220a20207ec07185bedd0f2176ec2760057b8b7bc619a94d60e70fbc91af322a9f7e93"
    "1a0608e0d5cdff2a220308904e220a0893c7d5e9c18ad6b24b320a08fc9bcaa9b0dc89c116";
static const char *const V28_HASH =
    "f1b73f1de4d54abd2fb04f1881f2c85b3fe0004ec05c9c15f09e7208baec1b64";
static const char *const V29_HEX =
    "0a220a20f1b73f1de4d54abd2fb04f1881f2c85b3fe0004ec05c9c15f09e7208baec1b64120a08fcdda1d9b0dc"
    "89c1161a3b122b12220a20207ec07185bedd0f2176ec2760057b8b7bc619a94d60e70fbc91af322a9f7e931a05"
    "0880c2d72f2200320a08fcdda1d9b0dc89c116";
static const char *const V29_HASH =
    "df272bbbea35c47e06fe71e38dfb105e8b7118417af67deb2d0156119aa14181";

/* ---- mainnet block ------------------------------------------------------------------------ */

START_TEST(mainnet_block_hash)
{
    block_t b = mainnet_block();
    uint8_t enc[BLOCK_ENCODED_MAX], h[32];
    size_t n = encode_ok(&b, enc);
    block_hash(enc, n, h);
    assert_hex(h, 32, "e189f729b207dafc2583305cf313671a84bb1437ee44435e12eaf3dcfbcb8fcf");
    /* memo 0 is the empty Memo submessage */
    ck_assert_uint_ge(n, 2);
    ck_assert(memmem(enc, n, "\x22\x00\x32", 3) != NULL);
}
END_TEST

START_TEST(mainnet_tx_hash)
{
    block_t b = mainnet_block();
    uint8_t h[32];
    transaction_hash(&b.tx, h);
    assert_hex(h, 32, "93a19bfa37db0200cec77281cd8a0602a4375a7367338e7c6973f93a42e6eb5e");
}
END_TEST

START_TEST(mainnet_without_created_at_time)
{
    block_t b = mainnet_block();
    b.tx.has_created_at_time = false;
    b.tx.created_at_time = 0;
    uint8_t enc[BLOCK_ENCODED_MAX], h[32];
    size_t n = encode_ok(&b, enc);
    block_hash(enc, n, h);
    assert_hex(h, 32, "9821efb6bb821e1bac5cf341c2e8996a58228d4a8e7e8f5fbea355dc04829330");
}
END_TEST

START_TEST(mainnet_round_trip)
{
    block_t b = mainnet_block();
    uint8_t enc[BLOCK_ENCODED_MAX], again[BLOCK_ENCODED_MAX];
    size_t n = encode_ok(&b, enc);
    block_t d = decode_ok(enc, n);
    ck_assert(block_eq(&b, &d));
    ck_assert_uint_eq(encode_ok(&d, again), n);
    ck_assert_mem_eq(again, enc, n);
}
END_TEST

/* ---- transaction hashes (vectors 25-27) --------------------------------------------------- */

START_TEST(tx_hash_v25)
{
    static const char *const cbor_hex =
        "a300a102a4007840653761383739656135363364323733633436646432386331353834656161313332666164"
        "366633653331363631356233656236353764303637663335313962350178403230376563303731383562656"
        "464306632313736656332373630303537623862376263363139613934643630653730666263393161663332"
        "326139663765393302a1001b00000002aff36ae003a100192710011b4b6558541d35639302a1001b168226e3"
        "05328dfc";
    transaction_t tx = tx_v25();
    uint8_t cbor[BLOCK_ENCODED_MAX], h[32];
    size_t n = transaction_cbor(&tx, cbor, sizeof cbor);
    ck_assert_uint_gt(n, 0);
    assert_hex(cbor, n, cbor_hex);
    transaction_hash(&tx, h);
    assert_hex(h, 32, "be31664ef154456aec5df2e4acc7f23a715ad8ea33ad9dbcbb7e6e90bc5a8b8f");
}
END_TEST

START_TEST(tx_hash_v26_icrc1_memo)
{
    transaction_t tx;
    memset(&tx, 0, sizeof tx);
    tx.op.kind = OP_TRANSFER;
    tx.op.from = acct(ACC_E7A8);
    tx.op.to = acct(ACC_207E);
    tx.op.amount = 1;
    tx.op.fee = 10000;
    tx.has_icrc1_memo = true;
    tx.icrc1_memo_len = 3;
    tx.icrc1_memo[0] = 1;
    tx.icrc1_memo[1] = 2;
    tx.icrc1_memo[2] = 3;
    uint8_t cbor[BLOCK_ENCODED_MAX], h[32];
    size_t n = transaction_cbor(&tx, cbor, sizeof cbor);
    static const uint8_t tail[] = {0x02, 0xf6, 0x03, 0x43, 0x01, 0x02, 0x03};
    ck_assert_uint_gt(n, sizeof tail);
    ck_assert_mem_eq(cbor + n - sizeof tail, tail, sizeof tail);
    ck_assert_uint_eq(cbor[0], 0xa4); /* four entries: icrc1_memo present */
    transaction_hash(&tx, h);
    assert_hex(h, 32, "b44589167e73738bdc7d430336b5be1726e46a75e005b722a1e1750548f1a54a");
}
END_TEST

START_TEST(tx_hash_v27_approve)
{
    transaction_t tx;
    memset(&tx, 0, sizeof tx);
    tx.op.kind = OP_APPROVE;
    tx.op.from = acct(ACC_E7A8);
    tx.op.spender = acct(ACC_207E);
    tx.op.allowance = 500000000;
    tx.op.fee = 10000;
    tx.has_created_at_time = true;
    tx.created_at_time = 1621901572293430780ULL;
    uint8_t h[32];
    transaction_hash(&tx, h);
    assert_hex(h, 32, "30ce0f47d0d14429ab1de1fbbac3810fd0f0c7a70d71fa3635f737654dbdc7c1");
}
END_TEST

/* Shapes the vectors do not cover, checked against the serde layout of section 4.4. */
START_TEST(tx_cbor_shapes)
{
    transaction_t tx;
    uint8_t cbor[BLOCK_ENCODED_MAX];
    size_t n;

    memset(&tx, 0, sizeof tx);
    tx.op.kind = OP_MINT;
    tx.op.to = acct_fill(0x11);
    tx.op.amount = 24;
    n = transaction_cbor(&tx, cbor, sizeof cbor);
    /* {0: {1: {0: "<to>", 1: {0: 24}}}, 1: 0, 2: null} */
    ck_assert_uint_eq(n, 5 + (3 + 64) + 5 + 2 + 2);
    static const uint8_t mint_head[] = {0xa3, 0x00, 0xa1, 0x01, 0xa2, 0x00, 0x78, 0x40};
    ck_assert_mem_eq(cbor, mint_head, sizeof mint_head);
    static const uint8_t mint_tail[] = {0x01, 0xa1, 0x00, 0x18, 0x18, 0x01, 0x00, 0x02, 0xf6};
    ck_assert_mem_eq(cbor + n - sizeof mint_tail, mint_tail, sizeof mint_tail);

    memset(&tx, 0, sizeof tx);
    tx.op.kind = OP_BURN;
    tx.op.from = acct_fill(0x22);
    tx.op.amount = UINT64_MAX;
    tx.op.has_spender = true;
    tx.op.spender = acct_fill(0x33);
    tx.memo = UINT64_MAX;
    tx.has_created_at_time = true;
    tx.created_at_time = 0;
    tx.has_icrc1_memo = true; /* empty memo: byte string of length 0 */
    n = transaction_cbor(&tx, cbor, sizeof cbor);
    static const uint8_t burn_head[] = {0xa4, 0x00, 0xa1, 0x00, 0xa3, 0x00, 0x78, 0x40};
    ck_assert_mem_eq(cbor, burn_head, sizeof burn_head);
    static const uint8_t burn_tail[] = {0x01, 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0xff, 0x02, 0xa1, 0x00, 0x00, 0x03, 0x40};
    ck_assert_mem_eq(cbor + n - sizeof burn_tail, burn_tail, sizeof burn_tail);
    /* spender is key 2 of the burn map, after the amount {0: u64::MAX} */
    static const uint8_t burn_spender[] = {0x01, 0xa1, 0x00, 0x1b, 0xff, 0xff, 0xff, 0xff,
                                           0xff, 0xff, 0xff, 0xff, 0x02, 0x78, 0x40};
    ck_assert(memmem(cbor, n, burn_spender, sizeof burn_spender) != NULL);

    memset(&tx, 0, sizeof tx);
    tx.op.kind = OP_APPROVE;
    tx.op.from = acct_fill(0x44);
    tx.op.spender = acct_fill(0x55);
    tx.op.allowance = 256;
    tx.op.has_expected_allowance = true;
    tx.op.expected_allowance = 65536;
    tx.op.has_expires_at = true;
    tx.op.expires_at = 23;
    tx.op.fee = 255;
    n = transaction_cbor(&tx, cbor, sizeof cbor);
    /* allowance 256, expected 65536, expires_at 23, fee 255, memo 0, no created_at_time */
    static const uint8_t approve_tail[] = {0x02, 0xa1, 0x00, 0x19, 0x01, 0x00, 0x03, 0xa1, 0x00,
                                           0x1a, 0x00, 0x01, 0x00, 0x00, 0x04, 0xa1, 0x00, 0x17,
                                           0x05, 0xa1, 0x00, 0x18, 0xff, 0x01, 0x00, 0x02, 0xf6};
    ck_assert_mem_eq(cbor + n - sizeof approve_tail, approve_tail, sizeof approve_tail);
    ck_assert_uint_eq(cbor[4], 0xa6);

    /* transfer_from: spender is key 4 */
    memset(&tx, 0, sizeof tx);
    tx.op.kind = OP_TRANSFER;
    tx.op.from = acct_fill(0x01);
    tx.op.to = acct_fill(0x02);
    tx.op.has_spender = true;
    tx.op.spender = acct_fill(0x03);
    n = transaction_cbor(&tx, cbor, sizeof cbor);
    ck_assert_uint_eq(cbor[4], 0xa5);
    static const uint8_t xfer_spender[] = {0x03, 0xa1, 0x00, 0x00, 0x04, 0x78, 0x40};
    ck_assert(memmem(cbor, n, xfer_spender, sizeof xfer_spender) != NULL);
}
END_TEST

START_TEST(tx_cbor_capacity)
{
    transaction_t tx = tx_v25();
    uint8_t cbor[BLOCK_ENCODED_MAX];
    size_t n = transaction_cbor(&tx, cbor, sizeof cbor);
    ck_assert_uint_gt(n, 0);
    for (size_t cap = 0; cap < n; cap++)
        ck_assert_uint_eq(transaction_cbor(&tx, cbor, cap), 0);
    ck_assert_uint_eq(transaction_cbor(&tx, cbor, n), n);
}
END_TEST

/* ---- block encodings (vectors 28-29) ------------------------------------------------------ */

START_TEST(block_v28_no_parent)
{
    block_t b = block_v28();
    uint8_t enc[BLOCK_ENCODED_MAX], h[32];
    size_t n = encode_ok(&b, enc);
    assert_hex(enc, n, V28_HEX);
    block_hash(enc, n, h);
    assert_hex(h, 32, V28_HASH);
    block_t d = decode_ok(enc, n);
    ck_assert(block_eq(&b, &d));
}
END_TEST

START_TEST(block_v29_child_mint)
{
    block_t parent = block_v28();
    uint8_t enc[BLOCK_ENCODED_MAX];
    size_t n = encode_ok(&parent, enc);

    block_t b;
    memset(&b, 0, sizeof b);
    b.has_parent = true;
    block_hash(enc, n, b.parent_hash);
    b.timestamp = 1621901572393430780ULL;
    b.tx.op.kind = OP_MINT;
    b.tx.op.to = acct(ACC_207E);
    b.tx.op.amount = 100000000;
    b.tx.has_created_at_time = true;
    b.tx.created_at_time = b.timestamp;

    uint8_t h[32];
    n = encode_ok(&b, enc);
    assert_hex(enc, n, V29_HEX);
    block_hash(enc, n, h);
    assert_hex(h, 32, V29_HASH);
    block_t d = decode_ok(enc, n);
    ck_assert(block_eq(&b, &d));
}
END_TEST

START_TEST(block_encode_capacity)
{
    block_t b = mainnet_block();
    uint8_t enc[BLOCK_ENCODED_MAX];
    size_t n = encode_ok(&b, enc);
    for (size_t cap = 0; cap < n; cap++)
        ck_assert_uint_eq(block_encode(&b, enc, cap), 0);
    ck_assert_uint_eq(block_encode(&b, enc, n), n);
}
END_TEST

/* ---- round trips -------------------------------------------------------------------------- */

static void fill_memo(transaction_t *tx, uint8_t len)
{
    tx->has_icrc1_memo = true;
    tx->icrc1_memo_len = len;
    for (uint8_t i = 0; i < len; i++)
        tx->icrc1_memo[i] = (uint8_t)(0xa0 + i);
}

/* Builds round-trip case i in canonical decoded form (unused fields zero; an Approve has
 * has_spender = true). Returns false past the last case. */
static bool round_trip_case(int i, block_t *b)
{
    memset(b, 0, sizeof *b);
    operation_t *op = &b->tx.op;
    transaction_t *tx = &b->tx;
    b->timestamp = 1700000000000000000ULL + (uint64_t)i;
    switch (i) {
    case 0: /* burn, no spender, no parent, memo 0 */
        op->kind = OP_BURN;
        op->from = acct_fill(0x01);
        op->amount = 5;
        return true;
    case 1: /* burn with spender, every option present, u64 max everywhere */
        b->has_parent = true;
        memset(b->parent_hash, 0xff, 32);
        b->timestamp = UINT64_MAX;
        op->kind = OP_BURN;
        op->from = acct_fill(0xfe);
        op->has_spender = true;
        op->spender = acct_fill(0xfd);
        op->amount = UINT64_MAX;
        tx->memo = UINT64_MAX;
        tx->has_created_at_time = true;
        tx->created_at_time = UINT64_MAX;
        fill_memo(tx, ICRC1_MEMO_MAX);
        return true;
    case 2: /* mint, amount 0 */
        b->has_parent = true;
        memset(b->parent_hash, 0x5a, 32);
        op->kind = OP_MINT;
        op->to = acct_fill(0x02);
        op->amount = 0;
        return true;
    case 3: /* mint with created_at_time and memo */
        op->kind = OP_MINT;
        op->to = acct(ACC_207E);
        op->amount = 100000000;
        tx->memo = 1;
        tx->has_created_at_time = true;
        tx->created_at_time = 1;
        return true;
    case 4: /* transfer, no spender, fee 0, amount 0, timestamp 0 */
        b->timestamp = 0;
        op->kind = OP_TRANSFER;
        op->from = acct(ACC_E7A8);
        op->to = acct(ACC_207E);
        return true;
    case 5: /* transfer_from with icrc1 memo */
        b->has_parent = true;
        memset(b->parent_hash, 0x01, 32);
        op->kind = OP_TRANSFER;
        op->from = acct_fill(0x03);
        op->to = acct_fill(0x04);
        op->has_spender = true;
        op->spender = acct_fill(0x05);
        op->amount = 123456789;
        op->fee = 10000;
        fill_memo(tx, 7);
        return true;
    case 6: /* transfer with u64 max amount and fee, empty icrc1 memo */
        op->kind = OP_TRANSFER;
        op->from = acct_fill(0x06);
        op->to = acct_fill(0x06); /* self-transfer */
        op->amount = UINT64_MAX;
        op->fee = UINT64_MAX;
        tx->has_icrc1_memo = true;
        tx->has_created_at_time = true;
        tx->created_at_time = 0; /* present but zero: the empty TimeStamp submessage */
        return true;
    case 7: /* approve, no expected allowance, no expiry */
        op->kind = OP_APPROVE;
        op->from = acct_fill(0x07);
        op->spender = acct_fill(0x08);
        op->has_spender = true;
        op->allowance = 500000000;
        op->fee = 10000;
        return true;
    case 8: /* approve with both options */
        b->has_parent = true;
        memset(b->parent_hash, 0x77, 32);
        op->kind = OP_APPROVE;
        op->from = acct_fill(0x09);
        op->spender = acct_fill(0x0a);
        op->has_spender = true;
        op->allowance = UINT64_MAX;
        op->has_expected_allowance = true;
        op->expected_allowance = 42;
        op->has_expires_at = true;
        op->expires_at = UINT64_MAX;
        op->fee = 0;
        tx->memo = 99;
        tx->has_created_at_time = true;
        tx->created_at_time = 1621901572293430780ULL;
        fill_memo(tx, 1);
        return true;
    case 9: /* approve to allowance 0 with expected allowance 0 and expiry 0 */
        op->kind = OP_APPROVE;
        op->from = acct_fill(0x0b);
        op->spender = acct_fill(0x0c);
        op->has_spender = true;
        op->has_expected_allowance = true;
        op->has_expires_at = true;
        op->fee = 1;
        return true;
    case 10: /* approve with only expires_at */
        op->kind = OP_APPROVE;
        op->from = acct_fill(0x0d);
        op->spender = acct_fill(0x0e);
        op->has_spender = true;
        op->allowance = 1;
        op->has_expires_at = true;
        op->expires_at = 1800000000000000000ULL;
        op->fee = 10000;
        return true;
    case 11: /* approve with only expected_allowance */
        op->kind = OP_APPROVE;
        op->from = acct_fill(0x0f);
        op->spender = acct_fill(0x10);
        op->has_spender = true;
        op->allowance = 2;
        op->has_expected_allowance = true;
        op->expected_allowance = 3;
        op->fee = 10000;
        return true;
    case 12: /* the mainnet block */
        *b = mainnet_block();
        return true;
    case 13: /* vector 28 */
        *b = block_v28();
        return true;
    default:
        return false;
    }
}

#define ROUND_TRIP_CASES 14

START_TEST(round_trip)
{
    block_t b;
    ck_assert(round_trip_case(_i, &b));
    uint8_t enc[BLOCK_ENCODED_MAX], again[BLOCK_ENCODED_MAX];
    size_t n = encode_ok(&b, enc);
    ck_assert_uint_le(n, BLOCK_ENCODED_MAX);
    block_t d = decode_ok(enc, n);
    ck_assert_msg(block_eq(&b, &d), "case %d does not round-trip", _i);
    ck_assert_uint_eq(encode_ok(&d, again), n);
    ck_assert_mem_eq(again, enc, n);

    /* the transaction hash depends only on the transaction, and survives the round trip */
    uint8_t h1[32], h2[32];
    transaction_hash(&b.tx, h1);
    transaction_hash(&d.tx, h2);
    ck_assert_mem_eq(h1, h2, 32);
}
END_TEST

START_TEST(round_trip_cases_exhausted)
{
    block_t b;
    ck_assert(!round_trip_case(ROUND_TRIP_CASES, &b));
}
END_TEST

/* Every strict prefix of a valid encoding is rejected (the transaction is the last top-level
 * field, so a prefix either cuts into it or lacks it). */
START_TEST(decode_rejects_prefixes)
{
    block_t b;
    ck_assert(round_trip_case(_i, &b));
    uint8_t enc[BLOCK_ENCODED_MAX];
    size_t n = encode_ok(&b, enc);
    for (size_t len = 0; len < n; len++) {
        /* copy into an exact-size heap block so ASan sees any read past the end */
        uint8_t *p = malloc(len ? len : 1);
        ck_assert_ptr_nonnull(p);
        memcpy(p, enc, len);
        assert_decode_fails(p, len);
        free(p);
    }
}
END_TEST

/* ---- the history page as text against the jansson tree -------------------------------------- */

/* The page as the ledger built it before render_history_page: a jansson tree, dumped compact. */
static char *page_by_jansson(const account_id_t *acc, uint64_t balance,
                             const stored_block_t *blocks, size_t n, const uint64_t *next,
                             const uint64_t *oldest)
{
    nns_error_t err;
    json_t *items = render_blocks(blocks, n, &err);
    ck_assert_ptr_nonnull(items);
    json_t *o = json_object();
    json_object_set_new(o, "account_identifier", render_account(acc));
    json_object_set_new(o, "balance_e8s", json_u64(balance));
    json_object_set_new(o, "items", items);
    json_object_set_new(o, "next_cursor", next ? json_u64(*next) : json_null());
    json_object_set_new(o, "oldest_tx_id", oldest ? json_u64(*oldest) : json_null());
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    ck_assert_ptr_nonnull(text);
    return text;
}

static void assert_page_same(const account_id_t *acc, uint64_t balance,
                             const stored_block_t *blocks, size_t n, const uint64_t *next,
                             const uint64_t *oldest)
{
    nns_error_t err;
    char *want = page_by_jansson(acc, balance, blocks, n, next, oldest), *got = NULL;
    size_t len = 0;
    ck_assert(render_history_page(acc, balance, blocks, n, next, oldest, &got, &len, &err));
    ck_assert_uint_eq(len, strlen(got));
    ck_assert_str_eq(got, want);
    free(got);
    free(want);
}

/* Every operation shape alone, in pages with and without a next cursor and an oldest height,
 * and all of them in one page. */
START_TEST(history_page_text)
{
    static stored_block_t blocks[ROUND_TRIP_CASES];
    account_id_t acc = acct(ACC_D360);
    for (int i = 0; i < ROUND_TRIP_CASES; i++) {
        block_t b;
        ck_assert(round_trip_case(i, &b));
        stored_block_t *sb = &blocks[i];
        memset(sb, 0, sizeof *sb);
        sb->height = i == 0 ? 0 : UINT64_MAX - (uint64_t)i * 1000003u;
        memset(sb->hash, 0xa0 + i, 32);
        sb->hash[0] = (uint8_t)i;
        transaction_hash(&b.tx, sb->tx_hash);
        sb->raw_len = encode_ok(&b, sb->raw);
        uint64_t next = sb->height, oldest = (uint64_t)i;
        assert_page_same(&acc, (uint64_t)i * 77777777u, sb, 1, NULL, NULL);
        assert_page_same(&acc, UINT64_MAX, sb, 1, &next, &oldest);
        assert_page_same(&acc, 0, sb, 1, NULL, &oldest);
    }
    uint64_t next = 12345, oldest = 0;
    assert_page_same(&acc, 10000, blocks, ROUND_TRIP_CASES, &next, &oldest);
    assert_page_same(&acc, 10000, blocks, 0, NULL, NULL);
    assert_page_same(&acc, 10000, blocks, 0, NULL, &oldest);
}
END_TEST

/* A stored block that does not decode fails the page with 500 "CorruptState", like the tree. */
START_TEST(history_page_corrupt_block)
{
    static stored_block_t blocks[2];
    block_t b;
    ck_assert(round_trip_case(3, &b));
    blocks[0].raw_len = encode_ok(&b, blocks[0].raw);
    blocks[1] = blocks[0];
    blocks[1].height = 7;
    blocks[1].raw_len = blocks[1].raw_len / 2;
    account_id_t acc = acct(ACC_D360);
    nns_error_t err;
    char *text = NULL;
    size_t len = 0;
    ck_assert(!render_history_page(&acc, 1, blocks, 2, NULL, NULL, &text, &len, &err));
    ck_assert_ptr_null(text);
    ck_assert_int_eq(err.status, 500);
    ck_assert_str_eq(err.code, "CorruptState");
    ck_assert_ptr_null(render_blocks(blocks, 2, &err));
}
END_TEST

/* ---- a tiny protobuf writer for hand-made (often malformed) inputs ------------------------ */

typedef struct {
    uint8_t b[BLOCK_ENCODED_MAX];
    size_t n;
} pbuf_t;

static void put_raw(pbuf_t *p, const void *bytes, size_t len)
{
    ck_assert_uint_le(len, sizeof p->b - p->n);
    memcpy(p->b + p->n, bytes, len);
    p->n += len;
}

static void put_varint(pbuf_t *p, uint64_t v)
{
    do {
        uint8_t byte = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            byte |= 0x80;
        put_raw(p, &byte, 1);
    } while (v);
}

static void put_key(pbuf_t *p, unsigned field, unsigned wire_type)
{
    put_varint(p, ((uint64_t)field << 3) | wire_type);
}

/* A varint field, written even when 0. */
static void put_u64(pbuf_t *p, unsigned field, uint64_t v)
{
    put_key(p, field, 0);
    put_varint(p, v);
}

static void put_bytes(pbuf_t *p, unsigned field, const void *bytes, size_t len)
{
    put_key(p, field, 2);
    put_varint(p, len);
    put_raw(p, bytes, len);
}

static void put_msg(pbuf_t *p, unsigned field, const pbuf_t *sub)
{
    put_bytes(p, field, sub->b, sub->n);
}

/* Message {1: v} as prost writes it (0 omitted): Tokens, TimeStamp, Memo. */
static pbuf_t pb_u64msg(uint64_t v)
{
    pbuf_t m = {.n = 0};
    if (v)
        put_u64(&m, 1, v);
    return m;
}

/* AccountIdentifier{1: len bytes of fill}. */
static pbuf_t pb_account_raw(size_t len, uint8_t fill)
{
    uint8_t bytes[64];
    ck_assert_uint_le(len, sizeof bytes);
    memset(bytes, fill, len);
    pbuf_t m = {.n = 0};
    put_bytes(&m, 1, bytes, len);
    return m;
}

/* AccountIdentifier in its 32-byte checksummed form. */
static pbuf_t pb_account32(uint8_t fill)
{
    account_id_t id = acct_fill(fill);
    uint8_t addr[32];
    account_id_to_address(&id, addr);
    pbuf_t m = {.n = 0};
    put_bytes(&m, 1, addr, sizeof addr);
    return m;
}

/* Block{2: TimeStamp{ts}, 3: tx}. */
static pbuf_t pb_block(uint64_t ts, const pbuf_t *tx)
{
    pbuf_t blk = {.n = 0}, t = pb_u64msg(ts);
    put_msg(&blk, 2, &t);
    put_msg(&blk, 3, tx);
    return blk;
}

/* Transaction{field: op} with nothing else. */
static pbuf_t pb_tx_with(unsigned field, const pbuf_t *op)
{
    pbuf_t tx = {.n = 0};
    put_msg(&tx, field, op);
    return tx;
}

static void assert_pb_fails(const pbuf_t *p)
{
    assert_decode_fails(p->b, p->n);
}

static block_t pb_decode_ok(const pbuf_t *p)
{
    return decode_ok(p->b, p->n);
}

/* A Send{from, to, amount} body, the base of several cases. */
static pbuf_t pb_send_base(void)
{
    pbuf_t send = {.n = 0}, a = pb_account_raw(28, 0x00), b = pb_account32(0x11),
           amt = pb_u64msg(1);
    put_msg(&send, 1, &a);
    put_msg(&send, 2, &b);
    put_msg(&send, 3, &amt);
    return send;
}

/* ---- decoder: accepted variations --------------------------------------------------------- */

START_TEST(decode_missing_fee_and_memo)
{
    pbuf_t send = pb_send_base();
    pbuf_t tx = pb_tx_with(3, &send), blk = pb_block(7, &tx);
    block_t b = pb_decode_ok(&blk);
    ck_assert_int_eq(b.tx.op.kind, OP_TRANSFER);
    ck_assert_uint_eq(b.tx.op.fee, 10000);
    ck_assert_uint_eq(b.tx.op.amount, 1);
    ck_assert(!b.tx.op.has_spender);
    ck_assert_uint_eq(b.tx.memo, 0);
    ck_assert_uint_eq(b.timestamp, 7);
    ck_assert(!b.has_parent);
    ck_assert(!b.tx.has_created_at_time);
    ck_assert(!b.tx.has_icrc1_memo);
    account_id_t zero = acct_fill(0), ones = acct_fill(0x11);
    ck_assert(account_eq(&b.tx.op.from, &zero));
    ck_assert(account_eq(&b.tx.op.to, &ones));

    /* an explicit empty max_fee is fee 0, not the default */
    pbuf_t fee = pb_u64msg(0);
    put_msg(&send, 4, &fee);
    tx = pb_tx_with(3, &send);
    blk = pb_block(7, &tx);
    b = pb_decode_ok(&blk);
    ck_assert_uint_eq(b.tx.op.fee, 0);
}
END_TEST

START_TEST(decode_accepts_bare_hash28)
{
    pbuf_t mint = {.n = 0}, to = pb_account_raw(28, 0x00), amt = pb_u64msg(0);
    put_msg(&mint, 2, &to);
    put_msg(&mint, 3, &amt);
    pbuf_t tx = pb_tx_with(2, &mint), blk = pb_block(1, &tx);
    block_t b = pb_decode_ok(&blk);
    ck_assert_int_eq(b.tx.op.kind, OP_MINT);
    ck_assert_uint_eq(b.tx.op.amount, 0);
    account_id_t zero = acct_fill(0);
    ck_assert(account_eq(&b.tx.op.to, &zero));
}
END_TEST

START_TEST(decode_skips_unknown_fields)
{
    block_t want = block_v28();
    uint8_t v28[BLOCK_ENCODED_MAX];
    size_t n28 = unhex(V28_HEX, v28, sizeof v28);

    /* top level: fields 9 varint, 10 fixed64, 11 fixed32, 12 bytes, before and after */
    pbuf_t p = {.n = 0};
    static const uint8_t extra[] = {0x48, 0x01, 0x51, 1, 2, 3, 4,    5,    6,    7,
                                    8,    0x5d, 1,    2, 3, 4, 0x62, 0x02, 0x68, 0x69};
    put_raw(&p, extra, sizeof extra);
    put_raw(&p, v28, n28);
    put_raw(&p, extra, sizeof extra);
    block_t d = pb_decode_ok(&p);
    ck_assert(block_eq(&want, &d));

    /* inside: Send with field 9, Transaction with the obsolete created_at (5) and field 15,
     * AccountIdentifier, Tokens and TimeStamp with field 2 */
    pbuf_t acc_from = pb_account32(0x21), acc_to = pb_account32(0x22);
    put_u64(&acc_from, 2, 1);
    pbuf_t amt = pb_u64msg(5), fee = pb_u64msg(6), cat = pb_u64msg(8), ts = pb_u64msg(9);
    put_u64(&amt, 2, 77);
    put_u64(&cat, 7, 1);
    pbuf_t send = {.n = 0};
    put_msg(&send, 1, &acc_from);
    put_u64(&send, 9, 5);
    put_msg(&send, 2, &acc_to);
    put_msg(&send, 3, &amt);
    put_msg(&send, 4, &fee);
    pbuf_t created_at = pb_u64msg(3), memo = pb_u64msg(4);
    pbuf_t tx = pb_tx_with(3, &send);
    put_msg(&tx, 4, &memo);
    put_msg(&tx, 5, &created_at);
    put_msg(&tx, 6, &cat);
    put_u64(&tx, 15, 1);
    pbuf_t blk = {.n = 0};
    put_msg(&blk, 2, &ts);
    put_msg(&blk, 3, &tx);
    d = pb_decode_ok(&blk);
    ck_assert_int_eq(d.tx.op.kind, OP_TRANSFER);
    account_id_t f21 = acct_fill(0x21), f22 = acct_fill(0x22);
    ck_assert(account_eq(&d.tx.op.from, &f21));
    ck_assert(account_eq(&d.tx.op.to, &f22));
    ck_assert_uint_eq(d.tx.op.amount, 5);
    ck_assert_uint_eq(d.tx.op.fee, 6);
    ck_assert_uint_eq(d.tx.memo, 4);
    ck_assert(d.tx.has_created_at_time);
    ck_assert_uint_eq(d.tx.created_at_time, 8);
    ck_assert_uint_eq(d.timestamp, 9);

    /* fields of the other operation messages are unknown to this one: Mint's field 1 and
     * Burn's field 2 are skipped, so these lack their account */
    pbuf_t mint = {.n = 0}, a = pb_account32(1), m = pb_u64msg(1);
    put_msg(&mint, 1, &a);
    put_msg(&mint, 3, &m);
    tx = pb_tx_with(2, &mint);
    blk = pb_block(1, &tx);
    assert_pb_fails(&blk);
    pbuf_t burn = {.n = 0};
    put_msg(&burn, 2, &a);
    put_msg(&burn, 3, &m);
    tx = pb_tx_with(1, &burn);
    blk = pb_block(1, &tx);
    assert_pb_fails(&blk);
}
END_TEST

START_TEST(decode_last_field_wins)
{
    uint8_t v28[BLOCK_ENCODED_MAX];
    size_t n28 = unhex(V28_HEX, v28, sizeof v28);
    pbuf_t t5 = pb_u64msg(5);

    pbuf_t p = {.n = 0};
    put_msg(&p, 2, &t5);
    put_raw(&p, v28, n28);
    block_t b = pb_decode_ok(&p);
    ck_assert_uint_eq(b.timestamp, 1621901572293430780ULL);

    p.n = 0;
    put_raw(&p, v28, n28);
    put_msg(&p, 2, &t5);
    b = pb_decode_ok(&p);
    ck_assert_uint_eq(b.timestamp, 5);

    /* a Send extension written as Approve then TransferFrom is a transfer_from, and the other
     * way round an approve */
    pbuf_t approve = {.n = 0}, allowance = pb_u64msg(9);
    put_msg(&approve, 1, &allowance);
    pbuf_t xfrom = {.n = 0}, sp = pb_account32(0x33);
    put_msg(&xfrom, 1, &sp);
    pbuf_t send = pb_send_base();
    put_msg(&send, 5, &approve);
    put_msg(&send, 6, &xfrom);
    pbuf_t tx = pb_tx_with(3, &send), blk = pb_block(1, &tx);
    b = pb_decode_ok(&blk);
    ck_assert_int_eq(b.tx.op.kind, OP_TRANSFER);
    ck_assert(b.tx.op.has_spender);
    ck_assert_uint_eq(b.tx.op.allowance, 0);
    send = pb_send_base();
    put_msg(&send, 6, &xfrom);
    put_msg(&send, 5, &approve);
    tx = pb_tx_with(3, &send);
    blk = pb_block(1, &tx);
    b = pb_decode_ok(&blk);
    ck_assert_int_eq(b.tx.op.kind, OP_APPROVE);
    ck_assert_uint_eq(b.tx.op.allowance, 9);
    account_id_t f11 = acct_fill(0x11);
    ck_assert(account_eq(&b.tx.op.spender, &f11)); /* Send.to, not the TransferFrom spender */
}
END_TEST

START_TEST(decode_null_err)
{
    block_t b;
    static const uint8_t junk[] = {0xff};
    ck_assert(!block_decode(junk, sizeof junk, &b, NULL));
    ck_assert(!block_decode(NULL, 0, &b, NULL));
}
END_TEST

/* ---- decoder: rejections ------------------------------------------------------------------ */

START_TEST(decode_rejects_wire_errors)
{
    assert_decode_hex_fails("");                         /* lacks timestamp and transaction */
    assert_decode_hex_fails("1200");                     /* lacks a transaction */
    assert_decode_hex_fails("1a00");                     /* lacks a timestamp */
    assert_decode_hex_fails("12001a00");                 /* transaction lacks an operation */
    assert_decode_hex_fails("12001a022200");             /* memo only */
    assert_decode_hex_fails("0008");                     /* field number 0 */
    assert_decode_hex_fails("0b");                       /* group start wire type */
    assert_decode_hex_fails("0c");                       /* group end wire type */
    assert_decode_hex_fails("1e");                       /* wire type 6 */
    assert_decode_hex_fails("1f");                       /* wire type 7 */
    assert_decode_hex_fails("4880808080808080808002");   /* varint over 64 bits */
    assert_decode_hex_fails("48ffffffffffffffffffff01"); /* varint over 10 bytes */
    assert_decode_hex_fails("4880");                     /* truncated varint */
    assert_decode_hex_fails("1208");                     /* length past the end */
    assert_decode_hex_fails("12ffffffffffffffffff01");   /* huge length */
    assert_decode_hex_fails("51010203");                 /* truncated fixed64 */
    assert_decode_hex_fails("5d0102");                   /* truncated fixed32 */
    assert_decode_hex_fails("1001");                     /* timestamp as a varint */
    assert_decode_hex_fails("12020a001a00");             /* TimeStamp.1 as bytes */
}
END_TEST

START_TEST(decode_rejects_bad_parent)
{
    uint8_t v28[BLOCK_ENCODED_MAX];
    size_t n28 = unhex(V28_HEX, v28, sizeof v28);
    static const size_t lens[] = {0, 1, 31, 33, 64};
    for (size_t i = 0; i < ARRAY_LEN(lens); i++) {
        pbuf_t hash = pb_account_raw(lens[i], 0xab); /* Hash{1: bytes} has the same shape */
        pbuf_t p = {.n = 0};
        put_msg(&p, 1, &hash);
        put_raw(&p, v28, n28);
        assert_pb_fails(&p);
    }
    pbuf_t empty = {.n = 0}, p = {.n = 0};
    put_msg(&p, 1, &empty); /* Hash{} */
    put_raw(&p, v28, n28);
    assert_pb_fails(&p);
    p.n = 0;
    put_u64(&p, 1, 5); /* parent_hash as a varint */
    put_raw(&p, v28, n28);
    assert_pb_fails(&p);
}
END_TEST

START_TEST(decode_rejects_bad_accounts)
{
    /* Mint{to: X, amount: {}} for bad X: lengths other than 28 and 32, a bad checksum */
    static const size_t lens[] = {0, 1, 27, 29, 31, 33};
    pbuf_t amt = pb_u64msg(0);
    for (size_t i = 0; i < ARRAY_LEN(lens) + 1; i++) {
        pbuf_t to = i < ARRAY_LEN(lens) ? pb_account_raw(lens[i], 0x00)
                                        : pb_account_raw(32, 0x00); /* checksum 00000000 */
        pbuf_t mint = {.n = 0};
        put_msg(&mint, 2, &to);
        put_msg(&mint, 3, &amt);
        pbuf_t tx = pb_tx_with(2, &mint), blk = pb_block(1, &tx);
        assert_pb_fails(&blk);
    }
    /* a valid 32-byte form with one byte of the hash changed */
    pbuf_t to = pb_account32(0x42);
    to.b[to.n - 1] ^= 1;
    pbuf_t mint = {.n = 0};
    put_msg(&mint, 2, &to);
    put_msg(&mint, 3, &amt);
    pbuf_t tx = pb_tx_with(2, &mint), blk = pb_block(1, &tx);
    assert_pb_fails(&blk);
    to.b[to.n - 1] ^= 1;
    mint.n = 0;
    put_msg(&mint, 2, &to);
    put_msg(&mint, 3, &amt);
    tx = pb_tx_with(2, &mint);
    blk = pb_block(1, &tx);
    (void)pb_decode_ok(&blk);
}
END_TEST

START_TEST(decode_rejects_missing_parts)
{
    pbuf_t acc = pb_account32(0x01), amt = pb_u64msg(3);
    pbuf_t m = {.n = 0};

    /* Burn{amount} without from; Burn{from} without amount */
    put_msg(&m, 3, &amt);
    pbuf_t tx = pb_tx_with(1, &m), blk = pb_block(1, &tx);
    assert_pb_fails(&blk);
    m.n = 0;
    put_msg(&m, 1, &acc);
    tx = pb_tx_with(1, &m);
    blk = pb_block(1, &tx);
    assert_pb_fails(&blk);

    /* Mint{amount} without to; Mint{to} without amount */
    m.n = 0;
    put_msg(&m, 3, &amt);
    tx = pb_tx_with(2, &m);
    blk = pb_block(1, &tx);
    assert_pb_fails(&blk);
    m.n = 0;
    put_msg(&m, 2, &acc);
    tx = pb_tx_with(2, &m);
    blk = pb_block(1, &tx);
    assert_pb_fails(&blk);

    /* Send without to, without from, without amount */
    for (unsigned skip = 1; skip <= 3; skip++) {
        m.n = 0;
        for (unsigned f = 1; f <= 3; f++) {
            if (f == skip)
                continue;
            put_msg(&m, f, f == 3 ? &amt : &acc);
        }
        tx = pb_tx_with(3, &m);
        blk = pb_block(1, &tx);
        assert_pb_fails(&blk);
    }

    /* Approve{} lacks an allowance; TransferFrom{} lacks a spender */
    pbuf_t empty = {.n = 0};
    for (unsigned ext = 5; ext <= 6; ext++) {
        m = pb_send_base();
        put_msg(&m, ext, &empty);
        tx = pb_tx_with(3, &m);
        blk = pb_block(1, &tx);
        assert_pb_fails(&blk);
    }

    /* an operation given as a varint */
    pbuf_t t = {.n = 0};
    put_u64(&t, 3, 1);
    blk = pb_block(1, &t);
    assert_pb_fails(&blk);
}
END_TEST

START_TEST(decode_icrc1_memo_limits)
{
    pbuf_t mint = {.n = 0}, to = pb_account32(0x01), amt = pb_u64msg(1);
    put_msg(&mint, 2, &to);
    put_msg(&mint, 3, &amt);
    uint8_t memo[40];
    for (size_t i = 0; i < sizeof memo; i++)
        memo[i] = (uint8_t)i;
    for (size_t len = 0; len <= 33; len++) {
        pbuf_t icrc1 = {.n = 0};
        put_bytes(&icrc1, 1, memo, len);
        pbuf_t tx = pb_tx_with(2, &mint);
        put_msg(&tx, 7, &icrc1);
        pbuf_t blk = pb_block(1, &tx);
        if (len > ICRC1_MEMO_MAX) {
            assert_pb_fails(&blk);
            continue;
        }
        block_t b = pb_decode_ok(&blk);
        ck_assert(b.tx.has_icrc1_memo);
        ck_assert_uint_eq(b.tx.icrc1_memo_len, len);
        ck_assert_mem_eq(b.tx.icrc1_memo, memo, len);
    }
    /* an empty Icrc1Memo submessage is a present, empty memo */
    pbuf_t empty = {.n = 0};
    pbuf_t tx = pb_tx_with(2, &mint);
    put_msg(&tx, 7, &empty);
    pbuf_t blk = pb_block(1, &tx);
    block_t b = pb_decode_ok(&blk);
    ck_assert(b.tx.has_icrc1_memo);
    ck_assert_uint_eq(b.tx.icrc1_memo_len, 0);
    /* and it is written back as 3a 00 */
    uint8_t enc[BLOCK_ENCODED_MAX];
    size_t n = encode_ok(&b, enc);
    ck_assert_uint_eq(enc[n - 2], 0x3a);
    ck_assert_uint_eq(enc[n - 1], 0x00);
}
END_TEST

/* A small deterministic PRNG (xorshift64*), so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Whatever decodes must re-encode and decode to the same block. */
static void check_decoded_is_consistent(const uint8_t *p, size_t len)
{
    block_t b;
    nns_error_t err = {0};
    if (!block_decode(p, len, &b, &err)) {
        ck_assert_str_eq(err.code, "InvalidBlock");
        ck_assert_int_eq(err.status, 400);
        return;
    }
    uint8_t enc[BLOCK_ENCODED_MAX];
    size_t n = encode_ok(&b, enc);
    block_t again = decode_ok(enc, n);
    ck_assert(block_eq(&b, &again));
}

START_TEST(decode_random_garbage)
{
    rng_state = 0x9e3779b97f4a7c15ULL;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = (size_t)(rng_next() % 200);
        uint8_t *p = malloc(len ? len : 1);
        ck_assert_ptr_nonnull(p);
        for (size_t i = 0; i < len; i++)
            p[i] = (uint8_t)rng_next();
        check_decoded_is_consistent(p, len);
        free(p);
    }
}
END_TEST

/* Random byte edits of valid encodings reach deeper into the decoder than pure noise. */
START_TEST(decode_mutated_blocks)
{
    rng_state = 0x1234567887654321ULL + (uint64_t)_i;
    block_t b;
    ck_assert(round_trip_case(_i, &b));
    uint8_t enc[BLOCK_ENCODED_MAX];
    size_t n = encode_ok(&b, enc);
    for (int iter = 0; iter < 3000; iter++) {
        uint8_t *p = malloc(n);
        ck_assert_ptr_nonnull(p);
        memcpy(p, enc, n);
        int edits = 1 + (int)(rng_next() % 3);
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)(rng_next() % n);
            if (rng_next() % 2)
                p[at] ^= (uint8_t)(1u << (rng_next() % 8));
            else
                p[at] = (uint8_t)rng_next();
        }
        size_t len = rng_next() % 4 == 0 ? (size_t)(rng_next() % (n + 1)) : n;
        check_decoded_is_consistent(p, len);
        free(p);
    }
}
END_TEST

/* Blocks the ledger never builds are refused rather than half-written. */
START_TEST(encode_rejects_invalid_blocks)
{
    uint8_t out[BLOCK_ENCODED_MAX];
    block_t b = mainnet_block();
    b.tx.has_icrc1_memo = true;
    b.tx.icrc1_memo_len = ICRC1_MEMO_MAX + 1;
    ck_assert_uint_eq(block_encode(&b, out, sizeof out), 0);
    ck_assert_uint_eq(transaction_cbor(&b.tx, out, sizeof out), 0);

    b = mainnet_block();
    b.tx.op.kind = (op_kind_t)7;
    ck_assert_uint_eq(block_encode(&b, out, sizeof out), 0);
    ck_assert_uint_eq(transaction_cbor(&b.tx, out, sizeof out), 0);
    ck_assert_str_eq(op_kind_name(b.tx.op.kind), "unknown");

    nns_error_t err = {0};
    ck_assert(!block_decode(NULL, 5, &b, &err));
    ck_assert_str_eq(err.code, "InvalidBlock");
}
END_TEST

START_TEST(op_kind_names)
{
    ck_assert_str_eq(op_kind_name(OP_BURN), "burn");
    ck_assert_str_eq(op_kind_name(OP_MINT), "mint");
    ck_assert_str_eq(op_kind_name(OP_TRANSFER), "transfer");
    ck_assert_str_eq(op_kind_name(OP_APPROVE), "approve");
}
END_TEST

static Suite *block_suite(void)
{
    Suite *s = suite_create("block");

    TCase *tc = tcase_create("mainnet");
    tcase_add_test(tc, mainnet_block_hash);
    tcase_add_test(tc, mainnet_tx_hash);
    tcase_add_test(tc, mainnet_without_created_at_time);
    tcase_add_test(tc, mainnet_round_trip);
    suite_add_tcase(s, tc);

    tc = tcase_create("transaction_hash");
    tcase_add_test(tc, tx_hash_v25);
    tcase_add_test(tc, tx_hash_v26_icrc1_memo);
    tcase_add_test(tc, tx_hash_v27_approve);
    tcase_add_test(tc, tx_cbor_shapes);
    tcase_add_test(tc, tx_cbor_capacity);
    suite_add_tcase(s, tc);

    tc = tcase_create("encoding");
    tcase_add_test(tc, block_v28_no_parent);
    tcase_add_test(tc, block_v29_child_mint);
    tcase_add_test(tc, block_encode_capacity);
    tcase_add_test(tc, op_kind_names);
    tcase_add_test(tc, encode_rejects_invalid_blocks);
    suite_add_tcase(s, tc);

    tc = tcase_create("round_trip");
    tcase_add_loop_test(tc, round_trip, 0, ROUND_TRIP_CASES);
    tcase_add_test(tc, round_trip_cases_exhausted);
    suite_add_tcase(s, tc);

    tc = tcase_create("decode");
    tcase_add_test(tc, decode_missing_fee_and_memo);
    tcase_add_test(tc, decode_accepts_bare_hash28);
    tcase_add_test(tc, decode_skips_unknown_fields);
    tcase_add_test(tc, decode_last_field_wins);
    tcase_add_test(tc, decode_null_err);
    tcase_add_test(tc, decode_rejects_wire_errors);
    tcase_add_test(tc, decode_rejects_bad_parent);
    tcase_add_test(tc, decode_rejects_bad_accounts);
    tcase_add_test(tc, decode_rejects_missing_parts);
    tcase_add_test(tc, decode_icrc1_memo_limits);
    tcase_add_loop_test(tc, decode_rejects_prefixes, 0, ROUND_TRIP_CASES);
    suite_add_tcase(s, tc);

    tc = tcase_create("history_page");
    tcase_add_test(tc, history_page_text);
    tcase_add_test(tc, history_page_corrupt_block);
    suite_add_tcase(s, tc);

    tc = tcase_create("robustness");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, decode_random_garbage);
    tcase_add_loop_test(tc, decode_mutated_blocks, 0, ROUND_TRIP_CASES);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (!crypto_init()) {
        fprintf(stderr, "check_block: crypto_init failed\n");
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(block_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
