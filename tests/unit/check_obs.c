/*
 * Observability of the common layer: log storms counted not written, the request context of
 * http_log_*, the access log, the HTTP server's metrics by route, its readiness flag and the
 * status of its start-up errors. The HTTP cases run a real server on a loopback port and talk
 * to it with libcurl.
 */
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "metrics.h"

/* ---- helpers ---- */

static _Atomic uint64_t fake_now;

static uint64_t fake_clock(void)
{
    return atomic_load(&fake_now);
}

/* A temporary file the log (or the access log) writes to; its text is read back whole. */
typedef struct {
    char path[64];
    int fd;
} capture_t;

static void capture_open(capture_t *c)
{
    snprintf(c->path, sizeof c->path, "/tmp/nns-check-obs.XXXXXX");
    c->fd = mkstemp(c->path);
    ck_assert_int_ge(c->fd, 0);
}

static char *capture_text(const capture_t *c)
{
    FILE *f = fopen(c->path, "r");
    ck_assert_ptr_nonnull(f);
    char *text = calloc(1, 1 << 20);
    ck_assert_ptr_nonnull(text);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void capture_close(capture_t *c)
{
    close(c->fd);
    unlink(c->path);
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

static size_t count_substr(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Starts capturing the log at debug level with the fake clock at t. */
static void log_capture(capture_t *c, uint64_t t)
{
    capture_open(c);
    log_init("test", LOG_DEBUG);
    log_set_output(c->fd);
    atomic_store(&fake_now, t);
    log_set_clock(fake_clock);
}

static void log_release(capture_t *c)
{
    log_set_output(STDERR_FILENO);
    log_set_clock(NULL);
    capture_close(c);
}

/* ---- log ---- */

START_TEST(test_log_storm_is_counted_not_written)
{
    capture_t c = {0};
    log_capture(&c, 1000000000ull);
    for (int i = 0; i < 1000; i++)
        log_warn("request %d failed: %s", i, "database unreachable");
    char *text = capture_text(&c);
    ck_assert_uint_eq(count_lines(text), 1);
    ck_assert_ptr_nonnull(strstr(text, " test warn: request 0 failed: database unreachable\n"));
    free(text);

    /* info lines are never held back, and a line of another format is written */
    log_info("progress %d", 1);
    log_info("progress %d", 2);
    log_error("another failure %d", 7);
    text = capture_text(&c);
    ck_assert_uint_eq(count_lines(text), 4);
    free(text);

    /* a second later the storm goes on: one line carries the count of the second before */
    atomic_fetch_add(&fake_now, 1000000001ull);
    for (int i = 1000; i < 1500; i++)
        log_warn("request %d failed: %s", i, "database unreachable");
    text = capture_text(&c);
    ck_assert_uint_eq(count_lines(text), 5);
    ck_assert_ptr_nonnull(strstr(text, "request 1000 failed: database unreachable (999 more like "
                                       "this in the last second)\n"));
    free(text);

    /* the storm ends; within its second a flush writes nothing, after it the count */
    log_flush();
    text = capture_text(&c);
    ck_assert_uint_eq(count_lines(text), 5);
    free(text);
    atomic_fetch_add(&fake_now, 2000000000ull);
    log_flush();
    text = capture_text(&c);
    ck_assert_uint_eq(count_lines(text), 6);
    ck_assert_ptr_nonnull(strstr(text, "request 1000 failed: database unreachable (499 more like "
                                       "this in the last second)\n"));
    log_flush(); /* nothing left to report */
    free(text);
    text = capture_text(&c);
    ck_assert_uint_eq(count_lines(text), 6);
    free(text);
    log_release(&c);
}
END_TEST

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-security"
START_TEST(test_log_storm_matches_format_text)
{
    /* two copies of one format at different addresses (two translation units need not share
     * a literal) are one storm */
    char a[] = "cannot reach '%s'", b[] = "cannot reach '%s'";
    capture_t c = {0};
    log_capture(&c, 5);
    log_warn(a, "db");
    log_warn(b, "db");
    log_write(LOG_WARN, a, "db");
    char *text = capture_text(&c);
    ck_assert_uint_eq(count_lines(text), 1);
    free(text);
    /* a later line of any kind reports the storm once its second is over */
    atomic_fetch_add(&fake_now, 1000000000ull);
    log_debug("tick");
    text = capture_text(&c);
    ck_assert_uint_eq(count_lines(text), 3);
    ck_assert_ptr_nonnull(strstr(text, "cannot reach 'db' (2 more like this in the last second)\n"
                                       "2"));
    free(text);
    log_release(&c);
}
END_TEST
#pragma GCC diagnostic pop

START_TEST(test_log_one_line_per_call_and_many_formats)
{
    capture_t c = {0};
    log_capture(&c, 5);
    log_warn("path '%s' refused", "/v1/x\nfake 2026 line\r");
    /* more distinct formats than storm slots: each first line is written */
    log_error("f0 %d", 0), log_error("f1 %d", 1), log_error("f2 %d", 2);
    log_error("f3 %d", 3), log_error("f4 %d", 4), log_error("f5 %d", 5);
    log_error("f6 %d", 6), log_error("f7 %d", 7), log_error("f8 %d", 8);
    log_error("f9 %d", 9), log_error("fa %d", 10), log_error("fb %d", 11);
    log_error("fc %d", 12), log_error("fd %d", 13), log_error("fe %d", 14);
    log_error("ff %d", 15), log_error("fg %d", 16), log_error("fh %d", 17);
    char *text = capture_text(&c);
    ck_assert_uint_eq(count_lines(text), 19);
    ck_assert_ptr_nonnull(strstr(text, "path '/v1/x?fake 2026 line?' refused\n"));
    free(text);
    /* a line longer than the line buffer is cut, still one line */
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    log_info("big %s", big);
    text = capture_text(&c);
    ck_assert_uint_eq(count_lines(text), 20);
    free(text);
    log_release(&c);
}
END_TEST

enum { LOG_THREADS = 4, LOG_PER_THREAD = 2000 };

static void *storm_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < LOG_PER_THREAD; i++) {
        log_warn("shared storm %d", i);
        log_flush(); /* nothing due (the clock stands still), but it takes the lock */
    }
    return NULL;
}

START_TEST(test_log_storm_from_many_threads)
{
    capture_t c = {0};
    log_capture(&c, 5);
    pthread_t t[LOG_THREADS];
    for (int i = 0; i < LOG_THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, storm_thread, NULL), 0);
    for (int i = 0; i < LOG_THREADS; i++)
        pthread_join(t[i], NULL);
    atomic_fetch_add(&fake_now, 1000000000ull);
    log_flush();
    char *text = capture_text(&c);
    ck_assert_uint_eq(count_lines(text), 2);
    char want[80];
    snprintf(want, sizeof want, "(%d more like this in the last second)\n",
             LOG_THREADS * LOG_PER_THREAD - 1);
    ck_assert_msg(strstr(text, want) != NULL, "no '%s' in:\n%s", want, text);
    free(text);
    log_release(&c);
}
END_TEST

