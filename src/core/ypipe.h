/*
 * ypipe.h: the lock-free single-producer single-consumer queue of seed 001, used for
 * both message pipes (src/pipe/) and command mailboxes (src/core/mailbox). It holds
 * fixed 64-byte cells (a struct msg or a struct command) in chunks of YPIPE_CHUNK
 * cells, keeps one spare chunk to avoid malloc churn, and tells the writer, at flush
 * time, whether the reader went to sleep and must be woken.
 *
 * Threads: exactly one writer thread and one reader thread at a time.
 *   writer: ypipe_write, ypipe_unwrite, ypipe_take_unflushed, ypipe_flush
 *   reader: ypipe_check_read, ypipe_read, ypipe_peek
 *
 * How sleeping is detected: the shared pointer `c` holds the end of the published data
 * while the reader is awake, and NULL once the reader found nothing more to read. A
 * flush compare-and-swaps the new end in; if it finds NULL the reader is asleep and
 * the flush returns false so the writer sends exactly one wake-up.
 */
#ifndef ZINC_CORE_YPIPE_H
#define ZINC_CORE_YPIPE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#define YPIPE_CELL 64
/* 15 cells, 976 bytes a chunk: the largest chunk glibc serves as a "small" request
 * (under 1 KiB with its header). A larger one (32 cells, 2 KiB, as before) made every
 * chunk allocation flush glibc's fast bins (malloc_consolidate), where the freed
 * bodies of small messages wait for the next malloc: when the writer ran ahead of the
 * reader (the spare chunk then does not suffice) that cost 83 instructions a message in
 * chunk allocations and as much again in body allocations that missed the fast bins
 * (callgrind, inproc_thr 64 B: 1110 instructions a message with 32 cells, 922 with 15;
 * libzmq 1057). An idle pipe holds one chunk and at most one spare. */
#define YPIPE_CHUNK 15

struct ycell {
	_Alignas(8) unsigned char b[YPIPE_CELL];
};

struct ychunk {
	struct ycell cells[YPIPE_CHUNK];
	struct ychunk *next;
	struct ychunk *prev;
};
/* glibc's small requests: a chunk of under 1024 bytes, its 8-byte header included. */
_Static_assert(sizeof(struct ychunk) <= 1008, "a ypipe chunk must stay a small request");

/* The three parts are written by different threads, so no two may share a cache line,
 * wherever the structure lands: the pads assume only the 16-byte alignment malloc
 * gives (a part may start anywhere in a line), and the last one keeps the writer's
 * part off whatever follows the ypipe in its container: in a pipe end, counters its
 * reader writes at every message (msgs_read, bytes_unreported, in_active) shared a
 * line with the writer's wpos. (No throughput change stood out of the noise.) */
#define YPIPE_PAD 64
struct ypipe {
	/* Reader's side. */
	struct ychunk *rchunk;
	int rpos;
	struct ycell *rend; /* end of data known to the reader (exclusive), or NULL */
	char pad1[YPIPE_PAD];

	/* Shared. */
	_Atomic(struct ycell *) c;
	_Atomic(struct ychunk *) spare;
	char pad2[YPIPE_PAD];

	/* Writer's side. */
	struct ychunk *wchunk;
	int wpos;
	struct ycell *fend; /* end of the last complete message written */
	struct ycell *pend; /* end the writer last published */
	char pad3[YPIPE_PAD];
};

/* ypipe_init: an empty pipe (one chunk allocated). 0 or -ENOMEM. */
int ypipe_init(struct ypipe *p);
/* ypipe_fini: frees the chunks. Cells still inside are the caller's to drain first. */
void ypipe_fini(struct ypipe *p);

/* ypipe_write: copies one cell in. `incomplete` means more cells of the same message
 * follow, so a flush will not publish this one yet. 0 or -ENOMEM (nothing written). */
int ypipe_write(struct ypipe *p, const void *cell, bool incomplete);
/* ypipe_unwrite: takes back the last cell written if it is not yet complete (a part of
 * a multipart message being rolled back). true when a cell was copied to *cell. */
bool ypipe_unwrite(struct ypipe *p, void *cell);
/* ypipe_take_unflushed: takes back every cell written since the last flush, in order,
 * into cells[0..n) (n at most max): the writer's way to send them by another road.
 * Only whole messages: -1 (nothing taken) when a message is half-written or more than
 * max cells wait; else n, 0 when nothing waits. */
int ypipe_take_unflushed(struct ypipe *p, void *cells, int max);
/* ypipe_flush: publishes all complete cells. false when the reader was asleep and
 * must be woken by the caller; true otherwise. */
bool ypipe_flush(struct ypipe *p);

/* ypipe_reader_idle: true when the reader has taken everything published and gone to
 * sleep (the next flush will wake it). For the writer; and for the reader, a check
 * that costs one load and changes nothing (only the reader sets NULL). */
static inline bool
ypipe_reader_idle(struct ypipe *p)
{
	return atomic_load_explicit(&p->c, memory_order_acquire) == NULL;
}

/* ypipe_check_read: true when a cell can be read. When it returns false the reader is
 * marked asleep, and the next flush returns false. */
bool ypipe_check_read(struct ypipe *p);
/* ypipe_probe: for the reader: true when a cell can be read. Unlike ypipe_check_read
 * it changes nothing (a plain load, no read-modify-write), so it can be asked often:
 * false leaves the reader asleep or awake as it was. */
static inline bool
ypipe_probe(struct ypipe *p)
{
	struct ycell *here = &p->rchunk->cells[p->rpos];
	if (p->rend && here != p->rend)
		return true;
	struct ycell *c = atomic_load_explicit(&p->c, memory_order_acquire);
	return c != NULL && c != here;
}
/* ypipe_reader_wake: for the reader: takes back "asleep", so the writer's flushes stop
 * asking for wake-ups (the reader means to watch with ypipe_probe). The next
 * ypipe_check_read that finds nothing marks it asleep again. */
void ypipe_reader_wake(struct ypipe *p);
/* ypipe_read: copies the next cell out. false (and marks the reader asleep) if none. */
bool ypipe_read(struct ypipe *p, void *cell);
/* ypipe_peek: the next cell without consuming it, or NULL (marks asleep as above). */
const void *ypipe_peek(struct ypipe *p);

#endif
