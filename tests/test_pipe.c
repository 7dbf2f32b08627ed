/*
 * test_pipe.c: message pipes (src/pipe/pipe.h, pipe_array.h) and the schedulers over
 * them (src/socket/fq.h, lb.h), below the socket layer. Pipes talk through commands
 * routed by a real context, so each test builds one and registers two fake sockets,
 * A and B, each a mailbox the test thread drains by hand: one end of every pipe lives
 * in A's "thread", the other in B's, and nothing moves until the test delivers the
 * commands. Leaks and double frees show up under valgrind and ASan.
 */
#include <stdbool.h>
#include <stdint.h>

#include "testutil.h"
#include "core/ctx.h"
#include "core/mailbox.h"
#include "core/object.h"
#include "pipe/msg.h"
#include "pipe/pipe.h"
#include "pipe/pipe_array.h"
#include "platform/alloc.h"
#include "socket/fq.h"
#include "socket/lb.h"

/* The harness: a context and two fake sockets. */

struct fake_socket {
	struct object obj;
	struct mailbox *mb;
	uint32_t tid;
	int unexpected; /* commands addressed to the socket itself */
};

struct harness {
	struct ctx *ctx;
	struct fake_socket s[2];
};

enum { A, B };

static void
fake_process(struct object *o, const struct command *cmd)
{
	struct fake_socket *s = (struct fake_socket *)(void *)o; /* obj is first */
	(void)cmd;
	s->unexpected++;
}

static const struct object_ops fake_ops = {.process = fake_process};

static void
harness_init(struct harness *h)
{
	int err = 0;
	memset(h, 0, sizeof *h);
	h->ctx = ctx_new(&err);
	CHECK(h->ctx != NULL);
	for (int i = 0; i < 2; i++) {
		struct fake_socket *s = &h->s[i];
		CHECK_EQ(ctx_socket_open(h->ctx, &s->tid), 0);
		CHECK_EQ(mailbox_new(&s->mb), 0);
		object_init(&s->obj, h->ctx, s->tid, &fake_ops);
		ctx_socket_register(h->ctx, s->tid, s->mb, &s->obj);
	}
	CHECK(h->s[A].tid != h->s[B].tid);
}

/* drain: delivers every command queued for fake socket i; returns how many. */
static int
drain(struct harness *h, int i)
{
	struct command cmd;
	int n = 0;
	while (mailbox_recv(h->s[i].mb, &cmd, 0) == 0) {
		object_dispatch(&cmd);
		n++;
	}
	return n;
}

static int
drain_all(struct harness *h)
{
	int total = 0, n;
	do {
		n = drain(h, A) + drain(h, B);
		total += n;
	} while (n > 0);
	return total;
}

static void
harness_fini(struct harness *h)
{
	CHECK_EQ(drain_all(h), 0); /* every test leaves its handshakes finished */
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(h->s[i].unexpected, 0);
		ctx_socket_closed(h->ctx, h->s[i].tid, &h->s[i].obj);
		mailbox_release(h->s[i].mb);
	}
	CHECK_EQ(ctx_term(h->ctx), 0);
}

/* A sink records the callbacks, forwards them to a scheduler if it has one, and on
 * termination clears the test's pointer to the pipe (kept in pipe->user). */

struct sink {
	int read_activated;
	int write_activated;
	int hiccuped;
	int terminated;
	struct pipe *last;
	struct fq *fq;
	struct lb *lb;
};

static void
sink_read_activated(void *arg, struct pipe *p)
{
	struct sink *s = arg;
	s->read_activated++;
	s->last = p;
	if (s->fq)
		fq_activated(s->fq, p);
}

static void
sink_write_activated(void *arg, struct pipe *p)
{
	struct sink *s = arg;
	s->write_activated++;
	s->last = p;
	if (s->lb)
		lb_activated(s->lb, p);
}

static void
sink_hiccuped(void *arg, struct pipe *p)
{
	struct sink *s = arg;
	s->hiccuped++;
	s->last = p;
}

static void
sink_terminated(void *arg, struct pipe *p)
{
	struct sink *s = arg;
	s->terminated++;
	s->last = p;
	if (s->fq)
		fq_terminated(s->fq, p);
	if (s->lb)
		lb_terminated(s->lb, p);
	if (p->user)
		*(struct pipe **)p->user = NULL;
}

static const struct pipe_sink_ops sink_ops = {
        .read_activated = sink_read_activated,
        .write_activated = sink_write_activated,
        .hiccuped = sink_hiccuped,
        .terminated = sink_terminated,
};

/* A pair: end[0] lives in A, end[1] in B. The pointers go NULL as the ends die. */
struct pair {
	struct pipe *end[2];
};

static void
pair_open(struct harness *h, struct pair *pr, int64_t hwm0, int64_t hwm1, struct sink *s0,
          struct sink *s1)
{
	struct object *parents[2] = {&h->s[A].obj, &h->s[B].obj};
	const int64_t hwm[2] = {hwm0, hwm1};
	CHECK_EQ(pipe_pair(parents, pr->end, hwm), 0);
	pipe_set_sink(pr->end[0], s0, &sink_ops);
	pipe_set_sink(pr->end[1], s1, &sink_ops);
	pr->end[0]->user = &pr->end[0];
	pr->end[1]->user = &pr->end[1];
	CHECK_EQ(pr->end[0]->obj.tid, h->s[A].tid);
	CHECK_EQ(pr->end[1]->obj.tid, h->s[B].tid);
}

/* pairs_destroy: delivers what is in flight (to schedulers still alive), then frees
 * the pairs still whole. No handshake may be running. */
static void
pairs_destroy(struct harness *h, struct pair *prs, int n)
{
	drain_all(h);
	for (int i = 0; i < n; i++) {
		CHECK(!prs[i].end[0] == !prs[i].end[1]);
		if (prs[i].end[0])
			pipe_destroy_pair_unused(prs[i].end[0]);
		prs[i].end[0] = prs[i].end[1] = NULL;
	}
}

/* Messages: 100 bytes (on the heap, so a leak or double free is seen) with a tag. */

static void
msg_make(struct msg *m, uint32_t tag, bool more)
{
	CHECK_EQ(msg_init_size(m, 100), 0);
	memset(msg_data(m), 0xab, 100);
	memcpy(msg_data(m), &tag, sizeof tag);
	if (more)
		msg_set_flags(m, MSGF_MORE);
}

static uint32_t
msg_tag(struct msg *m)
{
	uint32_t tag;
	CHECK_EQ(msg_size(m), 100);
	memcpy(&tag, msg_data(m), sizeof tag);
	return tag;
}

static void
write_msg(struct pipe *p, uint32_t tag, bool more)
{
	struct msg m;
	msg_make(&m, tag, more);
	int rc = pipe_write(p, &m);
	if (rc != 0) {
		msg_close(&m);
		TEST_FAIL("pipe_write of %u: %d", tag, rc);
	}
	CHECK_EQ(msg_size(&m), 0); /* the pipe took the content */
}

