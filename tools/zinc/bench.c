/*
 * bench.c: `zinc bench lat|thr`: runs the cells (transport x size) and prints a table.
 * With --compare each cell also runs against the system libzmq: this same program is
 * started again as a child with LD_LIBRARY_PATH naming the system library's folder,
 * which the dynamic loader then prefers to zinc's libzmq.so.5 (the command links the
 * drop-in library, whose soname is libzmq's). The child runs one cell (--cell) and
 * prints one RESULT line; the parent checks it really ran on another library.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "bench.h"
#include "bench_compare.h"
#include "cli.h"

static const char bench_help[] =
        "usage: zinc bench lat|thr|all [options]\n\n"
        "Measures latency (REQ/REP round trips, one-way figure in microseconds) or\n"
        "throughput (PUSH to PULL, messages and megabytes per second) between two\n"
        "threads with a context each, over each transport and message size.\n\n"
        "  -t, --transport LIST  inproc,ipc,tcp,shm (default: all four)\n"
        "  -s, --size LIST       message sizes in bytes, K and M suffixes allowed\n"
        "                        (default 64,1K,64K)\n"
        "  -n, --count N         round trips or messages per cell (default: by size,\n"
        "                        a second or two each)\n"
        "      --scale F         multiply the default counts by F (0.1: a quick look)\n"
        "      --spin US         shm: spin up to US microseconds (ZINC_SHM_SPIN_US;\n"
        "                        latency then uses PAIR sockets)\n"
        "      --compare[=DIR]   run each cell against the system libzmq too (found in\n"
        "                        the usual library folders, or in DIR), side by side\n"
        "  -h, --help            this help\n"
        "A shm cell on libzmq, which has no shm://, measures ipc:// (as "
        "perf/compare.sh).\n";

struct bench_opts {
	int lat, thr;
	char transports[128];
	char sizes[128];
	long count;
	double scale;
	int spin_us;
	int compare;
	const char *compare_dir;
};

/* parse_size: "64", "1K", "2M" in bytes; 0 if bad. */
static size_t
parse_size(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (end == s)
		return 0;
	if (*end == 'K' || *end == 'k')
		v *= 1024, end++;
	else if (*end == 'M' || *end == 'm')
		v *= 1048576, end++;
	return *end || v == 0 || v > (1ul << 30) ? 0 : v;
}

/* default_count: a count that takes a second or two on a small machine. */
static long
default_count(int latency, const char *transport, size_t size, double scale)
{
	long n;
	if (latency)
		n = !strcmp(transport, "inproc") ? 20000
		    : size <= 1024               ? 10000
		    : size <= 65536              ? 2000
		                                 : 300;
	else
		n = size <= 64      ? (!strcmp(transport, "inproc") ? 2000000 : 1000000)
		    : size <= 1024  ? 300000
		    : size <= 65536 ? 20000
		                    : 1000;
	n = (long)((double)n * scale);
	return n < 2 ? 2 : n;
}

/* human: 65536 -> "64 KiB". */
static void
human(size_t b, char *out, size_t len)
{
	if (b >= 1048576 && b % 1048576 == 0)
		snprintf(out, len, "%zu MiB", b / 1048576);
	else if (b >= 1024 && b % 1024 == 0)
		snprintf(out, len, "%zu KiB", b / 1024);
	else
		snprintf(out, len, "%zu B", b);
}

/* figure: a result as table text. */
static void
figure(const struct bench_cell *c, const struct bench_result *r, char *out, size_t len)
{
	if (!r->ok)
		snprintf(out, len, "failed");
	else if (c->latency)
		snprintf(out, len, "%.2f us", r->value);
	else
		snprintf(out, len, "%.0f msg/s %.1f MB/s", r->value, r->mbytes);
}

