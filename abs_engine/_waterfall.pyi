from .waterfall.program import KernelArgs

SOURCE_SHA256: str

def run(a: KernelArgs) -> int: ...
