// SPDX-License-Identifier: MIT
/*
 * sessions.c - the registry of sessions: a table behind a read-write lock,
 * one mutex per session so a lab of hundreds does not queue on one lock.
 * A session's state lives in memory while it is used and is rebuilt from
 * the database (latest snapshot + replay of the journal after it) when it
 * is needed again; the least recently used are evicted past max_loaded.
 *
 * Lock order: a session's mutex, then the registry lock.  A second
 * session's mutex is only ever tried (eviction), never waited for.  s->sim
 * is used only under s->lock, after session_get() has loaded it.
 *
 * Group commit: an op is applied in memory and its journal row queued
 * (db_queue_ops) under the session's lock, which is let go before the
 * commit; s->version then runs ahead of what is durable.  A session whose
 * queued rows failed to commit is put back to its durable state (rebuilt
 * from the database) by the next request that takes it, under a new gen,
 * and never evicted while rows of it are still queued.
 *
 * Several nodes on one database (--shared-db, or PostgreSQL): any node
 * may have written a session since this one last looked, so every request
 * first brings the copy to the journal's head (catch_up(): one indexed
 * lookup, then only the missing ops), and a session another node created
 * is taken into the table on first use.  What a race still lets through
 * (two nodes appending at once) the journal's key (session, seq) fences:
 * the loser's commit is refused, and the request is made again on the
 * session reloaded (route_committed()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "rmapd.h"

static pthread_rwlock_t registry = PTHREAD_RWLOCK_INITIALIZER;
static struct session **table;
static size_t nr_table, cap_table;
static size_t nr_pending;		/* created in the database, not yet here */
static unsigned long nr_loaded;
static struct db *db;
static const struct config *cfg;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Workers posting to one session take turns on its lock for a few
 * microseconds each: one that finds it taken spins a little before it
 * sleeps, rather than paying two futex calls and two context switches.
 */
static void session_lock_init(pthread_mutex_t *lock)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(lock, &a);
	pthread_mutexattr_destroy(&a);
}

static struct session *session_new(const struct db_session *row)
{
	struct session *s = calloc(1, sizeof(*s));
	cJSON *json;
	struct api_error err;

	if (!s)
		return NULL;
	s->id = row->id;
	snprintf(s->name, sizeof(s->name), "%s", row->name);
	snprintf(s->config_json, sizeof(s->config_json), "%s", row->config);
	s->version = row->version;
	s->durable = row->version;
	s->cuts = row->cuts;
	s->gen = 1;
	s->owner = row->owner;
	s->visibility = row->visibility;
	s->class_id = row->class_id;
	s->access_epoch = -1;
	json = cJSON_Parse(row->config);
	api_parse_config(json, &s->cfg, &err);
	cJSON_Delete(json);
	s->cfg.limits = cfg->limits;
	session_lock_init(&s->lock);
	return s;
}

