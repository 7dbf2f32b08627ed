/*
 * test_trie.c: the subscription trie (src/socket/trie.h) on its own: counted prefixes
 * (SUB) and owner sets (PUB), pruning, walks over long topics, and allocation failure
 * at every step of an addition leaving the trie as it was. The trie is a radix trie:
 * edges part and join again as prefixes come and go (every order of a small set, and
 * thousands of random operations against a plain list of prefixes), a long prefix
 * costs its bytes once, and trie_verify checks the structure after each step. Leaks
 * show under valgrind and ASan.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "testutil.h"
#include "../perf/proc_stats.h"
#include "platform/alloc.h"
#include "socket/trie.h"

/* A trie_fn collecting "prefix;" strings, for comparing walks. */
struct collect {
	char buf[4096];
	size_t len;
	int calls;
};

static int
collect_fn(const uint8_t *prefix, size_t len, void *arg)
{
	struct collect *c = arg;
	c->calls++;
	if (c->len + len + 2 < sizeof c->buf) {
		if (len)
			memcpy(c->buf + c->len, prefix, len);
		c->len += len;
		c->buf[c->len++] = ';';
		c->buf[c->len] = '\0';
	}
	return 0;
}

static const char *
walk(struct trie *t)
{
	static struct collect c;
	memset(&c, 0, sizeof c);
	CHECK_EQ(trie_apply(t, collect_fn, &c), 0);
	return c.buf;
}

#define S(x) x, strlen(x)

static void
test_empty_trie_matches_nothing(void)
{
	struct trie t;
	trie_init(&t);
	CHECK(!trie_check(&t, S("abc")));
	CHECK(!trie_check(&t, NULL, 0));
	CHECK_EQ(trie_rm(&t, S("abc")), -ENOENT);
	CHECK_STR(walk(&t), "");
	trie_fini(&t);
}

static void
test_prefix_matching(void)
{
	struct trie t;
	trie_init(&t);
	CHECK_EQ(trie_add(&t, S("ab")), 1);
	CHECK(trie_check(&t, S("ab")));
	CHECK(trie_check(&t, S("abc")));
	CHECK(!trie_check(&t, S("a")));
	CHECK(!trie_check(&t, S("b")));
	CHECK(!trie_check(&t, S("")));
	CHECK(!trie_check(&t, S("ac")));
	trie_fini(&t);
}

static void
test_empty_prefix_matches_everything(void)
{
	struct trie t;
	trie_init(&t);
	CHECK_EQ(trie_add(&t, NULL, 0), 1);
	CHECK(trie_check(&t, S("")));
	CHECK(trie_check(&t, S("anything")));
	CHECK_STR(walk(&t), ";");
	CHECK_EQ(trie_rm(&t, NULL, 0), 1);
	CHECK(!trie_check(&t, S("anything")));
	trie_fini(&t);
}

static void
test_duplicates_are_counted(void)
{
	struct trie t;
	trie_init(&t);
	CHECK_EQ(trie_add(&t, S("A")), 1);
	CHECK_EQ(trie_add(&t, S("A")), 0);
	CHECK_EQ(trie_rm(&t, S("A")), 0);
	CHECK(trie_check(&t, S("A1")));
	CHECK_EQ(trie_rm(&t, S("A")), 1);
	CHECK(!trie_check(&t, S("A1")));
	CHECK_EQ(trie_rm(&t, S("A")), -ENOENT);
	trie_fini(&t);
}

static void
test_removal_keeps_longer_and_shorter_prefixes(void)
{
	struct trie t;
	trie_init(&t);
	CHECK_EQ(trie_add(&t, S("a")), 1);
	CHECK_EQ(trie_add(&t, S("abc")), 1);
	CHECK_EQ(trie_add(&t, S("abd")), 1);
	CHECK_EQ(trie_rm(&t, S("ab")), -ENOENT); /* an inner node, never subscribed */
	CHECK_EQ(trie_rm(&t, S("a")), 1);
	CHECK(!trie_check(&t, S("ax")));
	CHECK(trie_check(&t, S("abcx")));
	CHECK(trie_check(&t, S("abd")));
	CHECK_EQ(trie_rm(&t, S("abc")), 1);
	CHECK(!trie_check(&t, S("abc")));
	CHECK(trie_check(&t, S("abd")));
	CHECK_STR(walk(&t), "abd;");
	trie_fini(&t);
}

static void
test_apply_lists_each_prefix_once_in_order(void)
{
	struct trie t;
	trie_init(&t);
	const char *topics[] = {"b", "ab", "a", "", "zz", "a\xff", "b", "abc"};
	for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++)
		CHECK(trie_add(&t, S(topics[i])) >= 0);
	CHECK_STR(walk(&t), ";a;ab;abc;a\xff;b;zz;");
	trie_fini(&t);
}

