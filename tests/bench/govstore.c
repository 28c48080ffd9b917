/*
 * govstore: the governance store (services/governance/store.c) against a real PostgreSQL
 * ($DATABASE_URL), with the real state machine (gov.h). Run by
 * tests/integration/test_governance_store.sh.
 *
 *   govstore check   rounds of every kind written through the store (genesis with its mints,
 *                    mint answers, claims and their balance answers, manage-neuron commands
 *                    including a split in flight and a maturity disbursement, a periodic tick),
 *                    then a restart: the state loaded into a new state machine must equal the
 *                    one the rounds left (every neuron with its hot keys, followees,
 *                    disbursements, locks and derived values; the counters, limiter,
 *                    modulation and economics; the operations in flight; the unresolved
 *                    intents, field by field), and the event history pages newest first.
 *                    Exit 0 when every check passed.
 *   govstore fail    on a fresh database: a round PostgreSQL refuses half-way (a trigger the
 *                    test installs raises on the neurons' upsert) commits nothing and is
 *                    discarded; the same answers commit in the next round; a restart agrees.
 *   govstore init    applies an empty genesis (the current rule set's defaults) on a fresh
 *                    database, so that neurons generated straight into the tables can be loaded.
 *   govstore load N  loads the committed state and prints the load time, the neurons loaded
 *                    (must be N) and the state machine's bytes per neuron.
 *   govstore rounds N [R]  on a fresh database: a genesis with the creation limit raised, then R
 *                    times (default 1) a round of N claims and a round of their N balance
 *                    answers (N neurons created); prints the rounds' mean times through the
 *                    store (apply, build, COPY, pipeline, COMMIT).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "db.h"
#include "gov.h"
#include "principal.h"
#include "replay.h"
#include "store.h"

static int failures, checks;
static const char *db;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

static void die(const char *what, const nns_error_t *err)
{
    fprintf(stderr, "govstore: %s: %d %s: %s\n", what, err->status, err->code, err->detail);
    exit(2);
}

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- the test's own record of what the rounds did ---- */

#define MAX_INTENTS 4096
static gov_intent_t outbox[MAX_INTENTS]; /* every intent recorded and not finished */
static size_t noutbox;

static void outbox_update(const gov_round_t *r)
{
    size_t n;
    const gov_intent_t *in = gov_round_intents(r, &n);
    for (size_t i = 0; i < n && noutbox < MAX_INTENTS; i++)
        outbox[noutbox++] = in[i];
    const uint64_t *done = gov_round_finished_intents(r, &n);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < noutbox; k++)
            if (outbox[k].id == done[i]) {
                outbox[k] = outbox[--noutbox];
                break;
            }
}

static const gov_intent_t *outbox_find(gov_purpose_t purpose, uint64_t skip)
{
    for (size_t k = 0; k < noutbox; k++)
        if (outbox[k].purpose == purpose && skip-- == 0)
            return &outbox[k];
    return NULL;
}

/* Writes and commits a round (resolved: the outcomes of the transfers it finished). */
static void commit(gov_store_t *s, gov_t *g, gov_round_t **r, uint64_t now,
                   const gov_resolved_t *resolved, size_t nresolved)
{
    nns_error_t err;
    gov_store_extras_t x = {
        .now = now * 1000000000ULL, .resolved = resolved, .nresolved = nresolved};
    if (gov_store_send_round(s, *r, &x, NULL, 0, &err) != DB_COMMITTED ||
        gov_store_wait_round(s, &err) != DB_COMMITTED)
        die("round", &err);
    outbox_update(*r);
    gov_round_commit(g, r);
}

static gov_store_t *open_store(void)
{
    nns_error_t err;
    gov_store_t *s = gov_store_open(db, 1, 1, 0, &err);
    if (!s)
        die("open", &err);
    return s;
}

static gov_t *new_gov(void)
{
    gov_config_t cfg;
    gov_config_default(&cfg);
    gov_t *g = gov_new(&cfg);
    if (!g) {
        fprintf(stderr, "govstore: out of memory\n");
        exit(2);
    }
    return g;
}

static void controller_of(int i, principal_t *p)
{
    principal_canister(5000 + (uint64_t)i, p);
}

/* ---- comparisons ---- */

#define SAME(field) (a->field == b->field)

static bool same_dissolve(const gov_dissolve_t *a, const gov_dissolve_t *b)
{
    return SAME(dissolving) && SAME(dissolve_delay_seconds) &&
           SAME(aging_since_timestamp_seconds) && SAME(when_dissolved_timestamp_seconds);
}

