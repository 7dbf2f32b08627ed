/*
 * socket.h: the socket base (DESIGN.md "sockets"): options, endpoints, blocking and
 * polling (ZMQ_FD / ZMQ_EVENTS), the close / linger / reap sequence. Each socket type
 * is a `const struct socket_ops` in its own file; its state is a struct whose first
 * member is struct socket.
 *
 * A socket is a zinc "thread" of its own (seed 000): it has its own mailbox, so it can
 * move between application threads (after a full memory barrier) and, once closed,
 * be handed to the reaper thread, which runs its commands until it has terminated.
 *
 * Threads: one application thread at a time until zmq_close; the reaper after.
 */
#ifndef ZINC_SOCKET_SOCKET_H
#define ZINC_SOCKET_SOCKET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/mailbox.h"
#include "core/monitor.h"
#include "core/own.h"
#include "core/timer.h"
#include "pipe/msg.h"
#include "pipe/pipe_array.h"
#include "core/options.h"
#include "transport/accept_filter.h"
#include "transport/transport.h"

struct socket;
struct poller;
struct poll_handle;
struct reaper;

struct socket_ops {
	const struct socket_type *type; /* what the layers below know of it */
	size_t size; /* of the type's state, which starts with struct socket */
	/* init: 0 or -ENOMEM. fini: frees what init allocated. */
	int (*init)(struct socket *s);
	void (*fini)(struct socket *s);
	/* attach_pipe: a new pipe; 0 or -ENOMEM with nothing attached. */
	int (*attach_pipe)(struct socket *s, struct pipe *p);
	/* send: on 0 the socket owns m's content and m is empty; on error m is the
	 * caller's. -EAGAIN (would block), -ENOTSUP, -EFSM, -EHOSTUNREACH, -ENOMEM. */
	int (*send)(struct socket *s, struct msg *m);
	/* recv: m is empty on entry; 0 or -EAGAIN, -ENOTSUP, -EFSM. */
	int (*recv)(struct socket *s, struct msg *m);
	bool (*has_in)(struct socket *s);
	bool (*has_out)(struct socket *s);
	void (*read_activated)(struct socket *s, struct pipe *p);
	void (*write_activated)(struct socket *s, struct pipe *p);
	/* hiccuped: p's connection was replaced by a new one. May be NULL. */
	void (*hiccuped)(struct socket *s, struct pipe *p);
	/* pipe_terminated: forget p. */
	void (*pipe_terminated)(struct socket *s, struct pipe *p);
	/* rollback: drops the unfinished multipart message being sent (after an
	 * allocation failure: a message is sent whole or not at all). May be NULL. */
	void (*rollback)(struct socket *s);
	/* setsockopt: type-specific options. 1 when the option is not the type's. */
	int (*setsockopt)(struct socket *s, int option, const void *val, size_t len);
};

/* An endpoint this socket bound or connected (for zmq_unbind / zmq_disconnect). */
struct endpoint_rec {
	char *uri;   /* as given, or resolved for a bind (ZMQ_LAST_ENDPOINT) */
	char *given; /* a bind's address as given, when it differs (a wildcard tcp port)
	              */
	struct pipe *pipe; /* inproc connect: its pipe */
	struct own *child; /* tcp/ipc: the listener (bind) or session (connect) */
	bool bound;
	bool adopted;   /* a bind on the ZMQ_USE_FD descriptor adopted_fd */
	int adopted_fd; /* (its listener closes it) */
	bool pending;   /* inproc connect still waiting for its bind */
	struct endpoint_rec *next;
};

#define SOCKET_TAG_ALIVE 0xbaddecafu
#define SOCKET_TAG_DEAD  0xdeadbeefu

/* socket.use: how many threads wait on this socket in zmq_poll or a blocking send or
 * receive (the low bits), and whether it was closed meanwhile (CLOSED) and then given
 * to the reaper (REAPED): see socket_borrow. */
#define SOCKET_USE_CLOSED 0x80000000u
#define SOCKET_USE_REAPED 0x40000000u
#define SOCKET_USE_COUNT  0x3fffffffu

struct socket {
	struct own own;
	/* Read by any thread that is handed the pointer (zmq_close from another
	 * thread while one waits: socket_borrow); written at creation and close. */
	_Atomic uint32_t tag;
	atomic_uint use;
	const struct socket_ops *ops;
	struct options options;
	struct mailbox *mailbox; /* released by socket_free; see mailbox.h */
	struct pipe_array pipes;
	struct endpoint_rec *endpoints;
	/* ZMQ_TCP_ACCEPT_FILTER and ZMQ_IPC_FILTER_*: kept here rather than in the
	 * options block, which is copied by value; each bind copies them. */
	struct accept_filters filters;
	bool ctx_terminated;
	bool destroyed;
	bool rcvmore;
	struct poll_timer linger_timer; /* waits for pending inproc binds */
	bool defer_arm;    /* a spinning send/recv is under way: see pipe_set_defer_arm */
	int pipes_refused; /* pipes ended because attaching them failed, still ending */
	/* An endpoint whose transport has direct roads was bound or connected: only
	 * then do waits and spins look for roads among the pipes (never cleared). */
	bool may_have_roads;
	/* A receive's wait kept a pipe's connection reading for the next (pipe_give_back
	 * before anything else waits or looks). */
	bool reading_kept;
	struct reaper *reaper;           /* once closed */
	struct poller *poller;           /* the reaper's, once closed */
	struct poll_handle *reap_handle; /* allocated up front so reaping cannot fail */
	/* Monitoring: events come from I/O threads, so the monitor socket is used
	 * only under monitor_sync. */
	struct monitor_sink monitor;
	struct zn_mutex monitor_sync;
	struct socket *monitor_socket;
	int monitor_events;

