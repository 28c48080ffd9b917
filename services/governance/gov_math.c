/*
 * gov_math: the governance service's pure arithmetic (gov_math.h). Every result is exact: 64- and
 * 128-bit integers, and a 256-bit unsigned integer (four 64-bit limbs, multiplication and long
 * division by 64-bit factors only) for the voting power, whose exact rational value has a
 * numerator of up to 2^151. No floating point anywhere.
 */
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "gov_math.h"

typedef unsigned __int128 u128;

uint64_t gov_max_dissolve_delay(gov_rules_t rules)
{
    /* governance.rs MAX_DISSOLVE_DELAY_SECONDS_PRE_MISSION_70 / _POST_MISSION_70 */
    return rules == GOV_RULES_LEGACY ? GOV_MAX_DISSOLVE_DELAY_LEGACY
                                     : GOV_MAX_DISSOLVE_DELAY_CURRENT;
}

/* ---- dissolve state and age: neuron/dissolve_state_and_age.rs (DissolveStateAndAge) ---- */

gov_neuron_state_t gov_dissolve_state(const gov_dissolve_t *d, uint64_t now)
{
    if (!d->dissolving)
        return GOV_STATE_NOT_DISSOLVING;
    /* DissolvingOrDissolved: Dissolving while now < when, Dissolved from `when` on. */
    return now < d->when_dissolved_timestamp_seconds ? GOV_STATE_DISSOLVING : GOV_STATE_DISSOLVED;
}

uint64_t gov_dissolve_delay(const gov_dissolve_t *d, uint64_t now)
{
    /* DissolveStateAndAge::dissolve_delay_seconds */
    if (!d->dissolving)
        return d->dissolve_delay_seconds;
    return d->when_dissolved_timestamp_seconds > now ? d->when_dissolved_timestamp_seconds - now
                                                     : 0;
}

uint64_t gov_age(const gov_dissolve_t *d, uint64_t now)
{
    /* DissolveStateAndAge::age_seconds: saturating(now - aging_since), 0 unless NotDissolving. */
    if (d->dissolving)
        return 0;
    return now > d->aging_since_timestamp_seconds ? now - d->aging_since_timestamp_seconds : 0;
}

static void set_not_dissolving(gov_dissolve_t *d, uint64_t delay, uint64_t aging_since)
{
    d->dissolving = false;
    d->dissolve_delay_seconds = delay;
    d->aging_since_timestamp_seconds = aging_since;
    d->when_dissolved_timestamp_seconds = 0;
}

