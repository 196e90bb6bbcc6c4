"""``subscriptions``: after the faults, does every app get what it subscribed to?

* **Client side**: the streams each app client received before the first fault (all it
  ever received when there was no fault) must each deliver a ``receive`` after the last
  fault's end. ``client_restored_rate`` = restored (client, stream) pairs / pairs.
* **Cloud side**: the app's full subscription set (its last ``subscribe`` invoke before
  the first fault, ``streams`` comma-joined) must be contained in the ``subscriptions`` of
  the app with the same ``sessionId`` in the last ``/api/sessions`` snapshot taken after
  the last fault's end. ``cloud_restored_rate`` = apps whose set is there / apps.
  ``None`` (and verdict ``unknown``) without such a snapshot.

``restored_rate`` = the lower of the two that are known.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wsquake.history.frame import HistoryFrames
from wsquake.scenarios.checkers.base import CheckResult, Example
from wsquake.scenarios.model import Scenario
from wsquake.scenarios.thresholds import Verdict

__all__ = ["check_subscriptions"]


def check_subscriptions(
    frames: HistoryFrames, scenario: Scenario, options: Mapping[str, Any] | None = None
) -> CheckResult:
    options = options or {}
    max_examples = int(options.get("max_examples", 3))
    faults = frames.faults
    first_start = int(faults["start_ns"].min()) if not faults.empty else None
    last_end = int(faults["end_ns"].max()) if not faults.empty else frames.start_ns
    rx = frames.receives.astype({"component": "object", "client_id": "object"})
    before = rx if first_start is None else rx[rx["t"] < first_start]
    wanted = before[["component", "client_id", "stream"]].drop_duplicates()
    after = rx[rx["t"] > last_end][["component", "client_id", "stream"]].drop_duplicates()
    merged = wanted.merge(after, how="left", indicator=True)
    restored = merged["_merge"] == "both"
    client_rate = round(float(restored.mean()), 6) if len(merged) else None

    ev = frames.events
    subs = ev[(ev["kind"] == "subscribe") & (ev["outcome"] == "invoke")
              & ev["streams"].notna()]
    if first_start is not None:
        steady = subs[subs["t"] < first_start]
        subs = steady if not steady.empty else subs
    last_sub = subs.drop_duplicates(["session_id"], keep="last")
    sets = {str(sid): {s.strip() for s in str(streams).split(",") if s.strip()}
            for sid, streams in zip(last_sub["session_id"], last_sub["streams"], strict=True)}
    snapshots = [s for s in frames.snapshots() if s.t > last_end]
    cloud_rate: float | None = None
    cloud_missing: list[tuple[str, str]] = []
    if snapshots and sets:
        snap = snapshots[-1]
        held = {str(app.get("sessionId")): app for _, app in snap.apps()}
        ok = 0
        for sid, streams in sets.items():
            app = held.get(sid)
            subs_held = app.get("subscriptions") if app is not None else None
            have = {str(x) for x in subs_held} if isinstance(subs_held, list) else set()
            if streams <= have:
                ok += 1
            else:
                cloud_missing.append((sid, ", ".join(sorted(streams - have))))
        cloud_rate = round(ok / len(sets), 6)
    known = [r for r in (client_rate, cloud_rate) if r is not None]
    metrics: dict[str, float | int | None] = {
        "restored_rate": min(known) if known else None,
        "client_restored_rate": client_rate,
        "cloud_restored_rate": cloud_rate,
        "streams_checked": len(merged),
        "apps_checked": len(sets),
    }
    examples: list[Example] = []
    for comp, client, stream in merged.loc[~restored, ["component", "client_id", "stream"]]\
            .itertuples(index=False):
        if len(examples) >= max_examples:
            break
        examples.append(Example(str(comp), str(client), "not_restored",
                                f"no data on {stream} after the faults",
                                frames.excerpt(str(comp), str(client), last_end, frames.end_ns)))
    for sid, missing in cloud_missing[: max(0, max_examples - len(examples))]:
        examples.append(Example("cloud", sid, "not_restored",
                                f"the cloud does not hold {missing} for {sid}"))
    if not known:
        verdict, summary = Verdict.UNKNOWN, "no app received data: nothing to compare"
    elif cloud_rate is None:
        verdict = Verdict.UNKNOWN
        summary = (f"client side {client_rate}; cloud side unknown (no /api/sessions "
                   "snapshot after the faults)")
    else:
        verdict = Verdict.PASS
        summary = f"client side {client_rate}, cloud side {cloud_rate}"
    return CheckResult("subscriptions", verdict, metrics, tuple(examples), summary)
