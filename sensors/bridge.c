/*
 * bridge.c: OpenMQTTGateway and Theengs payloads, parsed with jansson; the
 * BLE values inside them go through gatt_decode(). What is accepted and why
 * is described in bridge.h.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "bridge.h"
#include "ident.h"

/* Payload text quoted in a message is cut to this many characters. */
#define BRIDGE_QUOTE_MAX 40

/* Health services whose service data, if a device sends any, uses the
 * layout of the service's measurement characteristic. */
static const struct {
	uint16_t service;
	uint16_t characteristic;
} bridge_services[] = {
	{ 0x1810, GATT_BP_MEASUREMENT },         /* Blood Pressure */
	{ 0x1809, GATT_TEMP_MEASUREMENT },       /* Health Thermometer */
	{ 0x180D, GATT_HR_MEASUREMENT },         /* Heart Rate */
	{ 0x1822, GATT_PLX_SPOT_CHECK },         /* Pulse Oximeter */
	{ 0x181D, GATT_WEIGHT_MEASUREMENT },     /* Weight Scale */
	{ 0x181B, GATT_BODY_COMPOSITION },       /* Body Composition */
	{ 0x1808, GATT_GLUCOSE_MEASUREMENT },    /* Glucose */
};

const char *const bridge_format_names[] = {
	[BRIDGE_OPENMQTTGATEWAY] = "openmqttgateway",
	[BRIDGE_THEENGS] = "theengs",
	[BRIDGE_OMG_GATT] = "omg-gatt",
	[BRIDGE_OMG_GATT + 1] = NULL,
};

static void
bridge_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
bridge_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Copies untrusted text for a message: printable ASCII only, and short,
 * so a hostile payload cannot put control characters into a log line. */
