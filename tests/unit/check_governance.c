/*
 * Unit tests of the governance state machine (gov.h, spec/governance.md sections 2, 3, 5, 8, 10):
 * claims and refreshes through the balance read, every manage-neuron command with its rules,
 * errors and permissions (spec 2.12), locks (LedgerUpdateOngoing), the ledger flows (disburse,
 * split, merge, spawn, disburse-maturity, genesis mints) driven intent by intent with ledger
 * refusals, rounds (discard and commit), loads, periodic work, the creation limiter, the maturity
 * modulation wiring and the memory per neuron. Each command runs in a round of its own, committed
 * when it succeeded and discarded when it was refused. No database, no network.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "gov.h"
#include "gov_reward.h"

#define ICP 100000000ULL
#define FEE 10000ULL
#define DAY GOV_ONE_DAY
#define YEAR GOV_ONE_YEAR
#define T0 1700000000ULL

static gov_t *G;
static gov_config_t CFG;
static principal_t alice, bob, carol, govp;
static account_id_t alice_acc, bob_acc, mint_acc;
static gov_intent_t last_intents[16];
static size_t nlast;
static gov_event_t last_events[64];
static size_t nevents;
static uint64_t next_id = 1000, next_block = 1;
static gov_neuron_full_t N; /* scratch for reads */

static void user(uint8_t n, principal_t *p, account_id_t *a)
{
    uint8_t der[44] = {0};
    der[43] = n;
    principal_self_authenticating(der, sizeof der, p);
    if (a)
        account_id_of(p, NULL, a);
}

/* Whether an intent is one of the rewards' reads (gov_reward.h: the daily supply read and the
 * monthly conversion-rate read), which check_governance_rewards covers: the tests here leave
 * them unanswered. */
static bool reward_read(const gov_intent_t *in)
{
    return in->purpose == GOV_PURPOSE_SUPPLY || in->purpose == GOV_PURPOSE_AVERAGE_RATE;
}

/* The intents of the round other than the rewards' reads, into last_intents. */
static void keep_round(const gov_round_t *r)
{
    size_t n;
    const gov_intent_t *in = gov_round_intents(r, &n);
    nlast = 0;
    for (size_t i = 0; i < n; i++)
        if (!reward_read(&in[i])) {
            ck_assert_uint_lt(nlast, 16);
            last_intents[nlast++] = in[i];
        }
    const gov_event_t *ev = gov_round_events(r, &nevents);
    if (nevents > 64)
        nevents = 64;
    if (nevents)
        memcpy(last_events, ev, nevents * sizeof *ev);
}

/* gov_tick_due for the work of this file: a trial tick (discarded) must change a neuron, record
 * an event or emit an intent other than the rewards' reads. */
static bool tick_due(uint64_t now)
{
    if (!gov_tick_due(G, now))
        return false;
    gov_round_t *r = gov_round_begin(G);
    ck_assert_ptr_nonnull(r);
    bool work = false;
    nns_error_t err;
    ck_assert(gov_apply_tick(G, r, now, &work, &err));
    size_t n, ne;
    const gov_intent_t *in = gov_round_intents(r, &n);
    gov_round_events(r, &ne);
    bool other = ne > 0 || gov_round_neuron_count(r) > 0;
    for (size_t i = 0; i < n; i++)
        other = other || !reward_read(&in[i]);
    gov_round_discard(G, &r);
    return other;
}

static bool has_event(const char *kind)
{
    for (size_t i = 0; i < nevents; i++)
        if (strcmp(last_events[i].kind, kind) == 0)
            return true;
    return false;
}

static void genesis_with(gov_rules_t rules, const gov_economics_t *eco, bool has_mm, int32_t mm,
                         const gov_genesis_neuron_t *neurons, size_t n, uint64_t now)
{
    gov_genesis_t gen;
    memset(&gen, 0, sizeof gen);
    gen.rules = rules;
    gen.genesis_timestamp_seconds = now;
    if (eco)
        gen.economics = *eco;
    else
        gov_economics_default(rules, &gen.economics);
    gen.has_modulation = has_mm;
    gen.maturity_modulation_permyriad = mm;
    gen.neurons = neurons;
    gen.nneurons = n;
    gov_round_t *r = gov_round_begin(G);
    ck_assert_ptr_nonnull(r);
    nns_error_t err;
    ck_assert_msg(gov_apply_genesis(G, r, &gen, now, &err), "%s", err.detail);
    keep_round(r);
    gov_round_commit(G, &r);
}

static void setup_with(gov_rules_t rules, bool has_mm, int32_t mm)
{
    ck_assert(crypto_init());
    gov_config_default(&CFG);
    principal_canister(CANISTER_GOVERNANCE, &govp);
    account_id_of(&govp, NULL, &mint_acc);
    user(1, &alice, &alice_acc);
    user(2, &bob, &bob_acc);
    user(3, &carol, NULL);
    next_id = 1000;
    next_block = 1;
    G = gov_new(&CFG);
    ck_assert_ptr_nonnull(G);
    genesis_with(rules, NULL, has_mm, mm, NULL, 0, T0);
}

static void setup(void)
{
    setup_with(GOV_RULES_CURRENT, true, 0);
}

static void teardown(void)
{
    gov_destroy(&G);
    ck_assert_ptr_null(G);
}

/* ---- commands, each in a round ---- */

static bool claim(const principal_t *caller, const principal_t *controller, uint64_t memo,
                  uint64_t now, gov_outcome_t *out, nns_error_t *err)
{
    gov_claim_args_t a;
    memset(&a, 0, sizeof a);
    a.caller = *caller;
    a.controller = *controller;
    a.memo = memo;
    a.candidate_id = next_id++;
    gov_round_t *r = gov_round_begin(G);
    ck_assert_ptr_nonnull(r);
    bool ok = gov_apply_claim(G, r, &a, now, out, err);
    keep_round(r);
    if (ok)
        gov_round_commit(G, &r);
    else
        gov_round_discard(G, &r);
    return ok;
}

static void balance(uint64_t intent_id, bool ok, uint64_t amount, uint64_t now, gov_outcome_t *out)
{
    gov_balance_result_t res;
    memset(&res, 0, sizeof res);
    res.ok = ok;
    res.balance_e8s = amount;
    if (!ok)
        snprintf(res.error, sizeof res.error, "ledger unreachable");
    gov_round_t *r = gov_round_begin(G);
    nns_error_t err;
    ck_assert_msg(gov_apply_balance_read(G, r, intent_id, &res, now, out, &err), "%s", err.detail);
    keep_round(r);
    gov_round_commit(G, &r);
}

static void transfer_done(uint64_t intent_id, bool ok, uint64_t now, gov_outcome_t *out)
{
    gov_transfer_result_t res;
    memset(&res, 0, sizeof res);
    res.ok = ok;
    res.block_index = ok ? next_block++ : 0;
    if (!ok) {
        res.error_code = 1;
        snprintf(res.error, sizeof res.error, "insufficient funds");
    }
    gov_round_t *r = gov_round_begin(G);
    nns_error_t err;
    ck_assert_msg(gov_apply_transfer_done(G, r, intent_id, &res, now, out, &err), "%s", err.detail);
    keep_round(r);
    gov_round_commit(G, &r);
}

/* A neuron of controller with memo and stake, claimed at now; returns its id. */
static uint64_t stake(const principal_t *controller, uint64_t memo, uint64_t amount, uint64_t now)
{
    gov_outcome_t out;
    nns_error_t err;
    ck_assert_msg(claim(controller, controller, memo, now, &out, &err), "%s", err.detail);
    ck_assert(!out.finished);
    ck_assert_uint_eq(nlast, 1);
    uint64_t intent = last_intents[0].id;
    balance(intent, true, amount, now, &out);
    ck_assert(out.finished && out.ok && out.created);
    return out.neuron_id;
}

static gov_command_t command(gov_command_kind_t kind, const principal_t *caller, uint64_t id)
{
    gov_command_t c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.caller = *caller;
    c.neuron_id = id;
    return c;
}

static gov_outcome_t run_ok(const gov_command_t *c, uint64_t now)
{
    gov_outcome_t out;
    nns_error_t err;
    gov_round_t *r = gov_round_begin(G);
    ck_assert_ptr_nonnull(r);
    bool ok = gov_apply_command(G, r, c, now, &out, &err);
    ck_assert_msg(ok, "%s: %s %s", gov_command_name(c->kind), err.code, err.detail);
    keep_round(r);
    gov_round_commit(G, &r);
    return out;
}

/* The command is refused with code and status, and changes nothing. */
static nns_error_t run_err(const gov_command_t *c, uint64_t now, const char *code, int status)
{
    gov_outcome_t out;
    nns_error_t err;
    gov_info_t before, after;
    gov_info(G, now, &before);
    gov_round_t *r = gov_round_begin(G);
    ck_assert_ptr_nonnull(r);
    bool ok = gov_apply_command(G, r, c, now, &out, &err);
    ck_assert_msg(!ok, "%s succeeded, %s expected", gov_command_name(c->kind), code);
    ck_assert_str_eq(err.code, code);
    ck_assert_int_eq(err.status, status);
    ck_assert_uint_eq(gov_round_neuron_count(r), 0);
    size_t n;
    gov_round_intents(r, &n);
    ck_assert_uint_eq(n, 0);
    gov_round_discard(G, &r);
    gov_info(G, now, &after);
    ck_assert_uint_eq(before.total_staked_e8s, after.total_staked_e8s);
    ck_assert_uint_eq(before.total_maturity_e8s, after.total_maturity_e8s);
    ck_assert_uint_eq(before.neurons, after.neurons);
    return err;
}

static gov_neuron_full_t *get(uint64_t id, uint64_t now)
{
    ck_assert_msg(gov_neuron(G, id, now, &N), "neuron %llu", (unsigned long long)id);
    return &N;
}

/* Loads a neuron directly (for fixtures that need maturity, fees, ...). */
static void load(const gov_neuron_full_t *f)
{
    nns_error_t err;
    ck_assert_msg(gov_load_neuron(G, f, &err), "%s", err.detail);
    gov_load_done(G);
}

static void base_neuron(gov_neuron_full_t *f, uint64_t id, const principal_t *controller,
                        uint64_t stake_e8s, uint64_t delay, uint64_t now)
{
    memset(f, 0, sizeof *f);
    f->n.id = id;
    gov_neuron_staking_subaccount(controller, id, f->n.subaccount);
    f->n.controller = *controller;
    f->n.dissolve.dissolve_delay_seconds = delay;
    f->n.dissolve.aging_since_timestamp_seconds = now;
    f->n.cached_neuron_stake_e8s = stake_e8s;
    f->n.created_timestamp_seconds = now;
    f->n.kyc_verified = true;
    f->n.visibility = GOV_VISIBILITY_PRIVATE;
    f->n.voting_power_refreshed_timestamp_seconds = now;
}

static void dissolved_neuron(gov_neuron_full_t *f, uint64_t id, const principal_t *controller,
                             uint64_t stake_e8s, uint64_t now)
{
    base_neuron(f, id, controller, stake_e8s, 0, now);
    f->n.dissolve.dissolving = true;
    f->n.dissolve.dissolve_delay_seconds = 0;
    f->n.dissolve.aging_since_timestamp_seconds = 0;
    f->n.dissolve.when_dissolved_timestamp_seconds = now - 1;
}

/* ---- claims ---- */

START_TEST(test_claim_creates_neuron)
{
    gov_outcome_t out;
    nns_error_t err;
    uint64_t now = T0 + 100;
    ck_assert(claim(&alice, &alice, 7, now, &out, &err));
    ck_assert(!out.finished);
    ck_assert_uint_ne(out.flow_id, 0);
    ck_assert(out.has_request);
    ck_assert_uint_eq(nlast, 1);
    const gov_intent_t *in = &last_intents[0];
    ck_assert_int_eq(in->kind, GOV_INTENT_GET);
    ck_assert_int_eq(in->purpose, GOV_PURPOSE_BALANCE);
    ck_assert_int_eq(in->target, GOV_TARGET_LEDGER);
    uint8_t sub[32];
    gov_neuron_staking_subaccount(&alice, 7, sub);
    account_id_t acc;
    account_id_of(&govp, sub, &acc);
    char hex[65], path[100];
    account_id_to_hex(&acc, hex);
    snprintf(path, sizeof path, "/v1/accounts/%s", hex);
    ck_assert_str_eq(in->path, path);
    ck_assert(account_id_equal(&in->account, &acc));
    uint64_t intent = in->id;

    /* the subaccount is locked while the balance is read */
    ck_assert(!claim(&alice, &alice, 7, now, &out, &err));
    ck_assert_str_eq(err.code, "LedgerUpdateOngoing");
    ck_assert_int_eq(err.status, 409);

    balance(intent, true, 5 * ICP, now + 1, &out);
    ck_assert(out.finished && out.ok && out.created);
    ck_assert(has_event("created"));
    uint64_t id = out.neuron_id;
    gov_neuron_full_t *n = get(id, now + 1);
    ck_assert_uint_eq(n->n.cached_neuron_stake_e8s, 5 * ICP);
    ck_assert_uint_eq(n->n.dissolve.dissolve_delay_seconds, 7 * DAY);
    ck_assert(!n->n.dissolve.dissolving);
    ck_assert_uint_eq(n->n.dissolve.aging_since_timestamp_seconds, now + 1);
    ck_assert(n->n.kyc_verified);
    ck_assert_int_eq(n->n.visibility, GOV_VISIBILITY_PRIVATE);
    ck_assert_uint_eq(n->nfollowees, 0);
    ck_assert(!n->locked);
    ck_assert_int_eq(n->d.state, GOV_STATE_NOT_DISSOLVING);
    ck_assert_uint_eq(n->d.stake_e8s, 5 * ICP);
    ck_assert_uint_gt(n->d.potential_voting_power, 5 * ICP);
    ck_assert(memcmp(n->n.subaccount, sub, 32) == 0);
    uint64_t found = 0;
    ck_assert(gov_find_by_subaccount(G, sub, &found));
    ck_assert_uint_eq(found, id);
    gov_neuron_full_t list[3];
    bool more = true;
    ck_assert_uint_eq(gov_neurons_by_controller(G, &alice, 0, now, list, 3, &more), 1);
    ck_assert(!more);
    ck_assert_uint_eq(list[0].n.id, id);
    ck_assert_uint_eq(gov_neurons_by_controller(G, &bob, 0, now, list, 3, &more), 0);
}
END_TEST

