/*
 * trie.c: see trie.h.
 *
 * A node's prefix is key[0, depth); the edge from its parent carries the last `len`
 * bytes of it, key[depth - len, depth), so its first byte (the one its parent files it
 * under) is key[depth - len]. The root has depth 0 and len 0.
 *
 * Invariant: every node but the root has a subscription (refs > 0) or two children;
 * whoever breaks it (a removal, a failed addition) calls trie_tidy, which frees a node
 * left with nothing and merges a node left with one child into that child. The merge
 * needs no allocation because the child's key already holds the whole prefix: it only
 * lengthens the child's edge and puts the child in the parent's slot. This is why each
 * node keeps its whole prefix rather than its edge alone (which would need the two
 * edges joined in a new allocation, so that a removal could fail): the price is that
 * prefixes sharing a head store it once each, bounded by twice the bytes of the
 * subscriptions themselves.
 *
 * Children: up to TRIE_SPARSE_MAX in one allocation of `kcap` pointers followed by
 * their `kcap` first bytes, both sorted by byte; past that a table of 256 pointers
 * indexed by byte (kcap == TRIE_DENSE). Removing a child never reallocates: the array
 * keeps its room, and is freed when the last child goes.
 */
#include "socket/trie.h"
#include "platform/alloc.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TRIE_SPARSE_MAX 32
#define TRIE_DENSE      256

struct trie_node {
	struct trie_node *parent;
	struct trie_node **kids; /* see above; NULL when nkids is 0 */
	void **owners;           /* per-owner use: the owners, sorted by address */
	size_t depth;            /* bytes of the prefix */
	size_t len;              /* bytes of the edge into this node (0 for the root) */
	uint32_t refs; /* counted: subscriptions; per owner: owners in the set */
	uint32_t owners_cap;
	uint16_t nkids;
	uint16_t kcap;
	uint8_t key[]; /* the prefix, depth bytes */
};

void
trie_init(struct trie *t)
{
	t->root = NULL;
}

/* Nodes. */

static struct trie_node *
node_new(const uint8_t *key, size_t depth, size_t len)
{
	struct trie_node *n = zn_malloc(offsetof(struct trie_node, key) + depth);
	if (!n)
		return NULL;
	memset(n, 0, offsetof(struct trie_node, key));
	if (depth)
		memcpy(n->key, key, depth);
	n->depth = depth;
	n->len = len;
	return n;
}

static void
node_free(struct trie_node *n)
{
	zn_free(n->kids);
	zn_free(n->owners);
	zn_free(n);
}

/* node_byte: the first byte of n's edge, the one its parent files it under. */
static inline uint8_t
node_byte(const struct trie_node *n)
{
	return n->key[n->depth - n->len];
}

/* Children. */

static inline uint8_t *
kids_bytes(const struct trie_node *n)
{
	/* A node without children has no array: no arithmetic on NULL (it is undefined
	 * even for an offset of 0). */
	return n->kids ? (uint8_t *)(n->kids + n->kcap) : NULL;
}

