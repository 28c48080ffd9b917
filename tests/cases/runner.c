/*
 * cases runner: runs the request -> expected-answer cases of one world folder
 * (tests/cases/<world>/<case>/case.json, format in tests/cases/README.md) against services that
 * are already running, one line per case, and exits 1 when any case fails.
 *
 *   runner --genesis WORLD          prints the world's genesis (world.json, placeholders filled)
 *   runner --genesis-of WORLD SERVICE
 *                                   prints the genesis of another service of the world
 *                                   (world.json "service_genesis": {"governance": {...}})
 *   runner --services WORLD         prints the services the world needs, one a line
 *   runner --url NAME=URL... [-v] WORLD [CASE...]
 *                                   runs every case of WORLD (or only the CASE folders named)
 *
 * Identities are Ed25519 keys: a world's own are made from the seed SHA-256("cases:<name>"), so
 * the genesis and the runs agree; a case's are random, made afresh for every case, so cases do
 * not depend on one another or on their order. Requests are signed through the C client
 * (nns_client_sign) and sent byte for byte with the e2e harness's http_exchange, which keeps
 * the answer's headers.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <regex.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "hex.h"
#include "jsonutil.h"

#define MAX_IDS 32
#define MAX_VARS 128
#define MAX_SERVICES 8
#define ERR_MAX 4096

typedef struct {
    char name[32];
    identity_t id;
    nns_client_t *signer; /* signs only; the runner sends */
    char principal[PRINCIPAL_TEXT_MAX], account[ACCOUNT_HEX_LEN + 1], icrc1[ICRC1_TEXT_MAX];
    char pubkey[2 * PUBLIC_KEY_DER_MAX + 1];
    char sub_hex[2 * SUBACCOUNT_BYTES + 1], sub_account[ACCOUNT_HEX_LEN + 1],
        sub_icrc1[ICRC1_TEXT_MAX];
} ident_t;

typedef struct {
    char name[64];
    char *value;
} var_t;

typedef struct {
    char name[32];
    const char *url;
} service_t;

typedef struct {
    const char *world_dir;
    json_t *world; /* world.json */
    service_t services[MAX_SERVICES];
    size_t nservices;
    ident_t world_ids[MAX_IDS];
    size_t nworld_ids;
    bool verbose;
    /* the case being run */
    const char *case_dir;
    ident_t ids[MAX_IDS];
    size_t nids;
    var_t vars[MAX_VARS];
    size_t nvars;
    char err[ERR_MAX]; /* why the case failed */
    size_t steps_run;
} run_t;

