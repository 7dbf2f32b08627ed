/*
 * trie.c: see trie.h.
 *
 * Invariant: every node but the root has a subscription (refs > 0) or a child
 * (live > 0); whoever breaks it (a removal, a failed addition) prunes the node and the
 * ancestors it leaves empty. A node with one child slot keeps the child pointer in
 * place; wider ranges use a table.
 */
#include "socket/trie.h"
#include "platform/alloc.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

struct trie_node {
	struct trie_node *parent;
	union {
		struct trie_node *one;    /* count == 1 */
		struct trie_node **table; /* count > 1 */
	} next;
	void **owners; /* per-owner use: the owners, sorted by address */
	uint32_t refs; /* counted: subscriptions; per owner: owners in the set */
	uint32_t owners_cap;
	uint16_t count; /* child slots, for the bytes [min, min + count) */
	uint16_t live;  /* children present; count is 0 when live is */
	uint8_t min;
	uint8_t byte; /* the last byte of this node's prefix */
};

void
trie_init(struct trie *t)
{
	t->root = NULL;
	t->prefix = NULL;
	t->prefix_cap = 0;
}

/* Children. */

static struct trie_node **
node_slot(struct trie_node *n, unsigned i)
{
	return n->count == 1 ? &n->next.one : &n->next.table[i];
}

static struct trie_node *
node_child(const struct trie_node *n, uint8_t c)
{
	if (n->count == 0 || c < n->min || c - n->min >= n->count)
		return NULL;
	return n->count == 1 ? n->next.one : n->next.table[c - n->min];
}

/* node_first_child: the first child in slot from or after it, or NULL. */
static struct trie_node *
node_first_child(struct trie_node *n, unsigned from)
{
	for (unsigned i = from; i < n->count; i++) {
		struct trie_node *ch = *node_slot(n, i);
		if (ch)
			return ch;
	}
	return NULL;
}

/* node_add_child: links ch (new, byte c) under n, widening the table if c is out of
 * its range. 0 or -ENOMEM (nothing changed). */
static int
node_add_child(struct trie_node *n, uint8_t c, struct trie_node *ch)
{
	if (n->count == 0) {
		n->min = c;
		n->count = 1;
		n->next.one = ch;
	} else if (c >= n->min && c - n->min < n->count) {
		*node_slot(n, (unsigned)(c - n->min)) = ch;
	} else {
		unsigned lo = c < n->min ? c : n->min;
		unsigned hi = c > n->min + n->count - 1u ? c : n->min + n->count - 1u;
		unsigned count = hi - lo + 1;
		struct trie_node **table = zn_calloc(count, sizeof *table);
		if (!table)
			return -ENOMEM;
		unsigned shift = n->min - lo;
		if (n->count == 1) {
			table[shift] = n->next.one;
		} else {
			memcpy(table + shift, n->next.table, n->count * sizeof *table);
			zn_free(n->next.table);
		}
		table[c - lo] = ch;
		n->next.table = table;
		n->min = (uint8_t)lo;
		n->count = (uint16_t)count;
	}
	n->live++;
	ch->parent = n;
	ch->byte = c;
	return 0;
}

/* node_remove_child: unlinks n's child for byte c (which exists). */
static void
node_remove_child(struct trie_node *n, uint8_t c)
{
	*node_slot(n, (unsigned)(c - n->min)) = NULL;
	if (--n->live == 0) {
		if (n->count > 1)
			zn_free(n->next.table);
		n->next.one = NULL;
		n->count = 0;
	}
}

static void
node_free(struct trie_node *n)
{
	if (n->count > 1)
		zn_free(n->next.table);
	zn_free(n->owners);
	zn_free(n);
}

/* trie_prune: frees n and each ancestor it leaves with nothing (never the root). */
static void
trie_prune(struct trie *t, struct trie_node *n)
{
	while (n != t->root && n->refs == 0 && n->live == 0) {
		struct trie_node *p = n->parent;
		node_remove_child(p, n->byte);
		node_free(n);
		n = p;
	}
}

/* trie_depth: the longest prefix in the trie, by a walk that needs no scratch. */
static size_t
trie_depth(struct trie *t)
{
	struct trie_node *n = t->root;
	size_t depth = 0, max = 0;
	unsigned from = 0;
	while (n) {
		struct trie_node *ch = node_first_child(n, from);
		if (ch) {
			n = ch;
			from = 0;
			if (++depth > max)
				max = depth;
			continue;
		}
		if (n == t->root)
			break;
		from = (unsigned)(n->byte - n->parent->min) + 1;
		n = n->parent;
		depth--;
	}
	return max;
}

