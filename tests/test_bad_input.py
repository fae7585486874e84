"""Every answer rule of SPEC §2 rejects bad input: one line naming the question, exit 2, nothing written.

The cases go through the `lemi` CLI, which runs Copier, so they exercise copier.yml's
validators (lemi_hooks.validation) exactly as a developer meets them.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from lemi_hooks import cli, validation

SEED_FLAGS = [
    "-name=klausapproves", "-envs=pre,prod", "-external=true", "-svc-dependencies=bpg",
    "-datastore-dependencies=klausapproves-rds,klausapproves-cache", "-cpu=256", "-memory=512",
    "-auto-scaling=resource=cpu,min=1,max=10", "-owners=klaus", "-repository=klausapproves",
    "-vcs-ref=HEAD",  # the working tree's rules, not the latest release tag's
]


def with_flags(**replacements: str) -> list[str]:
    """The seed's flags with some replaced (a value of None drops the flag)."""
    flags = {flag.split("=", 1)[0]: flag for flag in SEED_FLAGS}
    for name, value in replacements.items():
        key = "-" + name.replace("_", "-")
        if value is None:
            flags.pop(key, None)
        else:
            flags[key] = f"{key}={value}"
    return list(flags.values())


BAD_INPUT = [
    # (case, flags, question named, words of the rule)
    ("uppercase name", with_flags(name="KlausApproves"), "service_name", "DNS-label safe"),
    ("space in name", with_flags(name="klausapproves api"), "service_name", "DNS-label safe"),
    ("underscore in name", with_flags(name="klausapproves_api"), "service_name", "DNS-label safe"),
    ("quote in name", with_flags(name="klausapproves'x"), "service_name", "DNS-label safe"),
    ("command substitution in name", with_flags(name="klausapproves$(id)"), "service_name", "DNS-label safe"),
    ("path traversal in name", with_flags(name="../klausapproves"), "service_name", "DNS-label safe"),
    ("name not starting with repository", with_flags(name="bpg-worker"), "service_name", "must start with"),
    ("name too long for a target group", with_flags(name="klausapproves-" + "x" * 20), "service_name", "too long"),
    ("unknown environment", with_flags(envs="pre,staging"), "environments", "not an environment"),
    ("empty environments", with_flags(envs=""), "environments", "at least one"),
    ("invalid owner login", with_flags(owners="klaus,-bad-"), "owners", "not a valid GitHub login"),
    ("more owners than GitHub reviewers", with_flags(owners="a1,a2,a3,a4,a5,a6,a7"), "owners", "at most 6"),
    ("owner login with a quote", with_flags(owners="kl'aus"), "owners", "not a valid GitHub login"),
    ("fargate pair in units", with_flags(cpu="256", memory="4096"), "memory", "not valid with cpu"),
    ("fargate pair in AWS words", with_flags(cpu="1 vCPU", memory="1 GB"), "memory", "not valid with cpu"),
    ("cpu that is no Fargate size", with_flags(cpu="300"), "cpu", "not a Fargate CPU size"),
    ("memory that is no size", with_flags(memory="lots"), "memory", "not a memory size"),
    ("min greater than max", with_flags(auto_scaling="resource=cpu,min=5,max=2"), "autoscaling_max", "less than"),
    ("min below one", with_flags(auto_scaling="resource=cpu,min=0,max=2"), "autoscaling_min", "at least 1"),
    ("target above 100", with_flags(auto_scaling="resource=cpu,min=1,max=2,target=150"), "autoscaling_target", "1 to 100"),
    ("target of zero", with_flags(auto_scaling="resource=cpu,min=1,max=2,target=0"), "autoscaling_target", "1 to 100"),
    ("unknown autoscaling resource", with_flags(auto_scaling="resource=disk,min=1,max=2"), "autoscaling_resource", "not in"),
    ("malformed domain", with_flags(domain="svc..lemon.me"), "domain", "not a valid"),
    ("domain with a shell metacharacter", with_flags(domain="svc.lemon.me;rm"), "domain", "not a valid"),
    ("domain but not external", with_flags(domain="svc.lemon.me", external="false"), "external", "must be external"),
    ("malformed service dependency", with_flags(svc_dependencies="bpg,Bad_Dep"), "service_dependencies", "DNS-label safe"),
    ("malformed datastore dependency", with_flags(datastore_dependencies="rds"), "datastore_dependencies", "<owner-service>-<purpose>"),
    ("datastore dependency with a quote", with_flags(datastore_dependencies='klaus-"rds'), "datastore_dependencies", "<owner-service>-<purpose>"),
    ("more dependencies than security groups", with_flags(svc_dependencies="bpg,aa,bb",
                                                          datastore_dependencies="klausapproves-rds,klausapproves-cache"),
     "datastore_dependencies", "at most 4"),
    ("infra repo that is an option", with_flags(infra_repo="--upload-pack=evil"), "infra_repo", "git URL"),
    ("infra repo with a space", with_flags(infra_repo="owner/name extra"), "infra_repo", "git URL"),
    ("uppercase repository", with_flags(repository="Klaus"), "repository", "lowercase"),
]


