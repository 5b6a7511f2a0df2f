"""The response policy checks (suites/security/test_policy.py) against the embedded hgweb: the healthy target
passes; each broken build of tests/policy_broken.py fails the check that names its route and rule; a policy
loosened (or tightened) in targets.toml turns a verdict as it should."""

from __future__ import annotations

import pytest

from hgharness.policy import Policy
from tests.conftest import ROOT, hgweb, target_for
from tests.headless_helpers import build_suite_repos

pytestmark = [pytest.mark.integration]

CHECKS = ["suites/security/test_policy.py"]

# defect -> (the failing check's id, what its message says, the target's policy); the checks visit the smallest
# repository, `hostile`
DEFECTS = {
    "cors_reflect_credentials": ("test_response_policy[json_log]",
                                 "as user: cors-credentialed: lets https://evil.example read it with the user's "
                                 "credentials", Policy()),
    "cors_credentials_for_users": ("test_response_policy[rev]", ("rev [rev html] GET /hostile/rev/",
                                                                 "as user: cors-credentialed"), Policy()),
    "cors_any_origin": ("test_response_policy[summary]", "as anonymous: cors-anonymous: lets https://evil.example "
                        "read it (Access-Control-Allow-Origin: *)", Policy()),
    "preflight_grants_any": ("test_preflight[index]", "cors-preflight: lets https://evil.example send requests "
                             "with the user's credentials", Policy()),
    "json_as_html": ("test_response_policy[json_index]", "json_index [index json] GET /?style=json: content-type: "
                     "json served as 'text/html; charset=UTF-8' (expected application/json)", Policy()),
    "patch_as_html": ("test_response_policy[raw_rev]", ("raw_rev [rev patch] GET /hostile/raw-rev/",
                                                        "content-type: patch served as 'text/html; charset=UTF-8'"),
                      Policy()),
    "html_without_charset": ("test_response_policy[shortlog]", "charset: html served as 'text/html', without a "
                             "charset", Policy()),
    "patch_without_type": ("test_response_policy[raw_rev]", "nosniff: no Content-Type without "
                           "X-Content-Type-Options: nosniff", Policy()),
    "deny_framing_except_shortlog": ("test_response_policy[shortlog]", "shortlog [shortlog html] GET /hostile/shortlog: "
                                     "framing: neither X-Frame-Options nor CSP frame-ancestors, but the policy "
                                     "says deny", Policy(frame="deny")),
    "login_form_frameable": ("test_response_policy[summary]", "framing: neither X-Frame-Options nor CSP "
                             "frame-ancestors, but the policy says sameorigin: other sites can frame it "
                             "(clickjacking) (a page with a form)", Policy()),
    "session_cookie_without_httponly": ("test_cookie_flags", "cookie-httponly: cookie 'hgsession' without "
                                        "HttpOnly", Policy()),
}
# defect -> the only checks it may fail (one defect, one rule: the other checks hold)
ONLY = {
    "cors_reflect_credentials": ("test_response_policy[", "test_preflight["),
    "cors_credentials_for_users": ("test_response_policy[",),
    "cors_any_origin": ("test_response_policy[", "test_preflight["),
    "preflight_grants_any": ("test_preflight[",),
    "json_as_html": ("test_response_policy[json_index]",),
    "patch_as_html": ("test_response_policy[raw_rev]",),
    "html_without_charset": ("test_response_policy[shortlog]",),
    "patch_without_type": ("test_response_policy[raw_rev]",),
    "deny_framing_except_shortlog": ("test_response_policy[shortlog]",),
    "login_form_frameable": ("test_response_policy[summary]",),
    "session_cookie_without_httponly": ("test_cookie_flags",),
}


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    return build_suite_repos(tmp_path_factory.mktemp("policy-set") / "repos")


def run_checks(server, run_dir, policy: Policy, **target):
    from hgharness.suites.runner import run_pytest_stage

    run_dir.mkdir(parents=True, exist_ok=True)
    return run_pytest_stage("headless", CHECKS, target_for(server, policy=policy, **target), run_dir,
                            progress=lambda msg: None)


