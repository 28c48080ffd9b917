/*
 * clock: the domain's "now" (DESIGN.md section 4).
 *
 * In production the domain time is the system clock. In test mode (--test-clock) it is a value
 * set through clock_set(), which never moves backwards; it starts at the system time. The wall
 * clock (clock_wall_nanos) is always the system clock: request expiry and the replay cache use
 * it. All functions are thread-safe. Times are nanoseconds since the Unix epoch.
 */
#ifndef NNS_CLOCK_H
#define NNS_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Switches the process to the test clock. Call once at start-up, before any thread runs. */
void clock_use_test_clock(void);
bool clock_is_test(void);

/* Domain time: the test clock's value, or the system clock. */
uint64_t clock_now_nanos(void);

/* The system clock, always. */
uint64_t clock_wall_nanos(void);

/* Sets the test clock. Returns false when not in test mode or when t is before the current
 * test time (time never moves backwards); setting the same value again succeeds. */
bool clock_set(uint64_t t) __attribute__((warn_unused_result));

#endif
