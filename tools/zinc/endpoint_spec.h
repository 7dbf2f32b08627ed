/* endpoint_spec.h: TYPE@ENDPOINT (bind) and TYPE>ENDPOINT (connect) on the command line.
 */
#ifndef ZINC_CLI_ENDPOINT_SPEC_H
#define ZINC_CLI_ENDPOINT_SPEC_H

struct cli_spec {
	int type;             /* ZMQ_* */
	int bind;             /* 1: bind, 0: connect */
	const char *endpoint; /* points into the parsed text */
};

/* cli_spec_parse: text into spec; CLI_OK or CLI_FAIL with a message printed. */
int cli_spec_parse(struct cli_spec *spec, const char *text, int default_type,
                   int default_bind);

/* cli_spec_attach: binds or connects s as spec says; CLI_OK or CLI_FAIL (printed). */
int cli_spec_attach(void *s, const struct cli_spec *spec);

#endif
