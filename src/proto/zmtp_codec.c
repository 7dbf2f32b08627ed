/*
 * zmtp_codec.c: ZMTP 3.x framing (RFC 37) as two pure state machines, and the command and
 * metadata helpers. The contract is in zmtp_codec.h. Nothing here touches a fd, a lock or
 * another thread: the engine that owns a codec drives it from its own thread.
 *
 * Decoder: FLAGS -> SIZE -> ALLOC -> BODY -> (frame out) -> FLAGS. Every byte the peer
 * sends is checked before it is trusted; the body is allocated once, after the size has
 * been checked against maxmsgsize.
 *
 * Encoder: a ring of pieces in wire order. A piece is either a run of the batch buffer
 * (frame headers, small bodies and raw bytes copied back to back) or a message whose body
 * is written in place. The batch is used from offset 0 upwards and slid back to 0 as the
 * head is written, so a stream of small frames costs one copy each and one iovec per run.
 */
#include "proto/zmtp_codec.h"
#include "platform/copy.h"
#include "platform/rbuf.h"

#include <errno.h>
#include <string.h>

enum zmtp_dec_state {
	DEC_FLAGS = 0, /* expecting a flags byte */
	DEC_SIZE,      /* collecting the size field */
	DEC_ALLOC,     /* size known and checked; the body is not allocated yet */
	DEC_BODY,      /* collecting the body */
};

