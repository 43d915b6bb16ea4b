/*
 * tls: why a TLS connection to the broker failed, in words an operator can
 * act on.
 *
 * Paho verifies the broker's certificate, but when the host name does not
 * match it reports only "TCP/TLS connect failure", and for a certificate
 * that does not chain it passes on OpenSSL's error line. After a failed
 * attempt the session asks tls_diagnose() to repeat the handshake with the
 * same trust settings and say what OpenSSL's verification found.
 */
#ifndef TLS_H
#define TLS_H

#include <stddef.h>

/*
 * Connects to url (ssl://HOST[:PORT] or mqtts://HOST[:PORT]; port 8883 by
 * default), does a TLS handshake trusting ca_file (NULL or "": the
 * system's CAs) and presenting cert_file/key_file when given, and verifies
 * the certificate and that it names HOST. Returns DHO_OK when everything
 * verifies; otherwise DHO_EIO with the reason in why (e.g. "the
 * certificate's host name does not match localhost (it names
 * DNS:wrong.example)"). Gives up after timeout_ms on each network step.
 */
int tls_diagnose(const char *url, const char *ca_file, const char *cert_file,
                 const char *key_file, int timeout_ms, char *why, size_t len);

#endif
