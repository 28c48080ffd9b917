/*
 * neuron.c: the nns client's governance commands (shared/API.md "Governance"): staking in one
 * step, claim, list, show, events, one subcommand per manage-neuron command, and `nns
 * governance`. Like the rest of the client, every value is checked before anything is sent
 * (IDs, amounts, principals, accounts, topics, percentages), so a typo is a usage error, and
 * answers are printed as indented JSON.
 *
 * Amounts: --amount is in ICP (decimal, up to 8 digits after the point), --amount-e8s in e8s.
 *
 * `nns neuron stake` is the whole of spec/governance.md 2.2 from the user's side: (1) the
 * staking account of (controller, memo), computed here (SHA-256 of "neuron-stake", the
 * controller and the memo; account_identifier of governance's principal and that subaccount)
 * and checked against governance's own answer (GET /v1/neurons/staking-account) before any ICP
 * moves; (2) a legacy ledger transfer of the amount there, with the neuron's memo; (3) the
 * claim, POST /v1/neurons. It is resumable: when the staking account already holds ICP that is
 * not in a neuron (a transfer made earlier, whose claim never happened), step 2 is skipped and
 * only the claim is sent, unless that ICP could not make a neuron on its own (less than the
 * minimum stake and no neuron yet): then the new transfer adds to it. "Not in a neuron" is the
 * account's ledger balance minus the cached stake of the neuron with that account, if one
 * exists, so a second stake with the same memo tops the neuron up (a new transfer, then a
 * refresh).
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "account.h"
#include "cli.h"
#include "client.h"
#include "hex.h"
#include "keyfile.h"
#include "principal.h"

#define E8S_PER_ICP 100000000ULL
#define CLAIM_WAIT_SECONDS 60 /* how long a claim is retried while governance answers 503/409 */
#define MAX_LIST_PAGES 10000  /* a controller's neurons, 100 a page: far beyond any real one */

/* Topic names (spec/governance.md, Topics), by id. */
static const char *const TOPICS[] = {"Unspecified",
                                     "NeuronManagement",
                                     "ExchangeRate",
                                     "NetworkEconomics",
                                     "Governance",
                                     "NodeAdmin",
                                     "ParticipantManagement",
                                     "SubnetManagement",
                                     "ApplicationCanisterManagement",
                                     "Kyc",
                                     "NodeProviderRewards",
                                     "SnsDecentralizationSale",
                                     "IcOsVersionDeployment",
                                     "IcOsVersionElection",
                                     "SnsAndCommunityFund",
                                     "ApiBoundaryNodeManagement",
                                     "SubnetRental",
                                     "ProtocolCanisterManagement",
                                     "ServiceNervousSystemManagement"};
#define NTOPICS (sizeof TOPICS / sizeof TOPICS[0])

/* ---- argument checks: each prints a usage error and returns false ------------------------ */

/* An amount in ICP: digits, optionally a point and 1 to 8 digits; into e8s, at most u64. */
static bool parse_icp_arg(const char *option, const char *text, uint64_t *out)
{
    const char *point = strchr(text, '.');
    size_t whole_len = point ? (size_t)(point - text) : strlen(text);
    size_t frac_len = point ? strlen(point + 1) : 0;
    uint64_t whole = 0, frac = 0;
    bool ok =
        whole_len > 0 && strspn(text, "0123456789") == whole_len &&
        (!point || (frac_len >= 1 && frac_len <= 8 && strspn(point + 1, "0123456789") == frac_len));
    for (size_t i = 0; ok && i < whole_len; i++) {
        uint64_t d = (uint64_t)(text[i] - '0');
        ok = whole <= (UINT64_MAX - d) / 10;
        whole = whole * 10 + d;
    }
    for (size_t i = 0; ok && i < 8; i++)
        frac = frac * 10 + (i < frac_len ? (uint64_t)(point[1 + i] - '0') : 0);
    ok = ok && whole <= (UINT64_MAX - frac) / E8S_PER_ICP;
    if (!ok) {
        usage_error(
            "bad value '%s' for %s: expected an amount of ICP such as 12 or 1.5 (at most "
            "8 digits after the point; --amount-e8s for e8s), at most 184467440737.09551615",
            text, option);
        return false;
    }
    *out = whole * E8S_PER_ICP + frac;
    return true;
}

/* --amount (ICP) or --amount-e8s: *given false when neither was given. */
static bool parse_amount_options(uint64_t *out, bool *given)
{
    *given = args.amount || args.amount_e8s;
    if (args.amount && args.amount_e8s) {
        usage_error("give --amount (ICP) or --amount-e8s, not both");
        return false;
    }
    if (args.amount)
        return parse_icp_arg("--amount", args.amount, out);
    if (args.amount_e8s)
        return parse_u64_arg("--amount-e8s", args.amount_e8s, out);
    return true;
}

