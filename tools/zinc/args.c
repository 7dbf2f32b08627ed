/*
 * args.c: the options of the messaging subcommands (send, recv, pub, ... router), their
 * parsing with getopt_long, and their help text.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "role.h"

enum {
	OPT_FORMAT = 256,
	OPT_SEPARATOR,
	OPT_INTERVAL,
	OPT_DELAY,
	OPT_SUBSCRIBE,
	OPT_IDENTITY,
	OPT_HWM,
	OPT_SEND_TIMEOUT,
	OPT_RECV_TIMEOUT,
	OPT_PLAIN_USER,
	OPT_PLAIN_PASSWORD,
	OPT_PLAIN_SERVER,
	OPT_CURVE_SERVER,
	OPT_CURVE_SECRET,
	OPT_CURVE_PUBLIC,
	OPT_CURVE_SERVERKEY,
};

static const struct option long_options[] = {
        {"bind", required_argument, NULL, 'b'},
        {"connect", required_argument, NULL, 'c'},
        {"data", required_argument, NULL, 'd'},
        {"file", required_argument, NULL, 'f'},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"separator", required_argument, NULL, OPT_SEPARATOR},
        {"count", required_argument, NULL, 'n'},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"delay", required_argument, NULL, OPT_DELAY},
        {"subscribe", required_argument, NULL, OPT_SUBSCRIBE},
        {"identity", required_argument, NULL, OPT_IDENTITY},
        {"hwm", required_argument, NULL, OPT_HWM},
        {"send-timeout", required_argument, NULL, OPT_SEND_TIMEOUT},
        {"recv-timeout", required_argument, NULL, OPT_RECV_TIMEOUT},
        {"plain-user", required_argument, NULL, OPT_PLAIN_USER},
        {"plain-password", required_argument, NULL, OPT_PLAIN_PASSWORD},
        {"plain-server", no_argument, NULL, OPT_PLAIN_SERVER},
        {"curve-server", no_argument, NULL, OPT_CURVE_SERVER},
        {"curve-secret", required_argument, NULL, OPT_CURVE_SECRET},
        {"curve-public", required_argument, NULL, OPT_CURVE_PUBLIC},
        {"curve-serverkey", required_argument, NULL, OPT_CURVE_SERVERKEY},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

static const char options_help[] =
        "endpoints (each may be given several times; at least one):\n"
        "  -b, --bind EP           bind to EP (tcp://*:5555, ipc:///tmp/x, shm://name)\n"
        "  -c, --connect EP        connect to EP\n"
        "data to send (the first that is given):\n"
        "  -d, --data MSG          a message (repeat for several)\n"
        "  -f, --file PATH         messages from a file, '-' for stdin\n"
        "                          (send, push, pub, req read stdin when neither is "
        "given)\n"
        "      --format F          text (default: one message a line), raw (bytes, one\n"
        "                          message per input), quoted (\"C-like\\x01\"), hex\n"
        "                          (\"\\x41\\x42\"); input and output alike\n"
        "      --separator SEP     split input frames at SEP and join output frames "
        "with\n"
        "                          it (multipart); output joins with | when not given\n"
        "pacing:\n"
        "  -n, --count N           stop after N messages (sent, received or exchanged)\n"
        "      --interval SEC      send every SEC seconds, repeating the data\n"
        "      --delay SEC         wait SEC seconds before the first send\n"
        "socket:\n"
        "      --subscribe PREFIX  sub: a topic prefix (several allowed; none: all)\n"
        "      --identity ID       the socket's routing id (ZMQ_ROUTING_ID)\n"
        "      --hwm N             send and receive high-water marks\n"
        "      --send-timeout SEC  give up a send after SEC seconds\n"
        "      --recv-timeout SEC  give up waiting for a message after SEC seconds\n"
        "security:\n"
        "      --plain-server      accept PLAIN clients (the --plain-user and\n"
        "                          --plain-password given, or any when none is)\n"
        "      --plain-user U, --plain-password P   PLAIN client credentials\n"
        "      --curve-server --curve-secret KEY    be a CURVE server\n"
        "      --curve-serverkey KEY                CURVE client of that server, with\n"
        "      [--curve-public KEY --curve-secret KEY]  this key pair (else a new one)\n"
        "  -v, --verbose           say on stderr what is bound and connected\n"
        "  -h, --help              this help\n"
        "exit status: 0 done, 1 failure (endpoint, peer refused, timeout), 2 usage\n";

void
cli_role_help(const char *name, FILE *out)
{
	const struct cli_role *r = cli_role_find(name);
	fprintf(out, "usage: zinc %s (--bind EP | --connect EP)... [options]\n\n%s\n\n",
	        name, r ? r->help : "");
	fputs(options_help, out);
}

/* arg_seconds: --interval and friends; -1 with a usage error printed if bad. */
static double
arg_seconds(const char *cmd, const char *opt, const char *v)
{
	double s = cli_parse_seconds(v);
	if (s < 0)
		cli_usage_error(cmd, "%s: not a number of seconds: %s", opt, v);
	return s;
}

