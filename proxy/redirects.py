"""``Location`` from an upstream, rewritten to point back through the proxy.

An upstream answers for its own address space: a relative ``Location: /get`` would land on this
site (where nothing lives at ``/get``), and an absolute one would show the browser the upstream's
internal origin. A redirect that points into the upstream's base URL is rewritten to the matching
``/api/proxy/<name>/...`` path, as nginx's ``proxy_redirect default`` does; one that points
anywhere else is left as the upstream sent it. Pure functions: no request, no settings.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urljoin, urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def rewrite_location(
    location: str, *, request_url: str, upstream_base: str, proxy_base: str
) -> str:
    """``location`` as the browser should follow it.

    ``request_url`` is the absolute URL the upstream answered (relative references resolve
    against it), ``upstream_base`` the upstream's configured base URL and ``proxy_base`` this
    site's path for it (``/api/proxy/<name>``).
    """
    try:
        target = urlsplit(urljoin(request_url, location.strip()))
        base = urlsplit(upstream_base)
        same_origin = _origin(target) == _origin(base)
    except ValueError:
        return location  # not a URL this code can read: the browser gets it as it came
    base_path = base.path.rstrip("/")
    path = target.path or "/"
    if not same_origin or not (path == base_path or path.startswith(base_path + "/")):
        return location
    rewritten = proxy_base + path[len(base_path) :]
    if target.query:
        rewritten += "?" + target.query
    if target.fragment:
        rewritten += "#" + target.fragment
    return rewritten


def _origin(parts: SplitResult) -> tuple[str, str, int | None]:
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)
