/*
 * test_shm_ring.c: the shared-memory half of shm:// (src/proto/shm_ring.h and
 * src/platform/shm.h). One memfd is mapped twice in this process, as two processes
 * would: the attacher's writer fills ring 1 and the creator's reader drains it. The
 * creator's mapping sits between two PROT_NONE pages, so a read past ring 1 (the end of
 * the mapping) faults even where ASan cannot see (it does not track mmap'd memory).
 *
 * Covered: sizes from 0 B to 64 MiB (fragments), flags, multipart atomicity, PAD at
 * every offset, the sleep/wake protocol with real eventfds and threads (one signal per
 * sleep at most, both directions), two processes with descriptors passed by
 * SCM_RIGHTS, seal and size checks, and a hostile peer corrupting indices, lengths and
 * flags (plus a random fuzz): always -EPROTO/-EMSGSIZE, never a crash.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "pipe/msg.h"
#include "platform/alloc.h"
#include "platform/net.h"
#include "platform/shm.h"
#include "platform/signaler.h"
#include "proto/shm_ring.h"

#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)

/* quick: under valgrind, fewer and smaller messages (the same paths, less volume). */
static bool quick;
#define SCALE(full, light) (quick ? (light) : (full))

/* ---- fixture ---- */

struct fx {
	struct shm_ring_region a; /* creator: reads ring 1 (guarded mapping) */
	struct shm_ring_region b; /* attacher: writes ring 1 */
	struct shm_ring_writer w;
	struct shm_ring_reader r;
	uint8_t *guard; /* the reservation around a's mapping */
	size_t page;
	struct shm_ring_dir *peer_dir; /* ring 1's indices, through b (the "peer") */
	uint8_t *peer_ring;            /* ring 1's bytes, through b */
};

/* guard_map: maps the region's memfd again between two PROT_NONE pages and drops the
 * first mapping. */
static void
guard_map(struct fx *f)
{
	f->page = (size_t)sysconf(_SC_PAGESIZE);
	size_t size = f->a.map_size;
	f->guard = mmap(NULL, size + 2 * f->page, PROT_NONE,
	                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(f->guard != MAP_FAILED);
	void *p = mmap(f->guard + f->page, size, PROT_READ | PROT_WRITE,
	               MAP_SHARED | MAP_FIXED, f->a.fd, 0);
	CHECK(p == f->guard + f->page);
	munmap(f->a.base, size);
	f->a.base = p;
}

static void
fx_init(struct fx *f, uint64_t ring_size, int64_t maxmsgsize)
{
	memset(f, 0, sizeof *f);
	CHECK_EQ(shm_ring_region_create(&f->a, ring_size), 0);
	guard_map(f);
	int fd = dup(f->a.fd);
	CHECK(fd >= 0);
	CHECK_EQ(shm_ring_region_attach(&f->b, fd, ring_size), 0);
	shm_ring_writer_init(&f->w, &f->b);
	shm_ring_reader_init(&f->r, &f->a, maxmsgsize);
	struct shm_ring_ctl *ctl = f->b.base;
	f->peer_dir = &ctl->dir[1];
	f->peer_ring = (uint8_t *)f->b.base + SHM_RING_CTL_SIZE + ring_size;
}

static void
fx_fini(struct fx *f)
{
	size_t size = f->a.map_size;
	shm_ring_reader_fini(&f->r);
	shm_ring_region_fini(&f->b);
	shm_ring_region_fini(&f->a); /* unmaps the middle of the reservation */
	munmap(f->guard, f->page);
	munmap(f->guard + f->page + size, f->page);
}

/* ---- message helpers ---- */

static uint8_t
pattern(uint64_t seed, uint64_t i)
{
	uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ull + i * 0x2545f4914f6cdd1dull;
	return (uint8_t)(x >> 56 ^ x >> 29 ^ i);
}

static void
make_msg(struct msg *m, size_t len, uint64_t seed, unsigned flags)
{
	CHECK_EQ(msg_init_size(m, len), 0);
	uint8_t *p = msg_data(m);
	for (size_t i = 0; i < len; i++)
		p[i] = pattern(seed, i);
	msg_set_flags(m, flags);
}

static bool
msg_ok(struct msg *m, size_t len, uint64_t seed)
{
	if (msg_size(m) != len)
		return false;
	const uint8_t *p = msg_data(m);
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern(seed, i))
			return false;
	return true;
}

/* pump: single-threaded transfer of one message: write what fits, publish, read,
 * release, until the message is through. Returns the message read. */
static void
pump(struct fx *f, struct msg *in, struct msg *out)
{
	bool written = false;
	for (int spins = 0;; spins++) {
		CHECK(spins < 1000000);
		if (!written) {
			int rc = shm_ring_write_msg(&f->w, in);
			CHECK(rc == 0 || rc == -EAGAIN);
			written = rc == 0;
		}
		shm_ring_publish(&f->w);
		int rc = shm_ring_read_msg(&f->r, out);
		CHECK(rc == 0 || rc == 1);
		shm_ring_release(&f->r);
		if (rc == 1) {
			CHECK(written);
			return;
		}
	}
}

static void
roundtrip(struct fx *f, size_t len, uint64_t seed, unsigned flags)
{
	struct msg in, out;
	make_msg(&in, len, seed, flags);
	pump(f, &in, &out);
	CHECK_EQ(msg_size(&in), 0); /* consumed and reset */
	if (!msg_ok(&out, len, seed))
		TEST_FAIL("message of %zu bytes garbled", len);
	CHECK_EQ(msg_flags(&out) & (MSGF_MORE | MSGF_COMMAND), flags);
	msg_close(&out);
	msg_close(&in);
}

/* ---- platform: memfd, seals, eventfds, descriptor passing ---- */

static void
test_memfd_created_sealed_and_sized(void)
{
	int fd;
	CHECK_EQ(zn_shm_memfd_create("t", 64 * KIB, &fd), 0);
	int seals = fcntl(fd, F_GET_SEALS);
	CHECK((seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) ==
	      (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL));
	CHECK(ftruncate(fd, 4096) < 0 && errno == EPERM);
	CHECK(ftruncate(fd, 128 * KIB) < 0 && errno == EPERM);
	CHECK_EQ(zn_shm_memfd_verify(fd, 64 * KIB), 0);
	CHECK_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	zn_close_fd(fd);
	int bad;
	CHECK_EQ(zn_shm_memfd_create("t", 0, &bad), -EINVAL);
	CHECK_EQ(bad, -1);
}

static void
test_verify_refuses_unsealed_resized_and_foreign_files(void)
{
	/* No seals at all. */
	int fd = memfd_create("t", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, 8192), 0);
	CHECK_EQ(zn_shm_memfd_verify(fd, 8192), -EPROTO);
	close(fd);
	/* Sealed against shrinking only: it could still grow... and F_SEAL_SEAL is
	 * missing, so more seals could come. */
	fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK_EQ(ftruncate(fd, 8192), 0);
	CHECK_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	CHECK_EQ(zn_shm_memfd_verify(fd, 8192), -EPROTO);
	CHECK_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), 0);
	CHECK_EQ(zn_shm_memfd_verify(fd, 8192), -EPROTO); /* still no F_SEAL_SEAL */
	CHECK_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL), 0);
	CHECK_EQ(zn_shm_memfd_verify(fd, 8192), 0);
	/* The wrong size. */
	CHECK_EQ(zn_shm_memfd_verify(fd, 4096), -EPROTO);
	CHECK_EQ(zn_shm_memfd_verify(fd, 16384), -EPROTO);
	close(fd);
	/* Write-sealed: could not be mapped writable. */
	fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK_EQ(ftruncate(fd, 8192), 0);
	CHECK_EQ(fcntl(fd, F_ADD_SEALS,
	               F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL),
	         0);
	CHECK_EQ(zn_shm_memfd_verify(fd, 8192), -EPROTO);
	close(fd);
	/* Not a memfd: a pipe, an eventfd, a closed descriptor. */
	int p[2];
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(zn_shm_memfd_verify(p[0], 8192), -EPROTO);
	close(p[0]);
	close(p[1]);
	CHECK_EQ(zn_shm_eventfd_create(&fd), 0);
	CHECK_EQ(zn_shm_memfd_verify(fd, 8192), -EPROTO);
	close(fd);
	CHECK_EQ(zn_shm_memfd_verify(fd, 8192), -EPROTO);
}

static void
test_attach_refuses_a_bad_control_block(void)
{
	struct shm_ring_region a, b;
	CHECK_EQ(shm_ring_region_create(&a, 4 * KIB), 0);
	struct shm_ring_ctl *ctl = a.base;
	int fd = dup(a.fd);

	CHECK_EQ(shm_ring_region_attach(&b, fd, 8 * KIB), -EPROTO); /* size mismatch */
	CHECK_EQ(b.fd, -1);
	CHECK_EQ(shm_ring_region_attach(&b, fd, 3 * KIB), -EPROTO); /* not a power of 2 */
	CHECK_EQ(shm_ring_region_attach(&b, fd, 1 * KIB), -EPROTO); /* too small */
	ctl->magic ^= 1;
	CHECK_EQ(shm_ring_region_attach(&b, fd, 4 * KIB), -EPROTO);
	ctl->magic ^= 1;
	ctl->version = SHM_RING_VERSION + 1;
	CHECK_EQ(shm_ring_region_attach(&b, fd, 4 * KIB), -EPROTO);
	ctl->version = SHM_RING_VERSION;
	ctl->ring_size = 8 * KIB;
	CHECK_EQ(shm_ring_region_attach(&b, fd, 4 * KIB), -EPROTO);
	ctl->ring_size = 4 * KIB;
	CHECK_EQ(shm_ring_region_attach(&b, fd, 4 * KIB), 0); /* now b owns fd */
	CHECK(!b.creator);
	shm_ring_region_fini(&b);
	shm_ring_region_fini(&b); /* twice is harmless */
	shm_ring_region_fini(&a);

	CHECK_EQ(shm_ring_region_create(&a, 3 * KIB), -EINVAL);
	CHECK_EQ(shm_ring_region_create(&a, 512 * MIB), -EINVAL);
	CHECK(shm_ring_size_valid(SHM_RING_SIZE_DEFAULT));
	CHECK(shm_ring_size_valid(SHM_RING_SIZE_MAX));
	CHECK(!shm_ring_size_valid(SHM_RING_SIZE_MAX * 2));
}

