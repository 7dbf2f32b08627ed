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

/* ---------------------------------------------------------------------------- */
/* Accept filters                                                                */
/* ---------------------------------------------------------------------------- */

static void
set_filter(void *s, const char *f)
{
	CHECK_OK(zmq_setsockopt(s, ZMQ_TCP_ACCEPT_FILTER, f, strlen(f)));
}

/* bound: a socket with a monitor of its accepts, bound to a fresh endpoint. The
 * filters must be set before, since a bind takes a copy. */
struct bound {
	void *s, *mon;
	char ep[256];
};

static void
bound_open(struct bound *b, void *s, enum tr t)
{
	b->s = s;
	b->mon = monitor_open(s, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_ACCEPT_FAILED);
	bind_fresh(s, t, b->ep, sizeof b->ep);
}

/* peer_connect: a PAIR that connects to b once (no reconnection) and sends "hi".
 * When b refuses the connection, the refusal may tear the pipe down before the send
 * (a connection that cannot be retried gives its pipe up), so the send is then only
 * tried. */
static void *
peer_connect(const struct bound *b, bool refused)
{
	void *c = sock_open(ZMQ_PAIR);
	set_int(c, ZMQ_RECONNECT_IVL, -1);
	CHECK_OK(zmq_connect(c, b->ep));
	if (refused)
		(void)zmq_send(c, "hi", 2, ZMQ_DONTWAIT);
	else
		send_str(c, "hi", 0);
	return c;
}

/* expect_admitted: b accepts the peer and gets its message. */
static void
expect_admitted(const struct bound *b)
{
	void *c = peer_connect(b, false);
	monitor_expect(b->mon, ZMQ_EVENT_ACCEPTED, NULL, NULL, 0);
	recv_str(b->s, "hi");
	sock_close(c);
}

/* expect_refused: b closes the connection at once (ACCEPT_FAILED) and nothing comes
 * through. */
static void
expect_refused(const struct bound *b)
{
	void *c = peer_connect(b, true);
	int err = 0;
	monitor_expect(b->mon, ZMQ_EVENT_ACCEPT_FAILED, &err, NULL, 0);
#ifndef LIBZMQ_434
	CHECK_EQ(err, EACCES); /* libzmq reports whatever errno was left */
#endif
	CHECK(!readable(b->s, 0));
	sock_close(c);
}

/* ZMQ_TCP_ACCEPT_FILTER takes "address[/bits]" (bits 0..32 for IPv4, up to 128 for
 * IPv6 with ZMQ_IPV6), adds one filter per call, and (NULL, 0) removes them all.
 * It cannot be read back (libzmq neither). */
static void
test_tcp_filter_values(void)
{
	static const char *const bad[] = {"foo",      "0.0.0.0foo", "0.0.0.0/foo",
	                                  "0.0.0.0/", "0.0.0.0/-1", "0.0.0.0/33",
	                                  "::1",      "1.2.3.4/8x", ""};
	ctx_open();
	void *s = sock_open(ZMQ_PAIR);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_ERR(
		        zmq_setsockopt(s, ZMQ_TCP_ACCEPT_FILTER, bad[i], strlen(bad[i])),
		        EINVAL);
	CHECK_ERR(zmq_setsockopt(s, ZMQ_TCP_ACCEPT_FILTER, NULL, 4), EINVAL);
	set_filter(s, "127.0.0.1");
	set_filter(s, "10.0.0.0/8");
	set_filter(s, "0.0.0.0/0");
	set_int(s, ZMQ_IPV6, 1);
	set_filter(s, "::1/128");
	set_filter(s, "fe80::/10");
	CHECK_ERR(zmq_setsockopt(s, ZMQ_TCP_ACCEPT_FILTER, "::1/129", 7), EINVAL);
	CHECK_OK(zmq_setsockopt(s, ZMQ_TCP_ACCEPT_FILTER, NULL, 0));
	char buf[64];
	size_t len = sizeof buf;
	CHECK_ERR(zmq_getsockopt(s, ZMQ_TCP_ACCEPT_FILTER, buf, &len), EINVAL);
	ctx_close();
}
ONE(test_tcp_filter_values)

/* A peer outside every filter's network is closed at once; one inside any is let in;
 * clearing the filters lets everyone in. */
static void
test_tcp_filter_admits_and_refuses(void)
{
	ctx_open();
	struct bound refusing, admitting, cleared;
	void *s = sock_open(ZMQ_PAIR);
	set_filter(s, "127.0.0.255/32");
	bound_open(&refusing, s, TCP);
	expect_refused(&refusing);

	s = sock_open(ZMQ_PAIR);
	set_filter(s, "127.0.0.255/32");
	set_filter(s, "127.0.0.0/30"); /* 127.0.0.0 - 127.0.0.3 */
	bound_open(&admitting, s, TCP);
	expect_admitted(&admitting);

	s = sock_open(ZMQ_PAIR);
	set_filter(s, "127.0.0.255/32");
	CHECK_OK(zmq_setsockopt(s, ZMQ_TCP_ACCEPT_FILTER, NULL, 0));
	bound_open(&cleared, s, TCP);
	expect_admitted(&cleared);
	ctx_close();
}
ONE(test_tcp_filter_admits_and_refuses)

/* A bind takes the filters as they are: one set afterwards applies to later binds. */
static void
test_tcp_filter_applies_to_later_binds(void)
{
	ctx_open();
	struct bound before;
	void *s = sock_open(ZMQ_PAIR);
	bound_open(&before, s, TCP);
	set_filter(s, "127.0.0.255/32");
	expect_admitted(&before);
	ctx_close();
}
ONE(test_tcp_filter_applies_to_later_binds)

