/*
 * render: the cycles minting service's answers as JSON trees (jansson), for api.c. Pure
 * functions of their arguments; each returns a new reference the caller owns (or passes to
 * http_respond_json), or NULL when out of memory, except the name getters, which return
 * static strings. u128 values are JSON strings of decimal digits (DESIGN.md section 6).
 */
#ifndef NNS_CMC_RENDER_H
#define NNS_CMC_RENDER_H

#include <jansson.h>
#include <stdint.h>

#include "account.h"
#include "cmc.h"
#include "keyfile.h"
#include "principal.h"

json_t *render_u128(cmc_cycles_t v);
json_t *render_principal(const principal_t *p);
json_t *render_account(const account_id_t *a);

/* The signed rate (API.md "Signed rates"): Ed25519 with key over len(domain) || domain ||
 * timestamp_seconds (u64 BE) || xdr_permyriad_per_icp (u64 BE); domain "icp-xdr-rate" or
 * "icp-xdr-rate-average". cycles_per_icp is derived with cycles_per_xdr. */
json_t *render_rate(const identity_t *key, uint64_t cycles_per_xdr, const cmc_rate_t *rate,
                    const char *domain);

/* The array under arr of the object of list whose key is value, added (with an empty array)
 * when missing. Borrowed: list owns it. */
json_t *render_find_or_add(json_t *list, const char *key, const char *value, const char *arr);

/* A notification status as API.md names it ("Processing", "NotifiedTopUp", ...). */
const char *render_status_name(cmc_status_t s);
/* A notify kind: "top-up", "create" or "mint". */
const char *render_kind_name(cmc_notify_kind_t k);
/* The success body of a finished notification of kind. */
json_t *render_result(cmc_notify_kind_t kind, const cmc_result_t *res);

#endif
