/*
 * test_transport_options.c: what tcp:// and ipc:// do with the options and names that
 * concern a connection rather than the messages: zmq_unbind of a wildcard bind,
 * ZMQ_SRCFD, ZMQ_USE_FD (bind on the application's own listening socket),
 * ZMQ_TCP_ACCEPT_FILTER and the ipc credential filters (ZMQ_IPC_FILTER_UID, _GID,
 * _PID).
 *
 * Waits are socket timeouts (WAIT_MS), zmq_poll or monitor events; a refused peer is
 * recognised by its monitor's DISCONNECTED event, never by a pause. An argument runs
 * only the cases whose name contains it. Public zmq.h API only; it builds against
 * libzmq too:
 *   gcc -std=c11 -D_GNU_SOURCE -Itests tests/test_transport_options.c -lzmq -lpthread
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "transport_util.h"

#include <fcntl.h>

/* ---------------------------------------------------------------------------- */
/* Unbinding a wildcard                                                          */
/* ---------------------------------------------------------------------------- */

/* A wildcard bind (port "*" or "0", ipc "*") cannot be unbound by the name it was
 * given, which would name the next wildcard bind as well: ENOENT, as libzmq. The
 * resolved endpoint (ZMQ_LAST_ENDPOINT) unbinds it. */
static void
test_wildcard_unbind(void)
{
	static const char *const wild[] = {"tcp://127.0.0.1:*", "tcp://127.0.0.1:0",
	                                   "tcp://*:*", "ipc://*"};
	ctx_open();
	void *s = sock_open(ZMQ_PULL);
	char ep[256];
	for (size_t i = 0; i < sizeof wild / sizeof wild[0]; i++) {
		CHECK_OK(zmq_bind(s, wild[i]));
		last_endpoint(s, ep, sizeof ep);
		CHECK_ERR(zmq_unbind(s, wild[i]), ENOENT);
		CHECK_ERR(zmq_disconnect(s, wild[i]), ENOENT);
		CHECK_OK(zmq_unbind(s, ep));
	}
	ctx_close();
}
ONE(test_wildcard_unbind)

/* A fixed port on every interface ("*") names one endpoint: the name given unbinds it
 * too (the resolved one is tested above). */
static void
test_fixed_port_unbinds_by_either_name(void)
{
	ctx_open();
	void *s = sock_open(ZMQ_PULL);
	char free_ep[256], given[64], ep[256];
	ep_unbound(TCP, free_ep, sizeof free_ep);
	snprintf(given, sizeof given, "tcp://*:%s", strrchr(free_ep, ':') + 1);
	CHECK_OK(zmq_bind(s, given));
	last_endpoint(s, ep, sizeof ep);
	CHECK(strncmp(ep, "tcp://0.0.0.0:", 14) == 0);
	CHECK_OK(zmq_unbind(s, given));
	CHECK_ERR(zmq_unbind(s, ep), ENOENT);
	ctx_close();
}
ONE(test_fixed_port_unbinds_by_either_name)

/* clang-format off */
static const struct test tests[] = {
	ONE_ENTRY(test_wildcard_unbind),
	ONE_ENTRY(test_fixed_port_unbinds_by_either_name),
	{NULL, NULL},
};
/* clang-format on */

int
main(int argc, char **argv)
{
	return transport_main(argc, argv, tests, 64, 64);
}
