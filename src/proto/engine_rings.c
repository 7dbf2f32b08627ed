/*
 * engine_rings.c: the rings carrier (engine_impl.h) of shm:// (seed 002). The greeting
 * and the handshake run over the rendezvous Unix socket as on ipc:// (the stream
 * carrier's functions, with descriptors received alongside the bytes); then the
 * connecting side creates a sealed memfd with one byte ring per direction
 * (proto/shm_ring.h) and two eventfds, and passes them with a SHM command
 * (SCM_RIGHTS), boxed like any command when the mechanism boxes. The carrier then
 * switches its ops from the handshake's to the rings': messages move through the rings
 * (each one a box with CURVE, as on a stream), and the Unix socket stays open only so
 * that the peer's death shows as EOF. Each side sleeps on its own eventfd, which the
 * other raises only on a sleeping -> busy transition (data for a sleeping reader, room
 * for a sleeping writer), so a busy connection makes no system call at all.
 *
 * With spinning on, sockets whose messages go as they are (no boxes) get the rings as the
 * direct road of their pipe (shm_link.h): the socket's own thread reads and writes them,
 * and the engine only forwards wake-ups.
 *
 * Threads: the engine's I/O thread.
 */
#include "platform/alloc.h"
#include "platform/net.h"
#include "platform/shm.h"
#include "platform/signaler.h"
#include "proto/engine_impl.h"
#include "proto/session.h"
#include "proto/shm_link.h"
#include "zmq.h"

#include <errno.h>
#include <string.h>

#define SHM_READ_BUDGET  1024
#define SHM_WRITE_BUDGET 4096
/* The SHM command's frame: flags, size, then "\3SHM" and the 8-byte ring size, or
 * (boxed) CURVE's 33 bytes more around them: always a short frame. */
#define SHM_FRAME_MAX 96

struct carrier_rings {
	struct carrier base;
	struct shm_link *link; /* the shared memory, the rings and the eventfds */
	struct poll_handle *handle;
	bool creator;
	bool direct;       /* the socket's thread reads the ring (pipe/direct.h) */
	bool at_marker;    /* we reached the socket end's marker (it may still write) */
	bool handed;       /* ... and writes it: we no longer do */
	bool send_pending; /* creator: the SHM command is still to be sent */
	bool reader_asleep, writer_asleep;
	bool out_has;
	bool out_mid;     /* the last part we wrote had MORE: the next is no first part */
	bool out_counted; /* shared writing: the message under way counts in pending */
	bool peer_gone;   /* the rendezvous socket hit EOF: drain the ring, then end */
	bool pool_pending; /* zero-copy: our pool is still to be passed to the peer */
	bool pool_heard;   /* the peer passed its pool (once only) */
	struct msg out;    /* a message (boxed if need be) the ring had no room for yet */
	uint8_t setup[SHM_FRAME_MAX]; /* creator: the SHM frame, built once */
	size_t setup_len;
	int fds[ZN_SHM_FDS_MAX];
	int nfds; /* attacher: descriptors received before the SHM command */
};

static const struct carrier_ops rings_flowing;
static const struct poll_handler_ops rings_handler;
static int rings_read(struct carrier_rings *r);

static struct carrier_rings *
rings_of(struct carrier *c)
{
	return container_of(c, struct carrier_rings, base);
}

static int
rings_init(struct carrier *c)
{
	struct carrier_rings *r = rings_of(c);
	msg_init(&r->out);
	return shm_link_new(&r->link);
}

static void
rings_fini(struct carrier *c)
{
	struct carrier_rings *r = rings_of(c);
	struct engine *e = c->e;
	if (r->handle)
		poller_rm_fd(e->poller, r->handle);
	if (r->link) {
		shm_link_close(r->link);
		if (r->direct && e->session)
			session_wake_direct(e->session); /* it reads what is left, then
			                                    lets go */
		shm_link_rele(r->link);
	}
	for (int i = 0; i < r->nfds; i++)
		zn_close_fd(r->fds[i]);
	msg_close(&r->out);
}

/* ---- Moving messages ------------------------------------------------------------ */

