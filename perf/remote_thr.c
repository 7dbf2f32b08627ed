/*
 * remote_thr: the sending half of the throughput test, as libzmq's tool of the same
 * name: remote_thr <connect-to> <message-size> <message-count>. Connects a PUSH socket
 * to local_thr and sends message-count messages of message-size bytes; zmq_ctx_term
 * then waits (infinite linger) until all of them are on their way.
 *
 * Where the library has zinc_msg_init_shm (zinc.h; looked up at run time, so the same
 * source builds against libzmq) and ZINC_PERF_OPTS sets shm_zerocopy, each message is
 * made with it, so its body is in the shared pool from the start; with fill=1 the tool
 * writes every byte of each body once, as an application would.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "perf_opts.h"

static const char tool[] = "remote_thr";

int
main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: remote_thr <connect-to> <message-size> "
		                "<message-count>\n");
		return 1;
	}
	const char *connect_to = argv[1];
	int msg_size = perf_arg(tool, "message size", argv[2], 0);
	int msg_count = perf_arg(tool, "message count", argv[3], 1);

	void *ctx = perf_ctx_new(tool);
	static const int types[] = {ZMQ_PUSH, -1};
	void *s = perf_socket(tool, ctx, types);
	if (zmq_connect(s, connect_to) != 0)
		perf_die(tool, "zmq_connect");

	const char *env = getenv("ZINC_PERF_OPTS");
	int (*init_shm)(zmq_msg_t *, void *, size_t) = NULL;
	if (env && strstr(env, "shm_zerocopy="))
		*(void **)&init_shm = dlsym(RTLD_DEFAULT, "zinc_msg_init_shm");
	int fill = env && strstr(env, "fill=1");
	for (int i = 0; i != msg_count; i++) {
		zmq_msg_t m;
		int rc = init_shm ? init_shm(&m, s, (size_t)msg_size)
		                  : zmq_msg_init_size(&m, (size_t)msg_size);
		if (rc != 0)
			perf_die(tool, "zmq_msg_init_size");
		if (fill)
			memset(zmq_msg_data(&m), i & 0xff, (size_t)msg_size);
		if (zmq_msg_send(&m, s, 0) < 0)
			perf_die(tool, "zmq_msg_send");
	}

	zmq_close(s);
	zmq_ctx_term(ctx);
	return 0;
}