static int
stop_fn(const uint8_t *prefix, size_t len, void *arg)
{
	(void)prefix;
	(void)len;
	return ++*(int *)arg == 2 ? -ENOMEM : 0;
}

static void
test_apply_stops_at_callback_error(void)
{
	struct trie t;
	trie_init(&t);
	CHECK_EQ(trie_add(&t, S("a")), 1);
	CHECK_EQ(trie_add(&t, S("b")), 1);
	CHECK_EQ(trie_add(&t, S("c")), 1);
	int calls = 0;
	CHECK_EQ(trie_apply(&t, stop_fn, &calls), -ENOMEM);
	CHECK_EQ(calls, 2);
	trie_fini(&t);
}

static void
test_all_byte_values_and_table_growth(void)
{
	struct trie t;
	trie_init(&t);
	/* Children added from the middle outwards widen the table both ways. */
	for (int i = 0; i < 256; i++) {
		uint8_t b[2] = {'x',
		                (uint8_t)((128 + (i % 2 ? i / 2 + 1 : -(i / 2))) & 0xff)};
		CHECK_EQ(trie_add(&t, b, 2), 1);
	}
	for (int c = 0; c < 256; c++) {
		uint8_t b[3] = {'x', (uint8_t)c, 0};
		CHECK(trie_check(&t, b, 3));
	}
	for (int c = 0; c < 256; c += 2) {
		uint8_t b[2] = {'x', (uint8_t)c};
		CHECK_EQ(trie_rm(&t, b, 2), 1);
	}
	for (int c = 0; c < 256; c++) {
		uint8_t b[2] = {'x', (uint8_t)c};
		CHECK_EQ(trie_check(&t, b, 2), c % 2 == 1);
	}
	for (int c = 1; c < 256; c += 2) {
		uint8_t b[2] = {'x', (uint8_t)c};
		CHECK_EQ(trie_rm(&t, b, 2), 1);
	}
	CHECK_STR(walk(&t), "");
	CHECK(!trie_check(&t, S("x\x01")));
	trie_fini(&t);
}

static void
test_long_topic_needs_no_recursion(void)
{
	/* A million-byte topic: every walk is a loop, so no stack depth is needed. */
	size_t n = 1u << 20;
	uint8_t *topic = malloc(n + 1);
	CHECK(topic);
	for (size_t i = 0; i <= n; i++)
		topic[i] = (uint8_t)(i * 7);
	struct trie t;
	trie_init(&t);
	CHECK_EQ(trie_add(&t, topic, n), 1);
	CHECK_EQ(trie_add(&t, topic, 10), 1);
	CHECK(trie_check(&t, topic, n + 1));
	struct collect c;
	memset(&c, 0, sizeof c);
	CHECK_EQ(trie_apply(&t, collect_fn, &c), 0);
	CHECK_EQ(c.calls, 2);
	CHECK_EQ(trie_rm(&t, topic, 10), 1);
	CHECK(trie_check(&t, topic, n));
	CHECK(!trie_check(&t, topic, n - 1));
	trie_fini(&t); /* frees the long chain without recursion */
	trie_init(&t);
	CHECK_EQ(trie_add(&t, topic, n), 1);
	CHECK_EQ(trie_rm(&t, topic, n), 1); /* pruning the chain is a loop too */
	trie_fini(&t);
	free(topic);
}

/* Per-owner use. */

struct owners_seen {
	void *owners[16];
	int n;
};

static void
seen_fn(void *owner, void *arg)
{
	struct owners_seen *s = arg;
	if (s->n < 16)
		s->owners[s->n++] = owner;
}

static int
count_seen(struct owners_seen *s, void *owner)
{
	int k = 0;
	for (int i = 0; i < s->n; i++)
		k += s->owners[i] == owner;
	return k;
}

static void
test_owner_sets(void)
{
	struct trie t;
	trie_init(&t);
	int a, b, c;
	CHECK_EQ(trie_add_owner(&t, S("T"), &a), 1);
	CHECK_EQ(trie_add_owner(&t, S("T"), &a), 0); /* a set: a second time is once */
	CHECK_EQ(trie_add_owner(&t, S("T"), &b), 0);
	CHECK_EQ(trie_add_owner(&t, S("TU"), &c), 1);
	CHECK_EQ(trie_add_owner(&t, S(""), &c), 1);
	struct owners_seen s = {.n = 0};
	trie_match(&t, S("TUV"), seen_fn, &s);
	CHECK_EQ(s.n, 4);
	CHECK_EQ(count_seen(&s, &a), 1);
	CHECK_EQ(count_seen(&s, &b), 1);
	CHECK_EQ(count_seen(&s, &c), 2);
	s.n = 0;
	trie_match(&t, S("X"), seen_fn, &s);
	CHECK_EQ(s.n, 1);
	CHECK_EQ(count_seen(&s, &c), 1);
	CHECK_EQ(trie_rm_owner(&t, S("T"), &a), 0);
	CHECK_EQ(trie_rm_owner(&t, S("T"), &a), -ENOENT);
	CHECK_EQ(trie_rm_owner(&t, S("T"), &b), 1);
	CHECK_EQ(trie_rm_owner(&t, S("Q"), &b), -ENOENT);
	s.n = 0;
	trie_match(&t, S("TUV"), seen_fn, &s);
	CHECK_EQ(s.n, 2);
	CHECK_EQ(count_seen(&s, &c), 2);
	trie_fini(&t);
}