static void fail_msg(run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_msg(run_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
}

/* ================================================================ identities and variables */

static bool ident_init(ident_t *x, const char *name, const identity_t *id, const char *base_url)
{
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", name);
    x->id = *id;
    principal_to_text(&id->principal, x->principal);
    account_hex_of(&id->principal, NULL, x->account);
    icrc1_text_of(&id->principal, NULL, x->icrc1);
    hex_encode(id->der, id->der_len, x->pubkey);
    uint8_t sub[SUBACCOUNT_BYTES];
    fresh_subaccount(sub, x->sub_hex);
    account_hex_of(&id->principal, sub, x->sub_account);
    icrc1_text_of(&id->principal, sub, x->sub_icrc1);
    x->signer = nns_client_new(base_url, id);
    return x->signer != NULL;
}

static void ident_clear(ident_t *x)
{
    nns_client_destroy(&x->signer);
    sodium_memzero(&x->id, sizeof x->id);
}

static const ident_t *ident_find(const run_t *r, const char *name, size_t len)
{
    for (size_t i = 0; i < r->nids; i++)
        if (strlen(r->ids[i].name) == len && strncmp(r->ids[i].name, name, len) == 0)
            return &r->ids[i];
    for (size_t i = 0; i < r->nworld_ids; i++)
        if (strlen(r->world_ids[i].name) == len && strncmp(r->world_ids[i].name, name, len) == 0)
            return &r->world_ids[i];
    return NULL;
}

static bool var_set(run_t *r, const char *name, const char *value)
{
    for (size_t i = 0; i < r->nvars; i++)
        if (strcmp(r->vars[i].name, name) == 0) {
            char *v = strdup(value);
            if (!v)
                return false;
            free(r->vars[i].value);
            r->vars[i].value = v;
            return true;
        }
    if (r->nvars == MAX_VARS || strlen(name) >= sizeof r->vars[0].name)
        return false;
    var_t *v = &r->vars[r->nvars];
    snprintf(v->name, sizeof v->name, "%s", name);
    v->value = strdup(value);
    if (!v->value)
        return false;
    r->nvars++;
    return true;
}

static void vars_clear(run_t *r)
{
    for (size_t i = 0; i < r->nvars; i++)
        free(r->vars[i].value);
    r->nvars = 0;
}

/* The value of a placeholder name (without its arithmetic), borrowed; NULL when unknown. */
static const char *lookup(const run_t *r, const char *name, size_t len)
{
    for (size_t i = 0; i < r->nvars; i++)
        if (strlen(r->vars[i].name) == len && strncmp(r->vars[i].name, name, len) == 0)
            return r->vars[i].value;
    const char *dot = memchr(name, '.', len);
    if (!dot)
        return NULL;
    const ident_t *x = ident_find(r, name, (size_t)(dot - name));
    if (!x)
        return NULL;
    const char *field = dot + 1;
    size_t flen = len - (size_t)(field - name);
    const struct {
        const char *field, *value;
    } fields[] = {
        {"principal", x->principal}, {"account", x->account},    {"icrc1", x->icrc1},
        {"public_key", x->pubkey},   {"subaccount", x->sub_hex}, {"sub.account", x->sub_account},
        {"sub.icrc1", x->sub_icrc1},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strlen(fields[i].field) == flen && strncmp(fields[i].field, field, flen) == 0)
            return fields[i].value;
    return NULL;
}

/* parse_u64 (jsonutil.h) of len bytes that need not be NUL-terminated. */
static bool parse_u64_len(const char *s, size_t len, uint64_t *out)
{
    char text[21];
    if (len == 0 || len >= sizeof text)
        return false;
    memcpy(text, s, len);
    text[len] = '\0';
    return parse_u64(text, out);
}

/* Fills every ${...} of text: ${name}, ${name+N}, ${name-N} (terms may repeat). Returns a
 * malloc'd string, or NULL with r->err set (unknown name, arithmetic on a non-number,
 * overflow, unclosed placeholder, allocation failure). */
static char *expand(run_t *r, const char *text)
{
    size_t cap = strlen(text) + 256, n = 0;
    char *out = malloc(cap);
    if (!out)
        goto oom;
    for (const char *p = text; *p;) {
        const char *value = NULL;
        char num[24];
        size_t vlen = 1, adv = 1;
        if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p, '}');
            if (!end) {
                fail_msg(r, "unclosed placeholder in '%s'", text);
                goto fail;
            }
            const char *name = p + 2;
            size_t nlen = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                       "0123456789_.");
            value = lookup(r, name, nlen);
            if (!value) {
                fail_msg(r, "unknown placeholder '%.*s'", (int)(end - p + 1), p);
                goto fail;
            }
            const char *q = name + nlen;
            const char *bar = memchr(q, '|', (size_t)(end - q));
            const char *terms_end = bar ? bar : end;
            if (q < end) {
                uint64_t acc;
                if (!parse_u64_len(value, strlen(value), &acc)) {
                    fail_msg(r, "'%.*s': '%s' is not a u64", (int)(end - p + 1), p, value);
                    goto fail;
                }
                while (q < terms_end) {
                    char op = *q++;
                    size_t dl = strspn(q, "0123456789");
                    uint64_t term;
                    if ((op != '+' && op != '-') || !parse_u64_len(q, dl, &term) ||
                        (op == '+' && acc > UINT64_MAX - term) || (op == '-' && acc < term)) {
                        fail_msg(r, "bad arithmetic in '%.*s'", (int)(end - p + 1), p);
                        goto fail;
                    }
                    acc = op == '+' ? acc + term : acc - term;
                    q += dl;
                }
                snprintf(num, sizeof num, "%" PRIu64, acc);
                size_t flen = bar ? (size_t)(end - bar) : 0;
                if (bar && flen == 8 && strncmp(bar, "|seconds", 8) == 0) {
                    /* |seconds: nanoseconds as whole seconds (a rate's timestamp_seconds) */
                    snprintf(num, sizeof num, "%" PRIu64, acc / 1000000000u);
                } else if (bar && flen == 4 && strncmp(bar, "|day", 4) == 0) {
                    /* |day: nanoseconds as the UTC day number (seconds / 86400) */
                    snprintf(num, sizeof num, "%" PRIu64, acc / 1000000000u / 86400u);
                } else if (bar && flen == 9 && strncmp(bar, "|midnight", 9) == 0) {
                    /* |midnight: the seconds of that UTC day's start (a 30-day average's time) */
                    snprintf(num, sizeof num, "%" PRIu64, acc / 1000000000u / 86400u * 86400u);
                } else if (bar) {
                    /* |utc: nanoseconds since the epoch as 2006-01-02T15:04:05Z */
                    time_t secs = (time_t)(acc / 1000000000u);
                    struct tm tm;
                    if (flen != 4 || strncmp(bar, "|utc", 4) != 0 || !gmtime_r(&secs, &tm) ||
                        strftime(num, sizeof num, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
                        fail_msg(r, "bad format in '%.*s' (|utc, |seconds, |day or |midnight)",
                                 (int)(end - p + 1), p);
                        goto fail;
                    }
                }
                value = num;
            }
            vlen = strlen(value);
            adv = (size_t)(end - p) + 1;
        }
        if (n + vlen + 1 > cap) {
            cap = (n + vlen + 1) * 2;
            char *grown = realloc(out, cap);
            if (!grown)
                goto oom;
            out = grown;
        }
        memcpy(out + n, value ? value : p, vlen);
        n += vlen;
        p += adv;
    }
    out[n] = '\0';
    return out;
oom:
    fail_msg(r, "out of memory");
