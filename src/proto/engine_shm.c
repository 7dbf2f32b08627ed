/*
 * engine_shm.c: shm:// for the ZMTP engine (seed 002). The greeting and the NULL
 * handshake run over the rendezvous Unix socket as on ipc://; then the connecting side
 * creates a sealed memfd with one byte ring per direction (proto/shm_ring.h) and
 * two eventfds, and passes them with a SHM command (SCM_RIGHTS). From then on messages
 * move through the rings; the Unix socket stays open only so that the peer's death
 * shows as EOF. Each side sleeps on its own eventfd, which the other raises only on a
 * sleeping -> busy transition (data for a sleeping reader, room for a sleeping writer),
 * so a busy connection makes no system call at all.
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

#define SHM_CMD_LEN      14 /* flags, size, "\3SHM", 8-byte ring size */
#define SHM_READ_BUDGET  1024
#define SHM_WRITE_BUDGET 4096

struct engine_shm {
	struct shm_link *link; /* the shared memory, the rings and the eventfds */
	struct poll_handle *handle;
	bool active;
	bool creator;
	bool direct;       /* the socket's thread reads the ring (pipe/direct.h) */
	bool at_marker;    /* we reached the socket end's marker (it may still write) */
	bool handed;       /* ... and writes it: we no longer do */
	bool send_pending; /* creator: the SHM command is still to be sent */
	bool reader_asleep, writer_asleep;
	bool out_has;
	bool peer_gone; /* the rendezvous socket hit EOF: drain the ring, then end */
	struct msg out; /* a message the ring had no room for yet */
	int fds[ZN_SHM_FDS_MAX];
	int nfds; /* attacher: descriptors received before the SHM command */
};

static const struct poll_handler_ops shm_handler;
static int shm_read(struct engine *e);

static struct engine_shm *
shm_state_get(struct engine *e)
{
	if (!e->shm_state) {
		struct engine_shm *st = zn_calloc(1, sizeof *st);
		if (!st)
			return NULL;
		if (shm_link_new(&st->link) < 0) {
			zn_free(st);
			return NULL;
		}
		msg_init(&st->out);
		e->shm_state = st;
	}
	return e->shm_state;
}

void
engine_shm_peer_gone(struct engine *e)
{
	struct engine_shm *st = e->shm_state;
	st->peer_gone = true;
	/* Stop watching the socket at all: a hung-up fd reports EPOLLHUP whatever we
	 * ask for, and would spin this thread while the pipe is full. */
	if (e->handle) {
		poller_rm_fd(e->poller, e->handle);
		e->handle = NULL;
	}
	if (st->direct)
		engine_fail(e, ENGINE_END_CLOSED, 0); /* the socket's thread drains */
	else if (!e->input_stopped)
		(void)shm_read(e); /* else engine_shm_restart_input drains, then ends */
}

bool
engine_shm_active(const struct engine *e)
{
	return e->shm_state && e->shm_state->active;
}

bool
engine_shm_output_empty(const struct engine *e)
{
	return !e->shm_state || !e->shm_state->out_has;
}

void
engine_shm_destroy(struct engine *e)
{
	struct engine_shm *st = e->shm_state;
	if (!st)
		return;
	if (st->handle)
		poller_rm_fd(e->poller, st->handle);
	shm_link_close(st->link);
	if (st->direct && e->session)
		session_wake_direct(e->session); /* it reads what is left, then lets go */
	shm_link_rele(st->link);
	for (int i = 0; i < st->nfds; i++)
		zn_close_fd(st->fds[i]);
	msg_close(&st->out);
	zn_free(st);
	e->shm_state = NULL;
}

/* Moving messages. */

