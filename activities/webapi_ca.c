/* webapi_ca.c - HEALER_CA_BUNDLE: the CA certificates that Jira and Slack
 * are verified against.
 *
 * Jira Server / Data Center often sits behind a company's own CA. The
 * Jira and Slack clients (hl_webapi, so both share this) then trust the
 * PEM file HEALER_CA_BUNDLE names INSTEAD OF the system store: hl_http sets
 * it as CURLOPT_CAINFO and clears CURLOPT_CAPATH, so no CA directory built
 * into libcurl (Debian's /etc/ssl/certs) is trusted beside it. A deployment
 * whose Jira has a private CA and which also posts to Slack (public CAs)
 * puts both in the file: the system bundle followed by the private CA.
 * AWS_CA_BUNDLE is the AWS SDKs' variable for AWS endpoints and is not used
 * here. Verification of the peer and of the host name stays on always.
 *
 * The file is checked where the activities that call Jira or Slack check
 * their settings, at worker start: a readable regular file of at most
 * CA_BUNDLE_MAX bytes holding PEM certificates and nothing OpenSSL cannot
 * read. The parse is the one libcurl's OpenSSL backend makes of CAINFO
 * (PEM_X509_INFO_read_bio), so a file that would fail every handshake stops
 * the worker with a message naming the variable instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "healer/record.h"
#include "healer/settings.h"

/* Debian's full system bundle is ~220 KB; a bound keeps a wrong path
 * (a log file, a device) from being read without end. */
#define CA_BUNDLE_MAX (4 * 1024 * 1024)

/* A path we can quote in a message: no control characters. */
static bool valid_path(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* Reads the whole file into buf (at most CA_BUNDLE_MAX bytes). */
static int read_bundle(const char *path, hl_buf *buf, hl_err *err)
{
	int rc = HL_OK;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return hl_err_set(err, HL_ERR_CONFIG, "HEALER_CA_BUNDLE: cannot read %.200s: %s", path,
				  strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		rc = hl_err_set(err, HL_ERR_CONFIG, "HEALER_CA_BUNDLE: cannot read %.200s: %s", path,
				strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = hl_err_set(err, HL_ERR_CONFIG, "HEALER_CA_BUNDLE: %.200s is not a regular file", path);
		goto out;
	}
	if (st.st_size > CA_BUNDLE_MAX) {
		rc = hl_err_set(err, HL_ERR_CONFIG, "HEALER_CA_BUNDLE: %.200s is larger than %d MiB", path,
				CA_BUNDLE_MAX / (1024 * 1024));
		goto out;
	}
	char chunk[16384];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = hl_err_set(err, HL_ERR_CONFIG, "HEALER_CA_BUNDLE: cannot read %.200s: %s", path,
					strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (hl_buf_append(buf, chunk, (size_t)n) < 0) {
			rc = hl_err_set(err, HL_ERR_CONFIG, "HEALER_CA_BUNDLE: %.200s is larger than %d MiB",
					path, CA_BUNDLE_MAX / (1024 * 1024));
			goto out;
		}
	}
out:
	close(fd);
	return rc;
}

/* Counts the certificates of a PEM bundle; an entry OpenSSL cannot read
 * (a broken base64 block, a DER file's bytes) is an error naming why. */
static int check_pem(const char *path, const hl_buf *buf, hl_err *err)
{
	int rc = HL_OK;
	BIO *bio = NULL;
	STACK_OF(X509_INFO) *infos = NULL;

	ERR_clear_error();
	if (buf->len > 0) {
		bio = BIO_new_mem_buf(buf->data, (int)buf->len);
		if (!bio)
			abort();
		infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	}
	if (!infos && buf->len > 0 && ERR_peek_last_error() != 0 &&
	    ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
		char why[160];
		ERR_error_string_n(ERR_peek_last_error(), why, sizeof(why));
		rc = hl_err_set(err, HL_ERR_CONFIG,
				"HEALER_CA_BUNDLE: %.200s is not a PEM file of certificates (%s)", path, why);
		goto out;
	}
	int certs = 0;
	for (int i = 0; infos && i < sk_X509_INFO_num(infos); i++)
		if (sk_X509_INFO_value(infos, i)->x509)
			certs++;
	if (certs == 0)
		rc = hl_err_set(err, HL_ERR_CONFIG, "HEALER_CA_BUNDLE: %.200s holds no PEM certificate", path);
out:
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

int hl_webapi_ca_bundle(bool check_file, const char **path, hl_err *err)
{
	*path = NULL;
	HL_GUARD(hl_setting_str_check("HEALER_CA_BUNDLE", NULL, 0, valid_path,
				      "must be a file path without control characters", path, err));
	if (!*path || !check_file)
		return HL_OK;

	hl_buf buf;
	hl_buf_init(&buf, CA_BUNDLE_MAX);
	int rc = read_bundle(*path, &buf, err);
	if (rc == HL_OK)
		rc = check_pem(*path, &buf, err);
	hl_buf_free(&buf);
	return rc;
}
