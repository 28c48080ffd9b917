/*
 * Unit tests of the governance service's pure arithmetic (gov_math.h, spec/governance.md): the
 * test vectors 1-5, 7-12 and 16 (numbered in the test names), the edge cases of the dissolve
 * commands, saturation and overflow, the creation rate limiter, and differential tests of the
 * voting power and of combine_aged_stakes against an independent multi-precision reference (the
 * exact rational value compared by cross-multiplication in 32-bit limbs). No database, no
 * network.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "crypto.h"
#include "gov_math.h"

#define ICP 100000000ULL
#define Y GOV_ONE_YEAR
#define M GOV_ONE_MONTH
#define NOW 123456789ULL

static void setup(void)
{
    ck_assert(crypto_init());
}

static void teardown(void) {}

static void sub_hex(const uint8_t sub[32], char out[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[sub[i] >> 4];
        out[2 * i + 1] = digits[sub[i] & 15];
    }
    out[64] = 0;
}

static principal_t raw_principal(const uint8_t *bytes, size_t len)
{
    principal_t p;
    nns_error_t err;
    ck_assert(principal_from_bytes(bytes, len, &p, &err));
    return p;
}

/* ---- an independent multi-precision reference: little-endian 32-bit limbs ---- */

#define BN_LIMBS 16
typedef struct {
    uint32_t l[BN_LIMBS];
} bn_t;

static bn_t bn_u64(uint64_t v)
{
    bn_t r;
    memset(&r, 0, sizeof r);
    r.l[0] = (uint32_t)v;
    r.l[1] = (uint32_t)(v >> 32);
    return r;
}

static bn_t bn_mul(const bn_t *a, const bn_t *b)
{
    uint64_t acc[2 * BN_LIMBS] = {0};
    for (int i = 0; i < BN_LIMBS; i++)
        for (int j = 0; j < BN_LIMBS; j++) {
            uint64_t p = (uint64_t)a->l[i] * b->l[j];
            if (!p)
                continue;
            ck_assert_int_lt(i + j, BN_LIMBS - 1);
            /* add p at limb i + j, propagating carries */
            int k = i + j;
            uint64_t carry = p;
            while (carry) {
                uint64_t s = acc[k] + (carry & 0xffffffffu);
                acc[k] = s & 0xffffffffu;
                carry = (carry >> 32) + (s >> 32);
                k++;
            }
        }
    bn_t r;
    for (int i = 0; i < BN_LIMBS; i++)
        r.l[i] = (uint32_t)acc[i];
    return r;
}

static bn_t bn_add(const bn_t *a, const bn_t *b)
{
    bn_t r;
    uint64_t carry = 0;
    for (int i = 0; i < BN_LIMBS; i++) {
        uint64_t s = (uint64_t)a->l[i] + b->l[i] + carry;
        r.l[i] = (uint32_t)s;
        carry = s >> 32;
    }
    ck_assert_uint_eq(carry, 0);
    return r;
}

static int bn_cmp(const bn_t *a, const bn_t *b)
{
    for (int i = BN_LIMBS - 1; i >= 0; i--)
        if (a->l[i] != b->l[i])
            return a->l[i] < b->l[i] ? -1 : 1;
    return 0;
}

static bn_t bn_prod3(uint64_t a, uint64_t b, uint64_t c)
{
    bn_t x = bn_u64(a), y = bn_u64(b), z = bn_u64(c);
    bn_t xy = bn_mul(&x, &y);
    return bn_mul(&xy, &z);
}

/* The exact value num/den of a potential voting power, straight from the spec's formula with
 * rational factors (section 3): legacy S * (1 + d/Dmax) * (1 + a/Amax/4); M70
 * (S + min(B,S)/10) * (1 + 2 (d/Dmax)^2) * (1 + a/Amax/4). */
static void vp_rational(gov_rules_t rules, uint64_t s, uint64_t d, uint64_t a, uint64_t b,
                        bn_t *num, bn_t *den)
{
    const uint64_t amax = 4 * Y;
    if (a > amax)
        a = amax;
    bn_t age_num = bn_u64(4 * amax + a), age_den = bn_u64(4 * amax);
    bn_t st_num, st_den, dd_num, dd_den;
    if (rules == GOV_RULES_LEGACY) {
        const uint64_t dmax = 8 * Y;
        if (d > dmax)
            d = dmax;
        st_num = bn_u64(s);
        st_den = bn_u64(1);
        dd_num = bn_u64(dmax + d);
        dd_den = bn_u64(dmax);
    } else {
        const uint64_t dmax = 2 * Y;
        if (d > dmax)
            d = dmax;
        bn_t s10 = bn_prod3(s, 10, 1), m = bn_u64(b < s ? b : s);
        st_num = bn_add(&s10, &m);
        st_den = bn_u64(10);
        bn_t dm2 = bn_prod3(dmax, dmax, 1), d2 = bn_prod3(2, d, d);
        dd_num = bn_add(&dm2, &d2);
        dd_den = dm2;
    }
    bn_t t = bn_mul(&st_num, &dd_num);
    *num = bn_mul(&t, &age_num);
    t = bn_mul(&st_den, &dd_den);
    *den = bn_mul(&t, &age_den);
}