static void
expect_read(struct pipe *p, uint32_t tag, bool more)
{
	struct msg m;
	msg_init(&m);
	if (!pipe_read(p, &m))
		TEST_FAIL("expected message %u, nothing to read", tag);
	uint32_t got = msg_tag(&m);
	bool got_more = (msg_flags(&m) & MSGF_MORE) != 0;
	msg_close(&m);
	if (got != tag || got_more != more)
		TEST_FAIL("expected %u%s, got %u%s", tag, more ? "+" : "", got,
		          got_more ? "+" : "");
}

static void
expect_empty(struct pipe *p)
{
	struct msg m;
	msg_init(&m);
	bool got = pipe_read(p, &m);
	if (got) {
		uint32_t tag = msg_tag(&m);
		msg_close(&m);
		TEST_FAIL("expected nothing, read %u", tag);
	}
}

/* read_to_end: what a socket does with an end its peer is ending: read and drop
 * until the delimiter. */
static void
read_to_end(struct pipe *p)
{
	struct msg m;
	msg_init(&m);
	while (pipe_read(p, &m)) {
		msg_close(&m);
		msg_init(&m);
	}
}

/* settle: delivers commands, and lets every end waiting for its delimiter read to
 * it, until nothing moves. */
static void
settle(struct harness *h, struct pair *prs, int n)
{
	for (;;) {
		int moved = drain_all(h);
		for (int i = 0; i < n; i++) {
			for (int e = 0; e < 2; e++) {
				struct pipe *p = prs[i].end[e];
				if (p && p->state == PIPE_WAITING_FOR_DELIMITER) {
					read_to_end(p);
					moved++;
				}
			}
		}
		if (drain_all(h) == 0 && moved == 0)
			return;
	}
}

/* Flow control. */

static void
test_hwm_counts_whole_messages(void)
{
	struct harness h;
	struct sink s0 = {0}, s1 = {0};
	struct pair pr;
	harness_init(&h);
	pair_open(&h, &pr, 4, 0, &s0, &s1);
	struct pipe *w = pr.end[0], *r = pr.end[1];

	/* Four messages of three parts: twelve writes, then the pipe is full. */
	for (uint32_t i = 0; i < 4; i++) {
		CHECK(pipe_check_write(w));
		for (uint32_t k = 0; k < 3; k++)
			write_msg(w, i * 10 + k, k < 2);
	}
	CHECK(!pipe_check_write(w));
	struct msg m;
	msg_make(&m, 999, false);
	CHECK_EQ(pipe_write(w, &m), -EAGAIN);
	CHECK_EQ(msg_tag(&m), 999); /* still the caller's */
	msg_close(&m);
	pipe_flush(w);
	CHECK_EQ(drain(&h, B), 0); /* the reader never slept: no wake-up */

	/* The reader reports every lwm = 2 messages; parts do not count. */
	for (uint32_t k = 0; k < 3; k++)
		expect_read(r, k, k < 2);
	CHECK_EQ(drain(&h, A), 0);
	CHECK(!pipe_check_write(w));
	for (uint32_t k = 0; k < 3; k++)
		expect_read(r, 10 + k, k < 2);
	CHECK_EQ(drain(&h, A), 1); /* ACTIVATE_WRITE */
	CHECK_EQ(s0.write_activated, 1);
	CHECK(s0.last == w);

	/* Room for exactly the two messages read. */
	CHECK(pipe_check_write(w));
	write_msg(w, 40, false);
	CHECK(pipe_check_write(w));
	write_msg(w, 50, false);
	CHECK(!pipe_check_write(w));
	pipe_flush(w);

	for (uint32_t i = 2; i < 4; i++)
		for (uint32_t k = 0; k < 3; k++)
			expect_read(r, i * 10 + k, k < 2);
	expect_read(r, 40, false);
	expect_read(r, 50, false);
	expect_empty(r);
	CHECK_EQ(drain(&h, A), 2);
	CHECK_EQ(s0.write_activated, 2);
	CHECK(pipe_check_write(w));
	CHECK_EQ(s1.read_activated, 0);

	pipe_terminate(w, true);
	settle(&h, &pr, 1);
	CHECK_EQ(s0.terminated, 1);
	CHECK_EQ(s1.terminated, 1);
	CHECK(!pr.end[0] && !pr.end[1]);
	harness_fini(&h);
}

/* write_big: a message of `size` bytes (not written to: its pages are never touched). */
static void
write_big(struct pipe *p, size_t size)
{
	struct msg m;
	CHECK_EQ(msg_init_size(&m, size), 0);
	int rc = pipe_write(p, &m);
	if (rc != 0) {
		msg_close(&m);
		TEST_FAIL("pipe_write of %zu bytes: %d", size, rc);
	}
}

static void
test_large_messages_reported_by_bytes(void)
{
	struct harness h;
	struct sink s0 = {0}, s1 = {0};
	struct pair pr;
	harness_init(&h);
	pair_open(&h, &pr, 100, 0, &s0, &s1); /* lwm 50 */
	struct pipe *w = pr.end[0], *r = pr.end[1];
	const size_t mib = (size_t)1 << 20;

	for (int i = 0; i < 8; i++)
		write_big(w, mib);
	pipe_flush(w);
	/* Three MiB read: neither lwm messages nor 4 MiB, no report. */
	struct msg m;
	msg_init(&m);
	for (int i = 0; i < 3; i++) {
		CHECK(pipe_read(r, &m));
		msg_close(&m);
		msg_init(&m);
	}
	CHECK_EQ(drain(&h, A), 0);
	/* The fourth MiB: reported, though 4 of 50. */
	CHECK(pipe_read(r, &m));
	msg_close(&m);
	msg_init(&m);
	CHECK_EQ(drain(&h, A), 1); /* ACTIVATE_WRITE */
	CHECK_EQ(w->peers_msgs_read, 4);
	/* Counted afresh from the report: parts of a message count, the report waits for
	 * its last part. */
	for (int i = 0; i < 3; i++) {
		CHECK(pipe_read(r, &m));
		msg_close(&m);
		msg_init(&m);
	}
	CHECK_EQ(drain(&h, A), 0);
	struct msg part;
	CHECK_EQ(msg_init_size(&part, mib), 0);
	msg_set_flags(&part, MSGF_MORE);
	CHECK_EQ(pipe_write(w, &part), 0);
	write_big(w, 16);
	pipe_flush(w);
	CHECK(pipe_read(r, &m)); /* the eighth message: 4 MiB, a whole one */
	msg_close(&m);
	msg_init(&m);
	CHECK_EQ(drain(&h, A), 1);
	CHECK_EQ(w->peers_msgs_read, 8);
	CHECK(pipe_read(r, &m)); /* a part: 1 MiB more, no report */
	msg_close(&m);
	msg_init(&m);
	CHECK_EQ(drain(&h, A), 0);
	CHECK(pipe_read(r, &m)); /* its end: still under 4 MiB since the report */
	msg_close(&m);
	CHECK_EQ(drain(&h, A), 0);
	expect_empty(r);

	/* A reader that has caught up says nothing, however much it read: its writer is
	 * not waiting for room (a ping-pong of large messages). */
	for (int i = 0; i < 5; i++) {
		write_big(w, mib);
		pipe_flush(w);
		(void)drain(&h,
		            B); /* the first wakes the reader (it found the pipe empty) */
		CHECK(pipe_read(r, &m));
		msg_close(&m);
		msg_init(&m);
	}
	CHECK_EQ(drain(&h, A), 0);

	pipe_terminate(w, true);
	settle(&h, &pr, 1);
	CHECK(!pr.end[0] && !pr.end[1]);
	harness_fini(&h);
}