static void
test_owner_removed_everywhere(void)
{
	struct trie t;
	trie_init(&t);
	int a, b;
	CHECK_EQ(trie_add_owner(&t, S("x"), &a), 1);
	CHECK_EQ(trie_add_owner(&t, S("xy"), &a), 1);
	CHECK_EQ(trie_add_owner(&t, S("xy"), &b), 0);
	CHECK_EQ(trie_add_owner(&t, S(""), &a), 1);
	CHECK_EQ(trie_add_owner(&t, S("z"), &b), 1);
	struct collect c;
	memset(&c, 0, sizeof c);
	trie_rm_owner_all(&t, &a, collect_fn, &c, true); /* only topics a was last on */
	CHECK_STR(c.buf, ";x;");
	struct owners_seen s = {.n = 0};
	trie_match(&t, S("xyz"), seen_fn, &s);
	CHECK_EQ(s.n, 1);
	CHECK_EQ(count_seen(&s, &b), 1);
	memset(&c, 0, sizeof c);
	trie_rm_owner_all(&t, &b, collect_fn, &c, false); /* every topic b had */
	CHECK_STR(c.buf, "xy;z;");
	s.n = 0;
	trie_match(&t, S("xyz"), seen_fn, &s);
	CHECK_EQ(s.n, 0);
	trie_fini(&t);
}

static void
test_many_owners_stay_sorted(void)
{
	struct trie t;
	trie_init(&t);
	static char owners[1000];
	for (int i = 0; i < 1000; i++) {
		int k = (i * 389) % 1000; /* a permutation */
		CHECK_EQ(trie_add_owner(&t, S("p"), &owners[k]), i == 0);
	}
	for (int i = 0; i < 1000; i += 3)
		CHECK_EQ(trie_rm_owner(&t, S("p"), &owners[i]), 0);
	for (int i = 0; i < 1000; i++)
		CHECK_EQ(trie_add_owner(&t, S("p"), &owners[i]), 0);
	for (int i = 0; i < 999; i++)
		CHECK_EQ(trie_rm_owner(&t, S("p"), &owners[i]), 0);
	CHECK_EQ(trie_rm_owner(&t, S("p"), &owners[999]), 1);
	trie_fini(&t);
}

/* Allocation failure: each allocation of an addition fails in turn. */

/* oom_add: adds topic (for owner, or counted when owner is NULL) with the nth
 * allocation failing; returns the addition's result and whether anything failed. */
static int
oom_add(struct trie *t, const char *topic, void *owner, long n, bool *failed)
{
	zn_alloc_fail_after(n, 0);
	int rc = owner ? trie_add_owner(t, S(topic), owner) : trie_add(t, S(topic));
	*failed = zn_alloc_failures() > 0;
	zn_alloc_fail_after(0, 0);
	return rc;
}

static void
test_out_of_memory_changes_nothing(void)
{
	static int owner;
	for (int mode = 0; mode < 2; mode++) {
		void *who = mode ? &owner : NULL;
		struct trie t;
		trie_init(&t);
		CHECK(oom_add(&t, "ab", who, 0, &(bool){false}) == 1);
		for (long n = 1;; n++) {
			bool failed;
			int rc = oom_add(&t, "a\x01z\xff\x80long", who, n, &failed);
			if (!failed) {
				CHECK_EQ(rc, 1);
				break;
			}
			CHECK_EQ(rc, -ENOMEM);
			CHECK(trie_check(&t, S("abc")));
			CHECK(!trie_check(&t, S("a\x01z\xff\x80long")));
			CHECK(n < 100);
		}
		CHECK(trie_check(&t, S("a\x01z\xff\x80long")));
		CHECK_STR(walk(&t), "a\x01z\xff\x80long;ab;");
		trie_fini(&t);
	}
}

/* Structure: edges part and join again. */

/* nodes: the trie's node count, after checking its structure. */
static size_t
nodes(const struct trie *t)
{
	size_t n = 0;
	CHECK_EQ(trie_verify(t, &n), 0);
	return n;
}

