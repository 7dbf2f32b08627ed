/*
 * linux_shm.c: shm.h on Linux: memfd_create with file seals, mmap, eventfd, and
 * SCM_RIGHTS descriptor passing. Stateless; any thread may call any function.
 *
 * The seals are what make a shared mapping safe against its other user: a file that
 * cannot shrink can never turn our loads into SIGBUS, and F_SEAL_SEAL freezes the seal
 * set, so no write seal can appear after we checked. The pages are allocated when the
 * file is made (fallocate), so running out of memory shows up as an error at set-up,
 * not as a fault in the middle of a transfer.
 */
#include "platform/shm.h"
#include "platform/fault.h"
#include "platform/net.h"
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/membarrier.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U /* Linux 6.3; older kernels refuse it with EINVAL */
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define SEALS_REQUIRED  (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
#define SEALS_FORBIDDEN (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)

/* Room for more descriptors than we accept, so that extras arrive (and are closed)
 * rather than being cut off with MSG_CTRUNC; anything beyond is dropped by the kernel,
 * which closes it for us. */
#define RECV_FDS_ROOM 16

/* open_memfd: memfd_create, preferring a non-executable file. The fd or -errno. */
static int
open_memfd(const char *name)
{
	unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	if (zn_fault_hit(&zn_fault_fd))
		return -EMFILE;
	int fd = memfd_create(name, flags | MFD_NOEXEC_SEAL);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create(name, flags);
	return fd < 0 ? zn_errno() : fd;
}

/* size_file: gives the file its size with its pages allocated, or (where fallocate is
 * not supported) just its size. 0 or -errno. */
static int
size_file(int fd, off_t size)
{
	int rc;
	do
		rc = fallocate(fd, 0, 0, size);
	while (rc < 0 && errno == EINTR);
	if (rc == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return zn_errno();
	do
		rc = ftruncate(fd, size);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? zn_errno() : 0;
}

int
zn_shm_memfd_create(const char *name, size_t size, int *fd)
{
	int rc;

	*fd = -1;
	if (size == 0 || (uint64_t)size > (uint64_t)INT64_MAX)
		return -EINVAL;
	int f = open_memfd(name != NULL ? name : "zinc-shm");
	if (f < 0)
		return f;
	if ((rc = size_file(f, (off_t)size)) < 0)
		goto fail;
	if (fcntl(f, F_ADD_SEALS, SEALS_REQUIRED) < 0) {
		rc = zn_errno();
		goto fail;
	}
	*fd = f;
	return 0;
fail:
	close(f);
	return rc;
}

int
zn_shm_memfd_verify(int fd, size_t size)
{
	struct stat st;

	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return -EPROTO; /* not a memfd (EINVAL) or not a descriptor */
	if ((seals & SEALS_REQUIRED) != SEALS_REQUIRED || (seals & SEALS_FORBIDDEN) != 0)
		return -EPROTO;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -EPROTO;
	if (st.st_size < 0 || (uint64_t)st.st_size != (uint64_t)size)
		return -EPROTO;
	return 0;
}

int
zn_shm_map(int fd, size_t size, void **addr)
{
	*addr = NULL;
	if (size == 0)
		return -EINVAL;
	/* MAP_POPULATE: page tables filled now, so the hot path takes no faults. */
	int prot = PROT_READ | PROT_WRITE;
	if (zn_fault_hit(&zn_fault_fd))
		return -ENOMEM;
	void *p = mmap(NULL, size, prot, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED)
		return zn_errno();
	*addr = p;
	return 0;
}

int
zn_shm_pool_create(const char *name, size_t size, int *fd, void **addr)
{
	int rc;

	*fd = -1;
	*addr = NULL;
	if (size == 0 || (uint64_t)size > (uint64_t)INT64_MAX)
		return -EINVAL;
	int f = open_memfd(name != NULL ? name : "zinc-pool");
	if (f < 0)
		return f;
	void *p = NULL;
	if ((rc = size_file(f, (off_t)size)) < 0)
		goto fail;
	/* Writable first; the future-write seal then forbids every later writable
	 * mapping (the peer's) while ours stays as it is. */
	if ((rc = zn_shm_map(f, size, &p)) < 0)
		goto fail;
	if (fcntl(f, F_ADD_SEALS, SEALS_REQUIRED | F_SEAL_FUTURE_WRITE) < 0) {
		rc = zn_errno();
		goto fail;
	}
	*fd = f;
	*addr = p;
	return 0;
fail:
	zn_shm_unmap(p, size);
	close(f);
	return rc;
}

int
zn_shm_pool_verify(int fd, size_t max, size_t *size)
{
	struct stat st;

	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & SEALS_REQUIRED) != SEALS_REQUIRED)
		return -EPROTO;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
		return -EPROTO;
	if ((uint64_t)st.st_size > (uint64_t)max || (st.st_size & 4095) != 0)
		return -EPROTO;
	*size = (size_t)st.st_size;
	return 0;
}

