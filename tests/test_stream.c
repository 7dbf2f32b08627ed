/*
 * test_stream.c: ZMQ_STREAM against plain TCP peers: connect and disconnect
 * notifications, receiving [id][bytes], sending to a peer by id, closing a peer with
 * an empty frame, and a STREAM socket that connects out to a raw server.
 */
#include "testutil.h"
#include "zmq.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_MS 5000

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

static void
test_stream_server(void)
{
	void *ctx = zmq_ctx_new();
	void *s = zmq_socket(ctx, ZMQ_STREAM);
	int to = WAIT_MS;
	CHECK_OK(zmq_setsockopt(s, ZMQ_RCVTIMEO, &to, sizeof to));
	CHECK_OK(zmq_bind(s, "tcp://127.0.0.1:*"));
	int fd = raw_connect(s);
	char id[256], id2[256], data[256];
	int idlen, idlen2;
	/* The connect notification: the peer's id and no bytes. */
	CHECK_EQ(recv_pair(s, id, &idlen, data, sizeof data), 0);
	CHECK_EQ(write(fd, "hello", 5), 5);
	CHECK_EQ(recv_pair(s, id2, &idlen2, data, sizeof data), 5);
	CHECK_EQ(idlen2, idlen);
	CHECK(memcmp(id, id2, (size_t)idlen) == 0);
	CHECK(memcmp(data, "hello", 5) == 0);
	/* Send to the peer by id: raw bytes, no framing. */
	CHECK_EQ(zmq_send(s, id, (size_t)idlen, ZMQ_SNDMORE), idlen);
	CHECK_EQ(zmq_send(s, "world", 5, 0), 5);
	char buf[64];
	CHECK_EQ(raw_read(fd, buf, sizeof buf), 5);
	CHECK(memcmp(buf, "world", 5) == 0);
	/* An unknown id is EHOSTUNREACH. */
	CHECK_ERR(zmq_send(s, "nobody", 6, ZMQ_SNDMORE), EHOSTUNREACH);
	/* An empty frame closes that connection. */
	CHECK_EQ(zmq_send(s, id, (size_t)idlen, ZMQ_SNDMORE), idlen);
	CHECK_EQ(zmq_send(s, "", 0, 0), 0);
	CHECK_EQ(raw_read(fd, buf, sizeof buf), 0);
	close(fd);
	/* A second peer that goes away on its own: connect, then disconnect notices. */
	fd = raw_connect(s);
	CHECK_EQ(recv_pair(s, id, &idlen, data, sizeof data), 0);
	close(fd);
	CHECK_EQ(recv_pair(s, id2, &idlen2, data, sizeof data), 0);
	CHECK_EQ(idlen2, idlen);
	CHECK(memcmp(id, id2, (size_t)idlen) == 0);
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

static const struct test tests[] = {
        {"stream server: notify, receive, send by id, close by empty frame",
         test_stream_server},
        {"stream without notifications", test_stream_no_notify},
        {"stream client with a connect routing id", test_stream_client},
        {"stream client sends to its connect routing id before connected",
         test_stream_client_sends_before_connected},
        {NULL, NULL},
};

int
main(void)
{
	return test_main(tests);
}
