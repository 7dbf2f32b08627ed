/*
 * test_trie.c: the subscription trie (src/socket/trie.h) on its own: counted prefixes
 * (SUB) and owner sets (PUB), pruning, walks over long topics, and allocation failure
 * at every step of an addition leaving the trie as it was. Leaks show under valgrind
 * and ASan.
 */
#include <stdbool.h>
#include <stdint.h>

#include "testutil.h"
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
        {NULL, NULL},
};

int
main(void)
{
	return test_main(tests);
}