/* p == floor(num/den), or p == UINT64_MAX and num/den >= UINT64_MAX (saturation). */
static void assert_floor(uint64_t p, const bn_t *num, const bn_t *den)
{
    bn_t bp = bn_u64(p), lo = bn_mul(&bp, den);
    ck_assert_int_le(bn_cmp(&lo, num), 0);
    if (p == UINT64_MAX)
        return;
    bn_t hi = bn_add(&lo, den);
    ck_assert_int_gt(bn_cmp(&hi, num), 0);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    /* xorshift64*: deterministic, so a failure is reproducible */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

/* a value spread over every magnitude up to 2^64 */
static uint64_t rnd_mag(void)
{
    unsigned bits = (unsigned)(rnd() % 65);
    uint64_t v = rnd();
    return bits == 64 ? v : v & ((1ULL << bits) - 1);
}

/* ---- vectors 1 and 2: subaccounts and the neuron's ledger account ---- */

START_TEST(test_v01_neuron_staking_subaccount)
{
    static const uint8_t raw[] = {0x12, 0x31, 0x23, 0x12, 0x30};
    principal_t c = raw_principal(raw, sizeof raw);
    char text[PRINCIPAL_TEXT_MAX];
    principal_to_text(&c, text);
    ck_assert_str_eq(text, "6czrj-7isge-rrema");
    uint8_t sub[32], common[32];
    char h[65];
    gov_neuron_staking_subaccount(&c, 123123123, sub);
    sub_hex(sub, h);
    ck_assert_str_eq(h, "21c6b6f1c9be307a956fd950687037203c6ceb3557ae5cc49b52010d4497b2d3");
    neuron_staking_subaccount(&c, 123123123, common); /* the CLI's offline copy agrees */
    ck_assert_mem_eq(sub, common, 32);
    gov_neuron_staking_subaccount(&c, 123123124, common);
    ck_assert(memcmp(sub, common, 32) != 0);
}
END_TEST

START_TEST(test_v02_neuron_ledger_account)
{
    static const uint8_t raw[] = {0x45, 0x64, 0x56, 0x45, 0x60};
    principal_t c = raw_principal(raw, sizeof raw), gov;
    char text[PRINCIPAL_TEXT_MAX];
    principal_to_text(&c, text);
    ck_assert_str_eq(text, "jl4mq-2sfmr-lekya");
    principal_canister(CANISTER_GOVERNANCE, &gov);
    principal_to_text(&gov, text);
    ck_assert_str_eq(text, "rrkah-fqaaa-aaaaa-aaaaq-cai");
    uint8_t sub[32];
    gov_neuron_staking_subaccount(&c, 456456456, sub);
    account_id_t acc;
    account_id_of(&gov, sub, &acc);
    char h[ACCOUNT_HEX_LEN + 1];
    account_id_to_hex(&acc, h);
    ck_assert_str_eq(h, "2a8523d6488286c937f25a855cc74e640da7115824eb6c78d89d503a37e6b3d8");
}
END_TEST

/* The split and disburse-to-neuron subaccounts: the same generic form with their own domains,
 * checked against the parts hashed incrementally. */
static void expect_domain(void (*fn)(const principal_t *, uint64_t, uint8_t[32]),
                          const char *domain)
{
    static const uint8_t raw[] = {0x12, 0x31, 0x23, 0x12, 0x30};
    principal_t c = raw_principal(raw, sizeof raw);
    uint64_t nonce = 0x0102030405060708ULL;
    uint8_t got[32], want[32], len = (uint8_t)strlen(domain);
    static const uint8_t be[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    sha256_ctx_t ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, &len, 1);
    sha256_update(&ctx, domain, len);
    sha256_update(&ctx, c.bytes, c.len);
    sha256_update(&ctx, be, 8);
    sha256_final(&ctx, want);
    fn(&c, nonce, got);
    ck_assert_mem_eq(got, want, 32);
}

START_TEST(test_split_and_disburse_to_neuron_subaccounts)
{
    expect_domain(gov_neuron_staking_subaccount, "neuron-stake");
    expect_domain(gov_split_subaccount, "split-neuron");
    expect_domain(gov_disburse_to_neuron_subaccount, "neuron-split");
    static const uint8_t raw[] = {0x45};
    principal_t c = raw_principal(raw, sizeof raw);
    uint8_t a[32], b[32], d[32];
    gov_neuron_staking_subaccount(&c, 7, a);
    gov_split_subaccount(&c, 7, b);
    gov_disburse_to_neuron_subaccount(&c, 7, d);
    ck_assert(memcmp(a, b, 32) != 0 && memcmp(a, d, 32) != 0 && memcmp(b, d, 32) != 0);
    /* the longest principal fits */
    principal_t big;
    memset(&big, 0xab, sizeof big);
    big.len = PRINCIPAL_MAX_BYTES;
    gov_split_subaccount(&big, UINT64_MAX, a);
}
END_TEST

/* ---- vectors 3, 4, 5: the bonuses, through the potential voting power of 100 ICP ---- */

START_TEST(test_v03_legacy_dissolve_delay_bonus)
{
    const uint64_t s = 100 * ICP;
    ck_assert_uint_eq(gov_max_dissolve_delay(GOV_RULES_LEGACY), 252460800);
    struct {
        uint64_t d, want;
    } v[] = {
        {0, 10000000000ULL},      {Y, 11250000000ULL},          {2 * Y, 12500000000ULL},
        {3 * Y, 13750000000ULL},  {4 * Y, 15000000000ULL},      {5 * Y, 16250000000ULL},
        {6 * Y, 17500000000ULL},  {7 * Y, 18750000000ULL},      {8 * Y, 20000000000ULL},
        {15 * Y, 20000000000ULL}, {UINT64_MAX, 20000000000ULL},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_LEGACY, s, v[i].d, 0, 0), v[i].want);
    /* the 8-year-gang base means nothing under the legacy rules */
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_LEGACY, s, 8 * Y, 0, s), 20000000000ULL);
}
END_TEST

START_TEST(test_v04_m70_dissolve_delay_bonus)
{
    const uint64_t s = 100 * ICP;
    ck_assert_uint_eq(gov_max_dissolve_delay(GOV_RULES_CURRENT), 63115200);
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_CURRENT, s, 0, 0, 0), 10000000000ULL);
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_CURRENT, s, 2 * Y, 0, 0),
                      30000000000ULL);
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_CURRENT, s, 8 * Y, 0, 0),
                      30000000000ULL);
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_CURRENT, s, Y, 0, 0), 15000000000ULL);
    /* strictly increasing and convex month by month (a stake large enough that the floors cannot
     * hide the curvature: the second difference is 4 S M^2 / Dmax^2 = S/144) */
    const uint64_t big = 1000000ULL * ICP * 100; /* 10^16 e8s */
    uint64_t prev2 = 0, prev = 0;
    for (uint64_t m = 0; m <= 24; m++) {
        uint64_t p = gov_potential_voting_power(GOV_RULES_CURRENT, big, m * M, 0, 0);
        if (m >= 1)
            ck_assert_uint_gt(p, prev);
        if (m >= 2)
            ck_assert_uint_gt(p - prev, prev - prev2);
        prev2 = prev;
        prev = p;
    }
    ck_assert_uint_eq(prev, 3 * big);
}
END_TEST

