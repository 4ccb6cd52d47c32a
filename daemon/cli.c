// SPDX-License-Identifier: MIT
/*
 * cli.c - the operator's commands on the database itself: users, API
 * tokens, classes and rosters.  They work whether or not a daemon runs on
 * the same file (SQLite's WAL lets both in; the daemon reads users and
 * tokens per request, so a revocation holds from its next request).
 * Secrets go to stdout once, everything else to stderr, so that
 * `TOKEN=$(rmapd token create alice)` keeps only the token.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "rmapd.h"

static const char cli_usage[] =
"usage: rmapd user add NAME [--admin] [--display TEXT] [--password-stdin]\n"
"       rmapd user list\n"
"       rmapd user passwd NAME [--password-stdin]\n"
"       rmapd user remove NAME\n"
"       rmapd token create USER [--scope read|write|scrape]\n"
"                         [--expires DURATION] [--name TEXT]\n"
"       rmapd token list USER\n"
"       rmapd token revoke ID\n"
"       rmapd class create NAME --instructor USER\n"
"       rmapd class enrol CLASS FILE.csv\n"
"       rmapd quota set --user NAME|--class NAME sessions|stored_bytes|ops_rate N\n"
"each with [--db PATH|URL] (default ./rmapd.sqlite; postgresql://... for\n"
"PostgreSQL).  A password is read from\n"
"stdin with --password-stdin, else generated and printed once.  DURATION\n"
"is N followed by s, m, h, d or w, or 'never' (the default).  A roster has\n"
"the columns user, role (instructor, ta, student), display name; the users\n"
"it creates are printed once with their generated passwords.  A quota\n"
"set for a user holds for them alone (0: none); one set for a class is\n"
"the default of its members, at most the daemon's --quota-* ceiling.\n";

struct cli {
	char db_path[512];
	bool admin, password_stdin;
	const char *display, *scope, *expires, *name, *instructor, *user,
		   *class_name;
	const char *arg[3];	/* the positional arguments after the verb */
	int nr_args;
	struct db *db;
};

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("rmapd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* 1-64 of letters, digits and . _ -, starting with a letter or digit */
static bool valid_ident(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > AUTH_NAME_MAX || strchr("._-", s[0]))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789._-") == n;
}

static const char *const value_flags[] = { "db", "display", "scope",
					   "expires", "name", "instructor",
					   "user", "class", NULL };

static const char **flag_slot(struct cli *c, const char *flag)
{
	const char **slots[] = { NULL, &c->display, &c->scope, &c->expires,
				 &c->name, &c->instructor, &c->user,
				 &c->class_name };
	int i;

	for (i = 0; value_flags[i]; i++)
		if (!strcmp(flag, value_flags[i]))
			return slots[i];
	return NULL;
}

static int parse(struct cli *c, int argc, char **argv)
{
	int i;

	snprintf(c->db_path, sizeof(c->db_path), "./rmapd.sqlite");
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], **slot;

		if (strncmp(a, "--", 2)) {
			if (c->nr_args == 3)
				return fail("too many arguments (see rmapd "
					    "user --help)");
			c->arg[c->nr_args++] = a;
			continue;
		}
		a += 2;
		if (!strcmp(a, "admin") || !strcmp(a, "password-stdin")) {
			*(a[0] == 'a' ? &c->admin : &c->password_stdin) = true;
			continue;
		}
		if (!strcmp(a, "help")) {
			fputs(cli_usage, stdout);
			exit(0);
		}
		slot = flag_slot(c, a);
		if (!slot && strcmp(a, "db"))
			return fail("unknown option --%s", a);
		if (i + 1 >= argc)
			return fail("--%s needs a value", a);
		if (!strcmp(a, "db")) {
			if (strlen(argv[i + 1]) >= sizeof(c->db_path))
				return fail("--db: path too long");
			snprintf(c->db_path, sizeof(c->db_path), "%s", argv[++i]);
			continue;
		}
		*slot = argv[++i];
	}
	return 0;
}