static void
test_eventfd_verify_accepts_only_eventfds(void)
{
	int e, p[2];
	CHECK_EQ(zn_shm_eventfd_create(&e), 0);
	CHECK_EQ(zn_shm_eventfd_verify(e), 0);
	close(e);
	/* A blocking eventfd made elsewhere is made nonblocking. */
	e = eventfd(0, EFD_CLOEXEC);
	CHECK_EQ(zn_shm_eventfd_verify(e), 0);
	CHECK(fcntl(e, F_GETFL) & O_NONBLOCK);
	close(e);
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(zn_shm_eventfd_verify(p[1]), -EPROTO);
	close(p[0]);
	close(p[1]);
	int m;
	CHECK_EQ(zn_shm_memfd_create("t", 4096, &m), 0);
	CHECK_EQ(zn_shm_eventfd_verify(m), -EPROTO);
	close(m);
	/* Another kind of anonymous inode. */
	int t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	CHECK(t >= 0);
	CHECK_EQ(zn_shm_eventfd_verify(t), -EPROTO);
	close(t);
}

/* open_fds: how many descriptors this process has open. */
static int
open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	CHECK(d != NULL);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static void
test_fds_pass_with_scm_rights(void)
{
	int sv[2], e1, e2, mfd, got[ZN_SHM_FDS_MAX], n;
	char buf[16];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv),
	         0);
	CHECK_EQ(zn_shm_recv_fds(sv[1], buf, sizeof buf, got, &n), -EAGAIN);
	CHECK_EQ(n, 0);

	CHECK_EQ(zn_shm_memfd_create("t", 8192, &mfd), 0);
	CHECK_EQ(zn_shm_eventfd_create(&e1), 0);
	CHECK_EQ(zn_shm_eventfd_create(&e2), 0);
	int fds[3] = {mfd, e1, e2};
	CHECK_EQ(zn_shm_send_fds(sv[0], "RING", 4, fds, 3), 4);
	CHECK_EQ(zn_shm_recv_fds(sv[1], buf, sizeof buf, got, &n), 4);
	CHECK_EQ(n, 3);
	CHECK(memcmp(buf, "RING", 4) == 0);
	CHECK_EQ(zn_shm_memfd_verify(got[0], 8192), 0);
	CHECK_EQ(zn_shm_eventfd_verify(got[1]), 0);
	CHECK_EQ(zn_shm_eventfd_verify(got[2]), 0);
	for (int i = 0; i < 3; i++) {
		CHECK(got[i] != fds[i]);
		CHECK_EQ(fcntl(got[i], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
		close(got[i]);
	}
	/* Bytes without descriptors. */
	CHECK_EQ(zn_shm_send_fds(sv[0], "x", 1, NULL, 0), 1);
	CHECK_EQ(zn_shm_recv_fds(sv[1], buf, sizeof buf, got, &n), 1);
	CHECK_EQ(n, 0);
	/* Bad arguments. */
	CHECK_EQ(zn_shm_send_fds(sv[0], "x", 0, NULL, 0), -EINVAL);
	int many[ZN_SHM_FDS_MAX + 1] = {mfd, e1, e2, mfd, e1, e2};
	CHECK_EQ(zn_shm_send_fds(sv[0], "x", 1, many, ZN_SHM_FDS_MAX + 1), -EINVAL);
	/* End of stream. */
	close(sv[0]);
	CHECK_EQ(zn_shm_recv_fds(sv[1], buf, sizeof buf, got, &n), 0);
	CHECK_EQ(n, 0);
	close(sv[1]);
	close(mfd);
	close(e1);
	close(e2);
}

static void
test_extra_fds_are_closed_and_refused(void)
{
	int sv[2], got[ZN_SHM_FDS_MAX], n;
	char buf[16];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	int before = open_fds();

	/* Six descriptors in one message, sent with a raw sendmsg as a peer would. */
	int fds[6];
	for (int i = 0; i < 6; i++)
		CHECK_EQ(zn_shm_eventfd_create(&fds[i]), 0);
	union {
		char b[CMSG_SPACE(sizeof fds)];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct iovec iov = {.iov_base = "hostile", .iov_len = 7};
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = u.b,
	                    .msg_controllen = sizeof u.b};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(c), fds, sizeof fds);
	CHECK_EQ(sendmsg(sv[0], &mh, 0), 7);
	for (int i = 0; i < 6; i++)
		close(fds[i]);

	CHECK_EQ(zn_shm_recv_fds(sv[1], buf, sizeof buf, got, &n), -EPROTO);
	CHECK_EQ(n, 0);
	CHECK_EQ(open_fds(), before); /* nothing leaked */
	close(sv[0]);
	close(sv[1]);
}

/* ---- ring: sizes, flags, multipart ---- */

static void
test_small_messages_pass_with_flags(void)
{
	struct fx f;
	fx_init(&f, 4 * KIB, -1);
	roundtrip(&f, 0, 1, 0);
	roundtrip(&f, 1, 2, 0);
	roundtrip(&f, 8, 3, 0);
	roundtrip(&f, 7, 4, MSGF_COMMAND);
	roundtrip(&f, 49, 7, 0); /* just past inline */
	/* MORE: visible once the last part is in. */
	struct msg m, out;
	make_msg(&m, 0, 5, MSGF_MORE);
	CHECK_EQ(shm_ring_write_msg(&f.w, &m), 0);
	make_msg(&m, 9, 6, 0);
	CHECK_EQ(shm_ring_write_msg(&f.w, &m), 0);
	CHECK_EQ(shm_ring_publish(&f.w), 0);
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), 1);
	CHECK(msg_ok(&out, 0, 5) && msg_flags(&out) == MSGF_MORE);
	msg_close(&out);
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), 1);
	CHECK(msg_ok(&out, 9, 6) && msg_flags(&out) == 0);
	msg_close(&out);
	msg_close(&m);
	/* Nothing more. */
	CHECK_EQ(shm_ring_read_msg(&f.r, &m), 0);
	fx_fini(&f);
}

static void
test_ring_sized_messages_pass(void)
{
	struct fx f;
	fx_init(&f, 4 * KIB, -1);
	uint64_t size = 4 * KIB;
	for (int round = 0; round < 3; round++) { /* also from offsets other than 0 */
		/* The largest whole record, then fragmented ones. */
		roundtrip(&f, size / 2 - SHM_REC_HDR, 10 + round, 0);
		roundtrip(&f, size - SHM_REC_HDR, 20 + round, MSGF_MORE);
		roundtrip(&f, size, 30 + round, 0);
		roundtrip(&f, 2 * size, 40 + round, MSGF_COMMAND);
		roundtrip(&f, 64 * size + 3, 50 + round, 0);
		roundtrip(&f, 13, 60 + round, 0);
	}
	fx_fini(&f);
}

static void
test_write_refuses_bad_requests(void)
{
	struct fx f;
	fx_init(&f, 4 * KIB, -1);
	struct msg m, other, out;
	make_msg(&m, 10, 1, MSGF_MORE | MSGF_COMMAND);
	CHECK_EQ(shm_ring_write_msg(&f.w, &m), -EINVAL);
	CHECK_EQ(msg_size(&m), 10);
	msg_close(&m);

	/* Start streaming a large message, then offer a different one. */
	make_msg(&m, 64 * KIB, 2, 0);
	make_msg(&other, 64 * KIB, 3, 0);
	CHECK_EQ(shm_ring_write_msg(&f.w, &m), -EAGAIN);
	CHECK(shm_ring_writer_streaming(&f.w));
	CHECK_EQ(shm_ring_write_msg(&f.w, &other), -EINVAL);
	msg_close(&other);
	pump(&f, &m, &out);
	CHECK(msg_ok(&out, 64 * KIB, 2));
	CHECK(!shm_ring_writer_streaming(&f.w));
	msg_close(&out);
	msg_close(&m);
	fx_fini(&f);
}

static void
test_multipart_appears_whole(void)
{
	struct fx f;
	fx_init(&f, 4 * KIB, -1);
	struct msg m, out;
	make_msg(&m, 100, 1, MSGF_MORE);
	CHECK_EQ(shm_ring_write_msg(&f.w, &m), 0);
	msg_close(&m);
	CHECK_EQ(shm_ring_publish(&f.w), 0);
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), 0); /* part 1 is not visible yet */
	CHECK_EQ(shm_ring_prepare_sleep(&f.r), 0);  /* and nothing says otherwise */
	shm_ring_end_sleep(&f.r);
	make_msg(&m, 200, 2, MSGF_MORE);
	CHECK_EQ(shm_ring_write_msg(&f.w, &m), 0);
	msg_close(&m);
	CHECK_EQ(shm_ring_publish(&f.w), 0);
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), 0);
	make_msg(&m, 0, 3, 0);
	CHECK_EQ(shm_ring_write_msg(&f.w, &m), 0);
	msg_close(&m);
	CHECK_EQ(shm_ring_publish(&f.w), 0);
	/* Now all three, in order, without waiting. */
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), 1);
	CHECK(msg_ok(&out, 100, 1) && (msg_flags(&out) & MSGF_MORE));
	msg_close(&out);
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), 1);
	CHECK(msg_ok(&out, 200, 2) && (msg_flags(&out) & MSGF_MORE));
	msg_close(&out);
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), 1);
	CHECK(msg_ok(&out, 0, 3) && !(msg_flags(&out) & MSGF_MORE));
	msg_close(&out);
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), 0);
	fx_fini(&f);
}

