"""The container deployment files, checked without a Docker engine.

`docker-compose.yml` and `Dockerfile` are only exercised for real by `docker
compose up`, which CI cannot run. These tests catch what usually breaks them
silently: a compose key the specification does not know, a flag or
environment variable the `nmt` CLI no longer has, a port or path that one file
changed and the other did not, and a Dockerfile that would pull a CUDA torch.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.validators
import pytest
import yaml

from nmt.cli import build_parser
from server.config import ENV_PREFIX, ServeConfig, from_args

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
# Vendored from compose-spec/compose-spec (see tests/data/README.md).
COMPOSE_SCHEMA = ROOT / "tests" / "data" / "compose-spec.json"

TORCH_PIN = "torch==2.13.0"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"

# Compose interpolation: ${NAME}, ${NAME:-default}, ${NAME-default}; `$$` is a literal `$`.
_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?-)?(?P<default>[^}]*)\}")


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def resolve_defaults(text: str) -> str:
    """Replace each `${VAR:-default}` with its default, as Compose does when VAR is unset.

    A variable without a default would be an empty string at deploy time,
    which no flag here accepts: that is reported as an error.
    """

    def default(match: re.Match[str]) -> str:
        if match.group("op") is None:
            raise AssertionError(f"${{{match.group('name')}}} has no default: give it one (${{VAR:-default}})")
        return match.group("default")

    return _INTERPOLATION.sub(default, text.replace("$$", "\0")).replace("\0", "$")


def as_argv(value: str | list[str] | None) -> list[str]:
    """A compose `command`/`entrypoint` as an argument list (a string is split like a shell would)."""
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def parse_nmt(argv: list[str]) -> argparse.Namespace:
    """Parse `nmt ARGS...` with the real CLI parser; a usage error fails the test with argparse's message."""
    assert argv and argv[0] == "nmt", f"expected an `nmt ...` command, got {argv}"
    try:
        return build_parser().parse_args(argv[1:])
    except SystemExit as e:  # argparse exits on unknown flags and bad values
        pytest.fail(f"`{shlex.join(argv)}` does not parse with nmt.cli.build_parser (exit {e.code})")


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's `environment` (mapping or KEY=VALUE list) with interpolations resolved to their defaults."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): resolve_defaults(str(v)) for k, v in env.items()}


def container_ports(service: dict[str, Any]) -> set[int]:
    """Container-side ports of `ports:` entries in short syntax: [HOST_IP:][HOST_PORT[-RANGE]:]CONTAINER_PORT."""
    return {int(str(p).rsplit(":", 1)[-1].split("/")[0]) for p in service.get("ports", [])}


def seconds(duration: str) -> float:
    """A compose duration such as `40s`, `1m30s` or `500ms`, in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"not a compose duration: {duration!r}"
    return sum(float(n) * units[u] for n, u in parts)


@dataclasses.dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    line: int  # 1-based line where it starts
    keyword: str
    args: str


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    """The instructions of a Dockerfile, in order (comments dropped, `\\` continuations joined)."""
    out: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # comment lines inside a continuation are dropped by Docker too
        if not pending:
            start = number
        pending.append(line.removesuffix("\\").strip())
        if not line.endswith("\\"):
            keyword, _, args = " ".join(p for p in pending if p).partition(" ")
            out.append(Instruction(start, keyword.upper(), args.strip()))
            pending = []
    assert not pending, f"{path.name}: unterminated continuation at line {start}"
    return out


def pip_installs(instructions: list[Instruction]) -> list[tuple[Instruction, list[str]]]:
    """Every `pip install ...` inside a RUN, with its arguments (up to the next `&&`/`;`)."""
    found = []
    for ins in instructions:
        if ins.keyword != "RUN":
            continue
        for command in re.split(r"&&|;", ins.args):
            words = shlex.split(command)
            for i in range(len(words) - 1):
                if words[i].endswith("pip") and words[i + 1] == "install":
                    found.append((ins, words[i + 2 :]))
                    break
    return found


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    data = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# --------------------------------------------------------------------------
# docker-compose.yml
# --------------------------------------------------------------------------


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any], schema: dict[str, Any]) -> None:
    """`docker compose` rejects unknown keys and wrong types (YAML's `no` is a bool, `restart` needs a string)."""
    validator_class = jsonschema.validators.validator_for(schema)
    # The vendored schema declares draft 2019-09; pick the class its $schema names, not a guess.
    assert validator_class.META_SCHEMA["$schema"].rstrip("#") == schema["$schema"].rstrip("#")
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)
    assert "version" not in compose, "the Compose Specification has no top-level `version:` (obsolete)"


