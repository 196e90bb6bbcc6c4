"""``delivery``: messages lost, duplicated and reordered per (user, stream), by phase.

The glasses side's ``send ok`` and ``probe invoke`` events are what was sent (a message
written while disconnected has no ``ok``: it was never sent). Every app client that
received anything on a ``(user, stream)`` is a receiver of it, from the first message it
got onwards (messages sent before it joined are not expected). A (receiver, message)
pair without a ``receive`` is **lost**; messages sent within ``inflight_s`` (option,
default 1 scenario s) of the last data event are *in flight* and not judged.

* ``lost_<phase>`` splits losses by the phase of the send time (steady, fault,
  recovery, after; see ``checkers.base.phases``).
* ``lost_after_recovery``: lost messages sent after the receiver's stream resumed, plus
  every loss in the ``after`` phase. The stream resumed with the first message it
  received that was sent after both the last fault's end and the receiver's last
  ``subscribe`` between the first fault and the recovery deadline (its re-subscription);
  messages flushed from a grace buffer do not count as resumption, so data dropped by
  design while an app is resurrected (§9.3 A5) is not "after recovery".
  **Any such loss fails the check**, thresholds or not.
* ``duplicated``: extra receives of one (receiver, user, stream, seq);
  ``reordered``: receives whose seq is below one already received on that stream.

Other metrics: ``expected``, ``delivered``, ``lost``, ``in_flight``, ``loss_rate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from wsquake.history.frame import HistoryFrames
from wsquake.scenarios.checkers.base import CheckResult, Example, phases
from wsquake.scenarios.model import Scenario
from wsquake.scenarios.thresholds import Verdict

__all__ = ["check_delivery"]

_RECEIVER = ["component", "client_id"]
_STREAM = ["user", "stream"]


def check_delivery(
    frames: HistoryFrames, scenario: Scenario, options: Mapping[str, Any] | None = None
) -> CheckResult:
    options = options or {}
    max_examples = int(options.get("max_examples", 3))
    inflight_ns = float(options.get("inflight_s", 1.0)) * scenario.time_scale * 1e9
    sends = frames.sends.drop_duplicates(["user", "stream", "seq"], keep="first")
    rx = frames.receives.astype({"component": "object", "client_id": "object"})
    empty_metrics: dict[str, float | int | None] = dict.fromkeys(
        ("expected", "delivered", "lost", "lost_steady", "lost_fault", "lost_recovery",
         "lost_after", "lost_after_recovery", "duplicated", "reordered", "in_flight",
         "loss_rate"))
    if sends.empty or rx.empty:
        return CheckResult("delivery", Verdict.UNKNOWN, empty_metrics,
                           summary="no messages were sent or none was received")

    keys = [*_RECEIVER, *_STREAM, "seq"]
    dup_mask = rx.duplicated(keys, keep="first")
    duplicated = int(dup_mask.sum())
    firsts = rx.loc[~dup_mask].sort_values("t", kind="stable")
    prev_max = firsts.groupby([*_RECEIVER, *_STREAM], sort=False)["seq"].transform(
        lambda s: s.cummax().shift(1)
    )
    reordered = int((firsts["seq"] < prev_max).sum())

    receivers = firsts[[*_RECEIVER, *_STREAM]].drop_duplicates()
    expected = sends[["t", *_STREAM, "seq"]].rename(columns={"t": "t_sent"}).merge(
        receivers, on=_STREAM, how="inner"
    )
    got = firsts[keys + ["t"]].rename(columns={"t": "t_rx"})
    pairs = expected.merge(got, on=keys, how="left")
    delivered_mask = pairs["t_rx"].notna()
    joined = pairs.loc[delivered_mask].groupby([*_RECEIVER, *_STREAM])["t_sent"].min()
    pairs = pairs.merge(joined.rename("joined").reset_index(), on=[*_RECEIVER, *_STREAM],
                        how="left")
    last_data = max(int(frames.sends["t"].max()), int(frames.receives["t"].max()))
    in_flight_mask = (pairs["t_sent"] > last_data - inflight_ns) & pairs["t_rx"].isna()
    pairs = pairs[(pairs["t_sent"] >= pairs["joined"]) & ~in_flight_mask]
    in_flight = int(in_flight_mask.sum())

    lost = pairs[pairs["t_rx"].isna()].copy()
    lost["phase"] = phases(lost["t_sent"].to_numpy(), frames, scenario)
    faults = frames.faults
    if faults.empty:
        lost_after_recovery_mask = np.zeros(len(lost), dtype=bool)
    else:
        last_end = int(faults["end_ns"].max())
        first_start = int(faults["start_ns"].min())
        window = scenario.recovery_window_s * scenario.time_scale * 1e9
        ev = frames.events
        subs = ev[(ev["kind"] == "subscribe") & (ev["outcome"] == "invoke")
                  & (ev["t"] >= first_start) & (ev["t"] <= last_end + window)]
        resub = (subs.astype({"component": "object", "client_id": "object"})
                 .groupby(_RECEIVER)["t"].max().rename("resub").reset_index())
        ok = pairs[pairs["t_rx"].notna()].merge(resub, on=_RECEIVER, how="left")
        since = np.maximum(ok["resub"].fillna(last_end).to_numpy(dtype=float), last_end)
        ok = ok[ok["t_sent"].to_numpy(dtype=float) >= since]
        resumed = ok.groupby([*_RECEIVER, *_STREAM])["t_sent"].min().rename("resumed")
        lost = lost.merge(resumed.reset_index(), on=[*_RECEIVER, *_STREAM], how="left")
        lost_after_recovery_mask = (
            (lost["t_sent"] > lost["resumed"]).to_numpy() | (lost["phase"] == "after")
        )
    by_phase = lost["phase"].value_counts()
    n_lost = len(lost)
    n_lar = int(np.asarray(lost_after_recovery_mask).sum())
    metrics: dict[str, float | int | None] = {
        "expected": len(pairs),
        "delivered": int(pairs["t_rx"].notna().sum()),
        "lost": n_lost,
        "lost_steady": int(by_phase.get("steady", 0)),
        "lost_fault": int(by_phase.get("fault", 0)),
        "lost_recovery": int(by_phase.get("recovery", 0)),
        "lost_after": int(by_phase.get("after", 0)),
        "lost_after_recovery": n_lar,
        "duplicated": duplicated,
        "reordered": reordered,
        "in_flight": in_flight,
        "loss_rate": round(n_lost / len(pairs), 6) if len(pairs) else None,
    }
    examples: list[Example] = []
    bad = lost[lost_after_recovery_mask] if n_lar else lost
    for (comp, client, user, stream), group in bad.groupby([*_RECEIVER, *_STREAM], sort=False):
        if len(examples) >= max_examples:
            break
        seqs = group["seq"].astype(int).tolist()
        first, last = int(group["t_sent"].min()), int(group["t_sent"].max())
        shown = ", ".join(str(s) for s in seqs[:10]) + (" …" if len(seqs) > 10 else "")
        examples.append(Example(
            str(comp), str(client), "lost_after_recovery" if n_lar else "lost",
            f"{len(seqs)} message(s) of {user} on {stream} lost: seq {shown}",
            frames.excerpt(str(comp), str(client), first - int(2e9 * scenario.time_scale),
                           last + int(2e9 * scenario.time_scale)),
        ))
    verdict = Verdict.FAIL if n_lar else Verdict.PASS
    summary = (
        f"{metrics['delivered']}/{metrics['expected']} delivered; lost {n_lost} (steady "
        f"{metrics['lost_steady']}, fault {metrics['lost_fault']}, recovery "
        f"{metrics['lost_recovery']}, after {metrics['lost_after']}); "
        f"{n_lar} after recovery, {duplicated} duplicated, {reordered} reordered"
    )
    return CheckResult("delivery", verdict, metrics, tuple(examples), summary)
