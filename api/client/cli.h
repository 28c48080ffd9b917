/*
 * cli.h: what the nns command-line client's files share. nns.c holds the command-line parser,
 * the help printer and the ledger and cycles commands; neuron.c the governance commands (nns
 * neuron ..., nns governance); proposal.c the proposal commands (nns proposal ..., nns vote, nns
 * reward-events, nns known-neurons, nns node-providers). Each file has a table of commands; the
 * parser and the help look through both. The helpers below are nns.c's: every value a user types is
 * checked before anything is sent (a typo is a usage error, exit 2), and answers are printed as
 * indented JSON.
 */
#ifndef NNS_CLI_H
#define NNS_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "account.h"
#include "client.h"
#include "principal.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_UNFINISHED = 3 };

#define MAX_OPTIONS 14
#define MAX_CONTROLLERS 10     /* a canister's controllers (cmc.h CMC_MAX_CONTROLLERS) */
#define MAX_TOPIC_FOLLOWING 19 /* set-following: one --topic per topic id 0..18 */
#define MAX_FILTERS 19         /* proposal list: --status, --topic, --reward-status values */

/* Every option value, as typed; NULL when not given. */
typedef struct {
    const char *url, *key, *out, *pem, *principal, *subaccount, *to, *amount, *fee, *memo,
        *memo_hex, *from_subaccount, *created_at_time, *limit, *cursor, *start, *spender, *from,
        *expected_allowance, *expires_at, *spender_subaccount, *type;
    /* cycles commands */
    const char *ledger, *cmc, *canister, *block, *subnet_type, *subnet, *to_subaccount,
        *deposit_memo, *set, *timestamp, *wait, *cmc_pub;
    const char *controllers[MAX_CONTROLLERS];
    size_t ncontrollers;
    /* governance commands */
    const char *governance, *controller, *amount_e8s, *seconds, *days, *hot_key, *source, *percent,
        *new_controller, *nonce, *topic, *followees;
    const char *topic_following[MAX_TOPIC_FOLLOWING];
    size_t ntopic_following;
    /* proposal commands */
    const char *neuron, *proposal, *title, *summary, *proposal_url, *motion, *action_json,
        *economics, *register_known_neuron, *name, *description, *conversion_rate, *vote;
    const char *statuses[MAX_FILTERS], *topics[MAX_FILTERS], *reward_statuses[MAX_FILTERS];
    size_t nstatuses, ntopics, nreward_statuses;
    const char *positional, *positional2;
} cli_args_t;

extern cli_args_t args;

typedef struct {
    const char *name;    /* without the leading "--" */
    const char *metavar; /* shown in usage */
    const char **target;
    bool required;
    const char *help;
} cli_option_t;

/* Which services a command talks to, so which URL options it takes. */
enum {
    LOCAL = 0,         /* no service */
    REMOTE_URL = 1,    /* the ledger, through --url (the ledger commands) */
    REMOTE_LEDGER = 2, /* the ledger, through --ledger (the cycles and staking commands) */
    REMOTE_CMC = 4,    /* the cycles minting service, through --cmc */
    REMOTE_GOV = 8,    /* governance, through --governance */
};

typedef struct {
    const char *name;       /* one or two words: "balance", "key generate" */
    const char *positional; /* metavar of the positional argument, or NULL; two words ("ID
                               on|off") for two arguments (args.positional, positional2) */
    int remote;             /* REMOTE_* bits: the URL options it accepts */
    int (*run)(void);
    const char *summary;
    cli_option_t options[MAX_OPTIONS]; /* ended by an entry with a NULL name */
} cli_command_t;

extern const cli_command_t *command; /* the command being run, for messages */

/* The governance commands (neuron.c). */
extern const cli_command_t NEURON_COMMANDS[];
extern const size_t NEURON_NCOMMANDS;
/* The proposal, vote and reward commands (proposal.c). */
extern const cli_command_t PROPOSAL_COMMANDS[];
extern const size_t PROPOSAL_NCOMMANDS;

/* ---- nns.c's helpers --------------------------------------------------------------------- */

int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints text as indented JSON when it parses, as is otherwise. */
void print_body(FILE *f, const char *text);
/* Prints json (stolen) indented on stdout; EXIT_OK (or a failure when json is NULL). */
int print_json(json_t *json);
/* Decimal digits into a u64; false after a usage error naming option. */
bool parse_u64_arg(const char *option, const char *text, uint64_t *out);
/* A principal option, checked and rewritten canonically; false after a usage error. */
bool parse_principal_arg(const char *option, const char *text, char out[PRINCIPAL_TEXT_MAX]);
/* Appends "?name=value" or "&name=value" (value escaped) to *path. Returns false on OOM. */
bool append_query(char **path, const char *name, const char *value);
json_t *u64_string(uint64_t v);
/* Sets a member of body; a NULL value (allocation failure) marks *ok false. */
void set_member(json_t *body, const char *name, json_t *value, bool *ok);
/* The ledger's base URL: --ledger, else --url, else $NNS_LEDGER_URL, else the default. */
const char *service_url(void);
/* Governance's base URL: --governance, else $NNS_GOVERNANCE_URL, else the default. */
const char *gov_url(void);
/* Sends one request to the service at base and prints its answer. id NULL: unsigned. */
int call_at(const char *base, const char *method, const char *path, const char *body,
            const identity_t *id);
uint64_t monotonic_ms(void);
void sleep_ms(uint64_t ms);
/* One request; 0 with *json the answer's object on 2xx, -1 otherwise (see nns.c). */
int request_json(nns_client_t *client, const char *method, const char *path, const char *body,
                 bool sign, long *status, char **text, json_t **json, nns_error_t *err);
/* Reports a failed request: the problem body when there is one, else err's detail. */
int request_failure(const char *method, const char *path, long status, const char *text,
                    const nns_error_t *err);
/* A u64 member given as a string of decimal digits; false when missing or malformed. */
bool json_u64_member(const json_t *obj, const char *name, uint64_t *out);
/* GET path on client and one u64 member of the answer; prints the failure. */
int get_u64(nns_client_t *client, const char *path, const char *member, uint64_t *out);

#endif