/* check_abc_state: the trie holds exactly the members of {"abc", "abd", "ab"} whose
 * bits are set in `in` (1, 2, 4), compressed: one node per prefix, plus the root,
 * plus the node where "abc" and "abd" part when "ab" itself is not subscribed. */
static void
check_abc_state(struct trie *t, unsigned in, bool per_owner, void *owner)
{
	bool abc = in & 1, abd = in & 2, ab = in & 4;
	size_t want = 1 + abc + abd + ab + (abc && abd && !ab);
	CHECK_EQ(nodes(t), want);
	char expect[32] = "";
	if (ab)
		strcat(expect, "ab;");
	if (abc)
		strcat(expect, "abc;");
	if (abd)
		strcat(expect, "abd;");
	CHECK_STR(walk(t), expect);
	if (per_owner) {
		struct owners_seen s = {.n = 0};
		trie_match(t, S("abcz"), seen_fn, &s);
		CHECK_EQ(s.n, abc + ab);
		CHECK_EQ(count_seen(&s, owner), abc + ab);
		s.n = 0;
		trie_match(t, S("abd"), seen_fn, &s);
		CHECK_EQ(s.n, abd + ab);
		s.n = 0;
		trie_match(t, S("ab"), seen_fn, &s);
		CHECK_EQ(s.n, ab);
		s.n = 0;
		trie_match(t, S("a"), seen_fn, &s);
		CHECK_EQ(s.n, 0);
	} else {
		CHECK_EQ(trie_check(t, S("abcz")), abc || ab);
		CHECK_EQ(trie_check(t, S("abd")), abd || ab);
		CHECK_EQ(trie_check(t, S("abx")), ab);
		CHECK_EQ(trie_check(t, S("ab")), ab);
		CHECK(!trie_check(t, S("a")));
		CHECK(!trie_check(t, S("b")));
	}
}

