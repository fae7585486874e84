"""What `copier copy` and `lemi new service` generate: the seed example end to end, and its variations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import SEED_ANSWERS, TEMPLATE_ROOT, git
from lemi_hooks import cli

# The seed's deploy/service.yaml for klausapproves, with real numbers for "cpu: X, memory: X".
# Its environment entries illustrate the syntax; a new service starts with none (the
# generated file carries them as commented examples) and its owners add their own.
SEED_SPEC = {
    "type": "service",
    "name": "klausapproves",
    "spec": {
        "image": "klausapproves",
        "resources": {"cpu": 256, "memory": 512},
        "autoscaling": {"resource": "cpu", "min": 1, "max": 10, "target": 70},
        "ingress": {"external": True},
        "dependencies": {"services": ["bpg"], "data": ["klausapproves-rds", "klausapproves-cache"]},
        "environment": [],
    },
}

# Left in rendered files on purpose: the spec's references and GitHub's expressions.
INTENTIONAL_BRACES = re.compile(r"\{\{ \.Variables\[\"[^\"]+\"\] \}\}|\$\{\{")


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def test_seed_example_service_yaml_equals_the_seed(seed_project):
    assert load_yaml(seed_project / "deploy" / "service.yaml") == SEED_SPEC


def test_seed_example_files(seed_project):
    assert (seed_project / "OWNERS").read_text().split() == ["klaus", "ana-ops"]
    assert "* @klaus @ana-ops" in (seed_project / ".github" / "CODEOWNERS").read_text()
    for env in ("pre", "prod"):
        config = load_yaml(seed_project / "deploy" / env / "config.yaml")
        assert config == {"variables": [], "secrets": []}
    assert not (seed_project / "deploy" / "qa").exists()
    answers = load_yaml(seed_project / ".copier-answers.yml")
    assert answers["_src_path"] and answers["_commit"]
    assert {key: answers[key] for key in SEED_ANSWERS} == SEED_ANSWERS
    # Computed values and platform settings are never frozen into the answers.
    assert not {"conventions", "cpu_units", "memory_mib", "java_package"} & set(answers)


def test_config_examples_show_the_seed_shape_when_uncommented(seed_project):
    """The commented example in each config is the seed's shape, ready to uncomment."""
    text = (seed_project / "deploy" / "prod" / "config.yaml").read_text()
    uncommented = re.sub(r"^#  (- key|  value)", r"  \1", text, flags=re.MULTILINE).replace("variables: []", "variables:").replace(
        "secrets: []", "secrets:")
    config = yaml.safe_load(uncommented)
    assert config["variables"] == [{"key": "featureFlag", "value": "false"}]
    assert config["secrets"] == [{"key": "apiKey", "value": "klausapproves/prod/api.api_key"}]
    spec_text = (seed_project / "deploy" / "service.yaml").read_text()
    spec = yaml.safe_load(re.sub(r"^  #  (- key|  value)", r"    \1", spec_text, flags=re.MULTILINE).replace("environment: []", "environment:"))
    assert {"key": "API_KEY", "value": '{{ .Variables["apiKey"] }}'} in spec["spec"]["environment"]


def test_no_unrendered_jinja_anywhere(seed_project):
    # Files Copier copies verbatim (no .jinja suffix) are code, free to mention braces.
    verbatim = {path.read_bytes() for path in (TEMPLATE_ROOT / "template").rglob("*")
                if path.is_file() and path.suffix != ".jinja"}
    leftovers = []
    for path in seed_project.rglob("*"):
        if not path.is_file() or ".git" in path.parts or path.read_bytes() in verbatim:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        stripped = INTENTIONAL_BRACES.sub("", text)
        if "{{" in stripped or "{%" in stripped or path.suffix == ".jinja":
            leftovers.append(str(path.relative_to(seed_project)))
    assert leftovers == []


def test_conventions_are_rendered_for_the_vendored_tool(seed_project):
    conventions = json.loads((seed_project / ".lemi" / "conventions.json").read_text())
    assert sorted(conventions["environments"]) == ["pre", "prod"]
    pre = conventions["environments"]["pre"]
    assert pre["internal_host"] == "klausapproves.pre.internal.lemon.me"
    assert pre["external_host"] == "klausapproves.pre.lemon.me"
    assert conventions["dependency_security_groups"] == [
        "bpg-clients", "klausapproves-rds-clients", "klausapproves-cache-clients"]
    required = {dep["name"]: dep["required"] for dep in pre["dependencies"]}
    assert required == {"bpg": True, "klausapproves-rds": True, "klausapproves-cache": False}


