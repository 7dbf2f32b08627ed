/*
 * bench.h: `zinc bench`: one cell (a test over a transport at a message size) runs in
 * two threads with sockets of their own, as perf/'s local_* and remote_* tools do in
 * two processes; bench.c runs the cells, shows progress and prints the table.
 */
#ifndef ZINC_CLI_BENCH_H
#define ZINC_CLI_BENCH_H

#include <stddef.h>

struct bench_cell {
	int latency;           /* 1: lat (REQ/REP round trips), 0: thr (PUSH -> PULL) */
	const char *transport; /* inproc, ipc, tcp, shm */
	size_t size;
	long count;
	int spin_us; /* shm: ZINC_SHM_SPIN_US (PAIR for latency); 0: off */
};

struct bench_result {
	int ok;
	double value;  /* lat: one-way latency in us; thr: messages per second */
	double mbytes; /* thr: MB/s (10^6 bytes) */
	char note[64]; /* e.g. "ipc: no shm in this library" */
	char error[160];
};

/* bench_run_cell: runs c; progress on stderr when show_progress. Fills r; returns 0
 * on success, -1 with r->error set. */
int bench_run_cell(const struct bench_cell *c, struct bench_result *r, int show_progress);

#endif
