/*
 * Unit tests of proposals in the governance state machine (gov_proposal.h, spec/governance.md
 * sections 4, 5, 7, 9): the wait-for-quiet and decision vectors (test vector 13, 4.7, 4.8), the
 * following cascade (chains, cycles, majorities, the catch-all against the Governance and
 * SnsAndCommunityFund topics, NeuronManagement), every action's validation errors, submission
 * rules (fees, dissolve delay, authorization, eligibility), execution effects (own state, cmc
 * POST intents, ledger mints, ManageNeuron commands), the reject cost, rounds (discard and
 * commit), a random walk whose mirror (built from the round accessors) reloads into an equal
 * state machine, and the speed of the ballot snapshot and of one vote's cascade with 400 000
 * neurons (GOV_PERF_NEURONS overrides the count). No database, no network.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "gov_internal.h"
#include "proposal_body.h"

#define ICP 100000000ULL
#define DAY GOV_ONE_DAY
#define T0 1800000000ULL
#define BIG_DELAY (GOV_ONE_YEAR) /* above the 6 months to propose */

static gov_t *G;
static principal_t alice, bob, carol, govp;
static gov_event_t last_events[64];
static size_t nevents;
static gov_intent_t *last_intents;
static size_t nlast;

static void user(uint8_t n, principal_t *p)
{
    uint8_t der[44] = {0};
    der[43] = n;
    principal_self_authenticating(der, sizeof der, p);
}

static void keep_round(const gov_round_t *r)
{
    gov_intents_free(last_intents, nlast);
    const gov_intent_t *in = gov_round_intents(r, &nlast);
    last_intents = NULL;
    if (nlast) {
        /* copies that own their POST bodies: the round's go with the intent */
        last_intents = calloc(nlast, sizeof *in);
        ck_assert_ptr_nonnull(last_intents);
        for (size_t i = 0; i < nlast; i++) {
            last_intents[i] = in[i];
            if (in[i].body)
                ck_assert_ptr_nonnull(last_intents[i].body = strdup(in[i].body));
        }
    }
    const gov_event_t *ev = gov_round_events(r, &nevents);
    if (nevents > 64)
        nevents = 64;
    if (nevents)
        memcpy(last_events, ev, nevents * sizeof *ev);
}

static gov_neuron_full_t mk(uint64_t id, const principal_t *controller, uint64_t stake,
                            uint64_t delay)
{
    gov_neuron_full_t f;
    memset(&f, 0, sizeof f);
    f.n.id = id;
    f.n.controller = *controller;
    gov_neuron_staking_subaccount(controller, id, f.n.subaccount);
    f.n.dissolve.dissolve_delay_seconds = delay;
    f.n.dissolve.aging_since_timestamp_seconds = T0;
    f.n.cached_neuron_stake_e8s = stake;
    f.n.created_timestamp_seconds = T0;
    f.n.visibility = GOV_VISIBILITY_PUBLIC;
    f.n.voting_power_refreshed_timestamp_seconds = T0;
    return f;
}

static void follow(gov_neuron_full_t *f, int32_t topic, const uint64_t *ids, uint8_t n)
{
    uint8_t j = f->nfollowees;
    while (j > 0 && f->followees[j - 1].topic > topic) {
        f->followees[j] = f->followees[j - 1];
        j--;
    }
    memset(&f->followees[j], 0, sizeof f->followees[j]);
    f->followees[j].topic = topic;
    f->followees[j].n = n;
    memcpy(f->followees[j].ids, ids, n * sizeof ids[0]);
    f->nfollowees++;
}

static void new_gov(void)
{
    ck_assert(crypto_init());
    gov_config_t cfg;
    gov_config_default(&cfg);
    principal_canister(CANISTER_GOVERNANCE, &govp);
    user(1, &alice);
    user(2, &bob);
    user(3, &carol);
    G = gov_new(&cfg);
    ck_assert_ptr_nonnull(G);
    gov_info_t info;
    memset(&info, 0, sizeof info);
    info.genesis_done = true;
    info.rules = GOV_RULES_CURRENT;
    info.genesis_timestamp_seconds = T0;
    gov_economics_default(GOV_RULES_CURRENT, &info.economics);
    info.modulation.source = GOV_MM_GENESIS;
    info.next_intent_id = 1;
    info.next_flow_id = 1;
    gov_load_info(G, &info);
}

static void load(const gov_neuron_full_t *f)
{
    nns_error_t err;
    ck_assert_msg(gov_load_neuron(G, f, &err), "%s", err.detail);
}

static void setup(void)
{
    new_gov();
}

static void teardown(void)
{
    gov_destroy(&G);
    gov_intents_free(last_intents, nlast);
    last_intents = NULL;
    nlast = 0;
}

/* ---- applies, each in a round (committed on success, discarded on refusal) ---- */

static gov_submit_args_t motion(uint64_t neuron, const principal_t *caller)
{
    gov_submit_args_t a;
    memset(&a, 0, sizeof a);
    a.caller = *caller;
    a.neuron_id = neuron;
    a.title = "A motion";
    a.summary = "summary";
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_MOTION;
    a.action.u.motion.motion_text = "do it";
    a.action_json = "{\"type\":\"Motion\",\"motion_text\":\"do it\"}";
    return a;
}

static bool submit(const gov_submit_args_t *a, uint64_t now, uint64_t *id, nns_error_t *err)
{
    gov_round_t *r = gov_round_begin(G);
    ck_assert_ptr_nonnull(r);
    bool ok = gov_apply_submit(G, r, a, now, id, err);
    keep_round(r);
    if (ok)
        gov_round_commit(G, &r);
    else
        gov_round_discard(G, &r);
    return ok;
}

static uint64_t submit_ok(const gov_submit_args_t *a, uint64_t now)
{
    uint64_t id;
    nns_error_t err;
    ck_assert_msg(submit(a, now, &id, &err), "%s %s", err.code, err.detail);
    return id;
}

static const char *submit_err(const gov_submit_args_t *a, uint64_t now)
{
    static nns_error_t err;
    uint64_t id;
    ck_assert_msg(!submit(a, now, &id, &err), "submission accepted");
    return err.code;
}

static bool vote(const principal_t *caller, uint64_t pid, uint64_t nid, int v, uint64_t now,
                 gov_vote_outcome_t *out, nns_error_t *err)
{
    gov_vote_args_t a = {.caller = *caller, .proposal_id = pid, .neuron_id = nid, .vote = v};
    gov_round_t *r = gov_round_begin(G);
    ck_assert_ptr_nonnull(r);
    bool ok = gov_apply_vote(G, r, &a, now, out, err);
    keep_round(r);
    if (ok)
        gov_round_commit(G, &r);
    else
        gov_round_discard(G, &r);
    return ok;
}

static gov_vote_outcome_t vote_ok(const principal_t *caller, uint64_t pid, uint64_t nid, int v,
                                  uint64_t now)
{
    gov_vote_outcome_t out;
    nns_error_t err;
    ck_assert_msg(vote(caller, pid, nid, v, now, &out, &err), "%s %s", err.code, err.detail);
    return out;
}

static void tick(uint64_t now)
{
    gov_round_t *r = gov_round_begin(G);
    bool work;
    nns_error_t err;
    ck_assert_msg(gov_apply_tick(G, r, now, &work, &err), "%s", err.detail);
    keep_round(r);
    gov_round_commit(G, &r);
}

static int ballot_vote(uint64_t pid, uint64_t nid)
{
    gov_ballot_t b;
    if (!gov_proposal_ballot(G, pid, nid, &b))
        return -1;
    return b.vote;
}

static gov_proposal_t prop(uint64_t id)
{
    gov_proposal_full_t *p = gov_proposal_get(G, id, NULL);
    ck_assert_ptr_nonnull(p);
    gov_proposal_t out = p->p;
    free(p);
    return out;
}

static gov_neuron_full_t neuron(uint64_t id)
{
    gov_neuron_full_t f;
    ck_assert(gov_neuron(G, id, T0, &f));
    return f;
}

/* ---- wait-for-quiet and decisions (test vector 13, spec 4.7, 4.8) ---- */

static gov_proposal_t wfq_prop(void)
{
    gov_proposal_t p;
    memset(&p, 0, sizeof p);
    p.proposal_timestamp_seconds = T0;
    p.voting_period_seconds = 4 * DAY;
    p.has_wait_for_quiet = true;
    p.wait_for_quiet_deadline_seconds = T0 + 4 * DAY;
    p.tally.total = 1000;
    return p;
}

/* flips the majority (yes ahead <-> no ahead) at now, without any absolute majority */
static void flip(gov_proposal_t *p, uint64_t now)
{
    gov_tally_t old = p->tally;
    if (p->tally.yes > p->tally.no) {
        p->tally.yes = 100;
        p->tally.no = 200;
    } else {
        p->tally.yes = 200;
        p->tally.no = 100;
    }
    wait_for_quiet(p, &old, now);
}

START_TEST(test_wfq_vector_13)
{
    gov_proposal_t p = wfq_prop();
    flip(&p, T0 + DAY);
    ck_assert_uint_eq(p.wait_for_quiet_deadline_seconds, T0 + DAY * 9 / 2);
    p = wfq_prop();
    flip(&p, T0 + DAY * 7 / 2);
    ck_assert_uint_eq(p.wait_for_quiet_deadline_seconds, T0 + DAY * 23 / 4);
    p = wfq_prop();
    const uint64_t at[4] = {DAY, DAY * 31 / 8, 5 * DAY, DAY * 25 / 4};
    const uint64_t want[4] = {DAY * 9 / 2, DAY * 95 / 16, DAY * 13 / 2, DAY * 57 / 8};
    for (int i = 0; i < 4; i++) {
        flip(&p, T0 + at[i]);
        ck_assert_uint_eq(p.wait_for_quiet_deadline_seconds, T0 + want[i]);
    }
    /* upper bound: flipping at every deadline never goes beyond T + V + 2W = T + 8 days */
    p = wfq_prop();
    for (int i = 0; i < 200; i++) {
        flip(&p, p.wait_for_quiet_deadline_seconds);
        ck_assert_uint_le(p.wait_for_quiet_deadline_seconds, T0 + 8 * DAY);
    }
    ck_assert_uint_ge(p.wait_for_quiet_deadline_seconds, T0 + 8 * DAY - 2);
    /* no flip, no change; an absolute majority, no change; after the deadline, no change */
    p = wfq_prop();
    p.tally.yes = 200;
    p.tally.no = 100;
    gov_tally_t old = p.tally;
    p.tally.yes = 300;
    wait_for_quiet(&p, &old, T0 + DAY);
    ck_assert_uint_eq(p.wait_for_quiet_deadline_seconds, T0 + 4 * DAY);
    old = p.tally;
    p.tally.yes = 100;
    p.tally.no = 500; /* no >= ceil(total / 2) */
    wait_for_quiet(&p, &old, T0 + DAY);
    ck_assert_uint_eq(p.wait_for_quiet_deadline_seconds, T0 + 4 * DAY);
    p = wfq_prop();
    p.tally.yes = 100;
    p.tally.no = 200;
    old = p.tally;
    p.tally.yes = 300;
    wait_for_quiet(&p, &old, T0 + 4 * DAY + 1);
    ck_assert_uint_eq(p.wait_for_quiet_deadline_seconds, T0 + 4 * DAY);
    /* no wait-for-quiet state (ManageNeuron): nothing */
    p = wfq_prop();
    p.has_wait_for_quiet = false;
    flip(&p, T0 + DAY);
    ck_assert_uint_eq(p.wait_for_quiet_deadline_seconds, T0 + 4 * DAY);
}
END_TEST