static void
bridge_quote(const char *s, char out[BRIDGE_QUOTE_MAX + 4])
{
	size_t i = 0;

	for (; s[i] != '\0' && i < BRIDGE_QUOTE_MAX; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7F) ? s[i] : '?';
	if (s[i] != '\0') {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

int
bridge_format_lookup(const char *name, enum bridge_format *out)
{
	if (name == NULL)
		return DHO_ENOTFOUND;
	for (size_t i = 0; bridge_format_names[i] != NULL; i++) {
		if (strcmp(name, bridge_format_names[i]) == 0) {
			*out = (enum bridge_format)i;
			return DHO_OK;
		}
	}
	return DHO_ENOTFOUND;
}

const char *
bridge_format_name(enum bridge_format fmt)
{
	if ((unsigned)fmt > BRIDGE_OMG_GATT)
		return "?";
	return bridge_format_names[fmt];
}

/* Reads an optional string member: *out is NULL when the key is absent;
 * any other type than a string is malformed. */
static int
bridge_string(const json_t *root, const char *key, const char **out,
              char *err, size_t errlen)
{
	const json_t *v = json_object_get(root, key);

	*out = NULL;
	if (v == NULL)
		return DHO_OK;
	if (!json_is_string(v)) {
		bridge_seterr(err, errlen, "\"%s\" is not a string", key);
		return DHO_EINVAL;
	}
	*out = json_string_value(v);
	return DHO_OK;
}

/*
 * Hex text to bytes and then gatt_decode(), with the message naming the
 * key the hex came from. strict (advertisements) refuses a value whose
 * flags set reserved bits: a characteristic read is the GATT layout by
 * definition, but a health service's advertisement data is often a
 * vendor's own layout (Xiaomi's scales on 0x181D/0x181B), and decoding it
 * as GATT would store whatever its bytes happen to mean.
 */
static int
bridge_decode(uint16_t characteristic, const char *key, const char *hex, bool strict,
              struct gatt_value *out, char *err, size_t errlen)
{
	uint8_t buf[GATT_MAX_VALUE];
	char why[DHO_ERRLEN];
	size_t len = 0;
	uint32_t rfu;
	int rc;

	rc = gatt_parse_hex(hex, buf, sizeof(buf), &len, why, sizeof(why));
	if (rc != DHO_OK) {
		bridge_seterr(err, errlen, "\"%s\": %s", key, why);
		return rc;
	}
	if (strict && (rfu = gatt_reserved_flags(characteristic, buf, len)) != 0) {
		bridge_seterr(err, errlen, "\"%s\": the flags set reserved bits 0x%04x, so "
		              "this is not the %04x layout but a vendor's own", key,
		              (unsigned)rfu, characteristic);
		return DHO_EUNSUPP;
	}
	rc = gatt_decode(characteristic, buf, len, out, why, sizeof(why));
	if (rc != DHO_OK) {
		bridge_seterr(err, errlen, "\"%s\": %s", key, why);
		return rc;
	}
	return DHO_OK;
}

/* openmqttgateway and theengs: one advertisement. */
static int
bridge_advert(enum bridge_format fmt, const json_t *root, struct gatt_value *out,
              char *err, size_t errlen)
{
	const char *data, *uuid, *mfr;
	char q[BRIDGE_QUOTE_MAX + 4];
	uint16_t service;
	int rc;

	if ((rc = bridge_string(root, "servicedata", &data, err, errlen)) ||
	    (rc = bridge_string(root, "servicedatauuid", &uuid, err, errlen)) ||
	    (rc = bridge_string(root, "manufacturerdata", &mfr, err, errlen)))
		return rc;
	if (data == NULL) {
		if (mfr != NULL)
			bridge_seterr(err, errlen, "only manufacturer data, no service data: "
			              "the hub decodes the service data of health services only");
		else
			bridge_seterr(err, errlen, "no service data (the gateway publishes it "
			              "with %s on)", fmt == BRIDGE_THEENGS ? "publish_advdata"
			              : "pubadvdata");
		return DHO_EUNSUPP;
	}
	if (uuid == NULL) {
		bridge_seterr(err, errlen, "service data without \"servicedatauuid\": "
		              "the service is unknown");
		return DHO_EUNSUPP;
	}
	rc = gatt_parse_uuid(uuid, &service);
	if (rc != DHO_OK) {
		bridge_quote(uuid, q);
		if (rc == DHO_EUNSUPP)
			bridge_seterr(err, errlen, "service %s is a vendor service, not a "
			              "health service the hub decodes", q);
		else
			bridge_seterr(err, errlen, "\"servicedatauuid\" \"%s\" is not a UUID", q);
		return rc;
	}
	for (size_t i = 0; i < sizeof(bridge_services) / sizeof(bridge_services[0]); i++)
		if (bridge_services[i].service == service)
			return bridge_decode(bridge_services[i].characteristic, "servicedata",
			                     data, true, out, err, errlen);
	bridge_seterr(err, errlen, "service 0x%04x is not a health service the hub decodes",
	              service);
	return DHO_EUNSUPP;
}

/* omg-gatt: the answer to a BLE read command. */
static int
bridge_gatt_read(const json_t *root, struct gatt_value *out, char *err, size_t errlen)
{
	const json_t *success = json_object_get(root, "success");
	const char *service, *characteristic, *read;
	char q[BRIDGE_QUOTE_MAX + 4];
	uint16_t uuid;
	int rc;

	if (success != NULL && !json_is_boolean(success)) {
		bridge_seterr(err, errlen, "\"success\" is not true or false");
		return DHO_EINVAL;
	}
	if (success != NULL && json_is_false(success)) {
		bridge_seterr(err, errlen, "the gateway reports the read failed "
		              "(\"success\": false): there is no value");
		return DHO_EUNSUPP;
	}
	if ((rc = bridge_string(root, "service", &service, err, errlen)) ||
	    (rc = bridge_string(root, "characteristic", &characteristic, err, errlen)) ||
	    (rc = bridge_string(root, "read", &read, err, errlen)))
		return rc;
	/* A vendor service is still a UUID; only its syntax matters here. */
	if (service != NULL && gatt_parse_uuid(service, &uuid) == DHO_EINVAL) {
		bridge_quote(service, q);
		bridge_seterr(err, errlen, "\"service\" \"%s\" is not a UUID", q);
		return DHO_EINVAL;
	}
	if (characteristic == NULL) {
		bridge_seterr(err, errlen, "no \"characteristic\"");
		return DHO_EINVAL;
	}
	rc = gatt_parse_uuid(characteristic, &uuid);
	if (rc != DHO_OK) {
		bridge_quote(characteristic, q);
		if (rc == DHO_EUNSUPP)
			bridge_seterr(err, errlen, "characteristic %s is a vendor characteristic, "
			              "not one the hub decodes", q);
		else
			bridge_seterr(err, errlen, "\"characteristic\" \"%s\" is not a UUID", q);
		return rc;
	}
	if (read == NULL) {
		bridge_seterr(err, errlen, "no \"read\" value");
		return DHO_EINVAL;
	}
	return bridge_decode(uuid, "read", read, false, out, err, errlen);
}

int
bridge_parse(enum bridge_format fmt, const char *payload, size_t len,
             char *device_out, size_t devlen, struct gatt_value *out,
             char *err, size_t errlen)
{
	json_t *root = NULL;
	json_error_t jerr;
	const char *id;
	size_t idlen;
	int rc;

	memset(out, 0, sizeof(*out));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (device_out != NULL && devlen > 0)
		device_out[0] = '\0';
	if (len > BRIDGE_MAX_BYTES) {
		bridge_seterr(err, errlen, "payload is %zu bytes, more than the %d allowed",
		              len, BRIDGE_MAX_BYTES);
		return DHO_EINVAL;
	}
	if (payload == NULL || len == 0) {
		bridge_seterr(err, errlen, "empty payload");
		return DHO_EINVAL;
	}
	/* Duplicate keys are refused: jansson would keep the last one
	 * silently, and which "servicedata" was meant is not ours to guess. */
	root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		bridge_seterr(err, errlen, "not JSON: %s (line %d, column %d)", jerr.text,
		              jerr.line, jerr.column);
		return DHO_EINVAL;
	}
	rc = DHO_EINVAL;
	if (!json_is_object(root)) {
		bridge_seterr(err, errlen, "not a JSON object");
		goto done;
	}
	if ((rc = bridge_string(root, "id", &id, err, errlen)))
		goto done;
	rc = DHO_EINVAL;
	if (id == NULL) {
		bridge_seterr(err, errlen, "no \"id\": the device is unknown");
		goto done;
	}
	if (!ident_valid(id)) {
		char q[BRIDGE_QUOTE_MAX + 4];

		bridge_quote(id, q);
		bridge_seterr(err, errlen, "\"id\" \"%s\" is not a device id (1-64 of "
		              "A-Z a-z 0-9 . _ - :)", q);
		goto done;
	}
	idlen = strlen(id);
	if (device_out == NULL || idlen >= devlen) {
		bridge_seterr(err, errlen, "no room for the device id (%zu bytes)", idlen);
		goto done;
	}
	memcpy(device_out, id, idlen + 1);

	switch (fmt) {
	case BRIDGE_OPENMQTTGATEWAY:
	case BRIDGE_THEENGS:
		rc = bridge_advert(fmt, root, out, err, errlen);
		break;
	case BRIDGE_OMG_GATT:
		rc = bridge_gatt_read(root, out, err, errlen);
		break;
	default:
		bridge_seterr(err, errlen, "bridge format %d does not exist", (int)fmt);
		rc = DHO_EINVAL;
		break;
	}
done:
	json_decref(root);
	return rc;
}
