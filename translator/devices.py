"""Which device to run on, and what its arithmetic does natively.

The same recipe runs on very different machines: an Intel CPU with AMX does
bf16 matrix products at 2-3x its fp32 rate, an AVX2-only CPU (AMD Zen 1-3,
Intel before Cooper Lake) only emulates them, some 40x *slower* than fp32
(docs/benchmark.md, "Precision by CPU"). So nothing picks bf16 without asking
`native_bf16` first, and every speed figure names the CPU it was measured on
(`describe`).
"""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

import torch

# oneDNN's ISA cap (ONEDNN_MAX_CPU_ISA) names that still include native bf16 products.
_ONEDNN_BF16_ISAS = ("BF16", "AMX", "AVX10", "ALL")


def resolve(name: str = "auto") -> torch.device:
    """`auto`: the GPU when one is present, else the CPU; any other name as torch reads it.

    A CUDA device asked for by name where none is present is a clear error, not a crash later.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r}: no CUDA GPU is available here (use --device cpu or auto)")
    return device


def native_bf16(device: torch.device) -> bool:
    """Whether bf16 matrix products run in hardware on `device` (and are not emulated, slower than fp32)."""
    if device.type == "cuda":
        with torch.cuda.device(device):
            return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    if device.type == "cpu":
        return cpu_bf16()
    return False


def cpu_bf16(capability: str | None = None, flags: tuple[bool, bool] | None = None) -> bool:
    """Native bf16 on this CPU: AVX512-BF16 or AMX, with torch dispatching to its AVX-512 kernels.

    `capability` is `torch.backends.cpu.get_cpu_capability()` (ATEN_CPU_CAPABILITY lowers it) and
    `flags` (has AVX512-BF16, has AMX) what torch's cpuinfo reports; both are parameters so the rule
    is testable on any machine. oneDNN's own cap (ONEDNN_MAX_CPU_ISA) is respected too: with both set
    to AVX2, an AMX machine trains as an AVX2-only one does (that is how the AVX2 figures were measured).
    """
    capability = torch.backends.cpu.get_cpu_capability() if capability is None else capability
    avx512_bf16, amx = _cpu_flags() if flags is None else flags
    onednn_cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper()
    return (
        capability.upper().startswith(("AVX512", "AMX"))
        and (avx512_bf16 or amx)
        and any(isa in onednn_cap for isa in _ONEDNN_BF16_ISAS)
    )


def _cpu_flags() -> tuple[bool, bool]:
    """(AVX512-BF16, AMX tiles) as torch's cpuinfo reads them; both False where torch cannot tell."""
    cpu = torch.cpu
    avx512_bf16 = getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
    amx = getattr(cpu, "_is_amx_tile_supported", lambda: False)()
    return bool(avx512_bf16), bool(amx)


@functools.cache
def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux, else what `platform` says)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def describe(device: torch.device | None = None) -> str:
    """One line naming the hardware a figure was measured on: CPU model, torch capability, bf16, threads.

    For a GPU, its name and whether it has native bf16.
    """
    device = device or torch.device("cpu")
    if device.type == "cuda":
        bf16 = "native bf16" if native_bf16(device) else "no native bf16"
        return f"{torch.cuda.get_device_name(device)} ({bf16})"
    avx512_bf16, amx = _cpu_flags()
    extras = [name for name, has in (("AVX512-BF16", avx512_bf16), ("AMX", amx)) if has]
    bf16 = "native bf16" if cpu_bf16() else "bf16 emulated"
    return (
        f"{cpu_name()}, torch capability {torch.backends.cpu.get_cpu_capability()}"
        f"{' + ' + ' + '.join(extras) if extras else ''} ({bf16}), {torch.get_num_threads()} threads"
    )
