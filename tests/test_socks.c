/*
 * test_socks.c: tcp:// connects through a SOCKS5 proxy (ZMQ_SOCKS_PROXY, and the draft
 * ZMQ_SOCKS_USERNAME / ZMQ_SOCKS_PASSWORD). The proxy is this test's own, a thread that
 * speaks RFC 1928 / RFC 1929 with blocking calls: it records what the client asked for
 * (address type, host, port, credentials), connects onward and relays, or refuses, or
 * answers garbage, or says nothing, as the case wants. Its reply to CONNECT goes out in
 * one write together with the target's first bytes, so a client that read past the
 * reply would lose the target's ZMTP greeting.
 *
 * Waits are socket timeouts and monitor events, never pauses. Public zmq.h API only;
 * an argument runs only the cases whose name contains it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "transport_util.h"

#include <poll.h>

#define DRAFT_SOCKS_USERNAME 99 /* ZMQ_BUILD_DRAFT_API's numbers in libzmq 4.3 */
#define DRAFT_SOCKS_PASSWORD 100
#define TEST_DOMAIN          "zinc-socks-test.invalid" /* never resolves here */

enum proxy_mode {
	PROXY_RELAY,   /* a SOCKS5 server: connects onward and relays */
	PROXY_GARBAGE, /* breaks the handshake a different way on each connection */
	PROXY_SILENT,  /* reads the greeting and says nothing */
};

struct proxy {
	int lfd;
	int port;
	int stop[2]; /* a byte here ends the thread */
	int note[2]; /* the thread writes a byte here for each connection it accepts */
	pthread_t thread;
	bool running;
	enum proxy_mode mode;
	const char *user, *pass; /* credentials it requires; user NULL: none */
	int refuse;              /* the first `refuse` CONNECTs are answered with rep */
	int rep;
	/* What it saw; the main thread reads them after proxy_stop (the join orders it).
	 */
	int accepted, relayed;
	int atyp;
	char host[256];
	int port_asked;
	char seen_user[256], seen_pass[256];
};

static struct proxy px;

/* ---------------------------------------------------------------------------- */
/* The proxy                                                                      */
/* ---------------------------------------------------------------------------- */

/* px_wait_ms: fd readable (1), or the test asked the proxy to stop or nothing came
 * within ms (-1: no limit) (0). */
static int
px_wait_ms(int fd, int ms)
{
	struct pollfd p[2] = {{fd, POLLIN, 0}, {px.stop[0], POLLIN, 0}};
	int rc = poll(p, 2, ms);
	return rc > 0 && !(p[1].revents & POLLIN) && p[0].revents ? 1 : 0;
}

static int
px_wait(int fd)
{
	return px_wait_ms(fd, WAIT_MS);
}

/* px_recv: what is there, once fd is readable; <= 0 at the end or the time limit. */
static ssize_t
px_recv(int fd, void *buf, size_t n)
{
	return px_wait(fd) ? recv(fd, buf, n, 0) : -1;
}

