/*
 * socket_type.c: see socket_type.h.
 */
#include "core/socket_type.h"

#include <string.h>

bool
socket_type_compatible(const struct socket_type *mine, const char *peer, size_t len)
{
	for (const char *const *p = mine->peers; p && *p; p++)
		if (strlen(*p) == len && memcmp(*p, peer, len) == 0)
			return true;
	return false;
}
