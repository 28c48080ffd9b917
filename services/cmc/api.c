#include "api.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "body.h"
#include "call.h"
#include "clock.h"
#include "cmc.h"
#include "crypto.h"
#include "hex.h"
#include "jsonutil.h"
#include "log.h"
#include "render.h"
#include "store.h"

#define MAX_SUBNETS 100         /* subnets in one governance request */
#define RATE_HISTORY_LIMIT 1000 /* days in one page of the rate history */
#define RESUBMIT_NANOS                                                                             \
    30000000000ULL /* an intent submitted and not answered this long is                            \
                       submitted again (the runner refuses a duplicate) */
/* The NNS subnet's id: the default subnet when no genesis names one. */
#define DEFAULT_SUBNET "tdb26-jop6k-aogll-7ltgs-eruif-6kk7m-qpktf-gdiqx-mxtrf-vb5e6-eqe"

/* ---------------------------------------------------------------- commands */

typedef enum {
    OP_NOTIFY = 1,
    OP_SET_RATE,
    OP_AUTHORIZED,
    OP_SUBNET_TYPE,
    OP_TYPE_ASSIGNMENT,
    OP_BLOCK_FETCHED, /* internal: a FETCH_BLOCK intent's answer */
    OP_TRANSFER_DONE, /* internal: a TRANSFER intent's answer */
} cmd_kind_t;

typedef struct {
    write_t w; /* first: the skeleton's envelope */
    cmd_kind_t kind;
    union {
        cmc_notify_args_t notify;
        struct {
            cmc_role_t role;
            cmc_rate_t rate;
        } rate;
        struct {
            bool add, has_who;
            principal_t who;
            char type[CMC_SUBNET_TYPE_MAX];
            size_t n;
            principal_t subnets[MAX_SUBNETS];
        } subnets;
        struct {
            uint64_t intent_id;
            cmc_fetched_block_t block;
        } fetched;
        struct {
            uint64_t intent_id;
            cmc_transfer_result_t res;
        } done;
    } u;
} cmc_cmd_t;

/* ---------------------------------------------------------------- the service's state */

/* An unresolved intent of the outbox (state thread only). */
typedef struct {
    cmc_intent_t in;
    bool submitted;        /* given to the runner, its answer not yet through a round */
    uint64_t submitted_at; /* wall clock */
} outbox_entry_t;

enum { OUT_OK, OUT_REFUNDED, OUT_PROCESSING, OUT_TOO_OLD, OUT_INVALID, OUT_OTHER, OUT_REST, OUT_N };
static const char *const OUTCOME_NAMES[OUT_N] = {
    "ok", "Refunded", "Processing", "TransactionTooOld", "InvalidTransaction", "Other", "refused"};

typedef struct {
    service_t *svc;
    cmc_t *cmc;
    cmc_store_t *store;
    call_runner_t *runner;
    principal_t governance;
    bool has_oracle;
    principal_t oracle;
    outbox_entry_t *outbox;
    size_t nout, capout;
    _Atomic size_t outbox_size;
    _Atomic int crash_armed; /* --test-clock only: CRASH_ANY or CRASH_TRANSFER */
    _Atomic uint64_t outcomes[OUT_N];
    _Atomic uint64_t answers_lost; /* answers whose round did not commit */
} cmc_app_t;

/* The round's scratch state. */
typedef struct {
    cmc_round_t *r;
    cmc_cycles_t minted_before;
    cmc_resolved_t *resolved; /* intents the round's answers finished */
    size_t nresolved;
    uint64_t *answered; /* intents whose answer the round applied */
    size_t nanswered;
    cmc_rate_set_t *rates;
    size_t nrates;
    uint64_t now;
    uint64_t outcomes[OUT_N];
} scratch_t;

/* Crash points (--test-clock only): the next answer of a call, or of a transfer, exits. */
enum { CRASH_NONE = 0, CRASH_ANY, CRASH_TRANSFER };

static const char *rate_oracle_text;
static const char *genesis_path;

/* ---------------------------------------------------------------- reads */

static void get_rate(http_request_t *req, void *svc)
{
    cmc_app_t *a = service_app(svc);
    cmc_rate_t rate;
    cmc_rate(a->cmc, &rate);
    http_respond_json(req, 200,
                      render_rate(service_key(a->svc), cmc_config(a->cmc)->cycles_per_xdr, &rate,
                                  "icp-xdr-rate"));
}

static void get_average_rate(http_request_t *req, void *svc)
{
    cmc_app_t *a = service_app(svc);
    cmc_rate_t rate;
    nns_error_t err;
    if (!cmc_average_rate(a->cmc, &rate)) {
        nns_error_set(&err, 404, "NotFound", "no 30-day average is set yet");
        http_respond_error(req, &err);
        return;
    }
    http_respond_json(req, 200,
                      render_rate(service_key(a->svc), cmc_config(a->cmc)->cycles_per_xdr, &rate,
                                  "icp-xdr-rate-average"));
}

static void get_modulation(http_request_t *req, void *svc)
{
    cmc_app_t *a = service_app(svc);
    json_t *o = json_object();
    json_object_set_new(o, "maturity_modulation_permyriad",
                        json_integer(cmc_maturity_modulation(a->cmc)));
    json_object_set_new(o, "timestamp_seconds", json_u64(clock_now_nanos() / 1000000000ULL));
    http_respond_json(req, 200, o);
}

static bool query_u64(http_request_t *req, const char *name, uint64_t dflt, uint64_t *out,
                      nns_error_t *err)
{
    const char *t = http_query(req, name);
    *out = dflt;
    if (t && !parse_u64(t, out))
        return nns_error_set(err, 400, "BadRequest", "query '%s' must be a u64, not '%.40s'", name,
                             t);
    return true;
}

static void get_rate_history(http_request_t *req, void *svc)
{
    cmc_app_t *a = service_app(svc);
    nns_error_t err;
    uint64_t from, to, limit, cursor;
    if (!query_u64(req, "from_day", 0, &from, &err) ||
        !query_u64(req, "to_day", UINT64_MAX, &to, &err) ||
        !query_u64(req, "limit", 100, &limit, &err) ||
        !query_u64(req, "cursor", from, &cursor, &err)) {
        http_respond_error(req, &err);
        return;
    }
    /* as the ledger's lists (query.c): 0 counts as 1, more than the most is the most */
    if (limit == 0)
        limit = 1;
    if (limit > RATE_HISTORY_LIMIT)
        limit = RATE_HISTORY_LIMIT;
    if (cursor > from)
        from = cursor;
    cmc_rate_day_t *days = malloc((size_t)limit * sizeof *days);
    if (!days) {
        service_respond_unavailable(req, "out of memory");
        return;
    }
    size_t n = from <= to ? cmc_rate_history(a->cmc, from, to, days, (size_t)limit) : 0;
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_object();
        json_object_set_new(d, "day", json_u64(days[i].day));
        json_object_set_new(d, "timestamp_seconds", json_u64(days[i].timestamp_seconds));
        json_object_set_new(d, "xdr_permyriad_per_icp", json_u64(days[i].xdr_permyriad_per_icp));
        json_array_append_new(items, d);
    }
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    json_object_set_new(o, "next_cursor",
                        n == limit && days[n - 1].day < to ? json_u64(days[n - 1].day + 1)
                                                           : json_null());
    free(days);
    http_respond_json(req, 200, o);
}

