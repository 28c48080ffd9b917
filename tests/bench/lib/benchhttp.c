#include "benchhttp.h"

#include <dirent.h>
#include <inttypes.h>
#include <netdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "hex.h"
#include "jsonutil.h"

uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void user_init(user_t *u, const char *prefix, unsigned i)
{
    char text[48];
    uint8_t seed[32];
    int n = snprintf(text, sizeof text, "%s-%u", prefix, i);
    sha256(text, (size_t)n, seed);
    identity_from_seed(seed, &u->id);
    principal_to_text(&u->id.principal, u->principal);
    account_id_t a;
    account_id_of(&u->id.principal, NULL, &a);
    account_id_to_hex(&a, u->account);
}

/* Signs r as u (expiry: the wall clock + 4 minutes, under the 5-minute bound, so a run of a few
 * minutes keeps its requests valid) and
 * builds its header list. Returns false when out of memory. */
bool sign_req(req_t *r, const user_t *u)
{
    char pk[2 * PUBLIC_KEY_DER_MAX + 1], sig[129], line[256];
    uint64_t expiry = wall_ns() + 240ULL * 1000000000ULL;
    hex_encode(u->id.der, u->id.der_len, pk);
    identity_sign_request(&u->id, r->method, r->target, expiry, (const uint8_t *)r->body,
                          strlen(r->body), sig);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    snprintf(line, sizeof line, "X-Public-Key: %s", pk);
    h = h ? curl_slist_append(h, line) : NULL;
    snprintf(line, sizeof line, "X-Expiry: %" PRIu64, expiry);
    h = h ? curl_slist_append(h, line) : NULL;
    snprintf(line, sizeof line, "X-Signature: %s", sig);
    h = h ? curl_slist_append(h, line) : NULL;
    r->headers = h;
    return h != NULL;
}

size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    req_t *r = ctx;
    size_t len = size * n;
    char *g = realloc(r->answer, r->answer_len + len + 1);
    if (!g)
        return 0;
    memcpy(g + r->answer_len, p, len);
    r->answer = g;
    r->answer_len += len;
    r->answer[r->answer_len] = '\0';
    return len;
}

void req_free(req_t *r)
{
    free(r->body);
    free(r->answer);
    curl_slist_free_all(r->headers);
    memset(r, 0, sizeof *r);
}

/* Sends every request of reqs to base over at most conns keep-alive connections, one request
 * outstanding per connection; fills status, answer and latency. Returns false on a curl setup
 * failure (a request that got no answer has status 0). */
bool run_all(const char *base, req_t *reqs, size_t n, unsigned conns)
{
    CURLM *m = curl_multi_init();
    CURL **easy = calloc(conns, sizeof *easy);
    size_t *slot = calloc(conns, sizeof *slot);
    uint64_t *started = calloc(conns, sizeof *started);
    bool ok = m && easy && slot && started;
    if (ok) {
        curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conns);
        curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)conns);
    }
    for (unsigned i = 0; ok && i < conns; i++)
        ok = (easy[i] = curl_easy_init()) != NULL;
    size_t next = 0, done = 0;
    char url[512];
    /* start: hands request k to connection c */
#define START(c)                                                                                   \
    do {                                                                                           \
        req_t *r_ = &reqs[next];                                                                   \
        snprintf(url, sizeof url, "%s%s", base, r_->target);                                       \
        curl_easy_setopt(easy[c], CURLOPT_URL, url);                                               \
        curl_easy_setopt(easy[c], CURLOPT_CUSTOMREQUEST, r_->method);                              \
        curl_easy_setopt(easy[c], CURLOPT_POSTFIELDS, r_->body);                                   \
        curl_easy_setopt(easy[c], CURLOPT_POSTFIELDSIZE, (long)strlen(r_->body));                  \
        curl_easy_setopt(easy[c], CURLOPT_HTTPHEADER, r_->headers);                                \
        curl_easy_setopt(easy[c], CURLOPT_WRITEFUNCTION, on_data);                                 \
        curl_easy_setopt(easy[c], CURLOPT_WRITEDATA, r_);                                          \
        curl_easy_setopt(easy[c], CURLOPT_TIMEOUT, 60L);                                           \
        curl_easy_setopt(easy[c], CURLOPT_PRIVATE, (void *)(uintptr_t)(c));                        \
        slot[c] = next++;                                                                          \
        started[c] = mono_ns();                                                                    \
        curl_multi_add_handle(m, easy[c]);                                                         \
    } while (0)
    for (unsigned c = 0; ok && c < conns && next < n; c++)
        START(c);
    while (ok && done < n) {
        int running = 0, numfds = 0;
        if (curl_multi_perform(m, &running) != CURLM_OK) {
            ok = false;
            break;
        }
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            void *priv = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
            unsigned c = (unsigned)(uintptr_t)priv;
            req_t *r = &reqs[slot[c]];
            r->status = 0;
            if (msg->data.result == CURLE_OK)
                curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &r->status);
            r->seconds = (double)(mono_ns() - started[c]) / 1e9;
            curl_multi_remove_handle(m, msg->easy_handle);
            done++;
            if (next < n)
                START(c);
        }
        if (done < n)
            curl_multi_poll(m, NULL, 0, 100, &numfds);
    }