/* shm_read: takes what the peer published. 0, or -1 when the engine is gone. */
static int
shm_read(struct engine *e)
{
	struct shm_link *l = e->shm_state->link;
	bool peer_gone = e->shm_state->peer_gone;
	int n = 0;
	while (!e->input_stopped && n < SHM_READ_BUDGET) {
		struct msg m;
		msg_init(&m);
		int rc = shm_ring_read_msg(&l->r, &m);
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
		rc = engine_deliver(e, &m);
		if (rc < 0 && rc != -EAGAIN) {
			engine_fail_rc(e, rc);
			return -1;
		}
	}
	session_flush(e->session);
	if (shm_ring_release(&l->r) == 1)
		signaler_raise(&l->peer);
	if (e->input_stopped)
		return 0; /* the pipe is full: engine_shm_restart_input resumes */
	if (n == SHM_READ_BUDGET) {
		signaler_raise(&l->mine); /* more to read: come back after others ran */
		return 0;
	}
	int rc = shm_ring_prepare_sleep(&l->r);
	if (rc < 0) {
		engine_fail_rc(e, rc);
		return -1;
	}
	if (rc == 1)
		signaler_raise(&l->mine); /* data came meanwhile */
	else
		e->shm_state->reader_asleep = true;
	return 0;
}

/* shm_take_marker: the socket end asks for the writing side: everything it queued
 * before the marker is in the ring. It goes on writing its pipe until it sees that we
 * got here, then stops (ypipe_done); shm_hand_over finishes. A marker for an earlier
 * road (whose connection ended first) is only dropped. */
static void
shm_take_marker(struct engine *e, struct msg *m)
{
	struct engine_shm *st = e->shm_state;
	struct shm_link *l = st->link;
	if (st->direct && !st->at_marker && m->routing_id == l->direct.token) {
		st->at_marker = true;
		atomic_store_explicit(&l->at_marker, true, memory_order_release);
	}
	msg_close(m);
	msg_init(m);
}

/* shm_hand_over: the pipe is empty and the socket end has stopped writing it: the
 * ring is its own from now. */
static void
shm_hand_over(struct engine *e)
{
	struct engine_shm *st = e->shm_state;
	struct shm_link *l = st->link;
	if (shm_ring_publish(&l->w) == 1)
		signaler_raise(&l->peer);
	st->handed = true;
	atomic_store_explicit(&l->handed, true, memory_order_release);
	session_wake_direct(e->session);
}

/* shm_pull: the next message for the ring into st->out: 1, or 0 when there is none. */
static int
shm_pull(struct engine *e)
{
	struct engine_shm *st = e->shm_state;
	struct shm_link *l = st->link;
	for (;;) {
		msg_init(&st->out);
		if (session_pull_msg(e->session, &st->out) < 0) {
			if (!st->at_marker || st->handed ||
			    !atomic_load_explicit(&l->ypipe_done, memory_order_acquire))
				return 0;
			/* It stopped: what it wrote before is visible now. */
			msg_init(&st->out);
			if (session_pull_msg(e->session, &st->out) < 0) {
				shm_hand_over(e);
				return 0;
			}
		}
		if (msg_is_direct(&st->out)) {
			shm_take_marker(e, &st->out);
			continue;
		}
		if (!st->handed)
			return 1;
		msg_close(&st->out); /* cannot happen: the socket end writes the ring */
	}
}

int
engine_shm_write(struct engine *e)
{
	struct engine_shm *st = e->shm_state;
	struct shm_link *l = st->link;
	for (int round = 0;; round++) {
		if (round == SHM_WRITE_BUDGET) {
			/* Let the other connections of this thread run; our eventfd
			 * brings us back (the pipe will not: its reader is not asleep).
			 */
			signaler_raise(&l->mine);
			break;
		}
		if (!st->out_has) {
			if (!shm_pull(e))
				break;
			st->out_has = true;
		}
		int rc = shm_ring_write_msg(&l->w, &st->out);
		if (rc == 0) {
			st->out_has = false;
			continue;
		}
		if (rc != -EAGAIN) {
			engine_fail_rc(e, rc == -EINVAL ? -EPROTO : rc);
			return -1;
		}
		if (shm_ring_publish(&l->w) == 1)
			signaler_raise(&l->peer);
		rc = shm_ring_writer_prepare_sleep(&l->w);
		if (rc < 0) {
			engine_fail_rc(e, rc);
			return -1;
		}
		if (rc == 0) {
			st->writer_asleep =
			        true; /* the reader raises us when it makes room */
			return 0;
		}
	}
	if (!st->handed && shm_ring_publish(&l->w) == 1)
		signaler_raise(&l->peer);
	if (!st->out_has && session_engine_drained(e->session))
		return -1;
	return 0;
}

