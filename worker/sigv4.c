/* sigv4.c - AWS Signature Version 4 header signing.
 *
 * hl_sigv4_sign() writes the canonical request (method, canonical URI,
 * canonical query, canonical headers, signed headers, payload hash) into a
 * signer-owned buffer, hashes it into the string to sign and signs that with
 * the derived key HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region),
 * service), "aws4_request"). It matches every header-signing case of the
 * aws-c-auth v4 suite and botocore's SigV4Auth for non-S3 services.
 *
 * Speed: the signer fetches SHA-256 once and reuses its EVP_MD_CTX; HMAC is
 * built on it directly (RFC 2104) rather than on OpenSSL 3's one-shot calls,
 * which fetch algorithms and allocate on every call. For the cached signing
 * key the signer keeps the two HMAC states with key^ipad and key^opad already
 * absorbed, so a signature costs three hashes and no allocation once the
 * buffers have grown to size. The date strings are reformatted only when the
 * signing second changes.
 *
 * Key cache: one entry keyed by (secret, date, region, service); the secret
 * copy is compared with CRYPTO_memcmp and wiped with OPENSSL_cleanse on
 * change and free. The key states are overwritten (EVP init zeroes them) on
 * change and cleared by EVP_MD_CTX_free; derivation intermediates are wiped.
 * Secrets longer than MAX_CACHED_SECRET are not cached: derived every call.
 *
 * URI rules: req->path is the path as sent on the wire; each segment is
 * URI-encoded once more, so '%' becomes "%25" (AWS's "double encoding" for
 * every service but S3; S3's single encoding is not supported). With
 * normalize_path, empty and "." segments are dropped and ".." drops the
 * segment before it (botocore's remove_dot_segments). The query is split on
 * '&' and the first '=', each part percent-decoded and re-encoded with the
 * RFC 3986 unreserved set, and the pairs sorted by key, then value.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/clock.h"
#include "healer/sigv4.h"

#define SHA256_LEN 32
#define SHA256_BLOCK 64
#define MAX_HEADERS 256
#define MAX_QUERY_PARAMS 4096
#define MAX_CANONICAL (1024 * 1024)   /* canonical request, query, auth */
#define MAX_METHOD 32
#define MAX_ACCESS_KEY_ID 128
#define MAX_SCOPE_PART 64             /* region, service */
#define MAX_SESSION_TOKEN 16384
#define MAX_CACHED_SECRET 256         /* longer secrets work, uncached */
#define MAX_TIME_S INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define ALGORITHM "AWS4-HMAC-SHA256"

/* One request header (or one the signer adds), value already trimmed. */
typedef struct hdr_entry {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
} hdr_entry;

/* One query parameter, encoded into the signer's query buffer. */
typedef struct query_param {
	size_t key_off, key_len, val_off, val_len;
	const char *key, *val;   /* set once the buffer stops moving */
} query_param;

struct hl_sigv4_signer {
	EVP_MD *md;
	EVP_MD_CTX *ctx;         /* scratch */
	EVP_MD_CTX *key_inner;   /* signing key ^ ipad absorbed */
	EVP_MD_CTX *key_outer;   /* signing key ^ opad absorbed */

	/* Signing key cache: valid only for these inputs. */
	bool key_valid;
	char key_date[9];
	char key_region[MAX_SCOPE_PART + 1];
	char key_service[MAX_SCOPE_PART + 1];
	size_t key_secret_len;
	unsigned char key_secret[MAX_CACHED_SECRET];

	/* Date strings for date_time_s. */
	bool date_valid;
	int64_t date_time_s;
	char amz_date[17];
	char date[9];

	hdr_entry *hdrs;
	size_t hdrs_cap;
	query_param *params;
	size_t params_cap;

	hl_buf creq;             /* canonical request (holds the session token) */
	hl_buf query;            /* encoded query parameters */
	hl_buf signed_headers;
	hl_buf sts;
	hl_buf auth;
	char scope[3 * MAX_SCOPE_PART];
	char payload_hash[65];
	char signature[65];
};

