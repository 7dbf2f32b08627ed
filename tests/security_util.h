/*
 * security_util.h: what the security tests share: the CurveZMQ test-vector keys, a
 * server and a client of each mechanism, and waiting for a handshake's monitor event.
 * Include after transport_util.h.
 */
#ifndef ZINC_SECURITY_UTIL_H
#define ZINC_SECURITY_UTIL_H

#include "transport_util.h"

/* The CurveZMQ test vectors (Z85). */
static const char sec_server_public[] = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
static const char sec_server_secret[] = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
static const char sec_client_public[] = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
static const char sec_client_secret[] = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

/* SEC_NULL is NULL with a ZAP domain: the one NULL case where ZAP is asked. */
enum sec_mech { SEC_NULL, SEC_PLAIN, SEC_CURVE };

static inline void
sec_make_server(void *s, enum sec_mech m)
{
	if (m == SEC_NULL) {
		CHECK_OK(zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, "test", 4));
	} else if (m == SEC_PLAIN) {
		set_int(s, ZMQ_PLAIN_SERVER, 1);
	} else {
		set_int(s, ZMQ_CURVE_SERVER, 1);
		CHECK_OK(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec_server_secret, 40));
	}
}

static inline void
sec_make_client(void *s, enum sec_mech m)
{
	if (m == SEC_PLAIN) {
		CHECK_OK(zmq_setsockopt(s, ZMQ_PLAIN_USERNAME, "admin", 5));
		CHECK_OK(zmq_setsockopt(s, ZMQ_PLAIN_PASSWORD, "secret", 6));
	} else if (m == SEC_CURVE) {
		CHECK_OK(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, sec_server_public, 40));
		CHECK_OK(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, sec_client_public, 40));
		CHECK_OK(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec_client_secret, 40));
	}
}

static inline bool
sec_is_handshake_event(int ev)
{
	return ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED ||
	       ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
	       ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
	       ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
}

/* sec_handshake_event: the next handshake event (succeeded or failed) on monitor m
 * within ms, skipping the others (connects, accepts, disconnects); 0 when none came.
 * Its value in *value. */
static inline int
sec_handshake_event(void *m, int ms, int *value)
{
	long long end = test_now_ms() + ms;
	for (;;) {
		int left = (int)(end - test_now_ms());
		int ev = monitor_next(m, left > 0 ? left : 0, value, NULL, 0);
		if (ev == 0 || sec_is_handshake_event(ev))
			return ev;
	}
}

/* sec_expect: the next handshake event is `event` with `value`, within WAIT_MS. */
static inline void
sec_expect(void *m, int event, int value)
{
	int v = 0;
	int ev = sec_handshake_event(m, WAIT_MS, &v);
	if (ev != event || v != value)
		TEST_FAIL("handshake event 0x%x value 0x%x, want 0x%x value 0x%x", ev, v,
		          event, value);
}

/* sec_mech_name: for messages. */
static inline const char *
sec_mech_name(enum sec_mech m)
{
	return m == SEC_NULL ? "NULL" : m == SEC_PLAIN ? "PLAIN" : "CURVE";
}

#endif