START_TEST(test_v05_age_bonus)
{
    const uint64_t s = 100 * ICP;
    struct {
        uint64_t a, want;
    } v[] = {
        {0, 10000000000ULL},          {Y, 10625000000ULL},     {2 * Y, 11250000000ULL},
        {3 * Y, 11875000000ULL},      {4 * Y, 12500000000ULL}, {5 * Y, 12500000000ULL},
        {UINT64_MAX, 12500000000ULL},
    };
    ck_assert_uint_eq(GOV_AGE_SATURATION, 126230400);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_LEGACY, s, 0, v[i].a, 0), v[i].want);
        ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_CURRENT, s, 0, v[i].a, 0),
                          v[i].want);
    }
}
END_TEST

/* ---- vector 7: age pro-rating on a top-up; combine_aged_stakes ---- */

START_TEST(test_v07_age_pro_rating)
{
    gov_dissolve_t d = {false, 7 * GOV_ONE_DAY, NOW - 3 * Y, 0};
    uint64_t stake = 10 * ICP;
    gov_update_stake_adjust_age(&d, &stake, 15 * ICP, NOW);
    ck_assert_uint_eq(stake, 15 * ICP);
    ck_assert_uint_eq(gov_age(&d, NOW), 2 * Y);
    ck_assert_uint_eq(d.dissolve_delay_seconds, 7 * GOV_ONE_DAY);
    /* a lower stake keeps the age */
    gov_update_stake_adjust_age(&d, &stake, 12 * ICP, NOW);
    ck_assert_uint_eq(stake, 12 * ICP);
    ck_assert_uint_eq(gov_age(&d, NOW), 2 * Y);
    /* the same stake changes nothing */
    gov_dissolve_t before = d;
    gov_update_stake_adjust_age(&d, &stake, 12 * ICP, NOW + 5);
    ck_assert_mem_eq(&d, &before, sizeof d);
    /* the age is floored: 3 e8s aged 10 s + 4 e8s -> floor(30/7) = 4 */
    gov_dissolve_t e = {false, 0, NOW - 10, 0};
    uint64_t small = 3;
    gov_update_stake_adjust_age(&e, &small, 7, NOW);
    ck_assert_uint_eq(gov_age(&e, NOW), 4);
    /* a stake from 0: age 0 */
    gov_dissolve_t z = {false, 0, NOW - 100, 0};
    uint64_t zero = 0;
    gov_update_stake_adjust_age(&z, &zero, ICP, NOW);
    ck_assert_uint_eq(gov_age(&z, NOW), 0);
    /* dissolving: the stake only */
    gov_dissolve_t g = {true, 0, 0, NOW + 50};
    uint64_t gs = ICP;
    gov_update_stake_adjust_age(&g, &gs, 2 * ICP, NOW);
    ck_assert_uint_eq(gs, 2 * ICP);
    ck_assert(g.dissolving);
    ck_assert_uint_eq(g.when_dissolved_timestamp_seconds, NOW + 50);
    ck_assert_uint_eq(g.aging_since_timestamp_seconds, 0);
}
END_TEST

START_TEST(test_combine_aged_stakes)
{
    uint64_t sum, age;
    gov_combine_aged_stakes(10 * ICP, 3 * Y, 5 * ICP, 0, &sum, &age);
    ck_assert_uint_eq(sum, 15 * ICP);
    ck_assert_uint_eq(age, 2 * Y);
    gov_combine_aged_stakes(0, 5, 0, 9, &sum, &age);
    ck_assert_uint_eq(sum, 0);
    ck_assert_uint_eq(age, 0);
    gov_combine_aged_stakes(0, 5, 3, 9, &sum, &age);
    ck_assert_uint_eq(age, 9);
    /* x ax + y ay overflows 128 bits: still exact */
    gov_combine_aged_stakes(UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, &sum, &age);
    ck_assert_uint_eq(sum, UINT64_MAX); /* saturated */
    ck_assert_uint_eq(age, UINT64_MAX);
    gov_combine_aged_stakes(UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX - 1, &sum, &age);
    ck_assert_uint_eq(age, UINT64_MAX - 1); /* floor of UINT64_MAX - 1/2 */
    /* random against the multi-precision reference: age = floor((x ax + y ay) / (x + y)) */
    for (int i = 0; i < 20000; i++) {
        uint64_t x = rnd_mag(), ax = rnd_mag(), y = rnd_mag(), ay = rnd_mag();
        if (x == 0 && y == 0)
            continue;
        gov_combine_aged_stakes(x, ax, y, ay, &sum, &age);
        bn_t p1 = bn_prod3(x, ax, 1), p2 = bn_prod3(y, ay, 1), bx = bn_u64(x), by = bn_u64(y);
        bn_t num = bn_add(&p1, &p2), den = bn_add(&bx, &by);
        assert_floor(age, &num, &den);
        ck_assert(age != UINT64_MAX || (ax == UINT64_MAX || ay == UINT64_MAX));
    }
}
END_TEST

/* ---- vector 8: the dissolve state machine ---- */

