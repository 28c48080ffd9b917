#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool set_value(const config_option_t *o, const char *value)
{
    switch (o->kind) {
    case OPT_STRING:
        *(const char **)o->target = value;
        return true;
    case OPT_BOOL:
        *(bool *)o->target = value && (strcmp(value, "true") == 0 || strcmp(value, "1") == 0);
        return true;
    case OPT_INT: {
        if (!value || !*value)
            return false;
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || *end || v < -2147483647L || v > 2147483647L)
            return false;
        *(int *)o->target = (int)v;
        return true;
    }
    }
    return false;
}

static void usage(const char *program, const char *summary, const config_option_t *options)
{
    printf("usage: %s [flags]\n%s\n\nflags:\n", program, summary);
    for (const config_option_t *o = options; o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s", o->name, o->kind == OPT_BOOL ? "" : " VALUE");
        printf("  %-28s %s", left, o->help);
        if (o->default_value && o->kind != OPT_BOOL)
            printf(" (default: %s)", o->default_value);
        printf("\n");
    }
    printf("  %-28s %s\n", "--help", "print this help and exit");
}

config_result_t config_parse(const char *program, const char *summary,
                             const config_option_t *options, int argc, char **argv)
{
    for (const config_option_t *o = options; o->name; o++) {
        if (o->kind == OPT_BOOL)
            *(bool *)o->target = false;
        else if (!set_value(o, o->default_value) && o->kind == OPT_INT)
            *(int *)o->target = 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(program, summary, options);
            return CONFIG_HELP;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", program, arg);
            return CONFIG_ERROR;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        const config_option_t *o = options;
        while (o->name && !(strlen(o->name) == name_len && strncmp(o->name, name, name_len) == 0))
            o++;
        if (!o->name) {
            fprintf(stderr, "%s: unknown flag '%s' (see --help)\n", program, arg);
            return CONFIG_ERROR;
        }
        const char *value;
        if (o->kind == OPT_BOOL)
            value = eq ? eq + 1 : "true";
        else if (eq)
            value = eq + 1;
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            fprintf(stderr, "%s: flag '--%s' needs a value\n", program, o->name);
            return CONFIG_ERROR;
        }
        if (!set_value(o, value)) {
            fprintf(stderr, "%s: bad value '%s' for flag '--%s'\n", program, value, o->name);
            return CONFIG_ERROR;
        }
    }
    return CONFIG_OK;
}