static bool same_fixed(const gov_neuron_t *a, const gov_neuron_t *b)
{
    return SAME(id) && memcmp(a->subaccount, b->subaccount, SUBACCOUNT_BYTES) == 0 &&
           principal_equal(&a->controller, &b->controller) &&
           same_dissolve(&a->dissolve, &b->dissolve) && SAME(cached_neuron_stake_e8s) &&
           SAME(neuron_fees_e8s) && SAME(created_timestamp_seconds) && SAME(has_spawn_at) &&
           SAME(spawn_at_timestamp_seconds) && SAME(kyc_verified) && SAME(not_for_profit) &&
           SAME(auto_stake_maturity) && SAME(has_joined_community_fund) &&
           SAME(joined_community_fund_timestamp_seconds) && SAME(maturity_e8s_equivalent) &&
           SAME(staked_maturity_e8s_equivalent) && SAME(neuron_type) && SAME(visibility) &&
           SAME(voting_power_refreshed_timestamp_seconds) && SAME(eight_year_gang_bonus_base_e8s);
}

static bool same_full(const gov_neuron_full_t *a, const gov_neuron_full_t *b)
{
    if (!same_fixed(&a->n, &b->n) || !SAME(nhot_keys) || !SAME(nfollowees) ||
        !SAME(ndisbursements) || !SAME(locked) || !SAME(d.state) || !SAME(d.stake_e8s) ||
        !SAME(d.dissolve_delay_seconds) || !SAME(d.age_seconds) ||
        !SAME(d.potential_voting_power) || !SAME(d.deciding_voting_power))
        return false;
    for (int i = 0; i < a->nhot_keys; i++)
        if (!principal_equal(&a->hot_keys[i], &b->hot_keys[i]))
            return false;
    for (int i = 0; i < a->nfollowees; i++)
        if (!SAME(followees[i].topic) || !SAME(followees[i].n) ||
            memcmp(a->followees[i].ids, b->followees[i].ids, a->followees[i].n * 8) != 0)
            return false;
    for (int i = 0; i < a->ndisbursements; i++)
        if (!SAME(disbursements[i].amount_e8s) ||
            !SAME(disbursements[i].timestamp_of_disbursement_seconds) ||
            !SAME(disbursements[i].finalize_disbursement_timestamp_seconds) ||
            !account_id_equal(&a->disbursements[i].to, &b->disbursements[i].to))
            return false;
    return true;
}

static bool same_economics(const gov_economics_t *a, const gov_economics_t *b)
{
    return SAME(reject_cost_e8s) && SAME(neuron_minimum_stake_e8s) &&
           SAME(neuron_management_fee_per_proposal_e8s) && SAME(minimum_icp_xdr_rate) &&
           SAME(neuron_spawn_dissolve_delay_seconds) && SAME(maximum_node_provider_rewards_e8s) &&
           SAME(transaction_fee_e8s) && SAME(max_proposals_to_keep_per_topic) &&
           SAME(max_sustained_neurons_per_hour) && SAME(neuron_creation_spike) &&
           SAME(start_reducing_voting_power_after_seconds) && SAME(clear_following_after_seconds) &&
           SAME(neuron_minimum_dissolve_delay_to_vote_seconds);
}

static void print_info(const char *what, const gov_info_t *i)
{
    fprintf(stderr,
            "%s: genesis %d rules %d ts %llu mm %d/%d/%d/%llu/%llu/%llu limiter %llu/%llu "
            "next intent %llu flow %llu created_at %llu neurons %llu staked %llu maturity %llu "
            "staked maturity %llu in flight %llu intents %llu locked %llu due %llu states "
            "%llu/%llu/%llu/%llu\n",
            what, i->genesis_done, i->rules, (unsigned long long)i->genesis_timestamp_seconds,
            i->modulation.source, i->modulation.permyriad, i->modulation.computed,
            (unsigned long long)i->modulation.computed_day,
            (unsigned long long)i->modulation.requested_day,
            (unsigned long long)i->modulation.retry_at_seconds,
            (unsigned long long)i->limiter.available,
            (unsigned long long)i->limiter.last_refill_seconds,
            (unsigned long long)i->next_intent_id, (unsigned long long)i->next_flow_id,
            (unsigned long long)i->last_created_at, (unsigned long long)i->neurons,
            (unsigned long long)i->total_staked_e8s, (unsigned long long)i->total_maturity_e8s,
            (unsigned long long)i->total_staked_maturity_e8s, (unsigned long long)i->in_flight,
            (unsigned long long)i->intents, (unsigned long long)i->locked_neurons,
            (unsigned long long)i->next_due_seconds, (unsigned long long)i->neurons_by_state[1],
            (unsigned long long)i->neurons_by_state[2], (unsigned long long)i->neurons_by_state[3],
            (unsigned long long)i->neurons_by_state[4]);
}

/* Everything but next_due_seconds, a hint the state machine recomputes at load (it may then
 * be earlier: a tick that finds nothing due). */
static bool same_info(const gov_info_t *a, const gov_info_t *b)
{
    bool ok = SAME(genesis_done) && SAME(rules) && SAME(genesis_timestamp_seconds) &&
              same_economics(&a->economics, &b->economics) && SAME(modulation.source) &&
              SAME(modulation.permyriad) && SAME(modulation.computed) &&
              SAME(modulation.computed_day) && SAME(modulation.requested_day) &&
              SAME(modulation.retry_at_seconds) && SAME(limiter.available) &&
              SAME(limiter.last_refill_seconds) && SAME(next_intent_id) && SAME(next_flow_id) &&
              SAME(last_created_at) && SAME(neurons) && SAME(total_staked_e8s) &&
              SAME(total_maturity_e8s) && SAME(total_staked_maturity_e8s) && SAME(in_flight) &&
              SAME(intents) && SAME(locked_neurons);
    for (int i = 0; i < 5; i++)
        ok = ok && SAME(neurons_by_state[i]);
    if (!ok) {
        print_info("before", a);
        print_info("after ", b);
    }
    return ok;
}

