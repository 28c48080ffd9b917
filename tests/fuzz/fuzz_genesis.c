/*
 * fuzz_genesis: genesis files (read once at start, from the operator). The file is the input;
 * whatever genesis_read() accepts holds amounts and accounts that agree with each other: a
 * balance given as ICRC-1 text names the account of its owner and subaccount.
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
    genesis_t g;
    nns_error_t err;
    if (genesis_read(path, &g, &err)) {
        FUZZ_CHECK(g.nbalances == 0 || g.balances != NULL, "balances");
        for (size_t i = 0; i < g.nbalances; i++) {
            if (!g.balances[i].has_owner)
                continue;
            account_id_t id;
            account_id_of(&g.balances[i].owner.owner, g.balances[i].owner.subaccount, &id);
            FUZZ_CHECK(account_id_equal(&id, &g.balances[i].account), "balance %zu's owner", i);
        }
    } else {
        FUZZ_CHECK(err.status == 400 && strcmp(err.code, "InvalidGenesis") == 0, "error %d %s",
                   err.status, err.code);
        FUZZ_CHECK(g.balances == NULL && g.nbalances == 0, "not empty after a refusal");
    }
    genesis_free(&g);
    close(fd);
    return 0;
}
