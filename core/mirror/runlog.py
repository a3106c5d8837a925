"""The run log of the mirror (`_runs`): a run starts with the process and host running it,
gets its counts and ends with an outcome and a redacted error. A run whose process is gone
(killed with SIGKILL, a power cut) is closed as 'abandoned' by the next run that starts on the
same host. Mixed into `store.Mirror`; the SQL of `_runs` lives here only."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from loyalsync.core.mirror.rows import db_time, json_text
from loyalsync.core.records import utcnow
from loyalsync.core.redact import redact_urls

ABANDONED = "abandoned"


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (one of another user counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLog:
    """`_runs` methods of the Mirror."""

    conn: sqlite3.Connection
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def start_run(self, shop: str | None, kind: str, as_of: datetime | None = None) -> int:
        """A new running run of this process; first closes runs of dead processes."""
        self.close_abandoned()
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO _runs (shop, kind, started_at, as_of, pid, host) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (shop, kind, db_time(utcnow()), db_time(as_of), os.getpid(), socket.gethostname()),
            )
        return int(cur.lastrowid or 0)

    def close_abandoned(self, alive: Callable[[int], bool] = process_alive) -> list[int]:
        """Close as 'abandoned' the running runs of this host whose process is gone; returns
        their ids. Runs of other hosts (a mirror on a shared disk) are left as they are."""
        rows = self.conn.execute(
            "SELECT id, pid FROM _runs WHERE outcome = 'running' AND finished_at IS NULL "
            "AND host = ? AND pid IS NOT NULL",
            (socket.gethostname(),),
        ).fetchall()
        gone = [rid for rid, pid in rows if pid != os.getpid() and not alive(int(pid))]
        if gone:
            with self.transaction():
                self.conn.executemany(
                    "UPDATE _runs SET outcome = ?, finished_at = ?, error = ? "
                    "WHERE id = ? AND outcome = 'running'",
                    [
                        (ABANDONED, db_time(utcnow()), "its process ended without finishing", rid)
                        for rid in gone
                    ],
                )
        return gone

    def finish_run(
        self,
        run_id: int,
        outcome: str,
        counts: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """End a run; the error text is stored with secrets in URLs redacted."""
        with self.transaction():
            self.conn.execute(
                "UPDATE _runs SET finished_at = ?, outcome = ?, counts = ?, error = ? WHERE id = ?",
                (
                    db_time(utcnow()),
                    outcome,
                    json_text(counts or {}),
                    redact_urls(error) if error else error,
                    run_id,
                ),
            )

    def save_run_progress(self, run_id: int, counts: dict[str, Any]) -> None:
        """A running run's counts so far (its heartbeat: `status` shows how far it got)."""
        with self.transaction():
            self.conn.execute(
                "UPDATE _runs SET counts = ? WHERE id = ? AND finished_at IS NULL",
                (json_text(counts), run_id),
            )

    def runs(self, shop: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        where, params = ("WHERE shop = ?", (shop,)) if shop else ("", ())
        cur = self.conn.execute(
            f"SELECT * FROM _runs {where} ORDER BY id DESC LIMIT ?", (*params, limit)
        )
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur]
        return [{**r, "counts": json.loads(r["counts"])} for r in rows]
