/* health.c - writing and checking the health file (see health.h). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "healer/health.h"

int hl_health_write(const char *path, const char *status, const hl_pool_stats *st,
		    int64_t wall_ms, hl_err *err)
{
	char tmp[300], doc[512];
	int n = snprintf(doc, sizeof(doc),
			 "{\"pid\":%ld,\"updated_ms\":%lld,\"status\":\"%s\",\"open_polls\":%ld,"
			 "\"busy_slots\":%ld,\"tasks_received\":%ld,\"results_undelivered\":%ld}\n",
			 (long)getpid(), (long long)wall_ms, status, st->open_polls, st->busy_slots,
			 st->tasks_received, st->results_undelivered);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return hl_err_set(err, HL_ERR_CONFIG, "health file path too long");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return hl_err_set(err, HL_ERR_IO, "cannot write health file %s: %s", tmp, strerror(errno));
	bool ok = write(fd, doc, (size_t)n) == n;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return hl_err_set(err, HL_ERR_IO, "cannot write health file %s: %s", path, strerror(errno));
	}
	return HL_OK;
}

int hl_health_check(const char *path, int max_age_s, int64_t wall_ms, hl_err *err)
{
	char doc[1024];
	int rc = HL_OK;
	json_object *obj = NULL, *v = NULL;

	FILE *f = fopen(path, "re");
	if (!f)
		return hl_err_set(err, HL_ERR_NOT_FOUND, "no health file at %s (is the worker running?)", path);
	size_t n = fread(doc, 1, sizeof(doc) - 1, f);
	fclose(f);
	doc[n] = '\0';
	obj = json_tokener_parse(doc);
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		rc = hl_err_set(err, HL_ERR_PARSE, "health file %s is not a JSON object", path);
		goto out;
	}
	int64_t updated = json_object_object_get_ex(obj, "updated_ms", &v) ? json_object_get_int64(v) : 0;
	int64_t pid = json_object_object_get_ex(obj, "pid", &v) ? json_object_get_int64(v) : 0;
	const char *status = json_object_object_get_ex(obj, "status", &v) ? json_object_get_string(v) : "";
	if (!status)
		status = "";   /* "status": null */
	/* The file is read, not trusted: a pid outside pid_t would wrap (to
	 * -1: "any process"), and a far-off timestamp must not overflow the
	 * age (computed unsigned, from the older to the newer). */
	if (pid <= 0 || pid > INT_MAX || (kill((pid_t)pid, 0) < 0 && errno == ESRCH)) {
		rc = hl_err_set(err, HL_ERR_INTERNAL, "worker process %lld is not running", (long long)pid);
	} else if (updated < wall_ms &&
		   (uint64_t)wall_ms - (uint64_t)updated > (uint64_t)(max_age_s > 0 ? max_age_s : 0) * 1000) {
		rc = hl_err_set(err, HL_ERR_TIMEOUT, "health file is %llu s old (limit %d s): the worker is not updating it",
				(unsigned long long)(((uint64_t)wall_ms - (uint64_t)updated) / 1000), max_age_s);
	} else if (strcmp(status, "stuck") == 0) {
		rc = hl_err_set(err, HL_ERR_INTERNAL, "the worker reports its poll loop is stuck");
	}
out:
	json_object_put(obj);
	return rc;
}
