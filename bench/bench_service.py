"""The generated service against the floor any JDK service pays: a bare JDK HttpServer hello-world.

Both are compiled here with javac, packaged as runnable jars and launched the same way
(`java -jar`), interleaved in one run:

- start-up: from launch to the first 200 on /health;
- RSS: resident memory after start-up and the same 50 requests to /health.

Goal for both: <= 1.3x the hello-world. Each figure is the median of several launches,
after one warm-up round (page cache, CDS archive) that is dropped.

    python bench/bench_service.py [--repeats N]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.3
REQUESTS = 50
HELLO = """
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;

public final class Hello {
    public static void main(String[] args) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(Integer.parseInt(System.getenv("HTTP_PORT"))), 0);
        server.createContext("/health", exchange -> {
            byte[] body = "ok".getBytes();
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
    }
}
"""


def sh(*args: str | Path, cwd: Path | None = None) -> None:
    subprocess.run([str(arg) for arg in args], cwd=cwd, check=True, capture_output=True)


def jar(classes: Path, main_class: str, target: Path) -> Path:
    sh("jar", "--create", "--file", target, "--main-class", main_class, "-C", classes, ".")
    return target


def service_jar(work: Path) -> Path:
    """The seed example rendered from this working tree, its src/main compiled into a runnable jar."""
    from copier import run_copy

    sys.path.insert(0, str(ROOT))
    from lemi_hooks import naming

    answers = yaml.safe_load((ROOT / "tests" / "data" / "klausapproves.yml").read_text())
    project = work / answers["repository"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_copy(str(ROOT), str(project), data=answers, defaults=True, unsafe=True, quiet=True, vcs_ref="HEAD")
    sources = sorted(str(path) for path in (project / "src" / "main" / "java").rglob("*.java"))
    sh("javac", "--release", "17", "-nowarn", "-d", work / "service-classes", *sources)
    name = answers["service_name"]
    main_class = f"{naming.java_package(name)}.{naming.java_class_prefix(name)}Application"
    return jar(work / "service-classes", main_class, work / "service.jar")


def hello_jar(work: Path) -> Path:
    (work / "Hello.java").write_text(HELLO)
    sh("javac", "--release", "17", "-d", work / "hello-classes", work / "Hello.java")
    return jar(work / "hello-classes", "Hello", work / "hello.jar")


def quiet_port() -> int:
    """A free port below Linux's ephemeral range, so polling it can never connect a socket to itself."""
    while True:
        port = random.randint(20000, 32000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def health_status(port: int) -> int | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/health")
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return None
    finally:
        connection.close()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def launch(jar_path: Path) -> tuple[float, float]:
    """Seconds from launch to the first 200 on /health, and MiB resident after REQUESTS more."""
    http_port, metrics_port = quiet_port(), quiet_port()
    env = {**os.environ, "HTTP_PORT": str(http_port), "METRICS_PORT": str(metrics_port)}
    start = time.perf_counter()
    process = subprocess.Popen(["java", "-jar", str(jar_path)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        while health_status(http_port) != 200:
            if process.poll() is not None:
                raise RuntimeError(f"{jar_path.name} exited with {process.returncode}")
            if time.perf_counter() - start > 30:
                raise RuntimeError(f"{jar_path.name} did not answer /health within 30 s")
            time.sleep(0.002)
        startup = time.perf_counter() - start
        for _ in range(REQUESTS):
            health_status(http_port)
        return startup, rss_mib(process.pid)
    finally:
        process.terminate()
        process.wait(30)


def run(repeats: int) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="lemi-bench-service-") as tmp:
        work = Path(tmp)
        jars = {"service": service_jar(work), "hello": hello_jar(work)}
        startup: dict[str, list[float]] = {name: [] for name in jars}
        rss: dict[str, list[float]] = {name: [] for name in jars}
        for index in range(repeats + 1):  # the first round warms the page cache and is dropped
            for name, jar_path in jars.items():
                seconds, mib = launch(jar_path)
                if index:
                    startup[name].append(seconds)
                    rss[name].append(mib)
    rows = []
    for label, figures, unit in (("start-up to first 200 on /health", startup, "s"),
                                 (f"RSS after start-up and {REQUESTS} requests", rss, "MiB")):
        value, floor = statistics.median(figures["service"]), statistics.median(figures["hello"])
        rows.append({"name": f"service {label} vs JDK hello-world", "value": value, "floor": floor,
                     "ratio": value / floor, "goal": GOAL, "unit": unit})
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    results = run(parser.parse_args().repeats)
    for row in results:
        scale, unit = (1000, "ms") if row["unit"] == "s" else (1, row["unit"])
        print(f"{row['name']}: {row['value'] * scale:.1f} {unit} vs {row['floor'] * scale:.1f} {unit}, "
              f"{row['ratio']:.2f}x (goal <= {row['goal']}x)")
    sys.exit(0 if all(row["ratio"] <= row["goal"] for row in results) else 1)