/* px_read: exactly n bytes from fd, else false. */
static bool
px_read(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		if (!px_wait(fd))
			return false;
		ssize_t r = recv(fd, (char *)buf + got, n - got, 0);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

static bool
px_write(int fd, const void *buf, size_t n)
{
	return send(fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* px_greeting: reads the client's greeting; the method chosen (0xff: none fits). */
static int
px_greeting(int c)
{
	uint8_t head[2], methods[255];
	if (!px_read(c, head, 2) || head[0] != 5 || !px_read(c, methods, head[1]))
		return -1;
	int want = px.user ? 2 : 0;
	for (int i = 0; i < head[1]; i++)
		if (methods[i] == want)
			return want;
	return 0xff;
}

/* px_field: a length-prefixed string. */
static bool
px_field(int c, char *out)
{
	uint8_t len;
	if (!px_read(c, &len, 1) || !px_read(c, out, len))
		return false;
	out[len] = '\0';
	return true;
}

/* px_auth: RFC 1929: reads the credentials, answers whether they are the ones set. */
static bool
px_auth(int c)
{
	uint8_t ver;
	if (!px_read(c, &ver, 1) || ver != 1 || !px_field(c, px.seen_user) ||
	    !px_field(c, px.seen_pass))
		return false;
	bool ok = strcmp(px.seen_user, px.user) == 0 &&
	          strcmp(px.seen_pass, px.pass ? px.pass : "") == 0;
	uint8_t verdict[2] = {1, ok ? 0 : 1};
	return px_write(c, verdict, 2) && ok;
}

/* px_request: reads CONNECT; fills dst with where to connect (a name is known only if
 * it is TEST_DOMAIN, which means 127.0.0.1). The REP code to answer with. */
static int
px_request(int c, struct sockaddr_storage *dst, socklen_t *dlen)
{
	uint8_t head[4], a[16], port[2];
	if (!px_read(c, head, 4) || head[0] != 5 || head[1] != 1 || head[2] != 0)
		return -1;
	px.atyp = head[3];
	memset(dst, 0, sizeof *dst);
	struct sockaddr_in *in4 = (struct sockaddr_in *)dst;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)dst;
	int rep = 0;
	if (head[3] == 1 && px_read(c, a, 4)) {
		in4->sin_family = AF_INET;
		memcpy(&in4->sin_addr, a, 4);
		inet_ntop(AF_INET, a, px.host, sizeof px.host);
	} else if (head[3] == 4 && px_read(c, a, 16)) {
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, a, 16);
		inet_ntop(AF_INET6, a, px.host, sizeof px.host);
	} else if (head[3] == 3 && px_field(c, px.host)) {
		in4->sin_family = AF_INET;
		in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		rep = strcmp(px.host, TEST_DOMAIN) == 0 ? 0 : 4; /* host unreachable */
	} else {
		return -1;
	}
	if (!px_read(c, port, 2))
		return -1;
	px.port_asked = port[0] << 8 | port[1];
	in4->sin_port = htons((uint16_t)px.port_asked); /* same place in both */
	*dlen = in4->sin_family == AF_INET ? sizeof *in4 : sizeof *in6;
	return rep;
}

/* px_reply: REP and a bound address (ours for the onward connection, or zeros), then
 * whatever the target already sent, all in one write. */
static bool
px_reply(int c, int rep, int remote)
{
	uint8_t buf[4096] = {5, (uint8_t)rep, 0, 1};
	size_t n = 4 + 4 + 2;
	if (remote >= 0) {
		struct sockaddr_in6 me;
		socklen_t ml = sizeof me;
		getsockname(remote, (struct sockaddr *)&me, &ml);
		if (me.sin6_family == AF_INET6) {
			buf[3] = 4;
			memcpy(buf + 4, &me.sin6_addr, 16);
			memcpy(buf + 20, &me.sin6_port, 2);
			n = 22;
		} else {
			struct sockaddr_in *m4 = (struct sockaddr_in *)&me;
			memcpy(buf + 4, &m4->sin_addr, 4);
			memcpy(buf + 8, &m4->sin_port, 2);
		}
		/* The target speaks first in ZMTP: its greeting rides with the reply. */
		ssize_t r = px_recv(remote, buf + n, sizeof buf - n);
		if (r > 0)
			n += (size_t)r;
	}
	return px_write(c, buf, n);
}

static void
px_relay(int c, int remote)
{
	char buf[4096];
	for (;;) {
		struct pollfd p[3] = {
		        {c, POLLIN, 0}, {remote, POLLIN, 0}, {px.stop[0], POLLIN, 0}};
		if (poll(p, 3, -1) <= 0 || p[2].revents)
			return;
		for (int i = 0; i < 2; i++) {
			if (!p[i].revents)
				continue;
			ssize_t r = recv(p[i].fd, buf, sizeof buf, 0);
			if (r <= 0 || !px_write(p[1 - i].fd, buf, (size_t)r))
				return;
		}
	}
}

/* px_garbage: connection k breaks the handshake its own way. */
static void
px_garbage(int c, int k)
{
	uint8_t junk[64];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)(k * 37 + i * 11);
	static const uint8_t choice[] = {5, 0};
	static const uint8_t half_reply[] = {5, 0, 0};
	static const uint8_t bad_atyp[] = {5, 0, 0, 7, 1, 2, 3, 4, 5, 6};
	uint8_t req[512];
	switch (k % 5) {
	case 0: /* garbage instead of a choice */ px_write(c, junk, sizeof junk); break;
	case 1: /* a fine choice, then garbage instead of a reply */
		if (px_greeting(c) >= 0 && px_write(c, choice, 2))
			px_write(c, junk, sizeof junk);
		break;
	case 2: /* half a reply, then hang up */
		if (px_greeting(c) >= 0 && px_write(c, choice, 2) &&
		    px_recv(c, req, sizeof req) > 0)
			px_write(c, half_reply, sizeof half_reply);
		break;
	case 3: /* an address type nobody defined */
		if (px_greeting(c) >= 0 && px_write(c, choice, 2) &&
		    px_recv(c, req, sizeof req) > 0)
			px_write(c, bad_atyp, sizeof bad_atyp);
		break;
	default: /* a method we did not offer */
		px_greeting(c);
		px_write(c, (const uint8_t[]){5, 2}, 2);
		break;
	}
}