static bool same_intent(const gov_intent_t *a, const gov_intent_t *b)
{
    return SAME(id) && SAME(flow_id) && SAME(kind) && SAME(purpose) && SAME(target) &&
           strcmp(a->path, b->path) == 0 && account_id_equal(&a->account, &b->account) &&
           SAME(from_day) && SAME(to_day) &&
           memcmp(a->from_subaccount, b->from_subaccount, SUBACCOUNT_BYTES) == 0 &&
           account_id_equal(&a->to, &b->to) && SAME(amount) && SAME(fee) && SAME(memo) &&
           SAME(created_at_time);
}

/* Every neuron of the controllers 0..ncontrollers-1 of a and b, compared; returns how many. */
static size_t compare_neurons(gov_t *a, gov_t *b, int ncontrollers, uint64_t now)
{
    static gov_neuron_full_t pa[GOV_LIST_MAX], pb[GOV_LIST_MAX];
    size_t total = 0;
    for (int c = 0; c < ncontrollers; c++) {
        principal_t p;
        controller_of(c, &p);
        uint64_t after = 0;
        bool more_a = true, more_b;
        while (more_a) {
            size_t na = gov_neurons_by_controller(a, &p, after, now, pa, GOV_LIST_MAX, &more_a);
            size_t nb = gov_neurons_by_controller(b, &p, after, now, pb, GOV_LIST_MAX, &more_b);
            CHECK(na == nb && more_a == more_b, "controller %d: %zu neurons before, %zu after", c,
                  na, nb);
            for (size_t i = 0; i < na && i < nb; i++)
                CHECK(same_full(&pa[i], &pb[i]), "neuron %llu differs after the reload",
                      (unsigned long long)pa[i].n.id);
            total += na;
            if (na)
                after = pa[na - 1].n.id;
        }
    }
    return total;
}

/* ---- the rounds ---- */

enum { NGENESIS = 24, NCLAIMS = 30, NCONTROLLERS = 40 };

static gov_command_t cmd_for(gov_command_kind_t kind, uint64_t neuron_id, int controller)
{
    gov_command_t c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.neuron_id = neuron_id;
    controller_of(controller, &c.caller);
    return c;
}

static void apply_ok(gov_t *g, gov_round_t *r, const gov_command_t *c, uint64_t now,
                     gov_outcome_t *out)
{
    nns_error_t err;
    if (!gov_apply_command(g, r, c, now, out, &err))
        die(gov_command_name(c->kind), &err);
}

