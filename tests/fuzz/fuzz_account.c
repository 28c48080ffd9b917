/*
 * fuzz_account: account identifier hex, 32-byte addresses and ICRC-1 account texts (path
 * segments, query arguments and body fields). Round trips: a parsed identifier prints as the
 * lower case of its 64-digit text and parses back to itself; an ICRC-1 text is accepted only in
 * canonical form, so it prints back as exactly the input; account_parse_any() agrees with the
 * parser its rule picks; a verified address encodes back to its bytes.
 */
#include <ctype.h>

#include "account.h"
#include "crypto.h"
#include "fuzz.h"

static void hex_round_trip(const char *text, size_t len)
{
    account_id_t id, again;
    nns_error_t err;
    if (!account_id_from_hex(text, len, &id, &err)) {
        FUZZ_CHECK(err.status == 400 && strcmp(err.code, "InvalidAccount") == 0, "error %d %s",
                   err.status, err.code);
        return;
    }
    FUZZ_CHECK(len == ACCOUNT_HEX_LEN || len == 2 * ACCOUNT_HASH_BYTES, "length %zu accepted", len);
    char out[ACCOUNT_HEX_LEN + 1];
    account_id_to_hex(&id, out);
    const char *tail = out + (len == ACCOUNT_HEX_LEN ? 0 : 8);
    for (size_t i = 0; i < len; i++)
        FUZZ_CHECK(tolower((unsigned char)text[i]) == tail[i], "printed %s for %.*s", out, (int)len,
                   text);
    FUZZ_CHECK(account_id_from_hex(out, ACCOUNT_HEX_LEN, &again, &err), "own text refused");
    FUZZ_CHECK(account_id_equal(&id, &again), "own text parsed to another account");
}

FUZZ_INIT_CRYPTO()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    size_t len = strlen(text);
    nns_error_t err;

    hex_round_trip(text, size); /* embedded NULs included */

    icrc1_account_t acc, acc2;
    account_id_t id_icrc1 = {{0}}, id_hex = {{0}}, id_any;
    bool is_icrc1 = icrc1_account_from_text(text, &acc, &err);
    if (is_icrc1) {
        char out[ICRC1_TEXT_MAX];
        size_t n = icrc1_account_to_text(&acc, out);
        FUZZ_CHECK(n == len && strcmp(out, text) == 0, "accepted '%s' but prints '%s'", text, out);
        FUZZ_CHECK(icrc1_account_from_text(out, &acc2, &err), "own text refused");
        FUZZ_CHECK(principal_equal(&acc.owner, &acc2.owner) &&
                       memcmp(acc.subaccount, acc2.subaccount, SUBACCOUNT_BYTES) == 0,
                   "own text parsed to another account");
        account_id_of_icrc1(&acc, &id_icrc1);
    } else {
        FUZZ_CHECK(err.status == 400 && strcmp(err.code, "InvalidAccount") == 0, "error %d %s",
                   err.status, err.code);
    }
    bool is_hex = account_id_from_hex(text, len, &id_hex, &err);

    icrc1_account_t any_acc;
    bool has_icrc1 = false;
    bool ok = account_parse_any(text, &id_any, &any_acc, &has_icrc1, &err);
    if (strpbrk(text, "-.")) {
        FUZZ_CHECK(ok == is_icrc1, "account_parse_any and icrc1_account_from_text disagree");
        if (ok)
            FUZZ_CHECK(has_icrc1 && account_id_equal(&id_any, &id_icrc1), "ICRC-1 result differs");
    } else {
        FUZZ_CHECK(ok == is_hex, "account_parse_any and account_id_from_hex disagree");
        if (ok)
            FUZZ_CHECK(!has_icrc1 && account_id_equal(&id_any, &id_hex), "hex result differs");
    }

    if (size >= 32) {
        account_id_t id;
        if (account_id_from_address(data, &id, &err)) {
            uint8_t addr[32];
            account_id_to_address(&id, addr);
            FUZZ_CHECK(memcmp(addr, data, 32) == 0, "address does not encode back");
        }
    }
    free(text);
    return 0;
}
