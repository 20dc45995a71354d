"""Memory-bandwidth probe: how fast can anything move the kernel benchmark's bytes?

    python benchmarks/bandwidth.py          # JSON on stdout (progress on stderr)
    python benchmarks/bandwidth.py --quick  # small sizes (figures not comparable)

Builds benchmarks/c_baseline/bandwidth.c (the C baseline's flags) and measures, on one core,
best of N after a warm-up, with every buffer allocated and its pages touched beforehand:

* ``store_gb_s``, ``store_nt_gb_s``, ``load_gb_s``, ``add_gb_s``: STREAM-like loops over a
  buffer as large as the benchmark's outputs (plain stores, non-temporal stores, loads,
  ``+= 1.0``), in bytes of the buffer per second (a plain store also reads each line for
  ownership: the bus moves about twice the bytes counted);
* ``traffic_ms``: only the memory traffic of the waterfall benchmark
  (benchmarks/run.py, 5 tranches x 120 periods x 10,000 scenarios): read every input row
  and write every output row of every scenario-period, in the kernel's order, into the
  very arrays the benchmark allocates (zeroed between runs, as there), and no waterfall.
  It is a floor for the kernel and the C loop alike; ``traffic_ceiling_steps_per_s`` is
  the period-tranche steps per second that floor allows;
* ``traffic_stream_ms``: the same bytes, but each array read or written in one sequential
  pass, and its ceiling ``traffic_stream_ceiling_steps_per_s``;
* ``traffic_staged_nt_ms``: the traffic of ``traffic_ms`` with each scenario's output rows
  staged in cache and then written to memory with non-temporal stores (no read for
  ownership): what reordering the kernel's writes could at best achieve, and its ceiling
  ``traffic_staged_nt_ceiling_steps_per_s``;
* ``in_cache_kernel_ms``, ``in_cache_c_ms``: the kernel and the C loop with their memory
  traffic mostly taken away: 100 runs on a bundle of a hundredth of the scenarios (100 of
  the 10,000), whose arrays stay in cache (outputs zeroed before each run; the zeroing is
  timed alone and subtracted), so as many scenario-periods as the benchmark. Their
  compute, to set against ``traffic_ms``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import ctypes  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synthetic  # noqa: E402
from run import C_FLAGS, best_of, build_c, c_args, log, machine, zero_outputs  # noqa: E402

from abs_engine import _waterfall  # noqa: E402
from abs_engine.waterfall.program import KernelArgs  # noqa: E402

# the inputs the kernel reads per scenario-period (row st = s * T + t)
PER_PERIOD_INPUTS = ("rate", "coll", "pool_start", "pool_end", "ext")

_D = ctypes.POINTER(ctypes.c_double)
_I = ctypes.POINTER(ctypes.c_int)


def build() -> ctypes.CDLL:
    out = HERE / "_build"
    out.mkdir(exist_ok=True)
    lib = out / "bandwidth_c.so"
    subprocess.run(["cc", *C_FLAGS, "-o", str(lib), str(HERE / "c_baseline" / "bandwidth.c")], check=True)
    dll = ctypes.CDLL(str(lib))
    for name in ("store", "add"):
        getattr(dll, name).argtypes = [_D, ctypes.c_long]
        getattr(dll, name).restype = None
    dll.store_nt.argtypes = [_D, ctypes.c_long]
    dll.store_nt.restype = ctypes.c_int
    dll.load.argtypes = [_D, ctypes.c_long]
    dll.load.restype = ctypes.c_double
    dll.traffic.restype = ctypes.c_double
    dll.traffic_stream.restype = ctypes.c_double
    dll.traffic_staged_nt.restype = ctypes.c_double
    return dll


def _ptrs(arrays: list[np.ndarray], ctype: type) -> ctypes.Array:
    return (ctypes.POINTER(ctype) * len(arrays))(*[x.ctypes.data_as(ctypes.POINTER(ctype)) for x in arrays])


def _widths(arrays: list[np.ndarray], n_st: int) -> ctypes.Array:
    return (ctypes.c_int * len(arrays))(*[x.size // n_st for x in arrays])


def _sizes(arrays: list[np.ndarray]) -> ctypes.Array:
    return (ctypes.c_long * len(arrays))(*[x.size for x in arrays])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeat", type=int, default=7)
    ns = p.parse_args(argv)
    S, T = (10_000, 120) if not ns.quick else (500, 120)
    repeat = ns.repeat if not ns.quick else 2
    dll = build()

    args = synthetic.waterfall_args(S=S, T=T)
    n_st = S * T
    ins = [np.ascontiguousarray(getattr(args, n)).reshape(-1) for n in PER_PERIOD_INPUTS]
    outs_d = [getattr(args, n) for n in KernelArgs.OUTPUTS if getattr(args, n).dtype == np.float64]
    outs_i = [getattr(args, n) for n in KernelArgs.OUTPUTS if getattr(args, n).dtype == np.int32]
    in_bytes = sum(x.nbytes for x in ins) / n_st
    out_bytes = (sum(x.nbytes for x in outs_d) + sum(x.nbytes for x in outs_i)) / n_st
    targs = (ctypes.c_long(n_st), len(ins), _ptrs(ins, ctypes.c_double), _widths(ins, n_st),
             len(outs_d), _ptrs(outs_d, ctypes.c_double), _widths(outs_d, n_st),
             len(outs_i), _ptrs(outs_i, ctypes.c_int), _widths(outs_i, n_st))

    sargs = (len(ins), _ptrs(ins, ctypes.c_double), _sizes(ins), len(outs_d), _ptrs(outs_d, ctypes.c_double),
             _sizes(outs_d), len(outs_i), _ptrs(outs_i, ctypes.c_int), _sizes(outs_i))

    log(f"timing the benchmark's traffic only, in the kernel's order and array by array (best of {repeat})")
    t_traffic = best_of(lambda: dll.traffic(*targs), repeat, setup=lambda: zero_outputs(args))
    t_stream = best_of(lambda: dll.traffic_stream(*sargs), repeat, setup=lambda: zero_outputs(args))
    stage = np.zeros(T * sum(x.size // n_st for x in outs_d))
    nargs = (ctypes.c_long(S), ctypes.c_long(T), *targs[1:7], *targs[7:], stage.ctypes.data_as(_D))
    t_staged = best_of(lambda: dll.traffic_staged_nt(*nargs), repeat, setup=lambda: zero_outputs(args))

    n = int(out_bytes * n_st) // 8
    buf = np.ones(n)
    bp = buf.ctypes.data_as(_D)
    log(f"STREAM-like loops over {buf.nbytes / 1e6:.0f} MB (best of {repeat})")
    t_store = best_of(lambda: dll.store(bp, n), repeat)
    t_nt = best_of(lambda: dll.store_nt(bp, n), repeat)
    t_load = best_of(lambda: dll.load(bp, n), repeat)
    t_add = best_of(lambda: dll.add(bp, n), repeat)
    gb = buf.nbytes / 1e9
    steps = n_st * len(args.bal0)

    log(f"timing the kernel and the C loop in cache (best of {repeat})")
    small = synthetic.waterfall_args(S=S // 100, T=T)
    csmall = small.copy_inputs()
    cstruct = c_args(csmall)
    cdll = build_c()

    def rep(fn: object, bundle: KernelArgs) -> None:
        for _ in range(100):
            zero_outputs(bundle)
            fn()  # type: ignore[operator]

    t_zero = best_of(lambda: rep(lambda: None, small), repeat)
    t_k = best_of(lambda: rep(lambda: _waterfall.run(small), small), repeat) - t_zero
    t_c = best_of(lambda: rep(lambda: cdll.waterfall(ctypes.byref(cstruct)), csmall), repeat) - t_zero
    result = {
        "probe": "benchmarks/bandwidth.py", "quick": ns.quick, "machine": machine(),
        "buffer_mb": buf.nbytes / 1e6,
        "store_gb_s": gb / t_store,
        "store_nt_gb_s": gb / t_nt,
        "load_gb_s": gb / t_load,
        "add_gb_s": gb / t_add,
        "benchmark": {
            "scenario_periods": n_st,
            "input_bytes_per_scenario_period": in_bytes,
            "output_bytes_per_scenario_period": out_bytes,
            "output_arrays": len(outs_d) + len(outs_i),
            "output_mb": out_bytes * n_st / 1e6,
            "input_mb": in_bytes * n_st / 1e6,
        },
        "traffic_ms": t_traffic * 1e3,
        "traffic_ceiling_steps_per_s": steps / t_traffic,
        "traffic_stream_ms": t_stream * 1e3,
        "traffic_stream_ceiling_steps_per_s": steps / t_stream,
        "traffic_staged_nt_ms": t_staged * 1e3,
        "traffic_staged_nt_ceiling_steps_per_s": steps / t_staged,
        "store_bound_ms": out_bytes * n_st / 1e9 / (gb / t_store) * 1e3,
        "in_cache_kernel_ms": t_k * 1e3,
        "in_cache_c_ms": t_c * 1e3,
        "repeat": repeat,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
