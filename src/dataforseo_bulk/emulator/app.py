"""The ASGI application: one code path for the seven bulk endpoints.

Checks run in the order the real API appears to apply them: route, Basic auth (HTTP 401),
body (envelope 40502/40503), rate window (40202), concurrency (40209), task validation
(task 40000/40501/40506), account balance (envelope 40210), latency, fault injection, answer.
Every request is recorded in the ledger, if there is one.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import gzip
import hmac
import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, NoReturn

import anyio

from . import asgi
from .asgi import ASGIApp, Receive, Scope, Send
from .config import EmulatorConfig
from .endpoints import ENDPOINTS, EndpointSpec, Item, build_items
from .envelope import MESSAGES, OK, Task, encode, make_envelope, make_task, task_cost
from .faults import CHARGED_FAULTS, TASK_FAULT_CODES, FaultInjector
from .ledger import Ledger
from .limits import Clock, Limits
from .user_data import PATH as USER_DATA_PATH
from .user_data import minute_limit, user_data_result
from .validation import POST_DATA_INVALID, TaskError, ValidTask, parse_body, validate_task

Today = Callable[[], dt.date]

UNAUTHORIZED: Final = 40100
NOT_FOUND: Final = 40400
INVALID_PATH: Final = 40402
ONE_TASK_ONLY: Final = 40000
INTERNAL_ERROR: Final = 50000
INSUFFICIENT_FUNDS: Final = 40210
INSUFFICIENT_FUNDS_MESSAGE: Final = (
    "Insufficient funds. Your account's balance is too low to complete this request."
)
WWW_AUTHENTICATE: Final = (b"www-authenticate", b'Basic realm="DataForSEO REST API"')
_GATEWAY_REASONS: Final = {
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


class ConnectionDropped(Exception):
    """Raised by the app, mid-body, for the ``drop`` fault.

    Over a socket the server then closes the connection and the client sees a protocol error
    (``httpx.RemoteProtocolError``). In-process, ``httpx.ASGITransport`` re-raises it as is;
    :func:`dataforseo_bulk.emulator.asgi_transport` turns it into ``httpx.RemoteProtocolError``.
    """


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@dataclass(slots=True)
class Hold:
    """Money held against the balance for one call being answered."""

    usd: float


@dataclass(slots=True)
class Outcome:
    """What the ledger records about one answered request."""

    endpoint: str
    http_status: int
    envelope_code: int | None
    tag: str | None = None
    targets: int = 0
    task_codes: Sequence[int] = ()
    fault: str | None = None
    cost: float = 0.0
    charged_targets: Sequence[str] = field(default_factory=tuple)
    #: The price held against the balance for this call; recording turns it into ``cost``.
    hold: Hold | None = None


class Funds:
    """The account balance: what was charged so far, and what is held for calls being answered.

    A valid call holds its full price before any work is done; when it is recorded the hold
    becomes what it was charged (maybe nothing), and a call that never gets that far releases
    it. So concurrent calls can never together be charged more than the balance.
    """

    def __init__(self, balance_usd: float | None) -> None:
        self.balance_usd = balance_usd
        self.charged = 0.0
        self.held = 0.0

    def hold(self, usd: float) -> Hold | None:
        """Hold ``usd`` for a call; ``None`` (nothing held) if that would pass the balance."""
        if self.balance_usd is not None and round(self.charged + self.held + usd, 8) > self.balance_usd:
            return None
        self.held += usd
        return Hold(usd)

    def charge(self, hold: Hold | None, usd: float) -> None:
        """Release ``hold`` (once; later calls are no-ops) and add ``usd`` to what was charged."""
        if hold is not None:
            self.held = max(0.0, self.held - hold.usd)
            hold.usd = 0.0
        self.charged += usd


def _first_task_summary(tasks: Sequence[Mapping[str, object]]) -> tuple[str | None, int]:
    """The tag and number of targets of the first task, for the ledger, whatever their validity."""
    if not tasks:
        return None, 0
    tag = tasks[0].get("tag")
    targets = tasks[0].get("targets")
    return (tag if isinstance(tag, str) else None), (len(targets) if isinstance(targets, list) else 0)


def _echo(spec: EndpointSpec, task: Mapping[str, object]) -> dict[str, object]:
    data: dict[str, object] = {"api": "backlinks", "function": spec.name}
    data.update((name, value) for name, value in task.items() if name not in data)
    return data


def _gateway_page(status: int) -> bytes:
    title = f"{status} {_GATEWAY_REASONS[status]}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


class EmulatorApp:
    """The emulator as a raw ASGI 3 callable. Build it with :func:`create_app`."""

    def __init__(self, config: EmulatorConfig, ledger: Ledger | None, clock: Clock, today: Today) -> None:
        self.config = config
        self.ledger = ledger
        self.clock = clock
        self.today = today
        self.limits = Limits(
            rate_limit=config.rate_limit,
            rate_period=config.rate_period,
            max_concurrency=config.max_concurrency,
            clock=clock,
        )
        self.faults = FaultInjector(config.fault_rate, config.faults, config.seed)
        # Separate streams, so turning jitter on does not change which calls get faults.
        self._jitter_rng = random.Random(None if config.seed is None else f"jitter:{config.seed}")
        self._id_rng = random.Random(None if config.seed is None else f"task-ids:{config.seed}")
        self._empty_rng = random.Random(None if config.seed is None else f"empty-results:{config.seed}")
        self._calls_answered = 0
        self._credentials = f"{config.login}:{config.password}".encode()
        self.funds = Funds(config.balance_usd)

    def __repr__(self) -> str:
        return f"EmulatorApp({self.config!r}, ledger={self.ledger!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await asgi.serve_lifespan(receive, send)
        elif scope["type"] == "http":
            with contextlib.suppress(asgi.ClientDisconnected):  # nobody left to answer
                await self._http(scope, receive, send)
        # websocket and other scopes: return without accepting, the server refuses them

    # --- the request pipeline ---------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        path: str = scope["path"]
        if path == USER_DATA_PATH:
            await self._user_data(scope, send, started)
            return
        spec = ENDPOINTS.get(path.split("/")[3]) if path.count("/") == 4 else None
        if spec is None or path != spec.path:
            code = INVALID_PATH if path.startswith("/v3/") else NOT_FOUND
            await self._refuse(send, Outcome(path, 404, code), started)
            return
        if scope["method"] != "POST":
            await self._refuse(send, Outcome(spec.name, 404, INVALID_PATH), started)
            return
        if not self._authorized(scope):
            await self._refuse(send, Outcome(spec.name, 401, UNAUTHORIZED), started, (WWW_AUTHENTICATE,))
            return
        body = await asgi.read_body(receive)
        tasks = POST_DATA_INVALID if body is None else parse_body(self._decoded(scope, body))
        if isinstance(tasks, int):
            await self._refuse(send, Outcome(spec.name, 200, tasks), started)
            return
        tag, targets = _first_task_summary(tasks)
        refusal = self.limits.admit()
        if refusal is not None:
            await self._refuse(send, Outcome(spec.name, 200, refusal, tag, targets), started)
            return
        try:
            await self._answer(spec, tasks, receive, send, started)
        finally:
            self.limits.release()

    async def _user_data(self, scope: Scope, send: Send, started: float) -> None:
        """The account: free, outside the bulk endpoints' rate window, not in the ledger."""
        if scope["method"] != "GET":
            await self._refuse(send, Outcome("user_data", 404, INVALID_PATH), started)
            return
        if not self._authorized(scope):
            await self._refuse(send, Outcome("user_data", 401, UNAUTHORIZED), started, (WWW_AUTHENTICATE,))
            return
        config = self.config
        result = user_data_result(
            login=config.login,
            balance_usd=config.balance_usd,
            charged_usd=self.funds.charged,
            minute_calls=minute_limit(config.rate_limit, config.rate_period),
            calls_today=self._calls_answered,
            today=self.today(),
        )
        task = make_task(
            task_id=uuid.UUID(int=self._id_rng.getrandbits(128), version=4),
            status_code=OK,
            status_message=MESSAGES[OK],
            elapsed=time.perf_counter() - started,
            path=("v3", "appendix", "user_data"),
            data={"api": "appendix", "function": "user_data"},
            result=[result],
        )
        envelope = make_envelope(status_code=OK, elapsed=time.perf_counter() - started, tasks=[task])
        await asgi.send_response(send, 200, encode(envelope))

    def _authorized(self, scope: Scope) -> bool:
        value = asgi.header(scope, b"authorization")
        if value is None:
            return False
        scheme, _, encoded = value.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(decoded, self._credentials)

    @staticmethod
    def _decoded(scope: Scope, body: bytes) -> bytes:
        # DataForSEO's own example client sends "Content-Encoding: gzip" with a plain body, so
        # only bodies that really are gzip (magic bytes) are inflated.
        if asgi.header(scope, b"content-encoding") == b"gzip" and body.startswith(b"\x1f\x8b"):
            try:
                return gzip.decompress(body)
            except (OSError, EOFError):
                return b"\x00"  # not JSON: answered as 40503
        return body

    async def _refuse(
        self,
        send: Send,
        outcome: Outcome,
        started: float,
        extra_headers: tuple[tuple[bytes, bytes], ...] = (),
        message: str | None = None,
    ) -> None:
        """Answer with an envelope-level status and no tasks."""
        assert outcome.envelope_code is not None
        envelope = make_envelope(
            status_code=outcome.envelope_code, elapsed=time.perf_counter() - started, status_message=message
        )
        self._record(outcome)
        await asgi.send_response(send, outcome.http_status, encode(envelope), extra_headers=extra_headers)

    async def _answer(
        self,
        spec: EndpointSpec,
        tasks: list[dict[str, object]],
        receive: Receive,
        send: Send,
        started: float,
    ) -> None:
        checked = validate_task(spec, tasks[0], self.today())
        # The full price of a valid call is held against the balance before any work is done;
        # an invalid task costs nothing and goes on to its 40501/40506 answer.
        price = task_cost(len(set(checked.targets))) if isinstance(checked, ValidTask) else 0.0
        hold = self.funds.hold(price)
        if hold is None:
            tag, targets = _first_task_summary(tasks)
            refusal = Outcome(spec.name, 200, INSUFFICIENT_FUNDS, tag, targets)
            await self._refuse(send, refusal, started, message=INSUFFICIENT_FUNDS_MESSAGE)
            return
        try:
            await self._answer_held(spec, tasks, checked, hold, receive, send, started)
        finally:
            self.funds.charge(hold, 0.0)  # a call cancelled before it was recorded pays nothing

    async def _answer_held(
        self,
        spec: EndpointSpec,
        tasks: list[dict[str, object]],
        checked: ValidTask | TaskError,
        hold: Hold,
        receive: Receive,
        send: Send,
        started: float,
    ) -> None:
        await self._latency()
        fault = self.faults.draw() if isinstance(checked, ValidTask) else None
        items: list[Item] = []
        empty = False  # a 20000 task whose result is null or [] (see EmulatorConfig.empty_result_rate)
        if isinstance(checked, ValidTask):
            items = build_items(spec, checked.targets, checked.params, null_rate=self.config.null_rate)
            if fault is None and self._empty_rng.random() < self.config.empty_result_rate:
                empty, items = True, []
            if fault == "missing_items":
                dropped = self.faults.items_to_drop(len(items))
                items = [item for index, item in enumerate(items) if index not in dropped]
            if fault is not None and fault in TASK_FAULT_CODES:
                code = TASK_FAULT_CODES[fault]
                checked = TaskError(code, MESSAGES[code])
        first = self._task(spec, tasks[0], checked, items, started, empty=empty)
        others = [
            self._task(spec, extra, TaskError(ONE_TASK_ONLY, MESSAGES[ONE_TASK_ONLY]), [], started)
            for extra in tasks[1:]
        ]
        all_tasks = [first, *others]
        envelope = make_envelope(status_code=OK, elapsed=time.perf_counter() - started, tasks=all_tasks)
        charged = isinstance(checked, ValidTask) and (fault is None or fault in CHARGED_FAULTS)
        tag, targets = _first_task_summary(tasks)
        outcome = Outcome(
            endpoint=spec.name,
            http_status=200,
            envelope_code=OK,
            tag=tag,
            targets=targets,
            task_codes=[checked.status_code if isinstance(checked, TaskError) else OK]
            + [ONE_TASK_ONLY] * len(others),
            fault=fault,
            cost=task_cost(len(items)) if charged else 0.0,
            charged_targets=[str(item[spec.key_field]) for item in items] if charged else (),
            hold=hold,
        )
        await self._deliver(outcome, envelope, receive, send, started)

    def _task(
        self,
        spec: EndpointSpec,
        task: Mapping[str, object],
        checked: ValidTask | TaskError,
        items: list[Item],
        started: float,
        *,
        empty: bool = False,
    ) -> Task:
        task_id = uuid.UUID(int=self._id_rng.getrandbits(128), version=4)
        elapsed = time.perf_counter() - started
        path = ("v3", "backlinks", spec.name, "live")
        data = _echo(spec, task)
        if isinstance(checked, TaskError):
            return make_task(
                task_id=task_id,
                status_code=checked.status_code,
                status_message=checked.status_message,
                elapsed=elapsed,
                path=path,
                data=data,
                result=None,
            )
        if empty:
            # Charged for the request, no row: the safe side of an unverified bill.
            return make_task(
                task_id=task_id,
                status_code=OK,
                status_message=MESSAGES[OK],
                elapsed=elapsed,
                path=path,
                data=data,
                result=None if self._empty_rng.random() < 0.5 else [],
                cost=task_cost(0),
            )
        result: dict[str, object] = {"items_count": len(items), "items": items}
        if spec.has_total_count:
            # total_count is what the database holds for the request: every distinct target,
            # even those a missing_items fault left out of this answer.
            result = {"total_count": len(set(checked.targets)), **result}
        return make_task(
            task_id=task_id,
            status_code=OK,
            status_message=MESSAGES[OK],
            elapsed=elapsed,
            path=path,
            data=data,
            result=[result],
            cost=task_cost(len(items)),
        )

    async def _latency(self) -> None:
        delay_ms = self.config.latency_ms
        if self.config.jitter_ms > 0:
            delay_ms += self._jitter_rng.uniform(-self.config.jitter_ms, self.config.jitter_ms)
        if delay_ms > 0:
            await anyio.sleep(delay_ms / 1000)

    # --- rendering, faults included ---------------------------------------------------------

    async def _deliver(
        self, outcome: Outcome, envelope: dict[str, object], receive: Receive, send: Send, started: float
    ) -> None:
        fault = outcome.fault
        if fault == "http500" or fault == "envelope_50000":
            outcome.http_status = 500 if fault == "http500" else 200
            outcome.envelope_code, outcome.task_codes = INTERNAL_ERROR, ()
            await self._refuse(send, outcome, started)
            return
        if fault in ("http502", "http503", "http504"):
            outcome.http_status, outcome.envelope_code, outcome.task_codes = int(fault[4:]), None, ()
            self._record(outcome)
            page = _gateway_page(outcome.http_status)
            await asgi.send_response(send, outcome.http_status, page, content_type=b"text/html")
            return
        body = encode(envelope)
        if fault == "http500_ok":
            outcome.http_status = 500
        self._record(outcome)
        if fault == "drop":
            await self._drop(send, body)
        if fault == "slow":
            await self._hold(receive)
        if fault == "malformed":
            body = body[: max(1, len(body) // 2)]
        await asgi.send_response(send, outcome.http_status, body)

    async def _drop(self, send: Send, body: bytes) -> NoReturn:
        headers = [(b"content-type", asgi.JSON_CONTENT_TYPE), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        raise ConnectionDropped(f"emulated connection drop after {len(body) // 2} of {len(body)} bytes")

    async def _hold(self, receive: Receive) -> None:
        """Wait ``slow_seconds``, or less if the client gives up first (its slot is then freed)."""
        async with anyio.create_task_group() as group:

            async def until_client_leaves() -> None:
                await asgi.wait_for_disconnect(receive)
                group.cancel_scope.cancel()

            group.start_soon(until_client_leaves)
            await anyio.sleep(self.config.slow_seconds)
            group.cancel_scope.cancel()

    def _record(self, outcome: Outcome) -> None:
        self.funds.charge(outcome.hold, outcome.cost)
        self._calls_answered += 1
        if self.ledger is None:
            return
        self.ledger.record(
            monotonic=self.clock(),
            endpoint=outcome.endpoint,
            tag=outcome.tag,
            targets=outcome.targets,
            http_status=outcome.http_status,
            envelope_code=outcome.envelope_code,
            task_codes=outcome.task_codes,
            fault=outcome.fault,
            cost=outcome.cost,
            charged_targets=outcome.charged_targets,
        )


def create_app(
    config: EmulatorConfig,
    ledger: Ledger | None = None,
    *,
    clock: Clock = time.monotonic,
    today: Today = utc_today,
) -> ASGIApp:
    """The emulator as an ASGI 3 app. ``clock`` drives the limits and the ledger's times and
    ``today`` the ``date_from`` check; both are injectable for tests."""
    return EmulatorApp(config, ledger, clock, today)
