/*
 * bridge: payloads of third-party BLE bridges, the `format` of an [input:*]
 * section.
 *
 *  - BRIDGE_OPENMQTTGATEWAY, BRIDGE_THEENGS: one advertisement as JSON,
 *      {"id":"A4:C1:38:0B:5E:6D","mac_type":0,"adv_type":0,"name":"BP",
 *       "rssi":-67,"servicedata":"00720050005a00","servicedatauuid":"0x1810"}
 *    (Theengs Gateway writes "servicedatauuid":"1810" and no mac_type). The
 *    service data of a health service is decoded with gatt_decode() as the
 *    service's measurement characteristic: 0x1810 -> 2A35, 0x1809 -> 2A1C,
 *    0x180D -> 2A37, 0x1822 -> 2A5E, 0x181D -> 2A9D, 0x181B -> 2A9C,
 *    0x1808 -> 2A18. Anything else is DHO_EUNSUPP with a reason for
 *    quarantine: no service data (the gateways publish it only with
 *    OpenMQTTGateway's "pubadvdata" or Theengs Gateway's "publish_advdata"
 *    on), manufacturer data only, another service, a vendor UUID, or
 *    service data whose flags set bits the GATT layout reserves (a
 *    vendor's own layout under a health service UUID, such as Xiaomi's
 *    scales on 0x181B: decoded as GATT its bytes would mean nothing). Keys
 *    the gateways add (brand, model, decoded properties...) are ignored: a
 *    gateway's own decoding of a proprietary layout is not a value the hub
 *    can vouch for.
 *  - BRIDGE_OMG_GATT: OpenMQTTGateway's answer to a BLE read command,
 *      {"id":MAC,"service":"1810","characteristic":"2a35","read":HEX,
 *       "success":true}
 *    with 16-bit or 128-bit base UUIDs (OpenMQTTGateway echoes the UUIDs as
 *    they were asked for, usually in the 128-bit form). "characteristic"
 *    selects the decoder; "service" must be a UUID but is not otherwise
 *    used. "success" may be missing; false is DHO_EUNSUPP (there is no
 *    value), and so is a vendor characteristic.
 *
 * The device id is "id" exactly as sent (any case, colons kept); it must be
 * a valid identifier (ident.h). On macOS, Theengs Gateway sends
 * CoreBluetooth's UUID there instead of a MAC, which is accepted as well.
 */
#ifndef BRIDGE_H
#define BRIDGE_H

#include <stddef.h>

#include "dho.h"
#include "gatt.h"

/* The largest payload parsed; the doc module uses the same cap. */
#define BRIDGE_MAX_BYTES 65536

enum bridge_format {
	BRIDGE_OPENMQTTGATEWAY,
	BRIDGE_THEENGS,
	BRIDGE_OMG_GATT
};

/* The config names, indexed by enum bridge_format, with NULL after the
 * last: the one list of them, which the configuration offers as choices. */
extern const char *const bridge_format_names[];

/* Looks a format up by its config name ("openmqttgateway", "theengs",
 * "omg-gatt"). Returns DHO_OK or DHO_ENOTFOUND. */
int bridge_format_lookup(const char *name, enum bridge_format *out);

/* The config name of a format. */
const char *bridge_format_name(enum bridge_format fmt);

/*
 * Parses payload[len] (not NUL-terminated) in format fmt. On DHO_OK,
 * device_out holds the device id and *out the decoded value (which may
 * have zero readings, or marked readings: see gatt.h). Returns:
 *   DHO_EINVAL  not JSON, not an object, over BRIDGE_MAX_BYTES, a key of
 *               the wrong type, no or a bad "id", bad hex, or a value
 *               gatt_decode() finds malformed;
 *   DHO_EUNSUPP well formed but nothing the hub decodes (see above).
 * err (errlen bytes) gets a sentence for quarantine on failure and "" on
 * success. device_out (devlen bytes, at least DHO_ID_MAX + 1 to hold any
 * id) is "" unless a valid id was read; it is filled even when decoding
 * fails afterwards, so that the quarantine entry can name the device.
 */
int bridge_parse(enum bridge_format fmt, const char *payload, size_t len,
                 char *device_out, size_t devlen, struct gatt_value *out,
                 char *err, size_t errlen);

#endif
