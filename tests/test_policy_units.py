"""The response policy without a server: targets.toml parsing (one-line errors naming the field, exit 2 before
any connection), the safe defaults, and each rule's grading of headers."""

from __future__ import annotations

import pytest
from requests.structures import CaseInsensitiveDict

from hgharness.errors import HarnessError
from hgharness.policy import DEFAULT, Policy
from hgharness.suites.security.policy_rules import (
    cookie_problems,
    cors_problems,
    frame_problems,
    has_form,
    type_problems,
)
from hgharness.target import Target
from tests.conftest import run_cli

EVIL = "https://evil.example"
SITE = "http://127.0.0.1:8000"


def H(**kw) -> CaseInsensitiveDict:
    return CaseInsensitiveDict({k.replace("_", "-"): v for k, v in kw.items()})


def write(tmp_path, body: str):
    cfg = tmp_path / "targets.toml"
    cfg.write_text('[targets.staging]\nurl = "http://127.0.0.1:9/"\n' + body)
    return cfg


# --- parsing ----------------------------------------------------------------------------------------------------

def test_a_policy_table_is_read_and_travels_to_child_processes(tmp_path):
    cfg = write(tmp_path, '[targets.staging.policy]\ncors_allowed_origins = ["https://Docs.Example:8443", "*"]\n'
                          'frame = "deny"\ncookie_samesite = "strict"\n')
    t = Target.from_options(target="staging", config=str(cfg), env={})
    assert t.policy == Policy(cors_allowed_origins=("https://docs.example:8443", "*"), frame="deny",
                              cookie_samesite="strict")
    assert Target.from_options(env=t.to_env()).policy == t.policy
    assert "HGHARNESS_POLICY" not in Target.from_options(target="http://127.0.0.1:9/", env={}).to_env()


@pytest.mark.parametrize("table,says", [
    ('frame = "none"', 'frame must be one of "deny", "sameorigin", "any", not the string "none"'),
    ("cors_credentials = 1", "cors_credentials must be true or false, not the number 1"),
    ('cors_allowed_origins = "*"', 'cors_allowed_origins must be a list of origins, not the string "*"'),
    ('cors_allowed_origins = ["https://x.example/app"]', "cors_allowed_origins: item 1 'https://x.example/app' is "
                                                         "not an origin"),
    ("cors_origins = []", "has unknown key cors_origins (known: cors_allowed_origins"),
    ('cookie_samesite = "none"', 'cookie_samesite must be one of "strict", "lax", "any"'),
])
def test_a_wrong_field_is_one_line_naming_it(tmp_path, table, says):
    from hgharness.target import load_config

    cfg = write(tmp_path, f"[targets.staging.policy]\n{table}\n")
    with pytest.raises(HarnessError) as e:
        load_config(cfg)
    assert f"{cfg}: [targets.staging.policy] {says}" in str(e.value) and "\n" not in str(e.value)


def test_policy_that_is_no_table_is_refused(tmp_path):
    with pytest.raises(HarnessError, match=r"\[targets.staging\] policy must be a table, not the string"):
        Target.from_options(target="staging", config=str(write(tmp_path, 'policy = "strict"\n')), env={})
    with pytest.raises(HarnessError, match="environment variable HGHARNESS_POLICY"):
        Target.from_options(target="http://127.0.0.1:9/", env={"HGHARNESS_POLICY": "{frame"})


@pytest.mark.integration
def test_the_cli_exits_2_before_any_connection(tmp_path):
    p = run_cli("check", "--config", write(tmp_path, '[targets.staging.policy]\nframe = "never"\n'),
                "--target", "staging", timeout=120)
    err = p.stderr.strip()
    assert p.returncode == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, (p.returncode, err)
    assert '[targets.staging.policy] frame must be one of' in err and "unreachable" not in err


# --- the rules --------------------------------------------------------------------------------------------------

def test_the_default_lets_no_foreign_origin_read():
    assert cors_problems(H(), DEFAULT) == []
    assert cors_problems(H(Access_Control_Allow_Origin="https://docs.example"), DEFAULT) == []  # another origin
    reflect = H(Access_Control_Allow_Origin=EVIL, Access_Control_Allow_Credentials="true")
    assert cors_problems(reflect, DEFAULT)[0].startswith("cors-credentialed: lets https://evil.example read it "
                                                         "with the user's credentials")
    assert cors_problems(H(Access_Control_Allow_Origin="*"), DEFAULT)[0].startswith("cors-anonymous")
    # `*` with credentials: browsers send none, so it is an anonymous read
    star = H(Access_Control_Allow_Origin="*", Access_Control_Allow_Credentials="true")
    assert cors_problems(star, DEFAULT)[0].startswith("cors-anonymous")
    null = H(Access_Control_Allow_Origin="null", Access_Control_Allow_Credentials="true")
    assert cors_problems(null, DEFAULT)[0].startswith("cors-credentialed")


