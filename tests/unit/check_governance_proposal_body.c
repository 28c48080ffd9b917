/*
 * check_governance_proposal_body: the bodies of POST /v1/proposals and POST
 * /v1/proposals/{id}/votes parsed into the state machine's arguments (proposal_body.c): every
 * action type of the wire contract, the JSON payloads of NnsFunction 10, 14, 20, 32, 33, hex
 * payloads for the others, and the refusals (unknown and obsolete types, bad shapes).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "gov_proposal.h"
#include "proposal_body.h"

static principal_t caller;
#define P1 "rrkah-fqaaa-aaaaa-aaaaq-cai"
#define P2 "rkp4c-7iaaa-aaaaa-aaaca-cai"
#define ACC "6d7554f116b9bf58f4ee0128ee7b90eb19092e3bd43ccbce944d640de96d7784"

static void setup(void)
{
    nns_error_t err;
    ck_assert(principal_from_text(P1, &caller, &err));
}

/* Parses {neuron_id: "7", summary, title, action: ACTION}; NULL with *err on refusal. */
static gov_submission_t *parse(const char *action, nns_error_t *err)
{
    char body[4096];
    snprintf(body, sizeof body,
             "{\"neuron_id\":\"7\",\"title\":\"A title\",\"summary\":\"s\",\"action\":%s}", action);
    return gov_body_proposal((const uint8_t *)body, strlen(body), &caller, err);
}

static void refused(const char *action, int status, const char *code)
{
    nns_error_t err;
    gov_submission_t *s = parse(action, &err);
    ck_assert_msg(s == NULL, "accepted: %s", action);
    ck_assert_int_eq(err.status, status);
    ck_assert_msg(strcmp(err.code, code) == 0, "%s: %s (%s), not %s", action, err.code, err.detail,
                  code);
}

START_TEST(test_envelope)
{
    nns_error_t err;
    gov_submission_t *s = parse("{\"type\":\"Motion\",\"motion_text\":\"m\"}", &err);
    ck_assert_ptr_nonnull(s);
    gov_submit_args_t *a = gov_submission_args(s);
    ck_assert_uint_eq(a->neuron_id, 7);
    ck_assert_str_eq(a->title, "A title");
    ck_assert_str_eq(a->summary, "s");
    ck_assert_ptr_null(a->url);
    ck_assert_int_eq(a->action.kind, GOV_ACTION_MOTION);
    ck_assert_str_eq(a->action.u.motion.motion_text, "m");
    ck_assert_str_eq(a->action_json, "{\"type\":\"Motion\",\"motion_text\":\"m\"}");
    ck_assert(principal_equal(&a->caller, &caller));
    gov_submission_free(&s);
    ck_assert_ptr_null(s);

    const char *bad[] = {
        "[]",
        "{\"neuron_id\":7,\"summary\":\"s\",\"action\":{\"type\":\"Motion\",\"motion_text\":\"m\"}"
        "}",
        "{\"neuron_id\":\"7\",\"action\":{\"type\":\"Motion\",\"motion_text\":\"m\"}}",
        "{\"neuron_id\":\"7\",\"summary\":\"s\",\"action\":\"Motion\"}",
        "{\"neuron_id\":\"7\",\"summary\":\"s\",\"extra\":1,\"action\":{\"type\":\"Motion\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = gov_body_proposal((const uint8_t *)bad[i], strlen(bad[i]), &caller, &err);
        ck_assert_msg(s == NULL, "accepted %s", bad[i]);
        ck_assert_int_eq(err.status, 400);
        ck_assert_str_eq(err.code, "BadRequest");
    }
}
END_TEST

START_TEST(test_unknown_and_obsolete)
{
    refused("{\"type\":\"Teleport\"}", 400, "InvalidProposal");
    refused("{\"type\":\"SetDefaultFollowees\",\"default_followees\":[]}", 400, "InvalidProposal");
    refused("{\"type\":\"OpenSnsTokenSwap\"}", 400, "InvalidProposal");
    refused("{\"type\":\"Motion\"}", 400, "InvalidProposal");
    refused("{\"type\":\"Motion\",\"motion_text\":\"m\",\"x\":1}", 400, "InvalidProposal");
    refused("{\"type\":\"Motion\",\"motion_text\":7}", 400, "InvalidProposal");
}
END_TEST

