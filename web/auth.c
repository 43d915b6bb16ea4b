/*
 * auth.c: passwords, tokens and one-time codes of the workspace.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <liboath/oath.h>
#include <sodium.h>

#include "auth.h"

/* Counts the hashes running now; never more than AUTH_HASHES_AT_ONCE. The
 * lock guards auth_running only. */
static pthread_mutex_t auth_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t auth_cond = PTHREAD_COND_INITIALIZER;
static int auth_running;
/* A hash of a random password, made on first need, that auth_verify()
 * checks when there is no user: it costs what a real check costs. */
static char auth_dummy[crypto_pwhash_STRBYTES];

static void
auth_enter(void)
{
	pthread_mutex_lock(&auth_lock);
	while (auth_running >= AUTH_HASHES_AT_ONCE)
		pthread_cond_wait(&auth_cond, &auth_lock);
	auth_running++;
	pthread_mutex_unlock(&auth_lock);
}

static void
auth_leave(void)
{
	pthread_mutex_lock(&auth_lock);
	auth_running--;
	pthread_cond_signal(&auth_cond);
	pthread_mutex_unlock(&auth_lock);
}

static pthread_once_t auth_dummy_once = PTHREAD_ONCE_INIT;

static void
auth_make_dummy(void)
{
	char pw[AUTH_TOKEN_LEN];

	auth_token(pw);
	if (crypto_pwhash_argon2id_str(auth_dummy, pw, strlen(pw),
	                               crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
	                               crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE) != 0)
		auth_dummy[0] = '\0';
}

int
auth_init(void)
{
	if (sodium_init() < 0 || oath_init() != OATH_OK)
		return DHO_EIO;
	return DHO_OK;
}

/* Length in characters of valid UTF-8 text without control characters;
 * -1 otherwise. */
static long
auth_utf8_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long n = 0;

	while (*p) {
		int extra;
		uint32_t cp;

		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return -1;
			p++;
			n++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			extra = 1;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			extra = 2;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			extra = 3;
			cp = *p & 0x07;
		} else {
			return -1;
		}
		p++;
		for (int i = 0; i < extra; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (*p & 0x3f);
		}
		if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
		    (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
			return -1;
		n++;
	}
	return n;
}

int
auth_password_check(const char *pw, char *why, size_t whylen)
{
	long n;

	if (strlen(pw) > AUTH_PASSWORD_MAX) {
		snprintf(why, whylen, "the password is longer than %d bytes", AUTH_PASSWORD_MAX);
		return DHO_EINVAL;
	}
	if ((n = auth_utf8_chars(pw)) < 0) {
		snprintf(why, whylen, "the password must be UTF-8 text without control characters");
		return DHO_EINVAL;
	}
	if (n < AUTH_PASSWORD_MIN) {
		snprintf(why, whylen, "the password must have at least %d characters", AUTH_PASSWORD_MIN);
		return DHO_EINVAL;
	}
	return DHO_OK;
}

int
auth_hash(const char *pw, char *out, size_t outlen)
{
	int rc;

	if (outlen < crypto_pwhash_STRBYTES)
		return DHO_EINVAL;
	auth_enter();
	rc = crypto_pwhash_argon2id_str(out, pw, strlen(pw), crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
	                                crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);
	auth_leave();
	return rc == 0 ? DHO_OK : DHO_ENOMEM;
}

bool
auth_verify(const char *hash, const char *pw)
{
	bool ok;

	if (hash == NULL)
		pthread_once(&auth_dummy_once, auth_make_dummy);
	auth_enter();
	ok = crypto_pwhash_argon2id_str_verify(hash ? hash : auth_dummy, pw, strlen(pw)) == 0;
	auth_leave();
	return hash != NULL && ok;
}

void
auth_token(char out[AUTH_TOKEN_LEN])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, AUTH_TOKEN_LEN, raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void
auth_token_hash(const char *token, char out[AUTH_TOKEN_HASH_LEN])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(out, AUTH_TOKEN_HASH_LEN, h, sizeof(h));
}

bool
auth_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return la == lb && sodium_memcmp(a, b, la) == 0;
}

int
auth_totp_secret(char out[AUTH_TOTP_SECRET_LEN])
{
	char raw[20], *b32 = NULL;
	size_t len = 0;
	int rc = DHO_ENOMEM;

	randombytes_buf(raw, sizeof(raw));
	if (oath_base32_encode(raw, sizeof(raw), &b32, &len) == OATH_OK &&
	    len < AUTH_TOTP_SECRET_LEN) {
		memcpy(out, b32, len);
		out[len] = '\0';
		rc = DHO_OK;
	}
	sodium_memzero(raw, sizeof(raw));
	free(b32);
	return rc;
}

int
auth_totp_uri(const char *user, const char *secret, char *out, size_t outlen)
{
	/* User names are identifiers (A-Z a-z 0-9 . _ - :): only ':' needs
	 * escaping in the label. */
	char label[3 * DHO_ID_MAX + 1];
	size_t o = 0;
	int n;

	for (const char *p = user; *p && o + 4 < sizeof(label); p++) {
		if (*p == ':') {
			memcpy(label + o, "%3A", 3);
			o += 3;
		} else {
			label[o++] = *p;
		}
	}
	label[o] = '\0';
	n = snprintf(out, outlen, "otpauth://totp/dhohub:%s?secret=%s&issuer=dhohub"
	             "&algorithm=SHA1&digits=6&period=30", label, secret);
	return n > 0 && (size_t)n < outlen ? DHO_OK : DHO_ERANGE;
}

int
auth_totp_check(const char *secret, const char *code, int64_t now, int64_t *step)
{
	char *raw = NULL;
	size_t len = 0;
	uint64_t counter = 0;
	int pos = 0, rc;

	if (strlen(code) != 6 || strspn(code, "0123456789") != 6)
		return DHO_EINVAL;
	if (oath_base32_decode(secret, strlen(secret), &raw, &len) != OATH_OK)
		return DHO_EINVAL;
	rc = oath_totp_validate3(raw, len, (time_t)now, 30, 0, 1, &pos, &counter, code);
	sodium_memzero(raw, len);
	free(raw);
	if (rc < 0)
		return DHO_EINVAL;
	*step = (int64_t)counter;
	return DHO_OK;
}