static void set_dissolving(gov_dissolve_t *d, uint64_t when)
{
    d->dissolving = true;
    d->dissolve_delay_seconds = 0;
    d->aging_since_timestamp_seconds = 0;
    d->when_dissolved_timestamp_seconds = when;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

bool gov_start_dissolving(gov_dissolve_t *d, uint64_t now, nns_error_t *err)
{
    /* DissolveStateAndAge::start_dissolving: only from NotDissolving; when = now + delay, the age
     * is lost. (The M70 reset of the 8-year-gang base belongs to the neuron, types.rs.) */
    if (d->dissolving)
        return nns_error_set(err, 422, "RequiresNotDissolving",
                             "neuron is already dissolving or dissolved");
    set_dissolving(d, sat_add(now, d->dissolve_delay_seconds));
    return true;
}

bool gov_stop_dissolving(gov_dissolve_t *d, uint64_t now, nns_error_t *err)
{
    /* DissolveStateAndAge::stop_dissolving: only while dissolving with a remaining delay > 0;
     * the remaining delay becomes the delay and the age restarts at 0. */
    if (!d->dissolving)
        return nns_error_set(err, 422, "RequiresDissolving", "neuron is not dissolving");
    if (d->when_dissolved_timestamp_seconds <= now)
        return nns_error_set(err, 422, "RequiresDissolving", "neuron is already dissolved");
    set_not_dissolving(d, d->when_dissolved_timestamp_seconds - now, now);
    return true;
}

bool gov_increase_dissolve_delay(gov_dissolve_t *d, uint64_t now, uint32_t additional, uint64_t max,
                                 nns_error_t *err)
{
    /* DissolveStateAndAge::increase_dissolve_delay (a zero increase is refused by the caller in
     * types.rs, InvalidCommand). */
    if (additional == 0)
        return nns_error_set(err, 400, "InvalidCommand",
                             "additional dissolve delay must be greater than 0");
    if (!d->dissolving) {
        uint64_t delay = sat_add(d->dissolve_delay_seconds, additional);
        d->dissolve_delay_seconds = delay < max ? delay : max;
    } else if (now < d->when_dissolved_timestamp_seconds) {
        uint64_t delay = sat_add(d->when_dissolved_timestamp_seconds - now, additional);
        set_dissolving(d, sat_add(now, delay < max ? delay : max));
    } else {
        /* A dissolved neuron becomes NotDissolving with a fresh age. */
        set_not_dissolving(d, additional < max ? additional : max, now);
    }
    return true;
}

bool gov_set_dissolve_timestamp(gov_dissolve_t *d, uint64_t now, uint64_t ts, uint64_t max,
                                nns_error_t *err)
{
    /* types.rs Neuron::set_dissolve_timestamp: the difference between the desired and the
     * current delay is applied as IncreaseDissolveDelay. */
    if (ts < now)
        return nns_error_set(err, 400, "InvalidCommand",
                             "dissolve timestamp %llu is in the past (now %llu)",
                             (unsigned long long)ts, (unsigned long long)now);
    uint64_t desired = ts - now, current = gov_dissolve_delay(d, now);
    if (desired <= current)
        return nns_error_set(
            err, 400, "InvalidCommand",
            "dissolve timestamp %llu does not increase the dissolve delay of %llu seconds",
            (unsigned long long)ts, (unsigned long long)current);
    if (desired - current > UINT32_MAX)
        return nns_error_set(err, 400, "InvalidCommand",
                             "dissolve delay increase of %llu seconds does not fit in 32 bits",
                             (unsigned long long)(desired - current));
    return gov_increase_dissolve_delay(d, now, (uint32_t)(desired - current), max, err);
}

/* ---- 256-bit unsigned integers, just enough for the voting power ---- */

typedef struct {
    uint64_t w[4]; /* little-endian limbs */
} u256_t;

static u256_t u256_of(u128 v)
{
    u256_t r = {{(uint64_t)v, (uint64_t)(v >> 64), 0, 0}};
    return r;
}

/* r = a * m; the product must fit (the callers bound it below 2^256). */
static u256_t u256_mul(u256_t a, uint64_t m)
{
    u256_t r;
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
        u128 p = (u128)a.w[i] * m + carry;
        r.w[i] = (uint64_t)p;
        carry = (uint64_t)(p >> 64);
    }
    return r;
}

/* floor(a / m), m > 0. */
static u256_t u256_div(u256_t a, uint64_t m)
{
    u256_t q;
    u128 rem = 0;
    for (int i = 3; i >= 0; i--) {
        u128 cur = (rem << 64) | a.w[i];
        q.w[i] = (uint64_t)(cur / m);
        rem = cur % m;
    }
    return q;
}

static uint64_t u256_to_u64_saturating(u256_t a)
{
    return (a.w[1] | a.w[2] | a.w[3]) ? UINT64_MAX : a.w[0];
}

/* ---- voting power: neuron/voting_power.rs, neuron/types.rs potential_and_deciding_voting_power
 * ---- */

