/*
 * fuzz_signed_path: the signed-path rule (http_signed_target, http.h): which part of the raw
 * request target a signed request signs, given the decoded path that was routed. The input is
 * "target\0path". Whatever it returns lies in target, starts with "/v1/" when the target's path
 * has one, and is the routed path followed by the end or the query; a target that is exactly
 * its path with no "/v1/" before a later one is always accepted.
 */
#include "fuzz.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[2];
    char *copy = fuzz_fields(data, size, '\0', f, 2);
    const char *target = f[0], *path = f[1] ? f[1] : f[0];
    const char *pq = http_signed_target(target, path);
    size_t path_end = strcspn(target, "?");
    const char *v1 = strstr(target, "/v1/");
    bool has_v1 = v1 && (size_t)(v1 - target) + 4 <= path_end;
    if (pq) {
        size_t n = strlen(path);
        FUZZ_CHECK(pq >= target && pq <= target + strlen(target), "outside the target");
        FUZZ_CHECK(strncmp(pq, path, n) == 0 && (pq[n] == '\0' || pq[n] == '?'),
                   "'%s' is not the path '%s' and a query", pq, path);
        FUZZ_CHECK(!has_v1 || pq == v1, "does not start at the first /v1/");
        FUZZ_CHECK(has_v1 || pq == target, "starts inside a target without /v1/");
    }
    if (strcmp(target, path) == 0 && !strchr(target, '?') && (!has_v1 || v1 == target))
        FUZZ_CHECK(pq == target, "'%s' refused for its own path", target);
    free(copy);
    return 0;
}
