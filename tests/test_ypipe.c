/*
 * test_ypipe.c: the lock-free SPSC queue of src/core/ypipe.h. Order across many
 * chunks, what flush reports about a sleeping reader, incomplete (multipart) cells
 * and unwrite, peek, allocation failure, and two-thread stress runs: one where the
 * reader spins and one where it really sleeps and relies on flush's wake-up report.
 * Leaks of chunks or of the spare show up under valgrind and ASan.
 */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "testutil.h"
#include "core/ypipe.h"
#include "platform/alloc.h"

/* A test cell: a sequence number and a check word derived from it, so a torn or
 * stale cell is noticed, not only a misordered one. */
struct tcell {
	uint64_t seq;
	uint64_t check;
	uint32_t parts_left; /* cells of the same message still to come */
	unsigned char pad[YPIPE_CELL - 20];
};
_Static_assert(sizeof(struct tcell) == YPIPE_CELL, "a test cell is one ypipe cell");

static struct tcell
make_cell(uint64_t seq)
{
	struct tcell c;
	memset(&c, 0, sizeof c);
	c.seq = seq;
	c.check = seq * 0x9e3779b97f4a7c15ull ^ 0x5bd1e995u;
	memset(c.pad, (int)(seq & 0xff), sizeof c.pad);
	return c;
}

static bool
cell_ok(const struct tcell *c, uint64_t seq)
{
	struct tcell want = make_cell(seq);
	return c->seq == want.seq && c->check == want.check &&
	       memcmp(c->pad, want.pad, sizeof c->pad) == 0;
}

static void
write_cell(struct ypipe *p, uint64_t seq, bool incomplete)
{
	struct tcell c = make_cell(seq);
	CHECK_EQ(ypipe_write(p, &c, incomplete), 0);
}

/* read_expect: reads one cell and checks it is seq. */
static void
read_expect(struct ypipe *p, uint64_t seq)
{
	struct tcell c;
	if (!ypipe_read(p, &c))
		TEST_FAIL("expected cell %llu, the pipe was empty",
		          (unsigned long long)seq);
	if (!cell_ok(&c, seq))
		TEST_FAIL("expected cell %llu, got %llu", (unsigned long long)seq,
		          (unsigned long long)c.seq);
}

static void
test_order_across_many_chunks(void)
{
	struct ypipe p;
	CHECK_EQ(ypipe_init(&p), 0);
	const uint64_t n = 10 * YPIPE_CHUNK + 7;
	for (uint64_t i = 0; i < n; i++)
		write_cell(&p, i, false);
	ypipe_flush(&p);
	for (uint64_t i = 0; i < n; i++)
		read_expect(&p, i);
	struct tcell c;
	CHECK(!ypipe_read(&p, &c));
	CHECK(!ypipe_check_read(&p));

	/* Interleaved: the reader frees chunks into the spare the writer reuses. */
	uint64_t w = n, r = n;
	for (int round = 0; round < 50; round++) {
		for (int k = 0; k < 3 * YPIPE_CHUNK / 2 + round; k++)
			write_cell(&p, w++, false);
		ypipe_flush(&p);
		for (int k = 0; k < YPIPE_CHUNK + round; k++)
			read_expect(&p, r++);
	}
	while (r < w)
		read_expect(&p, r++);
	CHECK(!ypipe_read(&p, &c));
	ypipe_fini(&p);
}

