/* fuzz_common.h - what the libFuzzer targets in tests/fuzz/ share.
 *
 * Every target links fuzz_common.c, which also replaces connect(2) with a
 * version that aborts: a parser that tried to reach the network while
 * being fuzzed is a finding (no target may depend on an endpoint).
 *
 * Helpers: NUL-terminated copies of the input, splitting it into pieces at
 * a separator byte, invariant checks (printable, bounded), and
 * fuzz_quiet_logs(), which sends the worker's JSON log lines to /dev/null
 * at debug level so log formatting of hostile values is exercised too.
 */
#ifndef HEALER_FUZZ_COMMON_H
#define HEALER_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A NUL-terminated copy of data (caller frees). */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* Splits data at every `sep` byte into at most max pieces (the last piece
 * takes the rest). Each piece is a NUL-terminated copy in *pieces (caller
 * frees with fuzz_pieces_free). Returns the number of pieces (>= 1). */
size_t fuzz_split(const uint8_t *data, size_t size, uint8_t sep, size_t max, char ***pieces);
void fuzz_pieces_free(char **pieces, size_t n);

/* Aborts unless s is NUL-terminated within max bytes. */
void fuzz_check_terminated(const char *s, size_t max, const char *what);
/* Aborts unless s is NUL-terminated within max bytes and has no byte
 * below 0x20 or equal to 0x7f (no CR, LF, NUL, ESC ...). */
void fuzz_check_no_controls(const char *s, size_t max, const char *what);

/* Logs at debug level to /dev/null. */
void fuzz_quiet_logs(void);

/* Reports a broken invariant on stderr and aborts. */
void fuzz_fail(const char *what, const char *detail) __attribute__((noreturn));

#endif