/* rings_read: takes what the peer published. 0, or -1 when the engine is gone. */
static int
rings_read(struct carrier_rings *r)
{
	struct engine *e = r->base.e;
	struct shm_link *l = r->link;
	bool peer_gone = r->peer_gone;
	int n = 0;
	while (!e->input_stopped && n < SHM_READ_BUDGET) {
		struct msg m;
		msg_init(&m);
		int rc = shm_link_read(l, &m);
		if (rc == 0 && peer_gone) {
			/* Everything the peer published before it went is delivered. */
			session_flush(e->session);
			engine_fail(e, ENGINE_END_CLOSED, 0);
			return -1;
		}
		if (rc == 0)
			break;
		if (rc < 0) {
			engine_fail_rc(e, rc);
			return -1;
		}
		n++;
		rc = engine_deliver(e, &m); /* unboxes it first, when it is a box */
		if (rc < 0 && rc != -EAGAIN) {
			engine_fail_rc(e, rc);
			return -1;
		}
	}
	session_flush(e->session);
	if (shm_ring_release(&l->r) == 1)
		signaler_raise(&l->peer);
	if (e->input_stopped)
		return 0; /* the pipe is full: resume_input reads on */
	if (n == SHM_READ_BUDGET) {
		signaler_raise(&l->mine); /* more to read: come back after others ran */
		return 0;
	}
	int rc = shm_ring_prepare_sleep(&l->r);
	if (rc < 0) {
		engine_fail_rc(e, rc);
		return -1;
	}
	if (rc == 1) {
		signaler_raise(&l->mine); /* data came meanwhile */
	} else {
		r->reader_asleep = true;
		if (n > 0)
			poller_caught_up(e->poller); /* the writer may want this CPU */
	}
	return 0;
}

/* rings_take_marker: the socket end asks for the writing side: everything it queued
 * before the marker is in the ring. It goes on writing its pipe until it sees that we
 * got here, then stops (ypipe_done); rings_hand_over finishes. A marker for an earlier
 * road (whose connection ended first) is only dropped. */
static void
rings_take_marker(struct carrier_rings *r, struct msg *m)
{
	struct shm_link *l = r->link;
	if (r->direct && !r->at_marker && m->routing_id == l->direct.token) {
		r->at_marker = true;
		/* Shared writing: the socket's thread may write the ring from now on
		 * whenever we have nothing of its: what we wrote goes out first. */
		if (l->direct.shared)
			shm_link_wake_peer(l, shm_ring_publish(&l->w));
		atomic_store_explicit(&l->at_marker, true, memory_order_release);
	}
	msg_close(m);
	msg_init(m);
}

/* rings_hand_over: the pipe is empty and the socket end has stopped writing it: the
 * ring is its own from now. */
static void
rings_hand_over(struct carrier_rings *r)
{
	struct shm_link *l = r->link;
	shm_link_wake_peer(l, shm_ring_publish(&l->w));
	r->handed = true;
	atomic_store_explicit(&l->handed, true, memory_order_release);
	session_wake_direct(r->base.e->session);
}

/* rings_pull: the next message for the ring into r->out. 1, 0 when there is none, or
 * -EPROTO when a message came after the writing was handed over. */
static int
rings_pull(struct carrier_rings *r)
{
	struct engine *e = r->base.e;
	struct shm_link *l = r->link;
	for (;;) {
		msg_init(&r->out);
		if (session_pull_msg(e->session, &r->out) < 0) {
			if (!r->at_marker || r->handed ||
			    !atomic_load_explicit(&l->ypipe_done, memory_order_acquire))
				return 0;
			/* It stopped: what it wrote before is visible now, but the pipe
			 * end went inactive at the pull that found it empty, and the
			 * ACTIVATE_READ for what came since may still be on its way:
			 * look at the ypipe itself, or that message would be pulled
			 * after the hand-over and lost. */
			msg_init(&r->out);
			if (session_pull_msg_again(e->session, &r->out) < 0) {
				rings_hand_over(r);
				return 0;
			}
		}
		if (msg_is_direct(&r->out)) {
			rings_take_marker(r, &r->out);
			continue;
		}
		if (!r->handed)
			return 1;
		/* Cannot happen: once handed over, the socket end writes the ring and
		 * queues nothing for us. Should it, the message could not be placed in
		 * order: end the connection, so that the loss is a disconnection the
		 * application sees (and a test catches), not a silent gap. */
		msg_close(&r->out);
		msg_init(&r->out);
		return -EPROTO;
	}
}

