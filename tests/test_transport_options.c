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

/* connect_send: a new PUSH connects to ep and sends str; it stays open (so it
 * delivers) until the case ends. */
static void
connect_send(const char *ep, const char *str)
{
	void *c = sock_open(ZMQ_PUSH);
	CHECK_OK(zmq_connect(c, ep));
	send_str(c, str, 0);
}

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

/* ---------------------------------------------------------------------------- */
/* ZMQ_SRCFD                                                                     */
/* ---------------------------------------------------------------------------- */

/* recv_srcfd: receives one message on s and returns its ZMQ_SRCFD. */
static int
recv_srcfd(void *s)
{
	zmq_msg_t m;
	CHECK_OK(zmq_msg_init(&m));
	CHECK(zmq_msg_recv(&m, s, 0) >= 0);
	int fd = zmq_msg_get(&m, ZMQ_SRCFD);
	CHECK_OK(zmq_msg_close(&m));
	return fd;
}

/* check_local_name: fd's local address is the one ep names (the listener's). */
static void
check_local_name(int fd, enum tr t, const char *ep)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	CHECK_EQ(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	if (t == TCP) {
		CHECK_EQ(ss.ss_family, AF_INET);
		unsigned port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		CHECK_EQ(port, (unsigned)atoi(strrchr(ep, ':') + 1));
	} else {
		CHECK_EQ(ss.ss_family, AF_UNIX);
		CHECK_STR(((struct sockaddr_un *)&ss)->sun_path, ipc_file(ep));
	}
}

/* A message says which connection's descriptor it came on, on both sides: the bound
 * side's fd is an accepted one (its local name is the bind's), the connecting side's
 * has the bind as its peer. The descriptors are closed once the sockets are gone. */
static void
test_srcfd(enum tr t)
{
	ctx_open();
	void *rep = sock_open(ZMQ_REP), *req = sock_open(ZMQ_REQ);
	char ep[256];
	bind_fresh(rep, t, ep, sizeof ep);
	CHECK_OK(zmq_connect(req, ep));
	send_str(req, "ping", 0);
	int bound_fd = recv_srcfd(rep);
	CHECK(bound_fd >= 0);
	check_local_name(bound_fd, t, ep);
	send_str(rep, "pong", 0);
	int conn_fd = recv_srcfd(req);
	CHECK(conn_fd >= 0 && conn_fd != bound_fd);
	if (t == TCP) {
		struct sockaddr_in peer;
		socklen_t len = sizeof peer;
		CHECK_EQ(getpeername(conn_fd, (struct sockaddr *)&peer, &len), 0);
		CHECK_EQ(ntohs(peer.sin_port), (unsigned)atoi(strrchr(ep, ':') + 1));
	}
	ctx_close();
	CHECK_EQ(fcntl(bound_fd, F_GETFD), -1);
	CHECK_EQ(errno, EBADF);
	CHECK_EQ(fcntl(conn_fd, F_GETFD), -1);
	CHECK_EQ(errno, EBADF);
}
BOTH(test_srcfd)

/* An inproc message came on no descriptor: -1 and EINVAL. */
static void
test_srcfd_inproc(void)
{
	ctx_open();
	void *a = sock_open(ZMQ_PAIR), *b = sock_open(ZMQ_PAIR);
	CHECK_OK(zmq_bind(a, "inproc://srcfd"));
	CHECK_OK(zmq_connect(b, "inproc://srcfd"));
	send_str(b, "x", 0);
	zmq_msg_t m;
	CHECK_OK(zmq_msg_init(&m));
	CHECK(zmq_msg_recv(&m, a, 0) >= 0);
	CHECK_ERR(zmq_msg_get(&m, ZMQ_SRCFD), EINVAL);
	CHECK_OK(zmq_msg_close(&m));
	ctx_close();
}
ONE(test_srcfd_inproc)

/* ---------------------------------------------------------------------------- */
/* ZMQ_USE_FD                                                                    */
/* ---------------------------------------------------------------------------- */

/* app_listener: a listening socket made by the application, as systemd would pass
 * one: tcp on 127.0.0.1 with a port of the kernel's choice, or ipc on a fresh path.
 * ep is its endpoint. Tracked, so a failed case closes it. */
