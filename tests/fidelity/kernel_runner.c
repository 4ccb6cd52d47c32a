// SPDX-License-Identifier: MIT
/*
 * kernel_runner.c - run a fidelity scenario as real processes on the Linux
 * kernel of this machine and print what /proc shows, in the observation
 * format `rmapd run --observe` prints for the simulator.
 *
 * Each simulated process is a real one blocked in read() on its command
 * pipe; the controller sends one command at a time and waits (bounded) for
 * the answer.  fork is done by the process itself, so the child inherits its
 * address space.  Observations are taken while every process is blocked.
 * Everything happens inside one reserved window of the address space.
 *
 * The kernel's answer must not depend on timing: every process of a run is
 * pinned to one CPU and that CPU's LRU batches are drained before each
 * operation and each observation (see pin_to_one_cpu() and drain_lru()).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define WIN_START	0x200000000000UL
#define WIN_END		0x200040000000UL
#define PAGE		4096UL
#define MAX_PROCS	32
#define MAX_FILES	16
#define TIMEOUT_MS	5000

enum cmd_kind { C_MMAP, C_MUNMAP, C_MPROTECT, C_MREMAP, C_MADVISE, C_ACCESS,
		C_FORK, C_EXIT };

struct cmd {
	int kind;
	unsigned long addr, len, old_len, new_len, new_addr, offset;
	int prot, flags, advice, write, child;
	char path[256];
};

struct ack {
	int err;		/* 0, an errno, or -SIGSEGV / -SIGBUS */
	long pid;		/* fork: the child's real pid */
};

static int cmd_pipe[MAX_PROCS][2], ack_pipe[MAX_PROCS][2];
static pid_t real_pid[MAX_PROCS + 1];	/* by sim pid, 0 = not alive */
static int nr_pids;
static char tmpdir[128];
static struct { char name[64]; char path[256]; } files[MAX_FILES];
static int nr_files;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void kill_all(void)
{
	int i;

	for (i = 1; i <= nr_pids; i++)
		if (real_pid[i] > 0)
			kill(real_pid[i], SIGKILL);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fidelity-kernel-runner: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	kill_all();
	exit(1);
}

/* ---- inside a simulated process ---- */

static sigjmp_buf fault_jmp;

static void on_fault(int sig)
{
	siglongjmp(fault_jmp, sig);
}

static int do_access(const struct cmd *c)
{
	volatile char *p = (volatile char *)c->addr;
	int sig = sigsetjmp(fault_jmp, 1);

	if (sig)
		return -sig;
	if (c->write)
		*p = 1;
	else
		(void)*p;
	return 0;
}

static int sys_err(long rc)
{
	return rc < 0 ? errno : 0;
}

/*
 * A process opens each file once and maps it through that one open file,
 * as a program would: VMAs of one struct file can merge (vma_merge compares
 * vm_file), which a fresh open per mmap would forbid.  A forked child
 * inherits the descriptors, and so the same open files.
 */
static struct { char path[256]; int fd; } open_files[MAX_FILES];
static int nr_open_files;

static int file_fd(const char *path)
{
	int i, fd;

	for (i = 0; i < nr_open_files; i++)
		if (!strcmp(open_files[i].path, path))
			return open_files[i].fd;
	if (nr_open_files == MAX_FILES) {
		errno = EMFILE;
		return -1;
	}
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -1;
	snprintf(open_files[nr_open_files].path, sizeof(open_files[0].path),
		 "%s", path);
	open_files[nr_open_files++].fd = fd;
	return fd;
}

static void proc_loop(int me) __attribute__((noreturn));