/* rings_next: the next message for the ring, boxed when the mechanism boxes (once:
 * a message the ring has no room for waits in r->out as it will be written). 1, 0
 * when there is none, negative when it could not be boxed (or placed: rings_pull). */
static int
rings_next(struct carrier_rings *r)
{
	int rc = rings_pull(r);
	if (rc <= 0)
		return rc;
	rc = engine_encode(r->base.e, &r->out);
	if (rc < 0) {
		msg_close(&r->out);
		msg_init(&r->out);
		return rc;
	}
	return 1;
}

/* rings_writes: whether the ring's writer is ours now. With shared writing, once the
 * socket end's marker is reached, only while it has messages queued for us (it
 * writes the ring itself when it has none: shm_link.h, pending). */
static bool
rings_writes(struct carrier_rings *r)
{
	struct shm_link *l = r->link;
	if (r->handed)
		return false;
	if (!r->at_marker || !l->direct.shared)
		return true;
	return atomic_load_explicit(&l->pending, memory_order_acquire) != 0;
}

/* rings_wrote_part: r->out (last: its message's last part) is in the ring. A counted
 * message done gives the writer back when it was the last one: published first. */
static void
rings_wrote_part(struct carrier_rings *r, bool last)
{
	struct shm_link *l = r->link;
	r->out_mid = !last;
	if (!last || !r->out_counted)
		return;
	r->out_counted = false;
	if (atomic_load_explicit(&l->pending, memory_order_acquire) == 1)
		shm_link_wake_peer(l, shm_ring_publish(&l->w));
	atomic_fetch_sub_explicit(&l->pending, 1, memory_order_release);
}

/* rings_write_msgs: writes the pipe's messages into the ring. 0, or -1 when the
 * engine is gone. */
static int
rings_write_msgs(struct carrier_rings *r)
{
	struct engine *e = r->base.e;
	struct shm_link *l = r->link;
	for (int round = 0;; round++) {
		if (round == SHM_WRITE_BUDGET) {
			/* Let the other connections of this thread run; our eventfd
			 * brings us back (the pipe will not: its reader is not asleep).
			 */
			signaler_raise(&l->mine);
			break;
		}
		if (!r->out_has) {
			int rc = rings_next(r);
			if (rc < 0) {
				engine_fail_rc(e, rc);
				return -1;
			}
			if (rc == 0) {
				if (round > 0) /* see poller_wait */
					poller_caught_up(e->poller);
				break;
			}
			r->out_has = true;
			if (!r->out_mid)
				r->out_counted = r->at_marker && l->direct.shared;
		}
		bool last = !(msg_flags(&r->out) & MSGF_MORE);
		int rc = shm_link_write(l, &r->out);
		if (rc == 0) {
			r->out_has = false;
			rings_wrote_part(r, last);
			continue;
		}
		if (rc != -EAGAIN) {
			engine_fail_rc(e, rc == -EINVAL ? -EPROTO : rc);
			return -1;
		}
		shm_link_wake_peer(l, shm_ring_publish(&l->w));
		rc = shm_ring_writer_prepare_sleep(&l->w);
		if (rc < 0) {
			engine_fail_rc(e, rc);
			return -1;
		}
		if (rc == 0) {
			r->writer_asleep =
			        true; /* the reader raises us when it makes room */
			return 0;
		}
	}
	if (rings_writes(r))
		shm_link_wake_peer(l, shm_ring_publish(&l->w));
	if (!r->out_has && session_engine_drained(e->session))
		return -1;
	return 0;
}

/* rings_send_pool: zero-copy: our pool goes to the peer as one byte 'Z' with its memfd
 * attached, once the stream has nothing else to send. The peer lends only after it has
 * mapped it (shm_link.h); a failure here only means no lending on this connection. */
static void
rings_send_pool(struct carrier_rings *r)
{
	struct engine *e = r->base.e;
	if (!r->pool_pending || !zmtp_encoder_empty(&e->enc))
		return;
	r->pool_pending = false;
	int fd = shm_pool_fd(r->link->pool);
	(void)zn_shm_send_fds(e->fd, "Z", 1, &fd, 1);
}

