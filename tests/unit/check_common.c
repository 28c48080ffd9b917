/*
 * Unit tests of the small shared pieces: hmap, replay cache, JSON wire readers, clock, config.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "hex.h"
#include "hmap.h"
#include "jsonutil.h"
#include "metrics.h"
#include "replay.h"
#include "round.h"
#include "workpool.h"

static void key_of(uint32_t i, uint8_t key[32])
{
    sha256(&i, sizeof i, key);
}

START_TEST(test_hmap_put_get_del_grow)
{
    hmap_t m;
    ck_assert(hmap_init(&m, 28, 16));
    uint8_t k[32];
    for (uint32_t i = 0; i < 5000; i++) {
        key_of(i, k);
        bool created = false;
        hval_t *v = hmap_put(&m, k, &created);
        ck_assert_ptr_nonnull(v);
        ck_assert(created);
        v->a = i;
        v->b = i * 2ULL;
    }
    ck_assert_uint_eq(m.count, 5000);
    for (uint32_t i = 0; i < 5000; i += 2) {
        key_of(i, k);
        ck_assert(hmap_del(&m, k));
    }
    ck_assert_uint_eq(m.count, 2500);
    for (uint32_t i = 0; i < 5000; i++) {
        key_of(i, k);
        hval_t *v = hmap_get(&m, k);
        if (i % 2) {
            ck_assert_ptr_nonnull(v);
            ck_assert_uint_eq(v->a, i);
            ck_assert_uint_eq(v->b, i * 2ULL);
        } else {
            ck_assert_ptr_null(v);
        }
    }
    key_of(1, k);
    bool created = true;
    ck_assert_ptr_nonnull(hmap_put(&m, k, &created));
    ck_assert(!created);
    ck_assert(!hmap_del(&m, (uint8_t[32]){0}));
    hmap_clear(&m);
    ck_assert_uint_eq(m.count, 0);
    ck_assert_ptr_null(hmap_get(&m, k));
    hmap_free(&m);
}
END_TEST

static int notified_status;
static int notified_count;
static bool notified_committed;

static void on_waiter(void *waiter, int status, const char *body, size_t len, bool committed)
{
    (void)waiter;
    (void)body;
    (void)len;
    notified_status = status;
    notified_committed = committed;
    notified_count++;
}

/* A staged answer is what a committed entry keeps, and staging an unknown or committed key
 * changes nothing; a staged entry abandoned is forgotten with its copy (ASan: no leak). */
START_TEST(test_replay_stage_then_commit)
{
    replay_cache_t *c = replay_cache_new(on_waiter);
    uint8_t k[32], other[32];
    key_of(21, k);
    key_of(22, other);
    int status;
    char *body = NULL;
    size_t len;
    ck_assert_int_eq(replay_begin(c, k, 1000, NULL, &status, &body, &len), REPLAY_NEW);
    ck_assert(replay_stage(c, k, "{\"a\":1}", 7));
    ck_assert(replay_stage(c, other, "x", 1)); /* no such entry: nothing to do */
    /* staged, not committed: an identical request still waits */
    ck_assert_int_eq(replay_begin(c, k, 1000, NULL, &status, &body, &len), REPLAY_WAITING);
    replay_commit(c, k, 200, "{\"a\":1}", 7);
    ck_assert_int_eq(replay_begin(c, k, 1000, NULL, &status, &body, &len), REPLAY_COMMITTED);
    ck_assert_str_eq(body, "{\"a\":1}");
    free(body);
    ck_assert(replay_stage(c, k, "{\"b\":2}", 7)); /* committed: left alone */
    ck_assert_int_eq(replay_begin(c, k, 1000, NULL, &status, &body, &len), REPLAY_COMMITTED);
    ck_assert_str_eq(body, "{\"a\":1}");
    free(body);
    ck_assert_int_eq(replay_begin(c, other, 1000, NULL, &status, &body, &len), REPLAY_NEW);
    ck_assert(replay_stage(c, other, "{}", 2));
    replay_abandon(c, other, 503, "", 0);
    ck_assert_int_eq(replay_begin(c, other, 1000, NULL, &status, &body, &len), REPLAY_NEW);
    replay_cache_destroy(&c);
}
END_TEST

/* The metrics builder: HELP and TYPE per family, the service label first on every sample, and
 * a text of any size whole (no fixed buffer, no truncation). */