static void
test_unlimited_hwm_never_blocks(void)
{
	struct harness h;
	struct sink s0 = {0}, s1 = {0};
	struct pair pr;
	harness_init(&h);
	pair_open(&h, &pr, 0, 0, &s0, &s1);
	for (uint32_t i = 0; i < 3 * YPIPE_CHUNK; i++)
		write_msg(pr.end[0], i, false);
	CHECK(pipe_check_write(pr.end[0]));
	pipe_flush(pr.end[0]);
	for (uint32_t i = 0; i < 3 * YPIPE_CHUNK; i++)
		expect_read(pr.end[1], i, false);
	CHECK_EQ(drain(&h, A), 0); /* no reports when nobody waits for them */
	pipe_terminate(pr.end[1], true);
	settle(&h, &pr, 1);
	CHECK_EQ(s0.terminated, 1);
	CHECK_EQ(s1.terminated, 1);
	harness_fini(&h);
}

static void
test_flush_wakes_sleeping_reader(void)
{
	struct harness h;
	struct sink s0 = {0}, s1 = {0};
	struct pair pr;
	harness_init(&h);
	pair_open(&h, &pr, 0, 0, &s0, &s1);
	struct pipe *w = pr.end[0], *r = pr.end[1];

	CHECK(!pipe_check_read(r)); /* empty: the reader goes to sleep */
	write_msg(w, 1, true);
	write_msg(w, 2, false);
	write_msg(w, 3, false);
	CHECK(!pipe_check_read(r)); /* nothing flushed, and the end is inactive */
	pipe_flush(w);
	CHECK(!pipe_check_read(r)); /* inactive until ACTIVATE_READ is delivered */
	pipe_flush(w);              /* nothing new: no second wake-up */
	CHECK_EQ(s1.read_activated, 0);
	CHECK_EQ(drain(&h, B), 1);
	CHECK_EQ(s1.read_activated, 1);
	CHECK(s1.last == r);
	CHECK(pipe_check_read(r));
	expect_read(r, 1, true);
	expect_read(r, 2, false);

	/* While the reader is awake, flushing sends nothing. */
	write_msg(w, 4, false);
	pipe_flush(w);
	CHECK_EQ(drain(&h, B), 0);
	expect_read(r, 3, false);
	expect_read(r, 4, false);
	expect_empty(r);
	write_msg(w, 5, false);
	pipe_flush(w);
	CHECK_EQ(drain(&h, B), 1);
	CHECK_EQ(s1.read_activated, 2);
	expect_read(r, 5, false);

	pipe_terminate(w, true);
	settle(&h, &pr, 1);
	CHECK_EQ(s0.terminated, 1);
	CHECK_EQ(s1.terminated, 1);
	harness_fini(&h);
}

/* Termination. */

static void
fill_both_ways(struct pair *pr)
{
	for (int e = 0; e < 2; e++) {
		for (uint32_t i = 0; i < 5; i++)
			write_msg(pr->end[e], (uint32_t)e * 100 + i, false);
		write_msg(pr->end[e], 999, true); /* an unfinished message too */
		pipe_flush(pr->end[e]);
	}
}

static void
test_term_from_either_end(void)
{
	for (int from = 0; from < 2; from++) {
		struct harness h;
		struct sink s[2] = {{0}, {0}};
		struct pair pr;
		harness_init(&h);
		pair_open(&h, &pr, 0, 0, &s[0], &s[1]);
		fill_both_ways(&pr);
		struct pipe *p = pr.end[from];
		pipe_terminate(p, true);
		pipe_terminate(p, true); /* idempotent */
		CHECK(!pipe_check_write(p));
		settle(&h, &pr, 1);
		CHECK_EQ(s[0].terminated, 1);
		CHECK_EQ(s[1].terminated, 1);
		CHECK(!pr.end[0] && !pr.end[1]);
		harness_fini(&h);
	}
}

static void
test_term_from_both_ends_at_once(void)
{
	/* Both ends terminate before either hears from the other; deliver A first,
	 * then B first, then the other end terminating after a command arrived. */
	for (int order = 0; order < 4; order++) {
		struct harness h;
		struct sink s[2] = {{0}, {0}};
		struct pair pr;
		harness_init(&h);
		pair_open(&h, &pr, 0, 0, &s[0], &s[1]);
		fill_both_ways(&pr);
		int first = order & 1;
		pipe_terminate(pr.end[first], true);
		if (order < 2) {
			pipe_terminate(pr.end[1 - first], true);
		} else {
			/* The second end has processed PIPE_TERM (it waits for its
			 * delimiter) and its owner closes it without reading. */
			CHECK_EQ(drain(&h, 1 - first), 1);
			CHECK_EQ(pr.end[1 - first]->state, PIPE_WAITING_FOR_DELIMITER);
			pipe_terminate(pr.end[1 - first], false);
		}
		for (int k = 0; k < 2 && (pr.end[0] || pr.end[1]); k++)
			drain(&h, (first + k) & 1);
		settle(&h, &pr, 1);
		CHECK_EQ(s[0].terminated, 1);
		CHECK_EQ(s[1].terminated, 1);
		CHECK(!pr.end[0] && !pr.end[1]);
		harness_fini(&h);
	}
}

static void
test_pending_messages_readable_after_peer_term(void)
{
	struct harness h;
	struct sink s0 = {0}, s1 = {0};
	struct pair pr;
	harness_init(&h);
	pair_open(&h, &pr, 0, 0, &s0, &s1);
	struct pipe *w = pr.end[0], *r = pr.end[1];

	write_msg(w, 1, false);
	write_msg(w, 2, true);
	write_msg(w, 3, false);
	write_msg(w, 4, true); /* unfinished: dropped by the terminate */
	pipe_flush(w);
	pipe_terminate(w, true);
	CHECK_EQ(drain(&h, B), 1); /* PIPE_TERM: r waits for its delimiter */
	CHECK_EQ(r->state, PIPE_WAITING_FOR_DELIMITER);
	CHECK(!pipe_check_write(r));
	CHECK_EQ(s0.terminated + s1.terminated, 0);
	expect_read(r, 1, false);
	expect_read(r, 2, true);
	expect_read(r, 3, false);
	CHECK_EQ(drain(&h, A), 0); /* nothing acknowledged before the delimiter */
	expect_empty(r);           /* the delimiter: acknowledge */
	CHECK_EQ(drain(&h, A), 1);
	CHECK_EQ(s0.terminated, 1);
	CHECK_EQ(s1.terminated, 0);
	CHECK_EQ(drain(&h, B), 1);
	CHECK_EQ(s1.terminated, 1);
	CHECK(!pr.end[0] && !pr.end[1]);
	harness_fini(&h);
}

