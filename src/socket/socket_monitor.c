/*
 * socket_monitor.c: zmq_socket_monitor. Events are sent, in libzmq's two-frame format
 * (16-bit event and 32-bit value in native byte order, then the endpoint), over an
 * inproc PAIR socket that the monitored socket owns. Events come from I/O threads as
 * well as the socket's own thread, so the monitor socket is only ever touched under
 * monitor_sync; sends never block (an event the reader has no room for is dropped).
 */
#include "socket/socket.h"
#include "transport/transport.h"
#include "zmq.h"

#include <errno.h>
#include <string.h>

static void
monitor_send_locked(struct socket *s, int event, int64_t value, const char *endpoint)
{
	struct socket *m = s->monitor_socket;
	if (!m || !(s->monitor_events & event))
		return;
	uint8_t head[6];
	uint16_t ev = (uint16_t)event;
	uint32_t v = (uint32_t)value;
	memcpy(head, &ev, sizeof ev);
	memcpy(head + 2, &v, sizeof v);
	struct msg part;
	if (msg_init_buffer(&part, head, sizeof head) < 0)
		return;
	if (socket_send(m, &part, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
		msg_close(&part);
		return;
	}
	const char *ep = endpoint ? endpoint : "";
	if (msg_init_buffer(&part, ep, strlen(ep)) < 0 ||
	    socket_send(m, &part, ZMQ_DONTWAIT) < 0) {
		msg_close(&part);
		socket_rollback(m);
	}
}

void
socket_monitor_event(void *sock, int event, int64_t value, const char *endpoint)
{
	struct socket *s = sock;
	zn_mutex_lock(&s->monitor_sync);
	monitor_send_locked(s, event, value, endpoint);
	zn_mutex_unlock(&s->monitor_sync);
}

/* monitor_stop_locked: MONITOR_STOPPED, then the monitor socket is closed. */
static void
monitor_stop_locked(struct socket *s)
{
	if (!s->monitor_socket)
		return;
	monitor_send_locked(s, ZMQ_EVENT_MONITOR_STOPPED, 0, "");
	s->monitor_socket->options.linger = 0;
	socket_close(s->monitor_socket);
	s->monitor_socket = NULL;
	s->monitor_events = 0;
}

int
socket_monitor(struct socket *s, const char *endpoint, int events)
{
	if (s->ctx_terminated)
		return -ETERM;
	zn_mutex_lock(&s->monitor_sync);
	monitor_stop_locked(s);
	zn_mutex_unlock(&s->monitor_sync);
	if (!endpoint)
		return 0;
	if (transport_of_uri(endpoint) != &transport_inproc)
		return -EPROTONOSUPPORT;
	struct socket *m;
	int rc = socket_new(&m, s->own.obj.ctx, ZMQ_PAIR);
	if (rc < 0)
		return rc;
	rc = socket_bind(m, endpoint);
	if (rc < 0) {
		m->options.linger = 0;
		socket_close(m);
		return rc;
	}
	zn_mutex_lock(&s->monitor_sync);
	s->monitor_socket = m;
	s->monitor_events = events;
	zn_mutex_unlock(&s->monitor_sync);
	return 0;
}

void
socket_monitor_close(struct socket *s)
{
	zn_mutex_lock(&s->monitor_sync);
	monitor_stop_locked(s);
	zn_mutex_unlock(&s->monitor_sync);
}
