// SPDX-License-Identifier: MIT
/*
 * litewal.c - a VFS over SQLite's own that gathers a WAL's writes into
 * one.  SQLite writes each frame in two writes (its 24-byte header, then
 * the page), so a group commit of 64 ops in 64 sessions' pages made 128
 * pwrite(2)s, each paying the filesystem's per-call and per-page work,
 * before its one fsync.  Gathered, a transaction's frames go down in one
 * write when the sync that commits them comes.
 *
 * That is safe only where every commit syncs the WAL before the commit is
 * published in the wal-index, where other connections look: with
 * synchronous=FULL.  With NORMAL a commit is published without a sync,
 * and another connection would read frames still held here.  So a WAL
 * file writes through until its connection turns gathering on
 * (litewal_gather(), which the driver does for FULL only), and a read,
 * size, truncate, sync or close of the file writes what it holds first:
 * the connection itself always reads what it wrote.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "litewal.h"

#define GATHER_MAX	(4u << 20)	/* larger transactions write as they go */
/* the unix VFS writes the length masked to 17 bits: 128 KiB cuts it */
#define WRITE_MAX	(124u << 10)

struct wal_file {
	sqlite3_file base;
	sqlite3_file *real;	/* the default VFS's file, after this one */
	bool gather;
	char *buf;
	size_t len, cap;
	sqlite3_int64 at;	/* where buf[0] goes in the file */
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs wal_vfs;
static unsigned long nr_writes;	/* writes that reached a WAL file */
static unsigned long nr_spills;	/* statement journals spilled to a file */

static struct wal_file *wf(sqlite3_file *f)
{
	return (struct wal_file *)f;
}

/* in pieces the default VFS writes whole */
static int write_down(struct wal_file *f, const char *p, size_t len,
		      sqlite3_int64 off)
{
	size_t done, n;
	int rc = SQLITE_OK;

	for (done = 0; done < len && !rc; done += n) {
		n = len - done < WRITE_MAX ? len - done : WRITE_MAX;
		__atomic_add_fetch(&nr_writes, 1, __ATOMIC_RELAXED);
		rc = f->real->pMethods->xWrite(f->real, p + done, (int)n,
					       off + (sqlite3_int64)done);
	}
	return rc;
}

/*
 * A failed write fails the transaction at its sync, as a frame's failed
 * write would have failed it at that frame.
 */
static int flush(struct wal_file *f)
{
	size_t len = f->len;

	f->len = 0;
	return write_down(f, f->buf, len, f->at);
}

static bool room(struct wal_file *f, size_t need)
{
	size_t cap = f->cap ? f->cap : 64 * 1024;
	char *buf;

	if (need <= f->cap)
		return true;
	while (cap < need)
		cap *= 2;
	buf = realloc(f->buf, cap);
	if (!buf)
		return false;
	f->buf = buf;
	f->cap = cap;
	return true;
}

static int wal_write(sqlite3_file *file, const void *p, int n,
		     sqlite3_int64 off)
{
	struct wal_file *f = wf(file);
	int rc;

	if (!f->gather)
		return write_down(f, p, (size_t)n, off);
	/* not next to what is held (a frame rewritten): keep the order */
	if (f->len && (off != f->at + (sqlite3_int64)f->len ||
		       f->len + (size_t)n > GATHER_MAX)) {
		rc = flush(f);
		if (rc)
			return rc;
	}
	if (!room(f, f->len + (size_t)n)) {
		rc = flush(f);
		return rc ? rc : write_down(f, p, (size_t)n, off);
	}
	if (!f->len)
		f->at = off;
	memcpy(f->buf + f->len, p, (size_t)n);
	f->len += (size_t)n;
	return SQLITE_OK;
}

static int wal_close(sqlite3_file *file)
{
	struct wal_file *f = wf(file);
	int rc = flush(f), rc2;

	free(f->buf);
	f->buf = NULL;
	rc2 = f->real->pMethods->xClose(f->real);
	return rc ? rc : rc2;
}

static int wal_read(sqlite3_file *file, void *p, int n, sqlite3_int64 off)
{
	struct wal_file *f = wf(file);
	int rc = flush(f);

	return rc ? rc : f->real->pMethods->xRead(f->real, p, n, off);
}

static int wal_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct wal_file *f = wf(file);
	int rc = flush(f);

