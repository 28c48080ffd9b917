/*
 * Unit tests of the governance service's API layer (services/governance): the write bodies into
 * commands (body.c: every command's fields, the wire rules, the refusals and their codes), the
 * neuron views and GET /v1/governance (render.c: what the public view withholds, what a public
 * neuron shows, the optional members) and the genesis file (genesis.c: defaults, overrides,
 * neurons, refusals). No database, no network, no state machine round.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "body.h"
#include "crypto.h"
#include "genesis.h"
#include "gov.h"
#include "render.h"

static principal_t alice, bob, governance;
static char alice_text[PRINCIPAL_TEXT_MAX], bob_text[PRINCIPAL_TEXT_MAX];

static void user(uint8_t n, principal_t *p)
{
    uint8_t der[44] = {0};
    der[43] = n;
    principal_self_authenticating(der, sizeof der, p);
}

static void setup(void)
{
    ck_assert(crypto_init());
    user(1, &alice);
    user(2, &bob);
    principal_to_text(&alice, alice_text);
    principal_to_text(&bob, bob_text);
    principal_canister(CANISTER_GOVERNANCE, &governance);
}

/* Parses body as the command named name on neuron 7, as alice. */
static bool cmd(const char *name, const char *body, gov_command_t *c, nns_error_t *err)
{
    gov_command_kind_t kind = gov_command_from_name(name);
    ck_assert_msg(kind != 0, "command %s", name);
    nns_error_clear(err);
    return gov_body_command(kind, 7, (const uint8_t *)body, strlen(body), &alice, c, err);
}

static void refused(const char *name, const char *body, int status, const char *code)
{
    gov_command_t c;
    nns_error_t err;
    ck_assert_msg(!cmd(name, body, &c, &err), "%s %s accepted", name, body);
    ck_assert_msg(err.status == status && strcmp(err.code, code) == 0, "%s %s: %d %s (%s)", name,
                  body, err.status, err.code, err.detail);
}

START_TEST(test_claim_bodies)
{
    gov_claim_args_t a;
    nns_error_t err;
    const char *b = "{\"memo\":\"42\"}";
    ck_assert(gov_body_claim((const uint8_t *)b, strlen(b), &alice, &a, &err));
    ck_assert_uint_eq(a.memo, 42);
    ck_assert(principal_equal(&a.controller, &alice) && principal_equal(&a.caller, &alice));
    ck_assert_uint_eq(a.candidate_id, 0); /* drawn by the API, not the parser */
    char body[256];
    snprintf(body, sizeof body, "{\"memo\":\"1\",\"controller\":\"%s\"}", bob_text);
    ck_assert(gov_body_claim((const uint8_t *)body, strlen(body), &alice, &a, &err));
    ck_assert(principal_equal(&a.controller, &bob) && principal_equal(&a.caller, &alice));
    snprintf(body, sizeof body, "{\"memo\":\"1\",\"controller\":null}");
    ck_assert(gov_body_claim((const uint8_t *)body, strlen(body), &alice, &a, &err));
    ck_assert(principal_equal(&a.controller, &alice));
    static const char *const bad[] = {"{\"memo\":1}",
                                      "{\"memo\":\"18446744073709551616\"}",
                                      "{}",
                                      "{\"memo\":\"1\",\"amount_e8s\":\"5\"}",
                                      "[1]",
                                      "",
                                      "{\"memo\":\"1\",\"controller\":\"not a principal\"}"};
    static const char *const codes[] = {"BadRequest", "BadRequest", "BadRequest",      "BadRequest",
                                        "BadRequest", "BadRequest", "InvalidPrincipal"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nns_error_clear(&err);
        ck_assert_msg(!gov_body_claim((const uint8_t *)bad[i], strlen(bad[i]), &alice, &a, &err),
                      "accepted %s", bad[i]);
        ck_assert_msg(err.status == 400 && strcmp(err.code, codes[i]) == 0, "%s: %s", bad[i],
                      err.code);
    }
}
END_TEST

