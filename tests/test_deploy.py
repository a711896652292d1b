"""Deployment assets under deploy/: every file parses, the scheduler settings that matter are
there, and every ``newsarchive`` command line in them (cron entries, systemd ExecStart,
Dockerfile CMD, compose commands, Kubernetes args) is accepted by the real CLI parser.

Fast and offline: nothing is run, built or fetched.
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from crawler.cli import build_parser
from crawler.config import load_sites
from pipelines.storage import parse_uri

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
CRON = DEPLOY / "cron" / "newsarchive.cron"
SERVICE = DEPLOY / "systemd" / "newsarchive-crawl@.service"
TIMER = DEPLOY / "systemd" / "newsarchive-crawl@.timer"
DOCKERFILE = DEPLOY / "container" / "Dockerfile"
DOCKERIGNORE = DEPLOY / "container" / "Dockerfile.dockerignore"
COMPOSE = DEPLOY / "container" / "compose.yaml"
K8S = DEPLOY / "k8s"

# Subcommands that deployment files may name before the CLI has them. Each use must be
# marked as coming later where it appears (compose: an ``x-pending`` field on the service).
# Remove an entry when its command lands: the use is then parsed like any other.
PENDING_COMMANDS: set[str] = set()

# Scrapy's network consoles: deployments must never turn them on.
CONSOLE_SETTINGS = ("TELNETCONSOLE_ENABLED", "REMOTE_CONTROL_ENABLED")
FALSE_WORDS = {"false", "0", "no", "off"}
# Environment variable names whose values are secrets.
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|ACCESS_KEY|CREDENTIAL", re.IGNORECASE)
SHELL_OPERATOR = frozenset("();<>|&")


# --- the CLI ------------------------------------------------------------------------------

def _subcommands() -> set[str]:
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    raise AssertionError("build_parser() has no subcommands")


def check_cli(argv: list[str], where: str, *, marked_pending: bool = False
              ) -> argparse.Namespace | None:
    """Parse ``newsarchive ARGV`` with the real parser; fail on anything it rejects.

    Returns the namespace, or None for ``--help``/``--version`` and pending subcommands.
    """
    assert argv, f"{where}: no arguments after newsarchive"
    if argv[0] not in _subcommands() and not argv[0].startswith("-"):
        assert argv[0] in PENDING_COMMANDS, f"{where}: unknown subcommand {argv[0]!r}"
        assert marked_pending, f"{where}: {argv[0]!r} is not marked as coming later"
        return None
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args, unknown = build_parser().parse_known_args(argv)
    except SystemExit as exc:
        if exc.code == 0 and argv in (["--help"], ["--version"]) and out.getvalue():
            return None
        pytest.fail(f"{where}: newsarchive {shlex.join(argv)} is rejected by the CLI: "
                    f"{err.getvalue().strip()}")
    assert unknown == [], f"{where}: options unknown to the CLI: {unknown}"
    for name, value in getattr(args, "settings", []):
        assert not (name in CONSOLE_SETTINGS and value.strip().lower() not in FALSE_WORDS), \
            f"{where}: -s {name}={value}: the telnet console / remote control stay off"
    if getattr(args, "output", None) and args.command != "wacz":
        parse_uri(args.output)  # a bad bucket name or URI raises StorageConfigError
    return args


def check_scheduled_crawl(args: argparse.Namespace | None, where: str) -> argparse.Namespace:
    """The scheduled form: ``crawl --config FILE -o OUTPUT --state DIR``."""
    assert args is not None and args.command == "crawl", f"{where}: not a crawl command"
    assert args.config, f"{where}: the scheduled form crawls a --config file"
    assert not args.urls and not args.urls_file, f"{where}: URLs and --config together"
    assert args.state, f"{where}: give --state explicitly (state and staging must persist)"
    return args


def shell_words(command: str) -> list[str]:
    """A shell command line split into words and operators (;, &&, ||, >>, ...)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def newsarchive_argvs(words: list[str]) -> Iterator[list[str]]:
    """The arguments of each ``newsarchive`` (or ``/path/to/newsarchive``) call in ``words``."""
    for i, word in enumerate(words):
        if Path(word).name != "newsarchive" or i + 1 == len(words):
            continue
        if set(words[i + 1]) <= SHELL_OPERATOR:
            continue
        argv: list[str] = []
        for j in range(i + 1, len(words)):
            token = words[j]
            if set(token) <= SHELL_OPERATOR:
                break
            following = words[j + 1] if j + 1 < len(words) else ""
            if token.isdigit() and following[:1] in {"<", ">"}:  # 2>&1, 2>>file
                break
            argv.append(token)
        yield argv


