/*
 * role.h: the messaging subcommands: which socket each opens and which loop runs it.
 */
#ifndef ZINC_CLI_ROLE_H
#define ZINC_CLI_ROLE_H

#include "cli.h"

/* What a subcommand does with its socket. */
enum cli_loop {
	LOOP_SEND,   /* send the data, then exit (send, push, pub) */
	LOOP_RECV,   /* print what arrives (recv, pull, sub) */
	LOOP_REQ,    /* send one, print the reply, repeat (req) */
	LOOP_REP,    /* print a request, answer with the data or an echo (rep) */
	LOOP_ROUTER, /* print what arrives; answer its sender with the data if any */
	LOOP_BOTH, /* send the data and print what arrives, both at once (pair, dealer) */
};

struct cli_role {
	const char *name;
	int type;
	enum cli_loop loop;
	const char *help;
};

/* cli_role_find: the role named, or NULL. */
const struct cli_role *cli_role_find(const char *name);

/* cli_opts_parse: argv into o. Returns CLI_OK (*help set for --help) or CLI_USAGE with
 * the error printed. Free o with cli_opts_free either way. */
int cli_opts_parse(const char *cmd, int argc, char **argv, struct cli_opts *o, int *help);
void cli_opts_free(struct cli_opts *o);

/* The loops (loops.c); each returns an exit status. src may be NULL (no data). */
int cli_loop_send(struct cli_sock *cs, const struct cli_opts *o, struct cli_source *src);
int cli_loop_recv(struct cli_sock *cs, const struct cli_opts *o);
int cli_loop_req(struct cli_sock *cs, const struct cli_opts *o, struct cli_source *src);
int cli_loop_rep(struct cli_sock *cs, const struct cli_opts *o, struct cli_source *src,
                 int router);
int cli_loop_both(struct cli_sock *cs, const struct cli_opts *o, struct cli_source *src);

#endif