START_TEST(test_claim_for_another_controller_and_insufficient_funds)
{
    gov_outcome_t out;
    nns_error_t err;
    /* MemoAndController: bob claims for alice; the neuron is alice's */
    ck_assert(claim(&bob, &alice, 1, T0, &out, &err));
    uint64_t intent = last_intents[0].id;
    balance(intent, true, ICP - 1, T0, &out);
    ck_assert(out.finished && !out.ok);
    ck_assert_str_eq(out.error.code, "InsufficientFunds");
    ck_assert_int_eq(out.error.status, 422);
    gov_info_t info;
    gov_info(G, T0, &info);
    ck_assert_uint_eq(info.neurons, 0);
    ck_assert_uint_eq(info.in_flight, 0);
    /* the subaccount is free again; a failed read is External */
    ck_assert(claim(&bob, &alice, 1, T0, &out, &err));
    balance(last_intents[0].id, false, 0, T0, &out);
    ck_assert_str_eq(out.error.code, "External");
    ck_assert_int_eq(out.error.status, 502);
    ck_assert(claim(&bob, &alice, 1, T0, &out, &err));
    balance(last_intents[0].id, true, ICP, T0, &out);
    ck_assert(out.ok && out.created);
    ck_assert(principal_equal(&get(out.neuron_id, T0)->n.controller, &alice));
}
END_TEST

/* Test vector 7 through the state machine: 10 ICP aged 3 years topped up to 15 ICP -> 2 years. */
START_TEST(test_v7_refresh_top_up_prorates_age)
{
    uint64_t id = stake(&alice, 3, 10 * ICP, T0);
    uint64_t later = T0 + 3 * YEAR;
    ck_assert_uint_eq(get(id, later)->d.age_seconds, 3 * YEAR);
    gov_outcome_t out;
    nns_error_t err;
    ck_assert(claim(&alice, &alice, 3, later, &out, &err));
    ck_assert_uint_eq(out.neuron_id, id);
    ck_assert(get(id, later)->locked); /* the refresh locks the neuron */
    gov_command_t c = command(GOV_CMD_START_DISSOLVING, &alice, id);
    run_err(&c, later, "LedgerUpdateOngoing", 409);
    balance(last_intents[0].id, true, 15 * ICP, later, &out);
    ck_assert(out.ok && !out.created);
    ck_assert(has_event("refreshed"));
    gov_neuron_full_t *n = get(id, later);
    ck_assert_uint_eq(n->n.cached_neuron_stake_e8s, 15 * ICP);
    ck_assert_uint_eq(n->d.age_seconds, 2 * YEAR);
    ck_assert(!n->locked);
    /* a balance below the minimum: InsufficientFunds, the neuron unchanged */
    ck_assert(claim(&alice, &alice, 3, later, &out, &err));
    balance(last_intents[0].id, true, ICP / 2, later, &out);
    ck_assert_str_eq(out.error.code, "InsufficientFunds");
    ck_assert_uint_eq(get(id, later)->n.cached_neuron_stake_e8s, 15 * ICP);
}
END_TEST

START_TEST(test_creation_limiter_and_neuron_limit)
{
    gov_destroy(&G);
    G = gov_new(&CFG);
    gov_economics_t eco;
    gov_economics_default(GOV_RULES_CURRENT, &eco);
    eco.max_sustained_neurons_per_hour = 1;
    eco.neuron_creation_spike = 2;
    genesis_with(GOV_RULES_CURRENT, &eco, true, 0, NULL, 0, T0);
    stake(&alice, 1, ICP, T0);
    stake(&alice, 2, ICP, T0);
    gov_outcome_t out;
    nns_error_t err;
    ck_assert(!claim(&alice, &alice, 3, T0, &out, &err));
    ck_assert_str_eq(err.code, "Unavailable");
    ck_assert_int_eq(err.status, 503);
    ck_assert_int_eq(err.npayload, 1);
    ck_assert_str_eq(err.payload[0].name, "retry_after_seconds");
    ck_assert_uint_gt(err.payload[0].value, 0);
    ck_assert_uint_le(err.payload[0].value, 3600);
    /* a refresh is not a creation */
    ck_assert(claim(&alice, &alice, 1, T0, &out, &err));
    balance(last_intents[0].id, true, 2 * ICP, T0, &out);
    ck_assert(out.ok);
    /* an hour later one more neuron may be created */
    stake(&alice, 3, ICP, T0 + 3600);
    /* a failed creation gives its token back */
    ck_assert(claim(&alice, &alice, 4, T0 + 7200, &out, &err));
    balance(last_intents[0].id, true, 1, T0 + 7200, &out);
    ck_assert_str_eq(out.error.code, "InsufficientFunds");
    stake(&alice, 5, ICP, T0 + 7200);

    /* the neuron limit */
    gov_destroy(&G);
    CFG.max_neurons = 1;
    G = gov_new(&CFG);
    genesis_with(GOV_RULES_CURRENT, NULL, true, 0, NULL, 0, T0);
    stake(&alice, 1, ICP, T0);
    ck_assert(!claim(&alice, &alice, 2, T0, &out, &err));
    ck_assert_str_eq(err.code, "ResourceExhausted");
    ck_assert_int_eq(err.status, 422);
}
END_TEST

/* ---- configure commands and permissions ---- */

START_TEST(test_dissolve_commands)
{
    uint64_t id = stake(&alice, 1, 2 * ICP, T0);
    uint64_t now = T0 + 10;
    gov_command_t c = command(GOV_CMD_INCREASE_DISSOLVE_DELAY, &alice, id);
    c.u.increase_dissolve_delay.additional_dissolve_delay_seconds = 0;
    run_err(&c, now, "InvalidCommand", 400);
    c.u.increase_dissolve_delay.additional_dissolve_delay_seconds = (uint32_t)YEAR;
    gov_outcome_t out = run_ok(&c, now);
    ck_assert(out.finished && out.ok);
    ck_assert_uint_eq(out.neuron_id, id);
    ck_assert(has_event("dissolve_delay_increased"));
    ck_assert_uint_eq(get(id, now)->d.dissolve_delay_seconds, 7 * DAY + YEAR);
    /* capped at the current rule set's 2 years */
    c.u.increase_dissolve_delay.additional_dissolve_delay_seconds = (uint32_t)(3 * YEAR);
    run_ok(&c, now);
    ck_assert_uint_eq(get(id, now)->d.dissolve_delay_seconds, 2 * YEAR);

    gov_command_t stop = command(GOV_CMD_STOP_DISSOLVING, &alice, id);
    run_err(&stop, now, "RequiresDissolving", 422);
    gov_command_t start = command(GOV_CMD_START_DISSOLVING, &alice, id);
    run_ok(&start, now);
    ck_assert(has_event("dissolving_started"));
    ck_assert_int_eq(get(id, now)->d.state, GOV_STATE_DISSOLVING);
    run_err(&start, now, "RequiresNotDissolving", 422);
    run_ok(&stop, now + DAY);
    gov_neuron_full_t *n = get(id, now + DAY);
    ck_assert_int_eq(n->d.state, GOV_STATE_NOT_DISSOLVING);
    ck_assert_uint_eq(n->d.dissolve_delay_seconds, 2 * YEAR - DAY);
    ck_assert_uint_eq(n->d.age_seconds, 0);

    gov_command_t ts = command(GOV_CMD_SET_DISSOLVE_TIMESTAMP, &alice, id);
    ts.u.set_dissolve_timestamp.dissolve_timestamp_seconds = now; /* not later than the delay */
    nns_error_t e = run_err(&ts, now + DAY, "InvalidCommand", 400);
    (void)e;
    ts.u.set_dissolve_timestamp.dissolve_timestamp_seconds = now + DAY + 2 * YEAR;
    run_ok(&ts, now + DAY);
    ck_assert_uint_eq(get(id, now + DAY)->d.dissolve_delay_seconds, 2 * YEAR);

    /* permissions: a stranger and a hot key may not configure the dissolve state */
    gov_command_t x = command(GOV_CMD_START_DISSOLVING, &bob, id);
    run_err(&x, now, "NotAuthorized", 403);
    gov_command_t hk = command(GOV_CMD_ADD_HOT_KEY, &alice, id);
    hk.u.add_hot_key.new_hot_key = bob;
    run_ok(&hk, now);
    run_err(&x, now, "NotAuthorized", 403);
    x = command(GOV_CMD_START_DISSOLVING, &alice, 424242);
    run_err(&x, now, "NotFound", 404);
}
END_TEST

START_TEST(test_hot_keys)
{
    uint64_t id = stake(&alice, 1, 2 * ICP, T0);
    gov_command_t c = command(GOV_CMD_ADD_HOT_KEY, &alice, id);
    for (uint8_t i = 0; i < 10; i++) {
        user((uint8_t)(50 + i), &c.u.add_hot_key.new_hot_key, NULL);
        run_ok(&c, T0);
    }
    ck_assert(has_event("hot_key_added"));
    ck_assert_uint_eq(get(id, T0)->nhot_keys, 10);
    run_err(&c, T0, "HotKey", 403); /* a duplicate first */
    c.u.add_hot_key.new_hot_key = bob;
    run_err(&c, T0, "ResourceExhausted", 422);
    gov_command_t rm = command(GOV_CMD_REMOVE_HOT_KEY, &alice, id);
    rm.u.remove_hot_key.hot_key_to_remove = bob;
    run_err(&rm, T0, "NotFound", 404);
    /* a hot key may remove itself, not another */
    principal_t hk50, hk51;
    user(50, &hk50, NULL);
    user(51, &hk51, NULL);
    rm = command(GOV_CMD_REMOVE_HOT_KEY, &hk50, id);
    rm.u.remove_hot_key.hot_key_to_remove = hk51;
    run_err(&rm, T0, "NotAuthorized", 403);
    rm.u.remove_hot_key.hot_key_to_remove = hk50;
    run_ok(&rm, T0);
    ck_assert(has_event("hot_key_removed"));
    gov_neuron_full_t *n = get(id, T0);
    ck_assert_uint_eq(n->nhot_keys, 9);
    ck_assert(!gov_is_controller_or_hot_key(n, &hk50));
    ck_assert(gov_is_controller_or_hot_key(n, &hk51));
    ck_assert(gov_is_controller_or_hot_key(n, &alice));
    /* a hot key may not add hot keys */
    c = command(GOV_CMD_ADD_HOT_KEY, &hk51, id);
    c.u.add_hot_key.new_hot_key = carol;
    run_err(&c, T0, "NotAuthorized", 403);
}
END_TEST

/* spec 2.12: every controller-only command refused to a hot key; the hot key's own commands. */
START_TEST(test_permission_table)
{
    uint64_t id = stake(&alice, 1, 5 * ICP, T0);
    gov_command_t hk = command(GOV_CMD_ADD_HOT_KEY, &alice, id);
    hk.u.add_hot_key.new_hot_key = bob;
    run_ok(&hk, T0);
    static const gov_command_kind_t controller_only[] = {
        GOV_CMD_INCREASE_DISSOLVE_DELAY,
        GOV_CMD_SET_DISSOLVE_TIMESTAMP,
        GOV_CMD_START_DISSOLVING,
        GOV_CMD_STOP_DISSOLVING,
        GOV_CMD_ADD_HOT_KEY,
        GOV_CMD_DISBURSE,
        GOV_CMD_SPLIT,
        GOV_CMD_MERGE,
        GOV_CMD_SPAWN,
        GOV_CMD_STAKE_MATURITY,
        GOV_CMD_DISBURSE_MATURITY,
        GOV_CMD_AUTO_STAKE_MATURITY,
        GOV_CMD_SET_VISIBILITY,
    };
    for (size_t i = 0; i < sizeof controller_only / sizeof controller_only[0]; i++) {
        gov_command_t c = command(controller_only[i], &bob, id);
        run_err(&c, T0, "NotAuthorized", 403);
        c.caller = carol;
        run_err(&c, T0, "NotAuthorized", 403);
    }
    /* the hot key's commands */
    gov_command_t c = command(GOV_CMD_REFRESH_VOTING_POWER, &bob, id);
    run_ok(&c, T0 + 50);
    ck_assert(has_event("voting_power_refreshed"));
    ck_assert_uint_eq(get(id, T0 + 50)->n.voting_power_refreshed_timestamp_seconds, T0 + 50);
    c = command(GOV_CMD_JOIN_COMMUNITY_FUND, &bob, id);
    run_ok(&c, T0 + 60);
    ck_assert_uint_eq(get(id, T0)->n.joined_community_fund_timestamp_seconds, T0 + 60);
    run_err(&c, T0, "AlreadyJoinedCommunityFund", 409);
    c = command(GOV_CMD_LEAVE_COMMUNITY_FUND, &bob, id);
    run_ok(&c, T0);
    ck_assert(!get(id, T0)->n.has_joined_community_fund);
    run_err(&c, T0, "NotInTheCommunityFund", 409);
    c = command(GOV_CMD_FOLLOW, &bob, id);
    c.u.follow.topic = 4;
    c.u.follow.n = 1;
    c.u.follow.ids[0] = id;
    run_ok(&c, T0);
    c.u.follow.topic = GOV_TOPIC_NEURON_MANAGEMENT;
    run_err(&c, T0, "NotAuthorized", 403);
    /* unknown commands */
    c = command((gov_command_kind_t)99, &alice, id);
    run_err(&c, T0, "NotFound", 404);
    ck_assert_int_eq(gov_command_from_name("split"), GOV_CMD_SPLIT);
    ck_assert_int_eq(gov_command_from_name("merge-maturity"), 0);
    ck_assert_str_eq(gov_command_name(GOV_CMD_DISBURSE_MATURITY), "disburse-maturity");
}
END_TEST