static bool purpose_kind(const char *p, cmc_notify_kind_t *k)
{
    if (p && strcmp(p, "top-up") == 0)
        *k = CMC_NOTIFY_TOP_UP;
    else if (p && strcmp(p, "create") == 0)
        *k = CMC_NOTIFY_CREATE_CANISTER;
    else if (p && strcmp(p, "mint") == 0)
        *k = CMC_NOTIFY_MINT_CYCLES;
    else
        return false;
    return true;
}

static void get_deposit_account(http_request_t *req, void *svc)
{
    cmc_app_t *a = service_app(svc);
    nns_error_t err;
    cmc_notify_kind_t kind;
    principal_t who;
    const char *p = http_query(req, "principal");
    if (!purpose_kind(http_query(req, "purpose"), &kind)) {
        nns_error_set(&err, 400, "BadRequest", "query 'purpose' must be top-up, create or mint");
        http_respond_error(req, &err);
        return;
    }
    if (!p || !principal_from_text(p, &who, &err)) {
        nns_error_set(&err, 400, "BadRequest", "query 'principal' must be a principal");
        http_respond_error(req, &err);
        return;
    }
    account_id_t acc;
    cmc_deposit_account(cmc_config(a->cmc), &who, &acc);
    uint8_t sub[SUBACCOUNT_BYTES], memo8[8];
    subaccount_from_principal(&who, sub);
    uint64_t memo = cmc_memo_of(kind);
    cmc_icrc1_memo(memo, memo8);
    json_t *o = json_object();
    json_object_set_new(o, "account_identifier", render_account(&acc));
    json_object_set_new(o, "owner", render_principal(&cmc_config(a->cmc)->cmc_id));
    json_object_set_new(o, "subaccount_hex", json_hex(sub, sizeof sub));
    json_object_set_new(o, "memo", json_u64(memo));
    json_object_set_new(o, "icrc1_memo_hex", json_hex(memo8, sizeof memo8));
    http_respond_json(req, 200, o);
}

static void get_canister(http_request_t *req, void *svc)
{
    cmc_app_t *a = service_app(svc);
    nns_error_t err;
    principal_t id;
    cmc_canister_t k;
    const char *t = http_param(req, 0);
    if (!principal_from_text(t ? t : "", &id, &err)) {
        http_respond_error(req, &err);
        return;
    }
    if (!cmc_canister(a->cmc, &id, &k)) {
        nns_error_set(&err, 404, "NotFound", "canister %.64s is not in the registry", t);
        http_respond_error(req, &err);
        return;
    }
    json_t *ctl = json_array();
    for (int i = 0; i < k.ncontrollers; i++)
        json_array_append_new(ctl, render_principal(&k.controllers[i]));
    json_t *o = json_object();
    json_object_set_new(o, "canister_id", render_principal(&k.canister_id));
    json_object_set_new(o, "controllers", ctl);
    json_object_set_new(o, "cycles", render_u128(k.cycles));
    json_object_set_new(o, "subnet", render_principal(&k.subnet));
    json_object_set_new(o, "created_at_nanos", json_u64(k.created_at));
    http_respond_json(req, 200, o);
}

static void get_cycles_account(http_request_t *req, void *svc)
{
    cmc_app_t *a = service_app(svc);
    nns_error_t err;
    icrc1_account_t acc;
    if (!icrc1_account_from_text(http_param(req, 0), &acc, &err)) {
        http_respond_error(req, &err);
        return;
    }
    char text[ICRC1_TEXT_MAX];
    icrc1_account_to_text(&acc, text);
    json_t *o = json_object();
    json_object_set_new(o, "account", json_string(text));
    json_object_set_new(o, "owner", render_principal(&acc.owner));
    json_object_set_new(o, "subaccount", json_hex(acc.subaccount, SUBACCOUNT_BYTES));
    json_object_set_new(o, "balance",
                        render_u128(cmc_cycles_balance(a->cmc, &acc.owner, acc.subaccount)));
    http_respond_json(req, 200, o);
}

static void get_subnets(http_request_t *req, void *svc)
{
    cmc_app_t *a = service_app(svc);
    cmc_subnet_row_t *rows = NULL;
    size_t n = 0;
    if (!cmc_subnets(a->cmc, &rows, &n)) {
        service_respond_unavailable(req, "out of memory");
        return;
    }
    json_t *defaults = json_array(), *authorized = json_array(), *types = json_array();
    for (size_t i = 0; i < n; i++) {
        const cmc_subnet_row_t *r = &rows[i];
        char who[PRINCIPAL_TEXT_MAX];
        switch (r->kind) {
        case CMC_SUBNET_DEFAULT:
            json_array_append_new(defaults, render_principal(&r->subnet));
            break;
        case CMC_SUBNET_AUTHORIZED:
            principal_to_text(&r->who, who);
            json_array_append_new(render_find_or_add(authorized, "who", who, "subnets"),
                                  render_principal(&r->subnet));
            break;
        case CMC_SUBNET_TYPED:
            json_array_append_new(render_find_or_add(types, "type", r->type, "subnets"),
                                  render_principal(&r->subnet));
            break;
        case CMC_SUBNET_TYPE_DECL:
            render_find_or_add(types, "type", r->type, "subnets");
            break;
        }
    }
    free(rows);
    json_t *o = json_object();
    json_object_set_new(o, "default_subnets", defaults);
    json_object_set_new(o, "authorized_subnets", authorized);
    json_object_set_new(o, "subnet_types", types);
    http_respond_json(req, 200, o);
}

static void get_minting_limit(http_request_t *req, void *svc)
{
    cmc_app_t *a = service_app(svc);
    cmc_cycles_t limit, minted;
    uint64_t window;
    cmc_minting_limit(a->cmc, clock_now_nanos() / 1000000000ULL, &limit, &window, &minted);
    json_t *o = json_object();
    json_object_set_new(o, "limit", render_u128(limit));
    json_object_set_new(o, "window_seconds", json_u64(window));
    json_object_set_new(o, "minted_in_window", render_u128(minted));
    http_respond_json(req, 200, o);
}