/* kids_lower: the index of the first sparse child with a byte >= c (nkids if none). */
static inline unsigned
kids_lower(const struct trie_node *n, unsigned c)
{
	const uint8_t *b = kids_bytes(n);
	unsigned lo = 0, hi = n->nkids;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (b[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* node_slot: where n keeps its child for byte c, or NULL when it has none. */
static inline struct trie_node **
node_slot(const struct trie_node *n, uint8_t c)
{
	if (n->kcap == TRIE_DENSE)
		return n->kids[c] ? &n->kids[c] : NULL;
	unsigned i = kids_lower(n, c);
	return i < n->nkids && kids_bytes(n)[i] == c ? &n->kids[i] : NULL;
}

static inline struct trie_node *
node_child(const struct trie_node *n, uint8_t c)
{
	if (n->kcap == TRIE_DENSE)
		return n->kids[c];
	const uint8_t *b = kids_bytes(n);
	if (n->nkids <= 8) { /* the common case: a scan beats the search */
		for (unsigned i = 0; i < n->nkids; i++)
			if (b[i] >= c)
				return b[i] == c ? n->kids[i] : NULL;
		return NULL;
	}
	unsigned i = kids_lower(n, c);
	return i < n->nkids && b[i] == c ? n->kids[i] : NULL;
}

/* node_next_child: n's first child with a byte >= from (from may be 256), or NULL. */
static struct trie_node *
node_next_child(const struct trie_node *n, unsigned from)
{
	if (n->kcap == TRIE_DENSE) {
		for (unsigned c = from; c < 256; c++)
			if (n->kids[c])
				return n->kids[c];
		return NULL;
	}
	unsigned i = kids_lower(n, from);
	return i < n->nkids ? n->kids[i] : NULL;
}

/* node_reserve: room in n for one more child. 0 or -ENOMEM (n unchanged). */
static int
node_reserve(struct trie_node *n)
{
	if (n->kcap == TRIE_DENSE || n->nkids < n->kcap)
		return 0;
	unsigned cap = n->kcap ? 2u * n->kcap : 2u;
	if (cap > TRIE_SPARSE_MAX) {
		struct trie_node **table = zn_calloc(TRIE_DENSE, sizeof *table);
		if (!table)
			return -ENOMEM;
		for (unsigned i = 0; i < n->nkids; i++)
			table[kids_bytes(n)[i]] = n->kids[i];
		zn_free(n->kids);
		n->kids = table;
		n->kcap = TRIE_DENSE;
		return 0;
	}
	struct trie_node **kids = zn_malloc(cap * (sizeof *kids + 1));
	if (!kids)
		return -ENOMEM;
	if (n->nkids) {
		memcpy(kids, n->kids, n->nkids * sizeof *kids);
		memcpy(kids + cap, kids_bytes(n), n->nkids);
	}
	zn_free(n->kids);
	n->kids = kids;
	n->kcap = (uint16_t)cap;
	return 0;
}

/* node_link: files ch under n (which has room, see node_reserve, and no child for ch's
 * byte). */
static void
node_link(struct trie_node *n, struct trie_node *ch)
{
	uint8_t c = node_byte(ch);
	ch->parent = n;
	if (n->kcap == TRIE_DENSE) {
		n->kids[c] = ch;
		n->nkids++;
		return;
	}
	unsigned i = kids_lower(n, c);
	unsigned after = n->nkids - i;
	uint8_t *b = kids_bytes(n);
	memmove(n->kids + i + 1, n->kids + i, after * sizeof *n->kids);
	memmove(b + i + 1, b + i, after);
	n->kids[i] = ch;
	b[i] = c;
	n->nkids++;
}

/* node_unlink: takes n's child ch out (never allocates). */
static void
node_unlink(struct trie_node *n, struct trie_node *ch)
{
	uint8_t c = node_byte(ch);
	if (n->kcap == TRIE_DENSE) {
		n->kids[c] = NULL;
	} else {
		unsigned i = kids_lower(n, c);
		unsigned after = n->nkids - 1 - i;
		uint8_t *b = kids_bytes(n);
		memmove(n->kids + i, n->kids + i + 1, after * sizeof *n->kids);
		memmove(b + i, b + i + 1, after);
	}
	if (--n->nkids == 0) {
		zn_free(n->kids);
		n->kids = NULL;
		n->kcap = 0;
	}
}

/* node_merge_down: n (not the root, no subscription, one child) gives its edge to its
 * child, which takes n's place; n is freed. No allocation: the child's key already
 * holds n's part of the prefix. */
static void
node_merge_down(struct trie_node *n)
{
	struct trie_node *ch = node_next_child(n, 0);
	struct trie_node *p = n->parent;
	*node_slot(p, node_byte(n)) = ch; /* same first byte: the slot stays in order */
	ch->len += n->len;
	ch->parent = p;
	node_free(n);
}

/* trie_tidy: restores the invariant after n lost a subscription or a child: frees n
 * and each ancestor it leaves with nothing, then merges the first one left with no
 * subscription and one child into that child (never the root). */
static void
trie_tidy(struct trie *t, struct trie_node *n)
{
	while (n != t->root && n->refs == 0 && n->nkids == 0) {
		struct trie_node *p = n->parent;
		node_unlink(p, n);
		node_free(n);
		n = p;
	}
	if (n != t->root && n->refs == 0 && n->nkids == 1)
		node_merge_down(n);
}

/* edge_matches: the rest of ch's edge (after its first byte, which picked ch) equals
 * data there; data has at least ch->depth bytes. */
static inline bool
edge_matches(const struct trie_node *ch, const uint8_t *data)
{
	if (ch->len == 1) /* a fan-out of one byte each: the common case deep down */
		return true;
	size_t from = ch->depth - ch->len + 1;
	return memcmp(ch->key + from, data + from, ch->len - 1) == 0;
}

/* trie_find: the node of prefix exactly, or NULL. */
static struct trie_node *
trie_find(const struct trie *t, const uint8_t *prefix, size_t len)
{
	struct trie_node *n = t->root;
	while (n && n->depth < len) {
		struct trie_node *ch = node_child(n, prefix[n->depth]);
		if (!ch || ch->depth > len || !edge_matches(ch, prefix))
			return NULL;
		n = ch;
	}
	return n && n->depth == len ? n : NULL;
}

/* common_len: how many bytes a and b share from the start, up to max. */
static size_t
common_len(const uint8_t *a, const uint8_t *b, size_t max)
{
	size_t i = 0;
	while (max - i >= 64 && memcmp(a + i, b + i, 64) == 0)
		i += 64; /* long topics: a block at a time up to the one that differs */
	while (i < max && a[i] == b[i])
		i++;
	return i;
}

/* trie_split: ch's edge parts after `at` of its bytes (0 < at < ch->len): a new node
 * for ch's prefix up to there takes ch's place with ch as its child, and when leaf is
 * given, leaf as its other child. 0 or -ENOMEM (nothing changed; leaf is the caller's
 * then). */
static int
trie_split(struct trie_node *ch, size_t at, struct trie_node *leaf,
           struct trie_node **out)
{
	size_t start = ch->depth - ch->len;
	struct trie_node *mid = node_new(ch->key, start + at, at);
	if (!mid)
		return -ENOMEM;
	if (node_reserve(mid) < 0) { /* room for two children */
		node_free(mid);
		return -ENOMEM;
	}
	struct trie_node *p = ch->parent;
	*node_slot(p, node_byte(ch)) = mid; /* same first byte */
	mid->parent = p;
	ch->len -= at;
	node_link(mid, ch);
	if (leaf) {
		leaf->len = leaf->depth - mid->depth;
		node_link(mid, leaf);
	}
	*out = leaf ? leaf : mid;
	return 0;
}

/* trie_make: the node of prefix, created (with the node where it parts from the
 * prefixes there, if any) when missing. 0 or -ENOMEM (nothing changed). A new node has
 * refs 0: the caller gives it a subscription or calls trie_tidy on it. */
static int
trie_make(struct trie *t, const uint8_t *prefix, size_t len, struct trie_node **out)
{
	if (!t->root && !(t->root = node_new(NULL, 0, 0)))
		return -ENOMEM;
	struct trie_node *n = t->root;
	while (n->depth < len) {
		size_t d = n->depth;
		struct trie_node *ch = node_child(n, prefix[d]);
		if (!ch) { /* a new leaf under n */
			struct trie_node *leaf = node_new(prefix, len, len - d);
			if (!leaf || node_reserve(n) < 0) {
				zn_free(leaf);
				return -ENOMEM;
			}
			node_link(n, leaf);
			*out = leaf;
			return 0;
		}
		size_t max = ch->len < len - d ? ch->len : len - d;
		size_t same = 1 + common_len(ch->key + d + 1, prefix + d + 1, max - 1);
		if (same == ch->len) {
			n = ch; /* the whole edge: go on below ch */
			continue;
		}
		/* The prefix parts from ch's edge (or ends inside it) after `same` bytes.
		 */
		struct trie_node *leaf = NULL;
		if (d + same < len && !(leaf = node_new(prefix, len, 0)))
			return -ENOMEM;
		if (trie_split(ch, same, leaf, out) < 0) {
			zn_free(leaf);
			return -ENOMEM;
		}
		return 0;
	}
	*out = n;
	return 0;
}

/*
 * trie_walk: visits every node depth first in byte order, each before its children,
 * so that the prefixes come shortest first. visit returns < 0 to stop (trie_walk
 * returns that). On the way back up WALK_TIDY tidies each node (trie_tidy's rules, for
 * walks that remove subscriptions) and WALK_FREE frees every node but the root.
 */
typedef int trie_visit(struct trie_node *n, void *arg);
enum walk_mode { WALK_READ, WALK_TIDY, WALK_FREE };

static int
trie_walk(struct trie *t, trie_visit *visit, void *arg, enum walk_mode mode)
{
	struct trie_node *n = t->root;
	if (!n)
		return 0;
	int rc = visit ? visit(n, arg) : 0;
	unsigned from = 0;
	while (rc >= 0) {
		struct trie_node *ch = node_next_child(n, from);
		if (ch) {
			n = ch;
			from = 0;
			rc = visit ? visit(n, arg) : 0;
			continue;
		}
		if (n == t->root)
			break;
		struct trie_node *p = n->parent;
		from = node_byte(n) + 1u; /* a freed n's siblings move up: find by byte */
		if (mode == WALK_FREE) {
			node_free(n); /* p's table goes with p */
		} else if (mode == WALK_TIDY && n->refs == 0 && n->nkids == 0) {
			node_unlink(p, n);
			node_free(n);
		} else if (mode == WALK_TIDY && n->refs == 0 && n->nkids == 1) {
			node_merge_down(n);
		}
		n = p;
	}
	return rc;
}

void
trie_fini(struct trie *t)
{
	if (t->root) {
		trie_walk(t, NULL, NULL, WALK_FREE);
		node_free(t->root);
	}
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
	trie_tidy(t, n);
	return 1;
}

bool
trie_check(const struct trie *t, const void *data, size_t size)
{
	const uint8_t *d = data;
	const struct trie_node *n = t->root;
	if (!n)
		return false;
	for (;;) {
		if (n->refs > 0)
			return true;
		if (n->depth == size)
			return false;
		const struct trie_node *ch = node_child(n, d[n->depth]);
		if (!ch || ch->depth > size || !edge_matches(ch, d))
			return false;
		n = ch;
	}
}

struct apply_ctx {
	trie_fn *fn;
	void *arg;
};

static int
apply_visit(struct trie_node *n, void *arg)
{
	struct apply_ctx *a = arg;
	if (n->refs == 0)
		return 0;
	return a->fn(n->depth ? n->key : NULL, n->depth, a->arg);
}

int
trie_apply(struct trie *t, trie_fn *fn, void *arg)
{
	struct apply_ctx a = {fn, arg};
	return trie_walk(t, apply_visit, &a, WALK_READ);
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
			trie_tidy(t, n); /* undoes what trie_make added */
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
	trie_tidy(t, n);
	return 1;
}

void
trie_match(const struct trie *t, const void *data, size_t size, trie_owner_fn *fn,
           void *arg)
{
	const uint8_t *d = data;
	const struct trie_node *n = t->root;
	while (n) {
		for (uint32_t k = 0; k < n->refs; k++)
			fn(n->owners[k], arg);
		if (n->depth == size)
			return;
		const struct trie_node *ch = node_child(n, d[n->depth]);
		if (!ch || ch->depth > size || !edge_matches(ch, d))
			return;
		n = ch;
	}
}

struct rm_all_ctx {
	void *owner;
	trie_fn *fn;
	void *arg;
	bool only_last;
};

static int
rm_all_visit(struct trie_node *n, void *arg)
{
	struct rm_all_ctx *r = arg;
	uint32_t pos;
	if (!owners_find(n, r->owner, &pos))
		return 0;
	owners_erase(n, pos);
	if (r->fn && (!r->only_last || n->refs == 0))
		r->fn(n->depth ? n->key : NULL, n->depth, r->arg);
	return 0; /* the walk tidies n on its way back up */
}

void
trie_rm_owner_all(struct trie *t, void *owner, trie_fn *fn, void *arg, bool only_last)
{
	struct rm_all_ctx r = {owner, fn, arg, only_last};
	trie_walk(t, rm_all_visit, &r, WALK_TIDY);
}

/* Tests. */

/* node_verify: n's own part of trie_verify (its children's bytes, order and links, its
 * prefix against its parent's, its owners). */
static int
node_verify(const struct trie *t, const struct trie_node *n)
{
	if (n == t->root) {
		if (n->parent || n->depth != 0 || n->len != 0)
			return -EINVAL;
	} else {
		const struct trie_node *p = n->parent;
		if (!p || n->len == 0 || n->depth != p->depth + n->len ||
		    memcmp(n->key, p->key, p->depth) != 0 ||
		    node_child(p, node_byte(n)) != n)
			return -EINVAL;
		if (n->refs == 0 && n->nkids < 2)
			return -EINVAL; /* should have been freed or merged */
	}
	if ((n->nkids == 0) != (n->kids == NULL) || n->nkids > n->kcap ||
	    (n->kcap != TRIE_DENSE && n->kcap > TRIE_SPARSE_MAX))
		return -EINVAL;
	unsigned seen = 0;
	int last = -1;
	for (struct trie_node *ch = node_next_child(n, 0); ch;
	     ch = node_next_child(n, node_byte(ch) + 1u)) {
		if (ch->parent != n || (int)node_byte(ch) <= last)
			return -EINVAL;
		last = node_byte(ch);
		seen++;
	}
	if (seen != n->nkids)
		return -EINVAL;
	if (!n->owners) /* counted, or per owner with none */
		return n->owners_cap == 0 ? 0 : -EINVAL;
	if (n->refs == 0 || n->refs > n->owners_cap)
		return -EINVAL;
	for (uint32_t k = 1; k < n->refs; k++)
		if ((uintptr_t)n->owners[k - 1] >= (uintptr_t)n->owners[k])
			return -EINVAL;
	return 0;
}

int
trie_verify(const struct trie *t, size_t *nodes)
{
	size_t count = 0;
	const struct trie_node *n = t->root;
	unsigned from = 0;
	if (n) {
		int rc = node_verify(t, n);
		if (rc < 0)
			return rc;
		count = 1;
	}
	while (n) {
		const struct trie_node *ch = node_next_child(n, from);
		if (ch) {
			int rc = node_verify(t, ch);
			if (rc < 0)
				return rc;
			count++;
			n = ch;
			from = 0;
			continue;
		}
		if (n == t->root)
			break;
		from = node_byte(n) + 1u; /* on to n's next sibling */
		n = n->parent;
	}
	if (nodes)
		*nodes = count;
	return 0;
}
