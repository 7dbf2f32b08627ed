/*
 * bench_compare.c: a bench cell on the system libzmq. The child is this program again
 * (/proc/self/exe), started with posix_spawn and LD_LIBRARY_PATH set to the system
 * library's folder; the loader searches LD_LIBRARY_PATH before the program's RUNPATH
 * and the cache, so the child's libzmq.so.5 is the system one. The child reports on a
 * pipe, one field a line:
 *   RESULT <ok> <value> <mbytes> <is_zinc>
 *   LIBRARY <path>      NOTE <text>      ERROR <text>
 */
#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_compare.h"
#include "cli.h"

extern char **environ;

/* usable: dir holds a libzmq.so.5 other than the one we run on. */
static int
usable(const char *dir, char *path, size_t plen)
{
	char file[PATH_MAX], real[PATH_MAX], ours[PATH_MAX];
	int n = snprintf(file, sizeof file, "%s/libzmq.so.5", dir);
	if (n < 0 || (size_t)n >= sizeof file)
		return 0;
	if (!realpath(file, real))
		return 0;
	if (realpath(cli_library_path(), ours) && !strcmp(real, ours))
		return 0;
	snprintf(path, plen, "%s", real);
	return 1;
}

/* multiarch: the triple folder libc lives in ("x86_64-linux-gnu"), or "". */
static void
multiarch(char *out, size_t len)
{
	Dl_info info;
	out[0] = '\0';
	if (!dladdr((void *)(size_t)printf, &info) || !info.dli_fname)
		return;
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s", info.dli_fname);
	snprintf(out, len, "%s", basename(dirname(buf)));
}

int
bench_find_libzmq(const char *given, char *dir, size_t dlen, char *path, size_t plen)
{
	const char *env = getenv("ZINC_SYSTEM_LIBZMQ");
	if (given || env) {
		char buf[PATH_MAX];
		struct stat st;
		snprintf(buf, sizeof buf, "%s", given ? given : env);
		if (stat(buf, &st) == 0 && !S_ISDIR(st.st_mode))
			snprintf(buf, sizeof buf, "%s",
			         dirname(strdupa(given ? given : env)));
		if (!usable(buf, path, plen))
			return cli_error(
			               "--compare: no libzmq.so.5 other than zinc in %s",
			               buf),
			       -1;
		snprintf(dir, dlen, "%s", buf);
		return 0;
	}
	char triple[64], cand[4][PATH_MAX];
	multiarch(triple, sizeof triple);
	snprintf(cand[0], PATH_MAX, "/usr/lib/%s", triple);
	snprintf(cand[1], PATH_MAX, "/lib/%s", triple);
	snprintf(cand[2], PATH_MAX, "/usr/lib64");
	snprintf(cand[3], PATH_MAX, "/usr/lib");
	for (int i = 0; i < 4; i++)
		if (usable(cand[i], path, plen)) {
			snprintf(dir, dlen, "%s", cand[i]);
			return 0;
		}
	cli_error("--compare: no system libzmq.so.5 found (on Debian: apt-get install "
	          "libzmq5; or --compare=DIR)");
	return -1;
}

/* child_env: environ with LD_LIBRARY_PATH=libdir first. NULL if out of memory. */
static char **
child_env(const char *libdir)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 2, sizeof *env);
	char *ld = malloc(strlen(libdir) + 20);
	if (!env || !ld) {
		free(env);
		free(ld);
		return NULL;
	}
	sprintf(ld, "LD_LIBRARY_PATH=%s", libdir);
	size_t k = 0;
	env[k++] = ld;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_LIBRARY_PATH=", 16) != 0)
			env[k++] = environ[i];
	return env;
}

/* read_report: the child's lines into r. */
static void
read_report(FILE *f, struct bench_result *r, int *is_zinc)
{
	char line[512];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "RESULT ", 7))
			sscanf(line + 7, "%d %lf %lf %d", &r->ok, &r->value, &r->mbytes,
			       is_zinc);
		else if (!strncmp(line, "NOTE ", 5))
			snprintf(r->note, sizeof r->note, "%.63s", line + 5);
		else if (!strncmp(line, "ERROR ", 6))
			snprintf(r->error, sizeof r->error, "%.159s", line + 6);
	}
}

/* spawn_child: starts the child with its stdout on fd; 0 or an errno. */
static int
spawn_child(pid_t *pid, int fd, char **argv, char **env)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n < 0)
		return errno;
	self[n] = '\0';
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 1);
	int rc = posix_spawn(pid, self, &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

void
bench_compare_cell(const struct bench_cell *c, const char *libdir, struct bench_result *r,
                   int show_progress)
{
	memset(r, 0, sizeof *r);
	char size[32], count[32], spin[32];
	snprintf(size, sizeof size, "%zu", c->size);
	snprintf(count, sizeof count, "%ld", c->count);
	snprintf(spin, sizeof spin, "%d", c->spin_us);
	char *argv[] = {"zinc",
	                "bench",
	                "--cell",
	                c->latency ? "lat" : "thr",
	                (char *)c->transport,
	                size,
	                count,
	                spin,
	                show_progress ? "1" : "0",
	                NULL};
	int fds[2];
	char **env = child_env(libdir);
	if (!env || pipe(fds) != 0) {
		snprintf(r->error, sizeof r->error, "cannot start the libzmq run");
		free(env ? env[0] : NULL);
		free(env);
		return;
	}
	pid_t pid;
	int err = spawn_child(&pid, fds[1], argv, env);
	close(fds[1]);
	free(env[0]);
	free(env);
	int is_zinc = 1;
	FILE *f = fdopen(fds[0], "r");
	if (!err && f)
		read_report(f, r, &is_zinc);
	if (f)
		fclose(f);
	else
		close(fds[0]);
	if (!err)
		waitpid(pid, NULL, 0);
	if (err)
		snprintf(r->error, sizeof r->error, "cannot run myself: %s",
		         strerror(err));
	else if (r->ok && is_zinc)
		r->ok = 0, snprintf(r->error, sizeof r->error,
		                    "the child loaded zinc, not the system libzmq");
	else if (!r->ok && !r->error[0])
		snprintf(r->error, sizeof r->error, "the libzmq run printed no result");
}

int
bench_child_main(int argc, char **argv)
{
	long size, count, spin;
	if (argc != 7 || cli_parse_long(argv[3], 1, &size) != 0 ||
	    cli_parse_long(argv[4], 2, &count) != 0 ||
	    cli_parse_long(argv[5], 0, &spin) != 0)
		return cli_usage_error("bench", "bad --cell arguments");
	struct bench_cell c = {.latency = !strcmp(argv[1], "lat"),
	                       .transport = argv[2],
	                       .size = (size_t)size,
	                       .count = count,
	                       .spin_us = (int)spin};
	struct bench_result r;
	bench_run_cell(&c, &r, argv[6][0] == '1');
	printf("RESULT %d %.6f %.6f %d\nLIBRARY %s\n", r.ok, r.value, r.mbytes,
	       cli_library_is_zinc(), cli_library_path());
	if (r.note[0])
		printf("NOTE %s\n", r.note);
	if (r.error[0])
		printf("ERROR %s\n", r.error);
	return r.ok ? CLI_OK : CLI_FAIL;
}