static void
test_peer_term_wakes_idle_reader(void)
{
	/* The reader had gone idle (read to empty); PIPE_TERM must make its owner read
	 * again, or the delimiter is never seen and the handshake hangs. */
	struct harness h;
	struct sink s0 = {0}, s1 = {0};
	struct pair pr;
	harness_init(&h);
	pair_open(&h, &pr, 0, 0, &s0, &s1);
	struct pipe *w = pr.end[0], *r = pr.end[1];
	expect_empty(r);
	write_msg(w, 7, false);
	pipe_terminate(w, true); /* PIPE_TERM, then delimiter and flush */
	CHECK_EQ(drain(&h, B), 2);
	CHECK_EQ(s1.read_activated, 1); /* once, not once per command */
	expect_read(r, 7, false);
	expect_empty(r);
	CHECK_EQ(drain(&h, A), 1);
	CHECK_EQ(drain(&h, B), 1);
	CHECK_EQ(s0.terminated, 1);
	CHECK_EQ(s1.terminated, 1);
	harness_fini(&h);
}

static void
test_delimiter_before_pipe_term(void)
{
	/* The reader reaches the delimiter before PIPE_TERM is delivered. */
	struct harness h;
	struct sink s0 = {0}, s1 = {0};
	struct pair pr;
	harness_init(&h);
	pair_open(&h, &pr, 0, 0, &s0, &s1);
	struct pipe *w = pr.end[0], *r = pr.end[1];
	write_msg(w, 1, false);
	pipe_terminate(w, true);
	expect_read(r, 1, false);
	expect_empty(r);
	CHECK_EQ(r->state, PIPE_DELIMITER_RECEIVED);
	CHECK(!pipe_check_write(r));
	expect_empty(r);
	CHECK_EQ(drain(&h, B), 1); /* PIPE_TERM: acknowledged at once */
	CHECK_EQ(drain(&h, A), 1);
	CHECK_EQ(s0.terminated, 1);
	CHECK_EQ(drain(&h, B), 1);
	CHECK_EQ(s1.terminated, 1);

	/* And the reader's owner closing it in that state. */
	struct pair pr2;
	pair_open(&h, &pr2, 0, 0, &s0, &s1);
	write_msg(pr2.end[1], 5, false); /* pending the other way */
	pipe_flush(pr2.end[1]);
	pipe_terminate(pr2.end[0], true);
	expect_empty(pr2.end[1]);
	pipe_terminate(pr2.end[1], true);
	settle(&h, &pr2, 1);
	CHECK_EQ(s0.terminated, 2);
	CHECK_EQ(s1.terminated, 2);
	CHECK(!pr2.end[0] && !pr2.end[1]);
	harness_fini(&h);
}

static void
test_nodelay_acks_pipe_term_at_once(void)
{
	struct harness h;
	struct sink s0 = {0}, s1 = {0};
	struct pair pr;
	harness_init(&h);
	pair_open(&h, &pr, 0, 0, &s0, &s1);
	struct pipe *w = pr.end[0], *r = pr.end[1];
	pipe_set_nodelay(r);
	write_msg(w, 1, false);
	write_msg(w, 2, false);
	pipe_flush(w);
	pipe_terminate(w, true);
	CHECK_EQ(drain(&h, B), 1);
	CHECK_EQ(r->state, PIPE_TERM_ACK_SENT); /* without reading anything */
	expect_empty(r);                        /* and the pending ones are gone */
	CHECK_EQ(drain(&h, A), 1);
	CHECK_EQ(s0.terminated, 1);
	CHECK_EQ(drain(&h, B), 1);
	CHECK_EQ(s1.terminated, 1); /* its two messages freed with it */
	harness_fini(&h);
}

/* counted_free: the free function of the messages test_unflushed_freed_with_reader
 * writes; counts the contents freed. */
static int counted_frees;

static void
counted_free(void *data, void *hint)
{
	(void)data;
	(void)hint;
	counted_frees++;
}

static void
test_unflushed_freed_with_reader(void)
{
	/* A writer that ends without flushing (an engine failing in the middle of a
	 * read) leaves whole messages past the published end; they are the reader's
	 * end's, and go with it: none may leak (with its metadata, the peer's). */
	static char body[3][8];
	struct harness h;
	struct sink s0 = {0}, s1 = {0};
	struct pair pr;
	harness_init(&h);
	pair_open(&h, &pr, 0, 0, &s0, &s1);
	struct pipe *w = pr.end[0], *r = pr.end[1];
	counted_frees = 0;
	for (int k = 0; k < 3; k++) {
		struct msg m;
		CHECK_EQ(msg_init_data(&m, body[k], sizeof body[k], counted_free, NULL),
		         0);
		CHECK_EQ(pipe_write(w, &m), 0);
	}
	pipe_terminate(r, false); /* the reader's owner closes, reading nothing */
	settle(&h, &pr, 1);
	CHECK_EQ(s0.terminated, 1);
	CHECK_EQ(s1.terminated, 1);
	CHECK_EQ(counted_frees, 3);
	harness_fini(&h);
}

static void
test_rollback_unfinished_multipart(void)
{
	struct harness h;
	struct sink s0 = {0}, s1 = {0};
	struct pair pr;
	harness_init(&h);
	pair_open(&h, &pr, 2, 0, &s0, &s1);
	struct pipe *w = pr.end[0], *r = pr.end[1];

	write_msg(w, 1, false);
	write_msg(w, 2, true);
	write_msg(w, 3, true);
	pipe_flush(w);
	pipe_rollback(w);
	pipe_rollback(w); /* nothing left to roll back */
	write_msg(w, 4, true);
	write_msg(w, 5, false);
	CHECK(!pipe_check_write(w)); /* the rolled-back message did not count */
	pipe_flush(w);
	expect_read(r, 1, false);
	expect_read(r, 4, true);
	expect_read(r, 5, false);
	expect_empty(r);

	/* Rollback across a chunk boundary. */
	CHECK_EQ(drain(&h, A), 2); /* lwm is 1: one report per message read */
	for (uint32_t k = 0; k < YPIPE_CHUNK + 10; k++)
		write_msg(w, 100 + k, true);
	pipe_rollback(w);
	write_msg(w, 6, false);
	pipe_flush(w);
	CHECK_EQ(drain(&h, B), 1);
	expect_read(r, 6, false);
	expect_empty(r);

	/* Terminating rolls back too: the peer sees no piece of it. */
	write_msg(w, 7, true);
	pipe_terminate(w, true);
	settle(&h, &pr, 1);
	CHECK_EQ(s0.terminated, 1);
	CHECK_EQ(s1.terminated, 1);
	CHECK_EQ(s1.read_activated, 2); /* woken for 6 and for the delimiter only */
	harness_fini(&h);
}

