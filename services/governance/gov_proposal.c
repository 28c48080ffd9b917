/*
 * gov_proposal.c: proposals in the governance state machine (gov_proposal.h): names, actions
 * (topics, validation, copies, the binary encoding), submission (governance.rs make_proposal),
 * the proposals, known neurons, node providers and snapshots as of a round, loads, reads, the
 * round accessors for the store, and commit / discard. Voting and the cascade are gov_vote.c's,
 * execution and the periodic proposal work gov_exec.c's.
 *
 * Decisions where the spec leaves a point open:
 * - a title is required (5..256 bytes) except for ManageNeuron proposals, as upstream
 *   (validate_proposal_title); url and summary are optional;
 * - known-neuron names are unique (open point 11), checked at submission and at execution;
 * - a proposer whose neuron has an operation in flight is refused (409 LedgerUpdateOngoing):
 *   charging the fee would race with the ledger transfer;
 * - only one CreateServiceNervousSystem proposal may be open (422 ResourceExhausted);
 * - RewardNodeProviders with both a rewards list and use_registry_derived_rewards is refused.
 */
#include "gov_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ---- */

static const char *const vote_names[] = {"unspecified", "yes", "no"};
static const char *const status_names[] = {NULL,      "Open",     "Rejected",
                                           "Adopted", "Executed", "Failed"};
static const char *const reward_names[] = {NULL, "AcceptVotes", "ReadyToSettle", "Settled",
                                           "Ineligible"};

static int from_names(const char *s, const char *const *names, int n, int first)
{
    if (!s || !*s)
        return -1;
    for (int i = first; i < n; i++)
        if (names[i] && strcmp(names[i], s) == 0)
            return i;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end == '\0' && v >= first && v < n)
        return (int)v;
    return -1;
}

const char *gov_vote_name(int vote)
{
    return vote >= 0 && vote <= 2 ? vote_names[vote] : NULL;
}

int gov_vote_from_name(const char *s)
{
    return from_names(s, vote_names, 3, 0);
}

const char *gov_proposal_status_name(int status)
{
    return status >= 1 && status <= 5 ? status_names[status] : NULL;
}

int gov_proposal_status_from_name(const char *s)
{
    int v = from_names(s, status_names, 6, 1);
    return v < 0 ? 0 : v;
}

const char *gov_reward_status_name(int status)
{
    return status >= 1 && status <= 4 ? reward_names[status] : NULL;
}

int gov_reward_status_from_name(const char *s)
{
    int v = from_names(s, reward_names, 5, 1);
    return v < 0 ? 0 : v;
}

int32_t gov_topic_from_name(const char *s)
{
    if (!s || !*s)
        return -1;
    for (int32_t t = 0; t < GOV_TOPICS; t++)
        if (strcmp(gov_topic_name(t), s) == 0)
            return t;
    char *end;
    long v = strtol(s, &end, 10);
    return *end == '\0' && v >= 0 && v < GOV_TOPICS ? (int32_t)v : -1;
}

static const char *const action_names[] = {
    [GOV_ACTION_MOTION] = "Motion",
    [GOV_ACTION_MANAGE_NEURON] = "ManageNeuron",
    [GOV_ACTION_MANAGE_NETWORK_ECONOMICS] = "ManageNetworkEconomics",
    [GOV_ACTION_REGISTER_KNOWN_NEURON] = "RegisterKnownNeuron",
    [GOV_ACTION_DEREGISTER_KNOWN_NEURON] = "DeregisterKnownNeuron",
    [GOV_ACTION_APPROVE_GENESIS_KYC] = "ApproveGenesisKyc",
    [GOV_ACTION_ADD_OR_REMOVE_NODE_PROVIDER] = "AddOrRemoveNodeProvider",
    [GOV_ACTION_REWARD_NODE_PROVIDER] = "RewardNodeProvider",
    [GOV_ACTION_REWARD_NODE_PROVIDERS] = "RewardNodeProviders",
    [GOV_ACTION_EXECUTE_NNS_FUNCTION] = "ExecuteNnsFunction",
    [GOV_ACTION_INSTALL_CODE] = "InstallCode",
    [GOV_ACTION_STOP_OR_START_CANISTER] = "StopOrStartCanister",
    [GOV_ACTION_UPDATE_CANISTER_SETTINGS] = "UpdateCanisterSettings",
    [GOV_ACTION_CREATE_SERVICE_NERVOUS_SYSTEM] = "CreateServiceNervousSystem",
    [GOV_ACTION_FULFILL_SUBNET_RENTAL_REQUEST] = "FulfillSubnetRentalRequest",
};

gov_action_kind_t gov_action_from_name(const char *name)
{
    if (!name)
        return 0;
    for (int k = 1; k <= GOV_ACTION_KIND_MAX; k++)
        if (strcmp(action_names[k], name) == 0)
            return (gov_action_kind_t)k;
    return 0;
}

const char *gov_action_name(gov_action_kind_t kind)
{
    return (int)kind >= 1 && (int)kind <= GOV_ACTION_KIND_MAX ? action_names[kind] : NULL;
}

/* The NnsFunction table (spec Constants; proposals/execute_nns_function.rs): the topic, -1 for
 * Unspecified and the obsolete functions. 10 is valid here (Decision 5). 45
 * (UpdateApiBoundaryNodeDomain, deprecated) is refused as obsolete. 56 and 57 (snapshots) are
 * ProtocolCanisterManagement (open point 6). */
static const int8_t nns_topics[GOV_NNS_FUNCTION_MAX + 1] = {
    -1, 7,  7,  17, -1, -1, 7,  7,  5,  -1, 2,  12, 3,  7,  7,  7,  5,  -1, 5,  4,
    3,  6,  -1, 5,  7,  7,  7,  7,  7,  7,  18, 7,  7,  7,  7,  -1, -1, 18, 13, 17,
    -1, -1, 17, 15, 15, -1, -1, 12, 12, 5,  13, 12, 16, 17, 17, 7,  17, 17};

int32_t gov_nns_function_topic(int32_t fn)
{
    return fn >= 0 && fn <= GOV_NNS_FUNCTION_MAX ? nns_topics[fn] : -1;
}

bool gov_nns_function_is_json(int32_t fn)
{
    return fn == GOV_NNS_ICP_XDR_CONVERSION_RATE || fn == GOV_NNS_SET_AUTHORIZED_SUBNETWORKS ||
           fn == GOV_NNS_UPDATE_NODE_REWARDS_TABLE || fn == GOV_NNS_UPDATE_SUBNET_TYPE ||
           fn == GOV_NNS_CHANGE_SUBNET_TYPE_ASSIGNMENT;
}

/* Functions whose payload is not limited to GOV_NNS_PAYLOAD_MAX (upstream's large-payload
 * functions: canister installs, SNS wasms, root resets). */
static bool nns_large_payload(int32_t fn)
{
    return fn == 3 || fn == 30 || fn == 42;
}

/* The topic of a canister action (proposals/mod.rs topic_to_manage_canister): the NNS protocol
 * canisters (registry, governance, ledger, root, cmc, lifeline, genesis token, the ledger
 * archive and index) -> ProtocolCanisterManagement; SNS-W and the SNS aggregator ->
 * ServiceNervousSystemManagement; any other -> ApplicationCanisterManagement. */
static int32_t canister_topic(const principal_t *c)
{
    static const uint64_t protocol[] = {0, 1, 2, 3, 4, 5, 6, 9, 11};
    principal_t p;
    for (size_t i = 0; i < sizeof protocol / sizeof protocol[0]; i++) {
        principal_canister(protocol[i], &p);
        if (principal_equal(&p, c))
            return GOV_TOPIC_PROTOCOL_CANISTER_MANAGEMENT;
    }
    principal_canister(10, &p); /* SNS-W qaa6y-5yaaa-aaaaa-aaafa-cai */
    if (principal_equal(&p, c))
        return GOV_TOPIC_SERVICE_NERVOUS_SYSTEM_MANAGEMENT;
    nns_error_t e;
    if (principal_from_text("3r4gx-wqaaa-aaaaq-aaaia-cai", &p, &e) && principal_equal(&p, c))
        return GOV_TOPIC_SERVICE_NERVOUS_SYSTEM_MANAGEMENT; /* the SNS aggregator */
    return GOV_TOPIC_APPLICATION_CANISTER_MANAGEMENT;
}

/* proposals/mod.rs ValidProposalAction::topic (spec 4.2). */
int32_t gov_action_topic(const gov_action_t *a)
{
    switch (a->kind) {
    case GOV_ACTION_MANAGE_NEURON:
        return GOV_TOPIC_NEURON_MANAGEMENT;
    case GOV_ACTION_MANAGE_NETWORK_ECONOMICS:
        return GOV_TOPIC_NETWORK_ECONOMICS;
    case GOV_ACTION_MOTION:
    case GOV_ACTION_REGISTER_KNOWN_NEURON:
    case GOV_ACTION_DEREGISTER_KNOWN_NEURON:
        return GOV_TOPIC_GOVERNANCE;
    case GOV_ACTION_APPROVE_GENESIS_KYC:
        return GOV_TOPIC_KYC;
    case GOV_ACTION_ADD_OR_REMOVE_NODE_PROVIDER:
        return GOV_TOPIC_PARTICIPANT_MANAGEMENT;
    case GOV_ACTION_REWARD_NODE_PROVIDER:
    case GOV_ACTION_REWARD_NODE_PROVIDERS:
        return GOV_TOPIC_NODE_PROVIDER_REWARDS;
    case GOV_ACTION_EXECUTE_NNS_FUNCTION:
        return gov_nns_function_topic(a->u.nns.nns_function);
    case GOV_ACTION_INSTALL_CODE:
        return canister_topic(&a->u.install_code.canister_id);
    case GOV_ACTION_STOP_OR_START_CANISTER:
        return canister_topic(&a->u.stop_or_start.canister_id);
    case GOV_ACTION_UPDATE_CANISTER_SETTINGS:
        return canister_topic(&a->u.update_canister_settings.canister_id);
    case GOV_ACTION_CREATE_SERVICE_NERVOUS_SYSTEM:
        return GOV_TOPIC_SNS_AND_COMMUNITY_FUND;
    case GOV_ACTION_FULFILL_SUBNET_RENTAL_REQUEST:
        return GOV_TOPIC_SUBNET_RENTAL;
    }
    return -1;
}

/* ---- the variable parts of an action (copies and the encoding) ---- */

typedef struct {
    const void **p; /* the pointer field */
    size_t len;     /* bytes (strings: without the NUL) */
    bool str;
} vfield_t;

static size_t slen(const char *s)
{
    return s ? strlen(s) : 0;
}

