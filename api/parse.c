// SPDX-License-Identifier: MIT
/*
 * parse.c - JSON operations into struct sim_op, strictly: every field
 * checked for type and range, unknown fields refused, so that a typo is an
 * error and not a silently different operation.  The simulated kernel's own
 * refusals (an unaligned munmap is EINVAL) are left to the engine.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

#define MAX_LEN		(1UL << 40)

void api_error_set(struct api_error *err, int status, const char *type,
		   const char *field, const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	err->type = type;
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
}

/*
 * Integers (exact in a double: up to 2^53 - 1) or "0x..." strings for the
 * rest of 64 bits, and nothing else: a string like "0100" is refused rather
 * than guessed at (decimal? octal, as strtoul's base 0 would read it?).
 */
static int parse_ulong(const cJSON *j, unsigned long *out)
{
	const char *s;
	char *end;

	if (cJSON_IsNumber(j)) {
		double d = j->valuedouble;

		if (d < 0 || d > 9007199254740991.0 || d != (double)(unsigned long)d)
			return -1;
		*out = (unsigned long)d;
		return 0;
	}
	if (!cJSON_IsString(j))
		return -1;
	s = j->valuestring;
	/* strtoul alone would take a sign or spaces after the prefix */
	if (strncmp(s, "0x", 2) || !isxdigit((unsigned char)s[2]))
		return -1;
	errno = 0;
	*out = strtoul(s + 2, &end, 16);
	return errno || *end ? -1 : 0;
}

int api_parse_addr(const cJSON *json, unsigned long *out)
{
	if (parse_ulong(json, out))
		return -1;
	return *out > TASK_SIZE ? -1 : 0;
}

struct field {
	const char *name;
	bool required;
};

/* Refuse fields the op does not take; require the ones it must have. */
static int check_fields(const cJSON *json, const char *op,
			const struct field *fields, struct api_error *err)
{
	const cJSON *it;
	const struct field *f;

	cJSON_ArrayForEach(it, json) {
		bool known = !strcmp(it->string, "op");

		for (f = fields; f->name && !known; f++)
			known = !strcmp(f->name, it->string);
		if (!known) {
			api_error_set(err, 422, "unknown-field", it->string,
				      "%s does not take a field '%s'", op,
				      it->string);
			return -1;
		}
	}
	for (f = fields; f->name; f++)
		if (f->required && !cJSON_GetObjectItemCaseSensitive(json, f->name)) {
			api_error_set(err, 422, "missing-field", f->name,
				      "%s needs '%s'", op, f->name);
			return -1;
		}
	return 0;
}

static int get_num(const cJSON *json, const char *name, unsigned long max,
		   unsigned long *out, struct api_error *err)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(json, name);

	if (!j)
		return 0;
	if (parse_ulong(j, out) || *out > max) {
		api_error_set(err, 422, "invalid-value", name,
			      "'%s' must be an integer or \"0x...\" string "
			      "from 0 to %lu", name, max);
		return -1;
	}
	return 0;
}

static int get_bool(const cJSON *json, const char *name, bool *out,
		    struct api_error *err)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(json, name);

	if (!j)
		return 0;
	if (!cJSON_IsBool(j)) {
		api_error_set(err, 422, "invalid-type", name,
			      "'%s' must be true or false", name);
		return -1;
	}
	*out = cJSON_IsTrue(j);
	return 0;
}

static int get_string(const cJSON *json, const char *name, char *out,
		      size_t size, struct api_error *err)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(json, name);

	if (!j)
		return 0;
	if (!cJSON_IsString(j) || strlen(j->valuestring) >= size) {
		api_error_set(err, 422, "invalid-type", name,
			      "'%s' must be a string of at most %zu characters",
			      name, size - 1);
		return -1;
	}
	/* a name is printed back in answers and the journal: as it came */
	if (!api_utf8_valid(j->valuestring, strlen(j->valuestring))) {
		api_error_set(err, 422, "invalid-value", name,
			      "'%s' must be valid UTF-8", name);
		return -1;
	}
	snprintf(out, size, "%s", j->valuestring);
	return 0;
}