static const char hex_lower[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";

static void to_hex(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex_lower[d[i] >> 4];
		out[2 * i + 1] = hex_lower[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 7230 tchar: what a header name or a method may contain. */
static bool is_tchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Case-insensitive comparison of header names (ASCII tokens). */
static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)lower(a[i]);
		unsigned char y = (unsigned char)lower(b[i]);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return alen == blen ? 0 : (alen < blen ? -1 : 1);
}

static bool name_is(const char *a, size_t alen, const char *lower_name)
{
	return name_cmp(a, alen, lower_name, strlen(lower_name)) == 0;
}

/* ---- hashing ------------------------------------------------------------ */

static int digest(hl_sigv4_signer *s, const void *a, size_t alen,
		  const void *b, size_t blen, unsigned char out[SHA256_LEN])
{
	if (EVP_DigestInit_ex2(s->ctx, s->md, NULL) != 1 ||
	    EVP_DigestUpdate(s->ctx, a, alen) != 1 ||
	    (blen && EVP_DigestUpdate(s->ctx, b, blen) != 1) ||
	    EVP_DigestFinal_ex(s->ctx, out, NULL) != 1)
		return HL_ERR_INTERNAL;
	return HL_OK;
}

/* HMAC key blocks for the key k1 || k2 (RFC 2104). */
static int hmac_pads(hl_sigv4_signer *s, const void *k1, size_t l1,
		     const void *k2, size_t l2, unsigned char ipad[SHA256_BLOCK],
		     unsigned char opad[SHA256_BLOCK])
{
	unsigned char k[SHA256_BLOCK] = { 0 };
	int rc = HL_OK;

	if (l1 + l2 > SHA256_BLOCK) {
		rc = digest(s, k1, l1, k2, l2, k);
	} else {
		memcpy(k, k1, l1);
		if (l2)
			memcpy(k + l1, k2, l2);
	}
	for (size_t i = 0; i < SHA256_BLOCK; i++) {
		ipad[i] = k[i] ^ 0x36;
		opad[i] = k[i] ^ 0x5c;
	}
	OPENSSL_cleanse(k, sizeof(k));
	return rc;
}

static int hmac(hl_sigv4_signer *s, const unsigned char ipad[SHA256_BLOCK],
		const unsigned char opad[SHA256_BLOCK], const void *msg,
		size_t len, unsigned char out[SHA256_LEN])
{
	unsigned char inner[SHA256_LEN];
	int rc = digest(s, ipad, SHA256_BLOCK, msg, len, inner);
	if (rc == HL_OK)
		rc = digest(s, opad, SHA256_BLOCK, inner, sizeof(inner), out);
	OPENSSL_cleanse(inner, sizeof(inner));
	return rc;
}

/* Derives the signing key for (secret, date, region, service) into the
 * signer's key_inner/key_outer states. */
static int derive_key(hl_sigv4_signer *s, const char *secret, size_t secret_len,
		      const char *region, const char *service)
{
	unsigned char ipad[SHA256_BLOCK], opad[SHA256_BLOCK], k[SHA256_LEN];
	int rc;

	s->key_valid = false;
	HL_GUARD_GOTO(rc, hmac_pads(s, "AWS4", 4, secret, secret_len, ipad, opad), done);
	HL_GUARD_GOTO(rc, hmac(s, ipad, opad, s->date, 8, k), done);
	HL_GUARD_GOTO(rc, hmac_pads(s, k, sizeof(k), NULL, 0, ipad, opad), done);
	HL_GUARD_GOTO(rc, hmac(s, ipad, opad, region, strlen(region), k), done);
	HL_GUARD_GOTO(rc, hmac_pads(s, k, sizeof(k), NULL, 0, ipad, opad), done);
	HL_GUARD_GOTO(rc, hmac(s, ipad, opad, service, strlen(service), k), done);
	HL_GUARD_GOTO(rc, hmac_pads(s, k, sizeof(k), NULL, 0, ipad, opad), done);
	HL_GUARD_GOTO(rc, hmac(s, ipad, opad, "aws4_request", 12, k), done);
	HL_GUARD_GOTO(rc, hmac_pads(s, k, sizeof(k), NULL, 0, ipad, opad), done);
	if (EVP_DigestInit_ex2(s->key_inner, s->md, NULL) != 1 ||
	    EVP_DigestUpdate(s->key_inner, ipad, sizeof(ipad)) != 1 ||
	    EVP_DigestInit_ex2(s->key_outer, s->md, NULL) != 1 ||
	    EVP_DigestUpdate(s->key_outer, opad, sizeof(opad)) != 1)
		rc = HL_ERR_INTERNAL;
done:
	OPENSSL_cleanse(ipad, sizeof(ipad));
	OPENSSL_cleanse(opad, sizeof(opad));
	OPENSSL_cleanse(k, sizeof(k));
	return rc;
}

/* Drops the cache entry and wipes the secret copy. The key states are
 * overwritten by the next derivation (EVP init clears them) and cleared by
 * EVP_MD_CTX_free. */
static void forget_key(hl_sigv4_signer *s)
{
	s->key_valid = false;
	OPENSSL_cleanse(s->key_secret, sizeof(s->key_secret));
	s->key_secret_len = 0;
}

/* Makes key_inner/key_outer hold the key for these inputs, deriving it
 * only when the cached one was made for different ones. */
static int signing_key(hl_sigv4_signer *s, const char *secret,
		       const char *region, const char *service)
{
	size_t secret_len = strlen(secret);

	if (s->key_valid && s->key_secret_len == secret_len &&
	    memcmp(s->key_date, s->date, sizeof(s->key_date)) == 0 &&
	    strcmp(s->key_region, region) == 0 &&
	    strcmp(s->key_service, service) == 0 &&
	    CRYPTO_memcmp(s->key_secret, secret, secret_len) == 0)
		return HL_OK;

	forget_key(s);
	HL_GUARD(derive_key(s, secret, secret_len, region, service));
	if (secret_len <= sizeof(s->key_secret)) {
		memcpy(s->key_secret, secret, secret_len);
		s->key_secret_len = secret_len;
		memcpy(s->key_date, s->date, sizeof(s->key_date));
		hl_strlcpy(s->key_region, region, sizeof(s->key_region));
		hl_strlcpy(s->key_service, service, sizeof(s->key_service));
		s->key_valid = true;
	}
	return HL_OK;
}

/* ---- canonical request ---------------------------------------------------- */

static int put(hl_buf *b, const char *str)
{
	return hl_buf_append(b, str, strlen(str));
}

/* Appends in[0..n) URI-encoded (RFC 3986 unreserved set kept, uppercase
 * hex), keeping '/' when keep_slash, percent-decoding valid %XX first when
 * decode. Works through a small stack buffer to keep appends few. */
static int uri_encode(hl_buf *b, const char *in, size_t n, bool keep_slash,
		      bool decode)
{
	char tmp[3 * 64];
	size_t t = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (decode && c == '%' && i + 2 < n && hex_val(in[i + 1]) >= 0 &&
		    hex_val(in[i + 2]) >= 0) {
			c = (unsigned char)(hex_val(in[i + 1]) << 4 | hex_val(in[i + 2]));
			i += 2;
		}
		if (is_unreserved(c) || (keep_slash && c == '/')) {
			tmp[t++] = (char)c;
		} else {
			tmp[t++] = '%';
			tmp[t++] = hex_upper[c >> 4];
			tmp[t++] = hex_upper[c & 15];
		}
		if (t > sizeof(tmp) - 3) {
			HL_GUARD(hl_buf_append(b, tmp, t));
			t = 0;
		}
	}
	return hl_buf_append(b, tmp, t);
}

