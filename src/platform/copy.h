/*
 * copy.h: zn_copy, a memcpy the compiler does not expand in line. Where gcc knows a
 * bound on a copy's length (the encoder copies bodies under 1 KiB) it expands memcpy
 * to `rep movsq`, whose start-up costs more than the C library's call for a 64-byte
 * body: perf, tcp 64 B sender, half of zmtp_encoder_load's cycles on that instruction.
 */
#ifndef ZINC_PLATFORM_COPY_H
#define ZINC_PLATFORM_COPY_H

#include <stddef.h>
#include <string.h>

/* zn_copy: memcpy(dst, src, n), through the C library's call whatever n is known to
 * be. The empty asm hides n's range from the optimiser. */
static inline void *
zn_copy(void *dst, const void *src, size_t n)
{
	__asm__("" : "+r"(n));
	return memcpy(dst, src, n);
}

#endif
