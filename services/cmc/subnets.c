/*
 * subnets: the cmc's subnet lists (spec/cmc.md 5.1, 5.2, 6) as rows, governance's changes to
 * them, the choice of a subnet for a new canister and the canister-id ranges per subnet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmc_internal.h"

void subnets_free(subnets_t *s)
{
    free(s->rows);
    free(s->ranges);
    memset(s, 0, sizeof *s);
}

bool subnets_copy(subnets_t *dst, const subnets_t *src)
{
    memset(dst, 0, sizeof *dst);
    dst->next_range = src->next_range;
    if (src->n) {
        dst->rows = malloc(src->n * sizeof *dst->rows);
        if (!dst->rows)
            return false;
        memcpy(dst->rows, src->rows, src->n * sizeof *dst->rows);
        dst->n = dst->cap = src->n;
    }
    if (src->nr) {
        dst->ranges = malloc(src->nr * sizeof *dst->ranges);
        if (!dst->ranges) {
            subnets_free(dst);
            return false;
        }
        memcpy(dst->ranges, src->ranges, src->nr * sizeof *dst->ranges);
        dst->nr = dst->capr = src->nr;
    }
    return true;
}

bool subnets_add_row(subnets_t *s, const cmc_subnet_row_t *row)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        cmc_subnet_row_t *rows = realloc(s->rows, cap * sizeof *rows);
        if (!rows)
            return false;
        s->rows = rows;
        s->cap = cap;
    }
    s->rows[s->n++] = *row;
    return true;
}

bool subnets_add_range(subnets_t *s, const cmc_subnet_range_t *range)
{
    if (s->nr == s->capr) {
        size_t cap = s->capr ? s->capr * 2 : 8;
        cmc_subnet_range_t *ranges = realloc(s->ranges, cap * sizeof *ranges);
        if (!ranges)
            return false;
        s->ranges = ranges;
        s->capr = cap;
    }
    s->ranges[s->nr++] = *range;
    return true;
}

static bool type_exists(const subnets_t *s, const char *type)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->rows[i].kind == CMC_SUBNET_TYPE_DECL && strcmp(s->rows[i].type, type) == 0)
            return true;
    return false;
}

/* The type of a subnet, or NULL. */
static const char *type_of(const subnets_t *s, const principal_t *subnet)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->rows[i].kind == CMC_SUBNET_TYPED && principal_equal(&s->rows[i].subnet, subnet))
            return s->rows[i].type;
    return NULL;
}

static bool has_row(const subnets_t *s, cmc_subnet_row_kind_t kind, const principal_t *who,
                    const char *type, const principal_t *subnet)
{
    for (size_t i = 0; i < s->n; i++) {
        const cmc_subnet_row_t *row = &s->rows[i];
        if (row->kind != kind)
            continue;
        if (who && !principal_equal(&row->who, who))
            continue;
        if (type && strcmp(row->type, type) != 0)
            continue;
        if (subnet && !principal_equal(&row->subnet, subnet))
            continue;
        return true;
    }
    return false;
}

/* Removes the rows matching (kind, who, type, subnet); NULL matches anything. */
static void remove_rows(subnets_t *s, cmc_subnet_row_kind_t kind, const principal_t *who,
                        const char *type, const principal_t *subnet)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        const cmc_subnet_row_t *row = &s->rows[i];
        bool match = row->kind == kind && (!who || principal_equal(&row->who, who)) &&
                     (!type || strcmp(row->type, type) == 0) &&
                     (!subnet || principal_equal(&row->subnet, subnet));
        if (!match)
            s->rows[k++] = *row;
    }
    s->n = k;
}

/* "a, b, c" of a list of principals, truncated to fit. */
static void list_text(const principal_t *p, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && len + 1 < cap; i++) {
        char t[PRINCIPAL_TEXT_MAX];
        principal_to_text(&p[i], t);
        int w = snprintf(out + len, cap - len, "%s%s", i ? ", " : "", t);
        if (w < 0 || (size_t)w >= cap - len)
            break;
        len += (size_t)w;
    }
}

static bool type_name_ok(const char *type, nns_error_t *err)
{
    size_t len = strnlen(type, CMC_SUBNET_TYPE_MAX);
    if (len == 0 || len >= CMC_SUBNET_TYPE_MAX)
        return nns_error_set(err, 400, "InvalidSubnetType",
                             "subnet type must be 1 to %d bytes long", CMC_SUBNET_TYPE_MAX - 1);
    return true;
}

