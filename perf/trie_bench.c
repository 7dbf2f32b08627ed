/*
 * trie_bench.c: the subscription trie (src/socket/trie.h) alone: what a SUB pays to
 * filter a message (trie_check) and a PUB to find its subscribers (trie_match), and
 * what building and tearing down the subscriptions costs.
 *
 * Two sets of 1000 topics: "shared" ("sensor/building-NN/room-NNN/temp", one long
 * common prefix, fan-out on digits deep inside) and "random" (8 to 24 random bytes, so
 * the fan-out is on the first byte). Messages are 64 bytes; half start with a
 * subscribed topic, half with random bytes. In the per-owner case each topic has 4
 * owners out of 100.
 *
 * usage: trie_bench [messages [shared|random]]   (default 1000000 messages, both
 * sets; under callgrind use ~100000 and one set, and divide the instruction counts of
 * bench_check / bench_match by the messages)
 * Not a test: nothing passes or fails on time.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proc_stats.h"
#include "socket/trie.h"

#define TOPICS   1000
#define MSG_SIZE 64

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

struct topic {
	uint8_t b[64];
	size_t len;
};

static void
make_topics(struct topic *t, int shared)
{
	for (int i = 0; i < TOPICS; i++) {
		if (shared) {
			t[i].len = (size_t)snprintf((char *)t[i].b, sizeof t[i].b,
			                            "sensor/building-%02d/room-%03d/temp",
			                            i / 100, i % 100);
		} else {
			t[i].len = 8 + rng() % 17;
			for (size_t k = 0; k < t[i].len; k++)
				t[i].b[k] = (uint8_t)rng();
		}
	}
}

/* make_messages: n messages of MSG_SIZE bytes, every other one on a random topic. */
static uint8_t *
make_messages(const struct topic *t, size_t n)
{
	uint8_t *m = malloc(n * MSG_SIZE);
	if (!m)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		uint8_t *d = m + i * MSG_SIZE;
		for (size_t k = 0; k < MSG_SIZE; k++)
			d[k] = (uint8_t)rng();
		if (i % 2 == 0) {
			const struct topic *p = &t[rng() % TOPICS];
			memcpy(d, p->b, p->len);
		}
	}
	return m;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
count_owner(void *owner, void *arg)
{
	(void)owner;
	++*(size_t *)arg;
}

/* Benchmarked functions kept out of line so callgrind names each. */

__attribute__((noinline)) static size_t
bench_check(struct trie *t, const uint8_t *msgs, size_t n)
{
	size_t hits = 0;
	for (size_t i = 0; i < n; i++)
		hits += trie_check(t, msgs + i * MSG_SIZE, MSG_SIZE);
	return hits;
}

__attribute__((noinline)) static size_t
bench_match(struct trie *t, const uint8_t *msgs, size_t n)
{
	size_t named = 0;
	for (size_t i = 0; i < n; i++)
		trie_match(t, msgs + i * MSG_SIZE, MSG_SIZE, count_owner, &named);
	return named;
}

static char owners[100];

__attribute__((noinline)) static int
build_counted(struct trie *t, const struct topic *tp)
{
	for (int i = 0; i < TOPICS; i++)
		if (trie_add(t, tp[i].b, tp[i].len) < 0)
			return -1;
	return 0;
}

__attribute__((noinline)) static int
build_owners(struct trie *t, const struct topic *tp)
{
	for (int i = 0; i < TOPICS; i++)
		for (int k = 0; k < 4; k++)
			if (trie_add_owner(t, tp[i].b, tp[i].len,
			                   &owners[(i * 7 + k * 31) % 100]) < 0)
				return -1;
	return 0;
}

__attribute__((noinline)) static void
remove_owners(struct trie *t)
{
	for (int k = 0; k < 100; k++)
		trie_rm_owner_all(t, &owners[k], NULL, NULL, false);
}

static void
run(const char *name, int shared, size_t n)
{
	static struct topic tp[TOPICS];
	make_topics(tp, shared);
	uint8_t *msgs = make_messages(tp, n);
	if (!msgs) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	struct trie t;
	trie_init(&t);
	long heap0 = heap_kib();
	double t0 = now_s();
	if (build_counted(&t, tp) < 0)
		exit(1);
	double t1 = now_s();
	long counted_kib = heap_kib() - heap0;
	size_t hits = bench_check(&t, msgs, n);
	double t2 = now_s();
	trie_fini(&t);
	trie_init(&t);
	if (build_owners(&t, tp) < 0)
		exit(1);
	double t3 = now_s();
	long owners_kib = heap_kib() - heap0;
	size_t named = bench_match(&t, msgs, n);
	double t4 = now_s();
	remove_owners(&t);
	double t5 = now_s();
	trie_fini(&t);
	printf("%-7s build %6.1f us  check %6.1f ns/msg (%zu hits)  match %6.1f ns/msg "
	       "(%zu owners named)  rm_owner_all x100 %6.1f us  heap %ld KiB counted, "
	       "%ld "
	       "KiB per owner\n",
	       name, (t1 - t0) * 1e6, (t2 - t1) * 1e9 / (double)n, hits,
	       (t4 - t3) * 1e9 / (double)n, named, (t5 - t4) * 1e6, counted_kib,
	       owners_kib);
	free(msgs);
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)atol(argv[1]) : 1000000;
	const char *only = argc > 2 ? argv[2] : NULL;
	if (!only || strcmp(only, "shared") == 0)
		run("shared", 1, n);
	if (!only || strcmp(only, "random") == 0)
		run("random", 0, n);
	return 0;
}
