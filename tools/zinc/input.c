/*
 * input.c: where outgoing messages come from. --data arguments and --file are read
 * whole into a list (so --interval and --count can repeat them); stdin is read as it
 * comes, a line at a time in text, quoted and hex, all of it as one message in raw.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct cli_source {
	const struct cli_opts *o;
	/* A list: units[i] of lens[i] bytes (the --data arguments, the file's lines). */
	const char **units;
	size_t *lens;
	int nunits, next;
	int passed;     /* every unit has been taken once */
	char *file_buf; /* --file's contents, which units point into */
	FILE *stream;   /* stdin, when streaming */
	int stream_done;
};

/* read_all: f's whole contents in *buf (NUL-terminated), its size in *len. 0 or -1. */
static int
read_all(FILE *f, char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	while (b) {
		n += fread(b + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		char *bigger = realloc(b, cap * 2);
		if (!bigger) {
			free(b);
			b = NULL;
			break;
		}
		b = bigger;
		cap *= 2;
	}
	if (!b || ferror(f)) {
		free(b);
		return -1;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/* add_unit: appends [p, p + len) to the list. 0 or -1. */
static int
add_unit(struct cli_source *src, const char *p, size_t len)
{
	const char **u = realloc(src->units, (size_t)(src->nunits + 1) * sizeof *u);
	if (!u)
		return -1;
	src->units = u;
	size_t *l = realloc(src->lens, (size_t)(src->nunits + 1) * sizeof *l);
	if (!l)
		return -1;
	src->lens = l;
	u[src->nunits] = p;
	l[src->nunits] = len;
	src->nunits++;
	return 0;
}

/* split_lines: the file's lines as units (raw: the whole file is one). 0 or -1. */
static int
split_lines(struct cli_source *src, const char *b, size_t n)
{
	if (src->o->format == FMT_RAW)
		return add_unit(src, b, n);
	const char *end = b + n;
	while (b < end) {
		const char *nl = memchr(b, '\n', (size_t)(end - b));
		const char *stop = nl ? nl : end;
		size_t len = (size_t)(stop - b);
		if (len && b[len - 1] == '\r')
			len--;
		if (add_unit(src, b, len) != 0)
			return -1;
		b = nl ? nl + 1 : end;
	}
	return 0;
}

static int
open_file(struct cli_source *src, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return cli_error("%s: %s", path, strerror(errno));
	size_t n;
	int rc = read_all(f, &src->file_buf, &n);
	fclose(f);
	if (rc != 0)
		return cli_error("%s: cannot read it", path);
	if (split_lines(src, src->file_buf, n) != 0)
		return cli_error("out of memory");
	return CLI_OK;
}

int
cli_source_open(struct cli_source **out, const struct cli_opts *o, int use_stdin)
{
	*out = NULL;
	if (!o->ndata && !o->file && !use_stdin)
		return CLI_OK;
	struct cli_source *src = calloc(1, sizeof *src);
	if (!src)
		return cli_error("out of memory");
	src->o = o;
	int rc = CLI_OK;
	if (o->ndata) {
		for (int i = 0; i < o->ndata && rc == CLI_OK; i++)
			if (add_unit(src, o->data[i], strlen(o->data[i])) != 0)
				rc = cli_error("out of memory");
	} else if (o->file && strcmp(o->file, "-") != 0) {
		rc = open_file(src, o->file);
	} else {
		src->stream = stdin;
	}
	if (rc != CLI_OK) {
		cli_source_close(src);
		return rc;
	}
	*out = src;
	return CLI_OK;
}

int
cli_source_finite(const struct cli_source *src)
{
	return src && !src->stream;
}

/* next_stream: the next message from stdin: 1, 0 at the end, -1. */
static int
next_stream(struct cli_source *src, struct cli_msg *m)
{
	if (src->stream_done)
		return 0;
	const struct cli_opts *o = src->o;
	char *buf = NULL;
	size_t cap = 0, len;
	if (o->format == FMT_RAW) {
		src->stream_done = 1;
		if (read_all(src->stream, &buf, &len) != 0)
			return cli_error("stdin: cannot read it"), -1;
	} else {
		ssize_t n = getline(&buf, &cap, src->stream);
		if (n < 0) {
			free(buf);
			src->stream_done = 1;
			return 0;
		}
		len = (size_t)n;
		if (len && buf[len - 1] == '\n')
			len--;
		if (len && buf[len - 1] == '\r')
			len--;
	}
	int rc = cli_msg_parse(m, buf, len, o->format, o->separator);
	free(buf);
	return rc == 0 ? 1 : -1;
}

int
cli_source_next(struct cli_source *src, struct cli_msg *m, int repeat)
{
	if (!src)
		return 0;
	if (src->stream)
		return next_stream(src, m);
	if (src->next == src->nunits) {
		if (!repeat || !src->nunits)
			return 0;
		src->next = 0;
	}
	int i = src->next++;
	if (src->next == src->nunits)
		src->passed = 1;
	return cli_msg_parse(m, src->units[i], src->lens[i], src->o->format,
	                     src->o->separator) == 0
	               ? 1
	               : -1;
}

int
cli_source_sent_all(const struct cli_source *src)
{
	return !src || src->passed || src->stream_done ||
	       (!src->stream && src->nunits == 0);
}

void
cli_source_close(struct cli_source *src)
{
	if (!src)
		return;
	free(src->units);
	free(src->lens);
	free(src->file_buf);
	free(src);
}