static void
px_serve(int c)
{
	int k = px.accepted++;
	if (write(px.note[1], "a", 1) != 1)
		return;
	if (px.mode == PROXY_GARBAGE) {
		px_garbage(c, k);
		return;
	}
	int method = px_greeting(c);
	if (method < 0 || px.mode == PROXY_SILENT) {
		px_wait(c); /* until the client gives up, or the test ends */
		return;
	}
	uint8_t choice[2] = {5, (uint8_t)method};
	if (!px_write(c, choice, 2) || method == 0xff || (method == 2 && !px_auth(c)))
		return;
	struct sockaddr_storage dst;
	socklen_t dlen;
	int rep = px_request(c, &dst, &dlen);
	if (rep < 0)
		return;
	if (rep == 0 && px.refuse > 0) {
		px.refuse--;
		rep = px.rep;
	}
	int remote = -1;
	if (rep == 0) {
		remote = socket(dst.ss_family, SOCK_STREAM, 0);
		if (remote < 0 || connect(remote, (struct sockaddr *)&dst, dlen) < 0)
			rep = 5; /* connection refused */
	}
	if (px_reply(c, rep, rep == 0 ? remote : -1) && rep == 0) {
		px.relayed++;
		px_relay(c, remote);
	}
	if (remote >= 0)
		close(remote);
}

static void *
px_thread(void *arg)
{
	(void)arg;
	while (px_wait_ms(px.lfd, -1)) {
		int c = accept(px.lfd, NULL, NULL);
		if (c < 0)
			break;
		px_serve(c);
		close(c);
	}
	return NULL;
}

/* proxy_bind: the proxy's socket, bound to a free port on 127.0.0.1 but not listening
 * yet (a connect to it is refused until proxy_start). */
static void
proxy_bind(enum proxy_mode mode)
{
	memset(&px, 0, sizeof px);
	px.mode = mode;
	px.lfd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(px.lfd >= 0);
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	CHECK_EQ(bind(px.lfd, (struct sockaddr *)&a, sizeof a), 0);
	CHECK_EQ(getsockname(px.lfd, (struct sockaddr *)&a, &al), 0);
	px.port = ntohs(a.sin_port);
	CHECK_EQ(pipe(px.stop), 0);
	CHECK_EQ(pipe(px.note), 0);
}

static void
proxy_start(void)
{
	CHECK_EQ(listen(px.lfd, 16), 0);
	CHECK_EQ(pthread_create(&px.thread, NULL, px_thread, NULL), 0);
	px.running = true;
}

/* proxy_stop: ends the thread (a relay in progress too) and closes the proxy. Safe
 * after a failed case, and when nothing was started. */
static void
proxy_stop(void)
{
	if (px.running) {
		CHECK_EQ(write(px.stop[1], "x", 1), 1);
		pthread_join(px.thread, NULL);
		px.running = false;
	}
	if (px.lfd > 0) {
		close(px.lfd);
		close(px.stop[0]);
		close(px.stop[1]);
		close(px.note[0]);
		close(px.note[1]);
		px.lfd = 0;
	}
}

/* proxy_wait_accept: the proxy has accepted one more connection. */
static void
proxy_wait_accept(void)
{
	struct pollfd p = {px.note[0], POLLIN, 0};
	char c;
	CHECK_EQ(poll(&p, 1, WAIT_MS), 1);
	CHECK_EQ(read(px.note[0], &c, 1), 1);
}

/* ---------------------------------------------------------------------------- */
/* Helpers                                                                        */
/* ---------------------------------------------------------------------------- */

static void
set_str(void *s, int opt, const char *v)
{
	CHECK_OK(zmq_setsockopt(s, opt, v, v ? strlen(v) : 0));
}

