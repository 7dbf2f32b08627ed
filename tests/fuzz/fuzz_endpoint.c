/*
 * fuzz_endpoint.c: libFuzzer target for endpoint strings, parsed and resolved but never
 * connected or listened on: for tcp://, the connect syntax check (zmq_connect's), the
 * bind address (numeric addresses and interface names only: a bind looks up no host
 * name) and the SOCKS target parse; for ipc:// and shm://, their address parsers (which
 * build a sockaddr and touch no file). Strings whose scheme is inproc://, unknown or
 * missing go to zmq_bind and zmq_connect on a PAIR socket, which is safe there: inproc
 * makes no connection, and an unknown scheme fails before any transport runs.
 *
 * Input: byte 0 bit 0 = ZMQ_IPV6 for the tcp bind address; the rest is the endpoint (up
 * to the first NUL, as a C string).
 *
 * Build: cmake -B build-fuzz -DCMAKE_C_COMPILER=clang -DZINC_FUZZ=ON
 * Run:   tests/fuzz/run.sh 60 fuzz_endpoint
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/options.h"
#include "transport/address.h"
#include "transport/socks.h"
#include "transport/transport.h"
#include "zmq.h"

/* fuzz_check: a broken invariant is a crash the fuzzer reports. */
#define fuzz_check(cond)                                                                 \
	do {                                                                             \
		if (!(cond))                                                             \
			abort();                                                         \
	} while (0)

static void *fuzz_ctx, *fuzz_pair;

/* api_endpoint: zmq_bind / zmq_connect of an inproc or unknown-scheme endpoint; what
 * succeeds is undone so runs stay independent. */
static void
api_endpoint(const char *uri)
{
	if (!fuzz_ctx) {
		fuzz_ctx = zmq_ctx_new();
		fuzz_check(fuzz_ctx);
		fuzz_pair = zmq_socket(fuzz_ctx, ZMQ_PAIR);
		fuzz_check(fuzz_pair);
	}
	if (zmq_bind(fuzz_pair, uri) == 0)
		fuzz_check(zmq_unbind(fuzz_pair, uri) == 0);
	else
		fuzz_check(errno == EINVAL || errno == EPROTONOSUPPORT ||
		           errno == EADDRINUSE || errno == ENOMEM);
	if (zmq_connect(fuzz_pair, uri) == 0)
		fuzz_check(zmq_disconnect(fuzz_pair, uri) == 0);
	else
		fuzz_check(errno == EINVAL || errno == EPROTONOSUPPORT ||
		           errno == ENOMEM);
}

/* tcp_spec: the address part of a tcp:// endpoint, as a bind and a connect see it. */
static void
tcp_spec(const struct transport_ops *t, const char *spec, bool ipv6)
{
	/* An empty source host is -ENODEV, as libzmq's zmq_connect looks "" up as an
	 * interface. */
	int crc = t->check(spec);
	fuzz_check(crc == 0 || crc == -EINVAL || crc == -ENODEV || crc == -ENOMEM);
	struct options o;
	memset(&o, 0, sizeof o);
	o.ipv6 = ipv6;
	struct transport_bind b;
	memset(&b, 0, sizeof b);
	int rc = t->bind_address(spec, &o, &b);
	if (rc == 0) {
		int fam = b.addr.u.sa.sa_family;
		fuzz_check(fam == (ipv6 ? AF_INET6 : AF_INET) ||
		           (!ipv6 && fam == AF_INET6));
		fuzz_check(b.addr.len <= sizeof b.addr.u);
	}
	struct socks s;
	if (socks_init(&s, spec, "user", 4, "pass", 4) == 0) {
		const uint8_t *out;
		fuzz_check(socks_output(&s, &out) > 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool ipv6 = data[0] & 1;
	size_t len = 0;
	while (1 + len < size && data[1 + len])
		len++;
	char *uri = malloc(len + 1);
	fuzz_check(uri);
	memcpy(uri, data + 1, len);
	uri[len] = '\0';
	const struct transport_ops *t = transport_of_uri(uri);
	const char *sep = strstr(uri, "://");
	const char *spec = sep ? sep + 3 : uri;
	struct zn_sockaddr sa;
	if (!t || t == &transport_inproc) {
		api_endpoint(uri);
	} else if (t->bind_address && !strcmp(t->scheme, "tcp")) {
		tcp_spec(t, spec, ipv6);
	} else if (!strcmp(t->scheme, "ipc")) {
		bool wild;
		int rc = address_ipc(spec, &sa, &wild);
		fuzz_check(rc == 0 || rc == -EINVAL || rc == -ENAMETOOLONG);
		fuzz_check(t->check(spec) == rc);
	} else if (!strcmp(t->scheme, "shm")) {
		int rc = address_shm(spec, &sa);
		fuzz_check(rc == 0 || rc == -EINVAL || rc == -EPERM ||
		           rc == -ENAMETOOLONG);
	}
	free(uri);
	return 0;
}