static void proc_loop(int me)
{
	struct sigaction sa = { .sa_handler = on_fault };
	struct cmd c;
	struct ack a;

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	signal(SIGCHLD, SIG_IGN);	/* children reap themselves */
	for (;;) {
		if (read(cmd_pipe[me][0], &c, sizeof(c)) != sizeof(c))
			_exit(0);
		memset(&a, 0, sizeof(a));
		switch (c.kind) {
		case C_MMAP: {
			int fd = -1;
			void *p;

			if (c.path[0] && (fd = file_fd(c.path)) < 0) {
				a.err = errno;
				break;
			}
			p = mmap((void *)c.addr, c.len, c.prot, c.flags, fd,
				 (off_t)c.offset);
			a.err = p == MAP_FAILED ? errno : 0;
			break;
		}
		case C_MUNMAP:
			a.err = sys_err(munmap((void *)c.addr, c.len));
			break;
		case C_MPROTECT:
			a.err = sys_err(mprotect((void *)c.addr, c.len, c.prot));
			break;
		case C_MREMAP: {
			void *p = mremap((void *)c.addr, c.old_len, c.new_len,
					 c.flags, (void *)c.new_addr);

			a.err = p == MAP_FAILED ? errno : 0;
			break;
		}
		case C_MADVISE:
			a.err = sys_err(madvise((void *)c.addr, c.len, c.advice));
			break;
		case C_ACCESS:
			a.err = do_access(&c);
			break;
		case C_FORK: {
			pid_t pid = fork();

			if (pid == 0)
				proc_loop(c.child);
			a.err = pid < 0 ? errno : 0;
			a.pid = pid;
			break;
		}
		case C_EXIT:
			(void)!write(ack_pipe[me][1], &a, sizeof(a));
			_exit(0);
		}
		if (write(ack_pipe[me][1], &a, sizeof(a)) != sizeof(a))
			_exit(1);
	}
}

/* ---- the controller ---- */

static struct ack send_cmd(int sim_pid, const struct cmd *c)
{
	struct pollfd pfd = { .fd = ack_pipe[sim_pid][0], .events = POLLIN };
	struct ack a;

	if (write(cmd_pipe[sim_pid][1], c, sizeof(*c)) != sizeof(*c))
		die("cannot talk to pid %d", sim_pid);
	if (poll(&pfd, 1, TIMEOUT_MS) != 1)
		die("pid %d did not answer within %d ms", sim_pid, TIMEOUT_MS);
	if (read(ack_pipe[sim_pid][0], &a, sizeof(a)) != sizeof(a))
		die("pid %d died", sim_pid);
	return a;
}

/*
 * After exit: wait (bounded) until the process's memory is gone.  An empty
 * /proc/PID/maps is not enough: exit_mm() detaches the mm first and
 * exit_mmap() unmaps it afterwards, so a reader in between sees no VMAs
 * while the pages are still mapped.  The task becomes a zombie (or, with
 * SIGCHLD ignored by its parent, disappears) only after exit_mm() returned.
 */
static bool exited(pid_t pid)
{
	char path[64], buf[512], *paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}

static void wait_gone(pid_t pid)
{
	int i;

	for (i = 0; i < 2500; i++) {
		if (exited(pid))
			return;
		usleep(2000);
	}
	die("process %d did not exit", pid);
}

static unsigned long num(const cJSON *o, const char *k)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, k);

	if (cJSON_IsNumber(j))
		return (unsigned long)j->valuedouble;
	if (cJSON_IsString(j))
		return strtoul(j->valuestring, NULL, 0);
	return 0;
}

static bool has_flag(const cJSON *o, const char *flag)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "flags"), *it;

	cJSON_ArrayForEach(it, f)
		if (cJSON_IsString(it) && !strcmp(it->valuestring, flag))
			return true;
	return false;
}

static int prot_of(const cJSON *o)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "prot");
	const char *s = cJSON_IsString(p) ? p->valuestring : "---";

	return (s[0] == 'r' ? PROT_READ : 0) | (s[1] == 'w' ? PROT_WRITE : 0) |
	       (s[2] == 'x' ? PROT_EXEC : 0);
}

static const char *file_path(const char *name)
{
	int i;

	for (i = 0; i < nr_files; i++)
		if (!strcmp(files[i].name, name))
			return files[i].path;
	die("no file '%s'", name);
}