/* "30d", "12h", "never": seconds from now, 0 for never; -1 if bad */
static long parse_duration(const char *s)
{
	static const struct { char unit; long secs; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
		{ 'w', 7 * 86400 },
	};
	char *end;
	long n;
	size_t i;

	if (!s || !strcmp(s, "never"))
		return 0;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || n <= 0 || n > 100000 || !end[0] || end[1])
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (*end == units[i].unit)
			return n * units[i].secs;
	return -1;
}

static int need_args(const struct cli *c, int n, const char *what)
{
	if (c->nr_args == n)
		return 0;
	return fail("expected %s (see rmapd user --help)", what);
}

/* a password from stdin (its first line), or a new one printed once */
static int new_password(const struct cli *c, const char *user,
			char pwhash[AUTH_PWHASH_MAX], bool *printed)
{
	char line[1024], gen[24];
	const char *pw = line;
	size_t n;

	*printed = false;
	if (c->password_stdin) {
		if (!fgets(line, sizeof(line), stdin))
			return fail("no password on stdin");
		n = strcspn(line, "\r\n");
		line[n] = '\0';
		if (n < 8)
			return fail("a password has at least 8 characters");
	} else {
		auth_password_generate(gen);
		pw = gen;
		printf("%s\t%s\n", user, gen);
		*printed = true;
	}
	if (auth_password_hash(pw, pwhash))
		return fail("cannot hash the password (out of memory?)");
	return 0;
}

static int user_add(struct cli *c)
{
	char pwhash[AUTH_PWHASH_MAX];
	bool printed;
	long id;
	int rc;

	if (need_args(c, 1, "a user name"))
		return 2;
	if (!valid_ident(c->arg[0]))
		return fail("a user name is 1-%d letters, digits or . _ - "
			    "(not '%s')", AUTH_NAME_MAX, c->arg[0]);
	if (c->display && strlen(c->display) > AUTH_DISPLAY_MAX)
		return fail("a display name is at most %d bytes",
			    AUTH_DISPLAY_MAX);
	if (!db_user_get(c->db, c->arg[0], &(struct db_user){ 0 }, NULL))
		return fail("user '%s' exists already (rmapd user passwd "
			    "changes its password)", c->arg[0]);
	if (new_password(c, c->arg[0], pwhash, &printed))
		return 1;
	rc = db_user_add(c->db, c->arg[0], c->display, pwhash, c->admin,
			 (long)time(NULL), &id);
	if (rc == DB_EXISTS)
		return fail("user '%s' exists already", c->arg[0]);
	if (rc)
		return fail("the user was not added: the database failed");
	fprintf(stderr, "rmapd: added %s'%s' (id %ld)\n",
		c->admin ? "admin " : "", c->arg[0], id);
	return 0;
}

static void print_user(const struct db_user *u, void *arg)
{
	(void)arg;
	printf("%s\t%s\t%s\t%s\n", u->name, u->admin ? "admin" : "user",
	       u->has_password ? "password" : "no-password", u->display);
}

static int user_list(struct cli *c)
{
	if (need_args(c, 0, "no argument"))
		return 2;
	return db_user_list(c->db, print_user, NULL) ?
	       fail("the database failed") : 0;
}

static int user_passwd(struct cli *c)
{
	char pwhash[AUTH_PWHASH_MAX];
	bool printed;
	int rc;

	if (need_args(c, 1, "a user name"))
		return 2;
	if (db_user_get(c->db, c->arg[0], &(struct db_user){ 0 }, NULL))
		return fail("no user '%s'", c->arg[0]);
	if (new_password(c, c->arg[0], pwhash, &printed))
		return 1;
	rc = db_user_set_password(c->db, c->arg[0], pwhash);
	if (rc)
		return fail("the password was not changed: %s", rc == DB_NOT_FOUND ?
			    "the user is gone" : "the database failed");
	fprintf(stderr, "rmapd: password of '%s' changed\n", c->arg[0]);
	return 0;
}

