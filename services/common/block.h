/*
 * block: the ICP ledger's transactions and blocks, byte-compatible with the IC.
 *
 * - block_encode(): the protobuf (prost, proto3) encoding of ic_ledger.pb.v1.Block; the block
 *   hash is SHA-256 of it and block i+1 carries block i's hash as parent.
 * - transaction_hash(): SHA-256 of the serde_cbor "packed" encoding of the Transaction: the
 *   deduplication key and the transaction id explorers show.
 * - block_decode(): the inverse of block_encode(), for verification and replay.
 * Account identifiers are stored as 28-byte hashes and written in their 32-byte
 * checksum || hash form. All types are plain values; nothing here allocates.
 */
#ifndef NNS_BLOCK_H
#define NNS_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "account.h"
#include "error.h"

#define BLOCK_ENCODED_MAX 512
#define ICRC1_MEMO_MAX 32

typedef enum {
    OP_BURN = 0, /* serde variant indices, as in the CBOR transaction hash */
    OP_MINT = 1,
    OP_TRANSFER = 2,
    OP_APPROVE = 3,
} op_kind_t;

typedef struct {
    op_kind_t kind;
    account_id_t from;    /* Burn, Transfer, Approve */
    account_id_t to;      /* Mint, Transfer */
    account_id_t spender; /* Approve; Burn and Transfer when has_spender */
    bool has_spender;
    uint64_t amount;      /* Burn, Mint, Transfer */
    uint64_t fee;         /* Transfer, Approve */
    uint64_t allowance;   /* Approve */
    bool has_expected_allowance;
    uint64_t expected_allowance;
    bool has_expires_at;
    uint64_t expires_at;
} operation_t;

typedef struct {
    operation_t op;
    uint64_t memo;
    bool has_created_at_time;
    uint64_t created_at_time;
    bool has_icrc1_memo;
    uint8_t icrc1_memo_len; /* <= ICRC1_MEMO_MAX */
    uint8_t icrc1_memo[ICRC1_MEMO_MAX];
} transaction_t;

typedef struct {
    bool has_parent;
    uint8_t parent_hash[32];
    uint64_t timestamp;
    transaction_t tx;
} block_t;

/* Writes the protobuf encoding into out (capacity cap); returns its length, or 0 if cap is too
 * small (BLOCK_ENCODED_MAX always suffices). */
size_t block_encode(const block_t *b, uint8_t *out, size_t cap);

/* SHA-256 of an encoded block. */
void block_hash(const uint8_t *encoded, size_t len, uint8_t out[32]);

/* Decodes a block written by block_encode() (or the IC). Returns false with err 400
 * "InvalidBlock" on malformed input; missing max_fee decodes as 10000, missing memo as 0.
 * Like upstream's from_proto, the timestamp, the operation and its accounts and amounts are
 * required; account identifiers may be 32 bytes (checksum verified) or a bare 28-byte hash.
 * Unknown fields are skipped; a repeated field or oneof member replaces the earlier one.
 * *out is fully written (zeroed first): fields the operation kind does not use are 0, and an
 * Approve decodes with has_spender = true. Never reads outside [encoded, encoded + len). */
bool block_decode(const uint8_t *encoded, size_t len, block_t *out, nns_error_t *err)
    __attribute__((warn_unused_result));

/* The CBOR encoding of the transaction (capacity cap); returns its length, or 0 if too small
 * (BLOCK_ENCODED_MAX always suffices). */
size_t transaction_cbor(const transaction_t *tx, uint8_t *out, size_t cap);

/* SHA-256 of transaction_cbor(). Cannot fail; a transaction that cannot be encoded (an unknown
 * kind, icrc1_memo_len > ICRC1_MEMO_MAX) hashes as the empty string. */
void transaction_hash(const transaction_t *tx, uint8_t out[32]);

/* Name of the operation as the API writes it: "burn", "mint", "transfer", "approve". */
const char *op_kind_name(op_kind_t kind);

#endif