START_TEST(test_manage_neuron_and_economics)
{
    nns_error_t err;
    gov_submission_t *s = parse("{\"type\":\"ManageNeuron\",\"neuron_id\":\"42\",\"command\":"
                                "{\"type\":\"increase-dissolve-delay\","
                                "\"additional_dissolve_delay_seconds\":86400}}",
                                &err);
    ck_assert_msg(s != NULL, "%s", err.detail);
    gov_action_t *a = &gov_submission_args(s)->action;
    ck_assert_int_eq(a->kind, GOV_ACTION_MANAGE_NEURON);
    ck_assert_uint_eq(a->u.manage_neuron.command.neuron_id, 42);
    ck_assert_int_eq(a->u.manage_neuron.command.kind, GOV_CMD_INCREASE_DISSOLVE_DELAY);
    gov_submission_free(&s);
    s = parse("{\"type\":\"ManageNeuron\",\"neuron_id\":\"42\",\"command\":{\"type\":\"split\","
              "\"amount_e8s\":\"300000000\"}}",
              &err);
    ck_assert_ptr_nonnull(s);
    a = &gov_submission_args(s)->action;
    ck_assert_uint_ne(a->u.manage_neuron.command.u.split.candidate_id, 0); /* drawn here */
    gov_submission_free(&s);
    refused("{\"type\":\"ManageNeuron\",\"neuron_id\":\"42\",\"command\":{\"type\":\"fly\"}}", 400,
            "InvalidProposal");
    refused("{\"type\":\"ManageNeuron\",\"neuron_id\":\"42\",\"command\":{\"type\":"
            "\"increase-dissolve-delay\"}}",
            400, "InvalidProposal");

    s = parse("{\"type\":\"ManageNetworkEconomics\",\"reject_cost_e8s\":\"200000000\","
              "\"max_proposals_to_keep_per_topic\":50,"
              "\"voting_power_economics\":{\"neuron_minimum_dissolve_delay_to_vote_seconds\":"
              "\"1209600\"}}",
              &err);
    ck_assert_msg(s != NULL, "%s", err.detail);
    a = &gov_submission_args(s)->action;
    ck_assert_uint_eq(a->u.economics.mask, GOV_ECO_REJECT_COST |
                                               GOV_ECO_MAX_PROPOSALS_TO_KEEP_PER_TOPIC |
                                               GOV_ECO_MIN_DISSOLVE_DELAY_TO_VOTE);
    ck_assert_uint_eq(a->u.economics.values.reject_cost_e8s, 200000000);
    ck_assert_uint_eq(a->u.economics.values.max_proposals_to_keep_per_topic, 50);
    ck_assert_uint_eq(a->u.economics.values.neuron_minimum_dissolve_delay_to_vote_seconds, 1209600);
    gov_submission_free(&s);
    refused("{\"type\":\"ManageNetworkEconomics\"}", 400, "InvalidProposal");
    refused("{\"type\":\"ManageNetworkEconomics\",\"reject_cost\":\"1\"}", 400, "InvalidProposal");
    refused("{\"type\":\"ManageNetworkEconomics\",\"max_proposals_to_keep_per_topic\":"
            "\"4294967296\"}",
            400, "InvalidProposal");
}
END_TEST

