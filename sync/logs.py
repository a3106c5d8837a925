"""Logging set-up for the CLI and daemon: text or JSON lines, run ids, secrets redacted.

Owns handlers and formatters only. The redacting filter comes from connectors.http (the one
place that knows the secrets); it sits on the handler, so every record that is printed,
whichever logger made it, passes through it, and the formatters redact what they print
(message, traceback, stack) once more: a secret in a URL never reaches a log line.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime

from loyalsync.connectors.http import REDACTOR, RedactingFilter

RUN_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("run_id", default=None)


class _RunIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = RUN_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        run_id = getattr(record, "run_id", None)
        if run_id:
            data["run_id"] = run_id
        trace = _trace(self, record)
        if trace:
            data["exc"] = trace
        return REDACTOR.redact(json.dumps(data, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        run_id = getattr(record, "run_id", None)
        run = f" run={run_id}" if run_id else ""
        text = f"{stamp} {record.levelname:<7} {record.name}{run}: {record.getMessage()}"
        trace = _trace(self, record)
        if trace:
            text += "\n" + trace
        return REDACTOR.redact(text)


def _trace(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    """The record's traceback (and stack), redacted: the filter has usually rendered it, but a
    handler without the filter must not print a secret either."""
    parts = []
    if record.exc_text:
        parts.append(record.exc_text)
    elif record.exc_info:
        parts.append(formatter.formatException(record.exc_info))
    if record.stack_info:
        parts.append(formatter.formatStack(record.stack_info))
    return REDACTOR.redact("\n".join(parts)) if parts else None


def setup_logging(verbosity: int = 0, fmt: str = "text", stream: object = None) -> None:
    """verbosity: -1 quiet (warnings), 0 info, 1+ debug."""
    level = logging.WARNING if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_RunIdFilter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_loyalsync", False):
            root.removeHandler(old)
    handler._loyalsync = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # urllib3 is chatty at DEBUG and prints URLs; keep it at our level but never below INFO
    # unless -vv was given
    logging.getLogger("urllib3").setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)