void
engine_shm_restart_input(struct engine *e)
{
	if (e->has_stash) {
		int rc = session_push_msg(e->session, &e->stash);
		if (rc == -EAGAIN)
			return;
		e->has_stash = false;
		if (rc < 0) {
			engine_fail_rc(e, rc);
			return;
		}
	}
	e->input_stopped = false;
	if (!e->shm_state->direct)
		(void)shm_read(e);
}

static void
shm_in_event(void *arg)
{
	struct engine *e = arg;
	struct engine_shm *st = e->shm_state;
	struct shm_link *l = st->link;
	signaler_drain(&l->mine);
	if (st->reader_asleep) {
		shm_ring_end_sleep(&l->r);
		st->reader_asleep = false;
	}
	if (st->writer_asleep) {
		shm_ring_writer_end_sleep(&l->w);
		st->writer_asleep = false;
	}
	if (st->direct) {
		if (atomic_load_explicit(&l->broken, memory_order_acquire)) {
			engine_fail_rc(e, -EPROTO); /* the socket's thread found it */
			return;
		}
		session_wake_direct(e->session); /* data or room for the socket */
	} else if (shm_read(e) < 0) {
		return;
	}
	(void)engine_shm_write(e);
}

static const struct poll_handler_ops shm_handler = {.in_event = shm_in_event};

/* Switching over. */

/* shm_offer_direct: with spinning on, PAIR, PUSH and PULL sockets read (and, once
 * they ask, write) the rings from their own thread. false: the engine does it all. */
static bool
shm_offer_direct(struct engine *e)
{
	struct engine_shm *st = e->shm_state;
	if (e->opts.shm_spin_us <= 0 || !e->opts.type->direct_road)
		return false;
	struct shm_link *l = st->link;
	if (e->meta && !l->meta) {
		metadata_hold(e->meta);
		l->meta = e->meta;
	}
	shm_link_hold(l);
	if (session_offer_direct(e->session, &l->direct) < 0) {
		shm_link_rele(l);
		return false;
	}
	return true;
}

static int
shm_activate(struct engine *e)
{
	struct engine_shm *st = e->shm_state;
	struct shm_link *l = st->link;
	shm_ring_writer_init(&l->w, &l->region);
	shm_ring_reader_init(&l->r, &l->region, e->opts.maxmsgsize);
	int rc = poller_add_fd(e->poller, l->mine.fd, &shm_handler, e, &st->handle);
	if (rc < 0) {
		st->handle = NULL;
		return rc;
	}
	poller_set_pollin(e->poller, st->handle);
	st->active = true;
	st->direct = shm_offer_direct(e);
	/* The stream now only tells of the peer's death. */
	if (e->handle && !e->output_stopped) {
		e->output_stopped = true;
		poller_reset_pollout(e->poller, e->handle);
	}
	signaler_raise(&l->mine); /* read what may already be there, write what waits */
	return 0;
}

/* shm_send_setup: the creator passes the memfd and both eventfds. 0 when sent (or to
 * be retried when the socket has room), negative on failure. */
