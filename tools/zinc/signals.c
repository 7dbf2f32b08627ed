/*
 * signals.c: see signals.h. The watcher waits for SIGINT, SIGTERM and SIGUSR2; SIGUSR2
 * comes only from cli_signals_unwatch (pthread_kill), and means "stop watching".
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "signals.h"

static sigset_t watched;
static pthread_t watcher;
static int watching;
static void (*stop_fn)(void *);
static void *stop_arg;
static atomic_int caught;

int
cli_signals_block(void)
{
	sigemptyset(&watched);
	sigaddset(&watched, SIGINT);
	sigaddset(&watched, SIGTERM);
	sigaddset(&watched, SIGUSR2);
	return pthread_sigmask(SIG_BLOCK, &watched, NULL) == 0 ? 0 : -1;
}

static void *
watch(void *unused)
{
	int sig = 0;
	while (sigwait(&watched, &sig) != 0)
		;
	if (sig != SIGUSR2) {
		atomic_store(&caught, sig);
		stop_fn(stop_arg);
	}
	return NULL;
}

int
cli_signals_watch(void (*stop)(void *), void *arg)
{
	stop_fn = stop;
	stop_arg = arg;
	if (pthread_create(&watcher, NULL, watch, NULL) != 0)
		return -1;
	watching = 1;
	return 0;
}

void
cli_signals_unwatch(void)
{
	if (!watching)
		return;
	/* If the watcher already took a signal it is returning; the kill is then queued
	 * to a thread that no longer waits, which is harmless as it stays blocked. */
	pthread_kill(watcher, SIGUSR2);
	pthread_join(watcher, NULL);
	watching = 0;
}

int
cli_signals_caught(void)
{
	return atomic_load(&caught);
}
