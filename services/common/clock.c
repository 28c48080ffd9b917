#include "clock.h"

#include <stdatomic.h>
#include <time.h>

static bool test_mode;
static _Atomic uint64_t test_now;

uint64_t clock_wall_nanos(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void clock_use_test_clock(void)
{
    test_mode = true;
    atomic_store(&test_now, clock_wall_nanos());
}

bool clock_is_test(void)
{
    return test_mode;
}

uint64_t clock_now_nanos(void)
{
    return test_mode ? atomic_load(&test_now) : clock_wall_nanos();
}

bool clock_set(uint64_t t)
{
    if (!test_mode)
        return false;
    uint64_t cur = atomic_load(&test_now);
    while (t >= cur) {
        if (atomic_compare_exchange_weak(&test_now, &cur, t))
            return true;
    }
    return false;
}
