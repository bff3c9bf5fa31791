"""The package as pip builds it: every module and prompt inside, the `veilleur` command, dependencies matching the
lock, and the installed layout running `once --dry-run` with its prompts found.

The wheel is built (about 3 s) from a copy of what pyproject.toml declares, so the test leaves no build/ folder
in the checkout and fails if the package needs a file it does not ship. Installing it into a fresh venv (with its
dependencies) takes longer; the installed layout is exercised by unpacking the wheel instead.
"""

import os
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("pyproject.toml", "README.md", "LICENSE", "bot.py", "veilleur", "handlers", "watchers", "prompts")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in SHIPPED:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(origin, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(out)],
                   check=True, timeout=120)
    [built] = out.glob("veilleur-*.whl")
    return built


def test_the_wheel_holds_every_module_and_prompt(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"bot.py"}
    for package in ("veilleur", "handlers", "watchers"):
        expected |= {path.relative_to(ROOT).as_posix() for path in (ROOT / package).rglob("*.py")}
    expected |= {f"veilleur/prompts/{path.name}" for path in (ROOT / "prompts").iterdir() if path.is_file()}
    assert expected - names == set()
    assert not {name for name in names if name.startswith(("tests/", "bench/"))}
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)


def test_the_veilleur_command_is_bots_main_and_dependencies_match_the_lock(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    info = next(name.split("/")[0] for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
    entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert "veilleur = bot:main" in entry_points
    metadata = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
    declared = {Requirement(line).name: Requirement(line) for line in metadata.get_all("Requires-Dist")
                if "extra ==" not in line}
    pinned = [Requirement(line) for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert {requirement.name for requirement in pinned} == set(declared)
    for requirement in pinned:
        [pin] = requirement.specifier
        assert declared[requirement.name].specifier.contains(pin.version), requirement


def test_the_installed_layout_finds_its_prompts_and_runs_once(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    (tmp_path / "watchers.toml").write_text("")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SLACK_", "OPENAI_", "PROMPTS"))}
    # The unpacked wheel instead of the checkout: the working directory is not the repository either.
    env |= {"PYTHONPATH": str(site), "WATCHERS_FILE": str(tmp_path / "watchers.toml"),
            "DATABASE_PATH": str(tmp_path / "veilleur.db"), "LOG_LEVEL": "WARNING"}
    script = ("import sys, bot; from veilleur.assist.prompt_book import PromptBook, DEFAULT_DIR;"
              " PromptBook().template('digest'); print(DEFAULT_DIR); sys.argv[0] = 'veilleur'; sys.exit(bot.main())")
    run = subprocess.run([sys.executable, "-c", script, "once", "--dry-run"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == str(site / "veilleur" / "prompts")