static const char *file_name_of(const char *path)
{
	int i;

	for (i = 0; i < nr_files; i++)
		if (!strcmp(files[i].path, path))
			return files[i].name;
	return NULL;
}

static void make_file(const char *name, unsigned long pages)
{
	char page[PAGE];
	unsigned long i;
	int fd;

	if (nr_files == MAX_FILES)
		die("too many files");
	snprintf(files[nr_files].name, sizeof(files[0].name), "%s", name);
	snprintf(files[nr_files].path, sizeof(files[0].path), "%s/%s", tmpdir,
		 name);
	fd = open(files[nr_files].path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("cannot create %s", files[nr_files].path);
	for (i = 0; i < pages; i++) {
		memset(page, (int)(i % 250) + 1, sizeof(page));
		if (write(fd, page, sizeof(page)) != sizeof(page))
			die("cannot write %s", files[nr_files].path);
	}
	close(fd);
	nr_files++;
}

static const char *errname(int err)
{
	switch (err) {
	case 0: return "ok";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EEXIST: return "EEXIST";
	case EINVAL: return "EINVAL";
	case -SIGSEGV: return "SIGSEGV";
	case -SIGBUS: return "SIGBUS";
	default: return "E?";
	}
}

static int spawn_proc(int sim_pid)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork failed");
	if (pid == 0)
		proc_loop(sim_pid);
	return pid;
}

/* Apply one op; returns its result name. */
static const char *apply(const cJSON *op)
{
	const char *kind = cJSON_GetObjectItemCaseSensitive(op, "op")->valuestring;
	int pid = (int)num(op, "pid");
	struct cmd c = { 0 };
	struct ack a;

	if (!strcmp(kind, "spawn")) {
		if (nr_pids == MAX_PROCS - 1)
			die("too many processes");
		nr_pids++;
		real_pid[nr_pids] = spawn_proc(nr_pids);
		return "ok";
	}
	if (!strcmp(kind, "file")) {
		make_file(cJSON_GetObjectItemCaseSensitive(op, "name")->valuestring,
			  num(op, "pages"));
		return "ok";
	}
	if (pid < 1 || pid > nr_pids || !real_pid[pid])
		die("op on a process that does not exist (pid %d)", pid);
	c.addr = num(op, "addr");
	c.len = num(op, "len");
	if (!strcmp(kind, "mmap")) {
		const cJSON *file = cJSON_GetObjectItemCaseSensitive(op, "file");

		c.kind = C_MMAP;
		c.prot = prot_of(op);
		c.flags = (has_flag(op, "shared") ? MAP_SHARED : MAP_PRIVATE) |
			  (has_flag(op, "anonymous") ? MAP_ANONYMOUS : 0) |
			  (has_flag(op, "fixed") ? MAP_FIXED : 0) |
			  (has_flag(op, "fixed_noreplace") ? MAP_FIXED_NOREPLACE : 0) |
			  (has_flag(op, "noreserve") ? MAP_NORESERVE : 0);
		c.offset = num(op, "offset");
		if (cJSON_IsString(file))
			snprintf(c.path, sizeof(c.path), "%s", file_path(file->valuestring));
	} else if (!strcmp(kind, "munmap")) {
		c.kind = C_MUNMAP;
	} else if (!strcmp(kind, "mprotect")) {
		c.kind = C_MPROTECT;
		c.prot = prot_of(op);
	} else if (!strcmp(kind, "mremap")) {
		c.kind = C_MREMAP;
		c.old_len = num(op, "old_len");
		c.new_len = num(op, "new_len");
		c.new_addr = num(op, "new_addr");
		c.flags = (has_flag(op, "maymove") ? MREMAP_MAYMOVE : 0) |
			  (has_flag(op, "fixed") ? MREMAP_FIXED : 0) |
			  (has_flag(op, "dontunmap") ? MREMAP_DONTUNMAP : 0);
	} else if (!strcmp(kind, "madvise")) {
		const char *adv = cJSON_GetObjectItemCaseSensitive(op, "advice")->valuestring;

		c.kind = C_MADVISE;
		c.advice = !strcmp(adv, "dontneed") ? MADV_DONTNEED :
			   !strcmp(adv, "dontfork") ? MADV_DONTFORK :
			   !strcmp(adv, "dofork") ? MADV_DOFORK :
			   !strcmp(adv, "wipeonfork") ? MADV_WIPEONFORK :
			   !strcmp(adv, "keeponfork") ? MADV_KEEPONFORK :
			   !strcmp(adv, "pageout") ? MADV_PAGEOUT : -1;
	} else if (!strcmp(kind, "access")) {
		c.kind = C_ACCESS;
		c.write = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(op, "write"));
	} else if (!strcmp(kind, "fork")) {
		if (nr_pids == MAX_PROCS - 1)
			die("too many processes");
		c.kind = C_FORK;
		c.child = nr_pids + 1;
	} else if (!strcmp(kind, "exit")) {
		c.kind = C_EXIT;
	} else {
		die("op '%s' is not run on the kernel", kind);
	}
	a = send_cmd(pid, &c);
	if (c.kind == C_FORK && !a.err) {
		nr_pids++;
		real_pid[nr_pids] = (pid_t)a.pid;
	}
	if (c.kind == C_EXIT) {
		wait_gone(real_pid[pid]);
		real_pid[pid] = 0;
	}
	return errname(a.err);
}