static void get_notification(http_request_t *req, void *svc)
{
    cmc_app_t *a = service_app(svc);
    nns_error_t err;
    uint64_t block;
    const char *t = http_param(req, 0);
    cmc_notification_t n;
    if (!t || !parse_u64(t, &block)) {
        nns_error_set(&err, 400, "BadRequest", "block index '%.40s' is not a u64", t ? t : "");
        http_respond_error(req, &err);
        return;
    }
    if (!cmc_notification(a->cmc, block, &n)) {
        cmc_info_t info;
        cmc_info(a->cmc, &info);
        nns_error_set(&err, 404, "NotFound",
                      "block %" PRIu64 " has no notification status (purge horizon %" PRIu64 ")",
                      block, info.last_purged_notification);
        http_respond_error(req, &err);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "block_index", json_u64(block));
    json_object_set_new(o, "status", json_string(render_status_name(n.status)));
    json_object_set_new(o, "kind", json_string(render_kind_name(n.kind)));
    if (n.has_block) {
        json_object_set_new(o, "to", render_account(&n.to));
        json_object_set_new(o, "memo", json_u64(n.memo));
    }
    if (n.status != CMC_STATUS_PROCESSING) {
        if (n.result.refunded) {
            json_t *r = json_object();
            json_object_set_new(r, "reason", json_string(n.result.reason));
            json_object_set_new(r, "refund_block_index",
                                n.result.has_refund_block ? json_u64(n.result.refund_block_index)
                                                          : json_null());
            json_object_set_new(o, "refunded", r);
        } else {
            json_object_set_new(o, "result", render_result(n.kind, &n.result));
        }
    }
    http_respond_json(req, 200, o);
}

/* ---------------------------------------------------------------- writes */

static cmc_cmd_t *new_op(service_t *svc, service_cmd_t **cmd)
{
    *cmd = service_cmd_new(svc, 1);
    return *cmd ? (cmc_cmd_t *)(void *)service_cmd_op(svc, *cmd, 0) : NULL;
}

/* Parses a signed write's body with parse and submits it. */
typedef bool (*parse_fn)(cmc_app_t *a, json_t *o, const principal_t *caller, cmc_cmd_t *op,
                         nns_error_t *err);

static void submit(http_request_t *req, service_t *svc, parse_fn parse)
{
    nns_error_t err;
    service_cmd_t *cmd;
    cmc_cmd_t *op = new_op(svc, &cmd);
    if (!op) {
        service_respond_unavailable(req, "out of memory");
        return;
    }
    size_t len;
    const uint8_t *body = http_body(req, &len);
    json_t *o = json_parse_object(body, len, &err);
    bool ok = o != NULL;
    if (ok) {
        json_drop_nulls(o);
        ok = parse(service_app(svc), o, http_caller(req), op, &err);
    }
    json_decref(o);
    if (!ok) {
        service_cmd_free(svc, &cmd);
        http_respond_error(req, &err);
        return;
    }
    service_submit(svc, req, cmd);
}

static bool parse_rate(cmc_app_t *a, json_t *o, const principal_t *caller, cmc_cmd_t *op,
                       nns_error_t *err)
{
    static const char *const fields[] = {"timestamp_seconds", "xdr_permyriad_per_icp", NULL};
    op->kind = OP_SET_RATE;
    if (principal_equal(caller, &a->governance))
        op->u.rate.role = CMC_ROLE_GOVERNANCE;
    else if (a->has_oracle && principal_equal(caller, &a->oracle))
        op->u.rate.role = CMC_ROLE_RATE_ORACLE;
    else
        return nns_error_set(err, 403, "NotAuthorized",
                             "only the rate oracle or governance may set the ICP/XDR rate");
    return json_only_fields(o, fields, err) &&
           json_get_u64(o, "timestamp_seconds", true, &op->u.rate.rate.timestamp_seconds, NULL,
                        err) &&
           json_get_u64(o, "xdr_permyriad_per_icp", true, &op->u.rate.rate.xdr_permyriad_per_icp,
                        NULL, err);
}

static bool parse_top_up(cmc_app_t *a, json_t *o, const principal_t *caller, cmc_cmd_t *op,
                         nns_error_t *err)
{
    (void)a;
    static const char *const fields[] = {"block_index", "canister_id", NULL};
    cmc_notify_args_t *n = &op->u.notify;
    op->kind = OP_NOTIFY;
    n->kind = CMC_NOTIFY_TOP_UP;
    n->caller = *caller;
    return json_only_fields(o, fields, err) &&
           json_get_u64(o, "block_index", true, &n->block_index, NULL, err) &&
           body_principal(o, "canister_id", true, &n->canister_id, NULL, err);
}

static bool parse_create(cmc_app_t *a, json_t *o, const principal_t *caller, cmc_cmd_t *op,
                         nns_error_t *err)
{
    (void)a;
    static const char *const fields[] = {"block_index",      "controller", "subnet_type",
                                         "subnet_selection", "settings",   NULL};
    static const char *const settings_fields[] = {
        "controllers",        "compute_allocation",    "memory_allocation",
        "freezing_threshold", "reserved_cycles_limit", "log_visibility",
        "wasm_memory_limit",  "wasm_memory_threshold", NULL};
    cmc_notify_args_t *n = &op->u.notify;
    op->kind = OP_NOTIFY;
    n->kind = CMC_NOTIFY_CREATE_CANISTER;
    n->caller = *caller;
    if (!json_only_fields(o, fields, err) ||
        !json_get_u64(o, "block_index", true, &n->block_index, NULL, err) ||
        !body_principal(o, "controller", true, &n->controller, NULL, err))
        return false;
    json_t *t = json_object_get(o, "subnet_type");
    if (t) {
        n->has_subnet_type = true;
        if (!body_type_name(t, "subnet_type", n->subnet_type, err))
            return false;
    }
    json_t *sel = json_object_get(o, "subnet_selection");
    if (sel && !body_selection(sel, n, err))
        return false;
    json_t *s = json_object_get(o, "settings");
    if (s) {
        if (!json_is_object(s))
            return nns_error_set(err, 400, "BadRequest", "'settings' must be an object");
        if (!json_only_fields(s, settings_fields, err))
            return false;
        n->has_settings = true;
        json_t *c = json_object_get(s, "controllers");
        if (c && !json_is_null(c)) {
            size_t k = 0;
            n->has_controllers = true;
            if (!body_principal_list(c, "settings.controllers", n->controllers, CMC_MAX_CONTROLLERS,
                                     &k, err))
                return false;
            n->ncontrollers = (uint8_t)k;
        }
    }
    return true;
}