static int run_check(void)
{
    nns_error_t err;
    gov_store_t *s = open_store();
    gov_t *g = new_gov();
    replay_cache_t *rc = replay_cache_new(NULL);
    bool fresh;
    gov_intent_t *loaded;
    size_t nloaded;
    if (!gov_store_load(s, g, rc, 0, &fresh, &loaded, &nloaded, &err))
        die("load of the empty database", &err);
    CHECK(fresh && nloaded == 0, "an empty database is fresh");
    free(loaded);

    const uint64_t t0 = 1767225600; /* 2026-01-01 */
    /* A: genesis, legacy rules, 24 neurons of 8 controllers, various shapes */
    static gov_genesis_neuron_t gn[NGENESIS];
    memset(gn, 0, sizeof gn);
    for (int i = 0; i < NGENESIS; i++) {
        gov_genesis_neuron_t *n = &gn[i];
        n->id = 1000 + (uint64_t)i;
        controller_of(i % 8, &n->controller);
        n->memo = (uint64_t)i;
        n->stake_e8s = (uint64_t)(i + 2) * GOV_E8;
        n->dissolve_delay_seconds = (uint64_t)(i + 1) * 30 * GOV_ONE_DAY;
        n->maturity_e8s_equivalent = i % 3 == 0 ? 50 * GOV_E8 : 0;
        n->dissolving = i % 4 == 1;
        n->visibility = i % 2 ? GOV_VISIBILITY_PUBLIC : 0;
        if (i % 5 == 0) {
            n->nhot_keys = 2;
            principal_canister(90, &n->hot_keys[0]);
            principal_canister(91 + (uint64_t)i, &n->hot_keys[1]);
        }
        if (i % 3 == 1) {
            n->nfollowees = 2;
            n->followees[0].topic = 0;
            n->followees[0].n = 2;
            n->followees[0].ids[0] = 1000;
            n->followees[0].ids[1] = 1003;
            n->followees[1].topic = 4;
            n->followees[1].n = 1;
            n->followees[1].ids[0] = 1006;
        }
    }
    gov_genesis_t gen = {.rules = GOV_RULES_LEGACY,
                         .genesis_timestamp_seconds = t0,
                         .has_modulation = true,
                         .maturity_modulation_permyriad = -250,
                         .nneurons = NGENESIS,
                         .neurons = gn};
    gov_economics_default(GOV_RULES_LEGACY, &gen.economics);
    gen.economics.max_sustained_neurons_per_hour = UINT64_MAX; /* the extremes of the columns */
    gen.economics.neuron_creation_spike = UINT64_MAX;
    gen.economics.reject_cost_e8s = 7 * GOV_E8;
    gov_round_t *r = gov_round_begin(g);
    if (!r || !gov_apply_genesis(g, r, &gen, t0, &err))
        die("genesis", &err);
    commit(s, g, &r, t0, NULL, 0);
    CHECK(noutbox == NGENESIS, "genesis recorded %zu mints", noutbox);

    /* B: the ledger answers 20 of the mints */
    uint64_t now = t0 + 10;
    gov_resolved_t res[NGENESIS];
    size_t nres = 0;
    r = gov_round_begin(g);
    for (uint64_t k = 0; k < 20; k++) {
        const gov_intent_t *in = outbox_find(GOV_PURPOSE_MINT, 4 + k);
        gov_transfer_result_t tr = {.ok = true, .block_index = 100 + k};
        gov_outcome_t out;
        if (!in || !gov_apply_transfer_done(g, r, in->id, &tr, now, &out, &err))
            die("mint answer", &err);
        res[nres++] = (gov_resolved_t){in->id, true, true, true, 100 + k};
    }
    commit(s, g, &r, now, res, nres);

    /* C: claims by memo of 30 neurons (controllers 8..37) */
    now += 60;
    r = gov_round_begin(g);
    for (int i = 0; i < NCLAIMS; i++) {
        gov_claim_args_t a;
        memset(&a, 0, sizeof a);
        controller_of(8 + i, &a.controller);
        a.caller = a.controller;
        a.memo = 77;
        a.candidate_id = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
        gov_outcome_t out;
        if (!gov_apply_claim(g, r, &a, now, &out, &err))
            die("claim", &err);
    }
    commit(s, g, &r, now, NULL, 0);

    /* D: 25 balances arrive (22 enough, 3 too small); 5 claims stay in flight */
    now += 5;
    r = gov_round_begin(g);
    for (int i = 0; i < 25; i++) {
        const gov_intent_t *in = outbox_find(GOV_PURPOSE_BALANCE, 5 + (uint64_t)i);
        gov_balance_result_t br = {.ok = true,
                                   .balance_e8s = i < 22 ? (uint64_t)(3 + i) * GOV_E8 : 1000};
        gov_outcome_t out;
        if (!in || !gov_apply_balance_read(g, r, in->id, &br, now, &out, &err))
            die("balance answer", &err);
        res[0] = (gov_resolved_t){in->id, false, true, false, 0};
    }
    commit(s, g, &r, now, NULL, 0);

    /* E: manage-neuron commands on the genesis neurons whose mint is done */
    now += 3600;
    gov_outcome_t out;
    uint64_t unlocked[NGENESIS];
    int nunlocked = 0;
    for (int i = 0; i < NGENESIS; i++) {
        gov_neuron_full_t f;
        if (gov_neuron(g, 1000 + (uint64_t)i, now, &f) && !f.locked && !f.n.dissolve.dissolving &&
            nunlocked < NGENESIS)
            unlocked[nunlocked++] = 1000 + (uint64_t)i;
    }
    CHECK(nunlocked >= 8, "only %d genesis neurons are unlocked and not dissolving", nunlocked);
    r = gov_round_begin(g);
#define CTRL(id) ((int)(((id)-1000) % 8))
    gov_command_t c = cmd_for(GOV_CMD_INCREASE_DISSOLVE_DELAY, unlocked[0], CTRL(unlocked[0]));
    c.u.increase_dissolve_delay.additional_dissolve_delay_seconds = 86400;
    apply_ok(g, r, &c, now, &out);
    c = cmd_for(GOV_CMD_ADD_HOT_KEY, unlocked[1], CTRL(unlocked[1]));
    principal_canister(4242, &c.u.add_hot_key.new_hot_key);
    apply_ok(g, r, &c, now, &out);
    c = cmd_for(GOV_CMD_FOLLOW, unlocked[2], CTRL(unlocked[2]));
    c.u.follow.topic = 7;
    c.u.follow.n = 2;
    c.u.follow.ids[0] = 1001;
    c.u.follow.ids[1] = 1003;
    apply_ok(g, r, &c, now, &out);
    c = cmd_for(GOV_CMD_START_DISSOLVING, unlocked[3], CTRL(unlocked[3]));
    apply_ok(g, r, &c, now, &out);
    c = cmd_for(GOV_CMD_SET_VISIBILITY, unlocked[4], CTRL(unlocked[4]));
    c.u.set_visibility.visibility = GOV_VISIBILITY_PUBLIC;
    apply_ok(g, r, &c, now, &out);
    c = cmd_for(GOV_CMD_AUTO_STAKE_MATURITY, unlocked[5], CTRL(unlocked[5]));
    c.u.auto_stake_maturity.requested_setting_for_auto_stake_maturity = true;
    apply_ok(g, r, &c, now, &out);
    c = cmd_for(GOV_CMD_JOIN_COMMUNITY_FUND, unlocked[6], CTRL(unlocked[6]));
    apply_ok(g, r, &c, now, &out);
    /* maturity: genesis gave 50 ICP to every third neuron */
    int with_maturity = 0;
    for (int i = 0; i < nunlocked; i++) {
        gov_neuron_full_t f;
        if (!gov_neuron(g, unlocked[i], now, &f) || f.n.maturity_e8s_equivalent == 0 || i == 3)
            continue;
        if (with_maturity == 0) {
            c = cmd_for(GOV_CMD_STAKE_MATURITY, unlocked[i], CTRL(unlocked[i]));
            c.u.stake_maturity.has_percentage = true;
            c.u.stake_maturity.percentage_to_stake = 40;
            apply_ok(g, r, &c, now, &out);
        } else if (with_maturity == 1) {
            c = cmd_for(GOV_CMD_DISBURSE_MATURITY, unlocked[i], CTRL(unlocked[i]));
            c.u.disburse_maturity.percentage_to_disburse = 30;
            c.u.disburse_maturity.has_to_account = true;
            memset(c.u.disburse_maturity.to_account.hash, 0x5a, ACCOUNT_HASH_BYTES);
            apply_ok(g, r, &c, now, &out);
            c = cmd_for(GOV_CMD_DISBURSE_MATURITY, unlocked[i], CTRL(unlocked[i]));
            c.u.disburse_maturity.percentage_to_disburse = 50;
            apply_ok(g, r, &c, now, &out);
        }
        with_maturity++;
    }
    CHECK(with_maturity >= 2, "%d unlocked neurons with maturity", with_maturity);
    /* a split: the child is created at once, the transfer stays in flight */
    uint64_t split_parent = 0;
    for (int i = nunlocked - 1; i >= 7 && !split_parent; i--) {
        gov_neuron_full_t f;
        if (gov_neuron(g, unlocked[i], now, &f) && f.d.minted_stake_e8s >= 4 * GOV_E8)
            split_parent = unlocked[i];
    }
    CHECK(split_parent != 0, "a neuron large enough to split");
    if (split_parent) {
        c = cmd_for(GOV_CMD_SPLIT, split_parent, CTRL(split_parent));
        c.u.split.amount_e8s = 2 * GOV_E8;
        c.u.split.candidate_id = 777777;
        memset(c.u.split.candidate_subaccount, 0x77, SUBACCOUNT_BYTES);
        apply_ok(g, r, &c, now, &out);
        CHECK(!out.finished, "a split waits for its transfer");
    }
    commit(s, g, &r, now, NULL, 0);

    /* F: a periodic tick 8 days later (the maturity disbursements are due: mints) */
    now += 8 * GOV_ONE_DAY;
    r = gov_round_begin(g);
    bool work = false;
    if (!r || !gov_apply_tick(g, r, now, &work, &err))
        die("tick", &err);
    commit(s, g, &r, now, NULL, 0);
    CHECK(work, "the tick had work");

    /* a round of refusals only: its answers go to the replay cache; the purge keeps the ones
     * not yet expired (test_governance_store.sh counts them: 1) */
    {
        replay_rec_t rp[2];
        memset(rp, 0, sizeof rp);
        memset(rp[0].key, 1, sizeof rp[0].key);
        memset(rp[1].key, 2, sizeof rp[1].key);
        rp[0].expiry_nanos = 5000;
        rp[1].expiry_nanos = UINT64_MAX; /* stored as the largest bigint */
        rp[0].status = rp[1].status = 409;
        rp[0].body = rp[1].body = "{\"code\":\"LedgerUpdateOngoing\"}";
        rp[0].len = rp[1].len = strlen(rp[0].body);
        r = gov_round_begin(g);
        gov_store_extras_t x = {.now = now * 1000000000ULL};
        if (!r || gov_store_send_round(s, r, &x, rp, 2, &err) != DB_COMMITTED ||
            gov_store_wait_round(s, &err) != DB_COMMITTED)
            die("round of refusals", &err);
        gov_round_commit(g, &r);
        if (!gov_store_purge_replay(s, 6000, &err))
            die("replay purge", &err);
    }

    /* the events, newest first, one page at a time */
    gov_store_event_t ev[GOV_STORE_EVENTS_MAX];
    size_t nev = 0, total = 0;
    bool more = true;
    uint64_t before = 0, last_seq = UINT64_MAX;
    while (more) {
        if (!gov_store_events(s, unlocked[0], before, 1, ev, &nev, &more, &err))
            die("events", &err);
        CHECK(nev == 1 || (nev == 0 && !more), "a page of one event");
        if (!nev)
            break;
        CHECK(ev[0].seq < last_seq && ev[0].e.neuron_id == unlocked[0], "events newest first");
        last_seq = before = ev[0].seq;
        total++;
    }
    CHECK(total >= 2, "neuron %llu has %zu events (genesis and the delay increase at least)",
          (unsigned long long)unlocked[0], total);
    if (!gov_store_events(s, unlocked[0], 0, GOV_STORE_EVENTS_MAX, ev, &nev, &more, &err))
        die("events", &err);
    CHECK(nev == total && !more, "one page of %zu events holds them all (%zu)", total, nev);
    gov_store_close(&s);

    /* the restart */
    s = open_store();
    gov_t *g2 = new_gov();
    double t = mono();
    if (!gov_store_load(s, g2, rc, 0, &fresh, &loaded, &nloaded, &err))
        die("reload", &err);
    printf("reloaded in %.3f s\n", mono() - t);
    CHECK(!fresh, "a database after genesis is not fresh");
    gov_info_t ia, ib;
    gov_info(g, now, &ia);
    gov_info(g2, now, &ib);
    CHECK(same_info(&ia, &ib), "the state facts, counters and metrics differ after the reload");
    size_t neurons = compare_neurons(g, g2, NCONTROLLERS, now);
    CHECK(neurons == ia.neurons && neurons == NGENESIS + 22 + (split_parent ? 1 : 0),
          "%zu neurons compared, %llu in memory", neurons, (unsigned long long)ia.neurons);
    CHECK(ia.in_flight > 0 && ia.locked_neurons > 0, "operations in flight survive (%llu)",
          (unsigned long long)ia.in_flight);
    CHECK(nloaded == noutbox, "%zu unresolved intents loaded, %zu expected", nloaded, noutbox);
    for (size_t i = 0; i < nloaded; i++) {
        const gov_intent_t *want = NULL;
        for (size_t k = 0; k < noutbox && !want; k++)
            if (outbox[k].id == loaded[i].id)
                want = &outbox[k];
        CHECK(want && same_intent(want, &loaded[i]), "intent %llu differs after the reload",
              (unsigned long long)loaded[i].id);
        CHECK(i == 0 || loaded[i - 1].id < loaded[i].id, "unresolved intents oldest first");
    }
    free(loaded);

    /* the reloaded state machine goes on: the split's transfer is answered */
    if (split_parent) {
        const gov_intent_t *in = outbox_find(GOV_PURPOSE_TRANSFER, 0);
        CHECK(in != NULL, "the split's transfer is in the outbox");
        if (in) {
            r = gov_round_begin(g2);
            gov_transfer_result_t tr = {.ok = true, .block_index = 999};
            if (!gov_apply_transfer_done(g2, r, in->id, &tr, now, &out, &err))
                die("split answer", &err);
            CHECK(out.finished && out.ok && out.created_neuron_id == 777777,
                  "the split finishes after the restart");
            res[0] = (gov_resolved_t){in->id, true, true, true, 999};
            commit(s, g2, &r, now, res, 1);
            gov_neuron_full_t f;
            CHECK(gov_neuron(g2, 777777, now, &f) && !f.locked, "the child is unlocked");
        }
    }
    gov_store_close(&s);

    /* and a second restart sees that too */
    s = open_store();
    gov_t *g3 = new_gov();
    if (!gov_store_load(s, g3, rc, 0, &fresh, &loaded, &nloaded, &err))
        die("second reload", &err);
    free(loaded);
    gov_info(g2, now, &ia);
    gov_info(g3, now, &ib);
    CHECK(same_info(&ia, &ib), "the state differs after the second reload");
    compare_neurons(g2, g3, NCONTROLLERS, now);
    gov_store_close(&s);
    gov_destroy(&g);
    gov_destroy(&g2);
    gov_destroy(&g3);
    replay_cache_destroy(&rc);
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}

