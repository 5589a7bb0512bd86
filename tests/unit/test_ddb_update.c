/* test_ddb_update.c - hl_ddb_update_if (ddb.h), the conditional UpdateItem
 * the breaker, blast-radius and claim bookkeeping share (suite "ddb_update").
 *
 * A stub on 127.0.0.1 (a thread here, one connection per request) answers
 * each UpdateItem with a canned status and body and keeps the request body,
 * so a test pins both what is sent and how each answer is read: updated,
 * condition failed (HL_OK, not updated, err naming the exception) or a
 * failure. The real client signs and sends; only DynamoDB is the stub.
 * DynamoDB's own behaviour is tested against dynalite in
 * tests/integration/test_blast.py and test_guard.py.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "healer/aws.h"
#include "healer/creds.h"
#include "healer/ddb.h"
#include "healer/http.h"
#include "healer/log.h"

typedef struct stub {
	int fd;
	int port;
	int status;                 /* the answer */
	const char *body;
	char request[8192];         /* the last request's body, under lock */
	pthread_mutex_t lock;
	pthread_t thread;
} stub;

static stub S = { .lock = PTHREAD_MUTEX_INITIALIZER };
static hl_creds_provider *creds;
static hl_aws *aws;
static hl_aws_conn *conn;

/* Reads one request (headers, then Content-Length bytes), answers it. */
static void serve_one(int c)
{
	char buf[16384];
	size_t n = 0;
	char *body = NULL;
	long len = -1;
	while (n < sizeof(buf) - 1) {
		ssize_t r = read(c, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			return;
		n += (size_t)r;
		buf[n] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (end && len < 0) {
			char *cl = strcasestr(buf, "content-length:");
			len = cl ? strtol(cl + 15, NULL, 10) : 0;
			body = end + 4;
		}
		if (body && (long)(n - (size_t)(body - buf)) >= len)
			break;
	}
	if (!body)
		return;
	pthread_mutex_lock(&S.lock);
	snprintf(S.request, sizeof(S.request), "%.*s", (int)len, body);
	int status = S.status;
	const char *answer = S.body;
	pthread_mutex_unlock(&S.lock);
	char head[256];
	int h = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d X\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, strlen(answer));
	if (write(c, head, (size_t)h) < 0 || write(c, answer, strlen(answer)) < 0)
		return;
}

static void *stub_main(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(S.fd, NULL, NULL);
		if (c < 0)
			return NULL;
		serve_one(c);
		close(c);
	}
}

static void start(void)
{
	hl_err err;
	hl_log_set_level(HL_LOG_OFF);
	cr_assert_eq(hl_http_global_init(NULL), 0);
	S.fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof(a);
	cr_assert_eq(bind(S.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(S.fd, 8), 0);
	cr_assert_eq(getsockname(S.fd, (struct sockaddr *)&a, &al), 0);
	S.port = ntohs(a.sin_port);
	cr_assert_eq(pthread_create(&S.thread, NULL, stub_main, NULL), 0);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", S.port);
	setenv("AWS_ENDPOINT_URL", url, 1);
	unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
	unsetenv("AWS_SESSION_TOKEN");
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	hl_creds_config cc = { .clock = hl_clock_system() };
	creds = hl_creds_provider_new_default(&cc);
	cr_assert_not_null(creds);
	hl_aws_config cfg = { .region = "us-east-1", .creds = creds, .clock = hl_clock_system(), .max_attempts = 1 };
	aws = hl_aws_new(&cfg, &err);
	cr_assert_not_null(aws, "%s", err.message);
	conn = hl_aws_conn_new(aws);
}

static void stop(void)
{
	hl_aws_conn_free(conn);
	hl_aws_free(aws);
	hl_creds_provider_free(creds);
	shutdown(S.fd, SHUT_RDWR);
	close(S.fd);
	pthread_join(S.thread, NULL);
}

/* A counter update of item pk=k, at most :max, as the breaker makes it. */
static hl_ddb_update counter(bool return_new)
{
	json_object *key = json_object_new_object(), *names = json_object_new_object(),
		    *values = json_object_new_object();
	json_object_object_add(key, "pk", hl_ddb_s("k"));
	json_object_object_add(names, "#c", json_object_new_string("count"));
	json_object_object_add(values, ":one", hl_ddb_n(1));
	json_object_object_add(values, ":max", hl_ddb_n(3));
	hl_ddb_update u = {
		.table = "healer-breaker",
		.key = key,
		.update = "ADD #c :one",
		.condition = "attribute_not_exists(#c) OR #c < :max",
		.names = names,
		.values = values,
		.return_new = return_new,
	};
	return u;
}

/* The last request, parsed. */
static json_object *last_request(void)
{
	pthread_mutex_lock(&S.lock);
	json_object *req = json_tokener_parse(S.request);
	pthread_mutex_unlock(&S.lock);
	cr_assert_not_null(req, "the stub got no JSON request");
	return req;
}

static const char *member(json_object *o, const char *path)
{
	json_object *v = NULL;
	return json_object_object_get_ex(o, path, &v) ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)
						       : NULL;
}

