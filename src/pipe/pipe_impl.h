/*
 * pipe_impl.h: what pipe.c shares with the files that implement parts of a pipe end
 * (pipe_shortcut.c). Not for the pipe's users (pipe.h).
 */
#ifndef ZINC_PIPE_IMPL_H
#define ZINC_PIPE_IMPL_H

#include "pipe/pipe.h"

static inline bool
pipe_readable_state(const struct pipe *p)
{
	return p->state == PIPE_ACTIVE || p->state == PIPE_WAITING_FOR_DELIMITER;
}

static inline void
pipe_send(struct pipe *dest, enum command_type type)
{
	send_simple(&dest->obj, type);
}

/* pipe_activate_read: the end has something to read: its sink hears, once. */
void pipe_activate_read(struct pipe *p);

/* pipe_shortcut.c. */

bool pipe_flush_shortcut(struct pipe *p, bool replying);
void pipe_adopt_shortcut(struct pipe *p, struct pipe_shortcut *s);
/* pipe_wait_begin / pipe_wait_end for an end with a shortcut and no road. */
int pipe_shortcut_wait_begin(struct pipe *p);
bool pipe_shortcut_wait_end(struct pipe *p, bool fired);

#endif
