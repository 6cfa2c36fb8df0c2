"""Tests of the dataforseo-bulk command, run as a subprocess against the emulator."""