START_TEST(test_follow_rules)
{
    uint64_t a = stake(&alice, 1, 2 * ICP, T0);
    uint64_t b = stake(&bob, 1, 2 * ICP, T0);
    uint64_t a2 = stake(&alice, 2, 2 * ICP, T0);
    uint64_t now = T0 + 100;
    gov_command_t c = command(GOV_CMD_FOLLOW, &alice, a);
    c.u.follow.topic = 19;
    run_err(&c, now, "InvalidCommand", 400);
    c.u.follow.topic = 4;
    c.u.follow.n = 16;
    run_err(&c, now, "InvalidCommand", 400);
    c.u.follow.n = 1;
    c.u.follow.ids[0] = 777;
    run_err(&c, now, "NotFound", 404);
    /* bob's neuron is private and alice is not its hot key */
    c.u.follow.ids[0] = b;
    run_err(&c, now, "PreconditionFailed", 422);
    /* but NeuronManagement is exempt, and a neuron of the same controller is fine */
    c.u.follow.topic = GOV_TOPIC_NEURON_MANAGEMENT;
    run_ok(&c, now);
    c.u.follow.topic = 4;
    c.u.follow.ids[0] = a2;
    run_ok(&c, now);
    ck_assert(has_event("following_changed"));
    /* public, or alice a hot key of bob's neuron: allowed */
    gov_command_t v = command(GOV_CMD_SET_VISIBILITY, &bob, b);
    v.u.set_visibility.visibility = 0;
    run_err(&v, now, "InvalidCommand", 400);
    v.u.set_visibility.visibility = GOV_VISIBILITY_PUBLIC;
    run_ok(&v, now);
    c.u.follow.topic = 7;
    c.u.follow.n = 15;
    for (int i = 0; i < 15; i++)
        c.u.follow.ids[i] = b; /* duplicates are allowed */
    run_ok(&c, now + 5);
    gov_neuron_full_t *n = get(a, now + 5);
    ck_assert_uint_eq(n->nfollowees, 3);
    ck_assert_int_eq(n->followees[0].topic, GOV_TOPIC_NEURON_MANAGEMENT);
    ck_assert_int_eq(n->followees[1].topic, 4);
    ck_assert_int_eq(n->followees[2].topic, 7);
    ck_assert_uint_eq(n->followees[2].n, 15);
    ck_assert_uint_eq(n->n.voting_power_refreshed_timestamp_seconds, now + 5);
    /* an empty list removes the topic */
    c.u.follow.n = 0;
    run_ok(&c, now);
    ck_assert_uint_eq(get(a, now)->nfollowees, 2);

    /* set-following: topics unique, all checked before any is set */
    gov_command_t s = command(GOV_CMD_SET_FOLLOWING, &alice, a);
    s.u.set_following.n = 2;
    s.u.set_following.topics[0].topic = 8;
    s.u.set_following.topics[0].n = 1;
    s.u.set_following.topics[0].ids[0] = a2;
    s.u.set_following.topics[1] = s.u.set_following.topics[0];
    run_err(&s, now, "InvalidCommand", 400);
    s.u.set_following.topics[1].topic = 9;
    s.u.set_following.topics[1].ids[0] = 999;
    run_err(&s, now, "NotFound", 404);
    s.u.set_following.topics[1].ids[0] = b;
    s.u.set_following.topics[1].n = 1;
    run_ok(&s, now + 9);
    n = get(a, now);
    ck_assert_uint_eq(n->nfollowees, 4);
    ck_assert_uint_eq(n->n.voting_power_refreshed_timestamp_seconds, now + 9);
    s.u.set_following.n = 20;
    run_err(&s, now, "InvalidCommand", 400);
}
END_TEST

START_TEST(test_auto_stake_and_stake_maturity)
{
    gov_neuron_full_t f;
    base_neuron(&f, 5, &alice, 3 * ICP, YEAR, T0);
    f.n.maturity_e8s_equivalent = 1000;
    load(&f);
    gov_command_t c = command(GOV_CMD_AUTO_STAKE_MATURITY, &alice, 5);
    c.u.auto_stake_maturity.requested_setting_for_auto_stake_maturity = true;
    run_ok(&c, T0);
    ck_assert(get(5, T0)->n.auto_stake_maturity);
    c = command(GOV_CMD_STAKE_MATURITY, &alice, 5);
    c.u.stake_maturity.has_percentage = true;
    c.u.stake_maturity.percentage_to_stake = 101;
    run_err(&c, T0, "PreconditionFailed", 422);
    c.u.stake_maturity.percentage_to_stake = 33;
    gov_outcome_t out = run_ok(&c, T0);
    ck_assert_uint_eq(out.staked_maturity_e8s, 330);
    ck_assert_uint_eq(out.maturity_e8s, 670);
    c.u.stake_maturity.has_percentage = false; /* 100 % */
    out = run_ok(&c, T0);
    ck_assert_uint_eq(out.staked_maturity_e8s, 1000);
    ck_assert_uint_eq(out.maturity_e8s, 0);
    gov_neuron_full_t *n = get(5, T0);
    ck_assert_uint_eq(n->d.stake_e8s, 3 * ICP + 1000); /* staked maturity counts */
}
END_TEST

/* ---- disburse (2.5) ---- */

START_TEST(test_disburse_flow_with_fee_burn)
{
    gov_neuron_full_t f;
    uint64_t now = T0 + 1000;
    base_neuron(&f, 9, &alice, 10 * ICP, 0, now);
    load(&f);
    gov_command_t c = command(GOV_CMD_DISBURSE, &alice, 9);
    run_err(&c, now, "PreconditionFailed", 422); /* not dissolved */
    gov_destroy(&G);
    G = gov_new(&CFG);
    genesis_with(GOV_RULES_CURRENT, NULL, true, 0, NULL, 0, T0);
    dissolved_neuron(&f, 9, &alice, 10 * ICP, now);
    f.n.neuron_fees_e8s = ICP; /* above the transaction fee: burned first */
    load(&f);
    c.caller = bob;
    run_err(&c, now, "NotAuthorized", 403);
    c.caller = alice;
    c.u.disburse.has_amount = true;
    c.u.disburse.amount_e8s = 10 * ICP + 1;
    run_err(&c, now, "InsufficientFunds", 422);
    c.u.disburse.has_amount = false;
    gov_outcome_t out = run_ok(&c, now);
    ck_assert(!out.finished);
    uint64_t flow = out.flow_id;
    ck_assert_uint_eq(nlast, 1);
    gov_intent_t burn = last_intents[0];
    ck_assert_int_eq(burn.kind, GOV_INTENT_TRANSFER);
    ck_assert_int_eq(burn.purpose, GOV_PURPOSE_BURN);
    ck_assert(account_id_equal(&burn.to, &mint_acc));
    ck_assert_uint_eq(burn.amount, ICP);
    ck_assert_uint_eq(burn.fee, 0);
    ck_assert(memcmp(burn.from_subaccount, f.n.subaccount, 32) == 0);
    ck_assert_uint_gt(burn.created_at_time, 0);
    /* locked meanwhile */
    ck_assert(get(9, now)->locked);
    gov_command_t other = command(GOV_CMD_SET_VISIBILITY, &alice, 9);
    other.u.set_visibility.visibility = GOV_VISIBILITY_PUBLIC;
    run_err(&other, now, "LedgerUpdateOngoing", 409);
    const gov_inflight_t *fl;
    /* the answer of the burn: fees gone, then the transfer */
    transfer_done(burn.id, true, now + 1, &out);
    ck_assert(!out.finished);
    ck_assert_uint_eq(out.flow_id, flow);
    ck_assert(has_event("fees_burned"));
    ck_assert_uint_eq(nlast, 1);
    gov_intent_t tr = last_intents[0];
    ck_assert_int_eq(tr.purpose, GOV_PURPOSE_TRANSFER);
    ck_assert(account_id_equal(&tr.to, &alice_acc));
    ck_assert_uint_eq(tr.amount, 9 * ICP - FEE);
    ck_assert_uint_eq(tr.fee, FEE);
    ck_assert_uint_gt(tr.created_at_time, burn.created_at_time);
    gov_neuron_full_t *n = get(9, now);
    ck_assert_uint_eq(n->n.cached_neuron_stake_e8s, 9 * ICP);
    ck_assert_uint_eq(n->n.neuron_fees_e8s, 0);
    /* a second answer to the same intent is refused */
    gov_round_t *r = gov_round_begin(G);
    gov_transfer_result_t res = {.ok = true, .block_index = 5};
    nns_error_t err;
    ck_assert(!gov_apply_transfer_done(G, r, burn.id, &res, now, &out, &err));
    ck_assert_str_eq(err.code, "UnknownIntent");
    ck_assert(
        !gov_apply_balance_read(G, r, tr.id, &(gov_balance_result_t){.ok = true}, now, &out, &err));
    ck_assert_str_eq(err.code, "WrongIntent");
    size_t nfl;
    const bool *removed;
    fl = gov_round_inflight(r, &removed, &nfl);
    (void)fl;
    gov_round_discard(G, &r);
    transfer_done(tr.id, true, now + 2, &out);
    ck_assert(out.finished && out.ok);
    ck_assert_uint_eq(out.flow_id, flow);
    ck_assert_uint_eq(out.transfer_block_height, next_block - 1);
    ck_assert(has_event("disbursed"));
    n = get(9, now);
    ck_assert_uint_eq(n->n.cached_neuron_stake_e8s, 0);
    ck_assert(!n->locked);
    gov_info_t info;
    gov_info(G, now, &info);
    ck_assert_uint_eq(info.in_flight, 0);
    ck_assert_uint_eq(info.intents, 0);
}
END_TEST

/* Disburses of one neuron sent together (test_governance_flows.sh section 7): the first takes
 * the lock and makes the one transfer; one in the same round or any round before the answer is
 * refused 409 LedgerUpdateOngoing; one after the answer, in its round or a later one, finds
 * nothing to move (422 InsufficientFunds); the answer delivered again finishes nothing. So one
 * request, and only one, is answered 200. */
START_TEST(test_disburses_sent_together)
{
    gov_neuron_full_t f;
    uint64_t now = T0 + 1000;
    dissolved_neuron(&f, 9, &alice, 3 * ICP, now);
    load(&f);
    gov_command_t c = command(GOV_CMD_DISBURSE, &alice, 9);
    gov_outcome_t out;
    nns_error_t err;

    /* one round: the first is pending, the second finds the lock */
    gov_round_t *r = gov_round_begin(G);
    ck_assert_ptr_nonnull(r);
    ck_assert(gov_apply_command(G, r, &c, now, &out, &err));
    ck_assert(!out.finished && out.has_request);
    uint64_t flow = out.flow_id;
    ck_assert(!gov_apply_command(G, r, &c, now, &out, &err));
    ck_assert_str_eq(err.code, "LedgerUpdateOngoing");
    ck_assert_int_eq(err.status, 409);
    keep_round(r);
    gov_round_commit(G, &r);
    ck_assert_uint_eq(nlast, 1);
    gov_intent_t tr = last_intents[0];
    ck_assert_int_eq(tr.purpose, GOV_PURPOSE_TRANSFER);
    ck_assert_uint_eq(tr.amount, 3 * ICP - FEE);

    /* a later round before the answer: refused */
    run_err(&c, now, "LedgerUpdateOngoing", 409);

    /* the round of the answer: before it refused, after it nothing to move */
    r = gov_round_begin(G);
    ck_assert_ptr_nonnull(r);
    ck_assert(!gov_apply_command(G, r, &c, now + 1, &out, &err));
    ck_assert_str_eq(err.code, "LedgerUpdateOngoing");
    gov_transfer_result_t res;
    memset(&res, 0, sizeof res);
    res.ok = true;
    res.block_index = 77;
    ck_assert(gov_apply_transfer_done(G, r, tr.id, &res, now + 1, &out, &err));
    ck_assert(out.finished && out.ok && out.has_request);
    ck_assert_uint_eq(out.flow_id, flow);
    ck_assert_uint_eq(out.transfer_block_height, 77);
    ck_assert(!gov_apply_command(G, r, &c, now + 1, &out, &err));
    ck_assert_str_eq(err.code, "InsufficientFunds");
    ck_assert_int_eq(err.status, 422);
    /* the same answer again in that round: its intent is finished */
    ck_assert(!gov_apply_transfer_done(G, r, tr.id, &res, now + 1, &out, &err));
    ck_assert(!out.finished);
    keep_round(r);
    ck_assert_uint_eq(nlast, 0);
    gov_round_commit(G, &r);

    /* and in a later round */
    r = gov_round_begin(G);
    ck_assert_ptr_nonnull(r);
    ck_assert(!gov_apply_transfer_done(G, r, tr.id, &res, now + 2, &out, &err));
    ck_assert(!out.finished);
    gov_round_discard(G, &r);
    run_err(&c, now + 2, "InsufficientFunds", 422);
    ck_assert(!get(9, now + 2)->locked);
    ck_assert_uint_eq(get(9, now + 2)->n.cached_neuron_stake_e8s, 0);
}
END_TEST

START_TEST(test_disburse_refused_and_small_fees)
{
    gov_neuron_full_t f;
    uint64_t now = T0 + 1000;
    dissolved_neuron(&f, 9, &alice, 10 * ICP, now);
    f.n.neuron_fees_e8s = 5000; /* below the fee: dropped, not burned */
    load(&f);
    gov_command_t c = command(GOV_CMD_DISBURSE, &alice, 9);
    c.u.disburse.has_to_account = true;
    c.u.disburse.to_account = bob_acc;
    c.u.disburse.has_amount = true;
    c.u.disburse.amount_e8s = 2 * ICP;
    gov_outcome_t out = run_ok(&c, now);
    ck_assert_uint_eq(nlast, 1);
    ck_assert_int_eq(last_intents[0].purpose, GOV_PURPOSE_TRANSFER);
    ck_assert(account_id_equal(&last_intents[0].to, &bob_acc));
    /* amount - fees - transaction fee (governance.rs disburse_neuron) */
    ck_assert_uint_eq(last_intents[0].amount, 2 * ICP - 5000 - FEE);
    ck_assert_uint_eq(get(9, now)->n.cached_neuron_stake_e8s, 10 * ICP - 5000);
    transfer_done(last_intents[0].id, false, now, &out);
    ck_assert(out.finished && !out.ok);
    ck_assert_str_eq(out.error.code, "External");
    ck_assert_int_eq(out.error.status, 502);
    ck_assert_str_eq(out.error.payload[0].name, "error_code");
    gov_neuron_full_t *n = get(9, now);
    ck_assert_uint_eq(n->n.cached_neuron_stake_e8s, 10 * ICP - 5000);
    ck_assert(!n->locked);
    /* nothing to disburse: refused before any transfer */
    gov_destroy(&G);
    G = gov_new(&CFG);
    genesis_with(GOV_RULES_CURRENT, NULL, true, 0, NULL, 0, T0);
    dissolved_neuron(&f, 9, &alice, FEE, now);
    load(&f);
    c.u.disburse.has_amount = false;
    run_err(&c, now, "InsufficientFunds", 422);
    /* kyc is required */
    gov_destroy(&G);
    G = gov_new(&CFG);
    genesis_with(GOV_RULES_CURRENT, NULL, true, 0, NULL, 0, T0);
    dissolved_neuron(&f, 9, &alice, 10 * ICP, now);
    f.n.kyc_verified = false;
    load(&f);
    run_err(&c, now, "PreconditionFailed", 422);
}
END_TEST

/* ---- split (2.6) ---- */