START_TEST(test_v08_dissolve_state)
{
    gov_dissolve_t d = {true, 0, 0, NOW + 100};
    ck_assert_int_eq(gov_dissolve_state(&d, NOW), GOV_STATE_DISSOLVING);
    ck_assert_uint_eq(gov_dissolve_delay(&d, NOW), 100);
    ck_assert_uint_eq(gov_age(&d, NOW), 0);
    const uint64_t whens[] = {0, NOW - 1, NOW};
    for (size_t i = 0; i < 3; i++) {
        gov_dissolve_t x = {true, 0, 0, whens[i]};
        ck_assert_int_eq(gov_dissolve_state(&x, NOW), GOV_STATE_DISSOLVED);
        ck_assert_uint_eq(gov_dissolve_delay(&x, NOW), 0);
    }
    /* IncreaseDissolveDelay(1) on a dissolved neuron */
    nns_error_t err;
    gov_dissolve_t x = {true, 0, 0, NOW - 1};
    ck_assert(gov_increase_dissolve_delay(&x, NOW, 1, GOV_MAX_DISSOLVE_DELAY_CURRENT, &err));
    ck_assert(!x.dissolving);
    ck_assert_int_eq(gov_dissolve_state(&x, NOW), GOV_STATE_NOT_DISSOLVING);
    ck_assert_uint_eq(x.dissolve_delay_seconds, 1);
    ck_assert_uint_eq(x.aging_since_timestamp_seconds, NOW);
    ck_assert_uint_eq(x.when_dissolved_timestamp_seconds, 0);
    /* adding MAX + 1000: capped, for both rule sets and all three states */
    for (int r = 1; r <= 2; r++) {
        uint64_t max = gov_max_dissolve_delay((gov_rules_t)r);
        uint32_t add = (uint32_t)(max + 1000);
        gov_dissolve_t n = {false, 10, NOW - 7, 0};
        ck_assert(gov_increase_dissolve_delay(&n, NOW, add, max, &err));
        ck_assert_uint_eq(n.dissolve_delay_seconds, max);
        ck_assert_uint_eq(n.aging_since_timestamp_seconds, NOW - 7); /* age kept */
        gov_dissolve_t g = {true, 0, 0, NOW + 10};
        ck_assert(gov_increase_dissolve_delay(&g, NOW, add, max, &err));
        ck_assert_uint_eq(g.when_dissolved_timestamp_seconds, NOW + max);
        ck_assert_uint_eq(gov_dissolve_delay(&g, NOW), max);
        gov_dissolve_t o = {true, 0, 0, NOW};
        ck_assert(gov_increase_dissolve_delay(&o, NOW, add, max, &err));
        ck_assert(!o.dissolving);
        ck_assert_uint_eq(o.dissolve_delay_seconds, max);
    }
    /* dissolving: when = now + remaining + additional */
    gov_dissolve_t g = {true, 0, 0, NOW + 100};
    ck_assert(gov_increase_dissolve_delay(&g, NOW, 50, GOV_MAX_DISSOLVE_DELAY_CURRENT, &err));
    ck_assert_uint_eq(g.when_dissolved_timestamp_seconds, NOW + 150);
}
END_TEST

START_TEST(test_start_stop_dissolving)
{
    nns_error_t err;
    gov_dissolve_t d = {false, 1000, NOW - 500, 0};
    ck_assert(gov_start_dissolving(&d, NOW, &err));
    ck_assert(d.dissolving);
    ck_assert_uint_eq(d.when_dissolved_timestamp_seconds, NOW + 1000);
    ck_assert_uint_eq(gov_age(&d, NOW), 0);
    /* again: RequiresNotDissolving, unchanged */
    gov_dissolve_t before = d;
    ck_assert(!gov_start_dissolving(&d, NOW, &err));
    ck_assert_str_eq(err.code, "RequiresNotDissolving");
    ck_assert_int_eq(err.status, 422);
    ck_assert_mem_eq(&d, &before, sizeof d);
    /* stop 400 s later: 600 s left, the age restarts */
    ck_assert(gov_stop_dissolving(&d, NOW + 400, &err));
    ck_assert(!d.dissolving);
    ck_assert_uint_eq(d.dissolve_delay_seconds, 600);
    ck_assert_uint_eq(d.aging_since_timestamp_seconds, NOW + 400);
    ck_assert_uint_eq(gov_age(&d, NOW + 450), 50);
    /* stop a not-dissolving neuron: RequiresDissolving */
    before = d;
    ck_assert(!gov_stop_dissolving(&d, NOW + 400, &err));
    ck_assert_str_eq(err.code, "RequiresDissolving");
    ck_assert_int_eq(err.status, 422);
    ck_assert_mem_eq(&d, &before, sizeof d);
    /* stop a dissolved neuron (remaining delay 0): RequiresDissolving */
    gov_dissolve_t x = {true, 0, 0, NOW};
    before = x;
    ck_assert(!gov_stop_dissolving(&x, NOW, &err));
    ck_assert_str_eq(err.code, "RequiresDissolving");
    ck_assert_mem_eq(&x, &before, sizeof x);
    /* a zero delay dissolves at once */
    gov_dissolve_t z = {false, 0, NOW, 0};
    ck_assert(gov_start_dissolving(&z, NOW, &err));
    ck_assert_int_eq(gov_dissolve_state(&z, NOW), GOV_STATE_DISSOLVED);
    /* zero additional: InvalidCommand, unchanged */
    gov_dissolve_t n = {false, 10, NOW, 0};
    before = n;
    ck_assert(!gov_increase_dissolve_delay(&n, NOW, 0, GOV_MAX_DISSOLVE_DELAY_CURRENT, &err));
    ck_assert_str_eq(err.code, "InvalidCommand");
    ck_assert_int_eq(err.status, 400);
    ck_assert_mem_eq(&n, &before, sizeof n);
    /* an aging_since in the future gives age 0, a huge delay saturates when */
    gov_dissolve_t f = {false, UINT64_MAX, NOW + 5, 0};
    ck_assert_uint_eq(gov_age(&f, NOW), 0);
    ck_assert(gov_start_dissolving(&f, NOW, &err));
    ck_assert_uint_eq(f.when_dissolved_timestamp_seconds, UINT64_MAX);
}
END_TEST