/* print_row: one line of the table; with the libzmq figure and ratio when compared. */
static void
print_row(const struct bench_cell *c, const struct bench_result *zr,
          const struct bench_result *lr)
{
	char size[32], zf[48], lf[48], ratio[16] = "";
	human(c->size, size, sizeof size);
	figure(c, zr, zf, sizeof zf);
	printf("%-7s %-4s %8s %9ld  ", c->transport, c->latency ? "lat" : "thr", size,
	       c->count);
	if (lr) {
		figure(c, lr, lf, sizeof lf);
		if (zr->ok && lr->ok && zr->value > 0 && lr->value > 0)
			snprintf(ratio, sizeof ratio, "%.2f",
			         c->latency ? lr->value / zr->value
			                    : zr->value / lr->value);
		printf("%-28s %-28s %6s%s%s\n", lf, zf, ratio, lr->note[0] ? "  " : "",
		       lr->note);
	} else {
		printf("%-28s\n", zf);
	}
	fflush(stdout);
	if (!zr->ok)
		fprintf(stderr, "zinc: %s %s: %s\n", c->transport,
		        c->latency ? "lat" : "thr", zr->error);
	if (lr && !lr->ok)
		fprintf(stderr, "zinc: libzmq %s %s: %s\n", c->transport,
		        c->latency ? "lat" : "thr", lr->error);
}

static void
print_header(const struct bench_opts *bo, const char *libzmq_path)
{
	printf("library: %s (%s)\n", cli_library_path(),
	       cli_library_is_zinc() ? "zinc" : "libzmq");
	if (bo->compare)
		printf("compared with: %s\n", libzmq_path);
	if (bo->compare)
		printf("ratio > 1: zinc better (latency libzmq/zinc, throughput "
		       "zinc/libzmq)\n");
	printf("%-7s %-4s %8s %9s  ", "transp.", "test", "size", "count");
	if (bo->compare)
		printf("%-28s %-28s %6s\n", "libzmq", "zinc", "ratio");
	else
		printf("%s\n", "result");
}

/* run_cell: one cell here, and in the child on libzmq when comparing. */
static int
run_cell(const struct bench_opts *bo, struct bench_cell *c, const char *libdir)
{
	struct bench_result zr, lr;
	int show = isatty(2);
	if (bo->compare)
		bench_compare_cell(c, libdir, &lr, show);
	bench_run_cell(c, &zr, show);
	print_row(c, &zr, bo->compare ? &lr : NULL);
	return zr.ok && (!bo->compare || lr.ok) ? CLI_OK : CLI_FAIL;
}

/* run_all: every test x transport x size. */
static int
run_all(const struct bench_opts *bo, const char *libdir)
{
	int rc = CLI_OK;
	char tbuf[128], sbuf[128];
	for (int lat = 1; lat >= 0; lat--) {
		if ((lat && !bo->lat) || (!lat && !bo->thr))
			continue;
		strcpy(tbuf, bo->transports);
		char *ts, *t;
		for (t = strtok_r(tbuf, ",", &ts); t; t = strtok_r(NULL, ",", &ts)) {
			strcpy(sbuf, bo->sizes);
			char *ss, *s;
			for (s = strtok_r(sbuf, ",", &ss); s;
			     s = strtok_r(NULL, ",", &ss)) {
				struct bench_cell c = {
				        .latency = lat,
				        .transport = t,
				        .size = parse_size(s),
				        .spin_us = !strcmp(t, "shm") ? bo->spin_us : 0};
				c.count = bo->count > 0 ? bo->count
				                        : default_count(lat, t, c.size,
				                                        bo->scale);
				if (run_cell(bo, &c, libdir) != CLI_OK)
					rc = CLI_FAIL;
			}
		}
	}
	return rc;
}

/* check_lists: every transport known and every size valid. CLI_OK or CLI_USAGE. */
static int
check_lists(const struct bench_opts *bo)
{
	char buf[128];
	strcpy(buf, bo->transports);
	char *save, *t;
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (strcmp(t, "inproc") && strcmp(t, "ipc") && strcmp(t, "tcp") &&
		    strcmp(t, "shm"))
			return cli_usage_error("bench", "unknown transport '%s'", t);
	strcpy(buf, bo->sizes);
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (!parse_size(t))
			return cli_usage_error("bench", "bad size '%s'", t);
	return CLI_OK;
}

