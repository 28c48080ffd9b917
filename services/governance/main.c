/*
 * nns-governance: the governance service (neurons and staking). Everything but governance itself
 * is the skeleton's.
 */
#include "api.h"

int main(int argc, char **argv)
{
    return service_main(&GOVERNANCE_SERVICE, argc, argv);
}
