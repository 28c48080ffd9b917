/*
 * Unit tests of the ledger state machine (spec/ledger.md sections 3.1-3.5): no database, no
 * network. Each test builds a ledger, funds accounts with genesis mints, and applies commands in
 * rounds.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "ledger.h"

#define T0 1700000000000000000ULL
#define SEC 1000000000ULL
#define FEE 10000ULL

static ledger_t *L;
static principal_t alice, bob, gov;
static account_id_t alice_acc, bob_acc, mint_acc;

static void user(uint8_t n, principal_t *p, account_id_t *a)
{
    uint8_t der[44] = {0};
    der[43] = n;
    principal_self_authenticating(der, sizeof der, p);
    account_id_of(p, NULL, a);
}

static void apply_ok(ledger_round_t *r, const transfer_args_t *a, uint64_t now, uint64_t *h)
{
    nns_error_t err;
    nns_error_clear(&err);
    uint64_t height = 0;
    ck_assert_msg(ledger_apply_transfer(L, r, a, now, &height, &err), "refused: %s %s", err.code,
                  err.detail);
    if (h)
        *h = height;
}

static void setup(void)
{
    ck_assert(crypto_init());
    ledger_config_t cfg = {
        .fee_e8s = FEE, .window_nanos = 86400ULL * SEC, .max_in_window = 3000000};
    principal_canister(CANISTER_GOVERNANCE, &gov);
    account_id_of(&gov, NULL, &cfg.minting_account);
    mint_acc = cfg.minting_account;
    L = ledger_new(&cfg);
    ck_assert_ptr_nonnull(L);
    user(1, &alice, &alice_acc);
    user(2, &bob, &bob_acc);
    ledger_round_t *r = ledger_round_begin(L);
    nns_error_t err;
    uint64_t h;
    ck_assert(ledger_apply_mint(L, r, &alice_acc, 100 * 100000000ULL, T0, &h, &err));
    ck_assert_uint_eq(h, 0);
    ledger_round_commit(L, &r);
    ck_assert_ptr_null(r);
}

static void teardown(void)
{
    ledger_destroy(&L);
}

static transfer_args_t legacy(const principal_t *from, const account_id_t *to, uint64_t amount,
                              uint64_t fee, uint64_t memo)
{
    transfer_args_t a;
    memset(&a, 0, sizeof a);
    a.kind = TRANSFER_LEGACY;
    a.caller = *from;
    a.to = *to;
    a.amount = amount;
    a.has_fee = true;
    a.fee = fee;
    a.memo = memo;
    return a;
}

static transfer_args_t icrc1(const principal_t *from, const account_id_t *to, uint64_t amount)
{
    transfer_args_t a;
    memset(&a, 0, sizeof a);
    a.kind = TRANSFER_ICRC1;
    a.caller = *from;
    a.to = *to;
    a.amount = amount;
    return a;
}

static uint64_t balance(const account_id_t *a)
{
    uint64_t b, c;
    ledger_balance(L, a, &b, &c);
    return b;
}

START_TEST(test_legacy_transfer_moves_amount_and_burns_fee)
{
    ledger_round_t *r = ledger_round_begin(L);
    transfer_args_t a = legacy(&alice, &bob_acc, 5 * 100000000ULL, FEE, 7);
    uint64_t h;
    apply_ok(r, &a, T0 + SEC, &h);
    ck_assert_uint_eq(h, 1);
    /* not visible before commit */
    ck_assert_uint_eq(balance(&bob_acc), 0);
    ledger_round_commit(L, &r);
    ck_assert_uint_eq(balance(&bob_acc), 5 * 100000000ULL);
    ck_assert_uint_eq(balance(&alice_acc), 95 * 100000000ULL - FEE);
    ledger_info_t info;
    ledger_info(L, &info);
    ck_assert_uint_eq(info.chain_length, 2);
    ck_assert_uint_eq(info.fees_burned, FEE);
    ck_assert_uint_eq(info.total_supply, 100 * 100000000ULL - FEE);
    nns_error_t err;
    ck_assert(ledger_check(L, &err));
}
END_TEST

START_TEST(test_discarded_round_leaves_state)
{
    ledger_round_t *r = ledger_round_begin(L);
    transfer_args_t a = legacy(&alice, &bob_acc, 1000, FEE, 1);
    apply_ok(r, &a, T0 + SEC, NULL);
    ledger_round_discard(L, &r);
    ck_assert_uint_eq(balance(&bob_acc), 0);
    ledger_info_t info;
    ledger_info(L, &info);
    ck_assert_uint_eq(info.chain_length, 1);
    /* the same transaction is not a duplicate of a block that never committed */
    r = ledger_round_begin(L);
    uint64_t h;
    apply_ok(r, &a, T0 + SEC, &h);
    ck_assert_uint_eq(h, 1);
    ledger_round_commit(L, &r);
}
END_TEST

