#include "metrics.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifndef NNS_VERSION
#define NNS_VERSION "dev"
#endif

struct metrics {
    char service[32];
    char *buf;
    size_t len, cap;
    bool failed;
};

metrics_t *metrics_new(const char *service)
{
    metrics_t *m = calloc(1, sizeof *m);
    if (m)
        snprintf(m->service, sizeof m->service, "%s", service);
    return m;
}

void metrics_destroy(metrics_t **mp)
{
    if (!*mp)
        return;
    free((*mp)->buf);
    free(*mp);
    *mp = NULL;
}

__attribute__((format(printf, 2, 3))) static void append(metrics_t *m, const char *fmt, ...)
{
    if (m->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(m->buf ? m->buf + m->len : NULL, m->buf ? m->cap - m->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            m->failed = true;
            return;
        }
        if (m->buf && (size_t)n < m->cap - m->len) {
            m->len += (size_t)n;
            return;
        }
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->len + (size_t)n + 1)
            cap *= 2;
        char *b = realloc(m->buf, cap);
        if (!b) {
            m->failed = true;
            return;
        }
        m->buf = b;
        m->cap = cap;
    }
}

void metrics_family(metrics_t *m, const char *name, const char *type, const char *help)
{
    append(m, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_u64(metrics_t *m, const char *name, const char *labels, uint64_t value)
{
    append(m, "%s{service=\"%s\"%s%s} %llu\n", name, m->service, labels ? "," : "",
           labels ? labels : "", (unsigned long long)value);
}

void metrics_double(metrics_t *m, const char *name, const char *labels, double value)
{
    append(m, "%s{service=\"%s\"%s%s} %.9g\n", name, m->service, labels ? "," : "",
           labels ? labels : "", value);
}

void metrics_counter(metrics_t *m, const char *name, const char *help, uint64_t value)
{
    metrics_family(m, name, "counter", help);
    metrics_u64(m, name, NULL, value);
}

void metrics_gauge(metrics_t *m, const char *name, const char *help, double value)
{
    metrics_family(m, name, "gauge", help);
    metrics_double(m, name, NULL, value);
}

static size_t open_files(void)
{
    DIR *d = opendir("/proc/self/fd");
    size_t n = 0;
    if (!d)
        return 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n > 3 ? n - 3 : 0; /* ".", ".." and the directory's own descriptor */
}

void metrics_process(metrics_t *m)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        metrics_family(m, "process_cpu_seconds_total", "counter",
                       "user and system CPU time spent, in seconds");
        metrics_double(m, "process_cpu_seconds_total", NULL, cpu);
    }
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages_total = 0, pages_resident = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &pages_total, &pages_resident) == 2) {
            double page = (double)sysconf(_SC_PAGESIZE);
            metrics_gauge(m, "process_resident_memory_bytes", "resident memory size in bytes",
                          (double)pages_resident * page);
            metrics_gauge(m, "process_virtual_memory_bytes", "virtual memory size in bytes",
                          (double)pages_total * page);
        }
        fclose(f);
    }
    metrics_gauge(m, "process_open_fds", "number of open file descriptors", (double)open_files());
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        metrics_gauge(m, "process_max_fds", "maximum number of open file descriptors",
                      (double)rl.rlim_cur);
    metrics_family(m, "nns_build_info", "gauge", "always 1; the labels name the build");
    metrics_u64(m, "nns_build_info", "version=\"" NNS_VERSION "\"", 1);
}

char *metrics_detach(metrics_t *m, size_t *len)
{
    if (m->failed || !m->buf) {
        bool failed = m->failed;
        free(m->buf);
        m->buf = NULL;
        m->len = m->cap = 0;
        m->failed = false;
        if (!failed && (m->buf = malloc(1))) { /* an empty exposition is valid */
            m->buf[0] = '\0';
            *len = 0;
            char *out = m->buf;
            m->buf = NULL;
            return out;
        }
        return NULL;
    }
    char *out = m->buf;
    *len = m->len;
    m->buf = NULL;
    m->len = m->cap = 0;
    return out;
}
