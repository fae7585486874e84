"""The vendored deploy tool's core: read and check the service's spec files, render the task definition.

Managed by lemi (`copier update` replaces this file; do not edit it by hand).

Runs on any CI runner, so it needs only the standard library and PyYAML. Every
name (family, roles, log group, hosts, secret ARNs) comes from
.lemi/conventions.json, rendered by the template; nothing here derives a name.
Every problem with the input is an InputError: one line naming the file, the
key and the problem, and the commands exit 2 without writing anything.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter

import yaml

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time the renderer does not need at run time
    from typing import Any

SPEC_FILE = "deploy/service.yaml"
CONFIG_FILE = "deploy/{env}/config.yaml"
CONVENTIONS_FILE = ".lemi/conventions.json"
OWNERS_FILE = "OWNERS"
ANSWERS_FILE = ".copier-answers.yml"

AUTOSCALING_METRICS = {
    "cpu": "ECSServiceAverageCPUUtilization",
    "memory": "ECSServiceAverageMemoryUtilization",
}
DEFAULT_AUTOSCALING_TARGET = 70


class InputError(Exception):
    """Bad input, reported as ``<file>: <key>: <problem>`` on one line."""

    def __init__(self, file: str, key: str | None, problem: str) -> None:
        super().__init__(file, key, problem)
        self.file, self.key, self.problem = file, key, problem

    def __str__(self) -> str:
        text = f"{self.file}: {self.key}: {self.problem}" if self.key else f"{self.file}: {self.problem}"
        # One line, whatever a key or a YAML message holds.
        return " ".join(text.split("\n"))


class _Lazy:
    """A regular expression compiled on first use: a run needs only a few of them,
    and compiling them all would cost a noticeable share of the renderer's start-up."""

    __slots__ = ("source", "flags", "compiled")

    def __init__(self, source: str, flags: int = 0) -> None:
        self.source, self.flags, self.compiled = source, flags, None

    def __getattr__(self, name: str) -> Any:
        if self.compiled is None:
            self.compiled = re.compile(self.source, self.flags)
        return getattr(self.compiled, name)


def quoted(value: Any) -> str:
    return json.dumps(str(value), ensure_ascii=True)


# ───────────────────────────── YAML ──────────────────────────────────────────
# YAML 1.1 turns `no` into false, `1.10` into 1.1 and `2024-01-01` into a date,
# silently changing what an owner wrote into an environment variable. This
# loader resolves only null, true/false and plain decimal integers; everything
# else stays the text it was written as. It also rejects duplicate keys, which
# PyYAML would otherwise resolve by silently keeping the last one.
class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    def construct_mapping(self, node: Any, deep: bool = False) -> dict:
        mapping = super().construct_mapping(node, deep=deep)
        if len(mapping) != len(node.value):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {quoted(key)}", key_node.start_mark)
                seen.add(key)
        return mapping


_StrictLoader.yaml_implicit_resolvers = {}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))


