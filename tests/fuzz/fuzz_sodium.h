/*
 * fuzz_sodium.h: the fuzz targets' stand-in for libsodium (fuzz_sodium.c, which says
 * what it keeps and what it does not). A target calls fuzz_sodium_reset() at the start
 * of each input, so its "random" bytes are the same every time it runs.
 */
#ifndef ZINC_FUZZ_SODIUM_H
#define ZINC_FUZZ_SODIUM_H

void fuzz_sodium_reset(void);

#endif