/* rings_write: what the stream still holds (the tail of the SHM command) goes first,
 * then the pipe's messages into the ring. */
static int
rings_write(struct carrier *c)
{
	struct engine *e = c->e;
	if (!zmtp_encoder_empty(&e->enc)) {
		int rc = engine_stream_send(e, false);
		if (rc != 1)
			return rc;
		engine_stop_output(e); /* the stream now only tells of the peer's death */
		rings_send_pool(rings_of(c));
	}
	return rings_write_msgs(rings_of(c));
}

/* rings_restart_output: the rings need no POLLOUT: a full ring wakes us through the
 * eventfd. */
static void
rings_restart_output(struct carrier *c)
{
	(void)rings_write(c);
}

static void
rings_resume_input(struct carrier *c)
{
	struct carrier_rings *r = rings_of(c);
	if (!r->direct)
		(void)rings_read(r);
}

static void
rings_stop_input(struct carrier *c)
{
	(void)c; /* the fd only reports the peer's death now: keep watching it */
}

static bool
rings_output_empty(const struct carrier *c)
{
	const struct carrier_rings *r = container_of(c, const struct carrier_rings, base);
	return zmtp_encoder_empty(&c->e->enc) && !r->out_has;
}

/* rings_peer_gone: the rendezvous socket hit EOF: the peer is dead, but what it
 * published before is still delivered. */
static void
rings_peer_gone(struct carrier_rings *r)
{
	struct engine *e = r->base.e;
	r->peer_gone = true;
	/* Stop watching the socket at all: a hung-up fd reports EPOLLHUP whatever we
	 * ask for, and would spin this thread while the pipe is full. */
	if (e->handle) {
		poller_rm_fd(e->poller, e->handle);
		e->handle = NULL;
	}
	if (r->direct)
		engine_fail(e, ENGINE_END_CLOSED, 0); /* the socket's thread drains */
	else if (!e->input_stopped)
		(void)rings_read(r); /* else rings_resume_input drains, then ends */
}

/* rings_pool_heard: the peer's pool ('Z' with one descriptor, once). Mapped when we
 * take zero-copy messages; else closed, and the peer copies. 0 or negative. */
static int
rings_pool_heard(struct carrier_rings *r, uint8_t b, int *fds, int nfds)
{
	struct engine *e = r->base.e;
	int rc = -EPROTO;
	if (b == 'Z' && nfds == 1 && !r->pool_heard) {
		r->pool_heard = true;
		rc = e->opts.shm_zerocopy > 0 ? shm_link_zc_borrow(r->link, fds[0]) : 0;
	}
	for (int i = 0; i < nfds; i++)
		zn_close_fd(fds[i]);
	return rc;
}

/* rings_fd_event: after the switch the stream carries only the peer's pool (zero-copy)
 * and then nothing: EOF is the peer's death (whether or not our input is stopped: an
 * unread EOF spins epoll). */
static void
rings_fd_event(struct carrier *c)
{
	struct engine *e = c->e;
	uint8_t b;
	int fds[ZN_SHM_FDS_MAX];
	int nfds = 0;
	int n = zn_shm_recv_fds(e->fd, &b, 1, fds, &nfds);
	if (n == 0) {
		rings_peer_gone(rings_of(c));
	} else if (n == 1) {
		int rc = rings_pool_heard(rings_of(c), b, fds, nfds);
		if (rc < 0)
			engine_fail_rc(e, rc);
	} else if (n != -EAGAIN) {
		engine_fail_rc(e, n == -EPROTO ? -EPROTO : -ECONNRESET);
	}
}

/* rings_event: our eventfd: data, room, or (with the direct road) the socket's thread
 * found the peer broken. */