def test_parser_helpers_reject_what_the_cli_rejects(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(pytest.fail.Exception, match="rejected"):
        check_cli(["crawl", "--depth", "two"], "self-test")
    with pytest.raises(AssertionError, match="unknown to the CLI"):
        check_cli(["crawl", "--config", "x.toml", "--no-such-option"], "self-test")
    with pytest.raises(AssertionError, match="unknown subcommand"):
        check_cli(["serve"], "self-test")
    monkeypatch.setitem(globals(), "PENDING_COMMANDS", {"serve"})
    with pytest.raises(AssertionError, match="not marked"):
        check_cli(["serve", "--port", "80"], "self-test")
    assert check_cli(["serve"], "self-test", marked_pending=True) is None
    with pytest.raises(AssertionError, match="stay off"):
        check_cli(["crawl", "-s", "TELNETCONSOLE_ENABLED=True"], "self-test")
    words = shell_words("flock -n -E 5 /l /x/newsarchive crawl --config a -q >>log 2>&1; echo")
    assert list(newsarchive_argvs(words)) == [["crawl", "--config", "a", "-q"]]


# --- every file -------------------------------------------------------------------------

def deploy_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.is_file())


def test_expected_files_exist() -> None:
    for path in (DEPLOY / "README.md", CRON, SERVICE, TIMER, DOCKERFILE, DOCKERIGNORE, COMPOSE,
                 K8S / "cronjob.yaml", K8S / "pvc.yaml", K8S / "configmap.yaml",
                 K8S / "secret.example.yaml", K8S / "fleet-job.yaml"):
        assert path.is_file(), f"missing {path.relative_to(REPO)}"


def test_every_yaml_and_toml_file_parses() -> None:
    yaml_files = [p for p in deploy_files() if p.suffix in {".yaml", ".yml"}]
    assert len(yaml_files) >= 5
    for path in yaml_files:
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
        assert docs, f"{path}: no YAML document"
        assert all(isinstance(d, dict) for d in docs), f"{path}: a document is not a mapping"
    for path in (p for p in deploy_files() if p.suffix == ".toml"):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        if "sites" in data:
            assert load_sites(path)


def test_no_file_turns_on_the_telnet_console_or_remote_control() -> None:
    names = "|".join(CONSOLE_SETTINGS)
    pattern = re.compile(r"(" + names + r")\W{0,3}\s*[=:]\s*[\"']?([\w.-]*)")
    for path in deploy_files():
        text = path.read_text(encoding="utf-8")
        for match in pattern.finditer(text):
            assert match.group(2).lower() in FALSE_WORDS, \
                f"{path.relative_to(REPO)}: {match.group(0)!r}"


def test_no_file_turns_off_the_ssrf_guard_or_the_credential_protection() -> None:
    """EGRESS_ENABLED/REDACT_ENABLED stay on, WARC_KEEP_CREDENTIALS off, and no shipped
    file widens EGRESS_ALLOW (loopback and private networks stay refused)."""
    on = re.compile(r"(EGRESS_ENABLED|REDACT_ENABLED)\W{0,3}\s*[=:]\s*[\"']?([\w.-]*)")
    keep = re.compile(r"WARC_KEEP_CREDENTIALS\W{0,3}\s*[=:]\s*[\"']?([\w.-]*)")
    for path in deploy_files():
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(REPO)
        for match in on.finditer(text):
            assert match.group(2).lower() not in FALSE_WORDS, f"{where}: {match.group(0)!r}"
        for match in keep.finditer(text):
            assert match.group(1).lower() in FALSE_WORDS, f"{where}: {match.group(0)!r}"
        assert "EGRESS_ALLOW" not in text, where


