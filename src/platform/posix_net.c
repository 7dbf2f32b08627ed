/*
 * posix_net.c: the stream-socket calls of net.h on POSIX systems (Linux first; the
 * few non-POSIX calls have fallbacks under #ifdef). Stateless: any thread may call
 * any function. Only the name look-ups can block.
 */
#include "platform/alloc.h"
#include "platform/fault.h"
#include "platform/net.h"
#include "platform/platform.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* SO_NOSIGPIPE is set on every socket instead */
#endif

static bool
is_ip(int family)
{
	return family == AF_INET || family == AF_INET6;
}

/* setopt_int: a best-effort integer socket option; failure is ignored on purpose. */
static void
setopt_int(int fd, int level, int name, int value)
{
	(void)setsockopt(fd, level, name, &value, sizeof value);
}

#if !defined(SOCK_NONBLOCK) || !defined(SOCK_CLOEXEC)
/* set_fd_flags: nonblocking and close-on-exec where socket() cannot do it at once. */
static int
set_fd_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return zn_errno();
	return 0;
}
#endif

/* new_fd: common set-up of a socket we created or accepted. */
static int
new_fd(int fd)
{
#if !defined(SOCK_NONBLOCK) || !defined(SOCK_CLOEXEC)
	int rc = set_fd_flags(fd);
	if (rc < 0) {
		close(fd);
		return rc;
	}
#endif
#ifdef SO_NOSIGPIPE
	setopt_int(fd, SOL_SOCKET, SO_NOSIGPIPE, 1);
#endif
	return fd;
}

/* open_socket: a nonblocking, close-on-exec stream socket; the fd or -errno. */
static int
open_socket(int family)
{
	if (zn_fault_hit(&zn_fault_fd))
		return -EMFILE;
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
	int fd = socket(family, SOCK_STREAM, 0);
#endif
	if (fd < 0)
		return zn_errno();
	return new_fd(fd);
}

/* set_device: SO_BINDTODEVICE, skipped when fd is already bound to that device (an
 * accepted socket inherits its listener's, and changing it may need privilege). */
static int
set_device(int fd, const char *dev)
{
#ifdef SO_BINDTODEVICE
	char cur[IFNAMSIZ + 1];
	socklen_t len = IFNAMSIZ;
	size_t n = strlen(dev);
	if (n >= IFNAMSIZ)
		return -ENODEV; /* the kernel would silently truncate it */
	memset(cur, 0, sizeof cur);
	if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, cur, &len) == 0 &&
	    strcmp(cur, dev) == 0)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)n) < 0)
		return zn_errno();
	return 0;
#else
	(void)fd;
	(void)dev;
	return -EOPNOTSUPP;
#endif
}

/* set_pre_connect: the options that must precede bind or connect to take effect (the
 * buffer sizes decide TCP's window scaling). Only the device can fail. */
static int
set_pre_connect(int fd, const struct zn_tcp_opts *o)
{
	if (o->tos != 0) {
		setopt_int(fd, IPPROTO_IP, IP_TOS, o->tos);
#ifdef IPV6_TCLASS
		setopt_int(fd, IPPROTO_IPV6, IPV6_TCLASS, o->tos);
#endif
	}
	if (o->sndbuf >= 0)
		setopt_int(fd, SOL_SOCKET, SO_SNDBUF, o->sndbuf);
	if (o->rcvbuf >= 0)
		setopt_int(fd, SOL_SOCKET, SO_RCVBUF, o->rcvbuf);
	if (o->bindtodevice && o->bindtodevice[0])
		return set_device(fd, o->bindtodevice);
	return 0;
}

int
zn_tune_tcp(int fd, const struct zn_tcp_opts *o)
{
	setopt_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	if (!o)
		return 0;
	if (o->keepalive != -1) {
		setopt_int(fd, SOL_SOCKET, SO_KEEPALIVE, o->keepalive);
		if (o->keepalive) {
#ifdef TCP_KEEPCNT
			if (o->keepalive_cnt != -1)
				setopt_int(fd, IPPROTO_TCP, TCP_KEEPCNT,
				           o->keepalive_cnt);
#endif
#ifdef TCP_KEEPIDLE
			if (o->keepalive_idle != -1)
				setopt_int(fd, IPPROTO_TCP, TCP_KEEPIDLE,
				           o->keepalive_idle);
#endif
#ifdef TCP_KEEPINTVL
			if (o->keepalive_intvl != -1)
				setopt_int(fd, IPPROTO_TCP, TCP_KEEPINTVL,
				           o->keepalive_intvl);
#endif
		}
	}
#ifdef TCP_USER_TIMEOUT
	if (o->maxrt > 0)
		setopt_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, o->maxrt);
