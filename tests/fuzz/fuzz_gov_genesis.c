/*
 * fuzz_gov_genesis: governance genesis files (read once at start, from the operator). The file is
 * the input; whatever gov_genesis_read() accepts has a rule set, neurons within the file's
 * limits (hot keys, topics, followees) and no more neurons than the service holds; a refusal is
 * a 400 InvalidGenesis and leaves nothing allocated.
 */
#include "crypto.h"
#include "fuzz.h"
#include "genesis.h"

FUZZ_INIT_CRYPTO()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_file(data, size, path);
    if (fd < 0)
        abort();
    gov_genesis_t g;
    nns_error_t err;
    if (gov_genesis_read(path, 1700000000, &g, &err)) {
        FUZZ_CHECK(g.rules == GOV_RULES_CURRENT || g.rules == GOV_RULES_LEGACY, "rules %d",
                   (int)g.rules);
        FUZZ_CHECK(g.nneurons == 0 || g.neurons != NULL, "neurons");
        FUZZ_CHECK(g.nneurons <= GOV_NEURONS_MAX, "%zu neurons", g.nneurons);
        for (size_t i = 0; i < g.nneurons; i++) {
            const gov_genesis_neuron_t *n = &g.neurons[i];
            FUZZ_CHECK(n->nhot_keys <= GOV_HOT_KEYS_MAX, "neuron %zu hot keys", i);
            FUZZ_CHECK(n->nfollowees <= GOV_TOPICS, "neuron %zu topics", i);
            for (uint8_t k = 0; k < n->nfollowees; k++)
                FUZZ_CHECK(n->followees[k].n <= GOV_FOLLOWEES_MAX, "neuron %zu followees", i);
        }
    } else {
        FUZZ_CHECK(err.status == 400 && strcmp(err.code, "InvalidGenesis") == 0, "error %d %s",
                   err.status, err.code);
        FUZZ_CHECK(g.neurons == NULL && g.nneurons == 0, "not empty after a refusal");
    }
    gov_genesis_free(&g);
    close(fd);
    return 0;
}