START_TEST(test_command_names)
{
    static const char *const names[] = {"increase-dissolve-delay",
                                        "set-dissolve-timestamp",
                                        "start-dissolving",
                                        "stop-dissolving",
                                        "add-hot-key",
                                        "remove-hot-key",
                                        "disburse",
                                        "split",
                                        "merge",
                                        "spawn",
                                        "stake-maturity",
                                        "disburse-maturity",
                                        "auto-stake-maturity",
                                        "follow",
                                        "set-following",
                                        "refresh-voting-power",
                                        "set-visibility",
                                        "join-community-fund",
                                        "leave-community-fund"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        gov_command_kind_t k = gov_command_from_name(names[i]);
        ck_assert_msg(k != 0, "%s", names[i]);
        ck_assert_str_eq(gov_command_name(k), names[i]);
    }
    ck_assert_int_eq(gov_command_from_name("merge-maturity"), 0);
    ck_assert_int_eq(gov_command_from_name(""), 0);
}
END_TEST

START_TEST(test_dissolve_and_simple_commands)
{
    gov_command_t c;
    nns_error_t err;
    ck_assert(
        cmd("increase-dissolve-delay", "{\"additional_dissolve_delay_seconds\":86400}", &c, &err));
    ck_assert_int_eq(c.kind, GOV_CMD_INCREASE_DISSOLVE_DELAY);
    ck_assert_uint_eq(c.neuron_id, 7);
    ck_assert(principal_equal(&c.caller, &alice));
    ck_assert_uint_eq(c.u.increase_dissolve_delay.additional_dissolve_delay_seconds, 86400);
    /* a u32 may be a digit string too */
    ck_assert(
        cmd("increase-dissolve-delay", "{\"additional_dissolve_delay_seconds\":\"5\"}", &c, &err));
    ck_assert_uint_eq(c.u.increase_dissolve_delay.additional_dissolve_delay_seconds, 5);
    refused("increase-dissolve-delay", "{\"additional_dissolve_delay_seconds\":4294967296}", 400,
            "BadRequest");
    refused("increase-dissolve-delay", "{\"additional_dissolve_delay_seconds\":-5}", 400,
            "BadRequest");
    refused("increase-dissolve-delay", "{\"additional_dissolve_delay_seconds\":1.5}", 400,
            "BadRequest");
    refused("increase-dissolve-delay", "{}", 400, "BadRequest");
    refused("increase-dissolve-delay", "{\"additional_dissolve_delay_seconds\":1,\"x\":1}", 400,
            "BadRequest");
    ck_assert(
        cmd("set-dissolve-timestamp", "{\"dissolve_timestamp_seconds\":\"1800000000\"}", &c, &err));
    ck_assert_uint_eq(c.u.set_dissolve_timestamp.dissolve_timestamp_seconds, 1800000000);
    refused("set-dissolve-timestamp", "{\"dissolve_timestamp_seconds\":1800000000}", 400,
            "BadRequest");
    static const char *const empty[] = {"start-dissolving", "stop-dissolving",
                                        "refresh-voting-power", "join-community-fund",
                                        "leave-community-fund"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        ck_assert(cmd(empty[i], "{}", &c, &err));
        ck_assert(cmd(empty[i], "", &c, &err)); /* an empty body reads as {} */
        refused(empty[i], "{\"now\":true}", 400, "BadRequest");
        refused(empty[i], "not json", 400, "BadRequest");
    }
    ck_assert(cmd("auto-stake-maturity", "{\"requested_setting_for_auto_stake_maturity\":true}", &c,
                  &err));
    ck_assert(c.u.auto_stake_maturity.requested_setting_for_auto_stake_maturity);
    refused("auto-stake-maturity", "{\"requested_setting_for_auto_stake_maturity\":1}", 400,
            "BadRequest");
    refused("auto-stake-maturity", "{}", 400, "BadRequest");
    ck_assert(cmd("set-visibility", "{\"visibility\":\"public\"}", &c, &err));
    ck_assert_int_eq(c.u.set_visibility.visibility, GOV_VISIBILITY_PUBLIC);
    ck_assert(cmd("set-visibility", "{\"visibility\":\"private\"}", &c, &err));
    ck_assert_int_eq(c.u.set_visibility.visibility, GOV_VISIBILITY_PRIVATE);
    refused("set-visibility", "{\"visibility\":\"secret\"}", 400, "InvalidCommand");
    refused("set-visibility", "{\"visibility\":2}", 400, "BadRequest");
}
END_TEST

