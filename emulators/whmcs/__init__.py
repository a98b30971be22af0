"""A local WHMCS for development, demos and contract tests.

    emulator = WhmcsEmulator("id", "secret", "127.0.0.1", port=0).start()
    client = WhmcsClient(emulator.url, "id", "secret")
    ...
    emulator.stop()

``serve()`` runs one until interrupted.
"""

from .server import API_PATH, CONTROL_PREFIX, Fault, WhmcsEmulator, serve
from .state import DEFAULT_PRODUCTS, ApiFailure, EmulatorState

__all__ = [
    "API_PATH",
    "CONTROL_PREFIX",
    "DEFAULT_PRODUCTS",
    "ApiFailure",
    "EmulatorState",
    "Fault",
    "WhmcsEmulator",
    "serve",
]