int
zn_shm_map_ro(int fd, size_t size, void **addr)
{
	*addr = NULL;
	if (size == 0)
		return -EINVAL;
	if (zn_fault_hit(&zn_fault_fd))
		return -ENOMEM;
	void *p = mmap(NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED)
		return zn_errno();
	*addr = p;
	return 0;
}

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5 */
#endif

int
zn_shm_peer_pidfd(int sock)
{
	/* SO_PEERPIDFD names the peer race-free; before 6.5, its pid at connect time
	 * (a reused pid only makes us think it lives on). */
	int pfd = -1;
	socklen_t len = sizeof pfd;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &pfd, &len) == 0 && pfd >= 0) {
		(void)fcntl(pfd, F_SETFD, FD_CLOEXEC);
		return pfd;
	}
#ifdef SYS_pidfd_open
	struct ucred cr;
	len = sizeof cr;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return zn_errno();
	if (cr.pid <= 0)
		return -ESRCH;
	long fd = syscall(SYS_pidfd_open, (pid_t)cr.pid, 0);
	if (fd < 0)
		return zn_errno();
	(void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	return (int)fd;
#else
	return -ENOSYS;
#endif
}

bool
zn_shm_pidfd_exited(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	int n;
	do
		n = poll(&p, 1, 0);
	while (n < 0 && errno == EINTR);
	return n == 1 && (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

void
zn_shm_unmap(void *addr, size_t size)
{
	if (addr != NULL)
		munmap(addr, size);
}

int
zn_shm_eventfd_create(int *fd)
{
	if (zn_fault_hit(&zn_fault_fd)) {
		*fd = -1;
		return -EMFILE;
	}
	*fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (*fd < 0) {
		int rc = zn_errno();
		*fd = -1;
		return rc;
	}
	return 0;
}

/* fdinfo_says_eventfd: 1 when /proc/self/fdinfo/FD has an eventfd-count line, 0 when it
 * has not, -ENOENT when /proc cannot tell. */
static int
fdinfo_says_eventfd(int fd)
{
	char path[64], buf[512];
	size_t have = 0;
	ssize_t n;

	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -ENOENT;
	do {
		n = read(f, buf + have, sizeof buf - 1 - have);
		if (n > 0)
			have += (size_t)n;
	} while ((n > 0 && have < sizeof buf - 1) || (n < 0 && errno == EINTR));
	close(f);
	buf[have] = '\0';
	return strstr(buf, "\neventfd-count:") != NULL;
}

int
zn_shm_eventfd_verify(int fd)
{
	struct stat st;

	/* An eventfd is an anonymous inode: no file type bits at all. */
	if (fstat(fd, &st) < 0 || (st.st_mode & S_IFMT) != 0)
		return -EPROTO;
	if (fdinfo_says_eventfd(fd) == 0)
		return -EPROTO;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -EPROTO;
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return zn_errno();
	return 0;
}

/* The control-message buffer, aligned for struct cmsghdr. */
union cmsg_room {
	char buf[CMSG_SPACE(sizeof(int) * RECV_FDS_ROOM)];
	struct cmsghdr align;
};

int
zn_shm_send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds)
{
	union cmsg_room room;
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;

	if (len == 0 || len > 4096 || nfds < 0 || nfds > ZN_SHM_FDS_MAX)
		return -EINVAL;
	memset(&mh, 0, sizeof mh);
	iov.iov_base = (void *)buf; /* sendmsg does not write through it */
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&room, 0, sizeof room);
		mh.msg_control = room.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n < 0 ? zn_errno() : (int)n;
}

