/*
 * nns: the command-line client of the ledger service.
 *
 * Commands are a table ({name, positional argument, options, summary, handler}); the same table
 * parses the command line and prints --help. Every value a user types is checked here before
 * anything is sent (amounts are decimal digits only, accounts and subaccounts are parsed), so
 * a typo is a usage error (exit 2), never a request the service has to refuse. Responses are
 * printed as indented JSON: 2xx on stdout (exit 0), anything else on stderr (exit 1).
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "account.h"
#include "client.h"
#include "hex.h"
#include "keyfile.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

#define DEFAULT_URL "http://127.0.0.1:8081"
#define URL_ENV "NNS_LEDGER_URL"
#define DEFAULT_FEE_E8S 10000
#define MAX_OPTIONS 12

/* Every option value, as typed; NULL when not given. */
typedef struct {
    const char *url, *key, *out, *pem, *principal, *subaccount, *to, *amount, *fee, *memo,
        *memo_hex, *from_subaccount, *created_at_time, *limit, *cursor, *start, *spender, *from,
        *expected_allowance, *expires_at, *spender_subaccount, *type;
    const char *positional;
} cli_args_t;

static cli_args_t args;

typedef struct {
    const char *name;    /* without the leading "--" */
    const char *metavar; /* shown in usage */
    const char **target;
    bool required;
    const char *help;
} cli_option_t;

typedef struct {
    const char *name;       /* one or two words: "balance", "key generate" */
    const char *positional; /* metavar of the one positional argument, or NULL */
    bool remote;            /* talks to the service: accepts --url */
    int (*run)(void);
    const char *summary;
    cli_option_t options[MAX_OPTIONS]; /* ended by an entry with a NULL name */
} cli_command_t;

static const cli_command_t *command; /* the command being run, for messages */

static const cli_option_t URL_OPTION = {"url", "URL", &args.url, false,
                                        "service base URL (default: $" URL_ENV ", else " DEFAULT_URL
                                        ")"};

/* ---- messages ---------------------------------------------------------------------------- */

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
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

static int failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int failure(const char *fmt, ...)
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
static void print_body(FILE *f, const char *text)
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
static int print_json(json_t *json)
{
    if (!json)
        return failure("out of memory");
    json_dumpf(json, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(json);
    return EXIT_OK;
}

/* ---- argument checks: each prints a usage error and returns false ------------------------ */

static bool parse_u64_arg(const char *option, const char *text, uint64_t *out)
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
static bool append_query(char **path, const char *name, const char *value)
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

static json_t *u64_string(uint64_t v)
{
    char text[21];
    snprintf(text, sizeof text, "%" PRIu64, v);
    return json_string(text);
}

/* Sets a member of body; a NULL value (allocation failure) marks *ok false. */
static void set_member(json_t *body, const char *name, json_t *value, bool *ok)
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

static const char *service_url(void)
{
    if (args.url)
        return args.url;
    const char *env = getenv(URL_ENV);
    return env && *env ? env : DEFAULT_URL;
}

/* Sends one request and prints its answer. id NULL: unsigned. */
static int call(const char *method, const char *path, const char *body, const identity_t *id)
{
    nns_client_t *client = nns_client_new(service_url(), id);
    long status = 0;
    char *response = NULL;
    nns_error_t err;
    if (!client)
        return failure("cannot create a client for '%s'", service_url());
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

static const cli_command_t COMMANDS[] = {
    {"key generate",
     NULL,
     false,
     cmd_key_generate,
     "create a new key file (mode 0600) and print its principal",
     {{"out", "FILE", &args.out, true,
       "where to write the key; an existing file is never "
       "overwritten"},
      {"type", "TYPE", &args.type, false,
       "ed25519 (default; PKCS#8 PEM) or secp256k1 (dfx's default; SEC1 PEM as dfx writes it)"}}},
    {"key import",
     NULL,
     false,
     cmd_key_import,
     "check a dfx PEM identity (Ed25519, or secp256k1 as SEC1 or PKCS#8) and copy it as a key "
     "file (mode 0600)",
     {{"pem", "PEM_FILE", &args.pem, true, "the PEM to import (`dfx identity export NAME`)"},
      {"out", "FILE", &args.out, true,
       "where to write the key; an existing file is never "
       "overwritten"}}},
    {"key show",
     NULL,
     false,
     cmd_key_show,
     "print a key file's principal, public key and default account identifier",
     {{"key", "FILE", &args.key, true, "the key file"}}},
    {"account",
     NULL,
     false,
     cmd_account,
     "print the account identifier and ICRC-1 text of a principal's (sub)account",
     {{"principal", "PRINCIPAL", &args.principal, true, "the account owner"},
      {"subaccount", "HEX", &args.subaccount, false, "64 hex digits (default: all zero)"}}},
    {"balance",
     "ACCOUNT",
     true,
     cmd_balance,
     "GET /v1/accounts/ACCOUNT: balance of a 64-hex account identifier or ICRC-1 account",
     {{0}}},
    {"transfer",
     NULL,
     true,
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
     true,
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
     true,
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
     true,
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
     true,
     cmd_allowance,
     "GET /v1/allowances/OWNER/SPENDER: the current ICRC-2 allowance",
     {{"from", "ACCOUNT", &args.from, true, "the approver (owner) account"},
      {"spender", "ACCOUNT", &args.spender, true, "the spender account"}}},
    {"history",
     "ACCOUNT",
     true,
     cmd_history,
     "GET /v1/accounts/ACCOUNT/transactions: an account's blocks, newest first",
     {{"limit", "N", &args.limit, false, "page size (the service clamps it to 1..500)"},
      {"cursor", "CURSOR", &args.cursor, false, "next_cursor of the previous page"}}},
    {"block", "HEIGHT", true, cmd_block, "GET /v1/blocks/HEIGHT: one block", {{0}}},
    {"blocks",
     NULL,
     true,
     cmd_blocks,
     "GET /v1/blocks: the chain, newest first",
     {{"limit", "N", &args.limit, false, "page size (the service clamps it to 1..500)"},
      {"cursor", "CURSOR", &args.cursor, false, "next_cursor of the previous page"},
      {"start", "HEIGHT", &args.start, false, "ascending from this height instead"}}},
    {"ledger",
     NULL,
     true,
     cmd_ledger,
     "GET /v1/ledger: token, fee, minting account, supply, chain length and tip",
     {{0}}},
    {"identity",
     NULL,
     true,
     cmd_identity,
     "GET /v1/identity: the service's principal, public key and time",
     {{0}}},
};
#define NCOMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

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
        int n =
            snprintf(word, sizeof word, o->required ? "--%s %s" : "[--%s %s]", o->name, o->metavar);
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
    if (c->remote)
        print_option(stdout, &URL_OPTION);
    printf("  %-26s %s\n", "--help", "print this help and exit");
}

/* Help for every command whose name starts with prefix ("" for all). */
static void print_help(const char *prefix)
{
    printf("usage: nns [--url URL] COMMAND [ARGUMENTS]\n\n"
           "Client of the NNS ledger service: keys, accounts, balances, transfers, blocks.\n\n"
           "commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strncmp(COMMANDS[i].name, prefix, strlen(prefix)) != 0)
            continue;
        printf("  ");
        print_synopsis(stdout, &COMMANDS[i], 2);
        printf("      %s\n", COMMANDS[i].summary);
    }
    printf("\nglobal options:\n");
    print_option(stdout, &URL_OPTION);
    printf("  %-26s %s\n", "--help", "print this help, or a command's with 'nns COMMAND --help'");
    printf("\nAmounts are whole e8s in decimal digits (1 ICP = 100000000 e8s). ACCOUNT is a\n"
           "64-hex account identifier or ICRC-1 account text. Responses are printed as JSON.\n"
           "Exit status: 0 success, 1 request refused or failed (problem printed on stderr),\n"
           "2 usage error.\n");
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
        if (*o->target) {
            usage_error("option '--%s' given twice", o->name);
            return -1;
        }
        *o->target = value;
        return 1;
    }
    return 0;
}