static bool parse_mint(cmc_app_t *a, json_t *o, const principal_t *caller, cmc_cmd_t *op,
                       nns_error_t *err)
{
    (void)a;
    static const char *const fields[] = {"block_index", "to_subaccount", "deposit_memo", NULL};
    cmc_notify_args_t *n = &op->u.notify;
    op->kind = OP_NOTIFY;
    n->kind = CMC_NOTIFY_MINT_CYCLES;
    n->caller = *caller;
    size_t len = 0;
    if (!json_only_fields(o, fields, err) ||
        !json_get_u64(o, "block_index", true, &n->block_index, NULL, err) ||
        !json_get_hex(o, "to_subaccount", false, SUBACCOUNT_BYTES, true, n->to_subaccount, &len,
                      &n->has_to_subaccount, err))
        return false;
    json_t *m = json_object_get(o, "deposit_memo");
    if (m) {
        const char *h = json_string_value(m);
        size_t hl = h ? strlen(h) : 1;
        if (!h || hl % 2 || hl > 2 * 4096)
            return nns_error_set(err, 400, "BadRequest",
                                 "'deposit_memo' must be lower-case hex of at most %d bytes",
                                 CMC_DEPOSIT_MEMO_MAX);
        uint8_t buf[4096];
        long bl = hex_decode(h, hl, buf, sizeof buf);
        if (bl < 0)
            return nns_error_set(err, 400, "BadRequest", "'deposit_memo' is not hex");
        /* the real length goes to the state machine, which refuses more than 32 bytes with
         * Other 6 DepositMemoTooLong, as upstream */
        n->has_deposit_memo = true;
        n->deposit_memo_len = (size_t)bl;
        memcpy(n->deposit_memo, buf,
               (size_t)bl < CMC_DEPOSIT_MEMO_MAX ? (size_t)bl : CMC_DEPOSIT_MEMO_MAX);
    }
    return true;
}

static bool governance_only(cmc_app_t *a, const principal_t *caller, nns_error_t *err)
{
    if (principal_equal(caller, &a->governance))
        return true;
    return nns_error_set(err, 403, "NotAuthorized", "only governance may change the subnets");
}

static bool parse_authorized(cmc_app_t *a, json_t *o, const principal_t *caller, cmc_cmd_t *op,
                             nns_error_t *err)
{
    static const char *const fields[] = {"who", "subnets", NULL};
    op->kind = OP_AUTHORIZED;
    return governance_only(a, caller, err) && json_only_fields(o, fields, err) &&
           body_principal(o, "who", false, &op->u.subnets.who, &op->u.subnets.has_who, err) &&
           body_principal_list(json_object_get(o, "subnets"), "subnets", op->u.subnets.subnets,
                               MAX_SUBNETS, &op->u.subnets.n, err);
}

static bool parse_type(cmc_app_t *a, json_t *o, const principal_t *caller, cmc_cmd_t *op,
                       nns_error_t *err)
{
    op->kind = OP_SUBNET_TYPE;
    if (!governance_only(a, caller, err))
        return false;
    json_t *add = json_object_get(o, "add"), *rm = json_object_get(o, "remove");
    if (json_object_size(o) != 1 || (!add && !rm))
        return nns_error_set(err, 400, "BadRequest",
                             "the body must be {\"add\": type} or {\"remove\": type}");
    op->u.subnets.add = add != NULL;
    return body_type_name(add ? add : rm, add ? "add" : "remove", op->u.subnets.type, err);
}

static bool parse_assignment(cmc_app_t *a, json_t *o, const principal_t *caller, cmc_cmd_t *op,
                             nns_error_t *err)
{
    static const char *const fields[] = {"subnets", "subnet_type", NULL};
    op->kind = OP_TYPE_ASSIGNMENT;
    if (!governance_only(a, caller, err))
        return false;
    json_t *add = json_object_get(o, "add"), *rm = json_object_get(o, "remove");
    json_t *v = add ? add : rm;
    if (json_object_size(o) != 1 || !json_is_object(v))
        return nns_error_set(err, 400, "BadRequest",
                             "the body must be {\"add\" or \"remove\": {subnets, subnet_type}}");
    op->u.subnets.add = add != NULL;
    return json_only_fields(v, fields, err) &&
           body_type_name(json_object_get(v, "subnet_type"), "subnet_type", op->u.subnets.type,
                          err) &&
           body_principal_list(json_object_get(v, "subnets"), "subnets", op->u.subnets.subnets,
                               MAX_SUBNETS, &op->u.subnets.n, err);
}

static void post_rate(http_request_t *req, void *svc)
{
    submit(req, svc, parse_rate);
}
static void post_top_up(http_request_t *req, void *svc)
{
    submit(req, svc, parse_top_up);
}
static void post_create(http_request_t *req, void *svc)
{
    submit(req, svc, parse_create);
}
static void post_mint(http_request_t *req, void *svc)
{
    submit(req, svc, parse_mint);
}
static void post_authorized(http_request_t *req, void *svc)
{
    submit(req, svc, parse_authorized);
}
static void post_types(http_request_t *req, void *svc)
{
    submit(req, svc, parse_type);
}
static void post_assignments(http_request_t *req, void *svc)
{
    submit(req, svc, parse_assignment);
}

/* POST /v1/admin/crash-point {"point": "after-ledger-answer" | "after-transfer-answer"}
 * (--test-clock only): the next answer of a call to the ledger (of a transfer, for the second)
 * makes the process exit with 137 before its command reaches a round, as a crash between the
 * ledger's commit and the cmc's would. */
static void post_crash_point(http_request_t *req, void *svc)
{
    cmc_app_t *a = service_app(svc);
    nns_error_t err;
    if (!clock_is_test()) {
        nns_error_set(&err, 404, "NotFound", "no such route (the crash point needs --test-clock)");
        http_respond_error(req, &err);
        return;
    }
    size_t len;
    const uint8_t *body = http_body(req, &len);
    json_t *o = json_parse_object(body, len, &err);
    const char *p = NULL;
    int point = CRASH_NONE;
    if (o)
        nns_error_clear(&err);
    if (o && json_get_str(o, "point", true, &p, NULL, &err))
        point = strcmp(p, "after-ledger-answer") == 0     ? CRASH_ANY
                : strcmp(p, "after-transfer-answer") == 0 ? CRASH_TRANSFER
                                                          : CRASH_NONE;
    if (point == CRASH_NONE) {
        if (o && !nns_error_is_set(&err))
            nns_error_set(&err, 400, "BadRequest",
                          "'point' must be \"after-ledger-answer\" or \"after-transfer-answer\"");
        json_decref(o);
        http_respond_error(req, &err);
        return;
    }
    atomic_store(&a->crash_armed, point);
    log_warn("crash point armed: %s", p);
    json_t *r = json_object();
    json_object_set_new(r, "armed", json_string(p));
    json_decref(o);
    http_respond_json(req, 200, r);
}

/* ---------------------------------------------------------------- calls to the ledger */