static void buf_truncate(hl_buf *b, size_t len)
{
	b->len = len;
	b->data[len] = '\0';
}

static int canonical_path(hl_buf *b, const char *path, bool normalize)
{
	size_t n = strlen(path);
	size_t base = b->len, pieces = 0;
	const char *p = path, *end = path + n;

	if (n == 0)
		return hl_buf_append(b, "/", 1);
	if (!normalize)
		return uri_encode(b, path, n, true, false);

	/* The output is a run of "/segment" pieces; ".." cuts the last. */
	while (p <= end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *seg_end = slash ? slash : end;
		size_t len = (size_t)(seg_end - p);

		if (len == 0 || (len == 1 && p[0] == '.')) {
			/* dropped */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (pieces) {
				size_t k = b->len;
				while (b->data[k - 1] != '/')
					k--;
				buf_truncate(b, k - 1);
				pieces--;
			}
		} else {
			HL_GUARD(hl_buf_append(b, "/", 1));
			HL_GUARD(uri_encode(b, p, len, false, false));
			pieces++;
		}
		if (!slash)
			break;
		p = slash + 1;
	}
	if (b->len == base || path[n - 1] == '/')
		return hl_buf_append(b, "/", 1);
	return HL_OK;
}

static int param_cmp(const void *pa, const void *pb)
{
	const query_param *a = pa, *b = pb;
	size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int c = memcmp(a->key, b->key, n);
	if (c || a->key_len != b->key_len)
		return c ? c : (a->key_len < b->key_len ? -1 : 1);
	n = a->val_len < b->val_len ? a->val_len : b->val_len;
	c = memcmp(a->val, b->val, n);
	if (c || a->val_len != b->val_len)
		return c ? c : (a->val_len < b->val_len ? -1 : 1);
	return 0;
}

