"""The ways to run Veilleur as a service (Dockerfile, compose.yaml, deploy/veilleur.service) agree with the code:
the command the tests run, the health endpoint, where the database lives. There is no Docker daemon where the
tests run: the image is not built here, its recipe is checked against what the rest of the tests prove."""

import configparser
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from veilleur.probe import HEALTH_PATH

ROOT = Path(__file__).resolve().parent.parent


def dockerfile() -> dict[str, list[str]]:
    """Each instruction of the Dockerfile (continuation lines joined), by keyword."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    instructions: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            instructions.setdefault(keyword.upper(), []).append(rest.strip())
    return instructions


def test_the_image_runs_the_console_script_as_a_user_with_the_database_on_a_volume() -> None:
    image = dockerfile()
    assert re.fullmatch(r"python:3\.1[1-9]-slim", image["FROM"][0])
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert image["ENTRYPOINT"] == ['["veilleur"]'] and "veilleur" in scripts  # tests/test_packaging.py runs it
    assert image["USER"] == ["veilleur"]
    env = " ".join(image["ENV"])
    assert "DATABASE_PATH=/data/veilleur.db" in env and image["VOLUME"] == ['["/data"]']
    port = re.search(r"HEALTH_PORT=(\d+)", env)
    assert port is not None and port[1] in image["EXPOSE"][0].split()
    assert HEALTH_PATH in image["HEALTHCHECK"][0] and "HEALTH_PORT" in image["HEALTHCHECK"][0]


def test_the_image_leaves_secrets_and_data_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", "data", ".venv", "privacy.key"} <= set(ignored)


def test_compose_keeps_the_database_on_a_named_volume_and_probes_health() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    service = compose["services"]["veilleur"]
    assert service["environment"]["DATABASE_PATH"].startswith("/data/")
    assert "veilleur-data:/data" in service["volumes"] and "veilleur-data" in compose["volumes"]
    assert service["environment"]["HEALTH_PORT"] == re.search(r"HEALTH_PORT=(\d+)", " ".join(dockerfile()["ENV"]))[1]
    assert service["env_file"] == ".env"


def test_the_systemd_unit_runs_bot_py_from_its_folder_and_verifies(tmp_path: Path) -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "deploy" / "veilleur.service")
    service = unit["Service"]
    folder = service["WorkingDirectory"]
    assert service["ExecStart"] == f"{folder}/.venv/bin/python bot.py"
    assert service["User"] != "root" and service["ReadWritePaths"] == f"{folder}/data"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    if shutil.which("systemd-analyze"):
        # systemd checks that the command exists: point the unit at this Python, as root, to verify the rest.
        local = (ROOT / "deploy" / "veilleur.service").read_text()
        local = local.replace(f"{folder}/.venv/bin/python", sys.executable).replace(folder, str(tmp_path))
        local = re.sub(r"^(User|Group)=.*$", r"\1=root", local, flags=re.MULTILINE)
        (tmp_path / "veilleur.service").write_text(local)
        verify = subprocess.run(
            ["systemd-analyze", "verify", str(tmp_path / "veilleur.service")], capture_output=True, text=True
        )
        assert verify.returncode == 0 and verify.stderr == "", verify.stderr