static int
shm_send_setup(struct engine *e)
{
	struct engine_shm *st = e->shm_state;
	if (!zmtp_encoder_empty(&e->enc))
		return 0; /* the READY goes first; the caller retries after writing */
	uint8_t cmd[SHM_CMD_LEN] = {0x04, SHM_CMD_LEN - 2, 3, 'S', 'H', 'M'};
	struct shm_link *l = st->link;
	uint64_t size = l->region.ring_size;
	for (int i = 0; i < 8; i++)
		cmd[6 + i] = (uint8_t)(size >> (56 - 8 * i));
	int fds[3] = {l->region.fd, l->mine.fd, l->peer.fd};
	int n = zn_shm_send_fds(e->fd, cmd, sizeof cmd, fds, 3);
	if (n == -EAGAIN)
		return 0;
	if (n < 0)
		return n;
	if ((size_t)n < sizeof cmd &&
	    zmtp_encoder_raw(&e->enc, cmd + n, sizeof cmd - (size_t)n) < 0)
		return -ENOBUFS;
	st->send_pending = false;
	return shm_activate(e);
}

int
engine_shm_ready(struct engine *e)
{
	struct engine_shm *st = shm_state_get(e);
	if (!st)
		return -ENOMEM;
	st->creator = e->session && session_is_active(e->session);
	if (!st->creator)
		return 0; /* wait for the SHM command */
	uint64_t size = e->opts.shm_ring_size > 0 ? (uint64_t)e->opts.shm_ring_size
	                                          : SHM_RING_SIZE_DEFAULT;
	struct shm_link *l = st->link;
	int rc = shm_ring_region_create(&l->region, size);
	if (rc < 0)
		return rc;
	int a, b;
	if ((rc = zn_shm_eventfd_create(&a)) < 0)
		return rc;
	l->mine.fd = a;
	if ((rc = zn_shm_eventfd_create(&b)) < 0)
		return rc;
	l->peer.fd = b;
	st->send_pending = true;
	if (zmtp_encoder_empty(&e->enc))
		return shm_send_setup(e);
	/* engine_write flushes the READY first and calls back through the pending
	 * flag (see engine_shm_flush_pending). */
	return 0;
}

int
engine_shm_flush_pending(struct engine *e)
{
	struct engine_shm *st = e->shm_state;
	if (!st || !st->send_pending)
		return 0;
	return shm_send_setup(e);
}

ssize_t
engine_shm_recv(struct engine *e, void *buf, size_t len)
{
	int fds[ZN_SHM_FDS_MAX];
	int nfds = 0;
	int n = zn_shm_recv_fds(e->fd, buf, len, fds, &nfds);
	if (n <= 0 || nfds == 0)
		return n;
	struct engine_shm *st = shm_state_get(e);
	if (!st || st->nfds + nfds > ZN_SHM_FDS_MAX) {
		for (int i = 0; i < nfds; i++)
			zn_close_fd(fds[i]);
		return st ? -EPROTO : -ENOMEM;
	}
	for (int i = 0; i < nfds; i++)
		st->fds[st->nfds++] = fds[i];
	return n;
}

int
engine_shm_command(struct engine *e, const uint8_t *data, size_t len)
{
	struct engine_shm *st = e->shm_state;
	/* Only the attacher gets one, once, after the handshake, as the last thing the
	 * stream carries, with exactly a memfd and two eventfds attached. */
	if (!st || st->creator || st->active || len != 8 || st->nfds != 3 ||
	    e->in_pos != e->in_len)
		return -EPROTO;
	uint64_t size = 0;
	for (int i = 0; i < 8; i++)
		size = size << 8 | data[i];
	if (zn_shm_eventfd_verify(st->fds[1]) < 0 ||
	    zn_shm_eventfd_verify(st->fds[2]) < 0)
		return -EPROTO;
	struct shm_link *l = st->link;
	int rc = shm_ring_region_attach(&l->region, st->fds[0], size);
	if (rc < 0)
		return rc == -ENOMEM ? rc : -EPROTO;
	l->peer.fd = st->fds[1]; /* the creator sleeps on the first */
	l->mine.fd = st->fds[2];
	st->nfds = 0;
	return shm_activate(e);
}
