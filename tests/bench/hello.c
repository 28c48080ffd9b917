/*
 * hello: a bare libmicrohttpd server answering GET / with a small JSON body, the baseline of the
 * scale benchmark (tests/bench/scale.sh): "balance reads at least 0.5x a bare hello server".
 * Any other GET path gets the same answer, so that the benchmark can replay exactly the request
 * mix (and the wrk script) of the balance reads against it. A POST gets it too, its body read
 * and dropped (the request floor of tests/bench/run.sh posts a transfer's size); other methods
 * get 405.
 *
 * It starts the daemon exactly as services/common/http.c does (internal polling thread pool of
 * one thread per core unless --threads says otherwise, epoll, turbo, suspend/resume allowed, the
 * same timeout, connection limit and listen backlog) and does nothing else per request: no
 * routing table, no JSON rendering, no request id, no metrics. Like http.c it answers on the
 * second call of the access handler, so that connections stay alive.
 * Stops on SIGINT or SIGTERM.
 */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "benchhttp.h"
#include "config.h"

static volatile sig_atomic_t stop_requested;

static const char HELLO[] = "{\"status\":\"ok\",\"service\":\"hello\"}";
static const char NOT_ALLOWED[] = "{\"status\":405,\"code\":\"MethodNotAllowed\"}";

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    (void)cls;
    (void)version;
    (void)upload_data;
    static int started_marker;
    if (!*req_cls) {
        /* first call: headers only; answering now would make libmicrohttpd close the
         * connection (as http.c, answer once the (empty) body has been read) */
        *req_cls = &started_marker;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0; /* a body is ignored */
        return MHD_YES;
    }
    (void)url;
    bool hello = strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0;
    const char *body = hello ? HELLO : NOT_ALLOWED;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(body), (void *)(uintptr_t)body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result r =
        MHD_queue_response(conn, hello ? MHD_HTTP_OK : MHD_HTTP_METHOD_NOT_ALLOWED, resp);
    MHD_destroy_response(resp);
    return r;
}

int main(int argc, char **argv)
{
    const char *listen = NULL;
    int threads = 0;
    const config_option_t options[] = {
        {CONFIG_OPT("listen", OPT_STRING, &listen, "127.0.0.1:8090", "address to serve HTTP on")},
        {CONFIG_OPT("threads", OPT_INT, &threads, "0", "HTTP threads (0: one per core)"),
         .max = 256},
        {0},
    };
    int status = config_exit_status(config_parse(
        "hello", "A bare libmicrohttpd hello server (benchmark baseline).", options, argc, argv));
    if (status >= 0)
        return status;
    struct sockaddr_storage ss;
    if (!bench_server_args("hello", listen, &threads, &ss))
        return 2;
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_TURBO | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)120, MHD_OPTION_CONNECTION_LIMIT, (unsigned)20000, MHD_OPTION_LISTEN_BACKLOG_SIZE,
        (unsigned)4096, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "hello: cannot listen on '%s'\n", listen);
        return 1;
    }
    fprintf(stderr, "hello: listening on http://%s with %d threads\n", listen, threads);
    while (!stop_requested)
        pause();
    MHD_stop_daemon(d);
    return 0;
}
