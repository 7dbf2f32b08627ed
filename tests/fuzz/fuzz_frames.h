/*
 * fuzz_frames.h: ZAP reply frames for the fuzz targets, built from their input.
 */
#ifndef ZINC_FUZZ_FRAMES_H
#define ZINC_FUZZ_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "pipe/msg.h"

/* fuzz_frames: frames out of (length byte, bytes) pairs in d, at most max; how many
 * were made. Every frame but the last has MORE. */
static inline int
fuzz_frames(struct msg *f, int max, const uint8_t *d, size_t n)
{
	int k = 0;
	size_t pos = 0;
	while (pos < n && k < max) {
		size_t l = d[pos++];
		if (l > n - pos)
			l = n - pos;
		if (msg_init_buffer(&f[k], d + pos, l) < 0)
			break;
		/* Marked as the next frame is made, not in a second pass: gcc -O3 warns
		 * of a write past the array on the second pass's last turn. */
		if (k > 0)
			f[k - 1].flags = MSGF_MORE;
		pos += l;
		k++;
	}
	return k;
}

#endif
