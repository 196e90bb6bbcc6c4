"""``wsquake load`` builds Locust's command line; bad arguments exit 64 naming the flag."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from wsquake.load import cli
from wsquake.load.exceptions import LoadConfigError

URL = "ws://127.0.0.1:8002/glasses-ws"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    return parser.parse_args(["load", *argv])


def test_headless_run_passes_users_rate_and_glasses_flags_to_locust() -> None:
    argv = cli.locust_argv(parse("--host", URL, "-u", "10", "-r", "5", "-t", "30s",
                                 "--glasses-apps", "com.example.echo", "--history", "h.jsonl"))
    assert argv[1:5] == ["-m", "locust", "-f", cli.locustfile_path()]
    joined = " ".join(argv)
    assert "--headless" in argv and f"--host {URL}" in joined
    assert "--users 10 --spawn-rate 5.0 --run-time 30s" in joined
    assert "--glasses-apps com.example.echo" in joined and "--wsquake-history h.jsonl" in joined


def test_master_and_worker_command_lines() -> None:
    master = cli.locust_argv(parse("--master", "--expect-workers", "2", "--host", URL,
                                   "-u", "4", "-r", "4"))
    worker = cli.locust_argv(parse("--worker", "--master-host", "10.0.0.2"))
    assert "--master" in master and "--expect-workers" in master
    assert worker[-3:] == ["--worker", "--master-host", "10.0.0.2"]


def test_web_mode_drops_headless_and_passes_the_web_port() -> None:
    argv = cli.locust_argv(parse("--web", "--web-port", "8090", "--host", URL))
    assert "--headless" not in argv and "8090" in argv


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (("-u", "3", "-r", "1"), "--host"),
        (("--host", "http://x", "-u", "3", "-r", "1"), "--host"),
        (("--host", URL), "--users"),
        (("--worker",), "--master-host"),
        (("--worker", "--master-host", "h", "-u", "3"), "--users"),
        (("--master", "--worker", "--master-host", "h"), "--master/--worker"),
        (("--host", URL, "-u", "0", "-r", "1"), "--users"),
        (("--host", URL, "-u", "2", "-r", "0"), "--spawn-rate"),
        (("--host", URL, "-u", "2", "-r", "1", "--glasses-policy", "nokia"), "--glasses-policy"),
    ],
)
def test_bad_arguments_name_the_flag(argv: tuple[str, ...], flag: str) -> None:
    with pytest.raises(LoadConfigError) as info:
        cli.locust_argv(parse(*argv))
    assert info.value.key == flag


def test_the_command_exits_64_on_bad_arguments_and_prints_the_command() -> None:
    code = "import sys; from wsquake.load import cli as c; import argparse;" \
        "p = argparse.ArgumentParser(); c.add_parser(p.add_subparsers());" \
        "a = p.parse_args(sys.argv[1:]); sys.exit(a.handler(a))"
    bad = subprocess.run([sys.executable, "-c", code, "load", "--worker"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 64 and "--master-host" in bad.stderr
    ok = subprocess.run([sys.executable, "-c", code, "load", "--host", URL, "-u", "1", "-r", "1",
                         "--print-command"], capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and "-m locust" in ok.stdout


def test_importing_the_cli_does_not_import_locust() -> None:
    code = "import sys, wsquake.load.cli, wsquake.load.settings; sys.exit('locust' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=30).returncode == 0
