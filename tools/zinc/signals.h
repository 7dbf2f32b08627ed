/*
 * signals.h: a clean stop on SIGINT and SIGTERM for the long-running subcommands
 * (proxy, monitor). The signals are blocked in every thread, the library's included,
 * and one watcher thread takes them with sigwait, so the stop runs as ordinary code
 * (it may call zmq functions) rather than inside a signal handler.
 */
#ifndef ZINC_CLI_SIGNALS_H
#define ZINC_CLI_SIGNALS_H

/* cli_signals_block: blocks SIGINT, SIGTERM (and the watcher's own wake-up) in this
 * thread and the threads it starts after; call before zmq_ctx_new. 0 or -1. */
int cli_signals_block(void);

/* cli_signals_watch: starts the watcher; on SIGINT or SIGTERM it calls stop(arg) once,
 * on its own thread. 0 or -1. */
int cli_signals_watch(void (*stop)(void *), void *arg);

/* cli_signals_unwatch: ends the watcher without calling stop (if it has not run) and
 * waits for it; call before freeing what stop uses. */
void cli_signals_unwatch(void);

/* cli_signals_caught: the signal that stopped the command, or 0. */
int cli_signals_caught(void);

#endif