/* Sends counter(return_new) with the stub answering status and body. */
static int send_counter(int status, const char *body, bool return_new, bool *updated, json_object **attrs,
			hl_err *err)
{
	pthread_mutex_lock(&S.lock);   /* the stub thread reads them */
	S.status = status;
	S.body = body;
	pthread_mutex_unlock(&S.lock);
	hl_err_clear(err);
	hl_ddb_update u = counter(return_new);
	return hl_ddb_update_if(conn, &u, updated, attrs, err);
}

#define CCF_BODY                                                                     \
	"{\"__type\":\"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException\"," \
	"\"message\":\"The conditional request failed\"}"

TestSuite(ddb_update, .init = start, .fini = stop, .timeout = 30);

Test(ddb_update, held_condition_updates_and_returns_the_new_item)
{
	hl_err err;
	bool updated = false;
	json_object *attrs = NULL;
	cr_assert_eq(send_counter(200, "{\"Attributes\":{\"pk\":{\"S\":\"k\"},\"count\":{\"N\":\"2\"}}}", true,
				  &updated, &attrs, &err),
		     HL_OK, "%s", err.message);
	cr_assert(updated);
	long long n = 0;
	cr_assert(hl_ddb_get_n(attrs, "count", &n));
	cr_assert_eq(n, 2);
	json_object_put(attrs);

	json_object *req = last_request();
	cr_assert_str_eq(member(req, "TableName"), "\"healer-breaker\"");
	cr_assert_str_eq(member(req, "Key"), "{\"pk\":{\"S\":\"k\"}}");
	cr_assert_str_eq(member(req, "UpdateExpression"), "\"ADD #c :one\"");
	cr_assert_str_eq(member(req, "ConditionExpression"), "\"attribute_not_exists(#c) OR #c < :max\"");
	cr_assert_str_eq(member(req, "ExpressionAttributeNames"), "{\"#c\":\"count\"}");
	cr_assert_str_eq(member(req, "ExpressionAttributeValues"), "{\":one\":{\"N\":\"1\"},\":max\":{\"N\":\"3\"}}");
	cr_assert_str_eq(member(req, "ReturnValues"), "\"ALL_NEW\"");
	json_object_put(req);
}

Test(ddb_update, without_return_new_nothing_is_asked_or_given_back)
{
	hl_err err;
	bool updated = false;
	json_object *attrs = json_object_new_object();   /* overwritten with NULL */
	json_object *before = attrs;
	cr_assert_eq(send_counter(200, "{}", false, &updated, &attrs, &err), HL_OK, "%s", err.message);
	json_object_put(before);
	cr_assert(updated);
	cr_assert_null(attrs);
	json_object *req = last_request();
	cr_assert_null(member(req, "ReturnValues"));
	json_object_put(req);
}

Test(ddb_update, failed_condition_is_an_answer_not_an_error)
{
	hl_err err;
	bool updated = true;
	json_object *attrs = NULL;
	cr_assert_eq(send_counter(400, CCF_BODY, true, &updated, &attrs, &err), HL_OK);
	cr_assert_not(updated);
	cr_assert_null(attrs);
	cr_assert_str_eq(err.aws_code, "ConditionalCheckFailedException");
}

Test(ddb_update, other_service_errors_are_failures)
{
	hl_err err;
	bool updated = true;
	const char *body = "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\","
			   "\"message\":\"Requested resource not found\"}";
	cr_assert_eq(send_counter(400, body, false, &updated, NULL, &err), HL_ERR_AWS);
	cr_assert_not(updated);
	cr_assert_str_eq(err.aws_code, "ResourceNotFoundException");
}

/* The breaker's and the blast-radius windows' counter: one request shape. */
Test(ddb_update, count_execution_adds_the_execution_once_below_max)
{
	hl_err err;
	hl_err_clear(&err);
	S.status = 400;
	S.body = CCF_BODY;
	json_object *key = json_object_new_object();
	json_object_object_add(key, "pk", hl_ddb_s("i-1#2026-11-27T08"));
	bool counted = true;
	json_object *attrs = NULL;
	cr_assert_eq(hl_ddb_count_execution(conn, "healer-breaker", key, "arn:x:execution:e:1", 3, 1700000000,
					    &counted, &attrs, &err),
		     HL_OK);
	cr_assert_not(counted, "full or counted before: not counted now");
	json_object *req = last_request();
	cr_assert_str_eq(member(req, "Key"), "{\"pk\":{\"S\":\"i-1#2026-11-27T08\"}}");
	cr_assert_str_eq(member(req, "UpdateExpression"),
			 "\"ADD #c :one, #ex :execs SET #ttl = if_not_exists(#ttl, :exp)\"");
	cr_assert_str_eq(member(req, "ConditionExpression"),
			 "\"(attribute_not_exists(#c) OR #c < :max) AND NOT contains(#ex, :exec)\"");
	cr_assert_str_eq(member(req, "ExpressionAttributeNames"),
			 "{\"#c\":\"count\",\"#ex\":\"executions\",\"#ttl\":\"expires_at\"}");
	cr_assert_str_eq(member(req, "ExpressionAttributeValues"),
			 "{\":one\":{\"N\":\"1\"},\":max\":{\"N\":\"3\"},\":exp\":{\"N\":\"1700000000\"},"
			 "\":exec\":{\"S\":\"arn:x:execution:e:1\"},\":execs\":{\"SS\":[\"arn:x:execution:e:1\"]}}");
	cr_assert_str_eq(member(req, "ReturnValues"), "\"ALL_NEW\"");
	json_object_put(req);
}
