/*
 * pipe.h: one end of a bidirectional message pipe between two objects in (possibly)
 * different threads: a socket and a session, or two sockets over inproc (seed 001,
 * "Pipes"). Each end reads its own inbound ypipe and writes the peer's. Flow control
 * counts whole messages against the writer's high-water mark; the reader sends
 * CMD_ACTIVATE_WRITE every low-water batch. Termination is a delimiter message behind
 * the pending ones, then a PIPE_TERM / PIPE_TERM_ACK handshake; the end that receives
 * the final ack frees itself (and its inbound ypipe).
 *
 * Threads: all functions run in the thread of the pipe's sink (its owner), which is
 * also where its commands are processed.
 */
#ifndef ZINC_PIPE_PIPE_H
#define ZINC_PIPE_PIPE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/object.h"
#include "core/ypipe.h"
#include "pipe/direct.h"
#include "pipe/msg.h"

struct pipe;
struct road;

/* The owner of a pipe end hears about its pipe through these, in its own thread. */
struct pipe_sink_ops {
	void (*read_activated)(void *sink, struct pipe *p);
	void (*write_activated)(void *sink, struct pipe *p);
	void (*hiccuped)(void *sink, struct pipe *p);
	/* reading_kept: the peer end kept its connection's reading between two receives
	 * (shortcut.h): whoever owns the connection watches that it comes back. */
	void (*reading_kept)(void *sink, struct pipe *p);
	/* terminated: the pipe is gone after this returns; forget it. */
	void (*terminated)(void *sink, struct pipe *p);
};

enum pipe_state {
	PIPE_ACTIVE,
	PIPE_DELIMITER_RECEIVED,    /* read the delimiter before the peer's PIPE_TERM */
	PIPE_WAITING_FOR_DELIMITER, /* peer asked to end; pending messages still readable
	                             */
	PIPE_TERM_ACK_SENT,
	PIPE_TERM_REQ_SENT1,
	PIPE_TERM_REQ_SENT2,
};

/* Slots for the O(1) arrays a pipe can be in at once (see pipe_array.h). */
enum { PIPE_ARRAY_SOCKET, PIPE_ARRAY_FQ, PIPE_ARRAY_LB, PIPE_ARRAY_DIST, PIPE_ARRAYS };

struct pipe {
	struct object obj;
	struct pipe *peer;
	struct ypipe inq;  /* read here; freed by this end */
	struct ypipe *out; /* the peer's inq; NULL once we stopped writing */
	bool in_active;
	bool out_active;
	bool delay;    /* on peer termination, let pending messages be read first */
	uint8_t state; /* enum pipe_state */
	int64_t hwm;   /* max messages in flight from this end; 0 = unlimited */
	int64_t lwm;   /* reader's batch for ACTIVATE_WRITE */
	/* inproc: the peer socket's share of each direction's HWM (its ZMQ_RCVHWM for
	 * what we write, its ZMQ_SNDHWM for what we read), so that our socket can
	 * recompute the HWMs when its own change; -1 on other pipes. */
	int64_t out_boost, in_boost;
	uint64_t msgs_read;
	uint64_t msgs_reported;  /* msgs_read as last sent in ACTIVATE_WRITE */
	size_t bytes_unreported; /* body bytes read since then */
	uint64_t msgs_written;
	uint64_t peers_msgs_read;
	void *sink;
	const struct pipe_sink_ops *sink_ops;
	uint32_t index[PIPE_ARRAYS];
	void *user;      /* the sink's per-pipe data (endpoint record) */
	void *sock_data; /* the socket type's per-pipe data (ROUTER's peer record) */
	/* The peer's routing id, as it announced it (ZMTP Identity, inproc
	 * ZMQ_ROUTING_ID) or as ZMQ_CONNECT_ROUTING_ID named it; set before the end
	 * reaches its socket. */
	uint8_t peer_rid_len;
	uint8_t peer_rid[255];
	/* ZMQ_PROBE_ROUTER's empty message was already written on this end before it
	 * reached its socket (by a connecting ROUTER's session): attach writes no other.
	 */
	bool probe_sent;
	/* The peer end's owner ended this pipe for want of memory, not by choice
	 * (pipe_terminate_nomem): written by the peer's thread before the PIPE_TERM
	 * that orders it, read here after it. A session then retries its connection. */
	bool ended_nomem;
	/* The direct road (road.h): NULL until the first one is offered to this end. */
	struct road *road;
	bool out_more; /* the last part written to the ypipe had MORE */
	/* The owner's switch, for whatever road the end gets: while it is on, an empty or
	 * full road is left unarmed for the owner to arm after it has spun. */
	const bool *defer_arm;
	/* A stream connection's writing lent to this end (shortcut.h), or NULL. */
	struct pipe_shortcut *shortcut;
	bool sc_waiting; /* a receive borrowed its reading (pipe_wait_begin) */
	/* What the shortcut's heuristics ask (shortcut.h): something was flushed since
	 * a receive last tried to borrow; a message was read directly since the last
	 * flush; the borrowing wait began so (keep the reading after it). */
	bool sc_sent, sc_got, sc_answered;
	bool sc_kept; /* the last wait kept the reading (maybe taken back since) */
};