START_TEST(test_bad_fee)
{
    ledger_round_t *r = ledger_round_begin(L);
    nns_error_t err;
    uint64_t h;
    transfer_args_t a = legacy(&alice, &bob_acc, 1, FEE - 1, 0);
    ck_assert(!ledger_apply_transfer(L, r, &a, T0, &h, &err));
    ck_assert_str_eq(err.code, "BadFee");
    ck_assert_int_eq(err.status, 422);
    ck_assert_str_eq(err.payload[0].name, "expected_fee_e8s");
    ck_assert_uint_eq(err.payload[0].value, FEE);
    transfer_args_t b = icrc1(&alice, &bob_acc, 1);
    b.has_fee = true;
    b.fee = 1;
    ck_assert(!ledger_apply_transfer(L, r, &b, T0, &h, &err));
    ck_assert_str_eq(err.code, "BadFee");
    /* ICRC-1 without a fee pays the ledger fee */
    b.has_fee = false;
    apply_ok(r, &b, T0, NULL);
    ledger_round_commit(L, &r);
    ck_assert_uint_eq(balance(&alice_acc), 100 * 100000000ULL - 1 - FEE);
}
END_TEST

START_TEST(test_insufficient_funds_and_overflow)
{
    ledger_round_t *r = ledger_round_begin(L);
    nns_error_t err;
    uint64_t h;
    transfer_args_t a = legacy(&bob, &alice_acc, 1, FEE, 0);
    ck_assert(!ledger_apply_transfer(L, r, &a, T0, &h, &err));
    ck_assert_str_eq(err.code, "InsufficientFunds");
    ck_assert_str_eq(err.payload[0].name, "balance_e8s");
    ck_assert_uint_eq(err.payload[0].value, 0);
    /* amount + fee overflows u64: InsufficientFunds, not a wrap-around */
    transfer_args_t b = legacy(&alice, &bob_acc, UINT64_MAX - 5, FEE, 0);
    ck_assert(!ledger_apply_transfer(L, r, &b, T0, &h, &err));
    ck_assert_str_eq(err.code, "InsufficientFunds");
    ck_assert_uint_eq(err.payload[0].value, 100 * 100000000ULL);
    /* exactly the balance minus the fee works and empties the account */
    transfer_args_t c = legacy(&alice, &bob_acc, 100 * 100000000ULL - FEE, FEE, 0);
    apply_ok(r, &c, T0, NULL);
    ledger_round_commit(L, &r);
    ck_assert_uint_eq(balance(&alice_acc), 0);
}
END_TEST

START_TEST(test_self_and_zero_transfers)
{
    ledger_round_t *r = ledger_round_begin(L);
    transfer_args_t a = legacy(&alice, &alice_acc, 500, FEE, 0);
    apply_ok(r, &a, T0, NULL);
    transfer_args_t z = legacy(&alice, &bob_acc, 0, FEE, 1);
    apply_ok(r, &z, T0, NULL);
    ledger_round_commit(L, &r);
    ck_assert_uint_eq(balance(&alice_acc), 100 * 100000000ULL - 2 * FEE);
    ck_assert_uint_eq(balance(&bob_acc), 0);
    uint64_t b, count;
    ledger_balance(L, &alice_acc, &b, &count);
    ck_assert_uint_eq(count, 3); /* genesis mint, self transfer, zero transfer */
}
END_TEST

START_TEST(test_dedup_window)
{
    ledger_round_t *r = ledger_round_begin(L);
    nns_error_t err;
    uint64_t h, first;
    transfer_args_t a = icrc1(&alice, &bob_acc, 10);
    a.has_created_at_time = true;
    a.created_at_time = T0;
    apply_ok(r, &a, T0 + SEC, &first);
    /* duplicate inside the same round */
    ck_assert(!ledger_apply_transfer(L, r, &a, T0 + SEC, &h, &err));
    ck_assert_str_eq(err.code, "Duplicate");
    ck_assert_int_eq(err.status, 409);
    ck_assert_uint_eq(err.payload[0].value, first);
    ledger_round_commit(L, &r);
    /* duplicate after commit; fee given explicitly hashes the same (recorded fee) */
    r = ledger_round_begin(L);
    a.has_fee = true;
    a.fee = FEE;
    ck_assert(!ledger_apply_transfer(L, r, &a, T0 + 2 * SEC, &h, &err));
    ck_assert_str_eq(err.code, "Duplicate");
    /* legacy names */
    transfer_args_t l = legacy(&alice, &bob_acc, 10, FEE, 3);
    l.has_created_at_time = true;
    l.created_at_time = T0;
    apply_ok(r, &l, T0 + 2 * SEC, NULL);
    ck_assert(!ledger_apply_transfer(L, r, &l, T0 + 2 * SEC, &h, &err));
    ck_assert_str_eq(err.code, "TxDuplicate");
    /* a different memo is a different transaction */
    l.memo = 4;
    apply_ok(r, &l, T0 + 2 * SEC, NULL);
    ledger_round_commit(L, &r);
}
END_TEST

