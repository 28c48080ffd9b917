/*
 * render: the governance service's answers as JSON (docs/api.md section 12, api/openapi.yaml):
 * the neuron views, GET /v1/governance, the staking account.
 *
 * Every function returns a new jansson reference (NULL only when out of memory, which the caller
 * answers 503) and reads nothing but its arguments: pure, thread-safe. u64 values are rendered
 * as digit strings, u32 and smaller as numbers (the wire rules).
 *
 * Views: the public view holds what anyone may see of a neuron; the full view (the controller
 * and hot keys) adds the controller, hot keys, followees, flags, the spawn time, the maturity
 * disbursements and the lock. A public neuron (visibility 2) shows its controller, hot keys and
 * followees in the public view too (spec 2.13: only ballots and the Neurons' Fund timestamp are
 * withheld from a private neuron's public view; its controller, hot keys and followees are the
 * owner's business).
 */
#ifndef NNS_GOV_RENDER_H
#define NNS_GOV_RENDER_H

#include <jansson.h>
#include <stdbool.h>

#include "gov.h"
#include "principal.h"

/* The view of n (its derived values n->d already computed for the read's time). governance is
 * the principal whose (governance, subaccount) account holds the stake. */
json_t *gov_render_neuron(const gov_neuron_full_t *n, const principal_t *governance, bool full);

/* The economics object of GET /v1/governance (also the genesis override's shape). */
json_t *gov_render_economics(const gov_economics_t *e);

/* GET /v1/governance. */
json_t *gov_render_info(const gov_info_t *info, const gov_modulation_t *mm);

/* The name of a maturity modulation source ("genesis", "cmc", "rate-history", "none"). */
const char *gov_render_mm_source(gov_mm_source_t s);

#endif