static void
get_str(void *s, int opt, char *out, size_t len)
{
	size_t n = len;
	CHECK_OK(zmq_getsockopt(s, opt, out, &n));
	CHECK_EQ(n, strlen(out) + 1);
}

/* pull_via_proxy: a PULL using the proxy (its address given as via, or ours). */
static void *
pull_via_proxy(const char *via)
{
	void *pull = sock_open(ZMQ_PULL);
	char addr[128];
	if (!via) {
		snprintf(addr, sizeof addr, "127.0.0.1:%d", px.port);
		via = addr;
	}
	set_str(pull, ZMQ_SOCKS_PROXY, via);
	return pull;
}

/* push_bound: a PUSH bound to a fresh port of host ("127.0.0.1", "[::1]"); its port,
 * or 0 when the host cannot be bound here. */
static int
push_bound(const char *host, void **push)
{
	*push = sock_open(ZMQ_PUSH);
	if (strchr(host, ':'))
		set_int(*push, ZMQ_IPV6, 1);
	char ep[128];
	snprintf(ep, sizeof ep, "tcp://%s:*", host);
	if (zmq_bind(*push, ep) < 0)
		return 0;
	last_endpoint(*push, ep, sizeof ep);
	return atoi(strrchr(ep, ':') + 1);
}

static void
flow(void *push, void *pull)
{
	send_str(push, "ABC", 0);
	send_str(push, "DEF", 0);
	recv_str(pull, "ABC");
	recv_str(pull, "DEF");
}

/* until_event: reads m's events until `event`; `forbidden` must not come first. */
static void
until_event(void *m, int event, int forbidden)
{
	for (;;) {
		int ev = monitor_next(m, WAIT_MS, NULL, NULL, 0);
		if (ev == event)
			return;
		if (ev == 0)
			TEST_FAIL("monitor: no event 0x%x", event);
		if (ev == forbidden)
			TEST_FAIL("monitor: event 0x%x before 0x%x", forbidden, event);
	}
}

/* ---------------------------------------------------------------------------- */
/* Cases                                                                          */
/* ---------------------------------------------------------------------------- */

static void
test_options(void)
{
	void *s = sock_open(ZMQ_SUB);
	char buf[300];
	get_str(s, ZMQ_SOCKS_PROXY, buf, sizeof buf);
	CHECK_STR(buf, "");
	CHECK_ERR(zmq_setsockopt(s, ZMQ_SOCKS_PROXY, "", 0), EINVAL);
	set_str(s, ZMQ_SOCKS_PROXY, "somehost:1080");
	get_str(s, ZMQ_SOCKS_PROXY, buf, sizeof buf);
	CHECK_STR(buf, "somehost:1080");
	CHECK_OK(zmq_setsockopt(s, ZMQ_SOCKS_PROXY, NULL, 0)); /* unsets it */
	get_str(s, ZMQ_SOCKS_PROXY, buf, sizeof buf);
	CHECK_STR(buf, "");
	char long_value[256];
	memset(long_value, 'a', sizeof long_value);
	for (int opt = DRAFT_SOCKS_USERNAME; opt <= DRAFT_SOCKS_PASSWORD; opt++) {
		get_str(s, opt, buf, sizeof buf);
		CHECK_STR(buf, "");
		set_str(s, opt, "someone");
		get_str(s, opt, buf, sizeof buf);
		CHECK_STR(buf, "someone");
		CHECK_OK(zmq_setsockopt(s, opt, "", 0));
		get_str(s, opt, buf, sizeof buf);
		CHECK_STR(buf, "");
		CHECK_OK(zmq_setsockopt(s, opt, long_value, 255));
		get_str(s, opt, buf, sizeof buf);
		CHECK_EQ(strlen(buf), 255);
		CHECK_ERR(zmq_setsockopt(s, opt, long_value, 256), EINVAL);
		CHECK_OK(zmq_setsockopt(s, opt, NULL, 0));
		get_str(s, opt, buf, sizeof buf);
		CHECK_STR(buf, "");
	}
}

/* check_relayed: what the proxy saw: one CONNECT to host:port of this address type. */
static void
check_relayed(int atyp, const char *host, int port)
{
	proxy_stop();
	CHECK_EQ(px.relayed, 1);
	CHECK_EQ(px.atyp, atyp);
	CHECK_STR(px.host, host);
	CHECK_EQ(px.port_asked, port);
}

