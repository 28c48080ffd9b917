/*
 * Unit tests of the cycles minting state machine (spec/cmc.md): the test vectors 1-9, 13-17 and
 * 21-28 (numbered in the test names), and the notify flows driven command by command (notify ->
 * FETCH_BLOCK intent -> block_fetched -> TRANSFER intent -> transfer_done), each step in a round
 * of its own. No database, no network.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmc.h"
#include "crypto.h"

#define SEC 1000000000ULL
#define T0 (1700000000ULL * SEC)
#define ICP 100000000ULL
#define FEE 10000ULL

static cmc_t *C;
static cmc_config_t CFG;
static principal_t alice, bob, gov, subnet_a, subnet_b, subnet_c;
static account_id_t alice_acc, bob_acc, mint_acc;
static cmc_intent_t last_intents[8];
static size_t nlast;
static uint64_t next_block = 1;

static void user(uint8_t n, principal_t *p, account_id_t *a)
{
    uint8_t der[44] = {0};
    der[43] = n;
    principal_self_authenticating(der, sizeof der, p);
    if (a)
        account_id_of(p, NULL, a);
}

static void make_cmc(void)
{
    C = cmc_new(&CFG);
    ck_assert_ptr_nonnull(C);
}

static void setup(void)
{
    ck_assert(crypto_init());
    cmc_config_default(&CFG);
    principal_canister(CANISTER_GOVERNANCE, &gov);
    account_id_of(&gov, NULL, &mint_acc);
    CFG.has_minting_account = true;
    CFG.minting_account = mint_acc;
    user(1, &alice, &alice_acc);
    user(2, &bob, &bob_acc);
    /* subnet ids are opaque principals: any 29-byte value will do in the registry */
    user(101, &subnet_a, NULL);
    user(102, &subnet_b, NULL);
    user(103, &subnet_c, NULL);
    next_block = 1;
    make_cmc();
}

static void teardown(void)
{
    cmc_destroy(&C);
    ck_assert_ptr_null(C);
}

static void keep_intents(cmc_round_t *r)
{
    const cmc_intent_t *in = cmc_round_intents(r, &nlast);
    ck_assert_uint_le(nlast, 8);
    if (nlast)
        memcpy(last_intents, in, nlast * sizeof *in);
}

/* ---- commands, each in a committed round ---- */

static bool notify(const cmc_notify_args_t *a, uint64_t now, cmc_outcome_t *out, nns_error_t *err)
{
    cmc_round_t *r = cmc_round_begin(C);
    ck_assert_ptr_nonnull(r);
    nns_error_clear(err);
    bool ok = cmc_apply_notify(C, r, a, now, out, err);
    keep_intents(r);
    cmc_round_commit(C, &r);
    return ok;
}

static uint64_t notify_ok(const cmc_notify_args_t *a, uint64_t now)
{
    cmc_outcome_t out;
    nns_error_t err;
    ck_assert_msg(notify(a, now, &out, &err), "refused: %s %s", err.code, err.detail);
    ck_assert(!out.finished);
    ck_assert_uint_eq(nlast, 1);
    ck_assert_int_eq(last_intents[0].kind, CMC_INTENT_FETCH_BLOCK);
    ck_assert_uint_eq(last_intents[0].block_index, a->block_index);
    return out.intent_id;
}

static void fetched(uint64_t intent, const cmc_fetched_block_t *b, uint64_t now,
                    cmc_outcome_t *out)
{
    cmc_round_t *r = cmc_round_begin(C);
    nns_error_t err;
    nns_error_clear(&err);
    ck_assert_msg(cmc_apply_block_fetched(C, r, intent, b, now, out, &err), "refused: %s %s",
                  err.code, err.detail);
    keep_intents(r);
    cmc_round_commit(C, &r);
}

static void transfer_done(uint64_t intent, bool ok, uint64_t block, uint64_t now,
                          cmc_outcome_t *out)
{
    cmc_round_t *r = cmc_round_begin(C);
    nns_error_t err;
    nns_error_clear(&err);
    cmc_transfer_result_t res;
    memset(&res, 0, sizeof res);
    res.ok = ok;
    res.block_index = block;
    if (!ok) {
        res.error_code = 2;
        strcpy(res.error, "ledger unavailable");
    }
    ck_assert_msg(cmc_apply_transfer_done(C, r, intent, &res, now, out, &err), "refused: %s %s",
                  err.code, err.detail);
    keep_intents(r);
    cmc_round_commit(C, &r);
}

/* transfer_done, then, when the notification waits for the burn of its extra fee (a refund
 * done), that burn's success: the notification's last step (its ledger block is block + 5000). */
static void transfer_done_all(uint64_t intent, bool ok, uint64_t block, uint64_t now,
                              cmc_outcome_t *out)
{
    transfer_done(intent, ok, block, now, out);
    if (out->finished || nlast != 1 || last_intents[0].purpose != CMC_PURPOSE_BURN_REST)
        return;
    ck_assert_uint_eq(out->intent_id, last_intents[0].id);
    transfer_done(last_intents[0].id, true, block + 5000, now, out);
    ck_assert(out->finished);
}

static void set_rate(uint64_t ts, uint64_t rate, uint64_t now)
{
    cmc_round_t *r = cmc_round_begin(C);
    nns_error_t err;
    cmc_rate_t x = {ts, rate};
    ck_assert_msg(cmc_apply_set_rate(C, r, CMC_ROLE_GOVERNANCE, &x, now, &err), "%s",
                  err.detail);
    cmc_round_commit(C, &r);
}

static void set_default_subnets(const principal_t *subnets, size_t n)
{
    cmc_round_t *r = cmc_round_begin(C);
    nns_error_t err;
    ck_assert(cmc_apply_set_authorized_subnets(C, r, NULL, subnets, n, &err));
    cmc_round_commit(C, &r);
}

/* ---- arguments and blocks ---- */

static cmc_notify_args_t top_up_args(uint64_t block, const principal_t *caller,
                                     const principal_t *canister)
{
    cmc_notify_args_t a;
    memset(&a, 0, sizeof a);
    a.kind = CMC_NOTIFY_TOP_UP;
    a.block_index = block;
    a.caller = *caller;
    a.canister_id = *canister;
    return a;
}

static cmc_notify_args_t create_args(uint64_t block, const principal_t *controller)
{
    cmc_notify_args_t a;
    memset(&a, 0, sizeof a);
    a.kind = CMC_NOTIFY_CREATE_CANISTER;
    a.block_index = block;
    a.caller = *controller;
    a.controller = *controller;
    return a;
}

static cmc_notify_args_t mint_args(uint64_t block, const principal_t *caller)
{
    cmc_notify_args_t a;
    memset(&a, 0, sizeof a);
    a.kind = CMC_NOTIFY_MINT_CYCLES;
    a.block_index = block;
    a.caller = *caller;
    return a;
}

/* A transfer from `from` to the cmc's deposit account of `who` with a legacy memo. */
static cmc_fetched_block_t transfer_to(const account_id_t *from, const principal_t *who,
                                       uint64_t amount, uint64_t memo)
{
    cmc_fetched_block_t b;
    memset(&b, 0, sizeof b);
    b.status = CMC_BLOCK_FOUND;
    b.op = CMC_OP_TRANSFER;
    b.from = *from;
    cmc_deposit_account(&CFG, who, &b.to);
    b.amount = amount;
    b.fee = FEE;
    b.memo = memo;
    return b;
}

static void load_canister(const principal_t *id)
{
    cmc_canister_t k;
    memset(&k, 0, sizeof k);
    k.canister_id = *id;
    k.subnet = subnet_a;
    k.ncontrollers = 1;
    k.controllers[0] = alice;
    ck_assert(cmc_load_canister(C, &k));
}

/* A whole top-up of amount e8s to canister, burned at `burn_block`; returns the outcome. */
static cmc_outcome_t top_up(uint64_t block, const principal_t *canister, uint64_t amount,
                            uint64_t now)
{
    cmc_notify_args_t a = top_up_args(block, &alice, canister);
    uint64_t fetch = notify_ok(&a, now);
    cmc_fetched_block_t b = transfer_to(&alice_acc, canister, amount, CMC_MEMO_TOP_UP_CANISTER);
    cmc_outcome_t out;
    fetched(fetch, &b, now, &out);
    if (out.finished)
        return out;
    ck_assert_uint_eq(nlast, 1);
    uint64_t t = out.intent_id;
    transfer_done_all(t, true, 1000 + block, now, &out);
    return out;
}

static cmc_cycles_t u128(uint64_t hi_decimal_part, uint64_t lo)
{
    /* hi * 10^18 + lo, for literals beyond u64 */
    return (cmc_cycles_t)hi_decimal_part * 1000000000000000000ULL + lo;
}

/* ---- test vectors ---- */

START_TEST(test_v01_v02_v09_conversion_rounding)
{
    ck_assert(cmc_to_cycles(12300000000ULL, 21042, 123456789123ULL) == 31952666407731ULL);
    ck_assert(cmc_to_cycles(ICP, 10000, 1234) == 1234);
    ck_assert(cmc_to_cycles(1, 3, 1000000000001ULL) == 3);
}
END_TEST

