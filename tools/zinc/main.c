/*
 * main.c: the `zinc` command's entry point: picks the subcommand and prints the
 * overview. Each subcommand lives in its own file and parses its own options.
 */
#include <string.h>

#include <zmq.h>

#include "cli.h"

static const char overview[] =
        "usage: zinc <command> [options]\n"
        "\n"
        "Send, receive and debug ZeroMQ from the shell (zinc is ZeroMQ in C11).\n"
        "\n"
        "messaging (one socket of that type; --bind/--connect, --data, --format ...):\n"
        "  send     send messages (a PUSH socket) and exit\n"
        "  recv     print the messages that arrive (a PULL socket)\n"
        "  pub sub push pull req rep pair dealer router\n"
        "           a socket of that type: sending types send --data, --file or stdin,\n"
        "           receiving types print one message a line\n"
        "tools:\n"
        "  keygen   print a new CURVE key pair\n"
        "  proxy    forward between two sockets (zmq_proxy_steerable)\n"
        "  monitor  print a socket's connection events as they happen\n"
        "  bench    latency and throughput over inproc, ipc, tcp and shm\n"
        "\n"
        "'zinc <command> --help' describes a command; 'zinc --version' the library.\n";

static void
print_version(void)
{
	int major, minor, patch;
	zmq_version(&major, &minor, &patch);
	printf("zinc command, API %d.%d.%d, library %s (%s)\n", major, minor, patch,
	       cli_library_path(), cli_library_is_zinc() ? "zinc" : "libzmq");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(overview, stderr);
		return CLI_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(overview, stdout);
		return CLI_OK;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		print_version();
		return CLI_OK;
	}
	/* Each subcommand sees its own name as argv[0], as getopt expects. */
	if (cli_role_known(cmd))
		return cmd_role(cmd, argc - 1, argv + 1);
	if (!strcmp(cmd, "keygen"))
		return cmd_keygen(argc - 1, argv + 1);
	if (!strcmp(cmd, "proxy"))
		return cmd_proxy(argc - 1, argv + 1);
	if (!strcmp(cmd, "monitor"))
		return cmd_monitor(argc - 1, argv + 1);
	if (!strcmp(cmd, "bench"))
		return cmd_bench(argc - 1, argv + 1);
	cli_error("unknown command '%s' (see 'zinc --help')", cmd);
	return CLI_USAGE;
}
