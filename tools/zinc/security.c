/*
 * security.c: the PLAIN and CURVE options of the messaging subcommands, and the ZAP
 * handler a --plain-server needs (PLAIN refuses every peer when none is bound). The
 * handler runs on a thread of its own, started with zmq_threadstart, and owns its
 * socket from then on.
 */
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "cli.h"

static int
set_str(void *s, int option, const char *value, const char *name)
{
	if (zmq_setsockopt(s, option, value, strlen(value)) != 0)
		return cli_zmq_error(name);
	return CLI_OK;
}

static int
set_flag(void *s, int option, const char *name)
{
	int one = 1;
	if (zmq_setsockopt(s, option, &one, sizeof one) != 0)
		return cli_zmq_error(name);
	return CLI_OK;
}

/* key_ok: a CURVE key as Z85, 40 characters; prints why not. */
static int
key_ok(const char *key, const char *name)
{
	if (strlen(key) == 40)
		return 1;
	cli_error("%s: a CURVE key is 40 Z85 characters (see 'zinc keygen')", name);
	return 0;
}

static int
apply_plain(void *s, const struct cli_opts *o)
{
	if (o->plain_server)
		return set_flag(s, ZMQ_PLAIN_SERVER, "--plain-server");
	int rc = set_str(s, ZMQ_PLAIN_USERNAME, o->plain_user ? o->plain_user : "",
	                 "--plain-user");
	if (rc == CLI_OK)
		rc = set_str(s, ZMQ_PLAIN_PASSWORD,
		             o->plain_password ? o->plain_password : "",
		             "--plain-password");
	return rc;
}

/* apply_curve_client: the server's key, and our pair (a fresh one when not given). */
static int
apply_curve_client(void *s, const struct cli_opts *o)
{
	char pub[41], sec[41];
	if (!key_ok(o->curve_serverkey, "--curve-serverkey"))
		return CLI_USAGE;
	if (o->curve_public && o->curve_secret) {
		if (!key_ok(o->curve_public, "--curve-public") ||
		    !key_ok(o->curve_secret, "--curve-secret"))
			return CLI_USAGE;
		strcpy(pub, o->curve_public);
		strcpy(sec, o->curve_secret);
	} else if (zmq_curve_keypair(pub, sec) != 0) {
		return cli_zmq_error("zmq_curve_keypair");
	}
	int rc = set_str(s, ZMQ_CURVE_SERVERKEY, o->curve_serverkey, "--curve-serverkey");
	if (rc == CLI_OK)
		rc = set_str(s, ZMQ_CURVE_PUBLICKEY, pub, "--curve-public");
	if (rc == CLI_OK)
		rc = set_str(s, ZMQ_CURVE_SECRETKEY, sec, "--curve-secret");
	return rc;
}

int
cli_apply_security(void *s, const struct cli_opts *o)
{
	int plain = o->plain_server || o->plain_user || o->plain_password;
	int curve = o->curve_server || o->curve_serverkey;
	if (plain && curve)
		return cli_error("PLAIN and CURVE options cannot be mixed");
	if (plain)
		return apply_plain(s, o);
	if (o->curve_server) {
		if (!o->curve_secret)
			return cli_error("--curve-server needs --curve-secret KEY");
		if (!key_ok(o->curve_secret, "--curve-secret"))
			return CLI_USAGE;
		int rc = set_flag(s, ZMQ_CURVE_SERVER, "--curve-server");
		return rc == CLI_OK ? set_str(s, ZMQ_CURVE_SECRETKEY, o->curve_secret,
		                              "--curve-secret")
		                    : rc;
	}
	if (o->curve_serverkey)
		return apply_curve_client(s, o);
	if (o->curve_public || o->curve_secret)
		return cli_error("--curve-public/--curve-secret need --curve-server or "
		                 "--curve-serverkey");
	return CLI_OK;
}

/* The ZAP handler's state, owned by its thread once started. */
struct zap {
	void *sock;
	const char *user, *password;
	void *thread;
};

/* zap_allowed: whether a request's credentials pass: PLAIN with the right pair. */
static int
zap_allowed(const struct zap *z, const struct cli_msg *req)
{
	/* version, request id, domain, address, identity, mechanism, credentials... */
	if (req->count < 6 || strcmp(req->frames[5].data, "PLAIN") != 0 || req->count < 8)
		return 0;
	if (!z->user && !z->password)
		return 1;
	return (!z->user || strcmp(req->frames[6].data, z->user) == 0) &&
	       (!z->password || strcmp(req->frames[7].data, z->password) == 0);
}

/* zap_run: answers ZAP requests until the context shuts down. */
static void
zap_run(void *arg)
{
	struct zap *z = arg;
	for (;;) {
		struct cli_msg req;
		if (cli_recv_msg(z->sock, &req) != 0)
			break; /* ETERM: the command is ending */
		int ok = zap_allowed(z, &req);
		const char *id = req.count > 1 ? req.frames[1].data : "";
		struct cli_msg rep = {0};
		int rc = cli_msg_add(&rep, "1.0", 3) | cli_msg_add(&rep, id, strlen(id)) |
		         cli_msg_add(&rep, ok ? "200" : "400", 3) |
		         cli_msg_add(&rep, ok ? "OK" : "bad user or password",
		                     ok ? 2 : 20) |
		         cli_msg_add(&rep, ok && req.count > 6 ? req.frames[6].data : "",
		                     ok && req.count > 6 ? req.frames[6].size : 0) |
		         cli_msg_add(&rep, "", 0);
		if (rc == 0)
			cli_send_msg(z->sock, &rep);
		cli_msg_free(&rep);
		cli_msg_free(&req);
	}
	zmq_close(z->sock);
}

void *
cli_zap_start(void *ctx, const char *user, const char *password)
{
	struct zap *z = calloc(1, sizeof *z);
	if (!z)
		return NULL;
	z->user = user;
	z->password = password;
	z->sock = zmq_socket(ctx, ZMQ_REP);
	if (!z->sock || zmq_bind(z->sock, "inproc://zeromq.zap.01") != 0) {
		if (z->sock)
			zmq_close(z->sock);
		free(z);
		return NULL;
	}
	z->thread = zmq_threadstart(zap_run, z);
	return z;
}

void
cli_zap_stop(void *handle)
{
	struct zap *z = handle;
	zmq_threadclose(z->thread);
	free(z);
}
