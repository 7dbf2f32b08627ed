/*
 * ctx.c: see ctx.h. Slot 0 is the terminating thread's mailbox, slot 1 the reaper's,
 * then one per I/O thread, then the sockets.
 */
#include "core/ctx.h"
#include "core/io_thread.h"
#include "core/reaper.h"
#include "platform/alloc.h"
#include "zmq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTX_TERM_TID   0
#define CTX_REAPER_TID 1

struct ctx *
ctx_new(int *err)
{
	struct ctx *c = zn_calloc(1, sizeof *c);
	if (!c) {
		*err = -ENOMEM;
		return NULL;
	}
	int rc = mailbox_new(&c->term_mailbox);
	if (rc < 0) {
		zn_free(c);
		*err = rc;
		return NULL;
	}
	zn_mutex_init(&c->opt_sync);
	zn_mutex_init(&c->slot_sync);
	zn_mutex_init(&c->endpoint_sync);
	zn_mutex_init(&c->pool_sync);
	c->io_thread_count = ZMQ_IO_THREADS_DFLT;
	c->max_sockets = ZMQ_MAX_SOCKETS_DFLT;
	c->max_msgsz = INT32_MAX;
	c->blocky = 1;
	c->thread_priority = ZMQ_THREAD_PRIORITY_DFLT;
	c->thread_sched_policy = ZMQ_THREAD_SCHED_POLICY_DFLT;
	c->pid = zn_process_id();
	c->tag = CTX_TAG_ALIVE;
	return c;
}

bool
ctx_inherited(const struct ctx *c)
{
	return c->pid != zn_process_id();
}

static void
ctx_thread_opts(struct ctx *c, struct zn_thread_opts *o, char *name, size_t len,
                const char *what)
{
	if (c->thread_name_prefix[0])
		snprintf(name, len, "%s/ZMQ%s", c->thread_name_prefix, what);
	else
		snprintf(name, len, "ZMQ%s", what);
	o->name = name;
	o->priority = c->thread_priority;
	o->sched_policy = c->thread_sched_policy;
	o->cpu_mask = c->thread_affinity;
}

/* ctx_start: allocates the slot table and starts the reaper and I/O threads. Called
 * under slot_sync on the first socket. On failure nothing is left started. */
static int
ctx_start(struct ctx *c)
{
	zn_mutex_lock(&c->opt_sync);
	int ios = c->io_thread_count, max = c->max_sockets;
	zn_mutex_unlock(&c->opt_sync);

	uint32_t count = (uint32_t)(2 + ios + max);
	int rc = -ENOMEM;
	c->slots = zn_calloc(count, sizeof *c->slots);
	c->empty_slots = zn_calloc(count, sizeof *c->empty_slots);
	c->sockets = zn_calloc((size_t)max, sizeof *c->sockets);
	c->io_threads = zn_calloc((size_t)(ios ? ios : 1), sizeof *c->io_threads);
	if (!c->slots || !c->empty_slots || !c->sockets || !c->io_threads)
		goto fail;
	c->slot_count = count;
	c->slots[CTX_TERM_TID] = c->term_mailbox;

	struct zn_thread_opts o;
	char name[64];
	ctx_thread_opts(c, &o, name, sizeof name, "bg/Reaper");
	rc = reaper_new(&c->reaper, c, CTX_REAPER_TID);
	if (rc < 0)
		goto fail;
	c->slots[CTX_REAPER_TID] = reaper_mailbox(c->reaper);
	for (int i = 0; i < ios; i++) {
		rc = io_thread_new(&c->io_threads[i], c, (uint32_t)(2 + i));
		if (rc < 0)
			goto fail_threads;
		c->slots[2 + i] = io_thread_mailbox(c->io_threads[i]);
		c->io_threads_started = i + 1;
	}
	rc = reaper_start(c->reaper, &o);
	if (rc < 0)
		goto fail_threads;
	for (int i = 0; i < ios; i++) {
		char what[24];
		snprintf(what, sizeof what, "bg/IO/%d", i);
		ctx_thread_opts(c, &o, name, sizeof name, what);
		rc = io_thread_start(c->io_threads[i], &o);
		if (rc < 0) {
			/* Threads already running must be stopped and joined. */
			for (int j = 0; j < i; j++)
				io_thread_stop(c->io_threads[j]);
			reaper_stop(c->reaper);
			for (int j = 0; j < i; j++)
				io_thread_join(c->io_threads[j]);
			reaper_join(c->reaper);
			goto fail_threads;
		}
	}
	/* Socket slots, handed out lowest first. */
	c->empty_count = 0;
	for (uint32_t s = count; s > (uint32_t)(2 + ios); s--)
		c->empty_slots[c->empty_count++] = s - 1;
	c->started = true;
	return 0;

fail_threads:
	for (int i = 0; i < c->io_threads_started; i++)
		io_thread_destroy(c->io_threads[i]);
	c->io_threads_started = 0;
	if (c->reaper)
		reaper_destroy(c->reaper);
	c->reaper = NULL;
fail:
	zn_free(c->slots);
	zn_free(c->empty_slots);
	zn_free(c->sockets);
	zn_free(c->io_threads);
	c->slots = NULL;
	c->empty_slots = NULL;
	c->sockets = NULL;
	c->io_threads = NULL;
	return rc;
}

