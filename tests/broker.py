"""Emptying the suite's Redis broker of what a test's workers left: its queue, unacked messages and bindings."""

from __future__ import annotations

import json

import redis

from tests.celery_app import BROKER_URL

SEP = b"\x06\x16"
"""Kombu's separator of the fields of a binding."""


def forget_queue(name: str) -> None:
    """Remove a test run's queue from the Redis broker: its messages, and those a killed worker left unacked."""
    broker = redis.Redis.from_url(BROKER_URL)
    try:
        broker.delete(*broker.keys(f"{name}*") or [name])
        for tag, entry in broker.hgetall("unacked").items():
            if json.loads(entry)[2] == name:  # [message, exchange, routing key]
                broker.hdel("unacked", tag)
                broker.zrem("unacked_index", tag)
        for binding in [*broker.keys("_kombu.binding.*"), *broker.keys("_kombu.binding_permanent.*")]:
            for member in broker.smembers(binding):
                if member.rsplit(SEP, 1)[-1] == name.encode():  # routing key, pattern, queue
                    broker.srem(binding, member)  # the set's last member: Redis drops the key
        # A stopped worker's expiring bindings (its pidbox) keep a deadline until another worker sweeps them.
        for exchange in broker.zrange("_kombu.binding_deadlines", 0, -1):
            if not broker.exists(b"_kombu.binding." + exchange):
                broker.zrem("_kombu.binding_deadlines", exchange)
    finally:
        broker.close()
