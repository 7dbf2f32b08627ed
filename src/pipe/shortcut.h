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
 * Reading, the other way round: a receive that is about to sleep on a pipe with
 * nothing in it, its socket's only one, borrows the reading while the engine is
 * between messages (wait_begin): the engine's poller stops watching the fd for input,
 * the socket's thread polls it beside its mailbox, and on a wake-up reads one whole
 * message itself (wait_end), leaving anything else (commands, a message larger than
 * the shortcut takes, the end of the stream) in the fd for the engine, which gets the
 * reading back before the receive returns. One wake-up a message where the engine's
 * read, its CMD_ACTIVATE_READ and the socket's wake-up made two.
 *
 * Between the receives of a request-reply exchange the reading is kept (wait_end with
 * keep): the engine's poller goes on not watching the fd, which saves the two changes
 * of its epoll registration a receive costs, and shortens the time between the
 * answer's write and the thread's sleep, during which the peer's thread, woken by
 * that write, may wait for this CPU. Whatever else the socket's thread does gives it
 * back (give_back: zmq_poll, ZMQ_EVENTS, ZMQ_FD, a receive that does not wait, a wait
 * that does not borrow), and the engine takes it back itself when no receive came
 * for a few milliseconds (told once by CMD_PIPE_KEPT), so a connection is never left
 * unwatched.
 *
 * This header is what a transport implements (proto/engine_shortcut.c); the pipe end
 * holds a reference, given with the pipe (pipe_set_shortcut, before CMD_BIND) or by
 * a CMD_PIPE_SHORTCUT, until it is replaced or the end is freed. Threads: everything in
 * the socket's thread but release (anywhere).
 */
#ifndef ZINC_PIPE_SHORTCUT_H
#define ZINC_PIPE_SHORTCUT_H

#include <stdbool.h>

struct msg;
struct pipe_shortcut;

/* The most parts one direct write takes (a message with more goes by the ypipe). */
#define SHORTCUT_PARTS 8

/* What wait_end says. */
enum { SHORTCUT_CAME = 1, SHORTCUT_KEPT = 2, SHORTCUT_TELL = 4 };

struct pipe_shortcut_ops {
	/* ready: the connection may take a direct write now. A hint from loads only.
	 * replying: this end has read a message directly since it last sent, so what
	 * it sends now answers it, not the next of a burst. */
	bool (*ready)(struct pipe_shortcut *s, bool replying);
	/* send: writes the whole messages m[0..n) to the peer. 0 done (the parts are
	 * closed); 1 done, but the kernel took only part: the rest waits for the I/O
	 * thread, which the caller wakes (CMD_ACTIVATE_READ); -EAGAIN not now (busy,
	 * gone, or too large; m unchanged). */
	int (*send)(struct pipe_shortcut *s, struct msg *m, int n);
	/* wait_begin: before a blocking receive on this pipe alone, with nothing to
	 * read: borrows the connection's reading while its engine is between messages,
	 * so the peer's next message wakes the socket's thread itself. answered: this
	 * end has sent something since the last wait_begin, so what comes next is
	 * likely an answer, a round trip away. The fd to poll, or -1 (not now). wait_end,
	 * after every begin that gave an fd (fired: the poll saw it readable): reads a
	 * whole message if one is there, and gives the reading back unless keep (the
	 * wait began answered) and a message was read. SHORTCUT_CAME: a message waits
	 * to be read; SHORTCUT_KEPT: the reading is kept; SHORTCUT_TELL: and the engine
	 * does not watch it yet (the caller sends CMD_PIPE_KEPT). */
	int (*wait_begin)(struct pipe_shortcut *s, bool answered);
	int (*wait_end)(struct pipe_shortcut *s, bool fired, bool keep);
	/* give_back: the reading kept by a wait_end goes back to the engine. */
	void (*give_back)(struct pipe_shortcut *s);
	/* readable / read: a part read directly waits / moves it into m (empty). Those
	 * parts come before anything in the ypipe: the engine delivers nothing while
	 * the reading is borrowed, and it is borrowed only with the ypipe empty. */
	bool (*readable)(struct pipe_shortcut *s);
	bool (*read)(struct pipe_shortcut *s, struct msg *m);
	/* release: drops one reference. */
	void (*release)(struct pipe_shortcut *s);
};

struct pipe_shortcut {
	const struct pipe_shortcut_ops *ops;
};

#endif