/* pipe_pair: creates two connected ends, p[0] living in parents[0]'s thread and p[1]
 * in parents[1]'s. hwm[i] caps messages in flight written by p[i] (0: unlimited).
 * 0 or -ENOMEM (nothing allocated). */
int pipe_pair(struct object *parents[2], struct pipe *p[2], const int64_t hwm[2]);
/* pipe_set_sink: who hears about this end's events. */
void pipe_set_sink(struct pipe *p, void *sink, const struct pipe_sink_ops *ops);
/* pipe_set_tid: moves an end not yet in use to another thread (inproc bind). */
void pipe_set_tid(struct pipe *p, uint32_t tid);
/* pipe_set_hwms: this end's outbound HWM, and the HWM of what the peer writes to it
 * (which sets this end's report batch). Only for an end not yet in use. */
void pipe_set_hwms(struct pipe *p, int64_t out_hwm, int64_t in_hwm);
/* pipe_set_boosts: see out_boost and in_boost. Only for an end not yet in use. */
void pipe_set_boosts(struct pipe *p, int64_t out_boost, int64_t in_boost);
/* pipe_hwm_with: a socket's HWM with the peer's boost: unchanged without a boost,
 * unlimited when either is 0, else their sum (an inproc pipe holds both sides'
 * allowance). */
static inline int64_t
pipe_hwm_with(int64_t own, int64_t boost)
{
	if (boost < 0)
		return own;
	if (own == 0 || boost == 0)
		return 0;
	return own + boost;
}
/* pipe_update_hwms: new HWMs for an end in use (its socket's options changed, as
 * pipe_set_hwms otherwise). A writer that was full and now has room is activated; a
 * reader whose new batch is already reached reports its reads at once, so neither end
 * waits for what the old values promised. */
void pipe_update_hwms(struct pipe *p, int64_t out_hwm, int64_t in_hwm);
/* pipe_send_hwms: asks the peer end to take these HWMs and boosts (same meaning, its
 * view) with pipe_update_hwms. Nothing is sent once the pipe is ending. */
void pipe_send_hwms(struct pipe *p, int64_t peer_out_hwm, int64_t peer_in_hwm,
                    int64_t peer_out_boost, int64_t peer_in_boost);
/* pipe_set_peer_rid: records the peer's routing id (len 0: none). Only for an end not
 * yet handed to its owner. */
void pipe_set_peer_rid(struct pipe *p, const void *rid, size_t len);
/* pipe_set_nodelay: for ends that never read (PUSH, PUB): ack a peer's PIPE_TERM at
 * once instead of waiting to read its delimiter. */
static inline void
pipe_set_nodelay(struct pipe *p)
{
	p->delay = false;
}

/* pipe_draining: the writer has ended; what it wrote is still to be read, up to its
 * delimiter. */
static inline bool
pipe_draining(const struct pipe *p)
{
	return p->state == PIPE_WAITING_FOR_DELIMITER;
}

/* pipe_check_read: true when a message can be read now. */
bool pipe_check_read(struct pipe *p);
/* pipe_probe_read: whether a read may find something: false when nothing has come
 * since the last read (as far as plain loads can tell), true when something may have.
 * Unlike pipe_check_read it changes nothing: the pipe stays active and nothing is
 * armed, so a reader that only wants what is already there (a REQ dropping stale
 * replies before each request) does not pay for a wake-up it does not wait for. */
bool pipe_probe_read(struct pipe *p);
/* pipe_read: moves the next message part into *m (which must be empty/closed).
 * false when none is available (the end becomes inactive until ACTIVATE_READ). */
bool pipe_read(struct pipe *p, struct msg *m);
/* pipe_recheck_read: the next pipe_read looks at the ypipe again, though the last one
 * found it empty and the ACTIVATE_READ for what came since is still on its way (the
 * writer told us otherwise that it wrote; its flush happened before). */
void pipe_recheck_read(struct pipe *p);
/* pipe_check_write: true when a new message may be written (below the HWM). */
bool pipe_check_write(struct pipe *p);
/* pipe_write: on 0 the pipe owns m's content and m is reset to empty. On -EAGAIN
 * (full or terminating) or -ENOMEM, m is unchanged and still the caller's. */
int pipe_write(struct pipe *p, struct msg *m);
/* pipe_write_or_drop: pipe_write for the owners that drop a message they cannot
 * deliver (PUB, XPUB, REP, a ROUTER without ZMQ_ROUTER_MANDATORY). A ypipe takes the
 * later parts of a message whatever its HWM, but a direct road has only its ring: there
 * a later part that finds no room fails too (-EAGAIN, the message is the caller's to
 * roll back and drop) instead of waiting for a reader that may never come. */
