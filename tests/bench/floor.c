/*
 * floor: the least CPU any HTTP server spends on a keep-alive request on this host, the floor
 * under issue 10's "single cost" target (tests/bench/run.sh prints it beside that row).
 *
 * Each thread waits on its own epoll set (the listening socket is in every set, with
 * EPOLLEXCLUSIVE); a readable connection is read until EAGAIN, and every complete request in what
 * was read (headers up to the blank line, then Content-Length bytes of body) is answered with one
 * fixed 200 response in one send. No routing, no header table, no allocation per request, no
 * suspend and resume: one recv, one send and a share of an epoll_wait per request, which any
 * server that reads a request and writes its answer does as well. It is not an HTTP server (no
 * chunked bodies, no pipelining limits, no timeouts); it only measures.
 * Stops on SIGINT or SIGTERM.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "benchhttp.h"
#include "config.h"

enum { CONN_BUF = 16384, EVENTS = 256, ANSWER_MAX = 65536 };

typedef struct {
    int fd;
    size_t len;
    char buf[CONN_BUF];
} conn_t;

static int listen_fd;
static char answer[ANSWER_MAX + 256];
static size_t answer_len;

/* The length of the first complete request in b, or 0 when more must be read; SIZE_MAX when
 * it can never fit the buffer. */
static size_t request_len(const char *b, size_t n)
{
    const char *end = memmem(b, n, "\r\n\r\n", 4);
    if (!end)
        return n == CONN_BUF ? SIZE_MAX : 0;
    size_t head = (size_t)(end - b) + 4, body = 0;
    for (const char *p = b; p < end; p++) {
        if (*p == '\n' && (size_t)(end - p) > 16 &&
            strncasecmp(p + 1, "content-length:", 15) == 0) {
            body = strtoul(p + 16, NULL, 10);
            break;
        }
    }
    if (head + body > CONN_BUF)
        return SIZE_MAX;
    return head + body <= n ? head + body : 0;
}

/* Reads what the connection has and answers each complete request. False when it is done. */
static bool serve(conn_t *c)
{
    for (;;) {
        ssize_t got = recv(c->fd, c->buf + c->len, CONN_BUF - c->len, 0);
        if (got == 0)
            return false;
        if (got < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK;
        c->len += (size_t)got;
        size_t n;
        while ((n = request_len(c->buf, c->len)) > 0) {
            if (n == SIZE_MAX ||
                send(c->fd, answer, answer_len, MSG_NOSIGNAL) != (ssize_t)answer_len)
                return false; /* too big, or a full send buffer: the tool does not queue */
            memmove(c->buf, c->buf + n, c->len - n);
            c->len -= n;
        }
    }
}

static void *worker(void *arg)
{
    (void)arg;
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev) != 0) {
        perror("floor: epoll");
        exit(1);
    }
    struct epoll_event events[EVENTS];
    for (;;) {
        int n = epoll_wait(ep, events, EVENTS, -1);
        for (int i = 0; i < n; i++) {
            conn_t *c = events[i].data.ptr;
            if (!c) {
                int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK);
                if (fd < 0)
                    continue;
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                conn_t *nc = malloc(sizeof *nc);
                struct epoll_event cev = {.events = EPOLLIN, .data.ptr = nc};
                if (!nc ||
                    (nc->fd = fd, nc->len = 0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev)) != 0) {
                    close(fd);
                    free(nc);
                }
                continue;
            }
            if (!serve(c)) {
                close(c->fd); /* also leaves the epoll set */
                free(c);
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *listen_at = NULL;
    int threads = 0, body_bytes = 0;
    const config_option_t options[] = {
        {CONFIG_OPT("listen", OPT_STRING, &listen_at, "127.0.0.1:8091", "address to serve on")},
        {CONFIG_OPT("threads", OPT_INT, &threads, "0", "threads (0: one per core)"), .max = 256},
        {CONFIG_OPT("answer-bytes", OPT_INT, &body_bytes, "250", "the answer's body, in bytes"),
         .max = ANSWER_MAX},
        {0},
    };
    int status = config_exit_status(
        config_parse("floor", "The least an HTTP server can spend per request (benchmark floor).",
                     options, argc, argv));
    if (status >= 0)
        return status;
    struct sockaddr_storage ss;
    if (!bench_server_args("floor", listen_at, &threads, &ss))
        return 2;
    int head = snprintf(answer, sizeof answer,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        "Content-Length: %d\r\n\r\n",
                        body_bytes);
    memset(answer + head, 'x', (size_t)body_bytes);
    answer_len = (size_t)head + (size_t)body_bytes;

    int one = 1;
    listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (listen_fd < 0 || setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(listen_fd, (struct sockaddr *)&ss,
             ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) !=
            0 ||
        listen(listen_fd, 4096) != 0) {
        fprintf(stderr, "floor: cannot listen on '%s': %s\n", listen_at, strerror(errno));
        return 1;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* the workers inherit it; main waits for it */
    for (int i = 0; i < threads; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, NULL) != 0) {
            fprintf(stderr, "floor: cannot start thread %d\n", i);
            return 1;
        }
        pthread_detach(t);
    }
    fprintf(stderr, "floor: listening on http://%s with %d threads\n", listen_at, threads);
    int sig;
    sigwait(&stop, &sig);
    return 0;
}
