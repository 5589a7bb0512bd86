/* fuzz_common.c - helpers shared by the libFuzzer targets (fuzz_common.h),
 * and a connect(2) that aborts so no target can reach the network. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "healer/log.h"

/* Interposes libc's connect for the whole process (libcurl included): a
 * target that opens a connection is broken, whatever the address. */
int connect(int fd, const struct sockaddr *addr, socklen_t len);
int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	(void)fd;
	(void)addr;
	(void)len;
	fuzz_fail("network", "connect() called while fuzzing: a parser tried to reach the network");
}

void fuzz_fail(const char *what, const char *detail)
{
	fprintf(stderr, "FUZZ INVARIANT BROKEN (%s): %s\n", what, detail ? detail : "");
	abort();
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

size_t fuzz_split(const uint8_t *data, size_t size, uint8_t sep, size_t max, char ***pieces)
{
	char **out = calloc(max ? max : 1, sizeof(*out));
	size_t n = 0, start = 0;

	if (!out)
		abort();
	for (size_t i = 0; i < size && n + 1 < max; i++) {
		if (data[i] == sep) {
			out[n++] = fuzz_strndup(data + start, i - start);
			start = i + 1;
		}
	}
	out[n++] = fuzz_strndup(data + start, size - start);
	*pieces = out;
	return n;
}

void fuzz_pieces_free(char **pieces, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(pieces[i]);
	free(pieces);
}

void fuzz_check_terminated(const char *s, size_t max, const char *what)
{
	if (!s)
		fuzz_fail(what, "NULL");
	if (strnlen(s, max) == max)
		fuzz_fail(what, "not NUL-terminated within its buffer");
}

void fuzz_check_no_controls(const char *s, size_t max, const char *what)
{
	fuzz_check_terminated(s, max, what);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			fuzz_fail(what, s);
}

void fuzz_quiet_logs(void)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		abort();
	hl_log_set_fd(fd);
	hl_log_set_level(HL_LOG_DEBUG);
}
