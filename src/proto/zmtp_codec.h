/*
 * zmtp_codec.h: the ZMTP 3.x frame codec (RFC 37 "Framing"), plus helpers for command
 * bodies and metadata property lists. It is pure: no fds, no threads, no clock. The
 * engine owns one decoder and one encoder per connection and drives them from whichever
 * thread runs the engine; neither is shared between threads.
 *
 * A frame is a flags byte (bit 0 MORE, bit 1 LONG, bit 2 COMMAND, bits 3-7 zero), a size
 * (one byte, or eight bytes in network order when LONG is set) and the body. A command
 * frame never has MORE set. A command body is a name-length byte, the name, then data.
 */
#ifndef ZINC_PROTO_ZMTP_CODEC_H
#define ZINC_PROTO_ZMTP_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "pipe/msg.h"

/* Frame flag bits on the wire. */
#define ZMTP_FLAG_MORE    0x01
#define ZMTP_FLAG_LONG    0x02
#define ZMTP_FLAG_COMMAND 0x04

/* The longest frame header: flags plus an 8-byte size. */
#define ZMTP_HDR_MAX 9

/* A body left to read of at least this many bytes is offered for a direct read. */
#define ZMTP_DIRECT_MIN 8192
/* A body up to this size is allocated whole when its size is read; a larger one starts
 * at this size and doubles as its bytes arrive, so an announced size costs nothing
 * until the peer sends it. The fuzz build makes it smaller (a fresh 8 MiB under ASan
 * costs a millisecond, and the lazy path gets fuzzed from small sizes on). */
#ifndef ZMTP_EAGER_MAX
#define ZMTP_EAGER_MAX ((size_t)8 << 20)
#endif

/* zmtp_get_be64 / zmtp_put_be64: a 64-bit integer in network byte order, as ZMTP's long
 * frame sizes and CurveZMQ's nonces are written (RFC 23, RFC 26). */
static inline uint64_t
zmtp_get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static inline void
zmtp_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* zmtp_put_header: a frame's header at `at` for a body of size bytes with the message
 * flags mf (MSGF_MORE, MSGF_COMMAND); its length (2 or 9). */
static inline size_t
zmtp_put_header(uint8_t *at, unsigned mf, size_t size)
{
	at[0] = 0;
	if (mf & MSGF_COMMAND)
		at[0] |= ZMTP_FLAG_COMMAND;
	else if (mf & MSGF_MORE)
		at[0] |= ZMTP_FLAG_MORE;
	if (size > UINT8_MAX) {
		at[0] |= ZMTP_FLAG_LONG;
		zmtp_put_be64(at + 1, (uint64_t)size);
		return 9;
	}
	at[1] = (uint8_t)size;
	return 2;
}

/* ---- decoder ------------------------------------------------------------------------
 */

struct rbuf;

struct zmtp_decoder {
	struct msg msg;      /* the frame being built; empty between frames */
	int64_t maxmsgsize;  /* < 0: unlimited */
	uint64_t body_size;  /* announced size of the current frame */
	size_t body_off;     /* body bytes received so far */
	int error;           /* sticky -EPROTO / -EMSGSIZE once seen; 0 otherwise */
	uint8_t state;       /* private: see zmtp_codec.c */
	uint8_t flags;       /* flags byte of the current frame */
	uint8_t size_need;   /* size-field bytes expected (1 or 8) */
	uint8_t size_have;   /* size-field bytes received */
	uint8_t size_buf[8]; /* the size field as received */
	/* zmtp_decoder_slice_from: the input lies in this buffer, and a frame that lies
	 * whole in it becomes a message pointing there (MSG_SLICE); slice_refs are the
	 * references to it taken ahead for those messages. */
	struct rbuf *slice_buf;
	unsigned slice_refs;
};

/* zmtp_decoder_init: a decoder expecting a frame's flags byte. maxmsgsize < 0 means no
 * limit. Never fails; allocates nothing. */
void zmtp_decoder_init(struct zmtp_decoder *d, int64_t maxmsgsize);
/* zmtp_decoder_fini: closes a half-built message. Safe after any error. */
void zmtp_decoder_fini(struct zmtp_decoder *d);
/* zmtp_decoder_slice_from: until zmtp_decoder_slice_end, the bytes fed lie in buf
 * (platform/rbuf.h), which stays unchanged while any reference to it is held: a frame
 * longer than a message holds inline that lies whole in what is fed is not copied but
 * pointed to (MSG_SLICE, one reference each, taken in batches). */