START_TEST(test_hot_keys_and_accounts)
{
    gov_command_t c;
    nns_error_t err;
    char body[512];
    snprintf(body, sizeof body, "{\"new_hot_key\":\"%s\"}", bob_text);
    ck_assert(cmd("add-hot-key", body, &c, &err));
    ck_assert(principal_equal(&c.u.add_hot_key.new_hot_key, &bob));
    refused("add-hot-key", "{\"new_hot_key\":\"nope\"}", 400, "InvalidPrincipal");
    refused("add-hot-key", "{\"hot_key\":\"aaaaa-aa\"}", 400, "BadRequest");
    snprintf(body, sizeof body, "{\"hot_key_to_remove\":\"%s\"}", bob_text);
    ck_assert(cmd("remove-hot-key", body, &c, &err));
    ck_assert(principal_equal(&c.u.remove_hot_key.hot_key_to_remove, &bob));
    account_id_t bob_acc;
    char hex[ACCOUNT_HEX_LEN + 1];
    account_id_of(&bob, NULL, &bob_acc);
    account_id_to_hex(&bob_acc, hex);
    ck_assert(cmd("disburse", "{}", &c, &err));
    ck_assert(!c.u.disburse.has_to_account && !c.u.disburse.has_amount);
    snprintf(body, sizeof body, "{\"to_account\":\"%s\",\"amount_e8s\":\"5\"}", hex);
    ck_assert(cmd("disburse", body, &c, &err));
    ck_assert(c.u.disburse.has_to_account && account_id_equal(&c.u.disburse.to_account, &bob_acc));
    ck_assert(c.u.disburse.has_amount && c.u.disburse.amount_e8s == 5);
    refused("disburse", "{\"to_account\":\"xyz\"}", 400, "InvalidAccount");
    hex[0] = hex[0] == '0' ? '1' : '0'; /* a bad checksum */
    snprintf(body, sizeof body, "{\"to_account\":\"%s\"}", hex);
    refused("disburse", body, 400, "InvalidAccount");
    refused("disburse", "{\"amount_e8s\":5}", 400, "BadRequest");
    refused("disburse", "{\"to\":\"x\"}", 400, "BadRequest");
    /* disburse-maturity: an ICRC-1 account or an account identifier, not both */
    account_id_to_hex(&bob_acc, hex);
    snprintf(body, sizeof body, "{\"percentage_to_disburse\":50,\"to_account\":\"%s\"}", bob_text);
    ck_assert(cmd("disburse-maturity", body, &c, &err));
    ck_assert_uint_eq(c.u.disburse_maturity.percentage_to_disburse, 50);
    ck_assert(c.u.disburse_maturity.has_to_account &&
              account_id_equal(&c.u.disburse_maturity.to_account, &bob_acc));
    snprintf(body, sizeof body, "{\"percentage_to_disburse\":50,\"to_account_identifier\":\"%s\"}",
             hex);
    ck_assert(cmd("disburse-maturity", body, &c, &err));
    ck_assert(account_id_equal(&c.u.disburse_maturity.to_account, &bob_acc));
    snprintf(
        body, sizeof body,
        "{\"percentage_to_disburse\":50,\"to_account\":\"%s\",\"to_account_identifier\":\"%s\"}",
        bob_text, hex);
    refused("disburse-maturity", body, 400, "InvalidCommand");
    ck_assert(cmd("disburse-maturity", "{\"percentage_to_disburse\":100}", &c, &err));
    ck_assert(!c.u.disburse_maturity.has_to_account);
    refused("disburse-maturity", "{}", 400, "BadRequest");
}
END_TEST

