/*
 * test_bridge.c: OpenMQTTGateway and Theengs payloads through
 * bridge_parse().
 *
 * The payloads are shaped as the gateways print them: OpenMQTTGateway's
 * compact JSON with mac_type/adv_type and "0x"-prefixed servicedatauuid
 * (its docs/use/ble.md), Theengs Gateway's Python json.dumps() spacing with
 * a bare 4-digit servicedatauuid (its tests), and OpenMQTTGateway's BLE
 * read answer. Each payload is copied into a heap buffer of exactly its
 * length, without a terminator, as MQTT delivers it.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bridge.h"
#include "expect.h"

/* The reference's 2A35 vector: 138/88/120 mmHg, pulse 60, user 1. */
#define BP_HEX "1e8a00580078000000041114293b3c00012700"

/* OpenMQTTGateway with pubadvdata on, for a blood pressure monitor. */
#define OMG_BP "{\"id\":\"A4:C1:38:0B:5E:6D\",\"mac_type\":0,\"adv_type\":0,\"name\":\"BPM\"," \
               "\"rssi\":-67,\"servicedata\":\"" BP_HEX "\",\"servicedatauuid\":\"0x1810\"}"

static int
parse_len(enum bridge_format fmt, const char *text, size_t len, char *dev,
          struct gatt_value *v, char *err)
{
	char *buf = malloc(len > 0 ? len : 1);
	int rc;

	assert_non_null(buf);
	memcpy(buf, text, len);
	rc = bridge_parse(fmt, len > 0 ? buf : NULL, len, dev, DHO_ID_MAX + 1, v, err,
	                  DHO_ERRLEN);
	free(buf);
	return rc;
}

static int
parse(enum bridge_format fmt, const char *text, char *dev, struct gatt_value *v, char *err)
{
	return parse_len(fmt, text, strlen(text), dev, v, err);
}

