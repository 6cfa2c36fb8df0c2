"""A faithful local stand-in for DataForSEO's bulk Backlinks endpoints (see docs/emulator.md).

Independent of the client package: it imports only the standard library, anyio, publicsuffixlist
(root domains), and (lazily) uvicorn for :func:`serve` / :func:`main` and httpx for
:func:`asgi_transport`.
"""

from __future__ import annotations

from .app import ConnectionDropped, EmulatorApp, create_app
from .asgi import ASGIApp
from .config import DEFAULT_LOGIN, DEFAULT_PASSWORD, EmulatorConfig
from .domains import host_of, root_domain
from .endpoints import ENDPOINTS, EndpointSpec, answer_order, answers_null, expected_item
from .envelope import API_VERSION, task_cost
from .faults import DEFAULT_FAULTS, FAULT_DESCRIPTIONS, FAULT_KINDS
from .ledger import CallRecord, Ledger
from .limits import InFlight, Limits, RateWindow
from .server import build_parser, config_from_args, main, serve
from .transport import asgi_transport
from .values import draw, expected_backlinks

__all__ = [
    "API_VERSION",
    "DEFAULT_FAULTS",
    "DEFAULT_LOGIN",
    "DEFAULT_PASSWORD",
    "ENDPOINTS",
    "FAULT_DESCRIPTIONS",
    "FAULT_KINDS",
    "ASGIApp",
    "CallRecord",
    "ConnectionDropped",
    "EmulatorApp",
    "EmulatorConfig",
    "EndpointSpec",
    "InFlight",
    "Ledger",
    "Limits",
    "RateWindow",
    "answer_order",
    "answers_null",
    "asgi_transport",
    "build_parser",
    "config_from_args",
    "create_app",
    "draw",
    "expected_backlinks",
    "expected_item",
    "host_of",
    "main",
    "root_domain",
    "serve",
    "task_cost",
]
