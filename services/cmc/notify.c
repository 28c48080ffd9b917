/*
 * notify: the notify flows (spec/cmc.md 3.3-3.5, 4, 5.2) as three commands: notify claims the
 * block and asks for it, block_fetched checks it and decides (burn or refund), transfer_done
 * finishes. Upstream's order (main.rs notify_top_up, notify_create_canister,
 * notify_mint_cycles, fetch_transaction, process_*, refund_icp, burn_and_log) is kept, except
 * that the block is claimed (Processing) before it is fetched; a repeated notify of a finished
 * block re-runs fetch_transaction's destination and memo checks on the stored block facts
 * before answering from the cache, as upstream does after fetching the block again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmc_internal.h"
#include "crypto.h"

#define NANOS 1000000000ULL

static bool oom(nns_error_t *err)
{
    return nns_error_set(err, 500, "OutOfMemory", "out of memory");
}

/* NotifyError::Other with its status by code (API.md). */
static bool other(nns_error_t *err, uint64_t code, const char *text)
{
    static const int status[] = {500, 500, 503, 503, 400, 403, 400};
    nns_error_set(err, code < 7 ? status[code] : 500, "Other", "%s", text);
    nns_error_add(err, "error_code", code);
    return false;
}

static bool invalid(nns_error_t *err, const char *text)
{
    return nns_error_set(err, 400, "InvalidTransaction", "%s", text);
}

static void refunded_error(const cmc_result_t *res, nns_error_t *err)
{
    nns_error_set(err, 422, "Refunded", "%s", res->reason);
    if (res->has_refund_block)
        nns_error_add(err, "refund_block_index", res->refund_block_index);
}

/* The principal whose subaccount receives the ICP of a notification (3.1). */
static const principal_t *subaccount_owner(const cmc_notify_args_t *a)
{
    switch (a->kind) {
    case CMC_NOTIFY_TOP_UP:
        return &a->canister_id;
    case CMC_NOTIFY_CREATE_CANISTER:
        return &a->controller;
    case CMC_NOTIFY_MINT_CYCLES:
        break;
    }
    return &a->caller;
}

static cmc_status_t status_of_kind(cmc_notify_kind_t kind)
{
    switch (kind) {
    case CMC_NOTIFY_TOP_UP:
        return CMC_STATUS_NOTIFIED_TOP_UP;
    case CMC_NOTIFY_CREATE_CANISTER:
        return CMC_STATUS_NOTIFIED_CREATE_CANISTER;
    case CMC_NOTIFY_MINT_CYCLES:
        break;
    }
    return CMC_STATUS_NOTIFIED_MINT;
}

static const char *intent_name(uint64_t memo)
{
    switch (memo) {
    case CMC_MEMO_CREATE_CANISTER:
        return "CreateCanister";
    case CMC_MEMO_TOP_UP_CANISTER:
        return "TopUp";
    case CMC_MEMO_MINT_CYCLES:
        return "MintCycles";
    default:
        return "unrecognized";
    }
}

static bool memo_mismatch(nns_error_t *err, uint64_t memo, uint64_t expected)
{
    return nns_error_set(err, 400, "InvalidTransaction",
                         "The memo (%s (%" PRIu64 ")) in the transaction does not match the "
                         "expected memo (%s (%" PRIu64 ")) for the operation.",
                         intent_name(memo), memo, intent_name(expected), expected);
}

static bool destination_mismatch(nns_error_t *err, const account_id_t *to,
                                 const cmc_notify_args_t *a)
{
    char hex[ACCOUNT_HEX_LEN + 1], sub[2 * SUBACCOUNT_BYTES + 1];
    uint8_t s[SUBACCOUNT_BYTES];
    account_id_to_hex(to, hex);
    subaccount_from_principal(subaccount_owner(a), s);
    for (int i = 0; i < SUBACCOUNT_BYTES; i++)
        snprintf(sub + 2 * i, 3, "%02x", s[i]);
    return nns_error_set(err, 400, "InvalidTransaction",
                         "Destination account in the block (%s) different than in the "
                         "notification (%s)",
                         hex, sub);
}

static void auto_refund_reason(uint64_t memo, char out[CMC_REASON_MAX])
{
    snprintf(out, CMC_REASON_MAX,
             "Memo (0x%" PRIx64 ") in the incoming ICP transfer does not correspond to any of "
             "the operations that the Cycles Minting canister offers.",
             memo);
}

/* ---- records of the round ---- */

static bool note_get(const cmc_t *c, const cmc_round_t *r, uint64_t block,
                     cmc_notification_t *out)
{
    if (block <= core_of(c, r)->last_purged)
        return false;
    uint8_t key[8];
    u64_key(block, key);
    return overlay_lookup_read(&c->notes, &r->notes, key, out);
}