static const struct {
	const char *name;
	enum bridge_format fmt;
	const char *payload;
	const char *device;
	uint16_t uuid;
	size_t n;
	enum metric metric0;
	double value0;
} good[] = {
	{ "omg bp", BRIDGE_OPENMQTTGATEWAY, OMG_BP,
	  "A4:C1:38:0B:5E:6D", 0x2A35, 4, METRIC_BP_SYS, 138 },
	{ "theengs bp", BRIDGE_THEENGS,
	  "{\"servicedatauuid\": \"1810\", \"servicedata\": \"" BP_HEX "\", "
	  "\"name\": \"BPM\", \"id\": \"A4:C1:38:0B:5E:6D\", \"rssi\": -79}",
	  "A4:C1:38:0B:5E:6D", 0x2A35, 4, METRIC_BP_SYS, 138 },
	{ "omg thermometer", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"c7:fa:ad:13:2c:00\",\"mac_type\":1,\"rssi\":-68,"
	  "\"servicedata\":\"06b00e00fedc070c050b321b04\",\"servicedatauuid\":\"0x1809\"}",
	  "c7:fa:ad:13:2c:00", 0x2A1C, 1, METRIC_TEMP, 37.6 },
	{ "omg heart rate", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"E2:11:4C:90:01:7A\",\"mac_type\":1,\"adv_type\":0,\"name\":\"HRM\","
	  "\"rssi\":-71,\"servicedata\":\"0055\",\"servicedatauuid\":\"0x180d\"}",
	  "E2:11:4C:90:01:7A", 0x2A37, 1, METRIC_PULSE, 85 },
	{ "theengs oximeter", BRIDGE_THEENGS,
	  "{\"servicedatauuid\": \"1822\", \"servicedata\": \"0061004800\", \"name\": \"PO3\", "
	  "\"id\": \"00:A0:50:1B:22:33\", \"rssi\": -58}",
	  "00:A0:50:1B:22:33", 0x2A5E, 2, METRIC_SPO2, 97 },
	{ "theengs weight scale", BRIDGE_THEENGS,
	  "{\"servicedatauuid\": \"181d\", \"servicedata\": \"02b036e7070c190e1e2d\", "
	  "\"name\": \"Scale\", \"id\": \"5C:CA:D3:00:10:2B\", \"rssi\": -62}",
	  "5C:CA:D3:00:10:2B", 0x2A9D, 1, METRIC_WEIGHT, 70 },
	{ "omg weight 128-bit uuid", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"5C:CA:D3:00:10:2B\",\"rssi\":-62,\"servicedata\":\"00b036\","
	  "\"servicedatauuid\":\"0000181D-0000-1000-8000-00805F9B34FB\"}",
	  "5C:CA:D3:00:10:2B", 0x2A9D, 1, METRIC_WEIGHT, 70 },
	{ "omg body composition weight", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"5C:CA:D3:00:10:2C\",\"rssi\":-60,\"servicedata\":\"00046400b036\","
	  "\"servicedatauuid\":\"0x181b\"}",
	  "5C:CA:D3:00:10:2C", 0x2A9C, 1, METRIC_WEIGHT, 70 },
	{ "omg body composition no weight", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"5C:CA:D3:00:10:2C\",\"rssi\":-60,\"servicedata\":\"30006400c800b80b\","
	  "\"servicedatauuid\":\"0x181B\"}",
	  "5C:CA:D3:00:10:2C", 0x2A9C, 0, METRIC_WEIGHT, 0 },
	{ "theengs glucose", BRIDGE_THEENGS,
	  "{\"servicedatauuid\": \"1808\", \"servicedata\": \"020800e307021b0b0a1e64b011\", "
	  "\"id\": \"D0:39:72:A1:B2:C3\", \"rssi\": -70}",
	  "D0:39:72:A1:B2:C3", 0x2A18, 1, METRIC_GLUCOSE, 5.55 },
	{ "theengs macOS id", BRIDGE_THEENGS,
	  "{\"servicedatauuid\": \"180d\", \"servicedata\": \"0055\", \"name\": \"HRM\", "
	  "\"id\": \"5732A8DA-27AF-1C19-DA77-C8EF5AD5CB28\", \"rssi\": -67}",
	  "5732A8DA-27AF-1C19-DA77-C8EF5AD5CB28", 0x2A37, 1, METRIC_PULSE, 85 },
	{ "omg-gatt blood pressure", BRIDGE_OMG_GATT,
	  "{\"id\": \"AA:BB:CC:DD:EE:FF\", \"service\": \"1810\", \"characteristic\": \"2a35\", "
	  "\"read\": \"" BP_HEX "\", \"success\": true}",
	  "AA:BB:CC:DD:EE:FF", 0x2A35, 4, METRIC_BP_SYS, 138 },
	{ "omg-gatt 128-bit echo", BRIDGE_OMG_GATT,
	  "{\"id\":\"AA:BB:CC:DD:EE:FF\",\"service\":\"00001809-0000-1000-8000-00805f9b34fb\","
	  "\"characteristic\":\"00002a1c-0000-1000-8000-00805f9b34fb\","
	  "\"read\":\"06B00E00FEDC070C050B321B04\",\"success\":true}",
	  "AA:BB:CC:DD:EE:FF", 0x2A1C, 1, METRIC_TEMP, 37.6 },
	{ "omg-gatt without success", BRIDGE_OMG_GATT,
	  "{\"id\":\"aa:bb:cc:dd:ee:ff\",\"service\":\"0x1822\",\"characteristic\":\"0x2A5F\","
	  "\"read\":\"0061004800\"}",
	  "aa:bb:cc:dd:ee:ff", 0x2A5F, 2, METRIC_SPO2, 97 },
	{ "omg-gatt vendor service", BRIDGE_OMG_GATT,
	  "{\"id\":\"AA:BB:CC:DD:EE:FF\",\"service\":\"cba20d00-224d-11e6-9fb8-0002a5d5c51b\","
	  "\"characteristic\":\"2a37\",\"read\":\"0055\",\"success\":true}",
	  "AA:BB:CC:DD:EE:FF", 0x2A37, 1, METRIC_PULSE, 85 },
	{ "omg-gatt no service", BRIDGE_OMG_GATT,
	  "{\"id\":\"AA:BB:CC:DD:EE:FF\",\"characteristic\":\"2a37\",\"read\":\"0055\"}",
	  "AA:BB:CC:DD:EE:FF", 0x2A37, 1, METRIC_PULSE, 85 },
};