/* main.rs set_authorized_subnetwork_list; the trap on typed subnets becomes a 409. */
bool cmc_apply_set_authorized_subnets(cmc_t *c, cmc_round_t *r, const principal_t *who,
                                      const principal_t *subnets, size_t n, nns_error_t *err)
{
    const subnets_t *cur = subnets_of(c, r);
    principal_t typed[16];
    size_t ntyped = 0;
    for (size_t i = 0; i < n; i++)
        if (type_of(cur, &subnets[i]) && ntyped < 16)
            typed[ntyped++] = subnets[i];
    if (ntyped) {
        char list[200];
        list_text(typed, ntyped, list, sizeof list);
        return nns_error_set(err, 409, "SubnetsAreAssigned",
                             "Subnets [%s] are already assigned to a type and cannot be "
                             "authorized.",
                             list);
    }
    subnets_t *s = round_subnets(r);
    if (!s)
        return nns_error_set(err, 500, "OutOfMemory", "out of memory");
    if (!who)
        remove_rows(s, CMC_SUBNET_DEFAULT, NULL, NULL, NULL);
    else
        remove_rows(s, CMC_SUBNET_AUTHORIZED, who, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        cmc_subnet_row_t row;
        memset(&row, 0, sizeof row);
        row.kind = who ? CMC_SUBNET_AUTHORIZED : CMC_SUBNET_DEFAULT;
        if (who)
            row.who = *who;
        row.subnet = subnets[i];
        if (!subnets_add_row(s, &row))
            return nns_error_set(err, 500, "OutOfMemory", "out of memory");
    }
    return true;
}

/* main.rs add_subnet_type / remove_subnet_type. */
bool cmc_apply_update_subnet_type(cmc_t *c, cmc_round_t *r, bool add, const char *type,
                                  nns_error_t *err)
{
    if (!type_name_ok(type, err))
        return false;
    const subnets_t *cur = subnets_of(c, r);
    bool exists = type_exists(cur, type);
    if (add && exists)
        return nns_error_set(err, 409, "Duplicate", "subnet type '%s' already exists", type);
    if (!add && !exists)
        return nns_error_set(err, 404, "TypeDoesNotExist", "subnet type '%s' does not exist",
                             type);
    if (!add && has_row(cur, CMC_SUBNET_TYPED, NULL, type, NULL))
        return nns_error_set(err, 409, "TypeHasAssignedSubnets",
                             "subnet type '%s' has assigned subnets", type);
    subnets_t *s = round_subnets(r);
    if (!s)
        return nns_error_set(err, 500, "OutOfMemory", "out of memory");
    if (!add) {
        remove_rows(s, CMC_SUBNET_TYPE_DECL, NULL, type, NULL);
        return true;
    }
    cmc_subnet_row_t row;
    memset(&row, 0, sizeof row);
    row.kind = CMC_SUBNET_TYPE_DECL;
    memcpy(row.type, type, strlen(type) + 1);
    if (!subnets_add_row(s, &row))
        return nns_error_set(err, 500, "OutOfMemory", "out of memory");
    return true;
}

/* main.rs add_subnets_to_type / remove_subnets_from_type. */
bool cmc_apply_change_subnet_type_assignment(cmc_t *c, cmc_round_t *r, bool add,
                                             const principal_t *subnets, size_t n,
                                             const char *type, nns_error_t *err)
{
    if (!type_name_ok(type, err))
        return false;
    const subnets_t *cur = subnets_of(c, r);
    if (!type_exists(cur, type))
        return nns_error_set(err, 404, "TypeDoesNotExist", "subnet type '%s' does not exist",
                             type);
    principal_t bad[16];
    size_t nbad = 0;
    char list[200];
    if (add) {
        for (size_t i = 0; i < n; i++)
            if (type_of(cur, &subnets[i]) && nbad < 16)
                bad[nbad++] = subnets[i];
        if (nbad) {
            list_text(bad, nbad, list, sizeof list);
            return nns_error_set(err, 409, "SubnetsAreAssigned",
                                 "subnets [%s] are already assigned to a type", list);
        }
        for (size_t i = 0; i < n; i++)
            if ((has_row(cur, CMC_SUBNET_DEFAULT, NULL, NULL, &subnets[i]) ||
                 has_row(cur, CMC_SUBNET_AUTHORIZED, NULL, NULL, &subnets[i])) &&
                nbad < 16)
                bad[nbad++] = subnets[i];
        if (nbad) {
            list_text(bad, nbad, list, sizeof list);
            return nns_error_set(err, 409, "SubnetsAreAuthorized",
                                 "subnets [%s] are default or authorized subnets", list);
        }
    } else {
        for (size_t i = 0; i < n; i++)
            if (!has_row(cur, CMC_SUBNET_TYPED, NULL, type, &subnets[i]) && nbad < 16)
                bad[nbad++] = subnets[i];
        if (nbad) {
            list_text(bad, nbad, list, sizeof list);
            return nns_error_set(err, 409, "SubnetsAreNotAssigned",
                                 "subnets [%s] are not assigned to type '%s'", list, type);
        }
    }
    subnets_t *s = round_subnets(r);
    if (!s)
        return nns_error_set(err, 500, "OutOfMemory", "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!add) {
            remove_rows(s, CMC_SUBNET_TYPED, NULL, type, &subnets[i]);
            continue;
        }
        if (has_row(s, CMC_SUBNET_TYPED, NULL, type, &subnets[i]))
            continue; /* a set: a subnet listed twice is added once */
        cmc_subnet_row_t row;
        memset(&row, 0, sizeof row);
        row.kind = CMC_SUBNET_TYPED;
        memcpy(row.type, type, strlen(type) + 1);
        row.subnet = subnets[i];
        if (!subnets_add_row(s, &row))
            return nns_error_set(err, 500, "OutOfMemory", "out of memory");
    }
    return true;
}

