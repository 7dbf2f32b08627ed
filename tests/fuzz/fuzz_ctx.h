/*
 * fuzz_ctx.h: one context for the whole process, for the targets that drive the API
 * (fuzz_xpub, fuzz_sockopt). A context per input (its reaper thread started, joined and
 * its tables freed each time) cost more than the option or subscription code under
 * test: fuzz_sockopt ran 1700 inputs a second, all but a little of it in zmq_ctx_new and
 * zmq_ctx_term.
 *
 * An input makes its sockets in fuzz_ctx() and closes them; fuzz_ctx_settle() then
 * waits until the reaper has destroyed them, so that every allocation of the input has
 * been freed when it returns: libFuzzer counts mallocs and frees per input to look for
 * leaks (-detect_leaks), and a free the reaper does after the input would be counted in
 * the next one. Under ASan "freed" is exact: the bytes allocated in the process are back
 * to what they were when the input started (fuzz_ctx_mark). Without a sanitizer (the
 * ctest replays) the wait is for the context's socket table to empty.
 *
 * The context lives until exit, where an atexit handler terminates it (its reaper
 * joined), so a replay ends as cleanly as before.
 */
#ifndef ZINC_FUZZ_CTX_H
#define ZINC_FUZZ_CTX_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "core/ctx.h"
#include "platform/platform.h"
#include "zmq.h"

/* ASan's count of the bytes allocated now; absent (NULL) without ASan. */
size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

static void *fuzz_ctx_ptr;
static size_t fuzz_ctx_bytes;

static void
fuzz_ctx_term(void)
{
	int rc;
	while ((rc = zmq_ctx_term(fuzz_ctx_ptr)) < 0 && errno == EINTR)
		;
	fuzz_ctx_ptr = NULL;
}

static bool
fuzz_ctx_sockets_gone(struct ctx *c)
{
	zn_mutex_lock(&c->slot_sync);
	bool gone = c->socket_count == 0;
	zn_mutex_unlock(&c->slot_sync);
	return gone;
}

/* fuzz_ctx: the process's context (no I/O thread: nothing leaves the process). */
static void *
fuzz_ctx(void)
{
	if (!fuzz_ctx_ptr) {
		/* Cached message bodies count as allocated: without this an input that
		 * made a body of a new size left more allocated than it found, and
		 * fuzz_ctx_settle waited its whole second for it (fuzz_xpub: 540
		 * executions a second instead of thousands). */
		(void)setenv("ZINC_BODY_CACHE", "0", 0);
		fuzz_ctx_ptr = zmq_ctx_new();
		if (!fuzz_ctx_ptr || zmq_ctx_set(fuzz_ctx_ptr, ZMQ_IO_THREADS, 0) != 0)
			abort();
		atexit(fuzz_ctx_term);
		/* The reaper starts with the first socket and stays: start it now, so
		 * that no input is charged with it. */
		void *s = zmq_socket(fuzz_ctx_ptr, ZMQ_PAIR);
		if (!s || zmq_close(s) != 0)
			abort();
		while (!fuzz_ctx_sockets_gone(fuzz_ctx_ptr))
			zn_yield();
	}
	return fuzz_ctx_ptr;
}

static size_t
fuzz_ctx_allocated(void)
{
	return __sanitizer_get_current_allocated_bytes
	               ? __sanitizer_get_current_allocated_bytes()
	               : 0;
}

/* fuzz_ctx_mark: what is allocated when the input starts. */
static void
fuzz_ctx_mark(void)
{
	fuzz_ctx_bytes = fuzz_ctx_allocated();
}

/* fuzz_ctx_settle: waits (yielding to the reaper) until the input's sockets are
 * destroyed and, under ASan, its bytes freed. Gives up after a second: a real leak then
 * stays for libFuzzer's leak check to report, and the next input goes on. */
static void
fuzz_ctx_settle(void)
{
	struct ctx *c = fuzz_ctx_ptr;
	int64_t give_up = clock_now_us() + 1000000;
	while (!fuzz_ctx_sockets_gone(c) || (__sanitizer_get_current_allocated_bytes &&
	                                     fuzz_ctx_allocated() > fuzz_ctx_bytes)) {
		if (clock_now_us() > give_up)
			return;
		zn_yield();
	}
}

#endif