/* A dual-stack listener (ZMQ_IPV6) sees an IPv4 peer as ::ffff:127.0.0.1; an IPv4
 * filter still judges it by its IPv4 address. Skipped without IPv6. */
static void
test_tcp_filter_mapped_peer(void)
{
	ctx_open();
	void *s = sock_open(ZMQ_PAIR);
	set_int(s, ZMQ_IPV6, 1);
	set_filter(s, "127.0.0.1");
	if (zmq_bind(s, "tcp://*:*") != 0) {
		printf("     (no IPv6 here: skipped)\n");
		ctx_close();
		return;
	}
	struct bound b = {
	        s, monitor_open(s, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_ACCEPT_FAILED), ""};
	char any[256];
	last_endpoint(s, any, sizeof any);
	snprintf(b.ep, sizeof b.ep, "tcp://127.0.0.1:%s", strrchr(any, ':') + 1);
	expect_admitted(&b);
	ctx_close();
}
ONE(test_tcp_filter_mapped_peer)

static void
set_id_filter(void *s, int option, int64_t id)
{
	/* uid_t, gid_t and pid_t are all 32 bits here, as the option wants them. */
	int32_t v = (int32_t)id;
	CHECK_OK(zmq_setsockopt(s, option, &v, sizeof v));
}

/* ZMQ_IPC_FILTER_UID, _GID and _PID take an id of their type, (NULL, 0) empties the
 * set; a peer is let in when it matches any set. */
static void
test_ipc_filter_values(void)
{
	ctx_open();
	void *s = sock_open(ZMQ_PAIR);
	int64_t big = 1;
	CHECK_ERR(zmq_setsockopt(s, ZMQ_IPC_FILTER_UID, &big, sizeof big), EINVAL);
	CHECK_ERR(zmq_setsockopt(s, ZMQ_IPC_FILTER_PID, NULL, 4), EINVAL);
	set_id_filter(s, ZMQ_IPC_FILTER_UID, 0);
	set_id_filter(s, ZMQ_IPC_FILTER_GID, 0);
	set_id_filter(s, ZMQ_IPC_FILTER_PID, 1);
	CHECK_OK(zmq_setsockopt(s, ZMQ_IPC_FILTER_UID, NULL, 0));
	CHECK_OK(zmq_setsockopt(s, ZMQ_IPC_FILTER_GID, NULL, 0));
	CHECK_OK(zmq_setsockopt(s, ZMQ_IPC_FILTER_PID, NULL, 0));
	ctx_close();
}
ONE(test_ipc_filter_values)

/* ipc_filtered: a bound PAIR whose only filter is (option, id). */
static void
ipc_filtered(struct bound *b, int option, int64_t id)
{
	void *s = sock_open(ZMQ_PAIR);
	set_id_filter(s, option, id);
	bound_open(b, s, IPC);
}

/* Our own uid, gid or pid lets us in; another one (no process of the test has it)
 * keeps us out; emptying the set lets us in again. */
static void
test_ipc_filter_admits_and_refuses(void)
{
	ctx_open();
	struct bound b;
	ipc_filtered(&b, ZMQ_IPC_FILTER_UID, getuid());
	expect_admitted(&b);
	ipc_filtered(&b, ZMQ_IPC_FILTER_GID, getgid());
	expect_admitted(&b);
	ipc_filtered(&b, ZMQ_IPC_FILTER_PID, getpid());
	expect_admitted(&b);
	ipc_filtered(&b, ZMQ_IPC_FILTER_UID, (int64_t)getuid() + 1);
	expect_refused(&b);
	ipc_filtered(&b, ZMQ_IPC_FILTER_PID, (int64_t)getpid() + 1);
	expect_refused(&b);

	void *s = sock_open(ZMQ_PAIR);
	set_id_filter(s, ZMQ_IPC_FILTER_PID, (int64_t)getpid() + 1);
	CHECK_OK(zmq_setsockopt(s, ZMQ_IPC_FILTER_PID, NULL, 0));
	bound_open(&b, s, IPC);
	expect_admitted(&b);
	ctx_close();
}
ONE(test_ipc_filter_admits_and_refuses)

/* The tcp filters do not concern ipc, nor the ipc ones tcp. */
static void
test_filters_keep_to_their_transport(void)
{
	ctx_open();
	struct bound b;
	void *s = sock_open(ZMQ_PAIR);
	set_filter(s, "127.0.0.255/32");
	bound_open(&b, s, IPC);
	expect_admitted(&b);
	s = sock_open(ZMQ_PAIR);
	set_id_filter(s, ZMQ_IPC_FILTER_PID, (int64_t)getpid() + 1);
	bound_open(&b, s, TCP);
	expect_admitted(&b);
	ctx_close();
}
ONE(test_filters_keep_to_their_transport)

/* clang-format off */
static const struct test tests[] = {
	ONE_ENTRY(test_wildcard_unbind),
	ONE_ENTRY(test_fixed_port_unbinds_by_either_name),
	BOTH_ENTRIES(test_srcfd),
	ONE_ENTRY(test_srcfd_inproc),
	BOTH_ENTRIES(test_use_fd),
	ONE_ENTRY(test_use_fd_refused),
	ONE_ENTRY(test_tcp_filter_values),
	ONE_ENTRY(test_tcp_filter_admits_and_refuses),
	ONE_ENTRY(test_tcp_filter_applies_to_later_binds),
	ONE_ENTRY(test_tcp_filter_mapped_peer),
	ONE_ENTRY(test_ipc_filter_values),
	ONE_ENTRY(test_ipc_filter_admits_and_refuses),
	ONE_ENTRY(test_filters_keep_to_their_transport),
	{NULL, NULL},
};
/* clang-format on */

int
main(int argc, char **argv)
{
	return transport_main(argc, argv, tests, 64, 64);
}