START_TEST(test_v03_v04_v05_v08_conversion_at_rates)
{
    uint64_t x = CMC_DEFAULT_CYCLES_PER_XDR;
    ck_assert(cmc_to_cycles(10 * ICP, 1000000, x) == 1000000000000000ULL);
    ck_assert(cmc_to_cycles(ICP, 1000000, x) == 100000000000000ULL);
    ck_assert(cmc_to_cycles(900 * ICP, 1000000, x) == 90000000000000000ULL);
    ck_assert(cmc_to_cycles(4 * ICP, 1000000, x) == 400000000000000ULL);
    ck_assert(cmc_to_cycles(207000000ULL, 1000000, x) == 207000000000000ULL);
    ck_assert(cmc_to_cycles(ICP, 29269, x) == 2926900000000ULL);
    ck_assert(cmc_to_cycles(12345, 29269, x) == 361325805ULL);
    ck_assert(cmc_to_cycles(ICP, 49164, x) == 4916400000000ULL);
    /* 128-bit: a whole supply at a large rate does not wrap */
    ck_assert(cmc_to_cycles(UINT64_MAX, 10000000, x) == (cmc_cycles_t)UINT64_MAX * 10000000);
}
END_TEST

START_TEST(test_v03_v04_top_up_burns_whole_amount_and_counts_minted)
{
    principal_t can;
    principal_canister(5000, &can);
    load_canister(&can);
    cmc_outcome_t out = top_up(10, &can, 10 * ICP, T0);
    ck_assert(out.finished && out.ok);
    ck_assert(out.result.cycles == 1000000000000000ULL);
    cmc_info_t info;
    cmc_info(C, &info);
    ck_assert(info.total_cycles_minted == 1000000000000000ULL);
    out = top_up(11, &can, ICP, T0 + SEC);
    ck_assert(out.result.cycles == 100000000000000ULL);
    cmc_info(C, &info);
    ck_assert(info.total_cycles_minted == 1100000000000000ULL);
    ck_assert(info.held_cycles == 0);
    cmc_canister_t k;
    ck_assert(cmc_canister(C, &can, &k));
    ck_assert(k.cycles == 1100000000000000ULL);
}
END_TEST

START_TEST(test_v06_mint_below_cycles_ledger_fee_refunds_nothing)
{
    cmc_notify_args_t a = mint_args(7, &alice);
    uint64_t fetch = notify_ok(&a, T0);
    cmc_fetched_block_t b = transfer_to(&alice_acc, &alice, 1, CMC_MEMO_MINT_CYCLES);
    cmc_outcome_t out;
    fetched(fetch, &b, T0, &out);
    ck_assert(out.finished && !out.ok);
    ck_assert_str_eq(out.error.code, "Refunded");
    ck_assert_int_eq(out.error.status, 422);
    ck_assert_ptr_nonnull(strstr(out.error.detail, "The requested amount 1000000 to be deposited "
                                                   "is less than the cycles ledger fee"));
    ck_assert(!out.result.has_refund_block);
    ck_assert_int_eq(out.error.npayload, 0);
    ck_assert_uint_eq(nlast, 0); /* 1 e8s: no refund, the burn is skipped */
    cmc_notification_t n;
    ck_assert(cmc_notification(C, 7, &n));
    ck_assert_int_eq(n.status, CMC_STATUS_NOTIFIED_MINT);
    ck_assert(n.result.refunded);
    cmc_info_t info;
    cmc_info(C, &info);
    ck_assert(info.total_cycles_minted == 1000000); /* minted and held (ensure_balance) */
    ck_assert(info.held_cycles == 1000000);
}
END_TEST

START_TEST(test_v07_mint_cycles_to_cycles_ledger)
{
    uint8_t sub[SUBACCOUNT_BYTES] = {0};
    cmc_cycles_t want[2] = {99999900000000ULL, 199999900000000ULL};
    for (int i = 0; i < 2; i++) {
        cmc_notify_args_t a = mint_args(20 + (uint64_t)i, &alice);
        sub[31] = (uint8_t)(i + 1);
        a.has_to_subaccount = true;
        memcpy(a.to_subaccount, sub, sizeof sub);
        uint64_t fetch = notify_ok(&a, T0);
        cmc_fetched_block_t b =
            transfer_to(&alice_acc, &alice, (uint64_t)(i + 1) * ICP, CMC_MEMO_MINT_CYCLES);
        cmc_outcome_t out;
        fetched(fetch, &b, T0, &out);
        ck_assert(!out.finished);
        ck_assert_uint_eq(nlast, 1);
        ck_assert_int_eq(last_intents[0].purpose, CMC_PURPOSE_BURN);
        transfer_done(out.intent_id, true, 500 + (uint64_t)i, T0, &out);
        ck_assert(out.finished && out.ok);
        ck_assert(out.result.balance == want[i]);
        ck_assert(out.result.minted == (cmc_cycles_t)(i + 1) * 100000000000000ULL);
        ck_assert_uint_eq(out.result.mint_block_index, (uint64_t)i);
        ck_assert(cmc_cycles_balance(C, &alice, sub) == want[i]);
    }
    ck_assert(cmc_cycles_balance(C, &alice, NULL) == 0);
}
END_TEST

START_TEST(test_v13_rate_not_newer_than_default)
{
    cmc_round_t *r = cmc_round_begin(C);
    nns_error_t err;
    cmc_rate_t x = {1620633540ULL, 2000000};
    ck_assert(!cmc_apply_set_rate(C, r, CMC_ROLE_GOVERNANCE, &x, T0, &err));
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.detail,
                     "Proposed conversion rate must have greater timestamp than current one");
    x.timestamp_seconds = CMC_DEFAULT_RATE_TIMESTAMP;
    ck_assert(!cmc_apply_set_rate(C, r, CMC_ROLE_RATE_ORACLE, &x, T0, &err));
    x.timestamp_seconds = CMC_DEFAULT_RATE_TIMESTAMP + 1;
    x.xdr_permyriad_per_icp = 0;
    ck_assert(!cmc_apply_set_rate(C, r, CMC_ROLE_RATE_ORACLE, &x, T0, &err));
    ck_assert_str_eq(err.detail, "Proposed conversion rate must be greater than 0");
    x.xdr_permyriad_per_icp = 5;
    ck_assert(!cmc_apply_set_rate(C, r, CMC_ROLE_NONE, &x, T0, &err));
    ck_assert_int_eq(err.status, 403);
    /* no other bound: a rate of 5 permyriad is accepted */
    ck_assert(cmc_apply_set_rate(C, r, CMC_ROLE_RATE_ORACLE, &x, T0, &err));
    cmc_rate_t cur;
    cmc_rate(C, &cur);
    ck_assert_uint_eq(cur.xdr_permyriad_per_icp, CMC_DEFAULT_RATE); /* not committed yet */
    cmc_round_commit(C, &r);
    cmc_rate(C, &cur);
    ck_assert_uint_eq(cur.xdr_permyriad_per_icp, 5);
    ck_assert_uint_eq(cur.timestamp_seconds, CMC_DEFAULT_RATE_TIMESTAMP + 1);
}
END_TEST

START_TEST(test_v14_average_and_maturity_modulation)
{
    const uint64_t t = 1632700800ULL, D = 86400;
    ck_assert_uint_eq(t / D, 18897);
    ck_assert_uint_eq((t / D) % 60, 57);
    struct {
        uint64_t ts, rate;
    } feed[] = {
        {t - 60 * D, 1234567}, {t - 59 * D, 1234568},     {t - 29 * D, 1090000},
        {t - 7 * D, 880000},   {t - 2 * D + 60, 1520000}, {t - D - 1, 1510000},
        {t - D, 1110000},      {t, 1000000},              {t + 3600, 1010000},
    };
    uint64_t now = (t + 7200) * SEC;
    for (size_t i = 0; i < sizeof feed / sizeof feed[0]; i++)
        set_rate(feed[i].ts, feed[i].rate, now);
    cmc_rate_t avg;
    ck_assert(cmc_average_rate(C, &avg));
    ck_assert_uint_eq(avg.xdr_permyriad_per_icp, 1120000);
    ck_assert_uint_eq(avg.timestamp_seconds, t);
    ck_assert_int_eq(cmc_maturity_modulation(C), 125);
    cmc_info_t info;
    cmc_info(C, &info);
    ck_assert_uint_eq(info.cache[57].xdr_permyriad_per_icp, 1000000);
    ck_assert_uint_eq(info.cache[(t / D - 2) % 60].xdr_permyriad_per_icp, 1520000);
    /* the history keeps the first accepted rate of each day */
    cmc_rate_day_t days[16];
    size_t n = cmc_rate_history(C, 0, UINT64_MAX, days, 16);
    ck_assert_uint_eq(n, 7);
    ck_assert_uint_eq(days[4].day, t / D - 2);
    ck_assert_uint_eq(days[4].xdr_permyriad_per_icp, 1520000);
    ck_assert_uint_eq(days[6].xdr_permyriad_per_icp, 1000000);
    ck_assert_uint_eq(cmc_rate_history(C, t / D - 1, t / D - 1, days, 16), 1);
    ck_assert_uint_eq(days[0].xdr_permyriad_per_icp, 1110000);
    /* the pure functions agree */
    ck_assert_int_eq(cmc_maturity_modulation_at(info.cache, t), 125);
}
END_TEST