static void
test_flush_reports_sleeping_reader(void)
{
	struct ypipe p;
	struct tcell c;
	CHECK_EQ(ypipe_init(&p), 0);

	/* A new pipe's reader has not looked yet: it is awake. */
	write_cell(&p, 0, false);
	CHECK(ypipe_flush(&p));
	/* Nothing new: true, whatever the reader does. */
	CHECK(ypipe_flush(&p));
	read_expect(&p, 0);

	/* The reader finds the pipe empty and goes to sleep. */
	CHECK(!ypipe_read(&p, &c));
	CHECK(ypipe_flush(&p)); /* nothing new: no wake-up is due */
	write_cell(&p, 1, false);
	CHECK(!ypipe_flush(&p)); /* first flush after it slept: wake it */
	write_cell(&p, 2, false);
	CHECK(ypipe_flush(&p)); /* it has been woken: exactly one wake-up */
	CHECK(ypipe_flush(&p));

	/* check_read finding nothing also puts the reader to sleep. */
	read_expect(&p, 1);
	read_expect(&p, 2);
	CHECK(!ypipe_check_read(&p));
	CHECK(!ypipe_check_read(&p)); /* twice asleep is still asleep */
	write_cell(&p, 3, false);
	CHECK(!ypipe_flush(&p));

	/* A reader that reads while data remains stays awake. */
	write_cell(&p, 4, false);
	CHECK(ypipe_flush(&p));
	read_expect(&p, 3);
	write_cell(&p, 5, false);
	CHECK(ypipe_flush(&p));
	read_expect(&p, 4);
	read_expect(&p, 5);
	CHECK(ypipe_peek(&p) == NULL); /* peek on empty also sleeps */
	write_cell(&p, 6, false);
	CHECK(!ypipe_flush(&p));
	read_expect(&p, 6);
	ypipe_fini(&p);
}

static void
test_incomplete_cells_invisible(void)
{
	struct ypipe p;
	CHECK_EQ(ypipe_init(&p), 0);
	CHECK(!ypipe_check_read(&p)); /* the reader is asleep */

	write_cell(&p, 0, true);
	write_cell(&p, 1, true);
	write_cell(&p, 2, true);
	/* Nothing complete: the flush publishes nothing and keeps the wake-up owed. */
	CHECK(ypipe_flush(&p));
	CHECK(!ypipe_check_read(&p));
	CHECK(ypipe_peek(&p) == NULL);

	write_cell(&p, 3, false);
	CHECK(!ypipe_check_read(&p)); /* complete but not yet flushed */
	CHECK(!ypipe_flush(&p));      /* the reader slept: wake it */
	for (uint64_t i = 0; i < 4; i++)
		read_expect(&p, i);

	/* A complete message followed by an incomplete one: only the first shows. */
	write_cell(&p, 4, false);
	write_cell(&p, 5, true);
	ypipe_flush(&p);
	read_expect(&p, 4);
	CHECK(!ypipe_check_read(&p));
	write_cell(&p, 6, false);
	CHECK(!ypipe_flush(&p));
	read_expect(&p, 5);
	read_expect(&p, 6);
	ypipe_fini(&p);
}

static void
test_unwrite_takes_back_incomplete_only(void)
{
	struct ypipe p;
	struct tcell c;
	CHECK_EQ(ypipe_init(&p), 0);
	CHECK(!ypipe_unwrite(&p, &c)); /* empty */

	write_cell(&p, 0, false);
	CHECK(!ypipe_unwrite(&p, &c)); /* complete, not flushed: still not taken back */
	write_cell(&p, 1, true);
	write_cell(&p, 2, true);
	CHECK(ypipe_unwrite(&p, &c));
	CHECK(cell_ok(&c, 2));
	CHECK(ypipe_unwrite(&p, &c));
	CHECK(cell_ok(&c, 1));
	CHECK(!ypipe_unwrite(&p, &c));

	/* The unwritten cells never reach the reader; new ones take their place. */
	write_cell(&p, 3, true);
	write_cell(&p, 4, false);
	ypipe_flush(&p);
	read_expect(&p, 0);
	read_expect(&p, 3);
	read_expect(&p, 4);
	CHECK(!ypipe_read(&p, &c));
	CHECK(!ypipe_unwrite(&p, &c)); /* everything published */
	ypipe_fini(&p);
}