void zmtp_decoder_slice_from(struct zmtp_decoder *d, struct rbuf *buf);
/* zmtp_decoder_slice_end: gives back the references taken ahead and not used. */
void zmtp_decoder_slice_end(struct zmtp_decoder *d);

/* zmtp_flags_valid: a frame's flags byte has no reserved bit, and is not COMMAND with
 * MORE. */
static inline bool
zmtp_flags_valid(uint8_t flags)
{
	if (flags & ~(ZMTP_FLAG_MORE | ZMTP_FLAG_LONG | ZMTP_FLAG_COMMAND))
		return false;
	return !((flags & ZMTP_FLAG_COMMAND) && (flags & ZMTP_FLAG_MORE));
}

/* zmtp_frame_whole: a frame that lies whole at the head of buf[0..len) with a valid
 * flags byte and a body within maxmsgsize (< 0: no limit): its flags, header length
 * and body size, true. false when it is not all there, is malformed or too large (the
 * byte-wise decoder reports those). */
static inline bool
zmtp_frame_whole(const uint8_t *buf, size_t len, int64_t maxmsgsize, uint8_t *flags,
                 size_t *hlen, uint64_t *size)
{
	if (len < 2)
		return false;
	uint8_t f = buf[0];
	if (!zmtp_flags_valid(f))
		return false;
	size_t h = (f & ZMTP_FLAG_LONG) ? 9 : 2;
	if (len < h)
		return false;
	uint64_t s = h == 2 ? buf[1] : zmtp_get_be64(buf + 1);
	if (s > len - h) /* also a long size with its top bit set */
		return false;
	if (maxmsgsize >= 0 && s > (uint64_t)maxmsgsize)
		return false;
	*flags = f;
	*hlen = h;
	*size = s;
	return true;
}

/* zmtp_decoder_between: the decoder expects a frame's first byte (and has seen no
 * error): the stream is at a frame boundary. */
bool zmtp_decoder_between(const struct zmtp_decoder *d);

/* zmtp_decoder_feed: consumes bytes from buf[0..len); *used is set to the bytes consumed
 * whatever the result. Returns
 *   1          a frame is complete: *m receives it (flags MSGF_MORE / MSGF_COMMAND set),
 *              overwriting *m without closing it (it must be empty); the caller owns it
 *              and feeds the rest of the buffer next;
 *   0          every byte was consumed without completing a frame;
 *   -EPROTO    malformed header (reserved flag bits, COMMAND with MORE, long size with
 *              the top bit set);
 *   -EMSGSIZE  the announced size exceeds maxmsgsize (checked before any allocation).
 * Both are sticky: every later feed returns them again, consuming nothing.
 *   -ENOMEM    the body could not be allocated; the decoder stays consistent and the
 *              next call (even with len 0) retries the allocation. */
int zmtp_decoder_feed(struct zmtp_decoder *d, const uint8_t *buf, size_t len,
                      size_t *used, struct msg *m);

/* zmtp_decoder_direct: when at least ZMTP_DIRECT_MIN body bytes are still missing and
 * as many fit the body's buffer (which it may grow first, see ZMTP_EAGER_MAX), returns
 * 1 with *buf pointing where they go inside the message and *len how many fit,
 * so the engine can read(2) straight into the message. Returns 0 otherwise. The pointer
 * is valid until the next feed, direct_done or fini. */
int zmtp_decoder_direct(struct zmtp_decoder *d, uint8_t **buf, size_t *len);
/* zmtp_decoder_direct_done: accounts n bytes written at the place zmtp_decoder_direct
 * gave. Returns 1 with *m (as for feed) when the frame is complete, 0 when more is
 * missing, -EINVAL when no body is being read or n exceeds what is missing. */
int zmtp_decoder_direct_done(struct zmtp_decoder *d, size_t n, struct msg *m);

/* ---- encoder ------------------------------------------------------------------------
 */

/* Bytes of headers, small bodies and raw data the encoder copies per batch: a Unix
 * socket write's worth (ZN_UNIX_WRITE_MAX). With 8 KiB, frames of 64-1023 bytes went
 * out 8 KiB a system call (ipc 64 B PUSH/PULL 5.1 M msg/s against 9.8 M, 512 B 1.4-2.2
 * M against 2.6-3.1 M). Only a connection that streams touches more than its first
 * page: the batch is compacted to its start whenever it is written out. */
#define ZMTP_BATCH 32768
/* Bodies shorter than this are copied into the batch (when they fit); longer ones are
 * referenced in place (zero copy). */