/* ---- stable runs ---- */

/*
 * A folio sitting in a per-CPU LRU batch holds a reference, and
 * wp_can_reuse_anon_folio() refuses to reuse a folio with an extra
 * reference: a write fault would then copy where it reuses at other times.
 * The kernel drains the local CPU's batches before giving up, but not
 * another CPU's.  With every process of the run on one CPU (children
 * inherit the affinity, as under `taskset -c 0`) no other CPU ever holds a
 * batch with one of our folios.
 */
static void pin_to_one_cpu(void)
{
	cpu_set_t allowed, one;
	int cpu;

	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		die("sched_getaffinity: %s", strerror(errno));
	for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &allowed); cpu++)
		;
	if (cpu == CPU_SETSIZE)
		die("no CPU to run on");
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		die("sched_setaffinity(%d): %s", cpu, strerror(errno));
}

/*
 * lru_add_drain() from user space: MADV_COLD on a page that was never
 * touched drains the calling CPU's batches (madvise_cold() drains before
 * walking the range) and then finds nothing to deactivate, so it changes
 * no page of the scenario.  The controller runs on the same CPU as every
 * scenario process, so this empties every batch that could hold their
 * folios.
 */
static void *drain_page;

static void drain_lru(void)
{
	if (madvise(drain_page, PAGE, MADV_COLD))
		die("madvise(MADV_COLD) to drain the LRU batches: %s",
		    strerror(errno));
}

/* ---- observing ---- */

/*
 * The VM flags compared, as /proc/PID/smaps spells them in VmFlags (sorted):
 * the ones rmap's lessons turn on (accounting decides merges; dontcopy and
 * wipeonfork decide what fork copies).
 */
static const char *const vm_flag_names[] = { "ac", "dc", "nr", "wf" };

static cJSON *vm_flags_of(const char *line)
{
	cJSON *flags = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < sizeof(vm_flag_names) / sizeof(vm_flag_names[0]); i++) {
		char word[8];

		snprintf(word, sizeof(word), " %s", vm_flag_names[i]);
		for (const char *at = strstr(line, word); at; at = strstr(at + 1, word))
			if (at[3] == ' ' || at[3] == '\n' || at[3] == '\0') {
				cJSON_AddItemToArray(flags,
						     cJSON_CreateString(vm_flag_names[i]));
				break;
			}
	}
	return flags;
}

static int kpagecount_fd, kpageflags_fd;

static uint64_t read_u64(int fd, uint64_t index)
{
	uint64_t v = 0;

	if (pread(fd, &v, sizeof(v), (off_t)(index * 8)) != sizeof(v))
		die("cannot read /proc entry at %lu: %s", (unsigned long)index,
		    strerror(errno));
	return v;
}

