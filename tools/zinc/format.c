/*
 * format.c: the message formats, as nngcat defines them, and multipart frames.
 *
 *   text    one message a line, bytes as they are (the default; ours)
 *   raw     bytes as they are, no delimiter; an input (argument, file, stdin) is one
 *           message
 *   quoted  one message a line in double quotes, printable ASCII as is, \" and \\
 *           escaped, other bytes as \n \r \t or \xHH
 *   hex     as quoted, but every byte is \xHH
 *
 * Frames of a multipart message are joined by the separator on output and split at it
 * on input (in quoted and hex, between the quoted strings).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static const char *const format_names[] = {[FMT_TEXT] = "text",
                                           [FMT_RAW] = "raw",
                                           [FMT_QUOTED] = "quoted",
                                           [FMT_HEX] = "hex"};

int
cli_format_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof format_names / sizeof format_names[0]); i++)
		if (strcasecmp(name, format_names[i]) == 0)
			return i;
	return -1;
}

int
cli_msg_add(struct cli_msg *m, const void *data, size_t size)
{
	struct cli_frame *f = realloc(m->frames, (size_t)(m->count + 1) * sizeof *f);
	if (!f)
		return -1;
	m->frames = f;
	/* One spare byte so a frame is also a C string for whoever wants one. */
	char *copy = malloc(size + 1);
	if (!copy)
		return -1;
	if (size)
		memcpy(copy, data, size);
	copy[size] = '\0';
	f[m->count].data = copy;
	f[m->count].size = size;
	m->count++;
	return 0;
}

void
cli_msg_free(struct cli_msg *m)
{
	for (int i = 0; i < m->count; i++)
		free(m->frames[i].data);
	free(m->frames);
	m->frames = NULL;
	m->count = 0;
}

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * unescape: decodes the escapes of [in, end) into out (at least end - in bytes); stops
 * at an unescaped '"' when quoted. Returns the bytes written and sets *stop to where
 * it stopped, or returns -1 on a bad escape.
 */
static long
unescape(const char *in, const char *end, char *out, int quoted, const char **stop)
{
	char *o = out;
	while (in < end && !(quoted && *in == '"')) {
		if (*in != '\\') {
			*o++ = *in++;
			continue;
		}
		if (++in == end)
			return -1;
		char c = *in++;
		switch (c) {
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case '0': *o++ = '\0'; break;
		case '\\':
		case '"': *o++ = c; break;
		case 'x': {
			if (end - in < 2 || hex_value(in[0]) < 0 || hex_value(in[1]) < 0)
				return -1;
			*o++ = (char)(hex_value(in[0]) * 16 + hex_value(in[1]));
			in += 2;
			break;
		}
		default: return -1;
		}
	}
	*stop = in;
	return o - out;
}

/* parse_hex_digits: bare hex ("4142", spaces allowed) into out; bytes or -1. */
static long
parse_hex_digits(const char *in, const char *end, char *out)
{
	long n = 0;
	while (in < end) {
		if (isspace((unsigned char)*in)) {
			in++;
			continue;
		}
		if (end - in < 2 || hex_value(in[0]) < 0 || hex_value(in[1]) < 0)
			return -1;
		out[n++] = (char)(hex_value(in[0]) * 16 + hex_value(in[1]));
		in += 2;
	}
	return n;
}

/* find: the first sep in [in, end), or end. */
static const char *
find(const char *in, const char *end, const char *sep)
{
	size_t sl = sep ? strlen(sep) : 0;
	if (!sl)
		return end;
	for (const char *p = in; p + sl <= end; p++)
		if (memcmp(p, sep, sl) == 0)
			return p;
	return end;
}

/* parse_frame: one unquoted frame [in, end) of fmt, appended to m. 0 or -1. */
static int
parse_frame(struct cli_msg *m, const char *in, const char *end, enum cli_format fmt)
{
	char *buf = malloc((size_t)(end - in) + 1);
	if (!buf)
		return -1;
	long n = end - in;
	const char *stop;
	if (fmt == FMT_QUOTED)
		n = unescape(in, end, buf, 0, &stop);
	else if (fmt == FMT_HEX)
		n = parse_hex_digits(in, end, buf);
	else
		memcpy(buf, in, (size_t)n);
	int rc = n < 0 ? -1 : cli_msg_add(m, buf, (size_t)n);
	free(buf);
	return rc;
}

/* parse_quoted: a line of quoted frames ("a"|"b") into m. 0 or -1. */
static int
parse_quoted(struct cli_msg *m, const char *in, const char *end, const char *sep)
{
	size_t sl = sep ? strlen(sep) : 0;
	char *buf = malloc((size_t)(end - in) + 1);
	if (!buf)
		return -1;
	int rc = -1;
	for (;;) {
		const char *stop;
		long n = unescape(in + 1, end, buf, 1, &stop);
		if (n < 0 || stop == end || cli_msg_add(m, buf, (size_t)n) != 0)
			break;
		in = stop + 1; /* past the closing quote */
		if (in == end) {
			rc = 0;
			break;
		}
		if (!sl || (size_t)(end - in) < sl || memcmp(in, sep, sl) != 0 ||
		    in[sl] != '"')
			break;
		in += sl;
	}
	free(buf);
	return rc;
}

int
cli_msg_parse(struct cli_msg *m, const char *in, size_t len, enum cli_format fmt,
              const char *sep)
{
	const char *end = in + len;
	m->frames = NULL;
	m->count = 0;
	int rc;
	if ((fmt == FMT_QUOTED || fmt == FMT_HEX) && len && in[0] == '"') {
		rc = parse_quoted(m, in, end, sep);
	} else {
		rc = 0;
		size_t sl = sep ? strlen(sep) : 0;
		for (const char *p = in;; p += sl) {
			const char *q = find(p, end, sep);
			if ((rc = parse_frame(m, p, q, fmt)) != 0 || q == end)
				break;
			p = q;
		}
	}
	if (rc != 0) {
		cli_msg_free(m);
		cli_error("cannot read a %s message: %.*s", format_names[fmt],
		          (int)(len > 60 ? 60 : len), in);
		return -1;
	}
	return 0;
}

/* print_quoted: one frame in double quotes; every byte as \xHH when all_hex. */
static void
print_quoted(FILE *out, const struct cli_frame *f, int all_hex)
{
	fputc('"', out);
	for (size_t i = 0; i < f->size; i++) {
		unsigned char c = (unsigned char)f->data[i];
		if (all_hex)
			fprintf(out, "\\x%02x", c);
		else if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\r')
			fputs("\\r", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c >= 0x20 && c < 0x7f)
			fputc(c, out);
		else
			fprintf(out, "\\x%02x", c);
	}
	fputc('"', out);
}

void
cli_msg_print(FILE *out, const struct cli_msg *m, enum cli_format fmt, const char *sep)
{
	for (int i = 0; i < m->count; i++) {
		if (i > 0 && (fmt != FMT_RAW || sep))
			fputs(sep ? sep : "|", out);
		if (fmt == FMT_QUOTED || fmt == FMT_HEX)
			print_quoted(out, &m->frames[i], fmt == FMT_HEX);
		else
			fwrite(m->frames[i].data, 1, m->frames[i].size, out);
	}
	if (fmt != FMT_RAW)
		fputc('\n', out);
	fflush(out);
}
