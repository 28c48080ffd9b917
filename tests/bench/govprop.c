/*
 * govprop: governance's proposals at scale (issue 13, "Speed"), against a running nns-ledger and
 * nns-governance (both with --test-clock) that tests/bench/governance_proposals.sh starts.
 *
 *   govprop --print-gov-genesis --neurons N [--known K]
 *        governance's genesis with a following graph: neurons GENESIS_ID0 .. GENESIS_ID0+K-1 are
 *        the known neurons (10,000 ICP each, 2 years, controlled by the bench's user), neuron
 *        GENESIS_ID0+K the proposer (100 ICP, 1 year, the same controller, followed by nobody);
 *        every other neuron i has 1 ICP, a dissolve delay of 3 to 24 months ((i % 8 + 1) * 3: the
 *        3-month ones may not vote), and follows on the catch-all (0) and Governance (4): 70 %
 *        the first known neuron, 25 % one of the others, 5 % neuron i - 1 (chains).
 *   govprop --print-ledger-genesis        the ledger genesis (the bench user funded)
 *   govprop --ledger URL --governance URL --neurons N [--known K] [--proposals P] [--pid PID]
 *        P times (default 3): a Motion proposal by the proposer (the ballot snapshot), timed end
 *        to end (signed POST, answered after the round's commit), then the first known neuron's
 *        yes vote on it (the cascade through the graph), timed the same way; the RSS of PID
 *        before and after the proposals over the ballots they hold (memory per ballot). Then
 *        the day's rewards: both test clocks moved past the proposals' deadlines, the time until
 *        the reward event that settles them is there and its batches are done (GET
 *        /v1/reward-events without distribution_in_progress; the last voter credited), with the
 *        rounds committed meanwhile (/metrics nns_rounds_total) and the longest commit. Prints
 *        "govprop: ..." lines that governance_proposals.sh reads; exits non-zero when a request
 *        was refused or a result is wrong (a vote that changed no ballot, rewards not credited).
 *
 * The user is identity_from_seed(SHA-256("govprop-user")). Loopback targets only.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "benchhttp.h"
#include "crypto.h"
#include "hex.h"
#include "jsonutil.h"
#include "keyfile.h"
#include "principal.h"

#define ICP 100000000ULL
#define GENESIS_ID0 UINT64_C(1000000000000)
#define MONTH UINT64_C(2629800)
#define YEAR UINT64_C(31557600)
#define KNOWN_STAKE (10000ULL * ICP)
#define PROPOSER_STAKE (100ULL * ICP)
#define USER_E8S (1000000ULL * ICP)
#define MAX_PROPOSALS 20
#define REWARD_TIMEOUT_S 300
#define REWARD_BATCH 50000 /* GOV_REWARD_BATCH_NEURONS (services/governance/gov_reward.h) */
#define MAX_BATCHES 1024
#define METRICS_SCRAPES 20

static identity_t user;
static char user_principal[PRINCIPAL_TEXT_MAX], user_account[ACCOUNT_HEX_LEN + 1];

/* ---- one request at a time ---------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len;
} buf_t;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    buf_t *b = ctx;
    size_t len = size * n;
    char *g = realloc(b->data, b->len + len + 1);
    if (!g)
        return 0;
    memcpy(g + b->len, p, len);
    b->data = g;
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

static CURL *easy;

/* Sends method target (body: NULL for none; signed by the user when sign) to base; returns the
 * HTTP status (0: no answer), *answer the parsed JSON (NULL when not JSON), *ms the latency. */
