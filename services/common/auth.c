#include "auth.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "keyfile.h"

static const struct {
    const char *name;
    uint64_t canister;
} SERVICES[] = {
    {"ledger", CANISTER_LEDGER},
    {"governance", CANISTER_GOVERNANCE},
    {"cmc", CANISTER_CMC},
};
#define NSERVICES (sizeof SERVICES / sizeof SERVICES[0])

struct auth {
    pthread_mutex_t lock;
    char *dir;
    int dir_fd; /* the folder, held open: its mtime costs an fstat, not a walk of its path */
    bool known[NSERVICES];
    uint8_t der[NSERVICES][ED25519_DER_BYTES];
    uint64_t last_read;
    bool has_dir_mtime;
    struct timespec dir_mtime; /* the folder's mtime when the keys were last read */
};

/* Opens the folder again (at each read of the keys, or when the one held was removed). */
static void reopen_dir(auth_t *a)
{
    if (a->dir_fd >= 0)
        close(a->dir_fd);
    a->dir_fd = open(a->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* The folder's mtime; false when it cannot be read. Every request signed by a key that is not
 * a service key (every user's) asks, so it reads the descriptor held open: a removed folder
 * (no links left) is opened again by its path, one replaced by a rename is at the next
 * once-a-second read. */
static bool dir_mtime(auth_t *a, struct timespec *out)
{
    struct stat st;
    if (a->dir_fd < 0 || fstat(a->dir_fd, &st) != 0 || st.st_nlink == 0) {
        reopen_dir(a);
        if (a->dir_fd < 0 || fstat(a->dir_fd, &st) != 0)
            return false;
    }
    *out = st.st_mtim;
    return true;
}

/* True when a file was added to, removed from or renamed in the folder since the last read:
 * a service started after this one has just written its key. */
static bool dir_changed(auth_t *a)
{
    struct timespec now;
    if (!dir_mtime(a, &now))
        return false;
    return !a->has_dir_mtime || now.tv_sec != a->dir_mtime.tv_sec ||
           now.tv_nsec != a->dir_mtime.tv_nsec;
}

static void read_keys(auth_t *a)
{
    /* the mtime first: a key written while the files are read is read again next time */
    reopen_dir(a);
    a->has_dir_mtime = dir_mtime(a, &a->dir_mtime);
    for (size_t i = 0; i < NSERVICES; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.pub", a->dir, SERVICES[i].name);
        uint8_t der[ED25519_DER_BYTES];
        if (public_key_load(path, der, NULL)) {
            memcpy(a->der[i], der, sizeof der);
            a->known[i] = true;
        }
    }
    a->last_read = clock_wall_nanos();
}

auth_t *auth_new(const char *keys_dir)
{
    auth_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    pthread_mutex_init(&a->lock, NULL);
    a->dir_fd = -1;
    if (keys_dir) {
        a->dir = strdup(keys_dir);
        if (!a->dir) {
            free(a);
            return NULL;
        }
        read_keys(a);
    }
    return a;
}

void auth_destroy(auth_t **auth)
{
    if (!*auth)
        return;
    pthread_mutex_destroy(&(*auth)->lock);
    if ((*auth)->dir_fd >= 0)
        close((*auth)->dir_fd);
    free((*auth)->dir);
    free(*auth);
    *auth = NULL;
}

static bool all_known(const auth_t *a)
{
    for (size_t i = 0; i < NSERVICES; i++)
        if (!a->known[i])
            return false;
    return true;
}

static int match(const auth_t *a, const uint8_t *der, size_t der_len)
{
    if (der_len != ED25519_DER_BYTES) /* service keys are Ed25519 */
        return -1;
    for (size_t i = 0; i < NSERVICES; i++)
        if (a->known[i] && memcmp(a->der[i], der, ED25519_DER_BYTES) == 0)
            return (int)i;
    return -1;
}

void auth_caller(auth_t *a, const uint8_t *der, size_t der_len, principal_t *caller)
{
    pthread_mutex_lock(&a->lock);
    int i = match(a, der, der_len);
    /* A secp256k1 key is never a service key: no point re-reading the .pub files for it. An
     * unknown Ed25519 key re-reads them when the folder changed (one fstat: a service that
     * started just after this one and wrote its key is trusted from its first request, not up
     * to a second later; once every service's key is known no service is missing, and the
     * check is skipped) and otherwise at most once a second (a key rewritten in place). */
    if (i < 0 && der_len == ED25519_DER_BYTES && a->dir &&
        ((!all_known(a) && dir_changed(a)) || clock_wall_nanos() - a->last_read >= 1000000000ULL)) {
        read_keys(a);
        i = match(a, der, der_len);
    }
    pthread_mutex_unlock(&a->lock);
    if (i >= 0)
        principal_canister(SERVICES[i].canister, caller);
    else
        principal_self_authenticating(der, der_len, caller);
}
