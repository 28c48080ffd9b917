/*
 * proposal.c: the nns client's proposal commands (shared/API.md "Governance", issue 13): submit a
 * proposal, list, show, read its ballots and votes, vote, and read the reward events, the known
 * neurons and the node providers. As everywhere in the client, every value is checked before
 * anything is sent, so a typo is a usage error (exit 2), and answers are printed as indented
 * JSON.
 *
 * `nns proposal submit` builds the action from exactly one of:
 *   --motion TEXT                      Motion {motion_text}
 *   --action-json FILE|-               any action object {type, ...} as the API takes it
 *   --economics field=value,...        ManageNetworkEconomics: economics fields (those of GET
 *                                      /v1/governance; voting_power_economics fields by their
 *                                      own names or as voting_power_economics.NAME)
 *   --register-known-neuron ID --name N [--description D]
 *                                      RegisterKnownNeuron
 *   --conversion-rate XDR_PERMYRIAD [--timestamp SECONDS]
 *                                      ExecuteNnsFunction 10 {xdr_permyriad_per_icp,
 *                                      timestamp_seconds} (default: the wall clock's seconds)
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "client.h"
#include "keyfile.h"

#define ACTION_JSON_MAX (2u << 20) /* an --action-json file: far above any payload limit */

/* ---- requests ---------------------------------------------------------------------------- */

/* Sends one request to governance and prints the answer; signed with --key when sign. body is
 * stolen. */
static int gov_send(const char *method, const char *path, json_t *body, bool sign)
{
    identity_t id;
    nns_error_t err;
    char *text = NULL;
    int rc;
    if (body && !(text = json_dumps(body, JSON_COMPACT))) {
        json_decref(body);
        return failure("out of memory");
    }
    json_decref(body);
    if (!sign) {
        rc = call_at(gov_url(), method, path, text, NULL);
        free(text);
        return rc;
    }
    if (!args.key) {
        free(text);
        return usage_error("missing option '--key FILE'");
    }
    if (!identity_load(args.key, &id, &err)) {
        free(text);
        return failure("%s", err.detail);
    }
    rc = call_at(gov_url(), method, path, text, &id);
    OPENSSL_cleanse(&id, sizeof id);
    free(text);
    return rc;
}

/* GET path (owned by the caller) with --limit and --cursor appended when given. */
static int get_page(char **path)
{
    uint64_t limit;
    char limit_text[21];
    bool ok = true;
    if (args.limit) {
        if (!parse_u64_arg("--limit", args.limit, &limit))
            return EXIT_USAGE;
        snprintf(limit_text, sizeof limit_text, "%" PRIu64, limit);
        ok = append_query(path, "limit", limit_text);
    }
    if (ok && args.cursor)
        ok = append_query(path, "cursor", args.cursor);
    return ok ? gov_send("GET", *path, NULL, false) : failure("out of memory");
}

static bool id_arg(const char *what, const char *text, uint64_t *out)
{
    return parse_u64_arg(what, text, out);
}

/* ---- filters ------------------------------------------------------------------------------ */

/* The spec's enums (ProposalStatus, ProposalRewardStatus), by value; 0 is not a filter. */
static const char *const STATUSES[] = {"Unspecified", "Open",     "Rejected",
                                       "Adopted",     "Executed", "Failed"};
static const char *const REWARD_STATUSES[] = {"Unspecified", "AcceptVotes", "ReadyToSettle",
                                              "Settled", "Ineligible"};
