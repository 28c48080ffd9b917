/*
 * gov_vote.c: voting (governance.rs register_vote), the following cascade (spec 5; voting.rs
 * ProposalVotingStateMachine, neuron/types.rs would_follow_ballots), the reverse following
 * index, the tally and wait-for-quiet (ProposalData::recompute_tally, evaluate_wait_for_quiet)
 * and decisions (can_make_decision, is_accepted, process_proposal).
 *
 * The cascade works on ballot indices (the ballots are sorted by neuron id, so ascending index
 * is ascending id): the set of followers to check is a bitmap with a low-water mark, popped in
 * ascending order as upstream's BTreeSet; the neurons whose followers must be added are a stack
 * (upstream drains its set completely before popping a follower, so the order of that draining
 * does not matter). Followers come from the committed index and from the round's neurons whose
 * followees changed (evaluated with their round version); index entries that the round made
 * stale are harmless, as each follower is evaluated with its own current followees.
 */
#include "gov_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- the reverse following index ----
 * (followee, topic) -> {a: count, b: fvec_t *}: the followers ascending by id, each with its
 * committed followee block (gext_t, immutable; a change of followees replaces the block and is
 * applied here at the same commit), so that the cascade reads a follower's lists without
 * looking the neuron up. */

#define FKEY 9

typedef struct {
    uint64_t id;
    const gext_t *ext;
} fent_t;

typedef struct {
    size_t n, cap;
    fent_t e[];
} fvec_t;

static void fkey(uint64_t followee, int32_t topic, uint8_t out[FKEY])
{
    key_u64(followee, out);
    out[8] = (uint8_t)topic;
}

/* Appends (build: sorted later) or inserts in order (commit) a follower; false on allocation
 * failure. */
static bool fadd(gov_t *g, uint64_t followee, int32_t topic, uint64_t follower, const gext_t *ext,
                 bool sorted)
{
    uint8_t k[FKEY];
    fkey(followee, topic, k);
    bool created;
    hval_t *v = hmap_put(&g->follow, k, &created);
    if (!v)
        return false;
    fvec_t *c = created || v->a == 0 ? NULL : (fvec_t *)(uintptr_t)v->b;
    if (!c) {
        c = malloc(sizeof *c + 2 * sizeof(fent_t));
        if (!c) {
            hmap_del(&g->follow, k);
            return false;
        }
        c->n = 0;
        c->cap = 2;
        v->b = (uint64_t)(uintptr_t)c;
    }
    size_t pos = c->n;
    if (sorted) {
        size_t lo = 0, hi = c->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (c->e[mid].id < follower)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < c->n && c->e[lo].id == follower) {
            c->e[lo].ext = ext;
            return true;
        }
        pos = lo;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap * 2;
        fvec_t *grown = realloc(c, sizeof *c + cap * sizeof(fent_t));
        if (!grown)
            return false;
        c = grown;
        c->cap = cap;
        v->b = (uint64_t)(uintptr_t)c;
    }
    memmove(&c->e[pos + 1], &c->e[pos], (c->n - pos) * sizeof(fent_t));
    c->e[pos] = (fent_t){follower, ext};
    c->n++;
    v->a = c->n;
    g->follow_entries++;
    return true;
}

static void fdel(gov_t *g, uint64_t followee, int32_t topic, uint64_t follower)
{
    uint8_t k[FKEY];
    fkey(followee, topic, k);
    hval_t *v = hmap_get(&g->follow, k);
    if (!v || v->a == 0)
        return;
    fvec_t *c = (fvec_t *)(uintptr_t)v->b;
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->e[mid].id < follower)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= c->n || c->e[lo].id != follower)
        return;
    memmove(&c->e[lo], &c->e[lo + 1], (c->n - lo - 1) * sizeof(fent_t));
    c->n--;
    g->follow_entries--;
    if (c->n == 0) {
        free(c);
        hmap_del(&g->follow, k);
        return;
    }
    v->a = c->n;
}