static int user_remove(struct cli *c)
{
	int rc;

	if (need_args(c, 1, "a user name"))
		return 2;
	rc = db_user_remove(c->db, c->arg[0]);
	if (rc == DB_NOT_FOUND)
		return fail("no user '%s'", c->arg[0]);
	if (rc)
		return fail("the user was not removed: the database failed");
	fprintf(stderr, "rmapd: removed '%s': its tokens and memberships are "
		"gone, its sessions are left to the admins\n", c->arg[0]);
	return 0;
}

static int token_create(struct cli *c)
{
	const char *scope = c->scope ? c->scope : "write";
	unsigned char hash[AUTH_HASH_LEN];
	char text[64];
	struct db_user u;
	long secs = parse_duration(c->expires), now = (long)time(NULL), id;

	if (need_args(c, 1, "a user name"))
		return 2;
	if (strcmp(scope, "read") && strcmp(scope, "write") &&
	    strcmp(scope, "scrape"))
		return fail("--scope is read, write or scrape");
	if (secs < 0)
		return fail("--expires takes N[smhdw] (e.g. 30d) or never");
	if (c->name && (!c->name[0] || strlen(c->name) > AUTH_NAME_MAX))
		return fail("--name is 1-%d bytes", AUTH_NAME_MAX);
	if (db_user_get(c->db, c->arg[0], &u, NULL))
		return fail("no user '%s'", c->arg[0]);
	auth_secret_new("rmt_", text, sizeof(text), hash);
	if (db_token_add(c->db, u.id, hash, c->name ? c->name : "token", scope,
			 "api", now, secs ? now + secs : 0, &id))
		return fail("the token was not created: the database failed");
	printf("%s\n", text);
	fprintf(stderr, "rmapd: token %ld for '%s' (%s), shown this once\n", id,
		u.name, scope);
	return 0;
}

static void print_time(long t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t) {
		fputs("never", stdout);
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fputs(buf, stdout);
}

static void print_token(const struct db_token *t, void *arg)
{
	long now = *(long *)arg;

	printf("%ld\t%s\t%s\t", t->id, t->name, t->scope);
	print_time(t->created);
	putchar('\t');
	print_time(t->expires);
	printf("\t%s\n", t->revoked ? "revoked" :
	       t->expires && t->expires < now ? "expired" : "live");
}

static int token_list(struct cli *c)
{
	long now = (long)time(NULL);
	struct db_user u;

	if (need_args(c, 1, "a user name"))
		return 2;
	if (db_user_get(c->db, c->arg[0], &u, NULL))
		return fail("no user '%s'", c->arg[0]);
	return db_token_list(c->db, u.id, "api", print_token, &now) ?
	       fail("the database failed") : 0;
}

static int token_revoke(struct cli *c)
{
	char *end;
	long id;
	int rc;

	if (need_args(c, 1, "a token id"))
		return 2;
	id = strtol(c->arg[0], &end, 10);
	if (end == c->arg[0] || *end || id <= 0)
		return fail("a token id is a number (rmapd token list USER)");
	rc = db_token_revoke(c->db, id);
	if (rc == DB_NOT_FOUND)
		return fail("no live token %ld", id);
	if (rc)
		return fail("the token was not revoked: the database failed");
	fprintf(stderr, "rmapd: token %ld revoked\n", id);
	return 0;
}

static int class_create(struct cli *c)
{
	struct db_user u;
	long id;
	int rc;

	if (need_args(c, 1, "a class name"))
		return 2;
	if (!valid_ident(c->arg[0]))
		return fail("a class name is 1-%d letters, digits or . _ -",
			    AUTH_NAME_MAX);
	if (!c->instructor)
		return fail("a class needs --instructor USER");
	if (db_user_get(c->db, c->instructor, &u, NULL))
		return fail("no user '%s' (rmapd user add first)", c->instructor);
	rc = db_class_create(c->db, c->arg[0], (long)time(NULL), &id);
	if (rc < 0 || db_member_set(c->db, id, u.id, ROLE_INSTRUCTOR))
		return fail("the class was not created: the database failed");
	fprintf(stderr, "rmapd: class '%s' %s, instructor '%s'\n", c->arg[0],
		rc == DB_EXISTS ? "exists" : "created", u.name);
	return 0;
}