void
ctx_socket_defaults(struct ctx *c, int *linger, int *ipv6)
{
	zn_mutex_lock(&c->opt_sync);
	if (!c->blocky)
		*linger = 0;
	*ipv6 = c->ipv6;
	zn_mutex_unlock(&c->opt_sync);
}

int
ctx_socket_open(struct ctx *c, uint32_t *tid)
{
	int rc = 0;
	if (ctx_inherited(c))
		return -ETERM;
	zn_mutex_lock(&c->slot_sync);
	if (c->terminating)
		rc = -ETERM;
	else if (!c->started)
		rc = ctx_start(c);
	if (rc == 0 && c->empty_count == 0)
		rc = -EMFILE;
	if (rc == 0)
		*tid = c->empty_slots[--c->empty_count];
	zn_mutex_unlock(&c->slot_sync);
	return rc;
}

void
ctx_socket_register(struct ctx *c, uint32_t tid, struct mailbox *mb, struct object *s)
{
	zn_mutex_lock(&c->slot_sync);
	c->slots[tid] = mb;
	c->sockets[c->socket_count++] = s;
	if (c->terminating)
		send_simple(s, CMD_STOP);
	zn_mutex_unlock(&c->slot_sync);
}

void
ctx_socket_release(struct ctx *c, uint32_t tid)
{
	zn_mutex_lock(&c->slot_sync);
	c->empty_slots[c->empty_count++] = tid;
	zn_mutex_unlock(&c->slot_sync);
}

void
ctx_socket_closed(struct ctx *c, uint32_t tid, struct object *s)
{
	zn_mutex_lock(&c->slot_sync);
	for (uint32_t i = 0; i < c->socket_count; i++) {
		if (c->sockets[i] == s) {
			c->sockets[i] = c->sockets[--c->socket_count];
			break;
		}
	}
	c->slots[tid] = NULL;
	c->empty_slots[c->empty_count++] = tid;
	if (c->terminating && c->socket_count == 0)
		send_simple(reaper_object(c->reaper), CMD_STOP);
	zn_mutex_unlock(&c->slot_sync);
}

void
ctx_send_command(struct ctx *c, uint32_t tid, const struct command *cmd)
{
	mailbox_send(c->slots[tid], cmd);
}

struct object *
ctx_reaper_object(struct ctx *c)
{
	return reaper_object(c->reaper);
}

struct io_thread *
ctx_choose_io_thread(struct ctx *c, uint64_t affinity)
{
	struct io_thread *best = NULL;
	int best_load = 0;
	for (int i = 0; i < c->io_threads_started; i++) {
		if (affinity && !(affinity & ((uint64_t)1 << (i % 64))))
			continue;
		int load = io_thread_load(c->io_threads[i]);
		if (!best || load < best_load) {
			best = c->io_threads[i];
			best_load = load;
		}
	}
	return best;
}

/* ctx_begin_termination: marks the context terminating and stops every socket; the
 * reaper is stopped now if no socket is left, otherwise when the last one goes. */
static void
ctx_begin_termination(struct ctx *c)
{
	zn_mutex_lock(&c->slot_sync);
	if (c->started && !c->terminating) {
		c->terminating = true;
		for (uint32_t i = 0; i < c->socket_count; i++)
			send_simple(c->sockets[i], CMD_STOP);
		if (c->socket_count == 0)
			send_simple(reaper_object(c->reaper), CMD_STOP);
	}
	c->terminating = true;
	zn_mutex_unlock(&c->slot_sync);
}

void
ctx_shutdown(struct ctx *c)
{
	if (ctx_inherited(c))
		return; /* the parent's threads would hear of it through shared fds */
	ctx_begin_termination(c);
}

