/*
 * test_curve.c: the CURVE mechanism (RFC 26). zinc against zinc over tcp, ipc and shm
 * (shm also with spinning on): the handshake succeeds on both sides and multipart
 * messages (and a large one) cross both ways; a client with the wrong server key and a
 * NULL client are refused and nothing they send is delivered; a ZAP handler sees the
 * client's public key and its User-Id reaches the messages. Over shm the rings carry
 * boxes: a message's bytes never appear in the shared memory (and, as the control, do
 * with the NULL mechanism). zinc against the real libzmq (Debian's, through
 * /usr/bin/python3 and tests/py/curve_peer.py with LD_LIBRARY_PATH cleared), with libzmq
 * as the CURVE server and as the client, multipart messages both ways. Exits 77 (skip)
 * when every case that ran passed but that python cannot import zmq, or when zinc is
 * built without CURVE.
 */
#include "shm_util.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>

#define PYTHON    "/usr/bin/python3"
#define SKIP_CODE 77

extern char **environ;

/* The CurveZMQ test vectors (Z85). */
static const char server_public[] = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
static const char server_secret[] = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
static const char client_public[] = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
static const char client_secret[] = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

static bool interop_skipped;

/* The transports of the zinc-against-zinc cases: transport_util.h's TCP and IPC, and
 * shm:// (spinning or not: ZINC_TEST_SPIN_US, as test_shm_spin runs). */
#define SHM ((enum tr)(IPC + 1))

/* The control block at the start of a shm:// memfd (proto/shm_ring.h). */
#define RING_CTL 4096ul

/* bind_to: binds s to a fresh endpoint of t, written to ep. */
static void
bind_to(void *s, enum tr t, char *ep, size_t len)
{
	if (t != SHM) {
		bind_fresh(s, t, ep, len);
		return;
	}
	shm_new(ep, len);
	CHECK_OK(zmq_bind(s, ep));
}

/* ALL(fn) makes fn_tcp, fn_ipc, fn_shm and fn_shm_spin from fn(enum tr); ALL_ENTRIES
 * lists them. */
#define ALL(fn)                                                                          \
	BOTH(fn)                                                                         \
	static void fn##_shm(void)                                                       \
	{                                                                                \
		shm_begin();                                                             \
		unsetenv("ZINC_TEST_SPIN_US"); /* a failed spin case may have left it */ \
		fn(SHM);                                                                 \
	}                                                                                \
	static void fn##_shm_spin(void)                                                  \
	{                                                                                \
		shm_begin();                                                             \
		setenv("ZINC_TEST_SPIN_US", "1000", 1);                                  \
		fn(SHM);                                                                 \
		unsetenv("ZINC_TEST_SPIN_US");                                           \
	}
#define ALL_ENTRIES(fn)                                                                  \
	BOTH_ENTRIES(fn), {#fn "_shm", fn##_shm},                                        \
	{                                                                                \
#fn "_shm_spin", fn##_shm_spin                                           \
	}

static void
make_server(void *s)
{
	set_int(s, ZMQ_CURVE_SERVER, 1);
	CHECK_OK(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, server_secret, 40));
}

static void
make_client(void *s, const char *server_key)
{
	CHECK_OK(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_key, 40));
	CHECK_OK(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, client_public, 40));
	CHECK_OK(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, client_secret, 40));
}

/* recv_part: the next part is `want`, with ZMQ_MORE as `more` says. */
static void
recv_part(void *s, const char *want, bool more)
{
	recv_str(s, want);
	int m;
	size_t ml = sizeof m;
	CHECK_OK(zmq_getsockopt(s, ZMQ_RCVMORE, &m, &ml));
	if (m != more)
		TEST_FAIL("\"%s\": RCVMORE %d, want %d", want, m, more);
}

/* expect_event: waits for `event` on monitor m, skipping the others; fails on
 * HANDSHAKE_SUCCEEDED when that is not what is waited for. The event's value. */
static int
expect_event(void *m, int event)
{
	long long end = test_now_ms() + WAIT_MS;
	for (;;) {
		int left = (int)(end - test_now_ms());
		int value = 0;
		int ev = monitor_next(m, left > 0 ? left : 0, &value, NULL, 0);
		if (ev == 0)
			TEST_FAIL("no event 0x%x within %d ms", event, WAIT_MS);
		if (ev == event)
			return value;
		if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
			TEST_FAIL("handshake succeeded, want event 0x%x", event);
	}
}

