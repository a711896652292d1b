"""The command line: help, usage errors, exit statuses."""

import pytest

from tests.conftest import run_cli


def test_top_level_help_lists_commands_and_exit_codes() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ("crawl", "demo", "extract", "exit status"):
        assert word in result.stdout


@pytest.mark.parametrize(("command", "options"), [
    ("crawl", ["--output", "--max-articles", "--since", "--depth", "--urls-file", "--config",
               "--site", "--text-files"]),
    ("demo", ["--output", "--max-articles", "--since", "--depth"]),
    ("extract", ["--url", "--format"]),
])
def test_subcommand_help_is_complete(command: str, options: list[str]) -> None:
    result = run_cli(command, "--help")
    assert result.returncode == 0
    for option in options:
        assert option in result.stdout


@pytest.mark.parametrize("args", [
    ["crawl"],
    ["crawl", "--since", "someday", "https://e.example/"],
    ["crawl", "--max-articles", "-3", "https://e.example/"],
    ["crawl", "--site", "x", "https://e.example/"],
    ["crawl", "--config", "a.toml", "https://e.example/"],
    ["crawl", "not a url"],
    ["nonsense"],
])
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert "error" in result.stderr


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("newsarchive ")
