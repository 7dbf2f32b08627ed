/*
 * role.c: the messaging subcommands (send, recv, pub, sub, push, pull, req, rep, pair,
 * dealer, router): one socket of the type, its options, and the loop of its kind.
 */
#include <string.h>

#include <zmq.h>

#include "cli.h"
#include "role.h"

static const struct cli_role roles[] = {
        {"send", ZMQ_PUSH, LOOP_SEND,
         "Sends messages through a PUSH socket and exits once they are delivered."},
        {"recv", ZMQ_PULL, LOOP_RECV,
         "Prints the messages that arrive on a PULL socket, one a line."},
        {"pub", ZMQ_PUB, LOOP_SEND,
         "Publishes messages. Waits for a first subscriber before the first send, so\n"
         "nothing is lost to the slow joiner; --interval repeats the data."},
        {"sub", ZMQ_SUB, LOOP_RECV,
         "Prints what a publisher sends. With no --subscribe it receives everything."},
        {"push", ZMQ_PUSH, LOOP_SEND, "Sends messages through a PUSH socket."},
        {"pull", ZMQ_PULL, LOOP_RECV, "Prints the messages a PULL socket receives."},
        {"req", ZMQ_REQ, LOOP_REQ,
         "Sends each message as a request and prints the reply; exits after the last\n"
         "(--count N sends N requests, repeating the data)."},
        {"rep", ZMQ_REP, LOOP_REP,
         "Prints each request and answers it with the next --data/--file message, or\n"
         "with the request itself (an echo server) when none is given."},
        {"pair", ZMQ_PAIR, LOOP_BOTH,
         "Sends the data and prints what arrives, both at once; --count counts the\n"
         "messages received (the data is sent all the same)."},
        {"dealer", ZMQ_DEALER, LOOP_BOTH,
         "Sends the data and prints what arrives, both at once. To talk to a REP or\n"
         "ROUTER, start each message with the empty delimiter frame, e.g.\n"
         "--separator '|' --data '|hello'."},
        {"router", ZMQ_ROUTER, LOOP_ROUTER,
         "Prints each message with its routing id frame first (--format quoted shows\n"
         "binary ids legibly); with --data/--file answers the sender of each."},
};

const struct cli_role *
cli_role_find(const char *name)
{
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		if (!strcmp(roles[i].name, name))
			return &roles[i];
	return NULL;
}

int
cli_role_known(const char *name)
{
	return cli_role_find(name) != NULL;
}

/* run: opens the socket and the data source and runs the role's loop. */
static int
run(const struct cli_role *r, const struct cli_opts *o)
{
	int reads_stdin = r->loop == LOOP_SEND || r->loop == LOOP_REQ;
	struct cli_source *src;
	int rc = cli_source_open(&src, o, reads_stdin);
	if (rc != CLI_OK)
		return rc;
	/* A pub is an XPUB underneath, to see its first subscription arrive. */
	int type = r->type == ZMQ_PUB ? ZMQ_XPUB : r->type;
	struct cli_sock cs;
	rc = cli_sock_open(&cs, type, o);
	if (rc == CLI_OK) {
		switch (r->loop) {
		case LOOP_SEND: rc = cli_loop_send(&cs, o, src); break;
		case LOOP_RECV: rc = cli_loop_recv(&cs, o); break;
		case LOOP_REQ: rc = cli_loop_req(&cs, o, src); break;
		case LOOP_REP: rc = cli_loop_rep(&cs, o, src, 0); break;
		case LOOP_ROUTER: rc = cli_loop_rep(&cs, o, src, 1); break;
		case LOOP_BOTH: rc = cli_loop_both(&cs, o, src); break;
		}
	}
	if (rc != CLI_OK && cs.s) {
		/* A failed command must not wait at exit for messages nobody takes. */
		int zero = 0;
		zmq_setsockopt(cs.s, ZMQ_LINGER, &zero, sizeof zero);
	}
	cli_sock_close(&cs);
	cli_source_close(src);
	return rc;
}

int
cmd_role(const char *name, int argc, char **argv)
{
	const struct cli_role *r = cli_role_find(name);
	struct cli_opts o;
	int help;
	int rc = cli_opts_parse(name, argc, argv, &o, &help);
	if (rc == CLI_OK && help)
		cli_role_help(name, stdout);
	else if (rc == CLI_OK)
		rc = run(r, &o);
	cli_opts_free(&o);
	return rc;
}