/* The variable fields of an action except register_known_neuron.links (handled apart). */
static size_t action_fields(gov_action_t *a, vfield_t out[6])
{
    size_t n = 0;
#define STR(f) (out[n++] = (vfield_t){(const void **)(void *)&(f), slen(f), true})
#define ARR(f, cnt, sz) (out[n++] = (vfield_t){(const void **)(void *)&(f), (cnt) * (sz), false})
    switch (a->kind) {
    case GOV_ACTION_MOTION:
        STR(a->u.motion.motion_text);
        break;
    case GOV_ACTION_REGISTER_KNOWN_NEURON:
        STR(a->u.register_known_neuron.name);
        STR(a->u.register_known_neuron.description);
        ARR(a->u.register_known_neuron.committed_topics, a->u.register_known_neuron.ntopics,
            sizeof(int32_t));
        break;
    case GOV_ACTION_APPROVE_GENESIS_KYC:
        ARR(a->u.approve_genesis_kyc.principals, a->u.approve_genesis_kyc.n, sizeof(principal_t));
        break;
    case GOV_ACTION_REWARD_NODE_PROVIDERS:
        ARR(a->u.reward_node_providers.rewards, a->u.reward_node_providers.n,
            sizeof(gov_np_reward_t));
        break;
    case GOV_ACTION_EXECUTE_NNS_FUNCTION:
        ARR(a->u.nns.subnets, a->u.nns.nsubnets, sizeof(principal_t));
        STR(a->u.nns.subnet_type);
        ARR(a->u.nns.rewards, a->u.nns.nrewards, sizeof(gov_rewards_table_entry_t));
        ARR(a->u.nns.payload, a->u.nns.payload_len, 1);
        break;
    case GOV_ACTION_INSTALL_CODE:
        ARR(a->u.install_code.arg, a->u.install_code.arg_len, 1);
        break;
    case GOV_ACTION_CREATE_SERVICE_NERVOUS_SYSTEM:
        STR(a->u.create_sns.name);
        break;
    default:
        break;
    }
#undef STR
#undef ARR
    return n;
}

/* A bump allocator in two passes: sizing (base NULL) then filling. */
typedef struct {
    uint8_t *base;
    size_t off;
} pack_t;

static void *pk_take(pack_t *k, size_t n)
{
    k->off = (k->off + 7) & ~(size_t)7;
    void *p = k->base ? k->base + k->off : NULL;
    k->off += n;
    return p;
}

static const void *pk_copy(pack_t *k, const void *src, size_t n)
{
    if (!src)
        return NULL;
    void *p = pk_take(k, n ? n : 1);
    if (p && n)
        memcpy(p, src, n);
    return p;
}

