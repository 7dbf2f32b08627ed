/*
 * fuzz_engine_server.c: libFuzzer target for the server side (an accepted connection: the
 * stand-in session is passive) of the greeting and the handshake, NULL, PLAIN or CURVE,
 * and what follows. The harness and the input format are in fuzz_engine.h.
 *
 * Build: cmake -B build-fuzz -DCMAKE_C_COMPILER=clang -DZINC_FUZZ=ON
 * Run:   tests/fuzz/run.sh 60 fuzz_engine_server
 */
#define FUZZ_CLIENT 0
#define FUZZ_SHM    0
#include "fuzz_engine.h"
