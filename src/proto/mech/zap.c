/*
 * zap.c: the ZAP client side of a mechanism (RFC 27, as libzmq 4.3 speaks it): the
 * request frames, the checks on the reply, and what each status does.
 *
 * The request id is always "1" and the Identity frame is the server socket's own
 * ZMQ_ROUTING_ID, not the peer's: that is what libzmq sends, and the handlers people
 * run (CZMQ's zauth, pyzmq's authenticators) check for it.
 */
#include "proto/mech/mechanism.h"
#include "proto/zmtp_codec.h"
#include "zmq.h"

#include <errno.h>
#include <string.h>

#define ZAP_FRAMES_MAX   16
#define ZAP_REPLY_FRAMES 7

static int
zap_frame(struct msg *f, const void *data, size_t len, bool more)
{
	if (msg_init_buffer(f, data, len) < 0)
		return -ENOMEM;
	f->flags = more ? MSGF_MORE : 0;
	return 0;
}

int
mech_zap_send(struct mechanism *m, const char *mechanism, const void *const *cred,
              const size_t *cred_len, int ncred)
{
	const struct options *o = m->opts;
	const void *data[ZAP_FRAMES_MAX];
	size_t len[ZAP_FRAMES_MAX];
	int n = 0;
#define ADD(d, l)                                                                        \
	do {                                                                             \
		data[n] = (d);                                                           \
		len[n] = (l);                                                            \
		n++;                                                                     \
	} while (0)
	ADD("", 0);
	ADD("1.0", 3);
	ADD("1", 1);
	ADD(o->zap_domain.data, o->zap_domain.len);
	ADD(m->peer_ip, strlen(m->peer_ip));
	ADD(o->routing_id.data, o->routing_id.len);
	ADD(mechanism, strlen(mechanism));
	for (int i = 0; i < ncred && n < ZAP_FRAMES_MAX; i++)
		ADD(cred[i], cred_len[i]);
#undef ADD
	struct msg frames[ZAP_FRAMES_MAX];
	for (int i = 0; i < n; i++) {
		if (zap_frame(&frames[i], data[i], len[i], i + 1 < n) < 0) {
			for (int j = 0; j < i; j++)
				msg_close(&frames[j]);
			return -ENOMEM;
		}
	}
	int rc = m->host.zap_request(m->host.host, frames, n);
	if (rc < 0) {
		for (int i = 0; i < n; i++)
			msg_close(&frames[i]);
		return rc == -ECONNREFUSED ? 1 : rc;
	}
	m->zap_waiting = true;
	return 0;
}

static bool
frame_is(struct msg *f, const char *s)
{
	size_t n = strlen(s);
	return msg_size(f) == n && memcmp(msg_data(f), s, n) == 0;
}

/* zap_status_code: 200/300/400/500, or -1 for anything else. */
static int
zap_status_code(struct msg *f)
{
	const char *codes[] = {"200", "300", "400", "500"};
	for (int i = 0; i < 4; i++)
		if (frame_is(f, codes[i]))
			return (i + 2) * 100;
	return -1;
}

static int
zap_meta_one(void *arg, const char *name, size_t nlen, const uint8_t *val, size_t vlen)
{
	struct metadata *md = arg;
	char key[256];
	memcpy(key, name, nlen);
	key[nlen] = '\0';
	int rc = metadata_add(md, key, (const char *)val, vlen);
	return rc == -ENOSPC ? -EPROTO : rc;
}

static int
zap_keep_metadata(struct mechanism *m, struct msg *f)
{
	if (msg_size(f) == 0)
		return 0;
	struct metadata *md = metadata_new(32);
	if (!md)
		return -ENOMEM;
	int rc = zmtp_props_parse(msg_data(f), msg_size(f), zap_meta_one, md);
	if (rc < 0) {
		metadata_rele(md);
		return rc == -ENOMEM
		               ? rc
		               : mech_protocol_error(
		                         m, ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA);
	}
	if (m->zap_meta)
		metadata_rele(m->zap_meta);
	m->zap_meta = md;
	return 0;
}

static int
mech_zap_status(struct mechanism *m, struct msg *frames, int n)
{
	m->zap_waiting = false;
	if (n != ZAP_REPLY_FRAMES)
		return mech_protocol_error(m, ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY);
	for (int i = 0; i < n; i++)
		if (((frames[i].flags & MSGF_MORE) != 0) != (i + 1 < n))
			return mech_protocol_error(
			        m, ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY);
	if (msg_size(&frames[0]) != 0)
		return mech_protocol_error(m, ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED);
	if (!frame_is(&frames[1], "1.0"))
		return mech_protocol_error(m, ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION);
	if (!frame_is(&frames[2], "1"))
		return mech_protocol_error(m, ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID);
	int status = zap_status_code(&frames[3]);
	if (status < 0)
		return mech_protocol_error(m, ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE);
	size_t ulen = msg_size(&frames[5]);
	if (ulen >= sizeof m->user_id)
		ulen = sizeof m->user_id - 1;
	memcpy(m->user_id, msg_data(&frames[5]), ulen);
	m->user_id[ulen] = '\0';
	m->user_id_len = ulen;
	int rc = zap_keep_metadata(m, &frames[6]);
	return rc < 0 ? rc : status;
}

static int
mech_zap_denied(struct mechanism *m, int status)
{
	/* 300 ("try again later") closes without telling the peer; 400 and 500 send
	 * ERROR with the status first. */
	if (status != 300)
		m->error_out = true;
	return mech_fail(m, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, status);
}

int
mech_zap_verdict(struct mechanism *m, struct msg *frames, int n)
{
	int status = mech_zap_status(m, frames, n);
	if (status < 0)
		return status;
	return status == 200 ? 0 : mech_zap_denied(m, status);
}
