/*
 * keygen.c: `zinc keygen` prints a new CURVE key pair (zmq_curve_keypair), in Z85.
 */
#include <errno.h>
#include <string.h>

#include <zmq.h>

#include "cli.h"

static const char keygen_help[] =
        "usage: zinc keygen\n\n"
        "Prints a new CURVE key pair, Z85-encoded, as two lines:\n"
        "  public <40 characters>\n"
        "  secret <40 characters>\n"
        "Give the secret to the server (--curve-server --curve-secret KEY) and the\n"
        "public key to its clients (--curve-serverkey KEY). Keep the secret secret.\n";

int
cmd_keygen(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(keygen_help, stdout);
		return CLI_OK;
	}
	if (argc != 1)
		return cli_usage_error("keygen", "keygen takes no arguments");
	char pub[41], sec[41];
	if (zmq_curve_keypair(pub, sec) != 0) {
		if (zmq_errno() == ENOTSUP)
			return cli_error("keygen: this library was built without CURVE "
			                 "(libsodium)");
		return cli_zmq_error("keygen");
	}
	printf("public %s\nsecret %s\n", pub, sec);
	return CLI_OK;
}