def test_schema_is_not_vacuous(compose: dict[str, Any], schema: dict[str, Any]) -> None:
    """Guards the test above: the vendored schema must reject a misspelt service key."""
    broken = json.loads(json.dumps(compose))
    broken["services"]["server"]["helthcheck"] = broken["services"]["server"].pop("healthcheck")
    validator = jsonschema.validators.validator_for(schema)(schema)
    assert not validator.is_valid(broken)


def test_server_environment_names_real_serve_settings(compose: dict[str, Any]) -> None:
    """Every NMT_SERVE_X must be a ServeConfig field: a typo would be ignored silently at run time."""
    env = environment(compose["services"]["server"])
    fields = {f.name for f in dataclasses.fields(ServeConfig)}
    assert env, "the server is configured through NMT_SERVE_* variables"
    for key in env:
        assert key.startswith(ENV_PREFIX), f"{key}: the server only reads {ENV_PREFIX}* variables"
        assert key[len(ENV_PREFIX) :].lower() in fields, f"{key}: ServeConfig has no field of that name"


def test_server_environment_builds_a_config_that_fits_the_compose_file(compose: dict[str, Any]) -> None:
    """The variables must parse (ints are ints) and agree with the ports, health check and stop period."""
    server = compose["services"]["server"]
    cfg = from_args(argparse.Namespace(), environ=environment(server))
    assert cfg.host == "0.0.0.0", "published ports only reach a server listening on all interfaces"
    assert cfg.metrics_host in ("", "0.0.0.0")
    assert container_ports(server) == {cfg.port, cfg.metrics_port}
    assert any(target.endswith(f":{cfg.port}") for target in server["healthcheck"]["test"])
    assert seconds(server["stop_grace_period"]) > cfg.grace_seconds, "Docker would SIGKILL during the drain"
    volumes = {v.split(":")[1]: v for v in server["volumes"]}
    assert cfg.model_dir in volumes and volumes[cfg.model_dir].endswith(":ro")


def test_scaling_is_possible(compose: dict[str, Any]) -> None:
    """`--scale server=N` fails with a fixed container name or a single host port."""
    server = compose["services"]["server"]
    assert "container_name" not in server
    for port in server["ports"]:
        host_part = str(port).rsplit(":", 1)[0]
        assert re.search(r":?\d+-\d+$", host_part), f"{port}: publish a host port range, not one port"


def test_train_command_parses_with_the_real_cli(compose: dict[str, Any]) -> None:
    """Each `nmt ...` in the train service's `sh -c` script must be accepted by `nmt`'s own parser."""
    train = compose["services"]["train"]
    argv = as_argv(train.get("entrypoint")) + as_argv(train.get("command"))
    assert argv[:2] in (["sh", "-c"], ["/bin/sh", "-c"]) and len(argv) == 3, f"expected sh -c SCRIPT, got {argv}"
    parts = [shlex.split(part) for part in resolve_defaults(argv[2]).split("&&")]
    steps = [parse_nmt(p[1:] if p[0] == "exec" else p) for p in parts]  # exec: the shell hands over its PID

    assert [s.command for s in steps] == ["prepare", "prepare", "prepare", "train"]
    bible, stories, mix, train_args = steps
    assert bible.corpus == "bible" and bible.no_install, "the image has the modules; apt-get needs root"
    # the default recipe's corpus, built as configs/bible-stories.yaml says (3,000 stories beside the Bible)
    assert (stories.corpus, stories.docs, mix.corpus) == ("synthetic-stories", 3000, "mix")
    assert (mix.corpus_dir, mix.also) == (bible.out, [stories.out])
    assert not any(getattr(s, "old_data", None) for s in steps), "prepare's --data is deprecated: --corpus-dir"
    # train reads what prepare wrote (dev: the Bible's), with the config the image ships
    assert Path(train_args.train).parent == Path(mix.out) and Path(train_args.dev).parent == Path(bible.out)
    assert Path(train_args.config) == Path("configs/bible-stories.yaml") and (ROOT / train_args.config).is_file()
    assert train_args.resume, "a rerun must continue an interrupted run"
    assert train_args.max_minutes == 0.0  # ${TRAIN_MINUTES:-0}: the recipe's step count decides
    # the run lands directly in the server's model directory, so it is served as "bible-stories"
    server_env = environment(compose["services"]["server"])
    assert Path(train_args.out).parent == Path(server_env[ENV_PREFIX + "MODEL_DIR"])
    mounts = {v.split(":")[1] for v in train["volumes"]}
    assert {"/" + Path(mix.out).parts[1], "/" + Path(train_args.out).parts[1]} <= mounts