START_TEST(test_decision_rules)
{
    gov_proposal_t p = wfq_prop();
    /* absolute majority yes: decidable and accepted at any time */
    p.tally = (gov_tally_t){.yes = 501, .no = 0, .total = 1000};
    ck_assert(can_decide(&p, T0 + 1));
    ck_assert(is_accepted(&p));
    p.tally = (gov_tally_t){.yes = 500, .no = 0, .total = 1000};
    ck_assert(!can_decide(&p, T0 + 1));
    /* no wins ties: no >= total - no */
    p.tally = (gov_tally_t){.yes = 0, .no = 500, .total = 1000};
    ck_assert(can_decide(&p, T0 + 1));
    ck_assert(!is_accepted(&p));
    /* at the deadline: yes > no and yes >= 3 % of the total */
    p.tally = (gov_tally_t){.yes = 30, .no = 29, .total = 1000};
    ck_assert(!can_decide(&p, T0 + 4 * DAY - 1));
    ck_assert(can_decide(&p, T0 + 4 * DAY));
    ck_assert(is_accepted(&p));
    p.tally = (gov_tally_t){.yes = 29, .no = 0, .total = 1000};
    ck_assert(!is_accepted(&p));
    p.tally = (gov_tally_t){.yes = 40, .no = 40, .total = 1000};
    ck_assert(!is_accepted(&p));
    /* without wait-for-quiet (ManageNeuron): a strict majority of the total */
    p.has_wait_for_quiet = false;
    p.tally = (gov_tally_t){.yes = 2, .no = 0, .total = 3};
    ck_assert(is_accepted(&p));
    p.tally = (gov_tally_t){.yes = 1, .no = 0, .total = 2};
    ck_assert(!is_accepted(&p));
    /* statuses */
    p = wfq_prop();
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_OPEN);
    p.decided_timestamp_seconds = T0 + 5;
    p.tally = (gov_tally_t){.yes = 600, .no = 0, .total = 1000};
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_ADOPTED);
    p.executed_timestamp_seconds = T0 + 5;
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_EXECUTED);
    p.executed_timestamp_seconds = 0;
    p.failed_timestamp_seconds = T0 + 5;
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_FAILED);
    p.failed_timestamp_seconds = 0;
    p.tally = (gov_tally_t){.yes = 0, .no = 600, .total = 1000};
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_REJECTED);
    ck_assert_int_eq(gov_proposal_reward_status(&p, T0 + 1), GOV_REWARD_ACCEPT_VOTES);
    ck_assert_int_eq(gov_proposal_reward_status(&p, T0 + 4 * DAY), GOV_REWARD_READY_TO_SETTLE);
    p.reward_event_round = 3;
    ck_assert_int_eq(gov_proposal_reward_status(&p, T0 + 4 * DAY), GOV_REWARD_SETTLED);
    p.topic = GOV_TOPIC_NEURON_MANAGEMENT;
    ck_assert_int_eq(gov_proposal_reward_status(&p, T0), GOV_REWARD_INELIGIBLE);
    /* names */
    ck_assert_str_eq(gov_vote_name(1), "yes");
    ck_assert_int_eq(gov_vote_from_name("no"), 2);
    ck_assert_int_eq(gov_proposal_status_from_name("Adopted"), 3);
    ck_assert_int_eq(gov_proposal_status_from_name("4"), 4);
    ck_assert_int_eq(gov_proposal_status_from_name("Bogus"), 0);
    ck_assert_int_eq(gov_reward_status_from_name("Settled"), 3);
    ck_assert_int_eq(gov_topic_from_name("Governance"), 4);
    ck_assert_int_eq(gov_topic_from_name("14"), 14);
    ck_assert_int_eq(gov_topic_from_name("19"), -1);
    ck_assert_int_eq(gov_action_from_name("Motion"), GOV_ACTION_MOTION);
    ck_assert_int_eq(gov_action_from_name("SetDefaultFollowees"), 0);
    ck_assert_int_eq(gov_nns_function_topic(10), GOV_TOPIC_EXCHANGE_RATE);
    ck_assert_int_eq(gov_nns_function_topic(4), -1);
    ck_assert_int_eq(gov_nns_function_topic(20), GOV_TOPIC_NETWORK_ECONOMICS);
}
END_TEST

/* ---- a small world: proposer P (alice, big), known K1..K3 (bob), followers (carol) ---- */
enum { P = 10, K1 = 20, K2 = 21, K3 = 22, F1 = 30, F2 = 31, F3 = 32, F4 = 33, F5 = 34 };

static void world(void)
{
    gov_neuron_full_t p = mk(P, &alice, 10 * ICP, BIG_DELAY);
    load(&p);
    gov_neuron_full_t k1 = mk(K1, &bob, 100 * ICP, BIG_DELAY),
                      k2 = mk(K2, &bob, 100 * ICP, BIG_DELAY),
                      k3 = mk(K3, &bob, 100 * ICP, BIG_DELAY);
    load(&k1);
    load(&k2);
    load(&k3);
}

START_TEST(test_cascade_chain_cycle_catch_all)
{
    world();
    uint64_t l1[1] = {K1}, lf1[1] = {F1}, lf2[1] = {F2};
    /* chain on the catch-all: F1 <- K1, F2 <- F1, F3 <- F2 */
    gov_neuron_full_t f1 = mk(F1, &carol, 5 * ICP, BIG_DELAY);
    follow(&f1, 0, l1, 1);
    gov_neuron_full_t f2 = mk(F2, &carol, 5 * ICP, BIG_DELAY);
    follow(&f2, 0, lf1, 1);
    gov_neuron_full_t f3 = mk(F3, &carol, 5 * ICP, BIG_DELAY);
    follow(&f3, 0, lf2, 1);
    /* a cycle: F4 <- F5 and F5 <- F4 (topic 0), and F4 also follows K2 on Governance only */
    uint64_t l45[1] = {F5}, l54[1] = {F4}, lk2[1] = {K2};
    gov_neuron_full_t f4 = mk(F4, &carol, 5 * ICP, BIG_DELAY);
    follow(&f4, 0, l45, 1);
    follow(&f4, GOV_TOPIC_GOVERNANCE, lk2, 1);
    gov_neuron_full_t f5 = mk(F5, &carol, 5 * ICP, BIG_DELAY);
    follow(&f5, 0, l54, 1);
    load(&f1);
    load(&f2);
    load(&f3);
    load(&f4);
    load(&f5);
    gov_load_done(G);
    uint64_t ids[8];
    ck_assert_uint_eq(gov_followers(G, K1, 0, ids, 8), 1);
    ck_assert_uint_eq(ids[0], F1);

    /* a Motion (Governance): the catch-all does not apply */
    gov_submit_args_t a = motion(P, &alice);
    uint64_t pid = submit_ok(&a, T0);
    ck_assert_uint_eq(pid, 1);
    ck_assert_int_eq(ballot_vote(pid, P), GOV_VOTE_YES);
    vote_ok(&bob, pid, K1, GOV_VOTE_YES, T0 + 10);
    ck_assert_int_eq(ballot_vote(pid, F1), GOV_VOTE_UNSPECIFIED);
    /* F4 follows K2 on Governance explicitly: it votes, and F5 (catch-all on F4) does not */
    gov_vote_outcome_t o = vote_ok(&bob, pid, K2, GOV_VOTE_NO, T0 + 20);
    ck_assert_int_eq(ballot_vote(pid, F4), GOV_VOTE_NO);
    ck_assert_int_eq(ballot_vote(pid, F5), GOV_VOTE_UNSPECIFIED);
    ck_assert_uint_eq(o.ballots_changed, 2);

    /* an ExecuteNnsFunction on SubnetManagement (topic 7): the catch-all applies */
    gov_submit_args_t b = motion(P, &alice);
    memset(&b.action.u, 0, sizeof b.action.u);
    b.action.kind = GOV_ACTION_EXECUTE_NNS_FUNCTION;
    b.action.u.nns.nns_function = 7;
    uint8_t payload[3] = {1, 2, 3};
    b.action.u.nns.payload = payload;
    b.action.u.nns.payload_len = 3;
    uint64_t pid2 = submit_ok(&b, T0 + 30);
    ck_assert_int_eq(prop(pid2).topic, GOV_TOPIC_SUBNET_MANAGEMENT);
    o = vote_ok(&bob, pid2, K1, GOV_VOTE_YES, T0 + 40);
    ck_assert_int_eq(ballot_vote(pid2, F1), GOV_VOTE_YES);
    ck_assert_int_eq(ballot_vote(pid2, F2), GOV_VOTE_YES);
    ck_assert_int_eq(ballot_vote(pid2, F3), GOV_VOTE_YES);
    ck_assert_int_eq(ballot_vote(pid2, F4), GOV_VOTE_UNSPECIFIED);
    ck_assert_uint_eq(o.ballots_changed, 4);
    /* the cycle: F5 votes yes, F4 follows it (catch-all), F5 is never overwritten */
    o = vote_ok(&carol, pid2, F5, GOV_VOTE_NO, T0 + 50);
    ck_assert_int_eq(ballot_vote(pid2, F4), GOV_VOTE_NO);
    ck_assert_int_eq(ballot_vote(pid2, F5), GOV_VOTE_NO);
    ck_assert_uint_eq(o.ballots_changed, 2);
    /* already voted */
    nns_error_t err;
    ck_assert(!vote(&carol, pid2, F4, GOV_VOTE_YES, T0 + 60, &o, &err));
    ck_assert_str_eq(err.code, "NeuronAlreadyVoted");
    ck_assert_int_eq(err.status, 409);
}
END_TEST

