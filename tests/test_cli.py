"""The command line as a whole: its group, exit codes, --debug and its tables."""

import subprocess
import sys

import archbound
from archbound import cli, data
from conftest import bound_args, invoke

# ---------------------------------------------------------------------- general behaviour


def test_help_lists_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("experiment", "bound", "diagnose"):
        assert command in result.output
    assert "demo" not in result.output
    assert invoke("--version").output.strip().endswith(archbound.__version__)


def _run_module(*args) -> subprocess.CompletedProcess:
    """``python -m archbound ARGS`` in a child process, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "archbound", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_python_dash_m_and_exit_codes(tmp_path):
    ok = _run_module("--help")
    assert ok.returncode == 0 and "experiment" in ok.stdout
    missing = _run_module(*bound_args(tmp_path, model="none.npz", train="a.npz", test="b.npz"))
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0  # one line
    assert "none.npz: no such file" in missing.stderr
    assert "Traceback" not in missing.stderr
    usage = _run_module("bound")
    assert usage.returncode == 2 and "--model" in usage.stderr


def test_debug_shows_the_traceback(tmp_path):
    args = bound_args(tmp_path, model="none.npz", train="a.npz", test="b.npz")
    quiet = invoke(*args)
    assert quiet.exit_code == 2 and "Traceback" not in quiet.output
    for loud in (invoke("--debug", *args), invoke(*args, "--debug")):
        assert loud.exit_code == 2
        assert "Traceback" in loud.output and "DataError" in loud.output


def test_internal_errors_exit_1(tmp_path, monkeypatch):
    def broken(path):
        raise RuntimeError("something broke")

    monkeypatch.setattr(data, "load_model", broken)
    result = invoke(*bound_args(tmp_path, model="m.npz", train="a.npz", test="b.npz"))
    assert result.exit_code == 1
    assert "Internal error: RuntimeError: something broke" in result.output
    assert "--debug" in result.output and "Traceback" not in result.output
    assert (
        "Traceback"
        in invoke(
            "--debug",
            *bound_args(tmp_path, model="m.npz", train="a.npz", test="b.npz"),
        ).output
    )


def test_format_table():
    table = cli.format_table(["a", "long header"], [["1", "2"], ["333", "4"]])
    lines = table.splitlines()
    assert len(lines) == 4 and len({len(line) for line in lines}) == 1