static long request(const char *base, const char *method, const char *target, const char *body,
                    bool sign, json_t **answer, double *ms)
{
    char url[512], pk[2 * PUBLIC_KEY_DER_MAX + 1], sig[129], line[256];
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    buf_t b = {0};
    long status = 0;
    const char *payload = body ? body : "";
    if (sign && h) {
        uint64_t expiry = wall_ns() + 240ULL * 1000000000ULL;
        hex_encode(user.der, user.der_len, pk);
        identity_sign_request(&user, method, target, expiry, (const uint8_t *)payload,
                              strlen(payload), sig);
        snprintf(line, sizeof line, "X-Public-Key: %s", pk);
        h = curl_slist_append(h, line);
        snprintf(line, sizeof line, "X-Expiry: %" PRIu64, expiry);
        h = h ? curl_slist_append(h, line) : NULL;
        snprintf(line, sizeof line, "X-Signature: %s", sig);
        h = h ? curl_slist_append(h, line) : NULL;
    }
    *answer = NULL;
    if (!h)
        return 0;
    snprintf(url, sizeof url, "%s%s", base, target);
    curl_easy_reset(easy);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, 120L);
    uint64_t t0 = mono_ns();
    if (curl_easy_perform(easy) == CURLE_OK)
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (ms)
        *ms = (double)(mono_ns() - t0) / 1e6;
    curl_slist_free_all(h);
    if (b.data) {
        *answer = json_loads(b.data, 0, NULL);
        if (status != 200 && status != 0)
            fprintf(stderr, "govprop: %s %s: %ld %.400s\n", method, target, status, b.data);
    }
    free(b.data);
    return status;
}

static json_t *get(const char *base, const char *target)
{
    json_t *j;
    if (request(base, "GET", target, NULL, false, &j, NULL) != 200) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static bool u64_member(const json_t *o, const char *key, uint64_t *out)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    return json_is_string(v) && parse_u64(json_string_value(v), out);
}

/* A value of governance's /metrics text (the first sample named exactly name, with or without
 * labels), -1 when absent. */
static double metric(const char *base, const char *name)
{
    char url[256];
    buf_t b = {0};
    double v = -1;
    snprintf(url, sizeof url, "%s/metrics", base);
    curl_easy_reset(easy);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, 30L);
    if (curl_easy_perform(easy) == CURLE_OK && b.data) {
        size_t n = strlen(name);
        for (const char *p = b.data; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
            if (strncmp(p, name, n) == 0 && (p[n] == ' ' || p[n] == '{')) {
                /* name{service="governance"} value */
                const char *at = p[n] == '{' ? strchr(p + n, '}') : p + n;
                if (at && at[p[n] == '{'] == ' ')
                    v = strtod(at + (p[n] == '{') + 1, NULL);
                break;
            }
    }
    free(b.data);
    return v;
}