fail:
    free(out);
    return NULL;
}

/* A deep copy of v with every string expanded (keys are kept). NULL with r->err on failure. */
static json_t *expand_json(run_t *r, const json_t *v)
{
    if (json_is_string(v)) {
        char *s = expand(r, json_string_value(v));
        json_t *out = s ? json_string(s) : NULL;
        free(s);
        return out;
    }
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)(uintptr_t)v, k, m)
        {
            json_t *e = expand_json(r, m);
            if (!e || json_object_set_new(out, k, e) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array(), *m;
        size_t i;
        json_array_foreach(v, i, m)
        {
            json_t *e = expand_json(r, m);
            if (!e || json_array_append_new(out, e) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    return json_deep_copy(v);
}

/* ================================================================ matching */

static char *dump(const json_t *v)
{
    if (!v)
        return strdup("(absent)");
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s && strlen(s) > 300)
        strcpy(s + 290, "...");
    return s ? s : strdup("?");
}

static bool mismatch(run_t *r, const char *path, const json_t *exp, const json_t *act,
                     const char *why)
{
    char *e = dump(exp), *a = dump(act);
    fail_msg(r, "%s: %s: expected %s, got %s", path, why, e ? e : "?", a ? a : "?");
    free(e);
    free(a);
    return false;
}

/* A u64 from a JSON string of digits or a non-negative integer. */
static bool case_u64(const json_t *v, uint64_t *out)
{
    if (json_is_string(v))
        return parse_u64_len(json_string_value(v), strlen(json_string_value(v)), out);
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    return false;
}

static bool is_operator_object(const json_t *exp)
{
    const char *k;
    json_t *m;
    if (!json_is_object(exp) || json_object_size(exp) == 0)
        return false;
    json_object_foreach((json_t *)(uintptr_t)exp, k, m)
    {
        if (k[0] != '$')
            return false;
    }
    return true;
}

static bool match(run_t *r, const json_t *exp, const json_t *act, const char *path);

/* One operator of an operator object ({"$ge": ...} and the like). act may be NULL (absent). */
static bool match_operator(run_t *r, const char *op, const json_t *arg, const json_t *act,
                           const char *path)
{
    if (strcmp(op, "$absent") == 0)
        return act == NULL || mismatch(r, path, NULL, act, "must be absent");
    if (!act)
        return mismatch(r, path, arg, NULL, "missing");
    if (strcmp(op, "$any") == 0)
        return true;
    if (strcmp(op, "$ne") == 0)
        return !json_equal((json_t *)(uintptr_t)arg, (json_t *)(uintptr_t)act) ||
               mismatch(r, path, arg, act, "must differ");
    if (!strcmp(op, "$ge") || !strcmp(op, "$gt") || !strcmp(op, "$le") || !strcmp(op, "$lt")) {
        uint64_t a, b;
        if (!case_u64(act, &a))
            return mismatch(r, path, arg, act, "not a u64");
        if (!case_u64(arg, &b))
            return mismatch(r, path, arg, act, "the bound is not a u64");
        bool ok = !strcmp(op, "$ge")   ? a >= b
                  : !strcmp(op, "$gt") ? a > b
                  : !strcmp(op, "$le") ? a <= b
                                       : a < b;
        return ok || mismatch(r, path, arg, act, op + 1);
    }
    if (!strcmp(op, "$match") || !strcmp(op, "$prefix") || !strcmp(op, "$contains")) {
        if (!json_is_string(act) || !json_is_string(arg))
            return mismatch(r, path, arg, act, "not a string");
        const char *s = json_string_value(act), *want = json_string_value(arg);
        bool ok;
        if (!strcmp(op, "$prefix")) {
            ok = strncmp(s, want, strlen(want)) == 0;
        } else if (!strcmp(op, "$contains")) {
            ok = strstr(s, want) != NULL;
        } else {
            regex_t re;
            if (regcomp(&re, want, REG_EXTENDED | REG_NOSUB) != 0)
                return mismatch(r, path, arg, act, "bad regular expression");
            ok = regexec(&re, s, 0, NULL, 0) == 0;
            regfree(&re);
        }
        return ok || mismatch(r, path, arg, act, op + 1);
    }
    if (strcmp(op, "$len") == 0) {
        size_t n = json_is_array(act)    ? json_array_size(act)
                   : json_is_object(act) ? json_object_size(act)
                   : json_is_string(act) ? json_string_length(act)
                                         : (size_t)-1;
        return (json_is_integer(arg) && n == (size_t)json_integer_value(arg)) ||
               mismatch(r, path, arg, act, "length");
    }
    if (strcmp(op, "$all") == 0) {
        if (!json_is_array(act) || !json_is_array(arg) ||
            json_array_size(act) != json_array_size(arg))
            return mismatch(r, path, arg, act, "array of exactly these elements");
        return match(r, arg, act, path);
    }
    if (strcmp(op, "$has") == 0) {
        size_t i;
        json_t *m;
        if (!json_is_array(act))
            return mismatch(r, path, arg, act, "not an array");
        json_array_foreach(act, i, m)
        {
            char sub[512];
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            if (match(r, arg, m, sub))
                return true;
        }
        return mismatch(r, path, arg, act, "no element matches");
    }
    fail_msg(r, "%s: unknown operator '%s'", path, op);
    return false;
}

/* Partial match (README "Matching answers"); act may be NULL (absent). On a mismatch r->err
 * names the JSON path, what was expected and what came. */
static bool match(run_t *r, const json_t *exp, const json_t *act, const char *path)
{
    if (is_operator_object(exp)) {
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)(uintptr_t)exp, k, m)
        {
            if (!match_operator(r, k, m, act, path))
                return false;
        }
        return true;
    }
    if (!act)
        return mismatch(r, path, exp, NULL, "missing");
    if (json_is_object(exp)) {
        if (!json_is_object(act))
            return mismatch(r, path, exp, act, "not an object");
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)(uintptr_t)exp, k, m)
        {
            char sub[512];
            snprintf(sub, sizeof sub, "%s.%s", path, k);
            if (!match(r, m, json_object_get(act, k), sub))
                return false;
        }
        return true;
    }
    if (json_is_array(exp)) {
        if (!json_is_array(act))
            return mismatch(r, path, exp, act, "not an array");
        if (json_array_size(act) < json_array_size(exp))
            return mismatch(r, path, exp, act, "too few elements");
        size_t i;
        json_t *m;
        json_array_foreach(exp, i, m)
        {
            char sub[512];
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            if (!match(r, m, json_array_get(act, i), sub))
                return false;
        }
        return true;
    }
    return json_equal((json_t *)(uintptr_t)exp, (json_t *)(uintptr_t)act) ||
           mismatch(r, path, exp, act, "differs");
}

