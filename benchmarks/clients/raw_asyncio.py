"""Reference, not a baseline: the least a Python client can do for each call.

Plain asyncio streams, one kept-alive connection per slot (30), each request's bytes a
prebuilt head plus the JSON body, the answer read by its Content-Length: no HTTP library, no
checks, no timeouts. Nobody should ship this: it parses HTTP by hand and trusts the server
completely. It is here to measure what this machine and the emulator allow a client to reach
in the latency-bound scenarios, so that the gap between any other client and it is the other
client's own (benchmarks/README.md).
"""

from __future__ import annotations

import time

T_SCRIPT = time.perf_counter()

import asyncio  # noqa: E402
import base64  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402


async def run(args, targets: list[str], timeline: c.Timeline) -> tuple[int, dict[str, int]]:
    url = urlsplit(args.url)
    token = base64.b64encode(f"{c.LOGIN}:{c.PASSWORD}".encode()).decode()
    head = (
        f"POST {c.PATH} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Basic {token}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    ).encode()
    todo = c.chunks(targets, args.chunk)[::-1]  # popped from the end: input order
    results: dict[str, int] = {}
    calls = 0

    async def exchange(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes
    ) -> tuple[int, dict]:
        writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
        status_line = await reader.readline()
        if not status_line:
            raise RuntimeError("the emulator closed a kept-alive connection")
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return int(status_line.split()[1]), json.loads(await reader.readexactly(length))

    async def slot() -> None:
        nonlocal calls
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        try:
            while todo:
                body = json.dumps([{"targets": todo.pop()}]).encode()
                for attempt in range(args.retries + 1):
                    status, data = await exchange(reader, writer, body)
                    calls += 1
                    timeline.mark()
                    if (
                        status == 200
                        and data["status_code"] == 20000
                        and data["tasks"][0]["status_code"] == 20000
                    ):
                        for item in data["tasks"][0]["result"][0]["items"]:
                            results[item["target"]] = item["backlinks"]
                        break
                    await asyncio.sleep(args.retry_delay * 2**attempt)
                else:
                    raise RuntimeError(f"gave up on a chunk after {args.retries + 1} attempts")
        finally:
            writer.close()

    await asyncio.gather(*(slot() for _ in range(args.concurrency)))
    return calls, results


def main() -> None:
    c.gather_main(T_SCRIPT, run)


if __name__ == "__main__":
    main()