static const char *pk_str(pack_t *k, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = pk_take(k, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Copies src into *dst with every pointer into the pack. */
static void pk_action(pack_t *k, gov_action_t *dst, const gov_action_t *src)
{
    *dst = *src;
    gov_action_t tmp = *src;
    vfield_t sf[6], df[6];
    size_t n = action_fields(&tmp, sf);
    action_fields(dst, df);
    for (size_t i = 0; i < n; i++)
        *df[i].p = sf[i].str ? (const void *)pk_str(k, *sf[i].p) : pk_copy(k, *sf[i].p, sf[i].len);
    if (src->kind == GOV_ACTION_REGISTER_KNOWN_NEURON) {
        size_t nl = src->u.register_known_neuron.nlinks;
        const char **links = pk_take(k, (nl ? nl : 1) * sizeof(char *));
        for (size_t i = 0; i < nl; i++) {
            const char *s = pk_str(k, src->u.register_known_neuron.links[i]);
            if (links)
                links[i] = s;
        }
        dst->u.register_known_neuron.links = nl ? (const char *const *)links : NULL;
    }
}

/* One allocation holding the action (first, so that the allocation is the action) and the
 * texts; f's pointers are set into it. */
static void *blob_build(const char *title, const char *summary, const char *url,
                        const char *action_json, const gov_action_t *a, gov_proposal_full_t *f)
{
    static _Thread_local gov_action_t scratch;
    pack_t sz = {NULL, 0};
    pk_take(&sz, sizeof(gov_action_t));
    pk_str(&sz, title);
    pk_str(&sz, summary ? summary : "");
    pk_str(&sz, url);
    pk_str(&sz, action_json ? action_json : "{}");
    pk_action(&sz, &scratch, a);
    pack_t k = {malloc(sz.off + 8), 0};
    if (!k.base)
        return NULL;
    gov_action_t *act = pk_take(&k, sizeof(gov_action_t));
    f->title = pk_str(&k, title);
    f->summary = pk_str(&k, summary ? summary : "");
    f->url = pk_str(&k, url);
    f->action_json = pk_str(&k, action_json ? action_json : "{}");
    pk_action(&k, act, a);
    f->action = act;
    return k.base;
}

gov_action_t *gov_action_copy(const gov_action_t *a)
{
    gov_proposal_full_t tmp;
    return blob_build(NULL, NULL, NULL, NULL, a, &tmp); /* the action is the blob's first member */
}

/* Packs a known neuron (the record first) into k. */
static void kn_pack(pack_t *k, const gov_known_neuron_t *src)
{
    static _Thread_local gov_known_neuron_t scratch;
    gov_known_neuron_t *d = pk_take(k, sizeof *d);
    gov_known_neuron_t *dst = d ? d : &scratch;
    *dst = *src;
    dst->name = pk_str(k, src->name ? src->name : "");
    dst->description = pk_str(k, src->description);
    const char **links = pk_take(k, (src->nlinks ? src->nlinks : 1) * sizeof(char *));
    for (size_t i = 0; i < src->nlinks; i++) {
        const char *s = pk_str(k, src->links[i]);
        if (links)
            links[i] = s;
    }
    dst->links = src->nlinks ? (const char *const *)links : NULL;
    dst->committed_topics = pk_copy(k, src->committed_topics, src->ntopics * sizeof(int32_t));
}

/* A malloc'd copy of a known neuron in one allocation (free()). */
static gov_known_neuron_t *kn_copy(const gov_known_neuron_t *src)
{
    pack_t sz = {NULL, 0};
    kn_pack(&sz, src);
    pack_t fill = {malloc(sz.off + 8), 0};
    if (!fill.base)
        return NULL;
    kn_pack(&fill, src);
    return (gov_known_neuron_t *)(void *)fill.base;
}

/* ---- the binary encoding: "GA1" || u32 sizeof(gov_action_t) || the struct (pointers zero) ||
 * per variable field u32 (length + 1, 0 = absent) || bytes; links: u32 count || strings. ---- */

static size_t enc_u32(uint8_t *out, size_t cap, size_t off, uint32_t v)
{
    if (out && off + 4 <= cap)
        for (int i = 0; i < 4; i++)
            out[off + i] = (uint8_t)(v >> (8 * i));
    return off + 4;
}

static size_t enc_bytes(uint8_t *out, size_t cap, size_t off, const void *p, size_t n)
{
    if (out && off + n <= cap && n)
        memcpy(out + off, p, n);
    return off + n;
}

static size_t encode(const gov_action_t *a, uint8_t *out, size_t cap)
{
    gov_action_t copy = *a;
    vfield_t f[6];
    size_t nf = action_fields(&copy, f);
    gov_action_t zeroed = *a;
    vfield_t zf[6];
    action_fields(&zeroed, zf);
    for (size_t i = 0; i < nf; i++)
        *zf[i].p = NULL;
    if (zeroed.kind == GOV_ACTION_REGISTER_KNOWN_NEURON)
        zeroed.u.register_known_neuron.links = NULL;
    size_t off = enc_bytes(out, cap, 0, "GA1", 3);
    off = enc_u32(out, cap, off, (uint32_t)sizeof zeroed);
    off = enc_bytes(out, cap, off, &zeroed, sizeof zeroed);
    for (size_t i = 0; i < nf; i++) {
        const void *p = *f[i].p;
        off = enc_u32(out, cap, off, p ? (uint32_t)(f[i].len + 1) : 0);
        if (p)
            off = enc_bytes(out, cap, off, p, f[i].len);
    }
    if (a->kind == GOV_ACTION_REGISTER_KNOWN_NEURON) {
        size_t nl = a->u.register_known_neuron.nlinks;
        off = enc_u32(out, cap, off, (uint32_t)nl);
        for (size_t i = 0; i < nl; i++) {
            const char *s = a->u.register_known_neuron.links[i];
            off = enc_u32(out, cap, off, (uint32_t)(slen(s) + 1));
            off = enc_bytes(out, cap, off, s, slen(s));
        }
    }
    return off;
}

size_t gov_action_encoded_size(const gov_action_t *a)
{
    return encode(a, NULL, 0);
}

size_t gov_action_encode(const gov_action_t *a, uint8_t *out, size_t cap)
{
    size_t need = encode(a, NULL, 0);
    if (need > cap)
        return 0;
    return encode(a, out, cap);
}

static bool dec_u32(const uint8_t *in, size_t len, size_t *off, uint32_t *v)
{
    if (*off + 4 > len)
        return false;
    *v = 0;
    for (int i = 0; i < 4; i++)
        *v |= (uint32_t)in[*off + i] << (8 * i);
    *off += 4;
    return true;
}

gov_action_t *gov_action_decode(const uint8_t *in, size_t len)
{
    if (!in || len < 7 + sizeof(gov_action_t) || memcmp(in, "GA1", 3) != 0)
        return NULL;
    size_t off = 3;
    uint32_t sz;
    if (!dec_u32(in, len, &off, &sz) || sz != sizeof(gov_action_t))
        return NULL;
    /* the decoded action points into a temporary view, then is packed into one allocation */
    gov_action_t a;
    memcpy(&a, in + off, sizeof a);
    off += sizeof a;
    if ((int)a.kind < 1 || (int)a.kind > GOV_ACTION_KIND_MAX)
        return NULL;
    vfield_t f[6];
    size_t nf = action_fields(&a, f);
    char *strs[6] = {0};
    size_t lens[6] = {0};
    bool ok = true;
    for (size_t i = 0; i < nf && ok; i++) {
        uint32_t l;
        if (!dec_u32(in, len, &off, &l) || (l && off + (l - 1) > len)) {
            ok = false;
            break;
        }
        if (l == 0) {
            *f[i].p = NULL;
            continue;
        }
        strs[i] = malloc(l); /* NUL-terminated copy, also fine for arrays */
        if (!strs[i]) {
            ok = false;
            break;
        }
        memcpy(strs[i], in + off, l - 1);
        strs[i][l - 1] = '\0';
        off += l - 1;
        lens[i] = l - 1;
        *f[i].p = strs[i];
    }
    /* array counts must match the lengths read */
    if (ok) {
        action_fields(&a, f);
        for (size_t i = 0; i < nf; i++)
            if (!f[i].str && (*f[i].p ? lens[i] != f[i].len : f[i].len != 0))
                ok = false;
    }
    char **links = NULL;
    size_t nl = 0;
    if (ok && a.kind == GOV_ACTION_REGISTER_KNOWN_NEURON) {
        uint32_t c;
        if (!dec_u32(in, len, &off, &c) || c > GOV_KNOWN_NEURON_LINKS_MAX ||
            c != a.u.register_known_neuron.nlinks)
            ok = false;
        else {
            links = calloc(c ? c : 1, sizeof *links);
            ok = links != NULL;
            for (uint32_t i = 0; ok && i < c; i++) {
                uint32_t l;
                if (!dec_u32(in, len, &off, &l) || l == 0 || off + (l - 1) > len ||
                    !(links[i] = malloc(l))) {
                    ok = false;
                    break;
                }
                memcpy(links[i], in + off, l - 1);
                links[i][l - 1] = '\0';
                off += l - 1;
                nl = i + 1;
            }
            a.u.register_known_neuron.links = (const char *const *)links;
        }
    }
    gov_action_t *out = NULL;
    if (ok && off == len) {
        gov_proposal_full_t tmp;
        void *blob = blob_build(NULL, NULL, NULL, NULL, &a, &tmp);
        if (blob) {
            /* the action is the blob's first member */
            out = blob;
        }
    }
    for (size_t i = 0; i < 6; i++)
        free(strs[i]);
    for (size_t i = 0; i < nl; i++)
        free(links[i]);
    free(links);
    return out;
}

/* ---- statuses (governance.rs ProposalData::status / reward_status) ---- */

gov_proposal_status_t gov_proposal_status(const gov_proposal_t *p)
{
    if (p->decided_timestamp_seconds == 0)
        return GOV_PROPOSAL_OPEN;
    if (p->executed_timestamp_seconds > 0)
        return GOV_PROPOSAL_EXECUTED;
    if (p->failed_timestamp_seconds > 0)
        return GOV_PROPOSAL_FAILED;
    /* decided: accepted stays Adopted until executed or failed */
    uint64_t yes = p->tally.yes, total = p->tally.total;
    bool accepted = !p->has_wait_for_quiet
                        ? yes > total - yes
                        : ((double)yes >= 0.03 * (double)total && yes > p->tally.no);
    return accepted ? GOV_PROPOSAL_ADOPTED : GOV_PROPOSAL_REJECTED;
}

uint64_t gov_proposal_deadline(const gov_proposal_t *p)
{
    return p->has_wait_for_quiet ? p->wait_for_quiet_deadline_seconds
                                 : p->proposal_timestamp_seconds + p->voting_period_seconds;
}

gov_reward_status_t gov_proposal_reward_status(const gov_proposal_t *p, uint64_t now)
{
    if (p->topic == GOV_TOPIC_NEURON_MANAGEMENT)
        return GOV_REWARD_INELIGIBLE;
    if (p->reward_event_round != 0)
        return GOV_REWARD_SETTLED;
    if (now < gov_proposal_deadline(p))
        return GOV_REWARD_ACCEPT_VOTES;
    return GOV_REWARD_READY_TO_SETTLE;
}

/* ---- proposals as of a round ---- */

static const prop_t *committed_prop(const gov_t *g, uint64_t id)
{
    size_t lo = 0, hi = g->nprops;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->props[mid]->f.p.id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->nprops && g->props[lo]->f.p.id == id ? g->props[lo] : NULL;
}

static rprop_t *round_prop(const gov_round_t *r, uint64_t id)
{
    for (size_t i = 0; i < r->nrprops; i++)
        if (r->rprops[i]->p.f.p.id == id)
            return r->rprops[i];
    return NULL;
}

const prop_t *rprop_get(const gov_round_t *r, uint64_t id)
{
    const rprop_t *rp = round_prop(r, id);
    if (rp)
        return rp->forgotten ? NULL : &rp->p;
    return committed_prop(r->g, id);
}

static bool rprops_push(gov_round_t *r, rprop_t *rp, nns_error_t *err)
{
    if (r->nrprops == r->caprprops) {
        size_t cap = r->caprprops ? r->caprprops * 2 : 8;
        rprop_t **grown = realloc(r->rprops, cap * sizeof *grown);
        if (!grown)
            return oom(err);
        r->rprops = grown;
        r->caprprops = cap;
    }
    r->rprops[r->nrprops++] = rp;
    return true;
}

rprop_t *rprop_edit(gov_round_t *r, uint64_t id, bool want_votes, nns_error_t *err)
{
    rprop_t *rp = round_prop(r, id);
    if (rp && rp->forgotten) {
        nns_error_set(err, 404, "NotFound", "proposal %llu not found", (unsigned long long)id);
        return NULL;
    }
    if (!rp) {
        const prop_t *c = committed_prop(r->g, id);
        if (!c) {
            nns_error_set(err, 404, "NotFound", "proposal %llu not found", (unsigned long long)id);
            return NULL;
        }
        rp = calloc(1, sizeof *rp);
        if (!rp) {
            oom(err);
            return NULL;
        }
        rp->p = *c;
        if (!rprops_push(r, rp, err)) {
            free(rp);
            return NULL;
        }
    }
    if (want_votes && !rp->own_votes && rp->p.nb) {
        uint8_t *v = malloc(rp->p.nb);
        if (!v) {
            oom(err);
            return NULL;
        }
        memcpy(v, rp->p.bvote, rp->p.nb);
        rp->p.bvote = v;
        rp->own_votes = true;
    }
    return rp;
}

long prop_ballot_index(const prop_t *p, uint64_t neuron_id)
{
    size_t lo = 0, hi = p->nb;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->bid[mid] < neuron_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->nb && p->bid[lo] == neuron_id ? (long)lo : -1;
}

bool rtally_log(gov_round_t *r, const prop_t *p, nns_error_t *err)
{
    if (r->ntallies == r->captallies) {
        size_t cap = r->captallies ? r->captallies * 2 : 8;
        gov_tally_change_t *grown = realloc(r->tallies, cap * sizeof *grown);
        if (!grown)
            return oom(err);
        r->tallies = grown;
        r->captallies = cap;
    }
    gov_tally_change_t *t = &r->tallies[r->ntallies++];
    t->proposal_id = p->f.p.id;
    t->tally = p->f.p.tally;
    t->deadline_seconds = gov_proposal_deadline(&p->f.p);
    return true;
}

static bool open_involves(const gov_proposal_t *p, uint64_t id)
{
    return p->decided_timestamp_seconds == 0 && (p->proposer == id || p->managed_neuron_id == id);
}

bool neuron_in_open_proposal(const gov_round_t *r, uint64_t id)
{
    for (size_t i = 0; i < r->nrprops; i++)
        if (!r->rprops[i]->forgotten && open_involves(&r->rprops[i]->p.f.p, id))
            return true;
    const gov_t *g = r->g;
    for (size_t i = g->nprops; i-- > 0;) {
        const gov_proposal_t *p = &g->props[i]->f.p;
        if (round_prop(r, p->id))
            continue;
        if (open_involves(p, id))
            return true;
    }
    return false;
}

/* ---- known neurons and node providers as of a round ---- */

static const gov_known_neuron_t *committed_known(const gov_t *g, uint64_t id, size_t *pos)
{
    size_t lo = 0, hi = g->nkns;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->kns[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (pos)
        *pos = lo;
    return lo < g->nkns && g->kns[lo]->id == id ? g->kns[lo] : NULL;
}

const gov_known_neuron_t *rknown(const gov_round_t *r, uint64_t id)
{
    for (size_t i = r->nkncs; i-- > 0;)
        if (r->kncs[i].id == id)
            return r->kncs[i].k;
    return committed_known(r->g, id, NULL);
}

bool rknown_put(gov_round_t *r, uint64_t id, const gov_known_neuron_t *k, nns_error_t *err)
{
    gov_known_neuron_t *copy = NULL;
    if (k) {
        copy = kn_copy(k);
        if (!copy)
            return oom(err);
        copy->id = id;
    }
    for (size_t i = 0; i < r->nkncs; i++)
        if (r->kncs[i].id == id) {
            free(r->kncs[i].k);
            r->kncs[i].k = copy;
            return true;
        }
    kn_change_t *grown = realloc(r->kncs, (r->nkncs + 1) * sizeof *grown);
    if (!grown) {
        free(copy);
        return oom(err);
    }
    r->kncs = grown;
    r->kncs[r->nkncs++] = (kn_change_t){id, copy};
    return true;
}

static int principal_cmp(const principal_t *a, const principal_t *b)
{
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return memcmp(a->bytes, b->bytes, a->len);
}

static long committed_np(const gov_t *g, const principal_t *id, size_t *pos)
{
    size_t lo = 0, hi = g->nnps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (principal_cmp(&g->nps[mid].id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (pos)
        *pos = lo;
    return lo < g->nnps && principal_cmp(&g->nps[lo].id, id) == 0 ? (long)lo : -1;
}

bool rnp_get(const gov_round_t *r, const principal_t *id, gov_node_provider_t *out)
{
    for (size_t i = r->nnpcs; i-- > 0;)
        if (principal_equal(&r->npcs[i].np.id, id)) {
            if (r->npcs[i].removed)
                return false;
            *out = r->npcs[i].np;
            return true;
        }
    long at = committed_np(r->g, id, NULL);
    if (at < 0)
        return false;
    *out = r->g->nps[at];
    return true;
}

bool rnp_put(gov_round_t *r, const gov_node_provider_t *np, bool removed, nns_error_t *err)
{
    for (size_t i = 0; i < r->nnpcs; i++)
        if (principal_equal(&r->npcs[i].np.id, &np->id)) {
            r->npcs[i].np = *np;
            r->npcs[i].removed = removed;
            return true;
        }
    np_change_t *grown = realloc(r->npcs, (r->nnpcs + 1) * sizeof *grown);
    if (!grown)
        return oom(err);
    r->npcs = grown;
    r->npcs[r->nnpcs].np = *np;
    r->npcs[r->nnpcs].removed = removed;
    r->nnpcs++;
    return true;
}

static int np_cmp(const void *a, const void *b)
{
    return principal_cmp(&((const gov_node_provider_t *)a)->id,
                         &((const gov_node_provider_t *)b)->id);
}

bool rnp_all(const gov_round_t *r, gov_node_provider_t **out, size_t *n)
{
    const gov_t *g = r->g;
    gov_node_provider_t *v = malloc((g->nnps + r->nnpcs + 1) * sizeof *v);
    if (!v)
        return false;
    size_t k = 0;
    for (size_t i = 0; i < g->nnps; i++) {
        bool changed = false;
        for (size_t j = 0; j < r->nnpcs; j++)
            if (principal_equal(&r->npcs[j].np.id, &g->nps[i].id))
                changed = true;
        if (!changed)
            v[k++] = g->nps[i];
    }
    for (size_t j = 0; j < r->nnpcs; j++)
        if (!r->npcs[j].removed)
            v[k++] = r->npcs[j].np;
    qsort(v, k, sizeof *v, np_cmp);
    *out = v;
    *n = k;
    return true;
}

/* ---- submission: validation (proposals/mod.rs validate, governance.rs make_proposal) ---- */

static bool invalid(nns_error_t *err, const char *what)
{
    return nns_error_set(err, 400, "InvalidProposal", "%s", what);
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

bool economics_merge(gov_rules_t rules, const gov_economics_t *old, uint32_t mask,
                     const gov_economics_t *v, gov_economics_t *out, nns_error_t *err)
{
    /* network_economics.rs inherit_from / validate: a field given as 0 keeps the old value */
    *out = *old;
#define MERGE(bit, f)                                                                              \
    if ((mask & (bit)) && v->f)                                                                    \
    out->f = v->f
    MERGE(GOV_ECO_REJECT_COST, reject_cost_e8s);
    MERGE(GOV_ECO_NEURON_MINIMUM_STAKE, neuron_minimum_stake_e8s);
    MERGE(GOV_ECO_NEURON_MANAGEMENT_FEE, neuron_management_fee_per_proposal_e8s);
    MERGE(GOV_ECO_MINIMUM_ICP_XDR_RATE, minimum_icp_xdr_rate);
    MERGE(GOV_ECO_NEURON_SPAWN_DISSOLVE_DELAY, neuron_spawn_dissolve_delay_seconds);
    MERGE(GOV_ECO_MAXIMUM_NODE_PROVIDER_REWARDS, maximum_node_provider_rewards_e8s);
    MERGE(GOV_ECO_TRANSACTION_FEE, transaction_fee_e8s);
    MERGE(GOV_ECO_MAX_PROPOSALS_TO_KEEP_PER_TOPIC, max_proposals_to_keep_per_topic);
    MERGE(GOV_ECO_MAX_SUSTAINED_NEURONS_PER_HOUR, max_sustained_neurons_per_hour);
    MERGE(GOV_ECO_NEURON_CREATION_SPIKE, neuron_creation_spike);
    MERGE(GOV_ECO_START_REDUCING_VOTING_POWER_AFTER, start_reducing_voting_power_after_seconds);
    MERGE(GOV_ECO_CLEAR_FOLLOWING_AFTER, clear_following_after_seconds);
    MERGE(GOV_ECO_MIN_DISSOLVE_DELAY_TO_VOTE, neuron_minimum_dissolve_delay_to_vote_seconds);
#undef MERGE
    if (out->max_proposals_to_keep_per_topic == 0)
        return invalid(err, "max_proposals_to_keep_per_topic must be positive");
    if (out->neuron_minimum_stake_e8s == 0)
        return invalid(err, "neuron_minimum_stake_e8s must be positive");
    if (out->transaction_fee_e8s >= out->neuron_minimum_stake_e8s)
        return invalid(err, "transaction_fee_e8s must be below neuron_minimum_stake_e8s");
    if (out->clear_following_after_seconds == 0 ||
        out->start_reducing_voting_power_after_seconds == 0)
        return invalid(err, "the voting power economics periods must be positive");
    uint64_t d = out->neuron_minimum_dissolve_delay_to_vote_seconds;
    uint64_t lo = rules == GOV_RULES_LEGACY ? 3 * GOV_ONE_MONTH : 14 * GOV_ONE_DAY;
    uint64_t hi = 6 * GOV_ONE_MONTH;
    if (d < lo || d > hi)
        return invalid(
            err, "neuron_minimum_dissolve_delay_to_vote_seconds is outside its allowed range");
    return true;
}

static bool principals_valid(const principal_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].len == 0 || p[i].len > PRINCIPAL_MAX_BYTES)
            return false;
    return true;
}

static bool reward_valid(const gov_np_reward_t *w, nns_error_t *err)
{
    if (w->node_provider.len == 0 || w->node_provider.len > PRINCIPAL_MAX_BYTES)
        return invalid(err, "a node provider reward needs a node_provider");
    if (w->to_neuron && w->candidate_id == 0)
        return invalid(err, "a reward to a neuron needs a neuron id");
    return true;
}

/* Validates the texts and the action; *topic on success. */
static bool validate(const gov_round_t *r, const gov_submit_args_t *a, int32_t *topic,
                     nns_error_t *err)
{
    const gov_action_t *x = &a->action;
    if (!gov_action_name(x->kind))
        return invalid(err, "unknown or obsolete action");
    if (x->kind != GOV_ACTION_MANAGE_NEURON || a->title) {
        size_t tl = slen(a->title);
        if (!a->title)
            return invalid(err, "proposal lacks a title");
        if (tl < GOV_TITLE_MIN || tl > GOV_TITLE_MAX)
            return invalid(err, "the title must be 5 to 256 bytes long");
    }
    if (slen(a->summary) > GOV_SUMMARY_MAX)
        return invalid(err, "the summary is longer than 15000 bytes");
    if (utf8_chars(a->url) > GOV_URL_MAX)
        return invalid(err, "the url is longer than 2048 characters");
    *topic = gov_action_topic(x);
    if (*topic <= 0 || !gov_topic_valid(*topic))
        return invalid(err, "the action has no valid topic (obsolete function?)");
    switch (x->kind) {
    case GOV_ACTION_MOTION:
        if (!x->u.motion.motion_text)
            return invalid(err, "motion_text is required");
        if (slen(x->u.motion.motion_text) > GOV_MOTION_TEXT_MAX)
            return invalid(err, "motion_text is longer than 10000 bytes");
        break;
    case GOV_ACTION_MANAGE_NEURON: {
        const gov_command_t *c = &x->u.manage_neuron.command;
        if (!gov_command_name(c->kind))
            return invalid(err, "unknown ManageNeuron command");
        if (!rexists(r, c->neuron_id))
            return nns_error_set(err, 404, "NotFound", "managed neuron '%llu' not found",
                                 (unsigned long long)c->neuron_id);
        break;
    }
    case GOV_ACTION_MANAGE_NETWORK_ECONOMICS: {
        gov_economics_t merged;
        if (x->u.economics.mask == 0)
            return invalid(err, "ManageNetworkEconomics changes nothing");
        if (!economics_merge(r->core.rules, &r->core.eco, x->u.economics.mask,
                             &x->u.economics.values, &merged, err))
            return false;
        break;
    }
    case GOV_ACTION_REGISTER_KNOWN_NEURON: {
        const char *name = x->u.register_known_neuron.name;
        if (x->u.register_known_neuron.neuron_id == 0 || !name || !*name)
            return invalid(err, "a known neuron needs a neuron_id and a name");
        if (utf8_chars(name) > GOV_KNOWN_NEURON_NAME_MAX)
            return invalid(err, "the known neuron name is longer than 200 characters");
        if (utf8_chars(x->u.register_known_neuron.description) > GOV_KNOWN_NEURON_DESCRIPTION_MAX)
            return invalid(err, "the description is longer than 3000 characters");
        if (x->u.register_known_neuron.nlinks > GOV_KNOWN_NEURON_LINKS_MAX)
            return invalid(err, "too many links");
        for (size_t i = 0; i < x->u.register_known_neuron.nlinks; i++)
            if (!x->u.register_known_neuron.links[i] ||
                slen(x->u.register_known_neuron.links[i]) > GOV_LINK_MAX)
                return invalid(err, "a link is missing or too long");
        if (x->u.register_known_neuron.ntopics > GOV_TOPICS)
            return invalid(err, "too many committed topics");
        for (size_t i = 0; i < x->u.register_known_neuron.ntopics; i++) {
            int32_t t = x->u.register_known_neuron.committed_topics[i];
            if (!gov_topic_valid(t) || t == 0)
                return invalid(err, "a committed topic is not a known topic");
            for (size_t j = 0; j < i; j++)
                if (x->u.register_known_neuron.committed_topics[j] == t)
                    return invalid(err, "a committed topic is repeated");
        }
        if (!rexists(r, x->u.register_known_neuron.neuron_id))
            return nns_error_set(err, 404, "NotFound", "neuron '%llu' not found",
                                 (unsigned long long)x->u.register_known_neuron.neuron_id);
        break;
    }
    case GOV_ACTION_DEREGISTER_KNOWN_NEURON:
        if (x->u.deregister_known_neuron.neuron_id == 0)
            return invalid(err, "neuron_id is required");
        if (!rknown(r, x->u.deregister_known_neuron.neuron_id))
            return invalid(err, "the neuron is not a known neuron");
        break;
    case GOV_ACTION_APPROVE_GENESIS_KYC:
        if (x->u.approve_genesis_kyc.n == 0 || x->u.approve_genesis_kyc.n > GOV_LIST_ITEMS_MAX ||
            !principals_valid(x->u.approve_genesis_kyc.principals, x->u.approve_genesis_kyc.n))
            return invalid(err, "principals: 1 to 1000 principals");
        break;
    case GOV_ACTION_ADD_OR_REMOVE_NODE_PROVIDER:
        if (!principals_valid(&x->u.node_provider.id, 1))
            return invalid(err, "node_provider.id is required");
        break;
    case GOV_ACTION_REWARD_NODE_PROVIDER:
        if (!reward_valid(&x->u.reward_node_provider.reward, err))
            return false;
        break;
    case GOV_ACTION_REWARD_NODE_PROVIDERS:
        if (x->u.reward_node_providers.n > GOV_LIST_ITEMS_MAX)
            return invalid(err, "too many rewards");
        if (x->u.reward_node_providers.use_registry_derived_rewards &&
            x->u.reward_node_providers.n > 0)
            return invalid(err, "give rewards or use_registry_derived_rewards, not both");
        if (!x->u.reward_node_providers.use_registry_derived_rewards &&
            x->u.reward_node_providers.n == 0)
            return invalid(err, "no rewards");
        for (size_t i = 0; i < x->u.reward_node_providers.n; i++)
            if (!reward_valid(&x->u.reward_node_providers.rewards[i], err))
                return false;
        break;
    case GOV_ACTION_EXECUTE_NNS_FUNCTION: {
        int32_t fn = x->u.nns.nns_function;
        switch (fn) {
        case GOV_NNS_ICP_XDR_CONVERSION_RATE:
            if (x->u.nns.xdr_permyriad_per_icp == 0 || x->u.nns.timestamp_seconds == 0)
                return invalid(err, "xdr_permyriad_per_icp and timestamp_seconds must be positive");
            break;
        case GOV_NNS_SET_AUTHORIZED_SUBNETWORKS:
            if (x->u.nns.nsubnets > GOV_SUBNETS_MAX ||
                !principals_valid(x->u.nns.subnets, x->u.nns.nsubnets) ||
                (x->u.nns.has_who && !principals_valid(&x->u.nns.who, 1)))
                return invalid(err, "subnets: at most 200 principals");
            break;
        case GOV_NNS_UPDATE_NODE_REWARDS_TABLE:
            if (x->u.nns.nrewards > GOV_LIST_ITEMS_MAX)
                return invalid(err, "too many rewards table entries");
            for (size_t i = 0; i < x->u.nns.nrewards; i++) {
                if (!principals_valid(&x->u.nns.rewards[i].node_provider, 1))
                    return invalid(err, "a rewards table entry needs a node_provider");
                for (size_t j = 0; j < i; j++)
                    if (principal_equal(&x->u.nns.rewards[i].node_provider,
                                        &x->u.nns.rewards[j].node_provider))
                        return invalid(err, "a node provider is repeated");
            }
            break;
        case GOV_NNS_UPDATE_SUBNET_TYPE:
        case GOV_NNS_CHANGE_SUBNET_TYPE_ASSIGNMENT:
            if (!x->u.nns.subnet_type || !*x->u.nns.subnet_type ||
                slen(x->u.nns.subnet_type) > GOV_TEXT_MAX)
                return invalid(err, "subnet_type is required (at most 1024 bytes)");
            for (const char *s = x->u.nns.subnet_type; *s; s++)
                if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
                    return invalid(err, "subnet_type has a character not allowed");
            if (fn == GOV_NNS_CHANGE_SUBNET_TYPE_ASSIGNMENT &&
                (x->u.nns.nsubnets == 0 || x->u.nns.nsubnets > GOV_SUBNETS_MAX ||
                 !principals_valid(x->u.nns.subnets, x->u.nns.nsubnets)))
                return invalid(err, "subnets: 1 to 200 principals");
            break;
        default:
            if (!x->u.nns.payload && x->u.nns.payload_len)
                return invalid(err, "payload missing");
            if (x->u.nns.payload_len > GOV_NNS_PAYLOAD_MAX && !nns_large_payload(fn))
                return invalid(err, "the payload is larger than 70000 bytes");
            break;
        }
        break;
    }
    case GOV_ACTION_INSTALL_CODE:
        if (!principals_valid(&x->u.install_code.canister_id, 1) ||
            x->u.install_code.install_mode < 1 || x->u.install_code.install_mode > 3)
            return invalid(err, "canister_id and install_mode are required");
        break;
    case GOV_ACTION_STOP_OR_START_CANISTER:
        if (!principals_valid(&x->u.stop_or_start.canister_id, 1))
            return invalid(err, "canister_id is required");
        break;
    case GOV_ACTION_UPDATE_CANISTER_SETTINGS:
        if (!principals_valid(&x->u.update_canister_settings.canister_id, 1))
            return invalid(err, "canister_id is required");
        break;
    case GOV_ACTION_CREATE_SERVICE_NERVOUS_SYSTEM:
        if (!x->u.create_sns.name || !*x->u.create_sns.name)
            return invalid(err, "name is required");
        if (x->u.create_sns.neurons_fund_participation)
            return invalid(err, "Neurons' Fund participation is disabled (motion proposal 135970)");
        break;
    case GOV_ACTION_FULFILL_SUBNET_RENTAL_REQUEST:
        if (!principals_valid(&x->u.subnet_rental.user, 1))
            return invalid(err, "user is required");
        break;
    }
    return true;
}

static bool precondition_no_voters(nns_error_t *err)
{
    return nns_error_set(err, 422, "PreconditionFailed", "No eligible voters");
}

/* ---- ballots (governance.rs compute_ballots_for_standard_proposal,
 * neuron_store/voting_power.rs; voting_power_snapshots.rs) ---- */

typedef struct {
    uint64_t id, vp;
} idvp_t;

typedef struct {
    idvp_t *v;
    size_t n, cap;
    uint64_t total_potential;
    uint64_t now, min_delay;
    gov_rules_t rules;
    const gov_economics_t *eco;
    bool failed;
} collect_t;

static bool collect_neuron(gov_round_t *r, const nrec_t *rec, void *ctx)
{
    (void)r;
    collect_t *c = ctx;
    const gov_neuron_t *n = &rec->n;
    uint64_t delay = gov_dissolve_delay(&n->dissolve, c->now);
    if (delay < c->min_delay)
        return true;
    uint64_t minted = minted_stake(n);
    uint64_t stake = minted + n->staked_maturity_e8s_equivalent;
    if (stake < minted)
        stake = UINT64_MAX;
    uint64_t pot = gov_potential_voting_power(c->rules, stake, delay, gov_age(&n->dissolve, c->now),
                                              n->eight_year_gang_bonus_base_e8s);
    uint64_t dec = gov_deciding_voting_power(
        pot, n->voting_power_refreshed_timestamp_seconds, c->now,
        c->eco->start_reducing_voting_power_after_seconds, c->eco->clear_following_after_seconds);
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        idvp_t *grown = realloc(c->v, cap * sizeof *grown);
        if (!grown) {
            c->failed = true;
            return false;
        }
        c->v = grown;
        c->cap = cap;
    }
    c->v[c->n++] = (idvp_t){n->id, dec};
    uint64_t t = c->total_potential + pot;
    c->total_potential = t < pot ? UINT64_MAX : t;
    return true;
}

/* LSD radix sort by id, 16 bits per pass (ids are distinct). */
static bool sort_idvp(idvp_t *v, size_t n)
{
    if (n < 2)
        return true;
    idvp_t *tmp = malloc(n * sizeof *tmp);
    size_t *count = malloc(65536 * sizeof *count);
    if (!tmp || !count) {
        free(tmp);
        free(count);
        return false;
    }
    idvp_t *src = v, *dst = tmp;
    for (int shift = 0; shift < 64; shift += 16) {
        memset(count, 0, 65536 * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[(src[i].id >> shift) & 0xFFFF]++;
        size_t sum = 0;
        for (size_t b = 0; b < 65536; b++) {
            size_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i].id >> shift) & 0xFFFF]++] = src[i];
        idvp_t *t = src;
        src = dst;
        dst = t;
    }
    /* four passes: the result is back in v */
    free(tmp);
    free(count);
    return true;
}

/* Every eligible neuron's deciding voting power at now, ascending by id, and the total
 * potential voting power. */
static bool compute_vp_map(gov_round_t *r, uint64_t now, collect_t *c, nns_error_t *err)
{
    memset(c, 0, sizeof *c);
    c->now = now;
    c->rules = r->core.rules;
    c->eco = &r->core.eco;
    c->min_delay = r->core.eco.neuron_minimum_dissolve_delay_to_vote_seconds;
    c->cap = r->core.neurons + 16;
    c->v = malloc(c->cap * sizeof *c->v);
    if (!c->v)
        return oom(err);
    /* the committed neurons (those the round changed are taken from the round), then the
     * round's */
    const gov_t *g = r->g;
    bool overlay = r->neurons.n > 0;
    size_t cap = g->neurons.map.cap;
    for (size_t i = 0; i < cap && !c->failed; i++) {
        /* records are scattered in memory: fetch a few slots ahead */
        if (i + 16 < cap && g->neurons.map.used[i + 16]) {
            const uint8_t *ahead = (const uint8_t *)(uintptr_t)g->neurons.map.vals[i + 16].a;
            __builtin_prefetch(ahead);
            __builtin_prefetch(ahead + 64);
            __builtin_prefetch(ahead + 128);
        }
        const nrec_t *rec = table_slot(&g->neurons, i);
        if (!rec || (overlay && overlay_find(&r->neurons, hmap_key_at(&g->neurons.map, i)) >= 0))
            continue;
        collect_neuron(r, rec, c);
    }
    for (size_t i = 0; i < r->neurons.n && !c->failed; i++)
        if (!r->neurons.removed[i])
            collect_neuron(r, overlay_rec(&r->neurons, i), c);
    if (c->failed || !sort_idvp(c->v, c->n)) {
        free(c->v);
        c->v = NULL;
        return oom(err);
    }
    return true;
}

static bool ballots_alloc(prop_t *p, size_t n)
{
    p->nb = n;
    p->bid = malloc((2 * n + 1) * sizeof(uint64_t));
    p->bvote = calloc(n + 1, 1);
    if (!p->bid || !p->bvote) {
        free(p->bid);
        free(p->bvote);
        p->bid = NULL;
        p->bvote = NULL;
        return false;
    }
    p->bvp = p->bid + n;
    return true;
}

/* The standard ballots with the spike protection (4.5): the current map, or the snapshot with
 * the smallest total when the current total exceeds 1.5 times it. */
static bool standard_ballots(gov_round_t *r, uint64_t now, prop_t *p, nns_error_t *err)
{
    collect_t c;
    if (!compute_vp_map(r, now, &c, err))
        return false;
    const gov_t *g = r->g;
    const snap_t *min = NULL;
    for (size_t i = 0; i < g->nsnaps; i++) {
        const snap_t *s = g->snaps[i];
        bool dropped = false;
        for (size_t j = 0; j < r->ndropped_snaps; j++)
            if (r->dropped_snaps[j] == s->s.timestamp_seconds)
                dropped = true;
        if (dropped || s->s.timestamp_seconds + GOV_VP_SNAPSHOT_MAX_STALENESS_SECONDS < now)
            continue;
        if (!min || s->s.total_potential_voting_power < min->s.total_potential_voting_power)
            min = s;
    }
    if (r->new_snap &&
        (!min || r->new_snap->s.total_potential_voting_power < min->s.total_potential_voting_power))
        min = r->new_snap;
    if (min && (unsigned __int128)c.total_potential * GOV_VP_SPIKE_DEN >
                   (unsigned __int128)min->s.total_potential_voting_power * GOV_VP_SPIKE_NUM) {
        free(c.v);
        if (min->s.n == 0)
            return precondition_no_voters(err);
        if (!ballots_alloc(p, min->s.n))
            return oom(err);
        memcpy(p->bid, min->s.neuron_ids, min->s.n * sizeof(uint64_t));
        memcpy(p->bvp, min->s.voting_powers, min->s.n * sizeof(uint64_t));
        p->f.p.total_potential_voting_power = min->s.total_potential_voting_power;
        p->f.p.has_previous_ballots_timestamp = true;
        p->f.p.previous_ballots_timestamp_seconds = min->s.timestamp_seconds;
        return true;
    }
    if (c.n == 0) {
        free(c.v);
        return precondition_no_voters(err);
    }
    if (!ballots_alloc(p, c.n)) {
        free(c.v);
        return oom(err);
    }
    for (size_t i = 0; i < c.n; i++) {
        p->bid[i] = c.v[i].id;
        p->bvp[i] = c.v[i].vp;
    }
    p->f.p.total_potential_voting_power = c.total_potential;
    free(c.v);
    return true;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ManageNeuron ballots (4.5): the managed neuron's NeuronManagement followees, weight 1. */
static bool manage_neuron_ballots(gov_round_t *r, uint64_t managed, uint64_t proposer, prop_t *p,
                                  nns_error_t *err)
{
    static _Thread_local gov_neuron_full_t m;
    if (!rget(r, managed, &m))
        return nns_error_set(err, 404, "NotFound", "managed neuron '%llu' not found",
                             (unsigned long long)managed);
    uint64_t ids[GOV_FOLLOWEES_MAX] = {0};
    size_t n = 0;
    for (uint8_t i = 0; i < m.nfollowees; i++)
        if (m.followees[i].topic == GOV_TOPIC_NEURON_MANAGEMENT)
            for (uint8_t j = 0; j < m.followees[i].n; j++)
                ids[n++] = m.followees[i].ids[j];
    qsort(ids, n, sizeof ids[0], u64_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || ids[u - 1] != ids[i])
            ids[u++] = ids[i];
    bool member = false;
    for (size_t i = 0; i < u; i++)
        if (ids[i] == proposer)
            member = true;
    if (!member)
        return nns_error_set(err, 422, "PreconditionFailed",
                             "the proposer is not a NeuronManagement followee of neuron '%llu'",
                             (unsigned long long)managed);
    if (!ballots_alloc(p, u))
        return oom(err);
    for (size_t i = 0; i < u; i++) {
        p->bid[i] = ids[i];
        p->bvp[i] = 1;
    }
    p->f.p.total_potential_voting_power = u;
    return true;
}

static uint64_t voting_period(int32_t topic)
{
    if (topic == GOV_TOPIC_NEURON_MANAGEMENT)
        return GOV_NEURON_MANAGEMENT_VOTING_PERIOD_SECONDS;
    if (topic == GOV_TOPIC_EXCHANGE_RATE)
        return GOV_SHORT_VOTING_PERIOD_SECONDS;
    return GOV_WAIT_FOR_QUIET_THRESHOLD_SECONDS;
}

static void prop_free(prop_t *p)
{
    free(p->blob);
    free(p->bid);
    free(p->bvote);
}

static void rprop_free(rprop_t *rp)
{
    if (rp->created) {
        prop_free(&rp->p);
    } else {
        if (rp->own_votes)
            free(rp->p.bvote);
        if (rp->own_blob)
            free(rp->p.blob);
    }
    free(rp->changed);
    free(rp->cidx);
    free(rp->ctime);
    free(rp->rows_ids);
    free(rp->rows_vps);
    free(rp->rows_at);
    free(rp->rows_votes);
    free(rp);
}

/* governance.rs make_proposal (spec 4.4), in its order. */
bool gov_apply_submit(gov_t *g, gov_round_t *r, const gov_submit_args_t *a, uint64_t now,
                      uint64_t *proposal_id, nns_error_t *err)
{
    (void)g;
    nns_error_clear(err);
    *proposal_id = 0;
    int32_t topic;
    if (!validate(r, a, &topic, err))
        return false;
    static _Thread_local gov_neuron_full_t f;
    if (!rget(r, a->neuron_id, &f))
        return nns_error_set(err, 404, "NotFound", "proposer neuron '%llu' not found",
                             (unsigned long long)a->neuron_id);
    if (!gov_is_controller_or_hot_key(&f, &a->caller))
        return nns_error_set(err, 403, "NotAuthorized",
                             "the caller is not authorized to propose for neuron '%llu'",
                             (unsigned long long)a->neuron_id);
    if (rlocked(r, f.n.id))
        return nns_error_set(err, 409, "LedgerUpdateOngoing",
                             "neuron '%llu' has an operation in progress",
                             (unsigned long long)f.n.id);
    const gov_economics_t *e = &r->core.eco;
    bool mn = a->action.kind == GOV_ACTION_MANAGE_NEURON;
    uint64_t fee = mn ? e->neuron_management_fee_per_proposal_e8s : e->reject_cost_e8s;
    if (minted_stake(&f.n) < fee)
        return nns_error_set(err, 422, "InsufficientFunds",
                             "neuron '%llu' has not enough stake to pay the fee of %llu e8s",
                             (unsigned long long)f.n.id, (unsigned long long)fee);
    /* NEURON_MINIMUM_DISSOLVE_DELAY_TO_PROPOSE_SECONDS: 6 months (M70); legacy: the vote minimum */
    uint64_t min_propose = mn ? 0
                           : r->core.rules == GOV_RULES_LEGACY
                               ? e->neuron_minimum_dissolve_delay_to_vote_seconds
                               : GOV_MIN_DISSOLVE_DELAY_TO_PROPOSE;
    if (gov_dissolve_delay(&f.n.dissolve, now) < min_propose)
        return nns_error_set(err, 422, "PreconditionFailed",
                             "the neuron's dissolve delay is below the minimum to propose (%llu "
                             "seconds)",
                             (unsigned long long)min_propose);
    /* capacity (governance.rs MAX_NUMBER_OF_OPEN_MANAGE_NEURON_PROPOSALS,
     * MAX_NUMBER_OF_PROPOSALS_WITH_BALLOTS) and one open CreateServiceNervousSystem */
    size_t open_mn = 0, holding = 0;
    bool open_sns = false;
    const gov_t *gs = r->g;
    for (size_t i = 0; i < gs->nprops + r->nrprops; i++) {
        const prop_t *p;
        if (i < gs->nprops) {
            p = gs->props[i];
            if (round_prop(r, p->f.p.id))
                continue;
        } else {
            const rprop_t *rp = r->rprops[i - gs->nprops];
            if (rp->forgotten)
                continue;
            p = &rp->p;
        }
        bool open = p->f.p.decided_timestamp_seconds == 0;
        if (p->f.p.action_kind == GOV_ACTION_MANAGE_NEURON) {
            if (open)
                open_mn++;
        } else if (p->f.p.ballots_held) {
            holding++;
        }
        if (p->f.p.action_kind == GOV_ACTION_CREATE_SERVICE_NERVOUS_SYSTEM &&
            gov_proposal_status(&p->f.p) != GOV_PROPOSAL_REJECTED &&
            gov_proposal_status(&p->f.p) != GOV_PROPOSAL_EXECUTED &&
            gov_proposal_status(&p->f.p) != GOV_PROPOSAL_FAILED)
            open_sns = true;
    }
    if (mn ? open_mn >= GOV_OPEN_MANAGE_NEURON_MAX : holding >= GOV_HOLDING_BALLOTS_MAX)
        return nns_error_set(err, 422, "ResourceExhausted",
                             "too many proposals %s; try again later",
                             mn ? "open" : "holding ballots");
    if (a->action.kind == GOV_ACTION_CREATE_SERVICE_NERVOUS_SYSTEM && open_sns)
        return nns_error_set(err, 422, "ResourceExhausted",
                             "another CreateServiceNervousSystem proposal is not final yet");

    rprop_t *rp = calloc(1, sizeof *rp);
    if (!rp)
        return oom(err);
    rp->created = rp->own_votes = rp->own_blob = true;
    prop_t *p = &rp->p;
    gov_proposal_t *pp = &p->f.p;
    pp->id = r->core.next_proposal_id ? r->core.next_proposal_id : 1;
    pp->proposer = f.n.id;
    pp->topic = topic;
    pp->action_kind = a->action.kind;
    pp->nns_function =
        a->action.kind == GOV_ACTION_EXECUTE_NNS_FUNCTION ? a->action.u.nns.nns_function : 0;
    pp->managed_neuron_id = mn ? a->action.u.manage_neuron.command.neuron_id : 0;
    pp->reject_cost_e8s = mn ? 0 : fee;
    pp->proposal_timestamp_seconds = now;
    pp->voting_period_seconds = voting_period(topic);
    pp->has_wait_for_quiet = !mn;
    pp->wait_for_quiet_deadline_seconds = mn ? 0 : now + pp->voting_period_seconds;
    pp->ballots_held = true;
    bool ok = mn ? manage_neuron_ballots(r, pp->managed_neuron_id, f.n.id, p, err)
                 : standard_ballots(r, now, p, err);
    if (!ok) {
        rprop_free(rp);
        return false;
    }
    pp->ballots_count = p->nb;
    p->blob = blob_build(a->title, a->summary, a->url, a->action_json, &a->action, &p->f);
    if (!p->blob) {
        rprop_free(rp);
        return oom(err);
    }
    if (mn) { /* the command's neuron is the managed one; the caller is fixed at execution */
        gov_action_t *act = (gov_action_t *)p->blob;
        act->u.manage_neuron.command.caller.len = 0;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < p->nb; i++)
        total += p->bvp[i];
    pp->tally.total = total;
    pp->tally.timestamp_seconds = now;
    if (!rprops_push(r, rp, err)) {
        rprop_free(rp);
        return false;
    }
    /* from here the proposal is in the round: a failure leaves the round to discard (OOM) */
    rcore(r)->next_proposal_id = pp->id + 1;
    r->pdirty = true;
    /* the fee, charged up front; the proposer's voting power refreshed */
    f.n.neuron_fees_e8s += fee;
    f.n.voting_power_refreshed_timestamp_seconds = now;
    if (!rput(r, &f, false, err) || !revent(r, f.n.id, "proposal_submitted", now, fee, 0, err,
                                            "proposal %llu", (unsigned long long)pp->id))
        return false;
    /* the proposer's yes with the cascade (no wait-for-quiet on the first tally) */
    long idx = prop_ballot_index(p, f.n.id);
    if (idx >= 0) {
        size_t changed = 0;
        if (!cast_and_cascade(r, rp, (size_t)idx, GOV_VOTE_YES, now, &changed, err))
            return false;
    }
    pp->tally.timestamp_seconds = now;
    if (!rtally_log(r, p, err) || !process_proposal(r, rp, now, err))
        return false;
    *proposal_id = pp->id;
    return true;
}

/* ---- loads ---- */

void gov_load_proposal_info(gov_t *g, const gov_proposal_info_t *info)
{
    if (info->next_proposal_id > g->core.next_proposal_id)
        g->core.next_proposal_id = info->next_proposal_id;
    g->core.last_snapshot_day = info->last_snapshot_day;
}

static bool corrupt_p(nns_error_t *err, const char *what, uint64_t id)
{
    return nns_error_set(err, 500, "CorruptState", "%s %llu", what, (unsigned long long)id);
}

bool gov_load_proposal(gov_t *g, const gov_proposal_t *src, const char *title, const char *summary,
                       const char *url, const char *action_json, const gov_action_t *action,
                       const uint64_t *ballot_ids, const uint64_t *ballot_vps,
                       const uint8_t *ballot_votes, size_t nballots, nns_error_t *err)
{
    if (src->id == 0 || (g->nprops && g->props[g->nprops - 1]->f.p.id >= src->id))
        return corrupt_p(err, "proposal out of order", src->id);
    if (src->ballots_held && nballots != src->ballots_count)
        return corrupt_p(err, "ballot count of proposal", src->id);
    if (!action || action->kind != src->action_kind)
        return corrupt_p(err, "bad action of proposal", src->id);
    prop_t *p = calloc(1, sizeof *p);
    if (!p)
        return oom(err);
    p->f.p = *src;
    p->blob = blob_build(title, summary, url, action_json, action, &p->f);
    if (!p->blob) {
        free(p);
        return oom(err);
    }
    if (src->ballots_held) {
        if (!ballots_alloc(p, nballots)) {
            prop_free(p);
            free(p);
            return oom(err);
        }
        for (size_t i = 0; i < nballots; i++) {
            if ((i > 0 && ballot_ids[i] <= ballot_ids[i - 1]) || ballot_votes[i] > 2) {
                prop_free(p);
                free(p);
                return corrupt_p(err, "ballots out of order in proposal", src->id);
            }
            p->bid[i] = ballot_ids[i];
            p->bvp[i] = ballot_vps[i];
            p->bvote[i] = ballot_votes[i];
        }
    }
    if (g->nprops == g->capprops) {
        size_t cap = g->capprops ? g->capprops * 2 : 64;
        prop_t **grown = realloc(g->props, cap * sizeof *grown);
        if (!grown) {
            prop_free(p);
            free(p);
            return oom(err);
        }
        g->props = grown;
        g->capprops = cap;
    }
    g->props[g->nprops++] = p;
    if (src->id >= g->core.next_proposal_id)
        g->core.next_proposal_id = src->id + 1;
    return true;
}

bool gov_load_known_neuron(gov_t *g, const gov_known_neuron_t *k, nns_error_t *err)
{
    size_t pos;
    if (k->id == 0 || committed_known(g, k->id, &pos))
        return corrupt_p(err, "duplicate known neuron", k->id);
    gov_known_neuron_t *c = kn_copy(k);
    gov_known_neuron_t **grown = c ? realloc(g->kns, (g->nkns + 1) * sizeof *grown) : NULL;
    if (!grown) {
        free(c);
        return oom(err);
    }
    g->kns = grown;
    memmove(&g->kns[pos + 1], &g->kns[pos], (g->nkns - pos) * sizeof *g->kns);
    g->kns[pos] = c;
    g->nkns++;
    return true;
}

static bool np_insert(gov_t *g, const gov_node_provider_t *np)
{
    size_t pos;
    long at = committed_np(g, &np->id, &pos);
    if (at >= 0) {
        g->nps[at] = *np;
        return true;
    }
    gov_node_provider_t *grown = realloc(g->nps, (g->nnps + 1) * sizeof *grown);
    if (!grown)
        return false;
    g->nps = grown;
    memmove(&g->nps[pos + 1], &g->nps[pos], (g->nnps - pos) * sizeof *g->nps);
    g->nps[pos] = *np;
    g->nnps++;
    return true;
}

bool gov_load_node_provider(gov_t *g, const gov_node_provider_t *np, nns_error_t *err)
{
    if (np->id.len == 0 || np->id.len > PRINCIPAL_MAX_BYTES || committed_np(g, &np->id, NULL) >= 0)
        return corrupt_p(err, "bad or duplicate node provider", 0);
    return np_insert(g, np) || oom(err);
}

static snap_t *snap_new(uint64_t ts, uint64_t total, const uint64_t *ids, const uint64_t *vps,
                        size_t n)
{
    snap_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->mem = malloc((2 * n + 1) * sizeof(uint64_t));
    if (!s->mem) {
        free(s);
        return NULL;
    }
    if (n) {
        memcpy(s->mem, ids, n * sizeof(uint64_t));
        memcpy(s->mem + n, vps, n * sizeof(uint64_t));
    }
    s->s.timestamp_seconds = ts;
    s->s.total_potential_voting_power = total;
    s->s.n = n;
    s->s.neuron_ids = s->mem;
    s->s.voting_powers = s->mem + n;
    return s;
}

static void snap_free(snap_t *s)
{
    if (s) {
        free(s->mem);
        free(s);
    }
}

bool gov_load_vp_snapshot(gov_t *g, const gov_vp_snapshot_t *s, nns_error_t *err)
{
    if (g->nsnaps == GOV_VP_SNAPSHOTS_MAX ||
        (g->nsnaps && g->snaps[g->nsnaps - 1]->s.timestamp_seconds >= s->timestamp_seconds))
        return corrupt_p(err, "snapshot out of order at", s->timestamp_seconds);
    for (size_t i = 1; i < s->n; i++)
        if (s->neuron_ids[i] <= s->neuron_ids[i - 1])
            return corrupt_p(err, "snapshot ids out of order at", s->timestamp_seconds);
    snap_t *c = snap_new(s->timestamp_seconds, s->total_potential_voting_power, s->neuron_ids,
                         s->voting_powers, s->n);
    if (!c)
        return oom(err);
    g->snaps[g->nsnaps++] = c;
    return true;
}

/* Takes the daily snapshot in the round (gov_exec.c's tick): drops the stale ones and the oldest
 * beyond the maximum. */
bool rsnapshot_take(gov_round_t *r, uint64_t now, nns_error_t *err)
{
    collect_t c;
    if (!compute_vp_map(r, now, &c, err))
        return false;
    uint64_t *ids = malloc((c.n + 1) * sizeof *ids), *vps = malloc((c.n + 1) * sizeof *vps);
    if (!ids || !vps) {
        free(ids);
        free(vps);
        free(c.v);
        return oom(err);
    }
    for (size_t i = 0; i < c.n; i++) {
        ids[i] = c.v[i].id;
        vps[i] = c.v[i].vp;
    }
    snap_t *s = snap_new(now, c.total_potential, ids, vps, c.n);
    free(ids);
    free(vps);
    free(c.v);
    if (!s)
        return oom(err);
    snap_free(r->new_snap);
    r->new_snap = s;
    const gov_t *g = r->g;
    size_t keep = 0;
    r->ndropped_snaps = 0;
    for (size_t i = 0; i < g->nsnaps; i++) {
        if (g->snaps[i]->s.timestamp_seconds + GOV_VP_SNAPSHOT_MAX_STALENESS_SECONDS < now)
            r->dropped_snaps[r->ndropped_snaps++] = g->snaps[i]->s.timestamp_seconds;
        else
            keep++;
    }
    for (size_t i = 0; keep + 1 > GOV_VP_SNAPSHOTS_MAX && i < g->nsnaps; i++) {
        bool already = false;
        for (size_t j = 0; j < r->ndropped_snaps; j++)
            if (r->dropped_snaps[j] == g->snaps[i]->s.timestamp_seconds)
                already = true;
        if (!already) {
            r->dropped_snaps[r->ndropped_snaps++] = g->snaps[i]->s.timestamp_seconds;
            keep--;
        }
    }
    rcore(r)->last_snapshot_day = now / GOV_ONE_DAY;
    r->pdirty = true;
    return true;
}

/* ---- reads ---- */

static size_t prop_memory(const prop_t *p)
{
    return sizeof *p + p->nb * (2 * sizeof(uint64_t) + 1) + 1024;
}

size_t props_memory(const gov_t *g)
{
    size_t bytes = g->capprops * sizeof(prop_t *);
    for (size_t i = 0; i < g->nprops; i++)
        bytes += prop_memory(g->props[i]);
    for (size_t i = 0; i < g->nsnaps; i++)
        bytes += sizeof(snap_t) + g->snaps[i]->s.n * 2 * sizeof(uint64_t);
    return bytes + follow_memory(g);
}

void gov_proposal_info(gov_t *g, gov_proposal_info_t *out)
{
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&g->lock);
    out->next_proposal_id = g->core.next_proposal_id ? g->core.next_proposal_id : 1;
    out->last_snapshot_day = g->core.last_snapshot_day;
    out->proposals = g->nprops;
    for (size_t i = 0; i < g->nprops; i++) {
        const gov_proposal_t *p = &g->props[i]->f.p;
        bool open = p->decided_timestamp_seconds == 0;
        out->open += open;
        if (p->action_kind == GOV_ACTION_MANAGE_NEURON)
            out->open_manage_neuron += open;
        else
            out->holding_ballots += p->ballots_held;
        out->ballots += g->props[i]->nb;
    }
    out->known_neurons = g->nkns;
    out->node_providers = g->nnps;
    out->follow_index_entries = g->follow_entries;
    out->memory_bytes = props_memory(g);
    pthread_rwlock_unlock(&g->lock);
}

/* A malloc'd copy of a proposal (one allocation). */
static gov_proposal_full_t *full_copy(const gov_proposal_full_t *src)
{
    size_t head = (sizeof(gov_proposal_full_t) + 7) & ~(size_t)7;
    pack_t sz = {NULL, 0};
    static _Thread_local gov_action_t scratch;
    pk_take(&sz, sizeof(gov_action_t));
    pk_str(&sz, src->title);
    pk_str(&sz, src->summary);
    pk_str(&sz, src->url);
    pk_str(&sz, src->action_json);
    pk_action(&sz, &scratch, src->action);
    uint8_t *mem = malloc(head + sz.off + 8);
    if (!mem)
        return NULL;
    gov_proposal_full_t *out = (gov_proposal_full_t *)(void *)mem;
    out->p = src->p;
    pack_t k = {mem + head, 0};
    gov_action_t *act = pk_take(&k, sizeof(gov_action_t));
    out->title = pk_str(&k, src->title);
    out->summary = pk_str(&k, src->summary);
    out->url = pk_str(&k, src->url);
    out->action_json = pk_str(&k, src->action_json);
    pk_action(&k, act, src->action);
    out->action = act;
    return out;
}

static bool in_list(int v, const int *list, size_t n)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (list[i] == v)
            return true;
    return false;
}

