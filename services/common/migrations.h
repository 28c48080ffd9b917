/*
 * migrations: the SQL migrations of schema/, embedded at build time (deploy/embed-sql.sh), in
 * name order. db_migrate() applies the ones a database has not recorded yet.
 */
#ifndef NNS_MIGRATIONS_H
#define NNS_MIGRATIONS_H

typedef struct {
    const char *name;
    const char *sql;
} migration_t;

extern const migration_t MIGRATIONS[];
extern const unsigned long MIGRATIONS_COUNT;

#endif
