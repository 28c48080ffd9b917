#include "allocfail.h"

#ifdef NNS_ALLOC_FAIL

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

static _Thread_local allocfail_t *current;

allocfail_t *allocfail_attach(allocfail_t *ctx)
{
    allocfail_t *prev = current;
    current = ctx;
    return prev;
}

/* True when this allocation must fail. A request's threads work for it one after another
 * (the HTTP thread hands the command to the state thread and waits), never at once. */
static bool fail_now(void)
{
    allocfail_t *c = current;
    if (!c || !c->fail_at)
        return false;
    if (atomic_fetch_add(&c->count, 1) + 1 != c->fail_at)
        return false;
    atomic_store(&c->failed, true);
    return true;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n)
{
    return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return fail_now() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return fail_now() ? NULL : __real_strndup(s, n);
}

#else
typedef int allocfail_unused_t; /* ISO C wants a translation unit to declare something */
#endif
