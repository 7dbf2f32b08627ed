/*
 * container.h: container_of, the one definition. Objects embed their links (own, pipe
 * ends, timers, handler records) and a callback handed a pointer to the embedded member
 * gets back the object with it, without an allocation or a look-up.
 */
#ifndef ZINC_PLATFORM_CONTAINER_H
#define ZINC_PLATFORM_CONTAINER_H

#include <stddef.h>

/* container_of: the object of type `type` whose member `member` is at p. */
#define container_of(p, type, member)                                                    \
	((type *)(void *)((char *)(p)-offsetof(type, member)))

#endif