START_TEST(test_metrics_builder)
{
    metrics_t *m = metrics_new("svc");
    ck_assert_ptr_nonnull(m);
    metrics_counter(m, "a_total", "things", 3);
    metrics_family(m, "b", "gauge", "many");
    for (int i = 0; i < 20000; i++) {
        char labels[32];
        snprintf(labels, sizeof labels, "i=\"%d\"", i);
        metrics_u64(m, "b", labels, (uint64_t)i);
    }
    size_t len = 0;
    char *text = metrics_detach(m, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(strlen(text), len);
    ck_assert(strncmp(text,
                      "# HELP a_total things\n# TYPE a_total counter\n"
                      "a_total{service=\"svc\"} 3\n",
                      70) == 0);
    ck_assert_ptr_nonnull(strstr(text, "# HELP b many\n# TYPE b gauge\n"));
    ck_assert_ptr_nonnull(strstr(text, "b{service=\"svc\",i=\"19999\"} 19999\n"));
    size_t lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    ck_assert_uint_eq(lines, 2 + 1 + 2 + 20000);
    free(text);
    size_t empty_len = 1;
    char *empty = metrics_detach(m, &empty_len); /* the builder is empty afterwards */
    ck_assert_ptr_nonnull(empty);
    ck_assert_uint_eq(empty_len, 0);
    free(empty);
    metrics_destroy(&m);
    ck_assert_ptr_null(m);
}
END_TEST

START_TEST(test_replay_cache_lifecycle)
{
    replay_cache_t *c = replay_cache_new(on_waiter);
    uint8_t k[32];
    key_of(7, k);
    int status;
    char *body = NULL;
    size_t len;
    notified_count = 0;
    ck_assert_int_eq(replay_begin(c, k, 1000, NULL, &status, &body, &len), REPLAY_NEW);
    int waiter;
    ck_assert_int_eq(replay_begin(c, k, 1000, &waiter, &status, &body, &len), REPLAY_WAITING);
    /* a caller without a waiter is told, not queued */
    ck_assert_int_eq(replay_begin(c, k, 1000, NULL, &status, &body, &len), REPLAY_WAITING);
    replay_commit(c, k, 200, "{\"block_index\":\"1\"}", 19);
    ck_assert_int_eq(notified_count, 1);
    ck_assert_int_eq(notified_status, 200);
    ck_assert(notified_committed);
    ck_assert_int_eq(replay_begin(c, k, 1000, NULL, &status, &body, &len), REPLAY_COMMITTED);
    ck_assert_int_eq(status, 200);
    ck_assert_str_eq(body, "{\"block_index\":\"1\"}");
    free(body);
    /* abandoned entries are forgotten; their waiters get the answer as not replayed */
    uint8_t k2[32];
    key_of(8, k2);
    ck_assert_int_eq(replay_begin(c, k2, 1000, NULL, &status, &body, &len), REPLAY_NEW);
    ck_assert_int_eq(replay_begin(c, k2, 1000, &waiter, &status, &body, &len), REPLAY_WAITING);
    replay_abandon(c, k2, 503, "x", 1);
    ck_assert_int_eq(notified_count, 2);
    ck_assert(!notified_committed);
    ck_assert_int_eq(replay_begin(c, k2, 1000, NULL, &status, &body, &len), REPLAY_NEW);
    /* purge drops committed entries past their expiry only */
    replay_load(c, (uint8_t[32]){1}, 500, 200, "{}", 2);
    ck_assert_uint_eq(replay_count(c), 3);
    ck_assert_uint_eq(replay_purge(c, 600), 1);
    ck_assert_uint_eq(replay_purge(c, 2000), 1); /* k; k2 is still in flight */
    ck_assert_uint_eq(replay_count(c), 1);
    replay_cache_destroy(&c);
    ck_assert_ptr_null(c);
}
END_TEST

/* 200,000 entries: every shard's table doubles several times; each key is found again, the
 * purge drops exactly the expired committed ones, and the byte count comes back to zero. */
START_TEST(test_replay_cache_many)
{
    replay_cache_t *c = replay_cache_new(on_waiter);
    enum { N = 200000 };
    int status;
    char *body = NULL;
    size_t len;
    for (uint32_t i = 0; i < N; i++) {
        uint8_t k[32] = {0};
        memcpy(k, &i, sizeof i);
        ck_assert_int_eq(replay_begin(c, k, 1000 + i % 2, NULL, &status, &body, &len), REPLAY_NEW);
        if (i % 4 != 3) /* one in four stays in flight */
            replay_commit(c, k, 200, "{}", 2);
    }
    ck_assert_uint_eq(replay_count(c), N);
    for (uint32_t i = 0; i < N; i += 997) {
        uint8_t k[32] = {0};
        memcpy(k, &i, sizeof i);
        replay_lookup_t r = replay_begin(c, k, 5000, NULL, &status, &body, &len);
        ck_assert_int_eq(r, i % 4 == 3 ? REPLAY_WAITING : REPLAY_COMMITTED);
        if (r == REPLAY_COMMITTED)
            free(body);
    }
    /* expiry 1000 (even i) is past at 1001, expiry 1001 (odd i) is not */
    ck_assert_uint_eq(replay_purge(c, 1001), N / 2);
    ck_assert_uint_eq(replay_purge(c, 1001), 0);
    ck_assert_uint_eq(replay_purge(c, 5000), N / 4); /* odd i, committed: i % 4 == 1 */
    ck_assert_uint_eq(replay_count(c), N / 4);
    for (uint32_t i = 3; i < N; i += 4) {
        uint8_t k[32] = {0};
        memcpy(k, &i, sizeof i);
        replay_abandon(c, k, 503, "x", 1);
    }
    ck_assert_uint_eq(replay_count(c), 0);
    ck_assert_uint_eq(replay_bytes(c), 0);
    replay_cache_destroy(&c);
}
END_TEST

/* Every byte: a hex digit of either case decodes to its value, anything else fails. */
START_TEST(test_hex_round_trip_and_every_byte)
{
    for (int c = 0; c < 256; c++) {
        char text[3] = {'a', (char)c, '\0'};
        uint8_t out[1];
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        long n = hex_decode(text, 2, out, sizeof out);
        ck_assert_int_eq(n, v < 0 ? -1 : 1);
        if (v >= 0)
            ck_assert_uint_eq(out[0], 0xa0 | v);
        text[0] = (char)c, text[1] = '0';
        ck_assert_int_eq(hex_decode(text, 2, out, sizeof out), v < 0 ? -1 : 1);
    }
    uint8_t bytes[256], back[256];
    char text[513];
    for (int i = 0; i < 256; i++)
        bytes[i] = (uint8_t)i;
    hex_encode(bytes, sizeof bytes, text);
    ck_assert_int_eq(hex_decode(text, 512, back, sizeof back), 256);
    ck_assert_mem_eq(bytes, back, sizeof bytes);
    ck_assert_int_eq(hex_decode(text, 511, back, sizeof back), -1); /* odd length */
    ck_assert_int_eq(hex_decode(text, 512, back, 255), -1);         /* no room */
}
END_TEST

START_TEST(test_parse_u64)
{
    uint64_t v;
    ck_assert(parse_u64("0", &v) && v == 0);
    ck_assert(parse_u64("18446744073709551615", &v) && v == UINT64_MAX);
    ck_assert(!parse_u64("18446744073709551616", &v));
    ck_assert(!parse_u64("", &v));
    ck_assert(!parse_u64("-1", &v));
    ck_assert(!parse_u64("+1", &v));
    ck_assert(!parse_u64("1.5", &v));
    ck_assert(!parse_u64(" 1", &v));
    ck_assert(!parse_u64("1e3", &v));
}
END_TEST

START_TEST(test_json_wire_rules)
{
    nns_error_t err;
    const char *text = "{\"a\":\"12\",\"n\":12,\"neg\":\"-1\",\"big\":\"99999999999999999999\","
                       "\"h\":\"0aff\",\"H\":\"0AFF\",\"u\":7,\"us\":\"7\",\"nul\":null}";
    json_t *o = json_parse_object((const uint8_t *)text, strlen(text), &err);
    ck_assert_ptr_nonnull(o);
    uint64_t v;
    bool present;
    ck_assert(json_get_u64(o, "a", true, &v, NULL, &err) && v == 12);
    ck_assert(!json_get_u64(o, "n", true, &v, NULL, &err));
    ck_assert_int_eq(err.status, 400);
    ck_assert(strstr(err.detail, "'n'") != NULL);
    ck_assert(!json_get_u64(o, "neg", true, &v, NULL, &err));
    ck_assert(!json_get_u64(o, "big", true, &v, NULL, &err));
    ck_assert(strstr(err.detail, "larger than a u64") != NULL);
    ck_assert(!json_get_u64(o, "missing", true, &v, NULL, &err));
    ck_assert(json_get_u64(o, "nul", false, &v, &present, &err) && !present);
    uint32_t u;
    ck_assert(json_get_u32(o, "u", true, &u, NULL, &err) && u == 7);
    ck_assert(json_get_u32(o, "us", true, &u, NULL, &err) && u == 7);
    uint8_t b[4];
    size_t n;
    ck_assert(json_get_hex(o, "h", true, 4, false, b, &n, NULL, &err) && n == 2 && b[1] == 0xff);
    ck_assert(!json_get_hex(o, "H", true, 4, false, b, &n, NULL, &err));
    ck_assert(!json_get_hex(o, "h", true, 1, false, b, &n, NULL, &err));
    ck_assert(!json_get_hex(o, "h", true, 4, true, b, &n, NULL, &err));
    static const char *const allowed[] = {"a", NULL};
    ck_assert(!json_only_fields(o, allowed, &err));
    json_decref(o);
    ck_assert_ptr_null(json_parse_object((const uint8_t *)"[1]", 3, &err));
    ck_assert_ptr_null(json_parse_object((const uint8_t *)"{\"a\":1,\"a\":2}", 13, &err));
    ck_assert_ptr_null(json_parse_object((const uint8_t *)"{", 1, &err));
    ck_assert_str_eq(err.code, "BadRequest");
}
END_TEST

START_TEST(test_test_clock_never_moves_backwards)
{
    ck_assert(!clock_set(5)); /* not in test mode */
    clock_use_test_clock();
    ck_assert(clock_is_test());
    uint64_t now = clock_now_nanos();
    ck_assert(clock_set(now + 1000));
    ck_assert_uint_eq(clock_now_nanos(), now + 1000);
    ck_assert(clock_set(now + 1000));
    ck_assert(!clock_set(now));
    ck_assert_uint_eq(clock_now_nanos(), now + 1000);
}
END_TEST

START_TEST(test_config_table)
{
    const char *listen = NULL;
    bool flag = true;
    int n = 0;
    const config_option_t opts[] = {
        {CONFIG_OPT("listen", OPT_STRING, &listen, "127.0.0.1:1", "where")},
        {CONFIG_OPT("flag", OPT_BOOL, &flag, NULL, "a flag")},
        {CONFIG_OPT("n", OPT_INT, &n, "3", "a number")},
        {0},
    };
    char *argv1[] = {"x", NULL};
    ck_assert_int_eq(config_parse("x", "", opts, 1, argv1), CONFIG_OK);
    ck_assert_str_eq(listen, "127.0.0.1:1");
    ck_assert(!flag);
    ck_assert_int_eq(n, 3);
    char *argv2[] = {"x", "--listen", "0:2", "--flag", "--n=9", NULL};
    ck_assert_int_eq(config_parse("x", "", opts, 5, argv2), CONFIG_OK);
    ck_assert_str_eq(listen, "0:2");
    ck_assert(flag);
    ck_assert_int_eq(n, 9);
    char *argv3[] = {"x", "--nope", NULL};
    ck_assert_int_eq(config_parse("x", "", opts, 2, argv3), CONFIG_ERROR);
    char *argv4[] = {"x", "--n", "abc", NULL};
    ck_assert_int_eq(config_parse("x", "", opts, 3, argv4), CONFIG_ERROR);
    char *argv5[] = {"x", "--listen", NULL};
    ck_assert_int_eq(config_parse("x", "", opts, 2, argv5), CONFIG_ERROR);
}
END_TEST

/* The table validates: ranges, choices and URLs are usage errors, never silent defaults. */
START_TEST(test_config_validates)
{
    static const char *const levels[] = {"debug", "info", "warn", NULL};
    const char *level = NULL, *url = NULL, *own = NULL;
    int threads = -1;
    const config_option_t shared[] = {
        {CONFIG_OPT("threads", OPT_INT, &threads, "0", "threads"), .max = 8},
        {CONFIG_OPT("log-level", OPT_CHOICE, &level, "info", "level"), .choices = levels},
        {CONFIG_OPT("ledger", OPT_URL, &url, "http://127.0.0.1:8081", "url")},
        {0},
    };
    const config_option_t mine[] = {
        {CONFIG_OPT("genesis", OPT_STRING, &own, NULL, "file")},
        {0},
    };
    char *ok[] = {
        "x",         "--threads", "8", "--log-level=warn", "--ledger", "https://l.example:1/p",
        "--genesis", "g.json",    NULL};
    ck_assert_int_eq(config_parse2("x", "", shared, mine, 8, ok), CONFIG_OK);
    ck_assert_int_eq(threads, 8);
    ck_assert_str_eq(level, "warn");
    ck_assert_str_eq(url, "https://l.example:1/p");
    ck_assert_str_eq(own, "g.json");
    char *defaults[] = {"x", NULL};
    ck_assert_int_eq(config_parse2("x", "", shared, mine, 1, defaults), CONFIG_OK);
    ck_assert_int_eq(threads, 0);
    ck_assert_str_eq(level, "info");
    ck_assert_ptr_null(own);
    char *bad[][3] = {{"x", "--threads", "9"},           {"x", "--threads", "-1"},
                      {"x", "--log-level", "verbose"},   {"x", "--log-level", "INFO"},
                      {"x", "--ledger", "ftp://host"},   {"x", "--ledger", "http://"},
                      {"x", "--ledger", "127.0.0.1:80"}, {"x", "--ledger", "http://a b"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(config_parse2("x", "", shared, mine, 3, bad[i]) == CONFIG_ERROR,
                      "%s %s accepted", bad[i][1], bad[i][2]);
    ck_assert(config_is_http_url("http://127.0.0.1:8082"));
    ck_assert_int_eq(config_exit_status(CONFIG_OK), -1);
    ck_assert_int_eq(config_exit_status(CONFIG_HELP), 0);
    ck_assert_int_eq(config_exit_status(CONFIG_ERROR), 2);
    ck_assert(!config_is_http_url("http:/x"));
}
END_TEST

/* ---- workpool ---- */

typedef struct {
    _Atomic unsigned runs[1000];
} wp_counts_t;

static void wp_count(void *ctx, size_t i)
{
    wp_counts_t *c = ctx;
    atomic_fetch_add(&c->runs[i], 1);
}

START_TEST(test_workpool_runs_every_item_once)
{
    for (unsigned threads = 0; threads <= 3; threads++) {
        workpool_t *p = workpool_new(threads);
        ck_assert_ptr_nonnull(p);
        size_t sizes[] = {0, 1, 2, 7, 1000};
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            wp_counts_t *c = calloc(1, sizeof *c);
            ck_assert_ptr_nonnull(c);
            workpool_run(p, sizes[k], wp_count, c);
            for (size_t i = 0; i < 1000; i++)
                ck_assert_uint_eq(atomic_load(&c->runs[i]), i < sizes[k] ? 1 : 0);
            free(c);
        }
        workpool_destroy(&p);
        ck_assert_ptr_null(p);
    }
    workpool_t *none = NULL;
    workpool_destroy(&none); /* safe on NULL */
}
END_TEST

typedef struct {
    workpool_t *pool;
    int rounds;
    bool ok;
} wp_caller_t;

static void *wp_caller(void *arg)
{
    wp_caller_t *w = arg;
    w->ok = true;
    for (int r = 0; r < w->rounds; r++) {
        wp_counts_t *c = calloc(1, sizeof *c);
        if (!c)
            return NULL;
        size_t n = 1 + (size_t)(r * 37) % 1000;
        workpool_run(w->pool, n, wp_count, c);
        for (size_t i = 0; i < 1000; i++)
            w->ok &= atomic_load(&c->runs[i]) == (i < n ? 1u : 0u);
        free(c);
    }
    return NULL;
}

/* Several callers at once, each with jobs of every size: every job's items run exactly once and
 * every call returns only when its own items are done. */
START_TEST(test_workpool_concurrent_callers)
{
    workpool_t *p = workpool_new(2);
    ck_assert_ptr_nonnull(p);
    pthread_t t[4];
    wp_caller_t w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (wp_caller_t){.pool = p, .rounds = 300};
        ck_assert_int_eq(pthread_create(&t[i], NULL, wp_caller, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_msg(w[i].ok, "caller %d saw an item run other than once", i);
    }
    workpool_destroy(&p);
}
END_TEST

/* A submitted function: runs a nested job of its own, as a batch does, then counts itself. */
typedef struct {
    workpool_t *pool;
    atomic_uint *done;
    bool nested_ok;
} wp_task_t;

static void wp_task(void *ctx, size_t i)
{
    wp_task_t *t = ctx;
    ck_assert_uint_eq(i, 0);
    wp_counts_t *c = calloc(1, sizeof *c);
    if (c) {
        workpool_run(t->pool, 50, wp_count, c);
        t->nested_ok = true;
        for (size_t k = 0; k < 1000; k++)
            t->nested_ok &= atomic_load(&c->runs[k]) == (k < 50 ? 1u : 0u);
        free(c);
    }
    atomic_fetch_add(t->done, 1);
}

/* Submitted functions run once each, nested jobs included, while callers run jobs of their own;
 * drain waits for all of them; after it, and in a pool without threads, submit runs the
 * function before returning. */
START_TEST(test_workpool_submit_and_drain)
{
    for (unsigned threads = 0; threads <= 2; threads++) {
        workpool_t *p = workpool_new(threads);
        ck_assert_ptr_nonnull(p);
        enum { N = 200 };
        static wp_task_t tasks[N];
        atomic_uint done = 0;
        pthread_t caller;
        wp_caller_t w = {.pool = p, .rounds = 50};
        ck_assert_int_eq(pthread_create(&caller, NULL, wp_caller, &w), 0);
        for (int i = 0; i < N; i++) {
            tasks[i] = (wp_task_t){.pool = p, .done = &done};
            workpool_submit(p, wp_task, &tasks[i]);
            if (threads == 0)
                ck_assert_uint_eq(atomic_load(&done), (unsigned)i + 1);
        }
        pthread_join(caller, NULL);
        ck_assert(w.ok);
        workpool_drain(p);
        ck_assert_uint_eq(atomic_load(&done), N);
        for (int i = 0; i < N; i++)
            ck_assert_msg(tasks[i].nested_ok, "task %d: a nested item ran other than once", i);
        wp_task_t after = {.pool = p, .done = &done};
        workpool_submit(p, wp_task, &after); /* drained: runs here */
        ck_assert_uint_eq(atomic_load(&done), N + 1);
        workpool_destroy(&p);
    }
    workpool_drain(NULL); /* safe on NULL */
}
END_TEST

/* ---- round loop ---- */

/* Records each round's size; the first round can be held at a gate so that commands queue
 * behind it. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    size_t rounds, sizes[16];
    bool hold_first, held, released;
} rl_probe_t;

static void rl_run(void *svc, round_item_t *items, size_t n)
{
    (void)items;
    rl_probe_t *p = svc;
    pthread_mutex_lock(&p->lock);
    p->held = p->hold_first && p->rounds == 0;
    pthread_cond_broadcast(&p->changed);
    while (p->held && !p->released)
        pthread_cond_wait(&p->changed, &p->lock);
    if (p->rounds < 16)
        p->sizes[p->rounds] = n;
    p->rounds++;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

/* Waits until the probe has seen at least k rounds, or 3 s (a bound far above any wait the
 * tests expect, and below Check's timeout so that a missing round fails an assertion);
 * returns the count. */
static size_t rl_wait_rounds(rl_probe_t *p, size_t k)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 3;
    pthread_mutex_lock(&p->lock);
    while (p->rounds < k && pthread_cond_timedwait(&p->changed, &p->lock, &until) == 0)
        ;
    size_t n = p->rounds;
    pthread_mutex_unlock(&p->lock);
    return n;
}

static size_t rl_rounds(rl_probe_t *p)
{
    pthread_mutex_lock(&p->lock);
    size_t n = p->rounds;
    pthread_mutex_unlock(&p->lock);
    return n;
}

/* Waits until the first round is held in rl_run. */
static void rl_wait_held(rl_probe_t *p)
{
    pthread_mutex_lock(&p->lock);
    while (!p->held)
        pthread_cond_wait(&p->changed, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

static void rl_release(rl_probe_t *p)
{
    pthread_mutex_lock(&p->lock);
    p->released = true;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

#define RL_PROBE                                                                                   \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {0}, false, false, false           \
    }

/* Commands that wait behind a round make the next round together, in arrival order up to a
 * total weight of max_batch; a heavier command still makes a round of its own. */
START_TEST(test_round_takes_waiting_commands)
{
    rl_probe_t p = RL_PROBE;
    p.hold_first = true;
    round_config_t cfg = {.run = rl_run, .max_batch = 3};
    round_loop_t *l = round_loop_new(&cfg, &p);
    ck_assert_ptr_nonnull(l);
    round_item_t items[7] = {{0}};
    ck_assert(round_submit(l, &items[0]));
    rl_wait_held(&p);
    for (int i = 1; i < 6; i++)
        ck_assert(round_submit(l, &items[i])); /* queue behind the held first round */
    items[6].weight = 5;
    ck_assert(round_submit(l, &items[6]));
    rl_release(&p);
    ck_assert_uint_eq(rl_wait_rounds(&p, 4), 4);
    ck_assert_uint_eq(p.sizes[0], 1);
    ck_assert_uint_eq(p.sizes[1], 3);
    ck_assert_uint_eq(p.sizes[2], 2);
    ck_assert_uint_eq(p.sizes[3], 1);
    round_loop_destroy(&l);
    ck_assert_ptr_null(l);
    round_loop_destroy(&l); /* safe on NULL */
}
END_TEST

/* For test_round_takes_late_commands: the first round is held until released, then takes
 * the commands that queued meanwhile (round_take), as a written round does. */
typedef struct {
    rl_probe_t probe;
    round_loop_t *_Atomic loop;
    round_item_t *late, *again;
    size_t nlate, nlate_again;
} rl_taker_t;

static void rl_run_taking(void *svc, round_item_t *items, size_t n)
{
    rl_taker_t *t = svc;
    bool first = rl_rounds(&t->probe) == 0;
    rl_run(&t->probe, items, n);
    if (!first)
        return;
    t->again = items; /* round_take must set it */
    t->nlate = round_take(atomic_load(&t->loop), n, &t->late);
    t->nlate_again = round_take(atomic_load(&t->loop), n + t->nlate, &t->again);
}

/* A round being run takes the commands that arrived since it was handed over, in arrival
 * order, as many as fit under max_batch with what it holds; the rest make the next round, and
 * the stats count the late ones with the round. */
START_TEST(test_round_takes_late_commands)
{
    rl_taker_t t = {.probe = RL_PROBE};
    t.probe.hold_first = true;
    round_config_t cfg = {.run = rl_run_taking, .max_batch = 4};
    round_loop_t *l = round_loop_new(&cfg, &t);
    ck_assert_ptr_nonnull(l);
    atomic_store(&t.loop, l);
    round_item_t items[6] = {{0}};
    ck_assert(round_submit(l, &items[0]));
    rl_wait_held(&t.probe);
    for (int i = 1; i < 6; i++)
        ck_assert(round_submit(l, &items[i])); /* arrive while the first round runs */
    rl_release(&t.probe);
    ck_assert_uint_eq(rl_wait_rounds(&t.probe, 2), 2);
    ck_assert_uint_eq(t.nlate, 3);       /* 1 held + 3 late = max_batch */
    ck_assert_uint_eq(t.nlate_again, 0); /* the round is full */
    ck_assert_ptr_null(t.again);
    ck_assert_ptr_eq(t.late, &items[1]);
    ck_assert_ptr_eq(items[1].next, &items[2]);
    ck_assert_ptr_eq(items[2].next, &items[3]);
    ck_assert_ptr_null(items[3].next);
    ck_assert_uint_eq(t.probe.sizes[1], 2); /* the rest: the next round */
    round_loop_stop(l);
    round_stats_t st;
    round_stats(l, &st);
    ck_assert_uint_eq(st.rounds, 2);
    ck_assert_uint_eq(st.items, 6);
    ck_assert_uint_eq(st.late_items, 3);
    ck_assert_uint_eq(st.max_round, 4);
    round_loop_destroy(&l);
}
END_TEST

/* A round waits for announced commands (round_expect) and takes them along as soon as they
 * are settled; without an announcement, or once a full round is waiting, it does not wait;
 * stopping ends a wait at once. gather_ms is far longer than the test, so any wait it
 * should not have made shows as a missing round. */
START_TEST(test_round_gathers_announced_commands)
{
    rl_probe_t p = RL_PROBE;
    round_config_t cfg = {.run = rl_run, .max_batch = 4, .gather_ms = 60000};
    round_loop_t *l = round_loop_new(&cfg, &p);
    ck_assert_ptr_nonnull(l);
    round_item_t items[8] = {{0}};

    /* nothing announced: each command runs at once, however recent the last round */
    ck_assert(round_submit(l, &items[0]));
    ck_assert_uint_eq(rl_wait_rounds(&p, 1), 1);
    ck_assert(round_submit(l, &items[1]));
    ck_assert_uint_eq(rl_wait_rounds(&p, 2), 2);

    /* one announced: the waiting command is held until the announced one arrives */
    round_expect(l, 1);
    ck_assert(round_submit(l, &items[2]));
    struct timespec pause = {0, 200 * 1000000L};
    nanosleep(&pause, NULL);
    ck_assert_uint_eq(rl_rounds(&p), 2);
    ck_assert(round_submit(l, &items[3]));
    round_expect(l, -1);
    ck_assert_uint_eq(rl_wait_rounds(&p, 3), 3);
    ck_assert_uint_eq(p.sizes[2], 2);

    /* still announced, but a full round is waiting: it runs */
    round_expect(l, 1);
    items[4].weight = 4;
    ck_assert(round_submit(l, &items[4]));
    ck_assert_uint_eq(rl_wait_rounds(&p, 4), 4);
    ck_assert_uint_eq(p.sizes[3], 1);

    /* still announced, gathering already: a command that fills the round ends the wait */
    ck_assert(round_submit(l, &items[5]));
    nanosleep(&pause, NULL);
    ck_assert_uint_eq(rl_rounds(&p), 4);
    items[6].weight = 3;
    ck_assert(round_submit(l, &items[6]));
    ck_assert_uint_eq(rl_wait_rounds(&p, 5), 5);
    ck_assert_uint_eq(p.sizes[4], 2);

    /* still announced, a command waiting: stopping runs it without waiting */
    ck_assert(round_submit(l, &items[7]));
    nanosleep(&pause, NULL);
    ck_assert_uint_eq(rl_rounds(&p), 5);
    round_loop_stop(l);
    ck_assert_uint_eq(rl_rounds(&p), 6);
    round_item_t late = {0};
    ck_assert(!round_submit(l, &late));

    round_stats_t st;
    round_stats(l, &st);
    ck_assert_uint_eq(st.rounds, 6);
    ck_assert_uint_eq(st.items, 8);
    ck_assert_uint_ge(st.gather_ms, 500); /* three pauses of 200 ms, less timer slack */
    round_loop_destroy(&l);
}
END_TEST

#define MS 1000000ull
/* Round pacing (round_pace_*): the next round is due when the rounds in flight are estimated
 * to end, less the time a round takes to prepare; a late reading of an outcome only ever
 * lowers the estimate; the head of the pipeline moves to the next round when one ends. */
START_TEST(test_round_pace)
{
    round_pace_t p = {0};
    /* the first round, alone: prepared in 2 ms, sent at 3 ms */
    round_pace_sent(&p, 2 * MS, 3 * MS, true);
    ck_assert_uint_eq(p.prepare_ns, 2 * MS);
    ck_assert_uint_eq(p.head_since, 3 * MS);
    ck_assert_uint_eq(round_pace_due(&p, 1), 3 * MS); /* no estimate yet: at once */
    /* the next one sent at 5 ms while the first is in flight: not the head */
    round_pace_sent(&p, 2 * MS, 5 * MS, false);
    ck_assert_uint_eq(p.head_since, 3 * MS);
    /* the first ends at 11 ms: 8 ms at the head; the second is the head from then on */
    round_pace_ended(&p, 11 * MS, true, 5 * MS);
    ck_assert_uint_eq(p.serial_ns, 8 * MS);
    ck_assert_uint_eq(p.head_since, 11 * MS);
    /* due at 11 + 8 - 2 ms with one round in flight, 11 + 2 x 8 - 2 with two */
    ck_assert_uint_eq(round_pace_due(&p, 1), 17 * MS);
    ck_assert_uint_eq(round_pace_due(&p, 2), 25 * MS);
    /* read late (the state thread was preparing a round): 20 ms is an upper bound, ignored */
    round_pace_ended(&p, 31 * MS, false, 0);
    ck_assert_uint_eq(p.serial_ns, 8 * MS);
    /* a round sent alone at 40 ms, read late at 44 ms: 4 ms lowers the estimate by a quarter
     * of the difference */
    round_pace_sent(&p, 2 * MS, 40 * MS, true);
    round_pace_ended(&p, 44 * MS, false, 0);
    ck_assert_uint_eq(p.serial_ns, 7 * MS);
    /* an exact reading raises it: 15 ms after a round sent at 50 ms */
    round_pace_sent(&p, 2 * MS, 50 * MS, true);
    round_pace_ended(&p, 65 * MS, true, 0);
    ck_assert_uint_eq(p.serial_ns, 7 * MS + 2 * MS);
    /* the next round sent after the head ended: its own time at the head starts when sent */
    round_pace_sent(&p, 2 * MS, 62 * MS, true);
    round_pace_sent(&p, 8 * MS, 70 * MS, false);
    round_pace_ended(&p, 66 * MS, true, 70 * MS);
    ck_assert_uint_eq(p.head_since, 70 * MS);
    ck_assert_uint_eq(p.serial_ns, 9 * MS - 9 * MS / 4 + 4 * MS / 4); /* 66 - 62 ms at the head */
    /* a written round takes late commands until twice their estimated time before the end */
    round_pace_late(&p, 1 * MS);
    ck_assert_uint_eq(p.late_ns, 1 * MS);
    ck_assert_uint_eq(round_pace_late_due(&p, 1), 70 * MS + p.serial_ns - 2 * MS);
    ck_assert_uint_eq(round_pace_late_due(&p, 2), 70 * MS + 2 * p.serial_ns - 2 * MS);
    round_pace_late(&p, 5 * MS);
    ck_assert_uint_eq(p.late_ns, 2 * MS);
    /* preparing takes longer than half a round at the head: due half-way, not at once */
    p.prepare_ns = 50 * MS;
    ck_assert_uint_eq(round_pace_due(&p, 1), 70 * MS + p.serial_ns / 2);
}
END_TEST

/* copybuf_reset keeps a buffer for the next use, unless a large one has been mostly idle for
 * COPYBUF_IDLE_USES uses in a row; a use that fills it again restarts the count. */
START_TEST(test_copybuf_gives_back_what_a_large_round_grew)
{
    static char chunk[4096];
    copybuf_t b = {0};
    /* a small buffer is kept however little of it is used */
    copybuf_bytea(&b, (const uint8_t *)chunk, 16);
    size_t small_cap = b.cap;
    for (int i = 0; i < 2 * COPYBUF_IDLE_USES; i++) {
        copybuf_reset(&b);
        copybuf_u64(&b, 1);
    }
    ck_assert_uint_eq(b.cap, small_cap);
    ck_assert_ptr_nonnull(b.data);
    /* a large round */
    copybuf_reset(&b);
    while (b.len < 2 * COPYBUF_KEEP)
        copybuf_bin_bytes(&b, chunk, sizeof chunk);
    ck_assert(!b.failed);
    size_t large_cap = b.cap;
    ck_assert_uint_gt(large_cap, COPYBUF_KEEP);
    /* small uses after it: freed at the reset that ends the COPYBUF_IDLE_USES-th in a row;
     * a use that fills a third of it in between starts the count again */
    copybuf_reset(&b);
    for (int i = 0; i < COPYBUF_IDLE_USES - 1; i++) {
        copybuf_u64(&b, 7);
        copybuf_reset(&b);
    }
    while (b.len < large_cap / 3)
        copybuf_bin_bytes(&b, chunk, sizeof chunk);
    copybuf_reset(&b);
    ck_assert_uint_eq(b.cap, large_cap);
    for (int i = 0; i < COPYBUF_IDLE_USES - 1; i++) {
        copybuf_u64(&b, 7);
        copybuf_reset(&b);
        ck_assert_uint_eq(b.cap, large_cap);
    }
    copybuf_u64(&b, 7);
    copybuf_reset(&b);
    ck_assert_uint_eq(b.cap, 0);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    /* and it grows again from nothing */
    copybuf_u64(&b, 42);
    ck_assert_uint_eq(b.len, 2);
    ck_assert(memcmp(b.data, "42", 2) == 0);
    copybuf_free(&b);
}
END_TEST

int main(void)
{
    if (!crypto_init())
        return EXIT_FAILURE;
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("pieces");
    tcase_add_test(tc, test_hmap_put_get_del_grow);
    tcase_add_test(tc, test_replay_cache_lifecycle);
    tcase_add_test(tc, test_replay_cache_many);
    tcase_add_test(tc, test_replay_stage_then_commit);
    tcase_add_test(tc, test_metrics_builder);
    tcase_add_test(tc, test_hex_round_trip_and_every_byte);
    tcase_add_test(tc, test_parse_u64);
    tcase_add_test(tc, test_json_wire_rules);
    tcase_add_test(tc, test_test_clock_never_moves_backwards);
    tcase_add_test(tc, test_config_table);
    tcase_add_test(tc, test_config_validates);
    tcase_add_test(tc, test_workpool_runs_every_item_once);
    tcase_add_test(tc, test_workpool_concurrent_callers);
    tcase_add_test(tc, test_workpool_submit_and_drain);
    tcase_add_test(tc, test_round_takes_waiting_commands);
    tcase_add_test(tc, test_round_takes_late_commands);
    tcase_add_test(tc, test_round_gathers_announced_commands);
    tcase_add_test(tc, test_round_pace);
    tcase_add_test(tc, test_copybuf_gives_back_what_a_large_round_grew);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
