#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_BYTES 2048
#define STORM_SLOTS 16
#define STORM_NANOS 1000000000ull
#define STORM_TEXT 512

/* One format seen at warn/error level within the last second: the line written when its second
 * began (context and message) and how many lines of the same format were held back since. */
typedef struct {
    const char *fmt; /* NULL: a free slot */
    log_level_t level;
    uint64_t since;
    uint64_t held;
    char text[STORM_TEXT];
} storm_t;

static const char *log_service = "nns";
static log_level_t log_min = LOG_INFO;
static _Atomic int log_fd = STDERR_FILENO;
static uint64_t (*log_clock)(void);

static pthread_mutex_t storm_lock = PTHREAD_MUTEX_INITIALIZER;
static storm_t storms[STORM_SLOTS];
/* Slots holding lines back; lets info and debug lines skip the lock in the usual case. */
static _Atomic unsigned storms_holding;

static uint64_t monotonic_nanos(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_nanos(void)
{
    return log_clock ? log_clock() : monotonic_nanos();
}

void log_init(const char *service, log_level_t min_level)
{
    pthread_mutex_lock(&storm_lock);
    log_service = service;
    log_min = min_level;
    memset(storms, 0, sizeof storms);
    atomic_store(&storms_holding, 0);
    pthread_mutex_unlock(&storm_lock);
}

void log_set_output(int fd)
{
    atomic_store(&log_fd, fd);
}

void log_set_clock(uint64_t (*now_ns)(void))
{
    log_clock = now_ns;
}

bool log_enabled(log_level_t level)
{
    return level >= log_min;
}

/* "2026-01-02T03:04:05.678Z ledger warn: "; returns its length. */
static size_t line_prefix(char *line, size_t cap, log_level_t level)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, log_service, names[level]);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* Appends text to line[*len] (capacity cap, one byte kept for the newline), turning control
 * characters into '?'. */
static void append_clean(char *line, size_t *len, size_t cap, const char *text)
{
    for (; *text && *len + 1 < cap; text++)
        line[(*len)++] = ((unsigned char)*text < 0x20 || *text == 0x7f) ? '?' : *text;
}

/* Formats context and message into body (NUL-terminated, possibly truncated). */
static void __attribute__((format(printf, 4, 0)))
format_body(char *body, size_t cap, const char *context, const char *fmt, va_list ap)
{
    int n = context ? snprintf(body, cap, "%s", context) : 0;
    size_t used = n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
    body[used] = '\0';
    if (vsnprintf(body + used, cap - used, fmt, ap) < 0)
        body[used] = '\0';
}

/* Writes one line: prefix, body, suffix, newline; one write(2). */
static void emit(log_level_t level, const char *body, const char *suffix)
{
    char line[LINE_BYTES];
    size_t len = line_prefix(line, sizeof line, level);
    append_clean(line, &len, sizeof line, body);
    if (suffix)
        append_clean(line, &len, sizeof line, suffix);
    line[len++] = '\n';
    ssize_t w = write(atomic_load(&log_fd), line, len);
    (void)w; /* nowhere to report a failure to log */
}

/* Writes slot s's count (lock held) and clears it. */
static void storm_report(storm_t *s)
{
    if (!s->held)
        return;
    char suffix[64];
    snprintf(suffix, sizeof suffix, " (%llu more like this in the last second)",
             (unsigned long long)s->held);
    emit(s->level, s->text, suffix);
    s->held = 0;
    atomic_fetch_sub(&storms_holding, 1);
}

/* Reports every storm whose second is over (lock held). */
static void storms_report_due(uint64_t now)
{
    for (storm_t *s = storms; s < storms + STORM_SLOTS; s++)
        if (s->fmt && s->held && now - s->since >= STORM_NANOS)
            storm_report(s);
}

static bool same_format(const char *a, const char *b)
{
    return a == b || strcmp(a, b) == 0;
}

void log_flush(void)
{
    if (!atomic_load(&storms_holding))
        return;
    pthread_mutex_lock(&storm_lock);
    storms_report_due(now_nanos());
    pthread_mutex_unlock(&storm_lock);
}

/* A warn or error line: written, or counted when its format was written within the second. */
static void __attribute__((format(printf, 3, 0)))
write_checked(log_level_t level, const char *context, const char *fmt, va_list ap)
{
    uint64_t now = now_nanos();
    pthread_mutex_lock(&storm_lock);
    storm_t *slot = NULL, *free_slot = NULL, *oldest = NULL;
    for (storm_t *s = storms; s < storms + STORM_SLOTS; s++) {
        if (!s->fmt) {
            if (!free_slot)
                free_slot = s;
        } else if (same_format(s->fmt, fmt)) {
            slot = s;
            break;
        } else if (!oldest || s->since < oldest->since)
            oldest = s;
    }
    if (slot && now - slot->since < STORM_NANOS) {
        if (slot->held++ == 0)
            atomic_fetch_add(&storms_holding, 1);
        pthread_mutex_unlock(&storm_lock);
        return;
    }
    char suffix[64] = "";
    if (slot && slot->held) { /* this line carries the count of the second before */
        snprintf(suffix, sizeof suffix, " (%llu more like this in the last second)",
                 (unsigned long long)slot->held);
        slot->held = 0;
        atomic_fetch_sub(&storms_holding, 1);
    }
    storms_report_due(now);
    if (!slot) {
        slot = free_slot ? free_slot : oldest;
        storm_report(slot); /* every slot busy: the oldest storm is reported early */
    }
    slot->fmt = fmt;
    slot->level = level;
    slot->since = now;
    format_body(slot->text, sizeof slot->text, context, fmt, ap);
    emit(level, slot->text, suffix);
    pthread_mutex_unlock(&storm_lock);
}

void log_vwrite_context(log_level_t level, const char *context, const char *fmt, va_list ap)
{
    if (level < log_min)
        return;
    if (level >= LOG_WARN) {
        write_checked(level, context, fmt, ap);
        return;
    }
    log_flush();
    char body[LINE_BYTES];
    format_body(body, sizeof body, context, fmt, ap);
    emit(level, body, NULL);
}

void log_write(log_level_t level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite_context(level, NULL, fmt, ap);
    va_end(ap);
}