START_TEST(test_cascade_majority_and_sns_topic)
{
    world();
    uint64_t three[3] = {K1, K2, K3}, two[2] = {K1, K2};
    gov_neuron_full_t f1 = mk(F1, &carol, 5 * ICP, BIG_DELAY);
    follow(&f1, 0, three, 3);
    follow(&f1, GOV_TOPIC_SNS_AND_COMMUNITY_FUND, three, 3);
    gov_neuron_full_t f2 = mk(F2, &carol, 5 * ICP, BIG_DELAY);
    follow(&f2, 0, two, 2);
    gov_neuron_full_t f3 = mk(F3, &carol, 5 * ICP, BIG_DELAY);
    follow(&f3, 0, two, 2); /* catch-all only: no vote on SnsAndCommunityFund */
    load(&f1);
    load(&f2);
    load(&f3);
    gov_load_done(G);
    gov_submit_args_t a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_CREATE_SERVICE_NERVOUS_SYSTEM;
    a.action.u.create_sns.name = "sns";
    uint64_t pid = submit_ok(&a, T0);
    ck_assert_int_eq(prop(pid).topic, GOV_TOPIC_SNS_AND_COMMUNITY_FUND);
    vote_ok(&bob, pid, K1, GOV_VOTE_YES, T0 + 1);
    ck_assert_int_eq(ballot_vote(pid, F1), GOV_VOTE_UNSPECIFIED); /* 1 of 3: no majority */
    vote_ok(&bob, pid, K2, GOV_VOTE_YES, T0 + 2);
    ck_assert_int_eq(ballot_vote(pid, F1), GOV_VOTE_YES); /* 2 of 3 */
    ck_assert_int_eq(ballot_vote(pid, F2), GOV_VOTE_UNSPECIFIED);
    ck_assert_int_eq(ballot_vote(pid, F3), GOV_VOTE_UNSPECIFIED);

    /* no on a two-neuron list: half is enough (2 * no >= |L|), yes needs more than half */
    gov_submit_args_t b = motion(P, &alice);
    memset(&b.action.u, 0, sizeof b.action.u);
    b.action.kind = GOV_ACTION_MANAGE_NETWORK_ECONOMICS;
    b.action.u.economics.mask = GOV_ECO_REJECT_COST;
    b.action.u.economics.values.reject_cost_e8s = 2 * ICP;
    uint64_t pid2 = submit_ok(&b, T0 + 10);
    vote_ok(&bob, pid2, K1, GOV_VOTE_YES, T0 + 11);
    ck_assert_int_eq(ballot_vote(pid2, F2), GOV_VOTE_UNSPECIFIED);
    vote_ok(&bob, pid2, K2, GOV_VOTE_NO, T0 + 12);
    ck_assert_int_eq(ballot_vote(pid2, F2), GOV_VOTE_NO);
    ck_assert_int_eq(ballot_vote(pid2, F3), GOV_VOTE_NO);
    ck_assert_int_eq(ballot_vote(pid2, F1), GOV_VOTE_UNSPECIFIED); /* 1 yes, 1 no of 3 */
}
END_TEST

START_TEST(test_following_changes_in_rounds)
{
    world();
    gov_load_done(G);
    /* a follower created by a follow command in a committed round is in the index */
    gov_neuron_full_t f1 = mk(F1, &carol, 5 * ICP, BIG_DELAY);
    gov_round_t *r = gov_round_begin(G);
    nns_error_t err;
    ck_assert(rput(r, &f1, true, &err));
    gov_round_commit(G, &r);
    gov_command_t c;
    memset(&c, 0, sizeof c);
    c.kind = GOV_CMD_FOLLOW;
    c.caller = carol;
    c.neuron_id = F1;
    c.u.follow.topic = 0;
    c.u.follow.n = 1;
    c.u.follow.ids[0] = K1;
    r = gov_round_begin(G);
    gov_outcome_t out;
    ck_assert_msg(gov_apply_command(G, r, &c, T0, &out, &err), "%s", err.detail);
    gov_round_commit(G, &r);
    uint64_t ids[4];
    ck_assert_uint_eq(gov_followers(G, K1, 0, ids, 4), 1);
    gov_submit_args_t b = motion(P, &alice);
    memset(&b.action.u, 0, sizeof b.action.u);
    b.action.kind = GOV_ACTION_EXECUTE_NNS_FUNCTION;
    b.action.u.nns.nns_function = 7;
    uint64_t pid = submit_ok(&b, T0 + 1);
    vote_ok(&bob, pid, K1, GOV_VOTE_YES, T0 + 2);
    ck_assert_int_eq(ballot_vote(pid, F1), GOV_VOTE_YES);
    /* a follow changed inside the voting round itself counts (the round's followees) */
    c.u.follow.ids[0] = K2;
    uint64_t pid2 = submit_ok(&b, T0 + 3);
    r = gov_round_begin(G);
    ck_assert(gov_apply_command(G, r, &c, T0 + 4, &out, &err));
    gov_vote_args_t va = {.caller = bob, .proposal_id = pid2, .neuron_id = K1, .vote = 1};
    gov_vote_outcome_t vo;
    ck_assert(gov_apply_vote(G, r, &va, T0 + 4, &vo, &err));
    va.neuron_id = K2;
    va.vote = GOV_VOTE_NO;
    ck_assert(gov_apply_vote(G, r, &va, T0 + 4, &vo, &err));
    gov_round_commit(G, &r);
    ck_assert_int_eq(ballot_vote(pid2, F1), GOV_VOTE_NO);
    ck_assert_uint_eq(gov_followers(G, K1, 0, ids, 4), 0);
    ck_assert_uint_eq(gov_followers(G, K2, 0, ids, 4), 1);
    /* merge refused while involved in an open proposal (spec 2.8) */
    c.kind = GOV_CMD_MERGE;
    c.caller = alice;
    c.neuron_id = P;
    gov_neuron_full_t p2 = mk(11, &alice, 5 * ICP, BIG_DELAY);
    r = gov_round_begin(G);
    ck_assert(rput(r, &p2, true, &err));
    gov_round_commit(G, &r);
    c.u.merge.source_neuron_id = 11;
    r = gov_round_begin(G);
    ck_assert(!gov_apply_command(G, r, &c, T0 + 5, &out, &err));
    gov_round_discard(G, &r);
    ck_assert_str_eq(err.code, "PreconditionFailed");
}
END_TEST

START_TEST(test_manage_neuron_proposal)
{
    world();
    /* F1 (carol) has K1 and P as NeuronManagement followees */
    uint64_t nm[2] = {K1, P}, l1[1] = {K1};
    gov_neuron_full_t f1 = mk(F1, &carol, 5 * ICP, 30 * DAY);
    follow(&f1, GOV_TOPIC_NEURON_MANAGEMENT, nm, 2);
    gov_neuron_full_t f2 = mk(F2, &carol, 5 * ICP, BIG_DELAY);
    follow(&f2, GOV_TOPIC_NEURON_MANAGEMENT, l1, 1); /* no cascade on NeuronManagement */
    load(&f1);
    load(&f2);
    gov_load_done(G);
    gov_submit_args_t a;
    memset(&a, 0, sizeof a);
    a.caller = bob;
    a.neuron_id = K2; /* not a NeuronManagement followee of F1 */
    a.summary = "";
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_MANAGE_NEURON;
    a.action.u.manage_neuron.command.kind = GOV_CMD_INCREASE_DISSOLVE_DELAY;
    a.action.u.manage_neuron.command.neuron_id = F1;
    a.action.u.manage_neuron.command.u.increase_dissolve_delay.additional_dissolve_delay_seconds =
        1000;
    a.action_json = "{}";
    ck_assert_str_eq(submit_err(&a, T0), "PreconditionFailed");
    a.neuron_id = K1;
    uint64_t fees = neuron(K1).n.neuron_fees_e8s;
    uint64_t pid = submit_ok(&a, T0);
    gov_proposal_t p = prop(pid);
    ck_assert_int_eq(p.topic, GOV_TOPIC_NEURON_MANAGEMENT);
    ck_assert(!p.has_wait_for_quiet);
    ck_assert_uint_eq(p.ballots_count, 2);
    ck_assert_uint_eq(p.total_potential_voting_power, 2);
    ck_assert_uint_eq(p.reject_cost_e8s, 0);
    ck_assert_uint_eq(gov_proposal_deadline(&p), T0 + 48 * 3600);
    ck_assert_uint_eq(neuron(K1).n.neuron_fees_e8s, fees + 1000000); /* the management fee */
    ck_assert_int_eq(ballot_vote(pid, F2), -1);
    /* 1 of 2: no strict majority; P's yes adopts and executes with carol as caller */
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_OPEN);
    vote_ok(&alice, pid, P, GOV_VOTE_YES, T0 + 10);
    p = prop(pid);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_EXECUTED);
    ck_assert_uint_eq(neuron(F1).n.dissolve.dissolve_delay_seconds, 30 * DAY + 1000);
    ck_assert_uint_eq(neuron(K1).n.neuron_fees_e8s, fees + 1000000); /* never refunded */
    /* a command that fails is recorded Failed with its reason */
    a.action.u.manage_neuron.command.kind = GOV_CMD_DISBURSE; /* not dissolved */
    pid = submit_ok(&a, T0 + 20);
    vote_ok(&alice, pid, P, GOV_VOTE_YES, T0 + 21);
    p = prop(pid);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_FAILED);
    ck_assert_ptr_nonnull(strstr(p.failure_reason, "PreconditionFailed"));
    /* the ballots are released after the 48 hours */
    tick(T0 + 20 + 48 * 3600);
    p = prop(pid);
    ck_assert(!p.ballots_held);
}
END_TEST