/* parse_value: one option with its value into o; CLI_OK or CLI_USAGE. */
static int
parse_value(const char *cmd, int c, const char *v, struct cli_opts *o)
{
	long n;
	switch (c) {
	case 'b': o->binds[o->nbinds++] = v; break;
	case 'c': o->connects[o->nconnects++] = v; break;
	case 'd': o->data[o->ndata++] = v; break;
	case 'f': o->file = v; break;
	case OPT_SUBSCRIBE: o->subscribe[o->nsubscribe++] = v; break;
	case OPT_SEPARATOR: o->separator = v; break;
	case OPT_IDENTITY: o->identity = v; break;
	case OPT_PLAIN_USER: o->plain_user = v; break;
	case OPT_PLAIN_PASSWORD: o->plain_password = v; break;
	case OPT_PLAIN_SERVER: o->plain_server = 1; break;
	case OPT_CURVE_SERVER: o->curve_server = 1; break;
	case OPT_CURVE_SECRET: o->curve_secret = v; break;
	case OPT_CURVE_PUBLIC: o->curve_public = v; break;
	case OPT_CURVE_SERVERKEY: o->curve_serverkey = v; break;
	case 'v': o->verbose = 1; break;
	case OPT_FORMAT:
		if ((int)(o->format = cli_format_parse(v)) < 0)
			return cli_usage_error(cmd, "unknown format '%s'", v);
		break;
	case 'n':
	case OPT_HWM:
		if (cli_parse_long(v, c == 'n' ? 1 : 0, &n) != 0 || n > 0x7fffffff)
			return cli_usage_error(cmd, "not a count: %s", v);
		if (c == 'n')
			o->count = n;
		else
			o->hwm = (int)n;
		break;
	case OPT_INTERVAL: return (o->interval = arg_seconds(cmd, "--interval", v)) < 0;
	case OPT_DELAY: return (o->delay = arg_seconds(cmd, "--delay", v)) < 0;
	case OPT_SEND_TIMEOUT:
		return (o->send_timeout = arg_seconds(cmd, "--send-timeout", v)) < 0;
	case OPT_RECV_TIMEOUT:
		return (o->recv_timeout = arg_seconds(cmd, "--recv-timeout", v)) < 0;
	default: return cli_usage_error(cmd, "bad option");
	}
	return CLI_OK;
}

/* opts_alloc: room for as many repeated options as there are arguments. */
static int
opts_alloc(struct cli_opts *o, int argc)
{
	memset(o, 0, sizeof *o);
	o->count = -1;
	o->interval = -1;
	o->hwm = -1;
	o->send_timeout = -1;
	o->recv_timeout = -1;
	size_t n = (size_t)argc + 1;
	o->binds = calloc(n, sizeof *o->binds);
	o->connects = calloc(n, sizeof *o->connects);
	o->data = calloc(n, sizeof *o->data);
	o->subscribe = calloc(n, sizeof *o->subscribe);
	if (!o->binds || !o->connects || !o->data || !o->subscribe)
		return cli_error("out of memory");
	return CLI_OK;
}

void
cli_opts_free(struct cli_opts *o)
{
	free(o->binds);
	free(o->connects);
	free(o->data);
	free(o->subscribe);
}

int
cli_opts_parse(const char *cmd, int argc, char **argv, struct cli_opts *o, int *help)
{
	*help = 0;
	int rc = opts_alloc(o, argc);
	opterr = 0; /* our own line for a bad option */
	optind = 1;
	int c;
	while (rc == CLI_OK &&
	       (c = getopt_long(argc, argv, ":b:c:d:f:n:vh", long_options, NULL)) != -1) {
		if (c == 'h') {
			*help = 1;
			return CLI_OK;
		}
		if (c == '?')
			return cli_usage_error(cmd, "unknown option '%s'",
			                       argv[optind - 1]);
		if (c == ':')
			return cli_usage_error(cmd, "option '%s' needs a value",
			                       argv[optind - 1]);
		rc = parse_value(cmd, c, optarg, o);
		if (rc > 0)
			rc = CLI_USAGE;
	}
	if (rc == CLI_OK && optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (rc == CLI_OK && !o->nbinds && !o->nconnects)
		return cli_usage_error(cmd, "give at least one --bind or --connect");
	return rc;
}
