"""Applying write operations to a Shopware shop through the Sync API.

Owns the look-up-then-write cycle of `ShopwareConnector.apply`: read what the operations touch
(groups, tags, sales channels, the customers, promotions and codes concerned), plan rows
(`sync_plan.py`, pure), send them as `POST /api/_action/sync` batches of at most 500 rows, and
turn the shop's answer into one `OpResult` per operation. Research: ../shared/research/
shopware.md §3.4: since 6.5 a sync request is one transaction, all or nothing; a 400 lists
errors whose `source.pointer` is `/{operationKey}/{index}/{field}`. Rows named there fail
(their operations go to the push log as failed) and the rest of the batch is sent again.
6.4 answers `{"success": false, "data": {key: {"result": [{"errors": [...]}]}}}` instead.

Every row is naturally idempotent: an upsert with a fixed id (sync_plan.py) or a delete by key,
so a sync request may be sent twice and changes the shop once (never a second group, tag,
promotion or code), and nothing is read back. The HTTP layer resends it after drops, timeouts,
502-504. A 500 naming an integrity violation (SQLSTATE 23000: duplicate 1062, foreign key 1452)
is our rows' fault: the batch is halved to find them. Any other 500 (a deadlock 1213, PHP
failing before the commit) is sent again as it is (`HttpClient.redo_unsure`, the policy's
backoff), then halved if it persists (research §3.4: retry 5xx with backoff, smaller batches).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from loyalsync.connectors.http import idempotent_write
from loyalsync.connectors.shopware import criteria
from loyalsync.connectors.shopware import platform as declared
from loyalsync.connectors.shopware.state import ShopwareState, SyncTarget
from loyalsync.connectors.shopware.sync_plan import (
    OPERATIONS,
    CustomerState,
    Row,
    ShopView,
    campaign_id,
    code_id,
    plan_rows,
)
from loyalsync.core.errors import ApiError, TransientError
from loyalsync.core.records import (
    AddValue,
    EnsureCampaign,
    IssueCode,
    OpResult,
    RemoveValue,
    SetDefault,
    SetValue,
    WriteOp,
)

SYNC_PATH = "/api/_action/sync"
DEFAULT_BATCH = 500
# 6.4 reads these; 6.5+ ignores them and always runs one transaction per request (§3.4)
SYNC_HEADERS = {"single-operation": "1", "fail-on-error": "1"}
INTEGRITY = "SQLSTATE[23000]"  # MySQL's class of integrity violations: 1062, 1452
_CUSTOMER_OPS = (SetValue, AddValue, RemoveValue, SetDefault, IssueCode)


def apply_ops(connector: SyncTarget, ops: Sequence[WriteOp], batch_size: int) -> list[OpResult]:
    if not ops:
        return []
    view = fetch_view(connector, ops)
    plan = plan_rows(ops, view)
    failed = send_rows(connector, plan.rows, batch_size)
    results = []
    for index, op in enumerate(ops):
        if index in plan.done:
            results.append(plan.done[index])
        elif index in failed:
            results.append(OpResult(op, ok=False, error=failed[index]))
        else:
            results.append(OpResult(op, ok=True, remote_id=plan.remote.get(index)))
    return results


# ---------------------------------------------------------------------------------------------
# Reading what the operations touch


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _by_ids(
    connector: SyncTarget, entity: str, ids: Iterable[str], body: dict[str, Any]
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for chunk in _chunks(sorted(set(ids)), criteria.MAX_LIMIT):
        found.extend(connector.search(entity, {"ids": chunk, **body}).get("data") or [])
    return found


def fetch_view(connector: SyncTarget, ops: Sequence[WriteOp]) -> ShopView:
    """What the shop has now for these operations: one read per kind (`ids` lookups)."""
    state = connector.shop_state()
    view = ShopView(
        groups={g.name: g.id for g in state.groups},
        display_gross=dict(state.display_gross),
        default_group_id=state.default_group_id,
        tags={t.name: t.id for t in state.tags},
        sales_channels=_channels(connector, state),
        protected=frozenset(connector.shop.protected_groups),
    )
    customer_ids = {op.customer_id for op in ops if isinstance(op, _CUSTOMER_OPS)}
    lookup = {"includes": {"customer": ["id", "groupId", "tagIds"]}}
    for row in _by_ids(connector, "customer", customer_ids, lookup):
        view.customers[row["id"]] = CustomerState(row.get("groupId"), set(row.get("tagIds") or ()))
    campaigns = {op.name for op in ops if isinstance(op, EnsureCampaign)}
    campaigns |= {op.campaign for op in ops if isinstance(op, IssueCode)}
    promotions = map(campaign_id, campaigns)
    for row in _by_ids(connector, "promotion", promotions, criteria.PROMOTION_LOOKUP):
        view.promotions[row["id"]] = row
    codes = [
        code_id(op.campaign, op.customer_id, op.code) for op in ops if isinstance(op, IssueCode)
    ]
    lookup = {"includes": {"promotion_individual_code": ["id", "promotionId", "code"]}}
    for row in _by_ids(connector, "promotion_individual_code", codes, lookup):
        view.codes[row["id"]] = row
    return view


def _channels(connector: SyncTarget, state: ShopwareState) -> tuple[str, ...]:
    """The promotion's sales channels: the configured ones (ids or names), else every
    storefront: a promotion outside the buyer's channel is never found at checkout (§3.5)."""
    wanted = tuple(declared.option(connector.shop, "sales_channels"))
    if not wanted:
        return state.storefronts
    by_name = {name: cid for cid, name in state.channel_names.items()}
    return tuple(by_name.get(w, w) for w in wanted)


