"""Build the Cython waterfall kernel; everything else lives in pyproject.toml.

Set ``ABS_ENGINE_DEBUG=1`` when building to turn bounds checks, wraparound and
division-by-zero checks back on in the kernel (slower; for debugging only).
"""

import os

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

extensions = [
    Extension(
        "abs_engine._waterfall",
        ["abs_engine/_waterfall.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # Plain IEEE arithmetic: no -ffast-math, no FMA contraction, so the kernel
        # agrees with the pure-Python reference twin.
        extra_compile_args=["-O2", "-ffp-contract=off"],
    )
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
