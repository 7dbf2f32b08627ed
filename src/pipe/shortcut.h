/*
 * shortcut.h: a stream connection's writing, lent to the socket's thread while the I/O
 * thread has nothing to write. A message sent to an idle tcp or ipc connection costs,
 * on the ypipe's road, a CMD_ACTIVATE_READ to the I/O thread (an eventfd write), that
 * thread's wake-up and its write to the socket: one of the three thread wake-ups of
 * each hop, and most of a request's latency on a small machine. When the I/O thread's
 * reader is asleep on the pipe (it has written everything it took) and the engine says
 * its output is idle, the socket's thread writes the message's frames to the fd itself
 * (pipe_flush), under the engine's lock; everything else takes the ypipe as before.
 *
 * Order holds: the socket end writes directly only while its ypipe's reader is asleep
 * (so nothing of its is queued) and the engine's encoder is empty (nothing of the
 * engine's half-written), and the engine takes the lock before it writes again. What
 * the kernel does not take at once stays in the shortcut for the engine to write
 * first (send answers 1: wake the I/O thread).
 *
 * This header is what a transport implements (proto/engine_shortcut.c); the pipe end
 * holds a reference from the CMD_PIPE_SHORTCUT that brings it until it is replaced or
 * the end is freed. Threads: send and ready in the socket's thread; release anywhere.
 */
#ifndef ZINC_PIPE_SHORTCUT_H
#define ZINC_PIPE_SHORTCUT_H

#include <stdbool.h>

struct msg;
struct pipe_shortcut;

/* The most parts one direct write takes (a message with more goes by the ypipe). */
#define SHORTCUT_PARTS 8

struct pipe_shortcut_ops {
	/* ready: the connection may take a direct write now. A hint from loads only. */
	bool (*ready)(struct pipe_shortcut *s);
	/* send: writes the whole messages m[0..n) to the peer. 0 done (the parts are
	 * closed); 1 done, but the kernel took only part: the rest waits for the I/O
	 * thread, which the caller wakes (CMD_ACTIVATE_READ); -EAGAIN not now (busy,
	 * gone, or too large; m unchanged). */
	int (*send)(struct pipe_shortcut *s, struct msg *m, int n);
	/* release: drops one reference. */
	void (*release)(struct pipe_shortcut *s);
};

struct pipe_shortcut {
	const struct pipe_shortcut_ops *ops;
};

#endif