/* The problem+json rules: content type, status in the body, type urn:nns:problem:<code>,
 * title, detail and code non-empty; then the named fields. */
static bool match_problem(run_t *r, const json_t *exp, const resp_t *a, long status)
{
    char ctype[128];
    if (!resp_header(a, "Content-Type", ctype, sizeof ctype) ||
        strncmp(ctype, "application/problem+json", 24) != 0) {
        fail_msg(r, "content type is not application/problem+json");
        return false;
    }
    json_t *o = a->json;
    if (!json_is_object(o)) {
        fail_msg(r, "the problem body is not a JSON object");
        return false;
    }
    json_t *st = json_object_get(o, "status");
    if (!json_is_integer(st) || json_integer_value(st) != status) {
        fail_msg(r, "problem.status is not %ld", status);
        return false;
    }
    const char *fields[] = {"type", "title", "detail", "code"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *v = json_object_get(o, fields[i]);
        if (!json_is_string(v) || !*json_string_value(v)) {
            fail_msg(r, "problem.%s is missing or empty", fields[i]);
            return false;
        }
    }
    char type[96];
    snprintf(type, sizeof type, "urn:nns:problem:%s",
             json_string_value(json_object_get(o, "code")));
    if (strcmp(json_string_value(json_object_get(o, "type")), type) != 0) {
        fail_msg(r, "problem.type is not '%s'", type);
        return false;
    }
    return match(r, exp, o, "problem");
}

static bool match_headers(run_t *r, const json_t *exp, const resp_t *a)
{
    const char *name;
    json_t *m;
    json_object_foreach((json_t *)(uintptr_t)exp, name, m)
    {
        char value[1024], path[128];
        snprintf(path, sizeof path, "header %s", name);
        json_t *act = resp_header(a, name, value, sizeof value) ? json_string(value) : NULL;
        bool ok = match(r, m, act, path);
        json_decref(act);
        if (!ok)
            return false;
    }
    return true;
}

/* The lines of a text answer as a JSON array of strings (new reference), for "text_lines".
 * With line_end ("\r\n" or "\n"), every line must end with exactly it, the last one too, and
 * no line may hold another CR or LF; without it, lines are split at LF and a CR before the LF is
 * dropped. NULL with r->err when the text breaks the line_end rule. */
static json_t *text_lines(run_t *r, const resp_t *a, const char *line_end)
{
    json_t *lines = json_array();
    const char *p = a->body ? a->body : "", *stop = p + a->len;
    size_t n = 0;
    while (lines && p < stop) {
        const char *lf = memchr(p, '\n', (size_t)(stop - p));
        const char *eol = lf ? lf : stop;
        size_t len = (size_t)(eol - p);
        bool cr = len > 0 && p[len - 1] == '\r';
        if (line_end) {
            bool crlf = strcmp(line_end, "\r\n") == 0;
            if (!lf || cr != crlf || memchr(p, '\r', len - (cr ? 1 : 0))) {
                fail_msg(r, "text line %zu does not end with %s alone", n + 1,
                         crlf ? "CRLF" : "LF");
                json_decref(lines);
                return NULL;
            }
        }
        if (cr)
            len--;
        json_array_append_new(lines, json_stringn(p, len));
        p = lf ? lf + 1 : stop;
        n++;
    }
    if (!lines)
        fail_msg(r, "out of memory");
    return lines;
}

/* The value at path ("a.b.0.c", "header:Name", or "$text" for the whole body) of an answer, as
 * text (malloc'd). */