/* take_fds: moves the descriptors of one control message into fds (up to the room
 * left), closing the ones beyond it; *extra is set when any had to be closed. */
static void
take_fds(struct cmsghdr *c, int *fds, int *nfds, bool *extra)
{
	size_t bytes = c->cmsg_len - CMSG_LEN(0);
	const unsigned char *p = CMSG_DATA(c);
	for (size_t i = 0; i + sizeof(int) <= bytes; i += sizeof(int)) {
		int fd;
		memcpy(&fd, p + i, sizeof fd);
		if (*nfds < ZN_SHM_FDS_MAX) {
			fds[(*nfds)++] = fd;
		} else {
			zn_close_fd(fd);
			*extra = true;
		}
	}
}

int
zn_shm_recv_fds(int sock, void *buf, size_t len, int *fds, int *nfds)
{
	union cmsg_room room;
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;
	bool extra = false;

	*nfds = 0;
	if (len == 0 || len > INT_MAX)
		return -EINVAL;
	memset(&mh, 0, sizeof mh);
	iov.iov_base = buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = room.buf;
	mh.msg_controllen = sizeof room.buf;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return zn_errno(); /* nothing was received, descriptors included */

	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_len < CMSG_LEN(0))
			continue;
		if (c->cmsg_type == SCM_RIGHTS) {
			take_fds(c, fds, nfds, &extra);
#ifdef SCM_PIDFD
		} else if (c->cmsg_type == SCM_PIDFD) {
			int fd; /* only with SO_PASSPIDFD, which we never set: not kept */
			if (c->cmsg_len >= CMSG_LEN(sizeof fd)) {
				memcpy(&fd, CMSG_DATA(c), sizeof fd);
				zn_close_fd(fd);
			}
#endif
		}
	}
	if (extra || (mh.msg_flags & MSG_CTRUNC) || (n == 0 && *nfds > 0)) {
		for (int i = 0; i < *nfds; i++)
			zn_close_fd(fds[i]);
		*nfds = 0;
		return n == 0 ? 0 : -EPROTO;
	}
	return (int)n;
}

/* ---- membarrier: the asymmetric fence of the ring's sleeping handshake ---- */

static int
membarrier_cmd(int cmd)
{
	return (int)syscall(__NR_membarrier, cmd, 0, 0);
}

/* fence_available_state: 0 not asked yet, 1 yes, -1 no. fence_pid: the process that
 * registered, so that a child of fork asks again for itself rather than trust its
 * parent's answer. Asking twice is harmless: both calls are idempotent. */
static _Atomic int fence_available_state;
static _Atomic pid_t fence_pid;

bool
zn_shm_fence_ready(void)
{
	pid_t me = getpid();
	if (atomic_load_explicit(&fence_pid, memory_order_acquire) == me)
		return true;
	if (!zn_shm_fence_available() ||
	    membarrier_cmd(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) != 0)
		return false;
	atomic_store_explicit(&fence_pid, me, memory_order_release);
	return true;
}

bool
zn_shm_fence_available(void)
{
	int st = atomic_load_explicit(&fence_available_state, memory_order_acquire);
	if (st == 0) {
		int mask = membarrier_cmd(MEMBARRIER_CMD_QUERY);
		st = mask >= 0 && (mask & MEMBARRIER_CMD_GLOBAL_EXPEDITED) ? 1 : -1;
		atomic_store_explicit(&fence_available_state, st, memory_order_release);
	}
	return st == 1;
}

int
zn_shm_fence(void)
{
	return membarrier_cmd(MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0 ? 0 : -errno;
}
