/*
 * test_net.c: the socket plumbing under tcp:// and ipc:// (src/platform/net.h) and
 * endpoint parsing (src/transport/address.h): parse tables with exact errors, listen,
 * connect, accept, readv/writev round trips over TCP and both kinds of ipc socket,
 * ZMQ_LAST_ENDPOINT formats, source addresses, peer credentials, no SIGPIPE.
 * Every wait is a poll(2) on a descriptor; nothing sleeps.
 */
#include "testutil.h"
#include "platform/net.h"
#include "transport/address.h"

#include <fcntl.h>
#include <net/if.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#define OFF_PATH offsetof(struct sockaddr_un, sun_path)

/* wait_fd: poll one fd for events (0: errors and hang-ups only), 5 s at most; the
 * revents, 0 on time-out. */
static int
wait_fd(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};
	int rc;
	do
		rc = poll(&p, 1, 5000);
	while (rc < 0 && errno == EINTR);
	return rc > 0 ? p.revents : 0;
}

/* to_str: a's ZMQ_LAST_ENDPOINT form in a static buffer. */
static const char *
to_str(const struct zn_sockaddr *a)
{
	static char buf[ZN_ADDRSTRLEN];
	int n = zn_sockaddr_to_string(a, buf, sizeof buf);
	if (n < 0)
		TEST_FAIL("zn_sockaddr_to_string: %d", n);
	CHECK_EQ(n, strlen(buf));
	return buf;
}

/* connect_pair: listens on `at`, connects to the bound address (from src when not
 * NULL) and accepts. The listening fd, the connecting fd, the accepted fd and the
 * accepted side's view of the peer. */
static void
connect_pair(const struct zn_sockaddr *at, const struct zn_sockaddr *src, int *lfd,
             int *cfd, int *sfd, struct zn_sockaddr *peer)
{
	struct zn_sockaddr bound;
	int rc;

	CHECK_EQ(zn_listen(at, 16, NULL, lfd), 0);
	CHECK_EQ(zn_local_address(*lfd, &bound), 0);
	rc = zn_connect(&bound, src, NULL, cfd);
	if (rc != 0 && rc != -EINPROGRESS)
		TEST_FAIL("zn_connect: %s", strerror(-rc));
	CHECK(*cfd >= 0);
	CHECK(wait_fd(*lfd, POLLIN) & POLLIN);
	CHECK_EQ(zn_accept(*lfd, sfd, peer), 0);
	CHECK(*sfd >= 0);
	if (rc == -EINPROGRESS) {
		CHECK(wait_fd(*cfd, POLLOUT) & POLLOUT);
		CHECK_EQ(zn_connect_result(*cfd), 0);
	}
}

/* exchange: a two-buffer writev from a, read back in full on b. */
static void
exchange(int a, int b, const char *x, const char *y)
{
	struct iovec iov[2] = {{(void *)x, strlen(x)}, {(void *)y, strlen(y)}};
	size_t want = strlen(x) + strlen(y), got = 0;
	char buf[256];

	CHECK_EQ(zn_writev(a, iov, 2), want);
	while (got < want) {
		CHECK(wait_fd(b, POLLIN) & POLLIN);
		ssize_t n = zn_read(b, buf + got, sizeof buf - got);
		CHECK(n > 0);
		got += (size_t)n;
	}
	CHECK_EQ(got, want);
	CHECK(memcmp(buf, x, strlen(x)) == 0);
	CHECK(memcmp(buf + strlen(x), y, strlen(y)) == 0);
	CHECK_EQ(zn_read(b, buf, sizeof buf), -EAGAIN);
}

static void
round_trip(const struct zn_sockaddr *at)
{
	int lfd, c, s;
	char buf[8];

	connect_pair(at, NULL, &lfd, &c, &s, NULL);
	exchange(c, s, "hello, ", "world");
	exchange(s, c, "and ", "back");
	zn_close_fd(c);
	CHECK(wait_fd(s, POLLIN) & POLLIN);
	CHECK_EQ(zn_read(s, buf, sizeof buf), 0); /* end of stream */
	zn_close_fd(s);
	zn_close_fd(lfd);
}

static void
v4(struct zn_sockaddr *a, const char *ip, uint16_t port)
{
	memset(a, 0, sizeof *a);
	a->u.in4.sin_family = AF_INET;
	CHECK_EQ(inet_pton(AF_INET, ip, &a->u.in4.sin_addr), 1);
	a->u.in4.sin_port = htons(port);
	a->len = sizeof a->u.in4;
}

static void
v6(struct zn_sockaddr *a, const char *ip, uint16_t port)
{
	memset(a, 0, sizeof *a);
	a->u.in6.sin6_family = AF_INET6;
	CHECK_EQ(inet_pton(AF_INET6, ip, &a->u.in6.sin6_addr), 1);
	a->u.in6.sin6_port = htons(port);
	a->len = sizeof a->u.in6;
}

/* have_ipv6_loopback: whether this host can listen on [::1]. */
static bool
have_ipv6_loopback(void)
{
	struct zn_sockaddr a;
	int fd;
	v6(&a, "::1", 0);
	if (zn_listen(&a, 1, NULL, &fd) < 0)
		return false;
	zn_close_fd(fd);
	return true;
}

/* make_dir: a private scratch directory for ipc paths. */
static void
make_dir(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/zinc-test-net-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
}

/* ---- address_tcp ------------------------------------------------------------------ */