#endif
	return set_pre_connect(fd, o);
}

int
zn_listen(const struct zn_sockaddr *a, int backlog, const struct zn_tcp_opts *o, int *fd)
{
	int family = a->u.sa.sa_family;
	int s, rc;

	*fd = -1;
	if ((s = open_socket(family)) < 0)
		return s;
	if (is_ip(family)) {
		setopt_int(s, SOL_SOCKET, SO_REUSEADDR, 1);
		if (family == AF_INET6)
			setopt_int(s, IPPROTO_IPV6, IPV6_V6ONLY, 0);
		if (o && (rc = set_pre_connect(s, o)) < 0)
			goto fail;
	}
	if (bind(s, &a->u.sa, a->len) < 0 || listen(s, backlog) < 0) {
		rc = zn_errno();
		goto fail;
	}
	*fd = s;
	return 0;
fail:
	close(s);
	return rc;
}

int
zn_adopt_listener(int fd, bool ip)
{
	int type = 0, listening = 0;
	socklen_t len = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return -EINVAL; /* not a socket (ENOTSOCK) or not a descriptor (EBADF) */
	len = sizeof listening;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 ||
	    type != SOCK_STREAM || !listening)
		return -EINVAL;
	struct zn_sockaddr local;
	int rc = zn_local_address(fd, &local);
	if (rc < 0)
		return rc;
	if (ip ? !is_ip(local.u.sa.sa_family) : local.u.sa.sa_family != AF_UNIX)
		return -EINVAL;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return zn_errno();
	return 0;
}

int
zn_local_address(int fd, struct zn_sockaddr *out)
{
	memset(out, 0, sizeof *out);
	out->len = sizeof out->u;
	if (getsockname(fd, &out->u.sa, &out->len) < 0)
		return zn_errno();
	return 0;
}

/* accept_skip: errors that concern one queued connection only (it died before we took
 * it, accept(2)), so the next one may be fine. */
static bool
accept_skip(int e)
{
	switch (e) {
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
	case ENETDOWN:
	case ENETUNREACH:
	case EHOSTDOWN:
	case EHOSTUNREACH:
#ifdef ENONET
	case ENONET:
#endif
		return true;
	default: return false;
	}
}

int
zn_accept(int lfd, int *fd, struct zn_sockaddr *peer)
{
	struct zn_sockaddr tmp;
	struct zn_sockaddr *p = peer ? peer : &tmp;
	int s;

	if (zn_fault_hit(&zn_fault_fd)) {
		*fd = -1;
		return -EMFILE;
	}
	for (;;) {
		memset(p, 0, sizeof *p);
		p->len = sizeof p->u;
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
		s = accept4(lfd, &p->u.sa, &p->len, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
		s = accept(lfd, &p->u.sa, &p->len);
#endif
		if (s >= 0)
			break;
		if (!accept_skip(errno)) {
			*fd = -1;
			return zn_errno();
		}
	}
	if ((s = new_fd(s)) < 0) {
		*fd = -1;
		return s;
	}
	*fd = s;
	return 0;
}

int
zn_connect(const struct zn_sockaddr *dst, const struct zn_sockaddr *src,
           const struct zn_tcp_opts *o, int *fd)
{
	int family = dst->u.sa.sa_family;
	int s, rc;

	*fd = -1;
	if ((s = open_socket(family)) < 0)
		return s;
	if (is_ip(family)) {
		if (family == AF_INET6)
			setopt_int(s, IPPROTO_IPV6, IPV6_V6ONLY, 0);
		if ((rc = zn_tune_tcp(s, o)) < 0)
			goto fail;
	}
	if (src) {
		setopt_int(s, SOL_SOCKET, SO_REUSEADDR, 1);
		if (bind(s, &src->u.sa, src->len) < 0) {
			rc = zn_errno();
			goto fail;
		}
	}
	if (connect(s, &dst->u.sa, dst->len) == 0) {
		*fd = s;
		return 0;
	}
	rc = zn_errno();
	/* After EINTR the connection goes on asynchronously, as after EINPROGRESS. */
	if (rc == -EINPROGRESS || rc == -EINTR) {
		*fd = s;
		return -EINPROGRESS;
	}
fail:
	close(s);
	*fd = s; /* closed: its number, for the monitor's CLOSED event */
	return rc;
}

int
zn_connect_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return zn_errno();
	if (err == EWOULDBLOCK)
		err = EAGAIN;
	return -err;
}