static void
test_good(void **state)
{
	struct gatt_value v;
	char dev[DHO_ID_MAX + 1], err[DHO_ERRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rc = parse(good[i].fmt, good[i].payload, dev, &v, err);
		if (rc != DHO_OK)
			print_error("case \"%s\": %s\n", good[i].name, err);
		EXPECT(good[i].name, rc == DHO_OK);
		EXPECT(good[i].name, strcmp(err, "") == 0);
		EXPECT(good[i].name, strcmp(dev, good[i].device) == 0);
		EXPECT(good[i].name, v.uuid == good[i].uuid);
		EXPECT(good[i].name, v.n == good[i].n);
		if (good[i].n > 0) {
			EXPECT(good[i].name, v.readings[0].metric == good[i].metric0);
			EXPECT(good[i].name, fabs(v.readings[0].value - good[i].value0) < 1e-9);
			EXPECT(good[i].name, v.mark[0] == GATT_MARK_NONE);
		}
	}
}

/* The decoded value is the one gatt_decode() gives: flags, user, time. */
static void
test_bp_details(void **state)
{
	struct gatt_value v;
	char dev[DHO_ID_MAX + 1], err[DHO_ERRLEN];

	(void)state;
	assert_int_equal(parse(BRIDGE_OPENMQTTGATEWAY, OMG_BP, dev, &v, err), DHO_OK);
	assert_int_equal(v.flags, RFLAG_BODY_MOVEMENT | RFLAG_CUFF_LOOSE |
	                          RFLAG_IRREGULAR_PULSE | RFLAG_IMPROPER_POS);
	assert_true(v.has_user);
	assert_int_equal(v.user, 1);
	assert_true(v.has_time);
	assert_int_equal(v.year, 0);
	assert_int_equal(v.month, 4);
	assert_int_equal(v.readings[1].metric, METRIC_BP_DIA);
	assert_true(v.readings[1].value == 88);
	assert_int_equal(v.readings[3].metric, METRIC_PULSE);
	assert_true(v.readings[3].value == 60);

	/* A special value comes through marked, for the caller to quarantine. */
	assert_int_equal(parse(BRIDGE_OPENMQTTGATEWAY,
	                       "{\"id\":\"A4:C1:38:0B:5E:6D\",\"rssi\":-67,"
	                       "\"servicedata\":\"04ff0750005a004800\","
	                       "\"servicedatauuid\":\"0x1810\"}", dev, &v, err), DHO_OK);
	assert_int_equal(v.n, 4);
	assert_int_equal(v.mark[0], GATT_MARK_SPECIAL);
	assert_string_equal(v.reason[0], "bp_sys is NaN (SFLOAT 0x07FF)");
	assert_int_equal(v.mark[1], GATT_MARK_NONE);
}

