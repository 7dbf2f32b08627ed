/*
 * sock.c: a messaging subcommand's socket: options, bind and connect with a clear line
 * when they fail, and a monitor of its own so a refused handshake ends the command
 * instead of leaving it waiting silently.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "cli.h"

/* set_int: an int option, with the option's name in the error line. */
static int
set_int(void *s, int option, int value, const char *name)
{
	if (zmq_setsockopt(s, option, &value, sizeof value) != 0)
		return cli_zmq_error(name);
	return CLI_OK;
}

static int
set_str(void *s, int option, const char *value, const char *name)
{
	if (zmq_setsockopt(s, option, value, strlen(value)) != 0)
		return cli_zmq_error(name);
	return CLI_OK;
}

/* ms: seconds as the milliseconds a ZMQ_*TIMEO option takes (-1: forever). */
static int
ms(double seconds)
{
	return seconds < 0 ? -1 : (int)(seconds * 1000 + 0.5);
}

/* apply_options: hwm, identity, timeouts, subscriptions. CLI_OK or CLI_FAIL. */
static int
apply_options(struct cli_sock *cs, const struct cli_opts *o)
{
	void *s = cs->s;
	int rc = CLI_OK;
	if (o->hwm >= 0 && rc == CLI_OK)
		rc = set_int(s, ZMQ_SNDHWM, o->hwm, "--hwm");
	if (o->hwm >= 0 && rc == CLI_OK)
		rc = set_int(s, ZMQ_RCVHWM, o->hwm, "--hwm");
	if (o->identity && rc == CLI_OK)
		rc = set_str(s, ZMQ_ROUTING_ID, o->identity, "--identity");
	if (o->send_timeout >= 0 && rc == CLI_OK)
		rc = set_int(s, ZMQ_LINGER, ms(o->send_timeout), "--send-timeout");
	if (rc == CLI_OK)
		rc = cli_apply_security(s, o);
	if (cs->type != ZMQ_SUB || rc != CLI_OK)
		return rc;
	/* A SUB with no --subscribe receives everything, as nngcat's. */
	if (!o->nsubscribe)
		return set_str(s, ZMQ_SUBSCRIBE, "", "--subscribe");
	for (int i = 0; i < o->nsubscribe && rc == CLI_OK; i++)
		rc = set_str(s, ZMQ_SUBSCRIBE, o->subscribe[i], "--subscribe");
	return rc;
}

/* endpoint_error: the line for a failed bind or connect, with a hint for EINVAL. */
static int
endpoint_error(const char *verb, const char *ep)
{
	int e = zmq_errno();
	if (e == EINVAL)
		return cli_error(
		        "cannot %s %s: invalid endpoint (expected transport://address, "
		        "e.g. tcp://127.0.0.1:5555)",
		        verb, ep);
	if (e == EPROTONOSUPPORT)
		return cli_error("cannot %s %s: transport not supported by this library",
		                 verb, ep);
	return cli_error("cannot %s %s: %s", verb, ep, zmq_strerror(e));
}

/* bind_all / connect_all: o's endpoints. A wildcard bind says on stderr what it got. */
static int
bind_all(struct cli_sock *cs, const struct cli_opts *o)
{
	for (int i = 0; i < o->nbinds; i++) {
		if (zmq_bind(cs->s, o->binds[i]) != 0)
			return endpoint_error("bind", o->binds[i]);
		if (strchr(o->binds[i], '*') || o->verbose) {
			char ep[256];
			size_t len = sizeof ep;
			if (zmq_getsockopt(cs->s, ZMQ_LAST_ENDPOINT, ep, &len) == 0)
				fprintf(stderr, "bound %s\n", ep);
		}
	}
	return CLI_OK;
}

static int
connect_all(struct cli_sock *cs, const struct cli_opts *o)
{
	for (int i = 0; i < o->nconnects; i++)
		if (zmq_connect(cs->s, o->connects[i]) != 0)
			return endpoint_error("connect to", o->connects[i]);
	return CLI_OK;
}

/* start_monitor: a PAIR that receives cs->s's handshake and connection events. */
static int
start_monitor(struct cli_sock *cs)
{
	static int serial;
	char ep[64];
	snprintf(ep, sizeof ep, "inproc://zinc-cli-monitor-%d", serial++);
	if (zmq_socket_monitor(cs->s, ep, ZMQ_EVENT_ALL) != 0)
		return cli_zmq_error("zmq_socket_monitor");
	cs->mon = zmq_socket(cs->ctx, ZMQ_PAIR);
	if (!cs->mon || zmq_connect(cs->mon, ep) != 0)
		return cli_zmq_error("monitor socket");
	return CLI_OK;
}

int
cli_sock_open(struct cli_sock *cs, int type, const struct cli_opts *o)
{
	memset(cs, 0, sizeof *cs);
	cs->type = type;
	cs->connect_only = o->nconnects > 0 && o->nbinds == 0;
	cs->ctx = zmq_ctx_new();
	if (!cs->ctx)
		return cli_zmq_error("zmq_ctx_new");
	cs->s = zmq_socket(cs->ctx, type);
	if (!cs->s)
		return cli_zmq_error("zmq_socket");
	int rc = apply_options(cs, o);
	if (rc == CLI_OK && o->plain_server) {
		cs->zap_thread = cli_zap_start(cs->ctx, o->plain_user, o->plain_password);
		if (!cs->zap_thread)
			rc = cli_error("cannot start the PLAIN authenticator");
	}
	if (rc == CLI_OK)
		rc = start_monitor(cs);
	if (rc == CLI_OK)
		rc = bind_all(cs, o);
	if (rc == CLI_OK)
		rc = connect_all(cs, o);
	return rc;
}