#undef START
    for (unsigned i = 0; easy && i < conns; i++)
        if (easy[i])
            curl_easy_cleanup(easy[i]);
    if (m)
        curl_multi_cleanup(m);
    free(easy);
    free(slot);
    free(started);
    return ok;
}

/* One request, sent alone; true when it answered 200. */
bool run_one(const char *base, req_t *r)
{
    return run_all(base, r, 1, 1) && r->status == 200;
}

/* GET base+target; the answer parsed (NULL on failure). */
json_t *get_json(const char *base, const char *target)
{
    req_t r = {.method = "GET", .body = strdup("")};
    snprintf(r.target, sizeof r.target, "%s", target);
    json_t *out = NULL;
    if (r.body && run_one(base, &r) && r.answer)
        out = json_loads(r.answer, 0, NULL);
    req_free(&r);
    return out;
}

bool json_u64_member(json_t *o, const char *key, uint64_t *out)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && parse_u64(s, out);
}

/* host:port (IPv6 as [addr]:port) into a socket address. */
static bool parse_listen(const char *listen, struct sockaddr_storage *ss)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host)
        return false;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *h = host;
    if (h[0] == '[') {
        h++;
        char *rb = strchr(h, ']');
        if (rb)
            *rb = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_PASSIVE},
                    *res = NULL;
    if (getaddrinfo(h, colon + 1, &hints, &res) != 0 || !res)
        return false;
    memset(ss, 0, sizeof *ss);
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return true;
}

bool bench_server_args(const char *tool, const char *listen, int *threads,
                       struct sockaddr_storage *ss)
{
    if (*threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        *threads = n > 0 ? (int)n : 1;
    }
    if (!parse_listen(listen, ss)) {
        fprintf(stderr, "%s: cannot resolve listen address '%s'\n", tool, listen);
        return false;
    }
    return true;
}

/* A signed POST request of body by u (body is taken over). */
bool bench_post(req_t *r, const user_t *u, const char *target, char *body)
{
    memset(r, 0, sizeof *r);
    r->method = "POST";
    snprintf(r->target, sizeof r->target, "%s", target);
    r->body = body;
    return body && sign_req(r, u);
}

/* A legacy transfer body; created (nanoseconds) makes equal transfers distinct for the ledger's
 * deduplication. */
char *bench_transfer_body(const char *to, uint64_t amount, uint64_t memo, uint64_t created)
{
    char *b = NULL;
    if (asprintf(&b,
                 "{\"to\":\"%s\",\"amount_e8s\":\"%" PRIu64 "\",\"fee_e8s\":\"%llu\","
                 "\"memo\":\"%" PRIu64 "\",\"created_at_time\":\"%" PRIu64 "\"}",
                 to, amount, BENCH_FEE_E8S, memo, created) < 0)
        return NULL;
    return b;
}

/* The u64 member key of GET base+target; 0 on failure. */
static uint64_t get_u64(const char *base, const char *target, const char *key)
{
    json_t *o = get_json(base, target);
    uint64_t v = 0;
    if (!json_u64_member(o, key, &v))
        v = 0;
    json_decref(o);
    return v;
}

uint64_t bench_ledger_now(const char *ledger)
{
    return get_u64(ledger, "/v1/identity", "now_nanos");
}

uint64_t bench_ledger_chain_length(const char *ledger)
{
    return get_u64(ledger, "/v1/ledger", "chain_length");
}

/* The ppid and user+system ticks of pid from /proc/PID/stat; false when it cannot be read. */
static bool proc_stat(int pid, int *ppid, uint64_t *ticks)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p ||
        sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", ppid, &ut, &st) != 3)
        return false;
    *ticks = ut + st;
    return true;
}

uint64_t bench_cpu_ticks(const cpu_t *c)
{
    int ppid;
    uint64_t t = 0, child;
    if (!proc_stat(c->pid, &ppid, &t) || !c->children)
        return t;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int pid = atoi(e->d_name);
        if (pid > 0 && proc_stat(pid, &ppid, &child) && ppid == c->pid)
            t += child;
    }
    if (d)
        closedir(d);
    return t;
}

bool bench_cpu_arg(const char *arg, cpu_t *cpus, size_t max, size_t *n)
{
    const char *eq = strchr(arg, '=');
    if (!eq || *n == max || (size_t)(eq - arg) >= sizeof cpus[0].name)
        return false;
    cpu_t *c = &cpus[(*n)++];
    memset(c, 0, sizeof *c);
    memcpy(c->name, arg, (size_t)(eq - arg));
    c->pid = atoi(eq + 1);
    c->children = strchr(eq + 1, '+') != NULL;
    return true;
}

int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
