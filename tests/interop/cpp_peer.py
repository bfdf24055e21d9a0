"""Drives the Apache C++ client (PyPI rocketmq==0.4.4) for the interop tests.

produce: sends messages and prints one JSON line per message, then a summary line. --mode batch
         sends them with Producer.send_batch, --batch-size (10) at a time.
consume: runs a PushConsumer until it has `--expect` messages (or the timeout passes), waits
         `--quiet` seconds more to catch duplicates, and prints every message as a JSON line
         (with `t`, when it arrived, for the consumer benchmark).

Message i has body `message_body(i, size)`, keys `key-i`, tags TagA/TagB alternating, and the
properties seq=i and custom=value-i, so the Rust test can check each field it gets back.
"""
import argparse
import json
import sys
import threading
import time

from rocketmq.client import Message, Producer, PushConsumer, SendStatus


def message_body(i, size):
    head = "body-%d-" % i
    if size <= len(head):
        return head
    # Deterministic text (the Python API hands bodies back as str); compressible but not
    # trivially so, so bodies over 4 KiB really exercise zlib.
    filler = "".join(chr(ord("a") + (i * 7 + j * 13) % 26) for j in range(size - len(head)))
    return head + filler


def build(topic, i, size):
    msg = Message(topic)
    msg.set_keys("key-%d" % i)
    msg.set_tags("TagA" if i % 2 == 0 else "TagB")
    msg.set_body(message_body(i, size))
    msg.set_property("seq", str(i))
    msg.set_property("custom", "value-%d" % i)
    return msg


def credentials(client, args):
    """ACL session credentials (the C++ client signs every request with them)."""
    if args.access_key:
        client.set_session_credentials(args.access_key, args.secret_key, args.channel)


def produce(args):
    if args.mode == "batch":
        return produce_batches(args)
    producer = Producer(args.group, timeout=args.timeout_ms)
    producer.set_namesrv_addr(args.namesrv)
    credentials(producer, args)
    producer.start()
    ok = 0
    try:
        for i in range(args.start, args.start + args.count):
            mode = args.mode if args.mode != "mixed" else ["sync", "oneway", "orderly"][i % 3]
            size = args.size if args.size else (5000 if i % 10 == 0 else 64)
            msg = build(args.topic, i, size)
            record = {"i": i, "mode": mode, "size": size}
            try:
                if mode == "sync":
                    result = producer.send_sync(msg)
                    record["status"] = int(result.status)
                    record["msg_id"] = result.msg_id
                    record["ok"] = result.status == SendStatus.OK
                elif mode == "orderly":
                    result = producer.send_orderly(msg, i)
                    record["status"] = int(result.status)
                    record["msg_id"] = result.msg_id
                    record["ok"] = result.status == SendStatus.OK
                else:
                    producer.send_oneway(msg)
                    record["ok"] = True
            except Exception as e:  # noqa: BLE001 - report every failure to the test
                record["ok"] = False
                record["error"] = str(e)
            ok += 1 if record["ok"] else 0
            print(json.dumps(record), flush=True)
    finally:
        producer.shutdown()
    print(json.dumps({"summary": True, "sent": args.count, "ok": ok}), flush=True)


def produce_batches(args):
    """Producer.send_batch of `--batch-size` messages at a time. This C++ client sends each
    batch as SEND_MESSAGE (code 10) with batch="1", and zlib-compresses a batch body of 4 KiB
    or more as a whole (sysFlag 1). One record per message, carrying its batch's first index
    and result (msg_id comes back empty for a batch), then the summary line."""
    producer = Producer(args.group, timeout=args.timeout_ms)
    producer.set_namesrv_addr(args.namesrv)
    credentials(producer, args)
    producer.start()
    ok = 0
    end = args.start + args.count
    try:
        for first in range(args.start, end, args.batch_size):
            indexes = list(range(first, min(first + args.batch_size, end)))
            sizes = [args.size if args.size else (5000 if i % 10 == 0 else 64) for i in indexes]
            msgs = [build(args.topic, i, size) for i, size in zip(indexes, sizes)]
            base = {"mode": "batch", "batch": first}
            try:
                result = producer.send_batch(msgs)
                base["status"] = int(result.status)
                base["msg_id"] = result.msg_id
                base["offset"] = result.offset
                base["ok"] = result.status == SendStatus.OK
            except Exception as e:  # noqa: BLE001 - report every failure to the test
                base["ok"] = False
                base["error"] = "%s: %s" % (type(e).__name__, e)
            for i, size in zip(indexes, sizes):
                record = dict(base, i=i, size=size)
                ok += 1 if record["ok"] else 0
                print(json.dumps(record), flush=True)
    finally:
        producer.shutdown()
    print(json.dumps({"summary": True, "sent": args.count, "ok": ok}), flush=True)


def consume(args):
    received = []
    lock = threading.Lock()

    def on_message(msg):
        record = {
            "body": msg.body.decode("utf-8") if isinstance(msg.body, bytes) else msg.body,
            "tags": msg.tags.decode("utf-8") if isinstance(msg.tags, bytes) else msg.tags,
            "keys": msg.keys.decode("utf-8") if isinstance(msg.keys, bytes) else msg.keys,
            "seq": msg.get_property("seq"),
            "custom": msg.get_property("custom"),
            # What a trace hook reads: the broker stores them with each message.
            "region": msg.get_property("MSG_REGION"),
            "trace_on": msg.get_property("TRACE_ON"),
            "id": msg.id,
            "queue_id": msg.queue_id,
            "queue_offset": msg.queue_offset,
            "t": time.time(),
        }
        for k, v in list(record.items()):
            if isinstance(v, bytes):
                record[k] = v.decode("utf-8")
        with lock:
            received.append(record)

    # An orderly consumer locks its queues on the broker (LOCK_BATCH_MQ) before consuming.
    consumer = PushConsumer(args.group, orderly=args.orderly)
    consumer.set_namesrv_addr(args.namesrv)
    credentials(consumer, args)
    consumer.subscribe(args.topic, on_message, args.expression)
    consumer.start()
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        with lock:
            if len(received) >= args.expect:
                break
        time.sleep(0.05)
    time.sleep(args.quiet)
    consumer.shutdown()
    with lock:
        for record in received:
            print(json.dumps(record), flush=True)
    print(json.dumps({"summary": True, "received": len(received)}), flush=True)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("produce")
    p.add_argument("--namesrv", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--group", default="PID_cpp_interop")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--start", type=int, default=0)
    p.add_argument(
        "--mode", choices=["sync", "oneway", "orderly", "mixed", "batch"], default="mixed"
    )
    p.add_argument("--batch-size", type=int, default=10, help="messages per send (--mode batch)")
    p.add_argument("--size", type=int, default=0, help="0: 64 bytes, every 10th 5000 bytes")
    p.add_argument("--timeout-ms", type=int, default=3000)
    c = sub.add_parser("consume")
    c.add_argument("--namesrv", required=True)
    c.add_argument("--topic", required=True)
    c.add_argument("--group", required=True)
    c.add_argument("--expect", type=int, required=True)
    c.add_argument("--timeout", type=float, default=60)
    c.add_argument("--quiet", type=float, default=3)
    c.add_argument("--expression", default="*")
    c.add_argument("--orderly", action="store_true")
    for command in (p, c):
        command.add_argument("--access-key", default="")
        command.add_argument("--secret-key", default="")
        command.add_argument("--channel", default="ALIYUN")
    args = parser.parse_args()
    if args.command == "produce":
        produce(args)
    else:
        consume(args)


if __name__ == "__main__":
    sys.exit(main())
