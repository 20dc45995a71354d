"""``python -m abs_engine.cli``."""

from .main import main

main()