START_TEST(test_neuron_moving_commands)
{
    gov_command_t c;
    nns_error_t err;
    char body[256];
    ck_assert(cmd("split", "{\"amount_e8s\":\"200000000\",\"memo\":\"9\"}", &c, &err));
    ck_assert_uint_eq(c.u.split.amount_e8s, 200000000);
    ck_assert(c.u.split.has_memo && c.u.split.memo == 9);
    ck_assert_uint_eq(c.u.split.candidate_id, 0);
    refused("split", "{\"amount_e8s\":200000000}", 400, "BadRequest");
    refused("split", "{\"amount_e8s\":\"2\",\"memo\":\"18446744073709551616\"}", 400, "BadRequest");
    ck_assert(cmd("merge", "{\"source_neuron_id\":\"8\"}", &c, &err));
    ck_assert_uint_eq(c.u.merge.source_neuron_id, 8);
    refused("merge", "{\"source_neuron_id\":\"1.5\"}", 400, "BadRequest");
    ck_assert(cmd("spawn", "{}", &c, &err));
    ck_assert(!c.u.spawn.has_percentage && !c.u.spawn.has_new_controller && !c.u.spawn.has_nonce);
    snprintf(body, sizeof body,
             "{\"percentage_to_spawn\":40,\"new_controller\":\"%s\",\"nonce\":\"3\"}", bob_text);
    ck_assert(cmd("spawn", body, &c, &err));
    ck_assert(c.u.spawn.has_percentage && c.u.spawn.percentage_to_spawn == 40);
    ck_assert(c.u.spawn.has_new_controller && principal_equal(&c.u.spawn.new_controller, &bob));
    ck_assert(c.u.spawn.has_nonce && c.u.spawn.nonce == 3);
    refused("spawn", "{\"nonce\":5}", 400, "BadRequest");
    refused("spawn", "{\"new_controller\":\"bad principal\"}", 400, "InvalidPrincipal");
    ck_assert(cmd("stake-maturity", "{\"percentage_to_stake\":30}", &c, &err));
    ck_assert(c.u.stake_maturity.has_percentage && c.u.stake_maturity.percentage_to_stake == 30);
    refused("stake-maturity", "{\"percentage\":5}", 400, "BadRequest");
}
END_TEST

START_TEST(test_following_bodies)
{
    gov_command_t c;
    nns_error_t err;
    ck_assert(cmd("follow", "{\"topic\":4,\"followees\":[\"1\",\"2\"]}", &c, &err));
    ck_assert_int_eq(c.u.follow.topic, 4);
    ck_assert_uint_eq(c.u.follow.n, 2);
    ck_assert_uint_eq(c.u.follow.ids[1], 2);
    /* 16 followees: parsed (the first 15 kept, the count real), refused by the state machine */
    ck_assert(cmd("follow",
                  "{\"topic\":4,\"followees\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\","
                  "\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\"]}",
                  &c, &err));
    ck_assert_uint_eq(c.u.follow.n, 16);
    ck_assert_uint_eq(c.u.follow.ids[14], 15);
    ck_assert(cmd("follow", "{\"topic\":\"0\",\"followees\":[]}", &c, &err));
    ck_assert_uint_eq(c.u.follow.n, 0);
    refused("follow", "{\"topic\":4}", 400, "BadRequest");
    refused("follow", "{\"topic\":4,\"followees\":[5]}", 400, "BadRequest");
    refused("follow", "{\"topic\":\"x\",\"followees\":[]}", 400, "BadRequest");
    ck_assert(cmd("set-following",
                  "{\"topic_following\":[{\"topic\":3,\"followees\":[\"5\"]},"
                  "{\"topic\":7,\"followees\":[]}]}",
                  &c, &err));
    ck_assert_uint_eq(c.u.set_following.n, 2);
    ck_assert_int_eq(c.u.set_following.topics[0].topic, 3);
    ck_assert_uint_eq(c.u.set_following.topics[0].ids[0], 5);
    ck_assert_int_eq(c.u.set_following.topics[1].topic, 7);
    refused("set-following", "{\"topic_following\":{}}", 400, "BadRequest");
    refused("set-following", "{\"topic_following\":[{\"topic\":3,\"followees\":\"5\"}]}", 400,
            "BadRequest");
    refused("set-following", "{\"topic_following\":[{\"topic\":3,\"followees\":[],\"x\":1}]}", 400,
            "BadRequest");
    refused("set-following", "{\"topic_following\":[7]}", 400, "BadRequest");
    /* more entries than topics: parsed (a topic must repeat), refused by the state machine */
    char body[2048] = "{\"topic_following\":[";
    for (int i = 0; i < 21; i++) {
        char item[48];
        snprintf(item, sizeof item, "%s{\"topic\":%d,\"followees\":[]}", i ? "," : "", i % 19);
        strcat(body, item);
    }
    strcat(body, "]}");
    ck_assert(cmd("set-following", body, &c, &err));
    ck_assert_uint_eq(c.u.set_following.n, 21);
}
END_TEST

