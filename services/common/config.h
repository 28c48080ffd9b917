/*
 * config: command-line flags described by a table, which also validates them and prints --help.
 *
 * A program declares `config_option_t options[]` ({name, kind, target, default, help, and for
 * some kinds min/max or choices}, ended by a {0} entry) and calls config_parse(), or
 * config_parse2() for two tables (the flags every service shares, then the service's own).
 * Defaults are applied first, then the flags, and every value is validated as it is set: an
 * integer outside [min, max], a choice not in the list or a URL that is not http(s) is a usage
 * error, never a silent default. String targets point into argv or into the table's default
 * literals (never freed). Flags are `--name value` or `--name=value`; booleans take no value.
 */
#ifndef NNS_CONFIG_H
#define NNS_CONFIG_H

#include <stdbool.h>

typedef enum {
    OPT_STRING, /* const char ** */
    OPT_BOOL,   /* bool *: true when given (--name, --name=true, --name=1) */
    OPT_INT,    /* int *: decimal, within [min, max] (both 0: any int) */
    OPT_CHOICE, /* const char **: one of choices (a NULL-ended list) */
    OPT_URL,    /* const char **: an http:// or https:// URL with a host */
} config_kind_t;

typedef struct {
    const char *name; /* without the leading "--" */
    config_kind_t kind;
    void *target;
    const char *default_value; /* NULL: no default (string stays NULL, bool false, int 0) */
    const char *help;
    int min, max;                /* OPT_INT */
    const char *const *choices;  /* OPT_CHOICE */
} config_option_t;

/* One entry: {CONFIG_OPT("threads", OPT_INT, &threads, "0", "HTTP threads"), .max = 256}. */
#define CONFIG_OPT(name_, kind_, target_, default_, help_)                                          \
    .name = (name_), .kind = (kind_), .target = (target_), .default_value = (default_),            \
    .help = (help_)

typedef enum { CONFIG_OK, CONFIG_HELP, CONFIG_ERROR } config_result_t;

/* Parses argv against options. Returns CONFIG_HELP after printing usage to stdout when --help
 * is given, CONFIG_ERROR after printing a message to stderr on an unknown flag or bad value. */
config_result_t config_parse(const char *program, const char *summary,
                             const config_option_t *options, int argc, char **argv);

/* What a program does after parsing: -1 to go on (CONFIG_OK), or the exit status to return
 * from main (0 after --help, 2 after a usage error). */
int config_exit_status(config_result_t result);

/* The same over two tables (either may be NULL): shared flags and a program's own. A name in
 * both is taken from the first. */
config_result_t config_parse2(const char *program, const char *summary,
                              const config_option_t *shared, const config_option_t *own, int argc,
                              char **argv);

/* True when text is an http:// or https:// URL with a non-empty host and no white space. */
bool config_is_http_url(const char *text);

#endif
