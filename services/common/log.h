/*
 * log: leveled, line-oriented logs with a timestamp and the service name, on stderr.
 *
 * A line reads "2026-01-02T03:04:05.678Z ledger warn: <message>". Messages follow the project's
 * style: lower-case first word, no trailing period, subject quoted. Format strings are checked
 * by the compiler. Control characters in a message (a quoted path, a database error) become '?',
 * so one call is always one line. Thread-safe: one write(2) per line.
 *
 * Storms: a warn or error line whose format string (the same pointer, or the same text) was
 * already written within the last second is counted, not written. When that second is over, the
 * next log call of any kind, or log_flush(), writes the first line of the storm again with
 * " (N more like this in the last second)". So a failure hit by every request of a busy service
 * writes about one line per second, with a count, whatever the request rate. Debug and info lines
 * are never held back.
 *
 * Life cycle: log_init() once at start (before threads; again in tests to start afresh);
 * log_flush() now and then (a service's periodic tick) and at exit.
 */
#ifndef NNS_LOG_H
#define NNS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

/* Sets the service name (borrowed: a string literal) and the lowest level written, and forgets
 * any storm being counted. Cannot fail. */
void log_init(const char *service, log_level_t min_level);

/* Whether a line at level would be written: to skip costly arguments. */
bool log_enabled(log_level_t level);

void log_write(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As log_write with a va_list, with context put before the message ("req=42 GET /v1/ledger
 * peer=...: "). The storm check looks at fmt only, so lines from the same call site with
 * different context are one storm. context may be NULL. */
void log_vwrite_context(log_level_t level, const char *context, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Writes the counts of storms whose second is over. Cheap when there are none. */
void log_flush(void);

/* For tests: lines go to fd instead of stderr (fd 2 again with STDERR_FILENO), and storms are
 * timed by now_ns (monotonic nanoseconds) instead of CLOCK_MONOTONIC (NULL: back to it). */
void log_set_output(int fd);
void log_set_clock(uint64_t (*now_ns)(void));

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
