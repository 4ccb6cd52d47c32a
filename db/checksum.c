// SPDX-License-Identifier: MIT
/*
 * checksum.c - the snapshot checksum, the same whatever backend stores it.
 */
#include <sodium.h>

#include "checksum.h"

int db_checksum_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

/*
 * What a snapshot's checksum covers: the session and seq it belongs to as
 * well as the dump, so that a valid dump copied to another session or seq
 * fails as surely as a damaged one.  BLAKE2b-256, unkeyed: it guards
 * against accidents and misplaced rows, not against someone who can write
 * the database (they can write the journal too).
 */
void db_snapshot_sum(long session, long seq, const char *dump, size_t len,
		     unsigned char sum[SNAPSHOT_SUM_LEN])
{
	static const char domain[] = "rmapd-snapshot-v1";
	crypto_generichash_state h;
	unsigned char le[16];
	int i;

	for (i = 0; i < 8; i++) {
		le[i] = (unsigned char)((unsigned long)session >> (8 * i));
		le[8 + i] = (unsigned char)((unsigned long)seq >> (8 * i));
	}
	crypto_generichash_init(&h, NULL, 0, SNAPSHOT_SUM_LEN);
	crypto_generichash_update(&h, (const unsigned char *)domain,
				  sizeof(domain));
	crypto_generichash_update(&h, le, sizeof(le));
	crypto_generichash_update(&h, (const unsigned char *)dump, len);
	crypto_generichash_final(&h, sum, SNAPSHOT_SUM_LEN);
}

bool db_snapshot_sum_differs(const void *stored,
			     const unsigned char sum[SNAPSHOT_SUM_LEN])
{
	return sodium_memcmp(stored, sum, SNAPSHOT_SUM_LEN) != 0;
}
