/*
 * trie.h: the prefix trie of subscriptions (DESIGN.md "sockets"). One trie serves one
 * of two uses, never both:
 *
 *   counted (SUB, XSUB)   each prefix carries how many times it was subscribed;
 *                         trie_check says whether a message starts with any of them.
 *   per owner (PUB, XPUB) each prefix carries the set of owners (pipes) subscribed to
 *                         it; trie_match names every owner of every prefix of a
 *                         message.
 *
 * A node per byte of prefix, its children in a table covering the bytes [min,
 * min + count), so a look-up costs O(prefix length). Every walk is a loop (children
 * lead down, parent pointers lead back up), so a long topic costs no stack. Nodes
 * left with no subscription and no child are freed at once.
 *
 * Errors: additions may fail with -ENOMEM and then change nothing; removals,
 * matches and walks never allocate and never fail.
 *
 * Threads: the owning socket's thread only.
 */
#ifndef ZINC_SOCKET_TRIE_H
#define ZINC_SOCKET_TRIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct trie_node;

struct trie {
	struct trie_node *root; /* NULL until the first addition */
	uint8_t *prefix;        /* scratch for walks: room for the longest prefix added */
	size_t prefix_cap;
};

/* trie_fn: called with one subscribed prefix (prefix may be NULL when len is 0).
 * The bytes are valid during the call only; the callback must not change the trie. */
typedef int trie_fn(const uint8_t *prefix, size_t len, void *arg);
/* trie_owner_fn: called with one owner of a matching prefix. */
typedef void trie_owner_fn(void *owner, void *arg);

void trie_init(struct trie *t);
/* trie_fini: frees every node; the trie is empty (and usable) again. */
void trie_fini(struct trie *t);

/* Counted use. */

/* trie_add: counts one more subscription to prefix. 1 when it is the first, 0 when it
 * was there already (the count grows), -ENOMEM (nothing changed). */
int trie_add(struct trie *t, const void *prefix, size_t len);
/* trie_rm: counts one subscription to prefix less. 1 when that was the last one (the
 * prefix is gone), 0 when others remain, -ENOENT when it was not subscribed. */
int trie_rm(struct trie *t, const void *prefix, size_t len);
/* trie_check: true when data starts with a subscribed prefix. */
bool trie_check(const struct trie *t, const void *data, size_t size);
/* trie_apply: calls fn once per subscribed prefix (whatever its count), in byte
 * order, shortest first. Stops at fn's first negative return and returns it; else 0. */
int trie_apply(struct trie *t, trie_fn *fn, void *arg);

/* Per-owner use. */

/* trie_add_owner: subscribes owner to prefix (a set: subscribing twice is once). 1
 * when prefix had no owner before, 0 otherwise, -ENOMEM (nothing changed). */
int trie_add_owner(struct trie *t, const void *prefix, size_t len, void *owner);
/* trie_rm_owner: unsubscribes owner from prefix. 1 when it was the prefix's last
 * owner, 0 when others remain, -ENOENT when owner was not subscribed to it. */
int trie_rm_owner(struct trie *t, const void *prefix, size_t len, void *owner);
/* trie_match: calls fn for each owner of each subscribed prefix of data (an owner
 * subscribed to several of them is named once per prefix). */
void trie_match(const struct trie *t, const void *data, size_t size, trie_owner_fn *fn,
                void *arg);
/* trie_rm_owner_all: unsubscribes owner from everything. fn (may be NULL) is called
 * for each prefix the owner had, or with only_last for those that lost their last
 * owner; its return value is ignored. */
void trie_rm_owner_all(struct trie *t, void *owner, trie_fn *fn, void *arg,
                       bool only_last);

#endif
