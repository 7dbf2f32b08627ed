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
 * A radix (path-compressed) trie: a node stands where a subscribed prefix ends or
 * where prefixes part, and the edge into it carries all the bytes in between. Each
 * node holds its whole prefix inline, in the node's one allocation: a subscription of
 * n bytes costs n bytes and a node, whatever n; a node where prefixes part holds its
 * own copy of their common head (at most doubling the bytes stored: never more than
 * twice the subscriptions' own bytes). Holding the whole prefix lets a node take over
 * its parent's edge without allocating, and lets walks hand out each prefix without
 * a scratch buffer. Children sit in a sorted array of first bytes, or a table of 256
 * once a node has many. Matching a message compares each of its bytes at most once:
 * O(message length), no allocation. Every walk is a loop (children lead down, parent
 * pointers lead back up), so a long topic costs no stack. A node left with no
 * subscription is freed at once when it has no child, and merged into its child when
 * it has one, so the trie stays compressed.
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

/* Tests. */

/* trie_verify: checks the trie's structure (links, order of children, each node's
 * prefix extending its parent's, no node without a subscription and with fewer than
 * two children but the root, owner sets sorted). Stores the number of nodes, the root
 * included, in *nodes when not NULL. 0, or -EINVAL at the first thing wrong. */
int trie_verify(const struct trie *t, size_t *nodes);

#endif