static void
rings_event(void *arg)
{
	struct engine *e = arg;
	struct carrier_rings *r = rings_of(e->carrier);
	struct shm_link *l = r->link;
	signaler_drain(&l->mine);
	if (r->reader_asleep) {
		shm_ring_end_sleep(&l->r);
		r->reader_asleep = false;
	}
	if (r->writer_asleep) {
		shm_ring_writer_end_sleep(&l->w);
		r->writer_asleep = false;
	}
	if (r->direct) {
		if (atomic_load_explicit(&l->broken, memory_order_acquire)) {
			engine_fail_rc(e, -EPROTO); /* the socket's thread found it */
			return;
		}
		session_wake_direct(e->session); /* data or room for the socket */
	} else if (rings_read(r) < 0) {
		return;
	}
	(void)rings_write(&r->base);
}

static const struct poll_handler_ops rings_handler = {.in_event = rings_event};

/* ---- Switching over ------------------------------------------------------------- */

/* rings_offer_direct: the socket types that take the road read (and, once they ask,
 * write) the rings from their own thread. Not when the mechanism
 * boxes: the boxes are opened and made here. false: the engine does it all. */
static bool
rings_offer_direct(struct carrier_rings *r)
{
	struct engine *e = r->base.e;
	if (!e->opts.type->direct_road)
		return false;
	if (engine_boxes(e))
		return false;
	struct shm_link *l = r->link;
	if (e->meta && !l->meta) {
		metadata_hold(e->meta);
		l->meta = e->meta;
	}
	/* Without spinning the socket's thread shares the writing (pipe/direct.h): a
	 * send never waits for the reader, as over any transport. */
	l->direct.shared = e->opts.shm_spin_us <= 0;
	/* A socket that spins on the road lets the writer publish without a locked
	 * instruction, for a fence each time it gives up and sleeps (shm_ring.h, "Fenced
	 * sleeping"). Set before the road is offered: the socket's thread reads it. */
	if (e->opts.shm_spin_us > 0)
		(void)shm_ring_reader_fence(&l->r);
	shm_link_hold(l);
	if (session_offer_direct(e->session, &l->direct) < 0) {
		shm_link_rele(l);
		return false;
	}
	return true;
}

/* rings_lend: with ZINC_SHM_ZEROCOPY, the link lends from the context's pool, which
 * goes to the peer once the stream is idle. Without the pool (it could not be made)
 * messages are copied as usual. */
static void
rings_lend(struct carrier_rings *r)
{
	struct engine *e = r->base.e;
	if (e->opts.shm_zerocopy <= 0)
		return;
	struct shm_pool *pool = shm_pool_get(session_object(e->session)->ctx,
	                                     (size_t)e->opts.shm_pool_size);
	if (!pool)
		return;
	int pidfd = zn_shm_peer_pidfd(e->fd);
	if (shm_link_zc_lend(r->link, pool, (uint64_t)e->opts.shm_zerocopy,
	                     pidfd < 0 ? -1 : pidfd) < 0) {
		if (pidfd >= 0)
			zn_close_fd(pidfd);
		shm_pool_rele(pool);
		return;
	}
	r->pool_pending = true;
}

/* rings_activate: the rings are mapped on both sides: messages go through them from
 * now on, and the carrier's ops are the rings'. */
static int
rings_activate(struct carrier_rings *r)
{
	struct engine *e = r->base.e;
	struct shm_link *l = r->link;
	shm_ring_writer_init(&l->w, &l->region);
	shm_ring_writer_set_waker(&l->w, shm_link_waker, l);
	shm_ring_reader_init(&l->r, &l->region, e->opts.maxmsgsize);
	/* Registering for a fencing peer's membarrier costs tens of milliseconds, once
	 * per process (a grace period in the kernel): for a socket that spins, whose
	 * peers are the ones that fence, here rather than in the first message's send
	 * (shm_ring.h, "Fenced sleeping"); a writer that meets a fencing peer otherwise
	 * registers when it first publishes to it. */
	if (e->opts.shm_spin_us > 0)
		(void)zn_shm_fence_ready();
	rings_lend(r);
	int rc = poller_add_fd(e->poller, l->mine.fd, &rings_handler, e, &r->handle);
	if (rc < 0) {
		r->handle = NULL;
		return rc;
	}
	poller_set_pollin(e->poller, r->handle);
	r->base.ops = &rings_flowing;
	r->direct = rings_offer_direct(r);
	/* The stream now only tells of the peer's death (once it has sent the rest of
	 * the SHM command, if any). */
	if (zmtp_encoder_empty(&e->enc))
		engine_stop_output(e);
	rings_send_pool(r);
	signaler_raise(&l->mine); /* read what may already be there, write what waits */
	return 0;
}

