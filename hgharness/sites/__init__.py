"""Site adapters: one per flavour of hosting site. A Target holds exactly one."""

import importlib

from hgharness.errors import HarnessError

KNOWN_SITES = {
    "hgweb": "hgharness.sites.hgweb:HgwebSite",
    "kallithea": "hgharness.sites.kallithea:KallitheaSite",
}


def load_site(name: str):
    if name not in KNOWN_SITES:
        raise HarnessError(f"unknown site flavour {name!r} (known: {', '.join(sorted(KNOWN_SITES))})")
    module, cls = KNOWN_SITES[name].split(":")
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        raise HarnessError(f"site flavour {name!r} is not available in this build: {e}") from None
    return getattr(mod, cls)()