/*
 * One CSV record: up to max fields, a field quoted with "" when it holds
 * commas or quotes (RFC 4180, without line breaks inside a field).
 */
static int csv_fields(char *line, char **field, int max)
{
	char *r = line, *w = line, sep;
	int n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	while (n < max) {
		field[n++] = w;
		if (*r == '"') {
			for (r++; *r && !(*r == '"' && r[1] != '"'); r++)
				*w++ = *r == '"' ? *++r : *r;
			if (*r != '"')
				return -1;
			r++;
		} else {
			while (*r && *r != ',')
				*w++ = *r++;
		}
		sep = *r++;
		if (sep != ',' && sep)
			return -1;
		*w++ = '\0';	/* w <= r - 1: the separator is read already */
		if (!sep)
			return n;
	}
	return -1;
}

static void trim(char *s)
{
	size_t n = strlen(s), lead = strspn(s, " \t");

	while (n > lead && strchr(" \t", s[n - 1]))
		s[--n] = '\0';
	memmove(s, s + lead, n - lead + 1);
}

/*
 * One roster line, checked, then (apply) enrolled: its user created if
 * missing, with a password printed once.
 */
static int enrol_one(struct cli *c, long class_id, char **f, int n,
		     const char *where, bool apply)
{
	char pwhash[AUTH_PWHASH_MAX], gen[24];
	enum auth_role role;
	struct db_user u;
	long id;

	if (n < 2)
		return fail("%s: expected user,role[,display name]", where);
	trim(f[0]);
	trim(f[1]);
	if (n > 2)
		trim(f[2]);
	role = auth_role_parse(f[1]);
	if (!valid_ident(f[0]))
		return fail("%s: bad user name '%s'", where, f[0]);
	if (role == ROLE_NONE)
		return fail("%s: role is instructor, ta or student, not '%s'",
			    where, f[1]);
	if (n > 2 && strlen(f[2]) > AUTH_DISPLAY_MAX)
		return fail("%s: display name longer than %d bytes", where,
			    AUTH_DISPLAY_MAX);
	if (!apply)
		return 0;
	if (db_user_get(c->db, f[0], &u, NULL)) {
		auth_password_generate(gen);
		if (auth_password_hash(gen, pwhash) ||
		    db_user_add(c->db, f[0], n > 2 ? f[2] : "", pwhash, false,
				(long)time(NULL), &id))
			return fail("%s: user '%s' not added", where, f[0]);
		printf("%s\t%s\n", f[0], gen);
		u.id = id;
	}
	if (db_member_set(c->db, class_id, u.id, role))
		return fail("%s: '%s' not enrolled: the database failed", where,
			    f[0]);
	return 0;
}

/* every line of the roster through enrol_one(); how many were refused */
static int enrol_file(struct cli *c, long class_id, FILE *in, bool apply,
		      int *done)
{
	char line[1024], where[600], *f[3];
	int lineno = 0, n, errors = 0;

	while (fgets(line, sizeof(line), in)) {
		lineno++;
		snprintf(where, sizeof(where), "%s:%d", c->arg[1], lineno);
		if (!line[strspn(line, " \t\r\n")])
			continue;
		n = csv_fields(line, f, 3);
		if (n < 0) {
			errors += fail("%s: not a CSV record of at most 3 "
				       "fields", where);
			continue;
		}
		trim(f[0]);
		if (lineno == 1 && !strcmp(f[0], "user"))
			continue;	/* the header */
		if (enrol_one(c, class_id, f, n, where, apply))
			errors++;
		else
			(*done)++;
	}
	return errors;
}