START_TEST(test_split_flow_and_revert)
{
    gov_neuron_full_t f;
    base_neuron(&f, 20, &alice, 10 * ICP, YEAR, T0);
    f.n.maturity_e8s_equivalent = 1000;
    f.n.staked_maturity_e8s_equivalent = 500;
    f.nhot_keys = 1;
    f.hot_keys[0] = carol;
    load(&f);
    uint64_t now = T0 + YEAR;
    gov_command_t c = command(GOV_CMD_SPLIT, &alice, 20);
    c.u.split.candidate_id = 21;
    memset(c.u.split.candidate_subaccount, 0xAB, 32);
    c.u.split.amount_e8s = ICP + FEE - 1;
    nns_error_t e = run_err(&c, now, "InsufficientFunds", 422);
    (void)e;
    c.u.split.amount_e8s = 9 * ICP + 1; /* the parent would keep less than 1 ICP */
    run_err(&c, now, "InsufficientFunds", 422);
    c.u.split.candidate_id = 20; /* in use */
    c.u.split.amount_e8s = 4 * ICP;
    run_err(&c, now, "IdInUse", 500);
    c.u.split.candidate_id = 21;
    gov_outcome_t out = run_ok(&c, now);
    ck_assert(!out.finished);
    ck_assert_uint_eq(out.created_neuron_id, 21);
    ck_assert(has_event("split") && has_event("split_child"));
    gov_neuron_full_t *n = get(20, now);
    ck_assert_uint_eq(n->n.cached_neuron_stake_e8s, 6 * ICP);
    ck_assert_uint_eq(n->n.maturity_e8s_equivalent, 600);
    ck_assert_uint_eq(n->n.staked_maturity_e8s_equivalent, 300);
    ck_assert(n->locked);
    n = get(21, now);
    ck_assert(n->locked);
    ck_assert_uint_eq(n->n.cached_neuron_stake_e8s, 0);
    ck_assert_uint_eq(n->n.maturity_e8s_equivalent, 400);
    ck_assert_uint_eq(n->n.staked_maturity_e8s_equivalent, 200);
    ck_assert_uint_eq(n->nhot_keys, 1);
    ck_assert_uint_eq(n->d.age_seconds, YEAR); /* dissolve state and age copied */
    ck_assert_uint_eq(n->d.dissolve_delay_seconds, YEAR);
    uint8_t sub[32];
    memset(sub, 0xAB, 32);
    ck_assert(memcmp(n->n.subaccount, sub, 32) == 0);
    ck_assert_uint_eq(nlast, 1);
    account_id_t child_acc;
    account_id_of(&govp, sub, &child_acc);
    ck_assert(account_id_equal(&last_intents[0].to, &child_acc));
    ck_assert_uint_eq(last_intents[0].amount, 4 * ICP - FEE);
    ck_assert_uint_eq(last_intents[0].fee, FEE);
    transfer_done(last_intents[0].id, true, now, &out);
    ck_assert(out.finished && out.ok);
    ck_assert_uint_eq(out.created_neuron_id, 21);
    ck_assert_uint_eq(get(21, now)->n.cached_neuron_stake_e8s, 4 * ICP - FEE);
    ck_assert(!get(21, now)->locked && !get(20, now)->locked);
    gov_neuron_full_t list[4];
    bool more;
    ck_assert_uint_eq(gov_neurons_by_controller(G, &alice, 0, now, list, 4, &more), 2);
    ck_assert_uint_eq(list[0].n.id, 20);
    ck_assert_uint_eq(list[1].n.id, 21);
    ck_assert_uint_eq(gov_neurons_by_controller(G, &alice, 20, now, list, 4, &more), 1);
    ck_assert_uint_eq(gov_neurons_by_controller(G, &alice, 0, now, list, 1, &more), 1);
    ck_assert(more);

    /* a split with a memo and a ledger refusal: the parent is restored, the child removed */
    c.u.split.has_memo = true;
    c.u.split.memo = 77;
    c.u.split.candidate_id = 22;
    out = run_ok(&c, now);
    uint8_t msub[32];
    gov_split_subaccount(&alice, 77, msub);
    ck_assert(memcmp(get(22, now)->n.subaccount, msub, 32) == 0);
    transfer_done(last_intents[0].id, false, now, &out);
    ck_assert_str_eq(out.error.code, "External");
    ck_assert(has_event("split_reverted"));
    ck_assert(!gov_neuron(G, 22, now, &N));
    n = get(20, now);
    ck_assert_uint_eq(n->n.cached_neuron_stake_e8s, 6 * ICP);
    ck_assert_uint_eq(n->n.maturity_e8s_equivalent, 600);
    ck_assert_uint_eq(n->n.staked_maturity_e8s_equivalent, 300);
    ck_assert(!n->locked);
    uint64_t id;
    ck_assert(!gov_find_by_subaccount(G, msub, &id));
    ck_assert_uint_eq(gov_neurons_by_controller(G, &alice, 0, now, list, 4, &more), 2);
}
END_TEST

/* ---- merge (2.8) ---- */

START_TEST(test_merge_flow)
{
    gov_neuron_full_t f;
    uint64_t now = T0 + 2 * YEAR;
    base_neuron(&f, 30, &alice, 10 * ICP, YEAR, T0); /* target: age 2 years */
    load(&f);
    base_neuron(&f, 31, &alice, 5 * ICP + FEE, 2 * YEAR, T0 + YEAR); /* source: age 1 year */
    f.n.neuron_fees_e8s = 2 * FEE;
    f.n.maturity_e8s_equivalent = 700;
    f.n.staked_maturity_e8s_equivalent = 70;
    load(&f);
    base_neuron(&f, 32, &bob, 5 * ICP, YEAR, T0);
    load(&f);
    dissolved_neuron(&f, 33, &alice, 5 * ICP, now);
    load(&f);
    gov_command_t c = command(GOV_CMD_MERGE, &alice, 30);
    c.u.merge.source_neuron_id = 30;
    run_err(&c, now, "InvalidCommand", 400);
    c.u.merge.source_neuron_id = 99;
    run_err(&c, now, "NotFound", 404);
    c.u.merge.source_neuron_id = 32;
    run_err(&c, now, "NotAuthorized", 403);
    c.u.merge.source_neuron_id = 33;
    run_err(&c, now, "RequiresNotDissolving", 422);
    c.u.merge.source_neuron_id = 31;
    gov_outcome_t out = run_ok(&c, now);
    ck_assert(!out.finished);
    ck_assert(get(30, now)->locked && get(31, now)->locked);
    /* the source's fees (above the fee) are burned first */
    ck_assert_uint_eq(nlast, 1);
    ck_assert_int_eq(last_intents[0].purpose, GOV_PURPOSE_BURN);
    ck_assert_uint_eq(last_intents[0].amount, 2 * FEE);
    transfer_done(last_intents[0].id, true, now, &out);
    ck_assert(!out.finished);
    ck_assert_uint_eq(nlast, 1);
    ck_assert_int_eq(last_intents[0].purpose, GOV_PURPOSE_TRANSFER);
    /* minted stake of the source (5 ICP + FEE - 2 FEE) less the fee */
    uint64_t moved = 5 * ICP - 2 * FEE;
    ck_assert_uint_eq(last_intents[0].amount, moved);
    account_id_t tgt_acc;
    account_id_of(&govp, get(30, now)->n.subaccount, &tgt_acc);
    ck_assert(account_id_equal(&last_intents[0].to, &tgt_acc));
    transfer_done(last_intents[0].id, true, now, &out);
    ck_assert(out.finished && out.ok);
    ck_assert_uint_eq(out.neuron_id, 30);
    ck_assert_uint_eq(out.source_neuron_id, 31);
    ck_assert(has_event("merged") && has_event("merged_into"));
    gov_neuron_full_t *t = get(30, now);
    ck_assert_uint_eq(t->n.cached_neuron_stake_e8s, 10 * ICP + moved);
    ck_assert_uint_eq(t->d.dissolve_delay_seconds, 2 * YEAR); /* the larger delay */
    ck_assert_uint_eq(t->n.maturity_e8s_equivalent, 700);
    ck_assert_uint_eq(t->n.staked_maturity_e8s_equivalent, 70);
    uint64_t sum, age;
    gov_combine_aged_stakes(10 * ICP, 2 * YEAR, moved, YEAR, &sum, &age);
    ck_assert_uint_eq(t->d.age_seconds, age);
    ck_assert(!t->locked);
    gov_neuron_full_t *s = get(31, now);
    ck_assert_uint_eq(s->n.cached_neuron_stake_e8s, 0);
    ck_assert_uint_eq(s->n.neuron_fees_e8s, 0);
    ck_assert_uint_eq(s->n.maturity_e8s_equivalent, 0);
    ck_assert_uint_eq(s->d.age_seconds, 0);
    ck_assert_uint_eq(s->d.dissolve_delay_seconds, 2 * YEAR);
    ck_assert(!s->locked);
}
END_TEST

START_TEST(test_merge_mismatches)
{
    gov_neuron_full_t f;
    base_neuron(&f, 40, &alice, 5 * ICP, YEAR, T0);
    load(&f);
    base_neuron(&f, 41, &alice, 5 * ICP, YEAR, T0);
    f.n.kyc_verified = false;
    load(&f);
    base_neuron(&f, 42, &alice, 5 * ICP, YEAR, T0);
    f.n.has_joined_community_fund = true;
    load(&f);
    base_neuron(&f, 43, &alice, 5 * ICP, YEAR, T0);
    f.nfollowees = 1;
    f.followees[0].topic = GOV_TOPIC_NEURON_MANAGEMENT;
    f.followees[0].n = 1;
    f.followees[0].ids[0] = 40;
    load(&f);
    base_neuron(&f, 44, &alice, 5 * ICP, YEAR, T0);
    f.n.has_spawn_at = true;
    f.n.spawn_at_timestamp_seconds = T0 + 10;
    load(&f);
    gov_command_t c = command(GOV_CMD_MERGE, &alice, 40);
    c.u.merge.source_neuron_id = 41;
    run_err(&c, T0, "PreconditionFailed", 422);
    c.u.merge.source_neuron_id = 42;
    run_err(&c, T0, "PreconditionFailed", 422);
    c.u.merge.source_neuron_id = 43;
    run_err(&c, T0, "PreconditionFailed", 422);
    c.u.merge.source_neuron_id = 44;
    run_err(&c, T0, "PreconditionFailed", 422);
    /* a hot key of both passes the first checks but must be the controller */
    gov_command_t hk = command(GOV_CMD_ADD_HOT_KEY, &alice, 40);
    hk.u.add_hot_key.new_hot_key = bob;
    run_ok(&hk, T0);
    base_neuron(&f, 45, &carol, 5 * ICP, YEAR, T0);
    f.nhot_keys = 1;
    f.hot_keys[0] = alice;
    load(&f);
    c.u.merge.source_neuron_id = 45;
    run_err(&c, T0, "NotAuthorized", 403);
}
END_TEST

/* ---- spawn (2.7), periodic minting with modulation ---- */

START_TEST(test_spawn_flow_with_modulation)
{
    gov_destroy(&G);
    G = gov_new(&CFG);
    genesis_with(GOV_RULES_CURRENT, NULL, true, -1000, NULL, 0, T0);
    gov_neuron_full_t f;
    base_neuron(&f, 50, &alice, 5 * ICP, YEAR, T0);
    f.n.maturity_e8s_equivalent = 2 * ICP;
    f.nhot_keys = 1;
    f.hot_keys[0] = carol;
    load(&f);
    gov_command_t c = command(GOV_CMD_SPAWN, &alice, 50);
    c.u.spawn.candidate_id = 51;
    memset(c.u.spawn.candidate_subaccount, 0x51, 32);
    c.u.spawn.has_percentage = true;
    c.u.spawn.percentage_to_spawn = 50; /* 1 ICP: 0.95 ICP worst case < 1 ICP */
    run_err(&c, T0, "InsufficientFunds", 422);
    c.u.spawn.percentage_to_spawn = 0;
    run_err(&c, T0, "PreconditionFailed", 422);
    c.u.spawn.has_percentage = false;
    c.u.spawn.has_new_controller = true;
    c.u.spawn.new_controller = bob;
    c.u.spawn.has_nonce = true;
    c.u.spawn.nonce = 9;
    gov_outcome_t out = run_ok(&c, T0);
    ck_assert(out.finished && out.ok);
    ck_assert_uint_eq(out.created_neuron_id, 51);
    ck_assert(has_event("spawned"));
    ck_assert_uint_eq(get(50, T0)->n.maturity_e8s_equivalent, 0);
    gov_neuron_full_t *n = get(51, T0);
    ck_assert_int_eq(n->d.state, GOV_STATE_SPAWNING);
    ck_assert(principal_equal(&n->n.controller, &bob));
    ck_assert_uint_eq(n->n.maturity_e8s_equivalent, 2 * ICP);
    ck_assert_uint_eq(n->n.spawn_at_timestamp_seconds, T0 + 7 * DAY);
    ck_assert_uint_eq(n->nhot_keys, 1);
    uint8_t sub[32];
    gov_neuron_staking_subaccount(&bob, 9, sub);
    ck_assert(memcmp(n->n.subaccount, sub, 32) == 0);
    /* spawning neurons refuse split, spawn and maturity commands */
    gov_command_t s = command(GOV_CMD_STAKE_MATURITY, &bob, 51);
    run_err(&s, T0, "PreconditionFailed", 422);
    s = command(GOV_CMD_SPAWN, &bob, 51);
    s.u.spawn.candidate_id = 52;
    run_err(&s, T0, "PreconditionFailed", 422);
    s = command(GOV_CMD_SPLIT, &bob, 51);
    s.u.split.candidate_id = 52;
    s.u.split.amount_e8s = 2 * ICP;
    run_err(&s, T0, "PreconditionFailed", 422);
    s = command(GOV_CMD_DISBURSE_MATURITY, &bob, 51);
    s.u.disburse_maturity.percentage_to_disburse = 100;
    run_err(&s, T0, "InvalidCommand", 400);

    /* before spawn_at: nothing due */
    ck_assert(!tick_due(T0 + 7 * DAY - 1));
    ck_assert(tick_due(T0 + 7 * DAY));
    gov_round_t *r = gov_round_begin(G);
    bool work = false;
    nns_error_t err;
    ck_assert(gov_apply_tick(G, r, T0 + 7 * DAY, &work, &err));
    ck_assert(work);
    keep_round(r);
    gov_round_commit(G, &r);
    ck_assert_uint_eq(nlast, 1);
    ck_assert_int_eq(last_intents[0].purpose, GOV_PURPOSE_MINT);
    uint8_t zero[32] = {0};
    ck_assert(memcmp(last_intents[0].from_subaccount, zero, 32) == 0);
    ck_assert_uint_eq(last_intents[0].amount, 2 * ICP * 9 / 10); /* -10 % */
    ck_assert_uint_eq(last_intents[0].fee, 0);
    account_id_t acc;
    account_id_of(&govp, sub, &acc);
    ck_assert(account_id_equal(&last_intents[0].to, &acc));
    ck_assert(get(51, T0 + 7 * DAY)->locked);
    /* the same tick again: nothing more (idempotent) */
    r = gov_round_begin(G);
    ck_assert(gov_apply_tick(G, r, T0 + 7 * DAY, &work, &err));
    keep_round(r);
    gov_round_commit(G, &r);
    ck_assert_uint_eq(nlast, 0);
    /* a refusal: still spawning; the next tick mints again */
    uint64_t first = last_intents[0].id;
    (void)first;
    r = gov_round_begin(G);
    ck_assert(gov_apply_tick(G, r, T0 + 7 * DAY, &work, &err));
    gov_round_discard(G, &r);
    gov_info_t info;
    gov_info(G, T0 + 7 * DAY, &info);
    ck_assert_uint_eq(info.in_flight, 2); /* the mint and the day's reward supply read */
}
END_TEST