# ---------------------------------------------------------------------------------------------
# Sending batches


def operation_key(entity: str, action: str) -> str:
    return f"{entity}-{action}"


def sync_body(rows: Sequence[Row]) -> tuple[dict[str, Any], dict[tuple[str, int], Row]]:
    """The request body (operations keyed by name, in dependency order) and, for reading
    error pointers back, which row sits at `/{key}/{index}`."""
    body: dict[str, Any] = {}
    where: dict[tuple[str, int], Row] = {}
    for entity, action in OPERATIONS:
        mine = [r for r in rows if r.entity == entity and r.action == action]
        if not mine:
            continue
        key = operation_key(entity, action)
        body[key] = {"entity": entity, "action": action, "payload": [r.payload for r in mine]}
        where.update({(key, i): r for i, r in enumerate(mine)})
    return body, where


def send_rows(connector: SyncTarget, rows: Sequence[Row], batch_size: int) -> dict[int, str]:
    """Send rows in batches; returns the error per failed operation index."""
    failed: dict[int, str] = {}
    for start in range(0, len(rows), batch_size):
        batch = [r for r in rows[start : start + batch_size] if r.op not in failed]
        try:
            _send_batch(connector, batch, failed)
        except TransientError as exc:  # the shop is gone for now: the next run re-plans
            for row in rows[start:]:
                failed.setdefault(row.op, f"not applied: {exc}")
            break
    return failed


def _send_batch(connector: SyncTarget, batch: list[Row], failed: dict[int, str]) -> None:
    pending = batch
    while pending:
        body, where = sync_body(pending)
        try:
            connector.http.redo_unsure(lambda b=body: _post(connector, b), "sync request")
            return
        except ApiError as exc:
            bad = rejected_rows(exc.payload, where, list(body))
            if bad:
                for row, why in bad.items():
                    failed.setdefault(row.op, why)
                pending = [r for r in pending if r.op not in failed]
                continue
            reason = f"rejected by the shop: {exc}"
        except TransientError as exc:
            if exc.status != 500:
                raise
            # a database error (duplicate key 1062, foreign key 1452) names no row
            reason = f"the shop failed on this write: {exc}"
        _halve(connector, pending, failed, reason)
        return


def _post(connector: SyncTarget, body: dict[str, Any]) -> None:
    with idempotent_write("sync request", when=_not_our_rows):
        connector.call("POST", SYNC_PATH, json=body, headers=SYNC_HEADERS, timeout=600)


def _not_our_rows(exc: TransientError) -> bool:
    """A 500 that is worth sending again: not a SQL integrity violation, which our rows cause
    (research §4: a 500 carries the raw SQL error in `detail`)."""
    said = f"{exc.message} {exc.excerpt or ''}"
    return exc.status == 500 and INTEGRITY not in said


def _halve(connector: SyncTarget, rows: list[Row], failed: dict[int, str], reason: str) -> None:
    """Find the operations behind an error without pointers: the request was rolled back as a
    whole, so resending halves (in dependency order) is safe and isolates them in log2 steps."""
    ops = list(dict.fromkeys(r.op for r in rows))
    if len(ops) == 1:
        failed.setdefault(ops[0], reason)
        return
    first = set(ops[: len(ops) // 2])
    for part in ([r for r in rows if r.op in first], [r for r in rows if r.op not in first]):
        _send_batch(connector, [r for r in part if r.op not in failed], failed)


def rejected_rows(
    payload: Any, where: dict[tuple[str, int], Row], keys: list[str]
) -> dict[Row, str]:
    """Rows a failed sync request names: 6.5+ pointers or the 6.4 per-row results."""
    bad: dict[Row, str] = {}
    if not isinstance(payload, dict):
        return bad
    for error in payload.get("errors") or ():
        pointer = str(((error or {}).get("source") or {}).get("pointer") or "")
        parts = pointer.strip("/").split("/")
        if len(parts) >= 2 and parts[1].isdigit():
            row = where.get((parts[0], int(parts[1])))
            if row is not None:
                field = "/".join(parts[2:]) or "row"
                detail = error.get("detail") or error.get("title") or "invalid"
                bad.setdefault(row, f"{row.entity} {field}: {detail}")
    data = payload.get("data")
    if payload.get("success") is False and isinstance(data, dict | list):
        operations = data.items() if isinstance(data, dict) else zip(keys, data, strict=False)
        for key, operation in operations:
            results = (operation or {}).get("result") or ()
            for index, result in enumerate(results):
                errors = (result or {}).get("errors") or ()
                row = where.get((key, index))
                if errors and row is not None:
                    detail = errors[0].get("detail") or errors[0].get("title") or "invalid"
                    bad.setdefault(row, f"{row.entity}: {detail}")
    return bad