/* A call's answer (a runner thread): into a command for the next round. */
static void call_done(void *ctx, const call_answer_t *ans)
{
    cmc_app_t *a = ctx;
    int crash = atomic_load(&a->crash_armed);
    if (crash == CRASH_ANY || (crash == CRASH_TRANSFER && ans->kind == CALL_TRANSFER)) {
        log_warn("crash point: exiting with 137 before the answer to intent %" PRIu64 " is applied",
                 ans->id);
        log_flush();
        _exit(137);
    }
    service_cmd_t *cmd;
    cmc_cmd_t *op = new_op(a->svc, &cmd);
    if (!op) {
        log_error("out of memory: the answer to intent %" PRIu64 " is dropped (sent again)",
                  ans->id);
        return;
    }
    if (ans->kind == CALL_GET) {
        op->kind = OP_BLOCK_FETCHED;
        op->u.fetched.intent_id = ans->id;
        cmc_fetched_block_t *b = &op->u.fetched.block;
        if (ans->outcome == CALL_RESOLVED) {
            b->status = CMC_BLOCK_FOUND;
            if (!body_ledger_block(ans->body, ans->body_len, b)) {
                b->status = CMC_BLOCK_FETCH_FAILED;
                snprintf(b->fetch_error, sizeof b->fetch_error,
                         "the ledger's block has an unexpected shape");
            }
        } else if (ans->http_status == 404) {
            b->status = CMC_BLOCK_NOT_FOUND;
        } else {
            b->status = CMC_BLOCK_FETCH_FAILED;
            snprintf(b->fetch_error, sizeof b->fetch_error, "HTTP %ld %s", ans->http_status,
                     ans->error);
        }
    } else {
        op->kind = OP_TRANSFER_DONE;
        op->u.done.intent_id = ans->id;
        cmc_transfer_result_t *r = &op->u.done.res;
        r->ok = ans->outcome == CALL_RESOLVED && ans->has_block_index;
        r->block_index = ans->block_index;
        if (!r->ok) {
            r->error_code = ans->http_status;
            snprintf(r->error, sizeof r->error, "%s: %.120s", ans->error, ans->body);
        }
    }
    service_submit_internal(a->svc, cmd);
}

static void to_call(const service_t *svc, const cmc_intent_t *in, call_intent_t *c)
{
    memset(c, 0, sizeof *c);
    c->id = in->id;
    snprintf(c->base_url, sizeof c->base_url, "%s", service_config(svc)->ledger_url);
    if (in->kind == CMC_INTENT_FETCH_BLOCK) {
        c->kind = CALL_GET;
        c->unsigned_get = true; /* a block is the same whoever reads it */
        snprintf(c->path, sizeof c->path, "/v1/blocks/%" PRIu64, in->block_index);
        return;
    }
    c->kind = CALL_TRANSFER;
    call_transfer_t *t = &c->transfer;
    t->has_from_subaccount = !subaccount_is_default(in->from_subaccount);
    memcpy(t->from_subaccount, in->from_subaccount, SUBACCOUNT_BYTES);
    account_id_to_address(&in->to, t->to);
    t->amount_e8s = in->amount;
    t->fee_e8s = in->fee;
    t->memo = in->memo;
    t->created_at_time = in->created_at_time;
}

/* Gives an outbox entry to the runner (state thread). An entry already pending in the runner
 * is refused by it (same id), so an entry is never in flight twice. */
static void submit_entry(cmc_app_t *a, outbox_entry_t *e, uint64_t wall_now)
{
    call_intent_t c;
    to_call(a->svc, &e->in, &c);
    e->submitted_at = wall_now;
    if (call_runner_submit(a->runner, &c))
        e->submitted = true;
}

static bool outbox_add(cmc_app_t *a, const cmc_intent_t *in)
{
    if (a->nout == a->capout) {
        size_t cap = a->capout ? 2 * a->capout : 64;
        outbox_entry_t *v = realloc(a->outbox, cap * sizeof *v);
        if (!v)
            return false;
        a->outbox = v;
        a->capout = cap;
    }
    a->outbox[a->nout++] = (outbox_entry_t){.in = *in};
    atomic_store(&a->outbox_size, a->nout);
    return true;
}

static outbox_entry_t *outbox_find(cmc_app_t *a, uint64_t id)
{
    for (size_t i = 0; i < a->nout; i++)
        if (a->outbox[i].in.id == id)
            return &a->outbox[i];
    return NULL;
}

static void outbox_remove(cmc_app_t *a, uint64_t id)
{
    outbox_entry_t *e = outbox_find(a, id);
    if (!e)
        return;
    *e = a->outbox[--a->nout];
    atomic_store(&a->outbox_size, a->nout);
}

/* ---------------------------------------------------------------- the round */

static void *round_begin(void *app, size_t nops)
{
    cmc_app_t *a = app;
    scratch_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->resolved = calloc(nops + 1, sizeof *s->resolved); /* at most one per write */
    s->answered = calloc(nops + 1, sizeof *s->answered);
    s->rates = calloc(nops + 1, sizeof *s->rates);
    s->r = cmc_round_begin(a->cmc);
    if (!s->resolved || !s->answered || !s->rates || !s->r) {
        cmc_round_discard(a->cmc, &s->r);
        free(s->resolved);
        free(s->answered);
        free(s->rates);
        free(s);
        return NULL;
    }
    cmc_info_t info;
    cmc_info(a->cmc, &info);
    s->minted_before = info.total_cycles_minted;
    return s;
}

static int outcome_index(const nns_error_t *err)
{
    static const int map[] = {OUT_REFUNDED, OUT_PROCESSING, OUT_TOO_OLD, OUT_INVALID, OUT_OTHER};
    for (int i = 0; i < 5; i++)
        if (strcmp(err->code, OUTCOME_NAMES[map[i]]) == 0)
            return map[i];
    return OUT_REST;
}

/* The answer of a finished notification: status and body (malloc'd); false when out of
 * memory. */
static bool outcome_body(const cmc_outcome_t *out, int *status, char **body, size_t *len,
                         int *outcome)
{
    if (out->ok) {
        *status = 200;
        *outcome = OUT_OK;
        json_t *o = render_result(out->kind, &out->result);
        *body = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        *len = *body ? strlen(*body) : 0;
    } else {
        *status = out->error.status;
        *outcome = outcome_index(&out->error);
        *body = http_problem_text(&out->error, len);
    }
    return *body != NULL;
}

/* Answers a write with a finished outcome (the request itself, or the suspended one). */
static bool finish(cmc_app_t *a, scratch_t *s, write_t *w, const cmc_outcome_t *out)
{
    int status, outcome;
    char *body;
    size_t len;
    if (!outcome_body(out, &status, &body, &len, &outcome))
        return false;
    s->outcomes[outcome]++;
    bool ok = w ? write_succeed(w, status, body, len)
                : service_resume(a->svc, out->block_index, status, body, len);
    free(body);
    return ok;
}

static bool apply_notify(cmc_app_t *a, scratch_t *s, cmc_cmd_t *op, uint64_t now)
{
    cmc_outcome_t out;
    nns_error_t err;
    if (!cmc_apply_notify(a->cmc, s->r, &op->u.notify, now, &out, &err)) {
        s->outcomes[outcome_index(&err)]++;
        write_fail(&op->w, &err, false);
        if (err.status == 409 && strcmp(err.code, "Processing") == 0)
            write_forget(&op->w); /* the same bytes sent later get the stored result */
        return err.status != 500 || strcmp(err.code, "OutOfMemory") != 0;
    }
    if (out.finished)
        return finish(a, s, &op->w, &out);
    write_suspend(&op->w, op->u.notify.block_index);
    return true;
}

/* A call's answer: the step it ends, and the request waiting for the notification if it is
 * finished now. */