/* All or nothing: a roster with a bad line changes nothing. */
static int class_enrol(struct cli *c)
{
	int errors, done = 0;
	long class_id;
	FILE *in;

	if (need_args(c, 2, "a class and a roster file"))
		return 2;
	if (db_class_find(c->db, c->arg[0], &class_id))
		return fail("no class '%s' (rmapd class create first)",
			    c->arg[0]);
	in = fopen(c->arg[1], "r");
	if (!in)
		return fail("cannot read %s: %s", c->arg[1], strerror(errno));
	errors = enrol_file(c, class_id, in, false, &done);
	if (errors) {
		fclose(in);
		return fail("%d lines of %s refused: nobody was enrolled",
			    errors, c->arg[1]);
	}
	rewind(in);
	done = 0;
	errors = enrol_file(c, class_id, in, true, &done);
	fclose(in);
	fprintf(stderr, "rmapd: %d enrolled in '%s'%s\n", done, c->arg[0],
		errors ? ", then the database failed" : "");
	return errors ? 1 : 0;
}

static int quota_set(struct cli *c)
{
	struct db_user u;
	long id = 0, n;
	char *end;
	bool bytes;

	if (need_args(c, 2, "a kind (sessions, stored_bytes, ops_rate) and a "
		      "number"))
		return 2;
	if (strcmp(c->arg[0], "sessions") && strcmp(c->arg[0], "ops_rate") &&
	    strcmp(c->arg[0], "stored_bytes"))
		return fail("a quota is sessions, stored_bytes or ops_rate, not "
			    "'%s'", c->arg[0]);
	bytes = !strcmp(c->arg[0], "stored_bytes");
	n = strtol(c->arg[1], &end, 10);
	if (end == c->arg[1] || *end || n < 0 ||
	    n > (bytes ? 1L << 40 : 1000000))
		return fail("a quota is a number from 0 to %ld",
			    bytes ? 1L << 40 : 1000000);
	if (!c->user == !c->class_name)
		return fail("a quota is set for --user NAME or --class NAME");
	if (c->user && db_user_get(c->db, c->user, &u, NULL))
		return fail("no user '%s'", c->user);
	if (c->class_name && db_class_find(c->db, c->class_name, &id))
		return fail("no class '%s'", c->class_name);
	if (db_quota_set(c->db, c->user ? u.id : 0, id, c->arg[0], n))
		return fail("the quota was not set: the database failed");
	fprintf(stderr, "rmapd: %s of %s '%s' is %ld%s\n", c->arg[0],
		c->user ? "user" : "class", c->user ? c->user : c->class_name,
		n, n ? "" : " (none)");
	return 0;
}

static const struct command {
	const char *noun, *verb;
	int (*fn)(struct cli *c);
} commands[] = {
	{ "user", "add", user_add },
	{ "user", "list", user_list },
	{ "user", "passwd", user_passwd },
	{ "user", "remove", user_remove },
	{ "token", "create", token_create },
	{ "token", "list", token_list },
	{ "token", "revoke", token_revoke },
	{ "class", "create", class_create },
	{ "class", "enrol", class_enrol },
	{ "quota", "set", quota_set },
};

bool rmapd_cli_command(const char *noun)
{
	return !strcmp(noun, "user") || !strcmp(noun, "token") ||
	       !strcmp(noun, "class") || !strcmp(noun, "quota");
}

int rmapd_cli_main(int argc, char **argv)
{
	struct cli c = { 0 };
	const struct command *cmd = NULL;
	char err[300];
	size_t i;
	int rc;

	for (i = 0; argc >= 2 && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[0], commands[i].noun) &&
		    !strcmp(argv[1], commands[i].verb))
			cmd = &commands[i];
	if (!cmd) {
		fputs(cli_usage, argc >= 2 && !strcmp(argv[1], "--help") ?
		      stdout : stderr);
		return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	if (parse(&c, argc - 2, argv + 2))
		return 2;
	c.db = db_open(c.db_path, err, sizeof(err));
	if (!c.db)
		return fail("%s", err);
	if (db_open_note(c.db)[0])
		fprintf(stderr, "rmapd: %s\n", db_open_note(c.db));
	rc = cmd->fn(&c);
	db_close(c.db);
	return rc;
}