bool gov_proposals_list(gov_t *g, const gov_proposal_filter_t *f, uint64_t now,
                        gov_proposal_full_t ***out, size_t *n, bool *more)
{
    size_t limit =
        f->limit == 0 || f->limit > GOV_PROPOSAL_LIST_MAX ? GOV_PROPOSAL_LIST_MAX : f->limit;
    *out = NULL;
    *n = 0;
    *more = false;
    gov_proposal_full_t **v = calloc(limit + 1, sizeof *v);
    if (!v)
        return false;
    bool ok = true;
    pthread_rwlock_rdlock(&g->lock);
    for (size_t i = g->nprops; i-- > 0;) {
        const gov_proposal_full_t *p = &g->props[i]->f;
        if (f->before_id && p->p.id >= f->before_id)
            continue;
        if (!in_list((int)gov_proposal_status(&p->p), f->status, f->nstatus) ||
            !in_list((int)gov_proposal_reward_status(&p->p, now), f->reward_status, f->nreward))
            continue;
        bool topic_ok = f->ntopic == 0;
        for (size_t t = 0; t < f->ntopic; t++)
            if (f->topic[t] == p->p.topic)
                topic_ok = true;
        if (!topic_ok)
            continue;
        if (*n == limit) {
            *more = true;
            break;
        }
        v[*n] = full_copy(p);
        if (!v[*n]) {
            ok = false;
            break;
        }
        (*n)++;
    }
    pthread_rwlock_unlock(&g->lock);
    if (!ok) {
        for (size_t i = 0; i < *n; i++)
            free(v[i]);
        free(v);
        *n = 0;
        return false;
    }
    *out = v;
    return true;
}