@pytest.mark.parametrize("environments", [["pre"], ["qa"], ["prod"], ["pre", "prod"], ["pre", "qa", "prod"]])
def test_each_environment_subset_gets_exactly_its_configs(make_project, environments):
    project = make_project(environments=environments)
    assert sorted(path.name for path in (project / "deploy").iterdir() if path.is_dir()) == sorted(environments)
    conventions = json.loads((project / ".lemi" / "conventions.json").read_text())
    assert sorted(conventions["environments"]) == sorted(environments)


def test_internal_service(make_project):
    project = make_project(external=False)
    assert load_yaml(project / "deploy" / "service.yaml")["spec"]["ingress"] == {"external": False}
    conventions = json.loads((project / ".lemi" / "conventions.json").read_text())
    assert all(env["external_host"] == "" for env in conventions["environments"].values())
    assert "Public URL" not in (project / "README.md").read_text()


def test_domain_makes_the_service_external_and_serves_prod(make_project):
    answers = {k: v for k, v in SEED_ANSWERS.items() if k != "external"}
    project = make_project(**{**answers, "domain": "approvals.lemon.me"})
    ingress = load_yaml(project / "deploy" / "service.yaml")["spec"]["ingress"]
    assert ingress == {"external": True, "domain": "approvals.lemon.me"}
    envs = json.loads((project / ".lemi" / "conventions.json").read_text())["environments"]
    assert envs["prod"]["external_host"] == "approvals.lemon.me"
    assert envs["pre"]["external_host"] == "klausapproves.pre.lemon.me"


def test_external_without_domain_uses_the_convention(seed_project):
    envs = json.loads((seed_project / ".lemi" / "conventions.json").read_text())["environments"]
    assert envs["prod"]["external_host"] == "klausapproves.prod.lemon.me"


def test_cpu_and_memory_in_aws_words_are_normalised(make_project):
    project = make_project(cpu="1 vCPU", memory="2 GB")
    assert load_yaml(project / "deploy" / "service.yaml")["spec"]["resources"] == {"cpu": 1024, "memory": 2048}


def test_readme_tells_what_to_fill_in(seed_project):
    readme = (seed_project / "README.md").read_text()
    for words in ("spec.environment", "deploy/<env>/config.yaml", "copier update", "Roll back",
                  "klausapproves.pre.internal.lemon.me", "@klaus"):
        assert words in readme


# --- the lemi CLI ------------------------------------------------------------------------

SEED_INIT = ["init", "service", "-name=klausapproves", "-envs=pre,prod", "-external=true", "-svc-dependencies=bpg",
             "-datastore-dependencies=klausapproves-rds,klausapproves-cache", "-cpu=256", "-memory=512",
             "-auto-scaling=resource=cpu,min=1,max=10"]


@pytest.fixture
def developer(tmp_path, monkeypatch):
    """A developer whose git knows their GitHub login, working in a fresh repository."""
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[github]\n\tuser = klaus\n[user]\n\tname = Klaus\n\temail = klaus@lemon.me\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.delenv("GITHUB_USER", raising=False)
    monkeypatch.delenv("GITHUB_ACTOR", raising=False)
    monkeypatch.setenv("LEMI_TEMPLATE", str(Path(__file__).resolve().parent.parent))
    return tmp_path


def test_seed_init_form_verbatim_in_the_repository(developer, monkeypatch, capsys):
    repo = developer / "klausapproves"
    repo.mkdir()
    git(repo, "init", "-q")
    monkeypatch.chdir(repo)
    assert cli.main([*SEED_INIT, "-vcs-ref=HEAD"]) == 0
    assert load_yaml(repo / "deploy" / "service.yaml") == SEED_SPEC
    assert (repo / "OWNERS").read_text().split() == ["klaus"]
    captured = capsys.readouterr()
    assert "what to fill in next" in (captured.out + captured.err).lower()


def test_seed_new_form_verbatim(developer, monkeypatch):
    repo = developer / "svc-name"
    repo.mkdir()
    monkeypatch.chdir(repo)
    assert cli.main(["new", "service", "-name=svc-name", "-envs=pre,prod", "-domain=svc.lemon.me",
                     "-vcs-ref=HEAD"]) == 0
    spec = load_yaml(repo / "deploy" / "service.yaml")
    assert spec["name"] == "svc-name"
    assert spec["spec"]["ingress"] == {"external": True, "domain": "svc.lemon.me"}
    assert sorted(p.name for p in (repo / "deploy").iterdir() if p.is_dir()) == ["pre", "prod"]


def test_cli_flags_map_to_the_same_answers_as_copier(developer):
    dest = developer / "klausapproves"
    assert cli.main([*SEED_INIT, "-owners=klaus,ana-ops", f"-dest={dest}", "-vcs-ref=HEAD"]) == 0
    answers = load_yaml(dest / ".copier-answers.yml")
    assert {key: answers[key] for key in SEED_ANSWERS} == SEED_ANSWERS