static void
test_unwrite_across_chunk_boundary(void)
{
	struct ypipe p;
	struct tcell c;
	CHECK_EQ(ypipe_init(&p), 0);
	/* Complete cells up to two before the end of the first chunk, then a message of
	 * five parts that spills into the second chunk. */
	uint64_t seq = 0;
	for (; seq < YPIPE_CHUNK - 2; seq++)
		write_cell(&p, seq, false);
	for (int k = 0; k < 5; k++)
		write_cell(&p, 1000 + k, true);
	for (int k = 4; k >= 0; k--) {
		CHECK(ypipe_unwrite(&p, &c));
		CHECK(cell_ok(&c, 1000 + k));
	}
	CHECK(!ypipe_unwrite(&p, &c));

	/* Again with the boundary falling exactly after the first part. */
	for (; seq < YPIPE_CHUNK - 1; seq++)
		write_cell(&p, seq, false);
	write_cell(&p, 2000, true); /* the last cell of the first chunk */
	CHECK(ypipe_unwrite(&p, &c));
	CHECK(cell_ok(&c, 2000));
	CHECK(!ypipe_unwrite(&p, &c));

	for (int k = 0; k < 3 * YPIPE_CHUNK; k++)
		write_cell(&p, seq++, false);
	CHECK(ypipe_flush(&p));
	for (uint64_t i = 0; i < seq; i++)
		read_expect(&p, i);
	CHECK(!ypipe_read(&p, &c));
	ypipe_fini(&p);
}

static void
test_peek_does_not_consume(void)
{
	struct ypipe p;
	CHECK_EQ(ypipe_init(&p), 0);
	CHECK(ypipe_peek(&p) == NULL);
	for (uint64_t i = 0; i < YPIPE_CHUNK + 1; i++)
		write_cell(&p, i, false);
	CHECK(!ypipe_flush(&p));
	for (uint64_t i = 0; i < YPIPE_CHUNK + 1; i++) {
		const struct tcell *a = ypipe_peek(&p);
		const struct tcell *b = ypipe_peek(&p);
		CHECK(a != NULL);
		CHECK(a == b);
		CHECK(cell_ok(a, i));
		read_expect(&p, i);
	}
	CHECK(ypipe_peek(&p) == NULL);
	ypipe_fini(&p);
}

static void
test_alloc_failure_writes_nothing(void)
{
	struct ypipe p;
	struct tcell c;
	CHECK_EQ(ypipe_init(&p), 0);
	/* The first chunk holds CHUNK - 1 cells before the writer needs the next. */
	uint64_t seq = 0;
	zn_alloc_fail_after(1, 1);
	for (; seq < YPIPE_CHUNK - 3; seq++)
		write_cell(&p, seq, false);
	write_cell(&p, 5000, true); /* two parts of an unfinished message */
	write_cell(&p, 5001, true);
	struct tcell more = make_cell(5002);
	int rc1 = ypipe_write(&p, &more, true);
	int rc2 = ypipe_write(&p, &more, false);
	long failures = zn_alloc_failures();
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc1, -ENOMEM);
	CHECK_EQ(rc2, -ENOMEM);
	CHECK_EQ(failures, 2);

	/* The failed writes left nothing: the caller rolls back its two parts. */
	CHECK(ypipe_unwrite(&p, &c));
	CHECK(cell_ok(&c, 5001));
	CHECK(ypipe_unwrite(&p, &c));
	CHECK(cell_ok(&c, 5000));
	CHECK(!ypipe_unwrite(&p, &c));
	CHECK(ypipe_flush(&p));
	for (uint64_t i = 0; i < seq; i++)
		read_expect(&p, i);
	CHECK(!ypipe_read(&p, &c));

	/* A complete write that needs a chunk fails the same way and writes nothing. */
	for (int k = 0; k < 2; k++)
		write_cell(&p, seq++, false);
	zn_alloc_fail_after(1, 0);
	struct tcell x = make_cell(6000);
	int rc = ypipe_write(&p, &x, false);
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc, -ENOMEM);
	CHECK(!ypipe_flush(&p));
	read_expect(&p, seq - 2);
	read_expect(&p, seq - 1);
	CHECK(!ypipe_read(&p, &c));

	/* The pipe works on once memory is back. */
	uint64_t from = seq;
	for (int k = 0; k < 3 * YPIPE_CHUNK; k++)
		write_cell(&p, seq++, false);
	CHECK(!ypipe_flush(&p));
	for (uint64_t i = from; i < seq; i++)
		read_expect(&p, i);
	CHECK(!ypipe_read(&p, &c));
	ypipe_fini(&p);
}