/* Appends the canonical query; check_request bounded the parameter count. */
static int canonical_query(hl_sigv4_signer *s, const char *q)
{
	size_t n = 0, qlen = q ? strlen(q) : 0;
	const char *p = q, *end;

	if (qlen == 0)
		return HL_OK;
	end = q + qlen;   /* not before: NULL + 0 is undefined */
	hl_buf_reset(&s->query);
	while (p <= end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *seg_end = amp ? amp : end;

		if (seg_end > p) {
			const char *eq = memchr(p, '=', (size_t)(seg_end - p));
			const char *key_end = eq ? eq : seg_end;
			query_param *qp;

			if (n == s->params_cap) {
				s->params_cap = s->params_cap ? 2 * s->params_cap : 8;
				s->params = hl_xrealloc(s->params, s->params_cap * sizeof(*s->params));
			}
			qp = &s->params[n++];
			qp->key_off = s->query.len;
			HL_GUARD(uri_encode(&s->query, p, (size_t)(key_end - p), false, true));
			qp->key_len = s->query.len - qp->key_off;
			qp->val_off = s->query.len;
			if (eq)
				HL_GUARD(uri_encode(&s->query, eq + 1,
						    (size_t)(seg_end - eq - 1), false, true));
			qp->val_len = s->query.len - qp->val_off;
		}
		if (!amp)
			break;
		p = amp + 1;
	}
	for (size_t i = 0; i < n; i++) {
		s->params[i].key = s->query.data + s->params[i].key_off;
		s->params[i].val = s->query.data + s->params[i].val_off;
	}
	if (n > 1)
		qsort(s->params, n, sizeof(*s->params), param_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i)
			HL_GUARD(hl_buf_append(&s->creq, "&", 1));
		HL_GUARD(hl_buf_append(&s->creq, s->params[i].key, s->params[i].key_len));
		HL_GUARD(hl_buf_append(&s->creq, "=", 1));
		HL_GUARD(hl_buf_append(&s->creq, s->params[i].val, s->params[i].val_len));
	}
	return HL_OK;
}

/* Appends a lowercased header name. */
static int put_name(hl_buf *b, const char *name, size_t len)
{
	size_t start = b->len;
	HL_GUARD(hl_buf_append(b, name, len));
	for (size_t i = start; i < b->len; i++)
		b->data[i] = lower(b->data[i]);
	return HL_OK;
}

/* Appends a trimmed value with each run of spaces/tabs made one space. */
static int put_value(hl_buf *b, const char *v, size_t len)
{
	size_t start = b->len;
	HL_GUARD(hl_buf_append(b, v, len));
	char *r = b->data + start, *w = r, *end = b->data + b->len;
	bool in_space = false;
	for (; r < end; r++) {
		if (*r == ' ' || *r == '\t') {
			if (!in_space)
				*w++ = ' ';
			in_space = true;
		} else {
			*w++ = *r;
			in_space = false;
		}
	}
	buf_truncate(b, (size_t)(w - b->data));
	return HL_OK;
}

static void add_entry(hl_sigv4_signer *s, size_t *n, const char *name,
		      size_t name_len, const char *value, size_t value_len)
{
	if (*n == s->hdrs_cap) {
		s->hdrs_cap = s->hdrs_cap ? 2 * s->hdrs_cap : 16;
		s->hdrs = hl_xrealloc(s->hdrs, s->hdrs_cap * sizeof(*s->hdrs));
	}
	s->hdrs[(*n)++] = (hdr_entry){ name, name_len, value, value_len };
}

/* Checks the request headers and gathers them with the ones the signer
 * adds into s->hdrs, sorted by lowercase name (stable: duplicates keep
 * their order). */
