/* SPDX-License-Identifier: MIT */
/*
 * checksum.h - what a stored snapshot is checked against (BLAKE2b-256 over
 * the session, the seq and the dump); shared by every storage backend.
 */
#ifndef RMAPD_DB_CHECKSUM_H
#define RMAPD_DB_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>

#define SNAPSHOT_SUM_LEN	32

int db_checksum_init(void);
void db_snapshot_sum(long session, long seq, const char *dump, size_t len,
		     unsigned char sum[SNAPSHOT_SUM_LEN]);
/* in constant time */
bool db_snapshot_sum_differs(const void *stored,
			     const unsigned char sum[SNAPSHOT_SUM_LEN]);

#endif /* RMAPD_DB_CHECKSUM_H */