def test_healthcheck_parses_with_the_real_cli(compose: dict[str, Any]) -> None:
    """The health probe runs `nmt client health`; a renamed flag would mark every replica unhealthy."""
    test = compose["services"]["server"]["healthcheck"]["test"]
    assert test[0] == "CMD", "exec form: no shell needed in the container"
    args = parse_nmt(test[1:])
    assert args.command == "client" and args.action == "health"
    timeout = seconds(compose["services"]["server"]["healthcheck"]["timeout"])
    assert args.timeout < timeout, "the RPC deadline must end before Docker gives up on the probe"


def test_train_depends_and_restart_policies(compose: dict[str, Any]) -> None:
    """The server starts only after a successful training run; training is one-shot, serving is not."""
    services = compose["services"]
    assert services["server"]["depends_on"]["train"]["condition"] == "service_completed_successfully"
    assert services["train"]["restart"] == "no"
    assert services["server"]["restart"] == "unless-stopped"
    assert services["train"]["image"] == services["server"]["image"]
    assert set(compose["volumes"]) == {"data", "runs"}


# --------------------------------------------------------------------------
# Dockerfile
# --------------------------------------------------------------------------


def test_dockerfile_copies_only_paths_that_exist() -> None:
    """A COPY of a missing (or .dockerignore'd) path fails the build only at `docker build` time."""
    ignored = {line.strip().strip("/") for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()}
    copies = [i for i in dockerfile_instructions() if i.keyword in ("COPY", "ADD")]
    assert copies
    for ins in copies:
        words = [w for w in shlex.split(ins.args) if not w.startswith("--")]
        assert len(words) >= 2, f"Dockerfile:{ins.line}: COPY needs a source and a destination"
        for source in words[:-1]:
            assert (ROOT / source).exists(), f"Dockerfile:{ins.line}: {source} does not exist in the repository"
            assert Path(source).parts[0] not in ignored, f"Dockerfile:{ins.line}: {source} is in .dockerignore"


def test_dockerfile_copies_every_package_the_project_installs() -> None:
    """`pip install .` in the image finds only what was copied: a missing package breaks `nmt` at import."""
    include = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    packages = {pattern.rstrip("*") for pattern in include["find"]["include"]}
    copied = {
        Path(source).parts[0]
        for ins in dockerfile_instructions()
        if ins.keyword in ("COPY", "ADD")
        for source in [w for w in shlex.split(ins.args) if not w.startswith("--")][:-1]
    }
    assert packages <= copied, f"Dockerfile does not COPY {sorted(packages - copied)}"


def test_dockerfile_installs_cpu_torch_before_the_project() -> None:
    """Installing the project first would let pip resolve `torch==2.13.0` from PyPI: a CUDA build of several GB."""
    installs = pip_installs(dockerfile_instructions())
    torch_at = [i for i, (_, args) in enumerate(installs) if TORCH_PIN in args]
    project_at = [i for i, (_, args) in enumerate(installs) if "." in args]
    assert len(torch_at) == 1 and len(project_at) == 1, installs
    torch_args = installs[torch_at[0]][1]
    assert torch_args[torch_args.index("--index-url") + 1] == TORCH_CPU_INDEX
    assert torch_at[0] < project_at[0] and installs[torch_at[0]][0].line < installs[project_at[0]][0].line
    assert not {"-e", "--editable"} & set(installs[project_at[0]][1]), "the image installs the project, not a link"

    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    assert TORCH_PIN in dependencies, "the Dockerfile's torch pin must be the one pyproject.toml requires"


def test_dockerfile_runs_nmt_as_a_non_root_user() -> None:
    """The entrypoint is `nmt`, so compose commands are nmt subcommands; root is not needed to train or serve."""
    instructions = dockerfile_instructions()
    last = {i.keyword: i.args for i in instructions}
    assert instructions[0].keyword == "FROM" and instructions[0].args == "python:3.11-slim-bookworm"
    assert last["USER"] not in ("root", "0")
    assert json.loads(last["ENTRYPOINT"]) == ["nmt"]
    exposed = {int(p) for p in last["EXPOSE"].split()}
    assert exposed == {50051, 9464}
