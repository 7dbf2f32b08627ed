/*
 * test_stream.c: ZMQ_STREAM against plain TCP peers: connect and disconnect
 * notifications, receiving [id][bytes], sending to a peer by id, closing a peer with
 * an empty frame, and a STREAM socket that connects out to a raw server; a STREAM
 * socket speaking ZMTP to a DEALER (Peer-Address on every frame, the peer's signature
 * first) and to another STREAM (ZMQ_ROUTING_ID, disconnect notifications).
 */
#include "testutil.h"
#include "zmq.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_MS (5000 * ZINC_TEST_SLOWDOWN)

static int
raw_connect(void *s)
{
	char ep[256];
	size_t len = sizeof ep;
	CHECK_OK(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len));
	int port = atoi(strrchr(ep, ':') + 1);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_EQ(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

/* recv_pair: one [id][data] message; returns the data length. */
static int
recv_pair(void *s, char *id, int *idlen, char *data, size_t cap)
{
	int more;
	size_t len = sizeof more;
	*idlen = zmq_recv(s, id, 256, 0);
	CHECK(*idlen > 0);
	CHECK_OK(zmq_getsockopt(s, ZMQ_RCVMORE, &more, &len));
	CHECK_EQ(more, 1);
	int n = zmq_recv(s, data, cap, 0);
	CHECK(n >= 0);
	return n;
}

static int
raw_read(int fd, char *buf, size_t cap)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	CHECK_EQ(poll(&p, 1, WAIT_MS), 1);
	return (int)read(fd, buf, cap);
}

/* raw_server_talk: what a raw server (bound STREAM, or ROUTER with ROUTER_RAW, with a
 * receive timeout) does with raw TCP peers: a connect notification [id][""], bytes in
 * as [id][bytes], bytes out by id with no framing (MORE on them ignored), an empty
 * frame closing the connection; then a second peer that goes away on its own gets a
 * connect and a disconnect notification for its own id. */
static void
raw_server_talk(void *s)
{
	CHECK_OK(zmq_bind(s, "tcp://127.0.0.1:*"));
	int fd = raw_connect(s);
	char id[256], id2[256], data[256];
	int idlen, idlen2;
	CHECK_EQ(recv_pair(s, id, &idlen, data, sizeof data), 0);
	CHECK_EQ(idlen, 5); /* generated: a zero byte and a counter */
	CHECK_EQ(write(fd, "hello", 5), 5);
	CHECK_EQ(recv_pair(s, id2, &idlen2, data, sizeof data), 5);
	CHECK_EQ(idlen2, idlen);
	CHECK(memcmp(id, id2, (size_t)idlen) == 0);
	CHECK(memcmp(data, "hello", 5) == 0);
	CHECK_EQ(zmq_send(s, id, (size_t)idlen, ZMQ_SNDMORE), idlen);
	CHECK_EQ(zmq_send(s, "world", 5, ZMQ_SNDMORE), 5);
	char buf[64];
	CHECK_EQ(raw_read(fd, buf, sizeof buf), 5);
	CHECK(memcmp(buf, "world", 5) == 0);
	CHECK_EQ(zmq_send(s, id, (size_t)idlen, ZMQ_SNDMORE), idlen);
	CHECK_EQ(zmq_send(s, "", 0, 0), 0);
	CHECK_EQ(raw_read(fd, buf, sizeof buf), 0);
	close(fd);
	/* The closed connection sends no notification: the next one is the new peer's. */
	fd = raw_connect(s);
	CHECK_EQ(recv_pair(s, id2, &idlen2, data, sizeof data), 0);
	CHECK(idlen2 != idlen || memcmp(id2, id, (size_t)idlen) != 0);
	close(fd);
	CHECK_EQ(recv_pair(s, id, &idlen, data, sizeof data), 0);
	CHECK_EQ(idlen2, idlen);
	CHECK(memcmp(id, id2, (size_t)idlen) == 0);
}