/* trie_shrink_scratch: the walks' scratch has room for the longest prefix ever added;
 * when a removal of `len` bytes may have taken that one, it shrinks to the longest
 * left, so that a peer's one long subscription is not held after it is cancelled.
 * Small scratches stay. */
static void
trie_shrink_scratch(struct trie *t, size_t len)
{
	if (t->prefix_cap <= 4096 || len < t->prefix_cap / 2)
		return;
	size_t depth = trie_depth(t);
	if (depth >= t->prefix_cap / 2)
		return;
	if (depth == 0) {
		zn_free(t->prefix);
		t->prefix = NULL;
		t->prefix_cap = 0;
		return;
	}
	uint8_t *buf = zn_realloc(t->prefix, depth);
	if (buf) { /* else the larger one stays: still correct */
		t->prefix = buf;
		t->prefix_cap = depth;
	}
}

/* trie_find: the node of prefix exactly, or NULL. */
static struct trie_node *
trie_find(const struct trie *t, const uint8_t *prefix, size_t len)
{
	struct trie_node *n = t->root;
	for (size_t i = 0; n && i < len; i++)
		n = node_child(n, prefix[i]);
	return n;
}

/* trie_make: the node of prefix, created with its missing ancestors. 0 or -ENOMEM
 * (nothing changed). A new node has refs 0: the caller gives it a subscription or
 * prunes it. */
static int
trie_make(struct trie *t, const uint8_t *prefix, size_t len, struct trie_node **out)
{
	if (len > t->prefix_cap) {
		uint8_t *buf = zn_realloc(t->prefix, len);
		if (!buf)
			return -ENOMEM;
		t->prefix = buf;
		t->prefix_cap = len;
	}
	if (!t->root && !(t->root = zn_calloc(1, sizeof *t->root)))
		return -ENOMEM;
	struct trie_node *n = t->root;
	for (size_t i = 0; i < len; i++) {
		struct trie_node *ch = node_child(n, prefix[i]);
		if (!ch) {
			ch = zn_calloc(1, sizeof *ch);
			if (!ch || node_add_child(n, prefix[i], ch) < 0) {
				zn_free(ch);
				trie_prune(t, n);
				return -ENOMEM;
			}
		}
		n = ch;
	}
	*out = n;
	return 0;
}

/*
 * trie_walk: visits every node depth first, each before its children, with
 * t->prefix holding its prefix. visit returns < 0 to stop (trie_walk returns that).
 * On the way back up a node left empty is freed, or every node with free_all.
 */
typedef int trie_visit(struct trie_node *n, size_t depth, struct trie *t, void *arg);

static int
trie_walk(struct trie *t, trie_visit *visit, void *arg, bool free_all)
{
	struct trie_node *n = t->root;
	if (!n)
		return 0;
	size_t depth = 0;
	int rc = visit ? visit(n, 0, t, arg) : 0;
	unsigned from = 0;
	while (rc >= 0) {
		struct trie_node *ch = node_first_child(n, from);
		if (ch) {
			t->prefix[depth++] = ch->byte;
			n = ch;
			from = 0;
			rc = visit ? visit(n, depth, t, arg) : 0;
			continue;
		}
		if (n == t->root)
			break;
		struct trie_node *p = n->parent;
		from = (unsigned)(n->byte - p->min) + 1;
		if (free_all || (n->refs == 0 && n->live == 0)) {
			node_remove_child(p, n->byte);
			node_free(n);
		}
		n = p;
		depth--;
	}
	return rc;
}

void
trie_fini(struct trie *t)
{
	if (t->root) {
		/* Children first (freed on the way up), then the root. */
		trie_walk(t, NULL, NULL, true);
		node_free(t->root);
	}
	zn_free(t->prefix);
	trie_init(t);
}

/* Counted use. */

int
trie_add(struct trie *t, const void *prefix, size_t len)
{
	struct trie_node *n;
	int rc = trie_make(t, prefix, len, &n);
	if (rc < 0)
		return rc;
	if (n->refs == UINT32_MAX)
		return 0; /* four billion copies of one subscription: count no further */
	return ++n->refs == 1;
}

int
trie_rm(struct trie *t, const void *prefix, size_t len)
{
	struct trie_node *n = trie_find(t, prefix, len);
	if (!n || n->refs == 0)
		return -ENOENT;
	if (--n->refs > 0)
		return 0;
	trie_prune(t, n);
	trie_shrink_scratch(t, len);
	return 1;
}

