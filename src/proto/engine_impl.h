/*
 * engine_impl.h: the engine's state, shared by engine.c (ZMTP over the stream) and
 * engine_shm.c (shm://: the rings that replace the stream after the handshake). Not
 * for anyone else: the rest of zinc sees struct engine only through engine.h.
 */
#ifndef ZINC_PROTO_ENGINE_IMPL_H
#define ZINC_PROTO_ENGINE_IMPL_H

#include "proto/engine.h"
#include "proto/zmtp_codec.h"

#define ENGINE_INBUF  (64 * 1024)
#define ENGINE_IOV    64
#define GREETING_SIZE 64
#define GREETING_SIG  10 /* the signature, sent ahead of the rest */

enum engine_state { ES_GREETING, ES_HANDSHAKE, ES_ACTIVE, ES_DEAD };
enum { TIMER_HANDSHAKE = 1, TIMER_HB_IVL, TIMER_HB_TIMEOUT, TIMER_HB_TTL };

struct engine_shm;

struct engine {
	int fd;
	uint8_t state;
	uint8_t peer_minor; /* ZMTP 3.minor of the peer */
	bool input_stopped;
	bool output_stopped;
	bool has_stash; /* a decoded message waits for room in the pipe */
	bool out_more;  /* the last message pulled had MORE: the next is not a first part
	                 */
	bool raw;       /* ZMQ_STREAM: no ZMTP, bytes in and out as they come */
	bool raw_has;   /* raw_out holds a message being written */
	size_t raw_off;
	struct msg raw_out;
	struct poll_timer timer_handshake, timer_hb_ivl, timer_hb_timeout, timer_hb_ttl;
	struct session *session;
	struct poller *poller;
	struct poll_handle *handle;
	struct options opts;
	char *peer_address;
	struct metadata *meta; /* the peer's properties, attached to each message */
	uint8_t peer_rid_len;  /* the peer's Identity, as sent */
	uint8_t peer_rid[255];
	struct msg stash;
	uint8_t greeting[GREETING_SIZE];
	size_t greeting_have;
	size_t in_pos, in_len;
	uint8_t *inbuf;
	struct zmtp_decoder dec;
	struct zmtp_encoder enc;
	bool shm; /* shm://: after the handshake, data goes through rings */
	struct engine_shm *shm_state; /* NULL until the rings are set up */
	struct mechanism *mech;       /* NULL until the greetings agree */
};

/* Shared between engine.c and engine_shm.c. */
void engine_fail(struct engine *e, enum engine_end why, int protocol_error);
void engine_fail_rc(struct engine *e, int rc);
int engine_deliver(struct engine *e, struct msg *m);
void engine_stop_input(struct engine *e);

/* engine_shm.c */
int engine_shm_ready(struct engine *e);
int engine_shm_command(struct engine *e, const uint8_t *data, size_t len);
ssize_t engine_shm_recv(struct engine *e, void *buf, size_t len);
bool engine_shm_active(const struct engine *e);
void engine_shm_peer_gone(struct engine *e);
int engine_shm_write(struct engine *e);
int engine_shm_flush_pending(struct engine *e);
void engine_shm_restart_input(struct engine *e);
bool engine_shm_output_empty(const struct engine *e);
void engine_shm_destroy(struct engine *e);

#endif