static gov_neuron_full_t *sample_neuron(void)
{
    gov_neuron_full_t *n = calloc(1, sizeof *n);
    n->n.id = 77;
    gov_neuron_staking_subaccount(&alice, 1, n->n.subaccount);
    n->n.controller = alice;
    n->n.cached_neuron_stake_e8s = 500000000;
    n->n.dissolve.dissolve_delay_seconds = 604800;
    n->n.dissolve.aging_since_timestamp_seconds = 1700000000;
    n->n.kyc_verified = true;
    n->n.visibility = GOV_VISIBILITY_PRIVATE;
    n->n.has_joined_community_fund = true;
    n->n.joined_community_fund_timestamp_seconds = 1700000100;
    n->nhot_keys = 1;
    n->hot_keys[0] = bob;
    n->nfollowees = 1;
    n->followees[0].topic = 4;
    n->followees[0].n = 2;
    n->followees[0].ids[0] = 5;
    n->followees[0].ids[1] = 6;
    n->ndisbursements = 1;
    n->disbursements[0].amount_e8s = 100000000;
    n->disbursements[0].finalize_disbursement_timestamp_seconds = 1700604800;
    account_id_of(&bob, NULL, &n->disbursements[0].to);
    n->d.state = GOV_STATE_NOT_DISSOLVING;
    n->d.stake_e8s = 500000000;
    n->d.dissolve_delay_seconds = 604800;
    n->locked = true;
    return n;
}

