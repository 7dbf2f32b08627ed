/*
 * perf_opts.h: the shared helpers of the perf tools, header-only so each tool stays one
 * program built from one source file (as libzmq's are), against zinc or any libzmq.
 *
 * perf_arg parses a count or size argument strictly. perf_ctx_opts and perf_sock_opts
 * apply the optional settings in the environment variable ZINC_PERF_OPTS, a list of
 * name=value pairs separated by spaces or commas, e.g. "sndhwm=10000,rcvhwm=10000".
 * The tools' arguments stay exactly libzmq's; the variable is where zinc-specific knobs
 * go. It knows io_threads (context) and sndhwm, rcvhwm, sndbuf, rcvbuf (socket), plain
 * libzmq options, so a run can be repeated against either library; zinc's
 * shm_ring_size and shm_spin_us (include/zinc.h); pair=1, which makes the latency
 * tools use PAIR sockets rather than REQ/REP; and
 * curve=1, CURVE security with the CurveZMQ test-vector keys on either library: the
 * tool that binds (local_*) is the server, the one that connects (remote_*) the client.
 */
#ifndef ZINC_PERF_OPTS_H
#define ZINC_PERF_OPTS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

/* perf_die: prints "<tool>: <what>: <zmq error>" and exits with status 1. */
static inline void
perf_die(const char *tool, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", tool, what, zmq_strerror(zmq_errno()));
	exit(1);
}

/*
 * perf_arg: returns the integer in s, which must be at least min and fit an int; exits
 * with a message if it is not one.
 */
static inline int
perf_arg(const char *tool, const char *name, const char *s, long min)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > 0x7fffffffL) {
		fprintf(stderr, "%s: bad %s: %s\n", tool, name, s);
		exit(1);
	}
	return (int)v;
}

struct perf_opt {
	const char *name;
	int option;
	int is_ctx;
};

static const struct perf_opt perf_opt_table[] = {
        {"io_threads", ZMQ_IO_THREADS, 1},
        {"sndhwm", ZMQ_SNDHWM, 0},
        {"rcvhwm", ZMQ_RCVHWM, 0},
        {"sndbuf", ZMQ_SNDBUF, 0},
        {"rcvbuf", ZMQ_RCVBUF, 0},
        /* zinc's own (include/zinc.h); libzmq refuses them */
        {"shm_ring_size", 0x7a6e0001, 0},
        {"shm_spin_us", 0x7a6e0002, 0},
        {"shm_zerocopy", 0x7a6e0003, 0},
        {"shm_pool_size", 0x7a6e0004, 0},
        /* not an option: "pair=1" makes the latency tools use PAIR, not REQ/REP */
        {"pair", -1, 0},
        /* not one option: "curve=1" sets a CURVE server or client (perf_curve) */
        {"curve", -2, 0},
        /* not an option: "fill=1" makes remote_thr write every byte of each body once
         * (zero-copy's benefit is that this is the only write) */
        {"fill", -1, 0},
        {NULL, 0, 0},
};

/* The CurveZMQ test vectors (Z85), the same for both libraries. */
static const char perf_server_public[] = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
static const char perf_server_secret[] = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
static const char perf_client_public[] = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
static const char perf_client_secret[] = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

/* perf_curve: makes s a CURVE server when the tool binds (local_*), else a client. */
static inline void
perf_curve(const char *tool, void *s)
{
	int rc;
	if (strncmp(tool, "local_", 6) == 0) {
		int one = 1;
		rc = zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one);
		if (rc == 0)
			rc = zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, perf_server_secret,
			                    40);
	} else {
		rc = zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, perf_server_public, 40);
		if (rc == 0)
			rc = zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, perf_client_public,
			                    40);
		if (rc == 0)
			rc = zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, perf_client_secret,
			                    40);
	}
	if (rc != 0)
		perf_die(tool, "curve");
}

/*
 * perf_apply: applies to target (a context if is_ctx, else a socket) every pair of
 * ZINC_PERF_OPTS meant for that kind of object. Exits with a message on an unknown
 * name, a malformed pair or an option the library rejects.
 */
static inline void
perf_apply(const char *tool, void *target, int is_ctx)
{
	const char *env = getenv("ZINC_PERF_OPTS");
	if (!env)
		return;
	char buf[512];
	if (strlen(env) >= sizeof buf) {
		fprintf(stderr, "%s: ZINC_PERF_OPTS too long\n", tool);
		exit(1);
	}
	strcpy(buf, env);
	char *save = NULL;
	for (char *tok = strtok_r(buf, " ,", &save); tok;
	     tok = strtok_r(NULL, " ,", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq) {
			fprintf(stderr, "%s: ZINC_PERF_OPTS: expected name=value: %s\n",
			        tool, tok);
			exit(1);
		}
		*eq = '\0';
		const struct perf_opt *o = perf_opt_table;
		while (o->name && strcmp(o->name, tok) != 0)
			o++;
		if (!o->name) {
			fprintf(stderr, "%s: ZINC_PERF_OPTS: unknown option %s\n", tool,
			        tok);
			exit(1);
		}
		if (o->is_ctx != is_ctx || o->option == -1)
			continue;
		if (o->option == -2) {
			if (strcmp(eq + 1, "1") == 0)
				perf_curve(tool, target);
			continue;
		}
		char *end;
		long v = strtol(eq + 1, &end, 10);
		if (end == eq + 1 || *end || v < 0 || v > 0x7fffffffL) {
			fprintf(stderr, "%s: ZINC_PERF_OPTS: bad value for %s\n", tool,
			        tok);
			exit(1);
		}
		int iv = (int)v;
		int rc = is_ctx ? zmq_ctx_set(target, o->option, iv)
		                : zmq_setsockopt(target, o->option, &iv, sizeof iv);
		if (rc != 0)
			perf_die(tool, o->name);
	}
}

/* perf_ctx_new: returns a new context with ZINC_PERF_OPTS applied; exits on failure. */
static inline void *
perf_ctx_new(const char *tool)
{
	void *ctx = zmq_ctx_new();
	if (!ctx)
		perf_die(tool, "zmq_ctx_new");
	perf_apply(tool, ctx, 1);
	return ctx;
}

/*
 * perf_socket: returns a socket of the first of types (a list ended by -1) the library
 * supports, with ZINC_PERF_OPTS applied; exits if it supports none. This is how the
 * latency tools use REQ/REP where the library has them and PAIR otherwise.
 */
static inline void *
perf_socket(const char *tool, void *ctx, const int *types)
{
	void *s = NULL;
	static const int pair_only[] = {ZMQ_PAIR, -1};
	const char *env = getenv("ZINC_PERF_OPTS");
	if (env && strstr(env, "pair=1"))
		types = pair_only;
	for (; *types != -1 && !s; types++)
		s = zmq_socket(ctx, *types);
	if (!s)
		perf_die(tool, "zmq_socket");
	perf_apply(tool, s, 0);
	return s;
}

#endif