def failing(stage) -> list[dict]:
    return [t for t in stage.tests if t["outcome"] in ("failed", "error")]


def test_healthy_hgweb_passes(repos, tmp_path):
    with hgweb(repos) as server:
        stage = run_checks(server, tmp_path / "run", Policy())
    assert stage.exit_code == 0, [f"{t['id']}: {t['message'][:300]}" for t in failing(stage)]
    passed = [t["id"] for t in stage.tests if t["outcome"] == "passed"]
    assert any("test_response_policy[json_log]" in i for i in passed) and any("test_cookie_flags" in i
                                                                                for i in passed), passed


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_broken_build_fails_naming_route_and_rule(repos, tmp_path, defect):
    check, says, policy = DEFECTS[defect]
    with hgweb(repos, wrap=f"tests.policy_broken:{defect}") as server:
        stage = run_checks(server, tmp_path / "run", policy)
    failed = failing(stage)
    assert stage.exit_code == 1, f"{defect}: exit {stage.exit_code} ({stage.detail}), expected 1"
    says = (says,) if isinstance(says, str) else says
    named = [t for t in failed if check in t["id"] and all(s in t["message"] for s in says)]
    assert named, f"{defect}: no failing {check} saying {says!r}; failures: " + "; ".join(
        f"{t['id']}: {t['message'][:200]}" for t in failed[:4])
    others = [t["id"] for t in failed if not any(only in t["id"] for only in ONLY[defect])]
    assert not others, f"{defect}: other checks failed too: {others}"


def test_loosened_policy_passes_what_the_default_fails(repos, tmp_path):
    """`*` for anonymous readers is the policy's to allow (a public mirror may want it); credentials never."""
    with hgweb(repos, wrap="tests.policy_broken:cors_any_origin") as server:
        stage = run_checks(server, tmp_path / "run", Policy(cors_allowed_origins=("*",)))
    assert stage.exit_code == 0, [f"{t['id']}: {t['message'][:300]}" for t in failing(stage)]


def test_tightened_policy_fails_what_the_default_passes(repos, tmp_path):
    """frame = "deny" fails the stock hgweb (no X-Frame-Options) and passes a build that sends DENY."""
    with hgweb(repos) as server:
        stock = run_checks(server, tmp_path / "stock", Policy(frame="deny"))
    with hgweb(repos, wrap="tests.policy_broken:deny_framing") as server:
        denying = run_checks(server, tmp_path / "denying", Policy(frame="deny"))
    assert stock.exit_code == 1 and any("test_response_policy[log]" in t["id"] for t in failing(stock))
    assert denying.exit_code == 0, [f"{t['id']}: {t['message'][:300]}" for t in failing(denying)]


def test_a_cookie_without_secure_fails_over_https_only(repos, tmp_path, monkeypatch):
    from hgharness.front import start_hgweb_behind_nginx

    # the fronted hgweb's workers import the wrap from this checkout (hgweb() below sets this only while it runs)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    wrap = "tests.policy_broken:session_cookie_without_secure"
    with hgweb(repos, wrap=wrap) as server:
        plain = run_checks(server, tmp_path / "http", Policy())
    fronted = start_hgweb_behind_nginx(repos, tmp_path / "tls", tls=True, wrap=wrap)
    try:
        tls = run_checks(fronted, tmp_path / "https", Policy(), ca_bundle=fronted.ca_file)
        loosened = run_checks(fronted, tmp_path / "loosened", Policy(cookie_secure=False), ca_bundle=fronted.ca_file)
        assert not fronted.tracebacks(), fronted.tracebacks()
    finally:
        fronted.stop()
    assert plain.exit_code == 0, [f"{t['id']}: {t['message'][:300]}" for t in failing(plain)]
    assert [t["id"].split("::")[-1] for t in failing(tls)] == ["test_cookie_flags"], failing(tls)
    assert "cookie-secure: cookie 'hgsession' without Secure on an https site" in failing(tls)[0]["message"]
    assert loosened.exit_code == 0, [f"{t['id']}: {t['message'][:300]}" for t in failing(loosened)]