START_TEST(test_neuron_views)
{
    gov_neuron_full_t *n = sample_neuron();
    json_t *full = gov_render_neuron(n, &governance, true);
    json_t *pub = gov_render_neuron(n, &governance, false);
    ck_assert_str_eq(json_string_value(json_object_get(full, "id")), "77");
    account_id_t acc;
    char hex[ACCOUNT_HEX_LEN + 1];
    account_id_of(&governance, n->n.subaccount, &acc);
    account_id_to_hex(&acc, hex);
    ck_assert_str_eq(json_string_value(json_object_get(pub, "account_identifier")), hex);
    ck_assert_str_eq(json_string_value(json_object_get(pub, "state")), "NotDissolving");
    ck_assert_str_eq(json_string_value(json_object_get(pub, "aging_since_timestamp_seconds")),
                     "1700000000");
    ck_assert_ptr_null(json_object_get(pub, "when_dissolved_timestamp_seconds"));
    ck_assert(json_is_null(json_object_get(pub, "known_neuron")));
    ck_assert_str_eq(json_string_value(json_object_get(pub, "visibility")), "private");
    /* a private neuron's public view: no controller, hot keys, followees, fund timestamp, lock */
    static const char *const withheld[] = {"controller",
                                           "hot_keys",
                                           "followees",
                                           "kyc_verified",
                                           "joined_community_fund_timestamp_seconds",
                                           "maturity_disbursements_in_progress",
                                           "locked"};
    for (size_t i = 0; i < sizeof withheld / sizeof withheld[0]; i++) {
        ck_assert_msg(json_object_get(pub, withheld[i]) == NULL, "public view has %s", withheld[i]);
        ck_assert_msg(json_object_get(full, withheld[i]) != NULL, "full view lacks %s",
                      withheld[i]);
    }
    ck_assert_str_eq(json_string_value(json_object_get(full, "controller")), alice_text);
    json_t *f = json_array_get(json_object_get(full, "followees"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(f, "topic")), 4);
    ck_assert_str_eq(json_string_value(json_object_get(f, "topic_name")), gov_topic_name(4));
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(f, "followees"), 1)), "6");
    ck_assert(json_is_true(json_object_get(full, "locked")));
    json_t *d = json_array_get(json_object_get(full, "maturity_disbursements_in_progress"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(d, "amount_e8s")), "100000000");
    ck_assert_ptr_null(json_object_get(full, "spawn_at_timestamp_seconds"));
    json_decref(full);
    json_decref(pub);
    /* a public neuron shows its controller, hot keys and followees to everyone */
    n->n.visibility = GOV_VISIBILITY_PUBLIC;
    n->n.dissolve.dissolving = true;
    n->n.dissolve.when_dissolved_timestamp_seconds = 1800000000;
    n->d.state = GOV_STATE_DISSOLVING;
    pub = gov_render_neuron(n, &governance, false);
    ck_assert_str_eq(json_string_value(json_object_get(pub, "controller")), alice_text);
    ck_assert_int_eq(json_array_size(json_object_get(pub, "hot_keys")), 1);
    ck_assert_int_eq(json_array_size(json_object_get(pub, "followees")), 1);
    ck_assert_ptr_null(json_object_get(pub, "kyc_verified"));
    ck_assert_ptr_null(json_object_get(pub, "aging_since_timestamp_seconds"));
    ck_assert_str_eq(json_string_value(json_object_get(pub, "when_dissolved_timestamp_seconds")),
                     "1800000000");
    ck_assert_str_eq(json_string_value(json_object_get(pub, "state")), "Dissolving");
    ck_assert_str_eq(json_string_value(json_object_get(pub, "visibility")), "public");
    json_decref(pub);
    free(n);
}
END_TEST

START_TEST(test_governance_info)
{
    gov_info_t info;
    memset(&info, 0, sizeof info);
    info.rules = GOV_RULES_LEGACY;
    gov_economics_default(GOV_RULES_LEGACY, &info.economics);
    info.neurons = 3;
    info.neurons_by_state[GOV_STATE_DISSOLVED] = 2;
    gov_modulation_t mm = {.source = GOV_MM_RATE_HISTORY, .permyriad = 0};
    json_t *o = gov_render_info(&info, &mm);
    ck_assert_str_eq(json_string_value(json_object_get(o, "rule_set")), "legacy");
    ck_assert_str_eq(json_string_value(json_object_get(o, "max_dissolve_delay_seconds")),
                     "252460800");
    /* a rate-history modulation not computed yet is none: 0 applies */
    ck_assert_str_eq(json_string_value(json_object_get(o, "maturity_modulation_source")), "none");
    json_t *m = json_object_get(o, "metrics");
    ck_assert_str_eq(json_string_value(json_object_get(m, "neurons")), "3");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(m, "neurons_by_state"), "dissolved")),
        "2");
    json_t *e = json_object_get(o, "economics");
    ck_assert(json_is_integer(json_object_get(e, "max_sustained_neurons_per_hour")));
    ck_assert(json_is_string(json_object_get(e, "neuron_minimum_stake_e8s")));
    ck_assert(json_is_object(json_object_get(e, "voting_power_economics")));
    ck_assert(json_is_null(json_object_get(o, "latest_reward_event")));
    json_decref(o);
    mm.source = GOV_MM_GENESIS;
    mm.permyriad = -250;
    o = gov_render_info(&info, &mm);
    ck_assert_str_eq(json_string_value(json_object_get(o, "maturity_modulation_source")),
                     "genesis");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "maturity_modulation_permyriad")), -250);
    json_decref(o);
}
END_TEST