/* Writes (or, with status NONE, removes) a status; keeps the round's count. Statuses at or
 * below the horizon are not written (a purge overtook them). */
static bool note_put(const cmc_t *c, cmc_round_t *r, const cmc_notification_t *n)
{
    if (n->block_index <= core_of(c, r)->last_purged)
        return true;
    uint8_t key[8];
    u64_key(n->block_index, key);
    long o = overlay_find(&r->notes, key);
    bool existed = o >= 0 ? !r->notes.removed[o] : table_get(&c->notes, key) != NULL;
    bool removing = n->status == CMC_STATUS_NONE;
    if (!overlay_set(&r->notes, key, n, removing))
        return false;
    if (existed && removing)
        r->notes_live--;
    else if (!existed && !removing)
        r->notes_live++;
    return true;
}

static bool note_remove(const cmc_t *c, cmc_round_t *r, uint64_t block)
{
    cmc_notification_t n;
    memset(&n, 0, sizeof n);
    n.block_index = block;
    n.status = CMC_STATUS_NONE;
    return note_put(c, r, &n);
}

static bool pending_get(const cmc_t *c, const cmc_round_t *r, uint64_t block, cmc_pending_t *out)
{
    uint8_t key[8];
    u64_key(block, key);
    const cmc_pending_t *p = overlay_lookup(&c->pending, &r->pending, key);
    if (p)
        *out = *p;
    return p != NULL;
}

static bool pending_put(cmc_round_t *r, const cmc_pending_t *p, bool removed)
{
    uint8_t key[8];
    u64_key(p->block_index, key);
    return overlay_set(&r->pending, key, p, removed);
}

/* A new intent: id from the counter, created_at_time = now + its sequence number in the round. */
static bool emit(cmc_round_t *r, cmc_intent_t *i, uint64_t now)
{
    core_t *k = round_core(r);
    if (!k)
        return false;
    if (r->nfresh == r->capfresh) {
        size_t cap = r->capfresh ? r->capfresh * 2 : 16;
        cmc_intent_t *f = realloc(r->fresh, cap * sizeof *f);
        if (!f)
            return false;
        r->fresh = f;
        r->capfresh = cap;
    }
    i->id = k->next_intent_id;
    i->created_at_time = now + r->seq;
    if (i->created_at_time <= k->last_created_at)
        i->created_at_time = k->last_created_at + 1;
    uint8_t key[8];
    u64_key(i->id, key);
    if (!overlay_set(&r->intents, key, i, false))
        return false;
    k->next_intent_id++;
    k->last_created_at = i->created_at_time;
    r->seq++;
    r->fresh[r->nfresh++] = *i;
    return true;
}

static bool emit_transfer(const cmc_t *c, cmc_round_t *r, const cmc_pending_t *p,
                          cmc_purpose_t purpose, const account_id_t *to, uint64_t amount,
                          uint64_t fee, uint64_t now, uint64_t *id)
{
    cmc_intent_t i;
    memset(&i, 0, sizeof i);
    i.kind = CMC_INTENT_TRANSFER;
    i.purpose = purpose;
    i.block_index = p->block_index;
    subaccount_from_principal(subaccount_owner(&p->args), i.from_subaccount);
    i.to = *to;
    i.amount = amount;
    i.fee = fee;
    i.memo = 0;
    (void)c;
    if (!emit(r, &i, now))
        return false;
    if (id)
        *id = i.id;
    return true;
}

/* burn_and_log: skipped below the minimum burn or without a minting account. */
static bool burn(const cmc_t *c, cmc_round_t *r, const cmc_pending_t *p, cmc_purpose_t purpose,
                 uint64_t amount, uint64_t now, bool *emitted, uint64_t *id)
{
    *emitted = false;
    if (amount < CMC_TRANSFER_FEE || !c->cfg.has_minting_account)
        return true;
    *emitted = true;
    return emit_transfer(c, r, p, purpose, &c->cfg.minting_account, amount, 0, now, id);
}

static bool finish_intent(cmc_round_t *r, const cmc_intent_t *i)
{
    if (r->nfinished == r->capfinished) {
        size_t cap = r->capfinished ? r->capfinished * 2 : 16;
        uint64_t *f = realloc(r->finished, cap * sizeof *f);
        if (!f)
            return false;
        r->finished = f;
        r->capfinished = cap;
    }
    uint8_t key[8];
    u64_key(i->id, key);
    if (!overlay_set(&r->intents, key, i, true))
        return false;
    r->finished[r->nfinished++] = i->id;
    return true;
}

/* Ends a notification with an error that is not cached: the status goes, so the user may retry
 * (3.3 step 5). */
