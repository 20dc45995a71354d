"""Build the Cython waterfall kernel; everything else lives in pyproject.toml.

Set ``ABS_ENGINE_DEBUG=1`` when building to turn bounds checks, wraparound and
division-by-zero checks back on in the kernel (slower; for debugging only).

The SHA-256 of ``_waterfall.pyx`` is compiled into the kernel (the C macro
``ABS_ENGINE_PYX_SHA256``, read as ``abs_engine._waterfall.SOURCE_SHA256``), so that a build
older than its source is refused (abs_engine/engine.py) instead of silently running
yesterday's semantics; nothing is generated into the source tree but the ignored ``.c``.
"""

import hashlib
import os
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("ABS_ENGINE_DEBUG", "") not in ("", "0")

directives = {
    "language_level": "3",
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "cdivision": not DEBUG,
    "initializedcheck": DEBUG,
    "nonecheck": DEBUG,
}

PYX = "abs_engine/_waterfall.pyx"
PYX_SHA256 = hashlib.sha256((Path(__file__).resolve().parent / PYX).read_bytes()).hexdigest()

extensions = [
    Extension(
        "abs_engine._waterfall",
        [PYX],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                       ("ABS_ENGINE_PYX_SHA256", f'"{PYX_SHA256}"')],
        # Plain IEEE arithmetic: no -ffast-math, no FMA contraction, so the kernel
        # agrees with the pure-Python reference twin.
        extra_compile_args=["-O2", "-ffp-contract=off"],
    )
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