/* Topic names (spec/governance.md, Topics), by id: the list filter accepts either. */
static const char *const TOPIC_NAMES[] = {"Unspecified",
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

/* A filter value: one of names[min..n-1] (any case; sent in the API's spelling) or its number
 * min..n-1 in decimal (the spec's enum values; sent as typed). NULL after a usage error. */
static const char *filter_value(const char *option, const char *text, const char *const *names,
                                size_t min, size_t n)
{
    size_t len = strlen(text), used = 0;
    char expected[512];
    for (size_t k = min; k < n; k++)
        if (strcasecmp(names[k], text) == 0)
            return names[k];
    if (len > 0 && len <= 2 && strspn(text, "0123456789") == len && (size_t)atoi(text) >= min &&
        (size_t)atoi(text) < n)
        return text;
    expected[0] = '\0';
    for (size_t k = min; k < n && used < sizeof expected; k++)
        used += (size_t)snprintf(expected + used, sizeof expected - used, "%s%s",
                                 k > min ? ", " : "", names[k]);
    usage_error("bad value '%s' for %s: expected one of %s (or its number %zu..%zu)", text, option,
                expected, min, n - 1);
    return NULL;
}

/* ---- reads -------------------------------------------------------------------------------- */

static int cmd_proposal_list(void)
{
    static const struct {
        const char *option, *param;
        const char *const *values;
        const size_t *count;
        const char *const *names;
        size_t min, nnames;
    } F[] = {{"--status", "status", args.statuses, &args.nstatuses, STATUSES, 1, 6},
             {"--topic", "topic", args.topics, &args.ntopics, TOPIC_NAMES, 0, 19},
             {"--reward-status", "reward_status", args.reward_statuses, &args.nreward_statuses,
              REWARD_STATUSES, 1, 5}};
    char *path = strdup("/v1/proposals");
    int rc;
    if (!path)
        return failure("out of memory");
    for (size_t f = 0; f < sizeof F / sizeof F[0]; f++)
        for (size_t k = 0; k < *F[f].count; k++) {
            const char *v =
                filter_value(F[f].option, F[f].values[k], F[f].names, F[f].min, F[f].nnames);
            if (!v) {
                free(path);
                return EXIT_USAGE;
            }
            if (!append_query(&path, F[f].param, v)) {
                free(path);
                return failure("out of memory");
            }
        }
    rc = get_page(&path);
    free(path);
    return rc;
}

static int cmd_proposal_show(void)
{
    uint64_t id;
    char path[48];
    if (!id_arg("ID", args.positional, &id))
        return EXIT_USAGE;
    snprintf(path, sizeof path, "/v1/proposals/%" PRIu64, id);
    return gov_send("GET", path, NULL, false);
}

static bool vote_text(const char *option, const char *text, const char **out)
{
    if (strcasecmp(text, "yes") == 0)
        *out = "yes";
    else if (strcasecmp(text, "no") == 0)
        *out = "no";
    else {
        usage_error("bad value '%s' for %s: expected yes or no", text, option);
        return false;
    }
    return true;
}

static int cmd_proposal_ballots(void)
{
    uint64_t id;
    char buf[64];
    const char *vote = NULL;
    if (!id_arg("ID", args.positional, &id))
        return EXIT_USAGE;
    if (args.vote && !vote_text("--vote", args.vote, &vote))
        return EXIT_USAGE;
    snprintf(buf, sizeof buf, "/v1/proposals/%" PRIu64 "/ballots", id);
    char *path = strdup(buf);
    if (!path || (vote && !append_query(&path, "vote", vote))) {
        free(path);
        return failure("out of memory");
    }
    int rc = get_page(&path);
    free(path);
    return rc;
}

static int cmd_proposal_votes(void)
{
    uint64_t id;
    char buf[64];
    if (!id_arg("ID", args.positional, &id))
        return EXIT_USAGE;
    snprintf(buf, sizeof buf, "/v1/proposals/%" PRIu64 "/votes", id);
    char *path = strdup(buf);
    if (!path)
        return failure("out of memory");
    int rc = get_page(&path);
    free(path);
    return rc;
}

static int cmd_reward_events(void)
{
    char *path = strdup("/v1/reward-events");
    if (!path)
        return failure("out of memory");
    int rc = get_page(&path);
    free(path);
    return rc;
}

static int cmd_known_neurons(void)
{
    return gov_send("GET", "/v1/known-neurons", NULL, false);
}

static int cmd_node_providers(void)
{
    return gov_send("GET", "/v1/node-providers", NULL, false);
}

/* ---- vote ------------------------------------------------------------------------------- */

static int cmd_vote(void)
{
    uint64_t neuron, proposal;
    const char *vote;
    bool ok = true;
    char path[64];
    if (!id_arg("--neuron", args.neuron, &neuron) ||
        !id_arg("--proposal", args.proposal, &proposal) ||
        !vote_text("yes|no", args.positional, &vote))
        return EXIT_USAGE;
    json_t *body = json_object();
    if (!body)
        return failure("out of memory");
    set_member(body, "neuron_id", u64_string(neuron), &ok);
    set_member(body, "vote", json_string(vote), &ok);
    if (!ok) {
        json_decref(body);
        return failure("out of memory");
    }
    snprintf(path, sizeof path, "/v1/proposals/%" PRIu64 "/votes", proposal);
    return gov_send("POST", path, body, true);
}

/* ---- submit ------------------------------------------------------------------------------ */

/* The economics fields a --economics item may name: u64 values are sent as strings, the
 * integers of GET /v1/governance's economics as JSON numbers (render.c
 * gov_render_economics). */
static const struct {
    const char *name;
    bool vp;     /* inside voting_power_economics */
    bool number; /* a JSON number rather than a u64 string */
} ECONOMICS[] = {
    {"reject_cost_e8s", false, false},
    {"neuron_minimum_stake_e8s", false, false},
    {"neuron_management_fee_per_proposal_e8s", false, false},
    {"minimum_icp_xdr_rate", false, false},
    {"neuron_spawn_dissolve_delay_seconds", false, false},
    {"maximum_node_provider_rewards_e8s", false, false},
    {"transaction_fee_e8s", false, false},
    {"max_proposals_to_keep_per_topic", false, true},
    {"max_sustained_neurons_per_hour", false, true},
    {"neuron_creation_spike", false, true},
    {"start_reducing_voting_power_after_seconds", true, false},
    {"clear_following_after_seconds", true, false},
    {"neuron_minimum_dissolve_delay_to_vote_seconds", true, false},
};
#define NECONOMICS (sizeof ECONOMICS / sizeof ECONOMICS[0])
#define VP_PREFIX "voting_power_economics."

/* "field=value,..." into a ManageNetworkEconomics action; NULL after a usage error (or OOM,
 * reported). */
static json_t *economics_action(const char *text)
{
    json_t *action = json_object(), *vp = json_object();
    bool ok = action && vp;
    const char *p = text;
    if (!ok)
        goto oom;
    set_member(action, "type", json_string("ManageNetworkEconomics"), &ok);
    while (ok && *p) {
        size_t len = strcspn(p, ","), k;
        const char *eq = memchr(p, '=', len);
        char name[96], value[32];
        uint64_t v;
        if (!eq || (size_t)(eq - p) >= sizeof name || len - (size_t)(eq - p) - 1 >= sizeof value) {
            usage_error("bad item '%.*s' for --economics: expected field=value", (int)len, p);
            goto usage;
        }
        memcpy(name, p, (size_t)(eq - p));
        name[eq - p] = '\0';
        memcpy(value, eq + 1, len - (size_t)(eq - p) - 1);
        value[len - (size_t)(eq - p) - 1] = '\0';
        const char *bare =
            strncmp(name, VP_PREFIX, strlen(VP_PREFIX)) == 0 ? name + strlen(VP_PREFIX) : name;
        for (k = 0; k < NECONOMICS; k++)
            if (strcmp(ECONOMICS[k].name, bare) == 0 && (bare == name || ECONOMICS[k].vp))
                break;
        if (k == NECONOMICS) {
            fprintf(stderr, "nns: unknown economics field '%s' for --economics: expected one of",
                    name);
            for (size_t j = 0; j < NECONOMICS; j++)
                fprintf(stderr, "%s %s", j ? "," : "", ECONOMICS[j].name);
            fputc('\n', stderr);
            goto usage;
        }
        json_t *target = ECONOMICS[k].vp ? vp : action;
        if (json_object_get(target, bare)) {
            usage_error("economics field '%s' given twice", bare);
            goto usage;
        }
        if (!parse_u64_arg("--economics", value, &v))
            goto usage;
        if (ECONOMICS[k].number && v > INT64_MAX) {
            usage_error("bad value '%s' for %s: too large", value, bare);
            goto usage;
        }
        set_member(target, bare, ECONOMICS[k].number ? json_integer((json_int_t)v) : u64_string(v),
                   &ok);
        p += len;
        if (*p == ',' && *++p == '\0') {
            usage_error("bad value '%s' for --economics: a comma at the end", text);
            goto usage;
        }
    }
    if (ok && json_object_size(vp) > 0) {
        set_member(action, "voting_power_economics", vp, &ok);
        vp = NULL;
    }
    json_decref(vp);
    if (!ok) {
        json_decref(action);
        failure("out of memory");
        return NULL;
    }
    if (json_object_size(action) == 1) {
        json_decref(action);
        usage_error("--economics needs at least one field=value");
        return NULL;
    }
    return action;
oom:
    failure("out of memory");
usage:
    json_decref(action);
    json_decref(vp);
    return NULL;
}

/* The --action-json file ("-": standard input): one JSON object with a string "type". NULL
 * after a usage error. */
static json_t *action_from_file(const char *file)
{
    json_error_t jerr;
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
    if (!f) {
        usage_error("cannot open '%s' for --action-json", file);
        return NULL;
    }
    char *buf = malloc(ACTION_JSON_MAX + 1);
    size_t n = buf ? fread(buf, 1, ACTION_JSON_MAX + 1, f) : 0;
    bool read_error = ferror(f) != 0;
    if (f != stdin)
        fclose(f);
    if (!buf) {
        failure("out of memory");
        return NULL;
    }
    if (read_error || n > ACTION_JSON_MAX) {
        free(buf);
        usage_error(read_error ? "cannot read '%s' for --action-json"
                               : "'%s' for --action-json: larger than 2 MiB",
                    file);
        return NULL;
    }
    json_t *action = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
    if (!action) {
        usage_error("'%s' for --action-json is not JSON: %s (line %d)", file, jerr.text, jerr.line);
        return NULL;
    }
    if (!json_is_object(action) || !json_is_string(json_object_get(action, "type"))) {
        json_decref(action);
        usage_error("'%s' for --action-json: expected an object with a string \"type\" (Motion, "
                    "ManageNetworkEconomics, ExecuteNnsFunction, ...)",
                    file);
        return NULL;
    }
    return action;
}

static json_t *register_known_neuron_action(void)
{
    uint64_t id;
    bool ok = true;
    if (!id_arg("--register-known-neuron", args.register_known_neuron, &id))
        return NULL;
    if (!args.name || !*args.name) {
        usage_error("--register-known-neuron needs --name NAME");
        return NULL;
    }
    json_t *a = json_object();
    if (!a) {
        failure("out of memory");
        return NULL;
    }
    set_member(a, "type", json_string("RegisterKnownNeuron"), &ok);
    set_member(a, "neuron_id", u64_string(id), &ok);
    set_member(a, "name", json_string(args.name), &ok);
    if (args.description)
        set_member(a, "description", json_string(args.description), &ok);
    if (!ok) {
        json_decref(a);
        failure("out of memory");
        return NULL;
    }
    return a;
}

static json_t *conversion_rate_action(void)
{
    uint64_t rate, ts = (uint64_t)time(NULL);
    bool ok = true;
    if (!parse_u64_arg("--conversion-rate", args.conversion_rate, &rate) ||
        (args.timestamp && !parse_u64_arg("--timestamp", args.timestamp, &ts)))
        return NULL;
    if (rate == 0) {
        usage_error("bad value '0' for --conversion-rate: expected XDR permyriad per ICP > 0");
        return NULL;
    }
    json_t *a = json_object(), *payload = json_object();
    if (!a || !payload) {
        json_decref(a);
        json_decref(payload);
        failure("out of memory");
        return NULL;
    }
    set_member(payload, "xdr_permyriad_per_icp", u64_string(rate), &ok);
    set_member(payload, "timestamp_seconds", u64_string(ts), &ok);
    set_member(a, "type", json_string("ExecuteNnsFunction"), &ok);
    set_member(a, "nns_function", json_integer(10), &ok);
    set_member(a, "payload", payload, &ok);
    if (!ok) {
        json_decref(a);
        failure("out of memory");
        return NULL;
    }
    return a;
}

static int cmd_proposal_submit(void)
{
    uint64_t neuron;
    bool ok = true;
    int given = !!args.motion + !!args.action_json + !!args.economics +
                !!args.register_known_neuron + !!args.conversion_rate;
    if (!id_arg("--neuron", args.neuron, &neuron))
        return EXIT_USAGE;
    if (given != 1)
        return usage_error("give exactly one action: --motion, --action-json, --economics, "
                           "--register-known-neuron or --conversion-rate");
    if ((args.name || args.description) && !args.register_known_neuron)
        return usage_error("--name and --description go with --register-known-neuron");
    if (args.timestamp && !args.conversion_rate)
        return usage_error("--timestamp goes with --conversion-rate");
    json_t *action = NULL;
    if (args.motion) {
        action = json_object();
        if (!action)
            return failure("out of memory");
        set_member(action, "type", json_string("Motion"), &ok);
        set_member(action, "motion_text", json_string(args.motion), &ok);
    } else if (args.action_json) {
        action = action_from_file(args.action_json);
    } else if (args.economics) {
        action = economics_action(args.economics);
    } else if (args.register_known_neuron) {
        action = register_known_neuron_action();
    } else {
        action = conversion_rate_action();
    }
    if (!action)
        return EXIT_USAGE; /* reported */
    json_t *body = json_object();
    if (!body) {
        json_decref(action);
        return failure("out of memory");
    }
    set_member(body, "neuron_id", u64_string(neuron), &ok);
    if (args.title)
        set_member(body, "title", json_string(args.title), &ok);
    set_member(body, "summary", json_string(args.summary), &ok);
    if (args.proposal_url)
        set_member(body, "url", json_string(args.proposal_url), &ok);
    set_member(body, "action", action, &ok);
    if (!ok) {
        json_decref(body);
        return failure("out of memory (or text that is not UTF-8)");
    }
    return gov_send("POST", "/v1/proposals", body, true);
}

/* ---- the table --------------------------------------------------------------------------- */

#define PAGE_OPTIONS                                                                               \
    {"limit", "N", &args.limit, false, "page size"},                                               \
    {                                                                                              \
        "cursor", "CURSOR", &args.cursor, false, "next_cursor of the previous page"                \
    }

const cli_command_t PROPOSAL_COMMANDS[] = {
    {"proposal submit",
     NULL,
     REMOTE_GOV,
     cmd_proposal_submit,
     "signed POST /v1/proposals: submit a proposal (the reject cost is charged to the neuron "
     "until it is adopted); one of --motion, --action-json, --economics, "
     "--register-known-neuron, --conversion-rate",
     {{"key", "FILE", &args.key, true, "key file of the neuron's controller or a hot key"},
      {"neuron", "ID", &args.neuron, true, "the proposing neuron"},
      {"title", "TEXT", &args.title, false, "title (5..256 bytes)"},
      {"summary", "TEXT", &args.summary, true, "summary (up to 15000 bytes)"},
      {"url", "URL", &args.proposal_url, false, "https URL of the proposal's discussion"},
      {"motion", "TEXT", &args.motion, false, "a Motion with this text"},
      {"action-json", "FILE|-", &args.action_json, false,
       "the action as JSON {type, ...} from a file or standard input (any action type)"},
      {"economics", "FIELD=V,...", &args.economics, false,
       "ManageNetworkEconomics: e.g. reject_cost_e8s=200000000,"
       "neuron_minimum_dissolve_delay_to_vote_seconds=15778800"},
      {"register-known-neuron", "ID", &args.register_known_neuron, false,
       "RegisterKnownNeuron of this neuron (with --name, --description)"},
      {"name", "NAME", &args.name, false, "the known neuron's name"},
      {"description", "TEXT", &args.description, false, "the known neuron's description"},
      {"conversion-rate", "XDR_PERMYRIAD", &args.conversion_rate, false,
       "ExecuteNnsFunction 10: the cmc's ICP/XDR rate in XDR permyriad per ICP"},
      {"timestamp", "SECONDS", &args.timestamp, false,
       "the rate's timestamp (default: now, the wall clock)"}}},
    {"proposal list",
     NULL,
     REMOTE_GOV,
     cmd_proposal_list,
     "GET /v1/proposals: proposals, newest first; filters repeat (any of the values given)",
     {{"status", "S", args.statuses, false,
       "Open, Rejected, Adopted, Executed or Failed (repeatable)"},
      {"topic", "TOPIC", args.topics, false, "topic id 0..18 or name (repeatable)"},
      {"reward-status", "R", args.reward_statuses, false,
       "AcceptVotes, ReadyToSettle, Settled or Ineligible (repeatable)"},
      PAGE_OPTIONS}},
    {"proposal show",
     "ID",
     REMOTE_GOV,
     cmd_proposal_show,
     "GET /v1/proposals/ID: the proposal with its action, tally, deadline and statuses",
     {{0}}},
    {"proposal ballots",
     "ID",
     REMOTE_GOV,
     cmd_proposal_ballots,
     "GET /v1/proposals/ID/ballots: ballots by ascending neuron id",
     {{"vote", "yes|no", &args.vote, false, "only the ballots with this vote"}, PAGE_OPTIONS}},
    {"proposal votes",
     "ID",
     REMOTE_GOV,
     cmd_proposal_votes,
     "GET /v1/proposals/ID/votes: the votes cast, with their times",
     {PAGE_OPTIONS}},
    {"vote",
     "yes|no",
     REMOTE_GOV,
     cmd_vote,
     "signed POST /v1/proposals/P/votes: vote with a neuron (its followers follow)",
     {{"key", "FILE", &args.key, true, "key file of the neuron's controller or a hot key"},
      {"neuron", "ID", &args.neuron, true, "the voting neuron"},
      {"proposal", "P", &args.proposal, true, "the proposal id"}}},
    {"reward-events",
     NULL,
     REMOTE_GOV,
     cmd_reward_events,
     "GET /v1/reward-events: the daily voting-reward events, newest first",
     {PAGE_OPTIONS}},
    {"known-neurons",
     NULL,
     REMOTE_GOV,
     cmd_known_neurons,
     "GET /v1/known-neurons: the registered known neurons",
     {{0}}},
    {"node-providers",
     NULL,
     REMOTE_GOV,
     cmd_node_providers,
     "GET /v1/node-providers: node providers, their reward accounts and last rewards",
     {{0}}},
};
const size_t PROPOSAL_NCOMMANDS = sizeof PROPOSAL_COMMANDS / sizeof PROPOSAL_COMMANDS[0];