static void
ctx_destroy(struct ctx *c)
{
	for (int i = 0; i < c->io_threads_started; i++)
		io_thread_destroy(c->io_threads[i]);
	if (c->reaper)
		reaper_destroy(c->reaper);
	while (c->endpoints) {
		struct ctx_endpoint *e = c->endpoints;
		c->endpoints = e->next;
		zn_free(e->name);
		zn_free(e);
	}
	/* Pending inproc connects of closed sockets were resolved by their sockets. */
	zn_free(c->slots);
	zn_free(c->empty_slots);
	zn_free(c->sockets);
	zn_free(c->io_threads);
	mailbox_release(c->term_mailbox);
	if (c->pool) /* no socket is left to use it; bodies still out keep it */
		c->pool_rele(c->pool);
	zn_mutex_fini(&c->pool_sync);
	zn_mutex_fini(&c->opt_sync);
	zn_mutex_fini(&c->slot_sync);
	zn_mutex_fini(&c->endpoint_sync);
	c->tag = CTX_TAG_DEAD;
	zn_free(c);
}

int
ctx_term(struct ctx *c)
{
	if (ctx_inherited(c)) {
		/* No thread here would ever answer; the memory is this child's copy, left
		 * as it is (a lock in it may be held by a thread the fork did not copy).
		 */
		c->tag = CTX_TAG_DEAD;
		return 0;
	}
	ctx_begin_termination(c);
	zn_mutex_lock(&c->slot_sync);
	bool started = c->started;
	zn_mutex_unlock(&c->slot_sync);
	if (started) {
		struct command cmd;
		int rc;
		do
			rc = mailbox_recv(c->term_mailbox, &cmd, -1);
		while (rc == -EAGAIN);
		if (rc < 0)
			return rc; /* -EINTR: the caller may call again */
		/* Every socket is gone and the reaper has ended; stop the I/O threads. */
		for (int i = 0; i < c->io_threads_started; i++)
			io_thread_stop(c->io_threads[i]);
		for (int i = 0; i < c->io_threads_started; i++)
			io_thread_join(c->io_threads[i]);
		reaper_join(c->reaper);
	}
	ctx_destroy(c);
	return 0;
}

int
ctx_set(struct ctx *c, int option, const void *val, size_t len)
{
	int v = 0;
	if (option == ZMQ_THREAD_NAME_PREFIX) {
		/* libzmq takes an int here; accept a string too. */
		zn_mutex_lock(&c->opt_sync);
		if (len == sizeof(int))
			snprintf(c->thread_name_prefix, sizeof c->thread_name_prefix,
			         "%d", *(const int *)val);
		else
			snprintf(c->thread_name_prefix, sizeof c->thread_name_prefix,
			         "%.*s", (int)len, (const char *)val);
		zn_mutex_unlock(&c->opt_sync);
		return 0;
	}
	if (len != sizeof(int))
		return -EINVAL;
	memcpy(&v, val, sizeof v);
	int rc = 0;
	zn_mutex_lock(&c->opt_sync);
	switch (option) {
	case ZMQ_IO_THREADS:
		if (v < 0)
			rc = -EINVAL;
		else
			c->io_thread_count = v;
		break;
	case ZMQ_MAX_SOCKETS:
		if (v < 1)
			rc = -EINVAL;
		else
			c->max_sockets = v;
		break;
	case ZMQ_MAX_MSGSZ:
		if (v < 0)
			rc = -EINVAL;
		else
			c->max_msgsz = v;
		break;
	case ZMQ_BLOCKY:
	case ZMQ_IPV6:
		if (v < 0)
			rc = -EINVAL;
		else if (option == ZMQ_BLOCKY)
			c->blocky = v != 0;
		else
			c->ipv6 = v != 0;
		break;
	case ZMQ_THREAD_PRIORITY:
	case ZMQ_THREAD_SCHED_POLICY:
		if (v < 0)
			rc = -EINVAL;
		else if (option == ZMQ_THREAD_PRIORITY)
			c->thread_priority = v;
		else
			c->thread_sched_policy = v;
		break;
	case ZMQ_THREAD_AFFINITY_CPU_ADD:
		if (v < 0 || v >= 64)
			rc = -EINVAL;
		else
			c->thread_affinity |= (uint64_t)1 << v;
		break;
	case ZMQ_THREAD_AFFINITY_CPU_REMOVE:
		if (v < 0 || v >= 64 || !(c->thread_affinity & ((uint64_t)1 << v)))
			rc = -EINVAL;
		else
			c->thread_affinity &= ~((uint64_t)1 << v);
		break;
	default: rc = -EINVAL; break;
	}
	zn_mutex_unlock(&c->opt_sync);
	return rc;
}

