/*
 * events.c: monitor events in words: the event's name and what its value means
 * (a file descriptor, an errno, a reconnect interval, a protocol error, a ZAP status).
 */
#include <string.h>

#include <zmq.h>

#include "cli.h"
#include "events.h"

static const struct {
	unsigned event;
	const char *name;
} event_names[] = {
        {ZMQ_EVENT_CONNECTED, "CONNECTED"},
        {ZMQ_EVENT_CONNECT_DELAYED, "CONNECT_DELAYED"},
        {ZMQ_EVENT_CONNECT_RETRIED, "CONNECT_RETRIED"},
        {ZMQ_EVENT_LISTENING, "LISTENING"},
        {ZMQ_EVENT_BIND_FAILED, "BIND_FAILED"},
        {ZMQ_EVENT_ACCEPTED, "ACCEPTED"},
        {ZMQ_EVENT_ACCEPT_FAILED, "ACCEPT_FAILED"},
        {ZMQ_EVENT_CLOSED, "CLOSED"},
        {ZMQ_EVENT_CLOSE_FAILED, "CLOSE_FAILED"},
        {ZMQ_EVENT_DISCONNECTED, "DISCONNECTED"},
        {ZMQ_EVENT_MONITOR_STOPPED, "MONITOR_STOPPED"},
        {ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, "HANDSHAKE_FAILED_NO_DETAIL"},
        {ZMQ_EVENT_HANDSHAKE_SUCCEEDED, "HANDSHAKE_SUCCEEDED"},
        {ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, "HANDSHAKE_FAILED_PROTOCOL"},
        {ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, "HANDSHAKE_FAILED_AUTH"},
};

static const struct {
	unsigned code;
	const char *text;
} protocol_errors[] = {
        {ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED, "ZMTP error"},
        {ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND, "unexpected command"},
        {ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE, "invalid sequence"},
        {ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE, "key exchange failed"},
        {ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED, "malformed command"},
        {ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE, "malformed MESSAGE"},
        {ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO, "malformed HELLO"},
        {ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE, "malformed INITIATE"},
        {ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR, "malformed ERROR"},
        {ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY, "malformed READY"},
        {ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME, "malformed WELCOME"},
        {ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA, "invalid metadata"},
        {ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC, "cryptographic error"},
        {ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH, "security mechanism mismatch"},
        {ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED, "ZAP error"},
        {ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY, "malformed ZAP reply"},
        {ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID, "ZAP reply with a bad request id"},
        {ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION, "ZAP reply with a bad version"},
        {ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE, "ZAP reply with a bad status"},
        {ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA, "ZAP reply with bad metadata"},
};

const char *
cli_event_name(unsigned event)
{
	for (size_t i = 0; i < sizeof event_names / sizeof event_names[0]; i++)
		if (event_names[i].event == event)
			return event_names[i].name;
	return "UNKNOWN";
}

/* protocol_error: a ZMQ_PROTOCOL_ERROR_* in words. */
static const char *
protocol_error(unsigned code)
{
	for (size_t i = 0; i < sizeof protocol_errors / sizeof protocol_errors[0]; i++)
		if (protocol_errors[i].code == code)
			return protocol_errors[i].text;
	return "unknown protocol error";
}

void
cli_event_describe(unsigned event, unsigned value, char *out, size_t len)
{
	switch (event) {
	case ZMQ_EVENT_CONNECTED:
	case ZMQ_EVENT_ACCEPTED:
	case ZMQ_EVENT_LISTENING:
	case ZMQ_EVENT_CLOSED:
	case ZMQ_EVENT_DISCONNECTED: snprintf(out, len, "fd %u", value); break;
	case ZMQ_EVENT_CONNECT_RETRIED:
		snprintf(out, len, "next attempt in %u ms", value);
		break;
	case ZMQ_EVENT_BIND_FAILED:
	case ZMQ_EVENT_ACCEPT_FAILED:
	case ZMQ_EVENT_CLOSE_FAILED:
	case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
		snprintf(out, len, "%s", zmq_strerror((int)value));
		break;
	case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
		snprintf(out, len, "%s", protocol_error(value));
		break;
	case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
		snprintf(out, len, "ZAP status %u%s", value,
		         value == 400   ? " (denied)"
		         : value == 300 ? " (try later)"
		                        : "");
		break;
	default: out[0] = '\0';
	}
}
