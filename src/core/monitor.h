/*
 * monitor.h: how objects in I/O threads report socket events (ZMQ_EVENT_*) to the socket
 * that owns them, without including the socket layer. The socket hands a sink down to
 * its sessions and listeners; the sink is thread-safe (it locks the socket's monitor).
 */
#ifndef ZINC_CORE_MONITOR_H
#define ZINC_CORE_MONITOR_H

#include <stdint.h>

struct monitor_sink {
	void (*event)(void *arg, int event, int64_t value, const char *endpoint);
	void *arg;
};

static inline void
monitor_event(const struct monitor_sink *m, int event, int64_t value,
              const char *endpoint)
{
	if (m && m->event)
		m->event(m->arg, event, value, endpoint);
}

#endif
