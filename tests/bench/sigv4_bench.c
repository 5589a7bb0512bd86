/* sigv4_bench.c - SigV4 signatures per second per core.
 *
 * Signs the Step Functions requests the worker sends most (GetActivityTask
 * with a short and with a 1,000-character session token; SendTaskSuccess
 * with an 830-character task token in the body) for about two seconds each
 * (HEALER_BENCH_SECONDS or argv[1] to change), three ways: with the cached
 * signing key, with the key derived every time (the date flips each call),
 * and with a new signer every time. Rates are signatures per CPU-second of
 * the signing thread. Prints a table, then one JSON line whose
 * "sigv4_sigs_per_s" is GetActivityTask, short token, cached key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "healer/common.h"
#include "healer/sigv4.h"

#define SESSION_TOKEN_LONG 1000
#define TASK_TOKEN_LEN 830

enum mode { MODE_CACHED, MODE_DERIVED, MODE_NEW_SIGNER, MODE_COUNT };
static const char *const mode_name[MODE_COUNT] = { "cached", "derived", "new_signer" };

typedef struct scenario {
	const char *name;     /* JSON key part */
	const char *title;
	const char *target;
	const char *body;
	const char *token;
} scenario;

static volatile unsigned bench_sink;   /* keeps the results live */

static double now_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Deterministic base64-looking text of len characters. */
static char *token_text(size_t len, unsigned seed)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *t = hl_xmalloc(len + 1);
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		t[i] = alphabet[(seed >> 16) % 64];
	}
	t[len] = '\0';
	return t;
}

static void die(const char *what, const hl_err *err)
{
	fprintf(stderr, "sigv4_bench: %s: %s\n", what, err->message);
	exit(1);
}

/* Signs sc for about seconds; returns signatures per CPU-second. */
static double run(const scenario *sc, enum mode mode, double seconds, char first_sig[65])
{
	const hl_header headers[] = {
		{ "Host", "states.us-east-1.amazonaws.com" },
		{ "Content-Type", "application/x-amz-json-1.0" },
		{ "X-Amz-Target", sc->target },
	};
	hl_sigv4_request req = {
		.method = "POST",
		.path = "/",
		.headers = headers,
		.n_headers = 3,
		.payload = sc->body,
		.payload_len = strlen(sc->body),
	};
	hl_sigv4_params params = {
		.access_key_id = "ASIAEXAMPLEKEY123456",
		.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		.session_token = sc->token,
		.region = "us-east-1",
		.service = "states",
		.time_s = 1714564800,
		.normalize_path = true,
	};
	hl_sigv4_signer *s = mode == MODE_NEW_SIGNER ? NULL : hl_sigv4_signer_new();
	hl_sigv4_result out;
	hl_err err = { 0 };
	unsigned long long n = 0;
	double start = now_s(CLOCK_MONOTONIC), cpu0 = now_s(CLOCK_THREAD_CPUTIME_ID);

	do {
		for (int i = 0; i < 512; i++, n++) {
			if (mode == MODE_DERIVED)
				params.time_s = 1714564800 + (n & 1) * 86400;
			if (mode == MODE_NEW_SIGNER)
				s = hl_sigv4_signer_new();
			if (!s)
				die("hl_sigv4_signer_new", &err);
			if (hl_sigv4_sign(s, &req, &params, &out, &err) != 0)
				die("hl_sigv4_sign", &err);
			if (n == 0)
				hl_strlcpy(first_sig, out.signature, 65);
			bench_sink += (unsigned char)out.signature[0];
			if (mode == MODE_NEW_SIGNER) {
				hl_sigv4_signer_free(s);
				s = NULL;
			}
		}
	} while (now_s(CLOCK_MONOTONIC) - start < seconds);
	double cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	hl_sigv4_signer_free(s);
	return cpu > 0 ? (double)n / cpu : 0;
}

int main(int argc, char **argv)
{
	const char *env = getenv("HEALER_BENCH_SECONDS");
	double seconds = argc > 1 ? strtod(argv[1], NULL) : env ? strtod(env, NULL) : 2.0;
	char *long_token = token_text(SESSION_TOKEN_LONG, 7);
	char *task_token = token_text(TASK_TOKEN_LEN, 11);
	const char *short_token = "FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDEXAMPLE+/=";
	char *get_body = hl_xstrdup(
		"{\"activityArn\":\"arn:aws:states:us-east-1:123456789012:activity:healer-diagnose\","
		"\"workerName\":\"healer-1\"}");
	char *success_body = hl_xasprintf("{\"taskToken\":\"%s\",\"output\":\"{\\\"ok\\\":true}\"}",
					  task_token);
	const scenario scenarios[] = {
		{ "get_activity_task", "GetActivityTask, short session token", "AWSStepFunctions.GetActivityTask", get_body, short_token },
		{ "get_activity_task_long_token", "GetActivityTask, 1000-char session token", "AWSStepFunctions.GetActivityTask", get_body, long_token },
		{ "send_task_success", "SendTaskSuccess, 830-char task token", "AWSStepFunctions.SendTaskSuccess", success_body, short_token },
	};
	enum { N_SC = sizeof(scenarios) / sizeof(scenarios[0]) };
	double rate[N_SC][MODE_COUNT];

	if (!(seconds > 0))
		seconds = 2.0;
	printf("SigV4 signatures per second per core (%.1f s per cell)\n", seconds);
	printf("%-42s %12s %12s %12s\n", "request", "cached key", "key derived", "new signer");
	for (size_t i = 0; i < N_SC; i++) {
		char sig[MODE_COUNT][65];
		for (int m = 0; m < MODE_COUNT; m++)
			rate[i][m] = run(&scenarios[i], (enum mode)m, seconds, sig[m]);
		if (strcmp(sig[0], sig[1]) != 0 || strcmp(sig[0], sig[2]) != 0) {
			fprintf(stderr, "sigv4_bench: modes disagree on %s\n", scenarios[i].name);
			return 1;
		}
		printf("%-42s %12.0f %12.0f %12.0f\n", scenarios[i].title, rate[i][MODE_CACHED],
		       rate[i][MODE_DERIVED], rate[i][MODE_NEW_SIGNER]);
	}
	printf("{\"sigv4_sigs_per_s\": %.0f", rate[0][MODE_CACHED]);
	for (size_t i = 0; i < N_SC; i++)
		for (int m = 0; m < MODE_COUNT; m++)
			printf(", \"sigv4_%s_%s\": %.0f", scenarios[i].name, mode_name[m], rate[i][m]);
	printf(", \"request_body_bytes\": [%zu, %zu, %zu]}\n", strlen(get_body), strlen(get_body),
	       strlen(success_body));
	free(long_token);
	free(task_token);
	free(get_body);
	free(success_body);
	return 0;
}