START_TEST(test_set_dissolve_timestamp)
{
    nns_error_t err;
    const uint64_t max = GOV_MAX_DISSOLVE_DELAY_CURRENT;
    /* not dissolving, delay 100: ts = now + 1000 -> delay 1000, age kept */
    gov_dissolve_t d = {false, 100, NOW - 9, 0}, before;
    ck_assert(gov_set_dissolve_timestamp(&d, NOW, NOW + 1000, max, &err));
    ck_assert(!d.dissolving);
    ck_assert_uint_eq(d.dissolve_delay_seconds, 1000);
    ck_assert_uint_eq(d.aging_since_timestamp_seconds, NOW - 9);
    /* the same or a smaller delay, or a time in the past: InvalidCommand, unchanged */
    const uint64_t bad[] = {NOW + 1000, NOW + 999, NOW, NOW - 1, 0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        before = d;
        ck_assert(!gov_set_dissolve_timestamp(&d, NOW, bad[i], max, &err));
        ck_assert_str_eq(err.code, "InvalidCommand");
        ck_assert_int_eq(err.status, 400);
        ck_assert_mem_eq(&d, &before, sizeof d);
    }
    /* an increase that does not fit 32 bits: InvalidCommand */
    before = d;
    ck_assert(!gov_set_dissolve_timestamp(&d, NOW, NOW + 1000 + (1ULL << 32), max, &err));
    ck_assert_str_eq(err.code, "InvalidCommand");
    ck_assert_mem_eq(&d, &before, sizeof d);
    /* the largest u32 increase fits, and is capped at max */
    ck_assert(gov_set_dissolve_timestamp(&d, NOW, NOW + 1000 + UINT32_MAX, max, &err));
    ck_assert_uint_eq(d.dissolve_delay_seconds, max);
    /* dissolving: when becomes ts */
    gov_dissolve_t g = {true, 0, 0, NOW + 100};
    ck_assert(gov_set_dissolve_timestamp(&g, NOW, NOW + 5000, max, &err));
    ck_assert(g.dissolving);
    ck_assert_uint_eq(g.when_dissolved_timestamp_seconds, NOW + 5000);
    /* dissolving, beyond max: capped at now + max */
    ck_assert(gov_set_dissolve_timestamp(&g, NOW, NOW + max + 77, max, &err));
    ck_assert_uint_eq(g.when_dissolved_timestamp_seconds, NOW + max);
    /* dissolved: becomes NotDissolving with the desired delay and a fresh age */
    gov_dissolve_t x = {true, 0, 0, NOW - 3};
    ck_assert(gov_set_dissolve_timestamp(&x, NOW, NOW + 86400, max, &err));
    ck_assert(!x.dissolving);
    ck_assert_uint_eq(x.dissolve_delay_seconds, 86400);
    ck_assert_uint_eq(x.aging_since_timestamp_seconds, NOW);
    /* dissolved, ts == now: no increase, InvalidCommand */
    gov_dissolve_t y = {true, 0, 0, NOW - 3};
    before = y;
    ck_assert(!gov_set_dissolve_timestamp(&y, NOW, NOW, max, &err));
    ck_assert_mem_eq(&y, &before, sizeof y);
}
END_TEST

/* ---- vectors 10, 11: potential voting power; exactness against the reference ---- */

START_TEST(test_v10_legacy_potential_voting_power)
{
    const uint64_t s = 100 * ICP;
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_LEGACY, s, 8 * Y, 4 * Y, 0),
                      25000000000ULL);
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_LEGACY, s, 6 * M, 0, 0), 10625000000ULL);
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_LEGACY, s, Y, 2 * Y, 0), 12656250000ULL);
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_LEGACY, s, 4 * Y, Y, 0), 15937500000ULL);
}
END_TEST

START_TEST(test_v11_m70_potential_voting_power)
{
    const uint64_t s = 100 * ICP;
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_CURRENT, s, 2 * Y, 4 * Y, s),
                      41250000000ULL);
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_CURRENT, s, Y, 0, 0), 15000000000ULL);
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_CURRENT, s, 6 * M, 2 * Y, 0),
                      12656250000ULL);
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_CURRENT, s, 1209600, 0, 0),
                      10007345910ULL);
    /* the bonus base counts up to the stake: min(B, S) / 10, exact (not floored on its own) */
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_CURRENT, s, 2 * Y, 4 * Y, 10 * s),
                      41250000000ULL);
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_CURRENT, 1, 0, 0, 1), 1);   /* 1.1 */
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_CURRENT, 10, 0, 0, 5), 10); /* 10.5 */
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_CURRENT, 10, 2 * Y, 0, 5),
                      31); /* 31.5 */
}
END_TEST

START_TEST(test_potential_voting_power_saturates)
{
    /* u64 overflow of huge stakes: the exact value is computed, then saturated */
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_LEGACY, UINT64_MAX, 8 * Y, 4 * Y, 0),
                      UINT64_MAX);
    ck_assert_uint_eq(
        gov_potential_voting_power(GOV_RULES_CURRENT, UINT64_MAX, 2 * Y, 4 * Y, UINT64_MAX),
        UINT64_MAX);
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_LEGACY, UINT64_MAX, 0, 0, 0),
                      UINT64_MAX);
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_CURRENT, UINT64_MAX, 0, 0, 0),
                      UINT64_MAX);
    /* just below and above the edge: S * 2.5 around 2^64 */
    uint64_t s = UINT64_MAX / 5 * 2; /* 2.5 s = UINT64_MAX exactly (UINT64_MAX = 5 * odd) */
    uint64_t p = gov_potential_voting_power(GOV_RULES_LEGACY, s, 8 * Y, 4 * Y, 0);
    ck_assert_uint_eq(p, s / 2 * 5);
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_LEGACY, s + 2, 8 * Y, 4 * Y, 0),
                      UINT64_MAX);
    /* zero stake */
    ck_assert_uint_eq(gov_potential_voting_power(GOV_RULES_CURRENT, 0, 2 * Y, 4 * Y, 99), 0);
}
END_TEST

START_TEST(test_potential_voting_power_is_exact_floor)
{
    bn_t num, den;
    /* the spec's vectors against the reference too */
    vp_rational(GOV_RULES_CURRENT, 100 * ICP, 1209600, 0, 0, &num, &den);
    assert_floor(10007345910ULL, &num, &den);
    for (int i = 0; i < 50000; i++) {
        gov_rules_t r = (i & 1) ? GOV_RULES_LEGACY : GOV_RULES_CURRENT;
        uint64_t s = rnd_mag(), b = (i % 3) ? rnd_mag() : s;
        /* delays and ages around and beyond the saturation points */
        uint64_t d = (i % 5 == 0) ? rnd_mag() : rnd() % (9 * Y);
        uint64_t a = (i % 7 == 0) ? rnd_mag() : rnd() % (5 * Y);
        uint64_t p = gov_potential_voting_power(r, s, d, a, b);
        vp_rational(r, s, d, a, b, &num, &den);
        assert_floor(p, &num, &den);
    }
}
END_TEST

