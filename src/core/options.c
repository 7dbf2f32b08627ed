/*
 * options.c: see options.h. The table lists, per option, where it lives and how it is
 * checked; the two routines below interpret it.
 */
#include "core/options.h"
#include "core/z85.h"
#include "zinc.h"
#include "zmq.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

/* Draft options of libzmq 4.3 (ZMQ_BUILD_DRAFT_API, so not in zmq.h). Debian builds
 * libzmq with the draft API and its clients (pyzmq) read these, so they are stored and
 * read back. None has an effect here, as in libzmq on Linux without ZAP and PGM. */
#define ZINC_DRAFT_ZAP_ENFORCE_DOMAIN 93
#define ZINC_DRAFT_LOOPBACK_FASTPATH  94
#define ZINC_DRAFT_MULTICAST_LOOP     96
/* Draft too, and with an effect: the SOCKS5 proxy's username/password authentication
 * (RFC 1929), at most 255 bytes each; an empty or NULL username means none. */
#define ZINC_DRAFT_SOCKS_USERNAME 99
#define ZINC_DRAFT_SOCKS_PASSWORD 100

enum opt_kind {
	OPT_INT,    /* int, value >= min */
	OPT_BOOL,   /* int, 0 or 1 */
	OPT_FLAG,   /* int, any nonzero value stored as 1 (libzmq's "relaxed" bools) */
	OPT_SWITCH, /* int >= 0, nonzero stored as 1 (libzmq's socket-type switches) */
	OPT_INT64,  /* int64_t, value >= min */
	OPT_UINT64, /* uint64_t */
	OPT_BLOB,   /* bytes, len in [min, max] */
	OPT_KEY,    /* CURVE key: 32 bytes binary or 40 chars Z85 */
	OPT_STRING, /* text; get returns it NUL-terminated */
};

enum { OPT_RW = 0, OPT_SET_ONLY = 1, OPT_GET_ONLY = 2 };

struct opt_desc {
	int option;
	uint8_t kind;
	uint8_t access;
	uint16_t offset;
	int64_t min, max;
};

#define F(field) ((uint16_t)offsetof(struct options, field))
#define INT(opt, field, lo)                                                              \
	{                                                                                \
		opt, OPT_INT, OPT_RW, F(field), lo, INT_MAX                              \
	}
#define BOOL(opt, field)                                                                 \
	{                                                                                \
		opt, OPT_BOOL, OPT_RW, F(field), 0, 1                                    \
	}
#define SBOOL(opt, field)                                                                \
	{                                                                                \
		opt, OPT_BOOL, OPT_SET_ONLY, F(field), 0, 1                              \
	}
/* A socket type's on/off option: libzmq's ROUTER, DEALER, REQ and XPUB take any
 * value >= 0 for these (nonzero is on) and refuse a negative one. */
#define SWITCH(opt, field)                                                               \
	{                                                                                \
		opt, OPT_SWITCH, OPT_SET_ONLY, F(field), 0, 0                            \
	}
#define FLAG(opt, field)                                                                 \
	{                                                                                \
		opt, OPT_FLAG, OPT_RW, F(field), INT_MIN, 0                              \
	}
#define BLOB(opt, field, lo, hi)                                                         \
	{                                                                                \
		opt, OPT_BLOB, OPT_RW, F(field), lo, hi                                  \
	}
#define STR(opt, field)                                                                  \
	{                                                                                \
		opt, OPT_STRING, OPT_RW, F(field), 0, OPTIONS_BLOB_MAX - 1               \
	}