static void
test_ipv4_target(void)
{
	proxy_bind(PROXY_RELAY);
	proxy_start();
	void *push;
	int port = push_bound("127.0.0.1", &push);
	CHECK(port > 0);
	void *pull = pull_via_proxy(NULL);
	void *m = monitor_open(pull, ZMQ_EVENT_ALL);
	char ep[64];
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
	CHECK_OK(zmq_connect(pull, ep));
	/* CONNECTED only once the proxy reaches the target, as libzmq. */
	until_event(m, ZMQ_EVENT_CONNECTED, ZMQ_EVENT_CONNECT_RETRIED);
	monitor_expect(m, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, NULL, NULL, 0);
	flow(push, pull);
	check_relayed(1, "127.0.0.1", port);
}

/* The proxy's own address may carry a source ("127.0.0.1:0;" binds first). */
static void
test_proxy_with_source(void)
{
	proxy_bind(PROXY_RELAY);
	proxy_start();
	void *push;
	int port = push_bound("127.0.0.1", &push);
	char via[64], ep[64];
	snprintf(via, sizeof via, "127.0.0.1:0;127.0.0.1:%d", px.port);
	void *pull = pull_via_proxy(via);
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
	CHECK_OK(zmq_connect(pull, ep));
	flow(push, pull);
	check_relayed(1, "127.0.0.1", port);
}

static void
ipv6_target(bool bracketed)
{
	void *push;
	int port = push_bound("[::1]", &push);
	if (!port) {
		printf("     (skipped: ::1 cannot be bound on this host)\n");
		return;
	}
	proxy_bind(PROXY_RELAY);
	proxy_start();
	/* No ZMQ_IPV6 on the PULL: the address is the proxy's to use, not ours. */
	void *pull = pull_via_proxy(NULL);
	char ep[64];
	snprintf(ep, sizeof ep, bracketed ? "tcp://[::1]:%d" : "tcp://::1:%d", port);
	CHECK_OK(zmq_connect(pull, ep));
	flow(push, pull);
	check_relayed(4, "::1", port);
}

static void
test_ipv6_target_bracketed(void)
{
	ipv6_target(true);
}

static void
test_ipv6_target_bare(void)
{
	ipv6_target(false);
}

static void
test_name_is_resolved_by_the_proxy(void)
{
	proxy_bind(PROXY_RELAY);
	proxy_start();
	void *push;
	int port = push_bound("127.0.0.1", &push);
	void *pull = pull_via_proxy(NULL);
	char ep[96];
	snprintf(ep, sizeof ep, "tcp://%s:%d", TEST_DOMAIN, port);
	CHECK_OK(zmq_connect(pull, ep));
	flow(push, pull);
	check_relayed(3, TEST_DOMAIN, port);
}

static void
test_username_password(void)
{
	proxy_bind(PROXY_RELAY);
	px.user = "someuser";
	px.pass = "somepass";
	proxy_start();
	void *push;
	int port = push_bound("127.0.0.1", &push);
	void *pull = pull_via_proxy(NULL);
	set_str(pull, DRAFT_SOCKS_USERNAME, "someuser");
	set_str(pull, DRAFT_SOCKS_PASSWORD, "somepass");
	char ep[64];
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
	CHECK_OK(zmq_connect(pull, ep));
	flow(push, pull);
	check_relayed(1, "127.0.0.1", port);
	CHECK_STR(px.seen_user, "someuser");
	CHECK_STR(px.seen_pass, "somepass");
}

/* An empty username means no authentication, even with a password set. */
static void
test_empty_username_is_no_auth(void)
{
	proxy_bind(PROXY_RELAY);
	proxy_start();
	void *push;
	int port = push_bound("127.0.0.1", &push);
	void *pull = pull_via_proxy(NULL);
	set_str(pull, DRAFT_SOCKS_USERNAME, "");
	set_str(pull, DRAFT_SOCKS_PASSWORD, "somepass");
	char ep[64];
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
	CHECK_OK(zmq_connect(pull, ep));
	flow(push, pull);
	check_relayed(1, "127.0.0.1", port);
}

/* connect_expect_retries: pull connects to a target through the proxy; each attempt
 * fails in the SOCKS handshake: CONNECT_RETRIED comes n times, CONNECTED never. */
