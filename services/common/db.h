/*
 * db: PostgreSQL plumbing shared by the services' stores: connecting, applying the embedded
 * migrations (recorded in public.nns_schema_migrations, under an advisory lock so services may
 * start together), running parameterized statements, and COPY FROM STDIN buffers.
 *
 * Every value goes to PostgreSQL as a parameter ($1...) or as COPY data, never pasted into SQL.
 * A copybuf_t accumulates COPY text-format rows; it owns its buffer (copybuf_free).
 */
#ifndef NNS_DB_H
#define NNS_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Connects (conninfo: a libpq string or URL; NULL/"" uses the environment). Returns NULL with
 * err 503 "Unavailable" on failure. */
PGconn *db_connect(const char *conninfo, nns_error_t *err) __attribute__((warn_unused_result));

/* Applies pending migrations in order, each in its own transaction, under a cluster-wide
 * advisory lock. Returns false with err 503 on failure (the failing migration is rolled back). */
bool db_migrate(PGconn *conn, nns_error_t *err) __attribute__((warn_unused_result));

/* Runs a statement with text parameters. Returns the result (caller PQclear()s it) when the
 * status is COMMAND_OK or TUPLES_OK, else NULL with err 503 and the server's message. */
PGresult *db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
                  nns_error_t *err) __attribute__((warn_unused_result));

/* Runs a statement that returns no rows; false with err 503 on failure. */
bool db_command(PGconn *conn, const char *sql, int nparams, const char *const *params,
                nns_error_t *err) __attribute__((warn_unused_result));

/* COPY text-format rows. */
typedef struct {
    char *data;
    size_t len, cap;
    bool failed; /* an append ran out of memory */
} copybuf_t;

void copybuf_reset(copybuf_t *b);
void copybuf_free(copybuf_t *b);
void copybuf_u64(copybuf_t *b, uint64_t v);
void copybuf_i64(copybuf_t *b, int64_t v);
void copybuf_bytea(copybuf_t *b, const uint8_t *bytes, size_t len);
void copybuf_text(copybuf_t *b, const char *s, size_t len);
void copybuf_null(copybuf_t *b);
void copybuf_sep(copybuf_t *b);    /* column separator */
void copybuf_endrow(copybuf_t *b); /* row terminator */

/* COPY binary-format rows (COPY ... WITH (FORMAT binary)): no text to format or parse. Start
 * with copybuf_bin_begin(), give each row's field count, then its fields in column order, and
 * end with copybuf_bin_end(). */
void copybuf_bin_begin(copybuf_t *b);
void copybuf_bin_row(copybuf_t *b, int nfields);
void copybuf_bin_null(copybuf_t *b);
void copybuf_bin_int4(copybuf_t *b, int32_t v);
void copybuf_bin_int8(copybuf_t *b, int64_t v);
void copybuf_bin_bytes(copybuf_t *b, const void *bytes, size_t len); /* bytea or text */
void copybuf_bin_numeric(copybuf_t *b, uint64_t v);                 /* numeric */
void copybuf_bin_end(copybuf_t *b);

/* Runs copy_sql ("COPY t (cols) FROM STDIN") and sends the buffer. False with err 503. */
bool db_copy(PGconn *conn, const char *copy_sql, const copybuf_t *b, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Formats bytes as a bytea text parameter ("\x..."); out needs 2*len+3 bytes. */
void db_bytea_param(const uint8_t *bytes, size_t len, char *out);

/* Parses a bytea value returned in text format ("\x..."); returns the byte count or -1. */
long db_bytea_value(const char *text, uint8_t *out, size_t cap);

#endif