def test_shipped_defaults_refuse_private_addresses() -> None:
    """The project settings, read without the tests' NEWSARCHIVE_EGRESS_ALLOW."""
    env = {k: v for k, v in os.environ.items() if k != "NEWSARCHIVE_EGRESS_ALLOW"}
    code = ("import json, crawler.settings as s; print(json.dumps([s.EGRESS_ENABLED, "
            "s.EGRESS_ALLOW, s.REDACT_ENABLED, s.WARC_KEEP_CREDENTIALS, "
            "s.TELNETCONSOLE_ENABLED, s.REMOTE_CONTROL_ENABLED, s.TWISTED_DNS_RESOLVER]))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True,
                            capture_output=True, text=True)
    assert json.loads(result.stdout) == [True, [], True, False, False, False,
                                         "crawler.egress.GuardedResolver"]


# --- cron -------------------------------------------------------------------------------

def cron_entries() -> list[tuple[list[str], str, str]]:
    """(schedule fields, user, command) of each entry of the system crontab file."""
    entries = []
    for raw in CRON.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or re.match(r"[A-Za-z_]\w*\s*=", line):
            continue
        if line.startswith("@"):
            schedule, user, command = line.split(None, 2)
            entries.append(([schedule], user, command))
        else:
            fields = line.split(None, 6)
            assert len(fields) == 7, f"cron: not 5 time fields, a user and a command: {line}"
            entries.append((fields[:5], fields[5], fields[6]))
    return entries


def test_cron_entries() -> None:
    entries = cron_entries()
    schedules = [" ".join(s) for s, _, _ in entries]
    assert "*/15 * * * *" in schedules
    assert any(re.fullmatch(r"\d+ \d+ \* \* \*", s) for s in schedules), "a daily entry"
    states = []
    for schedule, user, command in entries:
        where = f"cron {' '.join(schedule)}"
        for field in schedule:
            assert re.fullmatch(r"[\d*/,-]+|@\w+", field), f"{where}: bad time field {field!r}"
        assert user == "newsarchive", f"{where}: runs as the dedicated user"
        assert "%" not in command, f"{where}: cron turns % into a newline"
        assert not command.endswith("\\"), f"{where}: crontab lines do not continue"
        words = shell_words(command)
        argvs = list(newsarchive_argvs(words))
        assert len(argvs) == 1, f"{where}: one newsarchive call, found {argvs}"
        args = check_scheduled_crawl(check_cli(argvs[0], where), where)
        assert args.quiet, f"{where}: -q"
        states.append(args.state)
        assert ">>" in words, f"{where}: appends its log to a file"
        log = words[words.index(">>") + 1]
        assert log.startswith("/var/log/newsarchive/"), f"{where}: log file {log}"
        assert "flock" in words, f"{where}: flock -n as belt-and-braces"
        flock = words[words.index("flock"):]
        assert "-n" in flock and "-E" in flock and flock[flock.index("-E") + 1] == "5", \
            f"{where}: flock -n -E 5: a busy flock exits 5 like newsarchive's own lock"
        assert re.search(r"\. /etc/newsarchive/\S+\.env", command), \
            f"{where}: credentials from an env file, not the crontab"
    assert len(set(states)) == len(states), "each cron entry has its own --state"


def test_cron_file_has_no_credentials() -> None:
    for raw in CRON.read_text(encoding="utf-8").splitlines():
        name, sep, value = raw.lstrip("# ").partition("=")
        if sep and SECRET_NAME.search(name) and " " not in name:
            assert value in {"", "..."}, f"cron: {name} set in the file"


# --- systemd ----------------------------------------------------------------------------

class _MultiValues(dict):
    """configparser storage that keeps every value of a repeated key (systemd lists)."""

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(value, list) and isinstance(self.get(key), list):
            self[key].extend(value)
        else:
            super().__setitem__(key, value)


