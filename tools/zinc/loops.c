/*
 * loops.c: what the messaging subcommands do with their socket once it is open. Each
 * loop waits through cli_sock_wait, so a timeout or a refused handshake ends it with a
 * clear line; the sleeps left are the pacing the user asked for (--delay, --interval).
 */
#include <errno.h>
#include <string.h>

#include <zmq.h>

#include "cli.h"
#include "role.h"

/* repeats: whether a list source starts over: --interval or --count asks for more. */
static int
repeats(const struct cli_opts *o)
{
	return o->interval >= 0 || o->count > 0;
}

/* send_one: waits until m can go (up to --send-timeout), then sends it. */
static int
send_one(struct cli_sock *cs, const struct cli_opts *o, const struct cli_msg *m)
{
	int r = cli_sock_wait(cs, ZMQ_POLLOUT, o->send_timeout);
	if (r == 0)
		return cli_error("send: timed out after %g s (no peer took it)",
		                 o->send_timeout);
	if (r < 0)
		return CLI_FAIL;
	if (cli_send_msg(cs->s, m) != 0)
		return cli_zmq_error("send");
	return CLI_OK;
}

/*
 * recv_one: waits up to --recv-timeout for a message and reads it into m. Returns 1,
 * 0 on timeout (nothing printed), or -1 with a message printed.
 */
static int
recv_one(struct cli_sock *cs, const struct cli_opts *o, struct cli_msg *m)
{
	int r = cli_sock_wait(cs, ZMQ_POLLIN, o->recv_timeout);
	if (r <= 0)
		return r;
	if (cli_recv_msg(cs->s, m) != 0) {
		cli_zmq_error("receive");
		return -1;
	}
	return 1;
}

/* timed_out: the end of a receive loop whose timeout expired; an error only when a
 * --count was asked for and not reached. */
static int
timed_out(const struct cli_opts *o, long got)
{
	if (o->count < 0)
		return CLI_OK;
	return cli_error("timed out after %g s with %ld of %ld messages", o->recv_timeout,
	                 got, o->count);
}

/* wait_subscriber: a pub's XPUB waits for its first subscription (and drops it). */
static int
wait_subscriber(struct cli_sock *cs, const struct cli_opts *o)
{
	struct cli_msg sub;
	int r = recv_one(cs, o, &sub);
	if (r == 0)
		return cli_error("no subscriber within %g s", o->recv_timeout);
	if (r < 0)
		return CLI_FAIL;
	cli_msg_free(&sub);
	return CLI_OK;
}

/* drain_subscriptions: reads the XPUB's later subscriptions so they do not pile up. */
static void
drain_subscriptions(void *s)
{
	char buf[256];
	while (zmq_recv(s, buf, sizeof buf, ZMQ_DONTWAIT) >= 0)
		;
}

int
cli_loop_send(struct cli_sock *cs, const struct cli_opts *o, struct cli_source *src)
{
	if (cs->type == ZMQ_XPUB && wait_subscriber(cs, o) != CLI_OK)
		return CLI_FAIL;
	cli_sleep(o->delay);
	for (long sent = 0; o->count < 0 || sent < o->count; sent++) {
		struct cli_msg m;
		int r = cli_source_next(src, &m, repeats(o));
		if (r <= 0)
			return r == 0 ? CLI_OK : CLI_FAIL;
		if (sent > 0)
			cli_sleep(o->interval);
		int rc = send_one(cs, o, &m);
		cli_msg_free(&m);
		if (rc != CLI_OK)
			return rc;
		if (cs->type == ZMQ_XPUB)
			drain_subscriptions(cs->s);
	}
	return CLI_OK;
}

int
cli_loop_recv(struct cli_sock *cs, const struct cli_opts *o)
{
	for (long got = 0; o->count < 0 || got < o->count; got++) {
		struct cli_msg m;
		int r = recv_one(cs, o, &m);
		if (r == 0)
			return timed_out(o, got);
		if (r < 0)
			return CLI_FAIL;
		cli_msg_print(stdout, &m, o->format, o->separator);
		cli_msg_free(&m);
	}
	return CLI_OK;
}