/* Many transactions, so that every map of the window holds some and doubles several times:
 * each is still found after its round committed, with its own block, and each leaves the window
 * when its day is over. */
START_TEST(test_dedup_window_many)
{
    /* more than two of the ring's blocks of 65,536; the older half expires first, across a
     * block's end */
    enum { N = 140000, PER_ROUND = 2000 };
    nns_error_t err;
    uint64_t h, first = 0;
    ledger_info_t info;
    const uint64_t t1 = T0 + 1000 * SEC; /* the newer half's time */
    for (uint64_t i = 0; i < N; i += PER_ROUND) {
        ledger_round_t *r = ledger_round_begin(L);
        uint64_t at = i < N / 2 ? T0 : t1;
        for (uint64_t j = i; j < i + PER_ROUND; j++) {
            transfer_args_t a = legacy(&alice, &bob_acc, 1, FEE, j);
            a.has_created_at_time = true;
            a.created_at_time = at;
            apply_ok(r, &a, at + SEC, j == 0 ? &first : NULL);
        }
        ledger_round_commit(L, &r);
    }
    ledger_info(L, &info);
    ck_assert_uint_eq(info.remembered_transactions, N);
    ledger_round_t *r = ledger_round_begin(L);
    for (uint64_t j = 0; j < N; j += 7) {
        transfer_args_t a = legacy(&alice, &bob_acc, 1, FEE, j);
        a.has_created_at_time = true;
        a.created_at_time = j < N / 2 ? T0 : t1;
        ck_assert_msg(!ledger_apply_transfer(L, r, &a, t1 + 2 * SEC, &h, &err),
                      "transaction %llu not remembered", (unsigned long long)j);
        ck_assert_str_eq(err.code, "TxDuplicate");
        ck_assert_uint_eq(err.payload[0].value, first + j);
    }
    ledger_round_discard(L, &r);
    /* past the older half's window and its drift: the newer half is still remembered */
    const uint64_t window = 86400ULL * SEC + LEDGER_PERMITTED_DRIFT_NANOS;
    uint64_t later = T0 + window + 2 * SEC;
    r = ledger_round_begin(L);
    transfer_args_t late = icrc1(&alice, &bob_acc, 1);
    late.has_created_at_time = true;
    late.created_at_time = later;
    apply_ok(r, &late, later, NULL);
    ledger_round_commit(L, &r);
    ledger_info(L, &info);
    ck_assert_uint_eq(info.remembered_transactions, N / 2 + 1);
    r = ledger_round_begin(L);
    for (uint64_t j = N / 2; j < N; j += 7) {
        transfer_args_t a = legacy(&alice, &bob_acc, 1, FEE, j);
        a.has_created_at_time = true;
        a.created_at_time = t1;
        ck_assert(!ledger_apply_transfer(L, r, &a, later, &h, &err));
        ck_assert_str_eq(err.code, "TxDuplicate");
        ck_assert_uint_eq(err.payload[0].value, first + j);
    }
    ledger_round_discard(L, &r);
    /* past the newer half's window too: the window holds the two late transfers */
    later = t1 + window + 2 * SEC;
    r = ledger_round_begin(L);
    late.created_at_time = later;
    apply_ok(r, &late, later, NULL);
    ledger_round_commit(L, &r);
    ledger_info(L, &info);
    ck_assert_uint_eq(info.remembered_transactions, 2);
}
END_TEST