static int parse_prot(const cJSON *json, unsigned int *out,
		      struct api_error *err)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(json, "prot");
	const char *s;

	if (!j)
		return 0;
	if (!cJSON_IsString(j))
		goto bad;
	s = j->valuestring;
	*out = 0;
	if (!strcmp(s, "") || !strcmp(s, "none"))
		return 0;
	if (strlen(s) != 3 || (s[0] != 'r' && s[0] != '-') ||
	    (s[1] != 'w' && s[1] != '-') || (s[2] != 'x' && s[2] != '-'))
		goto bad;
	*out = (s[0] == 'r' ? PROT_READ : 0) | (s[1] == 'w' ? PROT_WRITE : 0) |
	       (s[2] == 'x' ? PROT_EXEC : 0);
	return 0;
bad:
	api_error_set(err, 422, "invalid-value", "prot",
		      "'prot' is a string like \"rw-\", \"r--\", \"r-x\" or \"---\"");
	return -1;
}

struct flag_name {
	const char *name;
	unsigned int bit;
};

static const struct flag_name mmap_flags[] = {
	{ "private", MAP_PRIVATE }, { "shared", MAP_SHARED },
	{ "anonymous", MAP_ANONYMOUS }, { "fixed", MAP_FIXED },
	{ "fixed_noreplace", MAP_FIXED_NOREPLACE },
	{ "noreserve", MAP_NORESERVE }, { NULL, 0 },
};

static const struct flag_name mremap_flags[] = {
	{ "maymove", MREMAP_MAYMOVE }, { "fixed", MREMAP_FIXED },
	{ "dontunmap", MREMAP_DONTUNMAP }, { NULL, 0 },
};

/* every accepted name, so the error message never leaves one out */
static void flag_list(const struct flag_name *names, char *buf, size_t size)
{
	const struct flag_name *f;
	size_t len = 0;

	buf[0] = '\0';
	for (f = names; f->name && len < size; f++) {
		int n = snprintf(buf + len, size - len, "%s%s",
				 f == names ? "" : ", ", f->name);

		if (n < 0)
			break;
		len += (size_t)n;
	}
}

static int parse_flags(const cJSON *json, const struct flag_name *names,
		       unsigned int *out, struct api_error *err)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(json, "flags"), *it;
	const struct flag_name *f;
	char list[160];

	*out = 0;
	if (!j)
		return 0;
	if (!cJSON_IsArray(j))
		goto bad;
	cJSON_ArrayForEach(it, j) {
		if (!cJSON_IsString(it))
			goto bad;
		for (f = names; f->name; f++)
			if (!strcmp(f->name, it->valuestring))
				break;
		if (!f->name)
			goto bad;
		*out |= f->bit;
	}
	return 0;
bad:
	flag_list(names, list, sizeof(list));
	api_error_set(err, 422, "invalid-value", "flags",
		      "'flags' is an array of: %s", list);
	return -1;
}

static const struct field f_none[] = { { NULL, false } };
static const struct field f_spawn[] = { { "layout", false }, { NULL, false } };
static const struct field f_file[] = {
	{ "name", true }, { "pages", true }, { NULL, false } };
static const struct field f_mmap[] = {
	{ "pid", true }, { "addr", false }, { "len", true }, { "prot", true },
	{ "flags", true }, { "file", false }, { "offset", false },
	{ NULL, false } };
static const struct field f_range[] = {
	{ "pid", true }, { "addr", true }, { "len", true }, { NULL, false } };
static const struct field f_mprotect[] = {
	{ "pid", true }, { "addr", true }, { "len", true }, { "prot", true },
	{ NULL, false } };
static const struct field f_mremap[] = {
	{ "pid", true }, { "addr", true }, { "old_len", true },
	{ "new_len", true }, { "flags", false }, { "new_addr", false },
	{ NULL, false } };
static const struct field f_madvise[] = {
	{ "pid", true }, { "addr", true }, { "len", true }, { "advice", true },
	{ NULL, false } };
static const struct field f_brk[] = {
	{ "pid", true }, { "addr", true }, { NULL, false } };
static const struct field f_access[] = {
	{ "pid", true }, { "addr", true }, { "write", false }, { NULL, false } };
