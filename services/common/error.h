/*
 * error: the one error shape of the project.
 *
 * Every fallible function that can fail for a reason a user should see fills a caller-provided
 * nns_error_t: the HTTP status, the IC error name as `code` (InsufficientFunds, BadFee,
 * InvalidAccount, ...), a one-line detail in the project's message style (lower-case first
 * word, no trailing period, subject quoted) and up to NNS_ERROR_MAX_PAYLOAD u64 payload fields
 * (`balance_e8s`, `duplicate_of`, ...). The struct is plain data on the stack: nothing to free.
 * It is mapped to an application/problem+json body in exactly one place (http.c).
 */
#ifndef NNS_ERROR_H
#define NNS_ERROR_H

#include <stdbool.h>
#include <stdint.h>

#define NNS_ERROR_MAX_PAYLOAD 4

typedef struct {
    char name[32];
    uint64_t value; /* rendered as a JSON string of decimal digits */
} nns_error_field_t;

typedef struct {
    int status;      /* HTTP status; 0 means "no error" */
    char code[40];   /* IC error name */
    char detail[256];
    int npayload;
    nns_error_field_t payload[NNS_ERROR_MAX_PAYLOAD];
} nns_error_t;

/* Resets err to "no error". err may be NULL. */
void nns_error_clear(nns_error_t *err);

/* Sets status, code and a printf-style detail; clears any payload. err may be NULL (no-op).
 * Always returns false, so callers can write `return nns_error_set(...)`. */
bool nns_error_set(nns_error_t *err, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Adds one u64 payload field; ignored when err is NULL or the payload is full. */
void nns_error_add(nns_error_t *err, const char *name, uint64_t value);

/* Returns true when err holds an error. */
bool nns_error_is_set(const nns_error_t *err);

#endif