static void
test_pipe_array_swap_and_erase(void)
{
	struct harness h;
	struct sink s = {0};
	struct pair prs[5];
	struct pipe_array a;
	harness_init(&h);
	pipe_array_init(&a, PIPE_ARRAY_SOCKET);
	for (int i = 0; i < 5; i++) {
		pair_open(&h, &prs[i], 0, 0, &s, &s);
		CHECK_EQ(pipe_array_reserve(&a), 0);
		pipe_array_push(&a, prs[i].end[0]);
		CHECK(!pipe_array_contains(&a, prs[i].end[1]));
	}
	CHECK_EQ(a.n, 5);
	pipe_array_swap(&a, 0, 4);
	CHECK(a.items[0] == prs[4].end[0] && a.items[4] == prs[0].end[0]);
	CHECK_EQ(pipe_array_index(&a, prs[0].end[0]), 4);
	pipe_array_erase(&a, prs[4].end[0]); /* at index 0: the last moves there */
	CHECK_EQ(a.n, 4);
	CHECK(!pipe_array_contains(&a, prs[4].end[0]));
	CHECK(a.items[0] == prs[0].end[0]);
	for (uint32_t i = 0; i < a.n; i++)
		CHECK_EQ(pipe_array_index(&a, a.items[i]), i);

	/* Fill to capacity, then growing fails without touching the array. */
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(pipe_array_reserve(&a), 0);
		pipe_array_push(&a, prs[i].end[1]);
	}
	CHECK_EQ(a.n, a.cap);
	struct pipe **items = a.items;
	uint32_t cap = a.cap;
	zn_alloc_fail_after(1, 0);
	int rc = pipe_array_reserve(&a);
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc, -ENOMEM);
	CHECK(a.items == items);
	CHECK_EQ(a.cap, cap);
	CHECK_EQ(a.n, 8);
	CHECK_EQ(pipe_array_reserve(&a), 0);
	CHECK(a.cap > cap);
	for (uint32_t i = 0; i < a.n; i++)
		CHECK(pipe_array_contains(&a, a.items[i]));
	pipe_array_fini(&a);
	pairs_destroy(&h, prs, 5);
	harness_fini(&h);
}

/* Fair queueing. */

/* fq_expect: the next part from fq is tag, from pipe `from`. */
static void
fq_expect(struct fq *fq, struct pipe *from, uint32_t tag, bool more)
{
	struct msg m;
	struct pipe *got_from = NULL;
	msg_init(&m);
	int rc = fq_recv(fq, &m, &got_from);
	if (rc != 0)
		TEST_FAIL("expected %u from fq, got %d", tag, rc);
	uint32_t got = msg_tag(&m);
	bool got_more = (msg_flags(&m) & MSGF_MORE) != 0;
	msg_close(&m);
	if (got != tag || got_more != more || got_from != from)
		TEST_FAIL("expected %u%s from %p, got %u%s from %p", tag, more ? "+" : "",
		          (void *)from, got, got_more ? "+" : "", (void *)got_from);
}

static void
fq_expect_none(struct fq *fq)
{
	struct msg m;
	msg_init(&m);
	int rc = fq_recv(fq, &m, NULL);
	if (rc == 0) {
		uint32_t tag = msg_tag(&m);
		msg_close(&m);
		TEST_FAIL("expected nothing from fq, got %u", tag);
	}
	CHECK_EQ(rc, -EAGAIN);
}

/* fq_open: n pairs whose B ends are attached to fq (B reads, A writes). */
static void
fq_open(struct harness *h, struct fq *fq, struct pair *prs, int n, struct sink *ws,
        struct sink *rs)
{
	fq_init(fq);
	rs->fq = fq;
	for (int i = 0; i < n; i++) {
		pair_open(h, &prs[i], 0, 0, ws, rs);
		CHECK_EQ(fq_reserve(fq), 0);
		fq_attach(fq, prs[i].end[1]);
	}
	CHECK_EQ(fq->active, (uint32_t)n);
}

static void
test_fq_finds_one_active_among_10000(void)
{
	enum { N = 10000 };
	struct harness h;
	struct sink ws = {0}, rs = {0};
	struct fq fq;
	struct pair *prs = calloc(N, sizeof *prs);
	CHECK(prs != NULL);
	harness_init(&h);
	fq_open(&h, &fq, prs, N, &ws, &rs);

	/* One message in one pipe: fq reads it, and finding the others empty moves
	 * them out of the active region. */
	write_msg(prs[7777].end[0], 7777, false);
	pipe_flush(prs[7777].end[0]);
	fq_expect(&fq, prs[7777].end[1], 7777, false);
	fq_expect_none(&fq);
	CHECK_EQ(fq.active, 0);
	CHECK(!fq_has_in(&fq));

	/* All are idle; one gets a message and is the only active pipe, first in the
	 * array, so the next recv looks at it alone. */
	write_msg(prs[4242].end[0], 1, true);
	write_msg(prs[4242].end[0], 2, false);
	pipe_flush(prs[4242].end[0]);
	CHECK_EQ(drain(&h, B), 1);
	CHECK_EQ(rs.read_activated, 1);
	CHECK_EQ(fq.active, 1);
	CHECK(fq.pipes.items[0] == prs[4242].end[1]);
	CHECK(fq_has_in(&fq));
	fq_expect(&fq, prs[4242].end[1], 1, true);
	fq_expect(&fq, prs[4242].end[1], 2, false);
	fq_expect_none(&fq);

	/* Two become active: the active region is exactly those two. */
	for (uint32_t k = 0; k < 2; k++) {
		write_msg(prs[5].end[0], 50 + k, false);
		write_msg(prs[N - 1].end[0], 90 + k, false);
	}
	pipe_flush(prs[5].end[0]);
	pipe_flush(prs[N - 1].end[0]);
	CHECK_EQ(drain(&h, B), 2);
	CHECK_EQ(fq.active, 2);
	CHECK(fq.pipes.items[0] == prs[5].end[1]);
	CHECK(fq.pipes.items[1] == prs[N - 1].end[1]);
	fq_expect(&fq, prs[5].end[1], 50, false);
	fq_expect(&fq, prs[N - 1].end[1], 90, false);
	fq_expect(&fq, prs[5].end[1], 51, false);
	fq_expect(&fq, prs[N - 1].end[1], 91, false);
	fq_expect_none(&fq);
	CHECK_EQ(fq.pipes.n, N);
	for (uint32_t i = 0; i < fq.pipes.n; i++)
		CHECK_EQ(pipe_array_index(&fq.pipes, fq.pipes.items[i]), i);

	pairs_destroy(&h, prs, N);
	fq_fini(&fq);
	free(prs);
	harness_fini(&h);
}