@pytest.mark.parametrize(("flags", "question", "rule"), [case[1:] for case in BAD_INPUT],
                         ids=[case[0] for case in BAD_INPUT])
def test_bad_answer_is_rejected_with_one_line_and_nothing_written(tmp_path, capsys, flags, question, rule):
    dest = tmp_path / "klausapproves"
    code = cli.main(["new", "service", *flags, f"-dest={dest}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err and err[-1].startswith(f"lemi: {question}: "), err
    assert rule in err[-1]
    assert "Traceback" not in "\n".join(err)
    assert not dest.exists(), "a rejected answer must leave nothing behind"


def test_rejection_into_an_existing_folder_leaves_it_untouched(tmp_path, capsys):
    dest = tmp_path / "klausapproves"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    assert cli.main(["new", "service", *with_flags(envs="prod,dev"), f"-dest={dest}"]) == 2
    assert sorted(path.name for path in dest.iterdir()) == ["notes.txt"]


def test_the_installed_command_prints_no_traceback(tmp_path):
    dest = tmp_path / "klausapproves"
    result = subprocess.run(
        [sys.executable, "-m", "lemi_hooks.cli", "new", "service", *with_flags(name="Klaus Approves"), f"-dest={dest}"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[-1]] and lines[-1].startswith("lemi: service_name: "), result.stderr
    assert not dest.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["new", "service", "-name"], "-name needs a value"),
    (["new", "service", "-colour=blue"], "unknown flag -colour"),
    (["new", "service", "-external=maybe"], "-external: expected true or false"),
    (["new", "service", "-auto-scaling=min=one"], "min must be a whole number"),
    (["new", "service", "-auto-scaling=speed=2"], "is not one of"),
    (["new", "thing"], "makes a service"),
    (["deploy"], "unknown command"),
])
def test_malformed_command_lines_are_usage_errors(capsys, args, message):
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err


def test_copier_directly_rejects_with_the_same_rule(tmp_path):
    """Users of plain `copier copy` meet the same validators, naming the question."""
    from conftest import render, seed_answers

    with pytest.raises(ValueError, match=r"question 'autoscaling_target'.*1 to 100"):
        render(tmp_path / "klausapproves", seed_answers(autoscaling_target=101))
    assert not (tmp_path / "klausapproves" / "deploy").exists()


# --- the rules themselves, at the edges ---------------------------------------------------

@pytest.mark.parametrize(("cpu", "memory", "ok"), [
    ("256", "512", True), ("256", "2048", True), ("256", "3072", False),
    ("0.25 vCPU", "0.5 GB", True), ("512", "4 GB", True), ("512", "5120", False),
    ("1 vCPU", "2 GB", True), ("1024", "1024", False), ("4096", "30720", True),
    ("8192", "20480", True), ("8192", "18432", False), ("16384", "122880", True),
])
def test_fargate_pairs(cpu, memory, ok):
    assert (validation.check("memory", memory, {"cpu": cpu}) == "") is ok


def test_longest_allowed_name_fits_every_aws_limit():
    from lemi_hooks import naming

    limit = naming.max_service_name_length()
    longest = "a" * limit
    assert validation.check("service_name", longest, {"repository": "a"}) == ""
    assert all(len(name) <= cap for _, name, cap in naming.derived_names(longest, ["pre", "qa", "prod"]))
    assert "too long" in validation.check("service_name", longest + "a", {"repository": "a"})


@pytest.mark.parametrize("value", ["owner/infra", "git@github.com:owner/infra.git",
                                   "https://github.com/owner/infra.git", "file:///srv/infra.git",
                                   "/srv/git/infra.git", "../infra", ""])
def test_infra_repo_forms_accepted(value):
    assert validation.check("infra_repo", value) == ""
