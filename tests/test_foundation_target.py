"""Target resolution: URLs, targets.toml, site flavours, secrets, load permission."""

import pytest

from hgharness.errors import HarnessError
from hgharness.secrets import MASK, redact
from hgharness.target import Target


def test_url_is_normalized_and_keeps_its_prefix():
    t = Target.from_options(target="https://code.example.com/hg", env={})
    assert t.url == "https://code.example.com/hg/"
    assert t.prefix == "/hg/"
    assert t.url_for("/repo/log") == "https://code.example.com/hg/repo/log"


@pytest.mark.parametrize("url, words", [
    ("ftp://x", "scheme must be http or https"),
    ("http://", "no host"),
    ("http://u:pw@host/", "credentials"),
    ("http://host:99999/", "bad target URL"),
])
def test_bad_urls_are_refused_with_one_line(url, words):
    with pytest.raises(HarnessError) as e:
        Target.from_options(target=url, env={})
    assert words in str(e.value) and "\n" not in str(e.value)
    assert "pw" not in str(e.value)


def test_unknown_site_lists_known_ones():
    with pytest.raises(HarnessError, match="unknown site flavour 'gitea' .known: hgweb, kallithea"):
        Target.from_options(target="http://127.0.0.1:1/", site="gitea", env={})


def _config(tmp_path, text: str) -> str:
    cfg = tmp_path / "targets.toml"
    cfg.write_text(text)
    return str(cfg)


@pytest.mark.parametrize("text, words", [
    ('[targets.a]\nurl = "http://127.0.0.1:1/"\nsite = hgweb\n', "line 3"),  # malformed: the line is named
    ('[targets.a]\nurl = "http://127.0.0.1:1/"\npasword = "x"\n', "unknown key.*pasword"),
])
def test_bad_config_is_refused_naming_the_spot(tmp_path, text, words):
    with pytest.raises(HarnessError, match=words):
        Target.from_options(target="a", config=_config(tmp_path, text), env={})


def test_named_target_from_config_with_password_env(tmp_path):
    cfg = tmp_path / "targets.toml"
    cfg.write_text('[targets.stage]\nurl = "https://hg.example.com/"\nusername = "qa"\n'
                   'password_env = "STAGE_PW"\nallow_load = true\n')
    t = Target.from_options(target="stage", config=str(cfg), env={"STAGE_PW": "s3cret-value"})
    assert t.name == "stage" and t.username == "qa" and t.password.reveal() == "s3cret-value"
    assert t.allow_load and t.allow_load_explicit
    for text in (repr(t), str(t.describe()), t.to_json(), f"{t.password}", str(t.password)):
        assert "s3cret-value" not in text
    assert redact("the password is s3cret-value") == f"the password is {MASK}"


def test_name_not_in_config_lists_known_names(tmp_path):
    cfg = tmp_path / "targets.toml"
    cfg.write_text('[targets.one]\nurl = "http://127.0.0.1:1/"\n')
    with pytest.raises(HarnessError, match=r"known: one"):
        Target.from_options(target="two", config=str(cfg), env={})


@pytest.mark.parametrize("url, allowed", [
    ("http://127.0.0.1:8000/", True), ("http://localhost/", True), ("http://[::1]:8/", True),
    ("http://127.3.4.5/", True), ("https://hg.example.com/", False), ("http://10.0.0.5/", False),
])
def test_load_is_allowed_only_on_loopback_by_default(url, allowed):
    t = Target.from_options(target=url, env={})
    assert t.allow_load is allowed
    if not allowed:
        with pytest.raises(HarnessError, match="refusing load traffic"):
            t.require_load_allowed()


def test_load_on_remote_needs_explicit_opt_in():
    assert Target.from_options(target="https://hg.example.com/", allow_load=True, env={}).allow_load
    assert Target.from_options(target="https://hg.example.com/", env={"HGHARNESS_ALLOW_LOAD": "1"}).allow_load
    assert not Target.from_options(target="http://127.0.0.1/", allow_load=False, env={}).allow_load


def test_tls_verification_is_on_by_default(tmp_path):
    t = Target.from_options(target="https://hg.example.com/", env={})
    assert t.verify is True
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    assert Target.from_options(target="https://hg.example.com/", ca_bundle=str(ca), env={}).verify == str(ca)
    assert Target.from_options(target="https://hg.example.com/", insecure=True, env={}).verify is False


def test_environment_round_trip_keeps_everything():
    t = Target.from_options(target="http://127.0.0.1:5/", username="u", env={"HGHARNESS_PASSWORD": "pw-round"})
    t2 = Target.from_options(env=t.to_env())
    assert (t2.url, t2.username, t2.password.reveal(), t2.site_name) == (t.url, "u", "pw-round", "hgweb")