static void
test_stream_server(void)
{
	void *ctx = zmq_ctx_new();
	void *s = zmq_socket(ctx, ZMQ_STREAM);
	int to = WAIT_MS, zero = 0;
	CHECK_OK(zmq_setsockopt(s, ZMQ_RCVTIMEO, &to, sizeof to));
	CHECK_OK(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero));
	raw_server_talk(s);
	/* An unknown id is EHOSTUNREACH (a ROUTER_RAW drops it, as a ROUTER). */
	CHECK_ERR(zmq_send(s, "nobody", 6, ZMQ_SNDMORE), EHOSTUNREACH);
	CHECK_OK(zmq_close(s));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_stream_no_notify(void)
{
	void *ctx = zmq_ctx_new();
	void *s = zmq_socket(ctx, ZMQ_STREAM);
	int zero = 0, to = WAIT_MS;
	CHECK_OK(zmq_setsockopt(s, ZMQ_STREAM_NOTIFY, &zero, sizeof zero));
	CHECK_OK(zmq_setsockopt(s, ZMQ_RCVTIMEO, &to, sizeof to));
	CHECK_OK(zmq_bind(s, "tcp://127.0.0.1:*"));
	int fd = raw_connect(s);
	CHECK_EQ(write(fd, "x", 1), 1);
	char id[256], data[16];
	int idlen;
	/* The first thing received is the data, not a notification. */
	CHECK_EQ(recv_pair(s, id, &idlen, data, sizeof data), 1);
	close(fd);
	CHECK_OK(zmq_close(s));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_stream_client(void)
{
	/* A raw TCP server; the STREAM socket connects to it with a chosen id. */
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_EQ(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
	CHECK_EQ(listen(lfd, 1), 0);
	socklen_t alen = sizeof a;
	CHECK_EQ(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
	char ep[64];
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
	void *ctx = zmq_ctx_new();
	void *s = zmq_socket(ctx, ZMQ_STREAM);
	int to = WAIT_MS;
	CHECK_OK(zmq_setsockopt(s, ZMQ_RCVTIMEO, &to, sizeof to));
	CHECK_OK(zmq_setsockopt(s, ZMQ_CONNECT_ROUTING_ID, "srv", 3));
	CHECK_OK(zmq_connect(s, ep));
	int fd = accept(lfd, NULL, NULL);
	CHECK(fd >= 0);
	char id[256], data[64];
	int idlen;
	CHECK_EQ(recv_pair(s, id, &idlen, data, sizeof data), 0);
	CHECK_EQ(idlen, 3);
	CHECK(memcmp(id, "srv", 3) == 0);
	CHECK_EQ(zmq_send(s, "srv", 3, ZMQ_SNDMORE), 3);
	CHECK_EQ(zmq_send(s, "GET /\r\n", 7, 0), 7);
	char buf[64];
	CHECK_EQ(raw_read(fd, buf, sizeof buf), 7);
	CHECK_EQ(write(fd, "200 OK", 6), 6);
	CHECK_EQ(recv_pair(s, id, &idlen, data, sizeof data), 6);
	CHECK(memcmp(data, "200 OK", 6) == 0);
	close(fd);
	close(lfd);
	int zero = 0;
	CHECK_OK(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero));
	CHECK_OK(zmq_close(s));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* A STREAM socket that names its connection with ZMQ_CONNECT_ROUTING_ID can send to
 * that id at once: the bytes queue until the connection is up (libzmq makes the pipe
 * at zmq_connect; test_connect_rid hung when they were dropped). */
static void
test_stream_client_sends_before_connected(void)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_EQ(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
	CHECK_EQ(listen(lfd, 1), 0);
	socklen_t alen = sizeof a;
	CHECK_EQ(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
	char ep[64];
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
	void *ctx = zmq_ctx_new();
	void *s = zmq_socket(ctx, ZMQ_STREAM);
	int to = WAIT_MS, zero = 0;
	CHECK_OK(zmq_setsockopt(s, ZMQ_SNDTIMEO, &to, sizeof to));
	CHECK_OK(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero));
	CHECK_OK(zmq_setsockopt(s, ZMQ_CONNECT_ROUTING_ID, "srv", 3));
	CHECK_OK(zmq_connect(s, ep));
	/* Routable before the connection exists (STREAM refuses an unknown id). */
	CHECK_EQ(zmq_send(s, "srv", 3, ZMQ_SNDMORE), 3);
	CHECK_EQ(zmq_send(s, "early", 5, 0), 5);
	int fd = accept(lfd, NULL, NULL);
	CHECK(fd >= 0);
	char buf[64];
	CHECK_EQ(raw_read(fd, buf, sizeof buf), 5);
	CHECK(memcmp(buf, "early", 5) == 0);
	close(fd);
	close(lfd);
	CHECK_OK(zmq_close(s));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* read_exact: n bytes from a raw fd, however the kernel splits them. */
static void
read_exact(int fd, uint8_t *buf, size_t n)
{
	size_t have = 0;
	while (have < n) {
		int r = raw_read(fd, (char *)buf + have, n - have);
		CHECK(r > 0);
		have += (size_t)r;
	}
}

/* recv_chunks: n bytes that arrive on a STREAM socket as one or more [id][data]
 * messages from one peer. */
static void
recv_chunks(void *s, uint8_t *buf, size_t n)
{
	char id[256];
	int idlen;
	size_t have = 0;
	while (have < n) {
		int r = recv_pair(s, id, &idlen, (char *)buf + have, n - have);
		CHECK(r > 0);
		have += (size_t)r;
	}
}

/* A ZMTP 3.1 NULL greeting as libzmq sends it (a padding length of 1). */
static const uint8_t zmtp_greeting[64] = {0xff, 0,    0, 0, 0,   0,   0,   0,
                                          1,    0x7f, 3, 1, 'N', 'U', 'L', 'L'};

static void
test_zmtp_signature_first(void)
{
	/* A ZMTP socket sends the 10-byte signature alone and the rest of its greeting
	 * once the peer's signature is in, as libzmq does. */
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_EQ(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
	CHECK_EQ(listen(lfd, 1), 0);
	socklen_t alen = sizeof a;
	CHECK_EQ(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
	char ep[64];
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
	void *ctx = zmq_ctx_new();
	void *d = zmq_socket(ctx, ZMQ_DEALER);
	CHECK_OK(zmq_connect(d, ep));
	int fd = accept(lfd, NULL, NULL);
	CHECK(fd >= 0);
	uint8_t buf[128];
	read_exact(fd, buf, 10);
	CHECK(memcmp(buf, zmtp_greeting, 10) == 0);
	/* Nothing more until we send our signature: a bounded wait for an absence,
	 * which has no event to wait on. */
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	CHECK_EQ(poll(&pf, 1, 200), 0);
	CHECK_EQ(write(fd, zmtp_greeting, 10), 10);
	read_exact(fd, buf, 54);
	CHECK_EQ(buf[0], 3); /* version 3.1, then the mechanism */
	CHECK_EQ(buf[1], 1);
	CHECK(memcmp(buf + 2, "NULL", 5) == 0);
	close(fd);
	close(lfd);
	int zero = 0;
	CHECK_OK(zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero));
	CHECK_OK(zmq_close(d));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_stream_to_dealer(void)
{
	/* A STREAM socket speaks ZMTP by hand to a DEALER. Every message it receives,
	 * the connect notification included, carries Peer-Address on both frames. */
	void *ctx = zmq_ctx_new();
	void *st = zmq_socket(ctx, ZMQ_STREAM);
	void *d = zmq_socket(ctx, ZMQ_DEALER);
	int to = WAIT_MS, zero = 0;
	CHECK_OK(zmq_setsockopt(st, ZMQ_RCVTIMEO, &to, sizeof to));
	CHECK_OK(zmq_setsockopt(d, ZMQ_RCVTIMEO, &to, sizeof to));
	CHECK_OK(zmq_setsockopt(st, ZMQ_LINGER, &zero, sizeof zero));
	CHECK_OK(zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero));
	CHECK_OK(zmq_bind(st, "tcp://127.0.0.1:*"));
	char ep[256];
	size_t len = sizeof ep;
	CHECK_OK(zmq_getsockopt(st, ZMQ_LAST_ENDPOINT, ep, &len));
	CHECK_OK(zmq_connect(d, ep));
	CHECK_EQ(zmq_send(d, "Hello", 5, 0), 5);

	zmq_msg_t id, data;
	CHECK_OK(zmq_msg_init(&id));
	CHECK_OK(zmq_msg_init(&data));
	CHECK(zmq_msg_recv(&id, st, 0) > 0);
	CHECK(zmq_msg_more(&id));
	CHECK_STR(zmq_msg_gets(&id, "Peer-Address"), "127.0.0.1");
	CHECK_EQ(zmq_msg_recv(&data, st, 0), 0); /* the connect notification */
	CHECK_STR(zmq_msg_gets(&data, "Peer-Address"), "127.0.0.1");
	char pid[256];
	size_t pidlen = zmq_msg_size(&id);
	memcpy(pid, zmq_msg_data(&id), pidlen);

	/* The signature alone; ours makes the DEALER send the rest and its READY
	 * (only ours, its queued Hello waits for the handshake to end). */
	uint8_t buf[256];
	CHECK(zmq_msg_recv(&id, st, 0) > 0);
	CHECK_STR(zmq_msg_gets(&id, "Peer-Address"), "127.0.0.1");
	CHECK_EQ(zmq_recv(st, buf, sizeof buf, 0), 10);
	CHECK(memcmp(buf, zmtp_greeting, 10) == 0);
	CHECK_EQ(zmq_send(st, pid, pidlen, ZMQ_SNDMORE), (int)pidlen);
	CHECK_EQ(zmq_send(st, zmtp_greeting, 64, 0), 64);
	recv_chunks(st, buf, 54 + 43);
	CHECK(memcmp(buf + 54,
	             "\4\51\5READY\13Socket-Type\0\0\0\6DEALER\10Identity\0\0\0\0",
	             43) == 0);
	static const char ready[] = "\4\51\5READY\13Socket-Type\0\0\0\6ROUTER"
	                            "\10Identity\0\0\0\0";
	CHECK_EQ(zmq_send(st, pid, pidlen, ZMQ_SNDMORE), (int)pidlen);
	CHECK_EQ(zmq_send(st, ready, 43, 0), 43);
	recv_chunks(st, buf, 7);
	CHECK(memcmp(buf, "\0\5Hello", 7) == 0);
	CHECK_EQ(zmq_send(st, pid, pidlen, ZMQ_SNDMORE), (int)pidlen);
	CHECK_EQ(zmq_send(st, "\0\5World", 7, 0), 7);
	CHECK_EQ(zmq_recv(d, buf, sizeof buf, 0), 5);
	CHECK(memcmp(buf, "World", 5) == 0);
	CHECK_OK(zmq_msg_close(&id));
	CHECK_OK(zmq_msg_close(&data));
	CHECK_OK(zmq_close(d));
	CHECK_OK(zmq_close(st));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* stream_pair: a bound and a connected STREAM socket, both notifying. */
static void
stream_pair(void *ctx, void **server, void **client)
{
	int to = WAIT_MS, zero = 0;
	*server = zmq_socket(ctx, ZMQ_STREAM);
	*client = zmq_socket(ctx, ZMQ_STREAM);
	void *both[2] = {*server, *client};
	for (int i = 0; i < 2; i++) {
		CHECK_OK(zmq_setsockopt(both[i], ZMQ_RCVTIMEO, &to, sizeof to));
		CHECK_OK(zmq_setsockopt(both[i], ZMQ_LINGER, &zero, sizeof zero));
	}
	CHECK_OK(zmq_bind(*server, "tcp://127.0.0.1:*"));
	char ep[256];
	size_t len = sizeof ep;
	CHECK_OK(zmq_getsockopt(*server, ZMQ_LAST_ENDPOINT, ep, &len));
	CHECK_OK(zmq_connect(*client, ep));
}

static void
test_stream_to_stream(void)
{
	/* Two STREAM sockets: each sees the other connect. As libzmq's, a STREAM's
	 * ZMQ_ROUTING_ID reads as the id it generated last, so the client finds
	 * the server's id there. The server's reply and its close arrive in order:
	 * the bytes, then the disconnect notification. */
	void *ctx = zmq_ctx_new();
	void *server, *client;
	stream_pair(ctx, &server, &client);
	char sid[256], cid[256], id[256], buf[256];
	int sidlen, cidlen, idlen;
	CHECK_EQ(recv_pair(server, cid, &cidlen, buf, sizeof buf), 0);
	CHECK_EQ(recv_pair(client, sid, &sidlen, buf, sizeof buf), 0);
	size_t rlen = sizeof id;
	CHECK_OK(zmq_getsockopt(client, ZMQ_ROUTING_ID, id, &rlen));
	CHECK_EQ(rlen, (size_t)sidlen);
	CHECK(memcmp(id, sid, rlen) == 0);

	CHECK_EQ(zmq_send(client, sid, (size_t)sidlen, ZMQ_SNDMORE), sidlen);
	CHECK_EQ(zmq_send(client, "GET /\n\n", 7, 0), 7);
	CHECK_EQ(recv_pair(server, id, &idlen, buf, sizeof buf), 7);
	CHECK(idlen == cidlen && memcmp(id, cid, (size_t)idlen) == 0);
	CHECK(memcmp(buf, "GET /\n\n", 7) == 0);
	CHECK_EQ(zmq_send(server, cid, (size_t)cidlen, ZMQ_SNDMORE), cidlen);
	CHECK_EQ(zmq_send(server, "200 OK", 6, ZMQ_SNDMORE), 6);
	CHECK_EQ(zmq_send(server, cid, (size_t)cidlen, ZMQ_SNDMORE), cidlen);
	CHECK_EQ(zmq_send(server, NULL, 0, ZMQ_SNDMORE), 0);
	CHECK_EQ(recv_pair(client, id, &idlen, buf, sizeof buf), 6);
	CHECK(memcmp(buf, "200 OK", 6) == 0);
	CHECK_EQ(recv_pair(client, id, &idlen, buf, sizeof buf), 0);
	CHECK(idlen == sidlen && memcmp(id, sid, (size_t)idlen) == 0);
	CHECK_OK(zmq_close(client));
	CHECK_OK(zmq_close(server));
	CHECK_OK(zmq_ctx_term(ctx));
}

static void
test_stream_disconnect_notice(void)
{
	/* A client that closes its connection with an empty frame: the server gets
	 * the last bytes, then the disconnect notification for that id. */
	void *ctx = zmq_ctx_new();
	void *server, *client;
	stream_pair(ctx, &server, &client);
	char sid[256], cid[256], id[256], buf[256];
	int sidlen, cidlen, idlen;
	CHECK_EQ(recv_pair(server, cid, &cidlen, buf, sizeof buf), 0);
	CHECK_EQ(recv_pair(client, sid, &sidlen, buf, sizeof buf), 0);
	CHECK_EQ(zmq_send(client, sid, (size_t)sidlen, ZMQ_SNDMORE), sidlen);
	CHECK_EQ(zmq_send(client, "bye", 3, ZMQ_SNDMORE), 3);
	CHECK_EQ(zmq_send(client, sid, (size_t)sidlen, ZMQ_SNDMORE), sidlen);
	CHECK_EQ(zmq_send(client, "", 0, ZMQ_SNDMORE), 0);
	CHECK_EQ(recv_pair(server, id, &idlen, buf, sizeof buf), 3);
	CHECK(memcmp(buf, "bye", 3) == 0);
	CHECK_EQ(recv_pair(server, id, &idlen, buf, sizeof buf), 0);
	CHECK(idlen == cidlen && memcmp(id, cid, (size_t)idlen) == 0);
	CHECK_OK(zmq_close(client));
	CHECK_OK(zmq_close(server));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* A STREAM client has its peer's id as soon as zmq_connect returns (ZMQ_ROUTING_ID, as
 * zmq_socket(7) tells it to read it; ipykernel's debugger does), and what it sends to
 * that id before the connection is up is written once it is; then the connect
 * notification comes for the same id. */
static void
test_stream_client_id_at_connect(void)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof a;
	CHECK_EQ(bind(l, (struct sockaddr *)&a, sizeof a), 0);
	CHECK_EQ(listen(l, 1), 0);
	CHECK_EQ(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	char ep[64];
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", ntohs(a.sin_port));

	void *ctx = zmq_ctx_new();
	void *s = zmq_socket(ctx, ZMQ_STREAM);
	int zero = 0, ms = WAIT_MS;
	CHECK_OK(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero));
	CHECK_OK(zmq_setsockopt(s, ZMQ_RCVTIMEO, &ms, sizeof ms));
	CHECK_OK(zmq_connect(s, ep));
	char id[256], got[256], buf[256];
	size_t idlen = sizeof id;
	CHECK_OK(zmq_getsockopt(s, ZMQ_ROUTING_ID, id, &idlen));
	CHECK_EQ(idlen, 5);
	CHECK_EQ(zmq_send(s, id, idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT), (int)idlen);
	CHECK_EQ(zmq_send(s, "hello", 5, ZMQ_DONTWAIT), 5);

	int fd = accept(l, NULL, NULL);
	CHECK(fd >= 0);
	CHECK_EQ(raw_read(fd, buf, sizeof buf), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	int gotlen;
	CHECK_EQ(recv_pair(s, got, &gotlen, buf, sizeof buf), 0); /* connected */
	CHECK(gotlen == (int)idlen && memcmp(got, id, idlen) == 0);
	close(fd);
	close(l);
	CHECK_OK(zmq_close(s));
	CHECK_OK(zmq_ctx_term(ctx));
}

/* ZMQ_ROUTER_RAW: a ROUTER whose connections speak no ZMTP, as a STREAM's (CZMQ's zsock
 * self test turns it on and asserts it worked). */
static void
test_router_raw(void)
{
	void *ctx = zmq_ctx_new();
	void *r = zmq_socket(ctx, ZMQ_ROUTER);
	int minus = -1, one = 1, zero = 0, to = WAIT_MS;
	CHECK_ERR(zmq_setsockopt(r, ZMQ_ROUTER_RAW, &minus, sizeof minus), EINVAL);
	CHECK_OK(zmq_setsockopt(r, ZMQ_ROUTER_RAW, &zero, sizeof zero));
	CHECK_OK(zmq_setsockopt(r, ZMQ_ROUTER_RAW, &one, sizeof one));
	CHECK_OK(zmq_setsockopt(r, ZMQ_LINGER, &zero, sizeof zero));
	CHECK_OK(zmq_setsockopt(r, ZMQ_RCVTIMEO, &to, sizeof to));
	raw_server_talk(r);
	CHECK_OK(zmq_close(r));
	CHECK_OK(zmq_ctx_term(ctx));
}

static const struct test tests[] = {
        {"stream server: notify, receive, send by id, close by empty frame",
         test_stream_server},
        {"stream without notifications", test_stream_no_notify},
        {"stream client with a connect routing id", test_stream_client},
        {"stream client sends to its connect routing id before connected",
         test_stream_client_sends_before_connected},
        {"a ZMTP socket sends its signature first", test_zmtp_signature_first},
        {"stream speaks ZMTP to a dealer, with Peer-Address", test_stream_to_dealer},
        {"stream to stream, ROUTING_ID is the last generated id", test_stream_to_stream},
        {"stream closed by an empty frame notifies the peer",
         test_stream_disconnect_notice},
        {"stream client: the peer's id right after zmq_connect, a send queued",
         test_stream_client_id_at_connect},
        {"router raw: no ZMTP, notifications, close by an empty frame", test_router_raw},
        {NULL, NULL},
};

int
main(void)
{
	return test_main(tests);
}