static const struct opt_desc opt_table[] = {
        {ZMQ_AFFINITY, OPT_UINT64, OPT_RW, F(affinity), 0, 0},
        {ZMQ_ROUTING_ID, OPT_BLOB, OPT_RW, F(routing_id), 1, 255},
        INT(ZMQ_RATE, rate, 1),
        INT(ZMQ_RECOVERY_IVL, recovery_ivl, 0),
        INT(ZMQ_SNDBUF, sndbuf, -1),
        INT(ZMQ_RCVBUF, rcvbuf, -1),
        INT(ZMQ_LINGER, linger, -1),
        INT(ZMQ_RECONNECT_IVL, reconnect_ivl, -1),
        INT(ZMQ_BACKLOG, backlog, 0),
        INT(ZMQ_RECONNECT_IVL_MAX, reconnect_ivl_max, 0),
        {ZMQ_MAXMSGSIZE, OPT_INT64, OPT_RW, F(maxmsgsize), -1, INT64_MAX},
        INT(ZMQ_SNDHWM, sndhwm, 0),
        INT(ZMQ_RCVHWM, rcvhwm, 0),
        INT(ZMQ_MULTICAST_HOPS, multicast_hops, 1),
        INT(ZMQ_RCVTIMEO, rcvtimeo, -1),
        INT(ZMQ_SNDTIMEO, sndtimeo, -1),
        {ZMQ_LAST_ENDPOINT, OPT_STRING, OPT_GET_ONLY, F(last_endpoint), 0, 0},
        SWITCH(ZMQ_ROUTER_MANDATORY, router_mandatory),
        INT(ZMQ_TCP_KEEPALIVE, tcp_keepalive, -1),
        INT(ZMQ_TCP_KEEPALIVE_CNT, tcp_keepalive_cnt, -1),
        INT(ZMQ_TCP_KEEPALIVE_IDLE, tcp_keepalive_idle, -1),
        INT(ZMQ_TCP_KEEPALIVE_INTVL, tcp_keepalive_intvl, -1),
        BOOL(ZMQ_IMMEDIATE, immediate),
        SWITCH(ZMQ_XPUB_VERBOSE, xpub_verbose),
        SWITCH(ZMQ_ROUTER_RAW, router_raw),
        BOOL(ZMQ_IPV6, ipv6),
        {ZMQ_MECHANISM, OPT_INT, OPT_GET_ONLY, F(mechanism), 0, 0},
        SWITCH(ZMQ_PROBE_ROUTER, probe_router),
        SWITCH(ZMQ_REQ_CORRELATE, req_correlate),
        SWITCH(ZMQ_REQ_RELAXED, req_relaxed),
        BOOL(ZMQ_CONFLATE, conflate),
        STR(ZMQ_ZAP_DOMAIN, zap_domain),
        SWITCH(ZMQ_ROUTER_HANDOVER, router_handover),
        INT(ZMQ_TOS, tos, 0),
        {ZMQ_CONNECT_ROUTING_ID, OPT_BLOB, OPT_SET_ONLY, F(connect_routing_id), 1, 255},
        STR(ZMQ_GSSAPI_PRINCIPAL, gssapi_principal),
        STR(ZMQ_GSSAPI_SERVICE_PRINCIPAL, gssapi_service_principal),
        BOOL(ZMQ_GSSAPI_PLAINTEXT, gssapi_plaintext),
        INT(ZMQ_HANDSHAKE_IVL, handshake_ivl, 0),
        STR(ZMQ_SOCKS_PROXY, socks_proxy),
        SWITCH(ZMQ_XPUB_NODROP, xpub_nodrop),
        SWITCH(ZMQ_XPUB_MANUAL, xpub_manual),
        {ZMQ_XPUB_WELCOME_MSG, OPT_BLOB, OPT_SET_ONLY, F(xpub_welcome), 0, 255},
        SBOOL(ZMQ_STREAM_NOTIFY, stream_notify),
        BOOL(ZMQ_INVERT_MATCHING, invert_matching),
        INT(ZMQ_HEARTBEAT_IVL, heartbeat_ivl, 0),
        {ZMQ_HEARTBEAT_TTL, OPT_INT, OPT_RW, F(heartbeat_ttl), 0, 6553599},
        INT(ZMQ_HEARTBEAT_TIMEOUT, heartbeat_timeout, 0),
        SWITCH(ZMQ_XPUB_VERBOSER, xpub_verboser),
        INT(ZMQ_CONNECT_TIMEOUT, connect_timeout, 0),
        INT(ZMQ_TCP_MAXRT, tcp_maxrt, 0),
        INT(ZMQ_MULTICAST_MAXTPDU, multicast_maxtpdu, 1),
        {ZMQ_VMCI_BUFFER_SIZE, OPT_UINT64, OPT_RW, F(vmci_buffer_size), 0, 0},
        {ZMQ_VMCI_BUFFER_MIN_SIZE, OPT_UINT64, OPT_RW, F(vmci_buffer_min_size), 0, 0},
        {ZMQ_VMCI_BUFFER_MAX_SIZE, OPT_UINT64, OPT_RW, F(vmci_buffer_max_size), 0, 0},
        INT(ZMQ_VMCI_CONNECT_TIMEOUT, vmci_connect_timeout, -1),
        INT(ZMQ_USE_FD, use_fd, -1),
        INT(ZMQ_GSSAPI_PRINCIPAL_NAMETYPE, gssapi_principal_nt, 0),
        INT(ZMQ_GSSAPI_SERVICE_PRINCIPAL_NAMETYPE, gssapi_service_principal_nt, 0),
        STR(ZMQ_BINDTODEVICE, bindtodevice),
        STR(ZMQ_PLAIN_USERNAME, plain_username),
        STR(ZMQ_PLAIN_PASSWORD, plain_password),
        {ZINC_SHM_RING_SIZE, OPT_INT, OPT_RW, F(shm_ring_size), 4096, 256 << 20},
        {ZINC_SHM_SPIN_US, OPT_INT, OPT_RW, F(shm_spin_us), 0, 1000000},
        {ZINC_SHM_ZEROCOPY, OPT_INT, OPT_RW, F(shm_zerocopy), 0, INT32_MAX},
        {ZINC_SHM_POOL_SIZE, OPT_INT, OPT_RW, F(shm_pool_size), 1 << 20, 1 << 30},
        {ZMQ_CURVE_PUBLICKEY, OPT_KEY, OPT_RW, F(curve_public), 32, 32},
        {ZMQ_CURVE_SECRETKEY, OPT_KEY, OPT_RW, F(curve_secret), 32, 32},
        {ZMQ_CURVE_SERVERKEY, OPT_KEY, OPT_RW, F(curve_server), 32, 32},
        FLAG(ZINC_DRAFT_ZAP_ENFORCE_DOMAIN, zap_enforce_domain),
        FLAG(ZINC_DRAFT_LOOPBACK_FASTPATH, loopback_fastpath),
        FLAG(ZINC_DRAFT_MULTICAST_LOOP, multicast_loop),
        STR(ZINC_DRAFT_SOCKS_USERNAME, socks_username),
        STR(ZINC_DRAFT_SOCKS_PASSWORD, socks_password),
};