static void
connect_expect_retries(void *pull, int n)
{
	void *m = monitor_open(pull, ZMQ_EVENT_ALL);
	CHECK_OK(zmq_connect(pull, "tcp://127.0.0.1:9"));
	for (int i = 0; i < n; i++)
		until_event(m, ZMQ_EVENT_CONNECT_RETRIED, ZMQ_EVENT_CONNECTED);
	sock_close(pull); /* before the proxy stops, so its counts are final */
	proxy_stop();
	CHECK(px.accepted >= n);
	CHECK_EQ(px.relayed, 0);
}

static void
test_wrong_password_is_retried(void)
{
	proxy_bind(PROXY_RELAY);
	px.user = "someuser";
	px.pass = "right";
	proxy_start();
	void *pull = pull_via_proxy(NULL);
	set_str(pull, DRAFT_SOCKS_USERNAME, "someuser");
	set_str(pull, DRAFT_SOCKS_PASSWORD, "wrong");
	connect_expect_retries(pull, 3);
	CHECK_STR(px.seen_pass, "wrong");
}

/* The proxy wants credentials and we have none: it offers no method (0xff). */
static void
test_no_common_method_is_retried(void)
{
	proxy_bind(PROXY_RELAY);
	px.user = "someuser";
	proxy_start();
	connect_expect_retries(pull_via_proxy(NULL), 3);
}

/* A refused CONNECT is a failed connect: retried after ZMQ_RECONNECT_IVL, and the
 * next attempt gets through. */
static void
test_refusal_then_success(void)
{
	proxy_bind(PROXY_RELAY);
	px.refuse = 1;
	px.rep = 5;
	proxy_start();
	void *push;
	int port = push_bound("127.0.0.1", &push);
	void *pull = pull_via_proxy(NULL);
	void *m = monitor_open(pull, ZMQ_EVENT_ALL);
	char ep[64];
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
	CHECK_OK(zmq_connect(pull, ep));
	until_event(m, ZMQ_EVENT_CONNECT_RETRIED, ZMQ_EVENT_CONNECTED);
	until_event(m, ZMQ_EVENT_CONNECTED, ZMQ_EVENT_CONNECT_RETRIED);
	monitor_expect(m, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, NULL, NULL, 0);
	flow(push, pull);
	proxy_stop();
	CHECK_EQ(px.accepted, 2);
	CHECK_EQ(px.relayed, 1);
}

/* The proxy's target does not exist: REP 5 every time, and the connect retries. */
static void
test_unreachable_target_is_retried(void)
{
	proxy_bind(PROXY_RELAY);
	proxy_start();
	void *pull = pull_via_proxy(NULL);
	char ep[64];
	ep_unbound(TCP, ep, sizeof ep);
	void *m = monitor_open(pull, ZMQ_EVENT_ALL);
	CHECK_OK(zmq_connect(pull, ep));
	for (int i = 0; i < 3; i++)
		until_event(m, ZMQ_EVENT_CONNECT_RETRIED, ZMQ_EVENT_CONNECTED);
	sock_close(pull);
	proxy_stop();
	CHECK(px.accepted >= 3);
	CHECK_EQ(px.relayed, 0);
	CHECK_STR(px.host, "127.0.0.1");
}

/* Every kind of broken answer: each attempt fails cleanly and the next one comes. */
static void
test_garbage_proxy_is_retried(void)
{
	proxy_bind(PROXY_GARBAGE);
	proxy_start();
	connect_expect_retries(pull_via_proxy(NULL), 10);
}

/* A proxy that never answers holds an attempt for ZMQ_HANDSHAKE_IVL, no longer. */
static void
test_silent_proxy_times_out(void)
{
	proxy_bind(PROXY_SILENT);
	proxy_start();
	void *pull = pull_via_proxy(NULL);
	set_int(pull, ZMQ_HANDSHAKE_IVL, 200);
	long long t0 = test_now_ms();
	connect_expect_retries(pull, 2);
	CHECK(test_now_ms() - t0 >= 2 * 200);
}

/* A proxy not listening yet refuses the TCP connection: retried until it listens. */
static void
test_proxy_late(void)
{
	proxy_bind(PROXY_RELAY);
	void *push;
	int port = push_bound("127.0.0.1", &push);
	void *pull = pull_via_proxy(NULL);
	void *m = monitor_open(pull, ZMQ_EVENT_ALL);
	char ep[64];
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
	CHECK_OK(zmq_connect(pull, ep));
	until_event(m, ZMQ_EVENT_CONNECT_RETRIED, ZMQ_EVENT_CONNECTED);
	proxy_start();
	flow(push, pull);
	check_relayed(1, "127.0.0.1", port);
}

