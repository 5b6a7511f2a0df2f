"""Table-driven checks: rows made from the check plan, fed to one parametrized test.

A test says where its rows come from with `@from_plan("argnames", rows)`, rows(plan) giving pytest.param rows;
the conftests of the suites take this module's pytest_generate_tests, which parametrizes every such test. A
`Table` holds the check of each page kind of a table (the kinds are listed in suites/headless/routes.py).
"""

from __future__ import annotations

import pytest

from hgharness.sites.base import KIND_NEEDS
from hgharness.suites.support.plan import get_plan


def from_plan(argnames: str, rows):
    """Parametrize the decorated test with rows(plan) -> pytest.param rows (ids readable, e.g. `rev-demo@tip`)."""
    def mark(test):
        test.plan_rows = (argnames, rows)
        return test
    return mark


def pytest_generate_tests(metafunc):
    """The hook the suites' conftests take: the rows of each @from_plan test. When the plan could not be built,
    one placeholder row whose `plan` fixture raises the harness error (so the run reports exit 2, not a target
    failure)."""
    spec = getattr(metafunc.function, "plan_rows", None)
    if spec is None:
        return
    argnames, rows = spec
    plan = get_plan(metafunc.config)
    if plan.error is not None:
        n = len(argnames.split(","))
        metafunc.parametrize(argnames, [(None,) * n if n > 1 else None], ids=["no-plan"])
        return
    metafunc.parametrize(argnames, list(rows(plan)))


class Table:
    """The check of each page kind of a table, registered with `@table.check(kind, ...)`. A kind needs the
    capability the site model gives it (sites.base.KIND_NEEDS) unless its check says otherwise."""

    def __init__(self, kinds: tuple[str, ...]):
        self.kinds = kinds
        self.checks: dict = {}
        self.needs = {kind: KIND_NEEDS.get(kind) for kind in kinds}

    def check(self, *kinds: str, needs: str | None = None):
        def register(check):
            for kind in kinds:
                if kind not in self.kinds:
                    raise ValueError(f"{kind!r} is not a kind of this table (suites/headless/routes.py)")
                self.checks[kind] = check
                if needs:
                    self.needs[kind] = needs
            return check
        return register

    def rows(self, items, label=str) -> list:
        """One row per kind and item: (kind, item), id `KIND-LABEL`, marked with what the kind needs."""
        missing = [kind for kind in self.kinds if kind not in self.checks]
        if missing:
            raise ValueError(f"page kinds without a check: {missing}")
        return [pytest.param(kind, item, id=f"{kind}-{label(item)}", marks=self.marks(kind))
                for kind in self.kinds for item in items]

    def marks(self, kind: str) -> list:
        return [pytest.mark.needs(self.needs[kind])] if self.needs[kind] else []

    def run(self, kind: str, case, *args):
        """The check of `kind` on a case; a kind the site does not have is a named skip."""
        skip_unless_routed(case.target, kind)
        return self.checks[kind](case, *args)


def skip_unless_routed(target, kind: str) -> None:
    if kind not in target.site.ROUTES:
        pytest.skip(f"site {target.site_name!r} has no page kind {kind!r}")


class RepoCase:
    """What a row's check gets: the target, a session, the plan, and one repository with its fixture copy."""

    def __init__(self, target, http, plan, name: str):
        self.target, self.http, self.plan, self.name = target, http, plan, name
        self.repo = plan.repo(name)

    def route(self, kind: str, **kw) -> str:
        return self.target.site.route(kind, self.name, **kw)


class SampleCase(RepoCase):
    """A RepoCase at one sampled revision, with what the fixture says of it."""

    def __init__(self, target, http, plan, sample):
        super().__init__(target, http, plan, sample.repo)
        self.sample = sample
        self.info = self.repo.info(sample.rev)