size_t
zn_stream_write_limit(int fd)
{
	int domain = 0, proto = 0;
	socklen_t len = sizeof domain;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
		return 0;
	if (domain == AF_UNIX)
		return ZN_UNIX_WRITE_MAX;
	len = sizeof proto;
	if ((domain != AF_INET && domain != AF_INET6) ||
	    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) < 0 ||
	    proto != IPPROTO_TCP)
		return 0;
	return ZN_TCP_WRITE_MAX;
}

/* sndbuf_room: half of fd's SO_SNDBUF (see zn_stream_queue_room), 0 if unknown. */
static size_t
sndbuf_room(int fd)
{
	int v = 0;
	socklen_t len = sizeof v;
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &len) < 0 || v <= 0)
		return 0;
	return (size_t)v / 2;
}

size_t
zn_stream_queue_room(int fd)
{
	int domain = 0;
	socklen_t len = sizeof domain;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_UNIX)
		return 0;
	return sndbuf_room(fd);
}

size_t
zn_stream_queue_grow(int fd, size_t size)
{
	size_t room = sndbuf_room(fd);
	if (room >= size)
		return room; /* holds two already: never lowered */
	setopt_int(fd, SOL_SOCKET, SO_SNDBUF,
	           size > INT_MAX / 2 ? INT_MAX / 2 : (int)size);
	return sndbuf_room(fd);
}

ssize_t
zn_read(int fd, void *buf, size_t len)
{
	ssize_t n;
	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? zn_errno() : n;
}