#define ZMTP_COPY_MAX 1024
/* Pending pieces (batch runs and referenced bodies); also the most iovecs
 * zmtp_encoder_iov ever needs. */
#define ZMTP_SEGS 128

struct zmtp_seg {
	struct msg msg; /* the referenced body when is_msg; empty for a batch run */
	size_t start;   /* batch offset of a batch run */
	size_t len;     /* bytes in this piece */
	size_t off;     /* bytes of it already written */
	bool is_msg;
};

struct zmtp_encoder {
	struct zmtp_seg segs[ZMTP_SEGS]; /* ring, oldest at head */
	unsigned head;
	unsigned count;
	size_t batch_in; /* batch bytes in use, from 0 */
	size_t pending;  /* bytes queued and not yet written */
	uint8_t batch[ZMTP_BATCH];
};

/* zmtp_encoder_init: an empty encoder. Never fails; allocates nothing. */
void zmtp_encoder_init(struct zmtp_encoder *e);
/* zmtp_encoder_fini: closes the messages still held; unwritten bytes are dropped. */
void zmtp_encoder_fini(struct zmtp_encoder *e);

/* zmtp_encoder_space: true when zmtp_encoder_load may be called now. */
bool zmtp_encoder_space(const struct zmtp_encoder *e);

/* zmtp_encoder_load: queues one frame for *m: MORE from MSGF_MORE, COMMAND from
 * MSGF_COMMAND (a command never carries MORE: MSGF_MORE is ignored then). The encoder
 * takes the content (copying small bodies into the batch and closing them, holding large
 * ones until written); m is empty on return. Requires zmtp_encoder_space; never fails. */
void zmtp_encoder_load(struct zmtp_encoder *e, struct msg *m);

/* zmtp_encoder_iov: fills up to max iovecs with the bytes queued and not yet written,
 * in wire order; returns the count (0 when nothing is pending). The pointers stay valid
 * until the next load, raw, written or fini. */
int zmtp_encoder_iov(struct zmtp_encoder *e, struct iovec *iov, int max);
/* zmtp_encoder_written: the first n bytes zmtp_encoder_iov described went out; releases
 * finished messages and batch space. */
void zmtp_encoder_written(struct zmtp_encoder *e, size_t n);
/* zmtp_encoder_empty: true when nothing is pending. */
bool zmtp_encoder_empty(const struct zmtp_encoder *e);
/* zmtp_encoder_pending: the number of bytes queued and not yet written. */
size_t zmtp_encoder_pending(const struct zmtp_encoder *e);

/* zmtp_encoder_raw: queues len raw bytes (the greeting, an encoded command) by copying
 * them into the batch. 0, or -ENOSPC when they do not fit now (nothing queued; more than
 * ZMTP_BATCH bytes never fit: send such a command with zmtp_encoder_load). */
int zmtp_encoder_raw(struct zmtp_encoder *e, const void *data, size_t len);

/* ---- commands and metadata ----------------------------------------------------------
 */

/* zmtp_command_parse: splits a command body into name and data (pointers into m).
 * 0, or -EPROTO when the body is empty, the name empty or longer than the body. */
int zmtp_command_parse(const struct msg *m, const char **name, size_t *name_len,
                       const uint8_t **data, size_t *data_len);
/* zmtp_command_build: m (overwritten, not closed) becomes a command frame with
 * MSGF_COMMAND set: the name (1..255 bytes) and len bytes of data. 0, -EINVAL for a bad
 * name, or -ENOMEM (m is then empty). */
int zmtp_command_build(struct msg *m, const char *name, const void *data, size_t len);

/* zmtp_props_parse: walks a metadata property list (name-length byte, name of 1..255
 * bytes, 4-byte network-order value length up to INT32_MAX, value) and calls cb for each
 * property. 0, -EPROTO on a truncated or malformed list, or the first negative value cb
 * returns (the walk stops there). */
int zmtp_props_parse(const uint8_t *data, size_t len,
                     int (*cb)(void *arg, const char *name, size_t nlen,
                               const uint8_t *val, size_t vlen),
                     void *arg);
/* zmtp_props_write: the bytes one property takes; writes it to out only when it fits in
 * cap. Returns 0 (writing nothing) when name is not 1..255 bytes or vlen exceeds
 * INT32_MAX. */
size_t zmtp_props_write(uint8_t *out, size_t cap, const char *name, const void *val,
                        size_t vlen);

#endif
