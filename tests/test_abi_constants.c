/*
 * test_abi_constants.c: the ABI facts of include/zmq.h that hold without comparing to
 * libzmq (the comparison itself is tests/abi/compare_constants.sh, ctest abi_constants):
 * the version, the size and alignment of zmq_msg_t, the layout of zmq_pollitem_t, and
 * that the library agrees with the header. Single-threaded.
 */
#include <stdalign.h>
#include <stddef.h>
#include <zmq.h>

#include "testutil.h"

_Static_assert(sizeof(zmq_msg_t) == 64, "zmq_msg_t is 64 bytes in libzmq 4.3");
_Static_assert(alignof(zmq_msg_t) == sizeof(void *), "zmq_msg_t is pointer-aligned");
_Static_assert(ZMQ_VERSION == 40304, "zinc is a drop-in for libzmq 4.3.4");

static void
test_header_version(void)
{
	CHECK_EQ(ZMQ_VERSION_MAJOR, 4);
	CHECK_EQ(ZMQ_VERSION_MINOR, 3);
	CHECK_EQ(ZMQ_VERSION_PATCH, 4);
	CHECK_EQ(ZMQ_MAKE_VERSION(4, 3, 4), 40304);
}

static void
test_library_version(void)
{
	int major = -1, minor = -1, patch = -1;
	zmq_version(&major, &minor, &patch);
	CHECK_EQ(major, ZMQ_VERSION_MAJOR);
	CHECK_EQ(minor, ZMQ_VERSION_MINOR);
	CHECK_EQ(patch, ZMQ_VERSION_PATCH);
}

static void
test_pollitem_layout(void)
{
	CHECK_EQ(offsetof(zmq_pollitem_t, socket), 0);
	CHECK_EQ(offsetof(zmq_pollitem_t, fd), sizeof(void *));
	CHECK_EQ(offsetof(zmq_pollitem_t, events), sizeof(void *) + sizeof(int));
	CHECK_EQ(offsetof(zmq_pollitem_t, revents), sizeof(void *) + sizeof(int) + 2);
	CHECK_EQ(sizeof(zmq_pollitem_t), 2 * sizeof(void *));
}

static void
test_own_errors_above_hausnumero(void)
{
	CHECK_EQ(EFSM, ZMQ_HAUSNUMERO + 51);
	CHECK_EQ(ENOCOMPATPROTO, ZMQ_HAUSNUMERO + 52);
	CHECK_EQ(ETERM, ZMQ_HAUSNUMERO + 53);
	CHECK_EQ(EMTHREAD, ZMQ_HAUSNUMERO + 54);
	/* On Linux every POSIX code exists, so none comes from the fallback range. */
	CHECK(ENOTSUP < ZMQ_HAUSNUMERO);
	CHECK(EHOSTUNREACH < ZMQ_HAUSNUMERO);
}

static void
test_ctx_reports_msg_t_size(void)
{
	void *ctx = zmq_ctx_new();
	CHECK(ctx != NULL);
	CHECK_EQ(zmq_ctx_get(ctx, ZMQ_MSG_T_SIZE), sizeof(zmq_msg_t));
	CHECK_OK(zmq_ctx_term(ctx));
}

static const struct test tests[] = {
        {"header declares version 4.3.4", test_header_version},
        {"zmq_version reports the header's version", test_library_version},
        {"zmq_pollitem_t has libzmq's layout", test_pollitem_layout},
        {"own error numbers sit above ZMQ_HAUSNUMERO", test_own_errors_above_hausnumero},
        {"ZMQ_MSG_T_SIZE reports sizeof(zmq_msg_t)", test_ctx_reports_msg_t_size},
        {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}