def test_cli_records_a_relative_template_path_as_absolute(developer, monkeypatch):
    """A relative _src_path would break every later `copier update`."""
    monkeypatch.chdir(TEMPLATE_ROOT.parent)
    dest = developer / "klausapproves"
    assert cli.main([*SEED_INIT, f"-template={TEMPLATE_ROOT.name}", f"-dest={dest}", "-vcs-ref=HEAD"]) == 0
    assert load_yaml(dest / ".copier-answers.yml")["_src_path"] == str(TEMPLATE_ROOT)


def test_the_github_cli_login_owns_a_service_when_nothing_else_says(tmp_path, monkeypatch):
    empty = tmp_path / "gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    for variable in ("GITHUB_USER", "GITHUB_ACTOR"):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / "gh").mkdir()
    (tmp_path / "gh" / "hosts.yml").write_text("github.com:\n    user: klaus-gh\n    git_protocol: https\n")
    monkeypatch.setenv("GH_CONFIG_DIR", str(tmp_path / "gh"))
    dest = tmp_path / "klausapproves"
    assert cli.main([*SEED_INIT, f"-dest={dest}", "-vcs-ref=HEAD"]) == 0
    assert (dest / "OWNERS").read_text().split() == ["klaus-gh"]


def test_cli_without_any_owner_says_how_to_give_one(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GH_CONFIG_DIR", str(tmp_path / "no-gh"))
    for variable in ("GITHUB_USER", "GITHUB_ACTOR"):
        monkeypatch.delenv(variable, raising=False)
    assert cli.main([*SEED_INIT, f"-dest={tmp_path / 'klausapproves'}"]) == 2
    assert "-owners" in capsys.readouterr().err
    assert not (tmp_path / "klausapproves").exists()


def test_second_service_in_the_same_repository_gets_its_own_folder(developer):
    repo = developer / "klausapproves"
    assert cli.main([*SEED_INIT, f"-dest={repo}", "-vcs-ref=HEAD"]) == 0
    first_spec = (repo / "deploy" / "service.yaml").read_text()
    assert cli.main(["new", "service", "-name=klausapproves-worker", "-envs=pre", "-owners=ana-ops",
                     f"-dest={repo}", "-vcs-ref=HEAD"]) == 0
    assert (repo / "deploy" / "service.yaml").read_text() == first_spec
    second = load_yaml(repo / "klausapproves-worker" / "deploy" / "service.yaml")
    assert second["name"] == "klausapproves-worker"
    assert load_yaml(repo / "klausapproves-worker" / ".copier-answers.yml")["service_path"] == "klausapproves-worker"
    codeowners = (repo / ".github" / "CODEOWNERS").read_text()
    assert "* @klaus" in codeowners and "/klausapproves-worker/ @ana-ops" in codeowners


def test_same_service_twice_is_refused(developer, capsys):
    repo = developer / "klausapproves"
    assert cli.main([*SEED_INIT, f"-dest={repo}", "-vcs-ref=HEAD"]) == 0
    assert cli.main([*SEED_INIT, f"-dest={repo}"]) == 2
    assert "already lives here" in capsys.readouterr().err


@pytest.mark.parametrize("placement", [{}, {"service_path": "klausapproves-worker"}],
                         ids=["same folder", "own folder, shared answers file"])
def test_plain_copier_refuses_a_second_service_that_would_clobber_the_first(seed_project, tmp_path, placement):
    """Without its own answers file a second service would overwrite the first one's answers."""
    import shutil

    from conftest import render, seed_answers

    repo = tmp_path / "klausapproves"
    shutil.copytree(seed_project, repo)
    before = {path: path.read_bytes() for path in repo.rglob("*") if path.is_file()}
    with pytest.raises(ValueError, match=r"question 'service_path'.*already holds 'klausapproves'.*-a "
                                         r"klausapproves-worker/\.copier-answers\.yml"):
        render(repo, seed_answers(service_name="klausapproves-worker", **placement))
    after = {path: path.read_bytes() for path in repo.rglob("*") if path.is_file()}
    assert after == before


def test_lemi_leaves_an_existing_repository_untouched_when_a_file_is_in_the_way(developer, capsys):
    repo = developer / "klausapproves"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "README.md").write_text("# our own README\n")
    assert cli.main([*SEED_INIT, f"-dest={repo}", "-vcs-ref=HEAD"]) == 2
    assert "already has a file lemi writes" in capsys.readouterr().err
    assert sorted(path.name for path in repo.iterdir()) == [".git", "README.md"]
    assert (repo / "README.md").read_text() == "# our own README\n"
