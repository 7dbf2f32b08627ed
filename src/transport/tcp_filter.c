/*
 * tcp_filter.c: ZMQ_TCP_ACCEPT_FILTER, see accept_filter.h.
 */
#include "platform/alloc.h"
#include "transport/accept_filter.h"

#include <errno.h>
#include <string.h>

/* tcp_filter_bits: the "/bits" part: decimal digits only, at most max. */
static int
tcp_filter_bits(const char *text, int max, uint8_t *bits)
{
	if (*text == '\0')
		return -EINVAL; /* "a.b.c.d/" */
	int v = 0;
	for (const char *c = text; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		v = v * 10 + (*c - '0');
		if (v > max)
			return -EINVAL;
	}
	*bits = (uint8_t)v;
	return 0;
}

/* tcp_filter_parse: "address[/bits]" into f; see tcp_filters_set. */
static int
tcp_filter_parse(char *text, bool ipv6, struct tcp_filter *f)
{
	char *slash = strrchr(text, '/');
	if (slash)
		*slash = '\0';
	memset(f, 0, sizeof *f);
	if (inet_pton(AF_INET, text, f->addr) == 1)
		f->v6 = false;
	else if (ipv6 && inet_pton(AF_INET6, text, f->addr) == 1)
		f->v6 = true;
	else
		return -EINVAL;
	int max = f->v6 ? 128 : 32;
	f->bits = (uint8_t)max;
	return slash ? tcp_filter_bits(slash + 1, max, &f->bits) : 0;
}

int
tcp_filters_set(struct accept_filters *f, const void *val, size_t len, bool ipv6)
{
	if (!val && len == 0) {
		tcp_filters_fini(f);
		return 0;
	}
	if (!val || len == 0 || len >= 255)
		return -EINVAL;
	char text[256];
	memcpy(text, val, len);
	text[len] = '\0';
	if (strlen(text) != len)
		return -EINVAL; /* a NUL inside */
	struct tcp_filter one;
	int rc = tcp_filter_parse(text, ipv6, &one);
	if (rc < 0)
		return rc;
	struct tcp_filter *v = zn_realloc(f->tcp, (f->ntcp + 1) * sizeof *v);
	if (!v)
		return -ENOMEM;
	v[f->ntcp++] = one;
	f->tcp = v;
	return 0;
}

/* tcp_filter_match: the first f->bits bits of addr are the network's. */
static bool
tcp_filter_match(const struct tcp_filter *f, const uint8_t *addr)
{
	unsigned whole = f->bits / 8, rest = f->bits % 8;
	if (memcmp(f->addr, addr, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (f->addr[whole] & mask) == (addr[whole] & mask);
}

/* tcp_peer_bytes: the peer's address as the filters compare it: 4 bytes for IPv4
 * (also for an IPv4-mapped IPv6 peer of a dual-stack listener), 16 for IPv6. */
static bool
tcp_peer_bytes(const struct zn_sockaddr *peer, const uint8_t **addr, bool *v6)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (peer->u.sa.sa_family == AF_INET) {
		*addr = (const uint8_t *)&peer->u.in4.sin_addr;
		*v6 = false;
		return true;
	}
	if (peer->u.sa.sa_family != AF_INET6)
		return false;
	const uint8_t *a = peer->u.in6.sin6_addr.s6_addr;
	*v6 = memcmp(a, mapped, sizeof mapped) != 0;
	*addr = *v6 ? a : a + 12;
	return true;
}

bool
tcp_filters_allow(const struct accept_filters *f, const struct zn_sockaddr *peer)
{
	if (f->ntcp == 0)
		return true;
	const uint8_t *addr;
	bool v6;
	if (!tcp_peer_bytes(peer, &addr, &v6))
		return false;
	for (uint32_t i = 0; i < f->ntcp; i++)
		if (f->tcp[i].v6 == v6 && tcp_filter_match(&f->tcp[i], addr))
			return true;
	return false;
}

int
tcp_filters_copy(struct accept_filters *dst, const struct accept_filters *src)
{
	if (src->ntcp == 0)
		return 0;
	dst->tcp = zn_malloc(src->ntcp * sizeof *dst->tcp);
	if (!dst->tcp)
		return -ENOMEM;
	memcpy(dst->tcp, src->tcp, src->ntcp * sizeof *dst->tcp);
	dst->ntcp = src->ntcp;
	return 0;
}

void
tcp_filters_fini(struct accept_filters *f)
{
	zn_free(f->tcp);
	f->tcp = NULL;
	f->ntcp = 0;
}
