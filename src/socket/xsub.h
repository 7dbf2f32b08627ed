/*
 * xsub.h: the subscriber side shared by ZMQ_XSUB (xsub.c) and ZMQ_SUB (sub.c), the way
 * libzmq's sub derives from xsub: SUB is an XSUB whose subscriptions come from
 * ZMQ_SUBSCRIBE / ZMQ_UNSUBSCRIBE instead of sent messages, and which filters what it
 * receives against them. Only sub.c includes this.
 *
 * Threads: the socket's thread (the reaper after close).
 */
#ifndef ZINC_SOCKET_XSUB_H
#define ZINC_SOCKET_XSUB_H

#include "socket/dist.h"
#include "socket/fq.h"
#include "socket/socket.h"
#include "socket/trie.h"

struct xsub {
	struct socket base;
	struct fq fq;     /* data from the publishers */
	struct dist dist; /* subscriptions (and XSUB's upstream data) to them */
	struct trie subs; /* counted: resent to every new pipe */
	struct msg next;  /* SUB: a matching message read ahead by has_in */
	bool has_next;
	bool more_recv; /* SUB: the rest of a matching message follows */
	bool filter;    /* SUB: deliver only what matches a subscription */
};

/* The XSUB members of socket_ops, with their contracts (socket.h). */
int xsub_init(struct socket *s);
void xsub_fini(struct socket *s);
int xsub_attach_pipe(struct socket *s, struct pipe *p);
void xsub_read_activated(struct socket *s, struct pipe *p);
void xsub_write_activated(struct socket *s, struct pipe *p);
void xsub_pipe_terminated(struct socket *s, struct pipe *p);
void xsub_hiccuped(struct socket *s, struct pipe *p);
/* xsub_send: a message whose first byte is 1 (0) subscribes (unsubscribes) to the
 * topic that follows; upstream data goes to every publisher. As socket_ops.send. */
int xsub_send(struct socket *s, struct msg *m);
void xsub_rollback(struct socket *s);
int xsub_recv(struct socket *s, struct msg *m);
bool xsub_has_in(struct socket *s);

#endif