static int collect_headers(hl_sigv4_signer *s, const hl_sigv4_request *req,
			   const hl_sigv4_params *params, const char *token,
			   size_t *count, hl_err *err)
{
	size_t n = 0;
	bool host = false;

	if (req->n_headers && !req->headers)
		return hl_err_set(err, HL_ERR_INVALID,
				  "sigv4: headers is NULL but n_headers is %zu", req->n_headers);
	if (req->n_headers > MAX_HEADERS)
		return hl_err_set(err, HL_ERR_TOO_LARGE, "sigv4: too many headers (%zu, max %d)",
				  req->n_headers, MAX_HEADERS);
	for (size_t i = 0; i < req->n_headers; i++) {
		const hl_header *h = &req->headers[i];
		if (!h->name)
			return hl_err_set(err, HL_ERR_INVALID, "sigv4: header %zu has a NULL name", i);
		if (!h->value)
			return hl_err_set(err, HL_ERR_INVALID, "sigv4: header %zu has a NULL value", i);
		size_t nlen = strlen(h->name), vlen = strlen(h->value);
		int shown = nlen > 64 ? 64 : (int)nlen;
		if (nlen == 0)
			return hl_err_set(err, HL_ERR_INVALID, "sigv4: header %zu has an empty name", i);
		for (size_t j = 0; j < nlen; j++)
			if (!is_tchar((unsigned char)h->name[j]))
				return hl_err_set(err, HL_ERR_INVALID,
						  "sigv4: header %zu name has invalid byte 0x%02x", i,
						  (unsigned char)h->name[j]);
		for (size_t j = 0; j < vlen; j++) {
			unsigned char c = (unsigned char)h->value[j];
			if (is_ctl(c) && c != '\t')
				return hl_err_set(err, HL_ERR_INVALID,
						  "sigv4: header %zu (%.*s) value has invalid byte 0x%02x",
						  i, shown, h->name, c);
		}
		if (name_is(h->name, nlen, "x-amz-date") || name_is(h->name, nlen, "authorization") ||
		    (token && name_is(h->name, nlen, "x-amz-security-token")) ||
		    (params->add_content_sha256 && name_is(h->name, nlen, "x-amz-content-sha256")))
			return hl_err_set(err, HL_ERR_INVALID, "sigv4: header %zu (%.*s) is set by the signer",
					  i, shown, h->name);
		if (name_is(h->name, nlen, "host"))
			host = true;

		const char *v = h->value, *vend = h->value + vlen;
		while (v < vend && (*v == ' ' || *v == '\t'))
			v++;
		while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		add_entry(s, &n, h->name, nlen, v, (size_t)(vend - v));
	}
	if (!host)
		return hl_err_set(err, HL_ERR_INVALID, "sigv4: host header is missing");

	add_entry(s, &n, "x-amz-date", 10, s->amz_date, 16);
	if (token)
		add_entry(s, &n, "x-amz-security-token", 20, token, strlen(token));
	if (params->add_content_sha256)
		add_entry(s, &n, "x-amz-content-sha256", 20, s->payload_hash,
			  strlen(s->payload_hash));

	for (size_t i = 1; i < n; i++) {
		hdr_entry e = s->hdrs[i];
		size_t j = i;
		while (j > 0 && name_cmp(s->hdrs[j - 1].name, s->hdrs[j - 1].name_len,
					 e.name, e.name_len) > 0) {
			s->hdrs[j] = s->hdrs[j - 1];
			j--;
		}
		s->hdrs[j] = e;
	}
	*count = n;
	return HL_OK;
}

/* Writes the canonical request for the collected headers into s->creq and
 * the signed header list into s->signed_headers. */