static long rss_kb(int pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* ---- genesis ----------------------------------------------------------------------------- */

/* The text of genesis controller c: raw bytes "gp" and c as 4 big-endian bytes. */
static void controller_text(uint32_t c, char out[PRINCIPAL_TEXT_MAX])
{
    uint8_t raw[6] = {'g',       'p', (uint8_t)(c >> 24), (uint8_t)(c >> 16), (uint8_t)(c >> 8),
                      (uint8_t)c};
    principal_t p;
    nns_error_t err;
    if (!principal_from_bytes(raw, sizeof raw, &p, &err))
        abort(); /* six bytes are always a principal */
    principal_to_text(&p, out);
}

/* The followee of ordinary neuron i (index from 0) in the graph described at the top. */
static uint64_t followee_of(uint64_t i, uint64_t known)
{
    unsigned r = (unsigned)(i % 20);
    if (r < 14 || known < 2)
        return GENESIS_ID0;
    if (r < 19)
        return GENESIS_ID0 + 1 + i % (known - 1);
    return GENESIS_ID0 + i - 1;
}

static void print_gov_genesis(uint64_t n, uint64_t known)
{
    char controller[PRINCIPAL_TEXT_MAX];
    printf("{\"rule_set\": \"current\", \"genesis_timestamp_seconds\": \"1700000000\",\n"
           " \"economics\": {\"max_sustained_neurons_per_hour\": 100000000, "
           "\"neuron_creation_spike\": 100000000},\n"
           " \"maturity_modulation_permyriad\": 0,\n \"neurons\": [\n");
    for (uint64_t i = 0; i < n; i++) {
        uint64_t id = GENESIS_ID0 + i;
        if (i <= known) {
            printf("  {\"id\": \"%" PRIu64 "\", \"controller\": \"%s\", \"memo\": \"%" PRIu64
                   "\", \"stake_e8s\": \"%llu\", \"dissolve_delay_seconds\": \"%" PRIu64
                   "\", \"visibility\": \"public\"},\n",
                   id, user_principal, i, i < known ? KNOWN_STAKE : PROPOSER_STAKE,
                   i < known ? 2 * YEAR : YEAR);
            continue;
        }
        uint64_t f = followee_of(i, known);
        controller_text((uint32_t)(i / 50), controller);
        printf("  {\"id\": \"%" PRIu64 "\", \"controller\": \"%s\", \"memo\": \"%" PRIu64
               "\", \"stake_e8s\": \"%llu\", \"dissolve_delay_seconds\": \"%" PRIu64
               "\", \"followees\": [{\"topic\": 0, \"followees\": [\"%" PRIu64
               "\"]}, {\"topic\": 4, \"followees\": [\"%" PRIu64 "\"]}]}%s\n",
               id, controller, i, ICP, (i % 8 + 1) * 3 * MONTH, f, f, i + 1 < n ? "," : "");
    }
    printf(" ]}\n");
}

/* The total the genesis mints (every stake), for the script's wait. */
static uint64_t genesis_total(uint64_t n, uint64_t known)
{
    return known * KNOWN_STAKE + PROPOSER_STAKE + (n - known - 1) * ICP;
}

/* ---- the run ----------------------------------------------------------------------------- */

/* Moves both test clocks to t (nanoseconds). */
static bool set_clocks(const char *ledger, const char *gov, uint64_t t)
{
    char body[64];
    json_t *j;
    snprintf(body, sizeof body, "{\"now_nanos\":\"%" PRIu64 "\"}", t);
    bool ok = request(ledger, "POST", "/v1/admin/time", body, false, &j, NULL) == 200;
    json_decref(j);
    ok = ok && request(gov, "POST", "/v1/admin/time", body, false, &j, NULL) == 200;
    json_decref(j);
    return ok;
}

/* The later of the wall clock and the ledger's test clock (governance's, started first, is not
 * later), in nanoseconds. */
static uint64_t clocks_now(const char *ledger)
{
    json_t *j = get(ledger, "/v1/identity");
    uint64_t t = 0, w = wall_ns();
    if (!u64_member(j, "now_nanos", &t))
        t = 0;
    json_decref(j);
    return t > w ? t : w;
}

static uint64_t maturity_of(const char *gov, uint64_t id)
{
    char target[64];
    uint64_t m = UINT64_MAX;
    snprintf(target, sizeof target, "/v1/neurons/%" PRIu64, id);
    json_t *j = get(gov, target);
    if (!u64_member(j, "maturity_e8s_equivalent", &m))
        m = UINT64_MAX;
    json_decref(j);
    return m;
}

static void print_times(const char *what, double *ms, size_t n, const char *target)
{
    qsort(ms, n, sizeof *ms, bench_cmp_double);
    printf("govprop: %s: %zu, median %.1f ms, max %.1f ms (target %s)\n", what, n, ms[n / 2],
           ms[n - 1], target);
}

static int run(const char *ledger, const char *gov, uint64_t n, uint64_t known, unsigned nprop,
               int pid)
{
    double create_ms[MAX_PROPOSALS], vote_ms[MAX_PROPOSALS];
    uint64_t ids[MAX_PROPOSALS], ballots = 0, proposer = GENESIS_ID0 + known;
    char target[128], body[512];
    json_t *j;
    int rc = 0;

    /* a /metrics scrape (the neuron totals are kept at commit: no scan of the neurons) */
    double scrape_ms[METRICS_SCRAPES];
    for (int k = 0; k < METRICS_SCRAPES; k++) {
        uint64_t s0 = mono_ns();
        if (metric(gov, "nns_governance_neurons") < 0) {
            fprintf(stderr, "govprop: /metrics has no nns_governance_neurons\n");
            return 1;
        }
        scrape_ms[k] = (double)(mono_ns() - s0) / 1e6;
    }
    print_times("a /metrics scrape", scrape_ms, METRICS_SCRAPES, "none");

    long rss0 = pid > 0 ? rss_kb(pid) : -1;
    for (unsigned p = 0; p < nprop; p++) {
        snprintf(body, sizeof body,
                 "{\"neuron_id\":\"%" PRIu64 "\",\"title\":\"Bench motion %u\",\"summary\":"
                 "\"A motion of the proposals bench\",\"action\":{\"type\":\"Motion\","
                 "\"motion_text\":\"bench %u\"}}",
                 proposer, p + 1, p + 1);
        if (request(gov, "POST", "/v1/proposals", body, true, &j, &create_ms[p]) != 200 ||
            !u64_member(j, "proposal_id", &ids[p])) {
            json_decref(j);
            fprintf(stderr, "govprop: the proposal was refused\n");
            return 1;
        }
        json_decref(j);
        snprintf(target, sizeof target, "/v1/proposals/%" PRIu64, ids[p]);
        j = get(gov, target);
        uint64_t count = 0;
        if (!u64_member(j, "ballots_count", &count) || count < n / 2) {
            fprintf(stderr, "govprop: proposal %" PRIu64 " holds %" PRIu64 " ballots\n", ids[p],
                    count);
            rc = 1;
        }
        json_decref(j);
        ballots += count;
    }
    long rss1 = pid > 0 ? rss_kb(pid) : -1;
    printf("govprop: %u proposals hold %" PRIu64 " ballots (%" PRIu64 " each) of %" PRIu64
           " neurons\n",
           nprop, ballots, ballots / nprop, n);
    print_times("proposal creation (ballot snapshot, end to end with the commit)", create_ms, nprop,
                "< 250 ms");
    if (pid > 0 && ballots > 0)
        printf("govprop: memory per ballot: %.1f bytes (RSS %ld kB -> %ld kB over %" PRIu64
               " ballots)\n",
               (double)(rss1 - rss0) * 1024.0 / (double)ballots, rss0, rss1, ballots);

    for (unsigned p = 0; p < nprop; p++) {
        snprintf(target, sizeof target, "/v1/proposals/%" PRIu64 "/votes", ids[p]);
        snprintf(body, sizeof body, "{\"neuron_id\":\"%" PRIu64 "\",\"vote\":\"yes\"}",
                 (uint64_t)GENESIS_ID0);
        if (request(gov, "POST", target, body, true, &j, &vote_ms[p]) != 200) {
            json_decref(j);
            fprintf(stderr, "govprop: the vote was refused\n");
            return 1;
        }
        json_decref(j);
        /* the cascade reached the followers: a follower of the first known neuron voted yes */
        snprintf(target, sizeof target, "/v1/proposals/%" PRIu64 "/ballots?vote=yes&limit=100",
                 ids[p]);
        j = get(gov, target);
        size_t yes = json_array_size(json_object_get(j, "ballots"));
        json_decref(j);
        if (yes < 100) {
            fprintf(stderr, "govprop: proposal %" PRIu64 ": %zu yes ballots after the vote\n",
                    ids[p], yes);
            rc = 1;
        }
    }
    snprintf(target, sizeof target, "/v1/proposals/%" PRIu64, ids[0]);
    j = get(gov, target);
    json_t *tally = json_object_get(j, "latest_tally");
    printf("govprop: after the vote: proposal %" PRIu64 " %s, tally yes %s no %s total %s\n",
           ids[0], json_string_value(json_object_get(j, "status")),
           json_string_value(json_object_get(tally, "yes")),
           json_string_value(json_object_get(tally, "no")),
           json_string_value(json_object_get(tally, "total")));
    json_decref(j);
    print_times("one vote cascading (end to end with the commit)", vote_ms, nprop, "< 250 ms");

    /* the day's rewards: a day past the deadlines (4 days), so that a day boundary lies between
     * the deadlines and the clock: the reward event there settles the proposals */
    uint64_t last = n - 1; /* the highest index that voted: eligible (not 3 months) and a */
    while (last > known && (last % 8 == 0 || last % 20 >= 14))
        last--; /* follower of the first known neuron */
    uint64_t m0 = maturity_of(gov, GENESIS_ID0 + last);
    double rounds0 = metric(gov, "nns_rounds_total");
    uint64_t t = clocks_now(ledger) + 5ULL * 86400 * 1000000000ULL + 3600ULL * 1000000000ULL;
    uint64_t w0 = mono_ns();
    if (!set_clocks(ledger, gov, t)) {
        fprintf(stderr, "govprop: cannot move the test clocks\n");
        return 1;
    }
    /* each poll notes when neurons_credited (distribution_in_progress) moved: the time between
     * two moves over the batches they cover is the time of a batch's round, end to end (the
     * round, its commit and the next tick command queued at once) */
    double event_s = -1, step_s = -1, round_ms[MAX_BATCHES];
    size_t nrounds = 0, last_credited = 0, total = 0;
    uint64_t m1 = m0;
    bool done = false;
    while (!done && (double)(mono_ns() - w0) / 1e9 < REWARD_TIMEOUT_S) {
        j = get(gov, "/v1/reward-events?limit=1");
        double at_s = (double)(mono_ns() - w0) / 1e9;
        json_t *ev = json_array_get(json_object_get(j, "reward_events"), 0);
        const json_t *progress = json_object_get(j, "distribution_in_progress");
        if (event_s < 0 && json_array_size(json_object_get(ev, "settled_proposals")) >= nprop)
            event_s = step_s = at_s;
        /* the batches are done when the answer no longer says distribution_in_progress */
        done = event_s >= 0 && !progress;
        size_t credited = last_credited;
        if (progress) {
            credited = (size_t)json_integer_value(json_object_get(progress, "neurons_credited"));
            total = (size_t)json_integer_value(json_object_get(progress, "neurons_total"));
        } else if (done) {
            credited = total ? total : last_credited + REWARD_BATCH;
        }
        if (event_s >= 0 && credited > last_credited) {
            size_t covered = (credited - last_credited + REWARD_BATCH - 1) / REWARD_BATCH;
            for (size_t k = 0; k < covered && nrounds < MAX_BATCHES; k++)
                round_ms[nrounds++] = (at_s - step_s) * 1e3 / (double)covered;
            last_credited = credited;
            step_s = at_s;
        }
        json_decref(j);
        if (!done)
            usleep(2000);
    }
    double all_s = (double)(mono_ns() - w0) / 1e9;
    double rounds = metric(gov, "nns_rounds_total") - rounds0;
    m1 = maturity_of(gov, GENESIS_ID0 + last);
    if (!done || m1 == m0 || m1 == UINT64_MAX) {
        fprintf(stderr,
                "govprop: no reward event settling the proposals, or neuron %" PRIu64
                " not credited, after %d s\n",
                GENESIS_ID0 + last, REWARD_TIMEOUT_S);
        return 1;
    }
    printf("govprop: the day's rewards: event after %.2f s, every batch credited after %.2f s "
           "(wall, from the clocks' move, with the ledger's supply read), %.0f rounds committed "
           "meanwhile; longest commit so far %.1f ms\n",
           event_s, all_s, rounds, metric(gov, "nns_commit_seconds_max") * 1e3);
    if (nrounds)
        print_times("reward batch rounds over HTTP (between two credited batches, polled)",
                    round_ms, nrounds, "< 250 ms");
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: govprop --print-gov-genesis --neurons N [--known K]\n"
                    "       govprop --print-ledger-genesis\n"
                    "       govprop --print-genesis-total --neurons N [--known K]\n"
                    "       govprop --ledger URL --governance URL --neurons N [--known K]\n"
                    "               [--proposals P] [--pid PID]\n"
                    "governance's proposals at scale (tests/bench/governance_proposals.sh)\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *ledger = NULL, *gov = NULL;
    uint64_t neurons = 0, known = 5, proposals = 3, pid = 0;
    int mode = 0;
    enum { O_GOV_GENESIS = 1, O_LEDGER_GENESIS, O_TOTAL, O_LEDGER, O_GOV, O_N, O_K, O_P, O_PID };
    static const struct option opts[] = {
        {"print-gov-genesis", no_argument, NULL, O_GOV_GENESIS},
        {"print-ledger-genesis", no_argument, NULL, O_LEDGER_GENESIS},
        {"print-genesis-total", no_argument, NULL, O_TOTAL},
        {"ledger", required_argument, NULL, O_LEDGER},
        {"governance", required_argument, NULL, O_GOV},
        {"neurons", required_argument, NULL, O_N},
        {"known", required_argument, NULL, O_K},
        {"proposals", required_argument, NULL, O_P},
        {"pid", required_argument, NULL, O_PID},
        {NULL, 0, NULL, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        uint64_t v = 0;
        switch (o) {
        case O_GOV_GENESIS:
        case O_LEDGER_GENESIS:
        case O_TOTAL:
            mode = o;
            break;
        case O_LEDGER:
            ledger = optarg;
            break;
        case O_GOV:
            gov = optarg;
            break;
        case O_N:
        case O_K:
        case O_P:
        case O_PID:
            if (!parse_u64(optarg, &v) || v > 100000000)
                return usage();
            *(o == O_N ? &neurons : o == O_K ? &known : o == O_P ? &proposals : &pid) = v;
            break;
        default:
            return usage();
        }
    }
    if (optind != argc || known == 0 || proposals == 0 || proposals > MAX_PROPOSALS ||
        (mode != O_LEDGER_GENESIS && neurons < known + 100))
        return usage();
    if (!crypto_init()) {
        fprintf(stderr, "govprop: cannot initialise libsodium\n");
        return 1;
    }
    uint8_t seed[32];
    account_id_t aid;
    sha256("govprop-user", strlen("govprop-user"), seed);
    identity_from_seed(seed, &user);
    principal_to_text(&user.principal, user_principal);
    account_id_of(&user.principal, NULL, &aid);
    account_id_to_hex(&aid, user_account);
    if (mode == O_GOV_GENESIS) {
        print_gov_genesis(neurons, known);
        return 0;
    }
    if (mode == O_TOTAL) {
        printf("%" PRIu64 "\n", genesis_total(neurons, known));
        return 0;
    }
    if (mode == O_LEDGER_GENESIS) {
        printf("{\"initial_balances\": [{\"account\": \"%s\", \"amount_e8s\": \"%llu\"}], "
               "\"fee_e8s\": \"10000\", \"token_symbol\": \"ICP\", \"token_name\": \"Internet "
               "Computer\"}\n",
               user_account, USER_E8S);
        return 0;
    }
    if (!ledger || !gov)
        return usage();
    if (strncmp(ledger, "http://127.0.0.1:", 17) != 0 ||
        strncmp(gov, "http://127.0.0.1:", 17) != 0) {
        fprintf(stderr, "govprop: loopback targets only\n");
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(easy = curl_easy_init()))
        return 1;
    int rc = run(ledger, gov, neurons, known, (unsigned)proposals, (int)pid);
    curl_easy_cleanup(easy);
    curl_global_cleanup();
    sodium_memzero(&user, sizeof user);
    return rc;
}