/* main.rs do_create_canister, step 2 and 3: the candidates, then one of them. All candidates
 * accept a creation here (the registry has no failing subnets), so upstream's shuffle followed
 * by "first success" is the candidate at a seeded random position. */
bool subnets_choose(const subnets_t *s, const cmc_notify_args_t *a, uint64_t seed,
                    principal_t *chosen, char reason[CMC_REASON_MAX])
{
    const principal_t *ctl = &a->controller;
    bool filter = a->has_subnet_type || a->select == CMC_SELECT_FILTER;
    const char *type = a->has_subnet_type  ? a->subnet_type
                       : a->select_has_type ? a->select_type
                                            : NULL;
    size_t n = 0;
    const cmc_subnet_row_t *pick = NULL;
    if (a->select == CMC_SELECT_SUBNET) {
        const principal_t *x = &a->select_subnet;
        if (has_row(s, CMC_SUBNET_DEFAULT, NULL, NULL, x) ||
            has_row(s, CMC_SUBNET_AUTHORIZED, ctl, NULL, x) || type_of(s, x)) {
            *chosen = *x;
            return true;
        }
        char xt[PRINCIPAL_TEXT_MAX], ct[PRINCIPAL_TEXT_MAX];
        principal_to_text(x, xt);
        principal_to_text(ctl, ct);
        snprintf(reason, CMC_REASON_MAX,
                 "Subnet %s does not exist or %s is not authorized to deploy to that subnet.", xt,
                 ct);
        return false;
    }
    cmc_subnet_row_kind_t kind;
    const principal_t *who = NULL;
    if (filter && type) {
        if (!type_exists(s, type)) {
            snprintf(reason, CMC_REASON_MAX, "Provided subnet type %s does not exist", type);
            return false;
        }
        kind = CMC_SUBNET_TYPED;
    } else if (has_row(s, CMC_SUBNET_AUTHORIZED, ctl, NULL, NULL)) {
        kind = CMC_SUBNET_AUTHORIZED;
        who = ctl;
    } else {
        kind = CMC_SUBNET_DEFAULT;
    }
    for (int pass = 0; pass < 2; pass++) {
        size_t k = 0;
        for (size_t i = 0; i < s->n; i++) {
            const cmc_subnet_row_t *row = &s->rows[i];
            if (row->kind != kind || (who && !principal_equal(&row->who, who)) ||
                (kind == CMC_SUBNET_TYPED && strcmp(row->type, type) != 0))
                continue;
            if (pass == 1 && k == seed % n)
                pick = row;
            k++;
        }
        n = k;
        if (n == 0) {
            snprintf(reason, CMC_REASON_MAX, "No subnets in which to create a canister.");
            return false;
        }
    }
    *chosen = pick->subnet;
    return true;
}

/* Canister ids like the IC's: each subnet owns ranges of CMC_CANISTER_RANGE ids, given out in
 * order from range 1 (range 0 holds the NNS canisters); a full range is replaced by a new one. */
bool subnets_allocate_id(cmc_round_t *r, const principal_t *subnet, principal_t *id)
{
    subnets_t *s = round_subnets(r);
    if (!s)
        return false;
    cmc_subnet_range_t *range = NULL;
    for (size_t i = 0; i < s->nr; i++)
        if (principal_equal(&s->ranges[i].subnet, subnet))
            range = &s->ranges[i];
    if (!range || range->next >= CMC_CANISTER_RANGE) {
        cmc_subnet_range_t fresh = {*subnet, s->next_range, 0};
        if (range) {
            *range = fresh;
        } else {
            if (!subnets_add_range(s, &fresh))
                return false;
            range = &s->ranges[s->nr - 1];
        }
        s->next_range++;
    }
    principal_canister(range->range * CMC_CANISTER_RANGE + range->next, id);
    range->next++;
    return true;
}
