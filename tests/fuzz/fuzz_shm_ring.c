/*
 * fuzz_shm_ring.c: libFuzzer target for the shm:// ring reader (src/proto/shm_ring.c)
 * facing a hostile writer: the other process can write anything anywhere in the shared
 * memory at any time, so the input interleaves raw bytes written into the ring, header
 * words stored near the reader's position, any control-block byte, honest messages from
 * a real writer
 * (whole or streamed in fragments, so the fuzzer starts from valid records), and the
 * reader's own calls: read, release, sleep. The "shared memory" here is an ordinary
 * allocation holding exactly the control block and the one ring read, so ASan reports
 * any byte the reader touches outside it; the writer's side of the same memory is a
 * real shm_ring_writer, which must survive a reader index it cannot trust either.
 *
 * Input: byte 0 bit 0 = maxmsgsize 100 (else none). Then records: kind (1 byte), length
 * (1 byte), that many bytes; kind % 6:
 *   0 the bytes written into the ring at offset (byte 0..1) mod ring size (wrapping)
 *   1 a header word stored at the read position plus byte 3 * 8: byte 0 bit 0 set,
 *     the next 8 bytes as they are; else the length byte 1 * 8 with the flags byte 2
 *     and SHM_REC_VALID
 *   2 the honest writer writes a message of the bytes (byte 0 bit 0: MORE, bit 1:
 *     COMMAND) repeated to length * 64 bytes (larger than the ring: fragments), then
 *     publishes
 *   3 the reader reads up to 8 messages
 *   4 the reader releases, prepares to sleep and ends the sleep
 *   5 a control-block byte (offset byte 0..1) xored with byte 2
 *
 * Build: cmake -B build-fuzz -DCMAKE_C_COMPILER=clang -DZINC_FUZZ=ON
 * Run:   tests/fuzz/run.sh 60 fuzz_shm_ring
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipe/msg.h"
#include "proto/shm_ring.h"

/* fuzz_check: a broken invariant is a crash the fuzzer reports. */
#define fuzz_check(cond)                                                                 \
	do {                                                                             \
		if (!(cond))                                                             \
			abort();                                                         \
	} while (0)

#define RING SHM_RING_SIZE_MIN

static void
read_some(struct shm_ring_reader *r, uint64_t maxmsgsize)
{
	for (int i = 0; i < 8; i++) {
		struct msg m;
		msg_init(&m);
		int rc = shm_ring_read_msg(r, &m);
		if (rc != 1) {
			fuzz_check(rc == 0 || rc == -EPROTO || rc == -EMSGSIZE ||
			           rc == -ENOMEM);
			return;
		}
		fuzz_check(msg_size(&m) <= maxmsgsize);
		volatile uint8_t sum = 0; /* touched whole: ASan sees an overrun */
		const uint8_t *d = msg_data(&m);
		for (size_t k = 0; k < msg_size(&m); k++)
			sum = (uint8_t)(sum + d[k]);
		(void)sum;
		msg_close(&m);
	}
}

/* honest_write: a message of d repeated to len * 64 bytes; one the writer is still
 * streaming (-EAGAIN part-way) stays in *pending and is passed again, as its contract
 * asks, until it is in. */
static void
honest_write(struct shm_ring_writer *w, struct msg *pending, bool *has_pending,
             const uint8_t *d, size_t len)
{
	if (!*has_pending) {
		size_t n = len * 64;
		if (msg_init_size(pending, n) < 0)
			return;
		uint8_t *p = msg_data(pending);
		for (size_t i = 0; i < n; i++)
			p[i] = d[i % len];
		if (d[0] & 1)
			msg_set_flags(pending, MSGF_MORE);
		if (d[0] & 2)
			msg_set_flags(pending, MSGF_COMMAND);
		*has_pending = true;
	}
	int rc = shm_ring_write_msg(w, pending);
	fuzz_check(rc == 0 || rc == -EAGAIN || rc == -EINVAL || rc == -EPROTO ||
	           rc == -ENOMEM);
	if (rc == 0 || !shm_ring_writer_streaming(w)) {
		if (rc < 0)
			msg_close(pending);
		msg_init(pending);
		*has_pending = false;
	}
	(void)shm_ring_publish(w);
}

static uint64_t
le64(const uint8_t *d, size_t len)
{
	uint64_t v = 0;
	for (size_t i = 0; i < 8 && i < len; i++)
		v |= (uint64_t)d[i] << (8 * i);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t total = SHM_RING_CTL_SIZE + RING; /* the control block and ring 0 only */
	uint8_t *base = aligned_alloc(SHM_RING_LINE, total);
	fuzz_check(base);
	memset(base, 0, total);
	struct shm_ring_ctl *ctl = (struct shm_ring_ctl *)(void *)base;
	ctl->magic = SHM_RING_MAGIC;
	ctl->version = SHM_RING_VERSION;
	ctl->ctl_size = SHM_RING_CTL_SIZE;
	ctl->ring_size = RING;
	/* Ring 0: the creator writes it, the attacher reads it. */
	struct shm_ring_region wg = {
	        .fd = -1, .base = base, .ring_size = RING, .creator = true};
	struct shm_ring_region rg = wg;
	rg.creator = false;
	uint64_t maxmsgsize = (data[0] & 1) ? 100 : UINT64_MAX;
	struct shm_ring_writer w;
	struct shm_ring_reader r;
	shm_ring_writer_init(&w, &wg);
	shm_ring_reader_init(&r, &rg, (data[0] & 1) ? 100 : -1);
	uint8_t *ring = base + SHM_RING_CTL_SIZE;
	struct msg pending;
	bool has_pending = false;
	msg_init(&pending);
	size_t pos = 1;
	while (pos + 2 <= size) {
		uint8_t kind = data[pos];
		size_t len = data[pos + 1];
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		const uint8_t *d = data + pos;
		pos += len;
		switch (kind % 6) {
		case 0:
			if (len >= 2) {
				size_t off = ((size_t)d[0] << 8 | d[1]) % RING;
				for (size_t i = 2; i < len; i++)
					ring[(off + i - 2) % RING] = d[i];
			}
			break;
		case 1: {
			uint64_t v, at = r.rd + 8 * (uint64_t)(len > 3 ? d[3] : 0);
			if (len && (d[0] & 1))
				v = le64(d + 1, len - 1);
			else
				v = 8 * (uint64_t)(len > 1 ? d[1] : 0) |
				    (uint64_t)((len > 2 ? d[2] : 0u) | SHM_REC_VALID)
				            << 32;
			memcpy(ring + (at % RING), &v, sizeof v);
			break;
		}
		case 2:
			if (len)
				honest_write(&w, &pending, &has_pending, d, len);
			break;
		case 3: read_some(&r, maxmsgsize); break;
		case 4:
			(void)shm_ring_release(&r);
			if (shm_ring_prepare_sleep(&r) == 0)
				shm_ring_end_sleep(&r);
			break;
		default:
			if (len >= 3)
				base[((size_t)d[0] << 8 | d[1]) % SHM_RING_CTL_SIZE] ^=
				        d[2];
			break;
		}
	}
	shm_ring_reader_fini(&r);
	shm_ring_writer_rollback(&w);
	msg_close(&pending);
	free(base);
	return 0;
}