def read_text(root: str, rel: str, missing: str) -> str:
    try:
        with open(os.path.join(root, rel), "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise InputError(rel, None, missing) from None
    except IsADirectoryError:
        raise InputError(rel, None, "is a directory, not a file") from None
    except OSError as exc:
        raise InputError(rel, None, f"cannot be read: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(rel, None, "is not UTF-8 text") from None


def load_yaml(root: str, rel: str, missing: str) -> Any:
    text = read_text(root, rel, missing)
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark else None
        raise InputError(rel, where, f"malformed YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise InputError(rel, None, f"malformed YAML: {exc}") from None
    except RecursionError:
        raise InputError(rel, None, "malformed YAML: nested too deeply") from None


# ───────────────────────────── Type checks ───────────────────────────────────
def type_name(value: Any) -> str:
    if value is None:
        return "empty"
    return {bool: "a boolean", int: "a number", float: "a number", str: "text",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def expect(value: Any, kind: type, file: str, key: str, what: str) -> Any:
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise InputError(file, key, f"must be {what}, not {type_name(value)}")
    return value


def scalar_text(value: Any, file: str, key: str) -> str:
    """An environment value as ECS gets it: text. true/false and integers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return str(value)
    if value is None:
        raise InputError(file, key, 'has no value (write "" for an empty one)')
    raise InputError(file, key, f"must be text, not {type_name(value)}")


# ───────────────────────────── Conventions ───────────────────────────────────
def load_conventions(root: str) -> dict[str, Any]:
    text = read_text(root, CONVENTIONS_FILE, "missing; restore it with `copier update`")
    try:
        data = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        raise InputError(CONVENTIONS_FILE, f"line {line}" if line else None,
                         f"malformed JSON: {getattr(exc, 'msg', exc)}; restore it with `copier update`") from None
    if not isinstance(data, dict):
        raise InputError(CONVENTIONS_FILE, None, "must be a JSON object; restore it with `copier update`")
    return data


def conv(mapping: Any, key: str, where: str, kind: type = str) -> Any:
    """A value of conventions.json; a missing or mistyped one means the file is damaged or stale."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    if value is None or not (isinstance(value, kind) and not (kind is int and isinstance(value, bool))):
        raise InputError(CONVENTIONS_FILE, f"{where}{key}", "missing or mistyped; restore it with `copier update`")
    return value


def environment_conventions(conventions: dict[str, Any], env: str) -> dict[str, Any]:
    envs = conv(conventions, "environments", "", dict)
    if env not in envs:
        known = ", ".join(envs) or "none"
        raise InputError(CONVENTIONS_FILE, "environments",
                         f"unknown environment {quoted(env)}; this service runs in: {known}")
    return conv(envs, env, "environments.", dict)


# ───────────────────────────── The spec ──────────────────────────────────────
def load_spec(root: str, conventions: dict[str, Any]) -> dict[str, Any]:
    """deploy/service.yaml's `spec`, after checking the document around it."""
    doc = load_yaml(root, SPEC_FILE, "missing; run the command from the service's folder")
    if not isinstance(doc, dict):
        raise InputError(SPEC_FILE, None, f"must be a mapping with type, name and spec, not {type_name(doc)}")
    unknown = sorted(set(doc) - {"type", "name", "spec"}, key=str)
    if unknown:
        raise InputError(SPEC_FILE, str(unknown[0]), "unknown field; the spec has only type, name and spec")
    if doc.get("type") != "service":
        raise InputError(SPEC_FILE, "type", 'must be "service"')
    service = conv(conventions, "service", "")
    if doc.get("name") != service:
        raise InputError(SPEC_FILE, "name",
                         f"must be {quoted(service)}, the service's name in {CONVENTIONS_FILE} "
                         "(a service is renamed through `copier update`, not here)")
    spec = expect(doc.get("spec"), dict, SPEC_FILE, "spec", "a mapping")
    # A misspelt section (enviroment:) must fail, not silently drop what it holds.
    unknown = sorted(set(spec) - SPEC_SECTIONS, key=str)
    if unknown:
        raise InputError(SPEC_FILE, f"spec.{unknown[0]}",
                         f"unknown section; spec has {', '.join(sorted(SPEC_SECTIONS))}")
    return spec


SPEC_SECTIONS = frozenset({"image", "resources", "autoscaling", "ingress", "dependencies", "environment"})
# Names AWS, ECS and the Datadog agent give meaning to: a service must not shadow them.
RESERVED_PREFIXES = ("AWS_", "ECS_", "DD_")
# ECS refuses a task definition larger than this (bytes of the request).
TASK_DEFINITION_MAX = 64 * 1024
# ECS Exec's agent writes here; with a read-only root file system each needs a volume.
ECS_EXEC_PATHS = {"ecs-exec-agents": "/managed-agents", "ecs-exec-ssm-lib": "/var/lib/amazon/ssm",
                  "ecs-exec-ssm-log": "/var/log/amazon/ssm"}


_CPU = _Lazy(r"^\s*(\d+(?:\.\d+)?)\s*(vcpu)?\s*$", re.IGNORECASE)
_MEMORY = _Lazy(r"^\s*(\d+(?:\.\d+)?)\s*(gb|gib|mb|mib)?\s*$", re.IGNORECASE)


def _amount(value: Any, pattern: _Lazy, big_units: tuple[str, ...], key: str, example: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = pattern.match(value) if isinstance(value, str) else None
    if not match:
        raise InputError(SPEC_FILE, key, f"must be in AWS's format, e.g. {example}")
    number = float(match.group(1)) * (1024 if (match.group(2) or "").lower() in big_units else 1)
    if number != int(number):
        raise InputError(SPEC_FILE, key, f"must be a whole number of units, e.g. {example}")
    return int(number)


def fargate_sizes(conventions: dict[str, Any]) -> dict[int, tuple[int, ...]]:
    """The Fargate task sizes AWS accepts (CPU units -> memory MiB), from lemi's naming rules."""
    table = conv(conventions, "fargate_sizes", "", dict)
    try:
        return {int(cpu): tuple(int(memory) for memory in memories) for cpu, memories in table.items()}
    except (TypeError, ValueError):
        raise InputError(CONVENTIONS_FILE, "fargate_sizes", "mistyped; restore it with `copier update`") from None


def resources(spec: dict[str, Any], conventions: dict[str, Any]) -> tuple[int, int]:
    FARGATE_SIZES = fargate_sizes(conventions)  # noqa: N806 - a table, named as in lemi_hooks.naming
    res = expect(spec.get("resources"), dict, SPEC_FILE, "spec.resources", "a mapping with cpu and memory")
    cpu = _amount(res.get("cpu"), _CPU, ("vcpu",), "spec.resources.cpu", '256 or "0.25 vCPU"')
    memory = _amount(res.get("memory"), _MEMORY, ("gb", "gib"), "spec.resources.memory", '512 or "1 GB"')
    if cpu not in FARGATE_SIZES:
        raise InputError(SPEC_FILE, "spec.resources.cpu",
                         f"{cpu} is not a Fargate CPU size; use one of {', '.join(map(str, FARGATE_SIZES))}")
    if memory not in FARGATE_SIZES[cpu]:
        sizes = FARGATE_SIZES[cpu]
        raise InputError(SPEC_FILE, "spec.resources.memory",
                         f"{memory} MiB does not fit {cpu} CPU units on Fargate; "
                         f"use {sizes[0]} to {sizes[-1]} in steps of {sizes[1] - sizes[0]}")
    return cpu, memory


def autoscaling(spec: dict[str, Any]) -> dict[str, Any]:
    """spec.autoscaling, checked: resource (cpu|memory), min, max, target (percent)."""
    key = "spec.autoscaling"
    block = expect(spec.get("autoscaling"), dict, SPEC_FILE, key, "a mapping with resource, min and max")
    unknown = sorted(set(block) - {"resource", "min", "max", "target"}, key=str)
    if unknown:
        raise InputError(SPEC_FILE, f"{key}.{unknown[0]}", "unknown setting; use resource, min, max and target")
    resource = block.get("resource")
    if resource not in AUTOSCALING_METRICS:
        raise InputError(SPEC_FILE, f"{key}.resource", 'must be "cpu" or "memory"')
    low = expect(block.get("min"), int, SPEC_FILE, f"{key}.min", "a whole number")
    high = expect(block.get("max"), int, SPEC_FILE, f"{key}.max", "a whole number")
    target = block.get("target", DEFAULT_AUTOSCALING_TARGET)
    expect(target, int, SPEC_FILE, f"{key}.target", "a whole number of percent")
    if low < 1:
        raise InputError(SPEC_FILE, f"{key}.min", "must be at least 1")
    if high < low:
        raise InputError(SPEC_FILE, f"{key}.max", f"must be at least min ({low})")
    if not 1 <= target <= 100:
        raise InputError(SPEC_FILE, f"{key}.target", "must be a percentage from 1 to 100")
    return {"resource": resource, "metric": AUTOSCALING_METRICS[resource], "min": low, "max": high, "target": target}


# ───────────────────────────── Credentials in plain text ─────────────────────
_AWS_KEY_ID = _Lazy(r"(?<![A-Z0-9])(?:AKIA|ASIA|AIDA|AROA|AIPA|ANPA|ANVA|AGPA)[A-Z0-9]{16}(?![A-Z0-9])")
_PRIVATE_KEY = _Lazy(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")
_KNOWN_TOKEN = _Lazy(
    r"(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{40,}|xox[abposr]-[A-Za-z0-9-]{10,}"
    r"|sk_live_[A-Za-z0-9]{20,}|glpat-[A-Za-z0-9_-]{20})")
_URL_PASSWORD = _Lazy(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")
_WORD = _Lazy(r"[A-Za-z0-9+/_\-]{20,}")
_HEX = _Lazy(r"^[0-9a-fA-F]+$")
# Random base62 words of 32+ characters rarely fall below this many bits per
# character; readable words with digits (paths, JVM flags) stay under it.
RANDOM_TEXT_BITS = 4.3
# Readable words change between lower case, upper case, digits and separators
# far less often than random text does (paths, snake_case, kebab-case).
RANDOM_CLASS_CHANGES = 0.38


def _class_changes(text: str) -> float:
    """How often neighbours differ in kind (lower, upper, digit, other): random text ~0.6, names ~0.2."""
    kinds = ["l" if c.islower() else "u" if c.isupper() else "d" if c.isdigit() else "o" for c in text]
    return sum(a != b for a, b in zip(kinds, kinds[1:])) / (len(text) - 1)


def _entropy(text: str) -> float:
    size = len(text)
    return -sum(count / size * math.log2(count / size) for count in Counter(text).values())


def credential_problem(value: str) -> str | None:
    """Why ``value`` looks like a credential, or None.

    High entropy alone flags identifiers like SPRING_PROFILES_ACTIVE_production,
    so a word counts as a token only when it mixes letters and digits and its
    entropy is near what random text of that length has (0.85 * log2(length),
    at most RANDOM_TEXT_BITS: about the 1st percentile of random base62 words)
    and it switches between letter cases and digits about as often as random
    text does (RANDOM_CLASS_CHANGES), which keeps long paths readable. Hex
    words of 32+ characters (API keys, digests) count from 3 bits per
    character. URLs, UUIDs, hostnames, ARNs and feature flags stay below.
    """
    if _AWS_KEY_ID.search(value):
        return "looks like an AWS access key id"
    if _PRIVATE_KEY.search(value):
        return "looks like a private key"
    if _KNOWN_TOKEN.search(value):
        return "looks like an API token"
    if _URL_PASSWORD.search(value):
        return "is a URL with a password in it"
    words = _WORD.findall(value)
    # A token may sit in a path (webhook URLs): look at the segments as well.
    words += [part for word in words if "/" in word for part in word.split("/") if len(part) >= 20]
    for word in words:
        has_digit = any(ch.isdigit() for ch in word)
        has_letter = any(ch.isalpha() for ch in word)
        if not (has_digit and has_letter):
            continue
        if _HEX.match(word):
            if len(word) >= 32 and _entropy(word) >= 3.0:
                return "looks like a secret token (long random hex)"
        elif (_entropy(word) >= min(0.85 * math.log2(len(word)), RANDOM_TEXT_BITS)
              and _class_changes(word) >= RANDOM_CLASS_CHANGES):
            return "looks like a secret token (long random text)"
    return None


# A variable whose name says it holds a credential (dbPassword, githubToken, stripe_api_key)
# must not carry a literal value, however ordinary the value looks.
_CREDENTIAL_NAME = _Lazy(r"(?i)(pass(word|wd|phrase)?|secret|token|api[_.-]?key|private[_.-]?key|credentials?)$")
_NOT_A_CREDENTIAL = _Lazy(r"(?i)^(|true|false|yes|no|on|off|none|null|-?\d+(\.\d+)?)$")


def no_credential(value: str, file: str, key: str) -> None:
    name = key.rsplit(".", 1)[-1]
    problem = credential_problem(value)
    if not problem and _CREDENTIAL_NAME.search(name) and not _NOT_A_CREDENTIAL.match(value.strip()):
        problem = "its name says it is a credential, so its value must not be written here"
    if problem:
        # Never echo the value: it may be the credential.
        raise InputError(file, key, f"{problem}; a credential belongs in AWS Secrets Manager, "
                                    f"referenced from `secrets` in the environment's config.yaml")


# ───────────────────────────── Config: variables and secrets ─────────────────
_CONFIG_KEY = _Lazy(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_ENV_KEY = _Lazy(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_NAME = _Lazy(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_SECRET_ARN = _Lazy(r"^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):(\d{12}):secret:([A-Za-z0-9/_+=.@-]{1,512})$")
_JSON_FIELD = _Lazy(r"^[A-Za-z0-9_-]{1,256}$")


def _entries(doc: dict, section: str, file: str, key_pattern: re.Pattern, key_rule: str,
             label: str | None = None) -> list[tuple[str, Any]]:
    """A list of {key, value} mappings as (key, value) pairs, keys checked and unique."""
    items = doc.get(section)
    section = label or section
    if items is None:
        return []
    expect(items, list, file, section, "a list of {key, value} entries")
    pairs, seen = [], set()
    for index, item in enumerate(items):
        where = f"{section}[{index}]"
        expect(item, dict, file, where, "a mapping with key and value")
        unknown = sorted(set(item) - {"key", "value"}, key=str)
        if unknown:
            raise InputError(file, f"{where}.{unknown[0]}", "unknown field; an entry has only key and value")
        key = item.get("key")
        if not isinstance(key, str) or not key_pattern.match(key):
            shown = quoted(key) if isinstance(key, str) else type_name(key)
            raise InputError(file, f"{where}.key", f"{shown} is not a valid name ({key_rule})")
        if key in seen:
            raise InputError(file, f"{section}.{key}", "defined twice")
        if "value" not in item:
            raise InputError(file, f"{section}.{key}", 'has no value (write "" for an empty one)')
        seen.add(key)
        pairs.append((key, item["value"]))
    return pairs


def load_config(root: str, env: str, env_conv: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """deploy/ENV/config.yaml as (variables: key -> value, secrets: key -> ECS valueFrom)."""
    file = CONFIG_FILE.format(env=env)
    doc = load_yaml(root, file, f"missing; every environment of the service needs one ({env} has none)")
    if doc is None:
        doc = {}
    expect(doc, dict, file, "(document)", "a mapping with variables and secrets")
    unknown = sorted(set(doc) - {"variables", "secrets"}, key=str)
    if unknown:
        raise InputError(file, str(unknown[0]), "unknown section; a config has only variables and secrets")
    key_rule = "letters, digits, '_', '.', '-', starting with a letter or '_'"
    variables = {}
    for key, value in _entries(doc, "variables", file, _CONFIG_KEY, key_rule):
        text = scalar_text(value, file, f"variables.{key}")
        no_credential(text, file, f"variables.{key}")
        variables[key] = text
    secrets = {}
    for key, value in _entries(doc, "secrets", file, _CONFIG_KEY, key_rule):
        if key in variables:
            raise InputError(file, f"secrets.{key}", "is also defined in variables; a key is one or the other")
        secrets[key] = secret_value_from(value, file, f"secrets.{key}", env_conv)
    return variables, secrets


def secret_value_from(reference: Any, file: str, key: str, env_conv: dict[str, Any]) -> str:
    """ECS `valueFrom` for a reference ``<secret name or ARN>.<json field>``.

    Error messages never repeat the value: when it is not a reference, it may be
    the secret itself.
    """
    shape = "must be a reference <secret name or ARN>.<json field>, never the secret itself"
    if not isinstance(reference, str):
        raise InputError(file, key, shape)
    target, dot, field = reference.rpartition(".")
    if not dot or not target or not _JSON_FIELD.match(field):
        raise InputError(file, key, shape)
    name_prefix = conv(env_conv, "secret_name_prefix", "environments.")
    arn_prefix = conv(env_conv, "secret_arn_prefix", "environments.")
    readable = (f"the service's task execution role reads only secrets named {name_prefix}*; "
                f"name the secret {name_prefix}<name>")
    if target.startswith("arn:"):
        match = _SECRET_ARN.match(target)
        if not match:
            raise InputError(file, key, shape)
        if not target.startswith(arn_prefix) or not match.group(3).startswith(name_prefix):
            raise InputError(file, key, f"is not this environment's secret: {readable}")
        arn = target
    else:
        if not _SECRET_NAME.match(target):
            raise InputError(file, key, shape)
        if not target.startswith(name_prefix):
            raise InputError(file, key, readable)
        arn = arn_prefix + target
    return f"{arn}:{field}::"


# ───────────────────────────── spec.environment ──────────────────────────────
_REFERENCE = _Lazy(r'\{\{\s*\.Variables\s*\[\s*"([^"\\]*)"\s*\]\s*\}\}')


def resolve_environment(
    spec: dict[str, Any], env: str, variables: dict[str, str], secrets: dict[str, str], reserved: set[str],
) -> tuple[dict[str, str], dict[str, str]]:
    """spec.environment resolved against the config: (environment, secrets), by variable name."""
    config_file = CONFIG_FILE.format(env=env)
    environment: dict[str, str] = {}
    secret_env: dict[str, str] = {}
    rule = "letters, digits and '_', not starting with a digit"
    entries = _entries(spec, "environment", SPEC_FILE, _ENV_KEY, rule, label="spec.environment")
    for key, raw in entries:
        where = f"spec.environment.{key}"
        if key in reserved:
            raise InputError(SPEC_FILE, where, "is set by lemi by convention; choose another name")
        if key.upper().startswith(RESERVED_PREFIXES):
            raise InputError(SPEC_FILE, where, f"names starting {', '.join(RESERVED_PREFIXES)} belong to AWS, "
                                               "ECS and Datadog; choose another name")
        value = scalar_text(raw, SPEC_FILE, where)
        names = _REFERENCE.findall(value)
        literal = _REFERENCE.sub("", value)
        if "{{" in literal:
            raise InputError(SPEC_FILE, where, 'has a template expression lemi does not know; '
                                               'reference the config with {{ .Variables["name"] }}')
        no_credential(literal, SPEC_FILE, where)
        for name in names:
            if name in secrets:
                if len(names) != 1 or literal:
                    raise InputError(SPEC_FILE, where, f"secret {quoted(name)} must be the whole value "
                                                       "(ECS injects a secret as a whole variable)")
            elif name not in variables:
                raise InputError(SPEC_FILE, where, f"references {quoted(name)}, which {config_file} "
                                                   "defines neither in variables nor in secrets")
        if names and names[0] in secrets:
            secret_env[key] = secrets[names[0]]
        else:
            environment[key] = _REFERENCE.sub(lambda m: variables[m.group(1)], value)
    return environment, secret_env


# ───────────────────────────── The task definition ──────────────────────────
# The service's jar probes its own /health (HealthProbe in the skeleton): the
# runtime image has a JVM but need not have a shell, curl or wget. The same
# command as the Dockerfile's HEALTHCHECK, which ECS ignores.
HEALTH_PROBE = ["CMD", "java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss256k", "-Xmx16m",
                "-XX:-UsePerfData", "-jar", "/app/app.jar", "--health-check"]

_IMAGE = _Lazy(r"^[A-Za-z0-9][A-Za-z0-9._:/@#-]{0,254}$")


def image_version(image: str) -> str | None:
    """The image's tag (the version Datadog shows), if it has one."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def dependencies(spec: dict[str, Any], env_conv: dict[str, Any]) -> list[dict[str, Any]]:
    """The conventions' endpoints of the dependencies spec.dependencies lists, in the spec's order."""
    block = spec.get("dependencies")
    if block is None:
        return []
    expect(block, dict, SPEC_FILE, "spec.dependencies", "a mapping with services and data")
    known = {dep.get("name"): dep for dep in conv(env_conv, "dependencies", "environments.", list)
             if isinstance(dep, dict)}
    chosen = []
    for kind in ("services", "data"):
        names = block.get(kind)
        if names is None:
            continue
        expect(names, list, SPEC_FILE, f"spec.dependencies.{kind}", "a list of names")
        for index, name in enumerate(names):
            key = f"spec.dependencies.{kind}[{index}]"
            expect(name, str, SPEC_FILE, key, "a name")
            if name not in known:
                raise InputError(SPEC_FILE, key, f"{quoted(name)} is not a dependency in {CONVENTIONS_FILE}; "
                                                 "add dependencies with `copier update` so the infra pull "
                                                 "request grants access to them")
            chosen.append(known[name])
    return chosen


def conventional_environment(conventions: dict[str, Any], env: str, env_conv: dict[str, Any],
                             deps: list[dict[str, Any]], version: str | None) -> dict[str, str]:
    """What every service reads, set by lemi (contract with the Java skeleton)."""
    service = conv(conventions, "service", "")
    where = "environments.dependencies[]."
    values = {
        "SERVICE_NAME": service,
        "ENVIRONMENT": env,
        "HTTP_PORT": str(conv(conventions, "http_port", "", int)),
        "METRICS_PORT": str(conv(conventions, "metrics_port", "", int)),
        "LEMI_DEPENDENCIES": ",".join(f"{conv(d, 'name', where)}={conv(d, 'health_url', where)}" for d in deps),
        "LEMI_OPTIONAL_DEPENDENCIES": ",".join(d["name"] for d in deps if d.get("required") is False),
        "DD_SERVICE": service,
        "DD_ENV": env,
    }
    if version:
        values["DD_VERSION"] = version
    for dep in deps:
        prefix = conv(dep, "env_prefix", where)
        values[f"{prefix}_URL"] = conv(dep, "url", where)
        values[f"{prefix}_HOST"] = conv(dep, "host", where)
        values[f"{prefix}_PORT"] = str(conv(dep, "port", where, int))
    return values


_LOGIN = _Lazy(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
TAG_VALUE_MAX = 256


def owners(root: str) -> list[str]:
    """GitHub logins from OWNERS, one a line ('#' comments and '@' prefixes allowed)."""
    text = read_text(root, OWNERS_FILE, "missing; list the service's owners, one GitHub login a line")
    logins = []
    for number, line in enumerate(text.splitlines(), 1):
        login = line.split("#", 1)[0].strip().removeprefix("@")
        if not login:
            continue
        if not _LOGIN.match(login):
            raise InputError(OWNERS_FILE, f"line {number}", f"{quoted(login)} is not a GitHub login")
        logins.append(login)
    if not logins:
        raise InputError(OWNERS_FILE, None, "lists nobody; a service needs at least one owner")
    return logins


def repository(root: str, conventions: dict[str, Any]) -> str | None:
    """The repository's name: from the conventions when they carry it, else from Copier's answers."""
    if isinstance(conventions.get("repository"), str):
        return conventions["repository"]
    try:
        answers = load_yaml(root, ANSWERS_FILE, "missing")
    except InputError:
        return None
    value = answers.get("repository") if isinstance(answers, dict) else None
    return value if isinstance(value, str) else None


def render(root: str, env: str, image: str) -> dict[str, Any]:
    """The RegisterTaskDefinition input for ``env``, or InputError."""
    if not isinstance(image, str) or not _IMAGE.match(image):
        raise InputError("--image", None, "must be an image reference like <registry>/<repository>:<tag> "
                                          "(letters, digits and . _ : / @ # -, at most 255 characters)")
    conventions = load_conventions(root)
    env_conv = environment_conventions(conventions, env)
    spec = load_spec(root, conventions)
    cpu, memory = resources(spec, conventions)
    variables, secrets = load_config(root, env, env_conv)
    deps = dependencies(spec, env_conv)
    version = image_version(image)
    lemi_env = conventional_environment(conventions, env, env_conv, deps, version)
    # A service's own variable never shadows a conventional one, even one this
    # render leaves out (DD_VERSION without a tag): the set is the contract.
    reserved = set(lemi_env) | {"DD_VERSION"}
    own_env, secret_env = resolve_environment(spec, env, variables, secrets, reserved)
    environment = {**lemi_env, **own_env}

    service = conv(conventions, "service", "")
    http_port = conv(conventions, "http_port", "", int)
    metrics_port = conv(conventions, "metrics_port", "", int)
    metrics_path = conv(conventions, "metrics_path", "")
    openmetrics = {"openmetrics": {"init_config": {}, "instances": [{
        "openmetrics_endpoint": f"http://%%host%%:{metrics_port}{metrics_path}",
        "namespace": service,
        "metrics": [".*"],
    }]}}
    labels = {
        "com.datadoghq.ad.checks": json.dumps(openmetrics, sort_keys=True, separators=(",", ":")),
        "com.datadoghq.tags.service": service,
        "com.datadoghq.tags.env": env,
    }
    if version:
        labels["com.datadoghq.tags.version"] = version

    container = {
        "name": conv(env_conv, "container_name", "environments."),
        "image": image,
        "essential": True,
        "portMappings": [
            {"name": "http", "containerPort": http_port, "hostPort": http_port, "protocol": "tcp",
             "appProtocol": "http"},
            {"name": "metrics", "containerPort": metrics_port, "hostPort": metrics_port, "protocol": "tcp",
             "appProtocol": "http"},
        ],
        "environment": [{"name": k, "value": environment[k]} for k in sorted(environment)],
        "secrets": [{"name": k, "valueFrom": secret_env[k]} for k in sorted(secret_env)],
        "healthCheck": {
            "command": HEALTH_PROBE,
            # A probe JVM starts in about a second on a quarter vCPU, and /health may wait
            # for its dependencies' timeouts: a generous timeout, a calm interval.
            "interval": 30, "timeout": 10, "retries": 3, "startPeriod": 90,
        },
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": conv(env_conv, "log_group", "environments."),
                "awslogs-region": conv(env_conv, "aws_region", "environments."),
                "awslogs-stream-prefix": "ecs",
                # A CloudWatch hiccup must not block the application's stdout.
                "mode": "non-blocking",
                "max-buffer-size": "25m",
            },
        },
        "dockerLabels": labels,
        # ECS Exec sessions leave processes behind without an init to reap them.
        "linuxParameters": {"initProcessEnabled": True},
        # Nothing can change the image's files at run time; the JVM and the
        # service still get a writable /tmp, and ECS Exec's agent its own folders
        # (task-local storage).
        "readonlyRootFilesystem": True,
        "mountPoints": [{"sourceVolume": volume, "containerPath": path, "readOnly": False}
                        for volume, path in sorted({"tmp": "/tmp", **ECS_EXEC_PATHS}.items())],
    }

    containers = [container]
    agent = conventions.get("datadog_agent")
    if isinstance(agent, dict) and agent.get("enabled") is True:
        containers.append(datadog_agent(agent, conventions, env, env_conv, container["logConfiguration"]))

    tags = {"service": service, "env": env, "managed-by": "lemi"}
    logins = " ".join(owners(root))
    if len(logins) > TAG_VALUE_MAX:
        raise InputError(OWNERS_FILE, None, f"too many owners for an AWS tag ({TAG_VALUE_MAX} characters)")
    tags["owners"] = logins
    repo = repository(root, conventions)
    if repo:
        tags["repository"] = repo

    return {
        "family": conv(env_conv, "task_family", "environments."),
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": str(cpu),
        "memory": str(memory),
        "executionRoleArn": conv(env_conv, "execution_role_arn", "environments."),
        "taskRoleArn": conv(env_conv, "task_role_arn", "environments."),
        "containerDefinitions": containers,
        "volumes": [{"name": volume} for volume in sorted({"tmp", *ECS_EXEC_PATHS})],
        "tags": [{"key": k, "value": tags[k]} for k in sorted(tags)],
    }


def render_text(root: str, env: str, image: str) -> str:
    """render() as the JSON CI registers, serialised once and checked against ECS's size limit."""
    text = to_json(render(root, env, image))
    size = len(text.encode())
    if size > TASK_DEFINITION_MAX:
        raise InputError(CONFIG_FILE.format(env=env), None,
                         f"the task definition would be {size} bytes, over ECS's {TASK_DEFINITION_MAX}: "
                         "keep large values out of environment variables (a file, S3, or a secret)")
    return text


def datadog_agent(agent: dict[str, Any], conventions: dict[str, Any], env: str, env_conv: dict[str, Any],
                  service_logs: dict[str, Any]) -> dict[str, Any]:
    """The Datadog agent beside the service (the platform turns it on): it reads the
    autodiscovery labels and scrapes the OpenMetrics endpoint. Not essential: an agent
    failure must not stop the service."""
    logs = {**service_logs, "options": {**service_logs["options"], "awslogs-stream-prefix": "datadog"}}
    environment = {"ECS_FARGATE": "true", "DD_SITE": conv(conventions, "datadog_site", ""),
                   "DD_ENV": env, "DD_SERVICE": conv(conventions, "service", "")}
    return {
        "name": "datadog-agent",
        "image": conv(agent, "image", "datadog_agent."),
        "essential": False,
        "environment": [{"name": key, "value": environment[key]} for key in sorted(environment)],
        "secrets": [{"name": "DD_API_KEY",
                     "valueFrom": conv(env_conv, "datadog_api_key_secret_arn", "environments.")}],
        "logConfiguration": logs,
    }


def to_json(task_definition: dict[str, Any]) -> str:
    return json.dumps(task_definition, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def write_atomically(path: str, text: str) -> None:
    """Write ``path`` whole or not at all: a reader never sees half a file."""
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise InputError("--output", None, f"directory {quoted(directory)} does not exist")
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except OSError as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise InputError("--output", None, f"cannot write {quoted(path)}: {exc.strerror}") from None