/* exchange: multipart messages both ways between two connected PAIRs, and one of
 * 1 MiB (many boxes' worth of data in one). */
static void
exchange(void *a, void *b)
{
	send_str(a, "one", ZMQ_SNDMORE);
	send_str(a, "", ZMQ_SNDMORE);
	send_str(a, "three", 0);
	recv_part(b, "one", true);
	recv_part(b, "", true);
	recv_part(b, "three", false);
	send_str(b, "back", ZMQ_SNDMORE);
	send_str(b, "again", 0);
	recv_part(a, "back", true);
	recv_part(a, "again", false);
	size_t big = quick ? 65536 : 1 << 20;
	CHECK_EQ(zmq_send(b, pattern(big), big, 0), (int)big);
	zmq_msg_t msg;
	zmq_msg_init(&msg);
	CHECK_EQ(zmq_msg_recv(&msg, a, 0), (int)big);
	CHECK(memcmp(zmq_msg_data(&msg), pattern(big), big) == 0);
	zmq_msg_close(&msg);
}

/* ---- zinc against zinc ------------------------------------------------------------- */

static void
zinc_both(enum tr t)
{
	ctx_open();
	void *server = sock_open(ZMQ_PAIR);
	void *client = sock_open(ZMQ_PAIR);
	make_server(server);
	make_client(client, server_public);
	void *mon_s = monitor_open(server, ZMQ_EVENT_ALL);
	void *mon_c = monitor_open(client, ZMQ_EVENT_ALL);
	char ep[256];
	bind_to(server, t, ep, sizeof ep);
	CHECK_OK(zmq_connect(client, ep));
	expect_event(mon_s, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
	expect_event(mon_c, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
	exchange(client, server);
	exchange(server, client);
}
ALL(zinc_both)

/* A client that believes in another server key: its HELLO does not open, the server
 * reports CRYPTOGRAPHIC and nothing the client queued arrives. */
static void
wrong_server_key(enum tr t)
{
	ctx_open();
	void *server = sock_open(ZMQ_PAIR);
	void *client = sock_open(ZMQ_PAIR);
	make_server(server);
	make_client(client, client_public); /* a valid key, not the server's */
	void *mon_s = monitor_open(server, ZMQ_EVENT_ALL);
	char ep[256];
	bind_to(server, t, ep, sizeof ep);
	CHECK_OK(zmq_connect(client, ep));
	int rc = zmq_send(client, "sneaky", 6, ZMQ_DONTWAIT);
	CHECK(rc == 6 || (rc == -1 && errno == EAGAIN));
	CHECK_EQ(expect_event(mon_s, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL),
	         ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
	CHECK(!readable(server, 300));
}
ALL(wrong_server_key)

/* A NULL client: refused at the greeting (MECHANISM_MISMATCH), nothing delivered. */
static void
null_client(enum tr t)
{
	ctx_open();
	void *server = sock_open(ZMQ_PAIR);
	void *client = sock_open(ZMQ_PAIR);
	make_server(server);
	void *mon_s = monitor_open(server, ZMQ_EVENT_ALL);
	char ep[256];
	bind_to(server, t, ep, sizeof ep);
	CHECK_OK(zmq_connect(client, ep));
	int rc = zmq_send(client, "sneaky", 6, ZMQ_DONTWAIT);
	CHECK(rc == 6 || (rc == -1 && errno == EAGAIN));
	CHECK_EQ(expect_event(mon_s, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL),
	         ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH);
	CHECK(!readable(server, 300));
}
ALL(null_client)

/* zap_handler: answers one ZAP request: checks it is CURVE with the client's binary
 * public key, and replies 200 with User-Id "curve-user". */
static void
zap_answer(void *handler)
{
	char frames[8][64];
	int sizes[8], n = 0, more = 1;
	size_t ml = sizeof more;
	while (more) {
		CHECK(n < 8);
		sizes[n] = zmq_recv(handler, frames[n], sizeof frames[n], 0);
		CHECK(sizes[n] >= 0);
		CHECK_OK(zmq_getsockopt(handler, ZMQ_RCVMORE, &more, &ml));
		n++;
	}
	CHECK_EQ(n,
	         7); /* version, request id, domain, address, identity, mechanism, key */
	CHECK(sizes[0] == 3 && memcmp(frames[0], "1.0", 3) == 0);
	CHECK(sizes[5] == 5 && memcmp(frames[5], "CURVE", 5) == 0);
	uint8_t key[32];
	CHECK(zmq_z85_decode(key, client_public) != NULL);
	CHECK(sizes[6] == 32 && memcmp(frames[6], key, 32) == 0);
	send_str(handler, "1.0", ZMQ_SNDMORE);
	CHECK_EQ(zmq_send(handler, frames[1], (size_t)sizes[1], ZMQ_SNDMORE), sizes[1]);
	send_str(handler, "200", ZMQ_SNDMORE);
	send_str(handler, "OK", ZMQ_SNDMORE);
	send_str(handler, "curve-user", ZMQ_SNDMORE);
	send_str(handler, "", 0);
}

/* With a ZAP handler bound (and no domain: CURVE asks anyway by default), the handler
 * judges the client's key and names the user. */
static void
zap_user_id(enum tr t)
{
	ctx_open();
	void *handler = sock_open(ZMQ_REP);
	CHECK_OK(zmq_bind(handler, "inproc://zeromq.zap.01"));
	void *server = sock_open(ZMQ_PAIR);
	void *client = sock_open(ZMQ_PAIR);
	make_server(server);
	make_client(client, server_public);
	char ep[256];
	bind_to(server, t, ep, sizeof ep);
	CHECK_OK(zmq_connect(client, ep));
	CHECK(readable(handler, WAIT_MS));
	zap_answer(handler);
	send_str(client, "hello", 0);
	zmq_msg_t msg;
	zmq_msg_init(&msg);
	CHECK_EQ(zmq_msg_recv(&msg, server, 0), 5);
	const char *user = zmq_msg_gets(&msg, "User-Id");
	CHECK_STR(user, "curve-user");
	zmq_msg_close(&msg);
}
ALL(zap_user_id)

/* memfd_holds: whether the len bytes at needle appear in the rings of a memfd mapping
 * of this process (the shm:// connections: both ends of each are here). Read after the
 * messages crossed; the 4 KiB control block ahead of the rings is skipped. The bytes
 * are read through /proc/self/mem, a copy the kernel makes: the I/O threads may still
 * touch the mapping (the spinning reader's indices), and a copy outside the sanitizers'
 * view is what an observer of the memory sees, without a report of a race the test
 * itself makes. */
static bool
memfd_holds(const void *needle, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	CHECK(f && mem >= 0);
	char line[512];
	bool found = false;
	while (!found && fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		if (!strstr(line, "memfd:") || sscanf(line, "%lx-%lx", &lo, &hi) != 2 ||
		    hi - lo <= RING_CTL)
			continue;
		size_t n = hi - lo - RING_CTL;
		char *copy = malloc(n);
		CHECK(copy != NULL);
		CHECK_EQ(pread(mem, copy, n, (off_t)(lo + RING_CTL)), (ssize_t)n);
		found = memmem(copy, n, needle, len) != NULL;
		free(copy);
	}
	close(mem);
	fclose(f);
	return found;
}

/* rings_content: one message each way over shm:// with CURVE or NULL; whether their
 * bytes are to be found in the shared memory afterwards. */
static bool
rings_content(bool curve)
{
	static const char there[] = "carrier test: the eagle lands at noon";
	static const char back[] = "carrier test: the eagle is in the nest";
	ctx_open();
	void *server = sock_open(ZMQ_PAIR);
	void *client = sock_open(ZMQ_PAIR);
	if (curve) {
		make_server(server);
		make_client(client, server_public);
	}
	void *mon_c = monitor_open(client, ZMQ_EVENT_ALL);
	char ep[256];
	bind_to(server, SHM, ep, sizeof ep);
	CHECK_OK(zmq_connect(client, ep));
	expect_event(mon_c, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
	send_str(client, there, 0);
	recv_str(server, there);
	send_str(server, back, 0);
	recv_str(client, back);
	CHECK(memfd_maps(NULL) >= 2); /* they did go through rings */
	bool seen = memfd_holds(there, strlen(there)) || memfd_holds(back, strlen(back));
	ctx_close();
	return seen;
}

/* Over shm with CURVE, each message in the rings is a box: its bytes never appear in
 * the shared memory. The control: with NULL they do (so the search would find them). */
static void
rings_carry_boxes(void)
{
	CHECK(!rings_content(true));
	CHECK(rings_content(false));
}

static void
rings_carry_boxes_case(void)
{
	shm_begin();
	unsetenv("ZINC_TEST_SPIN_US");
	rings_carry_boxes();
}

/* The same with spinning on: CURVE sockets keep to the engine (no direct road, which
 * would move messages as they are); NULL ones take the road. */
static void
rings_carry_boxes_spin_case(void)
{
	shm_begin();
	setenv("ZINC_TEST_SPIN_US", "1000", 1);
	rings_carry_boxes();
	unsetenv("ZINC_TEST_SPIN_US");
}

/* ---- zinc against libzmq ----------------------------------------------------------- */

static char peer_py[1024];
static char **child_env;
static pid_t peer_pid;
static int peer_out = -1;

/* make_child_env: environ without LD_LIBRARY_PATH and LD_PRELOAD, so the child's
 * python loads Debian's libzmq, not zinc. */
static char **
make_child_env(void)
{
	size_t n = 0, k = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 1, sizeof *env);
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_LIBRARY_PATH=", 16) != 0 &&
		    strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[k++] = environ[i];
	return env;
}

/* reap: waits up to ms for pid; its status, or -1 (then it is killed). */
static int
reap(pid_t pid, int ms)
{
	int status;
	long long end = test_now_ms() + ms;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 || test_now_ms() > end)
			break;
		/* No child-exit event to wait on without a SIGCHLD handler: poll it. */
		poll(NULL, 0, 10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static void
peer_kill(void)
{
	if (peer_pid > 0) {
		kill(peer_pid, SIGKILL);
		waitpid(peer_pid, NULL, 0);
	}
	peer_pid = 0;
	if (peer_out >= 0)
		close(peer_out);
	peer_out = -1;
}

/* peer_line: one line of the peer's stdout within ms; false when none came. */
static bool
peer_line(char *line, size_t len, int ms)
{
	size_t n = 0;
	long long end = test_now_ms() + ms;
	while (n + 1 < len) {
		int left = (int)(end - test_now_ms());
		struct pollfd p = {peer_out, POLLIN, 0};
		if (left <= 0 || poll(&p, 1, left) != 1)
			return false;
		char c;
		if (read(peer_out, &c, 1) != 1)
			return false;
		if (c == '\n')
			break;
		line[n++] = c;
	}
	line[n] = '\0';
	return true;
}

/* peer_start: runs curve_peer.py with args (NULL-terminated) and waits for its READY
 * line; its endpoint into ep. */
static void
peer_start(const char *const *args, char *ep, size_t eplen)
{
	char *argv[12];
	int n = 0;
	argv[n++] = PYTHON;
	argv[n++] = peer_py;
	for (int i = 0; args[i] && n < 11; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	int out[2];
	CHECK_OK(pipe2(out, O_CLOEXEC));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	int rc = posix_spawn(&peer_pid, PYTHON, &fa, NULL, argv, child_env);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	peer_out = out[0];
	if (rc != 0) {
		peer_pid = 0;
		TEST_FAIL("cannot spawn %s: %s", PYTHON, strerror(rc));
	}
	char line[512];
	if (!peer_line(line, sizeof line, WAIT_MS) || strncmp(line, "READY ", 6) != 0)
		TEST_FAIL("curve_peer.py: no READY line");
	snprintf(ep, eplen, "%.255s", line + 6);
}

/* peer_converse: zinc's socket s talks to the peer: gets its greeting, has a
 * multipart message echoed, ends it; the peer must exit 0. */
static void
peer_converse(void *s)
{
	recv_part(s, "from-libzmq", true);
	recv_part(s, "part2", false);
	send_str(s, "x", ZMQ_SNDMORE);
	send_str(s, "", ZMQ_SNDMORE);
	send_str(s, "zinc", 0);
	recv_part(s, "x", true);
	recv_part(s, "", true);
	recv_part(s, "zinc", true);
	recv_part(s, "echo", false);
	/* Boxes around the 32 bytes of the stream's first block (a part's box holds a
	 * flags byte and the part) and across several blocks, both ways. */
	static const size_t sizes[] = {30, 31, 32, 33, 63, 64, 65, 200, 60000};
	const size_t n = sizeof sizes / sizeof sizes[0];
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(zmq_send(s, pattern(sizes[i]), sizes[i], ZMQ_SNDMORE),
		         (int)sizes[i]);
	send_str(s, "sizes", 0);
	for (size_t i = 0; i < n; i++) {
		zmq_msg_t part;
		zmq_msg_init(&part);
		CHECK_EQ(zmq_msg_recv(&part, s, 0), (int)sizes[i]);
		CHECK(zmq_msg_more(&part));
		CHECK(memcmp(zmq_msg_data(&part), pattern(sizes[i]), sizes[i]) == 0);
		zmq_msg_close(&part);
	}
	recv_part(s, "sizes", true);
	recv_part(s, "echo", false);
	send_str(s, "END", 0);
	recv_part(s, "END", false);
	char line[64];
	CHECK(peer_line(line, sizeof line, WAIT_MS));
	CHECK_STR(line, "OK 3");
	int status = reap(peer_pid, WAIT_MS);
	peer_pid = 0;
	CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static bool
interop_ready(void)
{
	if (!child_env) {
		interop_skipped = true;
		printf("skip: %s cannot import zmq\n", PYTHON);
		return false;
	}
	peer_kill();
	return true;
}

/* libzmq is the CURVE server (binds), zinc the client. */
static void
libzmq_server(enum tr t)
{
	if (!interop_ready())
		return;
	char want[256], ep[256];
	if (t == TCP)
		snprintf(want, sizeof want, "tcp://127.0.0.1:*");
	else
		ipc_new(want, sizeof want);
	const char *args[] = {"server", "--bind", want, server_secret, NULL};
	peer_start(args, ep, sizeof ep);
	ctx_open();
	void *client = sock_open(ZMQ_PAIR);
	make_client(client, server_public);
	CHECK_OK(zmq_connect(client, ep));
	peer_converse(client);
}
BOTH(libzmq_server)

/* zinc is the CURVE server (binds), libzmq the client. */
static void
libzmq_client(enum tr t)
{
	if (!interop_ready())
		return;
	ctx_open();
	void *server = sock_open(ZMQ_PAIR);
	make_server(server);
	char ep[256], unused[256];
	bind_fresh(server, t, ep, sizeof ep);
	const char *args[] = {"client",      "--connect",   ep,  server_public,
	                      client_public, client_secret, NULL};
	peer_start(args, unused, sizeof unused);
	peer_converse(server);
}
BOTH(libzmq_client)

/* python_has_zmq: whether /usr/bin/python3 (child environment) imports zmq. */
static bool
python_has_zmq(void)
{
	char *argv[] = {PYTHON, "-c", "import zmq", NULL};
	if (access(PYTHON, X_OK) != 0)
		return false;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int rc = posix_spawn(&pid, PYTHON, &fa, NULL, argv, child_env);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return false;
	int status = reap(pid, 30000);
	return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int
main(int argc, char **argv)
{
	static const struct test tests[] = {
	        ALL_ENTRIES(zinc_both),
	        ALL_ENTRIES(wrong_server_key),
	        ALL_ENTRIES(null_client),
	        ALL_ENTRIES(zap_user_id),
	        {"rings_carry_boxes_shm", rings_carry_boxes_case},
	        {"rings_carry_boxes_shm_spin", rings_carry_boxes_spin_case},
	        BOTH_ENTRIES(libzmq_server),
	        BOTH_ENTRIES(libzmq_client),
	        {NULL, NULL},
	};
	if (!zmq_has("curve")) {
		printf("SKIP: built without CURVE (libsodium)\n");
		return SKIP_CODE;
	}
#ifdef ZINC_CURVE_PEER_PY
	snprintf(peer_py, sizeof peer_py, "%s", ZINC_CURVE_PEER_PY);
#else
	const char *file = __FILE__, *slash = strrchr(file, '/');
	int dir = slash ? (int)(slash - file + 1) : 0;
	snprintf(peer_py, sizeof peer_py, "%.*spy/curve_peer.py", dir, file);
#endif
	child_env = make_child_env();
	if (child_env && (!python_has_zmq() || access(peer_py, R_OK) != 0)) {
		free(child_env);
		child_env = NULL;
	}
	int rc = shm_main(argc, argv, tests, 1 << 20, 65536);
	peer_kill();
	free(child_env);
	return rc == 0 && interop_skipped ? SKIP_CODE : rc;
}