START_TEST(test_history_keeps_more_than_400_days)
{
    const uint64_t D = 86400, t = 1700000000ULL / D * D;
    for (uint64_t i = 0; i < 450; i++)
        set_rate(t + i * D + 10, 100000 + i, (t + i * D + 20) * SEC);
    cmc_rate_day_t *days = malloc(500 * sizeof *days);
    ck_assert_ptr_nonnull(days);
    ck_assert_uint_eq(cmc_rate_history(C, 0, UINT64_MAX, days, 500), 450);
    ck_assert_uint_eq(days[0].day, t / D);
    ck_assert_uint_eq(days[449].xdr_permyriad_per_icp, 100449);
    free(days);
}
END_TEST

START_TEST(test_v15_apply_maturity_modulation)
{
    ck_assert_uint_eq(cmc_apply_maturity_modulation(100000000, 500), 105000000);
    ck_assert_uint_eq(cmc_apply_maturity_modulation(100000000, -500), 95000000);
    ck_assert_uint_eq(cmc_apply_maturity_modulation(123456789, 125), 124999998);
    ck_assert_uint_eq(cmc_apply_maturity_modulation(123456789, -37), 122999998);
}
END_TEST

START_TEST(test_v16_v17_refund_arithmetic)
{
    uint64_t refund, burn;
    cmc_refund_split(ICP, CMC_TOP_UP_REFUND_FEE, &refund, &burn);
    ck_assert_uint_eq(refund, 99970000);
    ck_assert_uint_eq(burn, 20000);
    cmc_refund_split(ICP, CMC_CREATE_REFUND_FEE, &refund, &burn);
    ck_assert_uint_eq(refund, 99950000);
    ck_assert_uint_eq(burn, 40000);
    cmc_refund_split(10 * ICP, 0, &refund, &burn);
    ck_assert_uint_eq(refund, 999990000);
    ck_assert_uint_eq(burn, 0);
    cmc_refund_split(25000, 20000, &refund, &burn);
    ck_assert_uint_eq(refund, 0);
    ck_assert_uint_eq(burn, 25000);
    cmc_refund_split(30001, 20000, &refund, &burn);
    ck_assert_uint_eq(refund, 1);
    ck_assert_uint_eq(burn, 20000);
    cmc_refund_split(50000, 40000, &refund, &burn);
    ck_assert_uint_eq(refund, 0);
    ck_assert_uint_eq(burn, 50000);
    cmc_refund_split(1, 20000, &refund, &burn);
    ck_assert_uint_eq(refund, 0);
    ck_assert_uint_eq(burn, 1);
}
END_TEST

START_TEST(test_v16_failed_top_up_refund_and_burn_intents)
{
    principal_t unknown;
    principal_canister(7777, &unknown); /* not in the registry: the deposit fails */
    cmc_notify_args_t a = top_up_args(30, &bob, &unknown);
    uint64_t fetch = notify_ok(&a, T0);
    cmc_fetched_block_t b = transfer_to(&bob_acc, &unknown, ICP, CMC_MEMO_TOP_UP_CANISTER);
    cmc_outcome_t out;
    fetched(fetch, &b, T0, &out);
    ck_assert(!out.finished);
    ck_assert_uint_eq(nlast, 1);
    cmc_intent_t refund = last_intents[0];
    ck_assert_int_eq(refund.purpose, CMC_PURPOSE_REFUND);
    ck_assert_uint_eq(refund.amount, 99970000);
    ck_assert_uint_eq(refund.fee, FEE);
    ck_assert_uint_eq(refund.memo, 0);
    ck_assert(account_id_equal(&refund.to, &bob_acc));
    uint8_t sub[SUBACCOUNT_BYTES];
    subaccount_from_principal(&unknown, sub);
    ck_assert_mem_eq(refund.from_subaccount, sub, SUBACCOUNT_BYTES);
    transfer_done(refund.id, true, 4242, T0 + SEC, &out);
    /* main.rs refund_icp awaits burn_and_log: no answer before the extra fee's burn ended */
    ck_assert(!out.finished);
    ck_assert_uint_eq(nlast, 1);
    ck_assert_int_eq(last_intents[0].purpose, CMC_PURPOSE_BURN_REST);
    ck_assert_uint_eq(last_intents[0].amount, 20000);
    ck_assert_uint_eq(last_intents[0].fee, 0);
    ck_assert(account_id_equal(&last_intents[0].to, &mint_acc));
    ck_assert_uint_eq(out.intent_id, last_intents[0].id);
    uint64_t rest = last_intents[0].id;
    cmc_notification_t n;
    ck_assert(cmc_notification(C, 30, &n));
    ck_assert_int_eq(n.status, CMC_STATUS_PROCESSING);
    nns_error_t perr;
    ck_assert(!notify(&a, T0 + SEC, &out, &perr)); /* a second notify meanwhile: Processing */
    ck_assert_int_eq(perr.status, 409);
    ck_assert_str_eq(perr.code, "Processing");
    transfer_done(rest, false, 0, T0 + 2 * SEC, &out); /* a failed burn is only logged */
    ck_assert(out.finished && !out.ok);
    ck_assert_uint_eq(out.block_index, 30);
    ck_assert_str_eq(out.error.code, "Refunded");
    ck_assert_ptr_nonnull(strstr(out.error.detail, "Depositing cycles failed"));
    ck_assert_int_eq(out.error.npayload, 1);
    ck_assert_str_eq(out.error.payload[0].name, "refund_block_index");
    ck_assert_uint_eq(out.error.payload[0].value, 4242);
    ck_assert_uint_eq(nlast, 0);
    ck_assert(cmc_notification(C, 30, &n));
    ck_assert_int_eq(n.status, CMC_STATUS_NOTIFIED_TOP_UP);
    ck_assert(n.result.refunded && n.result.has_refund_block);
    ck_assert_uint_eq(n.result.refund_block_index, 4242);
    /* the minted cycles stay with the cmc: a second failing top-up mints nothing more */
    cmc_info_t info;
    cmc_info(C, &info);
    ck_assert(info.total_cycles_minted == 100000000000000ULL);
    ck_assert(info.held_cycles == 100000000000000ULL);
    a.block_index = 31;
    fetch = notify_ok(&a, T0 + 3 * SEC);
    fetched(fetch, &b, T0 + 3 * SEC, &out);
    uint64_t second_refund = out.intent_id;
    cmc_info(C, &info);
    ck_assert(info.total_cycles_minted == 100000000000000ULL);
    /* the intent is finished exactly once */
    cmc_round_t *r = cmc_round_begin(C);
    nns_error_t err;
    cmc_transfer_result_t res = {.ok = true, .block_index = 1};
    ck_assert(!cmc_apply_transfer_done(C, r, rest, &res, T0, &out, &err));
    ck_assert_int_eq(err.status, 404);
    ck_assert(!cmc_apply_block_fetched(C, r, second_refund, &b, T0, &out, &err));
    ck_assert_int_eq(err.status, 409); /* a transfer intent is not a block fetch */
    ck_assert_str_eq(err.code, "WrongIntent");
    cmc_round_discard(C, &r);
}
END_TEST

START_TEST(test_v16_failed_create_refund_less_create_fee)
{
    /* no default subnet: the creation fails */
    cmc_notify_args_t a = create_args(40, &alice);
    uint64_t fetch = notify_ok(&a, T0);
    cmc_fetched_block_t b = transfer_to(&alice_acc, &alice, ICP, CMC_MEMO_CREATE_CANISTER);
    cmc_outcome_t out;
    fetched(fetch, &b, T0, &out);
    ck_assert_uint_eq(nlast, 1);
    ck_assert_uint_eq(last_intents[0].amount, 99950000);
    transfer_done(out.intent_id, true, 41, T0, &out);
    ck_assert(!out.finished); /* the create fee's burn first */
    ck_assert_uint_eq(nlast, 1);
    ck_assert_uint_eq(last_intents[0].amount, 40000);
    transfer_done(last_intents[0].id, true, 42, T0, &out);
    ck_assert(out.finished);
    ck_assert_str_eq(out.error.code, "Refunded");
    ck_assert_str_eq(out.error.detail, "No subnets in which to create a canister.");
    ck_assert_uint_eq(out.result.refund_block_index, 41);
    /* no candidate subnet: nothing was minted (ensure_balance comes after the choice) */
    cmc_info_t info;
    cmc_info(C, &info);
    ck_assert(info.total_cycles_minted == 0);
}
END_TEST

START_TEST(test_v17_tiny_amount_refund_none_burn_skipped)
{
    principal_t unknown;
    principal_canister(7778, &unknown);
    cmc_notify_args_t a = top_up_args(50, &bob, &unknown);
    uint64_t fetch = notify_ok(&a, T0);
    cmc_fetched_block_t b = transfer_to(&bob_acc, &unknown, 1, CMC_MEMO_TOP_UP_CANISTER);
    cmc_outcome_t out;
    fetched(fetch, &b, T0, &out);
    ck_assert(out.finished);
    ck_assert_str_eq(out.error.code, "Refunded");
    ck_assert(!out.result.has_refund_block);
    ck_assert_uint_eq(nlast, 0);
    /* 25 000 with 20 000 extra: nothing refunded, the whole amount burned */
    a.block_index = 51;
    fetch = notify_ok(&a, T0);
    b.amount = 25000;
    fetched(fetch, &b, T0, &out);
    ck_assert(!out.finished); /* refund_icp burns the whole amount and then answers */
    ck_assert_uint_eq(nlast, 1);
    ck_assert_int_eq(last_intents[0].purpose, CMC_PURPOSE_BURN_REST);
    ck_assert_uint_eq(last_intents[0].amount, 25000);
    transfer_done(last_intents[0].id, true, 77, T0, &out);
    ck_assert(out.finished && !out.ok);
    ck_assert_str_eq(out.error.code, "Refunded");
    ck_assert(!out.result.has_refund_block);
    ck_assert_int_eq(out.error.npayload, 0);
}
END_TEST

