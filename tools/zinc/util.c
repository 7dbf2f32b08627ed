/*
 * util.c: the small helpers every subcommand uses: error lines, time, strict number
 * parsing, socket type names, and which library is loaded.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <zmq.h>

#include "cli.h"

int
cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("zinc: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return CLI_FAIL;
}

int
cli_zmq_error(const char *what)
{
	return cli_error("%s: %s", what, zmq_strerror(zmq_errno()));
}

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("zinc: ", stderr);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see 'zinc %s --help')\n", cmd ? cmd : "");
	va_end(ap);
	return CLI_USAGE;
}

double
cli_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void
cli_sleep(double seconds)
{
	if (seconds <= 0)
		return;
	struct timespec ts = {.tv_sec = (time_t)seconds};
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

double
cli_parse_seconds(const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 1e9)
		return -1;
	return v;
}

int
cli_parse_long(const char *s, long min, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min)
		return -1;
	*out = v;
	return 0;
}

static const struct {
	const char *name;
	int type;
} socket_types[] = {
        {"pair", ZMQ_PAIR},     {"pub", ZMQ_PUB},   {"sub", ZMQ_SUB},
        {"req", ZMQ_REQ},       {"rep", ZMQ_REP},   {"dealer", ZMQ_DEALER},
        {"router", ZMQ_ROUTER}, {"pull", ZMQ_PULL}, {"push", ZMQ_PUSH},
        {"xpub", ZMQ_XPUB},     {"xsub", ZMQ_XSUB}, {"stream", ZMQ_STREAM},
};

int
cli_socket_type(const char *name)
{
	for (size_t i = 0; i < sizeof socket_types / sizeof socket_types[0]; i++)
		if (strcasecmp(name, socket_types[i].name) == 0)
			return socket_types[i].type;
	return -1;
}

const char *
cli_library_path(void)
{
	Dl_info info;
	/* The address of an API function names the shared object it came from. */
	if (dladdr((void *)(size_t)zmq_version, &info) && info.dli_fname)
		return info.dli_fname;
	return "?";
}

int
cli_library_is_zinc(void)
{
	/* shm:// is zinc's own transport: no libzmq has it. */
	return zmq_has("shm") == 1;
}