struct tcp_case {
	const char *spec;
	bool bind, ipv6;
	int rc;
	const char *addr; /* to_string of the result when rc is 0 */
	const char *src;  /* to_string of the source, NULL when none */
};

static const struct tcp_case tcp_cases[] = {
        /* bind: wildcard host and port */
        {"*:5555", true, false, 0, "tcp://0.0.0.0:5555", NULL},
        {"*:*", true, false, 0, "tcp://0.0.0.0:0", NULL},
        {"*:0", true, false, 0, "tcp://0.0.0.0:0", NULL},
        {"*:5555", true, true, 0, "tcp://[::]:5555", NULL},
        {"*:*", true, true, 0, "tcp://[::]:0", NULL},
        /* bind: numeric addresses, interface names */
        {"127.0.0.1:5555", true, false, 0, "tcp://127.0.0.1:5555", NULL},
        {"[127.0.0.1]:1", true, false, 0, "tcp://127.0.0.1:1", NULL},
        {"0.0.0.0:65535", true, false, 0, "tcp://0.0.0.0:65535", NULL},
        {"127.0.0.1:*", true, false, 0, "tcp://127.0.0.1:0", NULL},
        {"lo:5555", true, false, 0, "tcp://127.0.0.1:5555", NULL},
        {"[::1]:5555", true, true, 0, "tcp://[::1]:5555", NULL},
        {"::1:5555", true, true, 0, "tcp://[::1]:5555", NULL},
        {"127.0.0.1:5555", true, true, 0, "tcp://[::ffff:127.0.0.1]:5555", NULL},
        /* bind: malformed */
        {"127.0.0.1", true, false, -EINVAL, NULL, NULL},
        {"127.0.0.1:", true, false, -EINVAL, NULL, NULL},
        {"127.0.0.1:65536", true, false, -EINVAL, NULL, NULL},
        {"127.0.0.1:99999", true, false, -EINVAL, NULL, NULL},
        {"127.0.0.1:123456", true, false, -EINVAL, NULL, NULL},
        {"127.0.0.1:12ab", true, false, -EINVAL, NULL, NULL},
        {"127.0.0.1:-1", true, false, -EINVAL, NULL, NULL},
        {"127.0.0.1:+5", true, false, -EINVAL, NULL, NULL},
        {"127.0.0.1: 5", true, false, -EINVAL, NULL, NULL},
        {"*", true, false, -EINVAL, NULL, NULL},
        {"", true, false, -EINVAL, NULL, NULL},
        {":5555", true, false, -ENODEV, NULL,
         NULL}, /* libzmq: "" is looked up as an interface */
        {"[]:5555", true, true, -EINVAL, NULL, NULL},
        {"[::1:5555", true, true, -EINVAL, NULL, NULL},
        {"::1]:5555", true, true, -EINVAL, NULL, NULL},
        {"[::1]", true, true, -EINVAL, NULL, NULL},
        {"[fe80::1%]:5555", true, true, -EINVAL, NULL, NULL},
        {"[fe80::1%nosuchif0]:5555", true, true, -EINVAL, NULL, NULL},
        {"[fe80::1%nosuchif0]:5555", true, false, -EINVAL, NULL, NULL},
        {"127.0.0.1:0;127.0.0.1:5555", true, false, -EINVAL, NULL, NULL},
        /* bind: no such interface (host names are not looked up on bind) */
        {"nosuchif0:5555", true, false, -ENODEV, NULL, NULL},
        {"localhost:5555", true, false, -ENODEV, NULL, NULL},
        {"256.0.0.1:5555", true, false, -ENODEV, NULL, NULL},
        {"[::1]:5555", true, false, -ENODEV, NULL, NULL},
        /* connect */
        {"localhost:5555", false, false, 0, "tcp://127.0.0.1:5555", NULL},
        {"127.0.0.1:5555", false, false, 0, "tcp://127.0.0.1:5555", NULL},
        {"127.0.0.1:0", false, false, 0, "tcp://127.0.0.1:0", NULL},
        {"[::1]:5555", false, true, 0, "tcp://[::1]:5555", NULL},
        {"127.0.0.1:5555", false, true, 0, "tcp://[::ffff:127.0.0.1]:5555", NULL},
        {"127.0.0.1:*", false, false, -EINVAL, NULL, NULL},
        {"*:5555", false, false, -EINVAL, NULL, NULL},
        {"127.0.0.1", false, false, -EINVAL, NULL, NULL},
        {":5555", false, false, -EINVAL, NULL, NULL},
        {"bad host:5555", false, false, -EINVAL, NULL, NULL},
        {"bad/host:5555", false, false, -EINVAL, NULL, NULL},
        {"-host:5555", false, false, -EINVAL, NULL, NULL},
        {"127.0.0.1:5555x", false, false, -EINVAL, NULL, NULL},
        {"127.0.0.1:70000", false, false, -EINVAL, NULL, NULL},
        {"[::1]:5555", false, false, -EHOSTUNREACH, NULL, NULL},
        /* connect with a source address */
        {"127.0.0.1:0;127.0.0.1:5555", false, false, 0, "tcp://127.0.0.1:5555",
         "tcp://127.0.0.1:0"},
        {"*:*;127.0.0.1:5555", false, false, 0, "tcp://127.0.0.1:5555",
         "tcp://0.0.0.0:0"},
        {"lo:4000;localhost:5555", false, false, 0, "tcp://127.0.0.1:5555",
         "tcp://127.0.0.1:4000"},
        {"[::1]:7;[::1]:5555", false, true, 0, "tcp://[::1]:5555", "tcp://[::1]:7"},
        {"127.0.0.1;127.0.0.1:5555", false, false, -EINVAL, NULL, NULL},
        {"127.0.0.1:x;127.0.0.1:5555", false, false, -EINVAL, NULL, NULL},
        {";127.0.0.1:5555", false, false, -EINVAL, NULL, NULL},
        {"127.0.0.1:0;", false, false, -EINVAL, NULL, NULL},
        {"127.0.0.1:0;127.0.0.1", false, false, -EINVAL, NULL, NULL},
        {"nosuchif0:0;127.0.0.1:5555", false, false, -ENODEV, NULL, NULL},
        {"localhost:0;127.0.0.1:5555", false, false, -ENODEV, NULL, NULL},
        {NULL, false, false, 0, NULL, NULL}};

