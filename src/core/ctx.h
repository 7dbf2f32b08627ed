/*
 * ctx.h: the context, which holds all of zinc's global state so that zinc has no global
 * variables (seed 001, "Global state"): the mailbox slot table (one slot per socket,
 * I/O thread, the reaper and the terminating thread), the socket list, the I/O threads,
 * the reaper, the context options and the inproc endpoint table.
 *
 * Threads: any thread may call any function here; the mutexes guard the slot table and
 * the endpoint table, neither of which is on the message path.
 */
#ifndef ZINC_CORE_CTX_H
#define ZINC_CORE_CTX_H

#include <stdbool.h>
#include <stdint.h>

#include "core/mailbox.h"
#include "core/object.h"
#include "platform/platform.h"

struct own;
struct pipe;
struct io_thread;
struct reaper;
struct poller;

#define CTX_TAG_ALIVE 0xabadcafeu
#define CTX_TAG_DEAD  0xdeadbeefu

/* One bound inproc endpoint. */
struct ctx_endpoint {
	char *name;
	struct own *socket; /* the bound socket's tree root */
	int sndhwm, rcvhwm;
	uint8_t rid_len; /* the bound socket's ZMQ_ROUTING_ID */
	uint8_t rid[255];
	struct ctx_endpoint *next;
};

/* An inproc connect waiting for its bind. The connecting socket already holds
 * pipes[0]; pipe is the other end, handed to the binder when it appears. */
struct ctx_pending {
	char *name;
	struct own *connecter;
	struct pipe *pipe;
	int sndhwm, rcvhwm; /* the connecter's */
	struct ctx_pending *next;
};

struct ctx {
	uint32_t tag;
	long pid; /* the process that made it: in a fork()ed child it is inherited */

	/* Options (guarded by opt_sync). */
	struct zn_mutex opt_sync;
	int io_thread_count;
	int max_sockets;
	int max_msgsz;
	int blocky;
	int ipv6;
	int thread_priority;
	int thread_sched_policy;
	uint64_t thread_affinity;
	char thread_name_prefix[16];

	/* Slots, sockets and threads (guarded by slot_sync). */
	struct zn_mutex slot_sync;
	bool started;
	bool terminating;
	struct mailbox *term_mailbox; /* slot 0 */
	struct mailbox **slots;
	uint32_t slot_count;
	uint32_t *empty_slots;
	uint32_t empty_count;
	struct object **sockets;
	uint32_t socket_count;
	struct reaper *reaper;         /* slot 1 */
	struct io_thread **io_threads; /* slots 2 .. */
	int io_threads_started;

	/* Inproc endpoints (guarded by endpoint_sync). */
	struct zn_mutex endpoint_sync;
	struct ctx_endpoint *endpoints;
	struct ctx_pending *pending;

	/* The shm:// zero-copy pool (proto/shm_pool.h, opaque here: core is below proto),
	 * made by the context's first zero-copy socket that needs it. The context holds
	 * one reference, dropped through pool_rele as it is freed; lent bodies and the
	 * connections that lent them hold their own. Guarded by pool_sync. */
	struct zn_mutex pool_sync;
	void *pool;
	void (*pool_rele)(void *pool);
};

/* ctx_tid_is_io_thread: does slot tid belong to one of c's I/O threads? */
static inline bool
ctx_tid_is_io_thread(const struct ctx *c, uint32_t tid)
{
	return tid >= 2 && tid < 2 + (uint32_t)c->io_threads_started;
}

/* ctx_new: a context with libzmq's defaults. NULL with *err = -ENOMEM/-EMFILE. */
struct ctx *ctx_new(int *err);
static inline bool
ctx_check_tag(const struct ctx *c)
{
	return c && c->tag == CTX_TAG_ALIVE;
}
/* ctx_inherited: whether this process got c through fork() from the process that made
 * it. Its threads stayed in the parent and its locks may be held by threads that do not
 * exist here, so the child leaves it alone: closing its sockets and terminating it
 * return at once without a word to the parent's threads (whose descriptors the child
 * shares), and it makes no new sockets (-ETERM). A child makes a context of its own, as
 * with libzmq 4.3. */
