#include "jsonutil.h"

#include <stdio.h>
#include <string.h>

#include "hex.h"

json_t *json_parse_object(const uint8_t *body, size_t len, nns_error_t *err)
{
    json_error_t jerr;
    json_t *v = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        nns_error_set(err, 400, "BadRequest", "malformed JSON at line %d column %d: %s",
                      jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        nns_error_set(err, 400, "BadRequest", "request body must be a JSON object");
        return NULL;
    }
    return v;
}

bool json_only_fields(json_t *obj, const char *const *allowed, nns_error_t *err)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
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
                             "JSON strings)", name);
    const char *s = json_string_value(m);
    if (!parse_u64(s, out)) {
        if (*s && strspn(s, "0123456789") == strlen(s))
            return nns_error_set(err, 400, "BadRequest", "field '%s' is larger than a u64",
                                 name);
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

bool json_get_hex(json_t *obj, const char *name, bool required, size_t max, bool exact,
                  uint8_t *out, size_t *out_len, bool *present, nns_error_t *err)
{
    const char *s = NULL;
    bool here = false;
    if (!json_get_str(obj, name, required, &s, &here, err))
        return false;
    if (present)
        *present = here;
    if (!here)
        return true;
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