bool
trie_check(const struct trie *t, const void *data, size_t size)
{
	const uint8_t *d = data;
	const struct trie_node *n = t->root;
	for (size_t i = 0; n; i++) {
		if (n->refs > 0)
			return true;
		if (i == size)
			break;
		n = node_child(n, d[i]);
	}
	return false;
}

struct apply_ctx {
	trie_fn *fn;
	void *arg;
};

static int
apply_visit(struct trie_node *n, size_t depth, struct trie *t, void *arg)
{
	struct apply_ctx *a = arg;
	if (n->refs == 0)
		return 0;
	return a->fn(depth ? t->prefix : NULL, depth, a->arg);
}

int
trie_apply(struct trie *t, trie_fn *fn, void *arg)
{
	struct apply_ctx a = {fn, arg};
	return trie_walk(t, apply_visit, &a, false);
}

/* Per-owner use. */

/* owners_find: true when owner is in n's set; *pos is its place, or where it goes. */
static bool
owners_find(const struct trie_node *n, void *owner, uint32_t *pos)
{
	uint32_t lo = 0, hi = n->refs;
	uintptr_t key = (uintptr_t)owner;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uintptr_t v = (uintptr_t)n->owners[mid];
		if (v == key) {
			*pos = mid;
			return true;
		}
		if (v < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return false;
}

static void
owners_erase(struct trie_node *n, uint32_t pos)
{
	n->refs--;
	memmove(n->owners + pos, n->owners + pos + 1,
	        (n->refs - pos) * sizeof *n->owners);
	if (n->refs == 0) {
		zn_free(n->owners);
		n->owners = NULL;
		n->owners_cap = 0;
	}
}

int
trie_add_owner(struct trie *t, const void *prefix, size_t len, void *owner)
{
	struct trie_node *n;
	int rc = trie_make(t, prefix, len, &n);
	if (rc < 0)
		return rc;
	uint32_t pos;
	if (owners_find(n, owner, &pos))
		return 0;
	if (n->refs == n->owners_cap) {
		uint32_t cap = n->owners_cap ? n->owners_cap * 2 : 1;
		void **owners = cap > n->owners_cap
		                        ? zn_realloc(n->owners, cap * sizeof *owners)
		                        : NULL;
		if (!owners) {
			trie_prune(t, n);
			return -ENOMEM;
		}
		n->owners = owners;
		n->owners_cap = cap;
	}
	memmove(n->owners + pos + 1, n->owners + pos,
	        (n->refs - pos) * sizeof *n->owners);
	n->owners[pos] = owner;
	return ++n->refs == 1;
}

int
trie_rm_owner(struct trie *t, const void *prefix, size_t len, void *owner)
{
	struct trie_node *n = trie_find(t, prefix, len);
	uint32_t pos;
	if (!n || !owners_find(n, owner, &pos))
		return -ENOENT;
	owners_erase(n, pos);
	if (n->refs > 0)
		return 0;
	trie_prune(t, n);
	trie_shrink_scratch(t, len);
	return 1;
}

void
trie_match(const struct trie *t, const void *data, size_t size, trie_owner_fn *fn,
           void *arg)
{
	const uint8_t *d = data;
	const struct trie_node *n = t->root;
	for (size_t i = 0; n; i++) {
		for (uint32_t k = 0; k < n->refs; k++)
			fn(n->owners[k], arg);
		if (i == size)
			break;
		n = node_child(n, d[i]);
	}
}

struct rm_all_ctx {
	void *owner;
	trie_fn *fn;
	void *arg;
	bool only_last;
};

static int
rm_all_visit(struct trie_node *n, size_t depth, struct trie *t, void *arg)
{
	struct rm_all_ctx *r = arg;
	uint32_t pos;
	if (!owners_find(n, r->owner, &pos))
		return 0;
	owners_erase(n, pos);
	if (r->fn && (!r->only_last || n->refs == 0))
		r->fn(depth ? t->prefix : NULL, depth, r->arg);
	return 0; /* the walk frees n on its way up if it is left empty */
}

void
trie_rm_owner_all(struct trie *t, void *owner, trie_fn *fn, void *arg, bool only_last)
{
	struct rm_all_ctx r = {owner, fn, arg, only_last};
	trie_walk(t, rm_all_visit, &r, false);
	trie_shrink_scratch(t, t->prefix_cap);
}
