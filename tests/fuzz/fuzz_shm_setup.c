/*
 * fuzz_shm_setup.c: libFuzzer target for an accepted shm:// connection: the handshake
 * over the rendezvous socket, then the SHM set-up command with the descriptors and ring
 * size a hostile creator picks (record kind 10). The harness and the input format are in
 * fuzz_engine.h.
 *
 * Build: cmake -B build-fuzz -DCMAKE_C_COMPILER=clang -DZINC_FUZZ=ON
 * Run:   tests/fuzz/run.sh 60 fuzz_shm_setup
 */
#define FUZZ_CLIENT 0
#define FUZZ_SHM    1
#include "fuzz_engine.h"