/* The proxy is for tcp:// only: an ipc:// connect ignores it, as libzmq. */
static void
test_ipc_ignores_proxy(void)
{
	void *push = sock_open(ZMQ_PUSH);
	char ep[256];
	bind_fresh(push, IPC, ep, sizeof ep);
	void *pull = sock_open(ZMQ_PULL);
	set_str(pull, ZMQ_SOCKS_PROXY, "127.0.0.1:9");
	CHECK_OK(zmq_connect(pull, ep));
	flow(push, pull);
}

/* Closing a socket while its proxy handshake is under way (a silent proxy) ends it. */
static void
test_close_during_handshake(void)
{
	proxy_bind(PROXY_SILENT);
	proxy_start();
	void *pull = pull_via_proxy(NULL);
	CHECK_OK(zmq_connect(pull, "tcp://127.0.0.1:9"));
	proxy_wait_accept(); /* the proxy holds the connection: close meets the handshake
	                      */
	sock_close(pull);
	ctx_close(); /* returns: nothing is left waiting for the handshake */
	ctx_open();
	proxy_stop();
	CHECK_EQ(px.accepted, 1);
}

#define SOCKS_CASE(fn)                                                                   \
	static void fn##_case(void)                                                      \
	{                                                                                \
		proxy_stop();                                                            \
		case_begin();                                                            \
		ctx_open();                                                              \
		fn();                                                                    \
		ctx_close();                                                             \
		proxy_stop();                                                            \
	}

SOCKS_CASE(test_options)
SOCKS_CASE(test_ipv4_target)
SOCKS_CASE(test_proxy_with_source)
SOCKS_CASE(test_ipv6_target_bracketed)
SOCKS_CASE(test_ipv6_target_bare)
SOCKS_CASE(test_name_is_resolved_by_the_proxy)
SOCKS_CASE(test_username_password)
SOCKS_CASE(test_empty_username_is_no_auth)
SOCKS_CASE(test_wrong_password_is_retried)
SOCKS_CASE(test_no_common_method_is_retried)
SOCKS_CASE(test_refusal_then_success)
SOCKS_CASE(test_unreachable_target_is_retried)
SOCKS_CASE(test_garbage_proxy_is_retried)
SOCKS_CASE(test_silent_proxy_times_out)
SOCKS_CASE(test_proxy_late)
SOCKS_CASE(test_ipc_ignores_proxy)
SOCKS_CASE(test_close_during_handshake)

int
main(int argc, char **argv)
{
	static const struct test tests[] = {
	        {"options: proxy, username, password", test_options_case},
	        {"an IPv4 target through the proxy", test_ipv4_target_case},
	        {"the proxy's address may name a source", test_proxy_with_source_case},
	        {"an IPv6 target, bracketed", test_ipv6_target_bracketed_case},
	        {"an IPv6 target, bare", test_ipv6_target_bare_case},
	        {"a name is resolved by the proxy",
	         test_name_is_resolved_by_the_proxy_case},
	        {"username and password", test_username_password_case},
	        {"an empty username is no authentication",
	         test_empty_username_is_no_auth_case},
	        {"a wrong password is a failed connect, retried",
	         test_wrong_password_is_retried_case},
	        {"no common method is a failed connect, retried",
	         test_no_common_method_is_retried_case},
	        {"a refused CONNECT is retried, then succeeds",
	         test_refusal_then_success_case},
	        {"an unreachable target is retried",
	         test_unreachable_target_is_retried_case},
	        {"a garbage proxy is retried, never trusted",
	         test_garbage_proxy_is_retried_case},
	        {"a silent proxy times out after the handshake interval",
	         test_silent_proxy_times_out_case},
	        {"a proxy that listens late is reached", test_proxy_late_case},
	        {"ipc ignores the proxy", test_ipc_ignores_proxy_case},
	        {"close during the proxy handshake", test_close_during_handshake_case},
	        {NULL, NULL},
	};
	int rc = transport_main(argc, argv, tests, 64, 64);
	proxy_stop();
	return rc;
}