int
ctx_get(struct ctx *c, int option, void *val, size_t *len)
{
	int v;
	zn_mutex_lock(&c->opt_sync);
	switch (option) {
	case ZMQ_IO_THREADS: v = c->io_thread_count; break;
	case ZMQ_MAX_SOCKETS: v = c->max_sockets; break;
	case ZMQ_SOCKET_LIMIT: v = 65535; break;
	case ZMQ_MAX_MSGSZ: v = c->max_msgsz; break;
	case ZMQ_BLOCKY: v = c->blocky; break;
	case ZMQ_IPV6: v = c->ipv6; break;
	case ZMQ_THREAD_SCHED_POLICY: v = c->thread_sched_policy; break;
	case ZMQ_MSG_T_SIZE: v = (int)sizeof(zmq_msg_t); break;
	case ZMQ_THREAD_NAME_PREFIX:
		if (*len != sizeof(int)) {
			size_t n = strlen(c->thread_name_prefix) + 1;
			if (*len < n) {
				zn_mutex_unlock(&c->opt_sync);
				return -EINVAL;
			}
			memcpy(val, c->thread_name_prefix, n);
			*len = n;
			zn_mutex_unlock(&c->opt_sync);
			return 0;
		}
		v = atoi(c->thread_name_prefix);
		break;
	default: zn_mutex_unlock(&c->opt_sync); return -EINVAL;
	}
	zn_mutex_unlock(&c->opt_sync);
	if (*len < sizeof(int))
		return -EINVAL;
	memcpy(val, &v, sizeof v);
	*len = sizeof v;
	return 0;
}

void
ctx_lock_endpoints(struct ctx *c)
{
	zn_mutex_lock(&c->endpoint_sync);
}

void
ctx_unlock_endpoints(struct ctx *c)
{
	zn_mutex_unlock(&c->endpoint_sync);
}

int
ctx_endpoint_add(struct ctx *c, const char *name, struct own *socket, int sndhwm,
                 int rcvhwm, const void *rid, size_t rid_len)
{
	if (ctx_endpoint_find(c, name))
		return -EADDRINUSE;
	struct ctx_endpoint *e = zn_malloc(sizeof *e);
	char *n = zn_strdup(name);
	if (!e || !n) {
		zn_free(e);
		zn_free(n);
		return -ENOMEM;
	}
	e->name = n;
	e->socket = socket;
	e->sndhwm = sndhwm;
	e->rcvhwm = rcvhwm;
	e->rid_len = (uint8_t)(rid_len > sizeof e->rid ? sizeof e->rid : rid_len);
	if (e->rid_len)
		memcpy(e->rid, rid, e->rid_len);
	e->next = c->endpoints;
	c->endpoints = e;
	return 0;
}

struct ctx_endpoint *
ctx_endpoint_find(struct ctx *c, const char *name)
{
	for (struct ctx_endpoint *e = c->endpoints; e; e = e->next)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

int
ctx_endpoint_remove(struct ctx *c, const char *name, struct own *socket)
{
	int n = 0;
	for (struct ctx_endpoint **pp = &c->endpoints; *pp;) {
		struct ctx_endpoint *e = *pp;
		if (e->socket == socket && (!name || strcmp(e->name, name) == 0)) {
			*pp = e->next;
			zn_free(e->name);
			zn_free(e);
			n++;
		} else {
			pp = &e->next;
		}
	}
	return n;
}

struct ctx_pending *
ctx_pending_new(const char *name)
{
	struct ctx_pending *p = zn_calloc(1, sizeof *p);
	char *n = zn_strdup(name);
	if (!p || !n) {
		zn_free(p);
		zn_free(n);
		return NULL;
	}
	p->name = n;
	return p;
}

void
ctx_pending_link(struct ctx *c, struct ctx_pending *p)
{
	/* Appended, so pending connects are honoured in the order they were made. */
	p->next = NULL;
	struct ctx_pending **pp = &c->pending;
	while (*pp)
		pp = &(*pp)->next;
	*pp = p;
}

struct ctx_pending *
ctx_pending_take(struct ctx *c, const char *name)
{
	for (struct ctx_pending **pp = &c->pending; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, name) == 0) {
			struct ctx_pending *p = *pp;
			*pp = p->next;
			return p;
		}
	}
	return NULL;
}

struct ctx_pending *
ctx_pending_take_pipe(struct ctx *c, struct pipe *pipe)
{
	for (struct ctx_pending **pp = &c->pending; *pp; pp = &(*pp)->next) {
		if ((*pp)->pipe == pipe) {
			struct ctx_pending *p = *pp;
			*pp = p->next;
			return p;
		}
	}
	return NULL;
}

void
ctx_pending_free(struct ctx_pending *p)
{
	zn_free(p->name);
	zn_free(p);
}
