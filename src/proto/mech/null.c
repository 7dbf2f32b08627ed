/*
 * null.c: the NULL mechanism (RFC 37): each side sends READY with its properties and
 * reads the peer's. When ZMQ_ZAP_DOMAIN is set, ZAP is asked before our READY goes out;
 * with no handler bound the connection proceeds, unless ZMQ_ZAP_ENFORCE_DOMAIN says
 * otherwise (libzmq's rule for NULL).
 */
#include "proto/mech/mechanism.h"
#include "platform/alloc.h"
#include "zmq.h"

#include <errno.h>

struct mech_null {
	struct mechanism base;
	bool zap_sent, zap_done;
	bool ready_sent, ready_received;
};

#define NULL_OF(m) ((struct mech_null *)(m))

/* null_check_done: READY both ways (and ZAP passed): the handshake is over. */
static int
null_check_done(struct mech_null *n)
{
	if (!n->ready_sent || !n->ready_received)
		return 0;
	if (mech_finish_meta(&n->base) < 0)
		return -ENOMEM;
	n->base.state = MECH_READY;
	return 0;
}

/* null_zap: 0 when ZAP is passed (or not needed), -EAGAIN while it is asked, -1 when
 * it failed, -ENOMEM. */
static int
null_zap(struct mech_null *n)
{
	struct mechanism *m = &n->base;
	if (n->zap_done || m->opts->zap_domain.len == 0)
		return 0;
	if (n->zap_sent)
		return -EAGAIN;
	n->zap_sent = true;
	int rc = mech_zap_send(m, "NULL", NULL, NULL, 0);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return -EAGAIN;
	/* No handler bound. */
	if (m->opts->zap_enforce_domain)
		return mech_fail(m, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EFAULT);
	n->zap_done = true;
	return 0;
}

static int
null_next(struct mechanism *m, struct msg *cmd)
{
	struct mech_null *n = NULL_OF(m);
	if (n->ready_sent || m->state != MECH_HANDSHAKING)
		return -EAGAIN;
	int rc = null_zap(n);
	if (rc < 0)
		return rc;
	uint8_t props[512];
	size_t len = mech_write_props(m, props, sizeof props);
	if (mech_command(cmd, "READY", props, len) < 0)
		return -ENOMEM;
	n->ready_sent = true;
	if (null_check_done(n) < 0) {
		msg_close(cmd);
		return -ENOMEM;
	}
	return 0;
}

static int
null_process(struct mechanism *m, const uint8_t *body, size_t len)
{
	struct mech_null *n = NULL_OF(m);
	if (mech_is_command(body, len, "ERROR"))
		return mech_process_error(m, body, len);
	if (!mech_is_command(body, len, "READY") || n->ready_received)
		return mech_protocol_error(m, ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
	int rc = mech_parse_props(m, body + 6, len - 6);
	if (rc < 0)
		return rc;
	n->ready_received = true;
	return null_check_done(n);
}

static int
null_zap_reply(struct mechanism *m, struct msg *frames, int nframes)
{
	int rc = mech_zap_verdict(m, frames, nframes);
	if (rc == 0)
		NULL_OF(m)->zap_done = true;
	return rc;
}

static void
null_destroy(struct mechanism *m)
{
	mech_fini(m);
	zn_free(m);
}

static const struct mechanism_ops null_ops = {
        .name = "NULL",
        .next = null_next,
        .process = null_process,
        .zap_reply = null_zap_reply,
        .destroy = null_destroy,
};

int
mech_null_new(struct mechanism **out, const struct options *opts, const char *peer_ip,
              const struct mech_host *host)
{
	struct mech_null *n = zn_calloc(1, sizeof *n);
	if (!n)
		return -ENOMEM;
	mech_init(&n->base, &null_ops, opts, peer_ip, host);
	*out = &n->base;
	return 0;
}