/* Runs fixed SQL on a connection of its own (the test's triggers). */
static void test_sql(const char *sql)
{
    nns_error_t err;
    PGconn *c = db_connect(db, &err);
    if (!c)
        die("connect", &err);
    if (!db_command(c, sql, 0, NULL, &err))
        die(sql, &err);
    PQfinish(c);
}

/* A round that PostgreSQL refuses half-way (a trigger raises on the neurons' upsert) commits
 * nothing; the round is discarded; the same answers in the next round commit; a restart sees
 * exactly that. */
static int run_fail(void)
{
    nns_error_t err;
    gov_store_t *s = open_store();
    gov_t *g = new_gov();
    replay_cache_t *rc = replay_cache_new(NULL);
    bool fresh;
    gov_intent_t *loaded;
    size_t nloaded;
    if (!gov_store_load(s, g, rc, 0, &fresh, &loaded, &nloaded, &err))
        die("load", &err);
    free(loaded);
    const uint64_t t0 = 1767225600;
    gov_genesis_t gen = {.rules = GOV_RULES_CURRENT, .genesis_timestamp_seconds = t0};
    gov_economics_default(GOV_RULES_CURRENT, &gen.economics);
    gov_round_t *r = gov_round_begin(g);
    if (!fresh || !r || !gov_apply_genesis(g, r, &gen, t0, &err))
        die("genesis on a fresh database", &err);
    commit(s, g, &r, t0, NULL, 0);
    noutbox = 0;
    r = gov_round_begin(g);
    for (int i = 0; i < 5; i++) {
        gov_claim_args_t a;
        memset(&a, 0, sizeof a);
        controller_of(i, &a.controller);
        a.caller = a.controller;
        a.candidate_id = 500 + (uint64_t)i;
        gov_outcome_t out;
        if (!gov_apply_claim(g, r, &a, t0, &out, &err))
            die("claim", &err);
    }
    commit(s, g, &r, t0, NULL, 0);
    CHECK(noutbox == 5, "5 balance reads in the outbox");

    test_sql("CREATE FUNCTION governance.test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
             "$$BEGIN RAISE EXCEPTION 'refused by the test'; END$$");
    test_sql("CREATE TRIGGER test_refuse BEFORE INSERT ON governance.neurons "
             "FOR EACH ROW EXECUTE FUNCTION governance.test_refuse()");
    for (int attempt = 0; attempt < 2; attempt++) {
        r = gov_round_begin(g);
        gov_resolved_t res[5];
        for (size_t i = 0; i < noutbox; i++) {
            gov_balance_result_t br = {.ok = true, .balance_e8s = 2 * GOV_E8};
            gov_outcome_t out;
            if (!gov_apply_balance_read(g, r, outbox[i].id, &br, t0 + 1, &out, &err))
                die("balance answer", &err);
            res[i] = (gov_resolved_t){outbox[i].id, false, true, false, 0};
        }
        gov_store_extras_t x = {
            .now = (t0 + 1) * 1000000000ULL, .resolved = res, .nresolved = noutbox};
        db_outcome_t o = gov_store_send_round(s, r, &x, NULL, 0, &err);
        if (o == DB_COMMITTED)
            o = gov_store_wait_round(s, &err);
        if (attempt == 0) {
            CHECK(o == DB_NOT_COMMITTED && strstr(err.detail, "refused by the test"),
                  "the refused round did not commit (%d: %s)", (int)o, err.detail);
            gov_round_discard(g, &r);
            if (!gov_store_reconnect(s, &err))
                die("reconnect", &err);
            test_sql("DROP TRIGGER test_refuse ON governance.neurons");
            test_sql("DROP FUNCTION governance.test_refuse()");
        } else {
            CHECK(o == DB_COMMITTED, "the same answers commit in the next round (%s)", err.detail);
            outbox_update(r);
            gov_round_commit(g, &r);
        }
    }
    gov_store_close(&s);

    s = open_store();
    gov_t *g2 = new_gov();
    if (!gov_store_load(s, g2, rc, 0, &fresh, &loaded, &nloaded, &err))
        die("reload", &err);
    free(loaded);
    gov_info_t ia, ib;
    gov_info(g, t0 + 1, &ia);
    gov_info(g2, t0 + 1, &ib);
    CHECK(same_info(&ia, &ib) && ib.neurons == 5 && ib.in_flight == 0 && nloaded == 0,
          "after the refused round and its retry: %llu neurons, %llu in flight, %zu intents",
          (unsigned long long)ib.neurons, (unsigned long long)ib.in_flight, nloaded);
    compare_neurons(g, g2, 5, t0 + 1);
    gov_store_close(&s);
    gov_destroy(&g);
    gov_destroy(&g2);
    replay_cache_destroy(&rc);
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}