/* ---- http ---- */

/* A loopback port nothing listens on right now. */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(s, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

static void answer_thing(http_request_t *req, void *app)
{
    (void)app;
    http_respond_json(req, 200, json_pack("{s:s}", "id", http_param(req, 0)));
}

static void answer_boom(http_request_t *req, void *app)
{
    (void)app;
    nns_error_t err;
    nns_error_set(&err, 503, "Unavailable", "database unreachable");
    http_respond_error(req, &err);
}

static void answer_metrics(http_request_t *req, void *app)
{
    http_server_t *srv = *(http_server_t **)app;
    metrics_t *m = metrics_new("test");
    ck_assert_ptr_nonnull(m);
    http_server_metrics(srv, m);
    size_t len = 0;
    char *text = metrics_detach(m, &len);
    metrics_destroy(&m);
    ck_assert_ptr_nonnull(text);
    http_respond_raw(req, 200, "text/plain; version=0.0.4", text, len);
    free(text);
}

static const http_route_t ROUTES[] = {
    {"GET", "/v1/things/{}", answer_thing, 0},
    {"POST", "/v1/things/{}", answer_thing, HTTP_WRITE},
    {"GET", "/boom", answer_boom, 0},
    {"GET", "/metrics", answer_metrics, HTTP_ANYTIME},
    {0},
};

typedef struct {
    char *data;
    size_t len;
} body_t;

static size_t on_body(char *ptr, size_t size, size_t n, void *userdata)
{
    body_t *b = userdata;
    char *d = realloc(b->data, b->len + size * n + 1);
    ck_assert_ptr_nonnull(d);
    memcpy(d + b->len, ptr, size * n);
    b->len += size * n;
    d[b->len] = '\0';
    b->data = d;
    return size * n;
}

/* method path on port: returns the status; *body (if given) gets the body (malloc'd). */
static long request(int port, const char *method, const char *path, char **body)
{
    CURL *h = curl_easy_init();
    ck_assert_ptr_nonnull(h);
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    body_t b = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "{}");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    ck_assert_int_eq(curl_easy_perform(h), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (body)
        *body = b.data ? b.data : strdup("");
    else
        free(b.data);
    return status;
}

static http_server_t *start(int port, const char *access_log, http_server_t **slot)
{
    char listen[32];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    http_config_t cfg = {
        .listen = listen, .threads = 2, .service = "test", .access_log = access_log};
    nns_error_t err;
    nns_error_clear(&err);
    *slot = http_server_new(&cfg, ROUTES, slot, &err);
    ck_assert_msg(*slot != NULL, "server: %s", err.detail);
    http_server_set_ready(*slot, true);
    return *slot;
}

/* The value of the sample named exactly series, or -1. */
static long long metric(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtoll(p + n + 1, NULL, 10);
    return -1;
}

START_TEST(test_http_start_errors_are_unavailable_503)
{
    nns_error_t err;
    http_server_t *srv;
    http_config_t cfg = {.listen = "no-port-here", .service = "test"};
    srv = http_server_new(&cfg, ROUTES, NULL, &err);
    ck_assert_ptr_null(srv);
    ck_assert_int_eq(err.status, 503);
    ck_assert_str_eq(err.code, "Unavailable");

    /* the port is taken */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(s, 1), 0);
    socklen_t len = sizeof a;
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ntohs(a.sin_port));
    cfg.listen = addr;
    srv = http_server_new(&cfg, ROUTES, NULL, &err);
    close(s);
    ck_assert_ptr_null(srv);
    ck_assert_int_eq(err.status, 503);
    ck_assert_str_eq(err.code, "Unavailable");

    /* the access log cannot be opened */
    snprintf(addr, sizeof addr, "127.0.0.1:%d", free_port());
    cfg.access_log = "/nonexistent-dir/access.log";
    srv = http_server_new(&cfg, ROUTES, NULL, &err);
    ck_assert_ptr_null(srv);
    ck_assert_int_eq(err.status, 503);
    ck_assert_msg(strstr(err.detail, "/nonexistent-dir/access.log") != NULL, "%s", err.detail);
}
END_TEST