gov_proposal_full_t *gov_proposal_get(gov_t *g, uint64_t id, bool *is_oom)
{
    if (is_oom)
        *is_oom = false;
    pthread_rwlock_rdlock(&g->lock);
    const prop_t *p = committed_prop(g, id);
    gov_proposal_full_t *c = p ? full_copy(&p->f) : NULL;
    pthread_rwlock_unlock(&g->lock);
    if (p && !c && is_oom)
        *is_oom = true;
    return c;
}

size_t gov_proposal_ballots(gov_t *g, uint64_t id, uint64_t after_id, int vote, gov_ballot_t *out,
                            size_t max, bool *more, bool *held)
{
    *more = false;
    *held = false;
    if (max > GOV_BALLOT_PAGE_MAX)
        max = GOV_BALLOT_PAGE_MAX;
    size_t n = 0;
    pthread_rwlock_rdlock(&g->lock);
    const prop_t *p = committed_prop(g, id);
    if (p && p->f.p.ballots_held) {
        *held = true;
        size_t lo = 0, hi = p->nb;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (p->bid[mid] <= after_id)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; i < p->nb; i++) {
            if (vote >= 0 && p->bvote[i] != vote)
                continue;
            if (n == max) {
                *more = true;
                break;
            }
            out[n++] = (gov_ballot_t){p->bid[i], p->bvp[i], p->bvote[i]};
        }
    }
    pthread_rwlock_unlock(&g->lock);
    return n;
}

