"""Hot reload under traffic, and a broken checkpoint never taking a serving model down."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from server.gen import translator_pb2 as pb
from server.gen import translator_pb2_grpc as pb_grpc
from server.registry import ModelSpec
from tests.server.conftest import StartServer
from translator import checkpoint


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.05)


def test_model_spec_names() -> None:
    assert ModelSpec.parse("en-es=runs/bible") == ModelSpec("en-es", Path("runs/bible"))
    assert ModelSpec.parse("runs/bible").name == "bible"
    assert ModelSpec.parse("/x/model-3.pt").name == "model-3"
    with pytest.raises(ValueError, match="NAME"):
        ModelSpec.parse("name=")
    assert ModelSpec.parse("/models/en=es.pt") == ModelSpec("en=es", Path("/models/en=es.pt"))  # a path with "="


def test_model_dir_entries_may_hold_an_equals_sign(
    start_server: StartServer, trained_run: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(trained_run / "best.pt", models / "en=es.pt")
    server = start_server(model_dir=str(models))
    assert [(m.name, m.stamp.path) for m in server.registry.models()] == [("en=es", models / "en=es.pt")]


def test_a_checkpoint_with_an_absurd_config_never_takes_the_model_down(
    start_server: StartServer, trained_run: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A small file whose config asks for a 4 TiB embedding is refused from its config; the old model serves on."""
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(trained_run / "best.pt", models / "alpha.pt")
    server = start_server(model_dir=str(models), reload_interval=0.05)
    stub = pb_grpc.TranslatorStub(grpc.insecure_channel(f"127.0.0.1:{server.port}"))
    version = server.registry.get("alpha").version
    ckpt = checkpoint.load(models / "alpha.pt")
    ckpt.config = ckpt.config.override(["model.vocab_size=17179869184"])
    checkpoint.save(ckpt, models / "alpha.pt")
    failures = lambda: server.metrics.registry.get_sample_value("nmt_model_load_failures_total", {"model": "alpha"})  # noqa: E731
    wait_for(lambda: failures() == 1.0)
    reply = stub.Translate(pb.TranslateRequest(sentences=["look at that cow ."], model="alpha"), timeout=30)
    assert reply.translations[0].text.startswith("mira") and reply.model_version == version
    logged = [r.getMessage() for r in caplog.records if r.name == "server.registry"]
    refusal = [m for m in logged if "cannot load" in m]
    assert refusal and "alpha.pt: model.vocab_size = 17179869184 is outside" in refusal[-1]  # said why, built nothing


def test_hot_reload_under_traffic_loses_nothing_and_a_corrupt_checkpoint_changes_nothing(
    start_server: StartServer, trained_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "live"
    run.mkdir()
    shutil.copy(trained_run / "best.pt", run / "best.pt")
    server = start_server(model=[f"live={run}"], reload_interval=0.05)
    first = server.registry.get("live").version
    stub = pb_grpc.TranslatorStub(grpc.insecure_channel(f"127.0.0.1:{server.port}"))
    versions: list[str] = []
    errors: list[Exception] = []
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            try:
                reply = stub.Translate(pb.TranslateRequest(sentences=["look at that cow .", "it is very old ."]))
                assert len(reply.translations) == 2
                versions.append(reply.model_version)
            except Exception as e:
                errors.append(e)

    clients = [threading.Thread(target=traffic) for _ in range(4)]
    for c in clients:
        c.start()
    wait_for(lambda: len(versions) > 20)

    # A new checkpoint (same weights, later step) replaces the file atomically, as training does.
    ckpt = checkpoint.load(run)
    ckpt.trainer["step"] = 900
    checkpoint.save(ckpt, run / "best.pt")
    wait_for(lambda: server.registry.get("live").version != first)
    second = server.registry.get("live").version
    wait_for(lambda: versions[-1] == second)

    # A corrupt file (a crashed copy, a disk error) must leave the second version serving.
    failures = lambda: server.metrics.registry.get_sample_value("nmt_model_load_failures_total", {"model": "live"})  # noqa: E731
    broken = run / "broken.tmp"  # written aside, then renamed: a poll must never see it half-written
    broken.write_bytes(b"not a checkpoint")
    os.replace(broken, run / "best.pt")
    wait_for(lambda: failures() == 1.0)
    served_after = len(versions)
    wait_for(lambda: len(versions) > served_after + 20)
    stop.set()
    for c in clients:
        c.join()

    assert errors == []
    assert first in versions and second in versions
    assert server.registry.get("live").version == second and server.registry.get("live").step == 900
    assert set(versions[served_after:]) == {second}
    assert failures() == 1.0  # the same broken file is not retried on every poll
    info = server.metrics.registry.get_sample_value(
        "nmt_model_info", {"model": "live", "version": second, "step": "900", "checkpoint": str(run / "best.pt")}
    )
    assert info == 1.0


def test_model_dir_serves_each_entry_and_picks_up_new_ones(
    start_server: StartServer, trained_run: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    (models / "alpha").mkdir(parents=True)
    shutil.copy(trained_run / "best.pt", models / "alpha" / "best.pt")
    (models / "empty-run").mkdir()  # a training run that has no checkpoint yet is skipped, not fatal
    (models / "notes.txt").write_text("ignored")
    server = start_server(model_dir=str(models), reload_interval=0.05)
    assert [m.name for m in server.registry.models()] == ["alpha"] and server.registry.default == "alpha"
    shutil.copy(trained_run / "best.pt", models / "beta.pt")
    wait_for(lambda: [m.name for m in server.registry.models()] == ["alpha", "beta"])


def test_a_named_model_that_cannot_load_stops_startup(start_server: StartServer, tmp_path: Path) -> None:
    (tmp_path / "bad.pt").write_bytes(b"\x00" * 100)
    with pytest.raises(checkpoint.CheckpointError, match="cannot read checkpoint"):
        start_server(model=[str(tmp_path / "bad.pt")])
    with pytest.raises(checkpoint.CheckpointError, match="no such checkpoint"):
        start_server(model=[str(tmp_path / "missing")])
