"""Load profiles: Locust users drawn from the fixture, named mixes, bounded shapes and SLO gates.

Only load/users.py, load/collect.py and load/locustfile.py import Locust (it monkey-patches the process with
gevent on import): everything the harness process itself runs (catalog, mixes, shapes, gates, runner) is plain
Python, so `hgharness run` never gets patched.
"""


def read_toml(path, what: str) -> dict:
    """A TOML file of the load layer (mixes, SLO gates); a missing or malformed one is one line naming it."""
    import tomllib

    from hgharness.errors import HarnessError

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HarnessError(f"{what} file {path} not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise HarnessError(f"malformed {what} file {path}: {e}") from None
