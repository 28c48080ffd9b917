/*
 * nns: the command-line client of the ledger, cycles minting and governance services (the
 * governance commands are in neuron.c; what the files share is in cli.h).
 *
 * Commands are a table ({name, positional argument, options, summary, handler}); the same table
 * parses the command line and prints --help. Every value a user types is checked here before
 * anything is sent (amounts are decimal digits only, accounts and subaccounts are parsed), so
 * a typo is a usage error (exit 2), never a request the service has to refuse. Responses are
 * printed as indented JSON: 2xx on stdout (exit 0), anything else on stderr (exit 1).
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "account.h"
#include "cli.h"
#include "client.h"
#include "crypto.h"
#include "hex.h"
#include "keyfile.h"

#define DEFAULT_URL "http://127.0.0.1:8081"
#define URL_ENV "NNS_LEDGER_URL"
#define DEFAULT_CMC_URL "http://127.0.0.1:8083"
#define CMC_URL_ENV "NNS_CMC_URL"
#define DEFAULT_GOV_URL "http://127.0.0.1:8082"
#define GOV_URL_ENV "NNS_GOVERNANCE_URL"
#define DEFAULT_FEE_E8S 10000
#define DEFAULT_WAIT_SECONDS 60 /* how long a notify is retried while Processing or 503 */
#define DEPOSIT_MEMO_MAX 32     /* notify_mint_cycles' deposit_memo, bytes */

cli_args_t args;

/* Options that may repeat: their target is an array of max values, *count of them given. */
static const struct {
    const char **target;
    size_t max;
    size_t *count;
} REPEATABLE[] = {{args.controllers, MAX_CONTROLLERS, &args.ncontrollers},
                  {args.topic_following, MAX_TOPIC_FOLLOWING, &args.ntopic_following},
                  {args.statuses, MAX_FILTERS, &args.nstatuses},
                  {args.topics, MAX_FILTERS, &args.ntopics},
                  {args.reward_statuses, MAX_FILTERS, &args.nreward_statuses}};

/* The repeatable entry of option o, or NULL. */
static size_t repeat_max(const cli_option_t *o, size_t **count)
{
    for (size_t k = 0; k < sizeof REPEATABLE / sizeof REPEATABLE[0]; k++)
        if (REPEATABLE[k].target == o->target) {
            if (count)
                *count = REPEATABLE[k].count;
            return REPEATABLE[k].max;
        }
    return 0;
}

const cli_command_t *command; /* the command being run, for messages */
static int saved_argc;        /* the command line, for the resume hint */
static char **saved_argv;

static const cli_option_t URL_OPTION = {"url", "URL", &args.url, false,
                                        "service base URL (default: $" URL_ENV ", else " DEFAULT_URL
                                        ")"};
static const cli_option_t LEDGER_OPTION = {"ledger", "URL", &args.ledger, false,
                                           "ledger base URL (default: --url, $" URL_ENV
                                           ", else " DEFAULT_URL ")"};
static const cli_option_t CMC_OPTION = {"cmc", "URL", &args.cmc, false,
                                        "cycles minting service base URL (default: $" CMC_URL_ENV
                                        ", else " DEFAULT_CMC_URL ")"};
static const cli_option_t GOV_OPTION = {"governance", "URL", &args.governance, false,
                                        "governance base URL (default: $" GOV_URL_ENV
                                        ", else " DEFAULT_GOV_URL ")"};

/* ---- messages ---------------------------------------------------------------------------- */

int usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "nns%s%s: ", command ? " " : "", command ? command->name : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nrun 'nns%s%s --help' for usage\n", command ? " " : "",
            command ? command->name : "");
    return EXIT_USAGE;
}

int failure(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "nns%s%s: ", command ? " " : "", command ? command->name : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_FAIL;
}

/* Prints text as indented JSON when it parses, as is otherwise. */
void print_body(FILE *f, const char *text)
{
    json_t *json = json_loads(text, JSON_DECODE_ANY, NULL);
    if (json) {
        json_dumpf(json, f, JSON_INDENT(2));
        fputc('\n', f);
        json_decref(json);
    } else if (*text) {
        fputs(text, f);
        if (text[strlen(text) - 1] != '\n')
            fputc('\n', f);
    }
}

