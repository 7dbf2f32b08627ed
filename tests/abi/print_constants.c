/*
 * print_constants.c: prints the ABI facts of one zmq.h, one "NAME VALUE" line each: the
 * integer constants of abi_names.h, then the size, alignment and field offsets of the
 * public structs. Built twice, with ZMQ_HEADER naming zinc's header or the system's
 * libzmq header; compare_constants.sh diffs the two outputs. Needs no library.
 */
#include ZMQ_HEADER

#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>

#define ABI_CONST(name)       printf("%s %lld\n", #name, (long long)(name));
#define ABI_FACT(name, value) printf("%s %lld\n", name, (long long)(value));

int
main(void)
{
#include "abi_names.h"

	printf("ZMQ_MAKE_VERSION(1,2,3) %d\n", ZMQ_MAKE_VERSION(1, 2, 3));
#ifdef ZMQ_HAVE_TIMERS
	printf("defined(ZMQ_HAVE_TIMERS) 1\n");
#else
	printf("defined(ZMQ_HAVE_TIMERS) 0\n");
#endif

	ABI_FACT("sizeof(zmq_msg_t)", sizeof(zmq_msg_t));
	ABI_FACT("alignof(zmq_msg_t)", alignof(zmq_msg_t));
	ABI_FACT("sizeof(zmq_pollitem_t)", sizeof(zmq_pollitem_t));
	ABI_FACT("alignof(zmq_pollitem_t)", alignof(zmq_pollitem_t));
	ABI_FACT("offsetof(zmq_pollitem_t,socket)", offsetof(zmq_pollitem_t, socket));
	ABI_FACT("offsetof(zmq_pollitem_t,fd)", offsetof(zmq_pollitem_t, fd));
	ABI_FACT("offsetof(zmq_pollitem_t,events)", offsetof(zmq_pollitem_t, events));
	ABI_FACT("offsetof(zmq_pollitem_t,revents)", offsetof(zmq_pollitem_t, revents));
	zmq_pollitem_t item;
	ABI_FACT("sizeof(zmq_pollitem_t.fd)", sizeof item.fd);
	ABI_FACT("sizeof(zmq_pollitem_t.events)", sizeof item.events);
	item.fd = -1;
	ABI_FACT("signed(zmq_pollitem_t.fd)", item.fd < 0);
	return 0;
}
