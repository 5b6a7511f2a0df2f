"""Target options shared by the CLI and the pytest plugin, and how to build a Target from them."""

from __future__ import annotations

from hgharness.target import Target

TARGET_OPTION_NAMES = ("target", "site", "config", "username", "ca_bundle", "insecure", "allow_load")


def target_from_namespace(ns, **overrides) -> Target:
    kwargs = {name: getattr(ns, name, None) for name in TARGET_OPTION_NAMES}
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    return Target.from_options(**kwargs)