static int
app_listener(enum tr t, char *ep, size_t len)
{
	int fd;
	if (t == TCP) {
		fd = fd_track(socket(AF_INET, SOCK_STREAM, 0));
		struct sockaddr_in a;
		memset(&a, 0, sizeof a);
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t al = sizeof a;
		CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
		CHECK_EQ(getsockname(fd, (struct sockaddr *)&a, &al), 0);
		snprintf(ep, len, "tcp://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
	} else {
		fd = fd_track(socket(AF_UNIX, SOCK_STREAM, 0));
		ipc_new(ep, len);
		struct sockaddr_un a;
		memset(&a, 0, sizeof a);
		a.sun_family = AF_UNIX;
		snprintf(a.sun_path, sizeof a.sun_path, "%s", ipc_file(ep));
		CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	}
	CHECK_EQ(listen(fd, 16), 0);
	return fd;
}

/* fd_untrack: the descriptor is zinc's now (it closes it). */
static void
fd_untrack(int fd)
{
	for (int i = 0; i < cs.nfds; i++)
		if (cs.fds[i] == fd)
			cs.fds[i] = cs.fds[--cs.nfds];
}

/* A bind with ZMQ_USE_FD listens on the application's socket: the address given is
 * not read (as libzmq), ZMQ_LAST_ENDPOINT is the socket's own name, peers connect to
 * it, and the socket is closed with the bind. An ipc socket's file is the
 * application's: it stays. */
static void
test_use_fd(enum tr t)
{
	ctx_open();
	void *rep = sock_open(ZMQ_REP), *req = sock_open(ZMQ_REQ);
	char ep[256], last[256];
	int fd = app_listener(t, ep, sizeof ep);
	set_int(rep, ZMQ_USE_FD, fd);
	int got;
	size_t len = sizeof got;
	CHECK_OK(zmq_getsockopt(rep, ZMQ_USE_FD, &got, &len));
	CHECK_EQ(got, fd);
	CHECK_OK(zmq_bind(rep, t == TCP ? "tcp://127.0.0.1:1" : "ipc://unused-name"));
	fd_untrack(fd);
	last_endpoint(rep, last, sizeof last);
	CHECK_STR(last, ep);
	CHECK_OK(zmq_connect(req, ep));
	send_str(req, "ping", 0);
	recv_str(rep, "ping");
	send_str(rep, "pong", 0);
	recv_str(req, "pong");
	CHECK_OK(zmq_unbind(rep, last));
	ctx_close();
	CHECK_EQ(fcntl(fd, F_GETFD), -1);
	CHECK_EQ(errno, EBADF);
	if (t == IPC) {
		CHECK(is_socket_file(ipc_file(ep)));
		CHECK_EQ(unlink(ipc_file(ep)), 0);
	}
}
BOTH(test_use_fd)

/* What ZMQ_USE_FD cannot use is refused with EINVAL and left as it was: no socket, a
 * socket that does not listen, one of the other transport's family. A descriptor
 * another bind of the socket took already is EADDRINUSE. */
static void
test_use_fd_refused(void)
{
	ctx_open();
	void *s = sock_open(ZMQ_PULL);
	int p[2];
	CHECK_EQ(pipe(p), 0);
	fd_track(p[0]);
	fd_track(p[1]);
	set_int(s, ZMQ_USE_FD, p[0]);
	CHECK_ERR(zmq_bind(s, "tcp://127.0.0.1:*"), EINVAL);
	int idle = fd_track(socket(AF_INET, SOCK_STREAM, 0));
	set_int(s, ZMQ_USE_FD, idle);
	CHECK_ERR(zmq_bind(s, "tcp://127.0.0.1:*"), EINVAL);
	char ep[256];
	int unix_fd = app_listener(IPC, ep, sizeof ep);
	set_int(s, ZMQ_USE_FD, unix_fd);
	CHECK_ERR(zmq_bind(s, "tcp://127.0.0.1:*"), EINVAL);
	CHECK_EQ(fcntl(unix_fd, F_GETFL) & O_NONBLOCK, 0); /* untouched */
	CHECK_OK(zmq_bind(s, ep));
	fd_untrack(unix_fd);
	CHECK_ERR(zmq_bind(s, ep), EADDRINUSE);
	/* -1 (the default) binds as usual again. */
	set_int(s, ZMQ_USE_FD, -1);
	char ep2[256];
	bind_fresh(s, TCP, ep2, sizeof ep2);
	connect_send(ep, "via the adopted socket");
	recv_str(s, "via the adopted socket");
	ctx_close();
	CHECK_EQ(unlink(ipc_file(ep)), 0);
}
ONE(test_use_fd_refused)

/* clang-format off */
static const struct test tests[] = {
	ONE_ENTRY(test_wildcard_unbind),
	ONE_ENTRY(test_fixed_port_unbinds_by_either_name),
	BOTH_ENTRIES(test_srcfd),
	ONE_ENTRY(test_srcfd_inproc),
	BOTH_ENTRIES(test_use_fd),
	ONE_ENTRY(test_use_fd_refused),
	{NULL, NULL},
};
/* clang-format on */

int
main(int argc, char **argv)
{
	return transport_main(argc, argv, tests, 64, 64);
}
