/*
 * cli.h: the pieces the `zinc` command's subcommands share. The command uses the public
 * API only (zmq.h, zinc.h): it is a program like any other built against libzmq, and
 * runs unchanged on the system libzmq, which `zinc bench --compare` relies on.
 *
 * Everything here runs on the main thread unless a comment says otherwise.
 */
#ifndef ZINC_CLI_H
#define ZINC_CLI_H

#include <stddef.h>
#include <stdio.h>

/* Exit statuses: 0 success, 1 a run-time failure, 2 a usage error. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Message formats, with nngcat's meanings; text is ours and the default. */
enum cli_format { FMT_TEXT, FMT_RAW, FMT_QUOTED, FMT_HEX };

/* One frame, and a message of frames. A message owns its frames' bytes. */
struct cli_frame {
	char *data;
	size_t size;
};
struct cli_msg {
	struct cli_frame *frames;
	int count;
};

/* The options of the messaging subcommands (send, recv, pub, ... router). */
struct cli_opts {
	const char **binds, **connects, **data, **subscribe;
	int nbinds, nconnects, ndata, nsubscribe;
	const char *file; /* --file, "-" for stdin */
	enum cli_format format;
	const char *separator; /* NULL: frames are not split on input */
	long count;            /* -1: no limit */
	double interval;       /* seconds between sends; < 0: not repeating */
	double delay;          /* seconds before the first send */
	const char *identity;
	int hwm;                           /* -1: the library's default */
	double send_timeout, recv_timeout; /* seconds; < 0: none */
	const char *plain_user, *plain_password;
	int plain_server, curve_server;
	const char *curve_secret, *curve_public, *curve_serverkey;
	int verbose;
};

/* cli_error: prints "zinc: <fmt>" and a newline on stderr. Returns CLI_FAIL. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cli_zmq_error: prints "zinc: <what>: <zmq_strerror(errno)>". Returns CLI_FAIL. */
int cli_zmq_error(const char *what);

/* cli_usage_error: prints the error and a hint to --help for cmd. Returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* cli_now: monotonic seconds. cli_sleep: sleeps seconds (> 0). */
double cli_now(void);
void cli_sleep(double seconds);

/* cli_parse_seconds: strict parse of a non-negative number of seconds; -1 if bad. */
double cli_parse_seconds(const char *s);

/* cli_parse_long: strict parse of an integer >= min; returns 0, or -1 if bad. */
int cli_parse_long(const char *s, long min, long *out);

/* cli_socket_type: the ZMQ_* type named (case-insensitive), or -1. */
int cli_socket_type(const char *name);

/* format.c -------------------------------------------------------------------------- */

/* cli_format_parse: the format named, or -1. */
int cli_format_parse(const char *name);

/*
 * cli_msg_parse: decodes one input unit (a line, an argument, or a whole raw input) of
 * format fmt into m, splitting frames at sep when sep is not NULL. Returns 0, or -1
 * with a message printed (bad escape, bad hex). m is the caller's to free on 0.
 */
int cli_msg_parse(struct cli_msg *m, const char *in, size_t len, enum cli_format fmt,
                  const char *sep);

/* cli_msg_print: writes m to out in fmt, frames joined by sep ("|" when NULL); text,
 * quoted and hex end with a newline, raw does not. Flushes out. */
void cli_msg_print(FILE *out, const struct cli_msg *m, enum cli_format fmt,
                   const char *sep);

/* cli_msg_free: frees m's frames; m is then empty. */
void cli_msg_free(struct cli_msg *m);

/* cli_msg_add: appends a copy of size bytes; returns 0 or -1 (out of memory). */
int cli_msg_add(struct cli_msg *m, const void *data, size_t size);

/* input.c --------------------------------------------------------------------------- */

/* Where outgoing messages come from: --data arguments, --file, or stdin. */
struct cli_source;

/*
 * cli_source_open: the source the options name: the --data arguments, else --file
 * ("-": stdin), else stdin if use_stdin, else none (a NULL source with 0: nothing to
 * send). Returns 0 or CLI_FAIL/CLI_USAGE with a message printed.
 */
int cli_source_open(struct cli_source **out, const struct cli_opts *o, int use_stdin);

/* cli_source_next: the next message in m: 1, 0 at the end, -1 with a message printed.
 * A list (data, file) starts over when repeat is set. */
int cli_source_next(struct cli_source *src, struct cli_msg *m, int repeat);

/* cli_source_finite: 1 when the source is a list (data, file), 0 for stdin. */
int cli_source_finite(const struct cli_source *src);

/* cli_source_sent_all: 1 once every message of the source has been taken at least
 * once (a list to its end, a stream to its EOF); 1 for no source. */
int cli_source_sent_all(const struct cli_source *src);

void cli_source_close(struct cli_source *src);

/* sock.c ---------------------------------------------------------------------------- */

/*
 * A socket with a monitor of its own, so a handshake the peer refuses ends the command
 * with a clear line instead of a silent wait.
 */
struct cli_sock {
	void *ctx, *s, *mon;
	void *zap_thread; /* the PLAIN ZAP handler, when --plain-server */
	int type;
	int handshakes;   /* successful handshakes seen */
	int connect_only; /* connects and binds nothing: a refusal ends the command */
};

/* cli_sock_open: a context, a socket of type with o's options, bound and connected.
 * Returns 0 or CLI_FAIL with a message printed. */
int cli_sock_open(struct cli_sock *cs, int type, const struct cli_opts *o);

/* cli_sock_close: closes everything cli_sock_open made (linger as set). */
void cli_sock_close(struct cli_sock *cs);

/*
 * cli_sock_wait: waits up to timeout seconds (< 0: forever) for events (ZMQ_POLLIN,
 * ZMQ_POLLOUT) on the socket, handling monitor events meanwhile. Returns 1 when ready,
 * 0 on timeout, -1 with a message printed (the peer refused us, a signal).
 */
int cli_sock_wait(struct cli_sock *cs, short events, double timeout);

/* cli_send_msg / cli_recv_msg: one whole message; 0, or -1 with errno set. */
int cli_send_msg(void *s, const struct cli_msg *m);
int cli_recv_msg(void *s, struct cli_msg *m);

/* cli_apply_security: the PLAIN/CURVE options of o on s. 0 or CLI_FAIL. */
int cli_apply_security(void *s, const struct cli_opts *o);

/* zap.c: a ZAP handler for --plain-server in ctx: accepts PLAIN peers whose user and
 * password match (any when both are NULL). Returns the thread handle, or NULL. */
void *cli_zap_start(void *ctx, const char *user, const char *password);
void cli_zap_stop(void *handle);

/* Subcommands ------------------------------------------------------------------------ */

int cmd_role(const char *name, int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_proxy(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* cli_role_known: 1 if name is a messaging subcommand (send, recv, pub, ...). */
int cli_role_known(const char *name);

/* cli_role_help: prints the help of a messaging subcommand. */
void cli_role_help(const char *name, FILE *out);

/* cli_event_name: the name of a ZMQ_EVENT_* value ("CONNECTED"), or "UNKNOWN". */
const char *cli_event_name(unsigned event);

/* cli_monitor_read: reads one event from a monitor socket: 0, or -1 (errno set). */
int cli_monitor_read(void *mon, unsigned *event, unsigned *value, char *endpoint,
                     size_t len);

/* cli_library_path: the file of the loaded libzmq (zinc or not), or "?". */
const char *cli_library_path(void);

/* cli_library_is_zinc: 1 when the loaded library is zinc (it has shm://). */
int cli_library_is_zinc(void);

#endif