START_TEST(test_submission_errors)
{
    world();
    gov_neuron_full_t young = mk(F1, &carol, 5 * ICP, 30 * DAY); /* below 6 months */
    gov_neuron_full_t poor = mk(F2, &carol, ICP / 2, BIG_DELAY);
    load(&young);
    load(&poor);
    gov_load_done(G);
    gov_submit_args_t a = motion(F1, &carol);
    ck_assert_str_eq(submit_err(&a, T0), "PreconditionFailed");
    a = motion(F2, &carol);
    ck_assert_str_eq(submit_err(&a, T0), "InsufficientFunds");
    a = motion(P, &carol);
    ck_assert_str_eq(submit_err(&a, T0), "NotAuthorized");
    a = motion(999, &alice);
    ck_assert_str_eq(submit_err(&a, T0), "NotFound");
    /* texts */
    a = motion(P, &alice);
    a.title = "abc";
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    a.title = NULL;
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    a = motion(P, &alice);
    char *big = malloc(GOV_SUMMARY_MAX + 2);
    memset(big, 'x', GOV_SUMMARY_MAX + 1);
    big[GOV_SUMMARY_MAX + 1] = '\0';
    a.summary = big;
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    a.summary = "s";
    big[GOV_MOTION_TEXT_MAX + 1] = '\0';
    a.action.u.motion.motion_text = big;
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    big[GOV_URL_MAX + 1] = '\0';
    a = motion(P, &alice);
    a.url = big;
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    /* actions */
    a = motion(P, &alice);
    a.action.kind = 0;
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_EXECUTE_NNS_FUNCTION;
    a.action.u.nns.nns_function = 4; /* obsolete */
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    a.action.u.nns.nns_function = 99;
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    a.action.u.nns.nns_function = 7;
    a.action.u.nns.payload = (const uint8_t *)big;
    a.action.u.nns.payload_len = GOV_NNS_PAYLOAD_MAX + 1;
    big[GOV_URL_MAX + 1] = 'x';
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    memset(&a.action.u.nns, 0, sizeof a.action.u.nns);
    a.action.u.nns.nns_function = GOV_NNS_ICP_XDR_CONVERSION_RATE;
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal"); /* rate 0 */
    a.action.u.nns.nns_function = GOV_NNS_UPDATE_SUBNET_TYPE;
    a.action.u.nns.subnet_type = "bad\"type";
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    a.action.u.nns.nns_function = GOV_NNS_CHANGE_SUBNET_TYPE_ASSIGNMENT;
    a.action.u.nns.subnet_type = "fiduciary";
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal"); /* no subnets */
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_MANAGE_NETWORK_ECONOMICS;
    a.action.u.economics.mask = GOV_ECO_MIN_DISSOLVE_DELAY_TO_VOTE;
    a.action.u.economics.values.neuron_minimum_dissolve_delay_to_vote_seconds = DAY;
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    a.action.u.economics.mask = 0;
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_REGISTER_KNOWN_NEURON;
    a.action.u.register_known_neuron.neuron_id = K1;
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal"); /* no name */
    a.action.u.register_known_neuron.name = "k";
    int32_t topics[2] = {4, 4};
    a.action.u.register_known_neuron.committed_topics = topics;
    a.action.u.register_known_neuron.ntopics = 2;
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    a.action.u.register_known_neuron.ntopics = 0;
    a.action.u.register_known_neuron.neuron_id = 999;
    ck_assert_str_eq(submit_err(&a, T0), "NotFound");
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_DEREGISTER_KNOWN_NEURON;
    a.action.u.deregister_known_neuron.neuron_id = K1; /* not known */
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_APPROVE_GENESIS_KYC;
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_ADD_OR_REMOVE_NODE_PROVIDER;
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_REWARD_NODE_PROVIDERS;
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal"); /* nothing */
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_INSTALL_CODE;
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_STOP_OR_START_CANISTER;
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_CREATE_SERVICE_NERVOUS_SYSTEM;
    a.action.u.create_sns.name = "x";
    a.action.u.create_sns.neurons_fund_participation = true;
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_FULFILL_SUBNET_RENTAL_REQUEST;
    ck_assert_str_eq(submit_err(&a, T0), "InvalidProposal");
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_MANAGE_NEURON;
    a.action.u.manage_neuron.command.kind = GOV_CMD_START_DISSOLVING;
    a.action.u.manage_neuron.command.neuron_id = 999;
    ck_assert_str_eq(submit_err(&a, T0), "NotFound");
    free(big);
    /* nothing changed by the refusals */
    gov_proposal_info_t info;
    gov_proposal_info(G, &info);
    ck_assert_uint_eq(info.proposals, 0);
    ck_assert_uint_eq(info.next_proposal_id, 1);
    ck_assert_uint_eq(neuron(P).n.neuron_fees_e8s, 0);
    /* canister topics by target */
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_STOP_OR_START_CANISTER;
    principal_canister(CANISTER_LEDGER, &a.action.u.stop_or_start.canister_id);
    ck_assert_int_eq(gov_action_topic(&a.action), GOV_TOPIC_PROTOCOL_CANISTER_MANAGEMENT);
    principal_canister(10, &a.action.u.stop_or_start.canister_id);
    ck_assert_int_eq(gov_action_topic(&a.action), GOV_TOPIC_SERVICE_NERVOUS_SYSTEM_MANAGEMENT);
    principal_canister(77, &a.action.u.stop_or_start.canister_id);
    ck_assert_int_eq(gov_action_topic(&a.action), GOV_TOPIC_APPLICATION_CANISTER_MANAGEMENT);
    /* no eligible voters: every neuron below the minimum to vote */
    teardown();
    new_gov();
    gov_neuron_full_t only = mk(P, &alice, 10 * ICP, BIG_DELAY);
    load(&only);
    gov_load_done(G);
    gov_round_t *r = gov_round_begin(G);
    rcore(r)->eco.neuron_minimum_dissolve_delay_to_vote_seconds = 2 * BIG_DELAY;
    gov_round_commit(G, &r);
    a = motion(P, &alice);
    ck_assert_str_eq(submit_err(&a, T0), "PreconditionFailed");
}
END_TEST

START_TEST(test_votes_errors_and_deadline)
{
    world();
    gov_load_done(G);
    gov_submit_args_t a = motion(P, &alice);
    uint64_t pid = submit_ok(&a, T0);
    gov_vote_outcome_t o;
    nns_error_t err;
    ck_assert(!vote(&bob, 99, K1, GOV_VOTE_YES, T0 + 1, &o, &err));
    ck_assert_int_eq(err.status, 404);
    ck_assert(!vote(&bob, pid, 999, GOV_VOTE_YES, T0 + 1, &o, &err));
    ck_assert_int_eq(err.status, 404);
    ck_assert(!vote(&alice, pid, K1, GOV_VOTE_YES, T0 + 1, &o, &err));
    ck_assert_str_eq(err.code, "NotAuthorized");
    ck_assert(!vote(&bob, pid, K1, 0, T0 + 1, &o, &err));
    ck_assert_str_eq(err.code, "PreconditionFailed");
    ck_assert(!vote(&alice, pid, P, GOV_VOTE_NO, T0 + 1, &o, &err));
    ck_assert_str_eq(err.code, "NeuronAlreadyVoted");
    /* a neuron created after the snapshot has no ballot */
    gov_neuron_full_t late = mk(F1, &carol, 5 * ICP, BIG_DELAY);
    gov_round_t *r = gov_round_begin(G);
    ck_assert(rput(r, &late, true, &err));
    gov_round_commit(G, &r);
    ck_assert(!vote(&carol, pid, F1, GOV_VOTE_YES, T0 + 1, &o, &err));
    ck_assert_str_eq(err.code, "NotAuthorized");
    ck_assert(!vote(&bob, pid, K1, GOV_VOTE_YES, T0 + 4 * DAY, &o, &err));
    ck_assert_str_eq(err.code, "PreconditionFailed");
    tick(T0 + 50); /* the first daily snapshot */
    ck_assert(!gov_tick_due(G, T0 + 100));
    /* the tally and the voter's refresh */
    o = vote_ok(&bob, pid, K1, GOV_VOTE_NO, T0 + 100);
    ck_assert_uint_eq(o.latest_tally.timestamp_seconds, T0 + 100);
    ck_assert_uint_gt(o.latest_tally.no, 0);
    ck_assert_uint_eq(neuron(K1).n.voting_power_refreshed_timestamp_seconds, T0 + 100);
    /* recent ballots */
    gov_recent_ballot_t rb[4];
    ck_assert_uint_eq(gov_neuron_recent_ballots(G, K1, rb, 4), 1);
    ck_assert_uint_eq(rb[0].proposal_id, pid);
    ck_assert_int_eq(rb[0].vote, GOV_VOTE_NO);
    /* the ballots page */
    gov_ballot_t page[8];
    bool more, held;
    size_t n = gov_proposal_ballots(G, pid, 0, -1, page, 2, &more, &held);
    ck_assert(held);
    ck_assert(more);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(page[0].neuron_id, P);
    ck_assert_uint_eq(page[1].neuron_id, K1);
    n = gov_proposal_ballots(G, pid, K1, -1, page, 8, &more, &held);
    ck_assert_uint_eq(n, 2);
    ck_assert(!more);
    n = gov_proposal_ballots(G, pid, 0, GOV_VOTE_NO, page, 8, &more, &held);
    ck_assert_uint_eq(n, 1);
    /* decided at the deadline by the tick: K1's no (100 ICP) beats P's yes */
    gov_proposal_t p = prop(pid);
    ck_assert_uint_eq(gov_proposal_deadline(&p), T0 + 4 * DAY + 50); /* the no turned it */
    tick(T0 + 4 * DAY + 49);
    p = prop(pid);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_OPEN);
    ck_assert(gov_tick_due(G, T0 + 4 * DAY + 50));
    tick(T0 + 4 * DAY + 50);
    p = prop(pid);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_REJECTED);
    ck_assert_uint_eq(p.decided_timestamp_seconds, T0 + 4 * DAY + 50);
    /* the proposal list with filters */
    gov_proposal_filter_t f;
    memset(&f, 0, sizeof f);
    f.nstatus = 1;
    f.status[0] = GOV_PROPOSAL_REJECTED;
    gov_proposal_full_t **list;
    ck_assert(gov_proposals_list(G, &f, T0 + 4 * DAY, &list, &n, &more));
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0]->title, "A motion");
    ck_assert_str_eq(list[0]->action->u.motion.motion_text, "do it");
    free(list[0]);
    free(list);
    f.status[0] = GOV_PROPOSAL_OPEN;
    ck_assert(gov_proposals_list(G, &f, T0 + 4 * DAY, &list, &n, &more));
    ck_assert_uint_eq(n, 0);
    free(list);
}
END_TEST

START_TEST(test_reject_cost_and_economics)
{
    world();
    gov_load_done(G);
    /* rejected: the reject cost stays as fees */
    gov_submit_args_t a = motion(P, &alice);
    uint64_t pid = submit_ok(&a, T0);
    ck_assert_uint_eq(neuron(P).n.neuron_fees_e8s, ICP);
    vote_ok(&bob, pid, K1, GOV_VOTE_NO, T0 + 1);
    vote_ok(&bob, pid, K2, GOV_VOTE_NO, T0 + 1);
    gov_proposal_t p = prop(pid);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_REJECTED);
    ck_assert_uint_eq(neuron(P).n.neuron_fees_e8s, ICP);
    /* adopted ManageNetworkEconomics: refund, and the new reject cost takes effect */
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_MANAGE_NETWORK_ECONOMICS;
    a.action.u.economics.mask = GOV_ECO_REJECT_COST | GOV_ECO_TRANSACTION_FEE;
    a.action.u.economics.values.reject_cost_e8s = 3 * ICP;
    a.action.u.economics.values.transaction_fee_e8s = 0; /* zero keeps the old value */
    pid = submit_ok(&a, T0 + 10);
    ck_assert_uint_eq(neuron(P).n.neuron_fees_e8s, 2 * ICP);
    vote_ok(&bob, pid, K1, GOV_VOTE_YES, T0 + 11);
    vote_ok(&bob, pid, K2, GOV_VOTE_YES, T0 + 11);
    p = prop(pid);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_EXECUTED);
    ck_assert_uint_eq(neuron(P).n.neuron_fees_e8s, ICP);
    gov_economics_t e;
    gov_economics(G, &e);
    ck_assert_uint_eq(e.reject_cost_e8s, 3 * ICP);
    ck_assert_uint_eq(e.transaction_fee_e8s, 10000);
    a = motion(P, &alice);
    pid = submit_ok(&a, T0 + 20);
    ck_assert_uint_eq(prop(pid).reject_cost_e8s, 3 * ICP);
    ck_assert_uint_eq(neuron(P).n.neuron_fees_e8s, 4 * ICP);
}
END_TEST