static char *capture_value(run_t *r, const resp_t *a, const char *path)
{
    if (strcmp(path, "$text") == 0)
        return strndup(a->body ? a->body : "", a->len);
    if (strncmp(path, "header:", 7) == 0) {
        char value[1024];
        if (resp_header(a, path + 7, value, sizeof value))
            return strdup(value);
        fail_msg(r, "capture: no header '%s'", path + 7);
        return NULL;
    }
    json_t *v = a->json;
    char *copy = strdup(path), *save = NULL;
    for (char *seg = copy ? strtok_r(copy, ".", &save) : NULL; seg && v;
         seg = strtok_r(NULL, ".", &save)) {
        uint64_t idx;
        v = json_is_array(v) && parse_u64_len(seg, strlen(seg), &idx) ? json_array_get(v, idx)
                                                                      : json_object_get(v, seg);
    }
    free(copy);
    if (!v || json_is_null(v)) {
        fail_msg(r, "capture: nothing at '%s'", path);
        return NULL;
    }
    if (json_is_string(v))
        return strdup(json_string_value(v));
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* out = a "/" b; false when it does not fit. */
static bool join_path(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s/%s", a, b);
    return n >= 0 && (size_t)n < cap;
}

/* ================================================================ steps */

static const char *service_url(const run_t *r, const char *name)
{
    if (!name)
        return r->nservices ? r->services[0].url : NULL;
    for (size_t i = 0; i < r->nservices; i++)
        if (strcmp(r->services[i].name, name) == 0)
            return r->services[i].url;
    return NULL;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = (n + 4096 + 1) * 2;
            char *g = realloc(data, cap);
            if (!g) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = g;
        }
        size_t got = fread(data + n, 1, 4096, f);
        n += got;
        if (got < 4096)
            break;
    }
    fclose(f);
    data[n] = '\0';
    if (len)
        *len = n;
    return data;
}