START_TEST(test_http_readiness_is_one_flag)
{
    int port = free_port();
    http_server_t *srv;
    start(port, NULL, &srv);
    ck_assert(http_server_is_ready(srv));
    ck_assert_int_eq(request(port, "GET", "/v1/things/1", NULL), 200);
    http_server_set_ready(srv, false);
    ck_assert(!http_server_is_ready(srv));
    ck_assert_int_eq(request(port, "GET", "/v1/things/1", NULL), 503);
    ck_assert_int_eq(request(port, "GET", "/metrics", NULL), 200); /* HTTP_ANYTIME */
    http_server_destroy(&srv);
    ck_assert_ptr_null(srv);
}
END_TEST

START_TEST(test_http_access_log_line_per_request)
{
    capture_t access = {0}, logc = {0};
    capture_open(&access);
    log_capture(&logc, 5);
    int port = free_port();
    http_server_t *srv;
    start(port, access.path, &srv);
    ck_assert_int_eq(request(port, "GET", "/v1/things/42?x=%22a%20b%22", NULL), 200);
    ck_assert_int_eq(request(port, "GET", "/nope", NULL), 404);
    ck_assert_int_eq(request(port, "POST", "/v1/things/42", NULL), 200);
    ck_assert_int_eq(request(port, "GET", "/boom", NULL), 503);
    http_server_destroy(&srv);
    char *text = capture_text(&access);
    ck_assert_msg(count_lines(text) == 4, "access log:\n%s", text);
    ck_assert_msg(strstr(text, " req=1 peer=127.0.0.1:") != NULL, "%s", text);
    ck_assert_msg(strstr(text, " method=GET target=/v1/things/42?x=%22a%20b%22 status=200 "
                               "bytes=11 ms=") != NULL,
                  "%s", text);
    ck_assert_msg(strstr(text, " method=GET target=/nope status=404 ") != NULL, "%s", text);
    ck_assert_msg(strstr(text, " method=POST target=/v1/things/42 status=200 ") != NULL, "%s",
                  text);
    ck_assert_uint_eq(count_substr(text, " replayed=false\n"), 4);
    ck_assert_uint_eq(count_substr(text, "time="), 4);
    free(text);

    /* the 503 is logged once, naming the request */
    text = capture_text(&logc);
    ck_assert_msg(count_substr(text, "warn: req=4 GET /boom peer=127.0.0.1:") == 1, "%s", text);
    ck_assert_msg(strstr(text, ": answered 503 Unavailable: database unreachable\n") != NULL, "%s",
                  text);
    ck_assert_uint_eq(count_substr(text, "answered 503"), 1);
    free(text);
    log_release(&logc);
    capture_close(&access);
}
END_TEST