START_TEST(test_spawn_mint_refused_then_retried)
{
    gov_destroy(&G);
    G = gov_new(&CFG);
    genesis_with(GOV_RULES_CURRENT, NULL, true, 200, NULL, 0, T0);
    gov_neuron_full_t f;
    base_neuron(&f, 50, &alice, 5 * ICP, YEAR, T0);
    f.n.maturity_e8s_equivalent = 2 * ICP;
    load(&f);
    gov_command_t c = command(GOV_CMD_SPAWN, &alice, 50);
    c.u.spawn.candidate_id = 51;
    memset(c.u.spawn.candidate_subaccount, 0x51, 32);
    run_ok(&c, T0);
    uint64_t at = T0 + 7 * DAY;
    gov_round_t *r = gov_round_begin(G);
    bool work;
    nns_error_t err;
    ck_assert(gov_apply_tick(G, r, at, &work, &err));
    keep_round(r);
    gov_round_commit(G, &r);
    ck_assert_uint_eq(nlast, 1);
    ck_assert_uint_eq(last_intents[0].amount, 2 * ICP * 102 / 100);
    gov_outcome_t out;
    transfer_done(last_intents[0].id, false, at, &out);
    ck_assert(!out.has_request);
    ck_assert_int_eq(get(51, at)->d.state, GOV_STATE_SPAWNING);
    ck_assert(!get(51, at)->locked);
    ck_assert(tick_due(at + 1));
    r = gov_round_begin(G);
    ck_assert(gov_apply_tick(G, r, at + 1, &work, &err));
    keep_round(r);
    gov_round_commit(G, &r);
    ck_assert_uint_eq(nlast, 1);
    transfer_done(last_intents[0].id, true, at + 1, &out);
    ck_assert(has_event("spawn_minted"));
    gov_neuron_full_t *n = get(51, at + 1);
    ck_assert_int_eq(n->d.state, GOV_STATE_DISSOLVED);
    ck_assert_uint_eq(n->n.cached_neuron_stake_e8s, 2 * ICP * 102 / 100);
    ck_assert_uint_eq(n->n.maturity_e8s_equivalent, 0);
    ck_assert(!tick_due(at + 2));
}
END_TEST

/* ---- disburse maturity (2.10) ---- */

START_TEST(test_disburse_maturity_flow)
{
    gov_destroy(&G);
    G = gov_new(&CFG);
    genesis_with(GOV_RULES_CURRENT, NULL, true, -500, NULL, 0, T0);
    gov_neuron_full_t f;
    base_neuron(&f, 60, &alice, 5 * ICP, YEAR, T0);
    f.n.maturity_e8s_equivalent = 100 * ICP;
    load(&f);
    gov_command_t c = command(GOV_CMD_DISBURSE_MATURITY, &alice, 60);
    c.u.disburse_maturity.percentage_to_disburse = 1; /* 1 ICP, worst case 0.9 ICP */
    run_err(&c, T0, "PreconditionFailed", 422);
    c.u.disburse_maturity.percentage_to_disburse = 0;
    run_err(&c, T0, "InvalidCommand", 400);
    c.u.disburse_maturity.percentage_to_disburse = 10;
    c.u.disburse_maturity.has_to_account = true;
    c.u.disburse_maturity.to_account = bob_acc;
    gov_outcome_t out = run_ok(&c, T0);
    ck_assert_uint_eq(out.amount_disbursed_e8s, 10 * ICP);
    ck_assert(has_event("maturity_disbursed"));
    gov_neuron_full_t *n = get(60, T0);
    ck_assert_uint_eq(n->n.maturity_e8s_equivalent, 90 * ICP);
    ck_assert_uint_eq(n->ndisbursements, 1);
    ck_assert_uint_eq(n->disbursements[0].finalize_disbursement_timestamp_seconds, T0 + 7 * DAY);
    /* nine more, then the eleventh is refused */
    for (int i = 0; i < 9; i++)
        run_ok(&c, T0 + 1 + (uint64_t)i);
    run_err(&c, T0 + 20, "PreconditionFailed", 422);
    ck_assert(!tick_due(T0 + 7 * DAY - 1));
    gov_round_t *r = gov_round_begin(G);
    bool work;
    nns_error_t err;
    ck_assert(gov_apply_tick(G, r, T0 + 7 * DAY, &work, &err));
    keep_round(r);
    gov_round_commit(G, &r);
    ck_assert_uint_eq(nlast, 1); /* the neuron is locked by the first mint */
    ck_assert_int_eq(last_intents[0].purpose, GOV_PURPOSE_MINT);
    ck_assert(account_id_equal(&last_intents[0].to, &bob_acc));
    ck_assert_uint_eq(last_intents[0].amount, 10 * ICP * 95 / 100); /* -5 % */
    transfer_done(last_intents[0].id, true, T0 + 7 * DAY, &out);
    ck_assert(has_event("maturity_disbursement_finalized"));
    ck_assert_uint_eq(get(60, T0 + 7 * DAY)->ndisbursements, 9);
    /* the next one is due a second later */
    ck_assert(tick_due(T0 + 7 * DAY + 1));
}
END_TEST

/* ---- periodic work ---- */

START_TEST(test_tick_staked_maturity_and_pruning)
{
    gov_neuron_full_t f;
    uint64_t now = T0 + 1000;
    base_neuron(&f, 70, &alice, 5 * ICP, 0, T0);
    f.n.dissolve.dissolving = true;
    f.n.dissolve.aging_since_timestamp_seconds = 0;
    f.n.dissolve.when_dissolved_timestamp_seconds = now + 100;
    f.n.staked_maturity_e8s_equivalent = 300;
    f.n.maturity_e8s_equivalent = 5;
    load(&f);
    base_neuron(&f, 71, &alice, 5 * ICP, YEAR, T0);
    f.nfollowees = 2;
    f.followees[0].topic = GOV_TOPIC_NEURON_MANAGEMENT;
    f.followees[0].n = 1;
    f.followees[0].ids[0] = 70;
    f.followees[1].topic = 4;
    f.followees[1].n = 1;
    f.followees[1].ids[0] = 70;
    load(&f);
    gov_economics_t e;
    gov_economics(G, &e);
    uint64_t prune_at =
        T0 + e.start_reducing_voting_power_after_seconds + e.clear_following_after_seconds;
    ck_assert(!tick_due(now));
    ck_assert(tick_due(now + 100));
    bool work;
    nns_error_t err;
    for (int pass = 0; pass < 2; pass++) {
        gov_round_t *r = gov_round_begin(G);
        ck_assert(gov_apply_tick(G, r, now + 100, &work, &err));
        keep_round(r);
        gov_round_commit(G, &r);
        ck_assert(has_event("staked_maturity_returned") == (pass == 0));
    }
    gov_neuron_full_t *n = get(70, now + 100);
    ck_assert_uint_eq(n->n.maturity_e8s_equivalent, 305);
    ck_assert_uint_eq(n->n.staked_maturity_e8s_equivalent, 0);
    ck_assert(!tick_due(prune_at - 1));
    ck_assert(tick_due(prune_at));
    ck_assert_uint_eq(get(71, prune_at)->d.deciding_voting_power, 0);
    for (int pass = 0; pass < 2; pass++) {
        gov_round_t *r = gov_round_begin(G);
        ck_assert(gov_apply_tick(G, r, prune_at, &work, &err));
        keep_round(r);
        gov_round_commit(G, &r);
        ck_assert(has_event("following_pruned") == (pass == 0));
    }
    n = get(71, prune_at);
    ck_assert_uint_eq(n->nfollowees, 1);
    ck_assert_int_eq(n->followees[0].topic, GOV_TOPIC_NEURON_MANAGEMENT);
    ck_assert(!tick_due(prune_at + YEAR));
}
END_TEST

/* ---- modulation wiring (2.11) ---- */

START_TEST(test_modulation_legacy_from_cmc)
{
    gov_destroy(&G);
    G = gov_new(&CFG);
    genesis_with(GOV_RULES_LEGACY, NULL, false, 0, NULL, 0, T0);
    gov_modulation_t mm;
    gov_modulation(G, &mm);
    ck_assert_int_eq(mm.source, GOV_MM_CMC);
    ck_assert(tick_due(T0));
    gov_round_t *r = gov_round_begin(G);
    bool work;
    nns_error_t err;
    ck_assert(gov_apply_tick(G, r, T0, &work, &err));
    keep_round(r);
    gov_round_commit(G, &r);
    ck_assert_uint_eq(nlast, 1);
    ck_assert_int_eq(last_intents[0].target, GOV_TARGET_CMC);
    ck_assert_str_eq(last_intents[0].path, "/v1/cycles/maturity-modulation");
    ck_assert(!tick_due(T0 + 10)); /* one read in flight */
    gov_modulation_result_t res = {.ok = true, .permyriad = 321};
    gov_outcome_t out;
    r = gov_round_begin(G);
    ck_assert(gov_apply_modulation_read(G, r, last_intents[0].id, &res, T0 + 1, &out, &err));
    gov_round_commit(G, &r);
    ck_assert(!out.has_request);
    gov_modulation(G, &mm);
    ck_assert_int_eq(mm.permyriad, 321);
    ck_assert(!tick_due(T0 + 100)); /* once a day */
    ck_assert(tick_due(T0 + DAY));
    /* out of the legacy range: ignored */
    r = gov_round_begin(G);
    ck_assert(gov_apply_tick(G, r, T0 + DAY, &work, &err));
    keep_round(r);
    gov_round_commit(G, &r);
    res.permyriad = 501;
    r = gov_round_begin(G);
    ck_assert(gov_apply_modulation_read(G, r, last_intents[0].id, &res, T0 + DAY, &out, &err));
    gov_round_commit(G, &r);
    gov_modulation(G, &mm);
    ck_assert_int_eq(mm.permyriad, 321);
    /* a failed read: retried an hour later */
    r = gov_round_begin(G);
    ck_assert(gov_apply_tick(G, r, T0 + 2 * DAY, &work, &err));
    keep_round(r);
    gov_round_commit(G, &r);
    res.ok = false;
    r = gov_round_begin(G);
    ck_assert(gov_apply_modulation_read(G, r, last_intents[0].id, &res, T0 + 2 * DAY, &out, &err));
    gov_round_commit(G, &r);
    ck_assert_str_eq(out.error.code, "External");
    ck_assert(!tick_due(T0 + 2 * DAY + 10));
    ck_assert(tick_due(T0 + 2 * DAY + 3600));
}
END_TEST

START_TEST(test_modulation_current_from_rate_history)
{
    gov_destroy(&G);
    G = gov_new(&CFG);
    genesis_with(GOV_RULES_CURRENT, NULL, false, 0, NULL, 0, T0);
    uint64_t today = T0 / DAY;
    gov_round_t *r = gov_round_begin(G);
    bool work;
    nns_error_t err;
    ck_assert(gov_apply_tick(G, r, T0, &work, &err));
    keep_round(r);
    gov_round_commit(G, &r);
    ck_assert_uint_eq(nlast, 1);
    char path[160];
    snprintf(path, sizeof path, "/v1/cycles/rate-history?from_day=%llu&to_day=%llu&limit=1000",
             (unsigned long long)(today - 364), (unsigned long long)today);
    ck_assert_str_eq(last_intents[0].path, path);
    /* a short history: 0 */
    gov_rate_day_t days[365];
    for (int i = 0; i < 30; i++) {
        days[i].day = today - (uint64_t)i;
        days[i].xdr_permyriad_per_icp = 50000;
    }
    gov_modulation_result_t res = {.ok = true, .days = days, .ndays = 30};
    gov_outcome_t out;
    r = gov_round_begin(G);
    ck_assert(gov_apply_modulation_read(G, r, last_intents[0].id, &res, T0, &out, &err));
    gov_round_commit(G, &r);
    gov_modulation_t mm;
    gov_modulation(G, &mm);
    ck_assert_int_eq(mm.permyriad, 0);
    ck_assert(!mm.computed);
    /* a full year with the recent week higher (test vector 9's data): the first computation has
     * no speed limit; the next day's is limited to 30 per day */
    uint64_t day2 = today + 1;
    for (int i = 0; i < 365; i++) {
        days[i].day = day2 - (uint64_t)i;
        days[i].xdr_permyriad_per_icp = i < 7 ? 60000 : 50000;
    }
    int32_t expect = 0;
    ck_assert(gov_m70_modulation(days, 365, day2, false, 0, 0, &expect));
    r = gov_round_begin(G);
    ck_assert(gov_apply_tick(G, r, day2 * DAY, &work, &err));
    keep_round(r);
    gov_round_commit(G, &r);
    ck_assert_uint_eq(nlast, 1);
    res.ndays = 365;
    r = gov_round_begin(G);
    ck_assert(gov_apply_modulation_read(G, r, last_intents[0].id, &res, day2 * DAY, &out, &err));
    gov_round_commit(G, &r);
    gov_modulation(G, &mm);
    ck_assert_int_eq(mm.permyriad, expect);
    ck_assert(mm.computed);
    ck_assert_uint_eq(mm.computed_day, day2);
    /* the next day, the recent week falls back: at most 30 down */
    uint64_t day3 = day2 + 1;
    for (int i = 0; i < 365; i++) {
        days[i].day = day3 - (uint64_t)i;
        days[i].xdr_permyriad_per_icp = 50000;
    }
    int32_t expect2 = 0;
    ck_assert(gov_m70_modulation(days, 365, day3, true, expect, 1, &expect2));
    ck_assert_int_ge(expect2, expect - 30);
    r = gov_round_begin(G);
    ck_assert(gov_apply_tick(G, r, day3 * DAY, &work, &err));
    keep_round(r);
    gov_round_commit(G, &r);
    r = gov_round_begin(G);
    ck_assert(gov_apply_modulation_read(G, r, last_intents[0].id, &res, day3 * DAY, &out, &err));
    gov_round_commit(G, &r);
    gov_modulation(G, &mm);
    ck_assert_int_eq(mm.permyriad, expect2);

    /* without a cmc and a genesis value: no source, no reads */
    gov_destroy(&G);
    CFG.has_cmc = false;
    G = gov_new(&CFG);
    genesis_with(GOV_RULES_CURRENT, NULL, false, 0, NULL, 0, T0);
    gov_modulation(G, &mm);
    ck_assert_int_eq(mm.source, GOV_MM_NONE);
    ck_assert(!tick_due(T0 + 5 * DAY));
    /* a genesis value fixes it */
    gov_destroy(&G);
    CFG.has_cmc = true;
    G = gov_new(&CFG);
    genesis_with(GOV_RULES_CURRENT, NULL, true, -250, NULL, 0, T0);
    gov_modulation(G, &mm);
    ck_assert_int_eq(mm.source, GOV_MM_GENESIS);
    ck_assert_int_eq(mm.permyriad, -250);
    ck_assert(!tick_due(T0 + 5 * DAY));
}
END_TEST