static void
test_address_tcp_table(void)
{
	for (const struct tcp_case *c = tcp_cases; c->spec; c++) {
		struct zn_sockaddr a, s;
		bool has_src = true;
		int rc = address_tcp(c->spec, c->bind, c->ipv6, &a, &s, &has_src);
		if (rc != c->rc)
			TEST_FAIL("\"%s\" %s ipv6=%d: got %d (%s), want %d", c->spec,
			          c->bind ? "bind" : "connect", c->ipv6, rc,
			          strerror(-rc), c->rc);
		if (rc < 0) {
			CHECK(!has_src);
			continue;
		}
		if (strcmp(to_str(&a), c->addr) != 0)
			TEST_FAIL("\"%s\": got %s, want %s", c->spec, to_str(&a),
			          c->addr);
		CHECK_EQ(has_src, c->src != NULL);
		if (c->src)
			CHECK_STR(to_str(&s), c->src);
	}
}

static void
test_address_tcp_zone(void)
{
	struct zn_sockaddr a;
	unsigned lo = if_nametoindex("lo");
	char spec[64];

	CHECK(lo > 0);
	CHECK_EQ(address_tcp("[fe80::1%lo]:5555", true, true, &a, NULL, NULL), 0);
	CHECK_EQ(a.u.in6.sin6_scope_id, lo);
	CHECK_STR(to_str(&a), "tcp://[fe80::1%lo]:5555");
	snprintf(spec, sizeof spec, "[fe80::1%%%u]:5555", lo);
	CHECK_EQ(address_tcp(spec, false, true, &a, NULL, NULL), 0);
	CHECK_EQ(a.u.in6.sin6_scope_id, lo);
	CHECK_EQ(address_tcp("[fe80::1%0]:5555", false, true, &a, NULL, NULL), -EINVAL);
}

static void
test_address_tcp_source_needs_out_pointers(void)
{
	struct zn_sockaddr a;
	CHECK_EQ(address_tcp("127.0.0.1:0;127.0.0.1:5555", false, false, &a, NULL, NULL),
	         -EINVAL);
}

static void
test_address_tcp_check(void)
{
	CHECK_EQ(address_tcp_check("localhost:5555"), 0);
	CHECK_EQ(address_tcp_check("nonexistent.invalid:5555"), 0); /* no look-up */
	CHECK_EQ(address_tcp_check("[::1]:0"), 0);
	CHECK_EQ(address_tcp_check("eth0:0;server_1.example:5555"), 0);
	CHECK_EQ(address_tcp_check("[fe80::1%eth0]:5555"), 0);
	CHECK_EQ(address_tcp_check("*:5555"), -EINVAL);
	CHECK_EQ(address_tcp_check("host:*"), -EINVAL);
	CHECK_EQ(address_tcp_check("host"), -EINVAL);
	CHECK_EQ(address_tcp_check("host:"), -EINVAL);
	CHECK_EQ(address_tcp_check("bad host:1"), -EINVAL);
	CHECK_EQ(address_tcp_check("host:1;"), -EINVAL);
	CHECK_EQ(address_tcp_check("src;host:1"), -EINVAL);
}

/* ---- address_ipc ------------------------------------------------------------------ */

static void
test_address_ipc_table(void)
{
	struct zn_sockaddr a;
	bool wc = true;
	char spec[200];

	CHECK_EQ(address_ipc("/tmp/x", &a, &wc), 0);
	CHECK(!wc);
	CHECK_EQ(a.u.un.sun_family, AF_UNIX);
	CHECK_STR(a.u.un.sun_path, "/tmp/x");
	CHECK_EQ(a.len, OFF_PATH + 7);
	CHECK_STR(to_str(&a), "ipc:///tmp/x");

	CHECK_EQ(address_ipc("relative/x", &a, &wc), 0);
	CHECK_STR(to_str(&a), "ipc://relative/x");

	/* Abstract: a leading NUL, and exactly the name's bytes, as libzmq. */
	CHECK_EQ(address_ipc("@name", &a, &wc), 0);
	CHECK(!wc);
	CHECK_EQ(a.u.un.sun_path[0], '\0');
	CHECK(memcmp(a.u.un.sun_path + 1, "name", 4) == 0);
	CHECK_EQ(a.len, OFF_PATH + 5);
	CHECK_STR(to_str(&a), "ipc://@name");

	CHECK_EQ(address_ipc("*", &a, &wc), 0);
	CHECK(wc);
	CHECK_EQ(address_ipc("*", &a, NULL), 0);

	CHECK_EQ(address_ipc("", &a, &wc), -EINVAL);
	CHECK_EQ(address_ipc("@", &a, &wc), -EINVAL);

	memset(spec, 'a', 107);
	spec[107] = '\0';
	CHECK_EQ(address_ipc(spec, &a, &wc), 0);
	CHECK_EQ(strlen(to_str(&a)), 6 + 107);
	spec[107] = 'a';
	spec[108] = '\0';
	CHECK_EQ(address_ipc(spec, &a, &wc), -ENAMETOOLONG);
	spec[0] = '@';
	spec[107] = '\0';
	CHECK_EQ(address_ipc(spec, &a, &wc), 0);
	CHECK_EQ(a.len, OFF_PATH + 107);
	spec[107] = 'a';
	CHECK_EQ(address_ipc(spec, &a, &wc), -ENAMETOOLONG);
}