START_TEST(test_too_old_and_future)
{
    ledger_round_t *r = ledger_round_begin(L);
    nns_error_t err;
    uint64_t h, now = T0 + 100000 * SEC;
    transfer_args_t a = legacy(&alice, &bob_acc, 10, FEE, 0);
    a.has_created_at_time = true;
    a.created_at_time = now - 86400 * SEC - 1;
    ck_assert(!ledger_apply_transfer(L, r, &a, now, &h, &err));
    ck_assert_str_eq(err.code, "TxTooOld");
    ck_assert_str_eq(err.payload[0].name, "allowed_window_nanos");
    ck_assert_uint_eq(err.payload[0].value, 86400ULL * SEC);
    a.created_at_time = now - 86400 * SEC; /* the edge is still inside */
    apply_ok(r, &a, now, NULL);
    a.created_at_time = now + 60 * SEC + 1;
    ck_assert(!ledger_apply_transfer(L, r, &a, now, &h, &err));
    ck_assert_str_eq(err.code, "TxCreatedInFuture");
    transfer_args_t b = icrc1(&alice, &bob_acc, 10);
    b.has_created_at_time = true;
    b.created_at_time = now + 61 * SEC;
    ck_assert(!ledger_apply_transfer(L, r, &b, now, &h, &err));
    ck_assert_str_eq(err.code, "CreatedInFuture");
    ck_assert_str_eq(err.payload[0].name, "ledger_time_nanos");
    ck_assert_uint_eq(err.payload[0].value, now);
    b.created_at_time = 0;
    ck_assert(!ledger_apply_transfer(L, r, &b, now, &h, &err));
    ck_assert_str_eq(err.code, "TooOld");
    b.created_at_time = UINT64_MAX; /* no overflow in the window arithmetic: the future */
    ck_assert(!ledger_apply_transfer(L, r, &b, now, &h, &err));
    ck_assert_str_eq(err.code, "CreatedInFuture");
    a.created_at_time = UINT64_MAX;
    ck_assert(!ledger_apply_transfer(L, r, &a, now, &h, &err));
    ck_assert_str_eq(err.code, "TxCreatedInFuture");
    a.created_at_time = UINT64_MAX - 86400 * SEC + 1;
    ck_assert(!ledger_apply_transfer(L, r, &a, now, &h, &err));
    ck_assert_str_eq(err.code, "TxCreatedInFuture");
    ledger_round_commit(L, &r);
}
END_TEST

START_TEST(test_mint_and_burn_rules)
{
    ledger_round_t *r = ledger_round_begin(L);
    nns_error_t err;
    uint64_t h;
    /* governance mints with fee 0 */
    transfer_args_t m = legacy(&gov, &bob_acc, 1000, 0, 0);
    apply_ok(r, &m, T0, NULL);
    m.fee = FEE;
    ck_assert(!ledger_apply_transfer(L, r, &m, T0, &h, &err));
    ck_assert_str_eq(err.code, "InvalidTransaction");
    transfer_args_t mm = legacy(&gov, &mint_acc, 1000, 0, 0);
    ck_assert(!ledger_apply_transfer(L, r, &mm, T0, &h, &err));
    /* legacy burn below the fee */
    transfer_args_t b = legacy(&alice, &mint_acc, FEE - 1, 0, 0);
    ck_assert(!ledger_apply_transfer(L, r, &b, T0, &h, &err));
    ck_assert_str_eq(err.code, "BadBurn");
    b.amount = FEE;
    apply_ok(r, &b, T0, NULL);
    /* ICRC-1 burn: an account holding less than the fee can burn all it has */
    transfer_args_t small = icrc1(&bob, &mint_acc, 999);
    ck_assert(!ledger_apply_transfer(L, r, &small, T0, &h, &err)); /* bob has 1000 */
    ck_assert_str_eq(err.code, "BadBurn");
    ck_assert_uint_eq(err.payload[0].value, 1000);
    small.amount = 1000;
    apply_ok(r, &small, T0, NULL);
    transfer_args_t zero = icrc1(&alice, &mint_acc, 0);
    ck_assert(!ledger_apply_transfer(L, r, &zero, T0, &h, &err));
    ck_assert_str_eq(err.code, "BadBurn");
    ck_assert_uint_eq(err.payload[0].value, FEE);
    zero.amount = 20000;
    zero.has_fee = true;
    zero.fee = FEE;
    ck_assert(!ledger_apply_transfer(L, r, &zero, T0, &h, &err));
    ck_assert_str_eq(err.code, "BadFee");
    ck_assert_uint_eq(err.payload[0].value, 0);
    ledger_round_commit(L, &r);
    ledger_info_t info;
    ledger_info(L, &info);
    ck_assert_uint_eq(info.burned, FEE + 1000);
    ck_assert_uint_eq(info.minted, 100 * 100000000ULL + 1000);
    ck_assert(ledger_check(L, &err));
}
END_TEST