void
options_init(struct options *o, const struct socket_type *type)
{
	memset(o, 0, sizeof *o);
	o->type = type;
	o->sndhwm = 1000;
	o->rcvhwm = 1000;
	o->linger = type && type->linger_zero ? 0 : -1;
	o->sndtimeo = -1;
	o->rcvtimeo = -1;
	o->reconnect_ivl = 100;
	o->reconnect_ivl_max = 0;
	o->backlog = 100;
	o->rate = 100;
	o->recovery_ivl = 10000;
	o->multicast_hops = 1;
	o->multicast_maxtpdu = 1500;
	o->multicast_loop = 1;
	o->sndbuf = -1;
	o->rcvbuf = -1;
	o->tcp_keepalive = -1;
	o->tcp_keepalive_cnt = -1;
	o->tcp_keepalive_idle = -1;
	o->tcp_keepalive_intvl = -1;
	o->handshake_ivl = 30000;
	o->heartbeat_timeout = -1;
	o->stream_notify = 1;
	o->maxmsgsize = -1;
	o->use_fd = -1;
	o->vmci_connect_timeout = -1;
	o->mechanism = ZMQ_NULL;
	o->shm_ring_size = 4 << 20;
	o->shm_pool_size = 64 << 20;
}

static const struct opt_desc *
opt_find(int option)
{
	for (size_t i = 0; i < sizeof opt_table / sizeof opt_table[0]; i++)
		if (opt_table[i].option == option)
			return &opt_table[i];
	return NULL;
}

/* opt_set_key: CURVE keys are 32 raw bytes or 40 Z85 characters (41 with a NUL). */
static int
opt_set_key(struct options_blob *b, const void *val, size_t len)
{
	if (len == 32) {
		memcpy(b->data, val, 32);
		b->len = 32;
		return 0;
	}
	if (len == 40 || len == 41) {
		unsigned char key[32];
		char text[41];
		memcpy(text, val, 40);
		text[40] = '\0';
		if (z85_decode(key, text) < 0)
			return -EINVAL;
		memcpy(b->data, key, 32);
		b->len = 32;
		return 0;
	}
	return -EINVAL;
}

