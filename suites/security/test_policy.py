"""The response policy, route kind by route kind: a foreign origin (Origin: https://evil.example, sent to the
target only) cannot read the site, anonymously or with the user's credentials, nor have a preflight granted,
unless the target's policy allows it; each answer has the Content-Type of what it is (with a charset where the
site generates text, nosniff where a browser would sniff); HTML pages refuse framing as the policy asks (pages
with a form that posts or asks a password: `frame_forms`); cookies carry HttpOnly, SameSite and, on https,
Secure. The policy is the target's `[targets.NAME.policy]` (hgharness/policy.py); failures name the route kind,
the site's route name and the rule."""

from __future__ import annotations

import pytest

from hgharness.suites.security.policy_routes import (
    DECLARED_REPS,
    path_for,
    preflight_probes,
    probes,
    request_headers,
    route_name,
    send,
)
from hgharness.suites.security.policy_rules import (
    cookie_problems,
    cors_problems,
    frame_problems,
    has_form,
    type_problems,
)
from hgharness.suites.support.known_issues import known_defect
from hgharness.suites.support.table import from_plan

pytestmark = [pytest.mark.security, pytest.mark.nondestructive]

_answers: dict = {}  # (target, probe id, who, method) -> Answer: each request once per worker
COOKIE_KINDS = ("index", "summary")  # pages anyone opens first: where a site sets its session cookie


def _coverage() -> list[dict]:
    """What these checks assert, for each site adapter: one entry per route and representation and check."""
    from hgharness.sites import load_site

    out = []
    for name in ("hgweb", "kallithea"):
        site = load_site(name)
        reps = DECLARED_REPS.get(name, {})
        out += [{"route": p.route, "rep": reps.get(p.kind, p.rep), "aspect": "policy", "check": "test_response_policy"}
                for p in probes(site)]
        out += [{"route": p.route, "rep": reps.get(p.kind, p.rep), "aspect": "policy", "check": "test_preflight"}
                for p in preflight_probes(site)]
        cookie_kinds = COOKIE_KINDS + (("login",) if site.can("accounts") else ())
        out += [{"route": route_name(name, kind), "rep": "html", "aspect": "policy", "check": "test_cookie_flags"}
                for kind in cookie_kinds]
    return list({(e["route"], e["rep"], e["check"]): e for e in out}.values())


COVERAGE = _coverage()


@pytest.fixture(scope="session")
def sessions(target):
    """who -> a session: "anonymous", and "user" (logged in: Kallithea's form login; hgweb: basic auth) when the
    target has credentials; "login_cookies": the Set-Cookie headers the login answered with."""
    from hgharness.http import session

    out = {"anonymous": session(target)}
    cookies: list = []
    if target.has_credentials():
        if target.can("accounts"):
            web = target.site.web(target)
            web.http.hooks["response"].append(
                lambda r, *a, **k: cookies.extend(r.raw.headers.getlist("Set-Cookie")))
            assert web.login(target.username, target.password), f"login as {target.username} refused"
            web.http.hooks["response"].clear()
            out["user"] = web.http
        else:
            out["user"] = session(target, auth=True)
    out["login_cookies"] = cookies
    yield out
    for s in out.values():
        if hasattr(s, "close"):
            s.close()


def answer(target, plan, sessions, probe, who: str, preflight: bool = False):
    method = "OPTIONS" if preflight else "GET"
    key = (target.url, probe.id, who, method)
    if key not in _answers:
        _answers[key] = send(sessions[who], target, path_for(target, plan, probe), method,
                             request_headers(target, probe, preflight), body=probe.rep == "html" and not preflight)
    return _answers[key]


def where(probe, a) -> str:
    return f"{probe.id} [{probe.route} {probe.rep}] {a.method} /{a.path}"


def _who(probe, sessions) -> list[str]:
    if probe.user_page:
        return ["user"] if "user" in sessions else []
    return ["anonymous"] + (["user"] if "user" in sessions else [])


def probe_rows(plan) -> list:
    if not plan.checked:
        return []
    return [pytest.param(p, id=p.id) for p in probes(plan.target.site)]


def preflight_rows(plan) -> list:
    if not plan.checked:
        return []
    return [pytest.param(p, id=p.id) for p in preflight_probes(plan.target.site)]


def _known(target, probe, rule: str):
    return next((i for i in target.site.KNOWN_ISSUES if rule in i.get("policy", ())
                 and probe.kind in i.get("kinds", ())), None)


def content_problems(target, probe, a) -> list[str]:
    """What the answer a user gets of the page (a logged-in one for account pages) breaks: its type, its
    framing."""
    problems = type_problems(probe.rep, a.headers, a.path, probe.fmt, target.policy)
    if probe.rep == "html":
        form = has_form(a.body)
        site_origin = "/".join(target.url.split("/", 3)[:3])
        problems += [p + (" (a page with a form)" if form else "")
                     for p in frame_problems(a.headers, target.policy.frame_level(form), site_origin)]
    return problems


@from_plan("probe", probe_rows)
def test_response_policy(target, plan, sessions, probe):
    """One route kind: no foreign origin reads it (anonymously, as the user) unless the policy allows it; its
    type, charset, nosniff and framing are what the policy asks of its representation."""
    who = _who(probe, sessions)
    if not who:
        pytest.skip(f"{probe.kind} is a logged-in user's page: the target has no credentials")
    problems, page = [], None
    for w in who:
        a = answer(target, plan, sessions, probe, w)
        assert a.status < 500, f"{where(probe, a)} as {w}: HTTP {a.status}"
        problems += [f"as {w}: {p}" for p in cors_problems(a.headers, target.policy)]
        page = page or (a if a.status == 200 else None)
    if page is None:  # a redirect or refusal: only its CORS headers are graded
        print(f"{probe.id}: content not graded, HTTP {a.status} for {who[-1]}")
    else:
        problems += content_problems(target, probe, page)
    known = _known(target, probe, "framing")
    expected = [p for p in problems if known and p.startswith("framing:")]
    problems = [p for p in problems if p not in expected]
    assert not problems, f"{where(probe, a)}: " + "; ".join(problems)
    if expected:
        known_defect(target, f"known {known['id']}: {known['why']} ({where(probe, a)}: {expected[0]})")


@from_plan("probe", preflight_rows)
def test_preflight(target, plan, sessions, probe):
    # browsers send a preflight without credentials; what it grants is asked of the answer's headers
    a = answer(target, plan, sessions, probe, "anonymous", preflight=True)
    assert a.status < 500, f"{where(probe, a)}: HTTP {a.status}"
    problems = cors_problems(a.headers, target.policy, preflight=True)
    assert not problems, f"{where(probe, a)}: " + "; ".join(problems)


def test_cookie_flags(target, plan, sessions):
    """Every cookie the site sets (anonymous pages, the login, a logged-in page) has the policy's flags."""
    if not plan.checked:
        pytest.skip("no repository to visit")
    seen = [(f"login as {target.username}", c) for c in sessions["login_cookies"]]
    for p in (p for p in probes(target.site) if p.kind in COOKIE_KINDS):
        for who in _who(p, sessions):
            a = answer(target, plan, sessions, p, who)
            seen += [(f"{where(p, a)} as {who}", c) for c in a.set_cookies]
    https = target.url.startswith("https://")
    problems = [f"{label}: {p}" for label, c in seen for p in cookie_problems([c], https, target.policy)]
    print(f"{len(seen)} Set-Cookie header(s) seen" + (": " + ", ".join(sorted({c.split('=', 1)[0] for _l, c
                                                                                in seen})) if seen else ""))
    assert not problems, "; ".join(problems)
