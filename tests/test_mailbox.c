/*
 * test_mailbox.c: the command mailbox of src/core/mailbox.h, white-box, and its
 * lifetime rule: whoever leaves a mailbox last frees it, so the reader may release it
 * while the sender of the last command is still inside mailbox_send (unlocking the
 * mutex, raising the eventfd). Before that rule the reaper freed a closed socket's
 * mailbox under an I/O thread still unlocking it after posting the last term ack:
 * TSan saw it in 14 test programs; a loaded machine would have seen a use-after-free
 * and a wake-up written to a closed, perhaps reused, descriptor.
 *
 * To hold a sender inside mailbox_send deterministically, the tests swap the
 * mailbox's eventfd for the write end of a full blocking pipe: the sender publishes
 * its command, then blocks raising the "fd" until the test drains the pipe.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "testutil.h"
#include "core/mailbox.h"

/* A parked signaler: the write end of a full pipe, in blocking mode. */
struct parked {
	int rd, wr;
	size_t filled; /* bytes put in to fill it */
};

static void
parked_open(struct parked *p)
{
	int fds[2];
	CHECK_EQ(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
	p->rd = fds[0];
	p->wr = fds[1];
	p->filled = 0;
	char buf[4096];
	memset(buf, 'x', sizeof buf);
	ssize_t n;
	while ((n = write(p->wr, buf, sizeof buf)) > 0)
		p->filled += (size_t)n;
	CHECK(errno == EAGAIN);
	/* Blocking from now on: a raise waits until the test makes room. */
	CHECK_EQ(fcntl(p->wr, F_SETFL, 0), 0);
}

/* parked_drain: reads the filling back, which lets a blocked raise complete. */
static void
parked_drain(struct parked *p)
{
	char buf[4096];
	size_t left = p->filled;
	while (left > 0) {
		size_t want = left < sizeof buf ? left : sizeof buf;
		ssize_t n = read(p->rd, buf, want);
		CHECK(n > 0);
		left -= (size_t)n;
	}
	CHECK_EQ(fcntl(p->rd, F_SETFL, 0), 0); /* what follows are blocking reads */
}

/* mailbox_park: swaps mb's eventfd for p's write end; mb now owns p->wr. */
static void
mailbox_park(struct mailbox *mb, struct parked *p)
{
	close(mb->signaler.fd);
	mb->signaler.fd = p->wr;
}

static struct command
make_cmd(enum command_type type)
{
	struct command cmd;
	memset(&cmd, 0, sizeof cmd);
	cmd.type = type;
	return cmd;
}

struct sender {
	struct mailbox *mb;
	atomic_int done;
};

static void *
sender_main(void *arg)
{
	struct sender *s = arg;
	struct command cmd = make_cmd(CMD_TERM_ACK);
	mailbox_send(s->mb, &cmd);
	atomic_store(&s->done, 1);
	return NULL;
}

/* recv_spin: reads one command without touching the (parked) fd. */
static struct command
recv_spin(struct mailbox *mb)
{
	struct command cmd;
	long long deadline = test_now_ms() + 10000;
	while (mailbox_recv(mb, &cmd, 0) != 0) {
		CHECK(test_now_ms() < deadline);
		sched_yield(); /* the sender is publishing: nothing to block on */
	}
	return cmd;
}

static void
test_release_while_sender_inside(void)
{
	struct mailbox *mb;
	struct parked p;
	CHECK_EQ(mailbox_new(&mb), 0);
	parked_open(&p);
	mailbox_park(mb, &p);

	struct sender s = {.mb = mb};
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, sender_main, &s), 0);
	/* The command is readable: the sender is past its flush, still inside. */
	CHECK_EQ(recv_spin(mb).type, CMD_TERM_ACK);
	mailbox_release(mb); /* the reader leaves first, as the reaper does */

	/* The sender cannot have left (its raise is blocked), and the descriptor it
	 * is writing is still open: releasing did not free the mailbox. */
	CHECK_EQ(atomic_load(&s.done), 0);
	CHECK(fcntl(p.wr, F_GETFD) >= 0);

	parked_drain(&p);
	pthread_join(th, NULL);
	CHECK_EQ(atomic_load(&s.done), 1);
	/* The sender's wake-up arrived whole, then it freed the mailbox, closing the
	 * write end: the reader of the pipe sees end-of-file. */
	uint64_t v = 0;
	CHECK_EQ(read(p.rd, &v, sizeof v), (ssize_t)sizeof v);
	CHECK_EQ(v, 1);
	CHECK_EQ(read(p.rd, &v, sizeof v), 0);
	close(p.rd);
}

