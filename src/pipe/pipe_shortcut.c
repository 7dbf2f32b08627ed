/*
 * pipe_shortcut.c: a pipe end's side of the shortcut (shortcut.h): its writes handed
 * to the connection's fd, the reading borrowed for a receive's wait and kept between
 * the receives of an exchange. The socket's thread, except where marked.
 */
#include "pipe/pipe_impl.h"
#include "pipe/shortcut.h"

#include <errno.h>
#include <string.h>

/* pipe_put_back: cells taken from the ypipe for the shortcut go back, in order (the
 * chunks they came from are still linked: no allocation). */
static void
pipe_put_back(struct pipe *p, struct msg *m, int n)
{
	for (int i = 0; i < n; i++)
		if (ypipe_write(p->out, &m[i], (m[i].flags & MSGF_MORE) != 0) < 0)
			msg_close(&m[i]); /* not reached: see above */
}

/* pipe_flush_shortcut: the messages written since the last flush go straight to the
 * connection (shortcut.h) when its I/O thread sleeps on this pipe with nothing left to
 * write. replying: this end read a message directly since its last flush. true when
 * they went. */
bool
pipe_flush_shortcut(struct pipe *p, bool replying)
{
	struct pipe_shortcut *s = p->shortcut;
	if (!ypipe_reader_idle(p->out) || !s->ops->ready(s, replying))
		return false;
	struct ycell cells[SHORTCUT_PARTS];
	int n = ypipe_take_unflushed(p->out, cells, SHORTCUT_PARTS);
	if (n <= 0)
		return false;
	struct msg *m = (struct msg *)(void *)cells;
	uint64_t whole = 0;
	for (int i = 0; i < n; i++) {
		if (msg_is_delimiter(&m[i]) || msg_is_direct(&m[i])) {
			pipe_put_back(p, m, n);
			return false;
		}
		whole += !(m[i].flags & MSGF_MORE);
	}
	int rc = s->ops->send(s, m, n);
	if (rc < 0) {
		pipe_put_back(p, m, n);
		return false;
	}
	/* The I/O thread never reads these, so they never count against the HWM. */
	p->msgs_written -= whole;
	if (rc == 1)
		pipe_send(p->peer, CMD_ACTIVATE_READ);
	return true;
}

void
pipe_set_shortcut(struct pipe *p, struct pipe_shortcut *s)
{
	p->shortcut = s;
}

int
pipe_offer_shortcut(struct pipe *p, struct pipe_shortcut *s)
{
	if (p->state != PIPE_ACTIVE || !p->peer)
		return -EPIPE;
	struct command cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.dest = &p->peer->obj;
	cmd.type = CMD_PIPE_SHORTCUT;
	cmd.args.shortcut.sc = s;
	object_send(&cmd);
	return 0;
}

/* pipe_adopt_shortcut: CMD_PIPE_SHORTCUT: the newest connection's shortcut replaces an
 * older one (whose engine has ended); an end that no longer writes lets it go. */
void
pipe_adopt_shortcut(struct pipe *p, struct pipe_shortcut *s)
{
	if (p->shortcut && p->shortcut->ops->readable(p->shortcut)) {
		s->ops->release(s); /* what the old one read comes first: keep it */
		return;
	}
	pipe_give_back(p);
	if (p->shortcut)
		p->shortcut->ops->release(p->shortcut);
	p->shortcut = NULL;
	if (p->state == PIPE_ACTIVE && p->out)
		p->shortcut = s;
	else
		s->ops->release(s);
}

/* pipe_shortcut_wait_begin: borrows the connection's reading for a receive that
 * would sleep with nothing to read (shortcut.h). */
int
pipe_shortcut_wait_begin(struct pipe *p)
{
	if (p->in_active || !pipe_readable_state(p) || ypipe_probe(&p->inq))
		return -1;
	int fd = p->shortcut->ops->wait_begin(p->shortcut, p->sc_sent);
	p->sc_answered = p->sc_sent;
	p->sc_sent = false;
	p->sc_kept = false; /* taken to wait with, or given back */
	p->sc_waiting = fd >= 0;
	return fd;
}

/* pipe_shortcut_wait_end: after a wait that borrowed the reading: whether a message
 * came (the end is activated then), and whether the reading is kept. */
bool
pipe_shortcut_wait_end(struct pipe *p, bool fired)
{
	p->sc_waiting = false;
	int rc = p->shortcut->ops->wait_end(p->shortcut, fired, p->sc_answered);
	p->sc_kept = (rc & SHORTCUT_KEPT) != 0;
	if (rc & SHORTCUT_TELL)
		pipe_send(p->peer, CMD_PIPE_KEPT);
	if (!(rc & SHORTCUT_CAME))
		return false;
	pipe_activate_read(p);
	return true;
}

void
pipe_give_back(struct pipe *p)
{
	if (p->sc_kept) {
		p->sc_kept = false;
		p->shortcut->ops->give_back(p->shortcut);
	}
}