static int fent_cmp(const void *a, const void *b)
{
    uint64_t x = ((const fent_t *)a)->id, y = ((const fent_t *)b)->id;
    return x < y ? -1 : x > y;
}

void follow_free(gov_t *g)
{
    if (!g->follow.cap)
        return;
    for (size_t i = 0; i < g->follow.cap; i++)
        if (g->follow.used[i] && g->follow.vals[i].a > 0)
            free((void *)(uintptr_t)g->follow.vals[i].b);
    hmap_clear(&g->follow);
    g->follow_entries = 0;
}

static bool follow_ext(gov_t *g, uint64_t id, const gext_t *e, bool add, bool sorted)
{
    for (uint8_t t = 0; e && t < e->nfol; t++) {
        const gov_followees_t *l = &e->fol[t];
        if (l->topic == GOV_TOPIC_NEURON_MANAGEMENT)
            continue; /* no cascade on NeuronManagement: not indexed */
        for (uint8_t j = 0; j < l->n; j++) {
            if (add) {
                if (!fadd(g, l->ids[j], l->topic, id, e, sorted))
                    return false;
            } else {
                fdel(g, l->ids[j], l->topic, id);
            }
        }
    }
    return true;
}

bool follow_build(gov_t *g)
{
    follow_free(g);
    for (size_t i = 0; i < g->neurons.map.cap; i++) {
        const nrec_t *rec = table_slot(&g->neurons, i);
        if (rec && !follow_ext(g, rec->n.id, rec->ext, true, false))
            return false;
    }
    /* sort and deduplicate each follower list (duplicate followee ids are allowed) */
    uint64_t entries = 0;
    for (size_t i = 0; i < g->follow.cap; i++) {
        if (!g->follow.used[i])
            continue;
        hval_t *v = &g->follow.vals[i];
        fvec_t *c = (fvec_t *)(uintptr_t)v->b;
        qsort(c->e, c->n, sizeof(fent_t), fent_cmp);
        size_t u = 0;
        for (size_t j = 0; j < c->n; j++)
            if (u == 0 || c->e[u - 1].id != c->e[j].id)
                c->e[u++] = c->e[j];
        c->n = u;
        v->a = u;
        entries += u;
    }
    g->follow_entries = entries;
    return true;
}

void follow_commit(gov_t *g, const gov_round_t *r)
{
    for (size_t i = 0; i < r->neurons.n; i++) {
        const nrec_t *rec = overlay_rec(&r->neurons, i);
        const uint8_t *k = r->neurons.keys + i * 8;
        const nrec_t *old = table_get(&g->neurons, k);
        bool removed = r->neurons.removed[i];
        if (!removed && !rec->parts_changed)
            continue;
        if (old)
            follow_ext(g, old->n.id, old->ext, false, true);
        if (!removed && !follow_ext(g, rec->n.id, rec->ext, true, true))
            abort(); /* crash-only: the restart rebuilds the index */
    }
}

size_t follow_memory(const gov_t *g)
{
    size_t bytes = hmap_memory(&g->follow);
    for (size_t i = 0; i < g->follow.cap; i++)
        if (g->follow.used[i] && g->follow.vals[i].a > 0)
            bytes += sizeof(fvec_t) +
                     ((const fvec_t *)(uintptr_t)g->follow.vals[i].b)->cap * sizeof(fent_t);
    return bytes;
}

size_t gov_followers(gov_t *g, uint64_t followee, int32_t topic, uint64_t *out, size_t max)
{
    uint8_t k[FKEY];
    fkey(followee, topic, k);
    pthread_rwlock_rdlock(&g->lock);
    const hval_t *v = hmap_get(&g->follow, k);
    size_t n = v ? (size_t)v->a : 0;
    const fvec_t *c = n ? (const fvec_t *)(uintptr_t)v->b : NULL;
    for (size_t i = 0; i < n && i < max; i++)
        out[i] = c->e[i].id;
    pthread_rwlock_unlock(&g->lock);
    return n;
}

/* ---- the cascade ---- */