bool gov_proposal_ballot(gov_t *g, uint64_t proposal_id, uint64_t neuron_id, gov_ballot_t *out)
{
    pthread_rwlock_rdlock(&g->lock);
    const prop_t *p = committed_prop(g, proposal_id);
    long i = p ? prop_ballot_index(p, neuron_id) : -1;
    if (i >= 0)
        *out = (gov_ballot_t){p->bid[i], p->bvp[i], p->bvote[i]};
    pthread_rwlock_unlock(&g->lock);
    return i >= 0;
}

size_t gov_neuron_recent_ballots(gov_t *g, uint64_t neuron_id, gov_recent_ballot_t *out, size_t max)
{
    if (max > GOV_RECENT_BALLOTS_MAX)
        max = GOV_RECENT_BALLOTS_MAX;
    size_t n = 0;
    pthread_rwlock_rdlock(&g->lock);
    for (size_t i = g->nprops; i-- > 0 && n < max;) {
        const prop_t *p = g->props[i];
        if (p->f.p.topic == GOV_TOPIC_EXCHANGE_RATE || !p->nb)
            continue;
        long b = prop_ballot_index(p, neuron_id);
        if (b >= 0 && p->bvote[b] != GOV_VOTE_UNSPECIFIED)
            out[n++] = (gov_recent_ballot_t){p->f.p.id, p->bvote[b]};
    }
    pthread_rwlock_unlock(&g->lock);
    return n;
}

