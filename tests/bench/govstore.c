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
 *   govstore proposals N  over N generated neurons (test_governance_store.sh: neurons 1, 2 and 3
 *                    hold most of the stake, nine in ten others follow them on the catch-all):
 *                    four proposals through the store (an NnsFunction whose second known
 *                    vote cascades, a node provider added, a known neuron registered, one left
 *                    open), a restart that must reload them equal (ballots page by page, known
 *                    neurons, node providers), the mirror's reads (votes of a neuron and of a
 *                    proposal, ballots), the day's reward event and its batches with a restart
 *                    after the first, the settled ballots read back; prints the times.
 *                    GOVSTORE_STOP_AT_RESTART=1 stops after the restart with the open proposals
 *                    (the database keeps their ballots: `govstore load N` then times restarts).
 *   govstore rounds N [R]  on a fresh database: a genesis with the creation limit raised, then R
 *                    times (default 1) a round of N claims and a round of their N balance
 *                    answers (N neurons created); prints the rounds' mean times through the
 *                    store (apply, build, COPY, pipeline, COMMIT).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "crypto.h"
#include "db.h"
#include "gov.h"
#include "gov_proposal.h"
#include "gov_reward.h"
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
    gov_intents_free(loaded, nloaded);

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

    /* a round of refusals only: its answers go to the replay cache. The purge empties the
     * slots of the ring (db.h) that hold only expired rows: the answer that expired 2 minutes
     * ago goes, with 25,000 more rows expired 1 to 6 minutes ago; the one expiring in 4
     * minutes stays (test_governance_store.sh counts them: 1) */
    {
        const uint64_t wall = now * 1000000000ULL, s1 = 1000000000ULL;
        replay_rec_t rp[2];
        memset(rp, 0, sizeof rp);
        memset(rp[0].key, 1, sizeof rp[0].key);
        memset(rp[1].key, 2, sizeof rp[1].key);
        rp[0].expiry_nanos = wall - 120 * s1;
        rp[1].expiry_nanos = wall + 240 * s1;
        rp[0].status = rp[1].status = 409;
        rp[0].body = rp[1].body = "{\"code\":\"LedgerUpdateOngoing\"}";
        rp[0].len = rp[1].len = strlen(rp[0].body);
        r = gov_round_begin(g);
        gov_store_extras_t x = {.now = wall};
        if (!r || gov_store_send_round(s, r, &x, rp, 2, &err) != DB_COMMITTED ||
            gov_store_wait_round(s, &err) != DB_COMMITTED)
            die("round of refusals", &err);
        gov_round_commit(g, &r);
        char expired[24];
        snprintf(expired, sizeof expired, "%llu", (unsigned long long)(wall - 60 * s1));
        const char *ep[1] = {expired};
        PGconn *pc = PQconnectdb(db);
        PGresult *q = PQexecParams(pc,
                                   "INSERT INTO governance.replay_cache (key, expiry_nanos, status,"
                                   " body) SELECT sha256(int4send(i)), $1::bigint - (i % 300)"
                                   " * 1000000000::bigint, 200, '{}'"
                                   " FROM generate_series(1, 25000) i",
                                   1, NULL, ep, NULL, NULL, 0);
        CHECK(PQresultStatus(q) == PGRES_COMMAND_OK, "expired replay rows: %s", PQerrorMessage(pc));
        PQclear(q);
        PQfinish(pc);
        size_t emptied;
        if (!db_store_purge_replay(gov_store_db(s), wall, &emptied, &err))
            die("replay purge", &err);
        CHECK(emptied >= 25001 * 40, "the purge emptied %zu bytes", emptied);
        if (!db_store_purge_replay(gov_store_db(s), wall, &emptied, &err))
            die("replay purge", &err);
        CHECK(emptied == 0, "a second purge emptied %zu bytes", emptied);
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
    gov_intents_free(loaded, nloaded);

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
    gov_intents_free(loaded, nloaded);
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
    gov_intents_free(loaded, nloaded);
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
            if (!db_store_reconnect(gov_store_db(s), &err))
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
    gov_intents_free(loaded, nloaded);
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
    gov_intents_free(loaded, nloaded);
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
    gov_intents_free(loaded, nloaded);
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
    gov_intents_free(loaded, nloaded);
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

/* ---- proposals, votes, known neurons, node providers and rewards over generated neurons ---- */

#define GEN_GENESIS 1767225600ULL

/* The generated neurons (test_governance_store.sh): neuron i has id (i * 11400714819323198485)
 * mod 18446744073709551557 and controller 8 big-endian bytes of i % 100000 then 01 01. */
static uint64_t gen_id(uint64_t i)
{
    return (uint64_t)(((unsigned __int128)i * 11400714819323198485ULL) % 18446744073709551557ULL);
}

static void gen_controller(uint64_t i, principal_t *p)
{
    uint8_t b[10];
    uint64_t v = i % 100000;
    for (int k = 0; k < 8; k++)
        b[k] = (uint8_t)(v >> (8 * (7 - k)));
    b[8] = b[9] = 1;
    nns_error_t err;
    if (!principal_from_bytes(b, sizeof b, p, &err))
        die("controller", &err);
}

/* A round through the store; returns the milliseconds of send + wait. */
static double store_round(gov_store_t *s, gov_t *g, gov_round_t **r, uint64_t now)
{
    double t = mono();
    commit(s, g, r, now, NULL, 0);
    return (mono() - t) * 1e3;
}

static gov_submit_args_t base_submit(uint64_t neuron, const principal_t *caller)
{
    gov_submit_args_t a;
    memset(&a, 0, sizeof a);
    a.caller = *caller;
    a.neuron_id = neuron;
    a.title = "A proposal of the store test";
    a.summary = "summary";
    /* an NnsFunction recorded as executed (topic SubnetManagement: the catch-all cascades) */
    a.action.kind = GOV_ACTION_EXECUTE_NNS_FUNCTION;
    a.action.u.nns.nns_function = 7;
    a.action.u.nns.payload = (const uint8_t *)""; /* as parsed: empty, not absent */
    a.action_json = "{\"type\":\"ExecuteNnsFunction\",\"nns_function\":7,\"payload\":\"\"}";
    return a;
}

static uint64_t submit_round(gov_store_t *s, gov_t *g, const gov_submit_args_t *a, uint64_t now,
                             double *apply_ms, double *store_ms)
{
    nns_error_t err;
    uint64_t pid;
    double t = mono();
    gov_round_t *r = gov_round_begin(g);
    if (!r || !gov_apply_submit(g, r, a, now, &pid, &err))
        die("submit", &err);
    *apply_ms = (mono() - t) * 1e3;
    *store_ms = store_round(s, g, &r, now);
    return pid;
}

static size_t vote_round(gov_store_t *s, gov_t *g, uint64_t pid, uint64_t i, int vote, uint64_t now,
                         double *apply_ms, double *store_ms)
{
    nns_error_t err;
    gov_vote_args_t va = {.proposal_id = pid, .neuron_id = gen_id(i), .vote = vote};
    gen_controller(i, &va.caller);
    gov_vote_outcome_t o;
    double t = mono();
    gov_round_t *r = gov_round_begin(g);
    if (!r || !gov_apply_vote(g, r, &va, now, &o, &err))
        die("vote", &err);
    *apply_ms = (mono() - t) * 1e3;
    *store_ms = store_round(s, g, &r, now);
    return o.ballots_changed;
}

static gov_t *restart(gov_store_t **s, double *secs)
{
    nns_error_t err;
    gov_store_close(s);
    *s = open_store();
    gov_t *g = new_gov();
    replay_cache_t *rc = replay_cache_new(NULL);
    bool fresh;
    gov_intent_t *loaded;
    size_t nloaded;
    double t = mono();
    if (!gov_store_load(*s, g, rc, 0, &fresh, &loaded, &nloaded, &err))
        die("load", &err);
    *secs = mono() - t;
    gov_intents_free(loaded, nloaded);
    replay_cache_destroy(&rc);
    return g;
}

/* Every ballot of proposal id, page by page, equal in a and b (held in both, or in neither). */
static bool same_ballots(gov_t *a, gov_t *b, uint64_t id)
{
    static gov_ballot_t x[GOV_BALLOT_PAGE_MAX], y[GOV_BALLOT_PAGE_MAX];
    uint64_t after = 0;
    for (;;) {
        bool ma, mb, ha, hb;
        size_t na = gov_proposal_ballots(a, id, after, -1, x, GOV_BALLOT_PAGE_MAX, &ma, &ha);
        size_t nb = gov_proposal_ballots(b, id, after, -1, y, GOV_BALLOT_PAGE_MAX, &mb, &hb);
        if (na != nb || ma != mb || ha != hb)
            return false;
        for (size_t i = 0; i < na; i++)
            if (x[i].neuron_id != y[i].neuron_id || x[i].vote != y[i].vote ||
                x[i].voting_power != y[i].voting_power)
                return false;
        if (!ma)
            return true;
        after = x[na - 1].neuron_id;
    }
}

/* ---- the mirror's pages of a proposal's ballots against memory's ---- */

static int cmp_ms(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Walks every page (GOV_STORE_VOTES_MAX ballots) of proposal id's ballots with the vote filter
 * (-1: all) through the mirror and through memory (which must still hold them): false at the
 * first page that differs. Each mirror page's time goes to ms (at most cap); *npages and
 * *nballots count them. */
static bool walk_ballots(gov_store_t *s, gov_t *g, uint64_t id, int vote, double *ms, size_t cap,
                         size_t *npages, size_t *nballots)
{
    static gov_ballot_t mem[GOV_STORE_VOTES_MAX], mir[GOV_STORE_VOTES_MAX];
    uint64_t after = 0;
    *npages = *nballots = 0;
    for (;;) {
        bool more_mem, held, more_mir, found;
        size_t n = 0;
        nns_error_t err;
        size_t nm =
            gov_proposal_ballots(g, id, after, vote, mem, GOV_STORE_VOTES_MAX, &more_mem, &held);
        double t = mono();
        if (!gov_store_proposal_ballots(s, id, after, vote, mir, GOV_STORE_VOTES_MAX, &n, &more_mir,
                                        &found, &err))
            die("proposal ballots", &err);
        if (*npages < cap)
            ms[*npages] = (mono() - t) * 1e3;
        (*npages)++;
        if (!held || !found || n != nm || more_mir != more_mem) {
            fprintf(stderr, "ballots of %llu (vote %d) after %llu: mirror %zu%s, memory %zu%s\n",
                    (unsigned long long)id, vote, (unsigned long long)after, n,
                    more_mir ? " and more" : "", nm, more_mem ? " and more" : "");
            return false;
        }
        for (size_t i = 0; i < n; i++)
            if (mem[i].neuron_id != mir[i].neuron_id || mem[i].vote != mir[i].vote ||
                mem[i].voting_power != mir[i].voting_power)
                return false;
        *nballots += n;
        if (!more_mir || n == 0)
            return true;
        after = mir[n - 1].neuron_id;
    }
}

/* Two actions equal field by field (their in-memory encodings): the one submitted and the one
 * parsed back from the stored form after a restart (gov_action_from_stored). */
static bool same_action(const gov_action_t *x, const gov_action_t *y)
{
    size_t nx = gov_action_encoded_size(x), ny = gov_action_encoded_size(y);
    uint8_t *ex = malloc(nx), *ey = malloc(ny);
    bool same = ex && ey && nx == ny && gov_action_encode(x, ex, nx) == nx &&
                gov_action_encode(y, ey, ny) == ny && memcmp(ex, ey, nx) == 0;
    free(ex);
    free(ey);
    return same;
}

static bool same_proposal(gov_t *a, gov_t *b, uint64_t id)
{
    gov_proposal_full_t *x = gov_proposal_get(a, id, NULL), *y = gov_proposal_get(b, id, NULL);
    bool same =
        x && y && x->p.id == y->p.id && x->p.topic == y->p.topic &&
        x->p.proposer == y->p.proposer &&
        gov_proposal_status(&x->p) == gov_proposal_status(&y->p) &&
        x->p.tally.yes == y->p.tally.yes && x->p.tally.no == y->p.tally.no &&
        x->p.tally.total == y->p.tally.total &&
        x->p.tally.timestamp_seconds == y->p.tally.timestamp_seconds &&
        gov_proposal_deadline(&x->p) == gov_proposal_deadline(&y->p) &&
        x->p.ballots_count == y->p.ballots_count && x->p.ballots_held == y->p.ballots_held &&
        x->p.reward_event_round == y->p.reward_event_round &&
        x->p.decided_timestamp_seconds == y->p.decided_timestamp_seconds &&
        x->p.executed_timestamp_seconds == y->p.executed_timestamp_seconds &&
        x->p.total_potential_voting_power == y->p.total_potential_voting_power &&
        strcmp(x->summary, y->summary) == 0 && strcmp(x->action_json, y->action_json) == 0 &&
        same_action(x->action, y->action) && same_ballots(a, b, id);
    free(x);
    free(y);
    return same;
}

static bool same_part2(gov_t *a, gov_t *b, size_t nneurons)
{
    gov_proposal_info_t x, y;
    gov_proposal_info(a, &x);
    gov_proposal_info(b, &y);
    bool same =
        x.next_proposal_id == y.next_proposal_id && x.last_snapshot_day == y.last_snapshot_day &&
        x.proposals == y.proposals && x.open == y.open && x.holding_ballots == y.holding_ballots &&
        x.ballots == y.ballots && x.known_neurons == y.known_neurons &&
        x.node_providers == y.node_providers && x.follow_index_entries == y.follow_index_entries;
    CHECK(same, "proposal counters: %llu/%llu proposals, %llu/%llu ballots, %llu/%llu known",
          (unsigned long long)x.proposals, (unsigned long long)y.proposals,
          (unsigned long long)x.ballots, (unsigned long long)y.ballots,
          (unsigned long long)x.known_neurons, (unsigned long long)y.known_neurons);
    for (uint64_t id = 1; id < x.next_proposal_id; id++) {
        bool ok = same_proposal(a, b, id);
        CHECK(ok, "proposal %llu reloads equal", (unsigned long long)id);
        same = same && ok;
    }
    gov_known_neuron_t **ka, **kb;
    size_t nka = 0, nkb = 0;
    if (gov_known_neurons(a, &ka, &nka) && gov_known_neurons(b, &kb, &nkb)) {
        bool ok = nka == nkb;
        for (size_t i = 0; ok && i < nka; i++)
            ok = ka[i]->id == kb[i]->id && strcmp(ka[i]->name, kb[i]->name) == 0 &&
                 !ka[i]->description == !kb[i]->description && ka[i]->nlinks == kb[i]->nlinks &&
                 ka[i]->ntopics == kb[i]->ntopics &&
                 (!ka[i]->nlinks || strcmp(ka[i]->links[0], kb[i]->links[0]) == 0) &&
                 (!ka[i]->ntopics || ka[i]->committed_topics[0] == kb[i]->committed_topics[0]);
        CHECK(ok, "known neurons reload equal (%zu, %zu)", nka, nkb);
        for (size_t i = 0; i < nka; i++)
            free(ka[i]);
        for (size_t i = 0; i < nkb; i++)
            free(kb[i]);
        free(ka);
        free(kb);
    }
    gov_node_provider_t *na, *nb;
    size_t nna = 0, nnb = 0;
    if (gov_node_providers(a, &na, &nna) && gov_node_providers(b, &nb, &nnb)) {
        bool ok = nna == nnb;
        for (size_t i = 0; ok && i < nna; i++)
            ok = principal_equal(&na[i].id, &nb[i].id) &&
                 na[i].has_reward_account == nb[i].has_reward_account &&
                 memcmp(na[i].reward_account.hash, nb[i].reward_account.hash, ACCOUNT_HASH_BYTES) ==
                     0 &&
                 na[i].has_last_reward == nb[i].has_last_reward;
        CHECK(ok, "node providers reload equal (%zu, %zu)", nna, nnb);
        free(na);
        free(nb);
    }
    gov_reward_event_t ea, eb;
    bool ha = gov_latest_reward_event(a, &ea), hb = gov_latest_reward_event(b, &eb);
    CHECK(ha == hb &&
              (!ha || (ea.day_after_genesis == eb.day_after_genesis &&
                       ea.distributed_e8s_equivalent == eb.distributed_e8s_equivalent &&
                       ea.total_available_e8s_equivalent == eb.total_available_e8s_equivalent &&
                       ea.nsettled == eb.nsettled)),
          "the latest reward event reloads equal");
    uint64_t da = 0, db_ = 0;
    size_t ca = 0, cb = 0, ta = 0, tb = 0;
    ha = gov_reward_progress(a, &da, &ca, &ta);
    hb = gov_reward_progress(b, &db_, &cb, &tb);
    CHECK(ha == hb && da == db_ && ca == cb && ta == tb,
          "the distribution's progress reloads equal (%zu/%zu, %zu/%zu)", ca, ta, cb, tb);
    size_t differ = 0;
    for (uint64_t i = 1; i <= nneurons; i++) {
        gov_neuron_full_t *fa = malloc(sizeof *fa), *fb = malloc(sizeof *fb);
        bool ia = fa && gov_neuron(a, gen_id(i), GEN_GENESIS, fa);
        bool ib = fb && gov_neuron(b, gen_id(i), GEN_GENESIS, fb);
        if (ia != ib ||
            (ia && (fa->n.maturity_e8s_equivalent != fb->n.maturity_e8s_equivalent ||
                    fa->n.staked_maturity_e8s_equivalent != fb->n.staked_maturity_e8s_equivalent ||
                    fa->n.neuron_fees_e8s != fb->n.neuron_fees_e8s)))
            differ++;
        free(fa);
        free(fb);
    }
    CHECK(differ == 0, "%zu neurons reload with other maturity or fees", differ);
    return same && differ == 0;
}

static int run_proposals(size_t nneurons)
{
    nns_error_t err;
    double load_s;
    gov_store_t *s = open_store();
    gov_t *g = restart(&s, &load_s);
    gov_info_t in;
    gov_info(g, GEN_GENESIS, &in);
    CHECK(in.neurons == nneurons, "%llu neurons loaded", (unsigned long long)in.neurons);
    printf("restart with %zu neurons and no proposals: %.3f s\n", nneurons, load_s);
    uint64_t t1 = GEN_GENESIS + 3600;
    principal_t c10;
    gen_controller(10, &c10);
    double apply_ms, store_ms, a2, s2;

    /* 1: the known neurons 1 and 2 vote: the second vote cascades */
    gov_submit_args_t a = base_submit(gen_id(10), &c10);
    uint64_t p1 = submit_round(s, g, &a, t1, &apply_ms, &store_ms);
    gov_proposal_full_t *f = gov_proposal_get(g, p1, NULL);
    uint64_t nballots = f ? f->p.ballots_count : 0;
    free(f);
    printf("proposal %llu with %llu ballots: apply %.1f ms, store round %.1f ms\n",
           (unsigned long long)p1, (unsigned long long)nballots, apply_ms, store_ms);
    size_t c1 = vote_round(s, g, p1, 1, GOV_VOTE_YES, t1 + 60, &apply_ms, &store_ms);
    size_t c2 = vote_round(s, g, p1, 2, GOV_VOTE_YES, t1 + 120, &a2, &s2);
    printf("vote of a known neuron: %zu ballots, apply %.1f ms, store round %.1f ms; the vote "
           "that cascades: %zu ballots, apply %.1f ms, store round %.1f ms\n",
           c1, apply_ms, store_ms, c2, a2, s2);
    CHECK(c2 > nneurons / 2, "the cascade reached %zu ballots", c2);

    /* 2: a node provider added (ParticipantManagement: the catch-all cascades) */
    a = base_submit(gen_id(10), &c10);
    a.action.kind = GOV_ACTION_ADD_OR_REMOVE_NODE_PROVIDER;
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.u.node_provider.add = true;
    principal_canister(77, &a.action.u.node_provider.id);
    a.action.u.node_provider.has_reward_account = true;
    memset(a.action.u.node_provider.reward_account.hash, 7, ACCOUNT_HASH_BYTES);
    /* action_json is what a restart parses back (gov_action_from_stored): the same action */
    static char np_json[256];
    char np_text[PRINCIPAL_TEXT_MAX], np_account[ACCOUNT_HEX_LEN + 1];
    principal_to_text(&a.action.u.node_provider.id, np_text);
    account_id_to_hex(&a.action.u.node_provider.reward_account, np_account);
    snprintf(np_json, sizeof np_json,
             "{\"type\":\"AddOrRemoveNodeProvider\",\"change\":\"add\",\"node_provider\":"
             "{\"id\":\"%s\",\"reward_account\":\"%s\"}}",
             np_text, np_account);
    a.action_json = np_json;
    uint64_t p2 = submit_round(s, g, &a, t1 + 200, &apply_ms, &store_ms);
    vote_round(s, g, p2, 1, GOV_VOTE_YES, t1 + 260, &apply_ms, &store_ms);
    c2 = vote_round(s, g, p2, 2, GOV_VOTE_YES, t1 + 320, &a2, &s2);
    printf("second proposal's cascade: %zu ballots, apply %.1f ms, store round %.1f ms\n", c2, a2,
           s2);

    /* 3: neuron 1 registered as a known neuron (Governance: no catch-all; 1 and 2 decide) */
    a = base_submit(gen_id(10), &c10);
    a.action.kind = GOV_ACTION_REGISTER_KNOWN_NEURON;
    memset(&a.action.u, 0, sizeof a.action.u);
    static const char *const links[1] = {"https://example.org/alpha"};
    static const int32_t topics[1] = {4};
    a.action.u.register_known_neuron.neuron_id = gen_id(1);
    a.action.u.register_known_neuron.name = "Alpha";
    a.action.u.register_known_neuron.description = "the first known neuron";
    a.action.u.register_known_neuron.nlinks = 1;
    a.action.u.register_known_neuron.links = links;
    a.action.u.register_known_neuron.ntopics = 1;
    a.action.u.register_known_neuron.committed_topics = topics;
    static char kn_json[256];
    snprintf(kn_json, sizeof kn_json,
             "{\"type\":\"RegisterKnownNeuron\",\"neuron_id\":\"%" PRIu64 "\",\"name\":"
             "\"Alpha\",\"description\":\"the first known neuron\",\"links\":"
             "[\"https://example.org/alpha\"],\"committed_topics\":[4]}",
             gen_id(1));
    a.action_json = kn_json;
    uint64_t p3 = submit_round(s, g, &a, t1 + 400, &apply_ms, &store_ms);
    vote_round(s, g, p3, 1, GOV_VOTE_YES, t1 + 460, &apply_ms, &store_ms);
    vote_round(s, g, p3, 2, GOV_VOTE_NO, t1 + 520, &apply_ms, &store_ms);
    vote_round(s, g, p3, 3, GOV_VOTE_YES, t1 + 580, &apply_ms, &store_ms);
    /* 4: left open, one no */
    a = base_submit(gen_id(10), &c10);
    uint64_t p4 = submit_round(s, g, &a, t1 + 600, &apply_ms, &store_ms);
    vote_round(s, g, p4, 3, GOV_VOTE_NO, t1 + 660, &apply_ms, &store_ms);
    gov_proposal_info_t pi;
    gov_proposal_info(g, &pi);
    CHECK(pi.known_neurons == 1 && pi.node_providers == 1,
          "the adopted proposals registered %llu known neurons, %llu node providers",
          (unsigned long long)pi.known_neurons, (unsigned long long)pi.node_providers);

    /* the restart with four proposals holding their ballots */
    gov_t *g2 = restart(&s, &load_s);
    printf("restart with %zu neurons and %llu proposals holding %llu ballots: %.3f s\n", nneurons,
           (unsigned long long)pi.holding_ballots, (unsigned long long)pi.ballots, load_s);
    CHECK(load_s < 5, "the restart takes %.3f s", load_s);
    same_part2(g, g2, nneurons);
    gov_destroy(&g2);
    /* GOVSTORE_STOP_AT_RESTART=1: the database is left with the open proposals holding their
     * ballots, for repeated `govstore load N` restarts (before/after comparisons) */
    const char *stop = getenv("GOVSTORE_STOP_AT_RESTART");
    if (stop && strcmp(stop, "1") == 0) {
        gov_store_close(&s);
        gov_destroy(&g);
        printf("%d checks, %d failed (stopped after the restart)\n", checks, failures);
        return failures ? 1 : 0;
    }

    /* the mirror's reads: a follower's votes, a proposal's votes, ballots */
    gov_store_vote_t votes[GOV_STORE_VOTES_MAX];
    size_t n;
    bool more, found;
    double t = mono();
    if (!gov_store_neuron_votes(s, gen_id(11), 0, votes, 100, &n, &more, &err))
        die("neuron votes", &err);
    double nv_ms = (mono() - t) * 1e3;
    CHECK(n == 2 && !more && votes[0].proposal_id == p2 && votes[1].proposal_id == p1 &&
              votes[0].vote == GOV_VOTE_YES && votes[0].cast_at_seconds == t1 + 320 &&
              votes[1].cast_at_seconds == t1 + 120,
          "neuron 11 voted on %zu proposals by following (latest %llu at %llu)", n,
          n ? (unsigned long long)votes[0].proposal_id : 0ULL,
          n ? (unsigned long long)votes[0].cast_at_seconds : 0ULL);
    if (!gov_store_neuron_votes(s, gen_id(3), 0, votes, 100, &n, &more, &err))
        die("neuron votes", &err);
    CHECK(n == 2 && votes[0].proposal_id == p4 && votes[0].vote == GOV_VOTE_NO &&
              votes[1].proposal_id == p3 && votes[1].vote == GOV_VOTE_YES,
          "neuron 3's own votes: %zu", n);
    if (!gov_store_neuron_votes(s, gen_id(3), p4, votes, 1, &n, &more, &err))
        die("neuron votes", &err);
    CHECK(n == 1 && votes[0].proposal_id == p3 && !more, "neuron 3's votes below the cursor");
    t = mono();
    if (!gov_store_proposal_votes(s, p1, 0, votes, GOV_STORE_VOTES_MAX, &n, &more, &err))
        die("proposal votes", &err);
    double pv_ms = (mono() - t) * 1e3;
    CHECK(n == GOV_STORE_VOTES_MAX && more, "a page of proposal 1's votes: %zu", n);
    bool ascending = true;
    for (size_t i = 1; i < n; i++)
        ascending = ascending && votes[i].neuron_id > votes[i - 1].neuron_id;
    CHECK(ascending, "votes ascending by neuron id");
    static gov_ballot_t mem[GOV_BALLOT_PAGE_MAX], mir[GOV_STORE_VOTES_MAX];
    bool held;
    size_t nm = gov_proposal_ballots(g, p1, 0, -1, mem, GOV_BALLOT_PAGE_MAX, &more, &held);
    t = mono();
    if (!gov_store_proposal_ballots(s, p1, 0, -1, mir, GOV_STORE_VOTES_MAX, &n, &more, &found,
                                    &err))
        die("proposal ballots", &err);
    double pb_ms = (mono() - t) * 1e3;
    bool same = found && n == nm;
    for (size_t i = 0; same && i < n; i++)
        same = mem[i].neuron_id == mir[i].neuron_id && mem[i].vote == mir[i].vote &&
               mem[i].voting_power == mir[i].voting_power;
    CHECK(same, "the mirror's first page of ballots is memory's (%zu, %zu)", n, nm);
    printf("reads from the mirror: a neuron's votes %.1f ms, a page of %d votes of a proposal "
           "%.1f ms, a page of its ballots %.1f ms\n",
           nv_ms, GOV_STORE_VOTES_MAX, pv_ms, pb_ms);
    /* every page of proposal 1's ballots, all and by vote, the mirror's against memory's */
    static double page_ms[4096];
    size_t npages = 0, walked = 0, counted[3] = {0, 0, 0};
    CHECK(walk_ballots(s, g, p1, -1, page_ms, 4096, &npages, &walked) && walked == nballots,
          "every page of proposal 1's ballots from the mirror is memory's (%zu ballots)", walked);
    size_t timed = npages < 4096 ? npages : 4096;
    qsort(page_ms, timed, sizeof page_ms[0], cmp_ms);
    double p50 = timed ? page_ms[timed / 2] : 0, p99 = timed ? page_ms[(timed * 99) / 100] : 0,
           pmax = timed ? page_ms[timed - 1] : 0;
    for (int vf = 0; vf <= 2; vf++) {
        static double filtered_ms[4096];
        size_t fp;
        CHECK(walk_ballots(s, g, p1, vf, filtered_ms, 4096, &fp, &counted[vf]),
              "every page of proposal 1's %s ballots from the mirror is memory's (%zu)",
              gov_vote_name((uint8_t)vf), counted[vf]);
    }
    CHECK(counted[0] + counted[1] + counted[2] == walked, "the filtered walks cover the ballots");
    printf("ballot pages from the mirror: %zu pages of %d over %zu ballots, p50 %.1f ms, p99 %.1f "
           "ms, max %.1f ms (yes %zu, no %zu, unspecified %zu)\n",
           npages, GOV_STORE_VOTES_MAX, walked, p50, p99, pmax, counted[1], counted[2], counted[0]);

    /* the day's rewards: decisions at the deadlines, the event from the supply, the batches */
    uint64_t tr = GEN_GENESIS + 6 * 86400;
    bool work;
    gov_round_t *r = gov_round_begin(g);
    if (!r || !gov_apply_tick(g, r, tr, &work, &err))
        die("tick", &err);
    store_ms = store_round(s, g, &r, tr);
    const gov_intent_t *supply = outbox_find(GOV_PURPOSE_SUPPLY, 0);
    CHECK(supply != NULL, "the tick asked the ledger's supply");
    if (!supply)
        return 1;
    gov_supply_result_t sr = {.ok = true, .supply_e8s = 50000000000000000ULL};
    gov_outcome_t out;
    t = mono();
    r = gov_round_begin(g);
    if (!r || !gov_apply_supply_read(g, r, supply->id, &sr, tr, &out, &err))
        die("supply", &err);
    apply_ms = (mono() - t) * 1e3;
    store_ms = store_round(s, g, &r, tr);
    uint64_t day;
    size_t credited, total;
    CHECK(gov_reward_progress(g, &day, &credited, &total), "a distribution in progress");
    printf("reward event of day %llu for %zu neurons: apply %.1f ms, store round %.1f ms\n",
           (unsigned long long)day, total, apply_ms, store_ms);
    /* the first batch, then a restart mid-way */
    double worst = 0, worst_apply = 0, sum = 0;
    int batches = 0;
    for (int k = 0; k < 1000; k++) {
        t = mono();
        r = gov_round_begin(g);
        if (!r || !gov_apply_tick(g, r, tr + 1 + (uint64_t)k, &work, &err))
            die("tick", &err);
        gov_reward_batch_t bt;
        bool had = gov_round_reward_batch(r, &bt);
        double am = (mono() - t) * 1e3, sm = store_round(s, g, &r, tr + 1 + (uint64_t)k);
        if (!had)
            break;
        batches++;
        sum += am + sm;
        if (am + sm > worst) {
            worst = am + sm;
            worst_apply = am;
        }
        if (k == 0) {
            g2 = restart(&s, &load_s);
            same_part2(g, g2, nneurons);
            gov_destroy(&g2);
        }
        if (bt.last)
            break;
    }
    printf("reward batches: %d rounds, worst %.1f ms (apply %.1f ms + store round %.1f ms), all "
           "%.1f ms\n",
           batches, worst, worst_apply, worst - worst_apply, sum);
    CHECK(!gov_reward_progress(g, &day, &credited, &total), "the distribution is complete");
    gov_proposal_info(g, &pi);
    t = mono();
    if (!gov_store_proposal_ballots(s, p1, 0, -1, mir, GOV_STORE_VOTES_MAX, &n, &more, &found,
                                    &err))
        die("proposal ballots", &err);
    pb_ms = (mono() - t) * 1e3;
    same = found && n == nm;
    for (size_t i = 0; same && i < n; i++)
        same = mem[i].neuron_id == mir[i].neuron_id && mem[i].vote == mir[i].vote &&
               mem[i].voting_power == mir[i].voting_power;
    nm = gov_proposal_ballots(g, p1, 0, -1, mem, 10, &more, &held);
    CHECK(!held && same, "settled: the ballots are the mirror's (%zu, held %d)", n, held);
    printf("a page of a settled proposal's ballots from the mirror: %.1f ms\n", pb_ms);
    g2 = restart(&s, &load_s);
    printf("restart after the rewards (%llu proposals in memory, %llu ballots held): %.3f s\n",
           (unsigned long long)pi.proposals, (unsigned long long)pi.ballots, load_s);
    same_part2(g, g2, nneurons);
    gov_destroy(&g2);

    /* the fold: every batch's credits reach the neurons' rows in the background; then a restart
     * from the rows alone */
    PGconn *c = PQconnectdb(db);
    t = mono();
    long left = -1;
    while (PQstatus(c) == CONNECTION_OK && mono() - t < 120) {
        PGresult *q = PQexec(c, "SELECT count(*) FROM governance.reward_batches WHERE NOT folded");
        left = PQresultStatus(q) == PGRES_TUPLES_OK ? strtol(PQgetvalue(q, 0, 0), NULL, 10) : -1;
        PQclear(q);
        if (left == 0)
            break;
        struct timespec nap = {0, 100000000};
        nanosleep(&nap, NULL);
    }
    PQfinish(c);
    CHECK(left == 0, "%ld reward batches not folded after %.0f s", left, mono() - t);
    printf("the reward credits folded into the neurons' rows %.1f s after the last batch\n",
           mono() - t);
    g2 = restart(&s, &load_s);
    same_part2(g, g2, nneurons);
    gov_destroy(&g2);
    gov_store_close(&s);
    gov_destroy(&g);
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
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
    if (argc >= 3 && strcmp(argv[1], "proposals") == 0)
        return run_proposals(strtoull(argv[2], NULL, 10));
    if (argc >= 3 && strcmp(argv[1], "load") == 0)
        return run_load(strtoull(argv[2], NULL, 10));
    fprintf(stderr, "usage: govstore check | fail | init | load N | rounds N [R] | proposals N   "
                    "(database: "
                    "$DATABASE_URL)\n");
    return 2;
}
