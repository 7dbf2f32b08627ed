/*
 * pipe.c: see pipe.h.
 */
#include "pipe/pipe.h"
#include "platform/alloc.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#define container_of(p, type, member)                                                    \
	((type *)(void *)((char *)(p)-offsetof(type, member)))

static const struct object_ops pipe_object_ops;

/* pipe_lwm: after how many reads the reader reports progress to the writer. Half the
 * HWM, capped so that large HWMs still report often enough to keep the writer busy. */
static int64_t
pipe_lwm(int64_t hwm)
{
	if (hwm <= 0)
		return 0; /* unlimited: the writer never waits, reports are pointless */
	if (hwm > 2048)
		return hwm - 1024;
	return (hwm + 1) / 2;
}

static int
pipe_new(struct pipe **out, struct object *parent)
{
	struct pipe *p = zn_calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	int rc = ypipe_init(&p->inq);
	if (rc < 0) {
		zn_free(p);
		return rc;
	}
	object_init(&p->obj, parent->ctx, parent->tid, &pipe_object_ops);
	p->in_active = true;
	p->out_active = true;
	p->delay = true;
	p->state = PIPE_ACTIVE;
	*out = p;
	return 0;
}

static void
pipe_free(struct pipe *p)
{
	struct ycell cell;
	while (ypipe_read(&p->inq, &cell))
		msg_close((struct msg *)(void *)&cell);
	/* Incomplete parts the peer never finished are past the published end. */
	while (ypipe_unwrite(&p->inq, &cell))
		msg_close((struct msg *)(void *)&cell);
	ypipe_fini(&p->inq);
	zn_free(p);
}

int
pipe_pair(struct object *parents[2], struct pipe *p[2], const int64_t hwm[2])
{
	int rc = pipe_new(&p[0], parents[0]);
	if (rc < 0)
		return rc;
	rc = pipe_new(&p[1], parents[1]);
	if (rc < 0) {
		pipe_free(p[0]);
		return rc;
	}
	for (int i = 0; i < 2; i++) {
		p[i]->peer = p[1 - i];
		p[i]->out = &p[1 - i]->inq;
		p[i]->hwm = hwm[i];
		p[i]->lwm = pipe_lwm(hwm[1 - i]); /* batch for what the peer writes */
	}
	return 0;
}

void
pipe_set_sink(struct pipe *p, void *sink, const struct pipe_sink_ops *ops)
{
	p->sink = sink;
	p->sink_ops = ops;
}

void
pipe_set_tid(struct pipe *p, uint32_t tid)
{
	p->obj.tid = tid;
}

void
pipe_set_hwms(struct pipe *p, int64_t out_hwm, int64_t in_hwm)
{
	p->hwm = out_hwm;
	p->lwm = pipe_lwm(in_hwm);
}

void
pipe_send_hwms(struct pipe *p, int64_t peer_out_hwm, int64_t peer_in_hwm)
{
	struct command cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.dest = &p->peer->obj;
	cmd.type = CMD_PIPE_HWM;
	cmd.args.pipe_hwm.outhwm = peer_out_hwm;
	cmd.args.pipe_hwm.inhwm = peer_in_hwm;
	object_send(&cmd);
}

void
pipe_set_peer_rid(struct pipe *p, const void *rid, size_t len)
{
	if (len > sizeof p->peer_rid)
		len = sizeof p->peer_rid;
	if (len)
		memcpy(p->peer_rid, rid, len);
	p->peer_rid_len = (uint8_t)len;
}

static bool
pipe_readable_state(const struct pipe *p)
{
	return p->state == PIPE_ACTIVE || p->state == PIPE_WAITING_FOR_DELIMITER;
}

static void
pipe_send(struct pipe *dest, enum command_type type)
{
	send_simple(&dest->obj, type);
}

/* pipe_stop_writing: no more writes from this end; drop an unfinished message. */
static void
pipe_stop_writing(struct pipe *p)
{
	pipe_rollback(p);
	p->out = NULL;
}

static void
pipe_process_delimiter(struct pipe *p)
{
	if (p->state == PIPE_ACTIVE) {
		p->state = PIPE_DELIMITER_RECEIVED;
	} else if (p->state == PIPE_WAITING_FOR_DELIMITER) {
		pipe_stop_writing(p);
		pipe_send(p->peer, CMD_PIPE_TERM_ACK);
		p->state = PIPE_TERM_ACK_SENT;
	}
}

bool
pipe_check_read(struct pipe *p)
{
	if (!p->in_active || !pipe_readable_state(p))
		return false;
	const struct msg *next = ypipe_peek(&p->inq);
	if (!next) {
		p->in_active = false;
		return false;
	}
	if (msg_is_delimiter(next)) {
		struct ycell cell;
		ypipe_read(&p->inq, &cell);
		pipe_process_delimiter(p);
		return false;
	}
	return true;
}

bool
pipe_read(struct pipe *p, struct msg *m)
{
	if (!p->in_active || !pipe_readable_state(p))
		return false;
	struct ycell cell;
	if (!ypipe_read(&p->inq, &cell)) {
		p->in_active = false;
		return false;
	}
	struct msg *got = (struct msg *)(void *)&cell;
	if (msg_is_delimiter(got)) {
		pipe_process_delimiter(p);
		return false;
	}
	if (!(got->flags & MSGF_MORE)) {
		p->msgs_read++;
		if (p->lwm > 0 && p->msgs_read % (uint64_t)p->lwm == 0 && p->peer)
			send_activate_write(&p->peer->obj, p->msgs_read);
	}
	memcpy(m, got, sizeof *m);
	return true;
}