/* ---- genesis ---- */

START_TEST(test_genesis_neurons_minted)
{
    gov_destroy(&G);
    G = gov_new(&CFG);
    gov_genesis_neuron_t gn[2];
    memset(gn, 0, sizeof gn);
    gn[0].id = 1;
    gn[0].controller = alice;
    gn[0].memo = 1;
    gn[0].stake_e8s = 100 * ICP;
    gn[0].dissolve_delay_seconds = YEAR;
    gn[0].nhot_keys = 1;
    gn[0].hot_keys[0] = carol;
    gn[0].nfollowees = 2;
    gn[0].followees[0].topic = 4;
    gn[0].followees[0].n = 1;
    gn[0].followees[0].ids[0] = 2;
    gn[0].followees[1].topic = 0;
    gn[0].followees[1].n = 1;
    gn[0].followees[1].ids[0] = 2;
    gn[1].id = 2;
    gn[1].controller = bob;
    gn[1].memo = 1;
    gn[1].stake_e8s = 10 * ICP;
    gn[1].dissolve_delay_seconds = DAY;
    gn[1].dissolving = true;
    gn[1].visibility = GOV_VISIBILITY_PUBLIC;
    gn[1].maturity_e8s_equivalent = 3 * ICP;

    /* a bad file changes nothing: duplicate ids */
    gov_genesis_neuron_t bad[2] = {gn[0], gn[0]};
    gov_genesis_t gen;
    memset(&gen, 0, sizeof gen);
    gen.rules = GOV_RULES_LEGACY;
    gen.genesis_timestamp_seconds = T0;
    gov_economics_default(GOV_RULES_LEGACY, &gen.economics);
    gen.neurons = bad;
    gen.nneurons = 2;
    gov_round_t *r = gov_round_begin(G);
    nns_error_t err;
    ck_assert(!gov_apply_genesis(G, r, &gen, T0, &err));
    ck_assert_str_eq(err.code, "BadRequest");
    ck_assert_int_eq(err.status, 400);
    gov_round_discard(G, &r);
    ck_assert(!gov_genesis_done(G));

    genesis_with(GOV_RULES_LEGACY, NULL, false, 0, gn, 2, T0);
    ck_assert(gov_genesis_done(G));
    ck_assert_int_eq(gov_rules(G), GOV_RULES_LEGACY);
    ck_assert_uint_eq(nlast, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(last_intents[i].purpose, GOV_PURPOSE_MINT);
        ck_assert_uint_eq(last_intents[i].amount, gn[i].stake_e8s);
        ck_assert_uint_eq(last_intents[i].fee, 0);
        uint8_t sub[32];
        gov_neuron_staking_subaccount(&gn[i].controller, 1, sub);
        account_id_t acc;
        account_id_of(&govp, sub, &acc);
        ck_assert(account_id_equal(&last_intents[i].to, &acc));
        ck_assert(get(gn[i].id, T0)->locked);
    }
    ck_assert_uint_lt(last_intents[0].created_at_time, last_intents[1].created_at_time);
    uint64_t first_mint = last_intents[0].id;
    gov_neuron_full_t *n = get(1, T0);
    ck_assert_uint_eq(n->nfollowees, 2);
    ck_assert_int_eq(n->followees[0].topic, 0); /* ascending topics */
    ck_assert_uint_eq(n->d.dissolve_delay_seconds, YEAR);
    n = get(2, T0);
    ck_assert_int_eq(n->d.state, GOV_STATE_DISSOLVING);
    ck_assert_int_eq(n->n.visibility, GOV_VISIBILITY_PUBLIC);
    gov_outcome_t out;
    uint64_t i1 = last_intents[1].id;
    /* a TxTooOld refusal: the same mint again as a new intent, the neuron still locked */
    gov_transfer_result_t old = {.ok = false, .error_code = 422};
    snprintf(old.error, sizeof old.error, "TxTooOld: the transaction is too old");
    r = gov_round_begin(G);
    ck_assert(gov_apply_transfer_done(G, r, i1, &old, T0 + 2 * DAY, &out, &err));
    keep_round(r);
    gov_round_commit(G, &r);
    ck_assert(!out.finished);
    ck_assert_uint_eq(nlast, 1);
    ck_assert_uint_ne(last_intents[0].id, i1);
    ck_assert_uint_eq(last_intents[0].amount, gn[1].stake_e8s);
    ck_assert_uint_ge(last_intents[0].created_at_time, (T0 + 2 * DAY) * 1000000000ULL);
    ck_assert(get(2, T0)->locked);
    i1 = last_intents[0].id;
    transfer_done(first_mint, true, T0, &out);
    ck_assert(!out.has_request && out.ok);
    ck_assert(!get(1, T0)->locked);
    transfer_done(i1, true, T0, &out);
    ck_assert(!get(2, T0)->locked);
    /* twice: refused */
    r = gov_round_begin(G);
    ck_assert(!gov_apply_genesis(G, r, &gen, T0, &err));
    ck_assert_str_eq(err.code, "PreconditionFailed");
    ck_assert_int_eq(err.status, 422);
    gov_round_discard(G, &r);
    gov_info_t info;
    gov_info(G, T0, &info);
    ck_assert_uint_eq(info.neurons, 2);
    ck_assert_uint_eq(info.total_staked_e8s, 110 * ICP);
    ck_assert_uint_eq(info.total_maturity_e8s, 3 * ICP);
    ck_assert_uint_eq(info.neurons_by_state[GOV_STATE_NOT_DISSOLVING], 1);
    ck_assert_uint_eq(info.neurons_by_state[GOV_STATE_DISSOLVING], 1);
    gov_info(G, T0 + DAY, &info);
    ck_assert_uint_eq(info.neurons_by_state[GOV_STATE_DISSOLVED], 1);
}
END_TEST

/* ---- rounds, loads, intents ---- */

START_TEST(test_discard_leaves_state_commit_merges)
{
    uint64_t id = stake(&alice, 1, 5 * ICP, T0);
    gov_info_t before, after;
    gov_info(G, T0, &before);
    gov_round_t *r = gov_round_begin(G);
    gov_command_t c = command(GOV_CMD_ADD_HOT_KEY, &alice, id);
    c.u.add_hot_key.new_hot_key = bob;
    gov_outcome_t out;
    nns_error_t err;
    ck_assert(gov_apply_command(G, r, &c, T0, &out, &err));
    c = command(GOV_CMD_START_DISSOLVING, &alice, id);
    ck_assert(gov_apply_command(G, r, &c, T0, &out, &err));
    gov_claim_args_t a = {.caller = bob, .controller = bob, .memo = 5, .candidate_id = 4444};
    ck_assert(gov_apply_claim(G, r, &a, T0, &out, &err));
    /* the round sees its own changes, the reads do not */
    ck_assert_uint_eq(gov_round_neuron_count(r), 1);
    gov_neuron_full_t rn;
    bool removed, parts;
    gov_round_neuron(r, 0, &rn, &removed, &parts);
    ck_assert(!removed && parts);
    ck_assert_uint_eq(rn.nhot_keys, 1);
    ck_assert(rn.n.dissolve.dissolving);
    ck_assert(!get(id, T0)->n.dissolve.dissolving);
    ck_assert_uint_eq(get(id, T0)->nhot_keys, 0);
    gov_round_discard(G, &r);
    gov_info(G, T0, &after);
    ck_assert_uint_eq(after.next_intent_id, before.next_intent_id);
    ck_assert_uint_eq(after.next_flow_id, before.next_flow_id);
    ck_assert_uint_eq(after.in_flight, 0);
    ck_assert(!get(id, T0)->n.dissolve.dissolving);
    ck_assert_uint_eq(get(id, T0)->nhot_keys, 0);

    /* two changes of the same neuron in one round: one record, committed together */
    r = gov_round_begin(G);
    c = command(GOV_CMD_ADD_HOT_KEY, &alice, id);
    c.u.add_hot_key.new_hot_key = bob;
    ck_assert(gov_apply_command(G, r, &c, T0, &out, &err));
    c.u.add_hot_key.new_hot_key = carol;
    ck_assert(gov_apply_command(G, r, &c, T0, &out, &err));
    c = command(GOV_CMD_START_DISSOLVING, &alice, id);
    ck_assert(gov_apply_command(G, r, &c, T0, &out, &err));
    ck_assert_uint_eq(gov_round_neuron_count(r), 1);
    gov_info_t ri;
    ck_assert(!gov_round_info(r, &ri) || ri.next_intent_id == before.next_intent_id);
    size_t nev;
    gov_round_events(r, &nev);
    ck_assert_uint_eq(nev, 3);
    gov_round_commit(G, &r);
    gov_neuron_full_t *n = get(id, T0);
    ck_assert_uint_eq(n->nhot_keys, 2);
    ck_assert(n->n.dissolve.dissolving);
}
END_TEST

START_TEST(test_load_roundtrip_and_finish_in_flight)
{
    gov_neuron_full_t f;
    uint64_t now = T0 + 500;
    dissolved_neuron(&f, 9, &alice, 10 * ICP, now);
    f.nhot_keys = 1;
    f.hot_keys[0] = bob;
    f.ndisbursements = 1;
    f.disbursements[0].amount_e8s = 2 * ICP;
    f.disbursements[0].finalize_disbursement_timestamp_seconds = now + DAY;
    load(&f);
    gov_command_t c = command(GOV_CMD_DISBURSE, &alice, 9);
    /* capture what the store would write */
    gov_round_t *r = gov_round_begin(G);
    gov_outcome_t out;
    nns_error_t err;
    ck_assert(gov_apply_command(G, r, &c, now, &out, &err));
    size_t nfl, nin;
    const bool *removed;
    const gov_inflight_t *fl = gov_round_inflight(r, &removed, &nfl);
    ck_assert_uint_eq(nfl, 1);
    ck_assert(!removed[0]);
    gov_inflight_t saved_flow = fl[0];
    const gov_intent_t *in = gov_round_intents(r, &nin);
    ck_assert_uint_eq(nin, 1);
    gov_intent_t saved_intent = in[0];
    gov_info_t info;
    ck_assert(gov_round_info(r, &info));
    gov_round_commit(G, &r);
    gov_neuron_full_t saved;
    ck_assert(gov_neuron(G, 9, now, &saved));

    /* a restart: a new state machine loaded from what was saved */
    gov_t *g2 = gov_new(&CFG);
    ck_assert_ptr_nonnull(g2);
    gov_load_info(g2, &info);
    ck_assert(gov_load_neuron(g2, &saved, &err));
    ck_assert(gov_load_inflight(g2, &saved_flow, &err));
    ck_assert(gov_load_intent(g2, &saved_intent, &err));
    gov_load_done(g2);
    gov_destroy(&G);
    G = g2;
    gov_neuron_full_t *n = get(9, now);
    ck_assert(n->locked);
    ck_assert_uint_eq(n->nhot_keys, 1);
    ck_assert_uint_eq(n->ndisbursements, 1);
    ck_assert(gov_genesis_done(G));
    c = command(GOV_CMD_SET_VISIBILITY, &alice, 9);
    c.u.set_visibility.visibility = GOV_VISIBILITY_PUBLIC;
    run_err(&c, now, "LedgerUpdateOngoing", 409);
    transfer_done(saved_intent.id, true, now + 1, &out);
    ck_assert(out.finished && out.ok && out.has_request);
    ck_assert_uint_eq(out.flow_id, saved_flow.id);
    ck_assert(!get(9, now)->locked);
    ck_assert_uint_eq(get(9, now)->n.cached_neuron_stake_e8s, 0);
    /* counters continue after the loaded ones */
    gov_info(G, now, &info);
    ck_assert_uint_gt(info.next_intent_id, saved_intent.id);
    ck_assert_uint_gt(info.next_flow_id, saved_flow.id);
    ck_assert_uint_ge(info.last_created_at, saved_intent.created_at_time);
    /* bad loads */
    f.n.id = 0;
    ck_assert(!gov_load_neuron(G, &f, &err));
    ck_assert_str_eq(err.code, "CorruptState");
    f.n.id = 9;
    ck_assert(!gov_load_neuron(G, &f, &err));
    ck_assert_str_eq(err.code, "CorruptState");
}
END_TEST

START_TEST(test_intents_created_at_strictly_increasing)
{
    gov_neuron_full_t f;
    uint64_t now = T0 + 10;
    for (uint64_t i = 1; i <= 3; i++) {
        dissolved_neuron(&f, 100 + i, &alice, 10 * ICP, now);
        f.n.neuron_fees_e8s = i == 2 ? ICP : 0;
        load(&f);
    }
    uint64_t last = 0;
    for (int pass = 0; pass < 2; pass++) {
        gov_round_t *r = gov_round_begin(G);
        gov_outcome_t out;
        nns_error_t err;
        for (uint64_t i = 1; i <= 3 && pass == 0; i++) {
            gov_command_t c = command(GOV_CMD_DISBURSE, &alice, 100 + i);
            ck_assert(gov_apply_command(G, r, &c, now, &out, &err));
        }
        size_t n;
        const gov_intent_t *in = gov_round_intents(r, &n);
        for (size_t k = 0; k < n; k++) {
            ck_assert_uint_gt(in[k].created_at_time, last);
            ck_assert_uint_ge(in[k].created_at_time, now * 1000000000ULL);
            last = in[k].created_at_time;
        }
        keep_round(r);
        gov_round_commit(G, &r);
    }
    /* the burn's answer in a later round at the same time: still later */
    gov_outcome_t out;
    for (size_t k = 0; k < 3; k++)
        if (last_intents[k].purpose == GOV_PURPOSE_BURN) {
            transfer_done(last_intents[k].id, true, now, &out);
            ck_assert_uint_eq(nlast, 1);
            ck_assert_uint_gt(last_intents[0].created_at_time, last);
        }
}
END_TEST