/* Prints json (stolen) indented on stdout. */
int print_json(json_t *json)
{
    if (!json)
        return failure("out of memory");
    json_dumpf(json, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(json);
    return EXIT_OK;
}

/* ---- argument checks: each prints a usage error and returns false ------------------------ */

bool parse_u64_arg(const char *option, const char *text, uint64_t *out)
{
    uint64_t v = 0;
    size_t len = strlen(text);
    bool ok = len > 0 && strspn(text, "0123456789") == len;
    for (size_t i = 0; ok && i < len; i++) {
        uint64_t d = (uint64_t)(text[i] - '0');
        ok = v <= (UINT64_MAX - d) / 10;
        v = v * 10 + d;
    }
    if (!ok) {
        if (strcmp(option, "--amount") == 0 || strcmp(option, "--fee") == 0)
            usage_error("bad value '%s' for %s: expected a whole number of e8s in decimal digits "
                        "(1 ICP = 100000000 e8s), at most 18446744073709551615",
                        text, option);
        else
            usage_error("bad value '%s' for %s: expected decimal digits, at most "
                        "18446744073709551615",
                        text, option);
        return false;
    }
    *out = v;
    return true;
}

/* Decodes hex of exactly `exact` bytes (when exact) or at most `max` bytes. */
static bool parse_hex_arg(const char *option, const char *text, uint8_t *out, size_t max,
                          bool exact, size_t *out_len)
{
    long n = hex_decode(text, strlen(text), out, max);
    if (n < 0 || (exact && (size_t)n != max)) {
        if (exact)
            usage_error("bad value '%s' for %s: expected %zu hex digits (%zu bytes)", text, option,
                        2 * max, max);
        else
            usage_error("bad value '%s' for %s: expected an even number of hex digits, at most "
                        "%zu (%zu bytes)",
                        text, option, 2 * max, max);
        return false;
    }
    if (out_len)
        *out_len = (size_t)n;
    return true;
}

/* Any account form the service accepts, rewritten canonically (64 lower-case hex digits or
 * canonical ICRC-1 text), so the path holds only URL-safe characters. */
static bool parse_account_arg(const char *what, const char *text, char out[ICRC1_TEXT_MAX])
{
    account_id_t id;
    icrc1_account_t icrc1;
    bool has_icrc1 = false;
    nns_error_t err;
    if (!account_parse_any(text, &id, &icrc1, &has_icrc1, &err)) {
        usage_error("bad %s '%s': %s", what, text, err.detail);
        return false;
    }
    if (has_icrc1)
        icrc1_account_to_text(&icrc1, out);
    else
        account_id_to_hex(&id, out);
    return true;
}

/* Percent-encodes everything but RFC 3986 unreserved characters. Returns malloc'd text. */
static char *url_escape(const char *text)
{
    static const char digits[] = "0123456789ABCDEF";
    char *out = malloc(3 * strlen(text) + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = digits[*p >> 4];
            *o++ = digits[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* Appends "?name=value" or "&name=value" (value escaped) to *path. Returns false on OOM. */
bool append_query(char **path, const char *name, const char *value)
{
    char *escaped = url_escape(value), *longer = NULL;
    if (escaped &&
        asprintf(&longer, "%s%c%s=%s", *path, strchr(*path, '?') ? '&' : '?', name, escaped) < 0)
        longer = NULL;
    free(escaped);
    if (!longer)
        return false;
    free(*path);
    *path = longer;
    return true;
}

json_t *u64_string(uint64_t v)
{
    char text[21];
    snprintf(text, sizeof text, "%" PRIu64, v);
    return json_string(text);
}

/* Sets a member of body; a NULL value (allocation failure) marks *ok false. */
void set_member(json_t *body, const char *name, json_t *value, bool *ok)
{
    if (json_object_set_new(body, name, value) != 0)
        *ok = false;
}

static json_t *hex_string(const uint8_t *bytes, size_t len)
{
    char text[2 * SUBACCOUNT_BYTES + 1];
    if (len > SUBACCOUNT_BYTES)
        return NULL;
    hex_encode(bytes, len, text);
    return json_string(text);
}

/* ---- requests ---------------------------------------------------------------------------- */

/* The ledger's base URL: --ledger, else --url, else $NNS_LEDGER_URL, else the default. */
const char *service_url(void)
{
    if (args.ledger)
        return args.ledger;
    if (args.url)
        return args.url;
    const char *env = getenv(URL_ENV);
    return env && *env ? env : DEFAULT_URL;
}

/* The cycles minting service's base URL: --cmc, else $NNS_CMC_URL, else the default. */
static const char *cmc_url(void)
{
    if (args.cmc)
        return args.cmc;
    const char *env = getenv(CMC_URL_ENV);
    return env && *env ? env : DEFAULT_CMC_URL;
}

/* Governance's base URL: --governance, else $NNS_GOVERNANCE_URL, else the default. */
const char *gov_url(void)
{
    if (args.governance)
        return args.governance;
    const char *env = getenv(GOV_URL_ENV);
    return env && *env ? env : DEFAULT_GOV_URL;
}

/* Sends one request to the service at base and prints its answer. id NULL: unsigned. */
int call_at(const char *base, const char *method, const char *path, const char *body,
            const identity_t *id)
{
    nns_client_t *client = nns_client_new(base, id);
    long status = 0;
    char *response = NULL;
    nns_error_t err;
    if (!client)
        return failure("cannot create a client for '%s'", base);
    int rc = nns_client_request(client, method, path, body, id != NULL, &status, &response, &err);
    nns_client_destroy(&client);
    if (rc == 0) {
        print_body(stdout, response);
        free(response);
        return EXIT_OK;
    }
    if (status != 0 && response && *response) {
        print_body(stderr, response);
        free(response);
        return EXIT_FAIL;
    }
    free(response);
    if (status != 0)
        return failure("'%s %s' answered HTTP %ld", method, path, status);
    return failure("%s", err.detail);
}

/* call_at the ledger. */
static int call(const char *method, const char *path, const char *body, const identity_t *id)
{
    return call_at(service_url(), method, path, body, id);
}

/* GET of a fixed path. */
static int get(const char *path)
{
    return call("GET", path, NULL, NULL);
}

/* Signed POST of body (stolen) with the key in --key. */
static int post_signed(const char *path, json_t *body)
{
    identity_t id;
    nns_error_t err;
    char *text = NULL;
    int rc;
    if (!body || !(text = json_dumps(body, JSON_COMPACT))) {
        json_decref(body);
        return failure("out of memory");
    }
    json_decref(body);
    if (!identity_load(args.key, &id, &err)) {
        free(text);
        return failure("%s", err.detail);
    }
    rc = call("POST", path, text, &id);
    OPENSSL_cleanse(&id, sizeof id);
    free(text);
    return rc;
}

/* GET base?limit=&cursor=&start= with the options that were given (numbers normalised). */
static int get_list(const char *base)
{
    uint64_t limit = 0, start = 0;
    char limit_text[21], start_text[21];
    if ((args.limit && !parse_u64_arg("--limit", args.limit, &limit)) ||
        (args.start && !parse_u64_arg("--start", args.start, &start)))
        return EXIT_USAGE;
    snprintf(limit_text, sizeof limit_text, "%" PRIu64, limit);
    snprintf(start_text, sizeof start_text, "%" PRIu64, start);
    char *path = strdup(base);
    bool ok = path != NULL;
    if (ok && args.limit)
        ok = append_query(&path, "limit", limit_text);
    if (ok && args.cursor)
        ok = append_query(&path, "cursor", args.cursor);
    if (ok && args.start)
        ok = append_query(&path, "start", start_text);
    int rc = ok ? get(path) : failure("out of memory");
    free(path);
    return rc;
}

/* ---- commands ---------------------------------------------------------------------------- */

static json_t *identity_json(const identity_t *id, const char *key_file)
{
    char principal[PRINCIPAL_TEXT_MAX], der[2 * PUBLIC_KEY_DER_MAX + 1],
        account[ACCOUNT_HEX_LEN + 1];
    account_id_t aid;
    principal_to_text(&id->principal, principal);
    hex_encode(id->der, id->der_len, der);
    account_id_of(&id->principal, NULL, &aid);
    account_id_to_hex(&aid, account);
    json_t *j = json_object();
    bool ok = true;
    if (key_file)
        set_member(j, "key_file", json_string(key_file), &ok);
    set_member(j, "key_type", json_string(key_type_name(id->type)), &ok);
    set_member(j, "principal", json_string(principal), &ok);
    set_member(j, "public_key_der_hex", json_string(der), &ok);
    set_member(j, "account_identifier", json_string(account), &ok);
    if (!ok) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int cmd_key_generate(void)
{
    identity_t id;
    nns_error_t err;
    if (!args.type || strcmp(args.type, "ed25519") == 0)
        identity_generate(&id);
    else if (strcmp(args.type, "secp256k1") == 0)
        identity_generate_secp256k1(&id);
    else
        return usage_error("bad value '%s' for --type: expected 'ed25519' or 'secp256k1'",
                           args.type);
    bool saved = identity_save(args.out, &id, false, &err);
    int rc = saved ? print_json(identity_json(&id, args.out)) : failure("%s", err.detail);
    OPENSSL_cleanse(&id, sizeof id);
    return rc;
}

static int cmd_key_import(void)
{
    identity_t id;
    nns_error_t err;
    if (!identity_load(args.pem, &id, &err))
        return failure("%s", err.detail);
    bool saved = identity_save(args.out, &id, false, &err);
    int rc = saved ? print_json(identity_json(&id, args.out)) : failure("%s", err.detail);
    OPENSSL_cleanse(&id, sizeof id);
    return rc;
}

static int cmd_key_show(void)
{
    identity_t id;
    nns_error_t err;
    if (!identity_load(args.key, &id, &err))
        return failure("%s", err.detail);
    int rc = print_json(identity_json(&id, NULL));
    OPENSSL_cleanse(&id, sizeof id);
    return rc;
}

static int cmd_account(void)
{
    icrc1_account_t acc = {0};
    account_id_t aid;
    nns_error_t err;
    char hex[ACCOUNT_HEX_LEN + 1], text[ICRC1_TEXT_MAX], sub[2 * SUBACCOUNT_BYTES + 1];
    if (!principal_from_text(args.principal, &acc.owner, &err))
        return usage_error("bad principal '%s': %s", args.principal, err.detail);
    if (args.subaccount && !parse_hex_arg("--subaccount", args.subaccount, acc.subaccount,
                                          SUBACCOUNT_BYTES, true, NULL))
        return EXIT_USAGE;
    account_id_of_icrc1(&acc, &aid);
    account_id_to_hex(&aid, hex);
    icrc1_account_to_text(&acc, text);
    hex_encode(acc.subaccount, SUBACCOUNT_BYTES, sub);
    json_t *j = json_object();
    bool ok = true;
    set_member(j, "principal", json_string(args.principal), &ok);
    set_member(j, "subaccount", json_string(sub), &ok);
    set_member(j, "account_identifier", json_string(hex), &ok);
    set_member(j, "icrc1_account", json_string(text), &ok);
    if (!ok) {
        json_decref(j);
        j = NULL;
    }
    return print_json(j);
}

static int cmd_balance(void)
{
    char account[ICRC1_TEXT_MAX], path[32 + ICRC1_TEXT_MAX];
    if (!parse_account_arg("account", args.positional, account))
        return EXIT_USAGE;
    snprintf(path, sizeof path, "/v1/accounts/%s", account);
    return get(path);
}

static int cmd_history(void)
{
    char account[ICRC1_TEXT_MAX], path[32 + ICRC1_TEXT_MAX];
    if (!parse_account_arg("account", args.positional, account))
        return EXIT_USAGE;
    snprintf(path, sizeof path, "/v1/accounts/%s/transactions", account);
    return get_list(path);
}

static int cmd_block(void)
{
    uint64_t height;
    char path[48];
    if (!parse_u64_arg("HEIGHT", args.positional, &height))
        return EXIT_USAGE;
    snprintf(path, sizeof path, "/v1/blocks/%" PRIu64, height);
    return get(path);
}

static int cmd_blocks(void)
{
    return get_list("/v1/blocks");
}

static int cmd_ledger(void)
{
    return get("/v1/ledger");
}

static int cmd_identity(void)
{
    return get("/v1/identity");
}

/* The options both transfer kinds share, checked. */
typedef struct {
    uint64_t amount, fee, created_at_time;
    uint8_t from_subaccount[SUBACCOUNT_BYTES];
} transfer_options_t;

static bool parse_transfer_options(transfer_options_t *t)
{
    t->fee = DEFAULT_FEE_E8S;
    return parse_u64_arg("--amount", args.amount, &t->amount) &&
           (!args.fee || parse_u64_arg("--fee", args.fee, &t->fee)) &&
           (!args.created_at_time ||
            parse_u64_arg("--created-at-time", args.created_at_time, &t->created_at_time)) &&
           (!args.from_subaccount ||
            parse_hex_arg("--from-subaccount", args.from_subaccount, t->from_subaccount,
                          SUBACCOUNT_BYTES, true, NULL));
}

/* The optional tail both bodies end with: from_subaccount?, created_at_time?. */
static void set_transfer_tail(json_t *body, const transfer_options_t *t, bool *ok)
{
    if (args.from_subaccount)
        set_member(body, "from_subaccount", hex_string(t->from_subaccount, SUBACCOUNT_BYTES), ok);
    if (args.created_at_time)
        set_member(body, "created_at_time", u64_string(t->created_at_time), ok);
}

static int cmd_transfer(void)
{
    account_id_t to;
    char to_hex[ACCOUNT_HEX_LEN + 1];
    uint64_t memo = 0;
    transfer_options_t t;
    nns_error_t err;
    bool ok = true;
    if (strlen(args.to) != ACCOUNT_HEX_LEN ||
        !account_id_from_hex(args.to, strlen(args.to), &to, &err))
        return usage_error("bad value '%s' for --to: expected a 64-hex account identifier with "
                           "a valid checksum (use icrc1-transfer for ICRC-1 accounts)",
                           args.to);
    if (!parse_transfer_options(&t) || (args.memo && !parse_u64_arg("--memo", args.memo, &memo)))
        return EXIT_USAGE;
    account_id_to_hex(&to, to_hex);
    json_t *body = json_object();
    set_member(body, "to", json_string(to_hex), &ok);
    set_member(body, "amount_e8s", u64_string(t.amount), &ok);
    set_member(body, "fee_e8s", u64_string(t.fee), &ok);
    set_member(body, "memo", u64_string(memo), &ok);
    set_transfer_tail(body, &t, &ok);
    if (!ok) {
        json_decref(body);
        return failure("out of memory");
    }
    return post_signed("/v1/transfers", body);
}

static int cmd_icrc1_transfer(void)
{
    icrc1_account_t to;
    char to_text[ICRC1_TEXT_MAX];
    uint8_t memo[32];
    size_t memo_len = 0;
    transfer_options_t t;
    nns_error_t err;
    bool ok = true;
    if (!icrc1_account_from_text(args.to, &to, &err))
        return usage_error("bad value '%s' for --to: %s (expected ICRC-1 account text)", args.to,
                           err.detail);
    if (!parse_transfer_options(&t) ||
        (args.memo_hex &&
         !parse_hex_arg("--memo-hex", args.memo_hex, memo, sizeof memo, false, &memo_len)))
        return EXIT_USAGE;
    icrc1_account_to_text(&to, to_text);
    json_t *body = json_object();
    set_member(body, "to_account", json_string(to_text), &ok);
    set_member(body, "amount_e8s", u64_string(t.amount), &ok);
    if (args.fee) /* omitted: the ledger's current fee applies */
        set_member(body, "fee_e8s", u64_string(t.fee), &ok);
    if (args.memo_hex)
        set_member(body, "icrc1_memo", hex_string(memo, memo_len), &ok);
    set_transfer_tail(body, &t, &ok);
    if (!ok) {
        json_decref(body);
        return failure("out of memory");
    }
    return post_signed("/v1/transfers", body);
}

/* Adds an ICRC-1 account member from its text, checked; false after a usage error. */
static bool set_icrc1_member(json_t *body, const char *name, const char *flag, const char *text,
                             bool *ok)
{
    icrc1_account_t acc;
    char canon[ICRC1_TEXT_MAX];
    nns_error_t err;
    if (!icrc1_account_from_text(text, &acc, &err)) {
        usage_error("bad value '%s' for %s: %s (expected ICRC-1 account text)", text, flag,
                    err.detail);
        return false;
    }
    icrc1_account_to_text(&acc, canon);
    set_member(body, name, json_string(canon), ok);
    return true;
}

/* The optional icrc1_memo and created_at_time of ICRC-2 commands. */
static bool set_icrc_tail(json_t *body, bool *ok)
{
    uint8_t memo[32];
    size_t memo_len = 0;
    uint64_t v;
    if (args.memo_hex) {
        if (!parse_hex_arg("--memo-hex", args.memo_hex, memo, sizeof memo, false, &memo_len))
            return false;
        set_member(body, "icrc1_memo", hex_string(memo, memo_len), ok);
    }
    if (args.created_at_time) {
        if (!parse_u64_arg("--created-at-time", args.created_at_time, &v))
            return false;
        set_member(body, "created_at_time", u64_string(v), ok);
    }
    if (args.fee) {
        if (!parse_u64_arg("--fee", args.fee, &v))
            return false;
        set_member(body, "fee_e8s", u64_string(v), ok);
    }
    return true;
}

static int cmd_approve(void)
{
    uint64_t amount, v;
    uint8_t sub[SUBACCOUNT_BYTES];
    bool ok = true;
    json_t *body = json_object();
    if (!set_icrc1_member(body, "spender", "--spender", args.spender, &ok) ||
        !parse_u64_arg("--amount", args.amount, &amount) || !set_icrc_tail(body, &ok))
        goto usage;
    set_member(body, "amount_e8s", u64_string(amount), &ok);
    if (args.expected_allowance) {
        if (!parse_u64_arg("--expected-allowance", args.expected_allowance, &v))
            goto usage;
        set_member(body, "expected_allowance_e8s", u64_string(v), &ok);
    }
    if (args.expires_at) {
        if (!parse_u64_arg("--expires-at", args.expires_at, &v))
            goto usage;
        set_member(body, "expires_at", u64_string(v), &ok);
    }
    if (args.from_subaccount) {
        if (!parse_hex_arg("--from-subaccount", args.from_subaccount, sub, sizeof sub, true, NULL))
            goto usage;
        set_member(body, "from_subaccount", hex_string(sub, sizeof sub), &ok);
    }
    if (!ok) {
        json_decref(body);
        return failure("out of memory");
    }
    return post_signed("/v1/approvals", body);
usage:
    json_decref(body);
    return EXIT_USAGE;
}

static int cmd_transfer_from(void)
{
    uint64_t amount;
    uint8_t sub[SUBACCOUNT_BYTES];
    bool ok = true;
    json_t *body = json_object();
    if (!set_icrc1_member(body, "from", "--from", args.from, &ok) ||
        !set_icrc1_member(body, "to", "--to", args.to, &ok) ||
        !parse_u64_arg("--amount", args.amount, &amount) || !set_icrc_tail(body, &ok))
        goto usage;
    set_member(body, "amount_e8s", u64_string(amount), &ok);
    if (args.spender_subaccount) {
        if (!parse_hex_arg("--spender-subaccount", args.spender_subaccount, sub, sizeof sub, true,
                           NULL))
            goto usage;
        set_member(body, "spender_subaccount", hex_string(sub, sizeof sub), &ok);
    }
    if (!ok) {
        json_decref(body);
        return failure("out of memory");
    }
    return post_signed("/v1/transfer-from", body);
usage:
    json_decref(body);
    return EXIT_USAGE;
}

static int cmd_allowance(void)
{
    char path[2 * ICRC1_TEXT_MAX + 32];
    snprintf(path, sizeof path, "/v1/allowances/%s/%s", args.from, args.spender);
    return get(path);
}

/* ---- cycles: the two-step payment to the cycles minting service ------------------------------
 *
 * top-up, create-canister and mint each (1) ask the cmc for the deposit account and memo of the
 * purpose (GET /v1/cycles/deposit-account), (2) transfer the ICP there on the ledger with a
 * legacy transfer carrying that memo and a created_at_time from the ledger's domain time, and
 * (3) notify the cmc with the block index. The block index is printed (stderr) before the
 * notify, so an interrupted run is resumed with --block N, which does step 3 only: the cmc keeps
 * each block's status, so a repeated notify answers the stored result and never credits twice
 * (spec/cmc.md 3.3). A notify answered Processing (409), 429, 503 or not at all is sent again
 * with back-off for --wait seconds; the transfer is sent again (same body, so the ledger's
 * deduplication answers TxDuplicate with the block of the first one) only when no answer came.
 */

/* Milliseconds on a monotonic clock. */
uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Sends one request on client; on a 2xx answer *json holds the parsed body (an object). Returns
 * 0 on 2xx with a JSON object; -1 otherwise, with *status (0 when no answer came), *text (the
 * answer's body, malloc'd, or NULL) and err as nns_client_request fills them. */
int request_json(nns_client_t *client, const char *method, const char *path, const char *body,
                 bool sign, long *status, char **text, json_t **json, nns_error_t *err)
{
    *json = NULL;
    *text = NULL;
    if (nns_client_request(client, method, path, body, sign, status, text, err) != 0)
        return -1;
    *json = json_loads(*text, 0, NULL);
    if (!json_is_object(*json)) {
        json_decref(*json);
        *json = NULL;
        nns_error_set(err, 502, "BadResponse",
                      "'%s %s' answered something that is not a JSON "
                      "object",
                      method, path);
        return -1;
    }
    return 0;
}

/* Reports a failed request: the problem body when there is one, else err's detail. */
int request_failure(const char *method, const char *path, long status, const char *text,
                    const nns_error_t *err)
{
    if (status != 0 && text && *text) {
        print_body(stderr, text);
        return EXIT_FAIL;
    }
    if (status != 0)
        return failure("'%s %s' answered HTTP %ld", method, path, status);
    return failure("%s", err->detail);
}

/* A u64 member given as a string of decimal digits; false when missing or malformed. */
bool json_u64_member(const json_t *obj, const char *name, uint64_t *out)
{
    const char *text = json_string_value(json_object_get(obj, name));
    uint64_t v = 0;
    if (!text || !*text || strspn(text, "0123456789") != strlen(text) || strlen(text) > 20)
        return false;
    for (const char *p = text; *p; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* GET path on client and one u64 member of the answer; prints the failure. */
int get_u64(nns_client_t *client, const char *path, const char *member, uint64_t *out)
{
    long status = 0;
    char *text = NULL;
    json_t *json = NULL;
    nns_error_t err;
    int rc = EXIT_OK;
    if (request_json(client, "GET", path, NULL, false, &status, &text, &json, &err) != 0)
        rc = request_failure("GET", path, status, text, &err);
    else if (!json_u64_member(json, member, out))
        rc = failure("'GET %s' answered without a valid '%s'", path, member);
    json_decref(json);
    free(text);
    return rc;
}

/* Prints the command line again, with --block N added (or replaced), quoted for a shell. */
static void print_resume_command(FILE *f, uint64_t block)
{
    fprintf(f, "  nns");
    for (int i = 1; i < saved_argc; i++) {
        const char *a = saved_argv[i];
        if (strcmp(a, "--block") == 0) {
            i++;
            continue;
        }
        if (strncmp(a, "--block=", 8) == 0)
            continue;
        if (*a && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                            "-_./:=@,+") == strlen(a)) {
            fprintf(f, " %s", a);
        } else {
            fputs(" '", f);
            for (const char *p = a; *p; p++)
                fputs(*p == '\'' ? "'\\''" : (char[]){*p, '\0'}, f);
            fputc('\'', f);
        }
    }
    fprintf(f, " --block %" PRIu64 "\n", block);
}

/* What one cycles command sends: the deposit-account purpose and whose account, the notify
 * path and its body (without block_index). */
typedef struct {
    const char *purpose;     /* top-up, create or mint */
    const char *principal;   /* text: the canister (top-up) or the caller (create, mint) */
    const char *notify_path; /* /v1/cycles/notify-... */
    json_t *notify_body;     /* owned */
} cycles_flow_t;

/* Steps 1 and 2: the deposit account, then the ledger transfer of amount to it. Returns EXIT_OK
 * with *block set, or the failure's exit status (printed). */
static int cycles_transfer(nns_client_t *ledger, nns_client_t *cmc, const cycles_flow_t *flow,
                           uint64_t amount, uint64_t *block)
{
    char *path = NULL, *body_text = NULL, *text = NULL, to_hex[ACCOUNT_HEX_LEN + 1];
    json_t *json = NULL, *body = NULL;
    long status = 0;
    nns_error_t err;
    uint64_t memo, fee, now_nanos;
    account_id_t to;
    int rc = EXIT_FAIL;
    bool ok = true;

    /* 1. where to send the ICP, and with which memo */
    path = strdup("/v1/cycles/deposit-account");
    if (!path || !append_query(&path, "purpose", flow->purpose) ||
        !append_query(&path, "principal", flow->principal)) {
        rc = failure("out of memory");
        goto done;
    }
    if (request_json(cmc, "GET", path, NULL, false, &status, &text, &json, &err) != 0) {
        rc = request_failure("GET", path, status, text, &err);
        goto done;
    }
    const char *aid = json_string_value(json_object_get(json, "account_identifier"));
    if (!aid || strlen(aid) != ACCOUNT_HEX_LEN ||
        !account_id_from_hex(aid, strlen(aid), &to, &err) ||
        !json_u64_member(json, "memo", &memo)) {
        rc = failure("'GET %s' answered without a valid account_identifier and memo", path);
        goto done;
    }
    account_id_to_hex(&to, to_hex);
    json_decref(json);
    json = NULL;
    free(text);
    text = NULL;

    /* the ledger's fee, and created_at_time from its domain time (the test clock in tests) */
    if ((rc = get_u64(ledger, "/v1/ledger", "fee_e8s", &fee)) != EXIT_OK ||
        (rc = get_u64(ledger, "/v1/identity", "now_nanos", &now_nanos)) != EXIT_OK)
        goto done;
    rc = EXIT_FAIL;

    /* 2. the transfer, sent again with the same body only while no answer comes */
    body = json_object();
    set_member(body, "to", json_string(to_hex), &ok);
    set_member(body, "amount_e8s", u64_string(amount), &ok);
    set_member(body, "fee_e8s", u64_string(fee), &ok);
    set_member(body, "memo", u64_string(memo), &ok);
    set_member(body, "created_at_time", u64_string(now_nanos), &ok);
    if (!ok || !(body_text = json_dumps(body, JSON_COMPACT))) {
        rc = failure("out of memory");
        goto done;
    }
    for (int attempt = 0;; attempt++) {
        if (request_json(ledger, "POST", "/v1/transfers", body_text, true, &status, &text, &json,
                         &err) == 0) {
            if (!json_u64_member(json, "block_index", block)) {
                rc = failure("'POST /v1/transfers' answered without a valid block_index");
                goto done;
            }
            break;
        }
        /* a resend found the first one committed: its block is the payment */
        if (attempt > 0 && status == 409 && strcmp(err.code, "TxDuplicate") == 0) {
            bool found = false;
            for (int k = 0; k < err.npayload; k++)
                if (strcmp(err.payload[k].name, "duplicate_of") == 0) {
                    *block = err.payload[k].value;
                    found = true;
                }
            if (found)
                break;
        }
        if (status != 0 || attempt >= 4) {
            if (status == 0)
                fprintf(stderr,
                        "nns %s: no answer from the ledger: the transfer of %" PRIu64
                        " e8s to %s may or may not have happened; look for it in the sender's "
                        "history ('nns history'), then resume with --block N if it did\n",
                        command->name, amount, to_hex);
            rc = request_failure("POST", "/v1/transfers", status, text, &err);
            goto done;
        }
        free(text);
        text = NULL;
        sleep_ms(500u << attempt);
    }
    fprintf(stderr,
            "nns %s: block %" PRIu64 ": sent %" PRIu64 " e8s (fee %" PRIu64
            ") to the cmc's deposit account %s with memo %" PRIu64 "; notifying\n",
            command->name, *block, amount, fee, to_hex, memo);
    rc = EXIT_OK;
done:
    json_decref(json);
    json_decref(body);
    free(body_text);
    free(text);
    free(path);
    return rc;
}

/* Step 3: the notify, retried while the cmc answers Processing, 429, 503 or nothing, for at
 * most wait_seconds. Prints the answer. */
static int cycles_notify(nns_client_t *cmc, const cycles_flow_t *flow, uint64_t block,
                         uint64_t wait_seconds)
{
    char *body_text = NULL, *text = NULL;
    json_t *json = NULL;
    long status = 0;
    nns_error_t err;
    int rc = EXIT_FAIL;
    uint64_t deadline = monotonic_ms() + wait_seconds * 1000u, delay = 250;

    if (json_object_set_new(flow->notify_body, "block_index", u64_string(block)) != 0 ||
        !(body_text = json_dumps(flow->notify_body, JSON_COMPACT)))
        return failure("out of memory");
    for (;;) {
        if (request_json(cmc, "POST", flow->notify_path, body_text, true, &status, &text, &json,
                         &err) == 0) {
            rc = print_json(json);
            json = NULL;
            break;
        }
        bool again = status == 0 || status == 429 || status == 503 ||
                     (status == 409 && strcmp(err.code, "Processing") == 0);
        if (!again) {
            rc = request_failure("POST", flow->notify_path, status, text, &err);
            break;
        }
        uint64_t now = monotonic_ms();
        if (now >= deadline) {
            fprintf(stderr,
                    "nns %s: the notification of block %" PRIu64 " is not finished (%s%s%s) "
                    "after %" PRIu64 " s; the ICP is at the cmc, nothing is lost; resume with:\n",
                    command->name, block, status ? err.code : "", status ? ": " : "", err.detail,
                    wait_seconds);
            print_resume_command(stderr, block);
            rc = EXIT_UNFINISHED;
            break;
        }
        free(text);
        text = NULL;
        sleep_ms(deadline - now < delay ? deadline - now
                                        : delay); /* the last try at the deadline */
        delay = delay * 2 > 4000 ? 4000 : delay * 2;
    }
    json_decref(json);
    free(text);
    free(body_text);
    return rc;
}

/* The whole flow for the key in --key: steps 1-3, or step 3 alone with --block. Takes
 * flow->notify_body. */
static int cycles_run(cycles_flow_t *flow)
{
    identity_t id;
    nns_error_t err;
    nns_client_t *ledger = NULL, *cmc = NULL;
    uint64_t amount = 0, block = 0, wait_seconds = DEFAULT_WAIT_SECONDS;
    int rc = EXIT_USAGE;
    bool have_id = false;

    if (!flow->notify_body) {
        rc = failure("out of memory");
        goto done;
    }
    if (!args.block && !args.amount) {
        usage_error("missing option '--amount E8S' (or --block N to resume a notification)");
        goto done;
    }
    if (args.block ? !parse_u64_arg("--block", args.block, &block)
                   : !parse_u64_arg("--amount", args.amount, &amount))
        goto done;
    if (args.block && args.amount)
        fprintf(stderr,
                "nns %s: --block given: notifying block %" PRIu64 " only; --amount is not used\n",
                command->name, block);
    if (args.wait && !parse_u64_arg("--wait", args.wait, &wait_seconds))
        goto done;
    if (wait_seconds > 86400) {
        usage_error("bad value '%s' for --wait: at most 86400 seconds", args.wait);
        goto done;
    }
    if (!identity_load(args.key, &id, &err)) {
        rc = failure("%s", err.detail);
        goto done;
    }
    have_id = true;
    if (!(ledger = nns_client_new(service_url(), &id)) || !(cmc = nns_client_new(cmc_url(), &id))) {
        rc = failure("cannot create a client for '%s'", ledger ? cmc_url() : service_url());
        goto done;
    }
    if (!args.block && (rc = cycles_transfer(ledger, cmc, flow, amount, &block)) != EXIT_OK)
        goto done;
    rc = cycles_notify(cmc, flow, block, wait_seconds);
done:
    nns_client_destroy(&ledger);
    nns_client_destroy(&cmc);
    if (have_id)
        OPENSSL_cleanse(&id, sizeof id);
    json_decref(flow->notify_body);
    flow->notify_body = NULL;
    return rc;
}

/* The text of the principal whose key is in --key (for create and mint, the caller). */
static int key_principal(char out[PRINCIPAL_TEXT_MAX])
{
    identity_t id;
    nns_error_t err;
    if (!identity_load(args.key, &id, &err))
        return failure("%s", err.detail);
    principal_to_text(&id.principal, out);
    OPENSSL_cleanse(&id, sizeof id);
    return EXIT_OK;
}

/* A principal option, checked and rewritten canonically. */
bool parse_principal_arg(const char *option, const char *text, char out[PRINCIPAL_TEXT_MAX])
{
    principal_t p;
    nns_error_t err;
    if (!principal_from_text(text, &p, &err)) {
        usage_error("bad value '%s' for %s: %s (expected a principal such as "
                    "rrkah-fqaaa-aaaaa-aaaaq-cai)",
                    text, option, err.detail);
        return false;
    }
    principal_to_text(&p, out);
    return true;
}

static int cmd_cycles_top_up(void)
{
    char canister[PRINCIPAL_TEXT_MAX];
    bool ok = true;
    if (!parse_principal_arg("--canister", args.canister, canister))
        return EXIT_USAGE;
    cycles_flow_t flow = {"top-up", canister, "/v1/cycles/notify-top-up", json_object()};
    set_member(flow.notify_body, "canister_id", json_string(canister), &ok);
    if (!ok) {
        json_decref(flow.notify_body);
        return failure("out of memory");
    }
    return cycles_run(&flow);
}

static int cmd_cycles_create_canister(void)
{
    char caller[PRINCIPAL_TEXT_MAX], subnet[PRINCIPAL_TEXT_MAX], controller[PRINCIPAL_TEXT_MAX];
    bool ok = true;
    int rc;
    if (args.subnet_type && args.subnet)
        return usage_error("give --subnet-type or --subnet, not both");
    if (args.subnet_type && (!*args.subnet_type || strlen(args.subnet_type) > 63))
        return usage_error("bad value '%s' for --subnet-type: expected 1 to 63 characters",
                           args.subnet_type);
    if (args.subnet && !parse_principal_arg("--subnet", args.subnet, subnet))
        return EXIT_USAGE;
    if ((rc = key_principal(caller)) != EXIT_OK)
        return rc;
    json_t *body = json_object(), *controllers = NULL;
    /* the cmc accepts a create notify only from the controller it names (spec/cmc.md 3.3,
     * Other 5), so the controller is the caller; --controller sets the canister's settings */
    set_member(body, "controller", json_string(caller), &ok);
    if (args.subnet_type)
        set_member(body, "subnet_type", json_string(args.subnet_type), &ok);
    if (args.subnet) {
        json_t *selection = json_object();
        set_member(selection, "subnet", json_string(subnet), &ok);
        set_member(body, "subnet_selection", selection, &ok);
    }
    if (args.ncontrollers > 0) {
        json_t *settings = json_object();
        controllers = json_array();
        for (size_t k = 0; k < args.ncontrollers; k++) {
            if (!parse_principal_arg("--controller", args.controllers[k], controller)) {
                json_decref(settings);
                json_decref(controllers);
                json_decref(body);
                return EXIT_USAGE;
            }
            if (json_array_append_new(controllers, json_string(controller)) != 0)
                ok = false;
        }
        set_member(settings, "controllers", controllers, &ok);
        set_member(body, "settings", settings, &ok);
    }
    if (!ok) {
        json_decref(body);
        return failure("out of memory");
    }
    cycles_flow_t flow = {"create", caller, "/v1/cycles/notify-create-canister", body};
    return cycles_run(&flow);
}

static int cmd_cycles_mint(void)
{
    char caller[PRINCIPAL_TEXT_MAX];
    uint8_t sub[SUBACCOUNT_BYTES], memo[DEPOSIT_MEMO_MAX];
    size_t memo_len = 0;
    bool ok = true;
    int rc;
    if ((args.to_subaccount &&
         !parse_hex_arg("--to-subaccount", args.to_subaccount, sub, sizeof sub, true, NULL)) ||
        (args.deposit_memo &&
         !parse_hex_arg("--deposit-memo", args.deposit_memo, memo, sizeof memo, false, &memo_len)))
        return EXIT_USAGE;
    if ((rc = key_principal(caller)) != EXIT_OK)
        return rc;
    json_t *body = json_object();
    if (args.to_subaccount)
        set_member(body, "to_subaccount", hex_string(sub, sizeof sub), &ok);
    if (args.deposit_memo)
        set_member(body, "deposit_memo", hex_string(memo, memo_len), &ok);
    if (!ok) {
        json_decref(body);
        return failure("out of memory");
    }
    cycles_flow_t flow = {"mint", caller, "/v1/cycles/notify-mint-cycles", body};
    return cycles_run(&flow);
}

/* The message a signed rate's signature covers (API.md "Signed rates"): len(domain) || domain
 * || timestamp_seconds (u64 BE) || xdr_permyriad_per_icp (u64 BE). Returns its length. */
static size_t rate_message(const char *domain, uint64_t timestamp, uint64_t rate,
                           uint8_t out[1 + 32 + 16])
{
    size_t dl = strlen(domain), at = 0;
    out[at++] = (uint8_t)dl;
    memcpy(out + at, domain, dl);
    at += dl;
    for (int i = 0; i < 8; i++)
        out[at++] = (uint8_t)(timestamp >> (56 - 8 * i));
    for (int i = 0; i < 8; i++)
        out[at++] = (uint8_t)(rate >> (56 - 8 * i));
    return at;
}

/* The cmc's Ed25519 key: --cmc-pub FILE (the cmc.pub of its keys folder: pinned), else the key
 * the cmc itself names in GET /v1/identity. Prints the failure. */
static int cmc_public_key(nns_client_t *client, uint8_t pk[32], char *source, size_t cap)
{
    uint8_t der[ED25519_DER_BYTES];
    nns_error_t err;
    if (args.cmc_pub) {
        if (!public_key_load(args.cmc_pub, der, &err))
            return failure("%s", err.detail);
        if (!ed25519_raw_from_der(der, sizeof der, pk))
            return failure("'%s' does not hold an Ed25519 public key", args.cmc_pub);
        snprintf(source, cap, "'%s'", args.cmc_pub);
        return EXIT_OK;
    }
    long status = 0;
    char *text = NULL;
    json_t *json = NULL;
    int rc = EXIT_OK;
    if (request_json(client, "GET", "/v1/identity", NULL, false, &status, &text, &json, &err) !=
        0) {
        rc = request_failure("GET", "/v1/identity", status, text, &err);
    } else {
        const char *hex = json_string_value(json_object_get(json, "public_key_der_hex"));
        const char *service = json_string_value(json_object_get(json, "service"));
        long n = hex ? hex_decode(hex, strlen(hex), der, sizeof der) : -1;
        if (!service || strcmp(service, "cmc") != 0)
            rc = failure("'%s' is not a cycles minting service (GET /v1/identity names '%s')",
                         cmc_url(), service ? service : "");
        else if (n != (long)sizeof der || !ed25519_raw_from_der(der, sizeof der, pk))
            rc = failure("GET /v1/identity answered without a valid Ed25519 'public_key_der_hex'");
        else
            snprintf(source, cap, "from GET %s/v1/identity", cmc_url());
    }
    json_decref(json);
    free(text);
    return rc;
}

/* GET /v1/cycles/conversion-rate, printed only when its signature verifies against the cmc's
 * key; a rate that does not verify is refused (exit 1) and not printed. */
static int show_verified_rate(void)
{
    nns_client_t *client = nns_client_new(cmc_url(), NULL);
    if (!client)
        return failure("cannot create a client for '%s'", cmc_url());
    uint8_t pk[32], sig[64], msg[1 + 32 + 16];
    char source[1100];
    long status = 0;
    char *text = NULL;
    json_t *json = NULL;
    nns_error_t err;
    const char *path = "/v1/cycles/conversion-rate";
    int rc = cmc_public_key(client, pk, source, sizeof source);
    if (rc == EXIT_OK &&
        request_json(client, "GET", path, NULL, false, &status, &text, &json, &err) != 0)
        rc = request_failure("GET", path, status, text, &err);
    if (rc == EXIT_OK) {
        uint64_t ts, rate;
        const char *hex = json_string_value(json_object_get(json, "signature"));
        if (!json_u64_member(json, "timestamp_seconds", &ts) ||
            !json_u64_member(json, "xdr_permyriad_per_icp", &rate) || !hex ||
            hex_decode(hex, strlen(hex), sig, sizeof sig) != (long)sizeof sig) {
            rc = failure("'GET %s' answered without a valid timestamp_seconds, "
                         "xdr_permyriad_per_icp and signature: refusing the rate",
                         path);
        } else if (!ed25519_verify(pk, msg, rate_message("icp-xdr-rate", ts, rate, msg), sig)) {
            rc = failure("the rate's signature does not verify against the cmc's key %s: "
                         "refusing the rate",
                         source);
        } else {
            rc = print_json(json);
            json = NULL;
        }
    }
    json_decref(json);
    free(text);
    nns_client_destroy(&client);
    return rc;
}

static int cmd_cycles_rate(void)
{
    uint64_t rate, timestamp = 0;
    if (!args.set) {
        if (args.key || args.timestamp)
            return usage_error("--key and --timestamp go with --set");
        return show_verified_rate();
    }
    if (args.cmc_pub)
        return usage_error("--cmc-pub goes without --set (it checks the rate read)");
    if (!args.key)
        return usage_error("missing option '--key FILE' (--set needs the rate oracle's or "
                           "governance's key)");
    if (!parse_u64_arg("--set", args.set, &rate) ||
        (args.timestamp && !parse_u64_arg("--timestamp", args.timestamp, &timestamp)))
        return EXIT_USAGE;
    if (rate == 0)
        return usage_error("bad value '%s' for --set: the rate must be greater than 0", args.set);
    if (!args.timestamp) {
        /* the cmc's domain time (its test clock in tests), in seconds */
        nns_client_t *client = nns_client_new(cmc_url(), NULL);
        uint64_t now_nanos = 0;
        if (!client)
            return failure("cannot create a client for '%s'", cmc_url());
        int rc = get_u64(client, "/v1/identity", "now_nanos", &now_nanos);
        nns_client_destroy(&client);
        if (rc != EXIT_OK)
            return rc;
        timestamp = now_nanos / 1000000000u;
    }
    identity_t id;
    nns_error_t err;
    char *text = NULL;
    bool ok = true;
    json_t *body = json_object();
    set_member(body, "timestamp_seconds", u64_string(timestamp), &ok);
    set_member(body, "xdr_permyriad_per_icp", u64_string(rate), &ok);
    if (!ok || !(text = json_dumps(body, JSON_COMPACT))) {
        json_decref(body);
        return failure("out of memory");
    }
    json_decref(body);
    if (!identity_load(args.key, &id, &err)) {
        free(text);
        return failure("%s", err.detail);
    }
    int rc = call_at(cmc_url(), "POST", "/v1/cycles/conversion-rate", text, &id);
    OPENSSL_cleanse(&id, sizeof id);
    free(text);
    return rc;
}

static int cmd_cycles_canister(void)
{
    char canister[PRINCIPAL_TEXT_MAX], path[32 + PRINCIPAL_TEXT_MAX];
    if (!parse_principal_arg("CANISTER_ID", args.positional, canister))
        return EXIT_USAGE;
    snprintf(path, sizeof path, "/v1/canisters/%s", canister);
    return call_at(cmc_url(), "GET", path, NULL, NULL);
}

static const cli_command_t COMMANDS[] = {
    {"key generate",
     NULL,
     LOCAL,
     cmd_key_generate,
     "create a new key file (mode 0600) and print its principal",
     {{"out", "FILE", &args.out, true,
       "where to write the key; an existing file is never "
       "overwritten"},
      {"type", "TYPE", &args.type, false,
       "ed25519 (default; PKCS#8 PEM) or secp256k1 (dfx's default; SEC1 PEM as dfx writes it)"}}},
    {"key import",
     NULL,
     LOCAL,
     cmd_key_import,
     "check a dfx PEM identity (Ed25519, or secp256k1 as SEC1 or PKCS#8) and copy it as a key "
     "file (mode 0600)",
     {{"pem", "PEM_FILE", &args.pem, true, "the PEM to import (`dfx identity export NAME`)"},
      {"out", "FILE", &args.out, true,
       "where to write the key; an existing file is never "
       "overwritten"}}},
    {"key show",
     NULL,
     LOCAL,
     cmd_key_show,
     "print a key file's principal, public key and default account identifier",
     {{"key", "FILE", &args.key, true, "the key file"}}},
    {"account",
     NULL,
     LOCAL,
     cmd_account,
     "print the account identifier and ICRC-1 text of a principal's (sub)account",
     {{"principal", "PRINCIPAL", &args.principal, true, "the account owner"},
      {"subaccount", "HEX", &args.subaccount, false, "64 hex digits (default: all zero)"}}},
    {"balance",
     "ACCOUNT",
     REMOTE_URL,
     cmd_balance,
     "GET /v1/accounts/ACCOUNT: balance of a 64-hex account identifier or ICRC-1 account",
     {{0}}},
    {"transfer",
     NULL,
     REMOTE_URL,
     cmd_transfer,
     "signed POST /v1/transfers: legacy ICP transfer to an account identifier",
     {{"key", "FILE", &args.key, true, "key file of the sender"},
      {"to", "ACCOUNT_ID", &args.to, true, "64-hex account identifier of the recipient"},
      {"amount", "E8S", &args.amount, true, "amount in e8s (decimal digits)"},
      {"fee", "E8S", &args.fee, false, "fee in e8s (default: 10000)"},
      {"memo", "U64", &args.memo, false, "memo, decimal (default: 0)"},
      {"from-subaccount", "HEX", &args.from_subaccount, false,
       "sender's subaccount, 64 hex digits (default: all zero)"},
      {"created-at-time", "NANOS", &args.created_at_time, false,
       "created_at_time in ns since the epoch, for deduplication"}}},
    {"icrc1-transfer",
     NULL,
     REMOTE_URL,
     cmd_icrc1_transfer,
     "signed POST /v1/transfers: ICRC-1 transfer to an ICRC-1 account",
     {{"key", "FILE", &args.key, true, "key file of the sender"},
      {"to", "ICRC1_ACCOUNT", &args.to, true, "ICRC-1 account text of the recipient"},
      {"amount", "E8S", &args.amount, true, "amount in e8s (decimal digits)"},
      {"fee", "E8S", &args.fee, false, "fee in e8s (default: omitted, the ledger's fee)"},
      {"memo-hex", "HEX", &args.memo_hex, false, "icrc1_memo, at most 32 bytes of hex"},
      {"from-subaccount", "HEX", &args.from_subaccount, false,
       "sender's subaccount, 64 hex digits (default: all zero)"},
      {"created-at-time", "NANOS", &args.created_at_time, false,
       "created_at_time in ns since the epoch, for deduplication"}}},
    {"approve",
     NULL,
     REMOTE_URL,
     cmd_approve,
     "signed POST /v1/approvals: ICRC-2 approve a spender",
     {{"key", "FILE", &args.key, true, "key file of the approver"},
      {"spender", "ICRC1_ACCOUNT", &args.spender, true, "ICRC-1 account text of the spender"},
      {"amount", "E8S", &args.amount, true, "the allowance in e8s (replaces the current one)"},
      {"expected-allowance", "E8S", &args.expected_allowance, false,
       "refuse unless the current allowance is this"},
      {"expires-at", "NANOS", &args.expires_at, false, "expiry in ns since the epoch"},
      {"fee", "E8S", &args.fee, false, "fee in e8s (default: omitted, the ledger's fee)"},
      {"memo-hex", "HEX", &args.memo_hex, false, "icrc1_memo, at most 32 bytes of hex"},
      {"from-subaccount", "HEX", &args.from_subaccount, false, "approver's subaccount"}}},
    {"transfer-from",
     NULL,
     REMOTE_URL,
     cmd_transfer_from,
     "signed POST /v1/transfer-from: ICRC-2 spend from an account that approved you",
     {{"key", "FILE", &args.key, true, "key file of the spender"},
      {"from", "ICRC1_ACCOUNT", &args.from, true, "the approver's ICRC-1 account"},
      {"to", "ICRC1_ACCOUNT", &args.to, true, "the recipient's ICRC-1 account"},
      {"amount", "E8S", &args.amount, true, "amount in e8s"},
      {"fee", "E8S", &args.fee, false, "fee in e8s (default: omitted, the ledger's fee)"},
      {"memo-hex", "HEX", &args.memo_hex, false, "icrc1_memo, at most 32 bytes of hex"},
      {"spender-subaccount", "HEX", &args.spender_subaccount, false, "spender's subaccount"},
      {"created-at-time", "NANOS", &args.created_at_time, false,
       "created_at_time in ns since the epoch, for deduplication"}}},
    {"allowance",
     NULL,
     REMOTE_URL,
     cmd_allowance,
     "GET /v1/allowances/OWNER/SPENDER: the current ICRC-2 allowance",
     {{"from", "ACCOUNT", &args.from, true, "the approver (owner) account"},
      {"spender", "ACCOUNT", &args.spender, true, "the spender account"}}},
    {"history",
     "ACCOUNT",
     REMOTE_URL,
     cmd_history,
     "GET /v1/accounts/ACCOUNT/transactions: an account's blocks, newest first",
     {{"limit", "N", &args.limit, false, "page size (the service clamps it to 1..500)"},
      {"cursor", "CURSOR", &args.cursor, false, "next_cursor of the previous page"}}},
    {"block", "HEIGHT", REMOTE_URL, cmd_block, "GET /v1/blocks/HEIGHT: one block", {{0}}},
    {"blocks",
     NULL,
     REMOTE_URL,
     cmd_blocks,
     "GET /v1/blocks: the chain, newest first",
     {{"limit", "N", &args.limit, false, "page size (the service clamps it to 1..500)"},
      {"cursor", "CURSOR", &args.cursor, false, "next_cursor of the previous page"},
      {"start", "HEIGHT", &args.start, false, "ascending from this height instead"}}},
    {"ledger",
     NULL,
     REMOTE_URL,
     cmd_ledger,
     "GET /v1/ledger: token, fee, minting account, supply, chain length and tip",
     {{0}}},
    {"identity",
     NULL,
     REMOTE_URL,
     cmd_identity,
     "GET /v1/identity: the service's principal, public key and time",
     {{0}}},
    {"cycles top-up",
     NULL,
     REMOTE_LEDGER | REMOTE_CMC,
     cmd_cycles_top_up,
     "turn ICP into cycles for a canister: the transfer to the cmc, then notify-top-up",
     {{"key", "FILE", &args.key, true, "key file of the payer"},
      {"canister", "ID", &args.canister, true, "the canister to top up"},
      {"amount", "E8S", &args.amount, false, "ICP to convert, in e8s (the ledger fee is extra)"},
      {"block", "N", &args.block, false, "resume: notify the transfer in block N, send nothing"},
      {"wait", "SECONDS", &args.wait, false,
       "retry the notify while it is Processing or 503 (default: 60)"}}},
    {"cycles create-canister",
     NULL,
     REMOTE_LEDGER | REMOTE_CMC,
     cmd_cycles_create_canister,
     "create a canister paid in ICP: the transfer to the cmc, then notify-create-canister",
     {{"key", "FILE", &args.key, true, "key file of the creator (the notify's controller)"},
      {"amount", "E8S", &args.amount, false, "ICP to convert, in e8s (the ledger fee is extra)"},
      {"subnet-type", "TYPE", &args.subnet_type, false, "a subnet of this type"},
      {"subnet", "SUBNET", &args.subnet, false, "this subnet (principal)"},
      {"controller", "PRINCIPAL", args.controllers, false,
       "a controller of the new canister (default: the creator); repeatable, up to 10"},
      {"block", "N", &args.block, false, "resume: notify the transfer in block N, send nothing"},
      {"wait", "SECONDS", &args.wait, false,
       "retry the notify while it is Processing or 503 (default: 60)"}}},
    {"cycles mint",
     NULL,
     REMOTE_LEDGER | REMOTE_CMC,
     cmd_cycles_mint,
     "mint cycles to your cycles-ledger account: the transfer to the cmc, then notify-mint-cycles",
     {{"key", "FILE", &args.key, true, "key file of the payer, who owns the cycles account"},
      {"amount", "E8S", &args.amount, false, "ICP to convert, in e8s (the ledger fee is extra)"},
      {"to-subaccount", "HEX", &args.to_subaccount, false,
       "cycles-ledger subaccount, 64 hex digits (default: all zero)"},
      {"deposit-memo", "HEX", &args.deposit_memo, false, "memo of the deposit, at most 32 bytes"},
      {"block", "N", &args.block, false, "resume: notify the transfer in block N, send nothing"},
      {"wait", "SECONDS", &args.wait, false,
       "retry the notify while it is Processing or 503 (default: 60)"}}},
    {"cycles rate",
     NULL,
     REMOTE_CMC,
     cmd_cycles_rate,
     "GET /v1/cycles/conversion-rate: the ICP/XDR rate, printed once its signature verifies "
     "against the cmc's key; with --set, post a new one",
     {{"set", "XDR_PERMYRIAD", &args.set, false,
       "signed POST of this rate (1/10000 XDR per ICP): rate oracle or governance only"},
      {"key", "FILE", &args.key, false, "key file that signs --set"},
      {"timestamp", "SECONDS", &args.timestamp, false,
       "the rate's timestamp (default: the cmc's time)"},
      {"cmc-pub", "FILE", &args.cmc_pub, false,
       "the cmc's public key file (cmc.pub of its --keys folder) to verify the rate's signature "
       "against (default: the key the cmc names in GET /v1/identity)"}}},
    {"cycles canister",
     "ID",
     REMOTE_CMC,
     cmd_cycles_canister,
     "GET /v1/canisters/ID: a canister's controllers, cycles and subnet",
     {{0}}},
};
#define NLEDGER_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])
#define NCOMMANDS (NLEDGER_COMMANDS + NEURON_NCOMMANDS + PROPOSAL_NCOMMANDS)

/* The k-th command of the three tables: the ledger's and cycles' here, then the neuron
 * commands, then the proposal ones. */
static const cli_command_t *command_at(size_t k)
{
    if (k < NLEDGER_COMMANDS)
        return &COMMANDS[k];
    k -= NLEDGER_COMMANDS;
    return k < NEURON_NCOMMANDS ? &NEURON_COMMANDS[k] : &PROPOSAL_COMMANDS[k - NEURON_NCOMMANDS];
}

/* ---- usage ------------------------------------------------------------------------------- */

/* "nns transfer --key FILE ... [--fee E8S]": the command's synopsis, wrapped before column
 * 80 with continuation lines indented by `indent` + 4 spaces; `column` is where it starts. */
static void print_synopsis(FILE *f, const cli_command_t *c, int column)
{
    int indent = column + 6;
    column += fprintf(f, "nns %s", c->name);
    if (c->positional)
        column += fprintf(f, " %s", c->positional);
    for (const cli_option_t *o = c->options; o->name; o++) {
        char word[64];
        int n = snprintf(word, sizeof word,
                         o->required ? "--%s %s"
                                     : (repeat_max(o, NULL) > 0 ? "[--%s %s ...]" : "[--%s %s]"),
                         o->name, o->metavar);
        if (column + 1 + n > 79)
            column = fprintf(f, "\n%*s", indent, "") - 1;
        else
            column += fprintf(f, " ");
        column += fprintf(f, "%s", word);
    }
    fputc('\n', f);
}

static void print_option(FILE *f, const cli_option_t *o)
{
    char left[64];
    snprintf(left, sizeof left, "--%s %s", o->name, o->metavar);
    fprintf(f, "  %-26s %s\n", left, o->help);
}

static void print_command_help(const cli_command_t *c)
{
    printf("usage: ");
    print_synopsis(stdout, c, 7);
    printf("\n%s\n\noptions:\n", c->summary);
    for (const cli_option_t *o = c->options; o->name; o++)
        print_option(stdout, o);
    if (c->remote & REMOTE_URL)
        print_option(stdout, &URL_OPTION);
    if (c->remote & REMOTE_LEDGER)
        print_option(stdout, &LEDGER_OPTION);
    if (c->remote & REMOTE_CMC)
        print_option(stdout, &CMC_OPTION);
    if (c->remote & REMOTE_GOV)
        print_option(stdout, &GOV_OPTION);
    printf("  %-26s %s\n", "--help", "print this help and exit");
}

/* Help for every command whose name starts with prefix ("" for all). */
static void print_help(const char *prefix)
{
    printf("usage: nns [--url URL] [--ledger URL] [--cmc URL] [--governance URL] COMMAND "
           "[ARGUMENTS]\n\n"
           "Client of the NNS ledger, cycles minting and governance services: keys, accounts,\n"
           "balances, transfers, blocks; cycles for canisters (top-up, create, mint) and the\n"
           "ICP/XDR rate; neurons (stake in one step, claim, list, every manage-neuron command);\n"
           "proposals (submit, list, show, ballots, votes), voting, reward events.\n\n"
           "commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const cli_command_t *c = command_at(i);
        if (strncmp(c->name, prefix, strlen(prefix)) != 0)
            continue;
        printf("  ");
        print_synopsis(stdout, c, 2);
        printf("      %s\n", c->summary);
    }
    printf("\nglobal options:\n");
    print_option(stdout, &URL_OPTION);
    print_option(stdout, &LEDGER_OPTION);
    print_option(stdout, &CMC_OPTION);
    print_option(stdout, &GOV_OPTION);
    printf("  %-26s %s\n", "--help", "print this help, or a command's with 'nns COMMAND --help'");
    printf("\nAmounts are whole e8s in decimal digits (1 ICP = 100000000 e8s), except the neuron\n"
           "commands' --amount, in ICP (up to 8 decimals; --amount-e8s for e8s). ACCOUNT is a\n"
           "64-hex account identifier or ICRC-1 account text. Responses are printed as JSON.\n"
           "Exit status: 0 success, 1 request refused or failed (problem printed on stderr),\n"
           "2 usage error, 3 a cycles notification not finished yet (resume with --block N).\n");
}

/* ---- parsing ----------------------------------------------------------------------------- */

/* Matches "--name" or "--name=value" against option o; sets *value to the inline value. */
static bool option_matches(const cli_option_t *o, const char *arg, const char **value)
{
    size_t n = strlen(o->name);
    if (strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, o->name, n) != 0)
        return false;
    if (arg[2 + n] == '\0') {
        *value = NULL;
        return true;
    }
    if (arg[2 + n] == '=') {
        *value = arg + 3 + n;
        return true;
    }
    return false;
}

/* Parses one option at argv[*i] among the given ones. Returns 1 when matched (value stored,
 * *i advanced past its value), 0 when no option matched, -1 on a usage error (reported). */
static int parse_option(const cli_option_t *const *options, size_t noptions, int argc, char **argv,
                        int *i)
{
    for (size_t k = 0; k < noptions; k++) {
        const cli_option_t *o = options[k];
        const char *value;
        if (!option_matches(o, argv[*i], &value))
            continue;
        if (!value) {
            if (*i + 1 >= argc) {
                usage_error("option '--%s' needs a value (%s)", o->name, o->metavar);
                return -1;
            }
            value = argv[++*i];
        }
        size_t *count = NULL, max = repeat_max(o, &count);
        if (max > 0) {
            if (*count >= max) {
                usage_error("option '--%s' given more than %zu times", o->name, max);
                return -1;
            }
            o->target[(*count)++] = value;
            return 1;
        }
        if (*o->target) {
            usage_error("option '--%s' given twice", o->name);
            return -1;
        }
        *o->target = value;
        return 1;
    }
    return 0;
}

static bool is_http_url(const char *url)
{
    return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

static bool is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

/* The command named by argv[i] (and argv[i+1] for two-word names); *words is 1 or 2. */
static const cli_command_t *find_command(int argc, char **argv, int i, int *words)
{
    for (size_t k = 0; k < NCOMMANDS; k++) {
        const char *name = command_at(k)->name, *space = strchr(name, ' ');
        if (!space && strcmp(name, argv[i]) == 0) {
            *words = 1;
            return command_at(k);
        }
        if (space && i + 1 < argc && strlen(argv[i]) == (size_t)(space - name) &&
            strncmp(name, argv[i], (size_t)(space - name)) == 0 &&
            strcmp(space + 1, argv[i + 1]) == 0) {
            *words = 2;
            return command_at(k);
        }
    }
    return NULL;
}

/* A group of two-word commands ("key"), when argv[i] names one. */
static bool is_group(const char *word)
{
    for (size_t k = 0; k < NCOMMANDS; k++) {
        const char *name = command_at(k)->name, *space = strchr(name, ' ');
        if (space && strlen(word) == (size_t)(space - name) &&
            strncmp(name, word, (size_t)(space - name)) == 0)
            return true;
    }
    return false;
}

int main(int argc, char **argv)
{
    const cli_option_t *global[] = {&URL_OPTION, &LEDGER_OPTION, &CMC_OPTION, &GOV_OPTION};
    int i = 1, words = 0;

    saved_argc = argc;
    saved_argv = argv;
    while (i < argc && strncmp(argv[i], "-", 1) == 0) {
        if (is_help(argv[i])) {
            print_help("");
            return EXIT_OK;
        }
        int matched = parse_option(global, 4, argc, argv, &i);
        if (matched < 0)
            return EXIT_USAGE;
        if (matched == 0)
            return usage_error("unknown option '%s'", argv[i]);
        i++;
    }
    if (i >= argc) {
        fprintf(stderr, "nns: missing command\nrun 'nns --help' for usage\n");
        return EXIT_USAGE;
    }
    if (is_help(argv[i])) {
        print_help("");
        return EXIT_OK;
    }
    command = find_command(argc, argv, i, &words);
    if (!command) {
        if (is_group(argv[i])) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "%s ", argv[i]);
            if (i + 1 < argc && is_help(argv[i + 1])) {
                print_help(prefix);
                return EXIT_OK;
            }
            if (i + 1 < argc)
                fprintf(stderr, "nns %s: unknown subcommand '%s'\n", argv[i], argv[i + 1]);
            else
                fprintf(stderr, "nns %s: missing subcommand\n", argv[i]);
            fprintf(stderr, "run 'nns %s --help' for usage\n", argv[i]);
            return EXIT_USAGE;
        }
        fprintf(stderr, "nns: unknown command '%s'\nrun 'nns --help' for usage\n", argv[i]);
        return EXIT_USAGE;
    }

    const cli_option_t *options[MAX_OPTIONS + 4];
    size_t noptions = 0;
    for (const cli_option_t *o = command->options; o->name; o++)
        options[noptions++] = o;
    if (command->remote & REMOTE_URL)
        options[noptions++] = &URL_OPTION;
    if (command->remote & REMOTE_LEDGER)
        options[noptions++] = &LEDGER_OPTION;
    if (command->remote & REMOTE_CMC)
        options[noptions++] = &CMC_OPTION;
    if (command->remote & REMOTE_GOV)
        options[noptions++] = &GOV_OPTION;
    for (i += words; i < argc; i++) {
        if (is_help(argv[i]) && strcmp(argv[i], "help") != 0) {
            print_command_help(command);
            return EXIT_OK;
        }
        if (strncmp(argv[i], "--", 2) == 0) {
            int matched = parse_option(options, noptions, argc, argv, &i);
            if (matched < 0)
                return EXIT_USAGE;
            if (matched == 0)
                return usage_error("unknown option '%s'", argv[i]);
        } else if (command->positional && !args.positional) {
            args.positional = argv[i];
        } else if (command->positional && strchr(command->positional, ' ') && !args.positional2) {
            args.positional2 = argv[i];
        } else {
            return usage_error("unexpected argument '%s'", argv[i]);
        }
    }
    if (command->positional && !args.positional)
        return usage_error("missing %s", command->positional);
    if (command->positional && strchr(command->positional, ' ') && !args.positional2)
        return usage_error("missing %s", strchr(command->positional, ' ') + 1);
    for (const cli_option_t *o = command->options; o->name; o++)
        if (o->required && !*o->target)
            return usage_error("missing option '--%s %s'", o->name, o->metavar);
    if ((command->remote & (REMOTE_URL | REMOTE_LEDGER)) && !is_http_url(service_url()))
        return usage_error("bad service URL '%s': expected http://HOST:PORT or https://...",
                           service_url());
    if ((command->remote & REMOTE_CMC) && !is_http_url(cmc_url()))
        return usage_error("bad cycles minting service URL '%s': expected http://HOST:PORT or "
                           "https://...",
                           cmc_url());
    if ((command->remote & REMOTE_GOV) && !is_http_url(gov_url()))
        return usage_error("bad governance URL '%s': expected http://HOST:PORT or https://...",
                           gov_url());
    if (!crypto_init())
        return failure("cannot initialise libsodium");
    return command->run();
}