int pipe_write_or_drop(struct pipe *p, struct msg *m);
/* pipe_hiccup: tells the peer end's owner that a new peer is behind this end. */
void pipe_hiccup(struct pipe *p);
/* pipe_rollback: drops the parts of an unfinished multipart message. */
void pipe_rollback(struct pipe *p);
/* pipe_peer_idle: true when the peer end has read everything this end published
 * and waits for more (false once this end stopped writing). Writer's thread. */
static inline bool
pipe_peer_idle(struct pipe *p)
{
	return p->out && ypipe_reader_idle(p->out);
}
/* pipe_flush: publishes complete messages; wakes the reader if it slept. With a
 * shortcut (shortcut.h) and the connection idle, writes them to it instead. */
void pipe_flush(struct pipe *p);
/* pipe_flush_queued: pipe_flush, with queued: always by the ypipe (one of many copies
 * of a message: the I/O threads write those). */
void pipe_flush_queued(struct pipe *p, bool queued);
/* pipe_terminate: starts ending the pipe. Pending outbound messages stay readable by
 * the peer. delay: see pipe_set_nodelay. Idempotent. The sink's terminated callback
 * runs when the handshake completes. */
void pipe_terminate(struct pipe *p, bool delay);
/* pipe_terminate_nomem: pipe_terminate(p, false) by an owner that cannot keep the
 * pipe for want of memory (an attach, a subscription it could not store): the peer
 * end is marked ended_nomem, so that a session behind it ends its connection and
 * retries, rather than keep a connection with no pipe. */
void pipe_terminate_nomem(struct pipe *p);
/* pipe_offer_direct: (the I/O side) queues a hand-over marker for the peer end,
 * behind what is queued, outside the HWM; the marker takes over the reference to d.
 * 0, or -ENOMEM / -EPIPE (the pipe is ending): then d is still the caller's. */
int pipe_offer_direct(struct pipe *p, struct pipe_direct *d);
/* pipe_offer_shortcut: (the I/O side) lends the connection's writing to the peer end
 * (shortcut.h), with a reference that CMD_PIPE_SHORTCUT hands over. 0, or -EPIPE (the
 * pipe is ending): then the reference is still the caller's. */
struct pipe_shortcut;
int pipe_offer_shortcut(struct pipe *p, struct pipe_shortcut *s);
/* pipe_set_shortcut: the same for an end nobody else holds yet (its CMD_BIND is still
 * to be sent): the reference is the end's. */
void pipe_set_shortcut(struct pipe *p, struct pipe_shortcut *s);
/* pipe_wake_direct: (the I/O side) the peer end's road has data or room, or ended:
 * sends CMD_PIPE_WAKE when the handshake still allows commands to the peer. */
void pipe_wake_direct(struct pipe *p);
/* pipe_has_direct: whether this end reads or writes a direct road. */
bool pipe_has_direct(const struct pipe *p);
/* pipe_writes_direct: whether this end writes its road itself (the hand-over is
 * done). */
bool pipe_writes_direct(const struct pipe *p);
/* pipe_spin_quiet / pipe_spin_ready: for a socket that spins before it sleeps. quiet
 * takes back the wake-up requests of the end's road (in: reading, else writing) and
 * leaves it for pipe_arm_deferred; ready tells whether the road has data (room), and
 * activates the end as a CMD_PIPE_WAKE would. */
void pipe_spin_quiet(struct pipe *p, bool in);
bool pipe_spin_ready(struct pipe *p, bool in);
/* pipe_wait_begin / pipe_wait_end: around the owner's blocking wait to read: begin
 * gives the fd of the end's road to poll beside the mailbox (-1: none; -2: the road
 * has data now, do not wait); end, after a begin that gave an fd, takes the request
 * back and activates the end if data came (true), as a CMD_PIPE_WAKE would. */
int pipe_wait_begin(struct pipe *p);
bool pipe_wait_end(struct pipe *p, bool fired);
/* pipe_reading_kept / pipe_give_back: whether the last pipe_wait_end kept the
 * connection's reading for the next receive (shortcut.h); gives it back, for an owner
 * about to wait or look in any other way. */
static inline bool
pipe_reading_kept(const struct pipe *p)
{
	return p->sc_kept;
}
void pipe_give_back(struct pipe *p);
/* pipe_set_defer_arm: the owner's switch (see defer_arm), or NULL. */
static inline void
pipe_set_defer_arm(struct pipe *p, const bool *defer_arm)
{
	p->defer_arm = defer_arm;
}
/* pipe_arm_deferred: arms what was left unarmed while the switch was on; true when
 * the end was activated instead (its road turned ready). */
bool pipe_arm_deferred(struct pipe *p);
/* pipe_destroy_unused: frees both ends of a pair that never reached another thread
 * (an inproc connect whose bind never came). */
void pipe_destroy_pair_unused(struct pipe *p);

#endif