/* put: writes a message made by make_msg (0 expected). */
static void
put(struct fx *f, size_t len, uint64_t seed, unsigned flags)
{
	struct msg m;
	make_msg(&m, len, seed, flags);
	CHECK_EQ(shm_ring_write_msg(&f->w, &m), 0);
	msg_close(&m);
}

/* get: reads the message put with (len, seed, flags); 1 expected. */
static void
get(struct fx *f, size_t len, uint64_t seed, unsigned flags)
{
	struct msg out;
	CHECK_EQ(shm_ring_read_msg(&f->r, &out), 1);
	CHECK(msg_ok(&out, len, seed));
	CHECK_EQ(msg_flags(&out) & (MSGF_MORE | MSGF_COMMAND), flags);
	msg_close(&out);
}

/* peer_word: the ring word at ring position pos, as the reader finds it. */
static uint64_t
peer_word(struct fx *f, uint64_t pos)
{
	uint64_t v;
	memcpy(&v, f->peer_ring + (pos & f->r.mask), sizeof v);
	return v;
}

/* ---- waking early (shm_ring_writer_set_waker) ---- */

struct waker_log {
	struct fx *f;
	int calls, wake;
	const uint8_t *dst; /* where the payload goes (the ring was zero there) */
	size_t len;
	size_t copied;     /* leading payload bytes in place at the first call */
	uint64_t hdr;      /* the record's header word as the reader saw it then */
	uint64_t pos;      /* the record's position */
	uint64_t progress; /* shm_ring_writer_progress at the first call */
};

static void
waker_log_fn(void *arg, int wake)
{
	struct waker_log *g = arg;
	if (g->calls++ > 0)
		return;
	g->wake = wake;
	g->progress = shm_ring_writer_progress(&g->f->w);
	g->hdr = peer_word(g->f, g->pos);
	size_t n = 0;
	while (g->dst && n < g->len && g->dst[n] == 0xa5)
		n++;
	g->copied = n;
}

/* early_write: writes len bytes of 0xa5 (never a byte the fresh ring holds) as one
 * message, logging the waker's calls; returns what shm_ring_publish said after. */
static int
early_write(struct fx *f, struct waker_log *g, size_t len)
{
	memset(g, 0, sizeof *g);
	g->f = f;
	g->len = len;
	g->pos = shm_ring_writer_pos(&f->w);
	g->dst = f->peer_ring + (g->pos & f->w.mask) + SHM_REC_HDR;
	struct msg m;
	CHECK_EQ(msg_init_size(&m, len), 0);
	memset(msg_data(&m), 0xa5, len);
	CHECK_EQ(shm_ring_write_msg(&f->w, &m), 0);
	msg_close(&m);
	return shm_ring_publish(&f->w);
}

/* early_read: the reader, asleep since before the write, wakes and finds the message. */
static void
early_read(struct fx *f, size_t len)
{
	shm_ring_end_sleep(&f->r);
	struct msg out;
	CHECK_EQ(shm_ring_read_msg(&f->r, &out), 1);
	CHECK_EQ(msg_size(&out), len);
	const uint8_t *p = msg_data(&out);
	for (size_t i = 0; i < len; i++)
		if (p[i] != 0xa5)
			TEST_FAIL("byte %zu of %zu garbled", i, len);
	msg_close(&out);
	shm_ring_release(&f->r);
}

/* A sleeping reader is woken once in the middle of a large message's write, when at
 * most SHM_WAKE_AHEAD bytes are left to copy and before the message is visible; its
 * flag is then taken, so the publication wakes nobody. Small messages, an awake
 * reader and a writer without a waker leave the wake-up to shm_ring_publish, and a
 * message that streams wakes the reader at its first fragment. */
static void
test_waker_wakes_a_sleeping_reader_during_a_large_write(void)
{
	struct fx f;
	struct waker_log g;
	fx_init(&f, 4 * MIB, -1);
	shm_ring_writer_set_waker(&f.w, waker_log_fn, &g);

	/* Up to SHM_WAKE_AHEAD: woken before any byte is copied. Beyond (still one
	 * record): woken with SHM_WAKE_AHEAD or fewer bytes to go. */
	size_t sizes[] = {SHM_WAKE_EARLY_MIN, 64 * KIB, SHM_WAKE_AHEAD, 200 * KIB};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t len = sizes[i];
		CHECK(SHM_REC_HDR + len <= f.w.plain_max);
		CHECK_EQ(shm_ring_prepare_sleep(&f.r), 0);
		CHECK_EQ(early_write(&f, &g, len), 0); /* the flag was taken already */
		CHECK_EQ(g.calls, 1);
		CHECK_EQ(g.wake, SHM_WAKE_ENGINE);
		CHECK_EQ(g.hdr, 0); /* not visible yet */
		CHECK(g.copied < len);
		CHECK(g.copied + SHM_WAKE_AHEAD >= len);
		if (len <= SHM_WAKE_AHEAD)
			CHECK_EQ(g.copied, 0);
		early_read(&f, len);
	}

	/* A small message: the publication wakes the reader, as without a waker. */
	CHECK_EQ(shm_ring_prepare_sleep(&f.r), 0);
	CHECK_EQ(early_write(&f, &g, SHM_WAKE_EARLY_MIN - 8), SHM_WAKE_ENGINE);
	CHECK_EQ(g.calls, 0);
	early_read(&f, SHM_WAKE_EARLY_MIN - 8);

	/* A large part with MORE: nothing of its message is visible until the last
	 * part, so it wakes nobody; the last part (small) leaves the wake-up to the
	 * publication, which then finds the reader still asleep. */
	CHECK_EQ(shm_ring_prepare_sleep(&f.r), 0);
	memset(&g, 0, sizeof g);
	g.f = &f;
	struct msg part;
	CHECK_EQ(msg_init_size(&part, 64 * KIB), 0);
	memset(msg_data(&part), 0xa5, 64 * KIB);
	msg_set_flags(&part, MSGF_MORE);
	CHECK_EQ(shm_ring_write_msg(&f.w, &part), 0);
	msg_close(&part);
	CHECK_EQ(g.calls, 0);
	CHECK_EQ(shm_ring_publish(&f.w), 0); /* held back: nothing to show */
	CHECK_EQ(early_write(&f, &g, 100), SHM_WAKE_ENGINE);
	CHECK_EQ(g.calls, 0);
	shm_ring_end_sleep(&f.r);
	struct msg out;
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), 1);
	CHECK_EQ(msg_size(&out), 64 * KIB);
	CHECK(msg_flags(&out) & MSGF_MORE);
	msg_close(&out);
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), 1);
	CHECK_EQ(msg_size(&out), 100);
	msg_close(&out);
	shm_ring_release(&f.r);

	/* An awake reader: nobody to wake. */
	CHECK_EQ(early_write(&f, &g, 64 * KIB), 0);
	CHECK_EQ(g.calls, 0);
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), 1);
	msg_close(&out);
	shm_ring_release(&f.r);

	/* No waker: the publication wakes the reader. */
	shm_ring_writer_set_waker(&f.w, NULL, NULL);
	CHECK_EQ(shm_ring_prepare_sleep(&f.r), 0);
	CHECK_EQ(early_write(&f, &g, 64 * KIB), SHM_WAKE_ENGINE);
	CHECK_EQ(g.calls, 0);
	early_read(&f, 64 * KIB);

	/* A message that streams: woken as its first fragment is published, once. */
	shm_ring_writer_set_waker(&f.w, waker_log_fn, &g);
	size_t big = 3 * f.w.plain_max;
	CHECK_EQ(shm_ring_prepare_sleep(&f.r), 0);
	CHECK_EQ(early_write(&f, &g, big), 0);
	CHECK_EQ(g.calls, 1);
	CHECK_EQ(g.wake, SHM_WAKE_ENGINE);
	CHECK(g.progress - g.pos < big); /* before the whole message was in */
	early_read(&f, big);
	fx_fini(&f);
}

/* Publishing by headers (protocol version 3): a batch stays invisible until published,
 * its first header held back; a multipart message that follows complete messages in a
 * batch is held back from its own first part across their publication; a message
 * rolled back never appears and the next one takes its place; the word after what is
 * published is zero whatever it held. */
