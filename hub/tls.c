/*
 * tls.c: the diagnosis of a failed TLS connection (see tls.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "dho.h"
#include "dynbuf.h"
#include "tls.h"

/* Splits ssl://HOST[:PORT] (or [IPV6]:PORT) into host and port. */
static int
tls_split_url(const char *url, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *p = strstr(url, "://"), *end, *colon;
	size_t n;

	if (p == NULL)
		return DHO_EINVAL;
	p += 3;
	if (*p == '[') {
		end = strchr(++p, ']');
		if (end == NULL)
			return DHO_EINVAL;
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strchr(p, ':');
		end = colon ? colon : p + strcspn(p, "/");
	}
	n = (size_t)(end - p);
	if (n == 0 || n >= hostlen)
		return DHO_EINVAL;
	memcpy(host, p, n);
	host[n] = '\0';
	snprintf(port, portlen, "%.*s", colon ? (int)strcspn(colon + 1, "/") : 4,
	         colon ? colon + 1 : "8883");
	return DHO_OK;
}

/* A TCP connection to host:port within timeout_ms, blocking afterwards
 * with the same timeout on every read and write; -1 with why set. */
static int
tls_connect(const char *host, const char *port, int timeout_ms, char *why, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *a;
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	int fd = -1, rc, err = 0;

	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(why, len, "cannot resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (a = res; a != NULL && fd < 0; a = a->ai_next) {
		struct pollfd pfd;
		socklen_t elen = sizeof(err);

		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		fcntl(fd, F_SETFL, O_NONBLOCK);
		err = 0;
		if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
			err = errno;
			if (err == EINPROGRESS) {
				pfd.fd = fd;
				pfd.events = POLLOUT;
				if (poll(&pfd, 1, timeout_ms) != 1)
					err = ETIMEDOUT;
				else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
					err = errno;
			}
		}
		if (err != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(why, len, "cannot connect to %s port %s: %s", host, port, strerror(err));
		return -1;
	}
	fcntl(fd, F_SETFL, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* OpenSSL's reason for the newest error on the queue, without its codes. */
static const char *
tls_ssl_reason(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_last_error());

	return r ? r : "unknown error";
}

/* The names a certificate is for: its DNS and IP subject alternative
 * names, else its subject. */
static void
tls_cert_names(X509 *cert, char *out, size_t len)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	struct dynbuf b;

	dynbuf_init_fixed(&b, out, len);
	for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		const char *sep = dynbuf_len(&b) ? ", " : "";
		char ip[INET6_ADDRSTRLEN];

		if (g->type == GEN_DNS)
			dynbuf_addf(&b, "%sDNS:%.*s", sep, ASN1_STRING_length(g->d.dNSName),
			            (const char *)ASN1_STRING_get0_data(g->d.dNSName));
		else if (g->type == GEN_IPADD &&
		         inet_ntop(ASN1_STRING_length(g->d.iPAddress) == 4 ? AF_INET : AF_INET6,
		                   ASN1_STRING_get0_data(g->d.iPAddress), ip, sizeof(ip)) != NULL)
			dynbuf_addf(&b, "%sIP:%s", sep, ip);
	}
	GENERAL_NAMES_free(names);
	if (dynbuf_len(&b) == 0)
		X509_NAME_oneline(X509_get_subject_name(cert), out, (int)len);
}

int
tls_diagnose(const char *url, const char *ca_file, const char *cert_file,
             const char *key_file, int timeout_ms, char *why, size_t len)
{
	char host[256], port[16], names[256];
	struct in6_addr ip;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	X509 *cert = NULL;
	bool is_ip;
	long v;
	int fd = -1, rc = DHO_EIO;

	why[0] = '\0';
	if (tls_split_url(url, host, sizeof(host), port, sizeof(port)) != DHO_OK) {
		snprintf(why, len, "cannot read the host of %s", url);
		return DHO_EINVAL;
	}
	is_ip = inet_pton(AF_INET, host, &ip) == 1 || inet_pton(AF_INET6, host, &ip) == 1;
	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		snprintf(why, len, "cannot set up TLS: %s", tls_ssl_reason());
		goto done;
	}
	if (ca_file != NULL && ca_file[0] != '\0') {
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
			snprintf(why, len, "cannot load ca_file %s: %s", ca_file, tls_ssl_reason());
			goto done;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(why, len, "cannot load the system's CA certificates: %s", tls_ssl_reason());
		goto done;
	}
	if (cert_file != NULL && cert_file[0] != '\0' &&
	    SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		snprintf(why, len, "cannot load cert_file %s: %s", cert_file, tls_ssl_reason());
		goto done;
	}
	if (key_file != NULL && key_file[0] != '\0' &&
	    SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		snprintf(why, len, "cannot load key_file %s: %s", key_file, tls_ssl_reason());
		goto done;
	}
	/* The handshake goes on whatever the verification finds, so that the
	 * result can be read and told. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if ((ssl = SSL_new(ctx)) == NULL) {
		snprintf(why, len, "cannot set up TLS: %s", tls_ssl_reason());
		goto done;
	}
	if (is_ip) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	} else {
		SSL_set_tlsext_host_name(ssl, host);
		X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl), host, 0);
	}
	if ((fd = tls_connect(host, port, timeout_ms, why, len)) < 0)
		goto done;
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		snprintf(why, len, "the TLS handshake with %s port %s failed: %s", host, port,
		         tls_ssl_reason());
		goto done;
	}
	/* With TLS 1.3 the broker checks the client's certificate after the
	 * client has finished its handshake: a refusal (no certificate, one it
	 * does not trust) comes as an alert on the first read. A broker that
	 * accepts waits for the MQTT CONNECT, and the read times out. */
	{
		struct timeval tv = { .tv_sec = 1 };
		char byte;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (SSL_read(ssl, &byte, 1) <= 0 && ERR_peek_last_error() != 0) {
			snprintf(why, len, "the broker refused the TLS session: %s%s", tls_ssl_reason(),
			         cert_file && cert_file[0] ? "" : " (it may require a client "
			         "certificate: set cert_file and key_file)");
			goto done;
		}
	}
	cert = SSL_get1_peer_certificate(ssl);
	v = SSL_get_verify_result(ssl);
	if (cert == NULL) {
		snprintf(why, len, "the broker sent no certificate");
	} else if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH) {
		tls_cert_names(cert, names, sizeof(names));
		snprintf(why, len, "the broker's certificate is not for %s (it is for %s)", host,
		         names);
	} else if (v != X509_V_OK) {
		snprintf(why, len, "the broker's certificate does not verify against %s: %s",
		         ca_file && ca_file[0] ? ca_file : "the system's CAs",
		         X509_verify_cert_error_string(v));
	} else {
		rc = DHO_OK;
	}
	SSL_shutdown(ssl);
done:
	X509_free(cert);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
	return rc;
}
