/*
 * alloc.c: allocation wrapper with a failure-injection hook for tests (fault.h). The
 * hook costs one relaxed atomic load per allocation when disarmed.
 */
#include "platform/alloc.h"
#include "platform/fault.h"

#include <stdlib.h>
#include <string.h>

void *
zn_malloc(size_t size)
{
	if (zn_fault_hit(&zn_fault_alloc))
		return NULL;
	return malloc(size ? size : 1);
}

void *
zn_calloc(size_t n, size_t size)
{
	if (zn_fault_hit(&zn_fault_alloc))
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void *
zn_realloc(void *p, size_t size)
{
	if (zn_fault_hit(&zn_fault_alloc))
		return NULL;
	return realloc(p, size ? size : 1);
}

void
zn_free(void *p)
{
	free(p);
}

char *
zn_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = zn_malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}