START_TEST(test_v21_limiter_sequence)
{
    cmc_limiter_t l;
    cmc_limiter_init(&l, 60, 86400);
    cmc_limiter_add(&l, 0, 100);
    ck_assert(l.total == 100);
    cmc_limiter_add(&l, 59, 10);
    ck_assert(l.total == 110);
    ck_assert_uint_eq(l.n, 1);
    cmc_limiter_add(&l, 60, 20);
    ck_assert(l.total == 130);
    ck_assert_uint_eq(l.n, 2);
    cmc_limiter_add(&l, 10000, 1);
    ck_assert(l.total == 131);
    cmc_limiter_add(&l, 86400, 7);
    ck_assert(l.total == 138);
    ck_assert_uint_eq(l.n, 4);
    cmc_limiter_add(&l, 86460, 1);
    ck_assert(l.total == 29);
    ck_assert_uint_eq(l.n, 4);
    cmc_limiter_add(&l, 172860, 23);
    ck_assert(l.total == 24);
    ck_assert_uint_eq(l.n, 2);
    cmc_limiter_add(&l, 0, 1);
    ck_assert(l.total == 25);
    ck_assert_uint_eq(l.n, 2);
    cmc_limiter_purge(&l, 345600);
    ck_assert(l.total == 0);
    ck_assert_uint_eq(l.n, 0);
    /* check_and_add refuses above the limit and adds nothing */
    ck_assert(cmc_limiter_check_and_add(&l, 0, 10, 10));
    ck_assert(!cmc_limiter_check_and_add(&l, 1, 1, 10));
    ck_assert(l.total == 10);
}
END_TEST

START_TEST(test_v22_limits_in_icp)
{
    uint64_t x = CMC_DEFAULT_CYCLES_PER_XDR;
    ck_assert(cmc_to_cycles(1500 * ICP, 1000000, x) == CMC_CYCLES_LIMIT);
    ck_assert(cmc_to_cycles(5000 * ICP, 1000000, x) == CMC_SRC_CYCLES_LIMIT);
}
END_TEST

START_TEST(test_v23_purge_keeps_newest)
{
    cmc_destroy(&C);
    CFG.max_notifications = 30;
    make_cmc();
    for (uint64_t i = 0; i < 100; i++) {
        cmc_notification_t n;
        memset(&n, 0, sizeof n);
        n.block_index = i;
        n.status = CMC_STATUS_NOTIFIED_TOP_UP;
        n.kind = CMC_NOTIFY_TOP_UP;
        n.result.cycles = i;
        ck_assert(cmc_load_notification(C, &n));
    }
    principal_t can;
    principal_canister(5000, &can);
    cmc_notify_args_t a = top_up_args(100, &alice, &can);
    cmc_round_t *r = cmc_round_begin(C);
    cmc_outcome_t out;
    nns_error_t err;
    ck_assert(cmc_apply_notify(C, r, &a, T0, &out, &err));
    uint64_t horizon;
    ck_assert(cmc_round_purged(r, &horizon));
    ck_assert_uint_eq(horizon, 69);
    cmc_round_commit(C, &r);
    cmc_notification_t n;
    ck_assert(!cmc_notification(C, 69, &n));
    ck_assert(!cmc_notification(C, 0, &n));
    ck_assert(cmc_notification(C, 70, &n));
    ck_assert(n.result.cycles == 70);
    cmc_info_t info;
    cmc_info(C, &info);
    ck_assert_uint_eq(info.last_purged_notification, 69);
    ck_assert_uint_eq(info.notifications, 31);
    /* below the horizon: TransactionTooOld(horizon + 1); the 31 statuses are purged to 30
     * first (every notify purges), so the horizon is then 70 */
    a.block_index = 69;
    ck_assert(!notify(&a, T0, &out, &err));
    ck_assert_str_eq(err.code, "TransactionTooOld");
    ck_assert_int_eq(err.status, 422);
    ck_assert_str_eq(err.payload[0].name, "block_index");
    ck_assert_uint_eq(err.payload[0].value, 71);
    ck_assert(!cmc_notification(C, 70, &n));
    ck_assert(cmc_notification(C, 71, &n));
    cmc_info(C, &info);
    ck_assert_uint_eq(info.notifications, 30);
}
END_TEST

START_TEST(test_v23_purge_sparse_blocks)
{
    /* statuses far apart: the purge cannot walk up to the horizon and sorts them instead */
    cmc_destroy(&C);
    CFG.max_notifications = 30;
    make_cmc();
    for (uint64_t i = 1; i <= 100; i++) {
        cmc_notification_t n;
        memset(&n, 0, sizeof n);
        n.block_index = i * 100000;
        n.status = CMC_STATUS_NOT_MEANINGFUL_MEMO;
        strcpy(n.result.reason, "r");
        n.result.refunded = true;
        ck_assert(cmc_load_notification(C, &n));
    }
    principal_t can;
    principal_canister(5000, &can);
    cmc_notify_args_t a = top_up_args(20000000, &alice, &can);
    cmc_outcome_t out;
    nns_error_t err;
    ck_assert(notify(&a, T0, &out, &err));
    cmc_info_t info;
    cmc_info(C, &info);
    ck_assert_uint_eq(info.last_purged_notification, 7000000);
    ck_assert_uint_eq(info.notifications, 31);
    cmc_notification_t n;
    ck_assert(!cmc_notification(C, 7000000, &n));
    ck_assert(cmc_notification(C, 7100000, &n));
    ck_assert_str_eq(n.result.reason, "r");
}
END_TEST

