/*
 * fuzz_block: block decoding (stored blocks, replay at start, exports). Whatever decodes
 * encodes to bytes that decode to the same block and encode to the same bytes again
 * (decode(encode(x)) == x), and renders as JSON and as an ICRC-3 value without a fault.
 */
#include <jansson.h>

#include "block.h"
#include "crypto.h"
#include "fuzz.h"
#include "render.h"

FUZZ_INIT_CRYPTO()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *raw = malloc(size ? size : 1);
    if (!raw)
        abort();
    if (size)
        memcpy(raw, data, size);
    block_t b, again;
    nns_error_t err;
    if (!block_decode(raw, size, &b, &err)) {
        FUZZ_CHECK(err.status == 400 && strcmp(err.code, "InvalidBlock") == 0, "error %d %s",
                   err.status, err.code);
        free(raw);
        return 0;
    }
    FUZZ_CHECK(b.tx.icrc1_memo_len <= ICRC1_MEMO_MAX, "memo of %u bytes", b.tx.icrc1_memo_len);
    uint8_t enc[BLOCK_ENCODED_MAX], enc2[BLOCK_ENCODED_MAX];
    size_t n = block_encode(&b, enc, sizeof enc);
    FUZZ_CHECK(n > 0, "a decoded block does not encode");
    FUZZ_CHECK(block_decode(enc, n, &again, &err), "own encoding refused: %s", err.detail);
    FUZZ_CHECK(memcmp(&b, &again, sizeof b) == 0, "decode(encode(x)) != x");
    size_t n2 = block_encode(&again, enc2, sizeof enc2);
    FUZZ_CHECK(n2 == n && memcmp(enc, enc2, n) == 0, "encoding not stable");

    uint8_t hash[32], tx_hash[32];
    block_hash(enc, n, hash);
    transaction_hash(&b.tx, tx_hash);
    json_t *j = render_block(1, hash, tx_hash, &b);
    FUZZ_CHECK(j != NULL, "render_block");
    json_decref(j);
    if (size <= BLOCK_ENCODED_MAX) { /* stored blocks are at most this long */
        stored_block_t sb = {.height = 1, .raw_len = size};
        memcpy(sb.hash, hash, 32);
        memcpy(sb.tx_hash, tx_hash, 32);
        memcpy(sb.raw, raw, size);
        json_t *v = render_block_icrc3(&sb, &err);
        FUZZ_CHECK(v != NULL, "render_block_icrc3: %s", err.detail);
        json_decref(v);
    }
    free(raw);
    return 0;
}
