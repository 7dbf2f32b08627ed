/*
 * command.h: the commands objects send each other across threads (seed 001,
 * "Concurrency model"). A command is a fixed 64-byte cell so it travels through the
 * same ypipe as messages. `dest` is the object that will process it, in the thread
 * whose mailbox dest->tid names.
 */
#ifndef ZINC_CORE_COMMAND_H
#define ZINC_CORE_COMMAND_H

#include <stdint.h>

struct object;
struct own;
struct pipe;

enum command_type {
	CMD_STOP = 1,         /* ctx -> socket / io thread / reaper: the context ends */
	CMD_PLUG,             /* owner -> new child: start working in your thread */
	CMD_OWN,              /* owner -> itself: register a launched child */
	CMD_ATTACH,           /* socket -> session: here is your engine/pipe */
	CMD_BIND,             /* connecting socket -> bound socket: attach this pipe */
	CMD_ACTIVATE_READ,    /* pipe writer -> reader: data arrived while you slept */
	CMD_ACTIVATE_WRITE,   /* pipe reader -> writer: msgs_read, you may write again */
	CMD_HICCUP,           /* pipe writer -> reader: the out-ypipe was replaced */
	CMD_PIPE_TERM,        /* pipe end -> peer: please terminate */
	CMD_PIPE_TERM_ACK,    /* pipe end -> peer: terminated */
	CMD_PIPE_HWM,         /* pipe end -> peer: new watermarks */
	CMD_TERM_REQ,         /* child -> owner: please terminate me */
	CMD_TERM,             /* owner -> child: terminate, with this linger */
	CMD_TERM_ACK,         /* child -> owner: I have terminated */
	CMD_TERM_ENDPOINT,    /* socket -> owned object: stop serving an endpoint */
	CMD_REAP,             /* socket -> reaper: finish my shutdown for me */
	CMD_REAPED,           /* socket -> reaper: I am gone */
	CMD_SEQNUM,           /* bump processed_seqnum only */
	CMD_INPROC_CONNECTED, /* binder -> connecting socket: your pending pipe is live */
	CMD_PIPE_WAKE,        /* pipe end -> peer: your direct road has data or room */
	CMD_PIPE_SHORTCUT,    /* session's pipe end -> socket's: write the fd yourself */
	CMD_PIPE_KEPT, /* socket's pipe end -> session's: I kept the fd's reading */
	CMD_DONE,      /* reaper -> ctx: every socket is gone */
};

struct command {
	struct object *dest;
	uint32_t type;
	uint32_t seqnum; /* 1: sent with own_inc_seqnum, see own.h */
	union {
		struct {
			struct own *object;
		} own;
		struct {
			void *engine;
		} attach;
		struct {
			struct pipe *pipe;
			struct own
			        *origin; /* CMD_BIND: the session that made it, or NULL */
		} bind;
		struct {
			uint64_t msgs_read;
		} activate_write;
		struct {
			void *pipe; /* struct ypipe * */
		} hiccup;
		struct {
			int64_t inhwm;
			int64_t outhwm;
			int64_t in_boost;
			int64_t out_boost;
		} pipe_hwm;
		struct {
			void *sc; /* struct pipe_shortcut *, a reference handed over */
		} shortcut;
		struct {
			struct own *object;
		} term_req;
		struct {
			int linger;
		} term;
		struct {
			void *endpoint;
		} term_endpoint;
		struct {
			void *socket;
			void (*start)(void *socket, void *reaper);
		} reap;
		unsigned char raw[48];
	} args;
};

_Static_assert(sizeof(struct command) <= 64, "a command must fit a ypipe cell");

#endif
