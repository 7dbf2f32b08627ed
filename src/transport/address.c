/*
 * address.c: tcp:// and ipc:// endpoint parsing (address.h). The syntax is checked in
 * full before any look-up, so a malformed endpoint always gives -EINVAL whatever the
 * network says. Name look-ups go through the platform layer. Stateless; any thread.
 */
#include "transport/address.h"
#include "platform/net.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Longer than any DNS name (253), numeric address with zone, or interface name. */
#define HOST_MAX 256

/* One "host:port" half of a tcp endpoint, split but not resolved. */
struct hostport {
	char host[HOST_MAX]; /* brackets removed */
	unsigned port;
};

/* The parts of a tcp endpoint. */
struct tcp_parts {
	struct hostport dst;
	struct hostport src;
	bool has_src;
};

/* parse_port: digits only, 0..65535, or "*" when star_ok. 0 or -EINVAL. */
static int
parse_port(const char *s, size_t n, bool star_ok, unsigned *port)
{
	unsigned v = 0;

	if (n == 1 && s[0] == '*') {
		*port = 0;
		return star_ok ? 0 : -EINVAL;
	}
	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -EINVAL;
	*port = v;
	return 0;
}

/* parse_hostport: splits s[0..n) at its last ':' into a host (brackets removed) and a
 * port. 0 or -EINVAL. */
static int
parse_hostport(const char *s, size_t n, bool star_ok, struct hostport *hp)
{
	const char *colon = NULL;
	const char *h = s;
	size_t hl;
	int rc;

	for (size_t i = 0; i < n; i++)
		if (s[i] == ':')
			colon = s + i;
	if (!colon)
		return -EINVAL;
	if ((rc = parse_port(colon + 1, (size_t)(s + n - colon - 1), star_ok,
	                     &hp->port)) < 0)
		return rc;
	hl = (size_t)(colon - s);
	if (hl == 0) /* libzmq looks "" up as an interface on bind: ENODEV */
		return star_ok ? -ENODEV : -EINVAL;
	if (h[0] == '[' || h[hl - 1] == ']') {
		if (hl < 2 || h[0] != '[' || h[hl - 1] != ']')
			return -EINVAL;
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof hp->host)
		return -EINVAL;
	memcpy(hp->host, h, hl);
	hp->host[hl] = '\0';
	return 0;
}

/* host_chars_ok: libzmq's zmq_connect check: a connect host starts with a letter, a
 * digit, '[' or ':' and holds only those, '.', '-', '%', ']' and '_' (no "*"). */
