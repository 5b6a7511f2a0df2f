"""The routes a site serves, read from the site software itself, and the (route, representation) each page kind
of a site adapter requests.

hgweb: every web command of the installed Mercurial (mercurial.hgweb.webcommands.__all__, its own dispatch
list) in every style whose template map renders it (paper is "html", the default; coal, gitweb, monoblue,
spartan; raw, json, atom, rss), archive kinds (webutil.archivespecs), and the wire-protocol commands
(wireprotov1server.commands) as `wire:NAME`. Kallithea: the named routes of its routes Mapper
(kallithea/controllers/routing.py, asked in a subprocess of the Kallithea venv's Python), and the wire protocol of
the Mercurial installed there.
"""

from __future__ import annotations

import functools
import json
import subprocess
import urllib.parse
from dataclasses import dataclass, field

DEFAULT_STYLE = "paper"  # hgweb's default style: its representation is called "html"
STYLES = ("paper", "coal", "gitweb", "monoblue", "spartan", "raw", "json", "atom", "rss")
# what each web command renders: the template looked up in a style's map
CMD_TEMPLATE = {"log": "changelog", "changelog": "changelog", "shortlog": "shortlog", "rev": "changeset",
                "file": "filerevision", "manifest": "manifest", "annotate": "fileannotate", "diff": "filediff",
                "comparison": "filecomparison", "filelog": "filelog", "tags": "tags", "branches": "branches",
                "bookmarks": "bookmarks", "summary": "summary", "graph": "graph", "help": "help"}
# page kinds the URL alone cannot tell: /file/REV/DIR is hgweb's manifest view of a directory
HGWEB_KIND_ROUTE = {"manifest": "manifest"}


@dataclass
class Inventory:
    site: str
    source: str                                        # where the routes were read from
    routes: dict[str, list[str]] = field(default_factory=dict)   # route -> its representations
    aliases: dict[str, list[str]] = field(default_factory=dict)  # route -> other names of the same handler
    methods: dict[str, list[str]] = field(default_factory=dict)  # route -> HTTP methods when not any
    kinds: dict[str, tuple[str, str]] = field(default_factory=dict)  # adapter page kind -> (route, rep)
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[tuple[str, str]]:
        return [(route, rep) for route in sorted(self.routes) for rep in self.routes[route]]


def rep_of_style(style: str) -> str:
    return "html" if style == DEFAULT_STYLE else style


def _style_templates() -> dict[str, set[str]]:
    """style -> the template names its map defines (hgweb's own templater reads the maps)."""
    from mercurial import templater

    out = {}
    for style in STYLES:
        name, fp = templater.try_open_template(f"{style}/map".encode())
        if not name:
            continue
        t = templater.templater.frommapfile(name, fp=fp)
        out[style] = {k for k in list(CMD_TEMPLATE.values()) + ["index", "helptopics"] if k.encode() in t}
    return out


def hgweb_inventory(site=None) -> Inventory:
    """What the installed Mercurial's hgweb serves, and the page kinds of `site` (an hgweb adapter) mapped on it."""
    from mercurial import util, wireprotov1server
    from mercurial.hgweb import webcommands, webutil

    inv = Inventory("hgweb", f"Mercurial {util.version().decode()} installed with the harness: "
                             "webcommands.__all__, template maps, webutil.archivespecs, wireprotov1server.commands")
    templates = _style_templates()
    by_handler: dict[int, list[str]] = {}
    for name in webcommands.__all__:
        by_handler.setdefault(id(getattr(webcommands, name)), []).append(name)
    used = {_hgweb_parse(t, k)[0] for k, t in (site.ROUTES.items() if site else ())}
    for names in by_handler.values():
        canonical = next((n for n in names if n in used), sorted(names)[0])
        others = [n for n in names if n != canonical]
        if others:
            inv.aliases[canonical] = others
        inv.routes[canonical] = _hgweb_reps(canonical, templates, webutil)
    inv.routes["index"] = [rep_of_style(s) for s in STYLES if "index" in templates.get(s, ())]  # hgwebdir's list
    for cmd in sorted(wireprotov1server.commands):
        inv.routes[f"wire:{cmd.decode()}"] = ["wire"]
    if site is not None:
        for kind, template in site.ROUTES.items():
            inv.kinds[kind] = _hgweb_parse(template, kind)
        _add_unknown(inv)
    return inv