START_TEST(test_views_and_voting_power)
{
    /* test vector 11 (M70) through a neuron: 100 ICP, d = 1 year, age 0 -> 15e9 */
    gov_neuron_full_t f;
    base_neuron(&f, 80, &alice, 100 * ICP, YEAR, T0);
    load(&f);
    gov_neuron_full_t *n = get(80, T0);
    ck_assert_uint_eq(n->d.potential_voting_power, 15000000000ULL);
    ck_assert_uint_eq(n->d.deciding_voting_power, 15000000000ULL);
    /* test vector 12: half-way through the decay */
    n = get(80, T0 + 17093700);
    ck_assert_uint_eq(n->d.deciding_voting_power, n->d.potential_voting_power / 2);
    /* legacy (test vector 10): d = 1 year, age 2 years -> 12 656 250 000 */
    gov_destroy(&G);
    G = gov_new(&CFG);
    genesis_with(GOV_RULES_LEGACY, NULL, true, 0, NULL, 0, T0);
    base_neuron(&f, 81, &alice, 100 * ICP, YEAR, T0 - 2 * YEAR);
    f.n.voting_power_refreshed_timestamp_seconds = T0;
    load(&f);
    ck_assert_uint_eq(get(81, T0)->d.potential_voting_power, 12656250000ULL);
    /* economics per rule set */
    gov_economics_t e;
    gov_economics(G, &e);
    ck_assert_uint_eq(e.neuron_minimum_dissolve_delay_to_vote_seconds, 15778800);
    gov_economics_default(GOV_RULES_CURRENT, &e);
    ck_assert_uint_eq(e.neuron_minimum_dissolve_delay_to_vote_seconds, 1209600);
    ck_assert_uint_eq(e.transaction_fee_e8s, FEE);
    ck_assert_uint_eq(e.neuron_creation_spike, 300);
    ck_assert_uint_eq(e.max_sustained_neurons_per_hour, 15);
    /* legacy maximum dissolve delay: 8 years */
    gov_command_t c = command(GOV_CMD_INCREASE_DISSOLVE_DELAY, &alice, 81);
    c.u.increase_dissolve_delay.additional_dissolve_delay_seconds = 4000000000u;
    run_ok(&c, T0);
    ck_assert_uint_eq(get(81, T0)->d.dissolve_delay_seconds, 8 * YEAR);
}
END_TEST

START_TEST(test_claim_of_a_locked_neuron_and_merge_without_transfers)
{
    gov_neuron_full_t f;
    uint64_t now = T0 + 100;
    uint64_t id = stake(&alice, 4, 3 * ICP, T0);
    /* start a disburse of another neuron... and lock this one with a split */
    gov_command_t c = command(GOV_CMD_SPLIT, &alice, id);
    c.u.split.candidate_id = 4242;
    memset(c.u.split.candidate_subaccount, 0x42, 32);
    c.u.split.amount_e8s = ICP + FEE;
    gov_outcome_t out = run_ok(&c, now);
    ck_assert(!out.finished);
    nns_error_t err;
    ck_assert(!claim(&alice, &alice, 4, now, &out, &err));
    ck_assert_str_eq(err.code, "LedgerUpdateOngoing");
    ck_assert_int_eq(err.status, 409);

    /* a merge whose source has nothing to move finishes at once: maturity only */
    base_neuron(&f, 90, &bob, 5 * ICP, YEAR, T0);
    load(&f);
    base_neuron(&f, 91, &bob, FEE, 2 * YEAR, T0);
    f.n.maturity_e8s_equivalent = 1234;
    load(&f);
    c = command(GOV_CMD_MERGE, &bob, 90);
    c.u.merge.source_neuron_id = 91;
    out = run_ok(&c, now);
    ck_assert(out.finished && out.ok);
    ck_assert_uint_eq(out.source_neuron_id, 91);
    ck_assert_uint_eq(nlast, 0);
    gov_neuron_full_t *n = get(90, now);
    ck_assert_uint_eq(n->n.maturity_e8s_equivalent, 1234);
    ck_assert_uint_eq(n->n.cached_neuron_stake_e8s, 5 * ICP);
    ck_assert_uint_eq(n->d.dissolve_delay_seconds, 2 * YEAR);
    ck_assert(!n->locked && !get(91, now)->locked);
    ck_assert_uint_eq(get(91, now)->n.maturity_e8s_equivalent, 0);
}
END_TEST

/* spec 2.9: at most 100 neurons' staked maturity returned per run; the rest at the next run. */
START_TEST(test_tick_batches_staked_maturity_returns)
{
    gov_neuron_full_t f;
    uint64_t now = T0 + 1000;
    for (uint64_t i = 1; i <= 150; i++) {
        dissolved_neuron(&f, 500 + i, &alice, ICP, now);
        f.n.staked_maturity_e8s_equivalent = 10;
        load(&f);
    }
    bool work;
    nns_error_t err;
    size_t counts[3];
    for (int pass = 0; pass < 3; pass++) {
        ck_assert(tick_due(now) == (pass < 2));
        gov_round_t *r = gov_round_begin(G);
        ck_assert(gov_apply_tick(G, r, now, &work, &err));
        counts[pass] = gov_round_neuron_count(r);
        gov_round_commit(G, &r);
    }
    ck_assert_uint_eq(counts[0], 100);
    ck_assert_uint_eq(counts[1], 50);
    ck_assert_uint_eq(counts[2], 0);
    gov_info_t info;
    gov_info(G, now, &info);
    ck_assert_uint_eq(info.total_staked_maturity_e8s, 0);
    ck_assert_uint_eq(info.total_maturity_e8s, 1500);
}
END_TEST

START_TEST(test_disburse_maturity_default_destination_and_events)
{
    gov_neuron_full_t f;
    base_neuron(&f, 60, &alice, 5 * ICP, YEAR, T0);
    f.n.maturity_e8s_equivalent = 10 * ICP;
    load(&f);
    gov_command_t c = command(GOV_CMD_DISBURSE_MATURITY, &alice, 60);
    c.u.disburse_maturity.percentage_to_disburse = 50;
    gov_outcome_t out = run_ok(&c, T0);
    ck_assert_uint_eq(out.amount_disbursed_e8s, 5 * ICP);
    ck_assert_uint_eq(nevents, 1);
    ck_assert_str_eq(last_events[0].kind, "maturity_disbursed");
    ck_assert_uint_eq(last_events[0].neuron_id, 60);
    ck_assert_uint_eq(last_events[0].amount_e8s, 5 * ICP);
    ck_assert_uint_eq(last_events[0].at_seconds, T0);
    gov_neuron_full_t *n = get(60, T0);
    ck_assert(account_id_equal(&n->disbursements[0].to, &alice_acc));
    ck_assert_uint_eq(n->disbursements[0].timestamp_of_disbursement_seconds, T0);
    /* the store sees the changed parts */
    gov_round_t *r = gov_round_begin(G);
    nns_error_t err;
    ck_assert(gov_apply_command(G, r, &c, T0 + 1, &out, &err));
    gov_neuron_full_t rn;
    bool removed, parts;
    gov_round_neuron(r, 0, &rn, &removed, &parts);
    ck_assert(parts && !removed);
    ck_assert_uint_eq(rn.ndisbursements, 2);
    gov_round_discard(G, &r);
    /* a command that does not touch the parts says so */
    r = gov_round_begin(G);
    gov_command_t v = command(GOV_CMD_SET_VISIBILITY, &alice, 60);
    v.u.set_visibility.visibility = GOV_VISIBILITY_PUBLIC;
    ck_assert(gov_apply_command(G, r, &v, T0, &out, &err));
    gov_round_neuron(r, 0, &rn, &removed, &parts);
    ck_assert(!parts);
    ck_assert_uint_eq(rn.ndisbursements, 1); /* still a full copy */
    gov_round_commit(G, &r);
    ck_assert_int_eq(get(60, T0)->n.visibility, GOV_VISIBILITY_PUBLIC);
    ck_assert_uint_eq(get(60, T0)->ndisbursements, 1);
}
END_TEST

/* ---- a random walk: every committed round's accessors describe it completely ---- */

typedef struct {
    gov_neuron_full_t *neurons;
    size_t nneurons;
    gov_inflight_t flows[256];
    size_t nflows;
    gov_intent_t intents[256];
    size_t nintents;
    gov_info_t info;
} mirror_t;

static void mirror_round(mirror_t *m, const gov_round_t *r)
{
    gov_neuron_full_t f;
    for (size_t i = 0; i < gov_round_neuron_count(r); i++) {
        bool removed, parts;
        gov_round_neuron(r, i, &f, &removed, &parts);
        size_t j = 0;
        while (j < m->nneurons && m->neurons[j].n.id != f.n.id)
            j++;
        if (removed) {
            if (j < m->nneurons)
                m->neurons[j] = m->neurons[--m->nneurons];
            continue;
        }
        if (j == m->nneurons) {
            ck_assert(parts); /* a new neuron comes whole */
            m->nneurons++;
        } else if (!parts) {
            /* the parts did not change: the mirror's copy of them must be the same */
            ck_assert_uint_eq(f.nhot_keys, m->neurons[j].nhot_keys);
            ck_assert_uint_eq(f.nfollowees, m->neurons[j].nfollowees);
            ck_assert_uint_eq(f.ndisbursements, m->neurons[j].ndisbursements);
        }
        m->neurons[j] = f;
    }
    const bool *removed;
    size_t n;
    const gov_inflight_t *fl = gov_round_inflight(r, &removed, &n);
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < m->nflows && m->flows[j].id != fl[i].id)
            j++;
        if (removed[i]) {
            if (j < m->nflows)
                m->flows[j] = m->flows[--m->nflows];
        } else {
            if (j == m->nflows)
                m->nflows++;
            ck_assert_uint_lt(m->nflows, 256);
            m->flows[j] = fl[i];
        }
    }
    const gov_intent_t *in = gov_round_intents(r, &n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_lt(m->nintents, 256);
        m->intents[m->nintents++] = in[i];
    }
    const uint64_t *done = gov_round_finished_intents(r, &n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m->nintents; j++)
            if (m->intents[j].id == done[i]) {
                m->intents[j] = m->intents[--m->nintents];
                break;
            }
    gov_info_t info;
    if (gov_round_info(r, &info))
        m->info = info;
}

static uint64_t rnd_state = 88172645463325252ULL;
static uint64_t rnd(uint64_t n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return n ? rnd_state % n : 0;
}

/* The totals gov_info keeps at commit equal a scan of every neuron at now. */
static void check_totals(gov_t *g, uint64_t now)
{
    gov_info_t kept, scan;
    gov_info(g, now, &kept);
    gov_info_scan(g, now, &scan);
    ck_assert_uint_eq(kept.neurons, scan.neurons);
    ck_assert_uint_eq(kept.total_staked_e8s, scan.total_staked_e8s);
    ck_assert_uint_eq(kept.total_maturity_e8s, scan.total_maturity_e8s);
    ck_assert_uint_eq(kept.total_staked_maturity_e8s, scan.total_staked_maturity_e8s);
    for (int s = 0; s < 5; s++)
        ck_assert_msg(kept.neurons_by_state[s] == scan.neurons_by_state[s],
                      "state %d at %" PRIu64 ": kept %" PRIu64 ", scan %" PRIu64, s, now,
                      kept.neurons_by_state[s], scan.neurons_by_state[s]);
    ck_assert_uint_eq(kept.in_flight, scan.in_flight);
    ck_assert_uint_eq(kept.intents, scan.intents);
    ck_assert_uint_eq(kept.locked_neurons, scan.locked_neurons);
    ck_assert_uint_eq(gov_memory(g), gov_memory_scan(g));
}

