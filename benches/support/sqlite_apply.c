/* A plain apply with the SQLite twice bundles: reads one SQL file and runs it
 * with sqlite3_exec on an in-memory database, as `sqlite3 :memory: < FILE`
 * does. Built by benches/sqlite_apply.sh from libsqlite3-sys's amalgamation.
 * Exit status 1 when a statement fails (the message on stderr). */
#include <stdio.h>
#include <stdlib.h>
#include "sqlite3.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE.sql\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *sql = malloc((size_t)n + 1);
    if (!sql || fread(sql, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "%s: could not read\n", argv[1]);
        return 2;
    }
    sql[n] = 0;
    fclose(f);
    sqlite3 *db;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
        fprintf(stderr, "sqlite3_open failed\n");
        return 2;
    }
    char *err = 0;
    int rc = sqlite3_exec(db, sql, 0, 0, &err);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "%s\n", err ? err : "error");
    }
    sqlite3_close(db);
    free(sql);
    return rc == SQLITE_OK ? 0 : 1;
}
