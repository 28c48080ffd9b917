#include "jsonutil.h"

#include <stdio.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "hex.h"

bool json_yajl_agrees(const uint8_t *body, size_t len, bool ascii)
{
    const uint8_t *end = body + len;
    for (const uint8_t *p = body; (p = memchr(p, '\\', (size_t)(end - p))) != NULL; p += 2)
        if (p + 1 == end || p[1] == 'u')
            return false; /* a backslash skips the character it escapes: "\\\\u" is no escape */
    if (memchr(body, '\v', len) || memchr(body, '\f', len))
        return false;
    if (ascii)
        for (size_t i = 0; i < len; i++)
            if (body[i] > 0x7f)
                return false;
    return true;
}

bool json_yajl_read(const yajl_callbacks *cb, void *ctx, const uint8_t *body, size_t len)
{
    yajl_handle h = yajl_alloc(cb, NULL, ctx);
    if (!h)
        return false;
    /* The callbacks stop yajl where the document closes, and only white space may follow: at
     * the end of the input yajl takes an unterminated string for a complete one. */
    bool ok = yajl_parse(h, body, len) == yajl_status_client_canceled;
    for (size_t i = ok ? yajl_get_bytes_consumed(h) : len; i < len && ok; i++)
        ok = body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r';
    yajl_free(h);
    return ok;
}

/* ---- the fast path: yajl's events build jansson's tree ------------------------------------- */

#define FAST_MAX_DEPTH 32 /* deeper documents take jansson's own parser (it allows 2048) */
#define FAST_MAX_KEY 128  /* and so do longer member names */

typedef struct {
    json_t *root;
    json_t *open[FAST_MAX_DEPTH]; /* the containers being filled, innermost last */
    int depth;
    char key[FAST_MAX_KEY]; /* the member name whose value comes next */
} builder_t;

/* Attaches a new value (stolen) where the document is; 0 stops yajl, and the caller then takes
 * jansson's path, which names the error (a duplicate member, here). */
static int attach(builder_t *b, json_t *v)
{
    if (!v)
        return 0;
    if (b->depth == 0) {
        if (b->root) {
            json_decref(v);
            return 0;
        }
        b->root = v;
        return 1;
    }
    json_t *top = b->open[b->depth - 1];
    if (json_is_array(top))
        return json_array_append_new(top, v) == 0;
    if (json_object_get(top, b->key)) {
        json_decref(v);
        return 0;
    }
    return json_object_set_new_nocheck(top, b->key, v) == 0;
}

static int open_container(builder_t *b, json_t *v)
{
    if (!v)
        return 0;
    if (b->depth == FAST_MAX_DEPTH) {
        json_decref(v);
        return 0;
    }
    if (!attach(b, v)) /* attach() took v either way */
        return 0;
    b->open[b->depth++] = v; /* borrowed: the tree owns it */
    return 1;
}

static int on_null(void *ctx)
{
    return attach(ctx, json_null());
}

static int on_boolean(void *ctx, int v)
{
    return attach(ctx, json_boolean(v));
}

/* Numbers are rare in request bodies (u64 amounts are strings): jansson reads the number's own
 * text, so integers, reals and their limits are exactly jansson's. */
static int on_number(void *ctx, const char *text, size_t len)
{
    return attach(ctx, json_loadb(text, len, JSON_DECODE_ANY, NULL));
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    return attach(ctx, json_stringn_nocheck((const char *)s, len)); /* ASCII: checked before */
}

static int on_key(void *ctx, const unsigned char *key, size_t len)
{
    builder_t *b = ctx;
    if (len >= FAST_MAX_KEY)
        return 0;
    memcpy(b->key, key, len);
    b->key[len] = '\0';
    return 1;
}

static int on_start_map(void *ctx)
{
    return open_container(ctx, json_object());
}

static int on_start_array(void *ctx)
{
    return open_container(ctx, json_array());
}

static int on_end(void *ctx)
{
    builder_t *b = ctx;
    return --b->depth != 0; /* stop where the document closes: json_yajl_read() checks what
                               follows */
}

static const yajl_callbacks BUILDER = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_key,
    .yajl_end_map = on_end,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end,
};

/* The object body holds, read by yajl; NULL when jansson must read it (anything yajl and jansson
 * might read differently, malformed JSON, another top-level value, a duplicate member). */
static json_t *parse_fast(const uint8_t *body, size_t len)
{
    if (!json_yajl_agrees(body, len, true))
        return NULL;
    builder_t b = {.root = NULL, .depth = 0};
    /* stopped with nothing open: by the close of the document (every refusal leaves a
     * container open, and a scalar document never stops yajl) */
    bool ok = json_yajl_read(&BUILDER, &b, body, len) && b.depth == 0 && json_is_object(b.root);
    if (!ok) {
        json_decref(b.root);
        return NULL;
    }
    return b.root;
}

json_t *json_parse_object(const uint8_t *body, size_t len, nns_error_t *err)
{
    json_t *fast = parse_fast(body, len);
    if (fast)
        return fast;
    json_error_t jerr;
    json_t *v = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        nns_error_set(err, 400, "BadRequest", "malformed JSON at line %d column %d: %s", jerr.line,
                      jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        nns_error_set(err, 400, "BadRequest", "request body must be a JSON object");
        return NULL;
    }
    return v;
}

