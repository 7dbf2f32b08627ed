/*
 * yield_gate.h: whether a thread about to sleep should first yield its CPU once.
 *
 * The yield pays when the thread that will wake us (the writer of a queue we drained)
 * waits for this very CPU: it runs, fills the queue, and we find work instead of
 * sleeping, with no wake-up on either side. It costs when nothing of ours comes: a
 * yielded thread is runnable, not asleep, so on a machine busy with other processes
 * it waits out their time slice, where a sleeping thread woken by an event would
 * have preempted them. A ping-pong (latency) under load lost 5-10x that way.
 *
 * So each yield is judged by what it brought: work found right after it keeps the
 * gate open; after GATE_CREDIT yields in a row that brought nothing the gate closes,
 * and reopens only through a probe every GATE_PROBE chances or a yield that pays.
 * One owner thread per gate.
 */
#ifndef ZINC_CORE_YIELD_GATE_H
#define ZINC_CORE_YIELD_GATE_H

#include <stdbool.h>

#define GATE_CREDIT 4
#define GATE_PROBE  32

struct yield_gate {
	int credit;       /* yields left before the gate closes; starts closed at 0 */
	unsigned skipped; /* chances passed while closed, for the probe */
};

/* yield_gate_open: whether to yield at this chance. */
static inline bool
yield_gate_open(struct yield_gate *g)
{
	if (g->credit > 0)
		return true;
	if (++g->skipped < GATE_PROBE)
		return false;
	g->skipped = 0;
	return true;
}

/* yield_gate_judge: after a yield, whether work was there when it returned. */
static inline void
yield_gate_judge(struct yield_gate *g, bool paid)
{
	if (paid)
		g->credit = GATE_CREDIT;
	else if (g->credit > 0)
		g->credit--;
}

#endif
