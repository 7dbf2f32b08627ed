/*
 * test_security.c: a socket whose options ask for a mechanism never completes a
 * handshake of another one (fail closed). For tcp, ipc and shm, with the server binding
 * and with the server connecting, a PLAIN or CURVE server facing a NULL client, and a
 * PLAIN or CURVE client facing a NULL server: the server side reports
 * HANDSHAKE_FAILED_PROTOCOL with MECHANISM_MISMATCH, nothing is delivered either way,
 * and neither side ever reports HANDSHAKE_SUCCEEDED.
 */
#include "shm_util.h"

enum tp { T_TCP, T_IPC, T_SHM, T_COUNT };
static const char *const tp_name[T_COUNT] = {"tcp", "ipc", "shm"};

/* endpoint_for: a bind endpoint of transport t. */
static void
endpoint_for(enum tp t, char *ep, size_t len)
{
	if (t == T_TCP)
		snprintf(ep, len, "tcp://127.0.0.1:*");
	else if (t == T_IPC)
		ipc_new(ep, len);
	else
		shm_new(ep, len);
}

/* Public/secret key pairs from the CurveZMQ test vectors (Z85). */
static const char server_public[] = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
static const char server_secret[] = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
static const char client_public[] = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
static const char client_secret[] = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

enum mech { M_PLAIN, M_CURVE };

static void
make_server(void *s, enum mech m)
{
	int one = 1;
	if (m == M_PLAIN) {
		CHECK_OK(zmq_setsockopt(s, ZMQ_PLAIN_SERVER, &one, sizeof one));
	} else {
		CHECK_OK(zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one));
		CHECK_OK(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, server_secret, 40));
	}
}

static void
make_client(void *s, enum mech m)
{
	if (m == M_PLAIN) {
		CHECK_OK(zmq_setsockopt(s, ZMQ_PLAIN_USERNAME, "admin", 5));
		CHECK_OK(zmq_setsockopt(s, ZMQ_PLAIN_PASSWORD, "secret", 6));
	} else {
		CHECK_OK(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_public, 40));
		CHECK_OK(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, client_public, 40));
		CHECK_OK(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, client_secret, 40));
	}
}

/* curve_refused_without_libsodium: true when zinc is built with CURVE; without it,
 * checks that the CURVE options are refused (EINVAL, as libzmq without CURVE), so no
 * socket can believe it is protected, and returns false. */
static bool
curve_refused_without_libsodium(void)
{
	if (zmq_has("curve"))
		return true;
	void *s = sock_open(ZMQ_PAIR);
	int one = 1;
	CHECK_ERR(zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one), EINVAL);
	CHECK_ERR(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_public, 40), EINVAL);
	CHECK_ERR(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, client_secret, 40), EINVAL);
	return false;
}