static bool release(const cmc_t *c, cmc_round_t *r, const cmc_pending_t *p, cmc_outcome_t *out,
                    nns_error_t *err)
{
    if (!note_remove(c, r, p->block_index) || !pending_put(r, p, true))
        return oom(err);
    out->finished = true;
    out->ok = false;
    return true;
}

/* Caches a finished notification and ends the flow. */
static bool conclude(const cmc_t *c, cmc_round_t *r, const cmc_pending_t *p, cmc_status_t status,
                     const cmc_result_t *res, cmc_outcome_t *out, nns_error_t *err)
{
    cmc_notification_t n;
    memset(&n, 0, sizeof n);
    n.block_index = p->block_index;
    n.status = status;
    n.kind = p->args.kind;
    n.has_block = true;
    n.to = p->to;
    n.memo = p->memo;
    n.result = *res;
    if (!note_put(c, r, &n) || !pending_put(r, p, true))
        return oom(err);
    out->finished = true;
    out->ok = !res->refunded;
    out->result = *res;
    if (res->refunded)
        refunded_error(res, &out->error);
    return true;
}

/* ---- step 1: notify ---- */

/* main.rs authorize_caller_to_call_notify_create_canister_on_behalf_of_creator, get_subnet_selection
 * and the deposit memo check of notify_mint_cycles. */