void
cli_sock_close(struct cli_sock *cs)
{
	if (cs->s && (cs->type == ZMQ_SUB || cs->type == ZMQ_PULL)) {
		/* Nothing of ours is pending but a subscription, which a peer that went
		 * away would otherwise keep zmq_ctx_term waiting for. */
		int zero = 0;
		zmq_setsockopt(cs->s, ZMQ_LINGER, &zero, sizeof zero);
	}
	if (cs->mon)
		zmq_close(cs->mon);
	if (cs->s)
		zmq_close(cs->s);
	if (cs->zap_thread) {
		/* Wakes the authenticator from its receive with ETERM; then it closes. */
		zmq_ctx_shutdown(cs->ctx);
		cli_zap_stop(cs->zap_thread);
	}
	if (cs->ctx)
		zmq_ctx_term(cs->ctx);
	memset(cs, 0, sizeof *cs);
}

int
cli_monitor_read(void *mon, unsigned *event, unsigned *value, char *endpoint, size_t len)
{
	zmq_msg_t head, addr;
	zmq_msg_init(&head);
	zmq_msg_init(&addr);
	int rc = -1;
	/* Two frames: 16-bit event and 32-bit value in native order, then the endpoint.
	 */
	if (zmq_msg_recv(&head, mon, 0) == 6 && zmq_msg_more(&head) &&
	    zmq_msg_recv(&addr, mon, 0) >= 0) {
		const uint8_t *d = zmq_msg_data(&head);
		uint16_t ev;
		uint32_t v;
		memcpy(&ev, d, 2);
		memcpy(&v, d + 2, 4);
		*event = ev;
		*value = v;
		size_t n = zmq_msg_size(&addr) < len - 1 ? zmq_msg_size(&addr) : len - 1;
		memcpy(endpoint, zmq_msg_data(&addr), n);
		endpoint[n] = '\0';
		rc = 0;
	}
	zmq_msg_close(&head);
	zmq_msg_close(&addr);
	return rc;
}

/*
 * handle_event: one monitor event. A connecting socket that has never completed a
 * handshake and whose peer refuses one gives up (libzmq does not retry such a peer);
 * a binding socket only notes it, since one bad client must not stop a server.
 */
static int
handle_event(struct cli_sock *cs)
{
	unsigned ev, value;
	char ep[256];
	if (cli_monitor_read(cs->mon, &ev, &value, ep, sizeof ep) != 0)
		return 0;
	if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
		cs->handshakes++;
	int failed = ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
	             ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
	             ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
	if (!failed)
		return 0;
	const char *why = ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH       ? "authentication"
	                  : ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? "protocol error"
	                                                              : "no detail";
	if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
		/* value is the ZAP status code (400 denied, 500 internal, 300 ...) */
		fprintf(stderr, "zinc: %s: handshake refused (%s, status %u)\n", ep, why,
		        value);
	} else {
		fprintf(stderr, "zinc: %s: handshake failed (%s)\n", ep, why);
	}
	return cs->connect_only && cs->handshakes == 0 ? -1 : 0;
}

int
cli_sock_wait(struct cli_sock *cs, short events, double timeout)
{
	double deadline = timeout < 0 ? -1 : cli_now() + timeout;
	for (;;) {
		zmq_pollitem_t items[2] = {{cs->s, 0, events, 0},
		                           {cs->mon, 0, ZMQ_POLLIN, 0}};
		long wait_ms = -1;
		if (deadline >= 0) {
			double left = deadline - cli_now();
			wait_ms = left <= 0 ? 0 : (long)(left * 1000) + 1;
		}
		int n = zmq_poll(items, cs->mon ? 2 : 1, wait_ms);
		if (n < 0) {
			cli_zmq_error("zmq_poll");
			return -1;
		}
		if (items[0].revents & events)
			return 1;
		if (cs->mon && (items[1].revents & ZMQ_POLLIN) && handle_event(cs) < 0)
			return -1;
		if (deadline >= 0 && cli_now() >= deadline)
			return 0;
	}
}

int
cli_send_msg(void *s, const struct cli_msg *m)
{
	for (int i = 0; i < m->count; i++) {
		int more = i + 1 < m->count ? ZMQ_SNDMORE : 0;
		if (zmq_send(s, m->frames[i].data, m->frames[i].size, more) < 0)
			return -1;
	}
	return 0;
}

int
cli_recv_msg(void *s, struct cli_msg *m)
{
	m->frames = NULL;
	m->count = 0;
	int more = 1;
	while (more) {
		zmq_msg_t f;
		zmq_msg_init(&f);
		if (zmq_msg_recv(&f, s, 0) < 0) {
			int e = zmq_errno();
			zmq_msg_close(&f);
			cli_msg_free(m);
			errno = e;
			return -1;
		}
		more = zmq_msg_more(&f);
		int rc = cli_msg_add(m, zmq_msg_data(&f), zmq_msg_size(&f));
		zmq_msg_close(&f);
		if (rc != 0) {
			cli_msg_free(m);
			errno = ENOMEM;
			return -1;
		}
	}
	return 0;
}
