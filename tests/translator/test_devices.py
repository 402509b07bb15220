"""The device rules: which hardware has native bf16, and what `auto` resolves to."""

from __future__ import annotations

import pytest
import torch

from translator import devices


@pytest.mark.parametrize(
    ("capability", "flags", "native"),
    [
        ("AVX2", (False, False), False),  # AMD Zen 1-3, Intel before Cooper Lake: bf16 is emulated
        ("AVX512", (False, False), False),  # Skylake-X, Ice Lake: AVX-512 without its bf16 instructions
        ("AVX512", (True, False), True),  # Cooper Lake, Zen 4: AVX512-BF16
        ("AVX512", (False, True), True),  # AMX tiles (Sapphire Rapids and later)
        ("AVX2", (True, True), False),  # ATEN_CPU_CAPABILITY=avx2 lowers what torch dispatches to
        ("DEFAULT", (False, False), False),
    ],
)
def test_cpu_bf16_is_native_only_with_avx512_bf16_or_amx(
    capability: str, flags: tuple[bool, bool], native: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    assert devices.cpu_bf16(capability, flags) is native


@pytest.mark.parametrize(("isa", "native"), [("AVX2", False), ("AVX512_CORE", False), ("AVX512_CORE_AMX", True)])
def test_onednn_isa_cap_is_respected(isa: str, native: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """ONEDNN_MAX_CPU_ISA=AVX2 makes oneDNN emulate bf16 even on an AMX machine: the rule must follow it."""
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", isa)
    assert devices.cpu_bf16("AVX512", (True, True)) is native


def test_native_bf16_on_the_cpu_asks_the_cpu_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "_cpu_flags", lambda: (False, False))
    assert not devices.native_bf16(torch.device("cpu"))
    monkeypatch.setattr(devices, "_cpu_flags", lambda: (True, True))
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    assert devices.native_bf16(torch.device("cpu"))


def test_resolve_auto_falls_back_to_the_cpu_and_a_missing_gpu_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert devices.resolve("auto") == torch.device("cpu")
    assert devices.resolve("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        devices.resolve("cuda")


def test_describe_names_the_cpu_and_its_capability() -> None:
    line = devices.describe()
    assert devices.cpu_name() in line
    assert torch.backends.cpu.get_cpu_capability() in line
    assert "bf16" in line and "threads" in line