static void
test_spare_chunk_needs_no_allocation(void)
{
	struct ypipe p;
	struct tcell c;
	CHECK_EQ(ypipe_init(&p), 0);
	uint64_t seq = 0, r = 0;
	for (; seq < 2 * YPIPE_CHUNK; seq++)
		write_cell(&p, seq, false);
	ypipe_flush(&p);
	for (; r < YPIPE_CHUNK; r++) /* the first chunk becomes the spare */
		read_expect(&p, r);

	zn_alloc_fail_after(1, 1);
	int rc = 0;
	/* The current chunk's cells, then the spare's: no allocation at all. */
	for (int k = 0; k < 2 * YPIPE_CHUNK - 1 && rc == 0; k++) {
		struct tcell x = make_cell(seq);
		rc = ypipe_write(&p, &x, false);
		if (rc == 0)
			seq++;
	}
	long failures_before = zn_alloc_failures();
	struct tcell x = make_cell(seq);
	int rc_next = ypipe_write(&p, &x, false); /* this one needs a fresh chunk */
	long failures = zn_alloc_failures();
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc, 0);
	CHECK_EQ(failures_before, 0);
	CHECK_EQ(rc_next, -ENOMEM);
	CHECK_EQ(failures, 1);

	ypipe_flush(&p);
	for (; r < seq; r++)
		read_expect(&p, r);
	CHECK(!ypipe_read(&p, &c));
	ypipe_fini(&p);
}

static void
test_fini_frees_everything(void)
{
	/* Cells left inside, a chunk linked ahead by a rolled-back write, and a spare:
	 * valgrind and ASan report any of them not freed. */
	struct ypipe p;
	struct tcell c;
	CHECK_EQ(ypipe_init(&p), 0);
	for (uint64_t i = 0; i < 2 * YPIPE_CHUNK; i++)
		write_cell(&p, i, false);
	ypipe_flush(&p);
	for (uint64_t i = 0; i < YPIPE_CHUNK + 3; i++)
		read_expect(&p, i);
	for (int k = 0; k < 2 * YPIPE_CHUNK; k++)
		write_cell(&p, 9000 + k, true);
	while (ypipe_unwrite(&p, &c))
		;
	ypipe_fini(&p);

	struct ypipe empty;
	CHECK_EQ(ypipe_init(&empty), 0);
	ypipe_fini(&empty);

	zn_alloc_fail_after(1, 0);
	int rc = ypipe_init(&empty);
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc, -ENOMEM);
}

/* Two-thread stress. The writer writes messages of 1 to 3 cells and flushes after a
 * random batch; the reader checks order, completeness and that a message's parts
 * arrive together (once a part is visible, the rest of its message is too). */

struct stress {
	struct ypipe p;
	uint64_t n;
	bool sleepy; /* the reader sleeps on `wake` instead of spinning */
	sem_t wake;
	atomic_long sleeps;
	atomic_long wakeups;
	/* What went wrong in a thread, for the main thread to report. */
	char error[160];
	atomic_bool failed;
};

static uint64_t
xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void
stress_fail(struct stress *st, const char *what, uint64_t a, uint64_t b)
{
	if (!atomic_exchange(&st->failed, true))
		snprintf(st->error, sizeof st->error, "%s (%llu, %llu)", what,
		         (unsigned long long)a, (unsigned long long)b);
}

static void *
stress_writer(void *arg)
{
	struct stress *st = arg;
	uint64_t rnd = 88172645463325252ull;
	uint64_t seq = 0, batch_end = 0;
	while (seq < st->n && !atomic_load(&st->failed)) {
		if (seq >= batch_end)
			batch_end = seq + 1 + xorshift(&rnd) % 300;
		uint32_t parts = 1 + (uint32_t)(xorshift(&rnd) % 3);
		if (seq + parts > st->n)
			parts = (uint32_t)(st->n - seq);
		for (uint32_t k = 0; k < parts; k++) {
			struct tcell c = make_cell(seq++);
			c.parts_left = parts - 1 - k;
			int rc = ypipe_write(&st->p, &c, c.parts_left > 0);
			if (rc != 0) {
				stress_fail(st, "write failed", seq, (uint64_t)-rc);
				return NULL;
			}
		}
		if (seq >= batch_end || seq == st->n) {
			if (!ypipe_flush(&st->p)) {
				atomic_fetch_add(&st->wakeups, 1);
				if (st->sleepy)
					sem_post(&st->wake);
			}
		}
	}
	return NULL;
}