typedef struct {
    gov_round_t *r;
    rprop_t *rp;
    int32_t topic;
    uint64_t now;
    uint64_t *bits; /* followers to check, by ballot index */
    size_t nwords, lo, count;
    const gext_t **exts; /* per ballot index: the follower's committed followees, if known */
    bool lookup;         /* the round changed followees: look every follower up */
    uint64_t *stack;     /* neurons whose followers are to be added */
    size_t nstack, capstack;
    const nrec_t **dirty; /* the round's neurons with changed followees */
    size_t ndirty;
    uint64_t cid[256];
    long cidx[256];
    size_t changed;
    nns_error_t *err;
} cascade_t;

static bool mark_changed(rprop_t *rp, size_t idx, uint64_t now, nns_error_t *err)
{
    if (!rp->changed) {
        rp->changed = calloc((rp->p.nb + 7) / 8 + 1, 1);
        if (!rp->changed)
            return oom(err);
    }
    if (!((rp->changed[idx >> 3] >> (idx & 7)) & 1)) {
        rp->changed[idx >> 3] |= (uint8_t)(1u << (idx & 7));
        rp->nchanged++;
    }
    if (rp->nlog == rp->caplog) {
        size_t cap = rp->caplog ? rp->caplog * 2 : 64;
        uint32_t *ci = realloc(rp->cidx, cap * sizeof *ci);
        if (!ci)
            return oom(err);
        rp->cidx = ci;
        uint64_t *ct = realloc(rp->ctime, cap * sizeof *ct);
        if (!ct)
            return oom(err);
        rp->ctime = ct;
        rp->caplog = cap;
    }
    rp->cidx[rp->nlog] = (uint32_t)idx;
    rp->ctime[rp->nlog] = now;
    rp->nlog++;
    return true;
}

static bool cast(cascade_t *c, size_t idx, uint8_t vote)
{
    prop_t *p = &c->rp->p;
    p->bvote[idx] = vote;
    uint64_t vp = p->bvp[idx];
    if (vote == GOV_VOTE_YES)
        p->f.p.tally.yes += vp;
    else
        p->f.p.tally.no += vp;
    c->changed++;
    if (!mark_changed(c->rp, idx, c->now, c->err))
        return false;
    if (c->topic == GOV_TOPIC_NEURON_MANAGEMENT)
        return true; /* no cascade */
    if (c->nstack == c->capstack) {
        size_t cap = c->capstack ? c->capstack * 2 : 256;
        uint64_t *grown = realloc(c->stack, cap * sizeof *grown);
        if (!grown)
            return oom(c->err);
        c->stack = grown;
        c->capstack = cap;
    }
    c->stack[c->nstack++] = p->bid[idx];
    return true;
}

static void set_bit(cascade_t *c, size_t idx)
{
    size_t w = idx >> 6;
    uint64_t m = 1ULL << (idx & 63);
    if (c->bits[w] & m)
        return;
    c->bits[w] |= m;
    c->count++;
    if (w < c->lo)
        c->lo = w;
}

static long pop_min(cascade_t *c)
{
    if (c->count == 0)
        return -1;
    while (c->bits[c->lo] == 0)
        c->lo++;
    size_t idx = (c->lo << 6) + (size_t)__builtin_ctzll(c->bits[c->lo]);
    c->bits[c->lo] &= c->bits[c->lo] - 1;
    c->count--;
    return (long)idx;
}

/* Ballot index of a neuron (binary search, with a small cache for the repeated followees). */
static long ballot_of(cascade_t *c, uint64_t id)
{
    size_t h = (size_t)((id * 0x9E3779B97F4A7C15ULL) >> 56);
    if (c->cid[h] == id && id != 0)
        return c->cidx[h];
    long i = prop_ballot_index(&c->rp->p, id);
    c->cid[h] = id;
    c->cidx[h] = i;
    return i;
}