static int canonical_request(hl_sigv4_signer *s, const hl_sigv4_request *req,
			     const hl_sigv4_params *params, size_t n)
{
	hl_buf *b = &s->creq;

	hl_buf_reset(b);
	hl_buf_reset(&s->signed_headers);
	HL_GUARD(put(b, req->method));
	HL_GUARD(hl_buf_append(b, "\n", 1));
	HL_GUARD(canonical_path(b, req->path, params->normalize_path));
	HL_GUARD(hl_buf_append(b, "\n", 1));
	HL_GUARD(canonical_query(s, req->query));
	HL_GUARD(hl_buf_append(b, "\n", 1));
	for (size_t i = 0; i < n;) {
		const hdr_entry *e = &s->hdrs[i];
		HL_GUARD(put_name(b, e->name, e->name_len));
		HL_GUARD(hl_buf_append(b, ":", 1));
		HL_GUARD(put_value(b, e->value, e->value_len));
		size_t j = i + 1;
		for (; j < n && name_cmp(e->name, e->name_len, s->hdrs[j].name,
					 s->hdrs[j].name_len) == 0; j++) {
			HL_GUARD(hl_buf_append(b, ",", 1));
			HL_GUARD(put_value(b, s->hdrs[j].value, s->hdrs[j].value_len));
		}
		HL_GUARD(hl_buf_append(b, "\n", 1));
		if (i)
			HL_GUARD(hl_buf_append(&s->signed_headers, ";", 1));
		HL_GUARD(put_name(&s->signed_headers, e->name, e->name_len));
		i = j;
	}
	HL_GUARD(hl_buf_append(b, "\n", 1));
	HL_GUARD(hl_buf_append(b, s->signed_headers.data, s->signed_headers.len));
	HL_GUARD(hl_buf_append(b, "\n", 1));
	return put(b, s->payload_hash);
}

/* ---- validation ----------------------------------------------------------- */

/* A printable field without spaces (and without '/' when in_scope). */
static int check_field(const char *v, const char *what, size_t max,
		       bool in_scope, hl_err *err)
{
	if (!v || !*v)
		return hl_err_set(err, HL_ERR_INVALID, "sigv4: %s is missing", what);
	size_t len = strnlen(v, max + 1);
	if (len > max)
		return hl_err_set(err, HL_ERR_INVALID, "sigv4: %s is longer than %zu bytes",
				  what, max);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c <= ' ' || c >= 0x7f || (in_scope && (c == '/' || c == ',')))
			return hl_err_set(err, HL_ERR_INVALID, "sigv4: %s has invalid byte 0x%02x",
					  what, c);
	}
	return HL_OK;
}

static int check_params(const hl_sigv4_params *p, hl_err *err)
{
	HL_GUARD(check_field(p->access_key_id, "access_key_id", MAX_ACCESS_KEY_ID, true, err));
	if (!p->secret_access_key || !*p->secret_access_key)
		return hl_err_set(err, HL_ERR_INVALID, "sigv4: secret_access_key is missing");
	HL_GUARD(check_field(p->region, "region", MAX_SCOPE_PART, true, err));
	HL_GUARD(check_field(p->service, "service", MAX_SCOPE_PART, true, err));
	if (p->session_token && *p->session_token)
		HL_GUARD(check_field(p->session_token, "session_token", MAX_SESSION_TOKEN,
				     false, err));
	if (p->time_s < 0 || p->time_s > MAX_TIME_S)
		return hl_err_set(err, HL_ERR_INVALID, "sigv4: time_s %lld is out of range",
				  (long long)p->time_s);
	return HL_OK;
}

static int check_request(const hl_sigv4_request *r, hl_err *err)
{
	if (!r->method || !*r->method)
		return hl_err_set(err, HL_ERR_INVALID, "sigv4: method is missing");
	size_t len = strnlen(r->method, MAX_METHOD + 1);
	if (len > MAX_METHOD)
		return hl_err_set(err, HL_ERR_INVALID, "sigv4: method is longer than %d bytes",
				  MAX_METHOD);
	for (size_t i = 0; i < len; i++)
		if (!is_tchar((unsigned char)r->method[i]))
			return hl_err_set(err, HL_ERR_INVALID, "sigv4: method has invalid byte 0x%02x",
					  (unsigned char)r->method[i]);
	if (!r->path)
		return hl_err_set(err, HL_ERR_INVALID, "sigv4: path is missing");
	if (r->path[0] != '\0' && r->path[0] != '/')
		return hl_err_set(err, HL_ERR_INVALID, "sigv4: path must start with '/'");
	for (const char *p = r->path; *p; p++)
		if (is_ctl((unsigned char)*p))
			return hl_err_set(err, HL_ERR_INVALID, "sigv4: path has invalid byte 0x%02x",
					  (unsigned char)*p);
	size_t n_params = 1;
	for (const char *p = r->query; p && *p; p++) {
		if (is_ctl((unsigned char)*p) || *p == '#')
			return hl_err_set(err, HL_ERR_INVALID, "sigv4: query has invalid byte 0x%02x",
					  (unsigned char)*p);
		if (*p == '&' && ++n_params > MAX_QUERY_PARAMS)
			return hl_err_set(err, HL_ERR_TOO_LARGE,
					  "sigv4: query has more than %d parameters", MAX_QUERY_PARAMS);
	}
	if (!r->payload && r->payload_len)
		return hl_err_set(err, HL_ERR_INVALID,
				  "sigv4: payload is NULL but payload_len is %zu", r->payload_len);
	return HL_OK;
}

