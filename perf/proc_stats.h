/*
 * proc_stats.h: what the scale tools (many_peers, soak) read about their own process:
 * a monotonic clock in ms, the resident set and the heap in use, in KiB. Header-only,
 * as perf_opts.h, so each tool stays one program from one source file. Linux (/proc)
 * and glibc (mallinfo2; 0 elsewhere).
 */
#ifndef ZINC_PERF_PROC_STATS_H
#define ZINC_PERF_PROC_STATS_H

#include <malloc.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static inline long long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* rss_kib: this process's resident set, in KiB. */
static inline long
rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	if (f)
		fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* heap_kib: bytes malloc has handed out and not taken back (all arenas), in KiB: with
 * RSS, tells a leak (both grow) from memory the allocator keeps or maps (RSS alone). */
static inline long
heap_kib(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
	struct mallinfo2 mi = mallinfo2();
	return (long)((mi.uordblks + mi.hblkhd) / 1024);
#else
	return 0;
#endif
}

#endif
