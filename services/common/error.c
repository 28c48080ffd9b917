#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void nns_error_clear(nns_error_t *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

bool nns_error_set(nns_error_t *err, int status, const char *code, const char *fmt, ...)
{
    if (!err)
        return false;
    memset(err, 0, sizeof *err);
    err->status = status;
    snprintf(err->code, sizeof err->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof err->detail, fmt, ap);
    va_end(ap);
    return false;
}

void nns_error_add(nns_error_t *err, const char *name, uint64_t value)
{
    if (!err || err->npayload >= NNS_ERROR_MAX_PAYLOAD)
        return;
    nns_error_field_t *f = &err->payload[err->npayload++];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->value = value;
}

bool nns_error_is_set(const nns_error_t *err)
{
    return err && err->status != 0;
}
