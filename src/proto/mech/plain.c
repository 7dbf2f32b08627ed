/*
 * plain.c: the PLAIN mechanism (RFC 24, as libzmq 4.3): the client sends its user name
 * and password in clear text in HELLO; the server asks ZAP, always (with no handler
 * bound it refuses: PLAIN without a check would let anyone in), then WELCOME,
 * INITIATE and READY carry the properties. Messages are not protected afterwards.
 */
#include "proto/mech/mechanism.h"
#include "platform/alloc.h"
#include "zmq.h"

#include <errno.h>
#include <string.h>

enum plain_step {
	/* client */
	PC_SEND_HELLO,
	PC_WAIT_WELCOME,
	PC_SEND_INITIATE,
	PC_WAIT_READY,
	/* server */
	PS_WAIT_HELLO,
	PS_WAIT_ZAP,
	PS_SEND_WELCOME,
	PS_WAIT_INITIATE,
	PS_SEND_READY,
	P_DONE,
};

struct mech_plain {
	struct mechanism base;
	enum plain_step step;
};

#define PLAIN_OF(m) ((struct mech_plain *)(m))

static int
plain_hello(struct mechanism *m, struct msg *cmd)
{
	const struct options *o = m->opts;
	uint8_t body[2 + 2 * OPTIONS_BLOB_MAX];
	size_t n = 0;
	size_t ulen = o->plain_username.len > 255 ? 255 : o->plain_username.len;
	size_t plen = o->plain_password.len > 255 ? 255 : o->plain_password.len;
	body[n++] = (uint8_t)ulen;
	memcpy(body + n, o->plain_username.data, ulen);
	n += ulen;
	body[n++] = (uint8_t)plen;
	memcpy(body + n, o->plain_password.data, plen);
	n += plen;
	return mech_command(cmd, "HELLO", body, n);
}

/* libzmq 4.3's PLAIN writes its ERROR name as the C literal "\x05ERROR", which C reads
 * as the byte 0x5e followed by "RROR": on the wire a PLAIN ERROR is 0x5e "RROR", a
 * length byte and the reason, and libzmq's PLAIN client accepts nothing else. We send
 * that form (libzmq is the peer) and accept it as well as the RFC's "\x05ERROR". */
static const uint8_t plain_libzmq_error[5] = {0x5e, 'R', 'R', 'O', 'R'};

static bool
plain_is_error(const uint8_t *body, size_t len, size_t *reason_at)
{
	if (mech_is_command(body, len, "ERROR")) {
		*reason_at = 6;
		return true;
	}
	if (len >= 5 && memcmp(body, plain_libzmq_error, 5) == 0) {
		*reason_at = 5;
		return true;
	}
	return false;
}

/* plain_process_error: the server's ERROR, in either form. */
static int
plain_process_error(struct mechanism *m, const uint8_t *body, size_t len, size_t at)
{
	uint8_t norm[7 + 255];
	size_t rlen = len > at ? len - at : 0;
	if (rlen > 256)
		rlen = 256;
	memcpy(norm, "\x05ERROR", 6);
	memcpy(norm + 6, body + at, rlen);
	return mech_process_error(m, norm, 6 + rlen);
}

static int
plain_error(struct mechanism *m, struct msg *cmd)
{
	if (msg_init_size(cmd, 9) < 0)
		return -ENOMEM;
	uint8_t *d = msg_data(cmd);
	int status = m->fail_value;
	memcpy(d, plain_libzmq_error, 5);
	d[5] = 3;
	d[6] = (uint8_t)('0' + status / 100 % 10);
	d[7] = (uint8_t)('0' + status / 10 % 10);
	d[8] = (uint8_t)('0' + status % 10);
	cmd->flags = MSGF_COMMAND;
	return 0;
}

static int
plain_with_props(struct mechanism *m, struct msg *cmd, const char *name)
{
	uint8_t props[512];
	size_t len = mech_write_props(m, props, sizeof props);
	return mech_command(cmd, name, props, len);
}

