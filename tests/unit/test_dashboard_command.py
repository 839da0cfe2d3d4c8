"""`stockcard dashboard`: the streamlit command line it runs, the environment it passes, and the
app's own Streamlit settings (usage statistics off, headless)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from pathlib import Path

from stockcard import dashboard

APP_DIR = Path(__file__).resolve().parents[2] / "streamlit_app"


def parsed(*argv: str) -> argparse.Namespace:
    root = argparse.ArgumentParser(prog="stockcard")
    commands = root.add_subparsers(dest="command", required=True)
    dashboard.add_command(commands)
    return root.parse_args(["dashboard", *argv])


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_the_command_runs_the_app_headless_without_usage_statistics():
    command = dashboard.command(parsed())
    assert command[:5] == [sys.executable, "-m", "streamlit", "run", str(dashboard.APP)]
    assert Path(command[4]) == APP_DIR / "streamlit_app.py"
    assert option(command, "--server.headless") == "true"
    assert option(command, "--browser.gatherUsageStats") == "false"
    assert option(command, "--server.port") == "8501"
    assert option(command, "--server.address") == "127.0.0.1"


def test_port_and_address_are_chosen_on_the_command_line():
    command = dashboard.command(parsed("--port", "9123", "--host", "0.0.0.0"))
    assert (option(command, "--server.port"), option(command, "--server.address")) == (
        "9123", "0.0.0.0",
    )  # fmt: skip


def test_the_warehouse_reaches_the_app_as_an_absolute_path(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = dashboard.environment(parsed("--warehouse", "data/w.duckdb"), base={"PATH": "/bin"})
    assert env["STOCKCARD_WAREHOUSE_PATH"] == str(tmp_path / "data" / "w.duckdb")
    assert env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"
    assert env["PATH"] == "/bin"


def test_without_a_warehouse_the_environment_decides():
    env = dashboard.environment(parsed(), base={"STOCKCARD_WAREHOUSE_PATH": "/srv/w.duckdb"})
    assert env["STOCKCARD_WAREHOUSE_PATH"] == "/srv/w.duckdb"
    assert "STOCKCARD_WAREHOUSE_PATH" not in dashboard.environment(parsed(), base={})


def test_the_apps_config_turns_usage_statistics_off_for_a_bare_streamlit_run():
    config = tomllib.loads((APP_DIR / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["headless"] is True


def test_streamlit_reads_the_apps_config():
    """Run from the app's folder, Streamlit itself reports the settings of that config file."""
    shown = subprocess.run(
        [sys.executable, "-m", "streamlit", "config", "show"],
        cwd=APP_DIR, capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(APP_DIR / ".no-home")},
    ).stdout  # fmt: skip
    origin = f"set in {APP_DIR / '.streamlit' / 'config.toml'}\nheadless = true"
    assert origin in shown
    assert "\ngatherUsageStats = false" in shown