def test_private_repos_come_from_the_config_or_the_environment_and_reach_the_suites(tmp_path):
    cfg = tmp_path / "targets.toml"
    cfg.write_text('[targets.k]\nurl = "https://code.example.com/"\nsite = "kallithea"\n'
                   'private_repos = ["secret-a", "secret-b"]\n')
    t = Target.from_options(target="k", config=str(cfg), env={})
    assert t.private_repos == ["secret-a", "secret-b"] and t.describe()["private_repos"] == t.private_repos
    assert Target.from_options(env=t.to_env()).private_repos == t.private_repos  # handed to child pytest
    env = {"HGHARNESS_PRIVATE_REPOS": "only-this"}
    assert Target.from_options(target="k", config=str(cfg), env=env).private_repos == ["only-this"]
    cfg.write_text('[targets.k]\nurl = "https://code.example.com/"\nprivate_repos = "a, b"\n')
    with pytest.raises(HarnessError, match='private_repos must be a list of strings, not the string "a, b"'):
        Target.from_options(target="k", config=str(cfg), env={})  # a list in the file; commas only in the env
    cfg.write_text('[targets.k]\nurl = "https://code.example.com/"\nprivate_repos = [1, 2]\n')
    with pytest.raises(HarnessError, match="private_repos must be a list"):
        Target.from_options(target="k", config=str(cfg), env={})


def test_disabled_capabilities_and_known_issue_policy_come_from_config_or_environment(tmp_path):
    cfg = tmp_path / "targets.toml"
    cfg.write_text('[targets.h]\nurl = "https://hg.example.com/"\ndisable = ["archives"]\nknown_issues = "fail"\n')
    t = Target.from_options(target="h", config=str(cfg), env={})
    assert not t.can("archives") and t.can("browse") and t.known_issues == "fail"
    again = Target.from_options(env=t.to_env())  # handed to child pytest and Locust
    assert again.disable == ["archives"] and again.known_issues == "fail"
    assert Target.from_options(target="h", config=str(cfg), env={"HGHARNESS_DISABLE": "json"}).disable == ["json"]
    with pytest.raises(HarnessError, match="unknown capability 'archive'"):
        Target.from_options(target="http://127.0.0.1:5/", env={"HGHARNESS_DISABLE": "archive"})
    with pytest.raises(HarnessError, match="known_issues must be"):
        Target.from_options(target="http://127.0.0.1:5/", env={"HGHARNESS_KNOWN_ISSUES": "ignore"})


# --- strict types (issue 16 item 4): never truthiness, always the file, the entry and the key named ----------

@pytest.mark.parametrize("line, words", [
    ('allow_load = "false"', 'allow_load must be true or false, not the string "false"'),
    ('insecure = "false"', 'insecure must be true or false, not the string "false"'),
    ('allow_destructive = 1', "allow_destructive must be true or false, not the integer 1"),
    ('anonymous_push = "no"', 'anonymous_push must be true or false, not the string "no"'),
    ('allow_js_errors = 0.0', "allow_js_errors must be true or false, not the number 0.0"),
    ("site = 1", "site must be a string, not the integer 1"),
    ("username = true", "username must be a string, not the boolean true"),
    ("password_env = 3", "password_env must be a string, not the integer 3"),
    ("ca_bundle = [1]", "ca_bundle must be a string, not a list"),
    ("front = {kind = 'nginx'}", "front must be a string, not a table"),
    ("fixture_dir = 2024-01-01", "fixture_dir must be a string, not a date"),
    ("header_policy = false", "header_policy must be a string, not the boolean false"),
    ("known_issues = 2", "known_issues must be a string, not the integer 2"),
    ('repos = "small"', 'repos must be a list of strings, not the string "small"'),
    ('repos = ["small", 2]', "repos must be a list of strings, but item 2 is the integer 2"),
    ("disable = [true]", "disable must be a list of strings, but item 1 is the boolean true"),
    ("private_repos = {a = 1}", "private_repos must be a list of strings, not a table"),
])
def test_a_wrongly_typed_key_is_refused_naming_file_entry_and_key(tmp_path, line, words):
    cfg = _config(tmp_path, f'[targets.staging]\nurl = "http://127.0.0.1:9/"\n{line}\n')
    with pytest.raises(HarnessError) as e:
        Target.from_options(target="staging", config=cfg, env={})
    assert str(e.value) == f"{cfg}: [targets.staging] {words}"