static int
plain_next(struct mechanism *m, struct msg *cmd)
{
	struct mech_plain *p = PLAIN_OF(m);
	if (m->state != MECH_HANDSHAKING)
		return -EAGAIN;
	int rc;
	switch (p->step) {
	case PC_SEND_HELLO:
		if ((rc = plain_hello(m, cmd)) == 0)
			p->step = PC_WAIT_WELCOME;
		return rc;
	case PC_SEND_INITIATE:
		if ((rc = plain_with_props(m, cmd, "INITIATE")) == 0)
			p->step = PC_WAIT_READY;
		return rc;
	case PS_SEND_WELCOME:
		if ((rc = mech_command(cmd, "WELCOME", NULL, 0)) == 0)
			p->step = PS_WAIT_INITIATE;
		return rc;
	case PS_SEND_READY:
		if ((rc = plain_with_props(m, cmd, "READY")) < 0)
			return rc;
		if (mech_finish_meta(m) < 0) {
			msg_close(cmd);
			return -ENOMEM;
		}
		p->step = P_DONE;
		m->state = MECH_READY;
		return 0;
	default: return -EAGAIN;
	}
}

/* plain_server_hello: u8 ulen, user name, u8 plen, password, and nothing more. */
static int
plain_server_hello(struct mech_plain *p, const uint8_t *body, size_t len)
{
	struct mechanism *m = &p->base;
	const uint8_t *d = body + 6;
	size_t left = len - 6;
	if (left < 1 || d[0] > left - 1)
		return mech_protocol_error(
		        m, ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO);
	size_t ulen = d[0];
	const uint8_t *user = d + 1;
	left -= 1 + ulen;
	d += 1 + ulen;
	if (left < 1 || d[0] != left - 1)
		return mech_protocol_error(
		        m, ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO);
	size_t plen = d[0];
	const uint8_t *pass = d + 1;
	const void *cred[2] = {user, pass};
	size_t cred_len[2] = {ulen, plen};
	int rc = mech_zap_send(m, "PLAIN", cred, cred_len, 2);
	if (rc < 0)
		return rc;
	if (rc == 1) /* no handler: nobody can vouch for the password */
		return mech_fail(m, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EFAULT);
	p->step = PS_WAIT_ZAP;
	return 0;
}

static int
plain_process(struct mechanism *m, const uint8_t *body, size_t len)
{
	struct mech_plain *p = PLAIN_OF(m);
	size_t at;
	switch (p->step) {
	case PC_WAIT_WELCOME:
		if (plain_is_error(body, len, &at))
			return plain_process_error(m, body, len, at);
		if (!mech_is_command(body, len, "WELCOME"))
			break;
		if (len != 8)
			return mech_protocol_error(
			        m, ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME);
		p->step = PC_SEND_INITIATE;
		return 0;
	case PC_WAIT_READY: {
		if (plain_is_error(body, len, &at))
			return plain_process_error(m, body, len, at);
		if (!mech_is_command(body, len, "READY"))
			break;
		int rc = mech_parse_props(m, body + 6, len - 6);
		if (rc < 0)
			return rc;
		if (mech_finish_meta(m) < 0)
			return -ENOMEM;
		p->step = P_DONE;
		m->state = MECH_READY;
		return 0;
	}
	case PS_WAIT_HELLO:
		if (mech_check_structure(m, body, len) < 0)
			return -1;
		if (!mech_is_command(body, len, "HELLO"))
			break;
		return plain_server_hello(p, body, len);
	case PS_WAIT_INITIATE: {
		if (!mech_is_command(body, len, "INITIATE"))
			break;
		int rc = mech_parse_props(m, body + 9, len - 9);
		if (rc < 0)
			return rc;
		p->step = PS_SEND_READY;
		return 0;
	}
	default: break;
	}
	return mech_protocol_error(m, ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND);
}

static int
plain_zap_reply(struct mechanism *m, struct msg *frames, int n)
{
	struct mech_plain *p = PLAIN_OF(m);
	if (p->step != PS_WAIT_ZAP)
		return mech_protocol_error(m, ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED);
	int rc = mech_zap_verdict(m, frames, n);
	if (rc == 0)
		p->step = PS_SEND_WELCOME;
	return rc;
}

static void
plain_destroy(struct mechanism *m)
{
	mech_fini(m);
	zn_free(m);
}

static const struct mechanism_ops plain_ops = {
        .name = "PLAIN",
        .next = plain_next,
        .process = plain_process,
        .zap_reply = plain_zap_reply,
        .error = plain_error,
        .destroy = plain_destroy,
};

int
mech_plain_new(struct mechanism **out, const struct options *opts, const char *peer_ip,
               const struct mech_host *host)
{
	struct mech_plain *p = zn_calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	mech_init(&p->base, &plain_ops, opts, peer_ip, host);
	p->step = opts->as_server ? PS_WAIT_HELLO : PC_SEND_HELLO;
	*out = &p->base;
	return 0;
}