def _hgweb_reps(cmd: str, templates: dict, webutil) -> list[str]:
    if cmd == "archive":
        return [f"archive:{spec[2].decode().lstrip('.')}" for spec in webutil.archivespecs.values()]
    if cmd == "static":
        return ["static"]
    if cmd == "rawfile":
        return ["raw"]
    tmpl = CMD_TEMPLATE.get(cmd)
    reps = [rep_of_style(s) for s in STYLES if tmpl and (tmpl in templates.get(s, ())
                                                            or (cmd == "help" and "helptopics" in templates[s]))]
    if cmd == "file" and "raw" not in reps:
        reps.append("raw")  # raw-file: webcommands.file hands the raw style to rawfile
    return reps


def _hgweb_parse(template: str, kind: str = "") -> tuple[str, str]:
    """The (web command, representation) of an adapter's URL template, the way hgweb dispatches a URL
    (hgweb_mod_inner: the first path segment is STYLE-CMD or CMD; ?cmd= is the wire protocol)."""
    path, _, query = template.partition("?")
    qs = urllib.parse.parse_qs(query.replace("{", "").replace("}", ""))
    if "cmd" in qs:
        return f"wire:{qs['cmd'][0]}", "wire"
    if path.startswith("{repo}"):
        path = path[len("{repo}"):].lstrip("/")
    elif path == "":  # the hgwebdir index
        return "index", rep_of_style(qs.get("style", [DEFAULT_STYLE])[0])
    segments = path.split("/")
    cmd, style = segments[0], qs.get("style", [DEFAULT_STYLE])[0]
    if "-" in cmd:
        style, cmd = cmd[:cmd.rfind("-")], cmd[cmd.rfind("-") + 1:]
    if not cmd:
        cmd = "shortlog" if style in (DEFAULT_STYLE, "coal", "spartan", "raw", "json") else "summary"
    if cmd == "archive":
        return "archive", "archive"
    if cmd == "static":
        return "static", "static"
    if cmd == "log" and "{path}" in path:
        cmd = "filelog"  # webcommands.log hands a file to filelog
    return HGWEB_KIND_ROUTE.get(kind, cmd), rep_of_style(style)


def _add_unknown(inv: Inventory) -> None:
    """A page kind on a route the site software does not list is a route all the same (say so)."""
    for kind, (route, rep) in inv.kinds.items():
        reps = inv.routes.setdefault(route, [])
        if rep not in reps and not (rep == "archive" and any(r.startswith("archive:") for r in reps)):
            reps.append(rep)
            inv.notes.append(f"page kind {kind} requests {route} as {rep}, which the site software does not list")


# --- Kallithea ---------------------------------------------------------------------------------------------------

_KALLITHEA_PROBE = r"""
import json, sys
import kallithea.controllers.routing as R
from mercurial import util, wireprotov1server
REPO = "hgharness-coverage-repo"
R.is_valid_repo = lambda name, *a, **k: name == REPO
R.is_valid_repo_group = lambda *a, **k: False
m = R.make_map({"paths": {"controllers": None}, "debug": False, "base_path": "/nonexistent"})
routes = {}
for r in m.matchlist:
    if r.name:
        methods = routes.setdefault(r.name, {"path": r.routepath, "methods": []})["methods"]
        methods += (r.conditions or {}).get("method") or ["ANY"]
kinds = {}
for kind, url in json.loads(sys.stdin.read()).items():
    for method in ("GET", "POST"):
        hit = m.routematch(url, environ={"REQUEST_METHOD": method})
        if hit:
            kinds[kind] = hit[1].name
            break
print(json.dumps({"routes": routes, "kinds": kinds, "wire": sorted(c.decode() for c in wireprotov1server.commands),
                  "mercurial": util.version().decode()}))
"""