static bool parse_u32_arg(const char *option, const char *text, uint32_t *out)
{
    uint64_t v;
    if (!parse_u64_arg(option, text, &v))
        return false;
    if (v > UINT32_MAX) {
        usage_error("bad value '%s' for %s: at most 4294967295", text, option);
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* A percentage 1..100. */
static bool parse_percent_arg(const char *text, uint32_t *out)
{
    if (!parse_u32_arg("--percent", text, out))
        return false;
    if (*out < 1 || *out > 100) {
        usage_error("bad value '%s' for --percent: expected 1 to 100", text);
        return false;
    }
    return true;
}

/* A topic: its number (0..18) or its name, any case ("Governance", "neuronmanagement"). */
static bool parse_topic_text(const char *option, const char *text, size_t len, uint32_t *out)
{
    for (size_t k = 0; k < NTOPICS; k++)
        if (strlen(TOPICS[k]) == len && strncasecmp(TOPICS[k], text, len) == 0) {
            *out = (uint32_t)k;
            return true;
        }
    uint32_t v = 0;
    bool ok = len > 0 && len <= 2;
    for (size_t i = 0; ok && i < len; i++) {
        ok = text[i] >= '0' && text[i] <= '9';
        v = v * 10 + (uint32_t)(text[i] - '0');
    }
    if (!ok || v >= NTOPICS) {
        usage_error("bad topic '%.*s' for %s: expected a topic id 0 to %zu or a name such as "
                    "Governance or NeuronManagement",
                    (int)len, text, option, NTOPICS - 1);
        return false;
    }
    *out = v;
    return true;
}

/* "ID,ID,..." (possibly empty: no followees) into a JSON array of id strings. */
static json_t *parse_id_list(const char *option, const char *text)
{
    json_t *list = json_array();
    const char *p = text;
    if (!list)
        return NULL;
    while (*p) {
        size_t len = strcspn(p, ",");
        char item[32];
        uint64_t id;
        if (len == 0 || len >= sizeof item) {
            usage_error("bad value '%s' for %s: expected neuron ids separated by commas", text,
                        option);
            json_decref(list);
            return NULL;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (!parse_u64_arg(option, item, &id) || json_array_append_new(list, u64_string(id)) != 0) {
            json_decref(list);
            return NULL;
        }
        p += len;
        if (*p == ',' && *++p == '\0') {
            usage_error("bad value '%s' for %s: a comma at the end", text, option);
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

/* An account for disburse: 64-hex account identifier or ICRC-1 text, as 64 hex. */
static bool parse_account_id_arg(const char *option, const char *text,
                                 char out[ACCOUNT_HEX_LEN + 1])
{
    account_id_t id;
    icrc1_account_t icrc1;
    bool has_icrc1 = false;
    nns_error_t err;
    if (!account_parse_any(text, &id, &icrc1, &has_icrc1, &err)) {
        usage_error("bad value '%s' for %s: %s (expected a 64-hex account identifier or ICRC-1 "
                    "account text)",
                    text, option, err.detail);
        return false;
    }
    if (has_icrc1)
        account_id_of_icrc1(&icrc1, &id);
    account_id_to_hex(&id, out);
    return true;
}

/* ---- requests ---------------------------------------------------------------------------- */

/* Sends one request to governance and prints the answer; signed with --key when sign, or when
 * --key is given to a read (the full view for the controller and hot keys). body is stolen. */
static int gov_request(const char *method, const char *path, json_t *body, bool sign)
{
    identity_t id;
    nns_error_t err;
    char *text = NULL;
    bool have_id = false;
    int rc;
    if (body && !(text = json_dumps(body, JSON_COMPACT))) {
        json_decref(body);
        return failure("out of memory");
    }
    json_decref(body);
    if (sign || args.key) {
        if (!args.key) {
            free(text);
            return usage_error("missing option '--key FILE'");
        }
        if (!identity_load(args.key, &id, &err)) {
            free(text);
            return failure("%s", err.detail);
        }
        have_id = true;
    }
    rc = call_at(gov_url(), method, path, text, have_id ? &id : NULL);
    if (have_id)
        OPENSSL_cleanse(&id, sizeof id);
    free(text);
    return rc;
}

/* The positional neuron id, checked. */
static bool neuron_id_arg(uint64_t *id)
{
    return parse_u64_arg("ID", args.positional, id);
}

/* Signed POST /v1/neurons/{id}/{name} of body (stolen; NULL after an allocation failure). */
static int manage(const char *name, json_t *body, bool ok)
{
    uint64_t id;
    char path[96];
    if (!neuron_id_arg(&id)) {
        json_decref(body);
        return EXIT_USAGE;
    }
    if (!body || !ok) {
        json_decref(body);
        return failure("out of memory");
    }
    snprintf(path, sizeof path, "/v1/neurons/%" PRIu64 "/%s", id, name);
    return gov_request("POST", path, body, true);
}

/* GET base with limit and cursor when given (and more query parameters in base). */
static int gov_get_list(const char *base)
{
    uint64_t limit = 0;
    char limit_text[21];
    if (args.limit && !parse_u64_arg("--limit", args.limit, &limit))
        return EXIT_USAGE;
    snprintf(limit_text, sizeof limit_text, "%" PRIu64, limit);
    char *path = strdup(base);
    bool ok = path != NULL;
    if (ok && args.limit)
        ok = append_query(&path, "limit", limit_text);
    if (ok && args.cursor)
        ok = append_query(&path, "cursor", args.cursor);
    int rc = ok ? gov_request("GET", path, NULL, false) : failure("out of memory");
    free(path);
    return rc;
}

/* ---- reads ------------------------------------------------------------------------------- */

static int cmd_governance(void)
{
    return gov_request("GET", "/v1/governance", NULL, false);
}

static int cmd_neuron_show(void)
{
    uint64_t id;
    char path[48];
    if (!neuron_id_arg(&id))
        return EXIT_USAGE;
    snprintf(path, sizeof path, "/v1/neurons/%" PRIu64, id);
    return gov_request("GET", path, NULL, false);
}

static int cmd_neuron_events(void)
{
    uint64_t id;
    char path[64];
    if (!neuron_id_arg(&id))
        return EXIT_USAGE;
    snprintf(path, sizeof path, "/v1/neurons/%" PRIu64 "/events", id);
    return gov_get_list(path);
}

static int cmd_neuron_list(void)
{
    char controller[PRINCIPAL_TEXT_MAX], *path = strdup("/v1/neurons");
    int rc;
    if (!path)
        return failure("out of memory");
    if (!parse_principal_arg("--controller", args.controller, controller)) {
        free(path);
        return EXIT_USAGE;
    }
    rc = append_query(&path, "controller", controller) ? gov_get_list(path)
                                                       : failure("out of memory");
    free(path);
    return rc;
}

/* ---- claim and stake --------------------------------------------------------------------- */

/* The claim body {memo, controller?}; NULL on allocation failure. */
static json_t *claim_body(uint64_t memo, const char *controller)
{
    json_t *body = json_object();
    bool ok = body != NULL;
    if (ok)
        set_member(body, "memo", u64_string(memo), &ok);
    if (ok && controller)
        set_member(body, "controller", json_string(controller), &ok);
    if (!ok) {
        json_decref(body);
        return NULL;
    }
    return body;
}

static int cmd_neuron_claim(void)
{
    uint64_t memo;
    char controller[PRINCIPAL_TEXT_MAX];
    if (!parse_u64_arg("--memo", args.memo, &memo) ||
        (args.controller && !parse_principal_arg("--controller", args.controller, controller)))
        return EXIT_USAGE;
    json_t *body = claim_body(memo, args.controller ? controller : NULL);
    if (!body)
        return failure("out of memory");
    return gov_request("POST", "/v1/neurons", body, true);
}

/* The cached stake of the neuron whose account is aid, listed under controller; 0 (and *found
 * false) when there is none. Returns EXIT_OK or a printed failure. */
static int claimed_stake(nns_client_t *gov, const char *controller, const char *aid,
                         uint64_t *stake, bool *found)
{
    char *cursor = NULL;
    int rc = EXIT_OK;
    *stake = 0;
    *found = false;
    bool last = false;
    for (int page = 0; page < MAX_LIST_PAGES && rc == EXIT_OK && !*found && !last; page++) {
        char *path = strdup("/v1/neurons"), *text = NULL;
        json_t *json = NULL;
        long status = 0;
        nns_error_t err;
        bool ok = path && append_query(&path, "controller", controller) &&
                  append_query(&path, "limit", "100") &&
                  (!cursor || append_query(&path, "cursor", cursor));
        if (!ok) {
            rc = failure("out of memory");
        } else if (request_json(gov, "GET", path, NULL, false, &status, &text, &json, &err) != 0) {
            rc = request_failure("GET", path, status, text, &err);
        } else {
            size_t k;
            json_t *n, *neurons = json_object_get(json, "neurons");
            json_array_foreach(neurons, k, n)
            {
                const char *a = json_string_value(json_object_get(n, "account_identifier"));
                if (a && strcmp(a, aid) == 0) {
                    *found = true;
                    if (!json_u64_member(n, "cached_neuron_stake_e8s", stake))
                        rc = failure("'GET %s' answered a neuron without a valid "
                                     "cached_neuron_stake_e8s",
                                     path);
                    break;
                }
            }
            const char *next = json_string_value(json_object_get(json, "next_cursor"));
            free(cursor);
            cursor = next && *next ? strdup(next) : NULL;
            if (!json_is_array(neurons))
                rc = failure("'GET %s' answered without a neurons list", path);
            last = cursor == NULL;
        }
        json_decref(json);
        free(text);
        free(path);
    }
    free(cursor);
    return rc;
}

/* The staking account of (controller, memo) into aid_hex, computed here and checked against
 * governance's answer. Returns EXIT_OK or a printed failure. */
static int staking_account(nns_client_t *gov, const principal_t *controller,
                           const char *controller_text, uint64_t memo,
                           char aid_hex[ACCOUNT_HEX_LEN + 1])
{
    uint8_t sub[SUBACCOUNT_BYTES];
    principal_t governance;
    account_id_t aid;
    char memo_text[21], *path = strdup("/v1/neurons/staking-account"), *text = NULL;
    json_t *json = NULL;
    long status = 0;
    nns_error_t err;
    int rc = EXIT_OK;

    /* spec/governance.md 2.2 (compute_neuron_staking_subaccount in dfinity/ic ledger.rs) */
    neuron_staking_subaccount(controller, memo, sub);
    principal_canister(CANISTER_GOVERNANCE, &governance);
    account_id_of(&governance, sub, &aid);
    account_id_to_hex(&aid, aid_hex);
    snprintf(memo_text, sizeof memo_text, "%" PRIu64, memo);
    if (!path || !append_query(&path, "controller", controller_text) ||
        !append_query(&path, "memo", memo_text)) {
        rc = failure("out of memory");
    } else if (request_json(gov, "GET", path, NULL, false, &status, &text, &json, &err) != 0) {
        rc = request_failure("GET", path, status, text, &err);
    } else {
        const char *theirs = json_string_value(json_object_get(json, "account_identifier"));
        if (!theirs || strcmp(theirs, aid_hex) != 0)
            rc = failure("governance names the staking account %s, not %s (computed from the "
                         "controller and memo as spec/governance.md 2.2 says); no ICP was sent",
                         theirs ? theirs : "(none)", aid_hex);
    }
    json_decref(json);
    free(text);
    free(path);
    return rc;
}

/* The legacy transfer of amount to the staking account aid with the neuron's memo, sent again
 * with the same body (so the ledger deduplicates it) only while no answer comes. */
static int stake_transfer(nns_client_t *ledger, const char *aid, uint64_t amount, uint64_t memo,
                          uint64_t *block, uint64_t *fee)
{
    uint64_t now_nanos;
    char *body_text = NULL, *text = NULL;
    json_t *json = NULL, *body = NULL;
    long status = 0;
    nns_error_t err;
    bool ok = true;
    int rc;

    if ((rc = get_u64(ledger, "/v1/ledger", "fee_e8s", fee)) != EXIT_OK ||
        (rc = get_u64(ledger, "/v1/identity", "now_nanos", &now_nanos)) != EXIT_OK)
        return rc;
    body = json_object();
    set_member(body, "to", json_string(aid), &ok);
    set_member(body, "amount_e8s", u64_string(amount), &ok);
    set_member(body, "fee_e8s", u64_string(*fee), &ok);
    set_member(body, "memo", u64_string(memo), &ok);
    set_member(body, "created_at_time", u64_string(now_nanos), &ok);
    if (!ok || !(body_text = json_dumps(body, JSON_COMPACT))) {
        json_decref(body);
        return failure("out of memory");
    }
    json_decref(body);
    rc = EXIT_FAIL;
    for (int attempt = 0;; attempt++) {
        if (request_json(ledger, "POST", "/v1/transfers", body_text, true, &status, &text, &json,
                         &err) == 0) {
            rc = json_u64_member(json, "block_index", block)
                     ? EXIT_OK
                     : failure("'POST /v1/transfers' answered without a valid block_index");
            break;
        }
        /* a resend found the first one committed: its block is the payment */
        if (attempt > 0 && status == 409 && strcmp(err.code, "TxDuplicate") == 0) {
            for (int k = 0; k < err.npayload; k++)
                if (strcmp(err.payload[k].name, "duplicate_of") == 0) {
                    *block = err.payload[k].value;
                    rc = EXIT_OK;
                }
            if (rc == EXIT_OK)
                break;
        }
        if (status != 0 || attempt >= 4) {
            if (status == 0)
                fprintf(stderr,
                        "nns %s: no answer from the ledger: the transfer of %" PRIu64
                        " e8s to %s may or may not have happened; run the same command again: "
                        "it claims what is on the staking account\n",
                        command->name, amount, aid);
            rc = request_failure("POST", "/v1/transfers", status, text, &err);
            break;
        }
        free(text);
        text = NULL;
        sleep_ms(500u << attempt);
    }
    json_decref(json);
    free(text);
    free(body_text);
    return rc;
}

/* The claim, sent again while governance answers nothing, 503 (the creation limiter, not
 * ready) or 409 (the staking account locked by a claim in flight), for at most wait_seconds;
 * on success *neuron holds the answer. */
static int stake_claim(nns_client_t *gov, uint64_t memo, const char *controller,
                       uint64_t wait_seconds, json_t **neuron)
{
    json_t *body = claim_body(memo, controller);
    char *body_text = body ? json_dumps(body, JSON_COMPACT) : NULL, *text = NULL;
    long status = 0;
    nns_error_t err;
    int rc = EXIT_FAIL;
    uint64_t deadline = monotonic_ms() + wait_seconds * 1000u, delay = 250;

    json_decref(body);
    if (!body_text)
        return failure("out of memory");
    for (;;) {
        if (request_json(gov, "POST", "/v1/neurons", body_text, true, &status, &text, neuron,
                         &err) == 0) {
            rc = EXIT_OK;
            break;
        }
        bool again = status == 0 || status == 503 || status == 429 || status == 409;
        uint64_t now = monotonic_ms();
        if (!again || now >= deadline) {
            rc = request_failure("POST", "/v1/neurons", status, text, &err);
            fprintf(stderr,
                    "nns %s: the ICP is on the staking account, nothing is lost; claim it later "
                    "with 'nns neuron claim --memo %" PRIu64 "%s%s' or this same command\n",
                    command->name, memo, controller ? " --controller " : "",
                    controller ? controller : "");
            break;
        }
        free(text);
        text = NULL;
        sleep_ms(deadline - now < delay ? deadline - now : delay);
        delay = delay * 2 > 4000 ? 4000 : delay * 2;
    }
    free(text);
    free(body_text);
    return rc;
}

/* The minimum stake from GET /v1/governance (economics.neuron_minimum_stake_e8s). */
static int minimum_stake(nns_client_t *gov, uint64_t *out)
{
    long status = 0;
    char *text = NULL;
    json_t *json = NULL;
    nns_error_t err;
    int rc = EXIT_OK;
    if (request_json(gov, "GET", "/v1/governance", NULL, false, &status, &text, &json, &err) != 0)
        rc = request_failure("GET", "/v1/governance", status, text, &err);
    else if (!json_u64_member(json_object_get(json, "economics"), "neuron_minimum_stake_e8s", out))
        rc = failure("'GET /v1/governance' answered without economics.neuron_minimum_stake_e8s");
    json_decref(json);
    free(text);
    return rc;
}

static int cmd_neuron_stake(void)
{
    uint64_t memo, amount = 0, wait_seconds = CLAIM_WAIT_SECONDS, balance = 0, stake = 0, block = 0,
                   fee = 0, min_stake = 0;
    bool amount_given, found = false, transferred = false, have_id = false;
    char controller_text[PRINCIPAL_TEXT_MAX], aid[ACCOUNT_HEX_LEN + 1], path[96];
    principal_t controller;
    identity_t id;
    nns_error_t err;
    nns_client_t *ledger = NULL, *gov = NULL;
    json_t *neuron = NULL;
    int rc = EXIT_USAGE;

    if (!parse_u64_arg("--memo", args.memo, &memo) || !parse_amount_options(&amount, &amount_given))
        goto done;
    if (!amount_given) {
        usage_error("missing option '--amount ICP' (or '--amount-e8s E8S')");
        goto done;
    }
    if (args.wait && !parse_u64_arg("--wait", args.wait, &wait_seconds))
        goto done;
    if (wait_seconds > 86400) {
        usage_error("bad value '%s' for --wait: at most 86400 seconds", args.wait);
        goto done;
    }
    if (args.controller && !principal_from_text(args.controller, &controller, &err)) {
        usage_error("bad value '%s' for --controller: %s (expected a principal such as "
                    "rrkah-fqaaa-aaaaa-aaaaq-cai)",
                    args.controller, err.detail);
        goto done;
    }
    if (!identity_load(args.key, &id, &err)) {
        rc = failure("%s", err.detail);
        goto done;
    }
    have_id = true;
    if (!args.controller)
        controller = id.principal;
    principal_to_text(&controller, controller_text);
    if (!(ledger = nns_client_new(service_url(), &id)) || !(gov = nns_client_new(gov_url(), &id))) {
        rc = failure("cannot create a client for '%s'", ledger ? gov_url() : service_url());
        goto done;
    }

    /* 1. the staking account, and what is on it that no neuron holds yet */
    if ((rc = staking_account(gov, &controller, controller_text, memo, aid)) != EXIT_OK)
        goto done;
    snprintf(path, sizeof path, "/v1/accounts/%s", aid);
    if ((rc = get_u64(ledger, path, "balance_e8s", &balance)) != EXIT_OK ||
        (rc = claimed_stake(gov, controller_text, aid, &stake, &found)) != EXIT_OK)
        goto done;

    /* ICP on the account that no neuron holds yet: a transfer made earlier whose claim never
     * happened. It is claimed without a new transfer, unless it could not make a neuron (less
     * than the minimum stake and no neuron yet): then the new transfer adds to it. */
    uint64_t unclaimed = balance > stake ? balance - stake : 0;
    if (!found && (rc = minimum_stake(gov, &min_stake)) != EXIT_OK)
        goto done;
    if (unclaimed > 0 && (found || unclaimed >= min_stake)) {
        fprintf(stderr,
                "nns %s: the staking account %s already holds %" PRIu64 " e8s that %s; "
                "claiming them without a new transfer (--amount not used)\n",
                command->name, aid, unclaimed,
                found ? "the neuron does not hold yet" : "no neuron holds");
    } else {
        /* 2. the transfer, after checking that it can make (or top up) a neuron */
        if (!found && unclaimed + amount < min_stake) {
            rc = failure("%" PRIu64 " e8s%s is below the minimum stake of a new neuron, %" PRIu64
                         " e8s; no ICP was sent",
                         unclaimed + amount, unclaimed ? " (with what the account holds)" : "",
                         min_stake);
            goto done;
        }
        if ((rc = stake_transfer(ledger, aid, amount, memo, &block, &fee)) != EXIT_OK)
            goto done;
        transferred = true;
        fprintf(stderr,
                "nns %s: block %" PRIu64 ": sent %" PRIu64 " e8s (fee %" PRIu64
                ") to the staking account %s with memo %" PRIu64 "; claiming\n",
                command->name, block, amount, fee, aid, memo);
    }

    /* 3. the claim (the body names the controller only when --controller was given) */
    if ((rc = stake_claim(gov, memo, args.controller ? controller_text : NULL, wait_seconds,
                          &neuron)) != EXIT_OK)
        goto done;
    const char *nid = json_string_value(json_object_get(neuron, "id"));
    fprintf(stderr, "nns %s: neuron %s %s\n", command->name, nid ? nid : "?",
            found ? "refreshed (topped up)" : "created");

    json_t *out = json_object(), *transfer = NULL;
    bool ok = out != NULL;
    if (ok)
        set_member(out, "staking_account_identifier", json_string(aid), &ok);
    if (ok)
        set_member(out, "controller", json_string(controller_text), &ok);
    if (ok)
        set_member(out, "memo", u64_string(memo), &ok);
    if (ok && transferred) {
        transfer = json_object();
        set_member(transfer, "block_index", u64_string(block), &ok);
        set_member(transfer, "amount_e8s", u64_string(amount), &ok);
        set_member(transfer, "fee_e8s", u64_string(fee), &ok);
        set_member(out, "transfer", transfer, &ok);
    } else if (ok) {
        set_member(out, "transfer", json_null(), &ok);
        set_member(out, "resumed_unclaimed_e8s", u64_string(unclaimed), &ok);
    }
    if (ok)
        set_member(out, "action", json_string(found ? "refreshed" : "created"), &ok);
    if (ok) {
        set_member(out, "neuron", neuron, &ok);
        neuron = NULL;
    }
    if (!ok) {
        json_decref(out);
        out = NULL;
    }
    rc = print_json(out);
done:
    json_decref(neuron);
    nns_client_destroy(&ledger);
    nns_client_destroy(&gov);
    if (have_id)
        OPENSSL_cleanse(&id, sizeof id);
    return rc;
}

/* ---- manage-neuron commands -------------------------------------------------------------- */

static int cmd_increase_dissolve_delay(void)
{
    uint32_t seconds = 0, days = 0;
    if ((args.seconds != NULL) == (args.days != NULL))
        return usage_error("give exactly one of --seconds N and --days N");
    if ((args.seconds && !parse_u32_arg("--seconds", args.seconds, &seconds)) ||
        (args.days && !parse_u32_arg("--days", args.days, &days)))
        return EXIT_USAGE;
    if (args.days) {
        if (days > UINT32_MAX / 86400u)
            return usage_error("bad value '%s' for --days: at most %u", args.days,
                               UINT32_MAX / 86400u);
        seconds = days * 86400u;
    }
    json_t *body = json_object();
    bool ok = true;
    set_member(body, "additional_dissolve_delay_seconds", json_integer(seconds), &ok);
    return manage("increase-dissolve-delay", body, ok);
}

static int cmd_set_dissolve_timestamp(void)
{
    uint64_t ts;
    bool ok = true;
    if (!parse_u64_arg("--timestamp", args.timestamp, &ts))
        return EXIT_USAGE;
    json_t *body = json_object();
    set_member(body, "dissolve_timestamp_seconds", u64_string(ts), &ok);
    return manage("set-dissolve-timestamp", body, ok);
}

static int cmd_start_dissolving(void)
{
    return manage("start-dissolving", json_object(), true);
}

static int cmd_stop_dissolving(void)
{
    return manage("stop-dissolving", json_object(), true);
}

static int cmd_refresh_voting_power(void)
{
    return manage("refresh-voting-power", json_object(), true);
}

static int cmd_join_community_fund(void)
{
    return manage("join-community-fund", json_object(), true);
}

static int cmd_leave_community_fund(void)
{
    return manage("leave-community-fund", json_object(), true);
}

static int hot_key_command(const char *name, const char *member)
{
    char key[PRINCIPAL_TEXT_MAX];
    bool ok = true;
    if (!parse_principal_arg("--hot-key", args.hot_key, key))
        return EXIT_USAGE;
    json_t *body = json_object();
    set_member(body, member, json_string(key), &ok);
    return manage(name, body, ok);
}

static int cmd_add_hot_key(void)
{
    return hot_key_command("add-hot-key", "new_hot_key");
}

static int cmd_remove_hot_key(void)
{
    return hot_key_command("remove-hot-key", "hot_key_to_remove");
}

static int cmd_disburse(void)
{
    char to[ACCOUNT_HEX_LEN + 1];
    uint64_t amount = 0;
    bool given, ok = true;
    if ((args.to && !parse_account_id_arg("--to", args.to, to)) ||
        !parse_amount_options(&amount, &given))
        return EXIT_USAGE;
    json_t *body = json_object();
    if (args.to)
        set_member(body, "to_account", json_string(to), &ok);
    if (given)
        set_member(body, "amount_e8s", u64_string(amount), &ok);
    return manage("disburse", body, ok);
}

static int cmd_split(void)
{
    uint64_t amount = 0, memo = 0;
    bool given, ok = true;
    if (!parse_amount_options(&amount, &given) ||
        (args.memo && !parse_u64_arg("--memo", args.memo, &memo)))
        return EXIT_USAGE;
    if (!given)
        return usage_error("missing option '--amount ICP' (or '--amount-e8s E8S')");
    json_t *body = json_object();
    set_member(body, "amount_e8s", u64_string(amount), &ok);
    if (args.memo)
        set_member(body, "memo", u64_string(memo), &ok);
    return manage("split", body, ok);
}

static int cmd_merge(void)
{
    uint64_t source;
    bool ok = true;
    if (!parse_u64_arg("--source", args.source, &source))
        return EXIT_USAGE;
    json_t *body = json_object();
    set_member(body, "source_neuron_id", u64_string(source), &ok);
    return manage("merge", body, ok);
}

static int cmd_spawn(void)
{
    uint32_t percent = 0;
    uint64_t nonce = 0;
    char controller[PRINCIPAL_TEXT_MAX];
    bool ok = true;
    if ((args.percent && !parse_percent_arg(args.percent, &percent)) ||
        (args.new_controller &&
         !parse_principal_arg("--new-controller", args.new_controller, controller)) ||
        (args.nonce && !parse_u64_arg("--nonce", args.nonce, &nonce)))
        return EXIT_USAGE;
    json_t *body = json_object();
    if (args.percent)
        set_member(body, "percentage_to_spawn", json_integer(percent), &ok);
    if (args.new_controller)
        set_member(body, "new_controller", json_string(controller), &ok);
    if (args.nonce)
        set_member(body, "nonce", u64_string(nonce), &ok);
    return manage("spawn", body, ok);
}

static int cmd_stake_maturity(void)
{
    uint32_t percent = 0;
    bool ok = true;
    if (args.percent && !parse_percent_arg(args.percent, &percent))
        return EXIT_USAGE;
    json_t *body = json_object();
    if (args.percent)
        set_member(body, "percentage_to_stake", json_integer(percent), &ok);
    return manage("stake-maturity", body, ok);
}

static int cmd_disburse_maturity(void)
{
    uint32_t percent;
    bool ok = true;
    if (!parse_percent_arg(args.percent, &percent))
        return EXIT_USAGE;
    json_t *body = json_object();
    set_member(body, "percentage_to_disburse", json_integer(percent), &ok);
    if (args.to) {
        account_id_t id;
        icrc1_account_t icrc1;
        bool has_icrc1 = false;
        nns_error_t err;
        char text[ICRC1_TEXT_MAX];
        if (!account_parse_any(args.to, &id, &icrc1, &has_icrc1, &err)) {
            json_decref(body);
            return usage_error("bad value '%s' for --to: %s (expected ICRC-1 account text or a "
                               "64-hex account identifier)",
                               args.to, err.detail);
        }
        if (has_icrc1) {
            icrc1_account_to_text(&icrc1, text);
            set_member(body, "to_account", json_string(text), &ok);
        } else {
            account_id_to_hex(&id, text);
            set_member(body, "to_account_identifier", json_string(text), &ok);
        }
    }
    return manage("disburse-maturity", body, ok);
}

static int cmd_auto_stake_maturity(void)
{
    bool on = strcmp(args.positional2, "on") == 0, ok = true;
    if (!on && strcmp(args.positional2, "off") != 0)
        return usage_error("bad setting '%s': expected on or off", args.positional2);
    json_t *body = json_object();
    set_member(body, "requested_setting_for_auto_stake_maturity", json_boolean(on), &ok);
    return manage("auto-stake-maturity", body, ok);
}

static int cmd_set_visibility(void)
{
    bool ok = true;
    if (strcmp(args.positional2, "private") != 0 && strcmp(args.positional2, "public") != 0)
        return usage_error("bad visibility '%s': expected private or public", args.positional2);
    json_t *body = json_object();
    set_member(body, "visibility", json_string(args.positional2), &ok);
    return manage("set-visibility", body, ok);
}

static int cmd_follow(void)
{
    uint32_t topic;
    bool ok = true;
    if (!parse_topic_text("--topic", args.topic, strlen(args.topic), &topic))
        return EXIT_USAGE;
    json_t *followees = parse_id_list("--followees", args.followees);
    if (!followees)
        return EXIT_USAGE;
    json_t *body = json_object();
    set_member(body, "topic", json_integer(topic), &ok);
    set_member(body, "followees", followees, &ok);
    return manage("follow", body, ok);
}

static int cmd_set_following(void)
{
    json_t *list = json_array(), *body = json_object();
    bool ok = list && body;
    if (args.ntopic_following == 0) {
        json_decref(list);
        json_decref(body);
        return usage_error("missing option '--topic TOPIC=ID,...' (repeat it, one per topic)");
    }
    for (size_t k = 0; ok && k < args.ntopic_following; k++) {
        const char *text = args.topic_following[k], *eq = strchr(text, '=');
        uint32_t topic;
        json_t *followees = NULL, *entry = NULL;
        if (!eq) {
            usage_error("bad value '%s' for --topic: expected TOPIC=ID,ID,... (TOPIC= alone "
                        "clears the topic)",
                        text);
            goto usage;
        }
        if (!parse_topic_text("--topic", text, (size_t)(eq - text), &topic) ||
            !(followees = parse_id_list("--topic", eq + 1)))
            goto usage;
        entry = json_object();
        set_member(entry, "topic", json_integer(topic), &ok);
        set_member(entry, "followees", followees, &ok);
        if (json_array_append_new(list, entry) != 0)
            ok = false;
    }
    set_member(body, "topic_following", list, &ok);
    return manage("set-following", body, ok);
usage:
    json_decref(list);
    json_decref(body);
    return EXIT_USAGE;
}

/* ---- the table --------------------------------------------------------------------------- */

#define KEY_OPTION(who)                                                                            \
    {                                                                                              \
        "key", "FILE", &args.key, true, "key file of the " who                                     \
    }
#define READ_KEY_OPTION                                                                            \
    {                                                                                              \
        "key", "FILE", &args.key, false,                                                           \
            "sign the read with this key (the full view for the controller and hot keys)"          \
    }
#define SIMPLE(verb, fn, what)                                                                     \
    {                                                                                              \
        "neuron " verb, "ID", REMOTE_GOV, fn, what,                                                \
        {                                                                                          \
            KEY_OPTION("controller or a hot key")                                                  \
        }                                                                                          \
    }

const cli_command_t NEURON_COMMANDS[] = {
    {"governance",
     NULL,
     REMOTE_GOV,
     cmd_governance,
     "GET /v1/governance: rule set, economics, maturity modulation and neuron totals",
     {{0}}},
    {"neuron stake",
     NULL,
     REMOTE_LEDGER | REMOTE_GOV,
     cmd_neuron_stake,
     "stake in one step: the transfer to the staking account, then the claim (resumable; the "
     "same memo again tops the neuron up)",
     {KEY_OPTION("payer (the controller unless --controller is given)"),
      {"amount", "ICP", &args.amount, false,
       "ICP to stake, e.g. 10 or 1.5 (the ledger fee is extra)"},
      {"amount-e8s", "E8S", &args.amount_e8s, false, "the amount in e8s instead"},
      {"memo", "N", &args.memo, true, "the neuron's memo (u64): one staking account per memo"},
      {"controller", "PRINCIPAL", &args.controller, false,
       "the neuron's controller (default: the key's principal)"},
      {"wait", "SECONDS", &args.wait, false,
       "retry the claim while governance answers 503 or 409 (default: 60)"}}},
    {"neuron claim",
     NULL,
     REMOTE_GOV,
     cmd_neuron_claim,
     "signed POST /v1/neurons: claim (or refresh after a top-up) the ICP on the staking account",
     {KEY_OPTION("claimer (the controller unless --controller is given)"),
      {"memo", "N", &args.memo, true, "the neuron's memo"},
      {"controller", "PRINCIPAL", &args.controller, false,
       "claim for this controller (default: the key's principal)"}}},
    {"neuron list",
     NULL,
     REMOTE_GOV,
     cmd_neuron_list,
     "GET /v1/neurons?controller=P: a controller's neurons by id",
     {{"controller", "PRINCIPAL", &args.controller, true, "whose neurons"},
      {"limit", "N", &args.limit, false, "page size (1..100, default 50)"},
      {"cursor", "CURSOR", &args.cursor, false, "next_cursor of the previous page"},
      READ_KEY_OPTION}},
    {"neuron show",
     "ID",
     REMOTE_GOV,
     cmd_neuron_show,
     "GET /v1/neurons/ID: one neuron (public view, or full with --key of its controller)",
     {READ_KEY_OPTION}},
    {"neuron events",
     "ID",
     REMOTE_GOV,
     cmd_neuron_events,
     "GET /v1/neurons/ID/events: the neuron's history, newest first (a private neuron's hot "
     "keys and followees only for its controller and hot keys: --key)",
     {{"limit", "N", &args.limit, false, "page size (1..100, default 50)"},
      {"cursor", "CURSOR", &args.cursor, false, "next_cursor of the previous page"},
      READ_KEY_OPTION}},
    {"neuron increase-dissolve-delay",
     "ID",
     REMOTE_GOV,
     cmd_increase_dissolve_delay,
     "add to the dissolve delay (capped at the rule set's maximum)",
     {KEY_OPTION("controller"),
      {"seconds", "N", &args.seconds, false, "seconds to add (u32)"},
      {"days", "N", &args.days, false, "days to add instead"}}},
    {"neuron set-dissolve-timestamp",
     "ID",
     REMOTE_GOV,
     cmd_set_dissolve_timestamp,
     "make the neuron dissolve no earlier than a time (later than its current delay)",
     {KEY_OPTION("controller"), {"timestamp", "SECONDS", &args.timestamp, true, "Unix seconds"}}},
    {"neuron start-dissolving",
     "ID",
     REMOTE_GOV,
     cmd_start_dissolving,
     "start dissolving (the age is lost)",
     {KEY_OPTION("controller")}},
    {"neuron stop-dissolving",
     "ID",
     REMOTE_GOV,
     cmd_stop_dissolving,
     "stop dissolving (the remaining delay is kept, the age restarts)",
     {KEY_OPTION("controller")}},
    {"neuron add-hot-key",
     "ID",
     REMOTE_GOV,
     cmd_add_hot_key,
     "add a hot key (at most 10)",
     {KEY_OPTION("controller"),
      {"hot-key", "PRINCIPAL", &args.hot_key, true, "the principal to add"}}},
    {"neuron remove-hot-key",
     "ID",
     REMOTE_GOV,
     cmd_remove_hot_key,
     "remove a hot key (the controller, or the hot key itself)",
     {KEY_OPTION("controller or the hot key"),
      {"hot-key", "PRINCIPAL", &args.hot_key, true, "the principal to remove"}}},
    {"neuron disburse",
     "ID",
     REMOTE_GOV,
     cmd_disburse,
     "move a dissolved neuron's stake to an account (fees burned first); answers the block",
     {KEY_OPTION("controller"),
      {"to", "ACCOUNT", &args.to, false, "destination (default: the controller's account)"},
      {"amount", "ICP", &args.amount, false, "how much (default: the whole stake)"},
      {"amount-e8s", "E8S", &args.amount_e8s, false, "how much, in e8s"}}},
    {"neuron split",
     "ID",
     REMOTE_GOV,
     cmd_split,
     "split off a new neuron with part of the stake; answers its id",
     {KEY_OPTION("controller"),
      {"amount", "ICP", &args.amount, false, "the new neuron's share (before the fee)"},
      {"amount-e8s", "E8S", &args.amount_e8s, false, "the share, in e8s"},
      {"memo", "N", &args.memo, false, "derive the child's subaccount from this memo"}}},
    {"neuron merge",
     "ID",
     REMOTE_GOV,
     cmd_merge,
     "merge another neuron of the same controller into neuron ID (the target)",
     {KEY_OPTION("controller of both"),
      {"source", "ID", &args.source, true, "the neuron merged away"}}},
    {"neuron spawn",
     "ID",
     REMOTE_GOV,
     cmd_spawn,
     "turn maturity into a new neuron (minted with the modulation after the spawn delay)",
     {KEY_OPTION("controller"),
      {"percent", "N", &args.percent, false, "share of the maturity, 1..100 (default 100)"},
      {"new-controller", "PRINCIPAL", &args.new_controller, false,
       "the new neuron's controller (default: this one's)"},
      {"nonce", "N", &args.nonce, false, "derive the new neuron's subaccount from this nonce"}}},
    {"neuron stake-maturity",
     "ID",
     REMOTE_GOV,
     cmd_stake_maturity,
     "move maturity to staked maturity (it then counts in voting power)",
     {KEY_OPTION("controller"),
      {"percent", "N", &args.percent, false, "share of the maturity, 1..100 (default 100)"}}},
    {"neuron disburse-maturity",
     "ID",
     REMOTE_GOV,
     cmd_disburse_maturity,
     "disburse maturity as ICP, minted with the modulation 7 days later",
     {KEY_OPTION("controller"),
      {"percent", "N", &args.percent, true, "share of the maturity, 1..100"},
      {"to", "ACCOUNT", &args.to, false,
       "ICRC-1 account or 64-hex account identifier (default: the controller's)"}}},
    {"neuron auto-stake-maturity",
     "ID on|off",
     REMOTE_GOV,
     cmd_auto_stake_maturity,
     "credit future rewards to staked maturity (on) or maturity (off)",
     {KEY_OPTION("controller")}},
    {"neuron follow",
     "ID",
     REMOTE_GOV,
     cmd_follow,
     "follow up to 15 neurons on one topic (an empty list stops following it)",
     {KEY_OPTION("controller or a hot key (not for NeuronManagement)"),
      {"topic", "TOPIC", &args.topic, true, "topic id 0..18 or name (Governance, ...)"},
      {"followees", "ID,...", &args.followees, true, "neuron ids, comma-separated, or ''"}}},
    {"neuron set-following",
     "ID",
     REMOTE_GOV,
     cmd_set_following,
     "set the followees of several topics at once",
     {KEY_OPTION("controller or a hot key (not for NeuronManagement)"),
      {"topic", "TOPIC=ID,...", args.topic_following, false,
       "a topic and its followees; repeatable, one per topic ('TOPIC=' clears one)"}}},
    SIMPLE("refresh-voting-power", cmd_refresh_voting_power,
           "confirm the following: the deciding voting power is full again"),
    {"neuron set-visibility",
     "ID private|public",
     REMOTE_GOV,
     cmd_set_visibility,
     "make the neuron's controller, hot keys and followees public or private",
     {KEY_OPTION("controller")}},
    SIMPLE("join-community-fund", cmd_join_community_fund, "join the Neurons' Fund"),
    SIMPLE("leave-community-fund", cmd_leave_community_fund, "leave the Neurons' Fund"),
};
const size_t NEURON_NCOMMANDS = sizeof NEURON_COMMANDS / sizeof NEURON_COMMANDS[0];