/* rings_build_setup: the creator's SHM command, boxed when the mechanism boxes, as one
 * frame in r->setup. 0 or negative. */
static int
rings_build_setup(struct carrier_rings *r)
{
	uint8_t size_be[8];
	uint64_t size = r->link->region.ring_size;
	for (int i = 0; i < 8; i++)
		size_be[i] = (uint8_t)(size >> (56 - 8 * i));
	struct msg cmd;
	int rc = zmtp_command_build(&cmd, "SHM", size_be, sizeof size_be);
	if (rc < 0)
		return rc;
	if ((rc = engine_encode(r->base.e, &cmd)) < 0) {
		msg_close(&cmd);
		return rc;
	}
	size_t len = msg_size(&cmd);
	if (len > sizeof r->setup - 2) {
		msg_close(&cmd);
		return -EMSGSIZE; /* cannot happen: see SHM_FRAME_MAX */
	}
	unsigned f = msg_flags(&cmd);
	r->setup[0] = (uint8_t)(((f & MSGF_COMMAND) ? ZMTP_FLAG_COMMAND : 0) |
	                        ((f & MSGF_MORE) ? ZMTP_FLAG_MORE : 0));
	r->setup[1] = (uint8_t)len;
	memcpy(r->setup + 2, msg_data(&cmd), len);
	r->setup_len = 2 + len;
	msg_close(&cmd);
	return 0;
}

/* rings_send_setup: the creator passes the memfd and both eventfds with the SHM
 * command. 0 when sent (the rings are active), or to be retried on POLLOUT (the READY
 * is not out yet, or the socket is full); negative on failure. */
static int
rings_send_setup(struct carrier_rings *r)
{
	struct engine *e = r->base.e;
	if (!zmtp_encoder_empty(&e->enc))
		return 0; /* the READY goes first; rings_handshake_write retries */
	int rc;
	if (r->setup_len == 0 && (rc = rings_build_setup(r)) < 0)
		return rc;
	struct shm_link *l = r->link;
	int fds[5] = {l->region.fd, l->mine.fd, l->peer.fd, l->mine_app.fd,
	              l->peer_app.fd};
	int n = zn_shm_send_fds(e->fd, r->setup, r->setup_len, fds, 5);
	if (n == -EAGAIN)
		return 0;
	if (n < 0)
		return n;
	if ((size_t)n < r->setup_len) {
		if (zmtp_encoder_raw(&e->enc, r->setup + n, r->setup_len - (size_t)n) < 0)
			return -ENOBUFS;
		engine_start_output(e); /* the tail goes at POLLOUT (rings_write) */
	}
	r->send_pending = false;
	return rings_activate(r);
}

/* rings_ready: the handshake is done. The creator (the connecting side) makes the
 * memory and sends it once the READY is out; the other side waits for it. */
static int
rings_ready(struct carrier *c)
{
	struct carrier_rings *r = rings_of(c);
	struct engine *e = c->e;
	r->creator = e->session && session_is_active(e->session);
	if (!r->creator)
		return 0; /* wait for the SHM command */
	uint64_t size = e->opts.shm_ring_size > 0 ? (uint64_t)e->opts.shm_ring_size
	                                          : SHM_RING_SIZE_DEFAULT;
	struct shm_link *l = r->link;
	int rc = shm_ring_region_create(&l->region, size);
	if (rc < 0)
		return rc;
	struct signaler *sig[4] = {&l->mine, &l->peer, &l->mine_app, &l->peer_app};
	for (int i = 0; i < 4; i++) {
		if ((rc = zn_shm_eventfd_create(&sig[i]->fd)) < 0)
			return rc;
	}
	r->send_pending = true;
	/* Now if the READY is out; else rings_handshake_write, once it is. */
	return rings_send_setup(r);
}

/* rings_handshake_write: the handshake's commands over the stream; then the creator's
 * SHM command. */