static void
test_release_alone_frees_at_once(void)
{
	struct mailbox *mb;
	struct parked p;
	CHECK_EQ(mailbox_new(&mb), 0);
	parked_open(&p);
	mailbox_park(mb, &p);
	mailbox_release(mb);
	parked_drain(&p);
	char c;
	CHECK_EQ(read(p.rd, &c, 1), 0); /* no sender: the write end closed at once */
	close(p.rd);
}

static void
test_commands_queued_at_release_are_dropped(void)
{
	/* Commands nobody will read (a CMD_STOP crossing a socket's end) go with the
	 * mailbox; valgrind and ASan check that nothing leaks. */
	struct mailbox *mb;
	CHECK_EQ(mailbox_new(&mb), 0);
	for (int i = 0; i < 3 * YPIPE_CHUNK; i++) {
		struct command cmd = make_cmd(CMD_STOP);
		mailbox_send(mb, &cmd);
	}
	mailbox_release(mb);
}

static void
test_send_recv_order_and_wakeup(void)
{
	struct mailbox *mb;
	CHECK_EQ(mailbox_new(&mb), 0);
	struct command cmd;
	CHECK_EQ(mailbox_recv(mb, &cmd, 0), -EAGAIN);
	CHECK_EQ(mailbox_recv(mb, &cmd, 10), -EAGAIN);
	for (int i = 0; i < 2 * YPIPE_CHUNK; i++) {
		cmd = make_cmd(CMD_TERM);
		cmd.args.term.linger = i;
		mailbox_send(mb, &cmd);
	}
	/* The reader was asleep: the first send raised the fd. */
	struct pollfd pfd = {.fd = mailbox_fd(mb), .events = POLLIN};
	CHECK_EQ(poll(&pfd, 1, 0), 1);
	for (int i = 0; i < 2 * YPIPE_CHUNK; i++) {
		CHECK_EQ(mailbox_recv(mb, &cmd, -1), 0);
		CHECK_EQ(cmd.type, CMD_TERM);
		CHECK_EQ(cmd.args.term.linger, i);
	}
	CHECK_EQ(mailbox_recv(mb, &cmd, 0), -EAGAIN);
	mailbox_release(mb);
}

/* Many senders, and the reader releases right after the last command: whoever is
 * last frees (under TSan or valgrind a use-after-free or leak shows up here). */
#define STRESS_SENDERS 4
#define STRESS_ROUNDS  300

static void *
stress_sender(void *arg)
{
	struct mailbox *mb = arg;
	struct command cmd = make_cmd(CMD_TERM_ACK);
	mailbox_send(mb, &cmd);
	return NULL;
}

static void
test_release_races_senders(void)
{
	for (int round = 0; round < STRESS_ROUNDS; round++) {
		struct mailbox *mb;
		CHECK_EQ(mailbox_new(&mb), 0);
		pthread_t th[STRESS_SENDERS];
		for (int i = 0; i < STRESS_SENDERS; i++)
			CHECK_EQ(pthread_create(&th[i], NULL, stress_sender, mb), 0);
		struct command cmd;
		for (int got = 0; got < STRESS_SENDERS;) {
			int rc = mailbox_recv(mb, &cmd, 5000);
			CHECK(rc == 0 || rc == -EAGAIN);
			got += rc == 0;
		}
		mailbox_release(mb); /* senders may still be inside mailbox_send */
		for (int i = 0; i < STRESS_SENDERS; i++)
			pthread_join(th[i], NULL);
	}
}

static const struct test tests[] = {
        {"commands arrive in order and the first wakes the reader",
         test_send_recv_order_and_wakeup},
        {"a sender inside mailbox_send keeps a released mailbox alive",
         test_release_while_sender_inside},
        {"a release with no sender inside frees at once",
         test_release_alone_frees_at_once},
        {"commands still queued at release are dropped without a leak",
         test_commands_queued_at_release_are_dropped},
        {"the reader releases while senders finish: the last one frees",
         test_release_races_senders},
        {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}
