/*
 * api: the governance service's plug-in to the service skeleton (GOVERNANCE_SERVICE): its
 * routes and handlers (docs/api.md section 12), the parse -> round -> answer path of its writes,
 * the outbox of calls to the ledger and the cmc with their answers as internal commands,
 * suspended requests resumed when their flow ends, the periodic work, the genesis, the crash
 * point (--test-clock) and the metrics. The state machine is gov.h's, the mirror store.h's.
 */
#ifndef NNS_GOV_API_H
#define NNS_GOV_API_H

#include "service.h"

extern const service_def_t GOVERNANCE_SERVICE;

#endif