/* no_success: no HANDSHAKE_SUCCEEDED among the events left on monitor m. */
static void
no_success(void *m)
{
	int ev;
	while ((ev = monitor_next(m, 0, NULL, NULL, 0)) != 0)
		CHECK(ev != ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
}

/* mismatch: `secured` (the side with the mechanism) against a NULL socket. The
 * secured side is the server or the client of mechanism m; it binds or connects. */
static void
mismatch(enum tp t, enum mech m, bool secured_is_server, bool secured_binds)
{
	ctx_open();
	if (m == M_CURVE && !curve_refused_without_libsodium())
		return;
	void *secured = sock_open(ZMQ_PULL);
	void *plain = sock_open(ZMQ_PUSH);
	if (secured_is_server)
		make_server(secured, m);
	else
		make_client(secured, m);
	void *mon_sec = monitor_open(secured, ZMQ_EVENT_ALL);
	void *mon_null = monitor_open(plain, ZMQ_EVENT_ALL);
	char want[256], ep[256];
	endpoint_for(t, want, sizeof want);
	void *binder = secured_binds ? secured : plain;
	void *connecter = secured_binds ? plain : secured;
	CHECK_OK(zmq_bind(binder, want));
	last_endpoint(binder, ep, sizeof ep);
	CHECK_OK(zmq_connect(connecter, ep));
	/* A binding PUSH has no peer to queue for until a handshake completes. */
	int rc = zmq_send(plain, "sneaky", 6, ZMQ_DONTWAIT);
	CHECK(rc == 6 || (rc == -1 && errno == EAGAIN));

	/* The secured side sees the NULL greeting and refuses it. */
	int value = 0;
	long long end = test_now_ms() + WAIT_MS;
	int ev;
	do {
		int left = (int)(end - test_now_ms());
		ev = monitor_next(mon_sec, left > 0 ? left : 0, &value, NULL, 0);
		CHECK(ev != ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
	} while (ev != 0 && ev != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
	if (ev == 0)
		TEST_FAIL("%s: no HANDSHAKE_FAILED_PROTOCOL", tp_name[t]);
	CHECK_EQ(value, ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH);

	/* Nothing arrives, and the NULL side never believes it is through either. */
	CHECK(!readable(secured, 200));
	no_success(mon_sec);
	no_success(mon_null);
	ctx_close();
}

#define MISMATCH(name, m, server, binds)                                                 \
	static void name(void)                                                           \
	{                                                                                \
		for (int t = 0; t < T_COUNT; t++) {                                      \
			shm_begin();                                                     \
			mismatch((enum tp)t, m, server, binds);                          \
		}                                                                        \
	}

MISMATCH(plain_server_binds_null_client, M_PLAIN, true, true)
MISMATCH(plain_server_connects_null_client, M_PLAIN, true, false)
MISMATCH(plain_client_binds_null_server, M_PLAIN, false, true)
MISMATCH(plain_client_connects_null_server, M_PLAIN, false, false)
MISMATCH(curve_server_binds_null_client, M_CURVE, true, true)
MISMATCH(curve_server_connects_null_client, M_CURVE, true, false)
MISMATCH(curve_client_binds_null_server, M_CURVE, false, true)
MISMATCH(curve_client_connects_null_server, M_CURVE, false, false)

/* mechanism_readback: ZMQ_MECHANISM follows the options that select it. */
static void
mechanism_readback(void)
{
	case_begin();
	ctx_open();
	void *s = sock_open(ZMQ_DEALER);
	int v = -1;
	size_t len = sizeof v;
	CHECK_OK(zmq_getsockopt(s, ZMQ_MECHANISM, &v, &len));
	CHECK_EQ(v, ZMQ_NULL);
	make_server(s, M_PLAIN);
	CHECK_OK(zmq_getsockopt(s, ZMQ_MECHANISM, &v, &len));
	CHECK_EQ(v, ZMQ_PLAIN);
	if (!curve_refused_without_libsodium())
		return;
	make_server(s, M_CURVE);
	CHECK_OK(zmq_getsockopt(s, ZMQ_MECHANISM, &v, &len));
	CHECK_EQ(v, ZMQ_CURVE);
	ctx_close();
}

int
main(int argc, char **argv)
{
	static const struct test tests[] = {
	        {"plain server binds, NULL client", plain_server_binds_null_client},
	        {"plain server connects, NULL client", plain_server_connects_null_client},
	        {"plain client binds, NULL server", plain_client_binds_null_server},
	        {"plain client connects, NULL server", plain_client_connects_null_server},
	        {"curve server binds, NULL client", curve_server_binds_null_client},
	        {"curve server connects, NULL client", curve_server_connects_null_client},
	        {"curve client binds, NULL server", curve_client_binds_null_server},
	        {"curve client connects, NULL server", curve_client_connects_null_server},
	        {"ZMQ_MECHANISM read-back", mechanism_readback},
	        {NULL, NULL},
	};
	return shm_main(argc, argv, tests, 64, 64);
}
