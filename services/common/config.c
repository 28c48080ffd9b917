#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool config_is_http_url(const char *text)
{
    const char *host;
    if (strncmp(text, "http://", 7) == 0)
        host = text + 7;
    else if (strncmp(text, "https://", 8) == 0)
        host = text + 8;
    else
        return false;
    if (*host == '\0' || *host == '/' || *host == ':')
        return false;
    for (const char *p = text; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return false;
    return true;
}

/* Sets o's target from value; false with a message on stderr when value is not valid. */
static bool set_value(const char *program, const config_option_t *o, const char *value)
{
    switch (o->kind) {
    case OPT_STRING:
        *(const char **)o->target = value;
        return true;
    case OPT_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
            *(bool *)o->target = true;
        else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
            *(bool *)o->target = false;
        else
            break;
        return true;
    case OPT_INT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (!*value || errno || *end || v < -2147483647L || v > 2147483647L)
            break;
        if ((o->min || o->max) && (v < o->min || v > o->max)) {
            fprintf(stderr, "%s: flag '--%s' must be %d to %d, not '%s'\n", program, o->name,
                    o->min, o->max, value);
            return false;
        }
        *(int *)o->target = (int)v;
        return true;
    }
    case OPT_CHOICE:
        for (const char *const *c = o->choices; c && *c; c++)
            if (strcmp(*c, value) == 0) {
                *(const char **)o->target = *c;
                return true;
            }
        fprintf(stderr, "%s: flag '--%s' takes", program, o->name);
        for (const char *const *c = o->choices; c && *c; c++)
            fprintf(stderr, "%s '%s'", c == o->choices ? "" : c[1] ? "," : " or", *c);
        fprintf(stderr, ", not '%s'\n", value);
        return false;
    case OPT_URL:
        if (!config_is_http_url(value)) {
            fprintf(stderr, "%s: flag '--%s' must be an http:// or https:// URL, not '%s'\n",
                    program, o->name, value);
            return false;
        }
        *(const char **)o->target = value;
        return true;
    }
    fprintf(stderr, "%s: bad value '%s' for flag '--%s'\n", program, value, o->name);
    return false;
}

static void usage_table(const config_option_t *options)
{
    for (const config_option_t *o = options; o && o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s", o->name, o->kind == OPT_BOOL ? "" : " VALUE");
        printf("  %-28s %s", left, o->help);
        if (o->kind == OPT_INT && (o->min || o->max))
            printf(" (%d to %d)", o->min, o->max);
        if (o->kind == OPT_CHOICE) {
            printf(" (");
            for (const char *const *c = o->choices; c && *c; c++)
                printf("%s%s", c == o->choices ? "" : ", ", *c);
            printf(")");
        }
        if (o->default_value && o->kind != OPT_BOOL)
            printf(" (default: %s)", o->default_value);
        printf("\n");
    }
}

static const config_option_t *find(const config_option_t *table, const char *name, size_t len)
{
    for (const config_option_t *o = table; o && o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

static bool set_defaults(const char *program, const config_option_t *table)
{
    for (const config_option_t *o = table; o && o->name; o++) {
        if (o->kind == OPT_BOOL)
            *(bool *)o->target = false;
        else if (o->kind == OPT_INT)
            *(int *)o->target = 0;
        else
            *(const char **)o->target = NULL;
        if (o->default_value && o->kind != OPT_BOOL && !set_value(program, o, o->default_value))
            return false; /* a table whose default is not valid: the program's own bug */
    }
    return true;
}

config_result_t config_parse2(const char *program, const char *summary,
                              const config_option_t *shared, const config_option_t *own, int argc,
                              char **argv)
{
    if (!set_defaults(program, shared) || !set_defaults(program, own))
        return CONFIG_ERROR;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            printf("usage: %s [flags]\n%s\n\nflags:\n", program, summary);
            usage_table(shared);
            usage_table(own);
            printf("  %-28s %s\n", "--help", "print this help and exit");
            return CONFIG_HELP;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", program, arg);
            return CONFIG_ERROR;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        const config_option_t *o = find(shared, name, name_len);
        if (!o)
            o = find(own, name, name_len);
        if (!o) {
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
        if (!set_value(program, o, value))
            return CONFIG_ERROR;
    }
    return CONFIG_OK;
}

config_result_t config_parse(const char *program, const char *summary,
                             const config_option_t *options, int argc, char **argv)
{
    return config_parse2(program, summary, options, NULL, argc, argv);
}

int config_exit_status(config_result_t result)
{
    return result == CONFIG_OK ? -1 : result == CONFIG_HELP ? 0 : 2;
}
