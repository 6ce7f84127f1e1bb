"""Sends events to sluice with the official Amplitude Python SDK and reports every callback.

Usage: amplitude_python.py SERVER_URL API_KEY COUNT

Tracks COUNT events (plus one identify and one revenue event), flushes, shuts the client down
and prints one JSON object per callback to standard output:
{"insert_id": ..., "event_type": ..., "code": ..., "message": ...}.
"""

import json
import sys
import threading

from amplitude import Amplitude, BaseEvent, Config, Identify, Revenue, EventOptions


def main() -> None:
    server_url, api_key, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lock = threading.Lock()
    results = []

    def callback(event, code, message=None):
        with lock:
            results.append(
                {
                    "insert_id": event.insert_id,
                    "event_type": event.event_type,
                    "code": code,
                    "message": message,
                }
            )

    config = Config(
        server_url=server_url,
        callback=callback,
        flush_queue_size=50,
        flush_interval_millis=200,
        flush_max_retries=3,
    )
    client = Amplitude(api_key, configuration=config)
    for i in range(count):
        client.track(
            BaseEvent(
                event_type="Song Played",
                user_id=f"user-{i % 7:04d}@example.test",
                device_id=f"device-{i:06d}",
                insert_id=f"py-sdk-{i:06d}",
                event_properties={"index": i, "title": f"Track \u00e9 {i}", "ratio": 0.5},
            )
        )
    identify = Identify().set("plan", "premium").add("logins", 1)
    client.identify(identify, EventOptions(user_id="user-0000@example.test", insert_id="py-sdk-identify"))
    revenue = Revenue(price=9.99, quantity=2, product_id="sku-1")
    client.revenue(revenue, EventOptions(user_id="user-0001@example.test", insert_id="py-sdk-revenue"))
    client.flush()
    client.shutdown()
    for result in results:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