static bool apply_answer(cmc_app_t *a, scratch_t *s, cmc_cmd_t *op, uint64_t now)
{
    cmc_outcome_t out;
    nns_error_t err;
    bool transfer = op->kind == OP_TRANSFER_DONE;
    uint64_t id = transfer ? op->u.done.intent_id : op->u.fetched.intent_id;
    s->answered[s->nanswered++] = id;
    bool ok =
        transfer ? cmc_apply_transfer_done(a->cmc, s->r, id, &op->u.done.res, now, &out, &err)
                 : cmc_apply_block_fetched(a->cmc, s->r, id, &op->u.fetched.block, now, &out, &err);
    if (!ok) {
        write_fail(&op->w, &err, false);
        if (strcmp(err.code, "OutOfMemory") == 0)
            return false;
        log_info("answer to intent %" PRIu64 " ignored: %s (%s)", id, err.code, err.detail);
        return true;
    }
    cmc_resolved_t *r = &s->resolved[s->nresolved++];
    r->intent_id = id;
    r->is_transfer = transfer;
    r->ok = transfer && op->u.done.res.ok;
    r->has_block = r->ok;
    r->block_index = op->u.done.res.block_index;
    write_succeed(&op->w, 200, "{}", 2);
    if (out.finished)
        return finish(a, s, NULL, &out);
    return true;
}

static bool apply(void *app, void *round, write_t *w, uint64_t now)
{
    cmc_app_t *a = app;
    scratch_t *s = round;
    cmc_cmd_t *op = (cmc_cmd_t *)(void *)w;
    nns_error_t err;
    bool ok = true;
    s->now = now;
    switch (op->kind) {
    case OP_NOTIFY:
        return apply_notify(a, s, op, now);
    case OP_BLOCK_FETCHED:
    case OP_TRANSFER_DONE:
        return apply_answer(a, s, op, now);
    case OP_SET_RATE:
        ok = cmc_apply_set_rate(a->cmc, s->r, op->u.rate.role, &op->u.rate.rate, now, &err);
        if (ok)
            s->rates[s->nrates++] = (cmc_rate_set_t){
                op->u.rate.rate,
                op->u.rate.role == CMC_ROLE_GOVERNANCE ? "governance" : "rate-oracle"};
        break;
    case OP_AUTHORIZED:
        ok = cmc_apply_set_authorized_subnets(a->cmc, s->r,
                                              op->u.subnets.has_who ? &op->u.subnets.who : NULL,
                                              op->u.subnets.subnets, op->u.subnets.n, &err);
        break;
    case OP_SUBNET_TYPE:
        ok =
            cmc_apply_update_subnet_type(a->cmc, s->r, op->u.subnets.add, op->u.subnets.type, &err);
        break;
    case OP_TYPE_ASSIGNMENT:
        ok = cmc_apply_change_subnet_type_assignment(a->cmc, s->r, op->u.subnets.add,
                                                     op->u.subnets.subnets, op->u.subnets.n,
                                                     op->u.subnets.type, &err);
        break;
    default:
        nns_error_set(&err, 400, "BadRequest", "unknown command");
        ok = false;
    }
    if (!ok) {
        write_fail(w, &err, false);
        return strcmp(err.code, "OutOfMemory") != 0;
    }
    if (op->kind == OP_SET_RATE) {
        char body[96];
        int n = snprintf(body, sizeof body,
                         "{\"timestamp_seconds\":\"%" PRIu64
                         "\",\"xdr_permyriad_per_icp\":\"%" PRIu64 "\"}",
                         op->u.rate.rate.timestamp_seconds, op->u.rate.rate.xdr_permyriad_per_icp);
        return write_succeed(w, 200, body, (size_t)n);
    }
    return write_succeed(w, 200, "{}", 2);
}

static cmc_cycles_t round_minted(const scratch_t *s)
{
    cmc_info_t info;
    cmc_round_info(s->r, &info);
    return info.total_cycles_minted > s->minted_before ? info.total_cycles_minted - s->minted_before
                                                       : 0;
}

static db_outcome_t commit_send(void *app, void *round, const replay_rec_t *replays,
                                size_t nreplays, nns_error_t *err)
{
    cmc_app_t *a = app;
    scratch_t *s = round;
    cmc_store_extras_t x = {.now = s->now ? s->now : clock_now_nanos(),
                            .resolved = s->resolved,
                            .nresolved = s->nresolved,
                            .rates = s->rates,
                            .nrates = s->nrates,
                            .minted = round_minted(s)};
    return cmc_store_send_round(a->store, s->r, &x, replays, nreplays, err);
}

static db_outcome_t commit_wait(void *app, nns_error_t *err)
{
    cmc_app_t *a = app;
    return cmc_store_wait_round(a->store, err);
}

static bool commit_ready(void *app, int timeout_ms)
{
    cmc_app_t *a = app;
    return cmc_store_round_ready(a->store, timeout_ms);
}

static void scratch_free(cmc_app_t *a, scratch_t *s)
{
    cmc_round_discard(a->cmc, &s->r); /* a no-op once committed */
    free(s->resolved);
    free(s->answered);
    free(s->rates);
    free(s);
}

static void round_end(void *app, void *round, bool committed)
{
    cmc_app_t *a = app;
    scratch_t *s = round;
    /* the answers the round applied: whatever became of them, their entries are no longer in
     * flight (a round that did not commit lost them: the tick submits the entries again) */
    for (size_t i = 0; i < s->nanswered; i++) {
        outbox_entry_t *e = outbox_find(a, s->answered[i]);
        if (e)
            e->submitted = false;
    }
    if (!committed) {
        if (s->nanswered)
            atomic_fetch_add(&a->answers_lost, s->nanswered);
        scratch_free(a, s);
        return;
    }
    size_t nnew, ndone;
    const cmc_intent_t *fresh = cmc_round_intents(s->r, &nnew);
    const uint64_t *done = cmc_round_finished_intents(s->r, &ndone);
    cmc_intent_t *copy = nnew ? malloc(nnew * sizeof *copy) : NULL;
    if (nnew && copy)
        memcpy(copy, fresh, nnew * sizeof *copy);
    for (size_t i = 0; i < ndone; i++)
        outbox_remove(a, done[i]);
    cmc_round_commit(a->cmc, &s->r);
    for (int i = 0; i < OUT_N; i++)
        if (s->outcomes[i])
            atomic_fetch_add(&a->outcomes[i], s->outcomes[i]);
    uint64_t wall = clock_wall_nanos();
    for (size_t i = 0; i < nnew; i++) {
        if (!copy || !outbox_add(a, &copy[i])) {
            /* committed, but not in memory: crash-only, the restart loads it from the store */
            log_error("out of memory keeping the outbox; exiting to reload it");
            log_flush();
            abort();
        }
        submit_entry(a, &a->outbox[a->nout - 1], wall);
    }
    free(copy);
    scratch_free(a, s);
}

/* Submits the outbox entries not in flight: new after a failed submit or a lost answer, or
 * submitted long ago (the runner refuses one still pending, so none is ever sent twice at once;
 * an answer that arrives twice finds its intent finished and is ignored). */