START_TEST(test_http_error_storm_is_a_few_lines)
{
    capture_t c = {0};
    log_capture(&c, 5);
    int port = free_port();
    http_server_t *srv;
    start(port, NULL, &srv);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(request(port, "GET", "/boom", NULL), 503);
    atomic_fetch_add(&fake_now, 1000000000ull);
    log_flush();
    http_server_destroy(&srv);
    char *text = capture_text(&c);
    ck_assert_uint_eq(count_substr(text, "answered 503"), 2);
    ck_assert_msg(strstr(text, "(199 more like this in the last second)\n") != NULL, "%s", text);
    free(text);
    log_release(&c);
}
END_TEST

START_TEST(test_http_metrics_by_route)
{
    int port = free_port();
    http_server_t *srv;
    start(port, NULL, &srv);
    ck_assert_int_eq(request(port, "GET", "/v1/things/1", NULL), 200);
    ck_assert_int_eq(request(port, "GET", "/v1/things/2", NULL), 200);
    ck_assert_int_eq(request(port, "POST", "/v1/things/2", NULL), 200);
    ck_assert_int_eq(request(port, "GET", "/nope", NULL), 404);
    ck_assert_int_eq(request(port, "BREW", "/nope", NULL), 404);
    ck_assert_int_eq(request(port, "PUT", "/v1/things/2", NULL), 405);
    char *text = NULL;
    ck_assert_int_eq(request(port, "GET", "/metrics", &text), 200);
    http_server_destroy(&srv);

    ck_assert_int_eq(metric(text, "nns_http_requests_total{service=\"test\",method=\"GET\","
                                  "route=\"/v1/things/{}\",class=\"2xx\"}"),
                     2);
    ck_assert_int_eq(metric(text, "nns_http_requests_total{service=\"test\",method=\"POST\","
                                  "route=\"/v1/things/{}\",class=\"2xx\"}"),
                     1);
    ck_assert_int_eq(metric(text, "nns_http_requests_total{service=\"test\",method=\"GET\","
                                  "route=\"/boom\",class=\"5xx\"}"),
                     0);
    ck_assert_int_eq(metric(text, "nns_http_requests_total{service=\"test\",method=\"GET\","
                                  "route=\"unmatched\",class=\"4xx\"}"),
                     1);
    ck_assert_int_eq(metric(text, "nns_http_requests_total{service=\"test\",method=\"other\","
                                  "route=\"unmatched\",class=\"4xx\"}"),
                     1);
    ck_assert_int_eq(metric(text, "nns_http_requests_total{service=\"test\",method=\"PUT\","
                                  "route=\"unmatched\",class=\"4xx\"}"),
                     1);
    ck_assert_int_eq(metric(text, "nns_http_request_seconds_count{service=\"test\",method=\"GET\","
                                  "route=\"/v1/things/{}\"}"),
                     2);
    ck_assert_int_eq(metric(text, "nns_http_request_seconds_bucket{service=\"test\",method=\"GET\","
                                  "route=\"/v1/things/{}\",le=\"+Inf\"}"),
                     2);
    ck_assert_int_eq(metric(text, "nns_http_replayed_total{service=\"test\"}"), 0);
    ck_assert_int_eq(metric(text, "nns_replay_cache_entries{service=\"test\"}"), 0);

    /* every sample names its family's HELP and TYPE first and carries the service label */
    char family[128] = "";
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "# HELP ", 7) == 0) {
            snprintf(family, sizeof family, "%.*s", (int)strcspn(line + 7, " "), line + 7);
            continue;
        }
        if (line[0] == '#') {
            char want[160];
            snprintf(want, sizeof want, "# TYPE %s ", family);
            ck_assert_msg(strncmp(line, want, strlen(want)) == 0, "'%s' after HELP of '%s'", line,
                          family);
            continue;
        }
        ck_assert_msg(family[0] && strncmp(line, family, strlen(family)) == 0,
                      "sample '%s' outside its family '%s'", line, family);
        ck_assert_msg(strstr(line, "{service=\"test\"") != NULL, "no service label: '%s'", line);
    }
    free(text);
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    Suite *s = suite_create("obs");
    TCase *tc = tcase_create("log");
    tcase_add_test(tc, test_log_storm_is_counted_not_written);
    tcase_add_test(tc, test_log_storm_matches_format_text);
    tcase_add_test(tc, test_log_one_line_per_call_and_many_formats);
    tcase_add_test(tc, test_log_storm_from_many_threads);
    suite_add_tcase(s, tc);
    tc = tcase_create("http");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_http_start_errors_are_unavailable_503);
    tcase_add_test(tc, test_http_readiness_is_one_flag);
    tcase_add_test(tc, test_http_access_log_line_per_request);
    tcase_add_test(tc, test_http_error_storm_is_a_few_lines);
    tcase_add_test(tc, test_http_metrics_by_route);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
