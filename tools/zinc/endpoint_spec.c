/*
 * endpoint_spec.c: a socket named on the command line as TYPE@ENDPOINT (bind) or
 * TYPE>ENDPOINT (connect), as CZMQ writes them; a bare endpoint binds a socket of the
 * caller's default type. Used by proxy and monitor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "cli.h"
#include "endpoint_spec.h"

int
cli_spec_parse(struct cli_spec *spec, const char *text, int default_type,
               int default_bind)
{
	const char *at = strchr(text, '@'), *gt = strchr(text, '>');
	const char *mark = at && (!gt || at < gt) ? at : gt;
	const char *scheme = strstr(text, "://");
	spec->type = default_type;
	spec->bind = default_bind;
	spec->endpoint = text;
	/* A mark after "://" belongs to the address (ipc://@abstract). */
	if (!mark || (scheme && mark > scheme))
		return CLI_OK;
	char name[16];
	size_t n = (size_t)(mark - text);
	if (n == 0 || n >= sizeof name)
		return cli_error(
		        "bad socket '%s' (expected TYPE@ENDPOINT or TYPE>ENDPOINT)",
		        text);
	memcpy(name, text, n);
	name[n] = '\0';
	spec->type = cli_socket_type(name);
	if (spec->type < 0)
		return cli_error("unknown socket type '%s' in '%s'", name, text);
	spec->bind = *mark == '@';
	spec->endpoint = mark + 1;
	return CLI_OK;
}

int
cli_spec_attach(void *s, const struct cli_spec *spec)
{
	int rc =
	        spec->bind ? zmq_bind(s, spec->endpoint) : zmq_connect(s, spec->endpoint);
	if (rc == 0)
		return CLI_OK;
	return cli_error(
	        "cannot %s %s: %s", spec->bind ? "bind" : "connect to", spec->endpoint,
	        zmq_errno() == EINVAL ? "invalid endpoint" : zmq_strerror(zmq_errno()));
}