static void
test_fq_alternates_whole_messages(void)
{
	enum { N = 3 };
	struct harness h;
	struct sink ws = {0}, rs = {0};
	struct fq fq;
	struct pair prs[N];
	harness_init(&h);
	fq_open(&h, &fq, prs, N, &ws, &rs);

	/* Pipe i holds messages of i + 1 parts; pipe 0 has 4 messages, 1 has 2, 2 has 3.
	 * Tag: pipe * 100 + message * 10 + part. */
	const uint32_t count[N] = {4, 2, 3};
	for (uint32_t i = 0; i < N; i++) {
		for (uint32_t j = 0; j < count[i]; j++)
			for (uint32_t k = 0; k <= i; k++)
				write_msg(prs[i].end[0], i * 100 + j * 10 + k, k < i);
		pipe_flush(prs[i].end[0]);
	}

	/* Round robin, message by message, in attach order while all have some. */
	for (uint32_t j = 0; j < 2; j++)
		for (uint32_t i = 0; i < N; i++)
			for (uint32_t k = 0; k <= i; k++)
				fq_expect(&fq, prs[i].end[1], i * 100 + j * 10 + k,
				          k < i);

	/* Then whatever the order, every message comes whole and in its pipe's order. */
	uint32_t next[N] = {2, 2, 2};
	struct pipe *last = NULL;
	int left = 2 + 1, got = 0;
	while (got < left) {
		struct msg m;
		struct pipe *from = NULL;
		msg_init(&m);
		CHECK_EQ(fq_recv(&fq, &m, &from), 0);
		uint32_t tag = msg_tag(&m);
		bool more = (msg_flags(&m) & MSGF_MORE) != 0;
		msg_close(&m);
		uint32_t i = tag / 100, j = tag / 10 % 10, k = tag % 10;
		CHECK(i < N && from == prs[i].end[1]);
		CHECK_EQ(j, next[i]);
		CHECK_EQ(k, 0);
		CHECK(from != last); /* pipes 0 and 2 alternate */
		last = from;
		for (uint32_t kk = 1; kk <= i; kk++)
			fq_expect(&fq, from, i * 100 + j * 10 + kk, kk < i);
		CHECK_EQ(more, i > 0);
		next[i]++;
		got++;
	}
	CHECK_EQ(next[0], count[0]);
	CHECK_EQ(next[2], count[2]);
	fq_expect_none(&fq);
	CHECK(!fq_has_in(&fq));

	pairs_destroy(&h, prs, N);
	fq_fini(&fq);
	harness_fini(&h);
}

static void
test_fq_current_pipe_terminated_mid_message(void)
{
	enum { N = 2 };
	struct harness h;
	struct sink ws = {0}, rs = {0};
	struct fq fq;
	struct pair prs[N];
	harness_init(&h);
	fq_open(&h, &fq, prs, N, &ws, &rs);
	for (uint32_t k = 0; k < 3; k++)
		write_msg(prs[0].end[0], k, k < 2);
	write_msg(prs[1].end[0], 100, false);
	pipe_flush(prs[0].end[0]);
	pipe_flush(prs[1].end[0]);

	fq_expect(&fq, prs[0].end[1], 0, true);
	CHECK(fq.more);
	/* The socket drops the pipe it is reading a message from. */
	pipe_terminate(prs[0].end[1], false);
	settle(&h, prs, N);
	CHECK_EQ(rs.terminated, 1);
	CHECK(prs[0].end[1] == NULL);
	CHECK(!fq.more);
	/* The next part fq hands out starts a whole message from another pipe. */
	fq_expect(&fq, prs[1].end[1], 100, false);
	fq_expect_none(&fq);

	pairs_destroy(&h, prs, N);
	fq_fini(&fq);
	harness_fini(&h);
}

static void
test_fq_other_pipe_terminated_mid_message(void)
{
	/* Four pipes; fq is reading a two-part message from the last active one when
	 * another pipe goes away. The rest of that message must still come next. */
	enum { N = 4 };
	struct harness h;
	struct sink ws = {0}, rs = {0};
	struct fq fq;
	struct pair prs[N];
	harness_init(&h);
	fq_open(&h, &fq, prs, N, &ws, &rs);
	for (uint32_t i = 0; i < 3; i++)
		write_msg(prs[i].end[0], i * 100, false);
	write_msg(prs[0].end[0], 10, false); /* pipe 0 has a second message */
	write_msg(prs[3].end[0], 301, true);
	write_msg(prs[3].end[0], 302, false);
	for (uint32_t i = 0; i < N; i++)
		pipe_flush(prs[i].end[0]);

	for (uint32_t i = 0; i < 3; i++)
		fq_expect(&fq, prs[i].end[1], i * 100, false);
	CHECK_EQ(fq.current, 3);
	fq_expect(&fq, prs[3].end[1], 301, true);

	pipe_terminate(prs[1].end[1], false); /* the socket drops pipe 1 */
	settle(&h, prs, N);
	CHECK_EQ(rs.terminated, 1);
	CHECK(prs[1].end[1] == NULL);
	fq_expect(&fq, prs[3].end[1], 302, false);
	fq_expect(&fq, prs[0].end[1], 10, false);
	fq_expect_none(&fq);

	pairs_destroy(&h, prs, N);
	fq_fini(&fq);
	harness_fini(&h);
}

static void
test_fq_reads_an_ended_pipe_first(void)
{
	/* A peer that reconnects comes back on a new pipe while its old pipe still
	 * holds the tail of what it sent: the tail comes first, whole, then the new
	 * pipe's messages; the turns would interleave them. The old pipe had gone idle
	 * (read empty) and sits after the new one in the array; fq is in the middle of
	 * a message from a third pipe when the old one's writer ends. */
	enum { N = 3 };
	struct harness h;
	struct sink ws = {0}, rs = {0};
	struct fq fq;
	struct pair prs[N];
	harness_init(&h);
	fq_open(&h, &fq, prs, N, &ws, &rs);
	struct pipe *old = prs[0].end[1], *fresh = prs[1].end[1], *third = prs[2].end[1];
	fq_expect_none(&fq); /* all idle */
	CHECK_EQ(fq.active, 0);

	write_msg(prs[1].end[0], 100, false);
	write_msg(prs[1].end[0], 101, false);
	write_msg(prs[2].end[0], 200, true);
	write_msg(prs[2].end[0], 201, false);
	write_msg(prs[2].end[0], 210, false);
	pipe_flush(prs[1].end[0]);
	pipe_flush(prs[2].end[0]);
	CHECK_EQ(drain(&h, B), 2);
	fq_expect(&fq, fresh, 100, false);
	fq_expect(&fq, third, 200, true);

	for (uint32_t k = 0; k < 3; k++)
		write_msg(prs[0].end[0], k, k == 1);
	pipe_terminate(prs[0].end[0], true); /* flushes, then the delimiter */
	CHECK_EQ(drain(&h, B), 2);           /* PIPE_TERM, ACTIVATE_READ */
	CHECK(pipe_draining(old));
	CHECK_EQ(fq.draining, 1);
	CHECK(fq.pipes.items[0] == old);

	fq_expect(&fq, third, 201, false); /* the message under way ends first */
	fq_expect(&fq, old, 0, false);
	fq_expect(&fq, old, 1, true);
	fq_expect(&fq, old, 2, false);
	fq_expect(&fq, fresh, 101, false); /* the delimiter: back to the turns */
	CHECK_EQ(fq.draining, 0);
	fq_expect(&fq, third, 210, false);
	fq_expect_none(&fq);
	settle(&h, prs, N);
	CHECK(prs[0].end[1] == NULL);
	CHECK_EQ(rs.terminated, 1);
	for (uint32_t i = 0; i < fq.pipes.n; i++)
		CHECK_EQ(pipe_array_index(&fq.pipes, fq.pipes.items[i]), i);

	pairs_destroy(&h, prs, N);
	fq_fini(&fq);
	harness_fini(&h);
}