static void tick(void *app, uint64_t wall_now)
{
    cmc_app_t *a = app;
    for (size_t i = 0; i < a->nout; i++) {
        outbox_entry_t *e = &a->outbox[i];
        if (!e->submitted || wall_now - e->submitted_at > RESUBMIT_NANOS)
            submit_entry(a, e, wall_now);
    }
}

static void metrics(void *app, metrics_t *m)
{
    cmc_app_t *a = app;
    cmc_info_t info;
    cmc_info(a->cmc, &info);
    metrics_family(m, "nns_cmc_notifications_total", "counter",
                   "notify requests and steps answered, by outcome (ok or the NotifyError name)");
    for (int i = 0; i < OUT_N; i++) {
        char labels[64];
        snprintf(labels, sizeof labels, "outcome=\"%s\"", OUTCOME_NAMES[i]);
        metrics_u64(m, "nns_cmc_notifications_total", labels, atomic_load(&a->outcomes[i]));
    }
    metrics_gauge(m, "nns_cmc_intents_pending", "calls to the ledger recorded and not resolved",
                  (double)atomic_load(&a->outbox_size));
    metrics_counter(m, "nns_cmc_answers_lost_total",
                    "call answers whose round did not commit (their intents are sent again)",
                    atomic_load(&a->answers_lost));
    metrics_gauge(m, "nns_cmc_notifications_in_flight", "notifications waiting for the ledger",
                  (double)info.in_flight);
    metrics_gauge(m, "nns_cmc_cycles_minted", "cycles minted since genesis",
                  (double)info.total_cycles_minted);
    metrics_gauge(m, "nns_cmc_canisters", "canisters in the registry", (double)info.canisters);
    metrics_gauge(m, "nns_cmc_xdr_permyriad_per_icp", "the current ICP/XDR rate",
                  (double)info.rate.xdr_permyriad_per_icp);
    cmc_cycles_t limit, minted;
    uint64_t window;
    cmc_minting_limit(a->cmc, clock_now_nanos() / 1000000000ULL, &limit, &window, &minted);
    metrics_gauge(m, "nns_cmc_limiter_minted_in_window", "cycles minted in the limiter's window",
                  (double)minted);
    metrics_gauge(m, "nns_cmc_limiter_limit", "cycles the limiter allows per window",
                  (double)limit);
    metrics_counter(m, "nns_cmc_limiter_rejects_total", "notifications refused by the limiter",
                    info.limiter_rejects);
    call_runner_metrics(a->runner, m);
}

/* ---------------------------------------------------------------- construction */

static bool genesis_subnets(json_t *v, const char *name, principal_t *out, size_t *n,
                            nns_error_t *err)
{
    return body_principal_list(v, name, out, MAX_SUBNETS, n, err);
}

/* The cmc genesis (API.md): {"default_subnets": [principal], "subnet_types": {type:
 * [subnet]}, "authorized_subnets": {principal: [subnet]}, "rate": {"timestamp_seconds",
 * "xdr_permyriad_per_icp"}}, every member optional. Applied in one round on a fresh database;
 * without a file, one default subnet (the NNS subnet's id). */
static bool apply_genesis(cmc_app_t *a, nns_error_t *err)
{
    json_t *g = NULL;
    if (genesis_path) {
        json_error_t je;
        g = json_load_file(genesis_path, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(g)) {
            json_decref(g);
            return nns_error_set(err, 400, "InvalidGenesis", "%s: %s (line %d)", genesis_path,
                                 je.text, je.line);
        }
        static const char *const fields[] = {"default_subnets", "subnet_types",
                                             "authorized_subnets", "rate", NULL};
        if (!json_only_fields(g, fields, err)) {
            json_decref(g);
            return false;
        }
    }
    cmc_round_t *r = cmc_round_begin(a->cmc);
    principal_t *subnets = malloc(MAX_SUBNETS * sizeof *subnets);
    cmc_rate_set_t rate_set = {{0, 0}, "genesis"};
    size_t nrates = 0;
    bool ok = r && subnets;
    if (!ok)
        nns_error_set(err, 503, "Unavailable", "out of memory");
    size_t n = 0;
    json_t *d = g ? json_object_get(g, "default_subnets") : NULL;
    if (ok && d) {
        ok = genesis_subnets(d, "default_subnets", subnets, &n, err);
    } else if (ok) {
        ok = principal_from_text(DEFAULT_SUBNET, &subnets[0], err);
        n = 1;
    }
    ok = ok && cmc_apply_set_authorized_subnets(a->cmc, r, NULL, subnets, n, err);
    json_t *types = g ? json_object_get(g, "subnet_types") : NULL, *v;
    const char *key;
    if (ok && types && !json_is_object(types))
        ok = nns_error_set(err, 400, "InvalidGenesis",
                           "'subnet_types' must map a type to its subnets");
    if (ok && types) {
        json_object_foreach(types, key, v)
        {
            ok = (strlen(key) < CMC_SUBNET_TYPE_MAX ||
                  nns_error_set(err, 400, "InvalidGenesis", "subnet type '%.64s' is too long",
                                key)) &&
                 cmc_apply_update_subnet_type(a->cmc, r, true, key, err) &&
                 genesis_subnets(v, key, subnets, &n, err) &&
                 (n == 0 ||
                  cmc_apply_change_subnet_type_assignment(a->cmc, r, true, subnets, n, key, err));
            if (!ok)
                break;
        }
    }
    json_t *auth = g ? json_object_get(g, "authorized_subnets") : NULL;
    if (ok && auth && !json_is_object(auth))
        ok = nns_error_set(err, 400, "InvalidGenesis",
                           "'authorized_subnets' must map a principal to its subnets");
    if (ok && auth) {
        json_object_foreach(auth, key, v)
        {
            principal_t who;
            ok = principal_from_text(key, &who, err) && genesis_subnets(v, key, subnets, &n, err) &&
                 cmc_apply_set_authorized_subnets(a->cmc, r, &who, subnets, n, err);
            if (!ok)
                break;
        }
    }
    json_t *rate = g ? json_object_get(g, "rate") : NULL;
    if (ok && rate) {
        ok = (json_is_object(rate) ||
              nns_error_set(err, 400, "InvalidGenesis",
                            "'rate' must be {timestamp_seconds, xdr_permyriad_per_icp}")) &&
             json_get_u64(rate, "timestamp_seconds", true, &rate_set.rate.timestamp_seconds, NULL,
                          err) &&
             json_get_u64(rate, "xdr_permyriad_per_icp", true, &rate_set.rate.xdr_permyriad_per_icp,
                          NULL, err) &&
             cmc_apply_set_rate(a->cmc, r, CMC_ROLE_GOVERNANCE, &rate_set.rate, clock_now_nanos(),
                                err);
        nrates = 1;
    }
    if (!ok && err->status != 503) {
        char detail[sizeof err->detail];
        snprintf(detail, sizeof detail, "%s", err->detail);
        nns_error_set(err, 400, "InvalidGenesis", "%s: %s", genesis_path ? genesis_path : "",
                      detail);
    }
    if (ok) {
        cmc_store_extras_t x = {.now = clock_now_nanos(), .rates = &rate_set, .nrates = nrates};
        db_outcome_t o = cmc_store_send_round(a->store, r, &x, NULL, 0, err);
        if (o == DB_COMMITTED)
            o = cmc_store_wait_round(a->store, err);
        ok = o == DB_COMMITTED;
    }
    if (ok) {
        cmc_round_commit(a->cmc, &r);
        log_info("genesis applied%s%s", genesis_path ? " from " : " (one default subnet)",
                 genesis_path ? genesis_path : "");
    }
    cmc_round_discard(a->cmc, &r);
    free(subnets);
    json_decref(g);
    return ok;
}