static void
test_address_ipc_wildcard(void)
{
	char scratch[64], dir[256], path[300], want[320], longdir[256];
	const char *old = getenv("TMPDIR");
	char *saved = old ? strdup(old) : NULL;
	struct zn_sockaddr a, bound;
	struct stat st;
	int fd;

	make_dir(scratch, sizeof scratch);
	CHECK_EQ(setenv("TMPDIR", scratch, 1), 0);

	CHECK_EQ(address_ipc_wildcard(&a, dir, sizeof dir), 0);
	CHECK(strncmp(dir, scratch, strlen(scratch)) == 0);
	CHECK(strncmp(dir + strlen(scratch), "/tmp", 4) == 0);
	CHECK_EQ(stat(dir, &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0700);
	snprintf(path, sizeof path, "%s/socket", dir);
	CHECK_STR(a.u.un.sun_path, path);

	CHECK_EQ(zn_listen(&a, 4, NULL, &fd), 0);
	CHECK_EQ(zn_local_address(fd, &bound), 0);
	snprintf(want, sizeof want, "ipc://%s", path);
	CHECK_STR(to_str(&bound), want);
	zn_close_fd(fd);
	CHECK_EQ(zn_unlink(path), 0);
	CHECK_EQ(zn_unlink(path), -ENOENT);
	CHECK_EQ(zn_rmdir(dir), 0);

	/* dir too small: nothing is made */
	CHECK_EQ(address_ipc_wildcard(&a, dir, 8), -ENAMETOOLONG);

	/* a temp dir too deep for sun_path: the new directory is removed again */
	snprintf(longdir, sizeof longdir, "%s/", scratch);
	memset(longdir + strlen(longdir), 'd', 100);
	longdir[strlen(scratch) + 1 + 100] = '\0';
	CHECK_EQ(mkdir(longdir, 0700), 0);
	CHECK_EQ(setenv("TMPDIR", longdir, 1), 0);
	CHECK_EQ(address_ipc_wildcard(&a, dir, sizeof dir), -ENAMETOOLONG);
	CHECK_EQ(rmdir(longdir), 0); /* fails if anything was left inside */
	CHECK_EQ(rmdir(scratch), 0);

	if (saved) {
		setenv("TMPDIR", saved, 1);
		free(saved);
	} else {
		unsetenv("TMPDIR");
	}
}

/* ---- zn_sockaddr_to_string -------------------------------------------------------- */

static void
test_sockaddr_to_string(void)
{
	struct zn_sockaddr a;
	char buf[ZN_ADDRSTRLEN];

	v4(&a, "127.0.0.1", 5555);
	CHECK_STR(to_str(&a), "tcp://127.0.0.1:5555");
	v4(&a, "0.0.0.0", 0);
	CHECK_STR(to_str(&a), "tcp://0.0.0.0:0");
	v6(&a, "::1", 5555);
	CHECK_STR(to_str(&a), "tcp://[::1]:5555");
	v6(&a, "::", 65535);
	CHECK_STR(to_str(&a), "tcp://[::]:65535");
	v6(&a, "::ffff:127.0.0.1", 1);
	CHECK_STR(to_str(&a), "tcp://[::ffff:127.0.0.1]:1");
	v6(&a, "2001:db8::1", 80);
	CHECK_STR(to_str(&a), "tcp://[2001:db8::1]:80");

	/* ipc: path with or without its NUL counted, abstract name */
	memset(&a, 0, sizeof a);
	a.u.un.sun_family = AF_UNIX;
	strcpy(a.u.un.sun_path, "/tmp/x");
	a.len = OFF_PATH + 7;
	CHECK_STR(to_str(&a), "ipc:///tmp/x");
	a.len = OFF_PATH + 6;
	CHECK_STR(to_str(&a), "ipc:///tmp/x");
	a.len = OFF_PATH + 3; /* the length bounds the name */
	CHECK_STR(to_str(&a), "ipc:///tm");
	memcpy(a.u.un.sun_path, "\0name", 6);
	a.len = OFF_PATH + 5;
	CHECK_STR(to_str(&a), "ipc://@name");

	/* buffer exactly too small, then just big enough */
	CHECK_EQ(zn_sockaddr_to_string(&a, buf, 11), -ENOSPC);
	CHECK_EQ(zn_sockaddr_to_string(&a, buf, 12), 11);
	v4(&a, "127.0.0.1", 5555);
	CHECK_EQ(zn_sockaddr_to_string(&a, buf, 20), -ENOSPC);
	CHECK_EQ(zn_sockaddr_to_string(&a, buf, 21), 20);

	memset(&a, 0, sizeof a);
	a.u.sa.sa_family = AF_UNSPEC;
	CHECK_EQ(zn_sockaddr_to_string(&a, buf, sizeof buf), -EAFNOSUPPORT);
}

/* ---- listen, connect, accept ------------------------------------------------------ */

static void
test_listen_port_zero(void)
{
	struct zn_sockaddr a, bound;
	char want[64];
	int fd;

	CHECK_EQ(address_tcp("127.0.0.1:*", true, false, &a, NULL, NULL), 0);
	CHECK_EQ(zn_listen(&a, 16, NULL, &fd), 0);
	CHECK(fd >= 0);
	CHECK_EQ(zn_local_address(fd, &bound), 0);
	CHECK_EQ(bound.u.sa.sa_family, AF_INET);
	CHECK(zn_sockaddr_port(&bound) != 0);
	snprintf(want, sizeof want, "tcp://127.0.0.1:%u", zn_sockaddr_port(&bound));
	CHECK_STR(to_str(&bound), want);
	zn_close_fd(fd);
}

static void
test_listen_twice_in_use(void)
{
	struct zn_sockaddr a, bound;
	char dir[64], path[128];
	int fd, fd2 = 99;

	v4(&a, "127.0.0.1", 0);
	CHECK_EQ(zn_listen(&a, 16, NULL, &fd), 0);
	CHECK_EQ(zn_local_address(fd, &bound), 0);
	CHECK_EQ(zn_listen(&bound, 16, NULL, &fd2), -EADDRINUSE);
	CHECK_EQ(fd2, -1);
	zn_close_fd(fd);

	make_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/sock", dir);
	CHECK_EQ(address_ipc(path, &a, NULL), 0);
	CHECK_EQ(zn_listen(&a, 16, NULL, &fd), 0);
	CHECK_EQ(zn_listen(&a, 16, NULL, &fd2), -EADDRINUSE);
	zn_close_fd(fd);
	CHECK_EQ(zn_unlink(path), 0);
	CHECK_EQ(rmdir(dir), 0);

	snprintf(path, sizeof path, "@zinc-test-net-inuse-%d", (int)getpid());
	CHECK_EQ(address_ipc(path, &a, NULL), 0);
	CHECK_EQ(zn_listen(&a, 16, NULL, &fd), 0);
	CHECK_EQ(zn_listen(&a, 16, NULL, &fd2), -EADDRINUSE);
	zn_close_fd(fd);
}

static void
test_listen_unavailable_address(void)
{
	struct zn_sockaddr a;
	int fd;
	v4(&a, "192.0.2.123", 0); /* TEST-NET-1: not on this host */
	int rc = zn_listen(&a, 16, NULL, &fd);
	CHECK_EQ(rc, -EADDRNOTAVAIL);
	CHECK_EQ(fd, -1);
}

static void
test_accept_empty_is_eagain(void)
{
	struct zn_sockaddr a;
	int lfd, fd = 99;
	v4(&a, "127.0.0.1", 0);
	CHECK_EQ(zn_listen(&a, 16, NULL, &lfd), 0);
	CHECK_EQ(zn_accept(lfd, &fd, NULL), -EAGAIN);
	CHECK_EQ(fd, -1);
	zn_close_fd(lfd);
}

static void
test_tcp_round_trip(void)
{
	struct zn_sockaddr a, peer;
	int lfd, c, s;

	v4(&a, "127.0.0.1", 0);
	round_trip(&a);

	connect_pair(&a, NULL, &lfd, &c, &s, &peer);
	CHECK_EQ(peer.u.sa.sa_family, AF_INET);
	CHECK(strncmp(to_str(&peer), "tcp://127.0.0.1:", 16) == 0);
	/* descriptors are nonblocking and close-on-exec */
	CHECK(fcntl(c, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(s, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(lfd, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(c, F_GETFD) & FD_CLOEXEC);
	CHECK(fcntl(s, F_GETFD) & FD_CLOEXEC);
	CHECK(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
	zn_close_fd(c);
	zn_close_fd(s);
	zn_close_fd(lfd);
}

static void
test_writev_full_buffer_is_eagain(void)
{
	struct zn_sockaddr a;
	static char big[256 * 1024], sink[64 * 1024];
	size_t sent = 0, received = 0;
	bool saw_eagain = false;
	int lfd, c, s;

	v4(&a, "127.0.0.1", 0);
	connect_pair(&a, NULL, &lfd, &c, &s, NULL);
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)(i * 7);
	/* Push 8 MB through: write until EAGAIN, drain, repeat; check every byte. */
	while (received < 32 * sizeof big) {
		for (;;) {
			size_t off = sent % sizeof big;
			struct iovec iov[2] = {{big + off, sizeof big - off}, {big, off}};
			ssize_t n = zn_writev(c, iov, 2);
			if (n == -EAGAIN) {
				saw_eagain = true;
				break;
			}
			CHECK(n > 0);
			sent += (size_t)n;
		}
		CHECK(wait_fd(s, POLLIN) & POLLIN);
		for (;;) {
			ssize_t n = zn_read(s, sink, sizeof sink);
			if (n == -EAGAIN)
				break;
			CHECK(n > 0);
			for (ssize_t i = 0; i < n; i++)
				if (sink[i] != big[(received + (size_t)i) % sizeof big])
					TEST_FAIL("byte %zu differs",
					          received + (size_t)i);
			received += (size_t)n;
		}
	}
	CHECK(saw_eagain);
	zn_close_fd(c);
	zn_close_fd(s);
	zn_close_fd(lfd);
}

static void
test_ipc_path_round_trip(void)
{
	struct zn_sockaddr a, bound;
	char dir[64], path[128], want[160];
	int lfd;

	make_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/sock", dir);
	CHECK_EQ(address_ipc(path, &a, NULL), 0);
	round_trip(&a);
	CHECK_EQ(zn_unlink(path), 0);

	CHECK_EQ(zn_listen(&a, 4, NULL, &lfd), 0);
	CHECK_EQ(zn_local_address(lfd, &bound), 0);
	snprintf(want, sizeof want, "ipc://%s", path);
	CHECK_STR(to_str(&bound), want);
	zn_close_fd(lfd);
	CHECK_EQ(zn_unlink(path), 0);
	CHECK_EQ(rmdir(dir), 0);
}

static void
test_ipc_abstract_round_trip(void)
{
	struct zn_sockaddr a, bound;
	char name[64], want[80];
	int lfd;

	snprintf(name, sizeof name, "@zinc-test-net-%d", (int)getpid());
	CHECK_EQ(address_ipc(name, &a, NULL), 0);
	round_trip(&a);

	CHECK_EQ(zn_listen(&a, 4, NULL, &lfd), 0);
	CHECK_EQ(zn_local_address(lfd, &bound), 0);
	CHECK_EQ(bound.len, a.len);
	snprintf(want, sizeof want, "ipc://%s", name);
	CHECK_STR(to_str(&bound), want);
	zn_close_fd(lfd);
}

static void
test_ipv6_loopback_round_trip(void)
{
	struct zn_sockaddr a, bound, peer;
	char want[64];
	int lfd, c, s;

	if (!have_ipv6_loopback()) {
		printf("     skipped: no IPv6 loopback\n");
		return;
	}
	CHECK_EQ(address_tcp("[::1]:*", true, true, &a, NULL, NULL), 0);
	round_trip(&a);

	CHECK_EQ(zn_listen(&a, 4, NULL, &lfd), 0);
	CHECK_EQ(zn_local_address(lfd, &bound), 0);
	snprintf(want, sizeof want, "tcp://[::1]:%u", zn_sockaddr_port(&bound));
	CHECK_STR(to_str(&bound), want);
	zn_close_fd(lfd);

	/* "*" with ipv6 is dual stack: an IPv4 client reaches it, seen v4-mapped */
	CHECK_EQ(address_tcp("*:0", true, true, &a, NULL, NULL), 0);
	CHECK_EQ(zn_listen(&a, 4, NULL, &lfd), 0);
	CHECK_EQ(zn_local_address(lfd, &bound), 0);
	v4(&a, "127.0.0.1", zn_sockaddr_port(&bound));
	int rc = zn_connect(&a, NULL, NULL, &c);
	CHECK(rc == 0 || rc == -EINPROGRESS);
	CHECK(wait_fd(lfd, POLLIN) & POLLIN);
	CHECK_EQ(zn_accept(lfd, &s, &peer), 0);
	CHECK(strncmp(to_str(&peer), "tcp://[::ffff:127.0.0.1]:", 25) == 0);
	CHECK(wait_fd(c, POLLOUT) & POLLOUT);
	CHECK_EQ(zn_connect_result(c), 0);
	exchange(c, s, "dual", "stack");
	zn_close_fd(c);
	zn_close_fd(s);
	zn_close_fd(lfd);
}

static void
test_source_address_connect(void)
{
	struct zn_sockaddr a, bound, dst, src, peer;
	char spec[64];
	bool has_src;
	uint16_t src_port;
	int lfd, tmp, c, s, rc;

	/* The listener first, then a free port to use as the source (bind to :0, read
	 * it back, release it): taken the other way round, the listener could be given
	 * the port just released. */
	v4(&a, "127.0.0.1", 0);
	CHECK_EQ(zn_listen(&a, 4, NULL, &lfd), 0);
	CHECK_EQ(zn_local_address(lfd, &bound), 0);
	struct zn_sockaddr src_bound;
	CHECK_EQ(zn_listen(&a, 1, NULL, &tmp), 0);
	CHECK_EQ(zn_local_address(tmp, &src_bound), 0);
	src_port = zn_sockaddr_port(&src_bound);
	zn_close_fd(tmp);

	snprintf(spec, sizeof spec, "127.0.0.1:%u;127.0.0.1:%u", src_port,
	         zn_sockaddr_port(&bound));
	CHECK_EQ(address_tcp(spec, false, false, &dst, &src, &has_src), 0);
	CHECK(has_src);
	rc = zn_connect(&dst, &src, NULL, &c);
	CHECK(rc == 0 || rc == -EINPROGRESS);
	CHECK(wait_fd(lfd, POLLIN) & POLLIN);
	CHECK_EQ(zn_accept(lfd, &s, &peer), 0);
	CHECK_EQ(peer.u.sa.sa_family, AF_INET);
	CHECK_EQ(zn_sockaddr_port(&peer), src_port);
	CHECK_EQ(peer.u.in4.sin_addr.s_addr, htonl(INADDR_LOOPBACK));

	/* getpeername on the accepted side agrees */
	struct zn_sockaddr pn;
	pn.len = sizeof pn.u;
	CHECK_EQ(getpeername(s, &pn.u.sa, &pn.len), 0);
	CHECK_STR(to_str(&pn), to_str(&src));
	zn_close_fd(c);
	zn_close_fd(s);
	zn_close_fd(lfd);
}

static void
test_connect_refused(void)
{
	struct zn_sockaddr bound;
	int c, rc;

	/* A port bound and never listened on: refused, and no other process (a test
	 * running beside this one) can take it meanwhile, as it could a released one. */
	int tmp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(tmp >= 0);
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	CHECK_EQ(bind(tmp, (struct sockaddr *)&sin, sizeof sin), 0);
	CHECK_EQ(zn_local_address(tmp, &bound), 0);
	rc = zn_connect(&bound, NULL, NULL, &c);
	if (rc == -EINPROGRESS) {
		CHECK(c >= 0);
		CHECK(wait_fd(c, POLLOUT) != 0);
		CHECK_EQ(zn_connect_result(c), -ECONNREFUSED);
		zn_close_fd(c);
	} else {
		CHECK_EQ(rc, -ECONNREFUSED);
		CHECK_EQ(c, -1);
	}
	zn_close_fd(tmp);
}

static void
test_connect_missing_ipc_path(void)
{
	struct zn_sockaddr a;
	int c = 99;
	CHECK_EQ(address_ipc("/nonexistent-zinc-dir/sock", &a, NULL), 0);
	CHECK_EQ(zn_connect(&a, NULL, NULL, &c), -ENOENT);
	/* The number of the descriptor it opened (for the monitor), closed again. */
	CHECK(c >= 0 && fcntl(c, F_GETFD) == -1 && errno == EBADF);
	snprintf(a.u.un.sun_path + 1, 40, "zinc-test-nobody-%d", (int)getpid());
	a.u.un.sun_path[0] = '\0';
	a.len = (socklen_t)(OFF_PATH + 1 + strlen(a.u.un.sun_path + 1));
	CHECK_EQ(zn_connect(&a, NULL, NULL, &c), -ECONNREFUSED);
	CHECK(c >= 0 && fcntl(c, F_GETFD) == -1 && errno == EBADF);
}

static int
get_int(int fd, int level, int name)
{
	int v = -12345;
	socklen_t len = sizeof v;
	CHECK_EQ(getsockopt(fd, level, name, &v, &len), 0);
	return v;
}

static void
test_tcp_options_applied(void)
{
	struct zn_sockaddr a, bound;
	struct zn_tcp_opts o = {.keepalive = 1,
	                        .keepalive_cnt = 3,
	                        .keepalive_idle = 30,
	                        .keepalive_intvl = 5,
	                        .tos = 0,
	                        .sndbuf = -1,
	                        .rcvbuf = -1,
	                        .maxrt = 1500,
	                        .bindtodevice = ""};
	int lfd, c, s, rc;

	v4(&a, "127.0.0.1", 0);
	CHECK_EQ(zn_listen(&a, 4, &o, &lfd), 0);
	CHECK_EQ(zn_local_address(lfd, &bound), 0);
	rc = zn_connect(&bound, NULL, &o, &c);
	CHECK(rc == 0 || rc == -EINPROGRESS);
	CHECK_EQ(get_int(c, IPPROTO_TCP, TCP_NODELAY) != 0, 1);
	CHECK_EQ(get_int(c, SOL_SOCKET, SO_KEEPALIVE) != 0, 1);
	CHECK_EQ(get_int(c, IPPROTO_TCP, TCP_KEEPCNT), 3);
	CHECK_EQ(get_int(c, IPPROTO_TCP, TCP_KEEPIDLE), 30);
	CHECK_EQ(get_int(c, IPPROTO_TCP, TCP_KEEPINTVL), 5);
	CHECK_EQ(get_int(c, IPPROTO_TCP, TCP_USER_TIMEOUT), 1500);

	CHECK(wait_fd(lfd, POLLIN) & POLLIN);
	CHECK_EQ(zn_accept(lfd, &s, NULL), 0);
	CHECK_EQ(zn_tune_tcp(s, &o), 0);
	CHECK_EQ(zn_tune_tcp(s, &o), 0); /* idempotent */
	CHECK_EQ(get_int(s, IPPROTO_TCP, TCP_NODELAY) != 0, 1);
	CHECK_EQ(get_int(s, IPPROTO_TCP, TCP_KEEPIDLE), 30);
	CHECK_EQ(zn_tune_tcp(s, NULL), 0);
	zn_close_fd(c);
	zn_close_fd(s);

	/* keepalive 0 switches it off and leaves the others alone */
	o.keepalive = 0;
	o.keepalive_idle = 77;
	rc = zn_connect(&bound, NULL, &o, &c);
	CHECK(rc == 0 || rc == -EINPROGRESS);
	CHECK_EQ(get_int(c, SOL_SOCKET, SO_KEEPALIVE), 0);
	CHECK(get_int(c, IPPROTO_TCP, TCP_KEEPIDLE) != 77);
	zn_close_fd(c);
	zn_close_fd(lfd);
}

static void
test_bindtodevice_unknown_fails(void)
{
	struct zn_sockaddr a;
	struct zn_tcp_opts o = {.keepalive = -1,
	                        .keepalive_cnt = -1,
	                        .keepalive_idle = -1,
	                        .keepalive_intvl = -1,
	                        .sndbuf = -1,
	                        .rcvbuf = -1,
	                        .bindtodevice = "nosuchdev0"};
	int fd = 99, rc;

	v4(&a, "127.0.0.1", 0);
	rc = zn_listen(&a, 4, &o, &fd);
	/* ENODEV, or EPERM where binding to a device needs privilege */
	if (rc != -ENODEV && rc != -EPERM)
		TEST_FAIL("zn_listen with a missing device: %d (%s)", rc, strerror(-rc));
	CHECK_EQ(fd, -1);
	rc = zn_connect(&a, NULL, &o, &fd);
	CHECK(rc == -ENODEV || rc == -EPERM);
	CHECK(fd >= 0 && fcntl(fd, F_GETFD) == -1 && errno == EBADF); /* closed */
	o.bindtodevice = "a-name-longer-than-ifnamsiz";
	CHECK_EQ(zn_listen(&a, 4, &o, &fd), -ENODEV);
}

static void
test_ipc_peer_credentials(void)
{
	struct zn_sockaddr a;
	char name[64];
	uid_t uid = 0;
	gid_t gid = 0;
	pid_t pid = 0;
	int lfd, c, s;

	snprintf(name, sizeof name, "@zinc-test-net-cred-%d", (int)getpid());
	CHECK_EQ(address_ipc(name, &a, NULL), 0);
	connect_pair(&a, NULL, &lfd, &c, &s, NULL);
	CHECK_EQ(zn_peer_uid(s, &uid, &gid, &pid), 0);
	CHECK_EQ(uid, getuid());
	CHECK_EQ(gid, getgid());
	CHECK_EQ(pid, getpid());
	uid = (uid_t)-1;
	CHECK_EQ(zn_peer_uid(c, &uid, NULL, NULL), 0);
	CHECK_EQ(uid, getuid());
	zn_close_fd(c);
	zn_close_fd(s);
	zn_close_fd(lfd);
}

/* write_until_error: writes to a socket whose peer is gone until the error shows. */
static ssize_t
write_until_error(int fd)
{
	struct iovec iov = {(void *)"x", 1};
	for (int i = 0; i < 4; i++) {
		ssize_t n = zn_writev(fd, &iov, 1);
		if (n < 0)
			return n;
		/* the byte went out; the peer's reset arrives as POLLERR/POLLHUP */
		CHECK(wait_fd(fd, 0) != 0);
	}
	return 0;
}

static void
test_writev_to_closed_peer_no_sigpipe(void)
{
	struct zn_sockaddr a;
	char buf[4], name[64];
	ssize_t rc;
	int lfd, c, s;

	signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would kill the test */

	v4(&a, "127.0.0.1", 0);
	connect_pair(&a, NULL, &lfd, &c, &s, NULL);
	zn_close_fd(s);
	CHECK(wait_fd(c, POLLIN) & POLLIN);
	CHECK_EQ(zn_read(c, buf, sizeof buf), 0);
	rc = write_until_error(c);
	if (rc != -EPIPE && rc != -ECONNRESET)
		TEST_FAIL("tcp writev after peer close: %zd", rc);
	zn_close_fd(c);
	zn_close_fd(lfd);

	snprintf(name, sizeof name, "@zinc-test-net-pipe-%d", (int)getpid());
	CHECK_EQ(address_ipc(name, &a, NULL), 0);
	connect_pair(&a, NULL, &lfd, &c, &s, NULL);
	zn_close_fd(s);
	struct iovec iov = {(void *)"x", 1};
	CHECK_EQ(zn_writev(c, &iov, 1), -EPIPE);
	zn_close_fd(c);
	zn_close_fd(lfd);
}

static void
test_read_reset_connection(void)
{
	struct zn_sockaddr a;
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	char buf[4];
	int lfd, c, s;

	v4(&a, "127.0.0.1", 0);
	connect_pair(&a, NULL, &lfd, &c, &s, NULL);
	CHECK_EQ(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
	zn_close_fd(s); /* linger 0: an RST, not a FIN */
	CHECK(wait_fd(c, POLLIN) != 0);
	CHECK_EQ(zn_read(c, buf, sizeof buf), -ECONNRESET);
	zn_close_fd(c);
	zn_close_fd(lfd);
}

static const struct test tests[] = {
        {"address_tcp parses the endpoint table", test_address_tcp_table},
        {"address_tcp reads an IPv6 zone", test_address_tcp_zone},
        {"address_tcp with a source needs src and has_src",
         test_address_tcp_source_needs_out_pointers},
        {"address_tcp_check checks connect syntax only", test_address_tcp_check},
        {"address_ipc parses paths, abstract names and *", test_address_ipc_table},
        {"address_ipc_wildcard makes a private directory", test_address_ipc_wildcard},
        {"zn_sockaddr_to_string uses libzmq's formats", test_sockaddr_to_string},
        {"listen on port 0 reads the port back", test_listen_port_zero},
        {"a second listen on an address in use fails", test_listen_twice_in_use},
        {"listen on a foreign address is not available", test_listen_unavailable_address},
        {"accept with nothing pending is EAGAIN", test_accept_empty_is_eagain},
        {"tcp round trip with writev and read", test_tcp_round_trip},
        {"writev on a full socket buffer is EAGAIN", test_writev_full_buffer_is_eagain},
        {"ipc path round trip", test_ipc_path_round_trip},
        {"ipc abstract round trip", test_ipc_abstract_round_trip},
        {"tcp over the IPv6 loopback and dual stack", test_ipv6_loopback_round_trip},
        {"connect from a source address", test_source_address_connect},
        {"connect to a closed port is refused", test_connect_refused},
        {"connect to a missing ipc socket fails at once", test_connect_missing_ipc_path},
        {"tcp options are applied", test_tcp_options_applied},
        {"bindtodevice to a missing device fails", test_bindtodevice_unknown_fails},
        {"ipc peer credentials are ours", test_ipc_peer_credentials},
        {"writev to a closed peer fails without SIGPIPE",
         test_writev_to_closed_peer_no_sigpipe},
        {"read after a reset is ECONNRESET", test_read_reset_connection},
        {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}
