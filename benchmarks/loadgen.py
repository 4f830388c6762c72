"""A small HTTP load generator for the benchmarks, run as its own process so it never shares a
CPU scheduler slot with the server under test:

    python -m benchmarks.loadgen '{"url": "http://127.0.0.1:8000/healthz",
                                        "headers": {}, "seconds": 5, "concurrency": 8}'

prints one JSON object: requests, errors, statuses, req/s and latency percentiles (ms). Plain
asyncio streams and one connection per request (gunicorn's sync workers close after each
response), HTTP/1.1 only; enough for a server doing a few thousand requests a second."""
from __future__ import annotations

import asyncio
import json
import sys
import time
from urllib.parse import urlsplit


async def _one(host: str, port: int, request: bytes) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        if length:
            await reader.readexactly(length)
        return int(status_line.split()[1])
    finally:
        writer.close()


async def run(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> dict:
    parts = urlsplit(url)
    if parts.hostname is None:
        raise ValueError(f"{url!r} names no host")
    host, port = parts.hostname, parts.port or 80
    lines = [f"GET {parts.path}{'?' + parts.query if parts.query else ''} HTTP/1.1",
             f"Host: {parts.netloc}", "Connection: close",
             *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                status = await _one(host, port, request)
            except OSError:
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def at(share: float) -> float | None:
        return round(latencies[min(len(latencies) - 1, int(share * len(latencies)))], 3) \
            if latencies else None

    return {"requests": len(latencies), "errors": errors, "statuses": statuses,
            "rps": round(len(latencies) / elapsed, 1), "p50_ms": at(0.5), "p99_ms": at(0.99),
            "cpu_seconds": round(time.process_time(), 2)}


if __name__ == "__main__":
    options = json.loads(sys.argv[1])
    print(json.dumps(asyncio.run(run(options["url"], options.get("headers", {}),
                                     options["seconds"], options["concurrency"]))))
