/* local_endpoint.h - starts the local AWS stand-in (tests/local/server.py)
 * for a test and talks to its admin API.
 *
 * The server is a child process (Debian's /usr/bin/python3, so the pid is
 * the server's own) listening on 127.0.0.1 on a port it picks and writes to
 * a port file. The helpers use libcurl directly, not the code under test.
 * Tests must run from the repository root (as `make test-unit` does).
 */
#ifndef HEALER_TEST_LOCAL_ENDPOINT_H
#define HEALER_TEST_LOCAL_ENDPOINT_H

typedef struct hl_test_endpoint hl_test_endpoint;

/* Starts /usr/bin/python3 tests/local/server.py --port 0 --port-file <tmp>
 * [words of $HEALER_TEST_ENDPOINT_ARGS] and waits up to 10 s for the port
 * file. Returns NULL and prints why on stderr (with the server's output) on
 * failure. The server is sent SIGTERM if the test process dies. */
hl_test_endpoint *hl_test_endpoint_start(void);

/* "http://127.0.0.1:PORT" (no trailing slash); valid until stop. */
const char *hl_test_endpoint_url(const hl_test_endpoint *ep);

/* "127.0.0.1:PORT", e.g. for HEALER_TEST_ECS_HOST. */
const char *hl_test_endpoint_hostport(const hl_test_endpoint *ep);

/* Sends METHOD url+path with json_body (may be NULL) as application/json.
 * Returns the HTTP status, or -1 on a transport failure. *response_out (if
 * response_out is non-NULL) is the malloc'd, NUL-terminated body, or NULL. */
int hl_test_endpoint_admin(hl_test_endpoint *ep, const char *method,
			   const char *path, const char *json_body,
			   char **response_out);

/* SIGTERM (SIGKILL after 5 s), waitpid, removes the temp files. Accepts
 * NULL. */
void hl_test_endpoint_stop(hl_test_endpoint *ep);

#endif