static void
test_headers_publish_batches_and_whole_messages(void)
{
	struct fx f;
	struct msg out;
	fx_init(&f, 4 * KIB, -1);
	put(&f, 10, 1, 0);
	put(&f, 20, 2, 0);
	CHECK_EQ(peer_word(&f, 0), 0); /* held */
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), 0);
	CHECK(!shm_ring_readable(&f.r));
	CHECK_EQ(shm_ring_publish(&f.w), 0);
	CHECK(shm_ring_readable(&f.r));
	get(&f, 10, 1, 0);
	get(&f, 20, 2, 0);
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), 0);

	/* A complete message, then the first part of another, published: only the
	 * first shows; the held part shows with its last. */
	put(&f, 30, 3, 0);
	uint64_t run = f.w.wr;
	put(&f, 40, 4, MSGF_MORE);
	CHECK_EQ(peer_word(&f, run), 0);
	CHECK_EQ(shm_ring_publish(&f.w), 0);
	get(&f, 30, 3, 0);
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), 0);
	put(&f, 50, 5, MSGF_MORE);
	CHECK_EQ(shm_ring_publish(&f.w), 0);
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), 0);
	uint64_t end = f.w.wr + SHM_REC_HDR + 64; /* after the next record */
	uint64_t leftover = 0x1234;               /* from a lap before */
	memcpy(f.peer_ring + (end & f.r.mask), &leftover, sizeof leftover);
	put(&f, 60, 6, 0);
	CHECK_EQ(shm_ring_publish(&f.w), 0);
	CHECK_EQ(peer_word(&f, end), 0); /* made zero as it was published */
	get(&f, 40, 4, MSGF_MORE);
	get(&f, 50, 5, MSGF_MORE);
	get(&f, 60, 6, 0);

	/* Rolled back, after a complete message in the same batch and at the head of
	 * one: neither shows, and what is written next does. */
	put(&f, 70, 7, 0);
	put(&f, 80, 8, MSGF_MORE);
	shm_ring_writer_rollback(&f.w);
	put(&f, 90, 9, 0);
	CHECK_EQ(shm_ring_publish(&f.w), 0);
	put(&f, 100, 10, MSGF_MORE);
	shm_ring_writer_rollback(&f.w);
	CHECK_EQ(shm_ring_publish(&f.w), 0);
	get(&f, 70, 7, 0);
	get(&f, 90, 9, 0);
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), 0);
	put(&f, 110, 11, 0);
	CHECK_EQ(shm_ring_publish(&f.w), 0);
	get(&f, 110, 11, 0);
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), 0);
	CHECK_EQ(peer_word(&f, f.r.rd), 0);
	fx_fini(&f);
}

static void
test_multipart_larger_than_ring_streams(void)
{
	/* Part 1 small, part 2 larger than the ring: part 1 must become visible or the
	 * writer would wait forever. */
	struct fx f;
	fx_init(&f, 4 * KIB, -1);
	struct msg a, b, out;
	make_msg(&a, 1000, 1, MSGF_MORE);
	make_msg(&b, 20 * KIB, 2, 0);
	CHECK_EQ(shm_ring_write_msg(&f.w, &a), 0);
	msg_close(&a);
	int got = 0;
	bool written = false;
	for (int spins = 0; got < 2; spins++) {
		CHECK(spins < 1000);
		if (!written) {
			int rc = shm_ring_write_msg(&f.w, &b);
			CHECK(rc == 0 || rc == -EAGAIN);
			written = rc == 0;
		}
		shm_ring_publish(&f.w);
		int rc = shm_ring_read_msg(&f.r, &out);
		CHECK(rc == 0 || rc == 1);
		shm_ring_release(&f.r);
		if (rc == 0)
			continue;
		if (got++ == 0) {
			CHECK(!written); /* part 1 came out while part 2 streamed in */
			CHECK(msg_ok(&out, 1000, 1) && (msg_flags(&out) & MSGF_MORE));
		} else {
			CHECK(msg_ok(&out, 20 * KIB, 2) &&
			      !(msg_flags(&out) & MSGF_MORE));
		}
		msg_close(&out);
	}
	CHECK(written);
	msg_close(&b);
	/* Many parts that fill the ring before the last one: the same. */
	got = 0;
	for (int i = 0; i < 10; i++) {
		make_msg(&a, 1500, (uint64_t)i, i < 9 ? MSGF_MORE : 0);
		for (int spins = 0; shm_ring_write_msg(&f.w, &a) != 0; spins++) {
			CHECK(spins < 1000);
			shm_ring_publish(&f.w);
			while (shm_ring_read_msg(&f.r, &out) == 1) {
				CHECK(msg_ok(&out, 1500, (uint64_t)got++));
				msg_close(&out);
			}
			shm_ring_release(&f.r);
		}
		msg_close(&a);
	}
	shm_ring_publish(&f.w);
	while (shm_ring_read_msg(&f.r, &out) == 1) {
		CHECK(msg_ok(&out, 1500, (uint64_t)got++));
		msg_close(&out);
	}
	CHECK_EQ(got, 10);
	fx_fini(&f);
}

/* ---- wrap-around ---- */

/* move_to: writes and reads filler records until the writer is at ring offset target. */
static void
move_to(struct fx *f, uint64_t target)
{
	uint64_t size = f->w.size;
	struct msg m, out;
	while ((f->w.wr & f->w.mask) != target) {
		uint64_t off = f->w.wr & f->w.mask;
		uint64_t dist = (target - off) & f->w.mask, tail = size - off;
		/* Never past the end of the ring (no PAD), nor past a whole record. */
		uint64_t rec = dist < tail ? dist : tail;
		if (rec > size / 2)
			rec = size / 2;
		make_msg(&m, rec - SHM_REC_HDR, 0, 0);
		pump(f, &m, &out);
		msg_close(&out);
		msg_close(&m);
	}
}

static void
test_wrap_with_pad_at_every_offset(void)
{
	struct fx f;
	const uint64_t size = 4 * KIB;
	fx_init(&f, size, -1);
	static const size_t lens[] = {0,   1,   2,    3,    4,    5,    6,   7,
	                              8,   9,   15,   16,   17,   63,   64,  65,
	                              100, 511, 1000, 1500, 2039, 2040, 3000};
	uint64_t seed = 0, pads = 0;
	for (uint64_t off = 0; off < size; off += 8) {
		for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
			move_to(&f, off);
			uint64_t before = f.r.rd;
			roundtrip(&f, lens[k], ++seed, 0);
			/* A whole record too long for the tail came after a PAD. */
			uint64_t rec = SHM_REC_HDR + ((lens[k] + 7) & ~(size_t)7);
			if (rec <= size / 2 && rec > size - off) {
				CHECK_EQ(f.r.rd - before, (size - off) + rec);
				pads++;
			}
		}
	}
	CHECK(pads > 500);
	fx_fini(&f);
}

/* ---- two threads: large messages, sleeping and waking ---- */

struct duo {
	struct fx f;
	struct signaler to_reader, to_writer; /* eventfds */
	uint64_t count;                       /* frames */
	size_t len;                           /* their size; 0: varied small sizes */
	const size_t *sizes;                  /* or each frame's size, */
	const bool *more;                     /* and MORE flag */
	bool spin;                            /* neither side sleeps */
	bool fenced;         /* the reader fences before it sleeps, the writer does not */
	int burst;           /* writer pauses every burst messages (0: never) */
	int reader_delay_us; /* reader pauses after each batch */
	/* results */
	atomic_int failed;
	uint64_t writer_signals, writer_sleeps, reader_signals, reader_sleeps;
	uint64_t received;
};

static size_t
duo_len(const struct duo *d, uint64_t i)
{
	if (d->sizes)
		return d->sizes[i];
	return d->len ? d->len : (size_t)(i * 7 % 300);
}

static unsigned
duo_flags(const struct duo *d, uint64_t i)
{
	return d->more && d->more[i] ? MSGF_MORE : 0;
}

static void *
duo_writer(void *arg)
{
	struct duo *d = arg;
	struct msg m;
	for (uint64_t i = 0; i < d->count && !atomic_load(&d->failed); i++) {
		if (msg_init_size(&m, duo_len(d, i)) < 0)
			goto fail;
		uint8_t *p = msg_data(&m);
		for (size_t j = 0; j < msg_size(&m); j++)
			p[j] = pattern(i, j);
		msg_set_flags(&m, duo_flags(d, i));
		for (;;) {
			int rc = shm_ring_write_msg(&d->f.w, &m);
			if (rc == 0)
				break;
			if (rc != -EAGAIN)
				goto fail;
			if (shm_ring_publish(&d->f.w)) {
				signaler_raise(&d->to_reader);
				d->writer_signals++;
			}
			if (d->spin) {
				/* Yield: under valgrind, threads take turns, and a pure
				 * spin can keep the reader from ever running. */
				sched_yield();
				continue;
			}
			rc = shm_ring_writer_prepare_sleep(&d->f.w);
			if (rc < 0)
				goto fail;
			if (rc == 1)
				continue;
			d->writer_sleeps++;
			if (signaler_wait(&d->to_writer, 20000) != 0)
				goto fail;
			signaler_drain(&d->to_writer);
			shm_ring_writer_end_sleep(&d->f.w);
		}
		msg_close(&m);
		if (d->burst && i % (uint64_t)d->burst == 0) {
			if (shm_ring_publish(&d->f.w)) {
				signaler_raise(&d->to_reader);
				d->writer_signals++;
			}
			usleep(200);
		}
	}
	if (shm_ring_publish(&d->f.w)) {
		signaler_raise(&d->to_reader);
		d->writer_signals++;
	}
	return NULL;
fail:
	atomic_store(&d->failed, 1);
	return NULL;
}