START_TEST(test_known_neurons_kyc_node_providers)
{
    nns_error_t err;
    gov_submission_t *s =
        parse("{\"type\":\"RegisterKnownNeuron\",\"neuron_id\":\"9\",\"name\":\"N\",\"links\":"
              "[\"https://a\",\"https://b\"],\"committed_topics\":[4,\"ExchangeRate\"]}",
              &err);
    ck_assert_msg(s != NULL, "%s", err.detail);
    gov_action_t *a = &gov_submission_args(s)->action;
    ck_assert_uint_eq(a->u.register_known_neuron.neuron_id, 9);
    ck_assert_uint_eq(a->u.register_known_neuron.nlinks, 2);
    ck_assert_str_eq(a->u.register_known_neuron.links[1], "https://b");
    ck_assert_uint_eq(a->u.register_known_neuron.ntopics, 2);
    ck_assert_int_eq(a->u.register_known_neuron.committed_topics[1], 2);
    ck_assert_ptr_null(a->u.register_known_neuron.description);
    gov_submission_free(&s);
    refused("{\"type\":\"RegisterKnownNeuron\",\"neuron_id\":\"9\",\"name\":\"N\","
            "\"committed_topics\":[99]}",
            400, "InvalidProposal");

    s = parse("{\"type\":\"ApproveGenesisKyc\",\"principals\":[\"" P1 "\",\"" P2 "\"]}", &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(gov_submission_args(s)->action.u.approve_genesis_kyc.n, 2);
    gov_submission_free(&s);
    refused("{\"type\":\"ApproveGenesisKyc\",\"principals\":[\"nope\"]}", 400, "InvalidPrincipal");

    s = parse("{\"type\":\"AddOrRemoveNodeProvider\",\"change\":\"add\",\"node_provider\":{\"id\":"
              "\"" P2 "\",\"reward_account\":\"" ACC "\"}}",
              &err);
    ck_assert_msg(s != NULL, "%s", err.detail);
    a = &gov_submission_args(s)->action;
    ck_assert(a->u.node_provider.add && a->u.node_provider.has_reward_account);
    gov_submission_free(&s);
    refused("{\"type\":\"AddOrRemoveNodeProvider\",\"change\":\"swap\",\"node_provider\":{\"id\":"
            "\"" P2 "\"}}",
            400, "InvalidProposal");

    s = parse("{\"type\":\"RewardNodeProvider\",\"node_provider\":\"" P2 "\",\"amount_e8s\":\"5\","
              "\"reward_mode\":{\"to_neuron\":{\"dissolve_delay_seconds\":\"15778800\"}}}",
              &err);
    ck_assert_msg(s != NULL, "%s", err.detail);
    a = &gov_submission_args(s)->action;
    ck_assert(a->u.reward_node_provider.reward.to_neuron);
    ck_assert_uint_ne(a->u.reward_node_provider.reward.candidate_id, 0);
    gov_submission_free(&s);
    s = parse("{\"type\":\"RewardNodeProviders\",\"rewards\":[{\"node_provider\":\"" P2 "\","
              "\"amount_e8s\":\"5\",\"reward_mode\":{\"to_account\":\"" ACC "\"}}],"
              "\"use_registry_derived_rewards\":false}",
              &err);
    ck_assert_msg(s != NULL, "%s", err.detail);
    ck_assert_uint_eq(gov_submission_args(s)->action.u.reward_node_providers.n, 1);
    gov_submission_free(&s);
    refused("{\"type\":\"RewardNodeProvider\",\"node_provider\":\"" P2 "\",\"amount_e8s\":\"5\","
            "\"reward_mode\":{\"to_account\":\"00\"}}",
            400, "InvalidAccount");
}
END_TEST

START_TEST(test_nns_functions)
{
    nns_error_t err;
    gov_submission_t *s =
        parse("{\"type\":\"ExecuteNnsFunction\",\"nns_function\":10,\"payload\":"
              "{\"xdr_permyriad_per_icp\":\"52000\",\"timestamp_seconds\":\"1767225600\"}}",
              &err);
    ck_assert_msg(s != NULL, "%s", err.detail);
    gov_action_t *a = &gov_submission_args(s)->action;
    ck_assert_uint_eq(a->u.nns.xdr_permyriad_per_icp, 52000);
    ck_assert_uint_eq(a->u.nns.timestamp_seconds, 1767225600);
    gov_submission_free(&s);

    s = parse("{\"type\":\"ExecuteNnsFunction\",\"nns_function\":14,\"payload\":{\"who\":\"" P1
              "\",\"subnets\":[\"" P2 "\"]}}",
              &err);
    ck_assert_msg(s != NULL, "%s", err.detail);
    a = &gov_submission_args(s)->action;
    ck_assert(a->u.nns.has_who);
    ck_assert_uint_eq(a->u.nns.nsubnets, 1);
    gov_submission_free(&s);

    s = parse("{\"type\":\"ExecuteNnsFunction\",\"nns_function\":20,\"payload\":{\"rewards\":"
              "[{\"node_provider\":\"" P2 "\",\"xdr_permyriad_per_month\":\"1000000\"}]}}",
              &err);
    ck_assert_msg(s != NULL, "%s", err.detail);
    a = &gov_submission_args(s)->action;
    ck_assert_uint_eq(a->u.nns.nrewards, 1);
    ck_assert_uint_eq(a->u.nns.rewards[0].xdr_permyriad_per_month, 1000000);
    gov_submission_free(&s);

    s = parse("{\"type\":\"ExecuteNnsFunction\",\"nns_function\":32,\"payload\":{\"remove\":"
              "\"fiduciary\"}}",
              &err);
    ck_assert_msg(s != NULL, "%s", err.detail);
    a = &gov_submission_args(s)->action;
    ck_assert(!a->u.nns.add);
    ck_assert_str_eq(a->u.nns.subnet_type, "fiduciary");
    gov_submission_free(&s);

    s = parse("{\"type\":\"ExecuteNnsFunction\",\"nns_function\":33,\"payload\":{\"add\":"
              "{\"subnets\":[\"" P2 "\"],\"subnet_type\":\"fiduciary\"}}}",
              &err);
    ck_assert_msg(s != NULL, "%s", err.detail);
    a = &gov_submission_args(s)->action;
    ck_assert(a->u.nns.add);
    ck_assert_uint_eq(a->u.nns.nsubnets, 1);
    gov_submission_free(&s);

    /* a hex payload for the others */
    s = parse("{\"type\":\"ExecuteNnsFunction\",\"nns_function\":1,\"payload\":\"00ff10\"}", &err);
    ck_assert_msg(s != NULL, "%s", err.detail);
    a = &gov_submission_args(s)->action;
    ck_assert_uint_eq(a->u.nns.payload_len, 3);
    ck_assert_uint_eq(a->u.nns.payload[1], 0xff);
    gov_submission_free(&s);

    refused("{\"type\":\"ExecuteNnsFunction\",\"nns_function\":10,\"payload\":\"00\"}", 400,
            "InvalidProposal");
    refused("{\"type\":\"ExecuteNnsFunction\",\"nns_function\":10,\"payload\":"
            "{\"xdr_permyriad_per_icp\":\"1\"}}",
            400, "InvalidProposal");
    refused("{\"type\":\"ExecuteNnsFunction\",\"nns_function\":1,\"payload\":\"0g\"}", 400,
            "InvalidProposal");
    refused("{\"type\":\"ExecuteNnsFunction\",\"nns_function\":0,\"payload\":\"\"}", 400,
            "InvalidProposal");
    refused("{\"type\":\"ExecuteNnsFunction\",\"nns_function\":99,\"payload\":\"\"}", 400,
            "InvalidProposal");
    refused("{\"type\":\"ExecuteNnsFunction\",\"nns_function\":32,\"payload\":{\"add\":\"a\","
            "\"remove\":\"b\"}}",
            400, "InvalidProposal");
}
END_TEST

START_TEST(test_canister_actions)
{
    nns_error_t err;
    gov_submission_t *s = parse("{\"type\":\"InstallCode\",\"canister_id\":\"" P2 "\","
                                "\"install_mode\":\"upgrade\",\"wasm_module_hash\":\"" ACC "\","
                                "\"arg_hex\":\"4449444c0000\"}",
                                &err);
    ck_assert_msg(s != NULL, "%s", err.detail);
    gov_action_t *a = &gov_submission_args(s)->action;
    ck_assert_int_eq(a->u.install_code.install_mode, 3);
    ck_assert(a->u.install_code.has_wasm_module_hash);
    ck_assert_uint_eq(a->u.install_code.arg_len, 6);
    gov_submission_free(&s);
    refused("{\"type\":\"InstallCode\",\"canister_id\":\"" P2 "\",\"install_mode\":\"patch\"}", 400,
            "InvalidProposal");
    s = parse("{\"type\":\"StopOrStartCanister\",\"canister_id\":\"" P2 "\",\"action\":\"stop\"}",
              &err);
    ck_assert_ptr_nonnull(s);
    ck_assert(gov_submission_args(s)->action.u.stop_or_start.stop);
    gov_submission_free(&s);
    s = parse("{\"type\":\"UpdateCanisterSettings\",\"canister_id\":\"" P2 "\",\"settings\":"
              "{\"freezing_threshold\":\"100\"}}",
              &err);
    ck_assert_ptr_nonnull(s);
    gov_submission_free(&s);
    refused("{\"type\":\"UpdateCanisterSettings\",\"canister_id\":\"" P2 "\"}", 400,
            "InvalidProposal");
    s = parse("{\"type\":\"CreateServiceNervousSystem\",\"name\":\"S\",\"neurons_fund_"
              "participation\":true,\"logo\":\"x\"}",
              &err);
    ck_assert_ptr_nonnull(s); /* refused by the state machine (spec 2.13) */
    ck_assert(gov_submission_args(s)->action.u.create_sns.neurons_fund_participation);
    gov_submission_free(&s);
    s = parse("{\"type\":\"FulfillSubnetRentalRequest\",\"user\":\"" P1 "\",\"node_ids\":[\"" P2
              "\"],\"replica_version_id\":\"abc\"}",
              &err);
    ck_assert_msg(s != NULL, "%s", err.detail);
    gov_submission_free(&s);
}
END_TEST

/* Every action kind (and every kind of drawn candidate) through its stored form: action_json
 * and the draws (what governance.proposals keeps), parsed back as at a restart, equals the
 * action as the state machine keeps it (the ManageNeuron command's caller emptied: it is fixed
 * at execution), compared through the in-memory encoding, field by field. */
static const char *const EVERY_ACTION[] = {
    "{\"type\":\"Motion\",\"motion_text\":\"m\"}",
    "{\"type\":\"ManageNeuron\",\"neuron_id\":\"42\",\"command\":{\"type\":"
    "\"increase-dissolve-delay\",\"additional_dissolve_delay_seconds\":86400}}",
    "{\"type\":\"ManageNeuron\",\"neuron_id\":\"42\",\"command\":{\"type\":\"split\","
    "\"amount_e8s\":\"300000000\"}}",
    "{\"type\":\"ManageNeuron\",\"neuron_id\":\"42\",\"command\":{\"type\":\"spawn\"}}",
    "{\"type\":\"ManageNetworkEconomics\",\"reject_cost_e8s\":\"200000000\","
    "\"max_proposals_to_keep_per_topic\":50,\"voting_power_economics\":"
    "{\"neuron_minimum_dissolve_delay_to_vote_seconds\":\"1209600\"}}",
    "{\"type\":\"RegisterKnownNeuron\",\"neuron_id\":\"9\",\"name\":\"N\",\"description\":"
    "\"d\",\"links\":[\"https://a\",\"https://b\"],\"committed_topics\":[4,\"ExchangeRate\"]}",
    "{\"type\":\"DeregisterKnownNeuron\",\"neuron_id\":\"9\"}",
    "{\"type\":\"ApproveGenesisKyc\",\"principals\":[\"" P1 "\",\"" P2 "\"]}",
    "{\"type\":\"AddOrRemoveNodeProvider\",\"change\":\"add\",\"node_provider\":{\"id\":"
    "\"" P2 "\",\"reward_account\":\"" ACC "\"}}",
    "{\"type\":\"RewardNodeProvider\",\"node_provider\":\"" P2 "\",\"amount_e8s\":\"5\","
    "\"reward_mode\":{\"to_neuron\":{\"dissolve_delay_seconds\":\"15778800\"}}}",
    "{\"type\":\"RewardNodeProvider\",\"node_provider\":\"" P2 "\",\"amount_e8s\":\"5\","
    "\"reward_mode\":{\"to_account\":\"" ACC "\"}}",
    "{\"type\":\"RewardNodeProviders\",\"rewards\":[{\"node_provider\":\"" P2 "\","
    "\"amount_e8s\":\"5\",\"reward_mode\":{\"to_account\":\"" ACC "\"}},{\"node_provider\":"
    "\"" P1 "\",\"amount_e8s\":\"6\",\"reward_mode\":{\"to_neuron\":"
    "{\"dissolve_delay_seconds\":\"15778800\"}}},{\"node_provider\":\"" P2 "\","
    "\"amount_e8s\":\"7\",\"reward_mode\":{\"to_neuron\":{\"dissolve_delay_seconds\":"
    "\"31557600\"}}}],\"use_registry_derived_rewards\":false}",
    "{\"type\":\"ExecuteNnsFunction\",\"nns_function\":10,\"payload\":"
    "{\"xdr_permyriad_per_icp\":\"52000\",\"timestamp_seconds\":\"1767225600\"}}",
    "{\"type\":\"ExecuteNnsFunction\",\"nns_function\":14,\"payload\":{\"who\":\"" P1
    "\",\"subnets\":[\"" P2 "\"]}}",
    "{\"type\":\"ExecuteNnsFunction\",\"nns_function\":20,\"payload\":{\"rewards\":"
    "[{\"node_provider\":\"" P2 "\",\"xdr_permyriad_per_month\":\"1000000\"}]}}",
    "{\"type\":\"ExecuteNnsFunction\",\"nns_function\":32,\"payload\":{\"remove\":"
    "\"fiduciary\"}}",
    "{\"type\":\"ExecuteNnsFunction\",\"nns_function\":33,\"payload\":{\"add\":"
    "{\"subnets\":[\"" P2 "\"],\"subnet_type\":\"fiduciary\"}}}",
    "{\"type\":\"ExecuteNnsFunction\",\"nns_function\":1,\"payload\":\"00ff10\"}",
    "{\"type\":\"InstallCode\",\"canister_id\":\"" P2 "\",\"install_mode\":\"upgrade\","
    "\"wasm_module_hash\":\"" ACC "\",\"arg_hex\":\"4449444c0000\"}",
    "{\"type\":\"StopOrStartCanister\",\"canister_id\":\"" P2 "\",\"action\":\"stop\"}",
    "{\"type\":\"UpdateCanisterSettings\",\"canister_id\":\"" P2 "\",\"settings\":"
    "{\"freezing_threshold\":\"100\"}}",
    "{\"type\":\"CreateServiceNervousSystem\",\"name\":\"S\",\"neurons_fund_"
    "participation\":false,\"logo\":\"x\"}",
    "{\"type\":\"FulfillSubnetRentalRequest\",\"user\":\"" P1 "\",\"node_ids\":[\"" P2
    "\"],\"replica_version_id\":\"abc\"}",
};

static uint8_t *encoded(const gov_action_t *a, size_t *n)
{
    *n = gov_action_encoded_size(a);
    uint8_t *b = malloc(*n);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(gov_action_encode(a, b, *n), *n);
    return b;
}

START_TEST(test_stored_form_round_trip)
{
    bool kinds[GOV_ACTION_KIND_MAX + 1] = {false};
    for (size_t i = 0; i < sizeof EVERY_ACTION / sizeof EVERY_ACTION[0]; i++) {
        nns_error_t err;
        gov_submission_t *s = parse(EVERY_ACTION[i], &err);
        ck_assert_msg(s != NULL, "%s: %s", EVERY_ACTION[i], err.detail);
        gov_submit_args_t *args = gov_submission_args(s);
        /* the state machine's copy: one allocation, the ManageNeuron caller emptied */
        gov_action_t *kept = gov_action_copy(&args->action);
        ck_assert_ptr_nonnull(kept);
        if (kept->kind == GOV_ACTION_MANAGE_NEURON)
            memset(&kept->u.manage_neuron.command.caller, 0, sizeof(principal_t));
        kinds[kept->kind] = true;
        char *draws = gov_action_draws_json(kept);
        ck_assert_ptr_nonnull(draws);
        gov_action_t *back = gov_action_from_stored(args->action_json, draws, &err);
        ck_assert_msg(back != NULL, "%s: %s", EVERY_ACTION[i], err.detail);
        size_t na, nb;
        uint8_t *ea = encoded(kept, &na), *eb = encoded(back, &nb);
        ck_assert_msg(na == nb && memcmp(ea, eb, na) == 0, "%s: not the same after the reload",
                      EVERY_ACTION[i]);
        /* the candidates did not come back by chance: a reload without the draws differs */
        if (strstr(draws, "candidate_id")) {
            gov_action_t *redrawn =
                gov_action_from_stored(args->action_json, "{\"version\":0}", &err);
            ck_assert_ptr_nonnull(redrawn);
            size_t nr;
            uint8_t *er = encoded(redrawn, &nr);
            ck_assert(nr != na || memcmp(er, ea, na) != 0);
            free(er);
            free(redrawn);
        }
        free(ea);
        free(eb);
        free(back);
        free(draws);
        free(kept);
        gov_submission_free(&s);
    }
    for (int k = 1; k <= GOV_ACTION_KIND_MAX; k++)
        ck_assert_msg(kinds[k], "action kind %d (%s) not covered", k,
                      gov_action_name((gov_action_kind_t)k));
    /* stored forms that do not parse are refused as corrupt state */
    nns_error_t err;
    const char *split = EVERY_ACTION[2];
    ck_assert_ptr_null(gov_action_from_stored("{\"type\":\"Teleport\"}",
                                              "{\"version\":1,"
                                              "\"candidates\":[]}",
                                              &err));
    ck_assert_str_eq(err.code, "CorruptState");
    ck_assert_ptr_null(gov_action_from_stored("{\"type\":\"Motion\"}", "{\"version\":1}", &err));
    ck_assert_str_eq(err.code, "CorruptState");
    ck_assert_ptr_null(gov_action_from_stored(split, "{\"version\":1,\"candidates\":[]}", &err));
    ck_assert_str_eq(err.code, "CorruptState");
    ck_assert_ptr_null(gov_action_from_stored(split, "{\"version\":2,\"candidates\":[]}", &err));
    ck_assert_ptr_null(gov_action_from_stored(split,
                                              "{\"version\":1,\"candidates\":[{\"candidate_id\":"
                                              "\"5\",\"candidate_subaccount\":\"00\"}]}",
                                              &err));
    ck_assert_ptr_null(gov_action_from_stored(split, NULL, &err));
}
END_TEST

START_TEST(test_vote_body)
{
    gov_vote_args_t v;
    nns_error_t err;
    const char *ok = "{\"neuron_id\":\"12\",\"vote\":\"no\"}";
    ck_assert(gov_body_vote((const uint8_t *)ok, strlen(ok), &caller, 3, &v, &err));
    ck_assert_uint_eq(v.neuron_id, 12);
    ck_assert_uint_eq(v.proposal_id, 3);
    ck_assert_int_eq(v.vote, GOV_VOTE_NO);
    const char *bad[] = {"{\"neuron_id\":\"12\",\"vote\":\"maybe\"}",
                         "{\"neuron_id\":\"12\",\"vote\":\"unspecified\"}",
                         "{\"neuron_id\":\"12\"}", "{\"neuron_id\":12,\"vote\":\"yes\"}",
                         "{\"neuron_id\":\"12\",\"vote\":\"yes\",\"x\":1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(!gov_body_vote((const uint8_t *)bad[i], strlen(bad[i]), &caller, 3, &v, &err),
                      "accepted %s", bad[i]);
        ck_assert_int_eq(err.status, 400);
    }
}
END_TEST

int main(void)
{
    if (!crypto_init())
        return EXIT_FAILURE;
    Suite *s = suite_create("governance_proposal_body");
    TCase *tc = tcase_create("bodies");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_envelope);
    tcase_add_test(tc, test_unknown_and_obsolete);
    tcase_add_test(tc, test_manage_neuron_and_economics);
    tcase_add_test(tc, test_known_neurons_kyc_node_providers);
    tcase_add_test(tc, test_nns_functions);
    tcase_add_test(tc, test_canister_actions);
    tcase_add_test(tc, test_vote_body);
    tcase_add_test(tc, test_stored_form_round_trip);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
