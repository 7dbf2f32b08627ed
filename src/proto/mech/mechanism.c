/*
 * mechanism.c: picks the mechanism the options ask for, and what every mechanism shares:
 * failure, our properties and the peer's, commands, ERROR.
 */
#include "proto/mech/mechanism.h"
#include "platform/alloc.h"
#include "core/socket_type.h"
#include "proto/zmtp_codec.h"
#include "zmq.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* The most properties a ZAP handler may add (a peer's READY/INITIATE may carry any
 * number). */
#define MECH_META_MAX 64

const char *
mechanism_name(int mechanism)
{
	switch (mechanism) {
	case ZMQ_NULL: return "NULL";
	case ZMQ_PLAIN: return "PLAIN";
	case ZMQ_CURVE: return "CURVE";
	default: return "GSSAPI";
	}
}

int
mechanism_new(struct mechanism **out, const struct options *opts, const char *peer_ip,
              const struct mech_host *host)
{
	switch (opts->mechanism) {
	case ZMQ_NULL: return mech_null_new(out, opts, peer_ip, host);
	case ZMQ_PLAIN: return mech_plain_new(out, opts, peer_ip, host);
	case ZMQ_CURVE: return mech_curve_new(out, opts, peer_ip, host);
	default: return -EPROTONOSUPPORT;
	}
}

void
mechanism_destroy(struct mechanism *m)
{
	if (m)
		m->ops->destroy(m);
}

void
mech_init(struct mechanism *m, const struct mechanism_ops *ops,
          const struct options *opts, const char *peer_ip, const struct mech_host *host)
{
	m->ops = ops;
	m->opts = opts;
	m->peer_ip = peer_ip;
	m->host = *host;
	m->state = MECH_HANDSHAKING;
}

void
mech_fini(struct mechanism *m)
{
	if (m->meta)
		metadata_rele(m->meta);
	if (m->zap_meta)
		metadata_rele(m->zap_meta);
	m->meta = m->zap_meta = NULL;
}

int
mech_fail(struct mechanism *m, int event, int value)
{
	if (m->state != MECH_FAILED) {
		m->state = MECH_FAILED;
		m->fail_event = event;
		m->fail_value = value;
	}
	return -1;
}

int
mech_protocol_error(struct mechanism *m, int code)
{
	return mech_fail(m, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, code);
}

bool
mech_is_command(const uint8_t *body, size_t len, const char *name)
{
	size_t n = strlen(name);
	return len >= n + 1 && body[0] == n && memcmp(body + 1, name, n) == 0;
}

int
mech_check_structure(struct mechanism *m, const uint8_t *body, size_t len)
{
	if (len > 1 && len > body[0])
		return 0;
	return mech_protocol_error(m,
	                           ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED);
}

size_t
mech_write_props(const struct mechanism *m, uint8_t *buf, size_t cap)
{
	const char *type = m->opts->type->name;
	size_t n = zmtp_props_write(buf, cap, "Socket-Type", type, strlen(type));
	if (m->opts->type->sends_routing_id)
		n += zmtp_props_write(buf + n, cap - n, "Identity",
		                      m->opts->routing_id.data, m->opts->routing_id.len);
	return n;
}

struct props_walk {
	struct mechanism *m;
	struct metadata *md;
	bool type_ok;
	int err; /* -1: failed (state set), -ENOMEM */
};

static int
props_one(void *arg, const char *name, size_t nlen, const uint8_t *val, size_t vlen)
{
	struct props_walk *w = arg;
	struct mechanism *m = w->m;
	char key[256];
	memcpy(key, name, nlen);
	key[nlen] = '\0';
	if (strcasecmp(key, "Socket-Type") == 0) {
		if (!socket_type_compatible(m->opts->type, (const char *)val, vlen)) {
			/* An incompatible peer is refused without a handshake event. */
			w->err = mech_fail(m, 0, 0);
			return -1;
		}
		w->type_ok = true;
	}
	const char *stored = key;
	if (strcasecmp(key, "Identity") == 0) {
		if (vlen > sizeof m->peer_rid) {
			w->err = mech_protocol_error(
			        m, ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA);
			return -1;
		}
		memcpy(m->peer_rid, val, vlen);
		m->peer_rid_len = (uint8_t)vlen;
		if (vlen == 0)
			return 0;
		stored = "Routing-Id";
	}
	int rc = metadata_add(w->md, stored, (const char *)val, vlen);
	if (rc == -ENOSPC) {
		w->err = mech_protocol_error(m, ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA);
		return -1;
	}
	if (rc < 0) {
		w->err = -ENOMEM;
		return -1;
	}
	return 0;
}