static void destroy(void *app)
{
    cmc_app_t *a = app;
    call_runner_destroy(&a->runner);
    cmc_store_close(&a->store);
    cmc_destroy(&a->cmc);
    free(a->outbox);
    free(a);
}

static void *create(service_t *svc, nns_error_t *err)
{
    const service_config_t *cfg = service_config(svc);
    cmc_intent_t *intents = NULL;
    size_t nintents = 0;
    if (!cfg->ledger_url) {
        nns_error_set(err, 400, "BadConfig",
                      "--ledger URL is required: the cmc reads blocks, "
                      "burns and refunds through the ledger");
        return NULL;
    }
    if (cfg->read_only) {
        nns_error_set(err, 400, "BadConfig", "the cmc has no read-only mode");
        return NULL;
    }
    cmc_app_t *a = calloc(1, sizeof *a);
    if (!a) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        return NULL;
    }
    a->svc = svc;
    principal_canister(CANISTER_GOVERNANCE, &a->governance);
    if (rate_oracle_text) {
        if (!principal_from_text(rate_oracle_text, &a->oracle, err))
            goto fail;
        a->has_oracle = true;
    }
    cmc_config_t cc;
    cmc_config_default(&cc);
    /* burns go to the ledger's minting account: the governance principal's default account */
    cc.has_minting_account = true;
    account_id_of(&a->governance, NULL, &cc.minting_account);
    principal_t self;
    principal_canister(CANISTER_CMC, &self);
    /* a notify makes two or three calls, each a blocking request on a worker */
    call_runner_opts_t opts = {.caller = &self, .workers = 8, .max_pending = 8192};
    if (!(a->cmc = cmc_new(&cc)) ||
        !(a->runner = call_runner_new(service_key(svc), call_done, a, &opts))) {
        nns_error_set(err, 503, "Unavailable", "out of memory starting the cmc");
        goto fail;
    }
    /* rounds do not chain (one_round_at_a_time): one write connection */
    if (!(a->store = cmc_store_open(cfg->database, 1, 1, (unsigned)cfg->commit_delay_ms, err)))
        goto fail;
    service_use_store(svc, cmc_store_db(a->store));
    bool fresh = false;
    if (!cmc_store_load(a->store, a->cmc, service_replay(svc), clock_wall_nanos(), &fresh, &intents,
                        &nintents, err) ||
        (fresh && !apply_genesis(a, err)))
        goto fail;
    for (size_t i = 0; i < nintents; i++)
        if (!outbox_add(a, &intents[i])) {
            nns_error_set(err, 503, "Unavailable", "out of memory");
            goto fail;
        }
    free(intents);
    intents = NULL;
    /* the loaded intents are submitted by the first tick: an answer that came back before
     * the round loop runs would have nowhere to go */
    cmc_info_t info;
    cmc_info(a->cmc, &info);
    log_info("cmc ready: rate %" PRIu64 " at %" PRIu64 ", %zu notifications, %zu in flight, %zu "
             "intents sent again, %zu canisters",
             info.rate.xdr_permyriad_per_icp, info.rate.timestamp_seconds, info.notifications,
             info.in_flight, a->nout, info.canisters);
    return a;
fail:
    free(intents);
    destroy(a);
    return NULL;
}

static const http_route_t ROUTES[] = {
    {"GET", "/v1/cycles/conversion-rate", get_rate, 0},
    {"POST", "/v1/cycles/conversion-rate", post_rate, HTTP_SIGNED | HTTP_WRITE},
    {"GET", "/v1/cycles/average-conversion-rate", get_average_rate, 0},
    {"GET", "/v1/cycles/maturity-modulation", get_modulation, 0},
    {"GET", "/v1/cycles/rate-history", get_rate_history, 0},
    {"GET", "/v1/cycles/deposit-account", get_deposit_account, 0},
    {"POST", "/v1/cycles/notify-top-up", post_top_up, HTTP_SIGNED | HTTP_WRITE},
    {"POST", "/v1/cycles/notify-create-canister", post_create, HTTP_SIGNED | HTTP_WRITE},
    {"POST", "/v1/cycles/notify-mint-cycles", post_mint, HTTP_SIGNED | HTTP_WRITE},
    {"GET", "/v1/cycles/notifications/{}", get_notification, 0},
    {"GET", "/v1/cycles/minting-limit", get_minting_limit, 0},
    {"GET", "/v1/cycles/accounts/{}", get_cycles_account, 0},
    {"GET", "/v1/canisters/{}", get_canister, 0},
    {"GET", "/v1/subnets", get_subnets, 0},
    {"POST", "/v1/subnets/authorized", post_authorized, HTTP_SIGNED | HTTP_WRITE},
    {"POST", "/v1/subnets/types", post_types, HTTP_SIGNED | HTTP_WRITE},
    {"POST", "/v1/subnets/type-assignments", post_assignments, HTTP_SIGNED | HTTP_WRITE},
    {"POST", "/v1/admin/crash-point", post_crash_point, 0},
    {0},
};

static const config_option_t OPTIONS[] = {
    {CONFIG_OPT("rate-oracle", OPT_STRING, &rate_oracle_text, NULL,
                "the principal allowed to post ICP/XDR rates (besides governance)")},
    {CONFIG_OPT("genesis", OPT_STRING, &genesis_path, NULL,
                "genesis JSON (used on a fresh database): default_subnets, subnet_types, "
                "authorized_subnets, rate")},
    {0},
};

const service_def_t CMC_SERVICE = {
    .name = "cmc",
    .summary = "The cycles minting service (REST/JSON, PostgreSQL mirror, calls to the ledger).",
    .canister = CANISTER_CMC,
    .default_listen = "127.0.0.1:8083",
    .options = OPTIONS,
    .routes = ROUTES,
    .op_size = sizeof(cmc_cmd_t),
    .one_round_at_a_time = true,
    .create = create,
    .destroy = destroy,
    .round_begin = round_begin,
    .apply = apply,
    .commit_send = commit_send,
    .commit_wait = commit_wait,
    .commit_ready = commit_ready,
    .round_end = round_end,
    .tick = tick,
    .metrics = metrics,
};