ssize_t
zn_recv_peek(int fd, void *buf, size_t len)
{
	ssize_t n;
	do
		n = recv(fd, buf, len, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n < 0 ? zn_errno() : n;
}

void
zn_shutdown(int fd)
{
	(void)shutdown(fd, SHUT_RDWR);
}

ssize_t
zn_writev(int fd, const struct iovec *iov, int n)
{
	struct msghdr mh;
	ssize_t r;

	if (n <= 0)
		return 0;
	memset(&mh, 0, sizeof mh);
	mh.msg_iov = (struct iovec *)iov; /* sendmsg does not write through it */
	mh.msg_iovlen = n > IOV_MAX ? IOV_MAX : n;
	do
		r = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r < 0 ? zn_errno() : r;
}

void
zn_close_fd(int fd)
{
	/* Not retried on EINTR: on Linux the descriptor is gone either way. */
	if (fd >= 0)
		close(fd);
}

int
zn_peer_uid(int fd, uid_t *uid, gid_t *gid, pid_t *pid)
{
#ifdef SO_PEERCRED
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return zn_errno();
	if (uid)
		*uid = cr.uid;
	if (gid)
		*gid = cr.gid;
	if (pid)
		*pid = cr.pid;
	return 0;
#else
	(void)fd;
	(void)uid;
	(void)gid;
	(void)pid;
	return -EOPNOTSUPP;
#endif
}

bool
zn_peer_same_user(int fd)
{
	uid_t uid = 0;
	return zn_peer_uid(fd, &uid, NULL, NULL) == 0 && uid == geteuid();
}

/* db_buffer_size: a buffer for getpwuid_r / getgrgid_r (sysconf's hint, or 16 KiB). */
static size_t
db_buffer_size(int name)
{
	long n = sysconf(name);
	return n > 0 && n < (1 << 20) ? (size_t)n : 16384;
}

/* group_lists: the group's member list holds name. A group whose entry does not fit
 * the buffer (ERANGE) counts as not listing it. */
static bool
group_lists(gid_t gid, const char *name, char *buf, size_t len)
{
	struct group gr, *res = NULL;
	if (getgrgid_r(gid, &gr, buf, len, &res) != 0 || !res)
		return false;
	for (char **m = gr.gr_mem; m && *m; m++)
		if (strcmp(*m, name) == 0)
			return true;
	return false;
}

int
zn_user_in_group(uid_t uid, gid_t gid)
{
	size_t plen = db_buffer_size(_SC_GETPW_R_SIZE_MAX);
	size_t glen = db_buffer_size(_SC_GETGR_R_SIZE_MAX);
	char *pbuf = zn_malloc(plen), *gbuf = zn_malloc(glen);
	int rc = -ENOMEM;
	if (pbuf && gbuf) {
		struct passwd pw, *res = NULL;
		rc = 0;
		if (getpwuid_r(uid, &pw, pbuf, plen, &res) == 0 && res)
			rc = group_lists(gid, pw.pw_name, gbuf, glen);
	}
	zn_free(pbuf);
	zn_free(gbuf);
	return rc;
}

int
zn_unlink(const char *path)
{
	return unlink(path) < 0 ? zn_errno() : 0;
}

int
zn_peer_cred_string(int fd, char *buf, size_t len)
{
	uid_t uid = 0;
	gid_t gid = 0;
	pid_t pid = 0;
	int rc = zn_peer_uid(fd, &uid, &gid, &pid);
	if (rc < 0)
		return rc;
	snprintf(buf, len, "localhost:%u:%u:%d", (unsigned)uid, (unsigned)gid, (int)pid);
	return 0;
}

static int
private_dir_check(const char *dir)
{
	struct stat st;
	if (lstat(dir, &st) < 0)
		return zn_errno();
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
		return -EPERM;
	return 0;
}

int
zn_private_dir(char *dir, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n = xdg && xdg[0] == '/'
	                ? snprintf(dir, len, "%s/zinc", xdg)
	                : snprintf(dir, len, "/tmp/zinc-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return zn_errno();
	return private_dir_check(dir);
}

int
zn_unix_alive(const struct zn_sockaddr *a)
{
	if (zn_fault_hit(&zn_fault_fd))
		return -EMFILE;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return zn_errno();
	int rc = connect(fd, &a->u.sa, a->len);
	int err = rc < 0 ? errno : 0;
	close(fd);
	if (rc == 0 || err == EAGAIN)
		return 1; /* accepted, or a full backlog: alive either way */
	if (err == ECONNREFUSED || err == ENOENT)
		return 0;
	return -err;
}

int
zn_file_id(const char *path, uint64_t *dev, uint64_t *ino)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return zn_errno();
	*dev = (uint64_t)st.st_dev;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

int
zn_rmdir(const char *path)
{
	return rmdir(path) < 0 ? zn_errno() : 0;
}

int
zn_mkdtemp(char *dir, size_t dirlen)
{
	static const char *const vars[] = {"TMPDIR", "TEMPDIR", "TMP", NULL};
	const char *base = "/tmp";
	struct stat st;
	size_t bl;
	int n;

	for (const char *const *v = vars; *v; v++) {
		const char *d = getenv(*v);
		if (d && d[0] && stat(d, &st) == 0 && S_ISDIR(st.st_mode)) {
			base = d;
			break;
		}
	}
	bl = strlen(base);
	n = snprintf(dir, dirlen, "%s%stmpXXXXXX", base, base[bl - 1] == '/' ? "" : "/");
	if (n < 0 || (size_t)n >= dirlen)
		return -ENAMETOOLONG;
	if (!mkdtemp(dir))
		return zn_errno();
	return 0;
}

/* unix_to_string: "ipc://path" or "ipc://@name"; the name ends at the address length
 * or the first NUL, whichever comes first (sun_path need not be NUL-terminated). */
static int
unix_to_string(const struct zn_sockaddr *a, char *buf, size_t len)
{
	const size_t off = offsetof(struct sockaddr_un, sun_path);
	const char *p = a->u.un.sun_path;
	size_t plen = a->len > off ? a->len - off : 0;
	size_t n, total;
	bool abstract;

	if (plen > sizeof a->u.un.sun_path)
		plen = sizeof a->u.un.sun_path;
	abstract = plen >= 2 && p[0] == '\0' && p[1] != '\0';
	if (abstract) {
		p++;
		plen--;
	}
	n = strnlen(p, plen);
	total = strlen("ipc://") + (abstract ? 1 : 0) + n;
	if (total >= len)
		return -ENOSPC;
	memcpy(buf, "ipc://", 6);
	if (abstract)
		buf[6] = '@';
	memcpy(buf + total - n, p, n);
	buf[total] = '\0';
	return (int)total;
}

int
zn_sockaddr_to_string(const struct zn_sockaddr *a, char *buf, size_t len)
{
	char host[NI_MAXHOST];
	int family = a->u.sa.sa_family;
	socklen_t sl;
	int n;

	if (family == AF_UNIX)
		return unix_to_string(a, buf, len);
	if (!is_ip(family))
		return -EAFNOSUPPORT;
	sl = family == AF_INET6 ? sizeof a->u.in6 : sizeof a->u.in4;
	if (getnameinfo(&a->u.sa, sl, host, sizeof host, NULL, 0, NI_NUMERICHOST) != 0)
		return -EINVAL;
	if (family == AF_INET6)
		n = snprintf(buf, len, "tcp://[%s]:%u", host,
		             (unsigned)zn_sockaddr_port(a));
	else
		n = snprintf(buf, len, "tcp://%s:%u", host,
		             (unsigned)zn_sockaddr_port(a));
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

/* parse_zone: an RFC 4007 zone, an interface name or a nonzero index. 0 or -EINVAL. */
static int
parse_zone(const char *z, uint32_t *scope)
{
	char *end;
	unsigned long long v;

	if (!z[0])
		return -EINVAL;
	if (isalpha((unsigned char)z[0])) {
		*scope = if_nametoindex(z);
		return *scope ? 0 : -EINVAL;
	}
	/* Decimal digits only, no more than UINT32_MAX has (ten), so that strtoull
	 * cannot overflow and no errno need be looked at. */
	if (!isdigit((unsigned char)z[0]) || strspn(z, "0123456789") != strlen(z) ||
	    strlen(z) > 10)
		return -EINVAL;
	v = strtoull(z, &end, 10);
	if (*end || v == 0 || v > UINT32_MAX)
		return -EINVAL;
	*scope = (uint32_t)v;
	return 0;
}

/* gai_to_errno: a getaddrinfo failure as a negative errno. */
static int
gai_to_errno(int rc)
{
	switch (rc) {
	case EAI_MEMORY: return -ENOMEM;
	case EAI_AGAIN: return -EAGAIN;
	case EAI_SYSTEM: return errno ? zn_errno() : -EHOSTUNREACH;
	default: return -EHOSTUNREACH;
	}
}

int
zn_ip_literal(const char *text, uint8_t out[16])
{
	if (inet_pton(AF_INET, text, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, text, out) == 1)
		return 16;
	return 0;
}

int
zn_resolve_host(const char *host, bool ipv6, bool passive, struct zn_sockaddr *out)
{
	char name[NI_MAXHOST];
	const char *pct = strrchr(host, '%');
	size_t hl = pct ? (size_t)(pct - host) : strlen(host);
	struct addrinfo hints, *res = NULL;
	uint32_t scope = 0;
	int rc;

	if (hl >= sizeof name)
		return -EHOSTUNREACH; /* longer than any host name */
	memcpy(name, host, hl);
	name[hl] = '\0';
	if (pct && (rc = parse_zone(pct + 1, &scope)) < 0)
		return rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = ipv6 ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM; /* one answer per address, not per protocol */
	hints.ai_flags = passive ? AI_PASSIVE | AI_NUMERICHOST : 0;
#ifdef AI_V4MAPPED
	if (ipv6)
		hints.ai_flags |= AI_V4MAPPED;
#endif
	rc = getaddrinfo(name, NULL, &hints, &res);
#ifdef AI_V4MAPPED
	if (rc == EAI_BADFLAGS && ipv6) {
		hints.ai_flags &= ~AI_V4MAPPED;
		rc = getaddrinfo(name, NULL, &hints, &res);
	}
#endif
	if (rc != 0)
		return gai_to_errno(rc);
	if (!res || res->ai_addrlen > sizeof out->u) {
		if (res)
			freeaddrinfo(res);
		return -EHOSTUNREACH;
	}
	memset(out, 0, sizeof *out);
	memcpy(&out->u, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	freeaddrinfo(res);
	if (pct && out->u.sa.sa_family == AF_INET6)
		out->u.in6.sin6_scope_id = scope;
	zn_sockaddr_set_port(out, 0);
	return 0;
}

int
zn_resolve_interface(const char *ifname, bool ipv6, struct zn_sockaddr *out)
{
	const int want = ipv6 ? AF_INET6 : AF_INET;
	struct ifaddrs *ifa = NULL;
	int rc = -ENODEV;

	if (getifaddrs(&ifa) < 0) {
		rc = zn_errno();
		return rc == -ENOMEM ? rc : -ENODEV;
	}
	for (const struct ifaddrs *p = ifa; p; p = p->ifa_next) {
		if (!p->ifa_addr || p->ifa_addr->sa_family != want ||
		    strcmp(p->ifa_name, ifname) != 0)
			continue;
		memset(out, 0, sizeof *out);
		out->len = want == AF_INET6 ? sizeof out->u.in6 : sizeof out->u.in4;
		memcpy(&out->u, p->ifa_addr, out->len);
		zn_sockaddr_set_port(out, 0);
		rc = 0;
		break;
	}
	freeifaddrs(ifa);
	return rc;
}