/* copy_list: a comma-separated option value into its buffer. */
static int
copy_list(char *dst, size_t len, const char *v, const char *what)
{
	if (strlen(v) >= len || !*v)
		return cli_usage_error("bench", "bad %s list", what);
	strcpy(dst, v);
	return CLI_OK;
}

static int
parse_option(int c, const char *v, struct bench_opts *bo)
{
	long n;
	switch (c) {
	case 't': return copy_list(bo->transports, sizeof bo->transports, v, "transport");
	case 's': return copy_list(bo->sizes, sizeof bo->sizes, v, "size");
	case 'n':
		if (cli_parse_long(v, 2, &bo->count) != 0)
			return cli_usage_error("bench", "bad count '%s'", v);
		return CLI_OK;
	case 'S':
		if ((bo->scale = cli_parse_seconds(v)) <= 0)
			return cli_usage_error("bench", "bad scale '%s'", v);
		return CLI_OK;
	case 'P':
		if (cli_parse_long(v, 0, &n) != 0 || n > 1000000)
			return cli_usage_error("bench", "bad spin '%s'", v);
		bo->spin_us = (int)n;
		return CLI_OK;
	case 'C': bo->compare = 1, bo->compare_dir = v; return CLI_OK;
	}
	return cli_usage_error("bench", "unknown option");
}

static int
parse_args(int argc, char **argv, struct bench_opts *bo, int *help)
{
	static const struct option longs[] = {{"transport", required_argument, NULL, 't'},
	                                      {"size", required_argument, NULL, 's'},
	                                      {"count", required_argument, NULL, 'n'},
	                                      {"scale", required_argument, NULL, 'S'},
	                                      {"spin", required_argument, NULL, 'P'},
	                                      {"compare", optional_argument, NULL, 'C'},
	                                      {"help", no_argument, NULL, 'h'},
	                                      {NULL, 0, NULL, 0}};
	optind = 1;
	opterr = 0;
	int c, rc = CLI_OK;
	while (rc == CLI_OK &&
	       (c = getopt_long(argc, argv, ":t:s:n:h", longs, NULL)) != -1) {
		if (c == 'h')
			return *help = 1, CLI_OK;
		if (c == '?' || c == ':')
			return cli_usage_error("bench", "bad option '%s'",
			                       argv[optind - 1]);
		rc = parse_option(c, optarg, bo);
	}
	if (rc != CLI_OK)
		return rc;
	if (optind + 1 != argc)
		return cli_usage_error("bench", "say which test: lat, thr or all");
	const char *test = argv[optind];
	bo->lat = !strcmp(test, "lat") || !strcmp(test, "all");
	bo->thr = !strcmp(test, "thr") || !strcmp(test, "all");
	if (!bo->lat && !bo->thr)
		return cli_usage_error("bench", "unknown test '%s'", test);
	return check_lists(bo);
}

int
cmd_bench(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--cell"))
		return bench_child_main(argc - 1, argv + 1);
	struct bench_opts bo = {
	        .transports = "inproc,ipc,tcp,shm", .sizes = "64,1K,64K", .scale = 1};
	int help = 0;
	int rc = parse_args(argc, argv, &bo, &help);
	if (rc != CLI_OK || help) {
		if (help)
			fputs(bench_help, stdout);
		return rc;
	}
	char libdir[512] = "", libpath[600] = "";
	if (bo.compare && bench_find_libzmq(bo.compare_dir, libdir, sizeof libdir,
	                                    libpath, sizeof libpath) != 0)
		return CLI_FAIL;
	print_header(&bo, libpath);
	return run_all(&bo, libdir);
}