static int
props_count(void *arg, const char *name, size_t nlen, const uint8_t *val, size_t vlen)
{
	(void)name;
	(void)nlen;
	(void)val;
	(void)vlen;
	(*(size_t *)arg)++;
	return 0;
}

int
mech_parse_props(struct mechanism *m, const uint8_t *data, size_t len)
{
	/* Room for every property the peer sent (libzmq takes any number; the frame's
	 * size bounds them) and for what the handshake adds (User-Id, ZAP's metadata,
	 * Peer-Address). A malformed list fails the walk below. */
	size_t n = 0;
	(void)zmtp_props_parse(data, len, props_count, &n);
	struct props_walk w = {m, metadata_new(n + MECH_META_MAX + 2), false, 0};
	if (!w.md)
		return -ENOMEM;
	int rc = zmtp_props_parse(data, len, props_one, &w);
	if (rc < 0 && w.err == 0)
		w.err = mech_fail(m, 0, 0); /* malformed: refused quietly, as libzmq */
	if (w.err == 0 && !w.type_ok)
		w.err = mech_fail(m, 0, 0); /* no Socket-Type: refused, as libzmq */
	if (w.err < 0) {
		metadata_rele(w.md);
		return w.err;
	}
	if (m->meta)
		metadata_rele(m->meta);
	m->meta = w.md;
	return 0;
}

int
mech_command(struct msg *cmd, const char *name, const void *data, size_t len)
{
	return zmtp_command_build(cmd, name, data, len) < 0 ? -ENOMEM : 0;
}

int
mech_error_command(struct msg *cmd, int status)
{
	uint8_t reason[4];
	reason[0] = 3;
	reason[1] = (uint8_t)('0' + status / 100 % 10);
	reason[2] = (uint8_t)('0' + status / 10 % 10);
	reason[3] = (uint8_t)('0' + status % 10);
	return mech_command(cmd, "ERROR", reason, sizeof reason);
}

int
mech_process_error(struct mechanism *m, const uint8_t *body, size_t len)
{
	/* \x05ERROR, a length byte, the reason. */
	if (len < 7 || (size_t)body[6] > len - 7)
		return mech_protocol_error(
		        m, ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR);
	const uint8_t *r = body + 7;
	if (body[6] == 3 && r[0] >= '3' && r[0] <= '5' && r[1] >= '0' && r[1] <= '9' &&
	    r[2] >= '0' && r[2] <= '9') {
		int status = (r[0] - '0') * 100 + (r[1] - '0') * 10 + (r[2] - '0');
		return mech_fail(m, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, status);
	}
	return mech_fail(m, 0, 0);
}

int
mech_finish_meta(struct mechanism *m)
{
	if (!m->meta) {
		m->meta = metadata_new(MECH_META_MAX);
		if (!m->meta)
			return -ENOMEM;
	}
	if (m->user_id_len &&
	    metadata_add(m->meta, "User-Id", m->user_id, m->user_id_len) == -ENOMEM)
		return -ENOMEM;
	if (m->zap_meta) {
		for (size_t i = 0;; i++) {
			const char *name, *value;
			size_t vlen;
			if (!metadata_at(m->zap_meta, i, &name, &value, &vlen))
				break;
			if (metadata_add(m->meta, name, value, vlen) == -ENOMEM)
				return -ENOMEM;
		}
	}
	return 0;
}