static bool is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

/* The command named by argv[i] (and argv[i+1] for two-word names); *words is 1 or 2. */
static const cli_command_t *find_command(int argc, char **argv, int i, int *words)
{
    for (size_t k = 0; k < NCOMMANDS; k++) {
        const char *name = COMMANDS[k].name, *space = strchr(name, ' ');
        if (!space && strcmp(name, argv[i]) == 0) {
            *words = 1;
            return &COMMANDS[k];
        }
        if (space && i + 1 < argc && strlen(argv[i]) == (size_t)(space - name) &&
            strncmp(name, argv[i], (size_t)(space - name)) == 0 &&
            strcmp(space + 1, argv[i + 1]) == 0) {
            *words = 2;
            return &COMMANDS[k];
        }
    }
    return NULL;
}

/* A group of two-word commands ("key"), when argv[i] names one. */
static bool is_group(const char *word)
{
    for (size_t k = 0; k < NCOMMANDS; k++) {
        const char *name = COMMANDS[k].name, *space = strchr(name, ' ');
        if (space && strlen(word) == (size_t)(space - name) &&
            strncmp(name, word, (size_t)(space - name)) == 0)
            return true;
    }
    return false;
}

int main(int argc, char **argv)
{
    const cli_option_t *global[] = {&URL_OPTION};
    int i = 1, words = 0;

    while (i < argc && strncmp(argv[i], "-", 1) == 0) {
        if (is_help(argv[i])) {
            print_help("");
            return EXIT_OK;
        }
        int matched = parse_option(global, 1, argc, argv, &i);
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

    const cli_option_t *options[MAX_OPTIONS + 1];
    size_t noptions = 0;
    for (const cli_option_t *o = command->options; o->name; o++)
        options[noptions++] = o;
    if (command->remote)
        options[noptions++] = &URL_OPTION;
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
        } else {
            return usage_error("unexpected argument '%s'", argv[i]);
        }
    }
    if (command->positional && !args.positional)
        return usage_error("missing %s", command->positional);
    for (const cli_option_t *o = command->options; o->name; o++)
        if (o->required && !*o->target)
            return usage_error("missing option '--%s %s'", o->name, o->metavar);
    if (command->remote && strncmp(service_url(), "http://", 7) != 0 &&
        strncmp(service_url(), "https://", 8) != 0)
        return usage_error("bad service URL '%s': expected http://HOST:PORT or https://...",
                           service_url());
    if (!crypto_init())
        return failure("cannot initialise libsodium");
    return command->run();
}
