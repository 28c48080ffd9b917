/*
 * allocfail: allocation failure on purpose, for the test build (make alloc-fail).
 *
 * In that build (compiled with -DNNS_ALLOC_FAIL and linked with --wrap for malloc, calloc,
 * realloc, strdup and strndup) every allocation the project's own code makes goes through the
 * wrappers here; allocations inside libraries (libmicrohttpd, libpq, jansson, OpenSSL) do not.
 * A request that carries `X-Fail-Alloc: N` gets a counter of its own: every allocation made on
 * a thread while it works for that request counts, and the N-th one fails (returns NULL). The
 * threads that work for a request attach its counter for that time (the HTTP thread while it
 * handles the request, the state thread while it runs the request's round), so the count is
 * the same on every run of the same request. The answer carries `X-Alloc-Count` (allocations
 * counted so far) and `X-Alloc-Failed` (whether the N-th came).
 *
 * In every other build the functions are empty inlines and the header costs nothing.
 */
#ifndef NNS_ALLOCFAIL_H
#define NNS_ALLOCFAIL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t fail_at;       /* the allocation that fails, 1-based; 0: none (the counter is off) */
    _Atomic uint64_t count; /* allocations counted so far */
    _Atomic bool failed;    /* the fail_at-th came */
} allocfail_t;

#ifdef NNS_ALLOC_FAIL
/* Makes ctx the counter of this thread's allocations (NULL: none); returns the previous one. */
allocfail_t *allocfail_attach(allocfail_t *ctx);
#else
static inline allocfail_t *allocfail_attach(allocfail_t *ctx)
{
    (void)ctx;
    return 0;
}
#endif

#endif