static int
rings_handshake_write(struct carrier *c)
{
	struct carrier_rings *r = rings_of(c);
	struct engine *e = c->e;
	int rc = engine_stream_send(e, false); /* messages wait for the rings */
	if (rc != 1)
		return rc;
	if (r->send_pending) {
		rc = rings_send_setup(r);
		if (rc < 0) {
			engine_fail_rc(e, rc);
			return -1;
		}
		return 0; /* the rings took over, or POLLOUT brings us back */
	}
	return engine_output_idle(e);
}

/* rings_recv: reads the rendezvous socket, keeping the descriptors that come with the
 * bytes (the attacher's memfd and eventfds). */
static ssize_t
rings_recv(struct carrier_rings *r, void *buf, size_t len)
{
	int fds[ZN_SHM_FDS_MAX];
	int nfds = 0;
	int n = zn_shm_recv_fds(r->base.e->fd, buf, len, fds, &nfds);
	if (n <= 0 || nfds == 0)
		return n;
	if (r->nfds + nfds > ZN_SHM_FDS_MAX) {
		for (int i = 0; i < nfds; i++)
			zn_close_fd(fds[i]);
		return -EPROTO;
	}
	for (int i = 0; i < nfds; i++)
		r->fds[r->nfds++] = fds[i];
	return n;
}

static void
rings_handshake_in_event(struct carrier *c)
{
	struct engine *e = c->e;
	if (engine_input_held(e))
		return;
	uint8_t *buf = engine_read_buffer(e);
	ssize_t n = buf ? rings_recv(rings_of(c), buf, ENGINE_INBUF) : -ENOMEM;
	if (n == -EAGAIN)
		return;
	engine_stream_input_end(e, engine_stream_consume(e, buf, n));
}

/* rings_command: the attacher's SHM command. */
static int
rings_command(struct carrier *c, const char *name, size_t nlen, const uint8_t *data,
              size_t len)
{
	struct carrier_rings *r = rings_of(c);
	struct engine *e = c->e;
	/* Only the attacher gets one, once, after the handshake, as the last thing the
	 * stream carries, with exactly a memfd and two eventfds attached, or four (the
	 * second pair for threads that wait on the road themselves; a creator that sends
	 * two has every wake-up go through the I/O threads). */
	if (nlen != 3 || memcmp(name, "SHM", 3) != 0 || r->creator || len != 8 ||
	    (r->nfds != 3 && r->nfds != 5) || e->in_pos != e->in_len)
		return -EPROTO;
	uint64_t size = 0;
	for (int i = 0; i < 8; i++)
		size = size << 8 | data[i];
	for (int i = 1; i < r->nfds; i++) {
		if (zn_shm_eventfd_verify(r->fds[i]) < 0)
			return -EPROTO;
	}
	struct shm_link *l = r->link;
	int rc = shm_ring_region_attach(&l->region, r->fds[0], size);
	if (rc < 0)
		return rc == -ENOMEM ? rc : -EPROTO;
	l->peer.fd = r->fds[1]; /* the creator sleeps on the first of each pair */
	l->mine.fd = r->fds[2];
	if (r->nfds == 5) {
		l->peer_app.fd = r->fds[3];
		l->mine_app.fd = r->fds[4];
	}
	r->nfds = 0;
	return rings_activate(r);
}

/* Before the rings: the handshake over the rendezvous socket. */
const struct carrier_ops carrier_rings = {
        .name = "rings",
        .size = sizeof(struct carrier_rings),
        .init = rings_init,
        .fini = rings_fini,
        .plug = engine_stream_plug,
        .in_event = rings_handshake_in_event,
        .write = rings_handshake_write,
        .restart_output = engine_stream_restart_output,
        .stop_input = engine_stream_stop_input,
        .resume_input = engine_stream_resume,
        .ready = rings_ready,
        .command = rings_command,
        .output_empty = engine_stream_output_empty,
};

/* Once the rings are active (the same state block). A second SHM is a protocol
 * error (no command member). */
static const struct carrier_ops rings_flowing = {
        .name = "rings",
        .size = sizeof(struct carrier_rings),
        .fini = rings_fini,
        .in_event = rings_fd_event,
        .write = rings_write,
        .restart_output = rings_restart_output,
        .stop_input = rings_stop_input,
        .resume_input = rings_resume_input,
        .output_empty = rings_output_empty,
};