/* ---- public API ----------------------------------------------------------- */

/* "DATE/REGION/SERVICE/aws4_request" (lengths checked by check_params). */
static void build_scope(char out[3 * MAX_SCOPE_PART], const char *date,
			const char *region, const char *service)
{
	size_t rl = strlen(region), sl = strlen(service), o = 0;

	memcpy(out, date, 8);
	o = 8;
	out[o++] = '/';
	memcpy(out + o, region, rl);
	o += rl;
	out[o++] = '/';
	memcpy(out + o, service, sl);
	o += sl;
	memcpy(out + o, "/aws4_request", sizeof("/aws4_request"));
}

hl_sigv4_signer *hl_sigv4_signer_new(void)
{
	hl_sigv4_signer *s = hl_xcalloc(1, sizeof(*s));

	s->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	s->ctx = EVP_MD_CTX_new();
	s->key_inner = EVP_MD_CTX_new();
	s->key_outer = EVP_MD_CTX_new();
	if (!s->md || !s->ctx || !s->key_inner || !s->key_outer) {
		hl_sigv4_signer_free(s);
		return NULL;
	}
	hl_buf_init(&s->creq, MAX_CANONICAL);
	hl_buf_init(&s->query, MAX_CANONICAL);
	hl_buf_init(&s->signed_headers, MAX_CANONICAL);
	hl_buf_init(&s->sts, 1024);
	hl_buf_init(&s->auth, MAX_CANONICAL);
	return s;
}

