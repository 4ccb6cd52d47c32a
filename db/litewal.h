/* SPDX-License-Identifier: MIT */
/*
 * litewal.h - the SQLite driver's VFS that gathers a WAL's writes until
 * the sync that commits them (litewal.c).
 */
#ifndef RMAPD_DB_LITEWAL_H
#define RMAPD_DB_LITEWAL_H

#include <stdbool.h>

#include <sqlite3.h>

#define LITEWAL_VFS	"rmapd-wal"

/* the VFS's name, registered at the first call; NULL: use the default */
const char *litewal_vfs(void);

/*
 * Gather the WAL's writes of h (on) or write them through (off, which
 * writes what is held first).  Only for a connection whose commits sync
 * the WAL (synchronous=FULL).  -1: h's WAL is not open through this VFS.
 */
int litewal_gather(sqlite3 *h, bool on);

/* writes that reached WAL files, for tests and benchmarks */
unsigned long litewal_writes(void);

/* statement journals that SQLite opened as files, for tests */
unsigned long litewal_spills(void);

#endif
