/*
 * api: the cycles minting service's routes and handlers, its plug-in for the service skeleton
 * (CMC_SERVICE), the calls to the ledger (call.h) and the outbox that drives them.
 */
#ifndef NNS_CMC_API_H
#define NNS_CMC_API_H

#include "service.h"

extern const service_def_t CMC_SERVICE;

#endif