# representation of a Kallithea route, by name (everything else is an HTML page)
KALLITHEA_REPS = {
    "changeset_patch_home": "patch", "raw_changeset_home_depraced": "patch", "changeset_raw_home": "raw",
    "changeset_download_home": "patch", "files_raw_home": "raw", "files_rawfile_home": "raw",
    "rss_feed_home": "rss", "atom_feed_home": "atom", "journal_rss": "rss", "journal_atom": "atom",
    "public_journal_rss": "rss", "public_journal_atom": "atom", "public_journal_rss_old": "rss",
    "public_journal_atom_old": "atom", "api": "json", "repo_refs_data": "json", "repo_switcher_data": "json",
    "users_and_groups_data": "json", "changeset_parents": "json", "changeset_children": "json",
    "changeset_info": "json", "files_history_home": "json",
    "repo_size": "json", "files_nodelist_home": "json", "pullrequest_repo_info": "json",
    "formatted_users": "formatted", "formatted_gist": "formatted", "formatted_gist_file": "raw",
}
KALLITHEA_ARCHIVES = ("zip", "tar.gz", "tar.bz2")


def kallithea_python(env=None) -> str | None:
    """The Kallithea venv's Python when the venv is built (it is not built just to print a table)."""
    from hgharness.kallithea.venv import is_ready, venv_dir

    venv = venv_dir(env)
    return str(venv / "bin" / "python") if is_ready(venv) else None


def kallithea_inventory(site, python: str | None = None) -> Inventory:
    python = python or kallithea_python()
    inv = Inventory("kallithea", "")
    if python is None:
        inv.source = "the Kallithea adapter's page kinds only (the Kallithea venv is not built)"
        for kind, template in site.ROUTES.items():
            inv.kinds[kind] = (f"kind:{kind}", _kallithea_kind_rep(kind, template))
            inv.routes[f"kind:{kind}"] = [inv.kinds[kind][1]]
        return inv
    urls = {k: "/" + t.split("?")[0].format(repo="hgharness-coverage-repo", rev="0" * 40, path="dir/file.txt",
                                            fmt="zip", rev2="f" * 40) for k, t in site.ROUTES.items() if "cmd=" not in t}
    out = subprocess.run([python, "-c", _KALLITHEA_PROBE], input=json.dumps(urls), capture_output=True, text=True,
                         timeout=120, cwd="/", check=False)
    if out.returncode != 0:
        raise RuntimeError(f"Kallithea's routes could not be read: {out.stderr.strip().splitlines()[-1:]}")
    data = json.loads(out.stdout)
    inv.source = (f"Kallithea's routes Mapper ({python}; kallithea/controllers/routing.py) and the wire protocol of "
                  f"its Mercurial {data['mercurial']}")
    for name, info in sorted(data["routes"].items()):
        rep = KALLITHEA_REPS.get(name, "html")
        inv.routes[name] = [f"archive:{f}" for f in KALLITHEA_ARCHIVES] if name == "files_archive_home" else [rep]
        if "ANY" not in info["methods"]:
            inv.methods[name] = sorted(set(info["methods"]))
    for cmd in data["wire"]:
        inv.routes[f"wire:{cmd}"] = ["wire"]
    for kind, template in site.ROUTES.items():
        if "cmd=" in template:
            inv.kinds[kind] = (f"wire:{template.split('cmd=', 1)[1]}", "wire")
        elif kind in data["kinds"]:
            route = data["kinds"][kind]
            rep = "archive" if route == "files_archive_home" else inv.routes[route][0]
            inv.kinds[kind] = (route, rep)
        else:
            inv.notes.append(f"page kind {kind} ({template}) matches no Kallithea route")
    return inv


def _kallithea_kind_rep(kind: str, template: str) -> str:
    for word, rep in (("atom", "atom"), ("rss", "rss"), ("patch", "patch"), ("raw", "raw"), ("archive", "archive"),
                      ("refs", "json"), ("cmd=", "wire")):
        if word in kind or word in template:
            return rep
    return "html"


@functools.lru_cache(maxsize=1)
def hgweb_inventory_cached() -> Inventory:
    """The hgweb inventory named as the hgweb adapter names its routes (rev, not changeset)."""
    from hgharness.sites.hgweb import HgwebSite

    return hgweb_inventory(HgwebSite())


def inventory(site) -> Inventory:
    """The inventory of a site adapter's site software."""
    if site.name == "kallithea":
        return kallithea_inventory(site)
    return hgweb_inventory(site)