/* Adds the sorted followers to the set: a merge walk with galloping over the ballot ids. */
static void add_sorted(cascade_t *c, const fent_t *ids, size_t n)
{
    const prop_t *p = &c->rp->p;
    size_t pos = 0;
    for (size_t i = 0; i < n && pos < p->nb; i++) {
        uint64_t id = ids[i].id;
        if (p->bid[pos] < id) {
            size_t step = 1, hi = pos + 1;
            while (hi < p->nb && p->bid[hi] < id) {
                pos = hi;
                step *= 2;
                hi = pos + step;
            }
            if (hi > p->nb)
                hi = p->nb;
            size_t lo = pos + 1;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (p->bid[mid] < id)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            pos = lo;
        }
        if (pos < p->nb && p->bid[pos] == id && p->bvote[pos] == GOV_VOTE_UNSPECIFIED) {
            set_bit(c, pos);
            c->exts[pos] = ids[i].ext;
        }
    }
}

static const gov_followees_t *followees_of(const gext_t *e, int32_t topic)
{
    for (uint8_t i = 0; e && i < e->nfol; i++)
        if (e->fol[i].topic == topic)
            return &e->fol[i];
    return NULL;
}

static void add_followers(cascade_t *c, uint64_t voter)
{
    const gov_t *g = c->r->g;
    int32_t topics[2] = {c->topic, GOV_TOPIC_UNSPECIFIED};
    /* the catch-all is not used for Governance and SnsAndCommunityFund (spec 5) */
    int nt =
        c->topic == GOV_TOPIC_GOVERNANCE || c->topic == GOV_TOPIC_SNS_AND_COMMUNITY_FUND ? 1 : 2;
    for (int t = 0; t < nt; t++) {
        uint8_t k[FKEY];
        fkey(voter, topics[t], k);
        const hval_t *v = hmap_get(&g->follow, k);
        if (v && v->a)
            add_sorted(c, ((const fvec_t *)(uintptr_t)v->b)->e, (size_t)v->a);
        for (size_t d = 0; d < c->ndirty; d++) {
            const gov_followees_t *l = followees_of(c->dirty[d]->ext, topics[t]);
            for (uint8_t j = 0; l && j < l->n; j++)
                if (l->ids[j] == voter) {
                    long b = ballot_of(c, c->dirty[d]->n.id);
                    if (b >= 0 && c->rp->p.bvote[b] == GOV_VOTE_UNSPECIFIED) {
                        set_bit(c, (size_t)b);
                        c->exts[b] = c->dirty[d]->ext;
                    }
                    break;
                }
        }
    }
}

/* neuron/types.rs would_follow_ballots: the topic's list, else the catch-all's; yes when more
 * than half of the list voted yes, no when at least half voted no. */
static uint8_t would_follow(cascade_t *c, const gext_t *ext)
{
    const gov_followees_t *l = followees_of(ext, c->topic);
    if (!l)
        l = followees_of(ext, GOV_TOPIC_UNSPECIFIED);
    if (!l || l->n == 0)
        return GOV_VOTE_UNSPECIFIED;
    unsigned yes = 0, no = 0;
    for (uint8_t j = 0; j < l->n; j++) {
        long b = ballot_of(c, l->ids[j]);
        if (b < 0)
            continue;
        uint8_t v = c->rp->p.bvote[b];
        yes += v == GOV_VOTE_YES;
        no += v == GOV_VOTE_NO;
    }
    if (2 * yes > l->n)
        return GOV_VOTE_YES;
    if (2 * no >= l->n)
        return GOV_VOTE_NO;
    return GOV_VOTE_UNSPECIFIED;
}

