"""The client side of the `ws_latency` benchmark: many `/ws/live/` clients in one asyncio process.

Started by `benchmarks/ws_latency.py` as `python -m benchmarks.ws_clients`, in a process of its
own so that the clients never share a GIL with the server they measure. No Django here: only
the `websockets` package. Driven by JSON lines on stdin, answering JSON lines on stdout:

    {"url", "origin", "cookie_name", "sessions", "pair", "open_timeout", "concurrency"}
        (the first line) → {"event": "ready", "connected", "failed", "errors", "seconds"}
    {"expect": round, "key": feed key, "price": "1234.5"} → {"event": "expecting", "round"}
    {"collect": round, "timeout": seconds}
        → {"event": "round", "round", "times": [epoch seconds], "computed_at", "closed"}
    {"quit": true} → {"event": "done", "cpu_seconds", "wall_seconds"}

A client's time for a round is when it received its first `pair` message whose row for the
feed carries the round's price: each round's price is new, so no earlier message matches.
"""
from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

Expectation = tuple[int, str, Decimal]  # round, feed key, price


class Client:
    def __init__(self) -> None:
        self.received: dict[int, float] = {}  # round -> epoch seconds of the matching message
        self.computed_at: dict[int, str] = {}  # round -> the state's computed_at
        self.closed = False
        self.task: asyncio.Task | None = None  # its listener, held so it is not collected

    async def listen(self, ws: ClientConnection, expected: list[Expectation | None]) -> None:
        try:
            async for message in ws:
                arrived = time.time()  # before parsing: parsing is the client's own cost
                current = expected[0]
                if current is None:
                    continue
                round_, key, price = current
                if round_ in self.received:
                    continue
                data = json.loads(message)
                if data.get("type") != "pair":
                    continue
                for row in data["state"].get("feeds", ()):
                    if row.get("key") == key and _decimal(row.get("price")) == price:
                        self.received[round_] = arrived
                        self.computed_at[round_] = data["state"].get("computed_at")
                        break
        except Exception:  # noqa: S110 (a dropped connection is reported as `closed`)
            pass
        finally:
            self.closed = True


def _decimal(text: Any) -> Decimal | None:
    try:
        return Decimal(text)
    except (TypeError, InvalidOperation):
        return None


async def _open(config: dict, session: str, client: Client,
                expected: list[Expectation | None]) -> ClientConnection:
    ws = await connect(
        config["url"], origin=config["origin"], proxy=None, open_timeout=config["open_timeout"],
        additional_headers={"Cookie": f"{config['cookie_name']}={session}"},
    )
    try:
        await ws.send(json.dumps({"subscribe": "pair", "pair": config["pair"]}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), config["open_timeout"]))
        if reply.get("type") != "snapshot":
            raise RuntimeError(f"subscribe answered {reply}")
    except BaseException:
        await ws.close()
        raise
    client.task = asyncio.create_task(client.listen(ws, expected))
    return ws


async def main() -> None:
    started_wall, started_cpu = time.monotonic(), time.process_time()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def command() -> dict:
        line = await reader.readline()
        if not line:
            raise SystemExit(0)  # the benchmark went away: its stdin pipe closed
        return json.loads(line)

    config = await command()
    expected: list[Expectation | None] = [None]  # shared by every client, read on each message
    limit = asyncio.Semaphore(config["concurrency"])  # handshakes in flight at once

    async def open_one(session: str) -> tuple[Client, ClientConnection]:
        async with limit:
            client = Client()
            return client, await _open(config, session, client, expected)

    began = time.monotonic()
    opened = await asyncio.gather(*(open_one(s) for s in config["sessions"]),
                                  return_exceptions=True)
    connections = [item for item in opened if not isinstance(item, BaseException)]
    errors = Counter(f"{type(e).__name__}: {e}"[:200] for e in opened
                     if isinstance(e, BaseException))
    _say({"event": "ready", "connected": len(connections), "failed": sum(errors.values()),
          "errors": dict(errors.most_common(5)), "seconds": time.monotonic() - began})
    clients = [client for client, _ in connections]

    while True:
        order = await command()
        if "expect" in order:
            expected[0] = (order["expect"], order["key"], Decimal(order["price"]))
            _say({"event": "expecting", "round": order["expect"]})
        elif "collect" in order:
            round_ = order["collect"]
            deadline = time.monotonic() + order["timeout"]
            while time.monotonic() < deadline and not all(
                round_ in c.received or c.closed for c in clients
            ):
                await asyncio.sleep(0.02)
            times = [c.received[round_] for c in clients if round_ in c.received]
            computed = next((c.computed_at[round_] for c in clients if round_ in c.computed_at),
                            None)
            _say({"event": "round", "round": round_, "times": times, "computed_at": computed,
                  "closed": sum(c.closed for c in clients)})
        elif order.get("quit"):
            await asyncio.gather(*(ws.close() for _, ws in connections), return_exceptions=True)
            _say({"event": "done", "cpu_seconds": time.process_time() - started_cpu,
                  "wall_seconds": time.monotonic() - started_wall})
            return


def _say(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