int
cli_loop_req(struct cli_sock *cs, const struct cli_opts *o, struct cli_source *src)
{
	cli_sleep(o->delay);
	for (long done = 0; o->count < 0 || done < o->count; done++) {
		struct cli_msg m;
		int r = cli_source_next(src, &m, repeats(o));
		if (r <= 0)
			return r == 0 ? CLI_OK : CLI_FAIL;
		if (done > 0)
			cli_sleep(o->interval);
		int rc = send_one(cs, o, &m);
		cli_msg_free(&m);
		if (rc != CLI_OK)
			return rc;
		r = recv_one(cs, o, &m);
		if (r == 0)
			return cli_error("no reply within %g s", o->recv_timeout);
		if (r < 0)
			return CLI_FAIL;
		cli_msg_print(stdout, &m, o->format, o->separator);
		cli_msg_free(&m);
	}
	return CLI_OK;
}

/* reply_for: a rep's or router's answer to req: the next data message (after the
 * router's id frame), or for a rep with no data the request itself. 1, 0 (none), -1. */
static int
reply_for(struct cli_source *src, const struct cli_msg *req, struct cli_msg *out,
          int router)
{
	out->frames = NULL;
	out->count = 0;
	if (!src && router)
		return 0;
	if (router && cli_msg_add(out, req->frames[0].data, req->frames[0].size) != 0)
		return cli_error("out of memory"), -1;
	struct cli_msg data;
	int r = src ? cli_source_next(src, &data, 1) : 0;
	if (r < 0)
		return -1;
	const struct cli_msg *body = r ? &data : req;
	for (int i = 0; i < body->count; i++)
		if (cli_msg_add(out, body->frames[i].data, body->frames[i].size) != 0)
			r = -1;
	if (r)
		cli_msg_free(&data);
	return r < 0 ? -1 : 1;
}

int
cli_loop_rep(struct cli_sock *cs, const struct cli_opts *o, struct cli_source *src,
             int router)
{
	for (long got = 0; o->count < 0 || got < o->count; got++) {
		struct cli_msg req, rep;
		int r = recv_one(cs, o, &req);
		if (r == 0)
			return timed_out(o, got);
		if (r < 0)
			return CLI_FAIL;
		cli_msg_print(stdout, &req, o->format, o->separator);
		r = reply_for(src, &req, &rep, router);
		cli_msg_free(&req);
		if (r < 0)
			return CLI_FAIL;
		int rc = r ? send_one(cs, o, &rep) : CLI_OK;
		cli_msg_free(&rep);
		if (rc != CLI_OK)
			return rc;
	}
	return CLI_OK;
}

/* send_next: a pair's or dealer's next scheduled send; clears *sending at the end. */
static int
send_next(struct cli_sock *cs, const struct cli_opts *o, struct cli_source *src,
          int *sending, long *sent)
{
	struct cli_msg m;
	int r = cli_source_next(src, &m, o->interval >= 0);
	if (r <= 0) {
		*sending = 0;
		return r == 0 ? CLI_OK : CLI_FAIL;
	}
	int rc = send_one(cs, o, &m);
	cli_msg_free(&m);
	(*sent)++;
	return rc;
}

int
cli_loop_both(struct cli_sock *cs, const struct cli_opts *o, struct cli_source *src)
{
	int sending = src != NULL;
	double next_send = cli_now() + o->delay;
	long got = 0, sent = 0;
	/* --count counts what arrives, but the data is sent all the same: a peer that
	 * spoke first (or a --delay) must not end the command before its own data went.
	 */
	while (o->count < 0 || got < o->count || (sending && !cli_source_sent_all(src))) {
		int want_in = o->count < 0 || got < o->count;
		double wait = o->recv_timeout;
		if (sending)
			wait = next_send > cli_now() ? next_send - cli_now() : 0;
		int r = cli_sock_wait(cs, want_in ? ZMQ_POLLIN : 0, wait);
		if (r < 0)
			return CLI_FAIL;
		if (r == 1) {
			struct cli_msg m;
			if (cli_recv_msg(cs->s, &m) != 0)
				return cli_zmq_error("receive");
			cli_msg_print(stdout, &m, o->format, o->separator);
			cli_msg_free(&m);
			got++;
		} else if (!sending) {
			return timed_out(o, got);
		} else if (send_next(cs, o, src, &sending, &sent) != CLI_OK) {
			return CLI_FAIL;
		} else {
			next_send = cli_now() + (o->interval > 0 ? o->interval : 0);
		}
	}
	return CLI_OK;
}
