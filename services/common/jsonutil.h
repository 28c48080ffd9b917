/*
 * jsonutil: strict readers for request bodies, following API.md's wire rules.
 *
 * u64 values are JSON strings of decimal digits (a JSON number there is a 400); u32 values are
 * numbers or digit strings; byte strings are lower-case hex. Every reader fills err with a 400
 * "BadRequest" naming the field on failure and returns false; `present` (when non-NULL) tells
 * whether an optional field was given (null counts as absent). Borrowed json_t only.
 */
#ifndef NNS_JSONUTIL_H
#define NNS_JSONUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_parse.h>

#include "error.h"
#include "principal.h"

/* Parses body as a JSON object. Returns a new reference, or NULL with err 400.
 * Most bodies are read by yajl, whose events build the jansson tree at about four times
 * jansson's own speed; a body yajl and jansson might read differently (see json_yajl_agrees),
 * a malformed one, or one with a duplicate member is read by jansson (JSON_REJECT_DUPLICATES),
 * which also words every error. Either way the tree and the answer are the same. */
json_t *json_parse_object(const uint8_t *body, size_t len, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Whether yajl reads body exactly as jansson does wherever yajl accepts it: false when body has
 * a \u escape (yajl turns a lone surrogate into '?', jansson refuses it), a vertical tab or form
 * feed (yajl skips them as white space, JSON does not) or, when ascii is set, a byte above 0x7f
 * (yajl checks UTF-8 less strictly than jansson). */
bool json_yajl_agrees(const uint8_t *body, size_t len, bool ascii)
    __attribute__((warn_unused_result));

/* Runs yajl over body with callbacks that return 0 on the event that closes the document (and on
 * anything they refuse). True when a callback stopped yajl and only JSON white space follows;
 * the caller's own state then tells whether the document closed. */
bool json_yajl_read(const yajl_callbacks *cb, void *ctx, const uint8_t *body, size_t len)
    __attribute__((warn_unused_result));

/* Fails with 400 when obj has a member not listed in allowed (NULL-terminated). */
/* Removes the members of obj whose value is null: for bodies where null means "left out"
 * (docs/api.md, wire rules), before their fields are checked. Cannot fail. */
void json_drop_nulls(json_t *obj);

bool json_only_fields(json_t *obj, const char *const *allowed, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Parses a strict u64 decimal text (digits only, 1..20 of them, no overflow). */
bool parse_u64(const char *text, uint64_t *out) __attribute__((warn_unused_result));

bool json_get_u64(json_t *obj, const char *name, bool required, uint64_t *out, bool *present,
                  nns_error_t *err) __attribute__((warn_unused_result));
bool json_get_u32(json_t *obj, const char *name, bool required, uint32_t *out, bool *present,
                  nns_error_t *err) __attribute__((warn_unused_result));
/* A string member; *out borrows from obj. */
bool json_get_str(json_t *obj, const char *name, bool required, const char **out, bool *present,
                  nns_error_t *err) __attribute__((warn_unused_result));
/* A hex member of at most max bytes (exactly max when exact); lower case only. */
bool json_get_hex(json_t *obj, const char *name, bool required, size_t max, bool exact,
                  uint8_t *out, size_t *out_len, bool *present, nns_error_t *err)
    __attribute__((warn_unused_result));

/* A principal member in text form; 400 with the error name code when it is not a principal. */
bool json_get_principal(json_t *obj, const char *name, bool required, const char *code,
                        principal_t *out, bool *present, nns_error_t *err)
    __attribute__((warn_unused_result));

/* A new JSON string holding v in decimal. */
json_t *json_u64(uint64_t v);
/* A new JSON string holding the lower-case hex of bytes. */
json_t *json_hex(const uint8_t *bytes, size_t len);

#endif