/* Load balancing. */

/* lb_open: n pairs whose A ends are attached to lb (A writes, B reads). A ends never
 * read, so they ack PIPE_TERM at once, as PUSH's do. */
static void
lb_open(struct harness *h, struct lb *lb, struct pair *prs, int n, const int64_t *hwm,
        struct sink *ws, struct sink *rs)
{
	lb_init(lb);
	ws->lb = lb;
	for (int i = 0; i < n; i++) {
		pair_open(h, &prs[i], hwm ? hwm[i] : 0, 0, ws, rs);
		pipe_set_nodelay(prs[i].end[0]);
		CHECK_EQ(lb_reserve(lb), 0);
		lb_attach(lb, prs[i].end[0]);
	}
	CHECK_EQ(lb->active, (uint32_t)n);
}

static int
lb_send_tag(struct lb *lb, uint32_t tag, bool more, struct pipe **to)
{
	struct msg m;
	msg_make(&m, tag, more);
	int rc = lb_send(lb, &m, to);
	if (rc == 0)
		CHECK_EQ(msg_size(&m), 0);
	else
		CHECK_EQ(msg_tag(&m), tag); /* still the caller's */
	msg_close(&m);
	return rc;
}

static void
test_lb_round_robins_whole_messages(void)
{
	enum { N = 3 };
	struct harness h;
	struct sink ws = {0}, rs = {0};
	struct lb lb;
	struct pair prs[N];
	harness_init(&h);
	lb_open(&h, &lb, prs, N, NULL, &ws, &rs);
	CHECK(lb_has_out(&lb));
	for (uint32_t j = 0; j < 6; j++) {
		for (uint32_t k = 0; k < 3; k++) {
			struct pipe *to = NULL;
			CHECK_EQ(lb_send_tag(&lb, j * 10 + k, k < 2, &to), 0);
			CHECK(to == prs[j % N].end[0]);
		}
	}
	/* lb flushed at each message end; every reader has its two whole messages. */
	for (uint32_t i = 0; i < N; i++) {
		for (uint32_t j = i; j < 6; j += N)
			for (uint32_t k = 0; k < 3; k++)
				expect_read(prs[i].end[1], j * 10 + k, k < 2);
		expect_empty(prs[i].end[1]);
	}
	pairs_destroy(&h, prs, N);
	lb_fini(&lb);
	harness_fini(&h);
}

static void
test_lb_skips_full_pipes(void)
{
	enum { N = 3 };
	struct harness h;
	struct sink ws = {0}, rs = {0};
	struct lb lb;
	struct pair prs[N];
	const int64_t hwm[N] = {3, 1, 3};
	harness_init(&h);
	lb_open(&h, &lb, prs, N, hwm, &ws, &rs);

	/* 0 -> p0, 1 -> p1 (now full), then p0 and p2 take turns until full. */
	int sent[N] = {0};
	uint32_t tag = 0;
	for (;; tag++) {
		struct pipe *to = NULL;
		int rc = lb_send_tag(&lb, tag, false, &to);
		if (rc == -EAGAIN)
			break;
		CHECK_EQ(rc, 0);
		for (int i = 0; i < N; i++)
			if (to == prs[i].end[0])
				sent[i]++;
	}
	CHECK_EQ(tag, 7);
	CHECK_EQ(sent[0], 3);
	CHECK_EQ(sent[1], 1);
	CHECK_EQ(sent[2], 3);
	CHECK_EQ(lb.active, 0);
	CHECK(!lb_has_out(&lb));
	/* A full pipe is skipped, never split into: part 1 of a message fails whole. */
	CHECK_EQ(lb_send_tag(&lb, 500, true, NULL), -EAGAIN);

	/* Reading one message from p1 (its lwm is 1) makes it writable again. */
	expect_read(prs[1].end[1], 1, false);
	CHECK_EQ(drain(&h, A), 1);
	CHECK_EQ(ws.write_activated, 1);
	CHECK_EQ(lb.active, 1);
	CHECK(lb_has_out(&lb));
	struct pipe *to = NULL;
	CHECK_EQ(lb_send_tag(&lb, 100, true, &to), 0);
	CHECK(to == prs[1].end[0]);
	CHECK_EQ(lb_send_tag(&lb, 101, false, &to), 0);
	CHECK(to == prs[1].end[0]);
	CHECK_EQ(lb_send_tag(&lb, 102, false, NULL), -EAGAIN);
	expect_read(prs[1].end[1], 100, true);
	expect_read(prs[1].end[1], 101, false);

	/* Every message reached the pipe it was counted for. */
	const uint32_t p0[] = {0, 3, 5}, p2[] = {2, 4, 6};
	for (int k = 0; k < 3; k++) {
		expect_read(prs[0].end[1], p0[k], false);
		expect_read(prs[2].end[1], p2[k], false);
	}
	pairs_destroy(&h, prs, N);
	lb_fini(&lb);
	harness_fini(&h);
}

static void
test_lb_current_pipe_terminated_mid_message(void)
{
	enum { N = 2 };
	struct harness h;
	struct sink ws = {0}, rs = {0};
	struct lb lb;
	struct pair prs[N];
	harness_init(&h);
	lb_open(&h, &lb, prs, N, NULL, &ws, &rs);

	struct pipe *to = NULL;
	CHECK_EQ(lb_send_tag(&lb, 1, true, &to), 0);
	CHECK(to == prs[0].end[0]);
	/* The peer of p0 goes away: p0's unfinished message is rolled back. */
	pipe_terminate(prs[0].end[1], true);
	settle(&h, prs, N);
	CHECK_EQ(ws.terminated, 1);
	CHECK(prs[0].end[0] == NULL);
	/* The rest of that message is dropped, not sent to p1 as a message of its own. */
	CHECK_EQ(lb_send_tag(&lb, 2, true, NULL), 0);
	CHECK_EQ(lb_send_tag(&lb, 3, false, NULL), 0);
	CHECK_EQ(lb_send_tag(&lb, 4, false, &to), 0);
	CHECK(to == prs[1].end[0]);
	expect_read(prs[1].end[1], 4, false);
	expect_empty(prs[1].end[1]);

	/* The same when p1 dies before lb hears of it: its write fails mid-message. */
	CHECK_EQ(lb_send_tag(&lb, 5, true, &to), 0);
	CHECK(to == prs[1].end[0]);
	pipe_terminate(prs[1].end[1], true);
	CHECK_EQ(drain(&h, A), 1); /* PIPE_TERM only: lb not told yet */
	CHECK_EQ(lb_send_tag(&lb, 6, false, NULL), 0);
	CHECK_EQ(lb_send_tag(&lb, 7, false, NULL), -EAGAIN);
	settle(&h, prs, N);
	CHECK_EQ(ws.terminated, 2);
	CHECK_EQ(lb.pipes.n, 0);
	lb_fini(&lb);
	harness_fini(&h);
}