static void
options_apply_side_effects(struct options *o, int option)
{
	/* Setting credentials selects the mechanism, as in libzmq. */
	switch (option) {
	case ZMQ_PLAIN_USERNAME:
	case ZMQ_PLAIN_PASSWORD:
		o->mechanism = (o->plain_username.len || o->plain_password.len)
		                       ? ZMQ_PLAIN
		                       : ZMQ_NULL;
		o->as_server = 0;
		break;
	case ZMQ_CURVE_SERVERKEY:
		o->mechanism = ZMQ_CURVE;
		o->as_server = 0;
		break;
	default: break;
	}
}

static int
options_set_special(struct options *o, int option, const void *val, size_t len)
{
	int v;
	if (option == ZINC_SHM_RING_SIZE) {
		/* The ring indexes with a mask: a power of two only. */
		if (len != sizeof(int))
			return -EINVAL;
		memcpy(&v, val, sizeof v);
		if (v < 4096 || v > (256 << 20) || (v & (v - 1)))
			return -EINVAL;
		o->shm_ring_size = v;
		return 0;
	}
	if (option == ZMQ_HEARTBEAT_TTL) {
		/* Whole deciseconds, as the PING carries it (16 bits): libzmq divides
		 * by 100 first (rounding toward zero, so -99..99 is 0) and then wants
		 * 0..65535; it reads back that many hundreds of ms. */
		if (len != sizeof(int))
			return -EINVAL;
		memcpy(&v, val, sizeof v);
		v /= 100;
		if (v < 0 || v > UINT16_MAX)
			return -EINVAL;
		o->heartbeat_ttl = v * 100;
		return 0;
	}
	if (option == ZMQ_SOCKS_PROXY && val && len == 0)
		return -EINVAL; /* as libzmq: NULL unsets the proxy, "" is no address */
	if (option == ZMQ_IPV4ONLY) {
		/* The deprecated inverse of ZMQ_IPV6, still accepted by libzmq 4.3. */
		if (len != sizeof(int))
			return -EINVAL;
		memcpy(&v, val, sizeof v);
		if (v != 0 && v != 1)
			return -EINVAL;
		o->ipv6 = !v;
		return 0;
	}
	if (option != ZMQ_PLAIN_SERVER && option != ZMQ_CURVE_SERVER &&
	    option != ZMQ_GSSAPI_SERVER)
		return 1;
	if (len != sizeof(int))
		return -EINVAL;
	memcpy(&v, val, sizeof v);
	if (v != 0 && v != 1)
		return -EINVAL;
	o->as_server = v;
	if (option == ZMQ_PLAIN_SERVER)
		o->mechanism = v ? ZMQ_PLAIN : ZMQ_NULL;
	else if (option == ZMQ_CURVE_SERVER)
		o->mechanism = v ? ZMQ_CURVE : ZMQ_NULL;
	else
		o->mechanism = v ? ZMQ_GSSAPI : ZMQ_NULL;
	return 0;
}

/* opt_curve_missing: a CURVE option in a build without libsodium: refused, as libzmq
 * built without CURVE does (EINVAL), so nobody believes CURVE protects them. */
static bool
opt_curve_missing(int option)
{
#ifdef ZINC_HAVE_CURVE
	(void)option;
	return false;
#else
	return option == ZMQ_CURVE_SERVER || option == ZMQ_CURVE_PUBLICKEY ||
	       option == ZMQ_CURVE_SECRETKEY || option == ZMQ_CURVE_SERVERKEY;
#endif
}