def read_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file as {section: {key: [values, in order]}}."""
    parser = configparser.RawConfigParser(
        strict=False, dict_type=_MultiValues, delimiters=("=",), interpolation=None,
        comment_prefixes=("#", ";"), empty_lines_in_values=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    parser.read_string(text, source=str(path))
    return {section: {key: value.split("\n") for key, value in parser.items(section)}
            for section in parser.sections()}


def one(unit: dict[str, dict[str, list[str]]], section: str, key: str) -> str:
    values = unit.get(section, {}).get(key)
    assert values, f"[{section}] {key}= is missing"
    return values[-1]


def expand(value: str, instance: str, env: dict[str, str]) -> str:
    value = value.replace("%i", instance).replace("%I", instance).replace("%%", "%")
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env[m.group(1) or m.group(2)], value)


def test_systemd_service() -> None:
    unit = read_unit(SERVICE)
    service = unit["Service"]
    assert one(unit, "Service", "Type") == "oneshot"
    assert one(unit, "Service", "User") not in {"", "root", "0"}
    assert one(unit, "Service", "StateDirectory") == "newsarchive/%i"
    assert "-/etc/newsarchive/%i.env" in service["EnvironmentFile"]
    assert one(unit, "Service", "KillSignal") == "SIGTERM"
    assert one(unit, "Service", "TimeoutStopSec")
    assert "6" in " ".join(service["SuccessExitStatus"]).split(), "warnings are not failures"
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict",
                       "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
                       "CapabilityBoundingSet": ""}.items():
        assert one(unit, "Service", key) == value, f"{key}={value}"
    assert "@system-service" in service["SystemCallFilter"]
    families = one(unit, "Service", "RestrictAddressFamilies").split()
    assert set(families) <= {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}
    assert {"AF_INET", "AF_INET6"} <= set(families)

    env: dict[str, str] = {}
    for line in service.get("Environment", []):
        for assignment in shlex.split(line):
            name, _, value = assignment.partition("=")
            env[name] = expand(value, "sites", {})
    exec_start = service["ExecStart"]
    assert len(exec_start) == 1
    argv = shlex.split(expand(exec_start[0].lstrip("-@:+!"), "sites", env))
    assert Path(argv[0]).name == "newsarchive" and Path(argv[0]).is_absolute()
    args = check_scheduled_crawl(check_cli(argv[1:], "systemd ExecStart"), "systemd ExecStart")
    assert args.config == "/etc/newsarchive/sites.toml", "the instance name is the config name"
    assert args.state == "/var/lib/newsarchive/sites", "--state is the StateDirectory"
    assert args.quiet
    writable = [p.lstrip("-") for line in service["ReadWritePaths"] for p in line.split()]
    output = parse_uri(args.output)
    assert output.path is not None, "the unit's default output is a local directory"
    assert any(str(output.path).startswith(p.rstrip("/") + "/") for p in writable), \
        f"the default output {output.path} is under ReadWritePaths= {writable}"


def test_systemd_timer() -> None:
    unit = read_unit(TIMER)
    assert one(unit, "Timer", "OnCalendar") == "*:0/15"
    assert one(unit, "Timer", "RandomizedDelaySec")
    assert one(unit, "Timer", "Persistent") in {"true", "yes"}
    assert one(unit, "Timer", "Unit") == "newsarchive-crawl@%i.service"
    assert SERVICE.name == "newsarchive-crawl@.service"
    assert one(unit, "Install", "WantedBy") == "timers.target"


# --- container --------------------------------------------------------------------------

def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    instructions = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile() -> None:
    instructions = dockerfile_instructions()
    keywords = [k for k, _ in instructions]
    values: dict[str, list[str]] = {}
    for keyword, rest in instructions:
        values.setdefault(keyword, []).append(rest)
    assert values["FROM"] == ["python:3.11-slim"]
    user = values["USER"][-1]
    assert user.split(":")[0] not in {"root", "0"}, "runs as non-root"
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")
    assert any("pip install --no-cache-dir ." in run for run in values["RUN"])
    assert "/state" in json.loads(values["VOLUME"][-1])
    assert json.loads(values["ENTRYPOINT"][-1]) == ["newsarchive"]
    cmd = json.loads(values["CMD"][-1])
    assert cmd == ["--help"]
    check_cli(cmd, "Dockerfile CMD")

    # The build context is the repository root: every COPY source exists there, the ignore
    # file lets it through, and together they are what `pip install .` needs.
    kept = {line[1:].strip("/") for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
            if line.startswith("!")}
    assert "*" in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    copied: set[str] = set()
    for rest in values["COPY"]:
        sources = shlex.split(rest)[:-1]
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository root"
            assert source.strip("/") in kept, f"COPY {source}: excluded by {DOCKERIGNORE.name}"
            copied.add(source.strip("/"))
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    needed = {"pyproject.toml", project["project"]["readme"],
              *project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]}
    assert needed <= copied, f"not copied into the image: {needed - copied}"


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _uses_our_image(service: dict[str, Any]) -> bool:
    return "build" in service or str(service.get("image", "")).startswith("newsarchive")


def test_compose_services() -> None:
    data = compose()
    services = data["services"]
    assert {"crawler", "redis", "worker"} <= set(services)
    stores = [n for n, s in services.items()
              if re.search(r"seaweedfs|minio", str(s.get("image", "")))]
    assert len(stores) == 1, "one S3-compatible store"
    store = stores[0]

    crawler = services["crawler"]
    build = crawler["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    assert context == REPO, "the build context is the repository root"
    assert (context / build["dockerfile"]).resolve() == DOCKERFILE
    argv = crawler["command"]
    assert isinstance(argv, list), "exec form"
    args = check_scheduled_crawl(check_cli(argv, "compose crawler"), "compose crawler")
    assert (args.config, args.output, args.state) == (
        "/config/sites.toml", "s3://news-archive/prod", "/state")
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in crawler["volumes"]}
    assert mounts["/state"] in data["volumes"], "state on a named volume"
    assert (COMPOSE.parent / mounts["/config/sites.toml"]).resolve() == \
        REPO / "sites.example.toml"
    assert crawler.get("stop_signal", "SIGTERM") == "SIGTERM"
    assert crawler.get("restart") == "no"

    # the bucket exists before the crawler starts
    inits = [n for n, c in crawler["depends_on"].items()
             if c.get("condition") == "service_completed_successfully"]
    assert len(inits) == 1
    init = services[inits[0]]
    script = "\n".join(init["command"])
    compile(script, "s3-init", "exec")
    assert f'Bucket="{parse_uri(args.output).bucket}"' in script
    assert store in init["depends_on"]
    endpoint = crawler["environment"]["AWS_ENDPOINT_URL_S3"]
    assert re.fullmatch(rf"http://{store}:\d+", endpoint)

    assert str(services["redis"]["image"]).startswith("redis:7")
    # distributed: a seeder and workers (--scale worker=N) on the same sites and output
    fleet = {}
    for name, command in (("seeder", "crawl"), ("worker", "worker")):
        service = services[name]
        assert "x-pending" not in service
        assert service["profiles"] == ["distributed"]
        assert "redis" in service["depends_on"]
        assert "container_name" not in service, "a fixed name would block --scale"
        fleet[name] = check_cli(service["command"], f"compose {name}")
        assert fleet[name] is not None and fleet[name].command == command
        assert fleet[name].redis == "redis://redis:6379/0"
        assert (fleet[name].config, fleet[name].output) == (args.config, args.output)
        assert fleet[name].worker_id is None, "the container's host name tells workers apart"


def test_compose_commands_parse_and_references_resolve() -> None:
    data = compose()
    services = data["services"]
    checked = 0
    for name, service in services.items():
        for target in service.get("depends_on", []):
            assert target in services, f"compose {name}: depends on unknown {target}"
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in data.get("volumes", {}), f"compose {name}: volume {source}"
        if _uses_our_image(service) and "entrypoint" not in service:
            command = service.get("command", ["--help"])
            assert isinstance(command, list), f"compose {name}: exec-form command"
            check_cli(command, f"compose {name}", marked_pending="x-pending" in service)
            checked += 1
    assert checked >= 2


def test_compose_credentials_are_local_placeholders() -> None:
    for name, service in compose()["services"].items():
        environment = service.get("environment", {})
        assert isinstance(environment, dict), f"compose {name}: environment as a mapping"
        for key, value in environment.items():
            if SECRET_NAME.search(key):
                assert "local-only" in str(value), \
                    f"compose {name}: {key} must be a marked local-testing placeholder"


# --- Kubernetes -------------------------------------------------------------------------

def k8s_docs() -> dict[tuple[str, str], tuple[Path, dict[str, Any]]]:
    docs = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                docs[(doc["kind"], doc["metadata"]["name"])] = (path, doc)
    return docs


def only(docs: dict[tuple[str, str], tuple[Path, dict[str, Any]]], kind: str
         ) -> tuple[str, dict[str, Any]]:
    found = [(name, doc) for (k, name), (_, doc) in docs.items() if k == kind]
    assert len(found) == 1, f"one {kind} in deploy/k8s, found {len(found)}"
    return found[0]


# Field names as Kubernetes spells them, for the objects used here: a typo is silently
# ignored by some tools, so catch it here.
KNOWN_FIELDS = {
    "cronjob.spec": {"schedule", "timeZone", "concurrencyPolicy", "startingDeadlineSeconds",
                     "successfulJobsHistoryLimit", "failedJobsHistoryLimit", "suspend",
                     "jobTemplate"},
    "job.spec": {"backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished",
                 "template", "podFailurePolicy", "completions", "parallelism"},
    "pod.spec": {"restartPolicy", "terminationGracePeriodSeconds", "serviceAccountName",
                 "automountServiceAccountToken", "enableServiceLinks", "securityContext",
                 "containers", "volumes", "nodeSelector", "tolerations", "affinity",
                 "imagePullSecrets"},
    "container": {"name", "image", "imagePullPolicy", "command", "args", "env", "envFrom",
                  "securityContext", "resources", "volumeMounts", "workingDir"},
    "pod.securityContext": {"runAsNonRoot", "runAsUser", "runAsGroup", "fsGroup",
                            "fsGroupChangePolicy", "seccompProfile", "supplementalGroups"},
    "container.securityContext": {"allowPrivilegeEscalation", "readOnlyRootFilesystem",
                                  "capabilities", "runAsNonRoot", "runAsUser", "runAsGroup",
                                  "privileged", "seccompProfile"},
}


def test_k8s_cronjob() -> None:
    docs = k8s_docs()
    name, cronjob = only(docs, "CronJob")
    assert docs[("CronJob", name)][0].name == "cronjob.yaml"
    assert cronjob["apiVersion"] == "batch/v1"
    spec = cronjob["spec"]
    job = spec["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    (container,) = pod["containers"]
    for where, obj in {"cronjob.spec": spec, "job.spec": job, "pod.spec": pod,
                       "container": container,
                       "pod.securityContext": pod["securityContext"],
                       "container.securityContext": container["securityContext"]}.items():
        assert set(obj) <= KNOWN_FIELDS[where], f"{where}: {set(obj) - KNOWN_FIELDS[where]}"

    assert spec["concurrencyPolicy"] == "Forbid"
    assert len(spec["schedule"].split()) == 5
    for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit",
                "failedJobsHistoryLimit"):
        assert isinstance(spec[key], int) and spec[key] > 0, key
    assert job["backoffLimit"] == 0
    assert pod["restartPolicy"] == "Never"
    grace = pod["terminationGracePeriodSeconds"]
    assert isinstance(grace, int) and 60 <= grace < job["activeDeadlineSeconds"]

    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True
    image_user = dockerfile_instructions()
    uid = next(rest for k, rest in reversed(image_user) if k == "USER").split(":")[0]
    assert str(security["runAsUser"]) == uid, "the image's user"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert {"requests", "limits"} <= set(container["resources"])
    assert "memory" in container["resources"]["limits"]

    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]], "/tmp is an emptyDir"

    command = container.get("command", ["newsarchive"])
    assert [Path(c).name for c in command] == ["newsarchive"]
    args = check_scheduled_crawl(check_cli(container["args"], "k8s args"), "k8s args")

    config_dir = str(Path(args.config).parent)
    config_volume = volumes[mounts[config_dir]]
    config_name = config_volume["configMap"]["name"]
    assert ("ConfigMap", config_name) in docs, f"ConfigMap {config_name} in deploy/k8s"
    assert Path(args.config).name in docs[("ConfigMap", config_name)][1]["data"]

    state_volume = volumes[mounts[args.state]]
    claim = state_volume["persistentVolumeClaim"]["claimName"]
    assert ("PersistentVolumeClaim", claim) in docs, f"PVC {claim} in deploy/k8s"

    secret_refs = [e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e]
    assert secret_refs, "credentials from a Secret via envFrom"
    for ref in secret_refs:
        assert ("Secret", ref) in docs, f"Secret {ref} (secret.example.yaml)"
    text = docs[("CronJob", name)][0].read_text(encoding="utf-8")
    assert re.search(r"IRSA|[Ww]orkload [Ii]dentity", text), "a word on workload identity"


def test_k8s_fleet_job() -> None:
    """The distributed crawl: an Indexed Job whose pods all run ``crawl --redis`` (one
    seeds, the others join) with a worker id from the completion index."""
    docs = k8s_docs()
    name, job = only(docs, "Job")
    assert docs[("Job", name)][0].name == "fleet-job.yaml"
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["parallelism"] == spec["completions"] >= 2
    assert spec["backoffLimit"] == 0
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    for where, obj in {"job.spec": {k: v for k, v in spec.items() if k != "completionMode"},
                       "pod.spec": pod, "container": container,
                       "pod.securityContext": pod["securityContext"],
                       "container.securityContext": container["securityContext"]}.items():
        assert set(obj) <= KNOWN_FIELDS[where], f"{where}: {set(obj) - KNOWN_FIELDS[where]}"
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    args = check_cli(container["args"], "k8s fleet args")
    assert args is not None and args.command == "crawl"
    assert args.redis and args.redis.startswith("redis://")
    assert args.worker_id == "worker-$(JOB_COMPLETION_INDEX)"
    assert args.config and args.state
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    config_name = volumes[mounts[str(Path(args.config).parent)]]["configMap"]["name"]
    assert ("ConfigMap", config_name) in docs
    assert "emptyDir" in volumes[mounts[args.state]], "each pod's own staging"
    for ref in (e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e):
        assert ("Secret", ref) in docs


def test_k8s_no_secret_values_inline() -> None:
    docs = k8s_docs()
    for (kind, name), (path, doc) in docs.items():
        if kind == "Secret":
            assert path.name == "secret.example.yaml", f"Secret {name} outside the example"
            for key, value in {**doc.get("stringData", {}), **doc.get("data", {})}.items():
                assert str(value).startswith("REPLACE"), f"Secret {name}: {key} is a placeholder"
        if kind == "CronJob":
            pod = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            for container in pod["containers"]:
                for env in container.get("env", []):
                    if SECRET_NAME.search(env["name"]):
                        assert "value" not in env, f"CronJob {name}: {env['name']} inline"
                for argument in container.get("args", []) + container.get("command", []):
                    assert not re.search(r"AWS_SECRET|AWS_ACCESS_KEY", argument)


def test_k8s_pvc_and_configmap(tmp_path: Path) -> None:
    docs = k8s_docs()
    _, pvc = only(docs, "PersistentVolumeClaim")
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    size = pvc["spec"]["resources"]["requests"]["storage"]
    assert re.fullmatch(r"\d+Gi", size) and int(size[:-2]) > 20, \
        "room above the default ARCHIVE_DISK_BUDGET (20 GiB)"

    _, configmap = only(docs, "ConfigMap")
    text = configmap["data"]["sites.toml"]
    path = tmp_path / "sites.toml"
    path.write_text(text, encoding="utf-8")
    sites = load_sites(path)
    assert sites
    example = tomllib.loads((REPO / "sites.example.toml").read_text(encoding="utf-8"))
    assert tomllib.loads(text) == example, "the ConfigMap carries sites.example.toml"