/* Runs one step: sends the request, matches the answer, captures. False with r->err. */
static bool run_step(run_t *r, size_t index, const json_t *step_in)
{
    bool ok = false;
    json_t *step = NULL;
    char *body = NULL;
    const char **lines = NULL;
    char **owned = NULL;
    size_t nlines = 0;
    resp_t a = {0};
    char what[600] = "?", prefix[700];

    step = expand_json(r, step_in);
    if (!step)
        goto fail;
    const char *request = json_string_value(json_object_get(step, "request"));
    char method[16], target[512];
    if (!request || sscanf(request, "%15s %511s", method, target) != 2) {
        fail_msg(r, "'request' must be \"METHOD /path\"");
        goto fail;
    }
    snprintf(what, sizeof what, "%s %s", method, target);
    const char *svc = json_string_value(json_object_get(step, "service"));
    const char *url = service_url(r, svc);
    if (!url) {
        fail_msg(r, "no URL for service '%s'", svc ? svc : "(first)");
        goto fail;
    }

    /* the body: JSON, raw text, or a file of the case folder */
    json_t *jb = json_object_get(step, "body");
    const char *rawtext = json_string_value(json_object_get(step, "raw"));
    const char *rawfile = json_string_value(json_object_get(step, "raw_file"));
    size_t body_len = 0;
    if (jb) {
        body = json_dumps(jb, JSON_COMPACT | JSON_ENCODE_ANY);
        body_len = body ? strlen(body) : 0;
    } else if (rawtext) {
        body = strdup(rawtext);
        body_len = body ? strlen(body) : 0;
    } else if (rawfile) {
        char path[PATH_MAX];
        body =
            join_path(path, sizeof path, r->case_dir, rawfile) ? read_file(path, &body_len) : NULL;
        if (!body) {
            fail_msg(r, "cannot read '%s'", path);
            goto fail;
        }
    }
    if ((jb || rawtext) && !body) {
        fail_msg(r, "out of memory");
        goto fail;
    }

    /* headers: the step's own, then the signature's */
    json_t *hdrs = json_object_get(step, "headers");
    lines = calloc(json_object_size(hdrs) + 4, sizeof *lines);
    owned = calloc(json_object_size(hdrs) + 1, sizeof *owned);
    if (!lines || !owned) {
        fail_msg(r, "out of memory");
        goto fail;
    }
    const char *hk;
    json_t *hv;
    json_object_foreach(hdrs, hk, hv)
    {
        if (asprintf(&owned[nlines], "%s: %s", hk, json_string_value(hv)) < 0) {
            owned[nlines] = NULL;
            fail_msg(r, "out of memory");
            goto fail;
        }
        lines[nlines] = owned[nlines];
        nlines++;
    }
    const char *as = json_string_value(json_object_get(step, "as"));
    char h_pk[16 + 2 * PUBLIC_KEY_DER_MAX], h_exp[64], h_sig[192];
    if (as) {
        const ident_t *x = ident_find(r, as, strlen(as));
        if (!x) {
            fail_msg(r, "unknown identity '%s'", as);
            goto fail;
        }
        nns_signature_t sig;
        nns_error_t e;
        if (!nns_client_sign(x->signer, method, target, body, wall_nanos() + 120 * SECOND, &sig,
                             &e)) {
            fail_msg(r, "signing as '%s': %s", as, e.detail);
            goto fail;
        }
        snprintf(h_pk, sizeof h_pk, "X-Public-Key: %s", sig.public_key_hex);
        snprintf(h_exp, sizeof h_exp, "X-Expiry: %s", sig.expiry);
        snprintf(h_sig, sizeof h_sig, "X-Signature: %s", sig.signature_hex);
        lines[nlines++] = h_pk;
        lines[nlines++] = h_exp;
        lines[nlines++] = h_sig;
    }
    lines[nlines] = NULL;

    char err[256];
    if (!http_exchange(url, method, target, body, body_len, lines, false, &a, err, sizeof err)) {
        fail_msg(r, "no answer: %s", err);
        goto fail;
    }
    if (r->verbose)
        printf("    %s -> %ld %.300s\n", what, a.status, a.body);

    /* the expectation */
    json_t *exp = json_object_get(step, "expect");
    json_t *st = json_object_get(exp, "status");
    long status = st ? (long)json_integer_value(st) : 200;
    if (a.status != status) {
        fail_msg(r, "status: expected %ld, got %ld", status, a.status);
        goto fail;
    }
    json_t *e;
    if ((e = json_object_get(exp, "problem")) && !match_problem(r, e, &a, status))
        goto fail;
    if ((e = json_object_get(exp, "headers")) && !match_headers(r, e, &a))
        goto fail;
    if ((e = json_object_get(exp, "body"))) {
        if (!a.json) {
            fail_msg(r, "the answer is not JSON");
            goto fail;
        }
        if (!match(r, e, a.json, "body"))
            goto fail;
    }
    if ((e = json_object_get(exp, "text"))) {
        json_t *t = json_stringn(a.body, a.len);
        bool same = t && match(r, e, t, "text");
        json_decref(t);
        if (!same)
            goto fail;
    }
    json_t *le = json_object_get(exp, "line_end");
    if (le && (!json_is_string(le) || (strcmp(json_string_value(le), "\r\n") != 0 &&
                                       strcmp(json_string_value(le), "\n") != 0))) {
        fail_msg(r, "'line_end' must be \"\\r\\n\" or \"\\n\"");
        goto fail;
    }
    if ((e = json_object_get(exp, "text_lines")) || le) {
        json_t *tl = text_lines(r, &a, le ? json_string_value(le) : NULL);
        bool same = tl && (!e || match(r, e, tl, "text_lines"));
        json_decref(tl);
        if (!same)
            goto fail;
    }

    /* captures */
    const char *name;
    json_t *from;
    json_object_foreach(json_object_get(step, "capture"), name, from)
    {
        char *v = capture_value(r, &a, json_string_value(from) ? json_string_value(from) : "");
        bool set = v && var_set(r, name, v);
        free(v);
        if (!set) {
            if (v)
                fail_msg(r, "capture '%s': out of room", name);
            goto fail;
        }
    }
    ok = true;
fail:
    if (!ok) {
        snprintf(prefix, sizeof prefix, "step %zu (%s): ", index + 1, what);
        size_t pl = strlen(prefix), el = strlen(r->err);
        if (pl + el + 1 < sizeof r->err) {
            memmove(r->err + pl, r->err, el + 1);
            memcpy(r->err, prefix, pl);
        }
        if (a.body) {
            size_t n = strlen(r->err);
            snprintf(r->err + n, sizeof r->err - n, "\n    answer: %ld %.600s", a.status, a.body);
        }
    }
    resp_free(&a);
    for (size_t i = 0; owned && owned[i]; i++)
        free(owned[i]);
    free(owned);
    free(lines);
    free(body);
    json_decref(step);
    return ok;
}

/* ================================================================ cases */

/* An ICRC-1 transfer of amount from the world's bank to who's default account. */
static bool fund(run_t *r, const ident_t *who, const char *amount)
{
    const char *bank = json_string_value(json_object_get(r->world, "bank"));
    json_t *step = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "request", "POST /v1/transfers",
                             "service", "ledger", "as", bank ? bank : "bank", "body", "to_account",
                             who->icrc1, "amount_e8s", amount);
    bool ok = step && run_step(r, 0, step);
    json_decref(step);
    if (!ok) {
        char why[ERR_MAX];
        snprintf(why, sizeof why, "%s", r->err);
        fail_msg(r, "funding '%s': %s", who->name, why);
    }
    return ok;
}

