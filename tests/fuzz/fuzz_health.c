/* fuzz_health.c - libFuzzer target: the health file `healer health` reads
 * (hl_health_check, health.h). The file sits in a shared volume in some
 * deployments, so its content is treated as untrusted.
 *
 * Input: 8 bytes of "now" (epoch ms, little endian), 2 bytes of max age
 * (seconds), then the file's content, written to a private temporary file
 * before each check.
 *
 * Invariants: a healthy verdict needs a JSON object whose pid is a real
 * process id (1..INT_MAX: a value that only wraps to one, e.g. 2^32 + 1,
 * does not count) and whose status is not "stuck"; a verdict never
 * depends on undefined arithmetic (UBSan: e.g. "updated_ms" at INT64_MIN);
 * an unhealthy verdict has a terminated message.
 * Corpus: tests/fuzz/corpus/health/.
 */
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "healer/health.h"

static char path[256];

static void remove_file(void)
{
	unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* tmpfs when there is one: a file is written for every input. */
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	snprintf(path, sizeof(path), "%s/healer-fuzz-health-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0)
		return 1;
	close(fd);
	atexit(remove_file);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 10 || size > 4096)
		return -1;
	uint64_t now = 0;
	for (int i = 7; i >= 0; i--)
		now = (now << 8) | data[i];
	int max_age = data[8] | (data[9] << 8);
	FILE *f = fopen(path, "we");
	if (!f)
		abort();
	if (fwrite(data + 10, 1, size - 10, f) != size - 10)
		abort();
	fclose(f);

	hl_err err;
	hl_err_clear(&err);
	int rc = hl_health_check(path, max_age, (int64_t)now, &err);
	if (rc == HL_OK) {
		/* json-c parses what the checker parsed (its first 1,023 bytes). */
		char *doc = fuzz_strndup(data + 10, size - 10 < 1023 ? size - 10 : 1023);
		json_object *o = json_tokener_parse(doc), *v = NULL;
		if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "pid", &v))
			fuzz_fail("health", "healthy without a pid");
		int64_t pid = json_object_get_int64(v);
		if (pid < 1 || pid > INT_MAX)
			fuzz_fail("health", "healthy with a pid that is not a process id");
		if (json_object_object_get_ex(o, "status", &v) && json_object_is_type(v, json_type_string) &&
		    strcmp(json_object_get_string(v), "stuck") == 0)
			fuzz_fail("health", "healthy while stuck");
		json_object_put(o);
		free(doc);
	} else {
		fuzz_check_terminated(err.message, sizeof(err.message), "health message");
	}
	return 0;
}