void json_drop_nulls(json_t *obj)
{
    const char *key;
    json_t *value;
    void *tmp;
    json_object_foreach_safe(obj, tmp, key, value)
    {
        if (json_is_null(value))
            json_object_del(obj, key);
    }
}

bool json_only_fields(json_t *obj, const char *const *allowed, nns_error_t *err)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        (void)value;
        const char *const *a = allowed;
        while (*a && strcmp(*a, key) != 0)
            a++;
        if (!*a)
            return nns_error_set(err, 400, "BadRequest", "unknown field '%s'", key);
    }
    return true;
}

bool parse_u64(const char *text, uint64_t *out)
{
    size_t n = strlen(text);
    if (n == 0 || n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        uint64_t d = (uint64_t)(text[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Looks name up; sets *present; fails when required and absent. Returns the member or NULL. */
static bool lookup(json_t *obj, const char *name, bool required, json_t **member, bool *present,
                   nns_error_t *err)
{
    json_t *m = json_object_get(obj, name);
    if (m && json_is_null(m))
        m = NULL;
    if (present)
        *present = m != NULL;
    *member = m;
    if (!m && required)
        return nns_error_set(err, 400, "BadRequest", "missing field '%s'", name);
    return true;
}

bool json_get_u64(json_t *obj, const char *name, bool required, uint64_t *out, bool *present,
                  nns_error_t *err)
{
    json_t *m;
    if (!lookup(obj, name, required, &m, present, err))
        return false;
    if (!m)
        return true;
    if (!json_is_string(m))
        return nns_error_set(err, 400, "BadRequest",
                             "field '%s' must be a string of decimal digits (u64 values are "
                             "JSON strings)",
                             name);
    const char *s = json_string_value(m);
    if (!parse_u64(s, out)) {
        if (*s && strspn(s, "0123456789") == strlen(s))
            return nns_error_set(err, 400, "BadRequest", "field '%s' is larger than a u64", name);
        return nns_error_set(err, 400, "BadRequest",
                             "field '%s' must be a non-negative integer in decimal digits", name);
    }
    return true;
}

bool json_get_u32(json_t *obj, const char *name, bool required, uint32_t *out, bool *present,
                  nns_error_t *err)
{
    json_t *m;
    if (!lookup(obj, name, required, &m, present, err))
        return false;
    if (!m)
        return true;
    uint64_t v;
    if (json_is_integer(m) && json_integer_value(m) >= 0)
        v = (uint64_t)json_integer_value(m);
    else if (!json_is_string(m) || !parse_u64(json_string_value(m), &v))
        return nns_error_set(err, 400, "BadRequest", "field '%s' must be a non-negative integer",
                             name);
    if (v > UINT32_MAX)
        return nns_error_set(err, 400, "BadRequest", "field '%s' is larger than a u32", name);
    *out = (uint32_t)v;
    return true;
}

bool json_get_str(json_t *obj, const char *name, bool required, const char **out, bool *present,
                  nns_error_t *err)
{
    json_t *m;
    if (!lookup(obj, name, required, &m, present, err))
        return false;
    if (!m)
        return true;
    if (!json_is_string(m))
        return nns_error_set(err, 400, "BadRequest", "field '%s' must be a string", name);
    *out = json_string_value(m);
    return true;
}

/* The string member `name` for a reader that decodes it further: 1 with *out set, 0 when it is
 * absent and not required, -1 with err set. *present (when not NULL) says whether it is there. */
static int get_present_str(json_t *obj, const char *name, bool required, const char **out,
                           bool *present, nns_error_t *err)
{
    bool here = false;
    if (!json_get_str(obj, name, required, out, &here, err))
        return -1;
    if (present)
        *present = here;
    return here ? 1 : 0;
}

bool json_get_hex(json_t *obj, const char *name, bool required, size_t max, bool exact,
                  uint8_t *out, size_t *out_len, bool *present, nns_error_t *err)
{
    const char *s = NULL;
    int got_str = get_present_str(obj, name, required, &s, present, err);
    if (got_str <= 0)
        return got_str == 0;
    size_t n = strlen(s);
    if (strspn(s, "0123456789abcdef") != n || n % 2)
        return nns_error_set(err, 400, "BadRequest",
                             "field '%s' must be lower-case hex with an even number of digits",
                             name);
    if (n / 2 > max || (exact && n / 2 != max))
        return nns_error_set(err, 400, "BadRequest", "field '%s' must be %s%zu bytes", name,
                             exact ? "" : "at most ", max);
    long got = hex_decode(s, n, out, max);
    if (got < 0)
        return nns_error_set(err, 400, "BadRequest", "field '%s' is not hex", name);
    if (out_len)
        *out_len = (size_t)got;
    return true;
}

json_t *json_u64(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return json_string(buf);
}

json_t *json_hex(const uint8_t *bytes, size_t len)
{
    char buf[2 * 256 + 1];
    if (len > 256)
        return NULL;
    hex_encode(bytes, len, buf);
    return json_string(buf);
}

bool json_get_principal(json_t *obj, const char *name, bool required, const char *code,
                        principal_t *out, bool *present, nns_error_t *err)
{
    const char *text = NULL;
    int got_str = get_present_str(obj, name, required, &text, present, err);
    if (got_str <= 0)
        return got_str == 0;
    nns_error_t e;
    if (!principal_from_text(text, out, &e))
        return nns_error_set(err, 400, code, "'%s' is not a principal: %s", name, e.detail);
    return true;
}
