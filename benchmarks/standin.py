"""A stand-in for the API that costs almost nothing to serve: for measuring clients, not limits.

    .venv/bin/python benchmarks/standin.py --port 0 --latency-ms 300 --jitter-ms 100

Every POST is answered, after its latency, with a ``bulk_backlinks`` answer for the targets
it sent (each target 7 backlinks). No auth check, no limits, no ledger: the emulator does all
of that and costs 5–10 ms of CPU per 1000-target answer, so at 100 such calls a second on a
shared 2-core machine the emulator, not the client, sets the pace. This one is a few
hundred microseconds per call (uvicorn, one JSON read, one JSON write), so a concurrency-bound
job of full calls measures the client's turnaround. Prints ``serving on URL`` when ready.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import sys
from typing import Any

import pydantic_core
import uvicorn


def answer(targets: list[str]) -> bytes:
    items = [{"type": "backlinks", "target": t, "backlinks": 7} for t in targets]
    cost = 0.02 + 0.00003 * len(targets)
    task = {
        "status_code": 20000,
        "status_message": "Ok.",
        "cost": cost,
        "data": {"api": "backlinks", "function": "bulk_backlinks", "targets": targets},
        "result": [{"items_count": len(items), "items": items}],
    }
    return pydantic_core.to_json(
        {"status_code": 20000, "status_message": "Ok.", "cost": cost, "tasks": [task]}
    )


def make_app(latency: float, jitter: float, seed: int) -> Any:
    draw = random.Random(seed).uniform

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await asyncio.sleep(max(0.0, latency + draw(-jitter, jitter)))
        content = answer(pydantic_core.from_json(body)[0]["targets"])
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    return app


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--jitter-ms", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it
    sock.bind(("127.0.0.1", args.port))
    app = make_app(args.latency_ms / 1000, args.jitter_ms / 1000, args.seed)
    config = uvicorn.Config(app, log_level="warning", access_log=False, http="h11", lifespan="off")
    server = uvicorn.Server(config)
    print(f"serving on http://127.0.0.1:{sock.getsockname()[1]} (stand-in)", flush=True)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