/* Runs the case in dir; prints its line. Returns true when it passed. */
static bool run_case(run_t *r, const char *dir, const char *label)
{
    bool ok = false;
    char path[PATH_MAX];
    json_error_t jerr;
    r->case_dir = dir;
    r->err[0] = '\0';
    json_t *c = join_path(path, sizeof path, dir, "case.json")
                    ? json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)
                    : NULL;
    if (!c) {
        fail_msg(r, "%s:%d: %s", path, jerr.line, jerr.text);
        goto done;
    }
    /* fresh identities */
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(c, "identities"), i, v)
    {
        identity_t id;
        identity_generate(&id);
        if (r->nids == MAX_IDS || !json_is_string(v) ||
            !ident_init(&r->ids[r->nids], json_string_value(v), &id, service_url(r, NULL))) {
            fail_msg(r, "bad or too many identities");
            goto done;
        }
        r->nids++;
    }
    /* ${now}: the first service's clock when the case starts */
    json_t *now_step =
        json_pack("{s:s, s:{s:s}}", "request", "GET /v1/identity", "capture", "now", "now_nanos");
    bool now_ok = now_step && run_step(r, 0, now_step);
    json_decref(now_step);
    if (!now_ok)
        goto done;
    const char *who;
    json_object_foreach(json_object_get(c, "funds"), who, v)
    {
        const ident_t *x = ident_find(r, who, strlen(who));
        if (!x || !json_is_string(v)) {
            fail_msg(r, "funds: unknown identity '%s' or amount not a string", who);
            goto done;
        }
        if (!fund(r, x, json_string_value(v)))
            goto done;
    }
    json_t *steps = json_object_get(c, "steps");
    if (!json_is_array(steps) || json_array_size(steps) == 0) {
        fail_msg(r, "no steps");
        goto done;
    }
    json_array_foreach(steps, i, v)
    {
        /* "retry": N re-runs a failing step up to N times, 100 ms apart, for an effect that
         * lands after the answer that caused it */
        json_int_t retries = json_integer_value(json_object_get(v, "retry"));
        bool step_ok = run_step(r, i, v);
        for (json_int_t k = 0; !step_ok && k < retries && k < 600; k++) {
            struct timespec pause = {0, 100000000};
            nanosleep(&pause, NULL);
            step_ok = run_step(r, i, v);
        }
        if (!step_ok)
            goto done;
        r->steps_run++;
    }
    ok = true;
done:
    printf("%s %s\n", ok ? "ok  " : "FAIL", label);
    if (!ok)
        printf("    %s\n", r->err);
    fflush(stdout);
    for (size_t k = 0; k < r->nids; k++)
        ident_clear(&r->ids[k]);
    r->nids = 0;
    vars_clear(r);
    json_decref(c);
    return ok;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The case folders of the world (those holding a case.json), sorted; malloc'd names. */
static size_t list_cases(const char *world_dir, char ***out)
{
    DIR *d = opendir(world_dir);
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[PATH_MAX];
        char sub[PATH_MAX];
        if (e->d_name[0] == '.' || !join_path(sub, sizeof sub, world_dir, e->d_name) ||
            !join_path(path, sizeof path, sub, "case.json") || access(path, R_OK) != 0)
            continue;
        char **g = realloc(names, (n + 1) * sizeof *names);
        if (!g)
            break;
        names = g;
        names[n] = strdup(e->d_name);
        if (names[n])
            n++;
    }
    if (d)
        closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_names);
    *out = names;
    return n;
}

/* Loads world.json and makes the world's identities: the seeded ones of "identities", and,
 * when keys_dir is given, the service keys of "service_keys" (keys_dir/<name>.key, created
 * with its .pub when missing, as a service does at start), so that a case can sign as
 * governance, whose key the services trust as the governance canister. */
static bool world_load(run_t *r, const char *dir, const char *keys_dir)
{
    char path[PATH_MAX];
    json_error_t jerr;
    r->world_dir = dir;
    r->world = join_path(path, sizeof path, dir, "world.json")
                   ? json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)
                   : NULL;
    if (!r->world) {
        fprintf(stderr, "runner: %s:%d: %s\n", path, jerr.line, jerr.text);
        return false;
    }
    size_t i;
    json_t *v;
    const char *url = service_url(r, NULL);
    json_array_foreach(json_object_get(r->world, "identities"), i, v)
    {
        if (!json_is_string(v) || r->nworld_ids == MAX_IDS) {
            fprintf(stderr, "runner: %s: bad identities\n", path);
            return false;
        }
        char seed_text[64];
        uint8_t seed[32];
        int n = snprintf(seed_text, sizeof seed_text, "cases:%s", json_string_value(v));
        sha256(seed_text, (size_t)n, seed);
        identity_t id;
        identity_from_seed(seed, &id);
        if (!ident_init(&r->world_ids[r->nworld_ids], json_string_value(v), &id,
                        url ? url : "http://127.0.0.1:1")) {
            fprintf(stderr, "runner: cannot make a client\n");
            return false;
        }
        r->nworld_ids++;
    }
    json_t *service_keys = json_object_get(r->world, "service_keys");
    if (service_keys && !keys_dir) {
        fprintf(stderr, "runner: %s names service_keys: give --keys DIR\n", path);
        return false;
    }
    json_array_foreach(service_keys, i, v)
    {
        identity_t id;
        nns_error_t e;
        if (!json_is_string(v) || r->nworld_ids == MAX_IDS) {
            fprintf(stderr, "runner: %s: bad service_keys\n", path);
            return false;
        }
        if (!identity_load_or_create(keys_dir, json_string_value(v), &id, &e)) {
            fprintf(stderr, "runner: key '%s' in '%s': %s\n", json_string_value(v), keys_dir,
                    e.detail);
            return false;
        }
        bool made = ident_init(&r->world_ids[r->nworld_ids], json_string_value(v), &id,
                               url ? url : "http://127.0.0.1:1");
        sodium_memzero(&id, sizeof id);
        if (!made) {
            fprintf(stderr, "runner: cannot make a client\n");
            return false;
        }
        r->nworld_ids++;
    }
    return true;
}

