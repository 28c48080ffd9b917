/*
 * api: the ledger's REST routes (API.md, Ledger) and its plug-in to the service skeleton
 * (service.h): its state (the state machine and the store), its round (apply each write,
 * commit the round with the store), its metrics, and genesis at start.
 */
#ifndef NNS_LEDGER_API_H
#define NNS_LEDGER_API_H

#include "service.h"

extern const service_def_t LEDGER_SERVICE;

#endif