bool
pipe_check_write(struct pipe *p)
{
	if (!p->out_active || p->state != PIPE_ACTIVE || !p->out)
		return false;
	if (p->hwm > 0 && (int64_t)(p->msgs_written - p->peers_msgs_read) >= p->hwm) {
		p->out_active = false;
		return false;
	}
	return true;
}

int
pipe_write(struct pipe *p, struct msg *m)
{
	if (!pipe_check_write(p))
		return -EAGAIN;
	bool more = (m->flags & MSGF_MORE) != 0;
	int rc = ypipe_write(p->out, m, more);
	if (rc < 0)
		return rc;
	if (!more)
		p->msgs_written++;
	msg_init(m);
	return 0;
}

void
pipe_hiccup(struct pipe *p)
{
	if (p->state == PIPE_ACTIVE && p->peer)
		pipe_send(p->peer, CMD_HICCUP);
}

void
pipe_rollback(struct pipe *p)
{
	if (!p->out)
		return;
	struct ycell cell;
	while (ypipe_unwrite(p->out, &cell))
		msg_close((struct msg *)(void *)&cell);
}

void
pipe_flush(struct pipe *p)
{
	if (p->state == PIPE_TERM_ACK_SENT || !p->out)
		return;
	if (!ypipe_flush(p->out))
		pipe_send(p->peer, CMD_ACTIVATE_READ);
}

void
pipe_terminate(struct pipe *p, bool delay)
{
	p->delay = delay;
	switch (p->state) {
	case PIPE_TERM_REQ_SENT1:
	case PIPE_TERM_REQ_SENT2:
	case PIPE_TERM_ACK_SENT: return;
	case PIPE_ACTIVE:
	case PIPE_DELIMITER_RECEIVED:
		pipe_send(p->peer, CMD_PIPE_TERM);
		p->state = PIPE_TERM_REQ_SENT1;
		break;
	case PIPE_WAITING_FOR_DELIMITER:
		if (delay)
			return; /* the owner reads on; the delimiter finishes it */
		pipe_stop_writing(p);
		pipe_send(p->peer, CMD_PIPE_TERM_ACK);
		p->state = PIPE_TERM_ACK_SENT;
		return;
	}
	/* Stop the outbound flow: the delimiter goes behind what is already queued. */
	p->out_active = false;
	if (p->out) {
		pipe_rollback(p);
		struct msg d;
		msg_init_delimiter(&d);
		while (ypipe_write(p->out, &d, false) < 0) {
			/* The delimiter must get through or the peer waits forever; a
			 * chunk is freed as soon as the reader advances. */
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
		pipe_flush(p);
	}
}

void
pipe_destroy_pair_unused(struct pipe *p)
{
	struct pipe *peer = p->peer;
	pipe_free(p);
	if (peer)
		pipe_free(peer);
}

static void
pipe_process_pipe_term(struct pipe *p)
{
	switch (p->state) {
	case PIPE_ACTIVE:
		if (p->delay) {
			p->state = PIPE_WAITING_FOR_DELIMITER;
			/* The owner may not be reading: tell it, so it reads to the end.
			 */
			if (!p->in_active && p->sink_ops) {
				p->in_active = true;
				p->sink_ops->read_activated(p->sink, p);
			}
			return;
		}
		p->state = PIPE_TERM_ACK_SENT;
		break;
	case PIPE_DELIMITER_RECEIVED: p->state = PIPE_TERM_ACK_SENT; break;
	case PIPE_TERM_REQ_SENT1: p->state = PIPE_TERM_REQ_SENT2; break;
	default: return;
	}
	pipe_stop_writing(p);
	pipe_send(p->peer, CMD_PIPE_TERM_ACK);
}

static void
pipe_process_pipe_term_ack(struct pipe *p)
{
	if (p->sink_ops)
		p->sink_ops->terminated(p->sink, p);
	if (p->state == PIPE_TERM_REQ_SENT1) {
		pipe_stop_writing(p);
		pipe_send(p->peer, CMD_PIPE_TERM_ACK);
	}
	pipe_free(p);
}

static void
pipe_process(struct object *o, const struct command *cmd)
{
	struct pipe *p = container_of(o, struct pipe, obj);
	switch (cmd->type) {
	case CMD_ACTIVATE_READ:
		if (!p->in_active && pipe_readable_state(p)) {
			p->in_active = true;
			if (p->sink_ops)
				p->sink_ops->read_activated(p->sink, p);
		}
		break;
	case CMD_ACTIVATE_WRITE:
		p->peers_msgs_read = cmd->args.activate_write.msgs_read;
		if (!p->out_active && p->state == PIPE_ACTIVE) {
			p->out_active = true;
			if (p->sink_ops)
				p->sink_ops->write_activated(p->sink, p);
		}
		break;
	case CMD_HICCUP:
		if (p->state == PIPE_ACTIVE && p->sink_ops && p->sink_ops->hiccuped)
			p->sink_ops->hiccuped(p->sink, p);
		break;
	case CMD_PIPE_TERM: pipe_process_pipe_term(p); break;
	case CMD_PIPE_TERM_ACK: pipe_process_pipe_term_ack(p); break;
	case CMD_PIPE_HWM:
		p->hwm = cmd->args.pipe_hwm.outhwm;
		p->lwm = pipe_lwm(cmd->args.pipe_hwm.inhwm);
		break;
	default: break;
	}
}

static const struct object_ops pipe_object_ops = {.process = pipe_process};