static const struct {
	const char *name;
	enum bridge_format fmt;
	const char *payload;
	int rc;
	const char *device;     /* what device_out holds afterwards */
	const char *err;        /* a part of the message */
} bad[] = {
	/* OpenMQTTGateway's own documentation: no servicedatauuid. */
	{ "omg docs beacon", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"45:e1:74:12:6e:00\",\"rssi\":-89,\"distance\":21.51847,"
	  "\"servicedata\":\"fe0000000000000000000000000000000000000000\"}",
	  DHO_EUNSUPP, "45:e1:74:12:6e:00", "service data without \"servicedatauuid\"" },
	{ "omg manufacturer only", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"58:78:20:76:BC:24\",\"mac_type\":1,\"adv_type\":3,"
	  "\"manufacturerdata\":\"4c000215e2c56db5dffb48d2b060d0f5a71096e000000000c5\","
	  "\"rssi\":-79}",
	  DHO_EUNSUPP, "58:78:20:76:BC:24", "only manufacturer data, no service data" },
	{ "omg decoded properties only", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"C8:47:8C:10:20:30\",\"name\":\"MIBFS\",\"rssi\":-67,\"brand\":\"Xiaomi\","
	  "\"model\":\"Mi Scale v2\",\"model_id\":\"XMTZC05HM\",\"weighing_mode\":\"person\","
	  "\"unit\":\"kg\",\"weight\":72.5,\"impedance\":503}",
	  DHO_EUNSUPP, "C8:47:8C:10:20:30", "no service data (the gateway publishes it with pubadvdata on)" },
	{ "theengs decoded properties only", BRIDGE_THEENGS,
	  "{\"id\": \"C8:47:8C:10:20:30\", \"name\": \"MIBFS\", \"rssi\": -67, "
	  "\"brand\": \"Xiaomi\", \"model_id\": \"XMTZC05HM\", \"weight\": 72.5}",
	  DHO_EUNSUPP, "C8:47:8C:10:20:30", "with publish_advdata on" },
	{ "theengs bthome", BRIDGE_THEENGS,
	  "{\"servicedatauuid\": \"fcd2\", \"servicedata\": \"4000720154022e0a03071d0c190b\", "
	  "\"name\": \"TH05F-C451CC\", \"id\": \"38:1F:8D:C4:51:CC\", \"rssi\": -79}",
	  DHO_EUNSUPP, "38:1F:8D:C4:51:CC", "service 0xfcd2 is not a health service the hub decodes" },
	{ "theengs environmental sensing", BRIDGE_THEENGS,
	  "{\"id\": \"A4:C1:38:80:00:21\", \"name\": \"ATC_800021\", \"rssi\": -90, "
	  "\"servicedatauuid\": \"0x181a\", \"servicedata\": \"a4c138800021010719321f0b6f1e\"}",
	  DHO_EUNSUPP, "A4:C1:38:80:00:21", "service 0x181a is not a health service" },
	{ "omg battery service", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"11:22:33:44:55:66\",\"rssi\":-70,\"servicedata\":\"64\","
	  "\"servicedatauuid\":\"0x180f\"}",
	  DHO_EUNSUPP, "11:22:33:44:55:66", "service 0x180f is not a health service" },
	/* A Xiaomi Mi Body Composition Scale 2 as Theengs Gateway forwards
	 * it: 0x181B, but Xiaomi's own layout (flag bit 13 is reserved). */
	{ "theengs mi scale v2", BRIDGE_THEENGS,
	  "{\"servicedatauuid\": \"181b\", \"servicedata\": \"0224b2070113100c08fdff4a0b\", "
	  "\"manufacturerdata\": \"5701381ec781c63c\", \"name\": \"MIBFS\", "
	  "\"id\": \"5732A8DA-27AF-1C19-DA77-C8EF5AD5CB28\", \"rssi\": -67}",
	  DHO_EUNSUPP, "5732A8DA-27AF-1C19-DA77-C8EF5AD5CB28",
	  "\"servicedata\": the flags set reserved bits 0x2000, so this is not the 2a9c layout" },
	{ "omg mi scale v1", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"88:0F:10:11:22:33\",\"name\":\"MI SCALE2\",\"rssi\":-60,"
	  "\"servicedata\":\"22ac3ae2070107112c0a\",\"servicedatauuid\":\"0x181d\"}",
	  DHO_EUNSUPP, "88:0F:10:11:22:33", "reserved bits 0x0020" },
	{ "omg vendor service uuid", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"11:22:33:44:55:66\",\"rssi\":-70,\"servicedata\":\"0055\","
	  "\"servicedatauuid\":\"cba20d00-224d-11e6-9fb8-0002a5d5c51b\"}",
	  DHO_EUNSUPP, "11:22:33:44:55:66", "is a vendor service" },
	{ "omg bad servicedatauuid", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"11:22:33:44:55:66\",\"rssi\":-70,\"servicedata\":\"0055\","
	  "\"servicedatauuid\":\"0x18\"}",
	  DHO_EINVAL, "11:22:33:44:55:66", "\"servicedatauuid\" \"0x18\" is not a UUID" },
	{ "theengs hex with a space", BRIDGE_THEENGS,
	  "{\"servicedatauuid\": \"1808\", \"servicedata\": "
	  "\"0208 00e307021b0b0a1e64b011\", \"id\": \"D0:39:72:A1:B2:C3\", \"rssi\": -70}",
	  DHO_EINVAL, "D0:39:72:A1:B2:C3",
	  "\"servicedata\": hex: character 5 (' ') is not a hex digit" },
	{ "omg odd hex", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"11:22:33:44:55:66\",\"servicedata\":\"005\",\"servicedatauuid\":\"0x180d\"}",
	  DHO_EINVAL, "11:22:33:44:55:66", "\"servicedata\": hex: 3 digits, an odd number" },
	{ "omg truncated thermometer", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"c7:fa:ad:13:2c:00\",\"rssi\":-68,"
	  "\"servicedata\":\"06b00e00fedc070c050b321b\",\"servicedatauuid\":\"0x1809\"}",
	  DHO_EINVAL, "c7:fa:ad:13:2c:00",
	  "\"servicedata\": 2a1c: temperature type flag set but value ends at byte 12 "
	  "(13 bytes needed, 12 given)" },
	{ "omg empty service data", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"11:22:33:44:55:66\",\"servicedata\":\"\",\"servicedatauuid\":\"0x1810\"}",
	  DHO_EINVAL, "11:22:33:44:55:66", "2a35: no flags: value ends at byte 0" },
	{ "servicedata not a string", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"11:22:33:44:55:66\",\"servicedata\":55,\"servicedatauuid\":\"0x180d\"}",
	  DHO_EINVAL, "11:22:33:44:55:66", "\"servicedata\" is not a string" },
	{ "servicedatauuid not a string", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"11:22:33:44:55:66\",\"servicedata\":\"0055\",\"servicedatauuid\":6157}",
	  DHO_EINVAL, "11:22:33:44:55:66", "\"servicedatauuid\" is not a string" },

	/* Message level. */
	{ "not JSON", BRIDGE_OPENMQTTGATEWAY, "{\"id\":\"11:22:33:44:55:66\",", DHO_EINVAL, "",
	  "not JSON: " },
	{ "plain text", BRIDGE_THEENGS, "online", DHO_EINVAL, "", "not JSON: " },
	{ "array", BRIDGE_OPENMQTTGATEWAY, "[{\"id\":\"11:22:33:44:55:66\"}]", DHO_EINVAL, "",
	  "not a JSON object" },
	{ "no id", BRIDGE_OPENMQTTGATEWAY,
	  "{\"rssi\":-70,\"servicedata\":\"0055\",\"servicedatauuid\":\"0x180d\"}",
	  DHO_EINVAL, "", "no \"id\"" },
	{ "id not a string", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":112233445566,\"servicedata\":\"0055\",\"servicedatauuid\":\"0x180d\"}",
	  DHO_EINVAL, "", "\"id\" is not a string" },
	{ "id with a space", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"11 22 33 44 55 66\",\"servicedata\":\"0055\",\"servicedatauuid\":\"0x180d\"}",
	  DHO_EINVAL, "", "\"id\" \"11 22 33 44 55 66\" is not a device id" },
	{ "id empty", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"\",\"servicedata\":\"0055\",\"servicedatauuid\":\"0x180d\"}",
	  DHO_EINVAL, "", "is not a device id" },
	{ "id with a newline", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"11:22\\n33\",\"servicedata\":\"0055\",\"servicedatauuid\":\"0x180d\"}",
	  DHO_EINVAL, "", "\"id\" \"11:22?33\" is not a device id" },
	{ "duplicate servicedata", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"11:22:33:44:55:66\",\"servicedata\":\"0055\",\"servicedata\":\"0066\","
	  "\"servicedatauuid\":\"0x180d\"}",
	  DHO_EINVAL, "", "not JSON: duplicate object key" },

	/* omg-gatt. */
	{ "omg-gatt read failed", BRIDGE_OMG_GATT,
	  "{\"id\":\"AA:BB:CC:DD:EE:FF\",\"service\":\"1810\",\"characteristic\":\"2a35\","
	  "\"read\":\"\",\"success\":false}",
	  DHO_EUNSUPP, "AA:BB:CC:DD:EE:FF", "the gateway reports the read failed" },
	{ "omg-gatt success as string", BRIDGE_OMG_GATT,
	  "{\"id\":\"AA:BB:CC:DD:EE:FF\",\"characteristic\":\"2a35\",\"read\":\"00\","
	  "\"success\":\"true\"}",
	  DHO_EINVAL, "AA:BB:CC:DD:EE:FF", "\"success\" is not true or false" },
	{ "omg-gatt read as STRING", BRIDGE_OMG_GATT,
	  "{\"id\":\"AA:BB:CC:DD:EE:FF\",\"service\":\"cba20d00-224d-11e6-9fb8-0002a5d5c51b\","
	  "\"characteristic\":\"2a37\",\"read\":\"TEST\",\"success\":true}",
	  DHO_EINVAL, "AA:BB:CC:DD:EE:FF", "\"read\": hex: character 1 ('T') is not a hex digit" },
	{ "omg-gatt vendor characteristic", BRIDGE_OMG_GATT,
	  "{\"id\":\"AA:BB:CC:DD:EE:FF\",\"service\":\"cba20d00-224d-11e6-9fb8-0002a5d5c51b\","
	  "\"characteristic\":\"cba20002-224d-11e6-9fb8-0002a5d5c51b\",\"read\":\"54455354\","
	  "\"success\":true}",
	  DHO_EUNSUPP, "AA:BB:CC:DD:EE:FF", "is a vendor characteristic" },
	{ "omg-gatt battery level", BRIDGE_OMG_GATT,
	  "{\"id\":\"AA:BB:CC:DD:EE:FF\",\"service\":\"180f\",\"characteristic\":\"2a19\","
	  "\"read\":\"64\",\"success\":true}",
	  DHO_EUNSUPP, "AA:BB:CC:DD:EE:FF", "\"read\": 2a19: not a characteristic the hub decodes" },
	{ "omg-gatt no characteristic", BRIDGE_OMG_GATT,
	  "{\"id\":\"AA:BB:CC:DD:EE:FF\",\"service\":\"1810\",\"read\":\"00\"}",
	  DHO_EINVAL, "AA:BB:CC:DD:EE:FF", "no \"characteristic\"" },
	{ "omg-gatt no read", BRIDGE_OMG_GATT,
	  "{\"id\":\"AA:BB:CC:DD:EE:FF\",\"service\":\"1810\",\"characteristic\":\"2a35\"}",
	  DHO_EINVAL, "AA:BB:CC:DD:EE:FF", "no \"read\" value" },
	{ "omg-gatt bad service", BRIDGE_OMG_GATT,
	  "{\"id\":\"AA:BB:CC:DD:EE:FF\",\"service\":\"blood pressure\",\"characteristic\":\"2a35\","
	  "\"read\":\"00\"}",
	  DHO_EINVAL, "AA:BB:CC:DD:EE:FF", "\"service\" \"blood pressure\" is not a UUID" },
	{ "omg-gatt bad characteristic", BRIDGE_OMG_GATT,
	  "{\"id\":\"AA:BB:CC:DD:EE:FF\",\"characteristic\":\"2a35x\",\"read\":\"00\"}",
	  DHO_EINVAL, "AA:BB:CC:DD:EE:FF", "\"characteristic\" \"2a35x\" is not a UUID" },
	{ "omg-gatt malformed value", BRIDGE_OMG_GATT,
	  "{\"id\":\"AA:BB:CC:DD:EE:FF\",\"characteristic\":\"2a37\",\"read\":\"170101\"}",
	  DHO_EINVAL, "AA:BB:CC:DD:EE:FF",
	  "\"read\": 2a37: RR interval flag set but value ends at byte 3 (5 bytes needed, 3 given)" },
	/* An advertisement is not a read answer, and the other way round. */
	{ "omg-gatt given an advertisement", BRIDGE_OMG_GATT, OMG_BP,
	  DHO_EINVAL, "A4:C1:38:0B:5E:6D", "no \"characteristic\"" },
	{ "advertisement given a read answer", BRIDGE_OPENMQTTGATEWAY,
	  "{\"id\":\"AA:BB:CC:DD:EE:FF\",\"service\":\"1810\",\"characteristic\":\"2a35\","
	  "\"read\":\"00\",\"success\":true}",
	  DHO_EUNSUPP, "AA:BB:CC:DD:EE:FF", "no service data" },
};