static void *
duo_reader(void *arg)
{
	struct duo *d = arg;
	struct msg m;
	if (d->fenced)
		CHECK(shm_ring_reader_fence(&d->f.r));
	while (d->received < d->count && !atomic_load(&d->failed)) {
		int rc = shm_ring_read_msg(&d->f.r, &m);
		if (rc == 1) {
			if (!msg_ok(&m, duo_len(d, d->received), d->received) ||
			    msg_flags(&m) != duo_flags(d, d->received))
				goto fail;
			msg_close(&m);
			d->received++;
			continue;
		}
		if (rc < 0)
			goto fail;
		if (shm_ring_release(&d->f.r)) {
			signaler_raise(&d->to_writer);
			d->reader_signals++;
		}
		if (d->reader_delay_us)
			usleep((useconds_t)d->reader_delay_us);
		if (d->spin) {
			sched_yield(); /* as in duo_writer */
			continue;
		}
		rc = shm_ring_prepare_sleep(&d->f.r);
		if (rc < 0)
			goto fail;
		if (rc == 1)
			continue;
		d->reader_sleeps++;
		if (signaler_wait(&d->to_reader, 20000) != 0)
			goto fail;
		signaler_drain(&d->to_reader);
		shm_ring_end_sleep(&d->f.r);
	}
	if (shm_ring_release(&d->f.r)) {
		signaler_raise(&d->to_writer);
		d->reader_signals++;
	}
	return NULL;
fail:
	atomic_store(&d->failed, 1);
	return NULL;
}

static void
duo_run(struct duo *d, uint64_t ring_size)
{
	pthread_t tw, tr;
	fx_init(&d->f, ring_size, -1);
	CHECK_EQ(signaler_init(&d->to_reader), 0);
	CHECK_EQ(signaler_init(&d->to_writer), 0);
	CHECK_EQ(pthread_create(&tr, NULL, duo_reader, d), 0);
	CHECK_EQ(pthread_create(&tw, NULL, duo_writer, d), 0);
	pthread_join(tw, NULL);
	pthread_join(tr, NULL);
	signaler_fini(&d->to_reader);
	signaler_fini(&d->to_writer);
	fx_fini(&d->f);
	CHECK_EQ(atomic_load(&d->failed), 0);
	CHECK_EQ(d->received, d->count);
	/* One signal per sleep at most, in each direction. */
	CHECK(d->writer_signals <= d->reader_sleeps);
	CHECK(d->reader_signals <= d->writer_sleeps);
}

static void
test_64_mib_through_a_1_mib_ring(void)
{
	struct duo d = {.count = 2, .len = SCALE(64, 8) * MIB};
	duo_run(&d, 1 * MIB);
}

static void
test_large_messages_stream_with_two_threads(void)
{
	struct duo d = {.count = 40, .len = 300 * KIB + 5};
	duo_run(&d, 64 * KIB);
	struct duo s = {.count = 40, .len = 300 * KIB + 5, .spin = true};
	duo_run(&s, 64 * KIB);
}

static void
test_multipart_with_large_parts_through_a_small_ring(void)
{
	/* 300 messages of 1 to 7 parts, parts from 0 B to 300 KB, through 64 KiB: held
	 * back whole where they fit, streamed in pieces where they cannot. */
	static const size_t part_sizes[] = {0,     1,     100,    4000, 20000,
	                                    40000, 70000, 300000, 8};
	static size_t sizes[300 * 7];
	static bool more[300 * 7];
	uint64_t n = 0;
	for (int i = 0; i < 300; i++) {
		int parts = 1 + i % 7;
		for (int j = 0; j < parts; j++, n++) {
			sizes[n] = part_sizes[(size_t)(i * 3 + j * 5) % 9];
			more[n] = j + 1 < parts;
		}
	}
	struct duo d = {.count = n, .sizes = sizes, .more = more};
	duo_run(&d, 64 * KIB);
	struct duo s = {.count = n, .sizes = sizes, .more = more, .spin = true};
	duo_run(&s, 64 * KIB);
	struct duo t = {.count = n, .sizes = sizes, .more = more, .reader_delay_us = 50};
	duo_run(&t, 4 * KIB);
}

static void
test_reader_sleeps_and_is_woken_once_per_sleep(void)
{
	/* Bursts with pauses: the reader goes to sleep between them. */
	struct duo d = {.count = SCALE(20000, 2000), .burst = 100};
	duo_run(&d, 64 * KIB);
	printf("     reader: %llu sleeps, writer sent %llu signals\n",
	       (unsigned long long)d.reader_sleeps, (unsigned long long)d.writer_signals);
	CHECK(d.reader_sleeps > 10);
	CHECK(d.writer_signals > 10);
}

/* The same with the reader fenced (shm_ring.h, "Fenced sleeping"): the writer
 * publishes with plain stores, and the reader still never sleeps through a message
 * (a lost wake-up fails the reader's 20 s wait). Bursts of one message make a sleep,
 * and a fence, of nearly every message. */
static void
test_fenced_reader_sleeps_and_is_woken_once_per_sleep(void)
{
	if (!zn_shm_fence_available()) {
		printf("     skipped: no membarrier here\n");
		return;
	}
	/* At least 20 bursts each, also in the quick runs (valgrind). */
	int bursts[] = {100, 1};
	uint64_t counts[] = {SCALE(4000, 2000), SCALE(4000, 400)};
	for (int i = 0; i < 2; i++) {
		struct duo d = {.count = counts[i], .burst = bursts[i], .fenced = true};
		duo_run(&d, 64 * KIB);
		printf("     burst %d: reader %llu sleeps, writer sent %llu signals\n",
		       bursts[i], (unsigned long long)d.reader_sleeps,
		       (unsigned long long)d.writer_signals);
		CHECK(d.reader_sleeps > 10);
		CHECK(d.writer_signals > 10);
		CHECK_EQ(d.f.w.fence, 1); /* it did publish without fences */
	}
}

static void
test_writer_sleeps_on_a_full_ring_and_is_woken_once_per_sleep(void)
{
	/* A slow reader and a small ring: the writer waits for room. */
	struct duo d = {.count = SCALE(20000, 2000), .len = 200, .reader_delay_us = 100};
	duo_run(&d, 4 * KIB);
	printf("     writer: %llu sleeps, reader sent %llu signals\n",
	       (unsigned long long)d.writer_sleeps, (unsigned long long)d.reader_signals);
	CHECK(d.writer_sleeps > 10);
	CHECK(d.reader_signals > 10);
}

struct multi {
	struct fx f;
	uint64_t n;
	atomic_int failed;
};

static size_t
multi_len(uint64_t i, int part)
{
	return (size_t)((i * 3 + (uint64_t)part * 11) % 60);
}

/* multi_writer: n three-part messages, publishing after every part (only message
 * boundaries may become visible), spinning on a full ring. */
static void *
multi_writer(void *arg)
{
	struct multi *mt = arg;
	struct msg m;
	for (uint64_t i = 0; i < mt->n && !atomic_load(&mt->failed); i++) {
		for (int part = 0; part < 3; part++) {
			size_t len = multi_len(i, part);
			if (msg_init_size(&m, len) < 0)
				goto fail;
			uint8_t *p = msg_data(&m);
			for (size_t j = 0; j < len; j++)
				p[j] = pattern(i * 3 + (uint64_t)part, j);
			if (part < 2)
				msg_set_flags(&m, MSGF_MORE);
			int rc;
			while ((rc = shm_ring_write_msg(&mt->f.w, &m)) == -EAGAIN) {
				shm_ring_publish(&mt->f.w);
				if (atomic_load(&mt->failed))
					break;
				sched_yield();
			}
			if (rc != 0)
				goto fail;
			shm_ring_publish(&mt->f.w);
		}
	}
	return NULL;
fail:
	atomic_store(&mt->failed, 1);
	return NULL;
}

static void
test_multipart_is_whole_with_two_threads(void)
{
	static struct multi mt; /* big: keep it off the stack */
	memset(&mt, 0, sizeof mt);
	mt.n = SCALE(50000, 3000);
	fx_init(&mt.f, 4 * KIB, -1);
	pthread_t tw;
	CHECK_EQ(pthread_create(&tw, NULL, multi_writer, &mt), 0);
	struct msg m;
	uint64_t got = 0, torn = 0;
	int part = 0;
	while (got < mt.n && !atomic_load(&mt.failed)) {
		int rc = shm_ring_read_msg(&mt.f.r, &m);
		if (rc < 0)
			break;
		if (rc == 0) {
			if (part != 0)
				torn++; /* a later part was not there */
			shm_ring_release(&mt.f.r);
			sched_yield();
			continue;
		}
		if (!msg_ok(&m, multi_len(got, part), got * 3 + (uint64_t)part) ||
		    !!(msg_flags(&m) & MSGF_MORE) != (part < 2)) {
			msg_close(&m);
			break;
		}
		msg_close(&m);
		if (++part == 3) {
			part = 0;
			got++;
		}
	}
	shm_ring_release(&mt.f.r);
	if (got < mt.n)
		atomic_store(&mt.failed, 1);
	pthread_join(tw, NULL);
	fx_fini(&mt.f);
	CHECK_EQ(got, mt.n);
	CHECK_EQ(torn, 0);
}

/* ---- two processes ---- */

#define FORK_MSGS ((uint64_t)SCALE(1000000, 20000))

static size_t
fork_len(uint64_t seq)
{
	return 8 + (size_t)(seq % 41);
}

/* child_main: receives the memfd and the two eventfds, checks them, and reads
 * FORK_MSGS messages, verifying sequence and content. The exit status says how it
 * went: 0 fine, else the step that failed. */