uint64_t gov_potential_voting_power(gov_rules_t rules, uint64_t stake_e8s, uint64_t dissolve_delay,
                                    uint64_t age, uint64_t eight_year_gang_base_e8s)
{
    /* Amax = 4 years = 16 quarter-years; the age bonus A = 1 + min(a, Amax) / (4 Amax). */
    const uint64_t amax = GOV_AGE_SATURATION;
    uint64_t a = age < amax ? age : amax;
    u256_t v;
    if (rules == GOV_RULES_LEGACY) {
        /* P = S * (Dmax + d) / Dmax * (4 Amax + a) / (4 Amax), d <= Dmax = 8 years.
         * Numerator < 2^64 * 2^29 * 2^30: fits; floor(floor(x / p) / q) = floor(x / (p q)). */
        const uint64_t dmax = GOV_MAX_DISSOLVE_DELAY_LEGACY;
        uint64_t d = dissolve_delay < dmax ? dissolve_delay : dmax;
        v = u256_mul(u256_mul(u256_of(stake_e8s), dmax + d), 4 * amax + a);
        v = u256_div(u256_div(v, dmax), 4 * amax);
    } else {
        /* M70: P = (S + min(B, S) / 10) * (1 + 2 (d / Dmax)^2) * A, d <= Dmax = 2 years:
         * P = (10 S + min(B, S)) * (Dmax^2 + 2 d^2) * (4 Amax + a) / (10 * Dmax^2 * 4 Amax).
         * Numerator < 2^68 * 2^54 * 2^30 = 2^152; every factor of the denominator fits 64 bits. */
        const uint64_t dmax = GOV_MAX_DISSOLVE_DELAY_CURRENT;
        uint64_t d = dissolve_delay < dmax ? dissolve_delay : dmax;
        uint64_t bonus =
            eight_year_gang_base_e8s < stake_e8s ? eight_year_gang_base_e8s : stake_e8s;
        u128 stake10 = (u128)stake_e8s * 10 + bonus;
        uint64_t dfactor = dmax * dmax + 2 * d * d; /* <= 3 * 2^52 */
        v = u256_mul(u256_mul(u256_of(stake10), dfactor), 4 * amax + a);
        v = u256_div(u256_div(u256_div(v, 10), dmax * dmax), 4 * amax);
    }
    return u256_to_u64_saturating(v);
}

uint64_t gov_deciding_voting_power(uint64_t potential, uint64_t refreshed_ts, uint64_t now,
                                   uint64_t start_reducing_after, uint64_t clear_following_after)
{
    /* types.rs deciding_voting_power: f(t) = 1 up to R, 1 - (t - R) / C until R + C, then 0;
     * the product is truncated. */
    uint64_t t = now > refreshed_ts ? now - refreshed_ts : 0;
    if (t <= start_reducing_after)
        return potential;
    uint64_t end = sat_add(start_reducing_after, clear_following_after);
    if (t >= end)
        return 0;
    return (uint64_t)((u128)potential * (end - t) / clear_following_after);
}

/* ---- stakes and ages ---- */

void gov_combine_aged_stakes(uint64_t x, uint64_t ax, uint64_t y, uint64_t ay, uint64_t *sum,
                             uint64_t *age)
{
    /* neuron/mod.rs combine_aged_stakes: floor((x ax + y ay) / (x + y)). x ax + y ay may reach
     * 2^129, so with lo = min(ax, ay) it is rewritten exactly as
     * lo (x + y) + w (hi - lo), w the stake of the older side: the mean is then
     * lo + floor(w (hi - lo) / (x + y)), with w (hi - lo) < 2^128 and the quotient <= hi - lo. */
    *sum = sat_add(x, y);
    if (x == 0 && y == 0) {
        *age = 0;
        return;
    }
    u128 total = (u128)x + y;
    if (ax >= ay)
        *age = ay + (uint64_t)((u128)x * (ax - ay) / total);
    else
        *age = ax + (uint64_t)((u128)y * (ay - ax) / total);
}

void gov_update_stake_adjust_age(gov_dissolve_t *d, uint64_t *cached_stake_e8s,
                                 uint64_t new_stake_e8s, uint64_t now)
{
    /* types.rs Neuron::update_stake_adjust_age: when the stake grows, the added amount has age 0
     * and the age is stake-weighted (combine_aged_stakes with y age 0); a lower stake keeps the
     * age. Dissolving and dissolved neurons have no age: only the stake changes. */
    uint64_t old = *cached_stake_e8s;
    if (!d->dissolving && new_stake_e8s > old) {
        uint64_t sum, new_age;
        gov_combine_aged_stakes(old, gov_age(d, now), new_stake_e8s - old, 0, &sum, &new_age);
        d->aging_since_timestamp_seconds = now - new_age; /* new_age <= age <= now */
    }
    *cached_stake_e8s = new_stake_e8s;
}

/* ---- maturity modulation ---- */