bool ctx_inherited(const struct ctx *c);
/* ctx_term: ends the context: sockets get ETERM, waits until all are closed and have
 * lingered, then frees everything. 0, or -EINTR (call again). In a fork()ed child an
 * inherited context is only marked dead: 0 at once, nothing freed. */
int ctx_term(struct ctx *c);
/* ctx_shutdown: like ctx_term without waiting or freeing (nothing in a fork()ed
 * child, for an inherited context). */
void ctx_shutdown(struct ctx *c);
/* ctx_set / ctx_get: context options by libzmq's ZMQ_* number. -EINVAL when unknown. */
int ctx_set(struct ctx *c, int option, const void *val, size_t len);
int ctx_get(struct ctx *c, int option, void *val, size_t *len);

/* ctx_socket_defaults: what the context options imply for a new socket: ZMQ_LINGER 0
 * when ZMQ_BLOCKY is off, ZMQ_IPV6 from the context. */
void ctx_socket_defaults(struct ctx *c, int *linger, int *ipv6);
/* ctx_socket_open: reserves a mailbox slot for a new socket, starting the reaper and
 * I/O threads on first use. 0, -ETERM (also for an inherited context in a fork()ed
 * child), -EMFILE (max sockets) or -ENOMEM. */
int ctx_socket_open(struct ctx *c, uint32_t *tid);
/* ctx_socket_register: publishes the socket in its slot. If the context is already
 * terminating the socket is sent CMD_STOP at once. */
void ctx_socket_register(struct ctx *c, uint32_t tid, struct mailbox *mb,
                         struct object *s);
/* ctx_socket_release: gives back a slot reserved by ctx_socket_open that was never
 * registered (the socket's construction failed). */
void ctx_socket_release(struct ctx *c, uint32_t tid);
/* ctx_socket_closed: the reaper destroyed a socket; frees its slot. */
void ctx_socket_closed(struct ctx *c, uint32_t tid, struct object *s);

/* ctx_send_command: queues cmd in the mailbox of slot tid. Never fails. */
void ctx_send_command(struct ctx *c, uint32_t tid, const struct command *cmd);
/* ctx_reaper_object: where a closed socket sends CMD_REAP. */
struct object *ctx_reaper_object(struct ctx *c);
/* ctx_choose_io_thread: the least loaded I/O thread allowed by affinity, or NULL when
 * the context has none. */
struct io_thread *ctx_choose_io_thread(struct ctx *c, uint64_t affinity);

/* Inproc endpoints. ctx_lock_endpoints must be held around the calls below; the
 * socket layer does a lookup and the matching pipe hand-over under one lock. */
void ctx_lock_endpoints(struct ctx *c);
void ctx_unlock_endpoints(struct ctx *c);
/* ctx_endpoint_add: 0, -EADDRINUSE or -ENOMEM. */
int ctx_endpoint_add(struct ctx *c, const char *name, struct own *socket, int sndhwm,
                     int rcvhwm, const void *rid, size_t rid_len);
struct ctx_endpoint *ctx_endpoint_find(struct ctx *c, const char *name);
/* ctx_endpoint_remove: removes name if socket bound it (name NULL: all of socket's).
 * Returns how many were removed. */
int ctx_endpoint_remove(struct ctx *c, const char *name, struct own *socket);
/* ctx_pending_new: allocates an entry (before taking the lock, so that nothing can
 * fail once pipes are attached). NULL on allocation failure. */
struct ctx_pending *ctx_pending_new(const char *name);
/* ctx_pending_link: queues an entry made by ctx_pending_new, filled in by the caller. */
void ctx_pending_link(struct ctx *c, struct ctx_pending *p);
/* ctx_pending_take: unlinks the first pending connect to name (NULL if none); the
 * caller frees it with ctx_pending_free. */
struct ctx_pending *ctx_pending_take(struct ctx *c, const char *name);
/* ctx_pending_take_pipe: unlinks the pending entry holding pipe, if still pending. */
struct ctx_pending *ctx_pending_take_pipe(struct ctx *c, struct pipe *pipe);
void ctx_pending_free(struct ctx_pending *p);

#endif
