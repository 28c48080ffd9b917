/*
 * config: command-line flags described by a table, which also prints --help.
 *
 * A service declares `config_option_t options[]` ({name, kind, target, default, help}, ended by
 * a {0} entry) and calls config_parse(). Defaults are applied first, then the flags. String
 * targets point into argv or into the table's default literals (never freed). Flags are
 * `--name value` or `--name=value`; booleans take no value.
 */
#ifndef NNS_CONFIG_H
#define NNS_CONFIG_H

#include <stdbool.h>

typedef enum { OPT_STRING, OPT_BOOL, OPT_INT } config_kind_t;

typedef struct {
    const char *name; /* without the leading "--" */
    config_kind_t kind;
    void *target;     /* const char **, bool *, or int * */
    const char *default_value; /* NULL: no default (string stays NULL, bool false, int 0) */
    const char *help;
} config_option_t;

typedef enum { CONFIG_OK, CONFIG_HELP, CONFIG_ERROR } config_result_t;

/* Parses argv against options. Returns CONFIG_HELP after printing usage to stdout when --help
 * is given, CONFIG_ERROR after printing a message to stderr on an unknown flag or bad value. */
config_result_t config_parse(const char *program, const char *summary,
                             const config_option_t *options, int argc, char **argv);

#endif
