"""The ``abs-engine`` command line (the last stage of docs/architecture.md): the shared
app and error reporting (``common.py``), the deal commands (``main.py``: validate, schema,
run), the studies (``studies.py``: sweep, breakeven, simulate; ``structuring.py``), the
seasoned-deal commands (``status.py``) and the static-pool analysis (``staticpool.py``)."""

from .common import app
from .main import main

__all__ = ["app", "main"]