START_TEST(test_v24_canister_id_texts)
{
    struct {
        uint64_t n;
        const char *text;
    } v[] = {
        {0, "rwlgt-iiaaa-aaaaa-aaaaa-cai"},        {1, "rrkah-fqaaa-aaaaa-aaaaq-cai"},
        {2, "ryjl3-tyaaa-aaaaa-aaaba-cai"},        {4, "rkp4c-7iaaa-aaaaa-aaaca-cai"},
        {8, "qoctq-giaaa-aaaaa-aaaea-cai"},        {13, "qvhpv-4qaaa-aaaaa-aaagq-cai"},
        {34603009, "uf6dk-hyaaa-aaaaq-qaaaq-cai"}, {34603010, "um5iw-rqaaa-aaaaq-qaaba-cai"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        principal_t p;
        char t[PRINCIPAL_TEXT_MAX];
        principal_canister(v[i].n, &p);
        principal_to_text(&p, t);
        ck_assert_str_eq(t, v[i].text);
    }
    char t[PRINCIPAL_TEXT_MAX];
    principal_to_text(&CFG.cmc_id, t);
    ck_assert_str_eq(t, "rkp4c-7iaaa-aaaaa-aaaca-cai");
}
END_TEST

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

START_TEST(test_v25_v26_v27_deposit_accounts)
{
    uint8_t sub[SUBACCOUNT_BYTES];
    char h[2 * SUBACCOUNT_BYTES + 1];
    subaccount_from_principal(&gov, sub);
    hex(sub, sizeof sub, h);
    ck_assert_str_eq(h, "0a00000000000000010101000000000000000000000000000000000000000000");
    account_id_t id;
    char text[ACCOUNT_HEX_LEN + 1];
    cmc_deposit_account(&CFG, &gov, &id);
    account_id_to_hex(&id, text);
    ck_assert_str_eq(text, "d3018cd210332fd05f30673cc1e99ed307cd5dca2928b1ae89bb3ecb88fdfe96");
    account_id_of(&CFG.cmc_id, NULL, &id);
    account_id_to_hex(&id, text);
    ck_assert_str_eq(text, "b0738c8bf587a1b67f19464b83ecd5c4c77e88e0cf64bb04b38bf38b92d15a93");
    const char *zero = "807077e9"
                       "00000000000000000000000000000000000000000000000000000000";
    nns_error_t err;
    ck_assert(account_id_from_hex(zero, strlen(zero), &id, &err));
    for (int i = 0; i < ACCOUNT_HASH_BYTES; i++)
        ck_assert_uint_eq(id.hash[i], 0);
}
END_TEST

START_TEST(test_v28_memos_and_garbage_memo_refund)
{
    uint8_t m[8];
    char h[17];
    cmc_icrc1_memo(CMC_MEMO_TOP_UP_CANISTER, m);
    hex(m, 8, h);
    ck_assert_str_eq(h, "5450555000000000");
    cmc_icrc1_memo(CMC_MEMO_CREATE_CANISTER, m);
    hex(m, 8, h);
    ck_assert_str_eq(h, "4352454100000000");
    cmc_icrc1_memo(CMC_MEMO_MINT_CYCLES, m);
    hex(m, 8, h);
    ck_assert_str_eq(h, "4d494e5400000000");
    ck_assert_uint_eq(cmc_effective_memo(0, true, 8, m), CMC_MEMO_MINT_CYCLES);
    ck_assert_uint_eq(cmc_effective_memo(7, true, 8, m), 7);
    ck_assert_uint_eq(cmc_effective_memo(0, true, 7, m), 0);
    /* an ICRC-1 transfer with the garbage memo 0xDEADBEEF is refunded automatically */
    cmc_notify_args_t a = mint_args(60, &alice);
    uint64_t fetch = notify_ok(&a, T0);
    cmc_fetched_block_t b = transfer_to(&alice_acc, &alice, ICP, 0);
    cmc_icrc1_memo(0xDEADBEEFULL, b.icrc1_memo);
    b.has_icrc1_memo = true;
    b.icrc1_memo_len = 8;
    cmc_outcome_t out;
    fetched(fetch, &b, T0, &out);
    ck_assert_uint_eq(nlast, 1);
    ck_assert_uint_eq(last_intents[0].amount, ICP - FEE);
    transfer_done(out.intent_id, true, 61, T0, &out);
    ck_assert_ptr_nonnull(strstr(out.error.detail, "0xdeadbeef"));
}
END_TEST

/* ---- flows ---- */

START_TEST(test_top_up_happy_path)
{
    principal_t can;
    principal_canister(5001, &can);
    load_canister(&can);
    cmc_notify_args_t a = top_up_args(3, &bob, &can);
    uint64_t fetch = notify_ok(&a, T0);
    cmc_notification_t n;
    ck_assert(cmc_notification(C, 3, &n));
    ck_assert_int_eq(n.status, CMC_STATUS_PROCESSING);
    cmc_fetched_block_t b = transfer_to(&bob_acc, &can, 2 * ICP, CMC_MEMO_TOP_UP_CANISTER);
    cmc_outcome_t out;
    fetched(fetch, &b, T0 + 5, &out);
    ck_assert(!out.finished);
    ck_assert_uint_eq(nlast, 1);
    cmc_intent_t burn = last_intents[0];
    ck_assert_int_eq(burn.kind, CMC_INTENT_TRANSFER);
    ck_assert_int_eq(burn.purpose, CMC_PURPOSE_BURN);
    ck_assert(account_id_equal(&burn.to, &mint_acc));
    ck_assert_uint_eq(burn.amount, 2 * ICP);
    ck_assert_uint_eq(burn.fee, 0);
    ck_assert_uint_eq(burn.memo, 0);
    ck_assert_uint_eq(burn.created_at_time, T0 + 5);
    /* the canister gets its cycles after the burn */
    cmc_canister_t k;
    ck_assert(cmc_canister(C, &can, &k));
    ck_assert(k.cycles == 0);
    cmc_round_t *r = cmc_round_begin(C);
    nns_error_t err;
    cmc_transfer_result_t res = {.ok = true, .block_index = 9};
    ck_assert(cmc_apply_transfer_done(C, r, burn.id, &res, T0 + 6, &out, &err));
    ck_assert(out.finished && out.ok);
    ck_assert(out.result.cycles == 200000000000000ULL);
    size_t nn, nc, nf;
    const cmc_notification_t *notes = cmc_round_notifications(r, &nn);
    ck_assert_uint_eq(nn, 1);
    ck_assert_int_eq(notes[0].status, CMC_STATUS_NOTIFIED_TOP_UP);
    const cmc_canister_t *cans = cmc_round_canisters(r, &nc);
    ck_assert_uint_eq(nc, 1);
    ck_assert(cans[0].cycles == 200000000000000ULL);
    const uint64_t *fin = cmc_round_finished_intents(r, &nf);
    ck_assert_uint_eq(nf, 1);
    ck_assert_uint_eq(fin[0], burn.id);
    ck_assert(cmc_canister(C, &can, &k)); /* reads see committed state only */
    ck_assert(k.cycles == 0);
    cmc_round_commit(C, &r);
    ck_assert(cmc_canister(C, &can, &k));
    ck_assert(k.cycles == 200000000000000ULL);
    ck_assert(cmc_notification(C, 3, &n));
    ck_assert_int_eq(n.status, CMC_STATUS_NOTIFIED_TOP_UP);
    cmc_info_t info;
    cmc_info(C, &info);
    ck_assert_uint_eq(info.in_flight, 0);
    cmc_cycles_t limit, minted;
    uint64_t window;
    cmc_minting_limit(C, (T0 + 6) / SEC, &limit, &window, &minted);
    ck_assert(limit == CMC_CYCLES_LIMIT);
    ck_assert_uint_eq(window, 3600);
    ck_assert(minted == 200000000000000ULL);
    cmc_minting_limit(C, (T0 + 6) / SEC + 3700, &limit, &window, &minted);
    ck_assert(minted == 0);
}
END_TEST

START_TEST(test_repeated_notify_returns_cached_result)
{
    principal_t can, other_can;
    principal_canister(5002, &can);
    principal_canister(5003, &other_can);
    load_canister(&can);
    cmc_outcome_t out = top_up(70, &can, ICP, T0);
    ck_assert(out.ok);
    cmc_notify_args_t a = top_up_args(70, &bob, &can);
    nns_error_t err;
    ck_assert(notify(&a, T0 + SEC, &out, &err));
    ck_assert(out.finished && out.ok);
    ck_assert(out.result.cycles == 100000000000000ULL);
    ck_assert_uint_eq(nlast, 0); /* no new intent */
    /* another canister: the block's destination does not match */
    a.canister_id = other_can;
    ck_assert(!notify(&a, T0, &out, &err));
    ck_assert_str_eq(err.code, "InvalidTransaction");
    ck_assert_ptr_nonnull(strstr(err.detail, "Destination account in the block"));
    /* the same subaccount with another method: the memo does not match */
    cmc_notify_args_t m = mint_args(70, &can);
    ck_assert(!notify(&m, T0, &out, &err));
    ck_assert_str_eq(err.detail, "The memo (TopUp (1347768404)) in the transaction does not "
                                 "match the expected memo (MintCycles (1414416717)) for the "
                                 "operation.");
    /* a repeated refunded notification returns the same Refunded */
    principal_t unknown;
    principal_canister(7779, &unknown);
    out = top_up(71, &unknown, ICP, T0);
    ck_assert_str_eq(out.error.code, "Refunded");
    a = top_up_args(71, &alice, &unknown);
    ck_assert(!notify(&a, T0, &out, &err));
    ck_assert_str_eq(err.code, "Refunded");
    ck_assert_uint_eq(err.payload[0].value, 1071);
}
END_TEST

START_TEST(test_processing_while_in_flight)
{
    principal_t can;
    principal_canister(5004, &can);
    load_canister(&can);
    cmc_notify_args_t a = top_up_args(80, &alice, &can);
    uint64_t fetch = notify_ok(&a, T0);
    cmc_outcome_t out;
    nns_error_t err;
    ck_assert(!notify(&a, T0, &out, &err));
    ck_assert_str_eq(err.code, "Processing");
    ck_assert_int_eq(err.status, 409);
    cmc_notify_args_t m = mint_args(80, &alice); /* any method */
    ck_assert(!notify(&m, T0, &out, &err));
    ck_assert_int_eq(err.status, 409);
    cmc_fetched_block_t b = transfer_to(&alice_acc, &can, ICP, CMC_MEMO_TOP_UP_CANISTER);
    fetched(fetch, &b, T0, &out);
    ck_assert(!notify(&a, T0, &out, &err)); /* still burning */
    ck_assert_int_eq(err.status, 409);
    /* in one round too: the round sees its own claim */
    cmc_round_t *r = cmc_round_begin(C);
    cmc_notify_args_t c2 = top_up_args(81, &alice, &can);
    ck_assert(cmc_apply_notify(C, r, &c2, T0, &out, &err));
    ck_assert(!cmc_apply_notify(C, r, &c2, T0, &out, &err));
    ck_assert_str_eq(err.code, "Processing");
    cmc_round_discard(C, &r);
    cmc_notification_t n;
    ck_assert(!cmc_notification(C, 81, &n)); /* discarded */
}
END_TEST

START_TEST(test_unknown_memo_refunded_less_one_fee)
{
    principal_t can;
    principal_canister(5005, &can);
    cmc_notify_args_t a = top_up_args(90, &bob, &can);
    uint64_t fetch = notify_ok(&a, T0);
    cmc_fetched_block_t b = transfer_to(&bob_acc, &can, 10 * ICP, 0);
    cmc_outcome_t out;
    fetched(fetch, &b, T0, &out);
    ck_assert(!out.finished);
    ck_assert_uint_eq(nlast, 1);
    ck_assert_int_eq(last_intents[0].purpose, CMC_PURPOSE_REFUND);
    ck_assert_uint_eq(last_intents[0].amount, 999990000);
    ck_assert_uint_eq(last_intents[0].fee, FEE);
    ck_assert(account_id_equal(&last_intents[0].to, &bob_acc));
    transfer_done(out.intent_id, true, 91, T0, &out);
    ck_assert_uint_eq(nlast, 0); /* no extra fee to burn */
    ck_assert_str_eq(out.error.code, "Refunded");
    ck_assert_str_eq(out.error.detail,
                     "Memo (0x0) in the incoming ICP transfer does not correspond to any of the "
                     "operations that the Cycles Minting canister offers.");
    cmc_notification_t n;
    ck_assert(cmc_notification(C, 90, &n));
    ck_assert_int_eq(n.status, CMC_STATUS_NOT_MEANINGFUL_MEMO);
    ck_assert_uint_eq(n.result.refund_block_index, 91);
    ck_assert_str_eq(n.result.reason, out.error.detail); /* stored up to its reason's end */
    ck_assert(n.has_block && n.memo == 0);
    /* any method with the same subaccount gets the same answer again, refunded once */
    nns_error_t err;
    ck_assert(!notify(&a, T0, &out, &err));
    ck_assert_str_eq(err.code, "Refunded");
    ck_assert_uint_eq(err.payload[0].value, 91);
    ck_assert_str_eq(err.detail, n.result.reason);
    cmc_notify_args_t m = mint_args(90, &can);
    ck_assert(!notify(&m, T0, &out, &err));
    ck_assert_str_eq(err.code, "Refunded");
    ck_assert_uint_eq(nlast, 0);
}
END_TEST

START_TEST(test_wrong_destination_and_not_a_transfer_release_the_block)
{
    principal_t can;
    principal_canister(5006, &can);
    load_canister(&can);
    cmc_notify_args_t a = top_up_args(100, &alice, &can);
    uint64_t fetch = notify_ok(&a, T0);
    cmc_fetched_block_t b = transfer_to(&alice_acc, &alice, ICP, CMC_MEMO_TOP_UP_CANISTER);
    cmc_outcome_t out;
    fetched(fetch, &b, T0, &out);
    ck_assert(out.finished && !out.ok);
    ck_assert_str_eq(out.error.code, "InvalidTransaction");
    ck_assert_int_eq(out.error.status, 400);
    ck_assert_ptr_nonnull(strstr(out.error.detail, "Destination account in the block"));
    ck_assert_uint_eq(nlast, 0);
    cmc_notification_t n;
    ck_assert(!cmc_notification(C, 100, &n)); /* released: the user may retry */
    fetch = notify_ok(&a, T0);
    b.op = CMC_OP_BURN;
    fetched(fetch, &b, T0, &out);
    ck_assert_str_eq(out.error.detail, "Notification transaction must be of type Transfer");
    fetch = notify_ok(&a, T0);
    memset(&b, 0, sizeof b);
    b.status = CMC_BLOCK_NOT_FOUND;
    fetched(fetch, &b, T0, &out);
    ck_assert_str_eq(out.error.detail, "Block 100 not found");
    fetch = notify_ok(&a, T0);
    b.status = CMC_BLOCK_FETCH_FAILED;
    strcpy(b.fetch_error, "connection refused");
    fetched(fetch, &b, T0, &out);
    ck_assert_str_eq(out.error.code, "Other");
    ck_assert_int_eq(out.error.status, 503);
    ck_assert_uint_eq(out.error.payload[0].value, CMC_OTHER_FAILED_TO_FETCH_BLOCK);
    /* a meaningful memo of another method: no refund, released */
    fetch = notify_ok(&a, T0);
    b = transfer_to(&alice_acc, &can, ICP, CMC_MEMO_CREATE_CANISTER);
    fetched(fetch, &b, T0, &out);
    ck_assert_ptr_nonnull(strstr(out.error.detail, "The memo (CreateCanister"));
    ck_assert_uint_eq(nlast, 0);
    /* finally the right block */
    fetch = notify_ok(&a, T0);
    b = transfer_to(&alice_acc, &can, ICP, CMC_MEMO_TOP_UP_CANISTER);
    fetched(fetch, &b, T0, &out);
    transfer_done(out.intent_id, true, 5, T0, &out);
    ck_assert(out.ok);
}
END_TEST

START_TEST(test_create_canister_and_id_allocation)
{
    principal_t subnets[1] = {subnet_a};
    set_default_subnets(subnets, 1);
    principal_t ids[3];
    for (int i = 0; i < 2; i++) {
        cmc_notify_args_t a = create_args(110 + (uint64_t)i, &alice);
        if (i == 1) {
            a.has_settings = true;
            a.has_controllers = true;
            a.ncontrollers = 2;
            a.controllers[0] = bob;
            a.controllers[1] = alice;
        }
        uint64_t fetch = notify_ok(&a, T0);
        cmc_fetched_block_t b = transfer_to(&alice_acc, &alice, ICP, CMC_MEMO_CREATE_CANISTER);
        cmc_outcome_t out;
        fetched(fetch, &b, T0, &out);
        ck_assert(!out.finished);
        transfer_done(out.intent_id, true, 200, T0, &out);
        ck_assert(out.finished && out.ok);
        ids[i] = out.result.canister_id;
    }
    principal_t want;
    principal_canister(CMC_CANISTER_RANGE, &want);
    ck_assert(principal_equal(&ids[0], &want));
    principal_canister(CMC_CANISTER_RANGE + 1, &want);
    ck_assert(principal_equal(&ids[1], &want));
    cmc_canister_t k;
    ck_assert(cmc_canister(C, &ids[0], &k));
    ck_assert(principal_equal(&k.subnet, &subnet_a));
    ck_assert_uint_eq(k.ncontrollers, 1);
    ck_assert(principal_equal(&k.controllers[0], &alice));
    ck_assert(k.cycles == 100000000000000ULL - CMC_CREATION_FEE);
    ck_assert(cmc_canister(C, &ids[1], &k));
    ck_assert_uint_eq(k.ncontrollers, 2);
    ck_assert(principal_equal(&k.controllers[0], &bob));
    /* a second subnet gets the next range */
    principal_t two[1] = {subnet_b};
    set_default_subnets(two, 1);
    cmc_notify_args_t a = create_args(112, &bob);
    uint64_t fetch = notify_ok(&a, T0);
    cmc_fetched_block_t b = transfer_to(&bob_acc, &bob, ICP, CMC_MEMO_CREATE_CANISTER);
    cmc_outcome_t out;
    fetched(fetch, &b, T0, &out);
    transfer_done(out.intent_id, true, 201, T0, &out);
    principal_canister(2 * CMC_CANISTER_RANGE, &want);
    ck_assert(principal_equal(&out.result.canister_id, &want));
    ids[2] = out.result.canister_id;
    /* the canister can be topped up */
    out = top_up(113, &ids[2], ICP, T0);
    ck_assert(out.ok);
    ck_assert(cmc_canister(C, &ids[2], &k));
    ck_assert(k.cycles == 2 * 100000000000000ULL - CMC_CREATION_FEE);
    /* the nns-dapp may create for others; anyone else may not */
    principal_t dapp;
    principal_canister(CMC_NNS_DAPP_INDEX, &dapp);
    a = create_args(114, &alice);
    a.caller = dapp;
    notify_ok(&a, T0);
    a = create_args(115, &alice);
    a.caller = bob;
    nns_error_t err;
    ck_assert(!notify(&a, T0, &out, &err));
    ck_assert_str_eq(err.code, "Other");
    ck_assert_int_eq(err.status, 403);
    ck_assert_uint_eq(err.payload[0].value, CMC_OTHER_UNAUTHORIZED);
    /* too little for the creation fee: refunded less the create fee */
    a = create_args(116, &bob);
    fetch = notify_ok(&a, T0);
    b = transfer_to(&bob_acc, &bob, 10000000, CMC_MEMO_CREATE_CANISTER); /* 0.1 ICP = 10T */
    b.amount = 400000; /* 400B cycles < 500B */
    fetched(fetch, &b, T0, &out);
    ck_assert_uint_eq(last_intents[0].amount, 400000 - FEE - CMC_CREATE_REFUND_FEE);
    transfer_done_all(out.intent_id, true, 202, T0, &out);
    ck_assert_ptr_nonnull(strstr(out.error.detail, "failed with code 4"));
}
END_TEST

START_TEST(test_subnet_selection_errors)
{
    nns_error_t err;
    cmc_round_t *r = cmc_round_begin(C);
    principal_t defaults[1] = {subnet_a};
    ck_assert(cmc_apply_set_authorized_subnets(C, r, NULL, defaults, 1, &err));
    ck_assert(cmc_apply_update_subnet_type(C, r, true, "fiduciary", &err));
    ck_assert(!cmc_apply_update_subnet_type(C, r, true, "fiduciary", &err));
    ck_assert_str_eq(err.code, "Duplicate");
    ck_assert(!cmc_apply_update_subnet_type(C, r, false, "gpu", &err));
    ck_assert_str_eq(err.code, "TypeDoesNotExist");
    principal_t typed[1] = {subnet_c};
    ck_assert(!cmc_apply_change_subnet_type_assignment(C, r, true, typed, 1, "gpu", &err));
    ck_assert_str_eq(err.code, "TypeDoesNotExist");
    ck_assert(!cmc_apply_change_subnet_type_assignment(C, r, true, defaults, 1, "fiduciary",
                                                       &err));
    ck_assert_str_eq(err.code, "SubnetsAreAuthorized");
    ck_assert(
        cmc_apply_change_subnet_type_assignment(C, r, true, typed, 1, "fiduciary", &err));
    ck_assert(!cmc_apply_change_subnet_type_assignment(C, r, true, typed, 1, "fiduciary", &err));
    ck_assert_str_eq(err.code, "SubnetsAreAssigned");
    ck_assert(!cmc_apply_update_subnet_type(C, r, false, "fiduciary", &err));
    ck_assert_str_eq(err.code, "TypeHasAssignedSubnets");
    ck_assert(!cmc_apply_set_authorized_subnets(C, r, &bob, typed, 1, &err));
    ck_assert_str_eq(err.code, "SubnetsAreAssigned");
    principal_t b_only[1] = {subnet_b};
    ck_assert(!cmc_apply_change_subnet_type_assignment(C, r, false, b_only, 1, "fiduciary",
                                                       &err));
    ck_assert_str_eq(err.code, "SubnetsAreNotAssigned");
    ck_assert(cmc_apply_set_authorized_subnets(C, r, &bob, b_only, 1, &err));
    const cmc_subnet_row_t *rows;
    const cmc_subnet_range_t *ranges;
    size_t nrows, nranges;
    ck_assert(cmc_round_subnets(r, &rows, &nrows, &ranges, &nranges));
    ck_assert_uint_eq(nrows, 4);
    cmc_round_commit(C, &r);
    cmc_subnet_row_t *all;
    size_t n;
    ck_assert(cmc_subnets(C, &all, &n));
    ck_assert_uint_eq(n, 4);
    free(all);

    /* both subnet_type and subnet_selection: Other 4, before any fetch */
    cmc_notify_args_t a = create_args(120, &alice);
    a.has_subnet_type = true;
    strcpy(a.subnet_type, "fiduciary");
    a.select = CMC_SELECT_FILTER;
    cmc_outcome_t out;
    ck_assert(!notify(&a, T0, &out, &err));
    ck_assert_int_eq(err.status, 400);
    ck_assert_uint_eq(err.payload[0].value, CMC_OTHER_BAD_SUBNET_SELECTION);
    ck_assert_str_eq(err.detail,
                     "Cannot specify subnet_type and subnet_selection at the same time.");

    struct {
        cmc_select_kind_t select;
        const char *type;
        principal_t *subnet;
        const principal_t *who;
        const char *reason_part; /* NULL: created */
        const principal_t *want_subnet;
    } cases[] = {
        {CMC_SELECT_FILTER, "nope", NULL, &alice, "Provided subnet type nope does not exist",
         NULL},
        {CMC_SELECT_FILTER, "fiduciary", NULL, &alice, NULL, &subnet_c},
        {CMC_SELECT_SUBNET, NULL, &subnet_b, &alice, "is not authorized to deploy", NULL},
        {CMC_SELECT_SUBNET, NULL, &subnet_b, &bob, NULL, &subnet_b},
        {CMC_SELECT_SUBNET, NULL, &subnet_c, &alice, NULL, &subnet_c},
        {CMC_SELECT_NONE, NULL, NULL, &alice, NULL, &subnet_a},
        {CMC_SELECT_NONE, NULL, NULL, &bob, NULL, &subnet_b}, /* authorized list wins */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        a = create_args(130 + i, cases[i].who);
        a.select = cases[i].select;
        if (cases[i].type) {
            a.select_has_type = true;
            strcpy(a.select_type, cases[i].type);
        }
        if (cases[i].subnet)
            a.select_subnet = *cases[i].subnet;
        uint64_t fetch = notify_ok(&a, T0);
        cmc_fetched_block_t b =
            transfer_to(&alice_acc, cases[i].who, ICP, CMC_MEMO_CREATE_CANISTER);
        fetched(fetch, &b, T0, &out);
        transfer_done_all(out.intent_id, true, 300 + i, T0, &out);
        if (cases[i].reason_part) {
            ck_assert_msg(!out.ok, "case %zu", i);
            ck_assert_ptr_nonnull(strstr(out.error.detail, cases[i].reason_part));
        } else {
            ck_assert_msg(out.ok, "case %zu: %s", i, out.error.detail);
            cmc_canister_t k;
            ck_assert(cmc_canister(C, &out.result.canister_id, &k));
            ck_assert_msg(principal_equal(&k.subnet, cases[i].want_subnet), "case %zu", i);
        }
    }
}
END_TEST

START_TEST(test_limiter_refusal_and_refund)
{
    principal_t can;
    principal_canister(5007, &can);
    load_canister(&can);
    cmc_outcome_t out = top_up(140, &can, 900 * ICP, T0);
    ck_assert(out.ok);
    out = top_up(141, &can, 900 * ICP, T0 + 4000 * SEC);
    ck_assert(out.ok);
    cmc_notify_args_t a = top_up_args(142, &alice, &can);
    uint64_t fetch = notify_ok(&a, T0 + 7000 * SEC);
    cmc_fetched_block_t b = transfer_to(&alice_acc, &can, 900 * ICP, CMC_MEMO_TOP_UP_CANISTER);
    fetched(fetch, &b, T0 + 7000 * SEC, &out);
    ck_assert_uint_eq(nlast, 1);
    ck_assert_int_eq(last_intents[0].purpose, CMC_PURPOSE_REFUND);
    ck_assert_uint_eq(last_intents[0].amount, 900 * ICP - FEE - CMC_TOP_UP_REFUND_FEE);
    transfer_done_all(out.intent_id, true, 143, T0 + 7000 * SEC, &out);
    ck_assert_str_eq(out.error.code, "Refunded");
    ck_assert_str_eq(out.error.detail, "More than 150000000000000000 cycles have been minted in "
                                       "the last 3600 seconds, please try again later.");
    cmc_info_t info;
    cmc_info(C, &info);
    ck_assert_uint_eq(info.limiter_rejects, 1);
    ck_assert(info.total_cycles_minted == u128(0, 180000000000000000ULL));
    cmc_canister_t k;
    ck_assert(cmc_canister(C, &can, &k));
    ck_assert(k.cycles == u128(0, 180000000000000000ULL));
    /* mint is limited too */
    cmc_notify_args_t m = mint_args(144, &alice);
    fetch = notify_ok(&m, T0 + 7001 * SEC);
    b = transfer_to(&alice_acc, &alice, 900 * ICP, CMC_MEMO_MINT_CYCLES);
    fetched(fetch, &b, T0 + 7001 * SEC, &out);
    ck_assert_uint_eq(last_intents[0].amount, 900 * ICP - FEE - CMC_MINT_REFUND_FEE);
}
END_TEST

START_TEST(test_refund_failure_allows_retry)
{
    principal_t unknown;
    principal_canister(7780, &unknown);
    cmc_notify_args_t a = top_up_args(150, &bob, &unknown);
    uint64_t fetch = notify_ok(&a, T0);
    cmc_fetched_block_t b = transfer_to(&bob_acc, &unknown, ICP, CMC_MEMO_TOP_UP_CANISTER);
    cmc_outcome_t out;
    fetched(fetch, &b, T0, &out);
    transfer_done(out.intent_id, false, 0, T0, &out);
    ck_assert(out.finished && !out.ok);
    ck_assert_str_eq(out.error.code, "Other");
    ck_assert_uint_eq(out.error.payload[0].value, CMC_OTHER_REFUND_FAILED);
    ck_assert_ptr_nonnull(strstr(out.error.detail, "failed with code 2: ledger unavailable"));
    cmc_notification_t n;
    ck_assert(!cmc_notification(C, 150, &n));
    notify_ok(&a, T0);
}
END_TEST

START_TEST(test_mint_memo_too_long_and_no_cycles_ledger)
{
    cmc_notify_args_t a = mint_args(160, &alice);
    a.has_deposit_memo = true;
    a.deposit_memo_len = 33;
    cmc_outcome_t out;
    nns_error_t err;
    ck_assert(!notify(&a, T0, &out, &err));
    ck_assert_str_eq(err.detail, "Memo length 33 exceeds the maximum length of 32");
    ck_assert_uint_eq(err.payload[0].value, CMC_OTHER_DEPOSIT_MEMO_TOO_LONG);
    ck_assert_int_eq(err.status, 400);
    cmc_destroy(&C);
    CFG.has_cycles_ledger = false;
    make_cmc();
    a.deposit_memo_len = 32;
    uint64_t fetch = notify_ok(&a, T0);
    cmc_fetched_block_t b = transfer_to(&alice_acc, &alice, ICP, CMC_MEMO_MINT_CYCLES);
    fetched(fetch, &b, T0, &out);
    transfer_done_all(out.intent_id, true, 161, T0, &out);
    ck_assert_str_eq(out.error.detail, "No cycles ledger canister id configured.");
}
END_TEST

START_TEST(test_intents_carry_distinct_created_at_times)
{
    principal_t can;
    principal_canister(5008, &can);
    load_canister(&can);
    cmc_round_t *r = cmc_round_begin(C);
    cmc_outcome_t out;
    nns_error_t err;
    uint64_t fetch[2];
    for (int i = 0; i < 2; i++) {
        cmc_notify_args_t a = top_up_args(170 + (uint64_t)i, &alice, &can);
        ck_assert(cmc_apply_notify(C, r, &a, T0, &out, &err));
        fetch[i] = out.intent_id;
    }
    cmc_round_commit(C, &r);
    r = cmc_round_begin(C);
    cmc_fetched_block_t b = transfer_to(&alice_acc, &can, ICP, CMC_MEMO_TOP_UP_CANISTER);
    for (int i = 0; i < 2; i++)
        ck_assert(cmc_apply_block_fetched(C, r, fetch[i], &b, T0 + 100, &out, &err));
    size_t n;
    const cmc_intent_t *in = cmc_round_intents(r, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(in[0].amount, in[1].amount);
    ck_assert_uint_eq(in[0].created_at_time, T0 + 100);
    ck_assert_uint_eq(in[1].created_at_time, T0 + 101);
    ck_assert_uint_ne(in[0].id, in[1].id);
    /* two notifications in flight: each minted its own cycles (none reused from the other) */
    cmc_info_t info;
    cmc_round_info(r, &info);
    ck_assert(info.total_cycles_minted == 200000000000000ULL);
    ck_assert(info.held_cycles == 0);
    cmc_round_commit(C, &r);
    /* a later round at the same time (a stopped test clock) still gets later times */
    r = cmc_round_begin(C);
    cmc_notify_args_t a3 = top_up_args(172, &alice, &can);
    ck_assert(cmc_apply_notify(C, r, &a3, T0 + 100, &out, &err));
    in = cmc_round_intents(r, &n);
    ck_assert_uint_eq(in[0].created_at_time, T0 + 102);
    cmc_round_discard(C, &r);
}
END_TEST

START_TEST(test_discarded_round_leaves_state)
{
    principal_t can;
    principal_canister(5009, &can);
    load_canister(&can);
    cmc_round_t *r = cmc_round_begin(C);
    nns_error_t err;
    cmc_rate_t x = {CMC_DEFAULT_RATE_TIMESTAMP + 100, 42};
    ck_assert(cmc_apply_set_rate(C, r, CMC_ROLE_GOVERNANCE, &x, T0, &err));
    principal_t s[1] = {subnet_a};
    ck_assert(cmc_apply_set_authorized_subnets(C, r, NULL, s, 1, &err));
    cmc_outcome_t out;
    cmc_notify_args_t a = top_up_args(180, &alice, &can);
    ck_assert(cmc_apply_notify(C, r, &a, T0, &out, &err));
    cmc_round_discard(C, &r);
    ck_assert_ptr_null(r);
    cmc_rate_t cur;
    cmc_rate(C, &cur);
    ck_assert_uint_eq(cur.xdr_permyriad_per_icp, CMC_DEFAULT_RATE);
    cmc_subnet_row_t *rows;
    size_t n;
    ck_assert(cmc_subnets(C, &rows, &n));
    ck_assert_uint_eq(n, 0);
    cmc_notification_t note;
    ck_assert(!cmc_notification(C, 180, &note));
    cmc_info_t info;
    cmc_info(C, &info);
    ck_assert_uint_eq(info.next_intent_id, 1);
}
END_TEST

START_TEST(test_load_then_finish_in_flight)
{
    /* a restart: the store loads the pending notification and its intent, then the burn ends */
    principal_t can;
    principal_canister(5010, &can);
    load_canister(&can);
    cmc_notify_args_t a = top_up_args(190, &alice, &can);
    uint64_t fetch = notify_ok(&a, T0);
    cmc_fetched_block_t b = transfer_to(&alice_acc, &can, ICP, CMC_MEMO_TOP_UP_CANISTER);
    cmc_round_t *r = cmc_round_begin(C);
    cmc_outcome_t out;
    nns_error_t err;
    ck_assert(cmc_apply_block_fetched(C, r, fetch, &b, T0, &out, &err));
    size_t np, ni, nn;
    const bool *removed;
    const cmc_pending_t *p = cmc_round_pending(r, &removed, &np);
    const cmc_intent_t *in = cmc_round_intents(r, &ni);
    const cmc_notification_t *notes = cmc_round_notifications(r, &nn);
    ck_assert_uint_eq(np, 1);
    ck_assert_uint_eq(ni, 1);
    ck_assert_uint_eq(nn, 0);
    cmc_pending_t saved_p = p[0];
    cmc_intent_t saved_i = in[0];
    cmc_info_t info;
    cmc_round_info(r, &info);
    cmc_round_commit(C, &r);
    cmc_notification_t note;
    ck_assert(cmc_notification(C, 190, &note));
    (void)notes;

    cmc_destroy(&C);
    make_cmc();
    cmc_load_info(C, &info);
    load_canister(&can);
    ck_assert(cmc_load_notification(C, &note));
    ck_assert(cmc_load_pending(C, &saved_p));
    ck_assert(cmc_load_intent(C, &saved_i));
    transfer_done(saved_i.id, true, 77, T0, &out);
    ck_assert(out.ok);
    ck_assert(out.result.cycles == 100000000000000ULL);
    cmc_canister_t k;
    ck_assert(cmc_canister(C, &can, &k));
    ck_assert(k.cycles == 100000000000000ULL);
    cmc_info(C, &info);
    ck_assert(info.held_cycles == 0);
    ck_assert_uint_eq(info.in_flight, 0);
}
END_TEST

START_TEST(test_subnet_rental_limiter_and_failed_burn)
{
    /* the Subnet Rental canister topping itself up counts against its own limiter */
    principal_t src;
    principal_canister(CMC_SUBNET_RENTAL_INDEX, &src);
    load_canister(&src);
    cmc_notify_args_t a = top_up_args(200, &src, &src);
    uint64_t fetch = notify_ok(&a, T0);
    cmc_fetched_block_t b = transfer_to(&alice_acc, &src, 2000 * ICP, CMC_MEMO_TOP_UP_CANISTER);
    cmc_outcome_t out;
    fetched(fetch, &b, T0, &out);
    ck_assert(!out.finished); /* 200P: above the base limit, below the SRC limit */
    /* a burn that fails is only logged: the cycles are deposited all the same */
    transfer_done(out.intent_id, false, 0, T0, &out);
    ck_assert(out.finished && out.ok);
    cmc_canister_t k;
    ck_assert(cmc_canister(C, &src, &k));
    ck_assert(k.cycles == u128(0, 200000000000000000ULL));
    cmc_cycles_t limit, minted;
    uint64_t window;
    cmc_minting_limit(C, T0 / SEC, &limit, &window, &minted);
    ck_assert(minted == 0);
    cmc_round_t *r = cmc_round_begin(C);
    const cmc_limiter_t *l;
    cmc_round_limiter(r, 1, &l);
    ck_assert(l->total == u128(0, 200000000000000000ULL));
    cmc_round_discard(C, &r);
    /* anyone else topping up the SRC uses the base limiter */
    a = top_up_args(201, &alice, &src);
    fetch = notify_ok(&a, T0);
    fetched(fetch, &b, T0, &out);
    ck_assert_int_eq(last_intents[0].purpose, CMC_PURPOSE_REFUND);
}
END_TEST

static Suite *cmc_suite(void)
{
    Suite *s = suite_create("cmc");
    TCase *v = tcase_create("vectors");
    tcase_add_checked_fixture(v, setup, teardown);
    tcase_add_test(v, test_v01_v02_v09_conversion_rounding);
    tcase_add_test(v, test_v03_v04_v05_v08_conversion_at_rates);
    tcase_add_test(v, test_v03_v04_top_up_burns_whole_amount_and_counts_minted);
    tcase_add_test(v, test_v06_mint_below_cycles_ledger_fee_refunds_nothing);
    tcase_add_test(v, test_v07_mint_cycles_to_cycles_ledger);
    tcase_add_test(v, test_v13_rate_not_newer_than_default);
    tcase_add_test(v, test_v14_average_and_maturity_modulation);
    tcase_add_test(v, test_v15_apply_maturity_modulation);
    tcase_add_test(v, test_v16_v17_refund_arithmetic);
    tcase_add_test(v, test_v16_failed_top_up_refund_and_burn_intents);
    tcase_add_test(v, test_v16_failed_create_refund_less_create_fee);
    tcase_add_test(v, test_v17_tiny_amount_refund_none_burn_skipped);
    tcase_add_test(v, test_v21_limiter_sequence);
    tcase_add_test(v, test_v22_limits_in_icp);
    tcase_add_test(v, test_v23_purge_keeps_newest);
    tcase_add_test(v, test_v23_purge_sparse_blocks);
    tcase_add_test(v, test_v24_canister_id_texts);
    tcase_add_test(v, test_v25_v26_v27_deposit_accounts);
    tcase_add_test(v, test_v28_memos_and_garbage_memo_refund);
    suite_add_tcase(s, v);
    TCase *f = tcase_create("flows");
    tcase_add_checked_fixture(f, setup, teardown);
    tcase_add_test(f, test_history_keeps_more_than_400_days);
    tcase_add_test(f, test_top_up_happy_path);
    tcase_add_test(f, test_repeated_notify_returns_cached_result);
    tcase_add_test(f, test_processing_while_in_flight);
    tcase_add_test(f, test_unknown_memo_refunded_less_one_fee);
    tcase_add_test(f, test_wrong_destination_and_not_a_transfer_release_the_block);
    tcase_add_test(f, test_create_canister_and_id_allocation);
    tcase_add_test(f, test_subnet_selection_errors);
    tcase_add_test(f, test_limiter_refusal_and_refund);
    tcase_add_test(f, test_refund_failure_allows_retry);
    tcase_add_test(f, test_mint_memo_too_long_and_no_cycles_ledger);
    tcase_add_test(f, test_intents_carry_distinct_created_at_times);
    tcase_add_test(f, test_discarded_round_leaves_state);
    tcase_add_test(f, test_load_then_finish_in_flight);
    tcase_add_test(f, test_subnet_rental_limiter_and_failed_burn);
    suite_add_tcase(s, f);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cmc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