static int usage(void)
{
    fprintf(stderr, "usage: runner [--keys DIR] --genesis WORLD | --services WORLD |\n"
                    "       runner [--keys DIR] --flags WORLD SERVICE |\n"
                    "       runner [--keys DIR] --genesis-of WORLD SERVICE |\n"
                    "       runner [--keys DIR] --url NAME=URL... [-v] WORLD [CASE...]\n"
                    "runs the request -> answer cases of WORLD (tests/cases/README.md)\n");
    return 2;
}

int main(int argc, char **argv)
{
    static run_t r;
    int rc = 1;
    if (!crypto_init()) {
        fprintf(stderr, "runner: cannot initialise libsodium\n");
        return 1;
    }
    const char *mode = NULL, *world = NULL, *keys_dir = NULL, *flags_of = NULL;
    int first_case = argc;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "--genesis") || !strcmp(argv[i], "--services")) && i + 1 < argc) {
            mode = argv[i];
            world = argv[++i];
        } else if ((!strcmp(argv[i], "--flags") || !strcmp(argv[i], "--genesis-of")) &&
                   i + 2 < argc) {
            mode = argv[i];
            world = argv[++i];
            flags_of = argv[++i];
        } else if (!strcmp(argv[i], "--keys") && i + 1 < argc) {
            keys_dir = argv[++i];
        } else if (!strcmp(argv[i], "--url") && i + 1 < argc) {
            char *eq = strchr(argv[++i], '=');
            if (!eq || r.nservices == MAX_SERVICES || (size_t)(eq - argv[i]) >= 32)
                return usage();
            snprintf(r.services[r.nservices].name, sizeof r.services[0].name, "%.*s",
                     (int)(eq - argv[i]), argv[i]);
            r.services[r.nservices++].url = eq + 1;
        } else if (!strcmp(argv[i], "-v")) {
            r.verbose = true;
        } else if (argv[i][0] == '-') {
            return usage();
        } else {
            world = argv[i];
            first_case = i + 1;
            break;
        }
    }
    if (!world || !world_load(&r, world, keys_dir))
        return world ? 1 : usage();
    if (mode && !strcmp(mode, "--flags")) {
        /* the extra flags world.json gives one service ("flags": {"cmc": [...]}), expanded */
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(json_object_get(r.world, "flags"), flags_of), i, v)
        {
            char *f = json_is_string(v) ? expand(&r, json_string_value(v)) : NULL;
            if (!f) {
                fprintf(stderr, "runner: flags of %s: %s\n", flags_of,
                        json_is_string(v) ? r.err : "not a string");
                goto out;
            }
            puts(f);
            free(f);
        }
        rc = 0;
        goto out;
    }
    if (mode && !strcmp(mode, "--services")) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(r.world, "services"), i, v) puts(json_string_value(v));
        rc = 0;
        goto out;
    }
    if (mode) { /* --genesis, --genesis-of */
        json_t *g = expand_json(
            &r, !strcmp(mode, "--genesis")
                    ? json_object_get(r.world, "genesis")
                    : json_object_get(json_object_get(r.world, "service_genesis"), flags_of));
        char *text = g ? json_dumps(g, JSON_INDENT(2)) : NULL;
        json_decref(g);
        if (!text) {
            fprintf(stderr, "runner: genesis: %s\n", r.err);
            goto out;
        }
        puts(text);
        free(text);
        rc = 0;
        goto out;
    }
    if (r.nservices == 0)
        return usage();

    char **names = NULL;
    size_t n = 0;
    if (first_case < argc) {
        n = (size_t)(argc - first_case);
        names = calloc(n, sizeof *names);
        for (size_t i = 0; names && i < n; i++)
            names[i] = strdup(argv[first_case + (int)i]);
    } else {
        n = list_cases(world, &names);
    }
    size_t failed = 0;
    const char *label_world = strrchr(world, '/') ? strrchr(world, '/') + 1 : world;
    for (size_t i = 0; i < n; i++) {
        char dir[PATH_MAX], label[PATH_MAX];
        const char *name = names[i] ? names[i] : "?";
        if (!join_path(dir, sizeof dir, world, name) ||
            !join_path(label, sizeof label, label_world, name) || !run_case(&r, dir, label))
            failed++;
        free(names[i]);
    }
    free(names);
    printf("runner: %s: %zu cases (%zu steps), %zu failed\n", label_world, n, r.steps_run, failed);
    rc = n > 0 && failed == 0 ? 0 : 1;
out:
    for (size_t k = 0; k < r.nworld_ids; k++)
        ident_clear(&r.world_ids[k]);
    json_decref(r.world);
    return rc;
}