def test_a_wrongly_typed_url_is_refused_before_it_is_read(tmp_path):
    cfg = _config(tmp_path, "[targets.staging]\nurl = 5\n")
    with pytest.raises(HarnessError, match=r"\[targets.staging\] url must be a string, not the integer 5"):
        Target.from_options(target="staging", config=cfg, env={})


def test_a_broken_entry_is_refused_even_when_the_target_is_a_url(tmp_path):
    cfg = _config(tmp_path, '[targets.other]\nurl = "http://127.0.0.1:9/"\nallow_load = "yes"\n')
    with pytest.raises(HarnessError, match=r"\[targets.other\] allow_load must be true or false"):
        Target.from_options(target="http://127.0.0.1:9/", config=cfg, env={})


@pytest.mark.parametrize("value, expected", [
    ("1", True), ("true", True), ("YES", True), (" yes ", True), ("0", False), ("false", False), ("No", False),
])
def test_boolean_environment_variables_take_the_usual_words(value, expected):
    for name, attr in (("HGHARNESS_ALLOW_LOAD", "allow_load"), ("HGHARNESS_INSECURE", "insecure"),
                       ("HGHARNESS_ALLOW_DESTRUCTIVE", "allow_destructive"),
                       ("HGHARNESS_ANONYMOUS_PUSH", "anonymous_push"), ("HGHARNESS_EMBEDDED", "embedded"),
                       ("HGHARNESS_ALLOW_JS_ERRORS", "allow_js_errors")):
        t = Target.from_options(target="https://hg.example.com/", env={name: value})
        assert getattr(t, attr) is expected, name


@pytest.mark.parametrize("name", ["HGHARNESS_ALLOW_LOAD", "HGHARNESS_INSECURE", "HGHARNESS_ALLOW_DESTRUCTIVE",
                                  "HGHARNESS_ANONYMOUS_PUSH", "HGHARNESS_EMBEDDED", "HGHARNESS_ALLOW_JS_ERRORS"])
@pytest.mark.parametrize("value", ["maybe", "on", "2", "falsch"])
def test_a_boolean_environment_variable_with_another_word_is_refused_naming_it(name, value):
    with pytest.raises(HarnessError) as e:
        Target.from_options(target="http://127.0.0.1:9/", env={name: value})
    assert str(e.value) == f"environment variable {name} must be 1/0/true/false/yes/no, not {value!r}"


def test_false_in_the_config_means_false(tmp_path):
    cfg = _config(tmp_path, '[targets.s]\nurl = "https://hg.example.com/"\nallow_load = false\ninsecure = false\n'
                  "allow_destructive = false\n")
    t = Target.from_options(target="s", config=cfg, env={})
    assert (t.allow_load, t.insecure, t.allow_destructive, t.verify) == (False, False, False, True)
    assert Target.from_options(target="s", config=cfg, env={"HGHARNESS_ALLOW_LOAD": "yes"}).allow_load  # env wins


# --- destructive checks (issue 16 item 11): loopback may be changed, a remote target only with a yes ------------

@pytest.mark.parametrize("url, allowed", [
    ("http://127.0.0.1:8000/", True), ("http://localhost/", True), ("http://[::1]:8/", True),
    ("https://hg.example.com/", False), ("http://10.0.0.5/", False),
])
def test_destructive_checks_are_allowed_only_on_loopback_by_default(url, allowed):
    t = Target.from_options(target=url, env={})  # no request: the decision is the URL's
    assert t.allow_destructive is allowed and t.describe()["allow_destructive"] is allowed
    if allowed:
        assert t.destructive_refusal() is None
    else:
        assert "not loopback" in t.destructive_refusal() and "--allow-destructive" in t.destructive_refusal()


def test_destructive_checks_on_a_remote_target_need_an_explicit_yes(tmp_path):
    remote = "https://hg.example.com/"
    assert Target.from_options(target=remote, allow_destructive=True, env={}).allow_destructive
    assert Target.from_options(target=remote, env={"HGHARNESS_ALLOW_DESTRUCTIVE": "1"}).allow_destructive
    cfg = _config(tmp_path, f'[targets.s]\nurl = "{remote}"\nallow_destructive = true\n')
    t = Target.from_options(target="s", config=cfg, env={})
    assert t.allow_destructive and Target.from_options(env=t.to_env()).allow_destructive  # reaches child pytest
    assert not Target.from_options(env=Target.from_options(target=remote, env={}).to_env()).allow_destructive
    assert not Target.from_options(target="http://127.0.0.1/", allow_destructive=False, env={}).allow_destructive