static void
test_lb_other_pipe_terminated_mid_message(void)
{
	/* lb is sending a two-part message to the last active pipe when another pipe
	 * goes away. The second part must follow the first. */
	enum { N = 4 };
	struct harness h;
	struct sink ws = {0}, rs = {0};
	struct lb lb;
	struct pair prs[N];
	harness_init(&h);
	lb_open(&h, &lb, prs, N, NULL, &ws, &rs);
	struct pipe *to = NULL;
	for (uint32_t i = 0; i < 3; i++)
		CHECK_EQ(lb_send_tag(&lb, i, false, NULL), 0);
	CHECK_EQ(lb_send_tag(&lb, 30, true, &to), 0);
	CHECK(to == prs[3].end[0]);

	pipe_terminate(prs[1].end[1], true); /* pipe 1's peer goes away */
	settle(&h, prs, N);
	CHECK_EQ(ws.terminated, 1);
	CHECK(prs[1].end[0] == NULL);
	CHECK_EQ(lb_send_tag(&lb, 31, false, &to), 0);
	CHECK(to == prs[3].end[0]);
	expect_read(prs[3].end[1], 30, true);
	expect_read(prs[3].end[1], 31, false);
	expect_read(prs[0].end[1], 0, false);
	expect_empty(prs[0].end[1]); /* no stray part */

	pairs_destroy(&h, prs, N);
	lb_fini(&lb);
	harness_fini(&h);
}

static void
test_lb_rollback_and_enomem(void)
{
	enum { N = 2 };
	struct harness h;
	struct sink ws = {0}, rs = {0};
	struct lb lb;
	struct pair prs[N];
	harness_init(&h);
	lb_open(&h, &lb, prs, N, NULL, &ws, &rs);

	/* lb_rollback: the unfinished message never reaches a reader. */
	CHECK_EQ(lb_send_tag(&lb, 1, true, NULL), 0);
	CHECK_EQ(lb_send_tag(&lb, 2, true, NULL), 0);
	lb_rollback(&lb);
	CHECK_EQ(lb_send_tag(&lb, 3, false, NULL), 0);
	expect_read(prs[0].end[1], 3, false);
	expect_empty(prs[0].end[1]);

	/* Out of memory mid-message: lb rolls back the parts already queued, and the
	 * caller keeps the part that failed. p1 has YPIPE_CHUNK - 3 messages queued, so
	 * the third part of the next message needs a new chunk. */
	for (uint32_t k = 0; k < YPIPE_CHUNK - 3; k++) {
		CHECK_EQ(lb_send_tag(&lb, 1000 + k, false, NULL), 0);
		CHECK_EQ(lb_send_tag(&lb, 10, false, NULL), 0); /* to p0 */
	}
	struct pipe *to = NULL;
	CHECK_EQ(lb_send_tag(&lb, 20, true, &to), 0);
	CHECK(to == prs[1].end[0]);
	CHECK_EQ(lb_send_tag(&lb, 21, true, NULL), 0);
	struct msg m;
	msg_make(&m, 22, false);
	zn_alloc_fail_after(1, 1);
	int rc = lb_send(&lb, &m, NULL);
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc, -ENOMEM);
	CHECK_EQ(msg_tag(&m), 22);
	msg_close(&m);
	CHECK(!lb.more);
	/* Retried whole, it goes through. */
	for (uint32_t k = 0; k < 3; k++) {
		CHECK_EQ(lb_send_tag(&lb, 30 + k, k < 2, &to), 0);
		CHECK(to == prs[1].end[0]);
	}
	for (uint32_t k = 0; k < YPIPE_CHUNK - 3; k++)
		expect_read(prs[1].end[1], 1000 + k, false);
	for (uint32_t k = 0; k < 3; k++)
		expect_read(prs[1].end[1], 30 + k, k < 2);
	expect_empty(prs[1].end[1]);

	pairs_destroy(&h, prs, N);
	lb_fini(&lb);
	harness_fini(&h);
}

static const struct test tests[] = {
        {"large messages are reported by bytes read while the writer is ahead",
         test_large_messages_reported_by_bytes},
        {"hwm counts whole messages and lwm reopens the writer",
         test_hwm_counts_whole_messages},
        {"unlimited hwm never blocks and sends no reports",
         test_unlimited_hwm_never_blocks},
        {"flush wakes a sleeping reader once", test_flush_wakes_sleeping_reader},
        {"termination from either end", test_term_from_either_end},
        {"termination from both ends at once", test_term_from_both_ends_at_once},
        {"pending messages are readable after the peer terminated",
         test_pending_messages_readable_after_peer_term},
        {"peer termination wakes an idle reader", test_peer_term_wakes_idle_reader},
        {"delimiter read before PIPE_TERM arrives", test_delimiter_before_pipe_term},
        {"nodelay acknowledges PIPE_TERM at once", test_nodelay_acks_pipe_term_at_once},
        {"rollback drops an unfinished multipart message",
         test_rollback_unfinished_multipart},
        {"unflushed messages are freed with the reader's end",
         test_unflushed_freed_with_reader},
        {"pipe array swap, erase and reserve", test_pipe_array_swap_and_erase},
        {"fq finds the one active pipe among 10000",
         test_fq_finds_one_active_among_10000},
        {"fq alternates whole messages", test_fq_alternates_whole_messages},
        {"fq: current pipe terminated mid-message moves on to a whole message",
         test_fq_current_pipe_terminated_mid_message},
        {"fq: another pipe terminated mid-message keeps the message whole",
         test_fq_other_pipe_terminated_mid_message},
        {"fq reads a pipe whose writer ended before the others",
         test_fq_reads_an_ended_pipe_first},
        {"lb round-robins whole messages", test_lb_round_robins_whole_messages},
        {"lb skips full pipes", test_lb_skips_full_pipes},
        {"lb: current pipe terminated mid-message drops the rest",
         test_lb_current_pipe_terminated_mid_message},
        {"lb: another pipe terminated mid-message keeps the message whole",
         test_lb_other_pipe_terminated_mid_message},
        {"lb rollback and out of memory mid-message", test_lb_rollback_and_enomem},
        {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}
