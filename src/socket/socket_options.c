/*
 * socket_options.c: zmq_setsockopt and zmq_getsockopt on the socket base: the type's
 * own options first, then the accept filters, then the option block (core/options.c);
 * a new ZMQ_SNDHWM / ZMQ_RCVHWM reaches the pipes that exist. The options the socket
 * itself answers (ZMQ_RCVMORE, ZMQ_FD, ZMQ_EVENTS) are read here too.
 *
 * Threads: the application thread that owns the socket.
 */
#include "socket/socket.h"
#include "zmq.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void
socket_set_last_endpoint(struct socket *s, const char *uri)
{
	snprintf(s->options.last_endpoint, sizeof s->options.last_endpoint, "%s", uri);
}

/* socket_apply_hwms: ZMQ_SNDHWM or ZMQ_RCVHWM changed. As in libzmq 4.3, the pipes
 * that exist take the new values too, and their peer ends learn them. Pipes already
 * sent to us (an inproc connect to our bind) are attached first, so they count. */
static void
socket_apply_hwms(struct socket *s)
{
	(void)socket_process_commands(s, 0); /* ETERM: the next call reports it */
	int64_t snd = s->options.sndhwm, rcv = s->options.rcvhwm;
	for (uint32_t i = 0; i < s->pipes.n; i++) {
		struct pipe *p = s->pipes.items[i];
		int64_t out = pipe_hwm_with(snd, p->out_boost);
		int64_t in = pipe_hwm_with(rcv, p->in_boost);
		bool inproc = p->out_boost >= 0;
		pipe_update_hwms(p, out, in);
		pipe_send_hwms(p, in, out, inproc ? rcv : -1, inproc ? snd : -1);
	}
}

/* socket_set_filter: the accept filters; 1 for other options. */
static int
socket_set_filter(struct socket *s, int option, const void *val, size_t len)
{
	switch (option) {
	case ZMQ_TCP_ACCEPT_FILTER:
		return tcp_filters_set(&s->filters, val, len, s->options.ipv6 != 0);
	case ZMQ_IPC_FILTER_UID:
		return ipc_filters_set(&s->filters, IPC_FILTER_UID, val, len);
	case ZMQ_IPC_FILTER_GID:
		return ipc_filters_set(&s->filters, IPC_FILTER_GID, val, len);
	case ZMQ_IPC_FILTER_PID:
		return ipc_filters_set(&s->filters, IPC_FILTER_PID, val, len);
	default: return 1;
	}
}

int
socket_setsockopt(struct socket *s, int option, const void *val, size_t len)
{
	if (s->ctx_terminated)
		return -ETERM;
	if (!socket_type_takes_option(s->options.type, option))
		return -EINVAL;
	if (s->ops->setsockopt) {
		int rc = s->ops->setsockopt(s, option, val, len);
		if (rc <= 0)
			return rc;
	}
	int rc = socket_set_filter(s, option, val, len);
	if (rc <= 0)
		return rc;
	rc = options_set(&s->options, option, val, len);
	if (rc == 0 && (option == ZMQ_SNDHWM || option == ZMQ_RCVHWM))
		socket_apply_hwms(s);
	/* A child ended while the socket lives (zmq_disconnect, zmq_unbind) gets the
	 * linger of that moment, as libzmq's sessions do: 0 drops its queue, a
	 * positive value bounds the flush. */
	if (rc == 0 && option == ZMQ_LINGER)
		s->own.linger = s->options.linger;
	return rc;
}

/* socket_get_int: as options_get, the rest of a wider buffer is cleared (libzmq's
 * test_getsockopt_memset reads ZMQ_RCVMORE into an int64_t). */
static int
socket_get_int(void *val, size_t *len, int v)
{
	if (*len < sizeof(int))
		return -EINVAL;
	memcpy(val, &v, sizeof v);
	memset((char *)val + sizeof v, 0, *len - sizeof v);
	*len = sizeof v;
	return 0;
}

int
socket_getsockopt(struct socket *s, int option, void *val, size_t *len)
{
	if (s->ctx_terminated)
		return -ETERM;
	switch (option) {
	case ZMQ_RCVMORE: return socket_get_int(val, len, s->rcvmore);
	case ZMQ_FD: return socket_get_int(val, len, socket_fd(s));
	case ZMQ_THREAD_SAFE: return socket_get_int(val, len, 0);
	case ZMQ_EVENTS: {
		int ev, rc = socket_events(s, &ev);
		if (rc < 0)
			return rc;
		return socket_get_int(val, len, ev);
	}
	default: return options_get(&s->options, option, val, len);
	}
}
