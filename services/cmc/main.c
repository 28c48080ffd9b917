/*
 * nns-cmc: the cycles minting service. Everything but the cmc itself is the skeleton's.
 */
#include "api.h"

int main(int argc, char **argv)
{
    return service_main(&CMC_SERVICE, argc, argv);
}
