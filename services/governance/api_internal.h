/*
 * api_internal: what the governance plug-in's files share (api.c: the service, its commands,
 * outbox and rounds; api_proposals.c: the reads of proposals, ballots, votes, reward events,
 * known neurons and node providers).
 */
#ifndef NNS_GOV_API_INTERNAL_H
#define NNS_GOV_API_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "gov.h"
#include "http.h"
#include "metrics.h"
#include "store.h"

#define API_CASCADE_BUCKETS 8 /* buckets of the vote cascade histogram (+Inf apart) */

/* The service's state machine and store, from a handler's svc. */
gov_t *api_gov(void *svc);
gov_store_t *api_store(void *svc);

/* GET /v1/governance's additions (latest_reward_event, proposal counts, node-provider reward
 * progress) set on o; false when out of memory. */
bool api_governance_extras(gov_t *g, uint64_t now, json_t *o);

/* The proposal families of GET /metrics: proposals by status, ballots held, open proposals. */
void api_proposal_metrics(gov_t *g, uint64_t now, metrics_t *m);

/* The read routes (api_proposals.c). */
void api_get_proposals(http_request_t *req, void *svc);
void api_get_proposal(http_request_t *req, void *svc);
void api_get_ballots(http_request_t *req, void *svc);
void api_get_votes(http_request_t *req, void *svc);
void api_get_neuron_votes(http_request_t *req, void *svc);
void api_get_reward_events(http_request_t *req, void *svc);
void api_get_known_neurons(http_request_t *req, void *svc);
void api_get_node_providers(http_request_t *req, void *svc);

#endif