int
options_set(struct options *o, int option, const void *val, size_t len)
{
	if ((!val && len > 0) || opt_curve_missing(option))
		return -EINVAL;
	int rc = options_set_special(o, option, val, len);
	if (rc <= 0)
		return rc;
	const struct opt_desc *d = opt_find(option);
	if (!d || d->access == OPT_GET_ONLY)
		return -EINVAL;
	char *field = (char *)o + d->offset;
	switch (d->kind) {
	case OPT_INT:
	case OPT_BOOL: {
		int v;
		if (len != sizeof v)
			return -EINVAL;
		memcpy(&v, val, sizeof v);
		if (v < d->min || v > d->max)
			return -EINVAL;
		memcpy(field, &v, sizeof v);
		break;
	}
	case OPT_FLAG: {
		int v;
		if (len != sizeof v)
			return -EINVAL;
		memcpy(&v, val, sizeof v);
		if (v < d->min)
			return -EINVAL;
		v = v != 0;
		memcpy(field, &v, sizeof v);
		break;
	}
	case OPT_SWITCH: {
		int v;
		if (len != sizeof v)
			return -EINVAL;
		memcpy(&v, val, sizeof v);
		if (v < 0)
			return -EINVAL;
		v = v != 0;
		memcpy(field, &v, sizeof v);
		break;
	}
	case OPT_INT64: {
		int64_t v;
		if (len != sizeof v)
			return -EINVAL;
		memcpy(&v, val, sizeof v);
		if (v < d->min)
			return -EINVAL;
		memcpy(field, &v, sizeof v);
		break;
	}
	case OPT_UINT64:
		if (len != sizeof(uint64_t))
			return -EINVAL;
		memcpy(field, val, sizeof(uint64_t));
		break;
	case OPT_BLOB:
	case OPT_STRING: {
		struct options_blob *b = (struct options_blob *)(void *)field;
		if ((int64_t)len < d->min || (int64_t)len > d->max)
			return -EINVAL;
		if (len)
			memcpy(b->data, val, len);
		b->len = (uint16_t)len;
		if (d->kind == OPT_STRING)
			b->data[len] = '\0';
		break;
	}
	case OPT_KEY: {
		rc = opt_set_key((struct options_blob *)(void *)field, val, len);
		if (rc < 0)
			return rc;
		break;
	}
	}
	options_apply_side_effects(o, option);
	return 0;
}

/* opt_get_copy: the value into the caller's buffer, whose rest is cleared, as libzmq
 * 4.3 does: a caller that reads an int option into an int64_t sees the value. */
static int
opt_get_copy(void *val, size_t *len, const void *src, size_t n)
{
	if (*len < n)
		return -EINVAL;
	memcpy(val, src, n);
	memset((char *)val + n, 0, *len - n);
	*len = n;
	return 0;
}

static int
opt_get_key(const struct options_blob *b, void *val, size_t *len)
{
	if (*len == 32)
		return opt_get_copy(val, len, b->data, 32);
	if (*len >= 41) {
		char text[41];
		unsigned char zero[32] = {0};
		if (z85_encode(text, b->len ? b->data : zero, 32) < 0)
			return -EINVAL;
		return opt_get_copy(val, len, text, 41);
	}
	return -EINVAL;
}

int
options_get(const struct options *o, int option, void *val, size_t *len)
{
	if (opt_curve_missing(option))
		return -EINVAL;
	if (option == ZMQ_PLAIN_SERVER || option == ZMQ_CURVE_SERVER ||
	    option == ZMQ_GSSAPI_SERVER) {
		int want = option == ZMQ_PLAIN_SERVER   ? ZMQ_PLAIN
		           : option == ZMQ_CURVE_SERVER ? ZMQ_CURVE
		                                        : ZMQ_GSSAPI;
		int v = o->as_server && o->mechanism == want;
		return opt_get_copy(val, len, &v, sizeof v);
	}
	if (option == ZMQ_TYPE) {
		int v = o->type->number;
		return opt_get_copy(val, len, &v, sizeof v);
	}
	if (option == ZMQ_IPV4ONLY) {
		int v = !o->ipv6;
		return opt_get_copy(val, len, &v, sizeof v);
	}
	const struct opt_desc *d = opt_find(option);
	if (!d || d->access == OPT_SET_ONLY)
		return -EINVAL;
	const char *field = (const char *)o + d->offset;
	switch (d->kind) {
	case OPT_INT:
	case OPT_BOOL:
	case OPT_FLAG:
	case OPT_SWITCH: return opt_get_copy(val, len, field, sizeof(int));
	case OPT_INT64:
	case OPT_UINT64: return opt_get_copy(val, len, field, sizeof(int64_t));
	case OPT_BLOB: {
		const struct options_blob *b =
		        (const struct options_blob *)(const void *)field;
		return opt_get_copy(val, len, b->data, b->len);
	}
	case OPT_STRING: {
		if (option == ZMQ_LAST_ENDPOINT)
			return opt_get_copy(val, len, field, strlen(field) + 1);
		const struct options_blob *b =
		        (const struct options_blob *)(const void *)field;
		char tmp[OPTIONS_BLOB_MAX + 1];
		memcpy(tmp, b->data, b->len);
		tmp[b->len] = '\0';
		return opt_get_copy(val, len, tmp, (size_t)b->len + 1);
	}
	case OPT_KEY:
		return opt_get_key((const struct options_blob *)(const void *)field, val,
		                   len);
	}
	return -EINVAL;
}
