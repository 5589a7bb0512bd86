/* test_webapi_ca.c - HEALER_CA_BUNDLE checks (suite "webapi_ca", record.h).
 *
 * Each Criterion test runs in its own process, so setenv() does not leak
 * between tests. The bundles are written to a fresh temporary directory;
 * the certificate is made here with OpenSSL (a self-signed P-256 CA), so
 * nothing depends on the machine's CA store. Errors are asserted by code
 * and exact message. Verification against a TLS server is in
 * tests/integration/test_security.py.
 */
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "healer/record.h"

static char dir[] = "/tmp/healer-ca-XXXXXX";
static char path[256];

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bundle.pem", dir);
	cr_assert_eq(setenv("HEALER_CA_BUNDLE", path, 1), 0);
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
}

static void write_file(const char *text, size_t n)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, n, f), n);
	cr_assert_eq(fclose(f), 0);
}

/* A self-signed CA certificate as PEM (the caller frees it). */
static char *ca_pem(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	cr_assert(key && x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"healer unit CA", -1, -1, 0);
	X509_set_issuer_name(x, name);
	cr_assert(X509_sign(x, key, EVP_sha256()) > 0);
	BIO *b = BIO_new(BIO_s_mem());
	cr_assert(PEM_write_bio_X509(b, x));
	char *data = NULL;
	long n = BIO_get_mem_data(b, &data);
	char *out = strndup(data, (size_t)n);
	BIO_free(b);
	X509_free(x);
	EVP_PKEY_free(key);
	return out;
}

static int check(const char **got, hl_err *err)
{
	hl_err_clear(err);
	return hl_webapi_ca_bundle(true, got, err);
}

TestSuite(webapi_ca, .init = setup, .fini = teardown);

Test(webapi_ca, unset_or_empty_is_the_system_store)
{
	const char *got = "x";
	hl_err err;
	unsetenv("HEALER_CA_BUNDLE");
	cr_expect_eq(check(&got, &err), HL_OK);
	cr_expect_null(got);
	setenv("HEALER_CA_BUNDLE", "", 1);
	cr_expect_eq(check(&got, &err), HL_OK);
	cr_expect_null(got);
}

Test(webapi_ca, pem_certificates_pass_with_text_around_them)
{
	char *pem = ca_pem();
	char *text = hl_xasprintf("# Issuer: CN=healer unit CA\n%s\n# again\n%s", pem, pem);
	write_file(text, strlen(text));
	const char *got = NULL;
	hl_err err;
	cr_expect_eq(check(&got, &err), HL_OK, "%s", err.message);
	cr_expect_str_eq(got, path);
	free(text);
	free(pem);
}

Test(webapi_ca, missing_file)
{
	const char *got;
	hl_err err;
	char want[400];
	snprintf(want, sizeof(want), "HEALER_CA_BUNDLE: cannot read %s: No such file or directory", path);
	cr_expect_eq(check(&got, &err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, want);
	/* Without the file check (how the clients read it at run time) the
	 * value is taken as is: curl reports a file gone since the start. */
	hl_err_clear(&err);
	cr_expect_eq(hl_webapi_ca_bundle(false, &got, &err), HL_OK);
	cr_expect_str_eq(got, path);
}

Test(webapi_ca, directory_is_not_a_bundle)
{
	setenv("HEALER_CA_BUNDLE", dir, 1);
	const char *got;
	hl_err err;
	char want[400];
	snprintf(want, sizeof(want), "HEALER_CA_BUNDLE: %s is not a regular file", dir);
	cr_expect_eq(check(&got, &err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, want);
}

Test(webapi_ca, no_certificate_in_text_empty_or_der)
{
	static const char der[] = { 0x30, (char)0x82, 0x01, 0x10, 0x30, (char)0x81, 0x02 };
	const char *texts[] = { "not a certificate\n", "", der };
	size_t lens[] = { 18, 0, sizeof(der) };
	char want[400];
	snprintf(want, sizeof(want), "HEALER_CA_BUNDLE: %s holds no PEM certificate", path);
	for (size_t i = 0; i < 3; i++) {
		write_file(texts[i], lens[i]);
		const char *got;
		hl_err err;
		cr_expect_eq(check(&got, &err), HL_ERR_CONFIG, "case %zu", i);
		cr_expect_str_eq(err.message, want, "case %zu", i);
	}
}

Test(webapi_ca, damaged_pem_names_the_reason)
{
	const char *text = "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n";
	write_file(text, strlen(text));
	const char *got;
	hl_err err;
	char want[400];
	snprintf(want, sizeof(want), "HEALER_CA_BUNDLE: %s is not a PEM file of certificates (", path);
	cr_expect_eq(check(&got, &err), HL_ERR_CONFIG);
	cr_expect(strncmp(err.message, want, strlen(want)) == 0, "%s", err.message);
}

Test(webapi_ca, larger_than_4_mib)
{
	write_file("", 0);
	cr_assert_eq(truncate(path, 4 * 1024 * 1024 + 1), 0);
	const char *got;
	hl_err err;
	char want[400];
	snprintf(want, sizeof(want), "HEALER_CA_BUNDLE: %s is larger than 4 MiB", path);
	cr_expect_eq(check(&got, &err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, want);
}

Test(webapi_ca, control_characters_refused_without_quoting_them)
{
	setenv("HEALER_CA_BUNDLE", "/tmp/a\nb.pem", 1);
	const char *got;
	hl_err err;
	cr_expect_eq(hl_webapi_ca_bundle(false, &got, &err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, "HEALER_CA_BUNDLE: must be a file path without control characters");
}

/* The Jira and Slack clients are made through hl_webapi_init_opts: with no
 * ca_file of their own they take HEALER_CA_BUNDLE (a bad value fails). */
Test(webapi_ca, webapi_clients_read_the_setting)
{
	hl_webapi w;
	hl_err err;
	hl_webapi_opts opts = { 0 };
	setenv("HEALER_CA_BUNDLE", "/tmp/a\nb.pem", 1);
	hl_err_clear(&err);
	cr_expect_eq(hl_webapi_init_opts(&w, &opts, &err), HL_ERR_CONFIG);
	cr_expect_str_eq(err.message, "HEALER_CA_BUNDLE: must be a file path without control characters");
	opts.ca_file = path;   /* an explicit ca_file wins */
	hl_err_clear(&err);
	cr_expect_eq(hl_webapi_init_opts(&w, &opts, &err), HL_OK);
	hl_webapi_free(&w);
}