bool gov_known_neurons(gov_t *g, gov_known_neuron_t ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_rwlock_rdlock(&g->lock);
    gov_known_neuron_t **v = calloc(g->nkns + 1, sizeof *v);
    bool ok = v != NULL;
    for (size_t i = 0; ok && i < g->nkns; i++) {
        v[i] = kn_copy(g->kns[i]);
        if (!v[i]) {
            ok = false;
            for (size_t j = 0; j < i; j++)
                free(v[j]);
        }
    }
    size_t count = g->nkns;
    pthread_rwlock_unlock(&g->lock);
    if (!ok) {
        free(v);
        return false;
    }
    *out = v;
    *n = count;
    return true;
}

gov_known_neuron_t *gov_known_neuron(gov_t *g, uint64_t id, bool *is_oom)
{
    if (is_oom)
        *is_oom = false;
    pthread_rwlock_rdlock(&g->lock);
    const gov_known_neuron_t *k = committed_known(g, id, NULL);
    gov_known_neuron_t *c = k ? kn_copy(k) : NULL;
    pthread_rwlock_unlock(&g->lock);
    if (k && !c && is_oom)
        *is_oom = true;
    return c;
}

bool gov_node_providers(gov_t *g, gov_node_provider_t **out, size_t *n)
{
    pthread_rwlock_rdlock(&g->lock);
    gov_node_provider_t *v = malloc((g->nnps + 1) * sizeof *v);
    size_t count = g->nnps;
    if (v && count)
        memcpy(v, g->nps, count * sizeof *v);
    pthread_rwlock_unlock(&g->lock);
    *out = v;
    *n = v ? count : 0;
    return v != NULL;
}