bool cast_and_cascade(gov_round_t *r, rprop_t *rp, size_t idx, uint8_t vote, uint64_t now,
                      size_t *changed, nns_error_t *err)
{
    cascade_t *c = calloc(1, sizeof *c);
    if (!c)
        return oom(err);
    c->r = r;
    c->rp = rp;
    c->topic = rp->p.f.p.topic;
    c->now = now;
    c->err = err;
    bool ok = false;
    c->nwords = (rp->p.nb + 63) / 64 + 1;
    c->lo = c->nwords;
    c->bits = calloc(c->nwords, sizeof(uint64_t));
    c->exts = malloc((rp->p.nb + 1) * sizeof *c->exts);
    if (!c->bits || !c->exts) {
        oom(err);
        goto out;
    }
    if (c->topic != GOV_TOPIC_NEURON_MANAGEMENT && r->neurons.n) {
        c->dirty = malloc(r->neurons.n * sizeof *c->dirty);
        if (!c->dirty) {
            oom(err);
            goto out;
        }
        for (size_t i = 0; i < r->neurons.n; i++) {
            const nrec_t *rec = overlay_rec(&r->neurons, i);
            if (r->neurons.removed[i] || rec->parts_changed)
                c->lookup = true;
            if (!r->neurons.removed[i] && rec->parts_changed && rec->ext && rec->ext->nfol)
                c->dirty[c->ndirty++] = rec;
        }
    }
    if (!cast(c, idx, vote))
        goto out;
    for (;;) {
        while (c->nstack)
            add_followers(c, c->stack[--c->nstack]);
        long f = pop_min(c);
        if (f < 0)
            break;
        if (rp->p.bvote[f] != GOV_VOTE_UNSPECIFIED)
            continue; /* never overwritten */
        const gext_t *ext = c->exts[f];
        if (c->lookup) { /* the round's own version of the follower */
            uint8_t key[8];
            key_u64(rp->p.bid[f], key);
            const nrec_t *rec = overlay_lookup(&r->g->neurons, &r->neurons, key);
            if (!rec)
                continue; /* a ballot of a neuron gone since: it cannot vote */
            ext = rec->ext;
        }
        uint8_t v = would_follow(c, ext);
        if (v != GOV_VOTE_UNSPECIFIED && !cast(c, (size_t)f, v))
            goto out;
    }
    ok = true;
out:
    *changed = c->changed;
    free(c->bits);
    free(c->exts);
    free(c->stack);
    free(c->dirty);
    free(c);
    return ok;
}

/* ---- tally, wait-for-quiet, decision ---- */

/* ProposalData::evaluate_wait_for_quiet (spec 4.7). */
void wait_for_quiet(gov_proposal_t *p, const gov_tally_t *old, uint64_t now)
{
    if (!p->has_wait_for_quiet)
        return;
    const gov_tally_t *t = &p->tally;
    if (t->yes >= t->total / 2 + 1 || t->no >= (t->total + 1) / 2 ||
        now > p->wait_for_quiet_deadline_seconds)
        return;
    bool turned =
        (old->yes > old->no && t->yes <= t->no) || (old->yes <= old->no && t->yes > t->no);
    if (!turned)
        return;
    uint64_t elapsed = now - p->proposal_timestamp_seconds;
    uint64_t w = GOV_WAIT_FOR_QUIET_DEADLINE_INCREASE_SECONDS + p->voting_period_seconds / 2;
    uint64_t margin = w > elapsed / 2 ? w - elapsed / 2 : 0;
    uint64_t nd = now + margin;
    if (nd > p->wait_for_quiet_deadline_seconds)
        p->wait_for_quiet_deadline_seconds = nd;
}

/* ProposalData::can_make_decision (spec 4.8). */
bool can_decide(const gov_proposal_t *p, uint64_t now)
{
    const gov_tally_t *t = &p->tally;
    if (t->yes > t->total - t->yes || t->no >= t->total - t->no)
        return true;
    return now >= gov_proposal_deadline(p);
}

/* ProposalData::is_accepted. */
bool is_accepted(const gov_proposal_t *p)
{
    const gov_tally_t *t = &p->tally;
    if (!p->has_wait_for_quiet)
        return t->yes > t->total - t->yes;
    return (double)t->yes >= 0.03 * (double)t->total && t->yes > t->no;
}

/* governance.rs process_proposal: decided now when it can be; on adoption the reject cost is
 * refunded (not for ManageNeuron) and execution starts. */