static int run_init(void)
{
    nns_error_t err;
    gov_store_t *s = open_store();
    gov_t *g = new_gov();
    replay_cache_t *rc = replay_cache_new(NULL);
    bool fresh;
    gov_intent_t *loaded;
    size_t nloaded;
    if (!gov_store_load(s, g, rc, 0, &fresh, &loaded, &nloaded, &err))
        die("load", &err);
    free(loaded);
    if (fresh) {
        gov_genesis_t gen = {.rules = GOV_RULES_CURRENT, .genesis_timestamp_seconds = 1767225600};
        gov_economics_default(GOV_RULES_CURRENT, &gen.economics);
        gov_round_t *r = gov_round_begin(g);
        if (!r || !gov_apply_genesis(g, r, &gen, 1767225600, &err))
            die("genesis", &err);
        commit(s, g, &r, 1767225600, NULL, 0);
    }
    gov_store_close(&s);
    gov_destroy(&g);
    replay_cache_destroy(&rc);
    return 0;
}

static int run_load(unsigned long long expect)
{
    nns_error_t err;
    gov_store_t *s = open_store();
    gov_t *g = new_gov();
    replay_cache_t *rc = replay_cache_new(NULL);
    bool fresh;
    gov_intent_t *loaded;
    size_t nloaded;
    double t = mono();
    if (!gov_store_load(s, g, rc, 0, &fresh, &loaded, &nloaded, &err))
        die("load", &err);
    double secs = mono() - t;
    free(loaded);
    gov_info_t in;
    gov_info(g, 1767225600, &in);
    printf("load_seconds=%.3f neurons=%llu memory_bytes_per_neuron=%.0f\n", secs,
           (unsigned long long)in.neurons,
           in.neurons ? (double)gov_memory(g) / (double)in.neurons : 0.0);
    gov_store_close(&s);
    gov_destroy(&g);
    replay_cache_destroy(&rc);
    return in.neurons == expect ? 0 : 1;
}