/* ---- vector 12: the deciding factor ---- */

START_TEST(test_v12_deciding_voting_power)
{
    const uint64_t r = GOV_START_REDUCING_VOTING_POWER_AFTER, c = GOV_CLEAR_FOLLOWING_AFTER;
    const uint64_t p = 10000000000ULL, t0 = 1700000000ULL;
    ck_assert_uint_eq(r, 15778800);
    ck_assert_uint_eq(c, 2629800);
    ck_assert_uint_eq(gov_deciding_voting_power(p, t0, t0, r, c), p);
    ck_assert_uint_eq(gov_deciding_voting_power(p, t0, t0 + 15778800, r, c), p);
    ck_assert_uint_eq(gov_deciding_voting_power(p, t0, t0 + 17093700, r, c), p / 2);
    ck_assert_uint_eq(gov_deciding_voting_power(p, t0, t0 + 18408600, r, c), 0);
    ck_assert_uint_eq(gov_deciding_voting_power(p, t0, t0 + 18408600 * 3, r, c), 0);
    /* one second into the decay: p * (C - 1) / C, truncated */
    ck_assert_uint_eq(gov_deciding_voting_power(p, t0, t0 + r + 1, r, c),
                      (uint64_t)((unsigned __int128)p * (c - 1) / c));
    /* a refresh in the future counts as now */
    ck_assert_uint_eq(gov_deciding_voting_power(p, t0 + 100, t0, r, c), p);
    /* the largest potential does not overflow */
    ck_assert_uint_eq(gov_deciding_voting_power(UINT64_MAX, t0, t0 + 17093700, r, c),
                      UINT64_MAX / 2);
    /* C = 0: a cliff at R */
    ck_assert_uint_eq(gov_deciding_voting_power(p, t0, t0 + r, r, 0), p);
    ck_assert_uint_eq(gov_deciding_voting_power(p, t0, t0 + r + 1, r, 0), 0);
    /* monotone non-increasing and exact against the reference */
    uint64_t prev = p;
    for (uint64_t t = r; t <= r + c + 10; t += 4321) {
        uint64_t v = gov_deciding_voting_power(p, t0, t0 + t, r, c);
        ck_assert_uint_le(v, prev);
        prev = v;
    }
    for (int i = 0; i < 20000; i++) {
        uint64_t pot = rnd_mag(), t = r + 1 + rnd() % (c - 1);
        uint64_t v = gov_deciding_voting_power(pot, t0, t0 + t, r, c);
        bn_t num = bn_prod3(pot, r + c - t, 1), den = bn_u64(c);
        assert_floor(v, &num, &den);
    }
}
END_TEST

/* ---- vector 16: maturity modulation applied ---- */

START_TEST(test_v16_apply_maturity_modulation)
{
    ck_assert_uint_eq(gov_apply_maturity_modulation(ICP, -1000), 90000000);
    ck_assert_uint_eq(gov_apply_maturity_modulation(ICP, 200), 102000000);
    ck_assert_uint_eq(gov_apply_maturity_modulation(ICP, 0), ICP);
    ck_assert_uint_eq(gov_apply_maturity_modulation(ICP, -500), 95000000);
    ck_assert_uint_eq(gov_apply_maturity_modulation(1, -1), 0);      /* floor(9999 / 10000) */
    ck_assert_uint_eq(gov_apply_maturity_modulation(9999, 1), 9999); /* floor(99_999_999 / 10^4) */
    ck_assert_uint_eq(gov_apply_maturity_modulation(10000, 1), 10001);
    ck_assert_uint_eq(gov_apply_maturity_modulation(UINT64_MAX, 0), UINT64_MAX);
    ck_assert_uint_eq(gov_apply_maturity_modulation(UINT64_MAX, -1000), UINT64_MAX / 10 * 9 + 4);
    ck_assert_uint_eq(gov_apply_maturity_modulation(UINT64_MAX, 200), UINT64_MAX); /* saturated */
    ck_assert_uint_eq(gov_apply_maturity_modulation(ICP, -10000), 0);
    ck_assert_uint_eq(gov_apply_maturity_modulation(ICP, INT32_MIN), 0);
}
END_TEST

/* ---- vector 9: the M70 maturity modulation ---- */

static size_t history(gov_rate_day_t *days, uint64_t today, uint64_t old_rate, uint64_t recent_rate)
{
    /* 358 days at old_rate then 7 days at recent_rate, the last one today */
    size_t n = 0;
    for (uint64_t k = 0; k < 365; k++)
        days[n++] = (gov_rate_day_t){today - 364 + k, k < 358 ? old_rate : recent_rate};
    return n;
}

START_TEST(test_v09_m70_modulation)
{
    gov_rate_day_t days[400];
    const uint64_t today = 20000;
    int32_t out = 12345;
    size_t n = history(days, today, 50000, 60000);
    /* rising price: target 2500 * (60000 - 50191) / 50191 = 488, speed-limited to +30 */
    ck_assert(gov_m70_modulation(days, n, today, true, 0, 1, &out));
    ck_assert_int_eq(out, 30);
    /* first computation (no previous value): the clamp only, +200 */
    ck_assert(gov_m70_modulation(days, n, today, false, 0, 0, &out));
    ck_assert_int_eq(out, 200);
    /* falling price: reference (358*50000 + 7*40000)/365 = 49808.2 -> 49808, target
     * 2500 * (40000 - 49808) / 49808 = -492.29 -> -492 (toward zero), limited to -30 */
    n = history(days, today, 50000, 40000);
    ck_assert(gov_m70_modulation(days, n, today, true, 0, 1, &out));
    ck_assert_int_eq(out, -30);
    ck_assert(gov_m70_modulation(days, n, today, false, 0, 0, &out));
    ck_assert_int_eq(out, -492);
    /* three elapsed days allow 90; 0 elapsed days count as one */
    ck_assert(gov_m70_modulation(days, n, today, true, 0, 3, &out));
    ck_assert_int_eq(out, -90);
    ck_assert(gov_m70_modulation(days, n, today, true, 0, 0, &out));
    ck_assert_int_eq(out, -30);
    /* near the target the target wins; from far below the limit applies upwards */
    ck_assert(gov_m70_modulation(days, n, today, true, -480, 1, &out));
    ck_assert_int_eq(out, -492);
    ck_assert(gov_m70_modulation(days, n, today, true, -900, 2, &out));
    ck_assert_int_eq(out, -840);
    /* many elapsed days lift the speed limit */
    ck_assert(gov_m70_modulation(days, n, today, true, 0, 100000, &out));
    ck_assert_int_eq(out, -492);
    /* any order gives the same result */
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(rnd() % (i + 1));
        gov_rate_day_t t = days[i];
        days[i] = days[j];
        days[j] = t;
    }
    ck_assert(gov_m70_modulation(days, n, today, false, 0, 0, &out));
    ck_assert_int_eq(out, -492);
}
END_TEST