static bool
host_chars_ok(const char *s, size_t n)
{
	if (n == 0 || !(isalnum((unsigned char)s[0]) || s[0] == '[' || s[0] == ':'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(".-:%[]_", s[i]))
			return false;
	return true;
}

/* parse_tcp: the whole syntax check of a tcp endpoint, no look-up. 0 or -EINVAL. */
static int
parse_tcp(const char *spec, bool bind, struct tcp_parts *p)
{
	const char *semi = strrchr(spec, ';');
	const char *dst = semi ? semi + 1 : spec;
	size_t dn = strlen(dst);
	int rc;

	p->has_src = semi != NULL;
	if (semi) {
		if (bind)
			return -EINVAL;
		rc = parse_hostport(spec, (size_t)(semi - spec), true, &p->src);
		if (rc < 0)
			return rc;
	}
	if (!bind) {
		const char *colon = strrchr(dst, ':');
		if (!colon || !host_chars_ok(dst, (size_t)(colon - dst)))
			return -EINVAL;
	}
	return parse_hostport(dst, dn, bind, &p->dst);
}

/* resolve_local: a bind or source host: "*", an interface name or a numeric address.
 * 0, -ENODEV, -EINVAL (bad zone) or -ENOMEM. */
static int
resolve_local(const char *host, bool ipv6, struct zn_sockaddr *out)
{
	int rc;

	if (strcmp(host, "*") == 0) {
		memset(out, 0, sizeof *out);
		if (ipv6) {
			out->u.in6.sin6_family = AF_INET6;
			out->u.in6.sin6_addr = in6addr_any;
			out->len = sizeof out->u.in6;
		} else {
			out->u.in4.sin_family = AF_INET;
			out->u.in4.sin_addr.s_addr = htonl(INADDR_ANY);
			out->len = sizeof out->u.in4;
		}
		return 0;
	}
	/* A numeric address first: it is the common case and needs no interface list. */
	rc = zn_resolve_host(host, ipv6, true, out);
	if (rc == 0)
		return 0;
	int irc = zn_resolve_interface(host, ipv6, out);
	if (irc != -ENODEV)
		return irc;
	if (rc == -EINVAL || rc == -ENOMEM)
		return rc;
	return -ENODEV;
}

/* resolve_remote: a connect host, by DNS if need be. 0, -EHOSTUNREACH, -EINVAL (bad
 * zone) or -ENOMEM. */
static int
resolve_remote(const char *host, bool ipv6, struct zn_sockaddr *out)
{
	int rc = zn_resolve_host(host, ipv6, false, out);
	if (rc == 0 || rc == -EINVAL || rc == -ENOMEM)
		return rc;
	return -EHOSTUNREACH;
}

int
address_tcp(const char *spec, bool bind, bool ipv6, struct zn_sockaddr *addr,
            struct zn_sockaddr *src, bool *has_src)
{
	struct tcp_parts p;
	struct zn_sockaddr s;
	int rc;

	if (has_src)
		*has_src = false;
	if ((rc = parse_tcp(spec, bind, &p)) < 0)
		return rc;
	if (p.has_src && (!src || !has_src))
		return -EINVAL;
	if (p.has_src) {
		if ((rc = resolve_local(p.src.host, ipv6, &s)) < 0)
			return rc;
		zn_sockaddr_set_port(&s, (uint16_t)p.src.port);
	}
	rc = bind ? resolve_local(p.dst.host, ipv6, addr)
	          : resolve_remote(p.dst.host, ipv6, addr);
	if (rc < 0)
		return rc;
	zn_sockaddr_set_port(addr, (uint16_t)p.dst.port);
	if (p.has_src) {
		*src = s;
		*has_src = true;
	}
	return 0;
}

int
address_tcp_check(const char *spec)
{
	struct tcp_parts p;
	return parse_tcp(spec, false, &p);
}

int
address_ipc(const char *spec, struct zn_sockaddr *addr, bool *wildcard)
{
	const size_t off = offsetof(struct sockaddr_un, sun_path);
	size_t n = strlen(spec);

	if (wildcard)
		*wildcard = false;
	if (n == 0 || (n == 1 && spec[0] == '@'))
		return -EINVAL;
	if (n >= sizeof addr->u.un.sun_path)
		return -ENAMETOOLONG;
	memset(addr, 0, sizeof *addr);
	addr->u.un.sun_family = AF_UNIX;
	memcpy(addr->u.un.sun_path, spec, n);
	if (spec[0] == '@') {
		addr->u.un.sun_path[0] = '\0';
		addr->len = (socklen_t)(off + n);
	} else {
		addr->len = (socklen_t)(off + n + 1);
	}
	if (wildcard)
		*wildcard = spec[0] == '*';
	return 0;
}

int
address_ipc_wildcard(struct zn_sockaddr *addr, char *dir, size_t dirlen)
{
	static const char file[] = "/socket";
	size_t n;
	int rc;

	if ((rc = zn_mkdtemp(dir, dirlen)) < 0)
		return rc;
	n = strlen(dir);
	if (n + sizeof file > sizeof addr->u.un.sun_path) {
		zn_rmdir(dir);
		return -ENAMETOOLONG;
	}
	memset(addr, 0, sizeof *addr);
	addr->u.un.sun_family = AF_UNIX;
	memcpy(addr->u.un.sun_path, dir, n);
	memcpy(addr->u.un.sun_path + n, file, sizeof file);
	addr->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + sizeof file);
	return 0;
}

int
address_shm(const char *name, struct zn_sockaddr *addr)
{
	size_t n = strlen(name);
	if (n == 0 || n > 64 || name[0] == '.')
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return -EINVAL;
	char dir[sizeof addr->u.un.sun_path];
	int rc = zn_private_dir(dir, sizeof dir);
	if (rc < 0)
		return rc;
	memset(addr, 0, sizeof *addr);
	addr->u.un.sun_family = AF_UNIX;
	int len = snprintf(addr->u.un.sun_path, sizeof addr->u.un.sun_path, "%s/%s.sock",
	                   dir, name);
	if (len < 0 || (size_t)len >= sizeof addr->u.un.sun_path)
		return -ENAMETOOLONG;
	addr->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)len + 1);
	return 0;
}
