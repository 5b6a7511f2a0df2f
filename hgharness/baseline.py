"""The baseline of an A/B run: a second target that must serve what the candidate serves.

An A/B comparison is only fair when both builds serve the same history: the same repositories at the same tip
(checked over the wire protocol before any load, else exit 2 naming the repositories that differ).
"""

from __future__ import annotations

from hgharness.errors import HarnessError


def tips(target, names: list[str]) -> dict[str, str]:
    """repository -> tip changeset hash, read over the wire protocol."""
    from hgharness import hg

    out = {}
    for name in names:
        peer = hg.peer(target, name)
        try:
            out[name] = peer.lookup(b"tip").hex()
        except Exception as e:  # an error of the wire protocol: the repository is not served as expected
            raise HarnessError(f"cannot read the tip of {name} on {target.url}: {str(e)[:160]}") from None
        finally:
            peer.close()
    return out


def check_same_repos(candidate, baseline, names: list[str]) -> dict[str, str]:
    """The tips both serve; HarnessError naming the repositories whose tips differ (exit 2)."""
    if candidate.site_name != baseline.site_name:
        raise HarnessError(f"the baseline is a {baseline.site_name} site and the candidate a "
                           f"{candidate.site_name} site: an A/B run compares two builds of the same site")
    if not names:
        raise HarnessError("no repository to compare the candidate and the baseline on")
    a, b = tips(candidate, names), tips(baseline, names)
    differ = [n for n in names if a[n] != b[n]]
    if differ:
        shown = ", ".join(f"{n} ({a[n][:12]} vs {b[n][:12]})" for n in differ[:5])
        raise HarnessError(f"the candidate and the baseline serve different repositories: tips differ for "
                           f"{shown}; an A/B run needs the same history on both")
    return a
