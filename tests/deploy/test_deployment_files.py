"""The Dockerfile, docker-compose.yaml and requirements, checked by reading them: Docker is not available
where this project is built, so these tests are what keeps the deployment files honest."""

from __future__ import annotations

import fnmatch
import re
import shlex
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from tests.project import PROJECT

AIRFLOW_COMMANDS = ("api-server", "scheduler", "dag-processor", "triggerer")
PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!_-]+$")
VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def requirement_lines(name: str) -> list[str]:
    lines = (PROJECT / name).read_text(encoding="utf-8").splitlines()
    return [line.split(" #", 1)[0].strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def pinned_version(package: str) -> str:
    for line in requirement_lines("requirements.txt"):
        name, _, version = line.partition("==")
        if name.lower().replace("_", "-") == package:
            return version
    raise AssertionError(f"{package} is not pinned in requirements.txt")


@cache
def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = (PROJECT / "Dockerfile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            found.append((instruction.upper(), arguments.strip()))
    return found


def stages() -> list[tuple[str, list[tuple[str, str]]]]:
    """(name, instructions) of each stage of the Dockerfile, in order; the last one is the image."""
    found: list[tuple[str, list[tuple[str, str]]]] = []
    for instruction, arguments in dockerfile():
        if instruction == "FROM":
            words = arguments.split()
            found.append((words[2] if len(words) == 3 and words[1].upper() == "AS" else "", []))
        found[-1][1].append((instruction, arguments))
    return found


def copies(instructions: list[tuple[str, str]]) -> list[tuple[dict[str, str], list[str], str]]:
    """(flags such as ``from``, sources, destination) of each COPY of a stage."""
    found = []
    for instruction, arguments in instructions:
        if instruction == "COPY":
            words = shlex.split(arguments)
            flags = dict(w[2:].partition("=")[::2] for w in words if w.startswith("--"))
            paths = [w for w in words if not w.startswith("--")]
            found.append((flags, paths[:-1], paths[-1]))
    return found


def env_example() -> dict[str, str]:
    values = {}
    for line in (PROJECT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` and ``$$`` on every string of a document."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        if env.get(name):
            return env[name]
        if kind and kind.endswith("?"):
            raise AssertionError(f"${{{name}}} is required but .env.example gives no value")
        return rest or "" if kind and kind.endswith("-") else env.get(name, "")

    return VARIABLE.sub(substitute, value.replace("$$", "\0")).replace("\0", "$")


@cache
def compose_raw() -> dict[str, Any]:
    return yaml.safe_load((PROJECT / "docker-compose.yaml").read_text(encoding="utf-8"))


@cache
def compose() -> dict[str, Any]:
    """The compose file as docker compose sees it with the values of .env.example (anchors merged by YAML)."""
    return interpolate(compose_raw(), env_example())  # type: ignore[no-any-return]


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]  # type: ignore[no-any-return]


def command_of(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def airflow_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services().items() if "build" in s or str(s.get("image", "")).startswith("sms")}


def service_running(command: str) -> tuple[str, dict[str, Any]]:
    matches = [(name, s) for name, s in airflow_services().items() if command_of(s).split()[:1] == [command]]
    assert len(matches) == 1, f"expected one service running `airflow {command}`, found {[n for n, _ in matches]}"
    return matches[0]


def postgres_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services().items() if str(s.get("image", "")).startswith("postgres:")}


def volume_targets(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> source (host path or named volume) of a service's short-syntax volumes."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *_ = str(volume).split(":")
        mounts[target] = source
    return mounts


# --- Dockerfile ---------------------------------------------------------------------------------------------


def test_the_image_extends_the_official_image_of_the_pinned_airflow_and_python() -> None:
    froms = [args for instruction, args in dockerfile() if instruction == "FROM"]
    assert froms, "the official image, extended"
    version = pinned_version("apache-airflow")
    requires = re.search(r'requires-python = ">=(\d+\.\d+)', (PROJECT / "pyproject.toml").read_text())
    for stage in froms:  # the wheel is built by the same Python and pip the image runs
        image, _, tag = stage.split()[0].partition(":")
        assert image == "apache/airflow"
        assert tag in (version, f"{version}-python3.11"), f"FROM tag {tag!r} does not match apache-airflow=={version}"
        assert requires and (tag == version or tag.endswith(f"-python{requires.group(1)}"))


def test_a_first_stage_builds_the_wheel_from_the_checkout() -> None:
    *builders, _image = stages()
    built = [
        (name, args)
        for name, instructions in builders
        for instruction, args in instructions
        if instruction == "RUN" and re.search(r"pip wheel .*--no-deps", args)
    ]
    assert len(built) == 1, "one stage runs `pip wheel --no-deps` on the checkout"
    name, args = built[0]
    (checkout,) = [destination for flags, sources, destination in copies(dict(builders)[name]) if sources == ["."]]
    assert args.split()[-1].rstrip("/") == checkout.rstrip("/"), "the wheel is built from the copied checkout"


def test_the_image_installs_the_wheel_with_the_lock_as_constraints_without_moving_airflow() -> None:
    *builders, (_, image) = stages()
    runs = " && ".join(args for instruction, args in image if instruction == "RUN")
    assert re.search(r"pip install .*[\"']?apache-airflow==\$\{AIRFLOW_VERSION\}[\"']?", runs), (
        "pin apache-airflow==${AIRFLOW_VERSION} so pip cannot up- or downgrade the image's Airflow"
    )
    copied = {
        dest.rstrip("/"): (flags.get("from"), [s.rstrip("/") for s in sources])
        for flags, sources, dest in copies(image)
    }
    constraints = re.findall(r"-c\s+(\S+)", runs)
    assert constraints and all(copied.get(path) == (None, ["requirements.txt"]) for path in constraints)
    assert not re.search(r"(^|\s)-r\s", runs), "the lock constrains the wheel's dependencies, it installs nothing"
    (wheel,) = re.findall(r"(\S+)/sms_tracking-\*\.whl", runs)
    wheel_dirs = {
        (name, match.group(1).rstrip("/"))
        for name, instructions in builders
        for instruction, args in instructions
        if (match := re.search(r"pip wheel .*-w\s+(\S+)", args))
    }
    origin, sources = copied[wheel]
    assert {(origin, source) for source in sources} <= wheel_dirs and sources, "the wheel comes from the build stage"


def dockerignored(relative: str) -> bool:
    patterns = [
        p.strip() for p in (PROJECT / ".dockerignore").read_text().splitlines() if p.strip() and not p.startswith("#")
    ]
    return any(
        fnmatch.fnmatch(relative.rstrip("/"), p.rstrip("/")) or relative.startswith(p.rstrip("/") + "/")
        for p in patterns
    )


def test_every_copied_path_exists_and_is_in_the_build_context() -> None:
    sources = [
        s
        for _, instructions in stages()
        for flags, paths, _ in copies(instructions)
        if "from" not in flags
        for s in paths
    ]
    assert sources
    missing = [s for s in sources if not (PROJECT / s).exists()]
    ignored = [s for s in sources if dockerignored(s)]
    assert missing == [] and ignored == []


def test_the_image_takes_the_package_from_the_wheel_and_copies_only_the_thin_dags() -> None:
    _, image = stages()[-1]
    from_context = {s.rstrip("/") for flags, paths, _ in copies(image) if "from" not in flags for s in paths}
    assert "dags" in from_context
    assert from_context <= {"dags", "requirements.txt"}, "plugins/ and include/ reach the image inside the wheel"
    for dag_file in (PROJECT / "dags").glob("*.py"):
        assert "from sms_tracking.dags." in dag_file.read_text(encoding="utf-8"), dag_file.name


def test_every_runtime_requirement_is_pinned_once() -> None:
    lines = requirement_lines("requirements.txt")
    assert [line for line in lines if not PIN.match(line)] == []
    names = [line.split("==")[0].lower().replace("_", "-") for line in lines]
    assert len(names) == len(set(names))


def test_dev_requirements_are_pinned_on_top_of_the_runtime_set() -> None:
    lines = requirement_lines("requirements-dev.txt")
    assert "-r requirements.txt" in lines
    assert [line for line in lines if line != "-r requirements.txt" and not PIN.match(line)] == []


# --- docker-compose.yaml ---------------------------------------------------------------------------------


def test_compose_runs_every_airflow_component_and_an_init() -> None:
    for command in AIRFLOW_COMMANDS:
        service_running(command)
    init = [name for name, s in airflow_services().items() if "airflow db migrate" in command_of(s)]
    assert len(init) == 1
    for command in AIRFLOW_COMMANDS:
        name, service = service_running(command)
        assert service["depends_on"][init[0]]["condition"] == "service_completed_successfully", name


def test_both_databases_are_postgres_with_health_checks_the_others_wait_for() -> None:
    databases = postgres_services()
    assert len(databases) == 2, "a metadata database and a tracking database"
    for name, service in databases.items():
        assert "pg_isready" in " ".join(service["healthcheck"]["test"]), name
        assert service["environment"]["POSTGRES_DB"] and service["environment"]["POSTGRES_PASSWORD"]
    for name, service in airflow_services().items():
        for database in databases:
            assert service["depends_on"][database]["condition"] == "service_healthy", (name, database)


def test_long_running_services_have_health_checks() -> None:
    for command in AIRFLOW_COMMANDS:
        name, service = service_running(command)
        assert service.get("healthcheck", {}).get("test"), name


def test_every_airflow_service_runs_the_same_image_built_from_the_dockerfile() -> None:
    version = pinned_version("apache-airflow")
    images = {(str(s.get("build")), s.get("image")) for s in airflow_services().values()}
    assert len(images) == 1
    build, image = images.pop()
    assert build == "." and (PROJECT / "Dockerfile").exists()
    assert image and image.endswith(f":{version}")


def test_dags_and_the_sample_data_are_mounted_and_the_package_is_not() -> None:
    for name, service in airflow_services().items():
        mounts = volume_targets(service)
        assert mounts.get("/opt/airflow/dags") == "./dags", name
        # The installed wheel is the package: a mounted plugins/ would load the plugin a second time.
        assert not {"/opt/airflow/plugins", "/opt/airflow/include"} & set(mounts), name
        assert "plugins" not in service["environment"].get("PYTHONPATH", ""), name
        samples = [source for source in mounts.values() if source.startswith("./include/sample_data")]
        assert samples or name == "airflow-worker", f"{name}: the sample data is not mounted"
        host_paths = [s for s in mounts.values() if s.startswith("./")]
        assert [p for p in host_paths if not (PROJECT / p).exists()] == [], name


def test_the_landing_setting_points_at_a_mounted_folder() -> None:
    for name, service in airflow_services().items():
        landing = service["environment"]["AIRFLOW__SMS_TRACKING__LANDING"]
        assert landing in volume_targets(service), name


def test_the_tracking_connection_points_at_the_tracking_database() -> None:
    databases = postgres_services()
    metadata = {name for name, s in databases.items() if s["environment"]["POSTGRES_DB"] == "airflow"}
    for name, service in airflow_services().items():
        url = urlsplit(service["environment"]["AIRFLOW_CONN_SMS_TRACKING_POSTGRES"])
        assert url.scheme in ("postgres", "postgresql"), name
        assert url.hostname in databases and url.hostname not in metadata, name
        target = databases[url.hostname]["environment"]
        assert url.path.lstrip("/") == target["POSTGRES_DB"]
        assert (url.username, url.password) == (target["POSTGRES_USER"], target["POSTGRES_PASSWORD"])
        assert url.port in (None, 5432)


def test_the_metadata_connection_points_at_the_metadata_database() -> None:
    databases = postgres_services()
    for name, service in airflow_services().items():
        url = urlsplit(service["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        target = databases[str(url.hostname)]["environment"]
        assert target["POSTGRES_DB"] == url.path.lstrip("/") == "airflow", name
        assert url.password == target["POSTGRES_PASSWORD"], name


def test_components_share_one_token_secret_and_find_the_execution_api() -> None:
    secrets = {s["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"] for s in airflow_services().values()}
    assert len(secrets) == 1 and secrets.pop()
    api_name, api = service_running("api-server")
    url = urlsplit(api["environment"]["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert url.hostname == api_name and url.path.rstrip("/") == "/execution"


def test_the_celery_profile_adds_redis_and_two_workers_sharing_only_landing_and_data_docs() -> None:
    """What tests/services proves with CeleryExecutor: Redis as the broker, two workers, each sharing with
    the scheduler only the DAG files, the landing location and the Data Docs (docs/scaling.md)."""
    assert pinned_version("apache-airflow-providers-celery")
    profiled = {name for name, s in services().items() if "celery" in s.get("profiles", [])}
    assert profiled == {"redis", "airflow-worker"}
    assert compose()["services"]["airflow-scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    celery = interpolate(compose_raw(), {**env_example(), "AIRFLOW_EXECUTOR": "CeleryExecutor"})["services"]
    worker, scheduler, redis = celery["airflow-worker"], celery["airflow-scheduler"], celery["redis"]
    assert command_of(worker).split()[:2] == ["celery", "worker"]
    assert worker["deploy"]["replicas"] >= 2 and worker["healthcheck"]["test"]
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy" and redis["healthcheck"]["test"]
    assert str(redis["image"]).startswith("redis:")
    for service in (worker, scheduler):
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert urlsplit(env["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis"
        assert urlsplit(env["AIRFLOW__CELERY__RESULT_BACKEND"]).hostname == "redis"
    shared = {"/opt/airflow/landing", "/opt/airflow/data_docs"}
    assert set(volume_targets(worker)) == {"/opt/airflow/dags", *shared}
    for target in shared:
        assert volume_targets(worker)[target] == volume_targets(scheduler)[target]
    assert worker["environment"]["AIRFLOW__SMS_TRACKING__LANDING"] == "/opt/airflow/landing"
    assert worker["environment"]["AIRFLOW__SMS_TRACKING__DATA_DOCS"] == "/opt/airflow/data_docs"


def test_env_example_gives_every_variable_the_compose_file_requires() -> None:
    text = (PROJECT / "docker-compose.yaml").read_text(encoding="utf-8")
    required = {m.group(1) for m in VARIABLE.finditer(text) if (m.group(2) or "").endswith("?")}
    assert required
    given = env_example()
    assert sorted(v for v in required if not given.get(v)) == []


@pytest.mark.parametrize("path", ["docs/deployment.md", "README.md"])
def test_the_deployment_docs_show_both_ways_to_run(path: str) -> None:
    text = (PROJECT / path).read_text(encoding="utf-8")
    assert "docker compose up" in text and "docker build" in text