static const struct field f_pid[] = { { "pid", true }, { NULL, false } };
static const struct field f_pfn[] = { { "pfn", true }, { NULL, false } };

static const struct field *const op_fields[OP__COUNT] = {
	[OP_SPAWN] = f_spawn, [OP_FILE] = f_file, [OP_MMAP] = f_mmap,
	[OP_MUNMAP] = f_range, [OP_MPROTECT] = f_mprotect,
	[OP_MREMAP] = f_mremap, [OP_MADVISE] = f_madvise, [OP_BRK] = f_brk,
	[OP_ACCESS] = f_access, [OP_FORK] = f_pid, [OP_EXIT] = f_pid,
	[OP_TRY_TO_UNMAP] = f_pfn, [OP_FOLIO_REFERENCED] = f_pfn,
};

static int parse_addr_field(const cJSON *json, const char *name,
			    unsigned long *out, struct api_error *err)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(json, name);

	if (!j)
		return 0;
	if (api_parse_addr(j, out)) {
		api_error_set(err, 422, "invalid-address", name,
			      "'%s' must be an integer or \"0x...\" string below "
			      "0x%lx (the top of the user address space)", name,
			      TASK_SIZE);
		return -1;
	}
	return 0;
}

static int parse_body(const cJSON *json, struct sim_op *op,
		      struct api_error *err)
{
	unsigned long pid = 0;
	char buf[64] = "";

	if (get_num(json, "pid", 1000000, &pid, err))
		return -1;
	op->pid = (int)pid;
	if (parse_addr_field(json, "addr", &op->addr, err) ||
	    parse_addr_field(json, "new_addr", &op->new_addr, err) ||
	    get_num(json, "len", MAX_LEN, &op->len, err) ||
	    get_num(json, "old_len", MAX_LEN, &op->old_len, err) ||
	    get_num(json, "new_len", MAX_LEN, &op->new_len, err) ||
	    get_num(json, "offset", MAX_LEN, &op->offset, err) ||
	    get_num(json, "pfn", 1UL << 40, &op->pfn, err) ||
	    get_num(json, "pages", 1UL << 20, &op->pages, err) ||
	    get_bool(json, "write", &op->write, err) ||
	    parse_prot(json, &op->prot, err))
		return -1;
	op->has_addr = cJSON_GetObjectItemCaseSensitive(json, "addr") != NULL;
	if (op->kind == OP_MMAP) {
		if (parse_flags(json, mmap_flags, &op->flags, err) ||
		    get_string(json, "file", op->name, sizeof(op->name), err))
			return -1;
		if (!(op->flags & MAP_ANONYMOUS) && !op->name[0]) {
			api_error_set(err, 422, "missing-field", "file",
				      "a mapping without \"anonymous\" needs 'file'");
			return -1;
		}
		if ((op->flags & MAP_ANONYMOUS) && op->name[0]) {
			api_error_set(err, 422, "invalid-value", "file",
				      "an anonymous mapping takes no 'file'");
			return -1;
		}
	}
	if (op->kind == OP_MREMAP &&
	    parse_flags(json, mremap_flags, &op->flags, err))
		return -1;
	if (op->kind == OP_FILE &&
	    get_string(json, "name", op->name, sizeof(op->name), err))
		return -1;
	if (op->kind == OP_SPAWN) {
		if (get_string(json, "layout", buf, sizeof(buf), err))
			return -1;
		if (!strcmp(buf, "process"))
			op->layout = SPAWN_PROCESS;
		else if (buf[0] && strcmp(buf, "empty")) {
			api_error_set(err, 422, "invalid-value", "layout",
				      "'layout' is \"empty\" or \"process\"");
			return -1;
		}
	}
	if (op->kind == OP_MADVISE) {
		if (get_string(json, "advice", buf, sizeof(buf), err))
			return -1;
		op->advice = sim_advice_from_name(buf);
		if (op->advice < 0) {
			api_error_set(err, 422, "invalid-value", "advice",
				      "'advice' is one of dontneed, dontfork, "
				      "dofork, wipeonfork, keeponfork, pageout");
			return -1;
		}
	}
	return 0;
}