/* ---- what the round changed ---- */

void gov_round_proposal_info(const gov_round_t *r, gov_proposal_info_t *out, bool *changed)
{
    memset(out, 0, sizeof *out);
    out->next_proposal_id = r->core.next_proposal_id ? r->core.next_proposal_id : 1;
    out->last_snapshot_day = r->core.last_snapshot_day;
    *changed = r->pdirty;
}

static int rprop_cmp(const void *a, const void *b)
{
    uint64_t x = (*(rprop_t *const *)a)->p.f.p.id, y = (*(rprop_t *const *)b)->p.f.p.id;
    return x < y ? -1 : x > y;
}

size_t gov_round_proposal_count(const gov_round_t *r)
{
    /* ascending ids for the store */
    if (r->nrprops > 1)
        qsort(r->rprops, r->nrprops, sizeof *r->rprops, rprop_cmp);
    return r->nrprops;
}

const gov_proposal_full_t *gov_round_proposal(const gov_round_t *r, size_t i, bool *created,
                                              bool *forgotten)
{
    const rprop_t *rp = r->rprops[i];
    *created = rp->created;
    *forgotten = rp->forgotten;
    return &rp->p.f;
}

void gov_round_ballot_changes(const gov_round_t *r, size_t i, gov_ballot_rows_t *out)
{
    rprop_t *rp = r->rprops[i];
    memset(out, 0, sizeof *out);
    out->proposal_id = rp->p.f.p.id;
    if (!rp->rows_built) {
        rp->rows_built = true;
        size_t n = rp->created ? rp->p.nb : rp->nchanged;
        if (n == 0)
            return;
        rp->rows_ids = malloc(n * sizeof(uint64_t));
        rp->rows_vps = malloc(n * sizeof(uint64_t));
        rp->rows_at = calloc(n, sizeof(uint64_t));
        rp->rows_votes = malloc(n);
        if (!rp->rows_ids || !rp->rows_vps || !rp->rows_at || !rp->rows_votes)
            abort(); /* crash-only: the store cannot write the round */
        /* times: the change log in order; the last change of a ballot wins (one per ballot) */
        uint64_t *at_by_idx = NULL;
        bool one_time = true;
        for (size_t k = 1; k < rp->nlog; k++)
            if (rp->ctime[k] != rp->ctime[0])
                one_time = false;
        if (!one_time) {
            at_by_idx = calloc(rp->p.nb, sizeof *at_by_idx);
            if (!at_by_idx)
                abort();
            for (size_t k = 0; k < rp->nlog; k++)
                at_by_idx[rp->cidx[k]] = rp->ctime[k];
        }
        size_t k = 0;
        for (size_t b = 0; b < rp->p.nb; b++) {
            bool ch = rp->changed && (rp->changed[b >> 3] >> (b & 7)) & 1;
            if (!rp->created && !ch)
                continue;
            rp->rows_ids[k] = rp->p.bid[b];
            rp->rows_vps[k] = rp->p.bvp[b];
            rp->rows_votes[k] = rp->p.bvote[b];
            rp->rows_at[k] = ch ? (at_by_idx ? at_by_idx[b] : rp->ctime[0]) : 0;
            k++;
        }
        free(at_by_idx);
        rp->nrows = k;
    }
    out->n = rp->nrows;
    out->neuron_ids = rp->rows_ids;
    out->votes = rp->rows_votes;
    out->voting_powers = rp->rows_vps;
    out->cast_at_seconds = rp->rows_at;
}

const gov_tally_change_t *gov_round_tally_changes(const gov_round_t *r, size_t *n)
{
    *n = r->ntallies;
    return r->tallies;
}

size_t gov_round_known_neuron_count(const gov_round_t *r)
{
    return r->nkncs;
}

const gov_known_neuron_t *gov_round_known_neuron(const gov_round_t *r, size_t i, bool *removed)
{
    static _Thread_local gov_known_neuron_t gone;
    *removed = r->kncs[i].k == NULL;
    if (*removed) {
        memset(&gone, 0, sizeof gone);
        gone.id = r->kncs[i].id;
        return &gone;
    }
    return r->kncs[i].k;
}

size_t gov_round_node_provider_count(const gov_round_t *r)
{
    return r->nnpcs;
}

const gov_node_provider_t *gov_round_node_provider(const gov_round_t *r, size_t i, bool *removed)
{
    *removed = r->npcs[i].removed;
    return &r->npcs[i].np;
}

const gov_vp_snapshot_t *gov_round_vp_snapshot(const gov_round_t *r)
{
    return r->new_snap ? &r->new_snap->s : NULL;
}

const uint64_t *gov_round_vp_snapshots_dropped(const gov_round_t *r, size_t *n)
{
    *n = r->ndropped_snaps;
    return r->dropped_snaps;
}

/* ---- commit, discard, destroy ---- */

bool rprop_release_ballots(gov_round_t *r, uint64_t id, nns_error_t *err)
{
    rprop_t *rp = rprop_edit(r, id, false, err);
    if (!rp)
        return false;
    rp->p.f.p.ballots_held = false;
    rp->settled_ballots = true;
    return true;
}

bool rprop_settle(gov_round_t *r, uint64_t id, uint64_t reward_event_round, nns_error_t *err)
{
    rprop_t *rp = rprop_edit(r, id, false, err);
    if (!rp)
        return false;
    rp->p.f.p.reward_event_round = reward_event_round;
    rp->p.f.p.ballots_held = false;
    rp->settled_ballots = true;
    return true;
}

static void props_insert(gov_t *g, prop_t *p)
{
    if (g->nprops == g->capprops) {
        size_t cap = g->capprops ? g->capprops * 2 : 64;
        prop_t **grown = realloc(g->props, cap * sizeof *grown);
        if (!grown)
            abort();
        g->props = grown;
        g->capprops = cap;
    }
    size_t pos = g->nprops;
    while (pos > 0 && g->props[pos - 1]->f.p.id > p->f.p.id)
        pos--;
    memmove(&g->props[pos + 1], &g->props[pos], (g->nprops - pos) * sizeof *g->props);
    g->props[pos] = p;
    g->nprops++;
}

void props_commit(gov_t *g, gov_round_t *r)
{
    for (size_t i = 0; i < r->nrprops; i++) {
        rprop_t *rp = r->rprops[i];
        if (rp->created) {
            prop_t *p = malloc(sizeof *p);
            if (!p)
                abort();
            *p = rp->p;
            if (rp->settled_ballots || rp->forgotten) {
                free(p->bid);
                free(p->bvote);
                p->bid = p->bvp = NULL;
                p->bvote = NULL;
                p->nb = 0;
            }
            if (rp->forgotten) {
                prop_free(p);
                free(p);
            } else {
                props_insert(g, p);
            }
            rp->created = false;
            rp->own_votes = rp->own_blob = false;
            continue;
        }
        size_t lo = 0, hi = g->nprops;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (g->props[mid]->f.p.id < rp->p.f.p.id)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo >= g->nprops || g->props[lo]->f.p.id != rp->p.f.p.id)
            abort();
        prop_t *c = g->props[lo];
        if (rp->own_votes) {
            free(c->bvote);
            c->bvote = rp->p.bvote;
            rp->own_votes = false;
        }
        c->f = rp->p.f; /* the texts and action stay in c->blob (shared) */
        if (rp->settled_ballots || rp->forgotten) {
            free(c->bid);
            free(c->bvote);
            c->bid = c->bvp = NULL;
            c->bvote = NULL;
            c->nb = 0;
        }
        if (rp->forgotten) {
            prop_free(c);
            free(c);
            memmove(&g->props[lo], &g->props[lo + 1], (g->nprops - lo - 1) * sizeof *g->props);
            g->nprops--;
        }
    }
    for (size_t i = 0; i < r->nkncs; i++) {
        size_t pos;
        const gov_known_neuron_t *old = committed_known(g, r->kncs[i].id, &pos);
        gov_known_neuron_t *k = r->kncs[i].k;
        if (old) {
            free(g->kns[pos]);
            if (k) {
                g->kns[pos] = k;
            } else {
                memmove(&g->kns[pos], &g->kns[pos + 1], (g->nkns - pos - 1) * sizeof *g->kns);
                g->nkns--;
            }
        } else if (k) {
            gov_known_neuron_t **grown = realloc(g->kns, (g->nkns + 1) * sizeof *grown);
            if (!grown)
                abort();
            g->kns = grown;
            memmove(&g->kns[pos + 1], &g->kns[pos], (g->nkns - pos) * sizeof *g->kns);
            g->kns[pos] = k;
            g->nkns++;
        }
        r->kncs[i].k = NULL; /* moved */
    }
    for (size_t i = 0; i < r->nnpcs; i++) {
        if (r->npcs[i].removed) {
            long at = committed_np(g, &r->npcs[i].np.id, NULL);
            if (at >= 0) {
                memmove(&g->nps[at], &g->nps[at + 1], (g->nnps - (size_t)at - 1) * sizeof *g->nps);
                g->nnps--;
            }
        } else if (!np_insert(g, &r->npcs[i].np)) {
            abort();
        }
    }
    for (size_t j = 0; j < r->ndropped_snaps; j++)
        for (size_t i = 0; i < g->nsnaps; i++)
            if (g->snaps[i]->s.timestamp_seconds == r->dropped_snaps[j]) {
                snap_free(g->snaps[i]);
                memmove(&g->snaps[i], &g->snaps[i + 1], (g->nsnaps - i - 1) * sizeof *g->snaps);
                g->nsnaps--;
                break;
            }
    if (r->new_snap) {
        if (g->nsnaps == GOV_VP_SNAPSHOTS_MAX) {
            snap_free(g->snaps[0]);
            memmove(&g->snaps[0], &g->snaps[1], (g->nsnaps - 1) * sizeof *g->snaps);
            g->nsnaps--;
        }
        g->snaps[g->nsnaps++] = r->new_snap;
        r->new_snap = NULL;
    }
}

void props_round_free(gov_round_t *r)
{
    for (size_t i = 0; i < r->nrprops; i++)
        rprop_free(r->rprops[i]);
    free(r->rprops);
    free(r->tallies);
    for (size_t i = 0; i < r->nkncs; i++)
        free(r->kncs[i].k);
    free(r->kncs);
    free(r->npcs);
    snap_free(r->new_snap);
    free(r->rows_tmp);
}

void props_destroy(gov_t *g)
{
    for (size_t i = 0; i < g->nprops; i++) {
        prop_free(g->props[i]);
        free(g->props[i]);
    }
    free(g->props);
    for (size_t i = 0; i < g->nkns; i++)
        free(g->kns[i]);
    free(g->kns);
    free(g->nps);
    for (size_t i = 0; i < g->nsnaps; i++)
        snap_free(g->snaps[i]);
    follow_free(g);
}