static bool prechecks(const cmc_notify_args_t *a, nns_error_t *err)
{
    char text[2 * PRINCIPAL_TEXT_MAX + 160];
    if (a->kind == CMC_NOTIFY_CREATE_CANISTER) {
        principal_t dapp, test_dapp;
        principal_canister(CMC_NNS_DAPP_INDEX, &dapp);
        principal_canister(CMC_TEST_NNS_DAPP_INDEX, &test_dapp);
        if (!principal_equal(&a->caller, &a->controller) && !principal_equal(&a->caller, &dapp) &&
            !principal_equal(&a->caller, &test_dapp)) {
            char ct[PRINCIPAL_TEXT_MAX], cr[PRINCIPAL_TEXT_MAX];
            principal_to_text(&a->caller, ct);
            principal_to_text(&a->controller, cr);
            snprintf(text, sizeof text,
                     "%s is not authorized to call notify_create_canister on behalf of %s. (Do "
                     "not retry, because the same result will occur.)",
                     ct, cr);
            return other(err, CMC_OTHER_UNAUTHORIZED, text);
        }
        if (a->has_subnet_type && a->select != CMC_SELECT_NONE)
            return other(err, CMC_OTHER_BAD_SUBNET_SELECTION,
                         "Cannot specify subnet_type and subnet_selection at the same time.");
        if (a->has_settings && a->has_controllers && a->ncontrollers > CMC_MAX_CONTROLLERS)
            return nns_error_set(err, 400, "InvalidSettings",
                                 "settings may name at most %d controllers",
                                 CMC_MAX_CONTROLLERS);
    }
    if (a->kind == CMC_NOTIFY_MINT_CYCLES && a->has_deposit_memo &&
        a->deposit_memo_len > CMC_DEPOSIT_MEMO_MAX) {
        snprintf(text, sizeof text, "Memo length %zu exceeds the maximum length of %d",
                 a->deposit_memo_len, CMC_DEPOSIT_MEMO_MAX);
        return other(err, CMC_OTHER_DEPOSIT_MEMO_TOO_LONG, text);
    }
    if (a->kind != CMC_NOTIFY_TOP_UP && a->kind != CMC_NOTIFY_CREATE_CANISTER &&
        a->kind != CMC_NOTIFY_MINT_CYCLES)
        return nns_error_set(err, 400, "InvalidArgument", "unknown notify kind %d", (int)a->kind);
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool note_live(const cmc_t *c, const cmc_round_t *r, uint64_t block)
{
    uint8_t key[8];
    u64_key(block, key);
    long o = overlay_find(&r->notes, key);
    return o >= 0 ? !r->notes.removed[o] : table_get(&c->notes, key) != NULL;
}

/* The k-th smallest status above the horizon, found by walking up the block indexes: cheap in
 * the steady state (a full map purges one status per notify, and notified blocks are not far
 * apart); false when the walk gives up. */
static bool walk_to_kth(const cmc_t *c, const cmc_round_t *r, uint64_t horizon, size_t k,
                        uint64_t *kth)
{
    uint64_t budget = 4096 + 64 * (uint64_t)k;
    size_t found = 0;
    for (uint64_t b = horizon + 1; b != 0 && budget > 0; b++, budget--)
        if (note_live(c, r, b) && ++found == k) {
            *kth = b;
            return true;
        }
    return false;
}

/* main.rs State::purge_old_notifications: while more than max statuses are kept, drop the
 * smallest block index, at most max_purge per call; the horizon only grows. */
static bool purge_old_notifications(cmc_t *c, cmc_round_t *r)
{
    size_t max = c->cfg.max_notifications;
    if (r->notes_live <= max)
        return true;
    uint64_t horizon = core_of(c, r)->last_purged;
    size_t want = r->notes_live - max < c->cfg.max_purge ? r->notes_live - max
                                                         : c->cfg.max_purge;
    uint64_t kth;
    if (want > 0 && walk_to_kth(c, r, horizon, want, &kth)) {
        core_t *core = round_core(r);
        if (!core)
            return false;
        core->last_purged = kth;
        r->purged = true;
        r->notes_live -= want;
        return true;
    }
    uint64_t *keys = malloc(r->notes_live * sizeof *keys);
    if (!keys)
        return false;
    size_t n = 0;
    for (size_t i = 0; i < c->notes.map.cap && n < r->notes_live; i++) {
        const cmc_notification_t *rec = table_slot(&c->notes, i);
        if (!rec || rec->block_index <= horizon)
            continue;
        uint8_t key[8];
        u64_key(rec->block_index, key);
        long o = overlay_find(&r->notes, key);
        if (o >= 0 && r->notes.removed[o])
            continue;
        keys[n++] = rec->block_index;
    }
    for (size_t i = 0; i < r->notes.n && n < r->notes_live; i++) {
        const cmc_notification_t *rec = overlay_rec(&r->notes, i);
        if (r->notes.removed[i] || rec->block_index <= horizon)
            continue;
        uint8_t key[8];
        u64_key(rec->block_index, key);
        if (table_get(&c->notes, key))
            continue; /* counted above */
        keys[n++] = rec->block_index;
    }
    size_t k = 0;
    if (n > max) {
        qsort(keys, n, sizeof *keys, cmp_u64);
        k = n - max < c->cfg.max_purge ? n - max : c->cfg.max_purge;
    }
    if (k > 0) {
        core_t *core = round_core(r);
        if (!core) {
            free(keys);
            return false;
        }
        if (keys[k - 1] > core->last_purged)
            core->last_purged = keys[k - 1];
        r->purged = true;
    }
    r->notes_live = n - k;
    free(keys);
    return true;
}

bool cmc_apply_notify(cmc_t *c, cmc_round_t *r, const cmc_notify_args_t *a, uint64_t now,
                      cmc_outcome_t *out, nns_error_t *err)
{
    memset(out, 0, sizeof *out);
    out->kind = a->kind;
    out->block_index = a->block_index;
    if (!prechecks(a, err))
        return false;
    if (!purge_old_notifications(c, r))
        return oom(err);
    uint64_t horizon = core_of(c, r)->last_purged;
    if (a->block_index <= horizon) {
        nns_error_set(err, 422, "TransactionTooOld",
                      "block %" PRIu64 " is at or below the purge horizon; the oldest block "
                      "that can be notified is %" PRIu64,
                      a->block_index, horizon + 1);
        nns_error_add(err, "block_index", horizon + 1);
        return false;
    }
    cmc_notification_t n;
    if (note_get(c, r, a->block_index, &n)) {
        if (n.status == CMC_STATUS_PROCESSING)
            return nns_error_set(err, 409, "Processing", "block %" PRIu64 " is being processed",
                                 a->block_index);
        account_id_t expected;
        cmc_deposit_account(&c->cfg, subaccount_owner(a), &expected);
        if (n.has_block && !account_id_equal(&n.to, &expected))
            return destination_mismatch(err, &n.to, a);
        if (n.status == CMC_STATUS_NOT_MEANINGFUL_MEMO) {
            refunded_error(&n.result, err);
            out->finished = true;
            out->result = n.result;
            return false;
        }
        if (n.has_block && n.memo != cmc_memo_of(a->kind))
            return memo_mismatch(err, n.memo, cmc_memo_of(a->kind));
        if (n.status == status_of_kind(a->kind)) {
            out->finished = true;
            out->result = n.result;
            if (n.result.refunded) {
                refunded_error(&n.result, err);
                return false;
            }
            out->ok = true;
            return true;
        }
        const char *as = n.status == CMC_STATUS_NOTIFIED_TOP_UP ? "a top up request"
                         : n.status == CMC_STATUS_NOTIFIED_CREATE_CANISTER
                             ? "a create canister request"
                             : "a mint request";
        return nns_error_set(err, 400, "InvalidTransaction",
                             "The same payment is already processed as %s.", as);
    }
    /* claim the block and ask for it */
    memset(&n, 0, sizeof n);
    n.block_index = a->block_index;
    n.status = CMC_STATUS_PROCESSING;
    n.kind = a->kind;
    cmc_pending_t p;
    memset(&p, 0, sizeof p);
    p.block_index = a->block_index;
    p.args = *a;
    p.phase = CMC_PHASE_FETCH;
    cmc_intent_t i;
    memset(&i, 0, sizeof i);
    i.kind = CMC_INTENT_FETCH_BLOCK;
    i.block_index = a->block_index;
    if (!emit(r, &i, now))
        return oom(err);
    p.intent_id = i.id;
    if (!note_put(c, r, &n) || !pending_put(r, &p, false))
        return oom(err);
    out->intent_id = i.id;
    return true;
}

/* ---- step 2: the block ---- */

/* main.rs ensure_balance: only the cycles the cmc does not hold yet are minted, checked against
 * and added to the limiter and to the total. */
static bool ensure_balance(cmc_t *c, cmc_round_t *r, cmc_cycles_t cycles, bool src,
                           uint64_t now, char reason[CMC_REASON_MAX], bool *fail)
{
    core_t *k = round_core(r);
    if (!k)
        return false;
    *fail = false;
    cmc_cycles_t to_mint = cycles > k->held ? cycles - k->held : 0;
    cmc_limiter_t *l = src ? &k->src : &k->base;
    cmc_cycles_t limit = src ? c->cfg.src_cycles_limit : c->cfg.cycles_limit;
    r->limiter_dirty = true;
    if (!cmc_limiter_check_and_add(l, now / NANOS, to_mint, limit)) {
        char lt[40];
        k->limiter_rejects++;
        snprintf(reason, CMC_REASON_MAX,
                 "More than %s cycles have been minted in the last %" PRIu64
                 " seconds, please try again later.",
                 u128_text(limit, lt), l->max_age);
        *fail = true;
        return true;
    }
    k->total_minted += to_mint;
    k->held += to_mint;
    return true;
}

/* main.rs process_top_up / process_create_canister / process_mint_cycles up to the deposit or
 * creation, which happen here in the registry after the burn (transfer_done). Returns false on
 * allocation failure; *fail with reason when the operation fails (then refunded). */
static bool process(cmc_t *c, cmc_round_t *r, cmc_pending_t *p, uint64_t now,
                    char reason[CMC_REASON_MAX], bool *fail)
{
    const cmc_notify_args_t *a = &p->args;
    char lt[40], ft[40];
    *fail = false;
    switch (a->kind) {
    case CMC_NOTIFY_TOP_UP: {
        principal_t src;
        principal_canister(CMC_SUBNET_RENTAL_INDEX, &src);
        bool use_src =
            principal_equal(&a->caller, &src) && principal_equal(&a->canister_id, &src);
        if (!ensure_balance(c, r, p->cycles, use_src, now, reason, fail))
            return false;
        if (*fail)
            return true;
        uint8_t key[32];
        principal_key(&a->canister_id, key);
        if (!overlay_lookup(&c->canisters, &r->canisters, key)) {
            char t[PRINCIPAL_TEXT_MAX];
            principal_to_text(&a->canister_id, t);
            snprintf(reason, CMC_REASON_MAX,
                     "Depositing cycles failed with code 3: \"Canister %s not found\"", t);
            *fail = true;
        }
        return true;
    }
    case CMC_NOTIFY_CREATE_CANISTER: {
        uint8_t seed_in[16], digest[32];
        for (int i = 0; i < 8; i++) {
            seed_in[i] = (uint8_t)(a->block_index >> (56 - 8 * i));
            seed_in[8 + i] = (uint8_t)(now >> (56 - 8 * i));
        }
        sha256(seed_in, sizeof seed_in, digest);
        uint64_t seed = 0;
        for (int i = 0; i < 8; i++)
            seed = seed << 8 | digest[i];
        if (!subnets_choose(subnets_of(c, r), a, seed, &p->subnet, reason)) {
            *fail = true;
            return true;
        }
        if (!ensure_balance(c, r, p->cycles, false, now, reason, fail))
            return false;
        if (*fail)
            return true;
        if (p->cycles < c->cfg.creation_fee) {
            char st[PRINCIPAL_TEXT_MAX];
            principal_to_text(&p->subnet, st);
            snprintf(reason, CMC_REASON_MAX,
                     "Creating canister in subnet %s failed with code 4: creating a canister "
                     "requires %s cycles, %s were attached",
                     st, u128_text(c->cfg.creation_fee, ft), u128_text(p->cycles, lt));
            *fail = true;
        }
        return true;
    }
    case CMC_NOTIFY_MINT_CYCLES:
        if (!c->cfg.has_cycles_ledger) {
            snprintf(reason, CMC_REASON_MAX, "No cycles ledger canister id configured.");
            *fail = true;
            return true;
        }
        if (!ensure_balance(c, r, p->cycles, false, now, reason, fail))
            return false;
        if (*fail)
            return true;
        if (p->cycles < c->cfg.cycles_ledger_fee) {
            snprintf(reason, CMC_REASON_MAX,
                     "Cycles ledger rejected deposit call with code 4: The requested amount %s "
                     "to be deposited is less than the cycles ledger fee: %s",
                     u128_text(p->cycles, lt), u128_text(c->cfg.cycles_ledger_fee, ft));
            *fail = true;
        }
        return true;
    }
    return true;
}

/* The cycles go where the notification said (after the burn): the canister, a new canister or
 * the cycles-ledger account. They left the cmc's held balance when the block was processed. */
static bool credit(cmc_t *c, cmc_round_t *r, const cmc_pending_t *p, uint64_t now,
                   cmc_result_t *res)
{
    core_t *k = round_core(r);
    if (!k)
        return false;
    const cmc_notify_args_t *a = &p->args;
    memset(res, 0, sizeof *res);
    uint8_t key[32];
    switch (a->kind) {
    case CMC_NOTIFY_TOP_UP: {
        principal_key(&a->canister_id, key);
        const cmc_canister_t *cur = overlay_lookup(&c->canisters, &r->canisters, key);
        cmc_canister_t can;
        if (cur) {
            can = *cur;
        } else { /* unreachable: the canister was checked when the block came */
            memset(&can, 0, sizeof can);
            can.canister_id = a->canister_id;
        }
        can.cycles += p->cycles;
        if (!overlay_set(&r->canisters, key, &can, false))
            return false;
        res->cycles = p->cycles;
        return true;
    }
    case CMC_NOTIFY_CREATE_CANISTER: {
        cmc_canister_t can;
        memset(&can, 0, sizeof can);
        if (!subnets_allocate_id(r, &p->subnet, &can.canister_id))
            return false;
        can.subnet = p->subnet;
        /* 5.2 step 5: settings without controllers, or none, mean [controller] */
        if (a->has_settings && a->has_controllers) {
            can.ncontrollers = a->ncontrollers;
            memcpy(can.controllers, a->controllers, a->ncontrollers * sizeof(principal_t));
        } else {
            can.ncontrollers = 1;
            can.controllers[0] = a->controller;
        }
        can.cycles = p->cycles - c->cfg.creation_fee;
        can.created_at = now;
        principal_key(&can.canister_id, key);
        if (!overlay_set(&r->canisters, key, &can, false))
            return false;
        res->canister_id = can.canister_id;
        return true;
    }
    case CMC_NOTIFY_MINT_CYCLES: {
        const uint8_t *sub = a->has_to_subaccount ? a->to_subaccount : NULL;
        account_key(&a->caller, sub, key);
        const cmc_cycles_account_t *cur = overlay_lookup(&c->accounts, &r->accounts, key);
        cmc_cycles_account_t acc;
        if (cur) {
            acc = *cur;
        } else {
            memset(&acc, 0, sizeof acc);
            acc.account.owner = a->caller;
            if (sub)
                memcpy(acc.account.subaccount, sub, SUBACCOUNT_BYTES);
        }
        acc.balance += p->cycles - c->cfg.cycles_ledger_fee;
        if (!overlay_set(&r->accounts, key, &acc, false))
            return false;
        res->mint_block_index = k->cycles_ledger_blocks++;
        res->minted = p->cycles;
        res->balance = acc.balance;
        return true;
    }
    }
    return true;
}

/* The Refunded result of a notification whose refund (if any) and burn (if any) have ended. */
static bool conclude_refunded(const cmc_t *c, cmc_round_t *r, const cmc_pending_t *p,
                              cmc_outcome_t *out, nns_error_t *err)
{
    cmc_result_t res;
    memset(&res, 0, sizeof res);
    res.refunded = true;
    res.has_refund_block = p->has_refund_block;
    res.refund_block_index = p->refund_block_index;
    snprintf(res.reason, sizeof res.reason, "%s", p->reason);
    return conclude(c, r, p,
                    p->auto_refund ? CMC_STATUS_NOT_MEANINGFUL_MEMO : status_of_kind(p->args.kind),
                    &res, out, err);
}

/* main.rs refund_icp, after the refund (if any) succeeded: `burned` (the extra fee, or the whole
 * amount when nothing was refunded) goes through burn_and_log, which refund_icp awaits before it
 * returns, so the Refunded answer waits for the burn's end (phase BURN_FEE); a burn that is
 * skipped (below the minimum burn, or no minting account) concludes at once. */
static bool burn_then_conclude(cmc_t *c, cmc_round_t *r, cmc_pending_t *p, uint64_t burned,
                               uint64_t now, cmc_outcome_t *out, nns_error_t *err)
{
    bool emitted = false;
    uint64_t id = 0;
    if (burned > 0 && !burn(c, r, p, CMC_PURPOSE_BURN_REST, burned, now, &emitted, &id))
        return oom(err);
    if (!emitted)
        return conclude_refunded(c, r, p, out, err);
    p->phase = CMC_PHASE_BURN_FEE;
    p->intent_id = id;
    if (!pending_put(r, p, false))
        return oom(err);
    out->finished = false;
    out->intent_id = id;
    return true;
}

/* main.rs refund_icp: the refund (if any) now, the extra fee burned after it succeeds; with
 * nothing to refund, the whole amount is burned. Either way the Refunded result is final once
 * the burn ended (burn_then_conclude). */
static bool start_refund(cmc_t *c, cmc_round_t *r, cmc_pending_t *p, uint64_t extra_fee,
                         const char *reason, uint64_t now, cmc_outcome_t *out, nns_error_t *err)
{
    uint64_t refund, burned;
    cmc_refund_split(p->amount, extra_fee, &refund, &burned);
    snprintf(p->reason, sizeof p->reason, "%s", reason);
    p->extra_fee = extra_fee;
    p->has_refund_block = false;
    p->refund_block_index = 0;
    if (refund > 0) {
        p->phase = CMC_PHASE_REFUND;
        if (!emit_transfer(c, r, p, CMC_PURPOSE_REFUND, &p->from, refund, CMC_TRANSFER_FEE, now,
                           &p->intent_id) ||
            !pending_put(r, p, false))
            return oom(err);
        out->intent_id = p->intent_id;
        return true;
    }
    return burn_then_conclude(c, r, p, burned, now, out, err);
}

static uint64_t refund_fee(cmc_notify_kind_t kind)
{
    return kind == CMC_NOTIFY_CREATE_CANISTER ? CMC_CREATE_REFUND_FEE
           : kind == CMC_NOTIFY_TOP_UP        ? CMC_TOP_UP_REFUND_FEE
                                              : CMC_MINT_REFUND_FEE;
}

static bool take_intent(cmc_t *c, cmc_round_t *r, uint64_t id, cmc_intent_kind_t kind,
                        cmc_intent_t *out, nns_error_t *err)
{
    uint8_t key[8];
    u64_key(id, key);
    const cmc_intent_t *i = overlay_lookup(&c->intents, &r->intents, key);
    if (!i)
        return nns_error_set(err, 404, "UnknownIntent",
                             "intent %" PRIu64 " is unknown or already finished", id);
    if (i->kind != kind)
        return nns_error_set(err, 409, "WrongIntent", "intent %" PRIu64 " is a %s", id,
                             i->kind == CMC_INTENT_FETCH_BLOCK ? "block fetch" : "transfer");
    *out = *i;
    return true;
}

bool cmc_apply_block_fetched(cmc_t *c, cmc_round_t *r, uint64_t intent_id,
                             const cmc_fetched_block_t *b, uint64_t now, cmc_outcome_t *out,
                             nns_error_t *err)
{
    memset(out, 0, sizeof *out);
    cmc_intent_t i;
    cmc_pending_t p;
    if (!take_intent(c, r, intent_id, CMC_INTENT_FETCH_BLOCK, &i, err))
        return false;
    if (!pending_get(c, r, i.block_index, &p) || p.phase != CMC_PHASE_FETCH ||
        p.intent_id != intent_id)
        return nns_error_set(err, 409, "WrongIntent",
                             "block %" PRIu64 " is not waiting for intent %" PRIu64,
                             i.block_index, intent_id);
    if (!finish_intent(r, &i))
        return oom(err);
    out->kind = p.args.kind;
    out->block_index = p.block_index;
    nns_error_t *e = &out->error;
    char text[CMC_REASON_MAX];

    /* fetch_transaction */
    if (b->status == CMC_BLOCK_NOT_FOUND) {
        snprintf(text, sizeof text, "Block %" PRIu64 " not found", p.block_index);
        invalid(e, text);
        return release(c, r, &p, out, err);
    }
    if (b->status != CMC_BLOCK_FOUND) {
        snprintf(text, sizeof text, "Failed to fetch block: %s", b->fetch_error);
        other(e, CMC_OTHER_FAILED_TO_FETCH_BLOCK, text);
        return release(c, r, &p, out, err);
    }
    if (b->op != CMC_OP_TRANSFER) {
        invalid(e, "Notification transaction must be of type Transfer");
        return release(c, r, &p, out, err);
    }
    account_id_t expected;
    cmc_deposit_account(&c->cfg, subaccount_owner(&p.args), &expected);
    if (!account_id_equal(&b->to, &expected)) {
        destination_mismatch(e, &b->to, &p.args);
        return release(c, r, &p, out, err);
    }
    uint64_t memo =
        cmc_effective_memo(b->memo, b->has_icrc1_memo, b->icrc1_memo_len, b->icrc1_memo);
    p.from = b->from;
    p.to = b->to;
    p.memo = memo;
    p.amount = b->amount;
    if (!cmc_memo_is_meaningful(memo)) {
        /* 3.5: automatic refund with no extra fee */
        p.auto_refund = true;
        auto_refund_reason(memo, text);
        return start_refund(c, r, &p, 0, text, now, out, err);
    }
    if (memo != cmc_memo_of(p.args.kind)) {
        memo_mismatch(e, memo, cmc_memo_of(p.args.kind));
        return release(c, r, &p, out, err);
    }

    /* process */
    const core_t *k = core_of(c, r);
    p.cycles = cmc_to_cycles(p.amount, k->rate.xdr_permyriad_per_icp, c->cfg.cycles_per_xdr);
    bool fail;
    if (!process(c, r, &p, now, text, &fail))
        return oom(err);
    if (fail)
        return start_refund(c, r, &p, refund_fee(p.args.kind), text, now, out, err);
    /* the cycles leave the cmc's balance with the deposit or creation call (they are this
     * notification's now, whatever becomes of the burn); on a failure above they stayed */
    core_t *held = round_core(r);
    if (!held)
        return oom(err);
    held->held -= p.cycles; /* ensure_balance made held >= cycles */
    bool emitted;
    p.phase = CMC_PHASE_BURN;
    if (!burn(c, r, &p, CMC_PURPOSE_BURN, p.amount, now, &emitted, &p.intent_id))
        return oom(err);
    if (emitted) {
        if (!pending_put(r, &p, false))
            return oom(err);
        out->intent_id = p.intent_id;
        return true;
    }
    cmc_result_t res;
    if (!credit(c, r, &p, now, &res))
        return oom(err);
    return conclude(c, r, &p, status_of_kind(p.args.kind), &res, out, err);
}

/* ---- step 3: the transfer ---- */

bool cmc_apply_transfer_done(cmc_t *c, cmc_round_t *r, uint64_t intent_id,
                             const cmc_transfer_result_t *res, uint64_t now, cmc_outcome_t *out,
                             nns_error_t *err)
{
    memset(out, 0, sizeof *out);
    cmc_intent_t i;
    if (!take_intent(c, r, intent_id, CMC_INTENT_TRANSFER, &i, err))
        return false;
    if (i.purpose == CMC_PURPOSE_BURN_REST) {
        /* burn errors are only logged upstream (burn_and_log): the notification waiting for
         * this burn ends Refunded either way. An intent no notification waits for (recorded
         * before answers waited for the burn) just ends. */
        cmc_pending_t p;
        if (!finish_intent(r, &i))
            return oom(err);
        if (!pending_get(c, r, i.block_index, &p) || p.phase != CMC_PHASE_BURN_FEE ||
            p.intent_id != intent_id)
            return true;
        out->kind = p.args.kind;
        out->block_index = p.block_index;
        return conclude_refunded(c, r, &p, out, err);
    }
    cmc_pending_t p;
    if (!pending_get(c, r, i.block_index, &p) || p.intent_id != intent_id)
        return nns_error_set(err, 409, "WrongIntent",
                             "block %" PRIu64 " is not waiting for intent %" PRIu64,
                             i.block_index, intent_id);
    if (!finish_intent(r, &i))
        return oom(err);
    out->kind = p.args.kind;
    out->block_index = p.block_index;
    if (i.purpose == CMC_PURPOSE_BURN) {
        /* a failed burn is only logged upstream: the notification succeeds either way */
        cmc_result_t result;
        if (!credit(c, r, &p, now, &result))
            return oom(err);
        return conclude(c, r, &p, status_of_kind(p.args.kind), &result, out, err);
    }
    /* the refund */
    if (!res->ok) {
        char hex[ACCOUNT_HEX_LEN + 1], text[CMC_REASON_MAX + 64];
        account_id_to_hex(&i.to, hex);
        snprintf(text, sizeof text, "Refund to %s failed with code %" PRId64 ": %s", hex,
                 res->error_code, res->error);
        other(&out->error, CMC_OTHER_REFUND_FAILED, text);
        return release(c, r, &p, out, err);
    }
    p.has_refund_block = true;
    p.refund_block_index = res->block_index;
    return burn_then_conclude(c, r, &p, p.extra_fee, now, out, err);
}
