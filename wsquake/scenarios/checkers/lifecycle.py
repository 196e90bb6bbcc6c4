"""``lifecycle``: app starts, resurrections and duplicate app sessions.

* ``start_success_rate``: ``start_app ok`` / ``start_app invoke`` on the glasses side;
  without ``start_app`` events, app sessions that reached ``init ok`` / app sessions that
  got a ``session_request`` webhook. ``None`` when neither exists.
* ``resurrections``: per app session id, ``session_request`` webhooks (``invoke``) after
  the first, summed — resurrection after the grace, restart recovery and D12 retries
  all show up here.
* ``duplicate_sessions``: distinct session ids with a ``duplicate_session`` event.
* ``webhook_failures``: ``webhook fail`` events; ``starts``, ``start_failures``.

Evidence for the known upstream defects (PROTOCOL.md §12), each example naming the symptom:

* ``init_failures``: app ``init fail`` events with an error code from the cloud
  (``tpa_connection_error``, e.g. D1's ``SESSION_NOT_FOUND``); ``init_failed_sessions``
  counts the app sessions that never connected at all.
* ``ended_without_stop``: app sessions closed 1000 ``"User session ended"`` with no
  ``stop_request`` webhook since their last ``session_request`` (D13).
* ``repeated_requests``: ``session_request`` webhooks for a session id within
  ``repeat_window_s`` (option, scenario s, default 3) after the app answered the
  previous one with an error (the SDK's 500): a start retried after it ended (D12).
* ``loading_apps_not_list``: glasses ``ack``/``app_state`` events whose ``loadingApps``
  was not a list (D11).
* ``display_not_resent``: glasses reconnects (an ``ack`` on a later connection of a
  client that had shown a display) with no display within ``resend_window_s`` (option,
  scenario s, default 2) of the ack (D7).
* ``starts_rerun``: apps back in ``loading`` on the same glasses connection after their
  start ended, with no ``start_app`` from the glasses in between (D10).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wsquake.history.frame import HistoryFrames
from wsquake.scenarios.checkers.base import CheckResult, Example
from wsquake.scenarios.checkers.lifecycle_evidence import defect_evidence
from wsquake.scenarios.model import Scenario
from wsquake.scenarios.thresholds import Verdict

__all__ = ["check_lifecycle"]


def check_lifecycle(
    frames: HistoryFrames, scenario: Scenario, options: Mapping[str, Any] | None = None
) -> CheckResult:
    options = options or {}
    max_examples = int(options.get("max_examples", 3))
    ev = frames.events
    kind, outcome = ev["kind"], ev["outcome"]
    starts = int(((kind == "start_app") & (outcome == "invoke")).sum())
    started = int(((kind == "start_app") & (outcome == "ok")).sum())
    requests = ev[(kind == "webhook") & (outcome == "invoke")
                  & (ev["request"] == "session_request")]
    if starts:
        rate: float | None = round(min(started, starts) / starts, 6)
    else:
        asked = set(requests["session_id"].astype(str))
        acked = set(frames.acks[frames.acks["role"] == "app"]["session_id"].astype(str))
        rate = round(len(asked & acked) / len(asked), 6) if asked else None
        starts, started = len(asked), len(asked & acked)
    per_session = requests.groupby("session_id", observed=True).size()
    resurrections = int((per_session - 1).clip(lower=0).sum())
    dups = ev[kind == "duplicate_session"]
    dup_ids = sorted(set(dups["session_id"].astype(str)))
    metrics: dict[str, float | int | None] = {
        "start_success_rate": rate,
        "resurrections": resurrections,
        "duplicate_sessions": len(dup_ids),
        "webhook_failures": int(((kind == "webhook") & (outcome == "fail")).sum()),
        "starts": starts,
        "start_failures": starts - started,
    }
    examples = [
        Example("apps", sid, "duplicate_session", "more than one live app session",
                frames.excerpt(str(dups[dups["session_id"] == sid]["component"].iloc[0]), sid,
                               frames.start_ns, frames.end_ns))
        for sid in dup_ids[:max_examples]
    ]
    evidence = defect_evidence(frames, scenario, options)
    metrics.update(evidence.metrics)
    examples.extend(evidence.examples)
    verdict = Verdict.PASS if rate is not None else Verdict.UNKNOWN
    summary = (f"start success {rate}, {resurrections} resurrection(s), {len(dup_ids)} "
               "duplicate session(s)")
    if evidence.notes:
        summary += "; " + "; ".join(evidence.notes)
    return CheckResult("lifecycle", verdict, metrics, tuple(examples[:max_examples]), summary)
