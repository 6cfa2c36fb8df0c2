"""Promises of README.md and docs/*.md, each with a test that fails when it is broken.

docs/testing.md lists every promise and the tests that hold it. Tests here go through the public
API (``BulkClient``, ``result``, ``result.failed``, ``result.stats``, the hooks) or the CLI, with
the API mocked by respx on looptime's fake clock, or the emulator over loopback.
"""