static int
child_main(int sock)
{
	struct pollfd pfd = {.fd = sock, .events = POLLIN};
	uint64_t ring_size = 0;
	int fds[ZN_SHM_FDS_MAX], n, rc = 0;
	struct shm_ring_region g;
	struct shm_ring_reader r;
	struct msg m;

	if (poll(&pfd, 1, 20000) != 1)
		return 10;
	if (zn_shm_recv_fds(sock, &ring_size, sizeof ring_size, fds, &n) != 8 || n != 3)
		return 11;
	if (zn_shm_eventfd_verify(fds[1]) < 0 || zn_shm_eventfd_verify(fds[2]) < 0) {
		rc = 12;
		goto out_fds;
	}
	if (shm_ring_region_attach(&g, fds[0], ring_size) < 0) { /* checks the seals */
		rc = 13;
		goto out_fds;
	}
	fds[0] = -1; /* the region's now */
	struct signaler to_me = {fds[1]}, to_parent = {fds[2]};
	uint64_t counts[2] = {0, 0}; /* sleeps, signals sent */
	shm_ring_reader_init(&r, &g, 1024);
	for (uint64_t seq = 0; seq < FORK_MSGS;) {
		int got = shm_ring_read_msg(&r, &m);
		if (got == 1) {
			uint64_t s;
			size_t len = fork_len(seq);
			const uint8_t *p = msg_data(&m);
			memcpy(&s, p, sizeof s);
			bool ok = msg_size(&m) == len && s == seq;
			for (size_t j = 8; ok && j < len; j++)
				ok = p[j] == pattern(seq, j);
			msg_close(&m);
			if (!ok) {
				rc = 14;
				break;
			}
			seq++;
			continue;
		}
		if (got < 0) {
			rc = 15;
			break;
		}
		if (shm_ring_release(&r)) {
			signaler_raise(&to_parent);
			counts[1]++;
		}
		got = shm_ring_prepare_sleep(&r);
		if (got == 1)
			continue;
		counts[0]++;
		if (got < 0 || signaler_wait(&to_me, 20000) != 0) {
			rc = 16;
			break;
		}
		signaler_drain(&to_me);
		shm_ring_end_sleep(&r);
	}
	if (shm_ring_release(&r)) {
		signaler_raise(&to_parent);
		counts[1]++;
	}
	if (rc == 0 && write(sock, counts, sizeof counts) != (ssize_t)sizeof counts)
		rc = 17;
	shm_ring_reader_fini(&r);
	shm_ring_region_fini(&g);
out_fds:
	for (int i = 0; i < n; i++)
		zn_close_fd(fds[i]);
	return rc;
}

static void
test_two_processes_one_million_messages(void)
{
	int sv[2];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		int rc = child_main(sv[1]);
		close(sv[1]);
		_exit(rc);
	}
	close(sv[1]);

	/* Made after the fork: the child gets them only through the socket. */
	struct shm_ring_region g;
	int to_child, to_me;
	uint64_t ring_size = 64 * KIB;
	CHECK_EQ(shm_ring_region_create(&g, ring_size), 0);
	CHECK_EQ(zn_shm_eventfd_create(&to_child), 0);
	CHECK_EQ(zn_shm_eventfd_create(&to_me), 0);
	int fds[3] = {g.fd, to_child, to_me};
	CHECK_EQ(zn_shm_send_fds(sv[0], &ring_size, sizeof ring_size, fds, 3), 8);
	struct signaler sig_child = {to_child}, sig_me = {to_me};

	struct shm_ring_writer w;
	shm_ring_writer_init(&w, &g);
	struct msg m;
	bool failed = false;
	uint64_t signals = 0, sleeps = 0;
	for (uint64_t seq = 0; seq < FORK_MSGS && !failed; seq++) {
		size_t len = fork_len(seq);
		CHECK_EQ(msg_init_size(&m, len), 0);
		uint8_t *p = msg_data(&m);
		memcpy(p, &seq, sizeof seq);
		for (size_t j = 8; j < len; j++)
			p[j] = pattern(seq, j);
		for (;;) {
			int rc = shm_ring_write_msg(&w, &m);
			if (rc == 0)
				break;
			if (rc != -EAGAIN) {
				failed = true;
				break;
			}
			if (shm_ring_publish(&w)) {
				signaler_raise(&sig_child);
				signals++;
			}
			rc = shm_ring_writer_prepare_sleep(&w);
			if (rc == 1)
				continue;
			sleeps++;
			if (rc < 0 || signaler_wait(&sig_me, 20000) != 0) {
				failed = true;
				break;
			}
			signaler_drain(&sig_me);
			shm_ring_writer_end_sleep(&w);
		}
		msg_close(&m);
		if (seq % 64 == 63 && shm_ring_publish(&w)) { /* batches of 64 */
			signaler_raise(&sig_child);
			signals++;
		}
	}
	if (shm_ring_publish(&w))
		signaler_raise(&sig_child);

	int status = 0;
	uint64_t child[2] = {0, 0}; /* its sleeps, its signals to us */
	if (failed)
		kill(pid, SIGKILL);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	ssize_t n = read(sv[0], child, sizeof child);
	printf("     writer: %llu sleeps, %llu signals; "
	       "reader: %llu sleeps, %llu signals\n",
	       (unsigned long long)sleeps, (unsigned long long)signals,
	       (unsigned long long)child[0], (unsigned long long)child[1]);
	shm_ring_region_fini(&g);
	close(to_child);
	close(to_me);
	close(sv[0]);
	CHECK(!failed);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK_EQ(n, (ssize_t)sizeof child);
	CHECK(signals <= child[0]); /* one signal per sleep at most, both ways */
	CHECK(child[1] <= sleeps);
}

/* ---- hostile peer ---- */

/* Under ASan or TSan a huge malloc must fail like the C library's, not abort. */
const char *__asan_default_options(void);
const char *__tsan_default_options(void);
const char *
__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}
const char *
__tsan_default_options(void)
{
	return "allocator_may_return_null=1";
}

/* poke_hdr: a header as the peer's writer would store it (SHM_REC_VALID added). */
static void
poke_hdr(struct fx *f, uint64_t off, uint32_t len, uint32_t flags)
{
	uint64_t h = (uint64_t)len | (uint64_t)(flags | SHM_REC_VALID) << 32;
	memcpy(f->peer_ring + (off & f->r.mask), &h, sizeof h);
}

static void
poke_u64(struct fx *f, uint64_t off, uint64_t v)
{
	memcpy(f->peer_ring + (off & f->r.mask), &v, sizeof v);
}

/* poke_end: the zero word that ends what the peer has published. */
static void
poke_end(struct fx *f, uint64_t off)
{
	poke_u64(f, off, 0);
}

/* hostile_read: one read; a message read is dropped. */
static int
hostile_read(struct fx *f)
{
	struct msg m;
	int rc = shm_ring_read_msg(&f->r, &m);
	if (rc == 1)
		msg_close(&m);
	return rc;
}

/* expect_sticky: the read fails with err, and keeps failing. */
static void
expect_sticky(struct fx *f, int err)
{
	CHECK_EQ(hostile_read(f), err);
	poke_end(f, f->r.rd); /* even a sane ring now */
	CHECK_EQ(hostile_read(f), err);
	CHECK_EQ(shm_ring_prepare_sleep(&f->r), err);
}

static void
test_hostile_headers_without_valid(void)
{
	struct fx f;
	/* A length alone, and flags without SHM_REC_VALID. */
	uint64_t words[] = {5, (uint64_t)SHM_REC_MORE << 32 | 3, UINT64_MAX >> 1,
	                    (uint64_t)UINT32_MAX};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		fx_init(&f, 4 * KIB, -1);
		poke_u64(&f, 0, words[i]);
		expect_sticky(&f, -EPROTO);
		fx_fini(&f);
	}

	/* After good messages, at the read position. */
	fx_init(&f, 4 * KIB, -1);
	roundtrip(&f, 100, 1, 0);
	poke_u64(&f, f.r.rd, 100);
	expect_sticky(&f, -EPROTO);
	fx_fini(&f);

	/* A ring of valid records but for the zero that ends them reads whole. */
	fx_init(&f, 4 * KIB, -1);
	for (uint64_t off = 0; off < 4 * KIB - 64; off += 64)
		poke_hdr(&f, off, 56, 0);
	for (int i = 0; i < 63; i++)
		CHECK_EQ(hostile_read(&f), 1);
	CHECK_EQ(hostile_read(&f), 0);
	fx_fini(&f);
}

static void
test_hostile_read_index_ahead_of_write(void)
{
	struct fx f;
	struct msg m;
	int rc;

	/* The writer only looks at the read index when its cached view is full. */
	fx_init(&f, 4 * KIB, -1);
	/* Far ahead of anything written. */
	atomic_store(&f.peer_dir->read, (uint64_t)1 << 40);
	for (int i = 0; i < 100; i++) {
		make_msg(&m, 200, 1, 0);
		rc = shm_ring_write_msg(&f.w, &m);
		msg_close(&m);
		if (rc != 0)
			break;
	}
	CHECK_EQ(rc, -EPROTO);
	make_msg(&m, 1, 1, 0);
	CHECK_EQ(shm_ring_write_msg(&f.w, &m), -EPROTO); /* sticky */
	CHECK_EQ(msg_size(&m), 1);                       /* still the caller's */
	msg_close(&m);
	CHECK_EQ(shm_ring_writer_prepare_sleep(&f.w), -EPROTO);
	fx_fini(&f);

	/* Just ahead of a full ring (full but for the zero word after the records). */
	fx_init(&f, 4 * KIB, -1);
	for (int i = 0; i < 4; i++) {
		make_msg(&m, 1024 - (i < 3 ? 8 : 16), 1, 0);
		CHECK_EQ(shm_ring_write_msg(&f.w, &m), 0);
	}
	CHECK_EQ(f.w.wr, 4 * KIB - 8);
	atomic_store(&f.peer_dir->read, 4 * KIB);
	CHECK_EQ(shm_ring_write_msg(&f.w, &m), -EPROTO);
	msg_close(&m);
	fx_fini(&f);

	/* Misaligned, and more than a ring behind. */
	uint64_t bad[] = {8, 3 * KIB + 4}; /* 3076: unaligned, and ahead of 3048 */
	for (int k = 0; k < 2; k++) {
		fx_init(&f, 4 * KIB, -1);
		/* Records of 1016 bytes: each leaves room for the zero word after it. */
		for (int i = 0; i < 3; i++) /* wr = 3048 */
			roundtrip(&f, 1024 - 16, 1, 0);
		atomic_store(&f.peer_dir->read, k == 0 ? 0 : bad[1]);
		if (k == 0) {
			/* 4064 bytes later, a read index of 0 is a ring behind. */
			for (int i = 0; i < 4; i++)
				roundtrip(&f, 1024 - 16, 1, 0);
			atomic_store(&f.peer_dir->read, bad[0] - 8);
		}
		for (int i = 0; i < 100; i++) {
			make_msg(&m, 1000, 1, 0);
			rc = shm_ring_write_msg(&f.w, &m);
			msg_close(&m);
			if (rc != 0)
				break;
		}
		CHECK_EQ(rc, -EPROTO);
		fx_fini(&f);
	}
}