/* The supply is u64::MAX at most: a mint beyond the token pool is refused, state unchanged. */
START_TEST(test_mint_beyond_token_pool)
{
    ledger_round_t *r = ledger_round_begin(L);
    nns_error_t err;
    uint64_t h;
    uint64_t pool = UINT64_MAX - 100 * 100000000ULL; /* setup minted 100 ICP */
    transfer_args_t m = legacy(&gov, &bob_acc, pool + 1, 0, 0);
    ck_assert(!ledger_apply_transfer(L, r, &m, T0, &h, &err));
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.code, "InvalidTransaction");
    m.amount = pool; /* exactly the pool: the supply reaches u64::MAX */
    apply_ok(r, &m, T0, NULL);
    transfer_args_t one = legacy(&gov, &alice_acc, 1, 0, 1);
    ck_assert(!ledger_apply_transfer(L, r, &one, T0, &h, &err));
    ck_assert_str_eq(err.code, "InvalidTransaction");
    ledger_round_commit(L, &r);
    ledger_info_t info;
    ledger_info(L, &info);
    ck_assert_uint_eq(info.minted, UINT64_MAX);
    ck_assert(ledger_check(L, &err));
}
END_TEST

START_TEST(test_chain_links_and_timestamps)
{
    ledger_round_t *r = ledger_round_begin(L);
    transfer_args_t a = legacy(&alice, &bob_acc, 1, FEE, 0);
    apply_ok(r, &a, T0 + 5 * SEC, NULL);
    a.memo = 1;
    apply_ok(r, &a, T0 + 3 * SEC, NULL); /* a clock behind the tip does not go backwards */
    size_t n;
    const ledger_block_rec_t *b = ledger_round_blocks(r, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert(b[0].block.has_parent);
    ck_assert_mem_eq(b[1].block.parent_hash, b[0].hash, 32);
    ck_assert_uint_eq(b[1].block.timestamp, T0 + 5 * SEC);
    uint8_t h[32];
    block_hash(b[1].encoded, b[1].encoded_len, h);
    ck_assert_mem_eq(h, b[1].hash, 32);
    ledger_round_commit(L, &r);
}
END_TEST

START_TEST(test_throttle)
{
    /* a tiny window: max 10 remembered, so the throttle starts at 5 and allows 1/s */
    ledger_config_t cfg = *ledger_config(L);
    cfg.window_nanos = 10 * SEC;
    cfg.max_in_window = 10;
    ledger_t *small = ledger_new(&cfg);
    ledger_round_t *r = ledger_round_begin(small);
    nns_error_t err;
    uint64_t h;
    ck_assert(ledger_apply_mint(small, r, &alice_acc, 1000000, T0, &h, &err));
    transfer_args_t a = legacy(&alice, &bob_acc, 1, FEE, 0);
    for (int i = 0; i < 5; i++) {
        a.memo = (uint64_t)i;
        ck_assert(ledger_apply_transfer(small, r, &a, T0, &h, &err));
    }
    a.memo = 99;
    ck_assert(!ledger_apply_transfer(small, r, &a, T0, &h, &err));
    ck_assert_str_eq(err.code, "TemporarilyUnavailable");
    ck_assert_int_eq(err.status, 429);
    /* one second later one more is allowed */
    ck_assert(ledger_apply_transfer(small, r, &a, T0 + SEC + 1, &h, &err));
    ledger_round_commit(small, &r);
    /* after the window plus drift the entries are purged and transfers flow again */
    r = ledger_round_begin(small);
    a.memo = 100;
    ck_assert(ledger_apply_transfer(small, r, &a, T0 + 80 * SEC, &h, &err));
    ledger_round_commit(small, &r);
    ledger_info_t info;
    ledger_info(small, &info);
    ck_assert_uint_eq(info.remembered_transactions, 1);
    ledger_destroy(&small);
}
END_TEST

static approve_args_t approve(const principal_t *owner, const principal_t *spender,
                              const account_id_t *spender_acc, uint64_t amount)
{
    approve_args_t a;
    memset(&a, 0, sizeof a);
    a.caller = *owner;
    a.spender_owner = *spender;
    a.spender = *spender_acc;
    a.amount = amount;
    return a;
}

static transfer_from_args_t transfer_from(const principal_t *spender, const account_id_t *from,
                                          const account_id_t *to, uint64_t amount)
{
    transfer_from_args_t t;
    memset(&t, 0, sizeof t);
    t.caller = *spender;
    t.from = *from;
    t.to = *to;
    t.amount = amount;
    return t;
}

START_TEST(test_approve_and_transfer_from)
{
    principal_t carol;
    account_id_t carol_acc;
    user(3, &carol, &carol_acc);
    ledger_round_t *r = ledger_round_begin(L);
    nns_error_t err;
    uint64_t h, allowance, exp;
    bool has_exp;
    approve_args_t a = approve(&alice, &bob, &bob_acc, 50000);
    ck_assert(ledger_apply_approve(L, r, &a, T0, &h, &err));
    ledger_round_commit(L, &r);
    /* the approver pays the fee and needs no funds for the amount */
    ck_assert_uint_eq(balance(&alice_acc), 100 * 100000000ULL - FEE);
    ledger_allowance(L, &alice_acc, &bob_acc, T0, &allowance, &has_exp, &exp);
    ck_assert_uint_eq(allowance, 50000);
    ck_assert(!has_exp);

    r = ledger_round_begin(L);
    /* amount + fee must fit the allowance */
    transfer_from_args_t t = transfer_from(&bob, &alice_acc, &carol_acc, 50000 - FEE + 1);
    ck_assert(!ledger_apply_transfer_from(L, r, &t, T0, &h, &err));
    ck_assert_str_eq(err.code, "InsufficientAllowance");
    ck_assert_str_eq(err.payload[0].name, "allowance_e8s");
    ck_assert_uint_eq(err.payload[0].value, 50000);
    t.amount = 30000;
    ck_assert(ledger_apply_transfer_from(L, r, &t, T0, &h, &err));
    size_t n;
    const ledger_block_rec_t *b = ledger_round_blocks(r, &n);
    ck_assert(b[n - 1].block.tx.op.has_spender);
    ck_assert_mem_eq(b[n - 1].block.tx.op.spender.hash, bob_acc.hash, 28);
    ledger_round_commit(L, &r);
    ck_assert_uint_eq(balance(&carol_acc), 30000);
    ledger_allowance(L, &alice_acc, &bob_acc, T0, &allowance, &has_exp, &exp);
    ck_assert_uint_eq(allowance, 50000 - 30000 - FEE);
    uint64_t bal, count;
    ledger_balance(L, &bob_acc, &bal, &count);
    ck_assert_uint_eq(count, 2); /* named as spender by both blocks */

    /* no allowance at all */
    r = ledger_round_begin(L);
    transfer_from_args_t none = transfer_from(&carol, &alice_acc, &carol_acc, 1);
    ck_assert(!ledger_apply_transfer_from(L, r, &none, T0, &h, &err));
    ck_assert_str_eq(err.code, "InsufficientAllowance");
    /* spending from one's own account needs no allowance */
    transfer_from_args_t own = transfer_from(&carol, &carol_acc, &bob_acc, 10);
    ck_assert(ledger_apply_transfer_from(L, r, &own, T0, &h, &err));
    /* the minting account cannot delegate mints */
    transfer_from_args_t mint = transfer_from(&bob, &mint_acc, &carol_acc, 10);
    ck_assert(!ledger_apply_transfer_from(L, r, &mint, T0, &h, &err));
    ck_assert_str_eq(err.code, "InvalidTransaction");
    ledger_round_commit(L, &r);
    ck_assert(ledger_check(L, &err));
}
END_TEST

START_TEST(test_approve_rules)
{
    ledger_round_t *r = ledger_round_begin(L);
    nns_error_t err;
    uint64_t h, allowance, exp;
    bool has_exp;
    approve_args_t self = approve(&alice, &alice, &alice_acc, 5);
    ck_assert(!ledger_apply_approve(L, r, &self, T0, &h, &err));
    ck_assert_str_eq(err.code, "InvalidTransaction");
    approve_args_t a = approve(&alice, &bob, &bob_acc, 100);
    a.has_fee = true;
    a.fee = 1;
    ck_assert(!ledger_apply_approve(L, r, &a, T0, &h, &err));
    ck_assert_str_eq(err.code, "BadFee");
    a.has_fee = false;
    a.has_expires_at = true;
    a.expires_at = T0;
    ck_assert(!ledger_apply_approve(L, r, &a, T0, &h, &err));
    ck_assert_str_eq(err.code, "Expired");
    ck_assert_uint_eq(err.payload[0].value, T0);
    a.expires_at = T0 + 10 * SEC;
    a.has_expected_allowance = true;
    a.expected_allowance = 7;
    ck_assert(!ledger_apply_approve(L, r, &a, T0, &h, &err));
    ck_assert_str_eq(err.code, "AllowanceChanged");
    ck_assert_int_eq(err.status, 409);
    ck_assert_uint_eq(err.payload[0].value, 0);
    a.expected_allowance = 0;
    ck_assert(ledger_apply_approve(L, r, &a, T0, &h, &err));
    /* no funds for the fee */
    approve_args_t poor = approve(&bob, &alice, &alice_acc, 1);
    ck_assert(!ledger_apply_approve(L, r, &poor, T0, &h, &err));
    ck_assert_str_eq(err.code, "InsufficientFunds");
    ledger_round_commit(L, &r);
    ledger_allowance(L, &alice_acc, &bob_acc, T0, &allowance, &has_exp, &exp);
    ck_assert_uint_eq(allowance, 100);
    ck_assert(has_exp);
    ck_assert_uint_eq(exp, T0 + 10 * SEC);
    /* an expired allowance reads as 0 and cannot be spent */
    ledger_allowance(L, &alice_acc, &bob_acc, T0 + 10 * SEC, &allowance, &has_exp, &exp);
    ck_assert_uint_eq(allowance, 0);
    r = ledger_round_begin(L);
    principal_t carol;
    account_id_t carol_acc;
    user(3, &carol, &carol_acc);
    transfer_from_args_t t = transfer_from(&bob, &alice_acc, &carol_acc, 1);
    ck_assert(!ledger_apply_transfer_from(L, r, &t, T0 + 11 * SEC, &h, &err));
    ck_assert_str_eq(err.code, "InsufficientAllowance");
    /* a new approval replaces value and expiry; amount 0 removes it */
    approve_args_t z = approve(&alice, &bob, &bob_acc, 0);
    ck_assert(ledger_apply_approve(L, r, &z, T0 + 11 * SEC, &h, &err));
    size_t n;
    ledger_allowance_rec_t *recs = NULL;
    ck_assert(ledger_round_allowances(r, &recs, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(recs[0].allowance, 0);
    free(recs);
    ledger_round_commit(L, &r);
    ledger_info_t info;
    ledger_info(L, &info);
    ck_assert_uint_eq(info.allowances, 0);
}
END_TEST

/* Round 2 begins while round 1 is still being committed: it is applied on top of round 1. */
START_TEST(test_overlapping_rounds_commit_in_order)
{
    nns_error_t err;
    uint64_t h1, h2, h;
    ledger_round_t *r1 = ledger_round_begin(L);
    transfer_args_t a = icrc1(&alice, &bob_acc, 30 * 100000000ULL);
    a.has_created_at_time = true;
    a.created_at_time = T0;
    apply_ok(r1, &a, T0 + SEC, &h1);
    ledger_round_t *r2 = ledger_round_begin(L);
    /* round 1's debit is seen: 70 ICP less the fee is left, not 100 */
    transfer_args_t big = icrc1(&alice, &bob_acc, 80 * 100000000ULL);
    ck_assert(!ledger_apply_transfer(L, r2, &big, T0 + 2 * SEC, &h, &err));
    ck_assert_str_eq(err.code, "InsufficientFunds");
    ck_assert_uint_eq(err.payload[0].value, 70 * 100000000ULL - FEE);
    /* round 1's transaction is remembered */
    ck_assert(!ledger_apply_transfer(L, r2, &a, T0 + 2 * SEC, &h, &err));
    ck_assert_str_eq(err.code, "Duplicate");
    ck_assert_uint_eq(err.payload[0].value, h1);
    /* the chain continues from round 1's tip */
    transfer_args_t back = icrc1(&bob, &alice_acc, 10 * 100000000ULL);
    apply_ok(r2, &back, T0 + 2 * SEC, &h2);
    ck_assert_uint_eq(h2, h1 + 1);
    /* readers see neither round until it is merged, then each in turn */
    ck_assert_uint_eq(balance(&bob_acc), 0);
    ledger_round_commit(L, &r1);
    ck_assert_uint_eq(balance(&bob_acc), 30 * 100000000ULL);
    ledger_round_commit(L, &r2);
    ck_assert_uint_eq(balance(&bob_acc), 20 * 100000000ULL - FEE);
    ck_assert_uint_eq(balance(&alice_acc), 80 * 100000000ULL - FEE);
    ledger_info_t info;
    ledger_info(L, &info);
    ck_assert_uint_eq(info.chain_length, 3);
    ck_assert(ledger_check(L, &err));
}
END_TEST

/* A round that does not commit takes the rounds built on it along: newest first. */
START_TEST(test_overlapping_rounds_discarded_newest_first)
{
    uint64_t h;
    ledger_round_t *r1 = ledger_round_begin(L);
    transfer_args_t a = legacy(&alice, &bob_acc, 1000, FEE, 1);
    apply_ok(r1, &a, T0 + SEC, &h);
    ledger_round_t *r2 = ledger_round_begin(L);
    transfer_args_t b = legacy(&bob, &alice_acc, 500, FEE, 2);
    ck_assert(!ledger_apply_transfer(L, r2, &b, T0 + SEC, &h, &(nns_error_t){0}));
    transfer_args_t c = legacy(&alice, &bob_acc, 2000, FEE, 3);
    apply_ok(r2, &c, T0 + SEC, &h);
    ck_assert_uint_eq(h, 2);
    ledger_round_discard(L, &r2);
    ledger_round_discard(L, &r1);
    ck_assert_uint_eq(balance(&bob_acc), 0);
    /* the next round starts from committed state again */
    ledger_round_t *r = ledger_round_begin(L);
    apply_ok(r, &a, T0 + SEC, &h);
    ck_assert_uint_eq(h, 1);
    ledger_round_commit(L, &r);
    ck_assert_uint_eq(balance(&bob_acc), 1000);
}
END_TEST

/* The deduplication window through overlapping rounds: round 2 expires what round 1 added and
 * what was committed before, and the merged window is the same either way. */
START_TEST(test_overlapping_rounds_expire_the_window)
{
    ledger_round_t *r = ledger_round_begin(L);
    transfer_args_t old = icrc1(&alice, &bob_acc, 1);
    old.has_created_at_time = true;
    old.created_at_time = T0;
    apply_ok(r, &old, T0, NULL);
    ledger_round_commit(L, &r);
    uint64_t later = T0 + 86400ULL * SEC + LEDGER_PERMITTED_DRIFT_NANOS + SEC;
    ledger_round_t *r1 = ledger_round_begin(L);
    transfer_args_t mid = icrc1(&alice, &bob_acc, 2);
    mid.has_created_at_time = true;
    mid.created_at_time = T0 + SEC;
    apply_ok(r1, &mid, T0 + SEC, NULL);
    ledger_round_t *r2 = ledger_round_begin(L);
    transfer_args_t fresh = icrc1(&alice, &bob_acc, 3);
    fresh.has_created_at_time = true;
    fresh.created_at_time = later;
    apply_ok(r2, &fresh, later + SEC, NULL); /* expires `old` (committed) and `mid` (round 1) */
    ledger_round_commit(L, &r1);
    ledger_info_t info;
    ledger_info(L, &info);
    ck_assert_uint_eq(info.remembered_transactions, 2);
    ledger_round_commit(L, &r2);
    ledger_info(L, &info);
    ck_assert_uint_eq(info.remembered_transactions, 1);
    /* what expired may be sent again */
    r = ledger_round_begin(L);
    nns_error_t err;
    uint64_t h;
    ck_assert(!ledger_apply_transfer(L, r, &mid, later + 2 * SEC, &h, &err));
    ck_assert_str_eq(err.code, "TooOld");
    ck_assert(!ledger_apply_transfer(L, r, &fresh, later + 2 * SEC, &h, &err));
    ck_assert_str_eq(err.code, "Duplicate");
    ledger_round_discard(L, &r);
}
END_TEST

static Suite *ledger_suite(void)
{
    Suite *s = suite_create("ledger");
    TCase *tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_legacy_transfer_moves_amount_and_burns_fee);
    tcase_add_test(tc, test_discarded_round_leaves_state);
    tcase_add_test(tc, test_bad_fee);
    tcase_add_test(tc, test_insufficient_funds_and_overflow);
    tcase_add_test(tc, test_self_and_zero_transfers);
    tcase_add_test(tc, test_dedup_window);
    tcase_add_test(tc, test_dedup_window_many);
    tcase_add_test(tc, test_too_old_and_future);
    tcase_add_test(tc, test_mint_and_burn_rules);
    tcase_add_test(tc, test_mint_beyond_token_pool);
    tcase_add_test(tc, test_chain_links_and_timestamps);
    tcase_add_test(tc, test_throttle);
    tcase_add_test(tc, test_approve_and_transfer_from);
    tcase_add_test(tc, test_approve_rules);
    tcase_add_test(tc, test_overlapping_rounds_commit_in_order);
    tcase_add_test(tc, test_overlapping_rounds_discarded_newest_first);
    tcase_add_test(tc, test_overlapping_rounds_expire_the_window);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ledger_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
