/*
 * fuzz: what the libFuzzer targets of tests/fuzz share (header only, like tests/unit/mutate.h).
 *
 * A target reads the fuzzer's bytes through one public parser of the project and, where a
 * second path exists, checks that both agree (yajl against jansson, decode(encode(x)) == x).
 * A disagreement is a finding: FUZZ_CHECK prints what differed and aborts, so libFuzzer saves
 * the input as a crash. Inputs are copied before use, so a parser reading one byte past the
 * end is caught by AddressSanitizer.
 */
#ifndef NNS_FUZZ_H
#define NNS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz check failed: %s (%s:%d): ", #cond, __FILE__, __LINE__);         \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Defines LLVMFuzzerInitialize() running crypto_init() (crypto.h), which the hashes behind
 * principals, account identifiers and blocks need. */
#define FUZZ_INIT_CRYPTO()                                                                         \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                                              \
    {                                                                                              \
        (void)argc;                                                                                \
        (void)argv;                                                                                \
        if (!crypto_init())                                                                        \
            abort();                                                                               \
        return 0;                                                                                  \
    }

/* A malloc'd NUL-terminated copy of data (aborts when out of memory: a fuzzer has no answer
 * for it). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Splits a copy of data at the first n - 1 bytes equal to sep into n NUL-terminated fields
 * (fields past the last separator are NULL). Returns the copy, which the caller frees; the
 * fields point into it. */
static inline char *fuzz_fields(const uint8_t *data, size_t size, char sep, char **fields, size_t n)
{
    char *s = fuzz_strndup(data, size), *p = s;
    for (size_t i = 0; i < n; i++) {
        fields[i] = p;
        if (!p)
            continue;
        char *end = i + 1 < n ? memchr(p, sep, (size_t)(s + size - p)) : NULL;
        if (end)
            *end = '\0';
        p = end ? end + 1 : NULL;
    }
    return s;
}

/* A file holding data, for parsers that take a path: a memfd, named as /proc/self/fd/N in
 * path. Returns the descriptor (closed by the caller), or -1. */
static inline int fuzz_file(const uint8_t *data, size_t size, char path[64])
{
    int fd = memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    snprintf(path, 64, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