START_TEST(test_m70_modulation_windows_and_clamp)
{
    gov_rate_day_t days[800];
    const uint64_t today = 20000;
    int32_t out = 777;
    /* a crash: recent far below the reference -> clamped at -1000 */
    size_t n = history(days, today, 50000, 10000);
    ck_assert(gov_m70_modulation(days, n, today, false, 0, 0, &out));
    ck_assert_int_eq(out, -1000);
    /* a flat history: 0 */
    n = history(days, today, 50000, 50000);
    ck_assert(gov_m70_modulation(days, n, today, true, 100, 1, &out));
    ck_assert_int_eq(out, 70);
    /* history too short: day today - 363 is the oldest -> false, out untouched */
    out = 777;
    ck_assert(!gov_m70_modulation(days + 1, n - 1, today, false, 0, 0, &out));
    ck_assert_int_eq(out, 777);
    ck_assert(!gov_m70_modulation(days, 0, today, false, 0, 0, &out));
    ck_assert_int_eq(out, 777);
    /* old days but no recent day (the last 7 missing) -> false */
    ck_assert(!gov_m70_modulation(days, n - 7, today, false, 0, 0, &out));
    ck_assert_int_eq(out, 777);
    /* days older than the window and later than today are ignored */
    n = history(days, today, 50000, 40000);
    size_t m = n;
    for (uint64_t k = 1; k <= 100; k++)
        days[m++] = (gov_rate_day_t){today - 364 - k, 1};
    for (uint64_t k = 1; k <= 5; k++)
        days[m++] = (gov_rate_day_t){today + k, 1000000};
    ck_assert(gov_m70_modulation(days, m, today, false, 0, 0, &out));
    ck_assert_int_eq(out, -492);
    /* a reference of 0 (rates of zero) cannot be divided by: false */
    out = 777;
    for (size_t i = 0; i < n; i++)
        days[i].xdr_permyriad_per_icp = 0;
    ck_assert(!gov_m70_modulation(days, n, today, false, 0, 0, &out));
    ck_assert_int_eq(out, 777);
    /* the averages are floored integer means: 7 recent days summing to 7*40000 + 6 */
    n = history(days, today, 50000, 40000);
    days[n - 1].xdr_permyriad_per_icp += 6;
    ck_assert(gov_m70_modulation(days, n, today, false, 0, 0, &out));
    ck_assert_int_eq(out, -492);
    /* huge rates do not overflow */
    n = history(days, today, UINT64_MAX, UINT64_MAX / 2);
    ck_assert(gov_m70_modulation(days, n, today, false, 0, 0, &out));
    ck_assert_int_eq(out, -1000);
}
END_TEST

/* ---- topics ---- */

START_TEST(test_topics)
{
    ck_assert_int_eq(GOV_TOPIC_COUNT, 19);
    for (int32_t t = 0; t < GOV_TOPIC_COUNT; t++) {
        ck_assert(gov_topic_valid(t));
        ck_assert_ptr_nonnull(gov_topic_name(t));
    }
    ck_assert(!gov_topic_valid(-1));
    ck_assert(!gov_topic_valid(19));
    ck_assert(!gov_topic_valid(INT32_MIN));
    ck_assert_ptr_null(gov_topic_name(-1));
    ck_assert_ptr_null(gov_topic_name(19));
    ck_assert_str_eq(gov_topic_name(0), "Unspecified");
    ck_assert_str_eq(gov_topic_name(GOV_TOPIC_NEURON_MANAGEMENT), "NeuronManagement");
    ck_assert_str_eq(gov_topic_name(GOV_TOPIC_EXCHANGE_RATE), "ExchangeRate");
    ck_assert_str_eq(gov_topic_name(4), "Governance");
    ck_assert_str_eq(gov_topic_name(8), "ApplicationCanisterManagement");
    ck_assert_str_eq(gov_topic_name(14), "SnsAndCommunityFund");
    ck_assert_str_eq(gov_topic_name(17), "ProtocolCanisterManagement");
    ck_assert_str_eq(gov_topic_name(18), "ServiceNervousSystemManagement");
}
END_TEST

/* ---- constants ---- */

START_TEST(test_constants)
{
    ck_assert_uint_eq(GOV_ONE_YEAR, (4 * 365 + 1) * 86400 / 4);
    ck_assert_uint_eq(GOV_ONE_MONTH, GOV_ONE_YEAR / 12);
    ck_assert_uint_eq(GOV_INITIAL_NEURON_DISSOLVE_DELAY, 604800);
    ck_assert_uint_eq(GOV_MAX_NEURON_CREATION_SPIKE, 300);
    ck_assert_uint_eq(GOV_MIN_DISSOLVE_DELAY_TO_VOTE_LEGACY, 15778800);
    ck_assert_uint_eq(GOV_MIN_DISSOLVE_DELAY_TO_VOTE_CURRENT, 1209600);
    ck_assert_uint_eq(GOV_START_REDUCING_VOTING_POWER_AFTER + GOV_CLEAR_FOLLOWING_AFTER, 18408600);
}
END_TEST

/* ---- the neuron creation rate limiter (governance.rs new_rate_limiter) ---- */