struct classes {
	uint64_t pfn[4096];
	int n;
};

static cJSON *offset_str(unsigned long addr)
{
	char b[32];

	snprintf(b, sizeof(b), "+0x%lx", addr - WIN_START);
	return cJSON_CreateString(b);
}

static void observe_pages(cJSON *pages, int pagemap, unsigned long start,
			  unsigned long end, struct classes *cl)
{
	unsigned long a;

	for (a = start; a < end; a += PAGE) {
		cJSON *p = cJSON_CreateObject();
		uint64_t e = read_u64(pagemap, a / PAGE);
		bool present = e >> 63 & 1, swapped = e >> 62 & 1;

		cJSON_AddItemToObject(p, "addr", offset_str(a));
		cJSON_AddBoolToObject(p, "present", present);
		cJSON_AddBoolToObject(p, "swapped", swapped);
		if (present) {
			uint64_t pfn = e & ((1ULL << 55) - 1);
			uint64_t flags, count;
			char name[16];
			int i;

			if (!pfn)
				die("PFNs read as 0: run as root");
			flags = read_u64(kpageflags_fd, pfn);
			count = read_u64(kpagecount_fd, pfn);
			if (flags >> 24 & 1) {
				snprintf(name, sizeof(name), "Z");
			} else {
				for (i = 0; i < cl->n && cl->pfn[i] != pfn; i++)
					;
				if (i == cl->n && cl->n < 4096)
					cl->pfn[cl->n++] = pfn;
				snprintf(name, sizeof(name), "F%d", i);
			}
			cJSON_AddStringToObject(p, "frame", name);
			cJSON_AddNumberToObject(p, "mapcount", flags >> 24 & 1 ? 0 : (double)count);
			cJSON_AddBoolToObject(p, "exclusive", e >> 56 & 1);
			cJSON_AddBoolToObject(p, "anon", flags >> 12 & 1);
		}
		cJSON_AddItemToArray(pages, p);
	}
}

static cJSON *observe(long after)
{
	cJSON *o = cJSON_CreateObject(), *procs;
	struct classes *cl = calloc(1, sizeof(*cl));
	int sim;

	cJSON_AddNumberToObject(o, "after", (double)after);
	procs = cJSON_AddArrayToObject(o, "processes");
	for (sim = 1; sim <= nr_pids; sim++) {
		char path[64], line[512];
		cJSON *p, *vmas, *pages, *cur = NULL;
		FILE *maps;
		int pagemap;

		if (!real_pid[sim])
			continue;
		p = cJSON_CreateObject();
		cJSON_AddNumberToObject(p, "pid", sim);
		vmas = cJSON_AddArrayToObject(p, "vmas");
		pages = cJSON_AddArrayToObject(p, "pages");
		snprintf(path, sizeof(path), "/proc/%d/smaps", real_pid[sim]);
		maps = fopen(path, "r");
		snprintf(path, sizeof(path), "/proc/%d/pagemap", real_pid[sim]);
		pagemap = open(path, O_RDONLY);
		if (!maps || pagemap < 0)
			die("cannot read /proc of pid %d", real_pid[sim]);
		while (fgets(line, sizeof(line), maps)) {
			unsigned long s, e, off;
			char perms[8], dev[16], file[300] = "";
			unsigned long ino;
			cJSON *v;
			const char *name;

			if (!strncmp(line, "VmFlags:", 8)) {
				if (cur)
					cJSON_AddItemToObject(cur, "flags",
							      vm_flags_of(line + 8));
				cur = NULL;
				continue;
			}
			if (sscanf(line, "%lx-%lx %7s %lx %15s %lu %299[^\n]", &s, &e,
				   perms, &off, dev, &ino, file) < 6)
				continue;
			cur = NULL;
			if (e <= WIN_START || s >= WIN_END)
				continue;
			v = cur = cJSON_CreateObject();
			cJSON_AddItemToObject(v, "start", offset_str(s));
			cJSON_AddItemToObject(v, "end", offset_str(e));
			perms[3] = '\0';
			cJSON_AddStringToObject(v, "prot", perms);
			cJSON_AddBoolToObject(v, "shared", line[strcspn(line, " ") + 4] == 's');
			name = file[0] == '/' ? file_name_of(file + strspn(file, " ")) : NULL;
			if (name)
				cJSON_AddStringToObject(v, "file", name);
			else
				cJSON_AddNullToObject(v, "file");
			cJSON_AddItemToArray(vmas, v);
			observe_pages(pages, pagemap, s, e, cl);
		}
		fclose(maps);
		close(pagemap);
		cJSON_AddItemToArray(procs, p);
	}
	free(cl);
	return o;
}

