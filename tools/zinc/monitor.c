/*
 * monitor.c: `zinc monitor ENDPOINT...`: connects (or, with --bind, binds) a socket and
 * prints its monitor events live, one line each with a time stamp. Messages that
 * arrive are read and dropped (counted with --messages), so the connection stays
 * healthy. SIGINT or SIGTERM shuts the context down and the command exits with 0.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <zmq.h>

#include "cli.h"
#include "events.h"
#include "signals.h"

static const char monitor_help[] =
        "usage: zinc monitor [options] [ENDPOINT...]\n\n"
        "Connects a socket to each ENDPOINT (and binds it to each --bind) and prints\n"
        "its connection events as they happen, one line each:\n"
        "  2024-05-01 12:00:00.123  HANDSHAKE_SUCCEEDED  tcp://127.0.0.1:5555\n"
        "Stops on SIGINT/SIGTERM (exit status 0) or after --count events.\n\n"
        "  -b, --bind EP      bind to EP as well (several allowed)\n"
        "  -t, --type TYPE    the socket's type (default dealer; the peer must accept\n"
        "                     it: sub for a publisher, dealer for router/rep/dealer)\n"
        "  -n, --count N      exit after N events\n"
        "  -m, --messages     also print a line for each message that arrives\n"
        "  -h, --help         this help\n";

struct monitor_opts {
	const char **binds, **connects;
	int nbinds, nconnects;
	int type;
	int type_given; /* --type was on the command line */
	long count;
	int messages;
};

/* print_stamp: the wall-clock time, to the millisecond. */
static void
print_stamp(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	localtime_r(&tv.tv_sec, &tm);
	char buf[32];
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s.%03ld  ", buf, (long)(tv.tv_usec / 1000));
}

/* print_type_hint: once, when a connection ends before any handshake succeeded and
 * the type is the default one: the usual cause is a peer whose type does not accept a
 * DEALER (a PUB, a PULL, a REQ). Such a peer may close before or after its READY, so
 * libzmq and zinc report it as HANDSHAKE_FAILED_NO_DETAIL or as DISCONNECTED alone. */
static void
print_type_hint(unsigned ev, const struct monitor_opts *mo)
{
	static int said, succeeded;
	if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
		succeeded = 1;
	if (said || succeeded || mo->type_given ||
	    (ev != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL &&
	     ev != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && ev != ZMQ_EVENT_DISCONNECTED))
		return;
	said = 1;
	fprintf(stderr, "zinc monitor: no handshake yet; if the peer's socket type does "
	                "not accept a dealer, give --type (sub for a pub, push for a "
	                "pull, pull for a push, router for a req, pair for a pair)\n");
}

/* print_event: one line for an event; 1 if it was one, 0 if the read failed. */
static int
print_event(void *mon, const struct monitor_opts *mo)
{
	unsigned ev, value;
	char ep[256], what[128];
	if (cli_monitor_read(mon, &ev, &value, ep, sizeof ep) != 0)
		return 0;
	cli_event_describe(ev, value, what, sizeof what);
	print_stamp();
	printf("%-26s %s%s%s\n", cli_event_name(ev), ep, what[0] ? "  " : "", what);
	fflush(stdout);
	print_type_hint(ev, mo);
	return 1;
}

/* drop_message: reads one whole message off s; says so with --messages. */
static void
drop_message(void *s, int say)
{
	struct cli_msg m;
	if (cli_recv_msg(s, &m) != 0)
		return;
	if (say) {
		size_t bytes = 0;
		for (int i = 0; i < m.count; i++)
			bytes += m.frames[i].size;
		print_stamp();
		printf("%-26s %d frame(s), %zu bytes\n", "MESSAGE", m.count, bytes);
		fflush(stdout);
	}
	cli_msg_free(&m);
}

/* watch_events: prints events until --count, ETERM (a signal) or an error. */
static int
watch_events(void *s, void *mon, const struct monitor_opts *mo)
{
	long seen = 0;
	while (mo->count < 0 || seen < mo->count) {
		zmq_pollitem_t items[2] = {{mon, 0, ZMQ_POLLIN, 0},
		                           {s, 0, ZMQ_POLLIN, 0}};
		if (zmq_poll(items, 2, -1) < 0)
			return zmq_errno() == ETERM ? CLI_OK : cli_zmq_error("zmq_poll");
		if (items[0].revents & ZMQ_POLLIN)
			seen += print_event(mon, mo);
		if (items[1].revents & ZMQ_POLLIN)
			drop_message(s, mo->messages);
	}
	return CLI_OK;
}

