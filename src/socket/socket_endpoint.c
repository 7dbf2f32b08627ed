/*
 * socket_endpoint.c: zmq_bind, zmq_connect, zmq_unbind and zmq_disconnect on the socket
 * base: the endpoint is parsed into a transport (transport_find) and handed to inproc
 * (socket_inproc.c) or to the transports (socket_transport.c); the endpoint records
 * they leave are ended here, by name or when a connect session ends for good.
 *
 * Threads: the application thread that owns the socket; socket_session_ended runs
 * from a command, in that thread or in the reaper's.
 */
#include "socket/socket.h"

#include <errno.h>
#include <string.h>

/* A scheme is shorter than this; a longer one is a malformed endpoint (-EINVAL). */
#define SOCKET_SCHEME_MAX 16

/* socket_parse: splits "scheme://address" into the scheme's transport (*t, NULL for a
 * scheme zinc does not have) and the address. -EINVAL when malformed. */
static int
socket_parse(const char *uri, const struct transport_ops **t, const char **addr)
{
	const char *sep = strstr(uri, "://");
	if (!sep || sep == uri || sep - uri >= SOCKET_SCHEME_MAX)
		return -EINVAL;
	*t = transport_find(uri, (size_t)(sep - uri));
	*addr = sep + 3;
	return 0;
}

/* socket_parse_endpoint: socket_parse for a bind or connect: -EPROTONOSUPPORT for
 * transports zinc does not have (yet), -EINVAL for an empty address. */
static int
socket_parse_endpoint(const char *uri, const struct transport_ops **t, const char **addr)
{
	int rc = socket_parse(uri, t, addr);
	if (rc < 0)
		return rc;
	if (!*t)
		return -EPROTONOSUPPORT;
	return (*addr)[0] ? 0 : -EINVAL;
}

/* socket_endpoint_begin: what every endpoint call does first: -ETERM once the context
 * ends, else run the commands that arrived (pipes an inproc peer sent us count). */
static int
socket_endpoint_begin(struct socket *s)
{
	if (s->ctx_terminated)
		return -ETERM;
	return socket_process_commands(s, 0);
}

/* socket_endpoint_open: a bind or a connect: the endpoint goes to inproc's function
 * (socket_inproc.c) or to the transports' (socket_transport.c). */
static int
socket_endpoint_open(struct socket *s, const char *uri,
                     int (*inproc)(struct socket *, const char *, const char *),
                     int (*other)(struct socket *, const char *,
                                  const struct transport_ops *, const char *))
{
	const struct transport_ops *t = NULL;
	const char *addr = NULL;
	int rc = socket_endpoint_begin(s);
	if (rc == 0)
		rc = socket_parse_endpoint(uri, &t, &addr);
	if (rc < 0)
		return rc;
	if (t == &transport_inproc)
		return inproc(s, uri, addr);
	return other(s, uri, t, addr);
}

int
socket_bind(struct socket *s, const char *uri)
{
	return socket_endpoint_open(s, uri, socket_inproc_bind, socket_transport_bind);
}

int
socket_connect(struct socket *s, const char *uri)
{
	return socket_endpoint_open(s, uri, socket_inproc_connect,
	                            socket_transport_connect);
}

void
socket_endpoint_adopt_pipe(struct socket *s, struct pipe *p, struct own *origin)
{
	if (!origin)
		return;
	for (struct endpoint_rec *r = s->endpoints; r; r = r->next)
		if (r->child && (r->child == origin || r->child == origin->owner)) {
			p->user = r;
			return;
		}
}

/* socket_end_pipes_of: zmq_unbind / zmq_disconnect: the pipes the endpoint's sessions
 * made end now, as an inproc connect's pipe does. Those sessions end in
 * the background, and until then the socket would still take what they deliver, and,
 * with pipe/shortcut.h, what comes on their connections (a peer's direct write can
 * reach the fd before the session has ended); libzmq's test_reconnect_ivl expects
 * nothing to arrive after zmq_unbind (it failed 1 run in 3). Messages received and
 * not yet read go too, as they do for pipes libzmq's zmq_disconnect ends. */
static void
socket_end_pipes_of(struct socket *s, struct endpoint_rec *r)
{
	for (uint32_t i = 0; i < s->pipes.n; i++) {
		struct pipe *p = s->pipes.items[i];
		if (p->user == r) {
			p->user = NULL;
			pipe_terminate(p, false);
		}
	}
}

/* socket_end_endpoint: ends what an endpoint record made (its pipe, its listener or
 * session) and frees the record, which the caller has unlinked; by_user: zmq_unbind or
 * zmq_disconnect, not a session that ended by itself. */
static void
socket_end_endpoint(struct socket *s, struct endpoint_rec *r, bool by_user)
{
	/* Forget the endpoint now; its pipe and session end in the background. */
	struct pipe *p = r->pipe;
	struct own *child = r->child;
	bool pending = r->pending;
	/* A listener hears first: it closes its fd as its TERM comes, before the
	 * pipes' ends reach its sessions (the I/O thread runs commands in order), so a
	 * peer that sees its connection end can bind the address again. A connecting
	 * session hears last: its pipe already ending, it lingers to deliver what was
	 * queued (test_session_end, ZMQ_LINGER -1). */
	bool listener = child && r->bound;
	if (listener)
		own_term_child(&s->own, child);
	if (child && by_user)
		socket_end_pipes_of(s, r);
	socket_endpoint_free(r);
	if (p && pending) {
		p->user = NULL;
		socket_drop_pending_pipe(s, p);
	} else if (p) {
		/* At once, so no further message is queued to this peer. */
		p->user = NULL;
		pipe_terminate(p, false);
	}
	if (child && !listener)
		own_term_child(&s->own, child);
}

/* socket_term_endpoint: what zmq_unbind and zmq_disconnect both do, as in libzmq:
 * end every binding or connection made with this endpoint. 0 or -ENOENT. */
static int
socket_term_endpoint(struct socket *s, const char *uri)
{
	int rc = socket_endpoint_begin(s);
	if (rc < 0)
		return rc;
	const struct transport_ops *t = NULL;
	const char *addr = NULL;
	if (!uri || socket_parse(uri, &t, &addr) < 0)
		return -EINVAL;
	int found = 0;
	if (t == &transport_inproc && socket_inproc_unbind(s, addr) == 0)
		found++;
	for (struct endpoint_rec **pp = &s->endpoints; *pp;) {
		struct endpoint_rec *r = *pp;
		bool match = strcmp(r->uri, uri) == 0 ||
		             (r->given && strcmp(r->given, uri) == 0);
		if (!match) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		found++;
		socket_end_endpoint(s, r, true);
	}
	return found ? 0 : -ENOENT;
}

/* socket_session_ended: CMD_TERM_ENDPOINT from a connect session whose connection
 * ended with reconnection off: its endpoint is forgotten as by zmq_disconnect, so
 * the socket (a PAIR) is free for a new zmq_connect, as in libzmq. */
void
socket_session_ended(struct socket *s, struct own *session)
{
	if (own_is_terminating(&s->own))
		return; /* the session is ending with the socket anyway */
	for (struct endpoint_rec **pp = &s->endpoints; *pp; pp = &(*pp)->next) {
		struct endpoint_rec *r = *pp;
		if (r->child == session) {
			*pp = r->next;
			socket_end_endpoint(s, r, false);
			return;
		}
	}
}

int
socket_unbind(struct socket *s, const char *uri)
{
	return socket_term_endpoint(s, uri);
}

int
socket_disconnect(struct socket *s, const char *uri)
{
	return socket_term_endpoint(s, uri);
}
