"""What keeps a response from running script as a document of the site's origin."""

from __future__ import annotations

# Types a browser renders as a document that can run script
ACTIVE_TYPES = {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml", "text/xsl",
                "application/xslt+xml", "application/vnd.wap.xhtml+xml", "multipart/x-mixed-replace"}
# Types that make a browser sniff the content (and maybe render HTML) unless nosniff is set
SNIFFED_TYPES = {"", "unknown/unknown", "application/unknown", "*/*"}


def protection(headers) -> list[str]:
    """The protections a response has against running as a document of the site's origin (empty: none)."""
    ctype = headers.get("Content-Type", "").split(";")[0].strip().lower()
    nosniff = headers.get("X-Content-Type-Options", "").strip().lower() == "nosniff"
    disposition = headers.get("Content-Disposition", "").strip().lower()
    csp = headers.get("Content-Security-Policy", "").lower()
    found = []
    if disposition.startswith("attachment"):
        found.append("download (Content-Disposition: attachment)")
    if "sandbox" in csp or "script-src 'none'" in csp or ("default-src 'none'" in csp and "script-src" not in csp):
        found.append("CSP sandbox/no script")
    active = ctype in ACTIVE_TYPES or ctype.endswith("+xml")
    if not active:
        if ctype in SNIFFED_TYPES and not nosniff:
            pass  # the browser guesses: HTML content would render as HTML
        else:
            found.append(f"inert type {ctype or '(none)'}" + (" + nosniff" if nosniff else ""))
    return found