void hl_sigv4_signer_free(hl_sigv4_signer *s)
{
	if (!s)
		return;
	forget_key(s);
	EVP_MD_CTX_free(s->ctx);
	EVP_MD_CTX_free(s->key_inner);
	EVP_MD_CTX_free(s->key_outer);
	EVP_MD_free(s->md);
	hl_buf_free_secret(&s->creq);
	hl_buf_free_secret(&s->query);
	hl_buf_free(&s->signed_headers);
	hl_buf_free(&s->sts);
	hl_buf_free(&s->auth);
	free(s->hdrs);
	free(s->params);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

int hl_sigv4_sign(hl_sigv4_signer *s, const hl_sigv4_request *req,
		  const hl_sigv4_params *params, hl_sigv4_result *out, hl_err *err)
{
	unsigned char md[SHA256_LEN];
	char creq_hash[65];
	const char *token;
	size_t n_hdrs = 0;
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!s)
		return hl_err_set(err, HL_ERR_INVALID, "sigv4: signer is NULL");
	if (!req)
		return hl_err_set(err, HL_ERR_INVALID, "sigv4: request is NULL");
	if (!params)
		return hl_err_set(err, HL_ERR_INVALID, "sigv4: params is NULL");
	if (!out)
		return hl_err_set(err, HL_ERR_INVALID, "sigv4: result is NULL");
	HL_GUARD(check_params(params, err));
	HL_GUARD(check_request(req, err));
	token = params->session_token && *params->session_token ? params->session_token : NULL;

	if (!s->date_valid || s->date_time_s != params->time_s) {
		hl_format_amz_date(params->time_s, s->amz_date, s->date);
		s->date_time_s = params->time_s;
		s->date_valid = true;
	}
	if (params->unsigned_payload) {
		hl_strlcpy(s->payload_hash, "UNSIGNED-PAYLOAD", sizeof(s->payload_hash));
	} else {
		HL_GUARD_GOTO(rc, digest(s, req->payload_len ? req->payload : "", req->payload_len,
					 NULL, 0, md), crypto_failed);
		to_hex(md, sizeof(md), s->payload_hash);
	}
	HL_GUARD(collect_headers(s, req, params, token, &n_hdrs, err));
	if (canonical_request(s, req, params, n_hdrs) < 0)
		return hl_err_set(err, HL_ERR_TOO_LARGE, "sigv4: canonical request exceeds %d bytes",
				  MAX_CANONICAL);

	/* String to sign: algorithm, date, scope, hash of the canonical request. */
	build_scope(s->scope, s->date, params->region, params->service);
	HL_GUARD_GOTO(rc, digest(s, s->creq.data, s->creq.len, NULL, 0, md), crypto_failed);
	to_hex(md, sizeof(md), creq_hash);
	hl_buf_reset(&s->sts);
	if (put(&s->sts, ALGORITHM "\n") < 0 || put(&s->sts, s->amz_date) < 0 ||
	    put(&s->sts, "\n") < 0 || put(&s->sts, s->scope) < 0 || put(&s->sts, "\n") < 0 ||
	    put(&s->sts, creq_hash) < 0)
		return hl_err_set(err, HL_ERR_INTERNAL, "sigv4: string to sign overflow");

	/* Signature: HMAC(signing key, string to sign). */
	HL_GUARD_GOTO(rc, signing_key(s, params->secret_access_key, params->region,
				      params->service), crypto_failed);
	if (EVP_MD_CTX_copy_ex(s->ctx, s->key_inner) != 1 ||
	    EVP_DigestUpdate(s->ctx, s->sts.data, s->sts.len) != 1 ||
	    EVP_DigestFinal_ex(s->ctx, md, NULL) != 1 ||
	    EVP_MD_CTX_copy_ex(s->ctx, s->key_outer) != 1 ||
	    EVP_DigestUpdate(s->ctx, md, sizeof(md)) != 1 ||
	    EVP_DigestFinal_ex(s->ctx, md, NULL) != 1) {
		rc = HL_ERR_INTERNAL;
		goto crypto_failed;
	}
	to_hex(md, sizeof(md), s->signature);

	hl_buf_reset(&s->auth);
	if (put(&s->auth, ALGORITHM " Credential=") < 0 ||
	    put(&s->auth, params->access_key_id) < 0 || put(&s->auth, "/") < 0 ||
	    put(&s->auth, s->scope) < 0 || put(&s->auth, ", SignedHeaders=") < 0 ||
	    hl_buf_append(&s->auth, s->signed_headers.data, s->signed_headers.len) < 0 ||
	    put(&s->auth, ", Signature=") < 0 || put(&s->auth, s->signature) < 0)
		return hl_err_set(err, HL_ERR_TOO_LARGE, "sigv4: authorization exceeds %d bytes",
				  MAX_CANONICAL);

	out->authorization = s->auth.data;
	out->amz_date = s->amz_date;
	out->security_token = token;
	out->content_sha256 = params->add_content_sha256 ? s->payload_hash : NULL;
	out->canonical_request = s->creq.data;
	out->string_to_sign = s->sts.data;
	out->signature = s->signature;
	return HL_OK;

crypto_failed:
	OPENSSL_cleanse(md, sizeof(md));
	forget_key(s);
	return hl_err_set(err, rc, "sigv4: OpenSSL SHA-256 failed");
}

/* ---- one-shot hash -------------------------------------------------------- */

/* hl_sha256_hex keeps one EVP_MD_CTX per thread (freed at thread exit) and
 * the SHA-256 EVP_MD fetched once for the process. */
static pthread_once_t sha_once = PTHREAD_ONCE_INIT;
static pthread_key_t sha_key;
static EVP_MD *sha_md;

static void sha_ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void sha_init(void)
{
	sha_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sha_md || pthread_key_create(&sha_key, sha_ctx_free) != 0) {
		fputs("{\"level\":\"fatal\",\"msg\":\"sigv4: SHA-256 unavailable\"}\n", stderr);
		abort();
	}
}

void hl_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[SHA256_LEN];
	EVP_MD_CTX *ctx;

	pthread_once(&sha_once, sha_init);
	ctx = pthread_getspecific(sha_key);
	if (!ctx) {
		ctx = EVP_MD_CTX_new();
		if (!ctx || pthread_setspecific(sha_key, ctx) != 0) {
			fputs("{\"level\":\"fatal\",\"msg\":\"out of memory\"}\n", stderr);
			abort();
		}
	}
	if (EVP_DigestInit_ex2(ctx, sha_md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, len ? data : "", len) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, NULL) != 1) {
		fputs("{\"level\":\"fatal\",\"msg\":\"sigv4: SHA-256 failed\"}\n", stderr);
		abort();
	}
	to_hex(md, sizeof(md), out);
}