int main(int argc, char **argv)
{
	cJSON *doc, *ops, *op, *out, *results, *observations;
	const cJSON *name;
	long index = 0, last = -1;
	char *text;
	FILE *f;
	long len;
	int i;

	if (argc != 2) {
		fprintf(stderr, "usage: fidelity-kernel-runner SCENARIO.json\n");
		return 2;
	}
	f = fopen(argv[1], "r");
	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || len > 1 << 20)
		die("cannot read %s", argv[1]);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	if (!text || fread(text, 1, (size_t)len, f) != (size_t)len)
		die("cannot read %s", argv[1]);
	fclose(f);
	doc = cJSON_Parse(text);
	free(text);
	ops = cJSON_GetObjectItemCaseSensitive(doc, "ops");
	if (!cJSON_IsArray(ops))
		die("%s has no ops", argv[1]);
	kpagecount_fd = open("/proc/kpagecount", O_RDONLY);
	kpageflags_fd = open("/proc/kpageflags", O_RDONLY);
	if (kpagecount_fd < 0 || kpageflags_fd < 0)
		die("cannot read /proc/kpagecount or /proc/kpageflags (%s): the "
		    "fidelity suite needs root", strerror(errno));
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/rmapd-fidelity-XXXXXX");
	if (!mkdtemp(tmpdir))
		die("mkdtemp failed");
	pin_to_one_cpu();
	drain_page = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	if (drain_page == MAP_FAILED)
		die("mmap of the drain page failed");
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < MAX_PROCS; i++)
		if (pipe(cmd_pipe[i]) || pipe(ack_pipe[i]))
			die("pipe failed");
	out = cJSON_CreateObject();
	name = cJSON_GetObjectItemCaseSensitive(doc, "name");
	cJSON_AddStringToObject(out, "scenario", cJSON_IsString(name) ? name->valuestring : "");
	results = cJSON_AddArrayToObject(out, "results");
	observations = cJSON_AddArrayToObject(out, "observations");
	cJSON_ArrayForEach(op, ops) {
		const char *kind = cJSON_GetObjectItemCaseSensitive(op, "op")->valuestring;
		cJSON *r;

		drain_lru();
		if (!strcmp(kind, "observe")) {
			cJSON_AddItemToArray(observations, observe(last));
			index++;
			continue;
		}
		r = cJSON_CreateObject();
		cJSON_AddNumberToObject(r, "index", (double)index);
		cJSON_AddStringToObject(r, "op", kind);
		cJSON_AddStringToObject(r, "result", apply(op));
		cJSON_AddItemToArray(results, r);
		last = index++;
	}
	drain_lru();
	cJSON_AddItemToArray(observations, observe(last));
	text = cJSON_Print(out);
	printf("%s\n", text);
	free(text);
	kill_all();
	for (i = 0; i < 2000; i++) {
		pid_t r = waitpid(-1, NULL, WNOHANG);

		if (r < 0)
			break;		/* no children left */
		if (r == 0)
			usleep(1000);
	}
	for (i = 0; i < nr_files; i++)
		unlink(files[i].path);
	rmdir(tmpdir);
	cJSON_Delete(out);
	cJSON_Delete(doc);
	return 0;
}