/* adopts a proposal by the three known neurons' yes */
static gov_proposal_t adopt(const gov_submit_args_t *a, uint64_t now)
{
    uint64_t pid = submit_ok(a, now);
    vote_ok(&bob, pid, K1, GOV_VOTE_YES, now);
    vote_ok(&bob, pid, K2, GOV_VOTE_YES, now);
    return prop(pid);
}

START_TEST(test_execution_own_state)
{
    world();
    gov_neuron_full_t f1 = mk(F1, &carol, 5 * ICP, BIG_DELAY);
    f1.n.visibility = GOV_VISIBILITY_PRIVATE;
    load(&f1);
    gov_load_done(G);
    /* RegisterKnownNeuron: public, names unique */
    gov_submit_args_t a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_REGISTER_KNOWN_NEURON;
    a.action.u.register_known_neuron.neuron_id = F1;
    a.action.u.register_known_neuron.name = "Carol";
    const char *links[1] = {"https://example.org"};
    a.action.u.register_known_neuron.links = links;
    a.action.u.register_known_neuron.nlinks = 1;
    int32_t topics[1] = {4};
    a.action.u.register_known_neuron.committed_topics = topics;
    a.action.u.register_known_neuron.ntopics = 1;
    gov_proposal_t p = adopt(&a, T0);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_EXECUTED);
    ck_assert_int_eq(neuron(F1).n.visibility, GOV_VISIBILITY_PUBLIC);
    gov_known_neuron_t *k = gov_known_neuron(G, F1, NULL);
    ck_assert_ptr_nonnull(k);
    ck_assert_str_eq(k->name, "Carol");
    ck_assert_str_eq(k->links[0], "https://example.org");
    ck_assert_int_eq(k->committed_topics[0], 4);
    free(k);
    gov_command_t c;
    memset(&c, 0, sizeof c);
    c.kind = GOV_CMD_SET_VISIBILITY;
    c.caller = carol;
    c.neuron_id = F1;
    c.u.set_visibility.visibility = GOV_VISIBILITY_PRIVATE;
    gov_round_t *r = gov_round_begin(G);
    gov_outcome_t out;
    nns_error_t err;
    ck_assert(!gov_apply_command(G, r, &c, T0, &out, &err));
    gov_round_discard(G, &r);
    ck_assert_str_eq(err.code, "PreconditionFailed");
    a.action.u.register_known_neuron.neuron_id = F2 + 100; /* unknown */
    ck_assert_str_eq(submit_err(&a, T0), "NotFound");
    a.action.u.register_known_neuron.neuron_id = K3; /* the same name: refused at execution */
    p = adopt(&a, T0 + 1);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_FAILED);
    /* DeregisterKnownNeuron */
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_DEREGISTER_KNOWN_NEURON;
    a.action.u.deregister_known_neuron.neuron_id = F1;
    p = adopt(&a, T0 + 2);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_EXECUTED);
    ck_assert_ptr_null(gov_known_neuron(G, F1, NULL));
    /* ApproveGenesisKyc */
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_APPROVE_GENESIS_KYC;
    a.action.u.approve_genesis_kyc.principals = &carol;
    a.action.u.approve_genesis_kyc.n = 1;
    ck_assert(!neuron(F1).n.kyc_verified);
    p = adopt(&a, T0 + 3);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_EXECUTED);
    ck_assert(neuron(F1).n.kyc_verified);
    ck_assert(!neuron(K1).n.kyc_verified);
    /* AddOrRemoveNodeProvider, UpdateNodeRewardsTable */
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_ADD_OR_REMOVE_NODE_PROVIDER;
    a.action.u.node_provider.add = true;
    a.action.u.node_provider.id = carol;
    p = adopt(&a, T0 + 4);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_EXECUTED);
    p = adopt(&a, T0 + 5); /* already there */
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_FAILED);
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_EXECUTE_NNS_FUNCTION;
    a.action.u.nns.nns_function = GOV_NNS_UPDATE_NODE_REWARDS_TABLE;
    gov_rewards_table_entry_t t = {.node_provider = carol, .xdr_permyriad_per_month = 1000000};
    a.action.u.nns.rewards = &t;
    a.action.u.nns.nrewards = 1;
    p = adopt(&a, T0 + 6);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_EXECUTED);
    gov_node_provider_t *nps;
    size_t n;
    ck_assert(gov_node_providers(G, &nps, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert(nps[0].has_xdr_permyriad_per_month);
    ck_assert_uint_eq(nps[0].xdr_permyriad_per_month, 1000000);
    free(nps);
    /* RewardNodeProvider: a mint intent; the proposal executes when the ledger answers */
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_REWARD_NODE_PROVIDER;
    a.action.u.reward_node_provider.reward.node_provider = carol;
    a.action.u.reward_node_provider.reward.amount_e8s = 20 * ICP;
    account_id_of(&carol, NULL, &a.action.u.reward_node_provider.reward.to_account);
    uint64_t pid = submit_ok(&a, T0 + 7);
    vote_ok(&bob, pid, K1, GOV_VOTE_YES, T0 + 7);
    vote_ok(&bob, pid, K2, GOV_VOTE_YES, T0 + 7);
    p = prop(pid);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_ADOPTED);
    ck_assert_uint_eq(nlast, 1);
    ck_assert_int_eq(last_intents[0].kind, GOV_INTENT_TRANSFER);
    ck_assert_uint_eq(last_intents[0].amount, 20 * ICP);
    ck_assert_uint_eq(last_intents[0].fee, 0);
    gov_transfer_result_t tr = {.ok = true, .block_index = 77};
    r = gov_round_begin(G);
    ck_assert(gov_apply_transfer_done(G, r, last_intents[0].id, &tr, T0 + 8, &out, &err));
    gov_round_commit(G, &r);
    ck_assert(out.finished);
    p = prop(pid);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_EXECUTED);
    ck_assert(gov_node_providers(G, &nps, &n));
    ck_assert(nps[0].has_last_reward);
    ck_assert_uint_eq(nps[0].last_reward_block_index, 77);
    free(nps);
    /* above the maximum: Failed */
    a.action.u.reward_node_provider.reward.amount_e8s = 100000000000001ULL;
    p = adopt(&a, T0 + 9);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_FAILED);
    ck_assert_ptr_nonnull(strstr(p.failure_reason, "PreconditionFailed"));
    /* remove the node provider */
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_ADD_OR_REMOVE_NODE_PROVIDER;
    a.action.u.node_provider.id = carol;
    p = adopt(&a, T0 + 10);
    ck_assert_msg(gov_proposal_status(&p) == GOV_PROPOSAL_EXECUTED, "%s", p.failure_reason);
    ck_assert(gov_node_providers(G, &nps, &n));
    ck_assert_uint_eq(n, 0);
    free(nps);
    /* an infrastructure action: recorded Executed */
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_INSTALL_CODE;
    principal_canister(77, &a.action.u.install_code.canister_id);
    a.action.u.install_code.install_mode = 3;
    p = adopt(&a, T0 + 11);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_EXECUTED);
}
END_TEST

START_TEST(test_execution_cmc_post)
{
    world();
    gov_load_done(G);
    gov_submit_args_t a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_EXECUTE_NNS_FUNCTION;
    a.action.u.nns.nns_function = GOV_NNS_ICP_XDR_CONVERSION_RATE;
    a.action.u.nns.xdr_permyriad_per_icp = 50000;
    a.action.u.nns.timestamp_seconds = T0;
    uint64_t pid = submit_ok(&a, T0);
    gov_proposal_t p = prop(pid);
    ck_assert_int_eq(p.topic, GOV_TOPIC_EXCHANGE_RATE);
    ck_assert_uint_eq(gov_proposal_deadline(&p), T0 + 12 * 3600);
    vote_ok(&bob, pid, K1, GOV_VOTE_YES, T0 + 1);
    vote_ok(&bob, pid, K2, GOV_VOTE_YES, T0 + 1);
    ck_assert_uint_eq(nlast, 1);
    ck_assert_int_eq(last_intents[0].kind, GOV_INTENT_POST);
    ck_assert_int_eq(last_intents[0].target, GOV_TARGET_CMC);
    ck_assert_str_eq(last_intents[0].path, "/v1/cycles/conversion-rate");
    char want[128];
    snprintf(want, sizeof want,
             "{\"timestamp_seconds\":\"%llu\",\"xdr_permyriad_per_icp\":\"50000\"}",
             (unsigned long long)T0);
    ck_assert_str_eq(last_intents[0].body, want);
    /* ExchangeRate votes are not in recent ballots */
    gov_recent_ballot_t rb[4];
    ck_assert_uint_eq(gov_neuron_recent_ballots(G, K1, rb, 4), 0);
    gov_call_result_t res = {.ok = true, .status = 200};
    gov_round_t *r = gov_round_begin(G);
    gov_outcome_t out;
    nns_error_t err;
    ck_assert(gov_apply_call_done(G, r, last_intents[0].id, &res, T0 + 2, &out, &err));
    gov_round_commit(G, &r);
    p = prop(pid);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_EXECUTED);
    /* a refusal fails the proposal with its reason; a second answer is refused */
    a.action.u.nns.nns_function = GOV_NNS_UPDATE_SUBNET_TYPE;
    a.action.u.nns.add = true;
    a.action.u.nns.subnet_type = "fiduciary";
    pid = submit_ok(&a, T0 + 3);
    vote_ok(&bob, pid, K1, GOV_VOTE_YES, T0 + 3);
    vote_ok(&bob, pid, K2, GOV_VOTE_YES, T0 + 3);
    ck_assert_str_eq(last_intents[0].path, "/v1/subnets/types");
    ck_assert_str_eq(last_intents[0].body, "{\"add\":\"fiduciary\"}");
    res = (gov_call_result_t){.ok = false, .status = 409, .error = "already exists"};
    r = gov_round_begin(G);
    ck_assert(gov_apply_call_done(G, r, last_intents[0].id, &res, T0 + 4, &out, &err));
    gov_round_commit(G, &r);
    p = prop(pid);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_FAILED);
    ck_assert_ptr_nonnull(strstr(p.failure_reason, "already exists"));
    r = gov_round_begin(G);
    ck_assert(!gov_apply_call_done(G, r, last_intents[0].id, &res, T0 + 4, &out, &err));
    gov_round_discard(G, &r);
    /* 14 and 33 bodies */
    principal_t subnet;
    principal_canister(5000, &subnet);
    a.action.u.nns.nns_function = GOV_NNS_CHANGE_SUBNET_TYPE_ASSIGNMENT;
    a.action.u.nns.subnets = &subnet;
    a.action.u.nns.nsubnets = 1;
    a.action.u.nns.add = false;
    pid = submit_ok(&a, T0 + 5);
    vote_ok(&bob, pid, K1, GOV_VOTE_YES, T0 + 5);
    vote_ok(&bob, pid, K2, GOV_VOTE_YES, T0 + 5);
    char st[PRINCIPAL_TEXT_MAX];
    principal_to_text(&subnet, st);
    snprintf(want, sizeof want, "{\"remove\":{\"subnets\":[\"%s\"],\"subnet_type\":\"fiduciary\"}}",
             st);
    ck_assert_str_eq(last_intents[0].body, want);
}
END_TEST

