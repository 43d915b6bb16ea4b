/*
 * auth: the workspace's secrets. Passwords are hashed with argon2id
 * (libsodium's crypto_pwhash_str), at most AUTH_HASHES_AT_ONCE at a time in
 * this process, since each takes 64 MiB and a good fraction of a second;
 * session tokens and CSRF tokens are 256-bit random values, and a session
 * is stored only as the SHA-256 of its token; one-time codes are TOTP
 * (RFC 6238: 30-second steps, 6 digits) through liboath.
 */
#ifndef AUTH_H
#define AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dho.h"

#define AUTH_PASSWORD_MIN 12
#define AUTH_PASSWORD_MAX 1024
#define AUTH_HASHES_AT_ONCE 2
/* 32 random bytes, base64url without padding, and the NUL. */
#define AUTH_TOKEN_LEN 44
/* SHA-256 in hex, and the NUL. */
#define AUTH_TOKEN_HASH_LEN 65
/* 20 random bytes in base32 (32 characters), and the NUL. */
#define AUTH_TOTP_SECRET_LEN 33

/* Once per process, before any thread uses the module. DHO_EIO when
 * libsodium or liboath cannot start. */
int auth_init(void);

/* DHO_EINVAL with a sentence in why when pw is shorter than
 * AUTH_PASSWORD_MIN characters, longer than AUTH_PASSWORD_MAX bytes, or
 * not valid UTF-8 text without control characters. */
int auth_password_check(const char *pw, char *why, size_t whylen);

/* Hashes pw into out (at least 128 bytes). DHO_ENOMEM when the hash's
 * memory cannot be had. */
int auth_hash(const char *pw, char *out, size_t outlen);

/* Whether pw matches hash. hash NULL spends the same time on a dummy hash,
 * so that an unknown user name answers as slowly as a wrong password. */
bool auth_verify(const char *hash, const char *pw);

/* A new random token (base64url) into out (AUTH_TOKEN_LEN bytes). */
void auth_token(char out[AUTH_TOKEN_LEN]);
/* The stored form of a session token. */
void auth_token_hash(const char *token, char out[AUTH_TOKEN_HASH_LEN]);
/* Compares two NUL-terminated secrets in time independent of where they
 * differ. */
bool auth_equal(const char *a, const char *b);

/* A new TOTP secret in base32 into out. */
int auth_totp_secret(char out[AUTH_TOTP_SECRET_LEN]);
/* The otpauth:// URI of secret for user (for an authenticator app). */
int auth_totp_uri(const char *user, const char *secret, char *out, size_t outlen);
/* Checks a 6-digit code against secret at now, one step either side for
 * clock drift; *step is the time step it matched, for the replay check.
 * DHO_EINVAL for a code that does not match. */
int auth_totp_check(const char *secret, const char *code, int64_t now, int64_t *step);

#endif