bool process_proposal(gov_round_t *r, rprop_t *rp, uint64_t now, nns_error_t *err)
{
    gov_proposal_t *p = &rp->p.f.p;
    if (p->decided_timestamp_seconds != 0 || !can_decide(p, now))
        return true;
    p->decided_timestamp_seconds = now;
    if (!is_accepted(p))
        return true; /* rejected: the reject cost stays as fees (burned at disburse or merge) */
    if (p->reject_cost_e8s > 0) {
        static _Thread_local gov_neuron_full_t f;
        if (rget(r, p->proposer, &f) && f.n.neuron_fees_e8s >= p->reject_cost_e8s) {
            f.n.neuron_fees_e8s -= p->reject_cost_e8s;
            if (!rput(r, &f, false, err) ||
                !revent(r, f.n.id, "reject_cost_refunded", now, p->reject_cost_e8s, 0, err,
                        "proposal %llu adopted", (unsigned long long)p->id))
                return false;
        }
    }
    return execute_proposal(r, rp, now, err);
}

/* ---- register_vote ---- */

bool gov_apply_vote(gov_t *g, gov_round_t *r, const gov_vote_args_t *a, uint64_t now,
                    gov_vote_outcome_t *out, nns_error_t *err)
{
    (void)g;
    nns_error_clear(err);
    memset(out, 0, sizeof *out);
    static _Thread_local gov_neuron_full_t f;
    if (!rget(r, a->neuron_id, &f))
        return nns_error_set(err, 404, "NotFound", "neuron '%llu' not found",
                             (unsigned long long)a->neuron_id);
    const prop_t *cp = rprop_get(r, a->proposal_id);
    if (!cp)
        return nns_error_set(err, 404, "NotFound", "proposal %llu not found",
                             (unsigned long long)a->proposal_id);
    if (!gov_is_controller_or_hot_key(&f, &a->caller))
        return nns_error_set(err, 403, "NotAuthorized",
                             "the caller is not authorized to vote for neuron '%llu'",
                             (unsigned long long)a->neuron_id);
    if (a->vote != GOV_VOTE_YES && a->vote != GOV_VOTE_NO)
        return nns_error_set(err, 422, "PreconditionFailed", "the vote must be yes or no");
    if (now >= gov_proposal_deadline(&cp->f.p))
        return nns_error_set(err, 422, "PreconditionFailed", "Proposal deadline has passed.");
    long idx = cp->f.p.ballots_held ? prop_ballot_index(cp, a->neuron_id) : -1;
    if (idx < 0)
        return nns_error_set(err, 403, "NotAuthorized",
                             "neuron '%llu' is not authorized to vote on proposal %llu",
                             (unsigned long long)a->neuron_id, (unsigned long long)a->proposal_id);
    if (cp->bvote[idx] != GOV_VOTE_UNSPECIFIED)
        return nns_error_set(err, 409, "NeuronAlreadyVoted",
                             "neuron '%llu' already voted on proposal %llu",
                             (unsigned long long)a->neuron_id, (unsigned long long)a->proposal_id);
    rprop_t *rp = rprop_edit(r, a->proposal_id, true, err);
    if (!rp)
        return false;
    gov_proposal_t *p = &rp->p.f.p;
    gov_tally_t old = p->tally;
    size_t changed = 0;
    if (!cast_and_cascade(r, rp, (size_t)idx, (uint8_t)a->vote, now, &changed, err))
        return false;
    /* recompute_tally: a changed tally gets the time and may move the deadline */
    if (p->tally.yes != old.yes || p->tally.no != old.no) {
        p->tally.timestamp_seconds = now;
        wait_for_quiet(p, &old, now);
        if (!rtally_log(r, &rp->p, err))
            return false;
    }
    /* voting refreshes the voter's voting power (governance.rs register_vote) */
    f.n.voting_power_refreshed_timestamp_seconds = now;
    if (!rput(r, &f, false, err) || !process_proposal(r, rp, now, err))
        return false;
    out->proposal_id = p->id;
    out->neuron_id = a->neuron_id;
    out->vote = a->vote;
    out->latest_tally = p->tally;
    out->deadline_timestamp_seconds = gov_proposal_deadline(p);
    out->status = gov_proposal_status(p);
    out->ballots_changed = changed;
    return true;
}
