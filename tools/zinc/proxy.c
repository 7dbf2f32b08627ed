/*
 * proxy.c: `zinc proxy FRONTEND BACKEND [--capture EP]`: zmq_proxy_steerable between
 * two sockets, stopped cleanly by SIGINT or SIGTERM: the signal watcher sends TERMINATE
 * on the control socket, the proxy returns, and everything is closed.
 */
#include <getopt.h>
#include <string.h>

#include <zmq.h>

#include "cli.h"
#include "endpoint_spec.h"
#include "signals.h"

static const char proxy_help[] =
        "usage: zinc proxy FRONTEND BACKEND [--capture CAPTURE]\n\n"
        "Forwards messages both ways between two sockets (zmq_proxy_steerable) until\n"
        "SIGINT or SIGTERM, then stops cleanly (exit status 0).\n\n"
        "Each socket is TYPE@ENDPOINT (bind) or TYPE>ENDPOINT (connect); a bare\n"
        "endpoint binds a ROUTER (frontend), a DEALER (backend) or a PUB (capture).\n"
        "  zinc proxy router@tcp://*:5555 dealer@tcp://*:5556   request broker\n"
        "  zinc proxy xsub@tcp://*:6000 xpub@tcp://*:6001       pub/sub forwarder\n"
        "  zinc proxy pull@ipc:///tmp/in push@ipc:///tmp/out    pipeline streamer\n"
        "  --capture EP   every message also goes to this socket (PUB@EP by default)\n";

static const char control_ep[] = "inproc://zinc-proxy-control";

/* stop_proxy: on the signal watcher's thread, tells the proxy to terminate. */
static void
stop_proxy(void *ctx)
{
	void *s = zmq_socket(ctx, ZMQ_PAIR);
	if (!s)
		return;
	if (zmq_connect(s, control_ep) == 0)
		zmq_send(s, "TERMINATE", 9, 0);
	zmq_close(s);
}

/* open_spec: a socket as spec text says, into *out. CLI_OK or CLI_FAIL. */
static int
open_spec(void *ctx, const char *text, int default_type, void **out)
{
	struct cli_spec spec;
	int rc = cli_spec_parse(&spec, text, default_type, 1);
	if (rc != CLI_OK)
		return rc;
	*out = zmq_socket(ctx, spec.type);
	if (!*out)
		return cli_zmq_error(text);
	if (spec.type == ZMQ_SUB)
		zmq_setsockopt(*out, ZMQ_SUBSCRIBE, "", 0); /* a SUB frontend takes all */
	return cli_spec_attach(*out, &spec);
}

/* run_proxy: the sockets, then the proxy until TERMINATE. */
static int
run_proxy(void *ctx, void **socks, const char **specs)
{
	static const int defaults[] = {ZMQ_ROUTER, ZMQ_DEALER, ZMQ_PUB};
	for (int i = 0; i < 3; i++)
		if (specs[i] &&
		    open_spec(ctx, specs[i], defaults[i], &socks[i]) != CLI_OK)
			return CLI_FAIL;
	socks[3] = zmq_socket(ctx, ZMQ_PAIR);
	if (!socks[3] || zmq_bind(socks[3], control_ep) != 0)
		return cli_zmq_error("control socket");
	if (cli_signals_watch(stop_proxy, ctx) != 0)
		return cli_error("cannot start the signal watcher");
	int rc = zmq_proxy_steerable(socks[0], socks[1], socks[2], socks[3]);
	cli_signals_unwatch();
	if (rc != 0)
		return cli_zmq_error("zmq_proxy_steerable");
	return CLI_OK;
}

/* parse_args: FRONTEND BACKEND [--capture EP] into specs. CLI_OK, or usage. */
static int
parse_args(int argc, char **argv, const char **specs, int *help)
{
	static const struct option longs[] = {{"capture", required_argument, NULL, 'C'},
	                                      {"help", no_argument, NULL, 'h'},
	                                      {NULL, 0, NULL, 0}};
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+h", longs, NULL)) != -1 || optind < argc) {
		if (c == -1) { /* a positional argument: take it and go on */
			if (!specs[0])
				specs[0] = argv[optind];
			else if (!specs[1])
				specs[1] = argv[optind];
			else
				return cli_usage_error("proxy", "too many arguments");
			optind++;
			continue;
		}
		if (c == 'h')
			return *help = 1, CLI_OK;
		if (c != 'C')
			return cli_usage_error("proxy", "unknown option '%s'",
			                       argv[optind - 1]);
		specs[2] = optarg;
	}
	if (!specs[1])
		return cli_usage_error("proxy", "give a FRONTEND and a BACKEND");
	return CLI_OK;
}

int
cmd_proxy(int argc, char **argv)
{
	const char *specs[3] = {NULL, NULL, NULL};
	int help = 0;
	int rc = parse_args(argc, argv, specs, &help);
	if (rc != CLI_OK || help) {
		if (help)
			fputs(proxy_help, stdout);
		return rc;
	}
	if (cli_signals_block() != 0)
		return cli_error("cannot block signals");
	void *ctx = zmq_ctx_new();
	if (!ctx)
		return cli_zmq_error("zmq_ctx_new");
	void *socks[4] = {NULL, NULL, NULL, NULL};
	rc = run_proxy(ctx, socks, specs);
	int zero = 0;
	for (int i = 0; i < 4; i++)
		if (socks[i]) {
			zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof zero);
			zmq_close(socks[i]);
		}
	zmq_ctx_term(ctx);
	return rc;
}