START_TEST(test_rounds_discard_and_spike_protection)
{
    world();
    gov_load_done(G);
    gov_submit_args_t a = motion(P, &alice);
    uint64_t pid = submit_ok(&a, T0);
    /* a vote in a discarded round changes nothing */
    gov_round_t *r = gov_round_begin(G);
    gov_vote_args_t va = {.caller = bob, .proposal_id = pid, .neuron_id = K1, .vote = 1};
    gov_vote_outcome_t o;
    nns_error_t err;
    ck_assert(gov_apply_vote(G, r, &va, T0 + 1, &o, &err));
    /* the round sees its own vote */
    ck_assert(!gov_apply_vote(G, r, &va, T0 + 1, &o, &err));
    ck_assert_str_eq(err.code, "NeuronAlreadyVoted");
    gov_round_discard(G, &r);
    ck_assert_int_eq(ballot_vote(pid, K1), GOV_VOTE_UNSPECIFIED);
    /* a submission in a discarded round: nothing, and the id is reused */
    r = gov_round_begin(G);
    uint64_t id2;
    ck_assert(gov_apply_submit(G, r, &a, T0 + 2, &id2, &err));
    ck_assert_uint_eq(id2, pid + 1);
    gov_round_discard(G, &r);
    ck_assert_ptr_null(gov_proposal_get(G, id2, NULL));
    ck_assert_uint_eq(submit_ok(&a, T0 + 3), pid + 1);
    /* a daily snapshot, then a spike of voting power: the snapshot's ballots are used */
    tick(T0 + DAY);
    gov_proposal_info_t info;
    gov_proposal_info(G, &info);
    ck_assert_uint_eq(info.last_snapshot_day, (T0 + DAY) / DAY);
    gov_neuron_full_t whale = mk(F5, &carol, 100000 * ICP, BIG_DELAY);
    r = gov_round_begin(G);
    ck_assert(rput(r, &whale, true, &err));
    gov_round_commit(G, &r);
    pid = submit_ok(&a, T0 + DAY + 10);
    gov_proposal_t p = prop(pid);
    ck_assert(p.has_previous_ballots_timestamp);
    ck_assert_uint_eq(p.previous_ballots_timestamp_seconds, T0 + DAY);
    ck_assert_int_eq(ballot_vote(pid, F5), -1);
    ck_assert_uint_eq(p.ballots_count, 4);
}
END_TEST

static uint64_t rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static void transfer_ok(uint64_t intent_id, uint64_t block, uint64_t now, gov_outcome_t *out)
{
    gov_transfer_result_t tr = {.ok = true, .block_index = block};
    gov_round_t *r = gov_round_begin(G);
    nns_error_t err;
    ck_assert_msg(gov_apply_transfer_done(G, r, intent_id, &tr, now, out, &err), "%s", err.detail);
    keep_round(r);
    gov_round_commit(G, &r);
}

START_TEST(test_rewards_mints_and_manage_neuron_flow)
{
    world();
    /* F1 (carol): dissolved and kyc, managed by K1 (NeuronManagement) */
    uint64_t nm[1] = {K1};
    gov_neuron_full_t f1 = mk(F1, &carol, 5 * ICP, 0);
    f1.n.dissolve.dissolving = true;
    f1.n.dissolve.dissolve_delay_seconds = 0;
    f1.n.dissolve.aging_since_timestamp_seconds = 0;
    f1.n.dissolve.when_dissolved_timestamp_seconds = T0 - 1;
    f1.n.kyc_verified = true;
    follow(&f1, GOV_TOPIC_NEURON_MANAGEMENT, nm, 1);
    load(&f1);
    gov_load_done(G);
    /* a node provider */
    gov_submit_args_t a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_ADD_OR_REMOVE_NODE_PROVIDER;
    a.action.u.node_provider.add = true;
    a.action.u.node_provider.id = carol;
    gov_proposal_t p = adopt(&a, T0);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_EXECUTED);
    /* two rewards: to an account, then to a new neuron; one mint after the other */
    gov_np_reward_t w[2];
    memset(w, 0, sizeof w);
    w[0].node_provider = carol;
    w[0].amount_e8s = 3 * ICP;
    account_id_of(&carol, NULL, &w[0].to_account);
    w[1].node_provider = carol;
    w[1].amount_e8s = 4 * ICP;
    w[1].to_neuron = true;
    w[1].dissolve_delay_seconds = 100 * GOV_ONE_YEAR; /* capped at the maximum */
    w[1].candidate_id = 777;
    w[1].candidate_nonce = 5;
    a = motion(P, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_REWARD_NODE_PROVIDERS;
    a.action.u.reward_node_providers.rewards = w;
    a.action.u.reward_node_providers.n = 2;
    p = adopt(&a, T0 + 1);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_ADOPTED);
    ck_assert_uint_eq(nlast, 1);
    ck_assert_uint_eq(last_intents[0].amount, 3 * ICP);
    gov_outcome_t out;
    transfer_ok(last_intents[0].id, 10, T0 + 2, &out);
    ck_assert(!out.finished);
    ck_assert_uint_eq(nlast, 1);
    ck_assert_uint_eq(last_intents[0].amount, 4 * ICP);
    gov_neuron_full_t n;
    ck_assert(gov_neuron(G, 777, T0 + 2, &n));
    ck_assert(n.locked);
    ck_assert_uint_eq(n.n.dissolve.dissolve_delay_seconds,
                      gov_max_dissolve_delay(GOV_RULES_CURRENT));
    ck_assert(principal_equal(&n.n.controller, &carol));
    transfer_ok(last_intents[0].id, 11, T0 + 3, &out);
    ck_assert(out.finished);
    ck_assert(gov_neuron(G, 777, T0 + 3, &n));
    ck_assert(!n.locked);
    ck_assert_uint_eq(n.n.cached_neuron_stake_e8s, 4 * ICP);
    p = prop(p.id);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_EXECUTED);
    /* a refused mint to a neuron: the neuron is removed and the proposal fails */
    w[1].candidate_id = 778;
    w[1].candidate_nonce = 6;
    a.action.u.reward_node_providers.rewards = &w[1];
    a.action.u.reward_node_providers.n = 1;
    p = adopt(&a, T0 + 4);
    gov_transfer_result_t bad = {.ok = false, .error_code = 1, .error = "BadFee"};
    gov_round_t *r = gov_round_begin(G);
    nns_error_t err;
    ck_assert(gov_apply_transfer_done(G, r, last_intents[0].id, &bad, T0 + 5, &out, &err));
    gov_round_commit(G, &r);
    ck_assert(!gov_neuron(G, 778, T0 + 5, &n));
    p = prop(p.id);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_FAILED);
    ck_assert_ptr_nonnull(strstr(p.failure_reason, "BadFee"));

    /* ManageNeuron disburse of F1 by K1's proposal: the ledger flow settles the proposal */
    memset(&a, 0, sizeof a);
    a.caller = bob;
    a.neuron_id = K1;
    a.summary = "";
    a.action.kind = GOV_ACTION_MANAGE_NEURON;
    a.action.u.manage_neuron.command.kind = GOV_CMD_DISBURSE;
    a.action.u.manage_neuron.command.neuron_id = F1;
    a.action_json = "{}";
    uint64_t pid = submit_ok(&a, T0 + 10);
    p = prop(pid);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_ADOPTED); /* 1 of 1 */
    ck_assert_uint_ge(nlast, 1);
    ck_assert_int_eq(last_intents[nlast - 1].kind, GOV_INTENT_TRANSFER);
    ck_assert(neuron(F1).locked);
    memset(&out, 0, sizeof out);
    for (int step = 0; step < 4 && !out.finished; step++) /* fees burn (if any), then transfer */
        transfer_ok(last_intents[nlast - 1].id, 20 + (uint64_t)step, T0 + 11, &out);
    ck_assert(out.finished);
    ck_assert(out.ok);
    ck_assert(!out.has_request);
    ck_assert(!neuron(F1).locked);
    p = prop(pid);
    ck_assert_int_eq(gov_proposal_status(&p), GOV_PROPOSAL_EXECUTED);
}
END_TEST

START_TEST(test_forgetting_beyond_the_maximum_per_topic)
{
    world();
    uint64_t nm[1] = {K1};
    gov_neuron_full_t f1 = mk(F1, &carol, 5 * ICP, 30 * DAY);
    follow(&f1, GOV_TOPIC_NEURON_MANAGEMENT, nm, 1);
    load(&f1);
    gov_load_done(G);
    gov_round_t *r = gov_round_begin(G);
    rcore(r)->eco.max_proposals_to_keep_per_topic = 1;
    gov_round_commit(G, &r);
    gov_submit_args_t a;
    memset(&a, 0, sizeof a);
    a.caller = bob;
    a.neuron_id = K1;
    a.action.kind = GOV_ACTION_MANAGE_NEURON;
    a.action.u.manage_neuron.command.kind = GOV_CMD_INCREASE_DISSOLVE_DELAY;
    a.action.u.manage_neuron.command.neuron_id = F1;
    a.action.u.manage_neuron.command.u.increase_dissolve_delay.additional_dissolve_delay_seconds =
        1;
    a.action_json = "{}";
    uint64_t p1 = submit_ok(&a, T0), p2 = submit_ok(&a, T0 + 1);
    gov_proposal_t q = prop(p1);
    ck_assert_int_eq(gov_proposal_status(&q), GOV_PROPOSAL_EXECUTED);
    /* executed at once, ballots still held until the 48 hours */
    tick(T0 + 2);
    gov_proposal_full_t *still = gov_proposal_get(G, p1, NULL);
    ck_assert_ptr_nonnull(still);
    free(still);
    /* after the deadline: ballots released, then the older one forgotten */
    uint64_t later = T0 + 1 + 48 * 3600;
    r = gov_round_begin(G);
    bool work;
    nns_error_t err;
    ck_assert(gov_apply_tick(G, r, later, &work, &err));
    ck_assert(work);
    bool created, forgotten, seen = false;
    for (size_t i = 0; i < gov_round_proposal_count(r); i++) {
        const gov_proposal_full_t *pf = gov_round_proposal(r, i, &created, &forgotten);
        if (pf->p.id == p1) {
            ck_assert(forgotten);
            seen = true;
        }
    }
    ck_assert(seen);
    gov_round_commit(G, &r);
    ck_assert_ptr_null(gov_proposal_get(G, p1, NULL));
    gov_proposal_full_t *kept = gov_proposal_get(G, p2, NULL);
    ck_assert_ptr_nonnull(kept);
    free(kept);
    /* a vote on a forgotten proposal: NotFound */
    gov_vote_outcome_t o;
    ck_assert(!vote(&bob, p1, K1, GOV_VOTE_YES, later, &o, &err));
    ck_assert_int_eq(err.status, 404);
}
END_TEST

