"""The waterfall stage (docs/architecture.md): the program layout both backends read
(``program.py``), the compiler that encodes a deal's waterfall into it (``compile.py``), and
the pure-Python reference twin (``reference.py``), the specification of the Cython kernel
``abs_engine/_waterfall.pyx``."""