/* attach: binds and connects s as the options say, with one line on a failure. */
static int
attach(void *s, const struct monitor_opts *mo)
{
	for (int i = 0; i < mo->nbinds; i++)
		if (zmq_bind(s, mo->binds[i]) != 0)
			return cli_error("cannot bind %s: %s", mo->binds[i],
			                 zmq_strerror(zmq_errno()));
	for (int i = 0; i < mo->nconnects; i++)
		if (zmq_connect(s, mo->connects[i]) != 0)
			return cli_error("cannot connect to %s: %s", mo->connects[i],
			                 zmq_strerror(zmq_errno()));
	return CLI_OK;
}

static void
stop_monitor(void *ctx)
{
	zmq_ctx_shutdown(ctx); /* blocked calls return ETERM */
}

/* run_monitor: the socket, its monitor (set up before any bind or connect, so the
 * first events are seen), then the event loop. */
static int
run_monitor(void *ctx, void **socks, const struct monitor_opts *mo)
{
	socks[0] = zmq_socket(ctx, mo->type);
	if (!socks[0])
		return cli_zmq_error("zmq_socket");
	if (mo->type == ZMQ_SUB)
		zmq_setsockopt(socks[0], ZMQ_SUBSCRIBE, "", 0);
	if (zmq_socket_monitor(socks[0], "inproc://zinc-monitor", ZMQ_EVENT_ALL) != 0)
		return cli_zmq_error("zmq_socket_monitor");
	socks[1] = zmq_socket(ctx, ZMQ_PAIR);
	if (!socks[1] || zmq_connect(socks[1], "inproc://zinc-monitor") != 0)
		return cli_zmq_error("monitor socket");
	if (attach(socks[0], mo) != CLI_OK)
		return CLI_FAIL;
	if (cli_signals_watch(stop_monitor, ctx) != 0)
		return cli_error("cannot start the signal watcher");
	int rc = watch_events(socks[0], socks[1], mo);
	cli_signals_unwatch();
	return rc;
}

/* parse_args: options and positional endpoints into mo; CLI_OK or CLI_USAGE. */
static int
parse_args(int argc, char **argv, struct monitor_opts *mo, int *help)
{
	static const struct option longs[] = {{"bind", required_argument, NULL, 'b'},
	                                      {"type", required_argument, NULL, 't'},
	                                      {"count", required_argument, NULL, 'n'},
	                                      {"messages", no_argument, NULL, 'm'},
	                                      {"help", no_argument, NULL, 'h'},
	                                      {NULL, 0, NULL, 0}};
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":b:t:n:mh", longs, NULL)) != -1) {
		switch (c) {
		case 'b': mo->binds[mo->nbinds++] = optarg; break;
		case 'm': mo->messages = 1; break;
		case 'h': *help = 1; return CLI_OK;
		case 't':
			mo->type_given = 1;
			if ((mo->type = cli_socket_type(optarg)) < 0)
				return cli_usage_error(
				        "monitor", "unknown socket type '%s'", optarg);
			break;
		case 'n':
			if (cli_parse_long(optarg, 1, &mo->count) != 0)
				return cli_usage_error("monitor", "not a count: %s",
				                       optarg);
			break;
		case ':':
			return cli_usage_error("monitor", "option '%s' needs a value",
			                       argv[optind - 1]);
		default:
			return cli_usage_error("monitor", "unknown option '%s'",
			                       argv[optind - 1]);
		}
	}
	while (optind < argc)
		mo->connects[mo->nconnects++] = argv[optind++];
	if (!mo->nbinds && !mo->nconnects)
		return cli_usage_error("monitor", "give an ENDPOINT or --bind EP");
	return CLI_OK;
}

int
cmd_monitor(int argc, char **argv)
{
	struct monitor_opts mo = {.type = ZMQ_DEALER, .count = -1};
	mo.binds = calloc((size_t)argc + 1, sizeof *mo.binds);
	mo.connects = calloc((size_t)argc + 1, sizeof *mo.connects);
	int help = 0;
	int rc = mo.binds && mo.connects ? parse_args(argc, argv, &mo, &help)
	                                 : cli_error("out of memory");
	if (rc == CLI_OK && help)
		fputs(monitor_help, stdout);
	if (rc == CLI_OK && !help) {
		void *ctx = NULL, *socks[2] = {NULL, NULL};
		if (cli_signals_block() != 0 || !(ctx = zmq_ctx_new()))
			rc = cli_error("cannot start: %s", zmq_strerror(zmq_errno()));
		else
			rc = run_monitor(ctx, socks, &mo);
		int zero = 0;
		for (int i = 0; i < 2; i++)
			if (socks[i]) {
				zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof zero);
				zmq_close(socks[i]);
			}
		if (ctx)
			zmq_ctx_term(ctx);
	}
	free(mo.binds);
	free(mo.connects);
	return rc;
}
