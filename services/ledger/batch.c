#include "batch.h"

#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "jsonutil.h"

/* Where the reader is in the one shape it accepts. */
typedef enum {
    AT_START,      /* before the document's object */
    AT_OUTER_KEY,  /* inside it, before "transfers" */
    AT_ARRAY,      /* after "transfers", before its array */
    AT_ITEM,       /* in the array, before an item or its end */
    AT_ITEM_KEY,   /* in an item, before a member or its end */
    AT_ITEM_VALUE, /* after a member's key */
    AT_OUTER_END,  /* after the array, before the object's end */
    AT_DONE
} reader_at_t;

enum { F_PUBLIC_KEY, F_EXPIRY, F_SIGNATURE, F_BODY, F_COUNT };
static const char *const FIELD_NAMES[F_COUNT] = {"public_key_der_hex", "expiry_nanos",
                                                 "signature_hex", "body"};

typedef struct {
    batch_t *b;
    size_t max;
    reader_at_t at;
    int field;     /* the member whose value comes next */
    unsigned seen; /* bit per field of the current item */
    size_t used;   /* bytes of the arena in use */
    size_t cap;    /* the arena's size */
} reader_t;

static int refuse(void *ctx)
{
    (void)ctx;
    return 0;
}

static int refuse_bool(void *ctx, int v)
{
    (void)v;
    return refuse(ctx);
}

static int refuse_number(void *ctx, const char *text, size_t len)
{
    (void)text, (void)len;
    return refuse(ctx);
}

static bool printable_ascii(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    return true;
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    reader_t *r = ctx;
    if (r->at != AT_ITEM_VALUE || (r->field != F_BODY && !printable_ascii(s, len)))
        return 0;
    /* The arena holds the document's length: a decoded string and its NUL never take more
     * room than the string took in the document with its quotes. */
    if (len >= r->cap - r->used)
        return 0;
    char *out = r->b->arena + r->used;
    memcpy(out, s, len);
    out[len] = '\0';
    r->used += len + 1;
    batch_item_t *it = &r->b->items[r->b->n];
    switch (r->field) {
    case F_PUBLIC_KEY:
        it->public_key_der_hex = out;
        break;
    case F_EXPIRY:
        it->expiry_nanos = out;
        break;
    case F_SIGNATURE:
        it->signature_hex = out;
        break;
    default:
        it->body = out;
        it->body_len = len;
        break;
    }
    r->at = AT_ITEM_KEY;
    return 1;
}

static int on_key(void *ctx, const unsigned char *key, size_t len)
{
    reader_t *r = ctx;
    if (r->at == AT_OUTER_KEY) {
        if (len != strlen("transfers") || memcmp(key, "transfers", len) != 0)
            return 0;
        r->at = AT_ARRAY;
        return 1;
    }
    if (r->at != AT_ITEM_KEY)
        return 0;
    for (int f = 0; f < F_COUNT; f++) {
        if (len == strlen(FIELD_NAMES[f]) && memcmp(key, FIELD_NAMES[f], len) == 0) {
            if (r->seen & (1u << f))
                return 0; /* a duplicate member: the general path names the error */
            r->seen |= 1u << f;
            r->field = f;
            r->at = AT_ITEM_VALUE;
            return 1;
        }
    }
    return 0;
}

static int on_start_map(void *ctx)
{
    reader_t *r = ctx;
    if (r->at == AT_START) {
        r->at = AT_OUTER_KEY;
        return 1;
    }
    if (r->at != AT_ITEM || r->b->n == r->max)
        return 0;
    r->seen = 0;
    r->at = AT_ITEM_KEY;
    return 1;
}

static int on_end_map(void *ctx)
{
    reader_t *r = ctx;
    if (r->at == AT_OUTER_END) {
        r->at = AT_DONE;
        return 0; /* stop here: json_yajl_read() checks what follows */
    }
    if (r->at != AT_ITEM_KEY || r->seen != (1u << F_COUNT) - 1)
        return 0;
    r->b->n++;
    r->at = AT_ITEM;
    return 1;
}

static int on_start_array(void *ctx)
{
    reader_t *r = ctx;
    if (r->at != AT_ARRAY)
        return 0;
    r->at = AT_ITEM;
    return 1;
}

static int on_end_array(void *ctx)
{
    reader_t *r = ctx;
    if (r->at != AT_ITEM || r->b->n == 0)
        return 0;
    r->at = AT_OUTER_END;
    return 1;
}

static const yajl_callbacks CALLBACKS = {
    .yajl_null = refuse,
    .yajl_boolean = refuse_bool,
    .yajl_number = refuse_number, /* set: yajl then never calls yajl_integer or yajl_double */
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_key,
    .yajl_end_map = on_end_map,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end_array,
};

bool batch_read(const uint8_t *body, size_t len, size_t max, batch_t *b)
{
    memset(b, 0, sizeof *b);
    if (len == 0 || max == 0 || !json_yajl_agrees(body, len, false))
        return false;
    b->items = calloc(max, sizeof *b->items);
    b->arena = malloc(len);
    if (!b->items || !b->arena) {
        batch_free(b);
        return false;
    }
    reader_t r = {.b = b, .max = max, .at = AT_START, .cap = len};
    bool ok = json_yajl_read(&CALLBACKS, &r, body, len) && r.at == AT_DONE;
    if (!ok)
        batch_free(b);
    return ok;
}

void batch_free(batch_t *b)
{
    free(b->items);
    free(b->arena);
    memset(b, 0, sizeof *b);
}