static void
test_splits_and_merges_in_every_order(void)
{
	static const char *topics[3] = {"abc", "abd", "ab"};
	static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
	                                {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	static int owner;
	for (int mode = 0; mode < 2; mode++) {
		for (int add = 0; add < 6; add++) {
			for (int rm = 0; rm < 6; rm++) {
				struct trie t;
				trie_init(&t);
				unsigned in = 0;
				for (int i = 0; i < 3; i++) {
					int k = perms[add][i];
					int rc = mode ? trie_add_owner(&t, S(topics[k]),
					                               &owner)
					              : trie_add(&t, S(topics[k]));
					CHECK_EQ(rc, 1);
					in |= 1u << k;
					check_abc_state(&t, in, mode, &owner);
				}
				for (int i = 0; i < 3; i++) {
					int k = perms[rm][i];
					int rc = mode ? trie_rm_owner(&t, S(topics[k]),
					                              &owner)
					              : trie_rm(&t, S(topics[k]));
					CHECK_EQ(rc, 1);
					in &= ~(1u << k);
					check_abc_state(&t, in, mode, &owner);
				}
				trie_fini(&t);
			}
		}
	}
}

static void
test_owners_across_splits(void)
{
	struct trie t;
	trie_init(&t);
	int a, b, c;
	CHECK_EQ(trie_add_owner(&t, S("abcdef"), &a), 1);
	CHECK_EQ(trie_add_owner(&t, S("abc"), &b), 1); /* parts "abcdef"'s edge */
	CHECK_EQ(trie_add_owner(&t, S("abx"), &c), 1); /* and "abc"'s */
	CHECK_EQ(trie_add_owner(&t, S("abc"), &a), 0);
	CHECK_EQ(nodes(&t), 5); /* root, "ab", "abc", "abcdef", "abx" */
	struct owners_seen s = {.n = 0};
	trie_match(&t, S("abcdefg"), seen_fn, &s);
	CHECK_EQ(s.n, 3);
	CHECK_EQ(count_seen(&s, &a), 2);
	CHECK_EQ(count_seen(&s, &b), 1);
	s.n = 0;
	trie_match(&t, S("abcde"), seen_fn, &s); /* ends inside "abcdef"'s edge */
	CHECK_EQ(s.n, 2);
	CHECK_EQ(count_seen(&s, &c), 0);
	s.n = 0;
	trie_match(&t, S("abxabcdef"), seen_fn, &s);
	CHECK_EQ(s.n, 1);
	CHECK_EQ(count_seen(&s, &c), 1);
	/* a leaves "abc" to b and "abcdef" to nobody. */
	struct collect col;
	memset(&col, 0, sizeof col);
	trie_rm_owner_all(&t, &a, collect_fn, &col, true);
	CHECK_STR(col.buf, "abcdef;");
	CHECK_EQ(nodes(&t), 4);                       /* root, "ab", "abc", "abx" */
	CHECK_EQ(trie_rm_owner(&t, S("abx"), &c), 1); /* "ab" joins "abc" again */
	CHECK_EQ(nodes(&t), 2);
	CHECK_STR(walk(&t), "abc;");
	s.n = 0;
	trie_match(&t, S("abcdefg"), seen_fn, &s);
	CHECK_EQ(s.n, 1);
	CHECK_EQ(count_seen(&s, &b), 1);
	CHECK_EQ(trie_rm_owner(&t, S("ab"), &b), -ENOENT);
	CHECK_EQ(trie_rm_owner(&t, S("abcd"), &b), -ENOENT);
	CHECK_EQ(trie_rm_owner(&t, S("abc"), &b), 1);
	CHECK_EQ(nodes(&t), 1);
	trie_fini(&t);
}

/* A long prefix costs its bytes once. */

static void
test_long_prefix_costs_its_bytes(void)
{
	const size_t n = 1u << 20;
	uint8_t *topic = malloc(n + 1);
	CHECK(topic);
	for (size_t i = 0; i <= n; i++)
		topic[i] = (uint8_t)('a' + i % 26);
	static int owner;
	for (int mode = 0; mode < 2; mode++) {
		struct trie t;
		trie_init(&t);
		/* Allocations: the root, its children, the node, an owner set; none per
		 * byte. */
		long heap0 = heap_kib();
		zn_alloc_fail_after(LONG_MAX, 0);
		int rc = mode ? trie_add_owner(&t, topic, n, &owner)
		              : trie_add(&t, topic, n);
		long calls = zn_alloc_calls();
		zn_alloc_fail_after(0, 0);
		CHECK_EQ(rc, 1);
		CHECK(calls <= 4);
		long held = heap_kib() - heap0; /* 0 where mallinfo2 is not there */
		printf("     %s: a %zu-byte prefix: %ld allocations, %ld KiB\n",
		       mode ? "per owner" : "counted", n, calls, held);
		CHECK(held <= (long)(n + n / 8) / 1024);
		CHECK(trie_check(&t, topic, n + 1));
		CHECK(!trie_check(&t, topic, n - 1));
		/* A prefix one byte shorter parts the edge: its node holds its own bytes,
		 * and the two cost at most what they were (2n - 1 bytes). */
		rc = mode ? trie_add_owner(&t, topic, n - 1, &owner)
		          : trie_add(&t, topic, n - 1);
		CHECK_EQ(rc, 1);
		held = heap_kib() - heap0;
		CHECK(held <= (long)(2 * n + n / 8) / 1024);
		CHECK_EQ(nodes(&t), 3);
		rc = mode ? trie_rm_owner(&t, topic, n, &owner) : trie_rm(&t, topic, n);
		CHECK_EQ(rc, 1);
		CHECK_EQ(nodes(&t), 2);
		CHECK(trie_check(&t, topic, n - 1));
		rc = mode ? trie_rm_owner(&t, topic, n - 1, &owner)
		          : trie_rm(&t, topic, n - 1);
		CHECK_EQ(rc, 1);
		CHECK_EQ(nodes(&t), 1);
		CHECK(heap_kib() - heap0 <= 16); /* the root alone */
		trie_fini(&t);
	}
	free(topic);
}

/* Random operations against a plain model: a list of prefixes with counts and owners. */

#define R_OWNERS 6
#define R_MAXLEN 7
#define R_MAX    8192

struct r_entry {
	uint8_t b[R_MAXLEN];
	size_t len;
	uint32_t count;  /* counted use */
	unsigned owners; /* per-owner use: a bit per owner */
};

struct r_model {
	struct r_entry e[R_MAX];
	int n;
};

static uint64_t r_state;

static uint32_t
r_next(void)
{
	r_state ^= r_state << 13;
	r_state ^= r_state >> 7;
	r_state ^= r_state << 17;
	return (uint32_t)(r_state >> 11);
}

/* r_bytes: a short string over a small alphabet (so prefixes meet and part often),
 * with 0x00 and 0xff for the ends of the byte order. */
static size_t
r_bytes(uint8_t *b, size_t max)
{
	static const uint8_t alphabet[] = {'a', 'b', 'c', 0x00, 0xff};
	size_t len = r_next() % (max + 1);
	if (r_next() % 2)
		len = len / 2; /* short ones more often */
	for (size_t i = 0; i < len; i++)
		b[i] = alphabet[r_next() % (r_next() % 4 ? 3 : sizeof alphabet)];
	return len;
}

/* r_cmp: trie_apply's order (bytes unsigned, a prefix before what extends it). */
static int
r_cmp(const void *pa, const void *pb)
{
	const struct r_entry *a = pa, *b = pb;
	size_t min = a->len < b->len ? a->len : b->len;
	int c = min ? memcmp(a->b, b->b, min) : 0;
	if (c)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

static struct r_entry *
r_find(struct r_model *m, const uint8_t *b, size_t len)
{
	for (int i = 0; i < m->n; i++)
		if (m->e[i].len == len && (len == 0 || memcmp(m->e[i].b, b, len) == 0))
			return &m->e[i];
	return NULL;
}

static struct r_entry *
r_get(struct r_model *m, const uint8_t *b, size_t len)
{
	struct r_entry *e = r_find(m, b, len);
	if (e)
		return e;
	CHECK(m->n < R_MAX);
	e = &m->e[m->n++];
	memset(e, 0, sizeof *e);
	memcpy(e->b, b, len);
	e->len = len;
	return e;
}

/* r_drop: forgets entries with nothing left. */
static void
r_drop(struct r_model *m)
{
	int k = 0;
	for (int i = 0; i < m->n; i++)
		if (m->e[i].count || m->e[i].owners)
			m->e[k++] = m->e[i];
	m->n = k;
}

static bool
r_is_prefix(const struct r_entry *e, const uint8_t *msg, size_t size)
{
	return e->len <= size && (e->len == 0 || memcmp(e->b, msg, e->len) == 0);
}

/* A growing list of hex prefixes, for comparing walks of any size. */
struct r_list {
	char buf[R_MAX * (2 * R_MAXLEN + 1) + 1];
	size_t len;
};

static void
r_list_add(struct r_list *l, const uint8_t *b, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < len && l->len + 3 < sizeof l->buf; i++) {
		l->buf[l->len++] = hex[b[i] >> 4];
		l->buf[l->len++] = hex[b[i] & 15];
	}
	if (l->len + 1 < sizeof l->buf)
		l->buf[l->len++] = ';';
	l->buf[l->len] = '\0';
}

static int
r_list_fn(const uint8_t *prefix, size_t len, void *arg)
{
	r_list_add(arg, prefix, len);
	return 0;
}

static struct r_list r_got, r_want;

/* r_compare_walk: trie_apply lists the model's prefixes, sorted. */
static void
r_compare_walk(struct trie *t, struct r_model *m)
{
	r_drop(m);
	qsort(m->e, (size_t)m->n, sizeof m->e[0], r_cmp);
	r_got.len = r_want.len = 0;
	r_got.buf[0] = r_want.buf[0] = '\0';
	CHECK_EQ(trie_apply(t, r_list_fn, &r_got), 0);
	for (int i = 0; i < m->n; i++)
		r_list_add(&r_want, m->e[i].b, m->e[i].len);
	CHECK_STR(r_got.buf, r_want.buf);
}

static char r_owner[R_OWNERS];

static void
r_count_fn(void *owner, void *arg)
{
	int *counts = arg;
	CHECK((char *)owner >= r_owner && (char *)owner < r_owner + R_OWNERS);
	counts[(char *)owner - r_owner]++;
}

/* r_step_counted: one random operation of the counted use, checked against m. Some
 * additions run with an allocation failing: then nothing changes. */
static void
r_step_counted(struct trie *t, struct r_model *m)
{
	uint8_t b[R_MAXLEN + 3];
	unsigned op = r_next() % 100;
	if (op < 40) {
		size_t len = r_bytes(b, R_MAXLEN);
		bool oom = r_next() % 8 == 0;
		if (oom)
			zn_alloc_fail_after(1 + r_next() % 4, (int)(r_next() % 2));
		int rc = trie_add(t, b, len);
		if (oom)
			zn_alloc_fail_after(0, 0);
		if (rc == -ENOMEM && oom)
			return;
		struct r_entry *e = r_get(m, b, len);
		CHECK_EQ(rc, e->count == 0);
		e->count++;
	} else if (op < 75) {
		size_t len = r_bytes(b, R_MAXLEN);
		struct r_entry *e = r_find(m, b, len);
		int rc = trie_rm(t, b, len);
		if (!e || e->count == 0) {
			CHECK_EQ(rc, -ENOENT);
			return;
		}
		CHECK_EQ(rc, e->count == 1);
		e->count--;
	} else {
		size_t size = r_bytes(b, sizeof b);
		bool want = false;
		for (int i = 0; i < m->n && !want; i++)
			want = m->e[i].count && r_is_prefix(&m->e[i], b, size);
		CHECK_EQ(trie_check(t, b, size), want);
	}
}

/* r_step_owners: one random operation of the per-owner use, checked against m. */
static void
r_step_owners(struct trie *t, struct r_model *m)
{
	uint8_t b[R_MAXLEN + 3];
	unsigned op = r_next() % 100;
	int k = (int)(r_next() % R_OWNERS);
	if (op < 40) {
		size_t len = r_bytes(b, R_MAXLEN);
		bool oom = r_next() % 8 == 0;
		if (oom)
			zn_alloc_fail_after(1 + r_next() % 4, (int)(r_next() % 2));
		int rc = trie_add_owner(t, b, len, &r_owner[k]);
		if (oom)
			zn_alloc_fail_after(0, 0);
		if (rc == -ENOMEM && oom)
			return;
		struct r_entry *e = r_get(m, b, len);
		CHECK_EQ(rc, e->owners == 0);
		e->owners |= 1u << k;
	} else if (op < 70) {
		size_t len = r_bytes(b, R_MAXLEN);
		struct r_entry *e = r_find(m, b, len);
		int rc = trie_rm_owner(t, b, len, &r_owner[k]);
		if (!e || !(e->owners & 1u << k)) {
			CHECK_EQ(rc, -ENOENT);
			return;
		}
		e->owners &= ~(1u << k);
		CHECK_EQ(rc, e->owners == 0);
	} else if (op < 71) {
		bool only_last = r_next() % 2;
		r_drop(m);
		qsort(m->e, (size_t)m->n, sizeof m->e[0], r_cmp);
		r_got.len = r_want.len = 0;
		r_got.buf[0] = r_want.buf[0] = '\0';
		for (int i = 0; i < m->n; i++) {
			struct r_entry *e = &m->e[i];
			if (!(e->owners & 1u << k))
				continue;
			e->owners &= ~(1u << k);
			if (!only_last || e->owners == 0)
				r_list_add(&r_want, e->b, e->len);
		}
		trie_rm_owner_all(t, &r_owner[k], r_list_fn, &r_got, only_last);
		CHECK_STR(r_got.buf, r_want.buf);
	} else {
		size_t size = r_bytes(b, sizeof b);
		int got[R_OWNERS] = {0}, want[R_OWNERS] = {0};
		for (int i = 0; i < m->n; i++)
			for (int o = 0; o < R_OWNERS; o++)
				want[o] += r_is_prefix(&m->e[i], b, size) &&
				           (m->e[i].owners & 1u << o);
		trie_match(t, b, size, r_count_fn, got);
		for (int o = 0; o < R_OWNERS; o++)
			CHECK_EQ(got[o], want[o]);
	}
}

static void
test_random_operations_match_a_model(void)
{
	static struct r_model m;
	for (int mode = 0; mode < 2; mode++) {
		r_state = 0x2545f4914f6cdd1dull + (uint64_t)mode;
		m.n = 0;
		struct trie t;
		trie_init(&t);
		for (int i = 0; i < 20000; i++) {
			if (mode)
				r_step_owners(&t, &m);
			else
				r_step_counted(&t, &m);
			CHECK_EQ(trie_verify(&t, NULL), 0);
			if (i % 64 == 0)
				r_compare_walk(&t, &m);
		}
		r_compare_walk(&t, &m);
		printf("     %s: %d prefixes left, %zu nodes\n",
		       mode ? "per owner" : "counted", m.n, nodes(&t));
		trie_fini(&t);
	}
}

/* Allocation failure at every step of each kind of addition. */

/* snapshot: the trie's whole content as text (its prefixes, and per owner what
 * trie_match names for each) and its node count. */
static void
snapshot(struct trie *t, bool per_owner, struct r_list *out, size_t *count)
{
	static struct r_list prefixes;
	prefixes.len = 0;
	prefixes.buf[0] = '\0';
	CHECK_EQ(trie_apply(t, r_list_fn, &prefixes), 0);
	out->len = 0;
	out->buf[0] = '\0';
	/* Each prefix's match, in the walk's order (a match names the owners of every
	 * prefix of the bytes, so the set per prefix follows). */
	const char *p = prefixes.buf;
	while (*p) {
		const char *end = strchr(p, ';');
		uint8_t b[64];
		size_t len = (size_t)(end - p) / 2;
		CHECK(len <= sizeof b);
		for (size_t i = 0; i < len; i++) {
			unsigned v;
			CHECK(sscanf(p + 2 * i, "%2x", &v) == 1);
			b[i] = (uint8_t)v;
		}
		int counts[R_OWNERS] = {0};
		if (per_owner)
			trie_match(t, b, len, r_count_fn, counts);
		r_list_add(out, b, len);
		for (int o = 0; o < R_OWNERS; o++)
			out->len += (size_t)snprintf(out->buf + out->len, 8, "%d,",
			                             counts[o]);
		p = end + 1;
	}
	CHECK_EQ(trie_verify(t, count), 0);
}

static void
test_every_allocation_failure_changes_nothing(void)
{
	/* A base with each shape: a dense node (40 children under "d"), a sparse one
	 * full to its room (4 under "s"), a long edge ("edge-long"), a subscribed node
	 * with one child ("p", "pq"), an owner set full to its room (2 on "o"). */
	static const char *adds[] = {
	        "dZ",         /* a child of the dense node */
	        "sx",         /* the sparse node grows its array */
	        "edge-",      /* ends inside an edge: a split, no leaf */
	        "edge-short", /* parts an edge: a split and a leaf */
	        "p",          /* there already: counted, or a third owner */
	        "o",          /* the owner set grows */
	        "q",          /* a new leaf under the root */
	        "",           /* the root's own subscription */
	        "pqr",        /* a leaf under a one-child node */
	};
	static struct r_list base, now;
	for (int mode = 0; mode < 2; mode++) {
		for (size_t a = 0; a < sizeof adds / sizeof adds[0]; a++) {
			for (int sticky = 0; sticky < 2; sticky++) {
				for (long n = 1;; n++) {
					struct trie t;
					trie_init(&t);
					if (n == 1 && a == 0 && sticky == 0) {
						/* The very first addition, into an empty
						 * trie. */
						zn_alloc_fail_after(1, 0);
						int rc =
						        mode ? trie_add_owner(&t, S("x"),
						                              &r_owner[0])
						             : trie_add(&t, S("x"));
						zn_alloc_fail_after(0, 0);
						CHECK_EQ(rc, -ENOMEM);
						CHECK(!trie_check(&t, S("x")));
						CHECK_EQ(trie_verify(&t, NULL), 0);
					}
					char b[4] = "d";
					for (int i = 0; i < 40; i++) {
						b[1] = (char)('0' + i);
						CHECK(mode ? trie_add_owner(
						                     &t, S(b),
						                     &r_owner[0]) >= 0
						           : trie_add(&t, S(b)) >= 0);
					}
					const char *more[] = {"sa", "sb",        "sc",
					                      "sd", "edge-long", "p",
					                      "pq", "o"};
					for (size_t i = 0;
					     i < sizeof more / sizeof more[0]; i++)
						CHECK(mode ? trie_add_owner(
						                     &t, S(more[i]),
						                     &r_owner[1]) >= 0
						           : trie_add(&t, S(more[i])) >=
						                      0);
					CHECK(!mode || trie_add_owner(&t, S("o"),
					                              &r_owner[2]) == 0);
					size_t count0, count1;
					snapshot(&t, mode, &base, &count0);
					zn_alloc_fail_after(n, sticky);
					int rc = mode ? trie_add_owner(&t, S(adds[a]),
					                               &r_owner[3])
					              : trie_add(&t, S(adds[a]));
					bool failed = zn_alloc_failures() > 0;
					zn_alloc_fail_after(0, 0);
					if (!failed) {
						CHECK(rc >= 0);
						trie_fini(&t);
						break;
					}
					CHECK_EQ(rc, -ENOMEM);
					snapshot(&t, mode, &now, &count1);
					CHECK_STR(now.buf, base.buf);
					CHECK_EQ(count1, count0);
					trie_fini(&t);
					CHECK(n < 10);
				}
			}
		}
	}
}

static const struct test tests[] = {
        {"an empty trie matches nothing", test_empty_trie_matches_nothing},
        {"a prefix matches what starts with it", test_prefix_matching},
        {"the empty prefix matches everything", test_empty_prefix_matches_everything},
        {"duplicate subscriptions are counted", test_duplicates_are_counted},
        {"removal keeps longer and shorter prefixes",
         test_removal_keeps_longer_and_shorter_prefixes},
        {"apply lists each prefix once, in order",
         test_apply_lists_each_prefix_once_in_order},
        {"apply stops at the callback's error", test_apply_stops_at_callback_error},
        {"every byte value, tables growing both ways",
         test_all_byte_values_and_table_growth},
        {"a megabyte topic needs no recursion", test_long_topic_needs_no_recursion},
        {"owner sets match, count once, remove", test_owner_sets},
        {"an owner is removed everywhere", test_owner_removed_everywhere},
        {"a thousand owners on one prefix", test_many_owners_stay_sorted},
        {"out of memory changes nothing", test_out_of_memory_changes_nothing},
        {"edges part and join in every order", test_splits_and_merges_in_every_order},
        {"owners across parted edges", test_owners_across_splits},
        {"a long prefix costs its bytes once", test_long_prefix_costs_its_bytes},
        {"random operations match a plain model", test_random_operations_match_a_model},
        {"every allocation failure changes nothing",
         test_every_allocation_failure_changes_nothing},
        {NULL, NULL},
};

int
main(void)
{
	return test_main(tests);
}