/* ---- a random walk with a mirror built from the round accessors, reloaded ---- */

typedef struct {
    gov_proposal_t p;
    char *title, *summary, *url, *json;
    char *draws; /* the stored form: json and the draws (gov_action_draws_json) */
    size_t nb;
    uint64_t *ids, *vps;
    uint8_t *votes;
    bool forgotten;
} mprop_t;

typedef struct {
    gov_neuron_full_t neurons[64];
    size_t nneurons;
    mprop_t props[256];
    size_t nprops;
    gov_proposal_info_t pinfo;
    gov_info_t info;
    gov_known_neuron_t *kns[32];
    size_t nkns;
    gov_node_provider_t nps[8];
    size_t nnps;
    size_t tallies;
} pmirror_t;

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void pmirror_round(pmirror_t *m, const gov_round_t *r)
{
    for (size_t i = 0; i < gov_round_neuron_count(r); i++) {
        gov_neuron_full_t f;
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
        if (j == m->nneurons)
            m->nneurons++;
        m->neurons[j] = f;
    }
    gov_info_t info;
    if (gov_round_info(r, &info))
        m->info = info;
    bool changed;
    gov_proposal_info_t pi;
    gov_round_proposal_info(r, &pi, &changed);
    if (changed)
        m->pinfo = pi;
    size_t nt;
    gov_round_tally_changes(r, &nt);
    m->tallies += nt;
    for (size_t i = 0; i < gov_round_proposal_count(r); i++) {
        bool created, forgotten;
        const gov_proposal_full_t *pf = gov_round_proposal(r, i, &created, &forgotten);
        gov_ballot_rows_t rows;
        gov_round_ballot_changes(r, i, &rows);
        mprop_t *mp = NULL;
        for (size_t j = 0; j < m->nprops; j++)
            if (m->props[j].p.id == pf->p.id)
                mp = &m->props[j];
        if (created) {
            ck_assert_ptr_null(mp);
            mp = &m->props[m->nprops++];
            memset(mp, 0, sizeof *mp);
            mp->title = dup_or_null(pf->title);
            mp->summary = dup_or_null(pf->summary);
            mp->url = dup_or_null(pf->url);
            mp->json = dup_or_null(pf->action_json);
            mp->draws = gov_action_draws_json(pf->action);
            ck_assert_ptr_nonnull(mp->draws);
            mp->nb = rows.n;
            mp->ids = malloc((rows.n + 1) * 8);
            mp->vps = malloc((rows.n + 1) * 8);
            mp->votes = malloc(rows.n + 1);
            memcpy(mp->ids, rows.neuron_ids, rows.n * 8);
            memcpy(mp->vps, rows.voting_powers, rows.n * 8);
            memcpy(mp->votes, rows.votes, rows.n);
        } else {
            ck_assert_ptr_nonnull(mp);
            for (size_t k = 0; k < rows.n; k++) {
                size_t j = 0;
                while (j < mp->nb && mp->ids[j] != rows.neuron_ids[k])
                    j++;
                ck_assert_uint_lt(j, mp->nb);
                ck_assert_uint_eq(mp->vps[j], rows.voting_powers[k]);
                ck_assert_uint_gt(rows.cast_at_seconds[k], 0);
                mp->votes[j] = rows.votes[k];
            }
        }
        mp->p = pf->p;
        mp->forgotten = forgotten;
    }
    for (size_t i = 0; i < gov_round_known_neuron_count(r); i++) {
        bool removed;
        const gov_known_neuron_t *k = gov_round_known_neuron(r, i, &removed);
        size_t j = 0;
        while (j < m->nkns && m->kns[j]->id != k->id)
            j++;
        if (j < m->nkns) {
            free(m->kns[j]);
            m->kns[j] = m->kns[--m->nkns];
        }
        if (!removed) {
            gov_known_neuron_t **all;
            (void)all;
            /* copy through the public read path's layout: a private copy */
            gov_known_neuron_t *c = calloc(1, sizeof *c + 256);
            c->id = k->id;
            char *name = (char *)(c + 1);
            snprintf(name, 200, "%s", k->name);
            c->name = name;
            m->kns[m->nkns++] = c;
        }
    }
    for (size_t i = 0; i < gov_round_node_provider_count(r); i++) {
        bool removed;
        const gov_node_provider_t *np = gov_round_node_provider(r, i, &removed);
        size_t j = 0;
        while (j < m->nnps && !principal_equal(&m->nps[j].id, &np->id))
            j++;
        if (j < m->nnps)
            m->nps[j] = m->nps[--m->nnps];
        if (!removed)
            m->nps[m->nnps++] = *np;
    }
}

static bool mround_end(pmirror_t *m, gov_round_t **r, bool ok)
{
    if (ok) {
        pmirror_round(m, *r);
        gov_round_commit(G, r);
    } else {
        gov_round_discard(G, r);
    }
    return ok;
}

START_TEST(test_random_walk_mirror_and_reload)
{
    pmirror_t *m = calloc(1, sizeof *m);
    principal_t users[3] = {alice, bob, carol};
    /* 30 neurons, the first 4 "known" (followed by the others on random topics) */
    uint64_t seed = 12345;
    for (uint64_t i = 1; i <= 30; i++) {
        gov_neuron_full_t f =
            mk(i, &users[i % 3], (1 + rnd(&seed) % 50) * ICP, i % 5 == 0 ? 30 * DAY : BIG_DELAY);
        if (i > 4) {
            uint64_t ids[3] = {1 + rnd(&seed) % 4, 1 + rnd(&seed) % 4, 1 + rnd(&seed) % (i - 1)};
            follow(&f, 0, ids, 3);
            if (rnd(&seed) % 2) {
                uint64_t g4[2] = {1 + rnd(&seed) % 4, 1 + rnd(&seed) % 4};
                follow(&f, GOV_TOPIC_GOVERNANCE, g4, 2);
            }
        }
        load(&f);
        m->neurons[m->nneurons++] = f;
    }
    gov_load_done(G);
    gov_info(G, T0, &m->info);
    gov_proposal_info(G, &m->pinfo);
    uint64_t now = T0;
    for (int step = 0; step < 600; step++) {
        now += rnd(&seed) % 7200;
        gov_round_t *r = gov_round_begin(G);
        nns_error_t err;
        int what = (int)(rnd(&seed) % 10);
        bool ok;
        if (what < 2) {
            uint64_t n = 1 + rnd(&seed) % 30;
            gov_submit_args_t a = motion(n, &users[n % 3]);
            if (rnd(&seed) % 2) {
                memset(&a.action.u, 0, sizeof a.action.u);
                a.action.kind = GOV_ACTION_EXECUTE_NNS_FUNCTION;
                a.action.u.nns.nns_function = 7;
                a.action.u.nns.payload = (const uint8_t *)""; /* as parsed: empty, not absent */
                /* the stored form a restart parses back: the same action */
                a.action_json = "{\"type\":\"ExecuteNnsFunction\",\"nns_function\":7,"
                                "\"payload\":\"\"}";
            }
            uint64_t id;
            ok = gov_apply_submit(G, r, &a, now, &id, &err);
        } else if (what < 8) {
            uint64_t pid = m->pinfo.next_proposal_id > 1
                               ? 1 + rnd(&seed) % (m->pinfo.next_proposal_id - 1)
                               : 1;
            uint64_t n = 1 + rnd(&seed) % 30;
            gov_vote_args_t va = {.caller = users[n % 3],
                                  .proposal_id = pid,
                                  .neuron_id = n,
                                  .vote = 1 + (int)(rnd(&seed) % 2)};
            gov_vote_outcome_t o;
            ok = gov_apply_vote(G, r, &va, now, &o, &err);
        } else {
            bool work;
            ok = gov_apply_tick(G, r, now, &work, &err);
        }
        if (ok && rnd(&seed) % 8 == 0)
            ok = false; /* a discarded round */
        mround_end(m, &r, ok);
    }
    ck_assert_uint_gt(m->nprops, 10);
    ck_assert_uint_gt(m->tallies, 10);
    /* reload the mirror */
    gov_t *g1 = G;
    gov_config_t cfg;
    gov_config_default(&cfg);
    gov_t *g2 = gov_new(&cfg);
    nns_error_t err;
    gov_load_info(g2, &m->info);
    for (size_t i = 0; i < m->nneurons; i++)
        ck_assert_msg(gov_load_neuron(g2, &m->neurons[i], &err), "%s", err.detail);
    gov_load_proposal_info(g2, &m->pinfo);
    for (size_t i = 0; i < m->nprops; i++) {
        mprop_t *mp = &m->props[i];
        if (mp->forgotten)
            continue;
        /* the action parsed again from its stored form, as the store does at a restart */
        gov_action_t *act = gov_action_from_stored(mp->json, mp->draws, &err);
        ck_assert_msg(act != NULL, "%s", err.detail);
        ck_assert_msg(gov_load_proposal(g2, &mp->p, mp->title, mp->summary, mp->url, mp->json, act,
                                        mp->ids, mp->vps, mp->votes,
                                        mp->p.ballots_held ? mp->nb : 0, &err),
                      "%s", err.detail);
        free(act);
    }
    gov_load_done(g2);
    gov_proposal_info_t i1, i2;
    gov_proposal_info(g1, &i1);
    gov_proposal_info(g2, &i2);
    ck_assert_uint_eq(i1.proposals, i2.proposals);
    ck_assert_uint_eq(i1.next_proposal_id, i2.next_proposal_id);
    ck_assert_uint_eq(i1.ballots, i2.ballots);
    ck_assert_uint_eq(i1.follow_index_entries, i2.follow_index_entries);
    for (uint64_t id = 1; id < i1.next_proposal_id; id++) {
        gov_proposal_full_t *a = gov_proposal_get(g1, id, NULL),
                            *b = gov_proposal_get(g2, id, NULL);
        ck_assert((a == NULL) == (b == NULL));
        if (!a)
            continue;
        ck_assert_uint_eq(a->p.decided_timestamp_seconds, b->p.decided_timestamp_seconds);
        ck_assert_uint_eq(a->p.executed_timestamp_seconds, b->p.executed_timestamp_seconds);
        ck_assert_uint_eq(a->p.tally.yes, b->p.tally.yes);
        ck_assert_uint_eq(a->p.tally.no, b->p.tally.no);
        ck_assert_uint_eq(a->p.tally.total, b->p.tally.total);
        ck_assert_uint_eq(a->p.wait_for_quiet_deadline_seconds,
                          b->p.wait_for_quiet_deadline_seconds);
        ck_assert_str_eq(a->title, b->title);
        ck_assert_str_eq(a->action_json, b->action_json);
        /* the action parsed back from its stored form equals the one submitted */
        size_t ea = gov_action_encoded_size(a->action), eb = gov_action_encoded_size(b->action);
        uint8_t *ba = malloc(ea), *bb = malloc(eb);
        ck_assert(ba && bb && ea == eb);
        ck_assert_uint_eq(gov_action_encode(a->action, ba, ea), ea);
        ck_assert_uint_eq(gov_action_encode(b->action, bb, eb), eb);
        ck_assert(memcmp(ba, bb, ea) == 0);
        free(ba);
        free(bb);
        gov_ballot_t p1[64], p2[64];
        bool more1, more2, h1, h2;
        size_t n1 = gov_proposal_ballots(g1, id, 0, -1, p1, 64, &more1, &h1);
        size_t n2 = gov_proposal_ballots(g2, id, 0, -1, p2, 64, &more2, &h2);
        ck_assert_uint_eq(n1, n2);
        ck_assert(h1 == h2);
        for (size_t k = 0; k < n1; k++) {
            ck_assert_uint_eq(p1[k].neuron_id, p2[k].neuron_id);
            ck_assert_uint_eq(p1[k].voting_power, p2[k].voting_power);
            ck_assert_uint_eq(p1[k].vote, p2[k].vote);
        }
        free(a);
        free(b);
    }
    for (uint64_t k = 1; k <= 4; k++)
        for (int32_t t = 0; t < GOV_TOPICS; t++) {
            uint64_t f1[64], f2[64];
            size_t n1 = gov_followers(g1, k, t, f1, 64), n2 = gov_followers(g2, k, t, f2, 64);
            ck_assert_uint_eq(n1, n2);
            ck_assert_mem_eq(f1, f2, n1 * 8);
        }
    gov_destroy(&g2);
    for (size_t i = 0; i < m->nprops; i++) {
        free(m->props[i].title);
        free(m->props[i].summary);
        free(m->props[i].url);
        free(m->props[i].json);
        free(m->props[i].draws);
        free(m->props[i].ids);
        free(m->props[i].vps);
        free(m->props[i].votes);
    }
    for (size_t i = 0; i < m->nkns; i++)
        free(m->kns[i]);
    free(m);
}
END_TEST