/* stress_wait: the reader found nothing. Returns false on a lost wake-up. */
static bool
stress_wait(struct stress *st)
{
	if (!st->sleepy) {
		sched_yield();
		return true;
	}
	atomic_fetch_add(&st->sleeps, 1);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 60; /* a hang guard, not a timing assertion */
	while (sem_timedwait(&st->wake, &ts) != 0) {
		if (errno != EINTR)
			return false;
	}
	return true;
}

static void *
stress_reader(void *arg)
{
	struct stress *st = arg;
	uint64_t want = 0;
	while (want < st->n && !atomic_load(&st->failed)) {
		struct tcell c;
		if (!ypipe_read(&st->p, &c)) {
			if (!stress_wait(st)) {
				stress_fail(st, "lost wake-up waiting for cell", want, 0);
				return NULL;
			}
			continue;
		}
		if (!cell_ok(&c, want)) {
			stress_fail(st, "wrong cell", want, c.seq);
			return NULL;
		}
		want++;
		/* The rest of this message must be readable right now. */
		for (uint32_t left = c.parts_left; left > 0; left--) {
			struct tcell part;
			if (!ypipe_read(&st->p, &part)) {
				stress_fail(st, "message published in pieces at", want,
				            left);
				return NULL;
			}
			if (!cell_ok(&part, want) || part.parts_left != left - 1) {
				stress_fail(st, "wrong part", want, part.seq);
				return NULL;
			}
			want++;
		}
	}
	return NULL;
}

static void
run_stress(uint64_t n, bool sleepy)
{
	static struct stress st; /* large and padded: keep it off the stack */
	memset(&st, 0, sizeof st);
	CHECK_EQ(ypipe_init(&st.p), 0);
	st.n = n;
	st.sleepy = sleepy;
	CHECK_EQ(sem_init(&st.wake, 0, 0), 0);

	pthread_t w, r;
	CHECK_EQ(pthread_create(&r, NULL, stress_reader, &st), 0);
	CHECK_EQ(pthread_create(&w, NULL, stress_writer, &st), 0);
	pthread_join(w, NULL);
	if (atomic_load(&st.failed) && sleepy)
		sem_post(&st.wake); /* let the reader see the failure */
	pthread_join(r, NULL);

	struct tcell c;
	bool leftover = ypipe_read(&st.p, &c);
	ypipe_fini(&st.p);
	sem_destroy(&st.wake);
	if (atomic_load(&st.failed))
		TEST_FAIL("%s", st.error);
	CHECK(!leftover);
	if (sleepy) /* every sleep was ended by exactly one wake-up */
		CHECK_EQ(atomic_load(&st.wakeups), atomic_load(&st.sleeps));
}

static void
test_stress_spinning_reader(void)
{
	run_stress(2000000, false);
}

static void
test_stress_sleeping_reader(void)
{
	run_stress(1000000, true);
}

static const struct test tests[] = {
        {"cells come out in order across many chunks", test_order_across_many_chunks},
        {"flush reports a sleeping reader exactly once",
         test_flush_reports_sleeping_reader},
        {"incomplete cells stay invisible until completed and flushed",
         test_incomplete_cells_invisible},
        {"unwrite takes back incomplete cells only",
         test_unwrite_takes_back_incomplete_only},
        {"unwrite crosses a chunk boundary", test_unwrite_across_chunk_boundary},
        {"peek shows the next cell without consuming it", test_peek_does_not_consume},
        {"a write needing a chunk without memory is ENOMEM and writes nothing",
         test_alloc_failure_writes_nothing},
        {"the spare chunk is reused without allocating",
         test_spare_chunk_needs_no_allocation},
        {"fini frees every chunk and the spare", test_fini_frees_everything},
        {"two threads, spinning reader: order and no loss", test_stress_spinning_reader},
        {"two threads, sleeping reader: no lost wake-up", test_stress_sleeping_reader},
        {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}