static void
test_hostile_record_lengths(void)
{
	struct fx f;
	const uint64_t size = 4 * KIB;
	/* Larger than the ring. */
	uint32_t lens[] = {(uint32_t)size, (uint32_t)size * 2, UINT32_MAX,
	                   UINT32_MAX - 7};
	for (int i = 0; i < 4; i++) {
		fx_init(&f, size, -1);
		poke_hdr(&f, 0, lens[i], 0);
		expect_sticky(&f, -EPROTO);
		fx_fini(&f);
	}
	/* Running past the end of the ring (it should have been a PAD). */
	fx_init(&f, size, -1);
	roundtrip(&f, size / 2 - 8, 1, 0);
	/* The reader is 16 bytes short of the end. */
	roundtrip(&f, size / 2 - 8 - 16, 2, 0);
	CHECK_EQ(f.r.rd, size - 16);
	poke_hdr(&f, size - 16, 100, 0);
	poke_end(&f, f.r.rd + 200);
	expect_sticky(&f, -EPROTO);
	fx_fini(&f);
	/* The same for a first fragment and its total field. */
	fx_init(&f, size, -1);
	roundtrip(&f, size / 2 - 8, 1, 0);
	roundtrip(&f, size / 2 - 8 - 8, 2, 0); /* 8 bytes short: no room for the total */
	poke_hdr(&f, size - 8, 0, SHM_REC_FRAG_FIRST);
	poke_end(&f, f.r.rd + 64);
	expect_sticky(&f, -EPROTO);
	fx_fini(&f);
}

static void
test_hostile_lengths_beyond_maxmsgsize(void)
{
	struct fx f;
	/* A whole record one byte over the limit; exactly the limit is fine. */
	fx_init(&f, 4 * KIB, 1000);
	poke_hdr(&f, 0, 1000, 0);
	poke_hdr(&f, 1008, 1001, 0);
	poke_end(&f, 1008 + 1016);
	CHECK_EQ(hostile_read(&f), 1);
	expect_sticky(&f, -EMSGSIZE);
	fx_fini(&f);

	/* An announced total over the limit is refused before anything is allocated:
	 * with every allocation failing, the answer is still -EMSGSIZE. */
	fx_init(&f, 4 * KIB, 1 * MIB);
	poke_hdr(&f, 0, 8, SHM_REC_FRAG_FIRST);
	poke_u64(&f, 8, 1 * MIB + 1);
	poke_end(&f, 24);
	zn_alloc_fail_after(1, 1);
	int rc = hostile_read(&f);
	long failures = zn_alloc_failures();
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc, -EMSGSIZE);
	CHECK_EQ(failures, 0);
	expect_sticky(&f, -EMSGSIZE);
	fx_fini(&f);

	/* With no limit, an absurd total costs what arrives, not what it announces: the
	 * reader holds at most 8 MiB for it (the allocation grows with the fragments). */
	uint64_t totals[] = {UINT64_MAX, (uint64_t)1 << 50};
	for (int i = 0; i < 2; i++) {
		fx_init(&f, 4 * KIB, -1);
		poke_hdr(&f, 0, 8, SHM_REC_FRAG_FIRST);
		poke_u64(&f, 8, totals[i]);
		poke_end(&f, 24);
		CHECK_EQ(hostile_read(&f), 0);
		CHECK(f.r.in_frag && msg_size(&f.r.frag) <= ((size_t)8 << 20));
		CHECK_EQ(f.r.rd, 24);
		fx_fini(&f);
	}
}

static void
test_allocation_failure_while_reading_is_enomem_and_retried(void)
{
	struct fx f;
	fx_init(&f, 4 * KIB, -1);
	struct msg in, out;
	make_msg(&in, 100, 7, 0);
	CHECK_EQ(shm_ring_write_msg(&f.w, &in), 0);
	shm_ring_publish(&f.w);
	zn_alloc_fail_after(1, 0);
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), -ENOMEM);
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), 1);
	CHECK(msg_ok(&out, 100, 7));
	msg_close(&out);
	msg_close(&in);
	/* The same for the first fragment of a long message. */
	make_msg(&in, 5 * KIB, 8, 0);
	CHECK_EQ(shm_ring_write_msg(&f.w, &in), -EAGAIN);
	shm_ring_publish(&f.w);
	zn_alloc_fail_after(1, 0);
	CHECK_EQ(shm_ring_read_msg(&f.r, &out), -ENOMEM);
	zn_alloc_fail_after(0, 0);
	pump(&f, &in, &out);
	CHECK(msg_ok(&out, 5 * KIB, 8));
	msg_close(&out);
	msg_close(&in);
	fx_fini(&f);
}

static void
test_hostile_bad_flags(void)
{
	static const uint32_t bad[] = {
	        0x40,
	        0x80000000u,
	        SHM_REC_MORE | SHM_REC_COMMAND,
	        SHM_REC_PAD | SHM_REC_MORE,
	        SHM_REC_PAD | SHM_REC_FRAG_FIRST,
	        SHM_REC_FRAG_FIRST | SHM_REC_FRAG_MID,
	        SHM_REC_FRAG_MID | SHM_REC_FRAG_LAST,
	        SHM_REC_FRAG_FIRST | SHM_REC_FRAG_LAST,
	        SHM_REC_FRAG_FIRST | SHM_REC_MORE | SHM_REC_COMMAND,
	        SHM_REC_FRAG_MID | SHM_REC_MORE,
	        SHM_REC_FRAG_LAST | SHM_REC_COMMAND,
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct fx f;
		fx_init(&f, 4 * KIB, -1);
		poke_hdr(&f, 0, 16, bad[i]);
		poke_u64(&f, 8, 100);
		poke_end(&f, 64);
		expect_sticky(&f, -EPROTO);
		fx_fini(&f);
	}
}

/* frag_case: writes the records (offset, len, flags, total) and expects err after
 * `good` successful reads returning 0 or 1. */
struct prec {
	uint32_t len, flags;
	uint64_t total;
};

static void
frag_case(const struct prec *recs, int n, int err)
{
	struct fx f;
	fx_init(&f, 4 * KIB, -1);
	uint64_t off = 0;
	for (int i = 0; i < n; i++) {
		poke_hdr(&f, off, recs[i].len, recs[i].flags);
		uint64_t hdr = 8;
		if (recs[i].flags & SHM_REC_FRAG_FIRST) {
			poke_u64(&f, off + 8, recs[i].total);
			hdr = 16;
		}
		off += hdr + ((recs[i].len + 7u) & ~7u);
	}
	poke_end(&f, off);
	int rc;
	for (int i = 0; i < 2 * n + 1; i++)
		if ((rc = hostile_read(&f)) < 0)
			break;
	CHECK_EQ(rc, err);
	expect_sticky(&f, err);
	fx_fini(&f); /* frees a half-built message, if any */
}

static void
test_hostile_fragment_sequences(void)
{
	const uint32_t F = SHM_REC_FRAG_FIRST;
	const uint32_t M = SHM_REC_FRAG_MID, L = SHM_REC_FRAG_LAST;
	/* MID or LAST without FIRST. */
	frag_case((struct prec[]){{8, M, 0}}, 1, -EPROTO);
	frag_case((struct prec[]){{8, L, 0}}, 1, -EPROTO);
	/* FIRST twice; a whole record inside a fragmented message. */
	frag_case((struct prec[]){{8, F, 100}, {8, F, 100}}, 2, -EPROTO);
	frag_case((struct prec[]){{8, F, 100}, {8, 0, 0}}, 2, -EPROTO);
	/* LAST short, LAST long, MID reaching or passing the total. */
	frag_case((struct prec[]){{8, F, 100}, {91, L, 0}}, 2, -EPROTO);
	frag_case((struct prec[]){{8, F, 100}, {93, L, 0}}, 2, -EPROTO);
	frag_case((struct prec[]){{8, F, 100}, {92, M, 0}}, 2, -EPROTO);
	frag_case((struct prec[]){{8, F, 100}, {200, M, 0}}, 2, -EPROTO);
	/* Empty fragments; a total not larger than the first fragment. */
	frag_case((struct prec[]){{8, F, 100}, {0, M, 0}}, 2, -EPROTO);
	frag_case((struct prec[]){{0, F, 100}}, 1, -EPROTO);
	frag_case((struct prec[]){{8, F, 8}}, 1, -EPROTO);
	frag_case((struct prec[]){{8, F, 0}}, 1, -EPROTO);
	/* A correct sequence reads, then the next stray LAST fails. */
	frag_case((struct prec[]){{8, F, 100}, {50, M, 0}, {42, L, 0}, {1, L, 0}}, 4,
	          -EPROTO);
}

