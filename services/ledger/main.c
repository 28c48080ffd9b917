/*
 * nns-ledger: the ICP ledger service. Wiring only: flags, logging, signals, the service.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "log.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int main(int argc, char **argv)
{
    const char *listen = NULL, *database = NULL, *keys = NULL, *genesis = NULL;
    const char *ledger_url = NULL, *governance_url = NULL, *cmc_url = NULL, *log_level = NULL;
    bool test_clock = false, read_only = false;
    int threads = 0, max_round = 0, gather_ms = 0;
    const config_option_t options[] = {
        {"listen", OPT_STRING, &listen, "127.0.0.1:8081", "address to serve HTTP on"},
        {"database", OPT_STRING, &database, NULL,
         "PostgreSQL connection string or URL (default: $DATABASE_URL)"},
        {"keys", OPT_STRING, &keys, NULL,
         "folder of service keys: signs with ledger.key, trusts governance.pub and cmc.pub"},
        {"genesis", OPT_STRING, &genesis, NULL,
         "genesis JSON: initial balances (used when the chain is empty), fee, token, window"},
        {"ledger", OPT_STRING, &ledger_url, "http://127.0.0.1:8081", "ledger service URL"},
        {"governance", OPT_STRING, &governance_url, "http://127.0.0.1:8082",
         "governance service URL"},
        {"cmc", OPT_STRING, &cmc_url, "http://127.0.0.1:8083", "cycles minting service URL"},
        {"test-clock", OPT_BOOL, &test_clock, NULL,
         "take domain time from a test clock set with POST /v1/admin/time"},
        {"read-only", OPT_BOOL, &read_only, NULL, "serve reads only (for a replica)"},
        {"threads", OPT_INT, &threads, "0", "HTTP threads (0: one per core)"},
        {"max-round", OPT_INT, &max_round, "20000",
         "transfers per round at most (a batch counts its items)"},
        {"round-gather-ms", OPT_INT, &gather_ms, "40",
         "while batches are being checked, a round waits for them until this long after the "
         "previous round began (0: never)"},
        {"log-level", OPT_STRING, &log_level, "info", "debug, info, warn or error"},
        {0},
    };
    switch (config_parse("nns-ledger", "The ICP ledger service (REST/JSON, PostgreSQL mirror).",
                         options, argc, argv)) {
    case CONFIG_HELP:
        return 0;
    case CONFIG_ERROR:
        return 2;
    case CONFIG_OK:
        break;
    }
    log_level_t level = strcmp(log_level, "debug") == 0  ? LOG_DEBUG
                        : strcmp(log_level, "warn") == 0  ? LOG_WARN
                        : strcmp(log_level, "error") == 0 ? LOG_ERROR
                                                          : LOG_INFO;
    log_init("ledger", level);
    if (!crypto_init()) {
        log_error("cannot initialise libsodium");
        return 1;
    }
    if (test_clock)
        clock_use_test_clock();
    if (!database)
        database = getenv("DATABASE_URL");
    if (threads < 0 || max_round < 0 || gather_ms < 0 || gather_ms > 1000) {
        fprintf(stderr, "nns-ledger: --threads and --max-round must not be negative, "
                        "--round-gather-ms must be 0 to 1000\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    ledger_service_config_t cfg = {.listen = listen,
                                   .database = database,
                                   .keys_dir = keys,
                                   .genesis_path = genesis,
                                   .read_only = read_only,
                                   .http_threads = (unsigned)threads,
                                   .max_round = (unsigned)max_round,
                                   .round_gather_ms = (unsigned)gather_ms};
    nns_error_t err;
    nns_error_clear(&err);
    ledger_service_t *svc = ledger_service_new(&cfg, &err);
    if (!svc) {
        log_error("cannot start: %s", err.detail);
        return 1;
    }
    while (!stop_requested)
        pause();
    log_info("stopping");
    ledger_service_destroy(&svc);
    return 0;
}