bool
zmtp_decoder_between(const struct zmtp_decoder *d)
{
	return d->state == DEC_FLAGS && d->error == 0;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- decoder ------------------------------------------------------------------------
 */

void
zmtp_decoder_init(struct zmtp_decoder *d, int64_t maxmsgsize)
{
	memset(d, 0, sizeof(*d));
	msg_init(&d->msg);
	d->maxmsgsize = maxmsgsize;
	d->state = DEC_FLAGS;
}

void
zmtp_decoder_fini(struct zmtp_decoder *d)
{
	msg_close(&d->msg);
	msg_init(&d->msg);
	d->state = DEC_FLAGS;
	zmtp_decoder_slice_end(d);
}

/* References to the input buffer taken at once for the slices of one feed: one atomic
 * add per this many messages in the decoding thread, where the reader's releases are
 * one each, on a line this thread then rarely touches. A 64 KiB read holds at most
 * 1285 frames longer than MSG_INLINE_MAX. */
#define DEC_SLICE_BATCH 256

void
zmtp_decoder_slice_from(struct zmtp_decoder *d, struct rbuf *buf)
{
	zmtp_decoder_slice_end(d);
	d->slice_buf = buf;
}

void
zmtp_decoder_slice_end(struct zmtp_decoder *d)
{
	if (d->slice_buf)
		rbuf_rele(d->slice_buf, d->slice_refs);
	d->slice_buf = NULL;
	d->slice_refs = 0;
}

/* dec_slice: m points at size bytes of the input buffer (zmtp_decoder_slice_from). */
static void
dec_slice(struct zmtp_decoder *d, const uint8_t *body, uint64_t size, struct msg *m)
{
	if (d->slice_refs == 0) {
		rbuf_hold(d->slice_buf, DEC_SLICE_BATCH);
		d->slice_refs = DEC_SLICE_BATCH;
	}
	d->slice_refs--;
	/* The buffer is writable memory; the feed's const says only that the decoder
	 * does not write it. */
	msg_init_slice(m, d->slice_buf, (unsigned char *)(uintptr_t)body, (uint32_t)size);
}

/* dec_fail: records a fatal error so every later call reports it. */
static int
dec_fail(struct zmtp_decoder *d, int rc)
{
	d->error = rc;
	return rc;
}

/* dec_msg_flags: a frame's MSGF_MORE / MSGF_COMMAND. */
static unsigned
dec_msg_flags(uint8_t flags)
{
	unsigned f = 0;
	if (flags & ZMTP_FLAG_MORE)
		f |= MSGF_MORE;
	if (flags & ZMTP_FLAG_COMMAND)
		f |= MSGF_COMMAND;
	return f;
}

/* dec_flags: checks a flags byte and prepares for the size field. 0 or -EPROTO. */
static int
dec_flags(struct zmtp_decoder *d, uint8_t flags)
{
	if (!zmtp_flags_valid(flags))
		return dec_fail(d, -EPROTO);
	d->flags = flags;
	d->size_need = (flags & ZMTP_FLAG_LONG) ? 8 : 1;
	d->size_have = 0;
	d->state = DEC_SIZE;
	return 0;
}

/* dec_size: interprets the complete size field and checks it against the limit, before
 * anything is allocated. 0, -EPROTO or -EMSGSIZE. */
static int
dec_size(struct zmtp_decoder *d)
{
	uint64_t size;
	if (d->flags & ZMTP_FLAG_LONG) {
		size = zmtp_get_be64(d->size_buf);
		if (size >> 63)
			return dec_fail(d, -EPROTO);
	} else {
		size = d->size_buf[0];
	}
	if (d->maxmsgsize >= 0 && size > (uint64_t)d->maxmsgsize)
		return dec_fail(d, -EMSGSIZE);
	if (size > SIZE_MAX)
		return dec_fail(d, -EMSGSIZE); /* cannot be held here */
	d->body_size = size;
	d->state = DEC_ALLOC;
	return 0;
}

/* dec_alloc: allocates the body at its announced size, or, past ZMTP_EAGER_MAX, that
 * much to start with (dec_grow makes room as the bytes arrive: a peer that announces
 * 64 GiB and sends nothing holds 8 MiB of ours, not 64 GiB). 1 when the frame is already
 * complete (empty body), 0, or -ENOMEM (state unchanged: the next call retries). */
static int
dec_alloc(struct zmtp_decoder *d)
{
	size_t first =
	        d->body_size > ZMTP_EAGER_MAX ? ZMTP_EAGER_MAX : (size_t)d->body_size;
	int rc = msg_init_size(&d->msg, first);
	if (rc < 0) {
		msg_init(&d->msg);
		return rc;
	}
	msg_set_flags(&d->msg, dec_msg_flags(d->flags));
	d->body_off = 0;
	d->state = DEC_BODY;
	return d->body_size == 0 ? 1 : 0;
}

/* dec_grow: the body's buffer is full and more is announced: a buffer twice as large
 * (at most the announced size) takes over what arrived. 0, or -ENOMEM with the old
 * buffer kept (the next call retries). */
static int
dec_grow(struct zmtp_decoder *d)
{
	size_t cap = msg_size(&d->msg);
	size_t want = cap <= (size_t)d->body_size / 2 ? cap * 2 : (size_t)d->body_size;
	struct msg bigger;
	int rc = msg_init_size(&bigger, want);
	if (rc < 0)
		return rc;
	memcpy(msg_data(&bigger), msg_data(&d->msg), d->body_off);
	msg_set_flags(&bigger, msg_flags(&d->msg));
	msg_close(&d->msg);
	d->msg = bigger;
	return 0;
}

/* dec_deliver: hands the complete frame to the caller and expects the next one. */
static void
dec_deliver(struct zmtp_decoder *d, struct msg *m)
{
	*m = d->msg;
	msg_init(&d->msg);
	d->state = DEC_FLAGS;
}

/* dec_whole: a frame that lies whole in buf, decoded in one step (most frames of a
 * read are: the byte-wise machine below cost 120 instructions a 64-byte frame, callgrind
 * tcp 64 B). 1 with *m and *used set; -ENOMEM as the byte-wise path leaves it (header
 * consumed, the allocation retried next call); 0 when the frame is not whole or not
 * valid, consuming nothing: the byte-wise path takes it and reports its errors. */
static int
dec_whole(struct zmtp_decoder *d, const uint8_t *buf, size_t len, size_t *used,
          struct msg *m)
{
	uint8_t flags;
	size_t hlen;
	uint64_t size;
	if (!zmtp_frame_whole(buf, len, d->maxmsgsize, &flags, &hlen, &size))
		return 0;
	if (d->slice_buf && size > MSG_INLINE_MAX) {
		/* Pointed to where it was read: no body to allocate and write in this
		 * thread, where the reader's thread freed the last ones (every line of
		 * a recycled body came from its cache: ipc 64 B, 20-30 % of the reading
		 * I/O thread's samples on the loads behind those writes). */
		dec_slice(d, buf + hlen, size, m);
		msg_set_flags(m, dec_msg_flags(flags));
		*used = hlen + (size_t)size;
		return 1;
	}
	/* Straight into *m: built on the stack and copied, the 64-byte struct was read
	 * back right after byte-wide stores to it (a store-forwarding stall, 55 % of the
	 * input step's samples at tcp 64 B). msg_init_size leaves *m empty on failure. */
	int rc = msg_init_size(m, (size_t)size);
	if (rc < 0) {
		d->flags = flags;
		d->body_size = size;
		d->state = DEC_ALLOC;
		*used = hlen;
		return rc;
	}
	msg_set_flags(m, dec_msg_flags(flags));
	if (size > 0)
		zn_copy(msg_data(m), buf + hlen, (size_t)size);
	*used = hlen + (size_t)size;
	return 1;
}

int
zmtp_decoder_feed(struct zmtp_decoder *d, const uint8_t *buf, size_t len, size_t *used,
                  struct msg *m)
{
	size_t pos = 0;
	int rc = 0;

	if (d->error) {
		*used = 0;
		return d->error;
	}
	if (d->state == DEC_FLAGS) {
		rc = dec_whole(d, buf, len, used, m);
		if (rc != 0)
			return rc;
	}
	while (rc == 0) {
		switch (d->state) {
		case DEC_FLAGS:
			if (pos == len)
				goto out;
			rc = dec_flags(d, buf[pos++]);
			break;
		case DEC_SIZE: {
			if (pos == len)
				goto out;
			size_t n = (size_t)(d->size_need - d->size_have);
			if (n > len - pos)
				n = len - pos;
			memcpy(d->size_buf + d->size_have, buf + pos, n);
			pos += n;
			d->size_have = (uint8_t)(d->size_have + n);
			if (d->size_have == d->size_need)
				rc = dec_size(d);
			break;
		}
		case DEC_ALLOC: rc = dec_alloc(d); break;
		case DEC_BODY: {
			if (pos == len)
				goto out;
			size_t cap = msg_size(&d->msg);
			if (d->body_off == cap) {
				rc = dec_grow(d);
				break;
			}
			size_t n = cap - d->body_off;
			if (n > len - pos)
				n = len - pos;
			memcpy((uint8_t *)msg_data(&d->msg) + d->body_off, buf + pos, n);
			pos += n;
			d->body_off += n;
			if (d->body_off == d->body_size)
				rc = 1;
			break;
		}
		default: rc = dec_fail(d, -EPROTO); break; /* unreachable */
		}
	}
	if (rc == 1)
		dec_deliver(d, m);
out:
	*used = pos;
	return rc;
}

int
zmtp_decoder_direct(struct zmtp_decoder *d, uint8_t **buf, size_t *len)
{
	if (d->error || d->state != DEC_BODY)
		return 0;
	if ((size_t)d->body_size - d->body_off < ZMTP_DIRECT_MIN)
		return 0;
	/* A lazily grown body: room first (on -ENOMEM feed retries and reports it). */
	if (d->body_off == msg_size(&d->msg) && dec_grow(d) < 0)
		return 0;
	size_t room = msg_size(&d->msg) - d->body_off;
	if (room < ZMTP_DIRECT_MIN)
		return 0; /* feed fills the end of this buffer */
	*buf = (uint8_t *)msg_data(&d->msg) + d->body_off;
	*len = room;
	return 1;
}

int
zmtp_decoder_direct_done(struct zmtp_decoder *d, size_t n, struct msg *m)
{
	if (d->error || d->state != DEC_BODY)
		return -EINVAL;
	if (n > msg_size(&d->msg) - d->body_off)
		return -EINVAL;
	d->body_off += n;
	if (d->body_off < d->body_size)
		return 0;
	dec_deliver(d, m);
	return 1;
}

/* ---- encoder ------------------------------------------------------------------------
 */

static struct zmtp_seg *
enc_seg(struct zmtp_encoder *e, unsigned i)
{
	return &e->segs[(e->head + i) % ZMTP_SEGS];
}

static struct zmtp_seg *
enc_tail(struct zmtp_encoder *e)
{
	return e->count ? enc_seg(e, e->count - 1) : NULL;
}

/* enc_push: a new piece at the tail. The caller checked there is a free slot. */
static struct zmtp_seg *
enc_push(struct zmtp_encoder *e)
{
	struct zmtp_seg *s = enc_seg(e, e->count);
	e->count++;
	msg_init(&s->msg);
	s->start = 0;
	s->len = 0;
	s->off = 0;
	s->is_msg = false;
	return s;
}

/* enc_batch_need: the pieces an append to the batch needs (0 or 1). */
static unsigned
enc_batch_need(struct zmtp_encoder *e)
{
	struct zmtp_seg *t = enc_tail(e);
	return (t != NULL && !t->is_msg) ? 0 : 1;
}

/* enc_reserve: the next n bytes of the batch, extending the tail run or starting a new
 * one; the caller fills them. The caller checked there is room and a slot. */
static uint8_t *
enc_reserve(struct zmtp_encoder *e, size_t n)
{
	struct zmtp_seg *t = enc_tail(e);
	if (t == NULL || t->is_msg) {
		t = enc_push(e);
		t->start = e->batch_in;
	}
	uint8_t *at = e->batch + e->batch_in;
	e->batch_in += n;
	e->pending += n;
	t->len += n;
	return at;
}

/* enc_append: copies n bytes (n > 0) to the end of the batch. */
static void
enc_append(struct zmtp_encoder *e, const void *p, size_t n)
{
	memcpy(enc_reserve(e, n), p, n);
}

void
zmtp_encoder_init(struct zmtp_encoder *e)
{
	e->head = 0;
	e->count = 0;
	e->batch_in = 0;
	e->pending = 0;
}

void
zmtp_encoder_fini(struct zmtp_encoder *e)
{
	for (unsigned i = 0; i < e->count; i++) {
		struct zmtp_seg *s = enc_seg(e, i);
		if (s->is_msg)
			msg_close(&s->msg);
	}
	zmtp_encoder_init(e);
}

bool
zmtp_encoder_space(const struct zmtp_encoder *e)
{
	/* Worst case: a new batch run for the header and a piece for the body. */
	return e->count + 2 <= ZMTP_SEGS && ZMTP_BATCH - e->batch_in >= ZMTP_HDR_MAX;
}

void
zmtp_encoder_load(struct zmtp_encoder *e, struct msg *m)
{
	size_t size = msg_size(m);
	unsigned mf = msg_flags(m);
	size_t hlen = size > UINT8_MAX ? 9 : 2;

	if (size < ZMTP_COPY_MAX && hlen + size <= ZMTP_BATCH - e->batch_in) {
		/* Header and body in one reservation: the common small frame. */
		uint8_t *at = enc_reserve(e, hlen + size);
		at += zmtp_put_header(at, mf, size);
		if (size > 0)
			zn_copy(at, msg_data(m), size);
		msg_close(m);
	} else {
		/* The caller checked room for a header (zmtp_encoder_space). */
		uint8_t *at = enc_reserve(e, hlen);
		(void)zmtp_put_header(at, mf, size);
		struct zmtp_seg *s = enc_push(e);
		s->msg = *m; /* the encoder owns the content now */
		s->len = size;
		s->is_msg = true;
		e->pending += size;
	}
	msg_init(m);
}

int
zmtp_encoder_raw(struct zmtp_encoder *e, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	if (len > ZMTP_BATCH - e->batch_in)
		return -ENOSPC;
	if (e->count + enc_batch_need(e) > ZMTP_SEGS)
		return -ENOSPC;
	enc_append(e, data, len);
	return 0;
}

int
zmtp_encoder_iov(struct zmtp_encoder *e, struct iovec *iov, int max)
{
	int n = 0;
	for (unsigned i = 0; i < e->count && n < max; i++) {
		struct zmtp_seg *s = enc_seg(e, i);
		uint8_t *base = s->is_msg ? msg_data(&s->msg) : e->batch + s->start;
		iov[n].iov_base = base + s->off;
		iov[n].iov_len = s->len - s->off;
		n++;
	}
	return n;
}

/* enc_compact: slides the batch bytes still pending back to offset 0, so the space in
 * front of them can take new frames. Runs are in wire order and contiguous in the batch,
 * so one move and one adjustment per run does it. */
static void
enc_compact(struct zmtp_encoder *e)
{
	struct zmtp_seg *first = NULL;
	for (unsigned i = 0; i < e->count && first == NULL; i++) {
		struct zmtp_seg *s = enc_seg(e, i);
		if (!s->is_msg)
			first = s;
	}
	if (first == NULL) {
		e->batch_in = 0;
		return;
	}
	first->start += first->off; /* fold the written part away */
	first->len -= first->off;
	first->off = 0;
	size_t delta = first->start;
	if (delta == 0)
		return;
	memmove(e->batch, e->batch + delta, e->batch_in - delta);
	e->batch_in -= delta;
	for (unsigned i = 0; i < e->count; i++) {
		struct zmtp_seg *s = enc_seg(e, i);
		if (!s->is_msg)
			s->start -= delta;
	}
}

void
zmtp_encoder_written(struct zmtp_encoder *e, size_t n)
{
	e->pending -= n < e->pending ? n : e->pending;
	while (n > 0 && e->count > 0) {
		struct zmtp_seg *s = enc_seg(e, 0);
		size_t left = s->len - s->off;
		if (n < left) {
			s->off += n;
			break;
		}
		n -= left;
		if (s->is_msg)
			msg_close(&s->msg);
		e->head = (e->head + 1) % ZMTP_SEGS;
		e->count--;
	}
	if (e->count == 0)
		e->head = 0;
	enc_compact(e);
}

bool
zmtp_encoder_empty(const struct zmtp_encoder *e)
{
	return e->count == 0;
}

size_t
zmtp_encoder_pending(const struct zmtp_encoder *e)
{
	return e->pending;
}

/* ---- commands and metadata ----------------------------------------------------------
 */

int
zmtp_command_parse(const struct msg *m, const char **name, size_t *name_len,
                   const uint8_t **data, size_t *data_len)
{
	size_t size = msg_size(m);
	/* msg_data does not write; it takes a non-const message only for the API's sake.
	 */
	const uint8_t *body = msg_data((struct msg *)m);
	if (size < 1 || body == NULL)
		return -EPROTO;
	size_t nlen = body[0];
	if (nlen == 0 || nlen > size - 1)
		return -EPROTO;
	*name = (const char *)body + 1;
	*name_len = nlen;
	*data = body + 1 + nlen;
	*data_len = size - 1 - nlen;
	return 0;
}

int
zmtp_command_build(struct msg *m, const char *name, const void *data, size_t len)
{
	size_t nlen = strlen(name);
	if (nlen == 0 || nlen > UINT8_MAX)
		return -EINVAL;
	if (len > SIZE_MAX - 1 - nlen)
		return -ENOMEM;
	int rc = msg_init_size(m, 1 + nlen + len);
	if (rc < 0)
		return rc;
	uint8_t *p = msg_data(m);
	p[0] = (uint8_t)nlen;
	memcpy(p + 1, name, nlen);
	if (len > 0)
		memcpy(p + 1 + nlen, data, len);
	msg_set_flags(m, MSGF_COMMAND);
	return 0;
}

int
zmtp_props_parse(const uint8_t *data, size_t len,
                 int (*cb)(void *arg, const char *name, size_t nlen, const uint8_t *val,
                           size_t vlen),
                 void *arg)
{
	size_t pos = 0;
	while (pos < len) {
		size_t nlen = data[pos++];
		if (nlen == 0 || nlen > len - pos)
			return -EPROTO;
		const char *name = (const char *)data + pos;
		pos += nlen;
		if (len - pos < 4)
			return -EPROTO;
		uint32_t vlen = get_be32(data + pos);
		pos += 4;
		if (vlen > INT32_MAX || vlen > len - pos)
			return -EPROTO;
		int rc = cb(arg, name, nlen, data + pos, vlen);
		if (rc < 0)
			return rc;
		pos += vlen;
	}
	return 0;
}

size_t
zmtp_props_write(uint8_t *out, size_t cap, const char *name, const void *val, size_t vlen)
{
	size_t nlen = strlen(name);
	if (nlen == 0 || nlen > UINT8_MAX || vlen > INT32_MAX)
		return 0;
	size_t need = 1 + nlen + 4 + vlen;
	if (need > cap)
		return need;
	out[0] = (uint8_t)nlen;
	memcpy(out + 1, name, nlen);
	put_be32(out + 1 + nlen, (uint32_t)vlen);
	if (vlen > 0)
		memcpy(out + 1 + nlen + 4, val, vlen);
	return need;
}