int api_parse_op(const cJSON *json, struct sim_op *op, struct api_error *err)
{
	const cJSON *name;
	int kind;

	memset(op, 0, sizeof(*op));
	if (!cJSON_IsObject(json)) {
		api_error_set(err, 422, "invalid-type", "",
			      "an operation is a JSON object");
		return -1;
	}
	name = cJSON_GetObjectItemCaseSensitive(json, "op");
	if (!cJSON_IsString(name)) {
		api_error_set(err, 422, "missing-field", "op",
			      "an operation needs \"op\": one of spawn, file, "
			      "mmap, munmap, mprotect, mremap, madvise, brk, "
			      "access, fork, exit, try_to_unmap, folio_referenced");
		return -1;
	}
	kind = sim_op_from_name(name->valuestring);
	if (kind < 0) {
		api_error_set(err, 422, "unknown-op", "op",
			      "unknown op '%.40s': one of spawn, file, mmap, "
			      "munmap, mprotect, mremap, madvise, brk, access, "
			      "fork, exit, try_to_unmap, folio_referenced",
			      name->valuestring);
		return -1;
	}
	op->kind = (enum sim_op_kind)kind;
	if (check_fields(json, name->valuestring, op_fields[kind] ?
			 op_fields[kind] : f_none, err))
		return -1;
	return parse_body(json, op, err);
}

int api_apply_op(struct sim *sim, const struct sim_op *op,
		 struct sim_result *res, struct api_error *err)
{
	int ret = sim_apply(sim, op, res);
	int status = 422;
	const char *type = "invalid-op";

	switch (ret) {
	case SIM_APPLIED:
		return 0;
	case SIM_REJECT_NO_PID:
		status = 404;
		type = "no-such-pid";
		break;
	case SIM_REJECT_NO_FILE:
		status = 404;
		type = "no-such-file";
		break;
	case SIM_REJECT_NO_FRAME:
		status = 404;
		type = "no-such-frame";
		break;
	case SIM_REJECT_FILE_EXISTS:
		status = 409;
		type = "file-exists";
		break;
	case SIM_REJECT_LIMIT:
		type = "limit-exceeded";
		break;
	default:
		break;
	}
	api_error_set(err, status, type, sim_reject_field(sim), "%s",
		      sim_reject_reason(sim));
	return -1;
}

static const char overcommit_problem[] =
	"'overcommit_memory' is 0 (heuristic), 1 (always) or 2 (never), as "
	"vm.overcommit_memory";

int api_parse_config(const cJSON *json, struct sim_config *cfg,
		     struct api_error *err)
{
	const cJSON *mode = cJSON_GetObjectItemCaseSensitive(json, "mode");
	const cJSON *zp = cJSON_GetObjectItemCaseSensitive(json, "zero_page");
	const cJSON *oc = cJSON_GetObjectItemCaseSensitive(json,
							   "overcommit_memory");

	memset(cfg, 0, sizeof(*cfg));
	if (mode) {
		if (!cJSON_IsString(mode) || (strcmp(mode->valuestring, "normal") &&
					      strcmp(mode->valuestring, "legacy"))) {
			api_error_set(err, 422, "invalid-value", "mode",
				      "'mode' is \"normal\" or \"legacy\"");
			return -1;
		}
		if (!strcmp(mode->valuestring, "legacy"))
			cfg->mode = SIM_MODE_LEGACY;
	}
	if (zp) {
		if (!cJSON_IsBool(zp)) {
			api_error_set(err, 422, "invalid-type", "zero_page",
				      "'zero_page' must be true or false");
			return -1;
		}
		cfg->no_zero_page = !cJSON_IsTrue(zp);
	}
	if (oc) {
		if (!cJSON_IsNumber(oc) || (oc->valuedouble != 0 &&
					    oc->valuedouble != 1 &&
					    oc->valuedouble != 2)) {
			api_error_set(err, 422, "invalid-value",
				      "overcommit_memory", "%s",
				      overcommit_problem);
			return -1;
		}
		cfg->overcommit = (enum sim_overcommit)oc->valueint;
	}
	return 0;
}