uint64_t gov_apply_maturity_modulation(uint64_t amount_e8s, int32_t mm_permyriad)
{
    /* ic_nervous_system_governance maturity_modulation::apply_maturity_modulation: 128-bit
     * amount * saturating(10000 + mm) / 10000 (an overflow of u64, impossible for real amounts
     * within the clamps, saturates here instead of failing). */
    int64_t factor = 10000 + (int64_t)mm_permyriad;
    if (factor <= 0)
        return 0;
    u128 v = (u128)amount_e8s * (uint64_t)factor / 10000;
    return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

/* timer_tasks/update_icp_xdr_rate_related_data.rs compute_average_icp_xdr_rate: the floor of the
 * mean of the rates of the days in (today - window, today]; false when there is none. */
static bool window_average(const gov_rate_day_t *days, size_t n, uint64_t today, uint64_t window,
                           uint64_t *avg)
{
    uint64_t start = today > window ? today - window : 0;
    u128 sum = 0;
    uint64_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (days[i].day > start && days[i].day <= today) {
            sum += days[i].xdr_permyriad_per_icp;
            count++;
        }
    if (count == 0)
        return false;
    *avg = (uint64_t)(sum / count);
    return true;
}

bool gov_m70_modulation(const gov_rate_day_t *days, size_t n, uint64_t today, bool has_prev,
                        int32_t prev, uint64_t elapsed_days, int32_t *out)
{
    /* timer_tasks/update_icp_xdr_rate_related_data.rs compute_maturity_modulation_permyriad,
     * called only once the 365-day window is filled (get_day_to_fetch). The averages are floored
     * integer means, as upstream (sum / count in u128); the target is truncated toward zero
     * (i128 division). */
    bool full = false;
    for (size_t i = 0; i < n && !full; i++)
        full = days[i].day + (GOV_MODULATION_REFERENCE_DAYS - 1) <= today;
    uint64_t recent, reference;
    if (!full || !window_average(days, n, today, GOV_MODULATION_RECENT_DAYS, &recent) ||
        !window_average(days, n, today, GOV_MODULATION_REFERENCE_DAYS, &reference) ||
        reference == 0)
        return false;
    /* |recent - reference| < 2^64 and sensitivity 2500 < 2^12: the product fits in i128. */
    __int128 diff = (__int128)recent - (__int128)reference;
    __int128 target = (__int128)GOV_MODULATION_SENSITIVITY_PERMYRIAD * diff / (__int128)reference;
    if (has_prev) {
        /* The speed limit: 30 permyriad per elapsed day (a missed day allows more; 0 days counts
         * as 1, as upstream). */
        uint64_t days_elapsed = elapsed_days ? elapsed_days : 1;
        __int128 max_change = (__int128)GOV_MODULATION_SPEED_LIMIT_PER_DAY * days_elapsed;
        if (target > (__int128)prev + max_change)
            target = (__int128)prev + max_change;
        if (target < (__int128)prev - max_change)
            target = (__int128)prev - max_change;
    }
    if (target < GOV_MODULATION_CURRENT_MIN)
        target = GOV_MODULATION_CURRENT_MIN;
    if (target > GOV_MODULATION_CURRENT_MAX)
        target = GOV_MODULATION_CURRENT_MAX;
    *out = (int32_t)target;
    return true;
}

/* ---- subaccounts: rs/nervous_system/common/src/ledger.rs compute_neuron_domain_subaccount_bytes
 * (SHA-256 of the domain length byte, the domain, the principal bytes, the nonce big-endian) ----
 */

static void domain_subaccount(const char *domain, const principal_t *p, uint64_t nonce,
                              uint8_t out[32])
{
    uint8_t buf[1 + 32 + PRINCIPAL_MAX_BYTES + 8];
    size_t dlen = strlen(domain), len = 0;
    buf[len++] = (uint8_t)dlen;
    memcpy(buf + len, domain, dlen);
    len += dlen;
    memcpy(buf + len, p->bytes, p->len);
    len += p->len;
    for (int i = 0; i < 8; i++)
        buf[len++] = (uint8_t)(nonce >> (56 - 8 * i));
    sha256(buf, len, out);
}

void gov_neuron_staking_subaccount(const principal_t *controller, uint64_t memo, uint8_t out[32])
{
    /* ledger.rs compute_neuron_staking_subaccount_bytes */
    domain_subaccount("neuron-stake", controller, memo, out);
}

void gov_split_subaccount(const principal_t *controller, uint64_t memo, uint8_t out[32])
{
    /* ledger.rs compute_neuron_split_subaccount_bytes */
    domain_subaccount("split-neuron", controller, memo, out);
}

void gov_disburse_to_neuron_subaccount(const principal_t *new_controller, uint64_t nonce,
                                       uint8_t out[32])
{
    /* ledger.rs compute_neuron_disburse_subaccount_bytes (the historical domain name) */
    domain_subaccount("neuron-split", new_controller, nonce, out);
}

/* ---- topics: the proto Topic enum ---- */

static const char *const topic_names[GOV_TOPIC_COUNT] = {
    "Unspecified",
    "NeuronManagement",
    "ExchangeRate",
    "NetworkEconomics",
    "Governance",
    "NodeAdmin",
    "ParticipantManagement",
    "SubnetManagement",
    "ApplicationCanisterManagement",
    "Kyc",
    "NodeProviderRewards",
    "SnsDecentralizationSale",
    "IcOsVersionDeployment",
    "IcOsVersionElection",
    "SnsAndCommunityFund",
    "ApiBoundaryNodeManagement",
    "SubnetRental",
    "ProtocolCanisterManagement",
    "ServiceNervousSystemManagement",
};

bool gov_topic_valid(int32_t topic)
{
    return topic >= 0 && topic < GOV_TOPIC_COUNT;
}

const char *gov_topic_name(int32_t topic)
{
    return gov_topic_valid(topic) ? topic_names[topic] : NULL;
}

/* ---- the neuron creation rate limiter: governance.rs new_rate_limiter (add_capacity_amount 1
 * every MINIMUM_SECONDS_BETWEEN_ALLOWANCE_INCREASE = 3600 / MAX_SUSTAINED_NEURONS_PER_HOUR
 * seconds, max_capacity MAX_NEURON_CREATION_SPIKE) over rs/nervous_system/rate_limits
 * update_capacity. Upstream counts the capacity used; `available` here is max_capacity minus it.
 * The refill counts whole intervals only and moves last_refill by whole intervals, so a partial
 * interval is kept for the next call and the rate does not depend on how often it is checked. */

static uint64_t refill_interval(uint64_t sustained_per_hour)
{
    /* 3600 / rate in whole seconds, as upstream; at least 1 second (upstream would divide by 0
     * for a rate above 3600 per hour). 0 means no refill. */
    if (sustained_per_hour == 0)
        return 0;
    uint64_t s = 3600 / sustained_per_hour;
    return s ? s : 1;
}

void gov_creation_limiter_init(gov_creation_limiter_t *l, uint64_t spike, uint64_t now)
{
    l->available = spike;
    l->last_refill_seconds = now;
}

static void limiter_refill(gov_creation_limiter_t *l, uint64_t sustained_per_hour, uint64_t spike,
                           uint64_t now)
{
    uint64_t interval = refill_interval(sustained_per_hour);
    if (interval && now > l->last_refill_seconds) {
        uint64_t intervals = (now - l->last_refill_seconds) / interval;
        l->last_refill_seconds += intervals * interval;
        l->available = sat_add(l->available, intervals);
    }
    if (l->available > spike) /* also when the spike was lowered since */
        l->available = spike;
}

bool gov_creation_limiter_take(gov_creation_limiter_t *l, uint64_t sustained_per_hour,
                               uint64_t spike, uint64_t now, uint64_t *retry_after_seconds)
{
    limiter_refill(l, sustained_per_hour, spike, now);
    if (l->available > 0) {
        l->available--;
        return true;
    }
    if (retry_after_seconds) {
        uint64_t interval = refill_interval(sustained_per_hour);
        if (interval == 0 || spike == 0)
            *retry_after_seconds = 3600; /* never refills: ask again in an hour */
        else {
            /* After the refill, now - last_refill < interval (or the clock went back). */
            *retry_after_seconds = now >= l->last_refill_seconds
                                       ? interval - (now - l->last_refill_seconds)
                                       : sat_add(l->last_refill_seconds - now, interval);
        }
    }
    return false;
}

void gov_creation_limiter_give_back(gov_creation_limiter_t *l, uint64_t spike)
{
    /* rate_limits restore_capacity: the used capacity is lowered, never below 0. */
    if (l->available < spike)
        l->available++;
}
