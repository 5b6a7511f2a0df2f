"""hgharness: functional and load testing harness for Mercurial code-hosting sites.

The distribution is one package. Its core is this folder; its layers are `hgharness.fixtures`,
`hgharness.load`, `hgharness.reports` and `hgharness.suites`. In a checkout those layers sit at the top of the
tree (fixtures/, load/, reports/, suites/, as the project layout asks); installed, they are subpackages of
this one (pyproject.toml maps them), so nothing installs a top-level name that PyPI already uses (`fixtures`).
"""

from pathlib import Path as _Path

__version__ = "0.1.0"

_checkout = _Path(__file__).resolve().parent.parent
if (_checkout / "pyproject.toml").is_file() and (_checkout / "suites" / "plugin.py").is_file():
    __path__.append(str(_checkout))  # noqa: F821  (a package's own __path__): the layers of a checkout
del _Path, _checkout
