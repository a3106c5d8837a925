"""Secrets out of text: URL user-info (`https://user:pass@host`) and secret-looking query
parameters (`?api_key=...`) replaced by '***'. Pure. Used by connectors.http's redactor (which
also knows the configured secrets) and by the mirror before it stores an error text."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SECRET_PARAM = re.compile(r"(key|token|secret|password|passwd|signature|auth)", re.I)
_URL_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def redact_url(url: str) -> str:
    """Hide user-info and secret-looking query parameters of a URL."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unparseable URL (a bad IPv6 literal): hide everything after ://
        scheme, _, _ = url.partition("://")
        return f"{scheme}://***"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, "***" if SECRET_PARAM.search(k) else v) for k, v in pairs], safe="*[]"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_urls(text: str) -> str:
    """Every URL in `text` with its user-info and secret query parameters hidden."""
    if not text or "://" not in text:
        return text
    return _URL_RE.sub(lambda m: redact_url(m.group(0)), text)