START_TEST(test_action_encoding_round_trip)
{
    gov_action_t a;
    memset(&a, 0, sizeof a);
    a.kind = GOV_ACTION_REGISTER_KNOWN_NEURON;
    a.u.register_known_neuron.neuron_id = 5;
    a.u.register_known_neuron.name = "Name";
    a.u.register_known_neuron.description = NULL;
    const char *links[2] = {"a", "bb"};
    a.u.register_known_neuron.links = links;
    a.u.register_known_neuron.nlinks = 2;
    int32_t topics[2] = {3, 4};
    a.u.register_known_neuron.committed_topics = topics;
    a.u.register_known_neuron.ntopics = 2;
    size_t n = gov_action_encoded_size(&a);
    uint8_t *buf = malloc(n);
    ck_assert_uint_eq(gov_action_encode(&a, buf, n), n);
    gov_action_t *d = gov_action_decode(buf, n);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->u.register_known_neuron.name, "Name");
    ck_assert_ptr_null(d->u.register_known_neuron.description);
    ck_assert_str_eq(d->u.register_known_neuron.links[1], "bb");
    ck_assert_int_eq(d->u.register_known_neuron.committed_topics[1], 4);
    free(d);
    /* corrupt encodings are refused */
    ck_assert_ptr_null(gov_action_decode(buf, n - 1));
    buf[0] = 'X';
    ck_assert_ptr_null(gov_action_decode(buf, n));
    free(buf);
    memset(&a, 0, sizeof a);
    a.kind = GOV_ACTION_EXECUTE_NNS_FUNCTION;
    a.u.nns.nns_function = 7;
    uint8_t payload[5] = {1, 2, 0, 4, 5};
    a.u.nns.payload = payload;
    a.u.nns.payload_len = 5;
    n = gov_action_encoded_size(&a);
    buf = malloc(n);
    gov_action_encode(&a, buf, n);
    d = gov_action_decode(buf, n);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(d->u.nns.payload_len, 5);
    ck_assert_mem_eq(d->u.nns.payload, payload, 5);
    free(d);
    free(buf);
}
END_TEST

/* ---- speed: 400 000 neurons, most following 3 to 5 known neurons on the catch-all ---- */

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

START_TEST(test_speed_snapshot_and_cascade)
{
    const char *env = getenv("GOV_PERF_NEURONS");
#if defined(__SANITIZE_ADDRESS__)
    size_t count = env ? (size_t)strtoull(env, NULL, 10) : 20000; /* instrumented: smaller */
#else
    size_t count = env ? (size_t)strtoull(env, NULL, 10) : 400000;
#endif
    if (count < 100)
        count = 100;
    uint64_t seed = 99;
    enum { KNOWN = 50 };
    /* known neurons 1..50 (alice's), the others random ids above, following 3-5 known neurons
     * on the catch-all; one in ten also on Governance; one in twenty on ExchangeRate */
    for (uint64_t i = 1; i <= KNOWN; i++) {
        gov_neuron_full_t f = mk(i, &alice, 1000 * ICP, BIG_DELAY);
        load(&f);
    }
    for (size_t i = 0; i < count - KNOWN; i++) {
        uint64_t id = ((uint64_t)rnd(&seed) << 31 ^ rnd(&seed)) | (1ULL << 40);
        gov_neuron_full_t f =
            mk(id, &bob, (1 + rnd(&seed) % 1000) * ICP, 30 * DAY + rnd(&seed) % BIG_DELAY);
        uint64_t ids[5];
        uint8_t n = (uint8_t)(3 + rnd(&seed) % 3);
        for (uint8_t j = 0; j < n; j++)
            ids[j] = 2 + (j + rnd(&seed) % 2 * 5) % 10; /* known neurons 2..11 */
        follow(&f, 0, ids, n);
        if (i % 10 == 0)
            follow(&f, GOV_TOPIC_GOVERNANCE, ids, n);
        if (i % 20 == 0)
            follow(&f, GOV_TOPIC_EXCHANGE_RATE, ids, 1);
        nns_error_t err;
        if (!gov_load_neuron(G, &f, &err))
            continue; /* a rare duplicate id */
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    gov_load_done(G);
    double load_ms = ms_since(&t0);
    gov_submit_args_t a = motion(1, &alice);
    memset(&a.action.u, 0, sizeof a.action.u);
    a.action.kind = GOV_ACTION_EXECUTE_NNS_FUNCTION;
    a.action.u.nns.nns_function = 7;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    gov_round_t *r = gov_round_begin(G);
    uint64_t pid;
    nns_error_t err;
    ck_assert_msg(gov_apply_submit(G, r, &a, T0, &pid, &err), "%s", err.detail);
    double submit_ms = ms_since(&t0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    gov_round_commit(G, &r);
    double commit1_ms = ms_since(&t0);
    /* votes of the known neurons followed by most neurons, one round each: the cascades */
    double worst_vote = 0, worst_commit = 0, rows_ms = 0;
    size_t worst_changed = 0, total_changed = 0;
    for (uint64_t k = 2; k <= 11; k++) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = gov_round_begin(G);
        gov_vote_args_t va = {.caller = alice, .proposal_id = pid, .neuron_id = k, .vote = 1};
        gov_vote_outcome_t o;
        ck_assert_msg(gov_apply_vote(G, r, &va, T0 + 10 * k, &o, &err), "%s", err.detail);
        double v = ms_since(&t0);
        /* what the store reads: the changed ballots as arrays */
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (size_t i = 0; i < gov_round_proposal_count(r); i++) {
            gov_ballot_rows_t rows;
            gov_round_ballot_changes(r, i, &rows);
        }
        double rm = ms_since(&t0);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        gov_round_commit(G, &r);
        double c = ms_since(&t0);
        total_changed += o.ballots_changed;
        if (o.ballots_changed > worst_changed) {
            worst_changed = o.ballots_changed;
            worst_vote = v;
            worst_commit = c;
            rows_ms = rm;
        }
    }
    gov_proposal_t p = prop(pid);
    gov_proposal_info_t info;
    gov_proposal_info(G, &info);
    double per_ballot = (double)(2 * sizeof(uint64_t) + 1);
    fprintf(stderr,
            "governance proposals (%zu neurons, %llu ballots, %llu index entries; shared 2-core "
            "host, timings noisy): index build %.1f ms; submission with the ballot snapshot %.1f "
            "ms + commit %.1f ms; the largest vote cascade %zu ballots in %.1f ms + rows for the "
            "store %.1f ms + commit %.1f ms (%zu ballots set by 10 votes); %.0f bytes per ballot "
            "(id, voting power, vote; a voting round copies the vote bytes)\n",
            count, (unsigned long long)p.ballots_count,
            (unsigned long long)info.follow_index_entries, load_ms, submit_ms, commit1_ms,
            worst_changed, worst_vote, rows_ms, worst_commit, total_changed, per_ballot);
    ck_assert_uint_gt(total_changed, count / 2); /* the cascade reached most */
}
END_TEST

static Suite *proposals_suite(void)
{
    Suite *s = suite_create("governance_proposals");
    TCase *c = tcase_create("rules");
    tcase_add_checked_fixture(c, setup, teardown);
    tcase_add_test(c, test_wfq_vector_13);
    tcase_add_test(c, test_decision_rules);
    tcase_add_test(c, test_cascade_chain_cycle_catch_all);
    tcase_add_test(c, test_cascade_majority_and_sns_topic);
    tcase_add_test(c, test_following_changes_in_rounds);
    tcase_add_test(c, test_manage_neuron_proposal);
    tcase_add_test(c, test_submission_errors);
    tcase_add_test(c, test_votes_errors_and_deadline);
    tcase_add_test(c, test_reject_cost_and_economics);
    tcase_add_test(c, test_execution_own_state);
    tcase_add_test(c, test_execution_cmc_post);
    tcase_add_test(c, test_rounds_discard_and_spike_protection);
    tcase_add_test(c, test_action_encoding_round_trip);
    tcase_add_test(c, test_rewards_mints_and_manage_neuron_flow);
    tcase_add_test(c, test_forgetting_beyond_the_maximum_per_topic);
    tcase_add_test(c, test_random_walk_mirror_and_reload);
    suite_add_tcase(s, c);
    TCase *sp = tcase_create("speed");
    tcase_add_checked_fixture(sp, setup, teardown);
    tcase_add_test(sp, test_speed_snapshot_and_cascade);
    tcase_set_timeout(sp, 300);
    suite_add_tcase(s, sp);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(proposals_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