/* The first slot whose id is >= id: the table is kept in id order. */
static size_t table_find(long id)
{
	size_t lo = 0, hi = nr_table;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (table[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* caller holds the registry write lock */
static int table_add(struct session *s)
{
	size_t at;

	if (nr_table == cap_table) {
		size_t cap = cap_table ? cap_table * 2 : 64;
		struct session **t = realloc(table, cap * sizeof(*t));

		if (!t)
			return -1;
		table = t;
		cap_table = cap;
	}
	at = table_find(s->id);
	memmove(&table[at + 1], &table[at], (nr_table - at) * sizeof(*table));
	table[at] = s;
	nr_table++;
	return 0;
}

static void load_row(const struct db_session *row, void *arg)
{
	struct session *s = session_new(row);

	(void)arg;
	if (s && table_add(s))
		free(s);
}

int sessions_init(const struct config *c, struct db *d)
{
	cfg = c;
	db = d;
	return db_session_list(db, load_row, NULL);
}

unsigned long sessions_count(void)
{
	unsigned long n;

	pthread_rwlock_rdlock(&registry);
	n = nr_table;
	pthread_rwlock_unlock(&registry);
	return n;
}

/* A journaled op, applied again; 0, or -1 if it no longer applies. */
static int replay_op(struct sim *sim, const char *op_text, struct sim_op *op,
		     struct sim_result *res)
{
	cJSON *json = cJSON_Parse(op_text);
	struct api_error err;
	int rc = -1;

	if (json && !api_parse_op(json, op, &err) &&
	    !api_apply_op(sim, op, res, &err))
		rc = 0;
	cJSON_Delete(json);
	return rc;
}

static int replay_one(long seq, const char *op_text, void *arg)
{
	struct sim_result res;
	struct sim_op op;

	(void)seq;
	return replay_op(arg, op_text, &op, &res);
}

/*
 * Limits guard new operations only.  What the journal holds was accepted
 * once, so it replays under the highest limits a flag can set.  A session
 * then keeps room for what it holds, so that its dumps (snapshots, a batch's
 * undo) load again; beyond that the current limits apply.
 */
static const struct sim_limits replay_limits = {
	.max_procs = CEIL_MAX_PROCS,
	.max_vmas = CEIL_MAX_VMAS,
	.max_frames = CEIL_MAX_FRAMES,
	.max_files = CEIL_MAX_FILES,
	.max_file_pages = CEIL_MAX_FILE_PAGES,
	.max_ptes = CEIL_MAX_PTES,
};

static unsigned long at_least(unsigned long limit, unsigned long used)
{
	return used > limit ? used : limit;
}

static void fit_limits(struct sim *sim, const struct sim_limits *want)
{
	struct sim_limits *l = &sim->cfg.limits;
	const struct address_space *f;
	const struct mm_struct *mm;
	unsigned long file_pages = 0, ptes = 0;

	list_for_each_entry(f, &sim->files, node)
		file_pages = at_least(file_pages, f->nr_pages);
	list_for_each_entry(mm, &sim->mms, node)
		ptes += mm->nr_ptes;
	l->max_procs = at_least(want->max_procs, sim->nr_mms);
	l->max_vmas = at_least(want->max_vmas, sim->nr_vmas);
	l->max_frames = at_least(want->max_frames, sim->nr_frames);
	l->max_files = at_least(want->max_files, sim->nr_files);
	l->max_file_pages = at_least(want->max_file_pages, file_pages);
	l->max_ptes = at_least(want->max_ptes, ptes);
}

void session_fit_limits(struct session *s)
{
	fit_limits(s->sim, &s->cfg.limits);
}

/* A snapshot's dump as a state, if it is what the journal says at seq. */
static struct sim *snapshot_load(const struct session *s, long seq,
				 const char *dump, size_t len, char *why,
				 size_t whylen)
{
	struct sim_check_report r = { 0 };
	char err[160];
	struct sim *sim = sim_load(dump, len, err, sizeof(err));

	if (!sim) {
		snprintf(why, whylen, "the engine cannot load it: %s", err);
		return NULL;
	}
	if (sim->nr_ops != (unsigned long)seq) {
		snprintf(why, whylen, "it holds %lu ops, not %ld", sim->nr_ops,
			 seq);
	} else if (sim->cfg.mode != s->cfg.mode) {
		snprintf(why, whylen, "it is a %s session's",
			 sim_mode_name(sim->cfg.mode));
	} else if (s->cfg.mode != SIM_MODE_LEGACY && sim_check(sim, &r)) {
		/* legacy mode breaks invariants by design; normal mode never */
		snprintf(why, whylen, "the invariant checker rejects it (%s)",
			 r.v[0].what);
	} else {
		sim_check_report_free(&r);
		return sim;
	}
	sim_check_report_free(&r);
	sim_free(sim);
	return NULL;
}

/*
 * The newest snapshot at or before version that proves good, else NULL
 * (replay from the start).  A bad one is logged and the one below it tried:
 * snapshots are caches, the journal is the truth.
 */
static struct sim *latest_good_snapshot(const struct session *s,
					long version, long *seq)
{
	long max = version;
	char why[200];
	struct sim *sim;
	size_t len;
	char *dump;
	int rc;

	while (max > 0) {
		rc = db_snapshot_latest(db, s->id, max, seq, &dump, &len);
		if (rc < 0)
			return NULL;
		if (rc == DB_UNSIGNED) {
			snprintf(why, sizeof(why), "it has no checksum (stored "
				 "by an older rmapd)");
		} else if (rc == DB_BADSUM) {
			snprintf(why, sizeof(why), "its checksum does not match "
				 "its dump, session and seq");
		} else {
			sim = snapshot_load(s, *seq, dump, len, why, sizeof(why));
			free(dump);
			if (sim)
				return sim;
		}
		log_msg(LOG_WARNING, "session %ld: snapshot at op %ld ignored: %s",
			s->id, *seq, why);
		max = *seq - 1;
	}
	return NULL;
}

struct sim *session_build(struct session *s, long version, char *err,
			  size_t errlen)
{
	long seq = 0;
	struct sim *sim = latest_good_snapshot(s, version, &seq);

	if (!sim) {
		seq = 0;
		sim = sim_new(&s->cfg);
	}
	sim->cfg.limits = replay_limits;
	if (db_journal_read(db, s->id, seq, version, replay_one, sim) ||
	    sim->nr_ops != (unsigned long)version) {
		snprintf(err, errlen, "journal replay of session %ld stopped "
			 "at op %lu of %ld", s->id, sim->nr_ops, version);
		sim_free(sim);
		return NULL;
	}
	fit_limits(sim, &s->cfg.limits);
	return sim;
}

struct journal_replay {
	struct sim *sim;
	int (*fn)(long seq, const char *op_text, const struct sim_op *op,
		  const struct sim_result *res, void *arg);
	void *arg;
};

static int journal_one(long seq, const char *op_text, void *arg)
{
	struct journal_replay *r = arg;
	struct sim_result res;
	struct sim_op op;

	if (replay_op(r->sim, op_text, &op, &res))
		return -1;
	return r->fn(seq, op_text, &op, &res, r->arg);
}

/* Holding s: its state let go (evicted, or wrong); the next request loads it. */
static void drop_state(struct session *s)
{
	if (!s->sim)
		return;
	sim_free(s->sim);
	s->sim = NULL;
	__atomic_store_n(&s->loaded, false, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&nr_loaded, 1, __ATOMIC_SEQ_CST);
}

/*
 * Drop the state of the least recently used idle session.  The caller holds
 * keep's lock; a victim's lock is only tried, so this cannot deadlock.  The
 * scan reads other sessions' loaded and last_used without their locks (as
 * atomics): a hint, checked again under the victim's lock.
 */
static void evict_one(struct session *keep)
{
	struct session *victim = NULL;
	size_t i;

	pthread_rwlock_rdlock(&registry);
	for (i = 0; i < nr_table; i++) {
		struct session *s = table[i];

		if (s == keep || !__atomic_load_n(&s->loaded, __ATOMIC_RELAXED))
			continue;
		/* its state holds ops not yet durable: no rebuild has them */
		if (!db_resolved(db, __atomic_load_n(&s->last_ticket,
						     __ATOMIC_RELAXED)))
			continue;
		if (!victim || __atomic_load_n(&s->last_used, __ATOMIC_RELAXED) <
		    __atomic_load_n(&victim->last_used, __ATOMIC_RELAXED))
			victim = s;
	}
	if (victim && !pthread_mutex_trylock(&victim->lock)) {
		if (victim->sim && db_resolved(db, victim->last_ticket) &&
		    !db_history_failed(db, victim->id, victim->gen))
			drop_state(victim);
		pthread_mutex_unlock(&victim->lock);
	}
	pthread_rwlock_unlock(&registry);
}

/*
 * Holding s, whose state was just built where there was none: counted,
 * and the least recently used other one evicted past max_loaded (s stays
 * locked: unlocked, it could be evicted in turn).
 */
static void state_loaded(struct session *s)
{
	__atomic_store_n(&s->loaded, true, __ATOMIC_RELAXED);
	if (__atomic_add_fetch(&nr_loaded, 1, __ATOMIC_SEQ_CST) >
	    cfg->max_loaded)
		evict_one(s);
}

static void session_free(struct session *s)
{
	if (s->sim) {
		sim_free(s->sim);
		__atomic_sub_fetch(&nr_loaded, 1, __ATOMIC_SEQ_CST);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Drop a reference; the last one frees a deleted session. */
static void drop_ref(struct session *s)
{
	bool free_it;

	/*
	 * deleted is set under the write lock, with the session out of the
	 * table, so no reference can be taken after it: the last put sees it.
	 */
	pthread_rwlock_rdlock(&registry);
	free_it = __atomic_sub_fetch(&s->refs, 1, __ATOMIC_SEQ_CST) == 0 &&
		  s->deleted;
	pthread_rwlock_unlock(&registry);
	if (free_it)
		session_free(s);
}

/* the session of that id with a reference taken, if this node has it */
static struct session *find_ref(long id)
{
	struct session *s = NULL;
	size_t i;

	pthread_rwlock_rdlock(&registry);
	i = table_find(id);
	if (i < nr_table && table[i]->id == id) {
		s = table[i];
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_SEQ_CST);
	}
	pthread_rwlock_unlock(&registry);
	return s;
}

/* who may read s, as the database's row says */
static void take_access(struct session *s, const struct db_session *row)
{
	if (row->owner != __atomic_load_n(&s->owner, __ATOMIC_RELAXED))
		__atomic_store_n(&s->owner, row->owner, __ATOMIC_RELAXED);
	session_set_visibility(s, row->visibility, row->class_id);
}

/*
 * Caller holds the registry write lock: take it in unless it is there (then
 * with who may read it as the row says: a list must not show a session
 * made private through another node).
 */
static struct session *add_row(const struct db_session *row)
{
	size_t i = table_find(row->id);
	struct session *s;

	if (i < nr_table && table[i]->id == row->id) {
		take_access(table[i], row);
		return table[i];
	}
	s = session_new(row);
	if (s && table_add(s)) {
		session_free(s);
		s = NULL;
	}
	return s;
}

/* Shared database: a session another node created, with a reference. */
static struct session *adopt(long id)
{
	struct db_session row;
	struct session *s;

	if (!cfg->shared_db || db_session_get(db, id, &row))
		return NULL;
	pthread_rwlock_wrlock(&registry);
	s = add_row(&row);
	if (s)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_SEQ_CST);
	pthread_rwlock_unlock(&registry);
	return s;
}

struct listed {
	struct db_session *rows;
	size_t n, cap;
	bool short_of_memory;
};

static void add_listed(const struct db_session *row, void *arg)
{
	struct listed *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct db_session *t = realloc(l->rows, cap * sizeof(*t));

		if (!t) {
			l->short_of_memory = true;
			return;
		}
		l->rows = t;
		l->cap = cap;
	}
	l->rows[l->n++] = *row;
}

/* the database is read first: no request waits on the registry meanwhile */
void sessions_refresh(void)
{
	struct listed l = { 0 };
	size_t i;

	if (!cfg->shared_db || db_session_list(db, add_listed, &l))
		goto out;
	pthread_rwlock_wrlock(&registry);
	for (i = 0; i < l.n; i++)
		add_row(&l.rows[i]);
	pthread_rwlock_unlock(&registry);
out:
	if (l.short_of_memory)
		log_msg(LOG_WARNING, "out of memory: the list may miss "
			"sessions other nodes made");
	free(l.rows);
}

/* caller holds s: out of the table, freed by its last reference */
static void unlist(struct session *s)
{
	size_t i;

	pthread_rwlock_wrlock(&registry);
	i = table_find(s->id);
	if (i < nr_table && table[i] == s) {
		nr_table--;
		memmove(&table[i], &table[i + 1], (nr_table - i) * sizeof(*table));
	}
	s->deleted = true;
	pthread_rwlock_unlock(&registry);
	streams_notify(s->id);
}

/* The ops of the journal after s->version, up to head, applied to s->sim. */
static bool replay_to(struct session *s, long head)
{
	s->sim->cfg.limits = replay_limits;
	if (db_journal_read(db, s->id, s->version, head, replay_one, s->sim) ||
	    s->sim->nr_ops != (unsigned long)head)
		return false;
	fit_limits(s->sim, &s->cfg.limits);
	return true;
}

/*
 * Shared database, holding s: bring the copy to the journal's head, by the
 * ops it lacks, or rebuilt when the journal was cut meanwhile (a rewind on
 * another node, even if it grew back past this copy) or a replay stops.
 * Not while rows of ours are queued: the fence judges those.  If the
 * database does not answer, the copy serves as it is (reads of loaded
 * sessions go on); -1: the session was deleted, or is not loaded and its
 * head cannot be read.
 */
static int catch_up(struct session *s)
{
	char err[200];
	struct sim *sim;
	long head, cuts;
	bool cut;
	int rc;

	if (!db_resolved(db, __atomic_load_n(&s->last_ticket, __ATOMIC_RELAXED)))
		return 0;
	rc = db_journal_head(db, s->id, &head, &cuts);
	if (rc == 1) {
		unlist(s);
		return -1;
	}
	/*
	 * The database away: a loaded copy serves as it is, but one never
	 * loaded here has only the version its row had when this node last
	 * listed it, perhaps long behind: building that would answer a state
	 * older than acknowledged ops (the cluster test saw an empty journal)
	 */
	if (rc < 0 && !s->sim)
		return -1;
	cut = cuts != s->cuts;
	if (rc || (head == s->version && !cut))
		return 0;
	if (s->sim && (cut || head < s->version || !replay_to(s, head))) {
		sim = session_build(s, head, err, sizeof(err));
		if (!sim) {
			log_msg(LOG_ERR, "session %ld: cannot catch up: %s",
				s->id, err);
			return -1;
		}
		sim_free(s->sim);
		s->sim = sim;
	}
	s->cuts = cuts;
	session_new_history(s, head);
	return 0;
}

struct session *session_get(long id)
{
	struct session *s = find_ref(id);
	char err[200];

	if (!s)
		s = adopt(id);
	if (!s)
		return NULL;
	pthread_mutex_lock(&s->lock);
	if (s->deleted) {
		session_put(s);
		return NULL;
	}
	if (db_history_failed(db, s->id, s->gen) && session_restore(s)) {
		session_put(s);
		return NULL;
	}
	if (cfg->shared_db && catch_up(s)) {
		session_put(s);
		return NULL;
	}
	if (!s->sim) {
		s->sim = session_build(s, s->version, err, sizeof(err));
		if (!s->sim) {
			log_msg(LOG_ERR, "session %ld: %s", id, err);
			session_put(s);
			return NULL;
		}
		state_loaded(s);
	}
	__atomic_store_n(&s->last_used, now_ms(), __ATOMIC_RELAXED);
	return s;
}

/*
 * Shared database: who may read s changed through another node if the
 * access epoch moved since this node last read s's row (every change of
 * visibility, class or owner bumps it in its transaction): read it again.
 * The owner only changes when its user is removed (rare), so it is only
 * stored when it did change.
 */
static void access_reread(struct session *s, long epoch)
{
	struct db_session row;

	if (!cfg->shared_db || epoch < 0 ||
	    __atomic_load_n(&s->access_epoch, __ATOMIC_RELAXED) == epoch ||
	    db_session_get(db, s->id, &row))
		return;
	take_access(s, &row);
	__atomic_store_n(&s->access_epoch, epoch, __ATOMIC_RELAXED);
}

bool session_access_at(long id, long epoch, struct session_access *out)
{
	struct session *s = find_ref(id);
	bool found;

	if (!s)
		s = adopt(id);
	if (!s)
		return false;
	/* deleted changes under the registry's write lock */
	pthread_rwlock_rdlock(&registry);
	found = !s->deleted;
	pthread_rwlock_unlock(&registry);
	if (found)
		access_reread(s, epoch);
	out->owner = __atomic_load_n(&s->owner, __ATOMIC_RELAXED);
	out->visibility = __atomic_load_n(&s->visibility, __ATOMIC_RELAXED);
	out->class_id = __atomic_load_n(&s->class_id, __ATOMIC_RELAXED);
	drop_ref(s);
	return found;
}

bool session_access_info(long id, struct session_access *out)
{
	return session_access_at(id, -1, out);
}

void session_set_visibility(struct session *s, int visibility, long class_id)
{
	if (__atomic_load_n(&s->visibility, __ATOMIC_RELAXED) == visibility &&
	    __atomic_load_n(&s->class_id, __ATOMIC_RELAXED) == class_id)
		return;
	__atomic_store_n(&s->visibility, visibility, __ATOMIC_RELAXED);
	__atomic_store_n(&s->class_id, class_id, __ATOMIC_RELAXED);
}

long session_version(const struct session *s)
{
	return __atomic_load_n(&s->version, __ATOMIC_RELAXED);
}

long session_durable(const struct session *s)
{
	return __atomic_load_n(&s->durable, __ATOMIC_RELAXED);
}

uint64_t session_gen(const struct session *s)
{
	return __atomic_load_n(&s->gen, __ATOMIC_RELAXED);
}

long session_cuts(const struct session *s)
{
	return cfg->shared_db ? s->cuts : -1;
}

void session_set_version(struct session *s, long version)
{
	__atomic_store_n(&s->version, version, __ATOMIC_RELAXED);
}

/*
 * The history changed (a rewind, a restore): what was durable is version,
 * and answers still waiting for the old history must not raise it again.
 */
void session_new_history(struct session *s, long version)
{
	session_set_version(s, version);
	__atomic_store_n(&s->durable, version, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->gen, 1, __ATOMIC_RELAXED);
	s->snap_seq = 0;	/* the rewind may have taken it with it */
	streams_notify(s->id);
}

void session_mark_durable(long id, uint64_t gen, long version)
{
	struct session *s = NULL;
	long was;
	size_t i;

	pthread_rwlock_rdlock(&registry);
	i = table_find(id);
	if (i < nr_table && table[i]->id == id)
		s = table[i];
	was = s ? session_durable(s) : version;
	/* commits of one history come in order: only ever forward */
	while (s && was < version && session_gen(s) == gen &&
	       !__atomic_compare_exchange_n(&s->durable, &was, version, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	pthread_rwlock_unlock(&registry);
	if (s && was < version)
		streams_notify(id);
}

/*
 * Back to what the database holds: the rows of this history that failed
 * never reached it, nor any queued after them (they are fenced).
 */
int session_restore(struct session *s)
{
	struct db_session row;
	struct sim *sim;
	char err[200];
	bool loaded;

	if (db_session_get(db, s->id, &row)) {
		log_msg(LOG_ERR, "session %ld: cannot read its durable version",
			s->id);
		return -1;
	}
	sim = session_build(s, row.version, err, sizeof(err));
	if (!sim) {
		log_msg(LOG_ERR, "session %ld: cannot restore: %s", s->id, err);
		return -1;
	}
	if (db_history_conflict(db, s->id, s->gen))
		log_msg(LOG_INFO, "session %ld: another node wrote it "
			"meanwhile; reloaded at version %ld (from %ld)", s->id,
			row.version, s->version);
	else
		log_msg(LOG_WARNING, "session %ld: a commit failed; back to "
			"its durable version %ld (from %ld)", s->id,
			row.version, s->version);
	/* a state dropped (session_rollback) comes back: as a load */
	loaded = !s->sim;
	sim_free(s->sim);
	s->sim = sim;
	if (loaded)
		state_loaded(s);
	s->cuts = row.cuts;
	session_new_history(s, row.version);
	return 0;
}

/* Every queued row of s settled; s back to its durable state if one failed. */
int session_settle(struct session *s)
{
	db_wait(db, s->last_ticket);
	if (db_history_failed(db, s->id, s->gen))
		return session_restore(s);
	return 0;
}

int session_rollback(struct session *s, long before)
{
	uint64_t gen = session_gen(s);
	struct sim *sim;
	char err[200];

	metrics_batch_undo(false);
	/* the journal must hold every op up to before: the queued ones too */
	if (session_settle(s)) {
		drop_state(s);
		return -1;
	}
	/* they failed: restored, a new history at a version older than before */
	if (session_gen(s) != gen)
		return 0;
	sim = session_build(s, before, err, sizeof(err));
	if (!sim) {
		log_msg(LOG_ERR, "session %ld: cannot roll back to %ld: %s; its "
			"state is reloaded when next asked for", s->id, before,
			err);
		drop_state(s);
		return -1;
	}
	sim_free(s->sim);
	s->sim = sim;
	return 0;
}

int session_journal(struct session *s, long from, long to,
		    int (*fn)(long seq, const char *op_text,
			      const struct sim_op *op,
			      const struct sim_result *res, void *arg),
		    void *arg)
{
	struct journal_replay r = { .fn = fn, .arg = arg };
	char err[200];
	int rc;

	r.sim = session_build(s, from, err, sizeof(err));
	if (!r.sim)
		return -1;
	r.sim->cfg.limits = replay_limits;
	rc = db_journal_read(db, s->id, from, to, journal_one, &r);
	sim_free(r.sim);
	return rc;
}

/* Unlock and drop the reference; the last one frees a deleted session. */
void session_put(struct session *s)
{
	pthread_mutex_unlock(&s->lock);
	drop_ref(s);
}

/*
 * The session is made whole in the database (one transaction) before it
 * enters the table: no request can see it before its journal is complete
 * and its version set.  A slot is reserved first, so that concurrent
 * creations cannot pass the session limit together.
 */
/* caller holds the registry lock: s's id is in the table already */
static bool adopted(const struct session *s)
{
	size_t i = table_find(s->id);

	return i < nr_table && table[i]->id == s->id;
}

/* a session made here that never was shared, locked */
static void discard(struct session *s)
{
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

struct session *session_create(const char *name, const char *config_json,
			       const struct session_origin *origin, bool *full)
{
	struct db_session row = { 0 };
	struct session *s;

	*full = false;
	pthread_rwlock_wrlock(&registry);
	if (nr_table + nr_pending >= cfg->max_sessions) {
		pthread_rwlock_unlock(&registry);
		*full = true;
		return NULL;
	}
	nr_pending++;
	pthread_rwlock_unlock(&registry);

	if (origin->clone_of > 0) {
		row.id = db_session_clone(db, name, config_json, origin->owner,
					  origin->clone_of, origin->upto);
		row.version = origin->upto;
	} else {
		row.id = db_session_create(db, name, config_json, origin->owner,
					   origin->nr_ops, origin->ops);
		row.version = (long)origin->nr_ops;
	}
	s = NULL;
	row.owner = origin->owner;
	if (row.id >= 0) {
		snprintf(row.name, sizeof(row.name), "%s", name);
		snprintf(row.config, sizeof(row.config), "%s", config_json);
		s = session_new(&row);
		if (s) {
			s->refs = 1;
			s->last_used = now_ms();
			pthread_mutex_lock(&s->lock);	/* not yet shared */
		}
	}

	pthread_rwlock_wrlock(&registry);
	nr_pending--;
	if (s && adopted(s)) {
		/*
		 * A shared database: a request for the new id took the session
		 * in from its committed rows before we got here.  One object
		 * per id: that one is the session, ours goes.
		 */
		struct session *there = table[table_find(row.id)];

		__atomic_add_fetch(&there->refs, 1, __ATOMIC_SEQ_CST);
		pthread_rwlock_unlock(&registry);
		discard(s);
		pthread_mutex_lock(&there->lock);
		return there;
	}
	if (s && table_add(s)) {
		discard(s);
		s = NULL;
	}
	pthread_rwlock_unlock(&registry);
	if (!s && row.id >= 0)
		db_session_delete(db, row.id);
	return s;
}

/*
 * Delete from the database, then from the table (the caller holds a
 * reference and the lock); -1 and nothing changed if the database failed.
 */
int session_delete(struct session *s)
{
	/* no queued row may meet the session gone */
	db_wait(db, s->last_ticket);
	if (db_session_delete(db, s->id))
		return -1;
	unlist(s);
	return 0;
}

/*
 * Visit every session (under the read lock, not the sessions' own: fn reads
 * only what never changes, and the version through session_version()).
 */
void sessions_each(void (*fn)(const struct session *s, void *arg), void *arg)
{
	size_t i;

	pthread_rwlock_rdlock(&registry);
	for (i = 0; i < nr_table; i++)
		fn(table[i], arg);
	pthread_rwlock_unlock(&registry);
}

void sessions_shutdown(void)
{
	size_t i;

	pthread_rwlock_wrlock(&registry);
	for (i = 0; i < nr_table; i++) {
		sim_free(table[i]->sim);
		pthread_mutex_destroy(&table[i]->lock);
		free(table[i]);
	}
	free(table);
	table = NULL;
	nr_table = cap_table = 0;
	/* a registry made anew (sessions_init) counts its own */
	__atomic_store_n(&nr_loaded, 0, __ATOMIC_SEQ_CST);
	pthread_rwlock_unlock(&registry);
}
