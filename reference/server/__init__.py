"""The reference DCC as an HTTP server (SPEC §5 Target Interface v1): `create_app` builds the
Starlette app; `python -m reference serve` runs it under uvicorn (see `cli.py`)."""
from .app import create_app

__all__ = ["create_app"]
