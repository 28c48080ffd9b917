/*
 * metrics: a Prometheus text exposition (format 0.0.4) built family by family.
 *
 * A family is declared once with metrics_family() (its HELP and TYPE lines), then its samples
 * follow. Every sample carries the same service="..." label, first, then the caller's own
 * labels. The buffer grows as needed; an allocation failure is remembered, every later call
 * does nothing, and metrics_detach() then returns NULL: a scrape never gets a truncated text.
 *
 * Life cycle: metrics_new() -> families and samples -> metrics_detach() (the text is the
 * caller's) -> metrics_destroy(). Not thread-safe: one builder per scrape.
 */
#ifndef NNS_METRICS_H
#define NNS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct metrics metrics_t;

/* A builder whose samples carry service="<service>". NULL when out of memory. */
metrics_t *metrics_new(const char *service) __attribute__((warn_unused_result));
void metrics_destroy(metrics_t **m);

/* Starts a family: type is "counter", "gauge", "summary" or "histogram". */
void metrics_family(metrics_t *m, const char *name, const char *type, const char *help);

/* One sample of the current family. name may differ from the family's (a histogram's _bucket,
 * _sum and _count); labels is NULL or extra labels, already formatted ("route=\"/v1/x\""). */
void metrics_u64(metrics_t *m, const char *name, const char *labels, uint64_t value);
void metrics_double(metrics_t *m, const char *name, const char *labels, double value);

/* A family with a single unlabelled sample: the usual case. */
void metrics_counter(metrics_t *m, const char *name, const char *help, uint64_t value);
void metrics_gauge(metrics_t *m, const char *name, const char *help, double value);

/* The process's own families: CPU seconds, resident and virtual memory, open files and their
 * limit (a family whose source cannot be read is left out), and nns_build_info. */
void metrics_process(metrics_t *m);

/* The text (NUL-terminated, length in *len), handed to the caller to free; NULL when any
 * allocation failed. The builder is empty afterwards. */
char *metrics_detach(metrics_t *m, size_t *len) __attribute__((warn_unused_result));

#endif
