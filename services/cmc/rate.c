/*
 * rate: the cmc's pure arithmetic (spec/cmc.md 2.2, 2.4, 2.5, 3.4 refund): conversion to cycles,
 * the 30-day average over the 60-slot daily cache, the legacy maturity modulation, and the
 * refund split.
 */
#include <string.h>

#include "cmc.h"

#define DAY_SECONDS 86400ULL
#define CONVERSION_DENOMINATOR ((cmc_cycles_t)100000000ULL * 10000ULL)

/* lib.rs TokensToCycles::to_cycles: multiply first, divide once, floor. */
cmc_cycles_t cmc_to_cycles(uint64_t e8s, uint64_t xdr_permyriad_per_icp, uint64_t cycles_per_xdr)
{
    cmc_cycles_t p = (cmc_cycles_t)e8s * xdr_permyriad_per_icp; /* < 2^128 */
    if (cycles_per_xdr != 0 && p > ~(cmc_cycles_t)0 / cycles_per_xdr)
        return ~(cmc_cycles_t)0 / CONVERSION_DENOMINATOR; /* saturates: unreachable in practice */
    return p * cycles_per_xdr / CONVERSION_DENOMINATOR;
}

/* main.rs compute_average_icp_xdr_rate_at_time: the floor mean of the slots whose day is in
 * (today - 30, today]. */
bool cmc_average_at(const cmc_rate_t cache[CMC_CACHE_SLOTS], uint64_t t_seconds, cmc_rate_t *out)
{
    uint64_t today = t_seconds / DAY_SECONDS;
    cmc_cycles_t sum = 0;
    uint64_t n = 0;
    for (int i = 0; i < CMC_CACHE_SLOTS; i++) {
        uint64_t d = cache[i].timestamp_seconds / DAY_SECONDS;
        /* upstream computes today - 30 in u64; a day before day 30 cannot underflow here */
        if (d + CMC_AVERAGE_DAYS > today && d <= today) {
            sum += cache[i].xdr_permyriad_per_icp;
            n++;
        }
    }
    if (n == 0)
        return false;
    out->timestamp_seconds = today * DAY_SECONDS;
    out->xdr_permyriad_per_icp = (uint64_t)(sum / n);
    return true;
}

static int32_t sat_i32(int64_t v)
{
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

/* main.rs compute_capped_maturity_modulation: the relative change of the averages as of the
 * start day and the end day, in i32 with saturating subtract and multiply, clamped to
 * [-500, 500]; 0 unless the cache holds both days. */
static int32_t capped_modulation(const cmc_rate_t cache[CMC_CACHE_SLOTS], uint64_t start_day,
                                 uint64_t end_day)
{
    const cmc_rate_t *s = &cache[start_day % CMC_CACHE_SLOTS];
    const cmc_rate_t *e = &cache[end_day % CMC_CACHE_SLOTS];
    if (s->timestamp_seconds / DAY_SECONDS != start_day ||
        e->timestamp_seconds / DAY_SECONDS != end_day)
        return 0;
    cmc_rate_t sa, ea;
    if (!cmc_average_at(cache, start_day * DAY_SECONDS, &sa) ||
        !cmc_average_at(cache, end_day * DAY_SECONDS, &ea))
        return 0;
    /* `as i32` in Rust truncates to the low 32 bits */
    int32_t start = (int32_t)(uint32_t)sa.xdr_permyriad_per_icp;
    int32_t end = (int32_t)(uint32_t)ea.xdr_permyriad_per_icp;
    int32_t diff = sat_i32((int64_t)end - start);
    int32_t diff_pm = sat_i32((int64_t)diff * 10000);
    if (start == 0 || (start == -1 && diff_pm == INT32_MIN))
        return 0; /* checked_div -> None */
    int32_t rel = diff_pm / start;
    if (rel < CMC_MODULATION_MIN)
        rel = CMC_MODULATION_MIN;
    if (rel > CMC_MODULATION_MAX)
        rel = CMC_MODULATION_MAX;
    return rel;
}

/* main.rs compute_maturity_modulation: the mean (truncating) of four 7-day terms. */
int32_t cmc_maturity_modulation_at(const cmc_rate_t cache[CMC_CACHE_SLOTS], uint64_t t_seconds)
{
    uint64_t day = t_seconds / DAY_SECONDS;
    if (day < 28)
        return 0;
    int32_t t1 = capped_modulation(cache, day - 7, day);
    int32_t t2 = capped_modulation(cache, day - 14, day - 7);
    int32_t t3 = capped_modulation(cache, day - 21, day - 14);
    int32_t t4 = capped_modulation(cache, day - 28, day - 21);
    return (t1 + t2 + t3 + t4) / 4;
}

/* nervous_system maturity_modulation apply_maturity_modulation: u128, floor. */
uint64_t cmc_apply_maturity_modulation(uint64_t maturity_e8s, int32_t modulation_permyriad)
{
    int64_t factor = 10000 + (int64_t)modulation_permyriad;
    if (factor <= 0)
        return 0;
    cmc_cycles_t v = (cmc_cycles_t)maturity_e8s * (uint64_t)factor / 10000;
    return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

/* main.rs refund_icp: checked subtraction of the fee and the extra fee. */
void cmc_refund_split(uint64_t amount, uint64_t extra_fee, uint64_t *refund, uint64_t *burn)
{
    if (amount > CMC_TRANSFER_FEE && amount - CMC_TRANSFER_FEE > extra_fee) {
        *refund = amount - CMC_TRANSFER_FEE - extra_fee;
        *burn = extra_fee;
    } else {
        *refund = 0;
        *burn = amount;
    }
}

/* lib.rs get_u64_memo. */
uint64_t cmc_effective_memo(uint64_t memo, bool has_icrc1_memo, size_t icrc1_memo_len,
                            const uint8_t *icrc1_memo)
{
    if (memo != 0)
        return memo;
    if (has_icrc1_memo && icrc1_memo_len == 8) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
            v = v << 8 | icrc1_memo[i];
        return v;
    }
    return 0;
}

bool cmc_memo_is_meaningful(uint64_t memo)
{
    return memo == CMC_MEMO_CREATE_CANISTER || memo == CMC_MEMO_TOP_UP_CANISTER ||
           memo == CMC_MEMO_MINT_CYCLES;
}

uint64_t cmc_memo_of(cmc_notify_kind_t kind)
{
    switch (kind) {
    case CMC_NOTIFY_TOP_UP:
        return CMC_MEMO_TOP_UP_CANISTER;
    case CMC_NOTIFY_CREATE_CANISTER:
        return CMC_MEMO_CREATE_CANISTER;
    case CMC_NOTIFY_MINT_CYCLES:
        return CMC_MEMO_MINT_CYCLES;
    }
    return 0;
}

void cmc_icrc1_memo(uint64_t memo, uint8_t out[8])
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(memo >> (8 * i));
}

void cmc_deposit_account(const cmc_config_t *cfg, const principal_t *who, account_id_t *out)
{
    uint8_t sub[SUBACCOUNT_BYTES];
    subaccount_from_principal(who, sub);
    account_id_of(&cfg->cmc_id, sub, out);
}