/* Writes text to a temporary file; returns its path (static buffer). */
static const char *genesis_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/check_gov_genesis.XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void genesis_refused(const char *text, const char *what)
{
    gov_genesis_t g;
    nns_error_t err;
    const char *path = genesis_file(text);
    ck_assert_msg(!gov_genesis_read(path, 1700000000, &g, &err), "accepted %s", what);
    ck_assert_msg(err.status == 400 && strcmp(err.code, "InvalidGenesis") == 0, "%s: %d %s", what,
                  err.status, err.code);
    ck_assert_msg(strstr(err.detail, path) != NULL, "%s: the detail names the file", what);
    unlink(path);
}

START_TEST(test_genesis_file)
{
    gov_genesis_t g;
    nns_error_t err;
    ck_assert(gov_genesis_read(NULL, 1700000000, &g, &err));
    ck_assert_int_eq(g.rules, GOV_RULES_CURRENT);
    ck_assert_uint_eq(g.genesis_timestamp_seconds, 1700000000);
    ck_assert(!g.has_modulation && g.nneurons == 0);
    gov_genesis_free(&g);
    char text[2048];
    snprintf(text, sizeof text,
             "{\"rule_set\":\"legacy\",\"genesis_timestamp_seconds\":\"1600000000\","
             "\"economics\":{\"neuron_minimum_stake_e8s\":\"200000000\","
             "\"max_sustained_neurons_per_hour\":1000,\"neuron_creation_spike\":\"5000\","
             "\"voting_power_economics\":{\"clear_following_after_seconds\":\"99\"}},"
             "\"maturity_modulation_permyriad\":-300,"
             "\"neurons\":[{\"id\":\"5\",\"controller\":\"%s\",\"memo\":\"1\","
             "\"stake_e8s\":\"300000000\",\"dissolve_delay_seconds\":86400,"
             "\"hot_keys\":[\"%s\"],\"followees\":[{\"topic\":3,\"followees\":[\"6\"]}],"
             "\"maturity_e8s_equivalent\":\"7\",\"dissolving\":true,\"visibility\":\"public\"},"
             "{\"id\":\"6\",\"controller\":\"%s\",\"memo\":\"2\",\"stake_e8s\":\"100000000\","
             "\"dissolve_delay_seconds\":\"172800\"}]}",
             alice_text, bob_text, bob_text);
    const char *path = genesis_file(text);
    ck_assert_msg(gov_genesis_read(path, 1700000000, &g, &err), "%s", err.detail);
    unlink(path);
    gov_economics_t legacy;
    gov_economics_default(GOV_RULES_LEGACY, &legacy);
    ck_assert_int_eq(g.rules, GOV_RULES_LEGACY);
    ck_assert_uint_eq(g.genesis_timestamp_seconds, 1600000000);
    ck_assert_uint_eq(g.economics.neuron_minimum_stake_e8s, 200000000);
    ck_assert_uint_eq(g.economics.max_sustained_neurons_per_hour, 1000);
    ck_assert_uint_eq(g.economics.neuron_creation_spike, 5000);
    ck_assert_uint_eq(g.economics.clear_following_after_seconds, 99);
    /* what the file does not override keeps the rule set's default */
    ck_assert_uint_eq(g.economics.transaction_fee_e8s, legacy.transaction_fee_e8s);
    ck_assert_uint_eq(g.economics.neuron_minimum_dissolve_delay_to_vote_seconds,
                      legacy.neuron_minimum_dissolve_delay_to_vote_seconds);
    ck_assert(g.has_modulation && g.maturity_modulation_permyriad == -300);
    ck_assert_uint_eq(g.nneurons, 2);
    const gov_genesis_neuron_t *n = &g.neurons[0];
    ck_assert_uint_eq(n->id, 5);
    ck_assert(principal_equal(&n->controller, &alice));
    ck_assert_uint_eq(n->memo, 1);
    ck_assert_uint_eq(n->stake_e8s, 300000000);
    ck_assert_uint_eq(n->dissolve_delay_seconds, 86400);
    ck_assert_uint_eq(n->maturity_e8s_equivalent, 7);
    ck_assert(n->dissolving);
    ck_assert_int_eq(n->visibility, GOV_VISIBILITY_PUBLIC);
    ck_assert_uint_eq(n->nhot_keys, 1);
    ck_assert(principal_equal(&n->hot_keys[0], &bob));
    ck_assert_uint_eq(n->nfollowees, 1);
    ck_assert_int_eq(n->followees[0].topic, 3);
    ck_assert_uint_eq(n->followees[0].n, 1);
    ck_assert_uint_eq(n->followees[0].ids[0], 6);
    ck_assert_uint_eq(g.neurons[1].dissolve_delay_seconds, 172800); /* a string is fine too */
    ck_assert_int_eq(g.neurons[1].visibility, GOV_VISIBILITY_PRIVATE);
    ck_assert(!g.neurons[1].dissolving);
    gov_genesis_free(&g);
    ck_assert_ptr_null(g.neurons);

    genesis_refused("{\"rule_set\":\"future\"}", "an unknown rule set");
    genesis_refused("{\"rules\":\"current\"}", "an unknown member");
    genesis_refused("[]", "not an object");
    genesis_refused("{\"rule_set\":", "malformed");
    genesis_refused("{\"economics\":{\"fee\":\"1\"}}", "an unknown economics member");
    genesis_refused("{\"economics\":{\"transaction_fee_e8s\":10000}}", "a u64 as a number");
    genesis_refused("{\"maturity_modulation_permyriad\":\"5\"}", "a modulation as a string");
    genesis_refused("{\"maturity_modulation_permyriad\":20000}", "a modulation beyond 100%");
    genesis_refused("{\"neurons\":{}}", "neurons not an array");
    genesis_refused("{\"neurons\":[{\"id\":\"1\"}]}", "a neuron without its fields");
    snprintf(text, sizeof text,
             "{\"neurons\":[{\"id\":\"1\",\"controller\":\"%s\",\"memo\":\"1\","
             "\"stake_e8s\":\"100000000\",\"dissolve_delay_seconds\":1,\"x\":1}]}",
             alice_text);
    genesis_refused(text, "a neuron with an unknown member");
    snprintf(text, sizeof text,
             "{\"neurons\":[{\"id\":\"1\",\"controller\":\"%s\",\"memo\":\"1\","
             "\"stake_e8s\":\"100000000\",\"dissolve_delay_seconds\":-1}]}",
             alice_text);
    genesis_refused(text, "a negative delay");
    snprintf(text, sizeof text,
             "{\"neurons\":[{\"id\":\"1\",\"controller\":\"%s\",\"memo\":\"1\","
             "\"stake_e8s\":\"100000000\",\"dissolve_delay_seconds\":1,"
             "\"visibility\":\"secret\"}]}",
             alice_text);
    genesis_refused(text, "an unknown visibility");
    gov_genesis_t none;
    ck_assert(!gov_genesis_read("/nonexistent/genesis.json", 1, &none, &err));
    ck_assert_str_eq(err.code, "InvalidGenesis");
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("governance_api");
    TCase *t = tcase_create("api");
    tcase_add_unchecked_fixture(t, setup, NULL);
    tcase_add_test(t, test_claim_bodies);
    tcase_add_test(t, test_command_names);
    tcase_add_test(t, test_dissolve_and_simple_commands);
    tcase_add_test(t, test_hot_keys_and_accounts);
    tcase_add_test(t, test_neuron_moving_commands);
    tcase_add_test(t, test_following_bodies);
    tcase_add_test(t, test_neuron_views);
    tcase_add_test(t, test_governance_info);
    tcase_add_test(t, test_genesis_file);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(api_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