START_TEST(test_creation_limiter_spike_and_refill)
{
    const uint64_t rate = GOV_MAX_SUSTAINED_NEURONS_PER_HOUR, spike = GOV_MAX_NEURON_CREATION_SPIKE;
    const uint64_t t0 = 1700000000ULL;
    gov_creation_limiter_t l;
    uint64_t retry = 0;
    gov_creation_limiter_init(&l, spike, t0);
    ck_assert_uint_eq(l.available, 300);
    for (int i = 0; i < 300; i++)
        ck_assert(gov_creation_limiter_take(&l, rate, spike, t0, &retry));
    /* the spike is spent: one more every 240 s */
    ck_assert(!gov_creation_limiter_take(&l, rate, spike, t0, &retry));
    ck_assert_uint_eq(retry, 240);
    ck_assert_uint_eq(l.available, 0);
    ck_assert(!gov_creation_limiter_take(&l, rate, spike, t0 + 239, &retry));
    ck_assert_uint_eq(retry, 1);
    ck_assert(gov_creation_limiter_take(&l, rate, spike, t0 + 240, &retry));
    ck_assert(!gov_creation_limiter_take(&l, rate, spike, t0 + 240, &retry));
    ck_assert_uint_eq(retry, 240);
    /* partial intervals are kept: at +340 the next is due at +480 */
    ck_assert(!gov_creation_limiter_take(&l, rate, spike, t0 + 340, &retry));
    ck_assert_uint_eq(retry, 140);
    ck_assert_uint_eq(l.last_refill_seconds, t0 + 240);
    /* the hour after: 15 creations (the sustained rate) */
    uint64_t t = t0 + 240, made = 0;
    for (uint64_t s = t + 1; s <= t + 3600; s++)
        while (gov_creation_limiter_take(&l, rate, spike, s, NULL))
            made++;
    ck_assert_uint_eq(made, 15);
    /* a long pause refills up to the spike only */
    ck_assert(gov_creation_limiter_take(&l, rate, spike, t0 + 30 * 86400, &retry));
    ck_assert_uint_eq(l.available, 299);
    /* a failed creation gives its unit back, never beyond the spike */
    gov_creation_limiter_give_back(&l, spike);
    ck_assert_uint_eq(l.available, 300);
    gov_creation_limiter_give_back(&l, spike);
    ck_assert_uint_eq(l.available, 300);
}
END_TEST

START_TEST(test_creation_limiter_overrides)
{
    const uint64_t t0 = 1700000000ULL;
    gov_creation_limiter_t l;
    uint64_t retry = 0;
    /* a raised limit (genesis override): 3600 per hour = one a second, spike 5 */
    gov_creation_limiter_init(&l, 5, t0);
    for (int i = 0; i < 5; i++)
        ck_assert(gov_creation_limiter_take(&l, 3600, 5, t0, &retry));
    ck_assert(!gov_creation_limiter_take(&l, 3600, 5, t0, &retry));
    ck_assert_uint_eq(retry, 1);
    ck_assert(gov_creation_limiter_take(&l, 3600, 5, t0 + 1, &retry));
    /* above 3600 per hour the interval stays 1 s (never 0) */
    ck_assert(!gov_creation_limiter_take(&l, 100000, 5, t0 + 1, &retry));
    ck_assert_uint_eq(retry, 1);
    /* a lowered spike caps what is available */
    gov_creation_limiter_init(&l, 300, t0);
    ck_assert(gov_creation_limiter_take(&l, 15, 2, t0, &retry));
    ck_assert_uint_eq(l.available, 1);
    /* rate 0: never refills */
    gov_creation_limiter_init(&l, 1, t0);
    ck_assert(gov_creation_limiter_take(&l, 0, 1, t0, &retry));
    ck_assert(!gov_creation_limiter_take(&l, 0, 1, t0 + 1000000, &retry));
    ck_assert_uint_eq(retry, 3600);
    /* a clock that goes back takes nothing and refills nothing */
    gov_creation_limiter_init(&l, 1, t0);
    ck_assert(gov_creation_limiter_take(&l, 15, 1, t0, &retry));
    ck_assert(!gov_creation_limiter_take(&l, 15, 1, t0 - 1000, &retry));
    ck_assert_uint_eq(retry, 1240);
    ck_assert_uint_eq(l.last_refill_seconds, t0);
}
END_TEST

static Suite *governance_math_suite(void)
{
    Suite *s = suite_create("governance_math");
    TCase *v = tcase_create("vectors");
    tcase_add_checked_fixture(v, setup, teardown);
    tcase_add_test(v, test_v01_neuron_staking_subaccount);
    tcase_add_test(v, test_v02_neuron_ledger_account);
    tcase_add_test(v, test_v03_legacy_dissolve_delay_bonus);
    tcase_add_test(v, test_v04_m70_dissolve_delay_bonus);
    tcase_add_test(v, test_v05_age_bonus);
    tcase_add_test(v, test_v07_age_pro_rating);
    tcase_add_test(v, test_v08_dissolve_state);
    tcase_add_test(v, test_v09_m70_modulation);
    tcase_add_test(v, test_v10_legacy_potential_voting_power);
    tcase_add_test(v, test_v11_m70_potential_voting_power);
    tcase_add_test(v, test_v12_deciding_voting_power);
    tcase_add_test(v, test_v16_apply_maturity_modulation);
    suite_add_tcase(s, v);
    TCase *e = tcase_create("edges");
    tcase_add_checked_fixture(e, setup, teardown);
    tcase_set_timeout(e, 60);
    tcase_add_test(e, test_split_and_disburse_to_neuron_subaccounts);
    tcase_add_test(e, test_combine_aged_stakes);
    tcase_add_test(e, test_start_stop_dissolving);
    tcase_add_test(e, test_set_dissolve_timestamp);
    tcase_add_test(e, test_potential_voting_power_saturates);
    tcase_add_test(e, test_potential_voting_power_is_exact_floor);
    tcase_add_test(e, test_m70_modulation_windows_and_clamp);
    tcase_add_test(e, test_topics);
    tcase_add_test(e, test_constants);
    tcase_add_test(e, test_creation_limiter_spike_and_refill);
    tcase_add_test(e, test_creation_limiter_overrides);
    suite_add_tcase(s, e);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(governance_math_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
