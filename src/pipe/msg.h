/*
 * msg.h: the private layout behind the public 64-byte zmq_msg_t (seed 001, "Messages").
 *
 * A message is one of:
 *   EMPTY      no data (zmq_msg_init), size 0;
 *   INLINE     up to MSG_INLINE_MAX bytes stored in the struct itself: no allocation;
 *   HEAP       a refcounted struct msg_content shared by copies; when zinc allocated the
 *              data it sits in the same block right after the header (one malloc);
 *   CONST      a caller's buffer that is never freed (zmq_send_const, init_data with
 *              a NULL free function);
 *   SLICE      bytes inside a reference-counted read buffer (platform/rbuf.h) that
 *              many messages share, each holding a reference: a body decoded where
 *              it was read instead of copied out (proto/zmtp_codec.c);
 *   DELIMITER  the internal end-of-pipe marker, never seen by users.
 * Flags (MORE, COMMAND, ...) and an optional refcounted metadata block (the properties
 * zmq_msg_gets reads) ride along with every type.
 *
 * A struct msg belongs to one thread at a time; msg_content's refcount is atomic so
 * copies may live in different threads.
 */
#ifndef ZINC_PIPE_MSG_H
#define ZINC_PIPE_MSG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "zmq.h"

enum msg_type {
	MSG_EMPTY = 0, /* all-zero memory is a valid empty message */
	MSG_INLINE,
	MSG_HEAP,
	MSG_CONST,
	MSG_DELIMITER,
	MSG_DIRECT, /* a pipe_direct hand-over marker (direct.h); never reaches a user */
	MSG_SLICE,
	MSG_INVALID = 0xee, /* closed; any use but init is EFAULT */
};

enum msg_flag {
	MSGF_MORE = 1,    /* ZMQ_MORE: another part follows */
	MSGF_COMMAND = 2, /* a ZMTP command frame */
	MSGF_ROUTING = 4, /* routing-id frame (ROUTER / STREAM internals) */
};

/* The bytes a message can hold inline, beside its header. */
#define MSG_INLINE_MAX 48

/* A slice's reserved byte once a copy of it was made (msg_copy, msg_hold): its bytes
 * are then seen through two messages (msg_is_shared). */
#define MSG_SLICE_COPIED 1

struct msg_content {
	atomic_uint refcnt; /* starts at 1: the message that created it */
	bool cached;        /* header and data from zn_body_alloc (msg_init_size) */
	size_t size;
	void *data;       /* == (void *)(content + 1) when zinc allocated it */
	zmq_free_fn *ffn; /* NULL when zinc allocated the data */
	void *hint;
};

struct road;
struct rbuf;
struct metadata; /* refcounted property list, see below */

struct msg {
	struct metadata *meta; /* may be NULL; a reference is held */
	uint32_t routing_id;   /* for routing-id-carrying sockets; 0 = none */
	uint8_t type;          /* enum msg_type */
	uint8_t flags;         /* enum msg_flag */
	uint8_t inline_size;
	uint8_t reserved;
	union {
		uint8_t inline_data[MSG_INLINE_MAX];
		struct {
			struct msg_content *content;
		} heap;
		struct {
			void *data;
			size_t size;
		} cnst;
		struct road *road; /* MSG_DIRECT: the road offered (owned), or NULL */
		struct {
			struct rbuf *buf; /* a reference is held */
			unsigned char *data;
			uint32_t size;
		} slice;
	} u;
};

_Static_assert(sizeof(struct msg) == 64, "struct msg must be 64 bytes");
_Static_assert(sizeof(zmq_msg_t) == 64, "zmq_msg_t must be 64 bytes");
_Static_assert(_Alignof(zmq_msg_t) >= _Alignof(struct msg), "zmq_msg_t alignment");

static inline struct msg *
msg_from_zmq(zmq_msg_t *m)
{
	return (struct msg *)(void *)m;
}

/* msg_init: an empty message. Never fails. */
void msg_init(struct msg *m);
/* msg_init_size: room for size bytes (uninitialised). 0 or -ENOMEM (m is then empty). */
int msg_init_size(struct msg *m, size_t size);
/* msg_init_buffer: a copy of size bytes from data. 0 or -ENOMEM. */
int msg_init_buffer(struct msg *m, const void *data, size_t size);
/* msg_init_data: wraps the caller's buffer; ffn(data, hint) runs when the last copy is
 * closed. ffn NULL: a constant buffer, never freed. 0 or -ENOMEM (the caller keeps the
 * buffer: ffn is not called). */
int msg_init_data(struct msg *m, void *data, size_t size, zmq_free_fn *ffn, void *hint);
/* msg_init_extern: as msg_init_data with a free function, for bodies that live in
 * memory zinc lends or borrows (shm:// pools, proto/shm_pool.h): the content header and
 * hint_size bytes of the lender's state are one allocation, *hint points to the latter
 * (8-byte aligned, uninitialised) and ffn(data, *hint) runs at the last release, after
 * which that state is freed with the header. 0 or -ENOMEM (m empty, ffn not called). */
int msg_init_extern(struct msg *m, void *data, size_t size, zmq_free_fn *ffn,
                    size_t hint_size, void **hint);
/* msg_extern_hint: the state of a message made by msg_init_extern with ffn (or a copy
 * or narrowed view of one), or NULL for any other message. */
void *msg_extern_hint(const struct msg *m, zmq_free_fn *ffn);