static void
test_hostile_pad_in_the_middle(void)
{
	struct fx f;
	/* A PAD that does not reach the end of the ring. */
	fx_init(&f, 4 * KIB, -1);
	poke_hdr(&f, 0, 100, SHM_REC_PAD);
	expect_sticky(&f, -EPROTO);
	fx_fini(&f);
	/* One past it. */
	fx_init(&f, 4 * KIB, -1);
	poke_hdr(&f, 0, 4 * KIB - 8 + 8, SHM_REC_PAD);
	expect_sticky(&f, -EPROTO);
	fx_fini(&f);
	/* A correct PAD is skipped, also in the middle of a fragmented message. */
	fx_init(&f, 4 * KIB, -1);
	roundtrip(&f, 2 * KIB - 8, 1, 0);
	/* The reader is 64 bytes short of the end. */
	roundtrip(&f, 2 * KIB - 64 - 8, 1, 0);
	uint64_t base = f.r.rd;
	CHECK_EQ(base & f.r.mask, 4 * KIB - 64);
	poke_hdr(&f, base, 8, SHM_REC_FRAG_FIRST); /* 24 bytes */
	poke_u64(&f, base + 8, 20);
	poke_hdr(&f, base + 24, 40 - 8, SHM_REC_PAD); /* the 40 left */
	poke_hdr(&f, base + 64, 12, SHM_REC_FRAG_LAST);
	poke_end(&f, base + 64 + 24);
	struct msg m;
	CHECK_EQ(shm_ring_read_msg(&f.r, &m), 1);
	CHECK_EQ(msg_size(&m), 20);
	msg_close(&m);
	CHECK_EQ(hostile_read(&f), 0);
	fx_fini(&f);
}

/* A small xorshift generator, seeded, so a failing case can be replayed. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
test_hostile_random_garbage_never_crashes(void)
{
	static const uint32_t flag_set[] = {
	        0,
	        SHM_REC_MORE,
	        SHM_REC_COMMAND,
	        SHM_REC_PAD,
	        SHM_REC_FRAG_FIRST,
	        SHM_REC_FRAG_FIRST | SHM_REC_MORE,
	        SHM_REC_FRAG_MID,
	        SHM_REC_FRAG_LAST,
	};
	struct fx f;
	const uint64_t size = 4 * KIB;
	uint64_t s = 0x1234567887654321ull, counts[4] = {0};
	fx_init(&f, size, 64 * KIB);
	for (int iter = 0; iter < SCALE(100000, 3000); iter++) {
		/* A few plausible records with random defects after the read position. */
		uint64_t pos = f.r.rd;
		int n = (int)(rnd(&s) % 4) + 1;
		for (int i = 0; i < n; i++) {
			uint64_t x = rnd(&s);
			uint32_t flags = flag_set[x % 8];
			if (x % 97 == 0)
				flags = (uint32_t)(x >> 32);
			uint32_t len;
			switch ((x >> 8) % 6) {
			case 0: len = (uint32_t)(x >> 16) % 64; break;
			case 1: len = (uint32_t)(x >> 16) % (uint32_t)size; break;
			case 2: len = (uint32_t)(size - (pos & (size - 1)) - 8); break;
			case 3: len = (uint32_t)(x >> 20); break;
			default: len = (uint32_t)(x >> 16) % 300; break;
			}
			poke_hdr(&f, pos, len, flags);
			poke_u64(&f, pos + 8, (x >> 3) % 5 == 0 ? x : (x >> 40) % 2000);
			pos += 8 + ((uint64_t)len % size + 7) / 8 * 8;
		}
		uint64_t y = rnd(&s);
		uint64_t wi = y % 5 == 0 ? y : f.r.rd + (pos - f.r.rd) % (size + 16);
		if (y % 7 == 0)
			wi &= ~(uint64_t)7;
		if (wi - f.r.rd < size) /* where what is published ends, if anywhere */
			poke_end(&f, wi & ~(uint64_t)7);
		int rc = hostile_read(&f);
		if (rc == 0 && y % 3 == 0)
			rc = hostile_read(&f);
		if (rc == 1 || rc == 0) {
			counts[rc]++;
			shm_ring_release(&f.r);
			continue;
		}
		CHECK(rc == -EPROTO || rc == -EMSGSIZE || rc == -ENOMEM);
		counts[rc == -EPROTO ? 2 : 3]++;
		/* Start over with a fresh reader and ring. */
		shm_ring_reader_fini(&f.r);
		shm_ring_reader_init(&f.r, &f.a, 64 * KIB);
		atomic_store(&f.peer_dir->read, 0);
	}
	printf("     %llu messages, %llu empty, %llu EPROTO, %llu other\n",
	       (unsigned long long)counts[1], (unsigned long long)counts[0],
	       (unsigned long long)counts[2], (unsigned long long)counts[3]);
	CHECK(counts[1] > 100 && counts[2] > 100);
	fx_fini(&f);
}

/* A streamed message whose FRAG_FIRST announces 64 GiB, with no MAXMSGSIZE: the reader
 * holds 8 MiB for it until more arrives, not 64 GiB (before the fix it allocated the
 * total at once: an abort under ASan, 64 GiB of address space otherwise). The memory is
 * an ordinary allocation of the control block and ring 0. */
static void
test_frag_total_allocates_lazily(void)
{
	const size_t total = SHM_RING_CTL_SIZE + SHM_RING_SIZE_MIN;
	uint8_t *base = aligned_alloc(SHM_RING_LINE, total);
	CHECK(base != NULL);
	memset(base, 0, total);
	struct shm_ring_region g = {
	        .fd = -1, .base = base, .ring_size = SHM_RING_SIZE_MIN};
	struct shm_ring_reader r;
	shm_ring_reader_init(&r, &g, -1);
	uint8_t *ring = base + SHM_RING_CTL_SIZE;
	uint64_t hdr = 8 | (uint64_t)(SHM_REC_FRAG_FIRST | SHM_REC_VALID) << 32,
	         announced = (uint64_t)64 << 30;
	memcpy(ring, &hdr, 8);
	memcpy(ring + 8, &announced, 8);
	memcpy(ring + 16, "12345678", 8);
	struct msg m;
	msg_init(&m);
	CHECK_EQ(shm_ring_read_msg(&r, &m), 0);
	CHECK(r.in_frag);
	CHECK(msg_size(&r.frag) <= ((size_t)8 << 20));
	shm_ring_reader_fini(&r);
	free(base);
}

static const struct test tests[] = {
        {"a 64 GiB FRAG_FIRST allocates lazily", test_frag_total_allocates_lazily},
        {"a memfd is created sealed and sized", test_memfd_created_sealed_and_sized},
        {"verify refuses unsealed, resized and foreign files",
         test_verify_refuses_unsealed_resized_and_foreign_files},
        {"attach refuses a bad control block", test_attach_refuses_a_bad_control_block},
        {"eventfd verify accepts only eventfds",
         test_eventfd_verify_accepts_only_eventfds},
        {"fds pass with SCM_RIGHTS", test_fds_pass_with_scm_rights},
        {"extra fds are closed and refused", test_extra_fds_are_closed_and_refused},
        {"small messages pass with flags", test_small_messages_pass_with_flags},
        {"ring-sized messages pass", test_ring_sized_messages_pass},
        {"write refuses bad requests", test_write_refuses_bad_requests},
        {"multipart appears whole", test_multipart_appears_whole},
        {"headers publish batches and whole messages",
         test_headers_publish_batches_and_whole_messages},
        {"multipart larger than the ring streams",
         test_multipart_larger_than_ring_streams},
        {"wrap with PAD at every offset", test_wrap_with_pad_at_every_offset},
        {"64 MiB through a 1 MiB ring", test_64_mib_through_a_1_mib_ring},
        {"large messages stream with two threads",
         test_large_messages_stream_with_two_threads},
        {"multipart with large parts through a small ring",
         test_multipart_with_large_parts_through_a_small_ring},
        {"reader sleeps and is woken once per sleep",
         test_reader_sleeps_and_is_woken_once_per_sleep},
        {"a waker wakes a sleeping reader during a large write",
         test_waker_wakes_a_sleeping_reader_during_a_large_write},
        {"fenced reader sleeps and is woken once per sleep",
         test_fenced_reader_sleeps_and_is_woken_once_per_sleep},
        {"writer sleeps on a full ring and is woken once per sleep",
         test_writer_sleeps_on_a_full_ring_and_is_woken_once_per_sleep},
        {"multipart is whole with two threads", test_multipart_is_whole_with_two_threads},
        {"two processes: one million messages", test_two_processes_one_million_messages},
        {"hostile: a header without SHM_REC_VALID", test_hostile_headers_without_valid},
        {"hostile: read index ahead of write", test_hostile_read_index_ahead_of_write},
        {"hostile: record lengths", test_hostile_record_lengths},
        {"hostile: lengths beyond maxmsgsize", test_hostile_lengths_beyond_maxmsgsize},
        {"allocation failure while reading is ENOMEM and retried",
         test_allocation_failure_while_reading_is_enomem_and_retried},
        {"hostile: bad flags", test_hostile_bad_flags},
        {"hostile: fragment sequences", test_hostile_fragment_sequences},
        {"hostile: PAD in the middle", test_hostile_pad_in_the_middle},
        {"hostile: random garbage never crashes",
         test_hostile_random_garbage_never_crashes},
        {NULL, NULL}};

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const char *preload = getenv("LD_PRELOAD");
	quick = (preload && strstr(preload, "vgpreload")) || getenv("ZINC_TEST_QUICK");
	return test_main(tests);
}