static void
test_bad(void **state)
{
	struct gatt_value v;
	char dev[DHO_ID_MAX + 1], err[DHO_ERRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(bad[i].fmt, bad[i].payload, dev, &v, err);

		if (rc != bad[i].rc || strstr(err, bad[i].err) == NULL)
			print_error("case \"%s\": rc %d, \"%s\"\n", bad[i].name, rc, err);
		EXPECT(bad[i].name, rc == bad[i].rc);
		EXPECT(bad[i].name, strstr(err, bad[i].err) != NULL);
		EXPECT(bad[i].name, strcmp(dev, bad[i].device) == 0);
		EXPECT(bad[i].name, v.n == 0);
	}
}

static void
test_limits(void **state)
{
	struct gatt_value v;
	char dev[DHO_ID_MAX + 1], err[DHO_ERRLEN], small[8];
	size_t big = BRIDGE_MAX_BYTES + 1;
	char *p;
	int n;

	(void)state;
	/* Empty and NULL payloads. */
	assert_int_equal(parse_len(BRIDGE_OPENMQTTGATEWAY, "", 0, dev, &v, err), DHO_EINVAL);
	assert_string_equal(err, "empty payload");
	assert_int_equal(bridge_parse(BRIDGE_THEENGS, NULL, 0, dev, sizeof(dev), &v, err,
	                              sizeof(err)), DHO_EINVAL);

	/* Over the cap, even when it is otherwise valid JSON. */
	p = malloc(big);
	assert_non_null(p);
	n = snprintf(p, big, "{\"id\":\"11:22:33:44:55:66\",\"pad\":\"");
	memset(p + n, 'a', big - (size_t)n - 2);
	memcpy(p + big - 2, "\"}", 2);
	assert_int_equal(bridge_parse(BRIDGE_OPENMQTTGATEWAY, p, big, dev, sizeof(dev), &v, err,
	                              sizeof(err)), DHO_EINVAL);
	assert_string_equal(err, "payload is 65537 bytes, more than the 65536 allowed");
	free(p);

	/* A payload with a NUL byte inside is not JSON text. */
	assert_int_equal(parse_len(BRIDGE_OPENMQTTGATEWAY, "{\"id\":\"a\"}\0x", 12, dev, &v, err),
	                 DHO_EINVAL);

	/* The id must fit the caller's buffer. */
	assert_int_equal(bridge_parse(BRIDGE_OPENMQTTGATEWAY, good[0].payload,
	                              strlen(good[0].payload), small, sizeof(small), &v, err,
	                              sizeof(err)), DHO_EINVAL);
	assert_string_equal(small, "");
	assert_non_null(strstr(err, "no room for the device id"));

	/* A 64-character id is the longest valid one. */
	{
		char payload[256], id[DHO_ID_MAX + 2];

		memset(id, 'A', DHO_ID_MAX);
		id[DHO_ID_MAX] = '\0';
		snprintf(payload, sizeof(payload), "{\"id\":\"%s\",\"servicedata\":\"0055\","
		         "\"servicedatauuid\":\"0x180d\"}", id);
		assert_int_equal(parse(BRIDGE_OPENMQTTGATEWAY, payload, dev, &v, err), DHO_OK);
		assert_string_equal(dev, id);
		id[DHO_ID_MAX] = 'A';
		id[DHO_ID_MAX + 1] = '\0';
		snprintf(payload, sizeof(payload), "{\"id\":\"%s\",\"servicedata\":\"0055\","
		         "\"servicedatauuid\":\"0x180d\"}", id);
		assert_int_equal(parse(BRIDGE_OPENMQTTGATEWAY, payload, dev, &v, err), DHO_EINVAL);
	}

	/* An unknown format value. */
	assert_int_equal(parse((enum bridge_format)7, good[0].payload, dev, &v, err), DHO_EINVAL);
	assert_non_null(strstr(err, "bridge format 7 does not exist"));
}