START_TEST(test_random_walk_mirror_and_reload)
{
    mirror_t *m = calloc(1, sizeof *m);
    ck_assert_ptr_nonnull(m);
    m->neurons = calloc(512, sizeof *m->neurons);
    ck_assert_ptr_nonnull(m->neurons);
    gov_info(G, T0, &m->info);
    principal_t users[3] = {alice, bob, carol};
    uint64_t now = T0;
    /* neurons with maturity, hot keys and followees, in both */
    for (uint64_t i = 0; i < 12; i++) {
        gov_neuron_full_t *f = &m->neurons[m->nneurons++];
        base_neuron(f, 7000 + i, &users[i % 3], (2 + i) * ICP, i * DAY * 30, T0);
        f->n.maturity_e8s_equivalent = (i + 1) * 3 * ICP;
        if (i % 2) {
            f->nhot_keys = 1;
            user((uint8_t)(60 + i), &f->hot_keys[0], NULL);
            f->nfollowees = 1;
            f->followees[0].topic = 4;
            f->followees[0].n = 1;
            f->followees[0].ids[0] = 7000;
        }
        if (i % 4 == 3) {
            f->n.dissolve.dissolving = true;
            f->n.dissolve.dissolve_delay_seconds = 0;
            f->n.dissolve.aging_since_timestamp_seconds = 0;
            f->n.dissolve.when_dissolved_timestamp_seconds = T0 + i * DAY;
            f->n.staked_maturity_e8s_equivalent = ICP;
        }
        load(f);
    }
    uint64_t ids[512];
    for (int step = 0; step < 3000; step++) {
        now += rnd(4) == 0 ? rnd(3 * DAY) : rnd(100);
        size_t nids = 0;
        for (size_t i = 0; i < m->nneurons && nids < 512; i++)
            ids[nids++] = m->neurons[i].n.id;
        gov_round_t *r = gov_round_begin(G);
        ck_assert_ptr_nonnull(r);
        gov_outcome_t out;
        nns_error_t err;
        bool work;
        uint64_t kind = rnd(10);
        if (kind == 0 && m->nneurons < 400) {
            gov_claim_args_t a;
            memset(&a, 0, sizeof a);
            a.caller = a.controller = users[rnd(3)];
            a.memo = rnd(6);
            a.candidate_id = next_id++;
            if (!gov_apply_claim(G, r, &a, now, &out, &err))
                ck_assert_int_lt(err.status, 500);
        } else if (kind <= 3 && m->nintents > 0) {
            const gov_intent_t *in = &m->intents[rnd(m->nintents)];
            bool ok = rnd(5) != 0;
            if (in->kind == GOV_INTENT_TRANSFER) {
                gov_transfer_result_t res = {.ok = ok, .block_index = next_block++};
                ck_assert(gov_apply_transfer_done(G, r, in->id, &res, now, &out, &err));
            } else if (in->purpose == GOV_PURPOSE_SUPPLY) {
                gov_supply_result_t res = {.ok = ok, .supply_e8s = rnd(1000) * ICP};
                ck_assert(gov_apply_supply_read(G, r, in->id, &res, now, &out, &err));
            } else if (in->purpose == GOV_PURPOSE_AVERAGE_RATE) {
                gov_average_rate_result_t res = {.ok = ok, .xdr_permyriad_per_icp = rnd(90000)};
                ck_assert(gov_apply_average_rate_read(G, r, in->id, &res, now, &out, &err));
            } else if (in->purpose == GOV_PURPOSE_BALANCE) {
                gov_balance_result_t res = {.ok = ok, .balance_e8s = rnd(20) * ICP / 2};
                ck_assert(gov_apply_balance_read(G, r, in->id, &res, now, &out, &err));
            } else {
                gov_modulation_result_t res = {.ok = ok, .permyriad = (int32_t)rnd(900) - 450};
                ck_assert(gov_apply_modulation_read(G, r, in->id, &res, now, &out, &err));
            }
        } else if (kind == 4) {
            ck_assert(gov_apply_tick(G, r, now, &work, &err));
        } else if (nids > 0) {
            size_t pick = rnd(nids);
            gov_command_t c = command((gov_command_kind_t)(1 + rnd(GOV_CMD_LEAVE_COMMUNITY_FUND)),
                                      &users[rnd(3)], ids[pick]);
            if (rnd(4) != 0) /* mostly the controller */
                c.caller = m->neurons[pick].n.controller;
            switch (c.kind) {
            case GOV_CMD_INCREASE_DISSOLVE_DELAY:
                c.u.increase_dissolve_delay.additional_dissolve_delay_seconds = (uint32_t)rnd(YEAR);
                break;
            case GOV_CMD_STAKE_MATURITY:
                c.u.stake_maturity.has_percentage = rnd(2);
                c.u.stake_maturity.percentage_to_stake = (uint32_t)rnd(120);
                break;
            case GOV_CMD_SET_DISSOLVE_TIMESTAMP:
                c.u.set_dissolve_timestamp.dissolve_timestamp_seconds = now + rnd(3 * YEAR);
                break;
            case GOV_CMD_ADD_HOT_KEY:
            case GOV_CMD_REMOVE_HOT_KEY:
                user((uint8_t)(60 + rnd(12)), &c.u.add_hot_key.new_hot_key, NULL);
                break;
            case GOV_CMD_SPLIT:
                c.u.split.amount_e8s = rnd(6) * ICP / 2 + FEE;
                c.u.split.candidate_id = next_id++;
                memcpy(c.u.split.candidate_subaccount, &c.u.split.candidate_id, 8);
                break;
            case GOV_CMD_MERGE:
                c.u.merge.source_neuron_id = ids[rnd(nids)];
                break;
            case GOV_CMD_SPAWN:
                c.u.spawn.has_percentage = rnd(2);
                c.u.spawn.percentage_to_spawn = (uint32_t)rnd(101);
                c.u.spawn.candidate_id = next_id++;
                memcpy(c.u.spawn.candidate_subaccount, &c.u.spawn.candidate_id, 8);
                c.u.spawn.candidate_subaccount[9] = 1;
                break;
            case GOV_CMD_DISBURSE_MATURITY:
                c.u.disburse_maturity.percentage_to_disburse = (uint32_t)rnd(101);
                break;
            case GOV_CMD_FOLLOW:
                c.u.follow.topic = (int32_t)rnd(20);
                c.u.follow.n = rnd(3);
                for (size_t i = 0; i < c.u.follow.n; i++)
                    c.u.follow.ids[i] = ids[rnd(nids)];
                break;
            case GOV_CMD_SET_VISIBILITY:
                c.u.set_visibility.visibility = (int32_t)rnd(3);
                break;
            case GOV_CMD_SET_FOLLOWING:
                c.u.set_following.n = rnd(3);
                for (size_t i = 0; i < c.u.set_following.n; i++) {
                    c.u.set_following.topics[i].topic = (int32_t)rnd(19);
                    c.u.set_following.topics[i].n = rnd(2);
                    c.u.set_following.topics[i].ids[0] = ids[rnd(nids)];
                }
                break;
            case GOV_CMD_DISBURSE:
                c.u.disburse.has_amount = rnd(2);
                c.u.disburse.amount_e8s = rnd(10) * ICP / 2;
                break;
            default:
                break;
            }
            if (!gov_apply_command(G, r, &c, now, &out, &err)) {
                /* a refusal changes nothing */
                ck_assert_msg(err.status < 500, "%s %s", err.code, err.detail);
                ck_assert_uint_eq(gov_round_neuron_count(r), 0);
                size_t nin;
                gov_round_intents(r, &nin);
                ck_assert_uint_eq(nin, 0);
            }
        }
        if (rnd(6) == 0) {
            gov_round_discard(G, &r);
        } else {
            mirror_round(m, r);
            gov_round_commit(G, &r);
        }
        if (rnd(3) == 0) /* reads skip some steps: one read may pass many dissolve times */
            check_totals(G, now);
    }
    check_totals(G, now);
    /* the mirror loaded into a new state machine equals the state machine */
    gov_t *g2 = gov_new(&CFG);
    ck_assert_ptr_nonnull(g2);
    gov_load_info(g2, &m->info);
    nns_error_t err;
    for (size_t i = 0; i < m->nneurons; i++)
        ck_assert_msg(gov_load_neuron(g2, &m->neurons[i], &err), "%s", err.detail);
    for (size_t i = 0; i < m->nflows; i++)
        ck_assert_msg(gov_load_inflight(g2, &m->flows[i], &err), "%s", err.detail);
    for (size_t i = 0; i < m->nintents; i++)
        ck_assert_msg(gov_load_intent(g2, &m->intents[i], &err), "%s", err.detail);
    gov_load_done(g2);
    gov_info_t a, b;
    gov_info(G, now, &a);
    gov_info(g2, now, &b);
    check_totals(g2, now);
    check_totals(g2, now + 4 * YEAR); /* every dissolving neuron dissolved */
    ck_assert_uint_eq(a.neurons, m->nneurons);
    ck_assert_uint_eq(a.neurons, b.neurons);
    ck_assert_uint_eq(a.total_staked_e8s, b.total_staked_e8s);
    ck_assert_uint_eq(a.total_maturity_e8s, b.total_maturity_e8s);
    ck_assert_uint_eq(a.in_flight, b.in_flight);
    ck_assert_uint_eq(a.intents, b.intents);
    ck_assert_uint_eq(a.locked_neurons, b.locked_neurons);
    ck_assert_uint_eq(a.next_intent_id, b.next_intent_id);
    ck_assert_uint_eq(a.next_flow_id, b.next_flow_id);
    ck_assert_uint_eq(a.last_created_at, b.last_created_at);
    ck_assert_uint_gt(a.neurons, 5);
    static gov_neuron_full_t x, y;
    for (size_t i = 0; i < m->nneurons; i++) {
        uint64_t id = m->neurons[i].n.id;
        ck_assert(gov_neuron(G, id, now, &x));
        ck_assert(gov_neuron(g2, id, now, &y));
        ck_assert(memcmp(&x.n, &y.n, sizeof x.n) == 0);
        ck_assert_uint_eq(x.nhot_keys, y.nhot_keys);
        ck_assert(memcmp(x.hot_keys, y.hot_keys, x.nhot_keys * sizeof x.hot_keys[0]) == 0);
        ck_assert_uint_eq(x.nfollowees, y.nfollowees);
        ck_assert(memcmp(x.followees, y.followees, x.nfollowees * sizeof x.followees[0]) == 0);
        ck_assert_uint_eq(x.ndisbursements, y.ndisbursements);
        ck_assert(memcmp(x.disbursements, y.disbursements,
                         x.ndisbursements * sizeof x.disbursements[0]) == 0);
        ck_assert(x.locked == y.locked);
    }
    for (int u = 0; u < 3; u++) {
        static gov_neuron_full_t la[GOV_LIST_MAX], lb[GOV_LIST_MAX];
        bool ma, mb;
        size_t na = gov_neurons_by_controller(G, &users[u], 0, now, la, GOV_LIST_MAX, &ma);
        size_t nb = gov_neurons_by_controller(g2, &users[u], 0, now, lb, GOV_LIST_MAX, &mb);
        ck_assert_uint_eq(na, nb);
        for (size_t i = 0; i < na; i++) {
            ck_assert_uint_eq(la[i].n.id, lb[i].n.id);
            if (i > 0)
                ck_assert_uint_gt(la[i].n.id, la[i - 1].n.id);
        }
    }
    gov_destroy(&g2);
    free(m->neurons);
    free(m);
}
END_TEST

/* Memory per neuron without hot keys, followees or disbursements (the benchmark's figure). */
START_TEST(test_memory_per_neuron)
{
    enum { COUNT = 20000 };
    size_t empty = gov_memory(G);
    gov_neuron_full_t f;
    nns_error_t err;
    for (uint64_t i = 1; i <= COUNT; i++) {
        base_neuron(&f, i * 0x9E3779B97F4A7C15ULL | 1, &alice, ICP, YEAR, T0);
        f.n.controller.bytes[0] = (uint8_t)i; /* many controllers */
        f.n.controller.bytes[1] = (uint8_t)(i >> 8);
        ck_assert(gov_load_neuron(G, &f, &err));
    }
    gov_load_done(G);
    size_t used = gov_memory(G) - empty;
    double per = (double)used / COUNT;
    printf("governance: %.0f bytes per neuron without hot keys or followees (%d neurons, maps "
           "included)\n",
           per, COUNT);
    ck_assert_double_lt(per, 700.0);
    gov_info_t info;
    gov_info(G, T0, &info);
    ck_assert_uint_eq(info.neurons, COUNT);
}
END_TEST

/* The memory of a large genesis's pending mints: one transfer intent per neuron, each the size
 * of its kind (a POST's body is out of line), in the state machine and in the store's array. */
START_TEST(test_memory_pending_mints)
{
    enum { COUNT = 400000 };
    size_t empty = gov_intent_memory(G);
    nns_error_t err;
    gov_intent_t in;
    memset(&in, 0, sizeof in);
    in.kind = GOV_INTENT_TRANSFER;
    in.purpose = GOV_PURPOSE_MINT;
    in.target = GOV_TARGET_LEDGER;
    snprintf(in.path, sizeof in.path, "/v1/transfers");
    for (uint64_t i = 1; i <= COUNT; i++) {
        in.id = i;
        in.flow_id = i;
        in.amount = i * ICP;
        in.memo = i;
        in.created_at_time = T0 * 1000000000ULL + i;
        ck_assert(gov_load_intent(G, &in, &err));
    }
    /* a POST intent: the state machine keeps its own copy of the body */
    char body[64];
    snprintf(body, sizeof body, "{\"subnets\":[]}");
    gov_intent_t post = in;
    post.id = COUNT + 1;
    post.kind = GOV_INTENT_POST;
    post.purpose = GOV_PURPOSE_CMC_POST;
    post.target = GOV_TARGET_CMC;
    post.body = body;
    ck_assert(gov_load_intent(G, &post, &err));
    post.id = COUNT + 2;
    post.body = NULL; /* a POST without a body, and a transfer with one, are corrupt */
    ck_assert(!gov_load_intent(G, &post, &err));
    in.id = COUNT + 3;
    in.body = body;
    ck_assert(!gov_load_intent(G, &in, &err));
    size_t used = gov_intent_memory(G) - empty;
    printf("governance: %zu bytes per intent record, %.0f bytes per pending mint with the map, "
           "%.1f MB for %d pending mints\n",
           sizeof(gov_intent_t), (double)used / COUNT, (double)used / 1e6, COUNT);
    ck_assert_uint_lt(sizeof(gov_intent_t), 512);
    ck_assert_double_lt((double)used / COUNT, 600.0);
    gov_info_t info;
    gov_info(G, T0, &info);
    ck_assert_uint_eq(info.intents, COUNT + 1);
}
END_TEST

static Suite *governance_suite(void)
{
    Suite *s = suite_create("governance");
    TCase *c = tcase_create("commands");
    tcase_add_checked_fixture(c, setup, teardown);
    tcase_add_test(c, test_claim_creates_neuron);
    tcase_add_test(c, test_claim_for_another_controller_and_insufficient_funds);
    tcase_add_test(c, test_v7_refresh_top_up_prorates_age);
    tcase_add_test(c, test_creation_limiter_and_neuron_limit);
    tcase_add_test(c, test_dissolve_commands);
    tcase_add_test(c, test_hot_keys);
    tcase_add_test(c, test_permission_table);
    tcase_add_test(c, test_follow_rules);
    tcase_add_test(c, test_auto_stake_and_stake_maturity);
    tcase_add_test(c, test_views_and_voting_power);
    suite_add_tcase(s, c);
    TCase *f = tcase_create("flows");
    tcase_add_checked_fixture(f, setup, teardown);
    tcase_add_test(f, test_disburse_flow_with_fee_burn);
    tcase_add_test(f, test_disburse_refused_and_small_fees);
    tcase_add_test(f, test_disburses_sent_together);
    tcase_add_test(f, test_split_flow_and_revert);
    tcase_add_test(f, test_merge_flow);
    tcase_add_test(f, test_merge_mismatches);
    tcase_add_test(f, test_spawn_flow_with_modulation);
    tcase_add_test(f, test_spawn_mint_refused_then_retried);
    tcase_add_test(f, test_disburse_maturity_flow);
    tcase_add_test(f, test_genesis_neurons_minted);
    tcase_add_test(f, test_claim_of_a_locked_neuron_and_merge_without_transfers);
    tcase_add_test(f, test_disburse_maturity_default_destination_and_events);
    suite_add_tcase(s, f);
    TCase *p = tcase_create("periodic");
    tcase_add_checked_fixture(p, setup, teardown);
    tcase_add_test(p, test_tick_staked_maturity_and_pruning);
    tcase_add_test(p, test_tick_batches_staked_maturity_returns);
    tcase_add_test(p, test_modulation_legacy_from_cmc);
    tcase_add_test(p, test_modulation_current_from_rate_history);
    suite_add_tcase(s, p);
    TCase *r = tcase_create("rounds");
    tcase_add_checked_fixture(r, setup, teardown);
    tcase_add_test(r, test_discard_leaves_state_commit_merges);
    tcase_add_test(r, test_load_roundtrip_and_finish_in_flight);
    tcase_add_test(r, test_intents_created_at_strictly_increasing);
    tcase_add_test(r, test_memory_per_neuron);
    tcase_add_test(r, test_memory_pending_mints);
    tcase_add_test(r, test_random_walk_mirror_and_reload);
    tcase_set_timeout(r, 60);
    suite_add_tcase(s, r);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(governance_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
