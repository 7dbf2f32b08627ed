/*
 * fuzz_engine_client.c: libFuzzer target for the client side (a connecting session) of
 * the greeting and the handshake, NULL, PLAIN or CURVE (the mechanism's client: WELCOME,
 * READY, ERROR parsing), and what follows; with byte 1 bit 6 over shm://, creating the
 * rings. The harness and the input format are in fuzz_engine.h.
 *
 * Build: cmake -B build-fuzz -DCMAKE_C_COMPILER=clang -DZINC_FUZZ=ON
 * Run:   tests/fuzz/run.sh 60 fuzz_engine_client
 */
#define FUZZ_CLIENT 1
#define FUZZ_SHM    0
#include "fuzz_engine.h"