static int run_rounds(size_t n, size_t reps)
{
    nns_error_t err;
    gov_store_t *s = open_store();
    gov_t *g = new_gov();
    replay_cache_t *rc = replay_cache_new(NULL);
    bool fresh;
    gov_intent_t *loaded;
    size_t nloaded;
    if (!gov_store_load(s, g, rc, 0, &fresh, &loaded, &nloaded, &err))
        die("load", &err);
    free(loaded);
    if (!fresh) {
        fprintf(stderr, "govstore rounds: the database is not fresh\n");
        return 2;
    }
    const uint64_t t0 = 1767225600;
    gov_genesis_t gen = {.rules = GOV_RULES_CURRENT, .genesis_timestamp_seconds = t0};
    gov_economics_default(GOV_RULES_CURRENT, &gen.economics);
    gen.economics.max_sustained_neurons_per_hour = 1000000000;
    gen.economics.neuron_creation_spike = 1000000000;
    gov_round_t *r = gov_round_begin(g);
    if (!r || !gov_apply_genesis(g, r, &gen, t0, &err))
        die("genesis", &err);
    commit(s, g, &r, t0, NULL, 0);
    noutbox = 0;

    static gov_intent_t balance[MAX_INTENTS * 16];
    static gov_resolved_t resolved[sizeof balance / sizeof balance[0]];
    if (n > sizeof balance / sizeof balance[0]) {
        fprintf(stderr, "govstore rounds: at most %zu claims a round\n",
                sizeof balance / sizeof balance[0]);
        return 2;
    }
    double claims = 0, answers = 0;
    for (size_t rep = 0; rep < reps; rep++) {
        double t = mono();
        r = gov_round_begin(g);
        for (size_t i = 0; i < n; i++) {
            gov_claim_args_t a;
            memset(&a, 0, sizeof a);
            principal_canister(100000 + (uint64_t)(rep * n + i), &a.controller);
            a.caller = a.controller;
            a.memo = (uint64_t)i;
            a.candidate_id = 0x9e3779b97f4a7c15ULL * (uint64_t)(rep * n + i + 1);
            gov_outcome_t out;
            if (!gov_apply_claim(g, r, &a, t0, &out, &err))
                die("claim", &err);
        }
        size_t nin;
        const gov_intent_t *in = gov_round_intents(r, &nin);
        memcpy(balance, in, nin * sizeof *in);
        noutbox = 0;
        commit(s, g, &r, t0, NULL, 0);
        claims += mono() - t;

        t = mono();
        r = gov_round_begin(g);
        for (size_t i = 0; i < nin; i++) {
            gov_balance_result_t br = {.ok = true, .balance_e8s = 10 * GOV_E8};
            gov_outcome_t out;
            if (!gov_apply_balance_read(g, r, balance[i].id, &br, t0 + 1, &out, &err))
                die("balance answer", &err);
            resolved[i] = (gov_resolved_t){balance[i].id, false, true, false, 0};
        }
        noutbox = 0;
        commit(s, g, &r, t0 + 1, resolved, nin);
        answers += mono() - t;
    }
    gov_info_t info;
    gov_info(g, t0 + 1, &info);
    double total = (double)(n * reps);
    printf("%zu rounds of %zu claims: %.3f s a round (%.1f us a claim); the rounds of their "
           "balance answers: %.3f s a round (%.1f us a neuron created); neurons %llu\n",
           reps, n, claims / (double)reps, claims * 1e6 / total, answers / (double)reps,
           answers * 1e6 / total, (unsigned long long)info.neurons);
    gov_store_close(&s);
    gov_destroy(&g);
    replay_cache_destroy(&rc);
    return info.neurons == n * reps ? 0 : 1;
}

int main(int argc, char **argv)
{
    db = getenv("DATABASE_URL");
    if (!crypto_init()) {
        fprintf(stderr, "govstore: cannot initialise the cryptography libraries\n");
        return 2;
    }
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return run_check();
    if (argc >= 2 && strcmp(argv[1], "fail") == 0)
        return run_fail();
    if (argc >= 2 && strcmp(argv[1], "init") == 0)
        return run_init();
    if (argc >= 3 && strcmp(argv[1], "rounds") == 0)
        return run_rounds(strtoull(argv[2], NULL, 10), argc >= 4 ? strtoull(argv[3], NULL, 10) : 1);
    if (argc >= 3 && strcmp(argv[1], "load") == 0)
        return run_load(strtoull(argv[2], NULL, 10));
    fprintf(stderr, "usage: govstore check | fail | init | load N | rounds N [R]   (database: "
                    "$DATABASE_URL)\n");
    return 2;
}