	/* When send and recv last ran the socket's commands (the rule: socket_io.c). */
	uint64_t cmd_cycles; /* a send's, on socket_cycles' clock */
	uint32_t recv_calls; /* receives since */
	uint32_t send_calls; /* sends that found no command, counted for the stamp */
};

/* socket_new: 0 or -EINVAL (bad type), -ETERM, -EMFILE, -ENOMEM. */
int socket_new(struct socket **out, struct ctx *ctx, int type);
static inline bool
socket_check_tag(const struct socket *s)
{
	return s &&
	       atomic_load_explicit(&s->tag, memory_order_relaxed) == SOCKET_TAG_ALIVE;
}
/* socket_close: never blocks; the reaper finishes the job within ZMQ_LINGER. A socket
 * that another thread waits on (socket_borrow) is only marked closed and that wait
 * woken; the last such thread to leave gives it to the reaper. */
void socket_close(struct socket *s);
/* socket_borrow: for a wait (zmq_poll, a blocking send or receive) that another thread
 * may end by closing the socket (a binding's finalizer does; libzmq's zmq_poll then
 * returns ENOTSOCK): while borrowed, the socket is not given to the reaper, so neither
 * its memory nor its mailbox's fd goes away under the wait, and the fd stays raised
 * until the wait has seen it. false (not borrowed) when the socket is closed already.
 * One thread waits on a socket at a time, as with every call on it. */
bool socket_borrow(struct socket *s);
/* socket_unborrow: ends a socket_borrow that returned true; the socket may be gone
 * after it. */
void socket_unborrow(struct socket *s);

int socket_setsockopt(struct socket *s, int option, const void *val, size_t len);
int socket_getsockopt(struct socket *s, int option, void *val, size_t *len);
int socket_bind(struct socket *s, const char *uri);
int socket_connect(struct socket *s, const char *uri);
int socket_unbind(struct socket *s, const char *uri);
int socket_disconnect(struct socket *s, const char *uri);
/* socket_send: on 0 the socket owns m's content and m is empty. */
int socket_send(struct socket *s, struct msg *m, int flags);
/* socket_recv: m is closed first; on 0 it holds the message. */
int socket_recv(struct socket *s, struct msg *m, int flags);
/* socket_rollback: see socket_ops.rollback. */
void socket_rollback(struct socket *s);
/* socket_events: ZMQ_POLLIN / ZMQ_POLLOUT now, after running pending commands. */
int socket_events(struct socket *s, int *events);
int socket_fd(struct socket *s);

/* socket_process_commands: runs commands, waiting up to timeout_ms for the first one
 * (0: don't wait, -1: forever). 0, -ETERM or -EINTR. */
int socket_process_commands(struct socket *s, int timeout_ms);
/* socket_endpoint_adopt_pipe: CMD_BIND: the pipe belongs to the endpoint whose
 * listener or session made it (origin), so zmq_unbind / zmq_disconnect end it at once
 * (socket_endpoint.c). */
void socket_endpoint_adopt_pipe(struct socket *s, struct pipe *p, struct own *origin);
/* socket_session_ended: CMD_TERM_ENDPOINT (socket_endpoint.c). */
void socket_session_ended(struct socket *s, struct own *session);

/* For socket types and the inproc transport. */
int socket_attach_pipe(struct socket *s, struct pipe *p);
/* socket_type_takes_option: false for an option that belongs to other socket types
 * (zmq_setsockopt then fails with EINVAL, as libzmq's does). */
bool socket_type_takes_option(const struct socket_type *type, int option);
void socket_set_last_endpoint(struct socket *s, const char *uri);

/* The stream transports, tcp://, ipc://, shm:// (socket_transport.c). addr is the
 * part of uri after "scheme://". */
int socket_transport_bind(struct socket *s, const char *uri,
                          const struct transport_ops *t, const char *addr);
int socket_transport_connect(struct socket *s, const char *uri,
                             const struct transport_ops *t, const char *addr);
/* socket_endpoint_forget: unlinks and frees one record. */
void socket_endpoint_free(struct endpoint_rec *r);

/* Monitoring (socket_monitor.c). */
int socket_monitor(struct socket *s, const char *endpoint, int events);
void socket_monitor_close(struct socket *s);
void socket_monitor_event(void *sock, int event, int64_t value, const char *endpoint);

/* Inproc (socket_inproc.c). */
int socket_inproc_bind(struct socket *s, const char *uri, const char *name);
int socket_inproc_connect(struct socket *s, const char *uri, const char *name);
int socket_inproc_unbind(struct socket *s, const char *name);
void socket_inproc_connected(struct socket *s, struct pipe *p);
/* socket_inproc_close_pending: at termination, resolve pending inproc connects: drop
 * them (linger 0) or wait for their bind up to the linger. */
void socket_inproc_close_pending(struct socket *s, int linger);
void socket_inproc_linger_expired(struct socket *s);
/* socket_start_linger_timer: calls socket_inproc_linger_expired after linger ms.
 * Reaper thread. */
void socket_start_linger_timer(struct socket *s, int linger);
/* socket_refuse_pipe: ends a pipe whose attach failed (no memory). */
void socket_refuse_pipe(struct socket *s, struct pipe *p);
/* socket_drop_pending_pipe: frees a pending pipe pair that never got its bind. */
void socket_drop_pending_pipe(struct socket *s, struct pipe *p);

#endif
