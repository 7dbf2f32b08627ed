/* bench_compare.h: running a bench cell on the system libzmq (bench_compare.c). */
#ifndef ZINC_CLI_BENCH_COMPARE_H
#define ZINC_CLI_BENCH_COMPARE_H

#include "bench.h"

/* bench_find_libzmq: the folder of a libzmq.so.5 that is not the library this
 * process runs on: given (a folder or the file), else $ZINC_SYSTEM_LIBZMQ, else the
 * usual system folders. Fills dir and path; 0, or -1 with a message printed. */
int bench_find_libzmq(const char *given, char *dir, size_t dlen, char *path, size_t plen);

/* bench_compare_cell: runs c in a child of this program on the libzmq in libdir. */
void bench_compare_cell(const struct bench_cell *c, const char *libdir,
                        struct bench_result *r, int show_progress);

/* bench_child_main: the child's side: `zinc bench --cell lat|thr TRANSPORT SIZE COUNT
 * SPIN` runs one cell and prints its RESULT lines. */
int bench_child_main(int argc, char **argv);

#endif