/* msg_init_slice: size bytes at data, inside buf, whose reference the caller gives
 * to m (it took it for m). Never fails. */
void msg_init_slice(struct msg *m, struct rbuf *buf, unsigned char *data, uint32_t size);

/* msg_init_delimiter: the pipe's end marker. Never fails. */
void msg_init_delimiter(struct msg *m);

/* msg_init_direct: a hand-over marker carrying r (road.h; the message owns it until a
 * pipe end adopts it; NULL: a marker without a road). Never fails. */
void msg_init_direct(struct msg *m, struct road *r);
static inline bool
msg_is_direct(const struct msg *m)
{
	return m->type == MSG_DIRECT;
}

/* msg_close: drops the content and metadata references; m becomes MSG_INVALID. */
void msg_close_held(struct msg *m);
static inline void
msg_close(struct msg *m)
{
	/* Inline for what holds nothing (a delimiter frame, a small body, what a write
	 * left empty): about a dozen closes a REQ/REP round trip are of these. */
	if (m->type <= MSG_INLINE && m->meta == NULL) {
		memset(m, 0, sizeof *m);
		m->type = MSG_INVALID;
		return;
	}
	msg_close_held(m);
}
/* msg_move: dst is closed, then takes src's content; src becomes empty. */
void msg_move(struct msg *dst, struct msg *src);
/* msg_copy: dst is closed, then shares src's content (no data copied; the refcount
 * grows). Inline and const messages are copied by value. Never fails. */
void msg_copy(struct msg *dst, struct msg *src);

/* msg_hold: n more references to m's content and metadata, for n copies made next by
 * msg_share: one atomic add for all of them, where n msg_copy calls take n on a line
 * that the threads releasing earlier copies also write (a PUB's fan-out). */
void msg_hold(struct msg *m, uint32_t n);
/* msg_share: dst (empty, owning nothing) becomes a copy of src that owns one of the
 * references msg_hold took. */
static inline void
msg_share(struct msg *dst, const struct msg *src)
{
	*dst = *src;
}

void *msg_data(struct msg *m);
size_t msg_size(const struct msg *m);
bool msg_is_valid(const struct msg *m);
/* msg_is_shared: true when the data is a constant buffer or another message shares the
 * content, so it must not be written in place (zmq_msg_get ZMQ_SHARED). */
bool msg_is_shared(const struct msg *m);
static inline bool
msg_is_delimiter(const struct msg *m)
{
	return m->type == MSG_DELIMITER;
}
static inline unsigned
msg_flags(const struct msg *m)
{
	return m->flags;
}
static inline void
msg_set_flags(struct msg *m, unsigned f)
{
	m->flags |= (uint8_t)f;
}
static inline void
msg_clear_flags(struct msg *m, unsigned f)
{
	m->flags &= (uint8_t)~f;
}

/* msg_narrow: an unshared message keeps only its bytes [off, off + size), without
 * copying them: a heap message's view narrows, an inline one's bytes move down. 0, or
 * -EINVAL when m is shared or constant (the caller copies instead) or the range is
 * not inside the data. */
int msg_narrow(struct msg *m, size_t off, size_t size);
/* msg_set_metadata: m holds a new reference to meta (dropping any previous one). */
void msg_set_metadata(struct msg *m, struct metadata *meta);

/*
 * Metadata: an immutable, refcounted list of (name, value) string pairs built once by
 * whoever makes it (the protocol engine at handshake) and shared by every message that
 * arrives on that connection.
 */
/* metadata_new: an empty property list with refcount 1, room for `cap` pairs. NULL on
 * allocation failure. */
struct metadata *metadata_new(size_t cap);
/* metadata_add: copies name and value in. 0 or -ENOMEM (or -ENOSPC past cap). Only the
 * maker may call it, before the list is shared. */
int metadata_add(struct metadata *md, const char *name, const char *value, size_t vlen);
/* metadata_get: the value for name (case-insensitive, as ZMTP property names are), or
 * NULL. The string lives as long as the list. */
const char *metadata_get(const struct metadata *md, const char *name);
/* metadata_at: the i-th pair (value NUL-terminated, vlen up to its first NUL); false
 * past the end. */
bool metadata_at(const struct metadata *md, size_t i, const char **name,
                 const char **value, size_t *vlen);
/* metadata_set_fd: the descriptor of the connection the properties came with, which
 * zmq_msg_get(ZMQ_SRCFD) reports. Kept apart from the named properties so that no
 * peer can announce it. Only the maker, before sharing. */
void metadata_set_fd(struct metadata *md, int fd);
/* metadata_fd: that descriptor, or -1 (also for md NULL). */
int metadata_fd(const struct metadata *md);
void metadata_hold(struct metadata *md);
void metadata_rele(struct metadata *md);

/*
 * Reference batches, for an engine that attaches its metadata to every message it
 * reads: one atomic add per batch instead of one per message, so the counter's cache
 * line stays with the thread that closes the messages (each close is still one
 * atomic decrement). The holder keeps a count of the references it took ahead.
 */
struct metadata_batch {
	struct metadata *md;
	unsigned ahead; /* references taken and not yet handed to a message */
};
/* metadata_batch_attach: m holds a reference to b->md (m has none before). */
void metadata_batch_attach(struct metadata_batch *b, struct msg *m);
/* metadata_batch_end: gives back the references taken ahead; md stays held by its
 * own reference. */
void metadata_batch_end(struct metadata_batch *b);

#endif