/* Every prefix of an accepted payload is refused cleanly. */
static void
test_truncated_payloads(void **state)
{
	struct gatt_value v;
	char dev[DHO_ID_MAX + 1], err[DHO_ERRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t len = strlen(good[i].payload);

		for (size_t cut = 0; cut < len; cut++) {
			int rc = parse_len(good[i].fmt, good[i].payload, cut, dev, &v, err);

			EXPECT(good[i].name, rc == DHO_EINVAL);
			EXPECT(good[i].name, err[0] != '\0');
		}
	}
}

static void
test_formats(void **state)
{
	static const struct { const char *name; enum bridge_format fmt; } t[] = {
		{ "openmqttgateway", BRIDGE_OPENMQTTGATEWAY },
		{ "theengs", BRIDGE_THEENGS },
		{ "omg-gatt", BRIDGE_OMG_GATT },
	};
	enum bridge_format fmt;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(bridge_format_lookup(t[i].name, &fmt), DHO_OK);
		assert_int_equal(fmt, t[i].fmt);
		assert_string_equal(bridge_format_name(t[i].fmt), t[i].name);
	}
	assert_int_equal(bridge_format_lookup("OpenMQTTGateway", &fmt), DHO_ENOTFOUND);
	assert_int_equal(bridge_format_lookup("omg", &fmt), DHO_ENOTFOUND);
	assert_int_equal(bridge_format_lookup("", &fmt), DHO_ENOTFOUND);
	assert_int_equal(bridge_format_lookup(NULL, &fmt), DHO_ENOTFOUND);
	assert_string_equal(bridge_format_name((enum bridge_format)9), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bp_details),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_truncated_payloads),
		cmocka_unit_test(test_formats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
