/*
 * nns-ledger: the ICP ledger service. Everything but the ledger itself is the skeleton's.
 */
#include "api.h"

int main(int argc, char **argv)
{
    return service_main(&LEDGER_SERVICE, argc, argv);
}