	return rc ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int wal_sync(sqlite3_file *file, int flags)
{
	struct wal_file *f = wf(file);
	int rc = flush(f);

	return rc ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int wal_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct wal_file *f = wf(file);
	int rc = flush(f);

	return rc ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int wal_lock(sqlite3_file *file, int level)
{
	return wf(file)->real->pMethods->xLock(wf(file)->real, level);
}

static int wal_unlock(sqlite3_file *file, int level)
{
	return wf(file)->real->pMethods->xUnlock(wf(file)->real, level);
}

static int wal_reserved(sqlite3_file *file, int *out)
{
	return wf(file)->real->pMethods->xCheckReservedLock(wf(file)->real,
							     out);
}

static int wal_control(sqlite3_file *file, int op, void *arg)
{
	struct wal_file *f = wf(file);
	int rc = flush(f);

	return rc ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int wal_sector(sqlite3_file *file)
{
	return wf(file)->real->pMethods->xSectorSize(wf(file)->real);
}

static int wal_device(sqlite3_file *file)
{
	return wf(file)->real->pMethods->xDeviceCharacteristics(wf(file)->real);
}

/* version 1: a WAL file is never mapped and has no shared memory */
static const sqlite3_io_methods wal_methods = {
	.iVersion = 1,
	.xClose = wal_close,
	.xRead = wal_read,
	.xWrite = wal_write,
	.xTruncate = wal_truncate,
	.xSync = wal_sync,
	.xFileSize = wal_size,
	.xLock = wal_lock,
	.xUnlock = wal_unlock,
	.xCheckReservedLock = wal_reserved,
	.xFileControl = wal_control,
	.xSectorSize = wal_sector,
	.xDeviceCharacteristics = wal_device,
};

static int vfs_open(sqlite3_vfs *vfs, sqlite3_filename name,
		    sqlite3_file *file, int flags, int *out)
{
	struct wal_file *f = wf(file);
	int rc;

	(void)vfs;
	if (flags & SQLITE_OPEN_SUBJOURNAL)
		__atomic_add_fetch(&nr_spills, 1, __ATOMIC_RELAXED);
	if (!(flags & SQLITE_OPEN_WAL))
		return real_vfs->xOpen(real_vfs, name, file, flags, out);
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	f->real->pMethods = NULL;
	rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out);
	if (f->real->pMethods)
		f->base.pMethods = &wal_methods;
	return rc;
}

static void vfs_register(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	if (!real_vfs)
		return;
	/* the default's own methods, but for open; its files after ours */
	wal_vfs = *real_vfs;
	wal_vfs.zName = LITEWAL_VFS;
	wal_vfs.szOsFile = (int)sizeof(struct wal_file) + real_vfs->szOsFile;
	wal_vfs.xOpen = vfs_open;
	wal_vfs.pNext = NULL;
	if (sqlite3_vfs_register(&wal_vfs, 0) != SQLITE_OK)
		real_vfs = NULL;
}

const char *litewal_vfs(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, vfs_register);
	return real_vfs ? LITEWAL_VFS : NULL;
}

int litewal_gather(sqlite3 *h, bool on)
{
	sqlite3_file *file = NULL;
	struct wal_file *f;

	if (sqlite3_file_control(h, "main", SQLITE_FCNTL_JOURNAL_POINTER,
				 &file) != SQLITE_OK || !file ||
	    file->pMethods != &wal_methods)
		return -1;
	f = wf(file);
	if (f->gather == on)
		return 0;
	f->gather = on;
	return on ? 0 : (flush(f) ? -1 : 0);
}

unsigned long litewal_writes(void)
{
	return __atomic_load_n(&nr_writes, __ATOMIC_RELAXED);
}

unsigned long litewal_spills(void)
{
	return __atomic_load_n(&nr_spills, __ATOMIC_RELAXED);
}