def test_a_loosened_policy_never_allows_credentials_to_any_origin():
    anyone = Policy(cors_allowed_origins=("*",), cors_credentials=True)
    assert cors_problems(H(Access_Control_Allow_Origin="*"), anyone) == []
    assert cors_problems(H(Access_Control_Allow_Origin=EVIL), anyone) == []  # reflected, no credentials
    reflect = H(Access_Control_Allow_Origin=EVIL, Access_Control_Allow_Credentials="true")
    assert cors_problems(reflect, anyone)  # "*" is no name: credentials only for origins listed by name
    named = Policy(cors_allowed_origins=(EVIL,), cors_credentials=True)
    assert cors_problems(reflect, named) == []
    assert cors_problems(reflect, Policy(cors_allowed_origins=(EVIL,)))  # named, but cors_credentials false


def test_preflight_grants_are_named_as_such():
    grant = H(Access_Control_Allow_Origin=EVIL, Access_Control_Allow_Methods="POST")
    assert cors_problems(grant, DEFAULT, preflight=True)[0].startswith("cors-preflight: lets https://evil.example "
                                                                       "send requests")


@pytest.mark.parametrize("rep,headers,says", [
    ("json", H(Content_Type="text/html; charset=UTF-8"), "content-type: json served as"),
    ("html", H(Content_Type="text/html"), "charset: html served as 'text/html', without a charset"),
    ("patch", H(), "nosniff: no Content-Type without X-Content-Type-Options"),
    ("atom", H(Content_Type="text/html"), "content-type: atom served as"),
    ("wire", H(Content_Type="text/plain"), "content-type: wire served as"),
    ("raw", H(Content_Type="text/html"), "content-type: raw file served as 'text/html', inline"),
])
def test_content_type_rules(rep, headers, says):
    assert any(p.startswith(says) for p in type_problems(rep, headers)), type_problems(rep, headers)


def test_content_types_hgweb_sends_pass():
    assert type_problems("json", H(Content_Type="application/json")) == []
    assert type_problems("rss", H(Content_Type="text/xml; charset=UTF-8")) == []
    assert type_problems("archive", H(Content_Type="application/x-gzip"), fmt="tar.gz") == []
    assert type_problems("archive", H(Content_Type="application/zip"), fmt="tar.gz")
    assert type_problems("static", H(Content_Type="text/css"), path="static/style-paper.css") == []
    assert type_problems("raw", H(Content_Type="text/plain; charset=UTF-8")) == []
    always = Policy(nosniff="always")
    assert type_problems("json", H(Content_Type="application/json"), policy=always)[0].startswith("nosniff")


def test_framing_levels():
    none = H()
    assert frame_problems(none, "any", SITE) == []
    assert frame_problems(none, "sameorigin", SITE)[0].startswith("framing: neither X-Frame-Options")
    assert frame_problems(H(X_Frame_Options="SAMEORIGIN"), "sameorigin", SITE) == []
    assert frame_problems(H(X_Frame_Options="SAMEORIGIN"), "deny", SITE)
    assert frame_problems(H(Content_Security_Policy="default-src 'self'; frame-ancestors 'self'"), "sameorigin",
                          SITE) == []
    # frame-ancestors wins over X-Frame-Options (as in browsers)
    assert frame_problems(H(X_Frame_Options="DENY", Content_Security_Policy="frame-ancestors *"), "deny", SITE)
    assert frame_problems(H(Content_Security_Policy="frame-ancestors 'none'"), "deny", SITE) == []
    assert Policy().frame_level(has_form=True) == "sameorigin" and Policy().frame_level(False) == "any"
    assert Policy(frame="deny").frame_level(True) == "deny"
    assert has_form('<form method="post" action="x">') and has_form('<input name=p type=password>')
    assert not has_form('<form class="search" action="/demo/log">')


def test_cookie_flags():
    ok = "kallithea=abc; HttpOnly; Path=/; SameSite=Lax"
    assert cookie_problems([ok], https=False, policy=DEFAULT) == []
    assert cookie_problems([ok], https=True, policy=DEFAULT) == ["cookie-secure: cookie 'kallithea' without "
                                                                  "Secure on an https site"]
    assert cookie_problems([ok], https=True, policy=Policy(cookie_secure=False)) == []
    assert cookie_problems([ok], https=False, policy=Policy(cookie_samesite="strict"))[0].startswith(
        "cookie-samesite")
    bare = cookie_problems(["s=1; Path=/"], https=False, policy=DEFAULT)
    assert [p.split(":")[0] for p in bare] == ["cookie-httponly", "cookie-samesite"]
    assert cookie_problems(["s=1"], https=False, policy=Policy(cookie_httponly=False, cookie_samesite="any")) == []


def test_coverage_names_the_sites_own_routes_and_existing_checks():
    from mercurial.hgweb import webcommands

    from hgharness.sites import load_site
    from hgharness.suites.security import policy_routes, test_policy

    assert all(set(e) == {"route", "rep", "aspect", "check"} and e["aspect"] == "policy" for e in test_policy.COVERAGE)
    assert all(callable(getattr(test_policy, e["check"], None)) for e in test_policy.COVERAGE)
    commands = set(webcommands.__all__) | {"index"}  # hgwebdir's index is no web command
    assert set(policy_routes.ROUTE_NAMES["hgweb"].values()) <= commands
    for name in ("hgweb", "kallithea"):
        site = load_site(name)
        unnamed = [k for k in site.ROUTES if k not in policy_routes.NOT_PROBED
                   and k not in policy_routes.ROUTE_NAMES[name] and k not in policy_routes.WIRE_ROUTES]
        assert not unnamed, f"{name}: route kinds without the site's route name: {unnamed}"
