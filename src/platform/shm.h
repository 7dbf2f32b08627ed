/*
 * shm.h: the OS calls behind the shm:// transport. A memfd (an anonymous shared-memory
 * file) sealed against resizing, so a peer that maps it can never be hit by SIGBUS; its
 * mapping; the eventfds the two sides wake each other with; and the passing of those
 * descriptors over a Unix-domain stream socket with SCM_RIGHTS.
 *
 * Every function returns 0 (or a byte count) on success and a negative errno on
 * failure, retries EINTR, and reports EWOULDBLOCK as -EAGAIN. Descriptors made or
 * received here are close-on-exec. Stateless: any thread may call any function; none
 * blocks (the sockets are expected to be nonblocking). Close descriptors with
 * zn_close_fd (net.h).
 */
#ifndef ZINC_PLATFORM_SHM_H
#define ZINC_PLATFORM_SHM_H

#include <stdbool.h>
#include <stddef.h>

/* The most descriptors one zn_shm_send_fds / zn_shm_recv_fds carries. */
#define ZN_SHM_FDS_MAX 5

/* zn_shm_memfd_create: a new memfd named name (shown in /proc/PID/maps; may be NULL)
 * of exactly size bytes, zero-filled, sealed with F_SEAL_SHRINK | F_SEAL_GROW |
 * F_SEAL_SEAL (and not executable where the kernel knows MFD_NOEXEC_SEAL). On 0 *fd is
 * the caller's; on failure it is -1: -EINVAL (size 0 or too large for off_t), -EMFILE,
 * -ENFILE, -ENOMEM, -ENOSPC, -ENOSYS (no memfd_create on this kernel). */
int zn_shm_memfd_create(const char *name, size_t size, int *fd);

/* zn_shm_memfd_verify: checks that fd, received from a peer, is a memfd of exactly size
 * bytes whose seals include F_SEAL_SHRINK, F_SEAL_GROW and F_SEAL_SEAL and exclude the
 * write seals (so it can be mapped writable and nobody can change that afterwards).
 * 0, or -EPROTO when it is not such a file. The fd stays the caller's either way. */
int zn_shm_memfd_verify(int fd, size_t size);

/* zn_shm_map: maps size bytes of fd shared, readable and writable. On 0 *addr is the
 * caller's mapping (zn_shm_unmap); the fd may be closed independently. -ENOMEM, -EPERM
 * (write-sealed file), -EINVAL, -ENODEV. */
int zn_shm_map(int fd, size_t size, void **addr);

/* zn_shm_unmap: undoes zn_shm_map. NULL addr is ignored. */
void zn_shm_unmap(void *addr, size_t size);

/* zn_shm_pool_create: a memfd of exactly size bytes (its pages allocated), mapped shared
 * and writable into *addr, then sealed against resizing and against any further
 * writable mapping (F_SEAL_FUTURE_WRITE), so that a peer it is passed to can only map it
 * read-only. On 0 *fd and *addr are the caller's (zn_shm_unmap, zn_close_fd); on failure
 * both are unset (-1 / NULL): -EINVAL, -EMFILE, -ENOMEM, -ENOSPC, -ENOSYS. */
int zn_shm_pool_create(const char *name, size_t size, int *fd, void **addr);

/* zn_shm_pool_verify: checks that fd, received from a peer, is a memfd sealed against
 * shrinking, growing and new seals (so it can never turn a load into SIGBUS) whose size
 * is a positive multiple of 4096 and at most max; *size is that size. 0 or -EPROTO. */
int zn_shm_pool_verify(int fd, size_t max, size_t *size);

/* zn_shm_map_ro: maps size bytes of fd shared and read-only. As zn_shm_map. */
int zn_shm_map_ro(int fd, size_t size, void **addr);

/* zn_shm_peer_pidfd: a pidfd for the process at the other end of the connected Unix
 * socket sock (readable once that process has exited). The fd, or a negative errno
 * (-ENOSYS on kernels without pidfds, -ESRCH when the peer's pid is not visible). */
int zn_shm_peer_pidfd(int sock);

/* zn_shm_pidfd_exited: whether the process behind pidfd has exited. Never blocks. */
bool zn_shm_pidfd_exited(int pidfd);

/* zn_shm_eventfd_create: a new nonblocking eventfd with a zero counter. On 0 *fd is the
 * caller's; on failure it is -1: -EMFILE, -ENFILE, -ENOMEM. Raise, drain and wait on it
 * with the signaler functions (signaler.h) on a struct signaler holding it. */
int zn_shm_eventfd_create(int *fd);

/* zn_shm_eventfd_verify: checks that fd, received from a peer, is an eventfd, and makes
 * it nonblocking (the flag lives in the open file, which the peer shares), so that
 * raising or draining it can never block this process. 0, or -EPROTO when it is some
 * other kind of file. Where /proc is not mounted, any anonymous-inode file passes. */
int zn_shm_eventfd_verify(int fd);

/* zn_shm_send_fds: sends len bytes (1 <= len <= 4096) from buf with nfds descriptors
 * (0 <= nfds <= ZN_SHM_FDS_MAX) attached, over the connected Unix stream socket sock.
 * Returns the bytes sent: the descriptors went with the first of them, so when fewer
 * than len were sent the caller sends the rest without descriptors (nfds 0). The
 * descriptors stay the caller's: the peer receives duplicates. -EAGAIN when the socket
 * buffer is full (nothing was sent), -EINVAL for bad arguments, or the connection's
 * error (-EPIPE, -ECONNRESET, ...). Never raises SIGPIPE. */
int zn_shm_send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds);

/* zn_shm_recv_fds: receives up to len bytes (1 <= len <= INT_MAX) from the Unix stream
 * socket sock into buf, and the descriptors attached to them into fds[0..*nfds), which
 * has room for ZN_SHM_FDS_MAX. Returns the bytes received (>0) with *nfds set and the
 * descriptors the caller's (close-on-exec); 0 at end of stream (*nfds 0); -EAGAIN when
 * nothing is there; -EPROTO when the peer attached more than ZN_SHM_FDS_MAX descriptors
 * (the bytes are consumed and every descriptor that arrived is closed); or the
 * connection's error. On any failure *nfds is 0 and no received descriptor is left
 * open. */
int zn_shm_recv_fds(int sock, void *buf, size_t len, int *fds, int *nfds);

/* zn_shm_fence_ready: whether this process may publish to a peer's ring without a
 * store-load fence of its own, relying on the peer's zn_shm_fence: Linux's membarrier
 * MEMBARRIER_CMD_GLOBAL_EXPEDITED, for which the process registers on the first call
 * (once per process, a child of fork included; thread-safe). false where that is not
 * available (old kernels, seccomp). */
bool zn_shm_fence_ready(void);

/* zn_shm_fence_available: whether zn_shm_fence works here (asked once). */
bool zn_shm_fence_available(void);

/* zn_shm_fence: a full memory barrier on every CPU that runs a thread of a process
 * that is zn_shm_fence_ready (the others pass through one when they are scheduled).
 * Microseconds when such a thread is running elsewhere (an inter-processor interrupt):
 * for a reader about to sleep, never per message. 0, or -errno. */
int zn_shm_fence(void);

#endif
