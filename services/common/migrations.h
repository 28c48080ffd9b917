/*
 * migrations: one service's SQL migrations (the files schema/<service>/NNN_name.sql), embedded
 * at build time by deploy/embed-sql.sh into a migration_set_t named after the service
 * (LEDGER_MIGRATIONS for the ledger), in name order. db_migrate() applies the ones the database
 * has not recorded for that service yet. A set is a constant: nothing to free.
 *
 * A service owns its schemas (the ledger: ledger and analytics) and its migrations touch no other
 * service's; migration names are unique within a service only.
 */
#ifndef NNS_MIGRATIONS_H
#define NNS_MIGRATIONS_H

typedef struct {
    const char *name; /* the file name without .sql, e.g. "001_ledger" */
    const char *sql;
} migration_t;

typedef struct {
    const char *service; /* the name the database's record files these migrations under */
    const migration_t *items;
    unsigned long count;
} migration_set_t;

#endif
