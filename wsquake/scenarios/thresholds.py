"""Thresholds: ``"<check>.<metric> <op> <expression>"`` strings, evaluated on metrics.

Model: chaostoolkit-lib ``hypothesis.py`` ``within_tolerance`` — a pure comparison of a
measured value against an expected one, with three outcomes.

Grammar (a deliberately tiny language)::

    threshold  := metric OP expression
    metric     := check "." key            e.g. recovery.p95_s
    OP         := ">=" | "<=" | "==" | "!=" | ">" | "<"
    expression := number | symbol | expression ("+"|"-"|"*"|"/") expression | "(" … ")"
    number     := a decimal number, optionally suffixed "s" (seconds) or "ms" (÷ 1000)
    symbol     := a cloud timing key (wsquake.cloud.Timings field, e.g. pong_deadline_s)
                  or a scenario key (recovery_window_s, warmup_s, users, apps_per_user,
                  sessions = users × apps_per_user, time_scale)

Symbols are resolved from the scenario **unscaled** (scenario seconds), and every ``_s``
metric a checker reports is in scenario seconds too (wall seconds ÷ ``time_scale``), so a
threshold holds for any ``time_scale``. Keys ending ``_ms`` are converted to seconds when
used as symbols, so ``display_throttle_ms`` reads as 0.3.

``evaluate(metrics, symbols)`` returns a :class:`ThresholdResult`: ``pass`` / ``fail``, or
``unknown`` when the metric is missing, ``None`` or NaN (not enough evidence).
"""

from __future__ import annotations

import ast
import enum
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields

from wsquake.cloud.settings import Timings
from wsquake.scenarios.exceptions import ThresholdError

__all__ = [
    "SCENARIO_SYMBOLS",
    "TIMING_SYMBOLS",
    "Comparison",
    "Threshold",
    "ThresholdResult",
    "Verdict",
    "worst",
]


class Verdict(enum.StrEnum):
    """The outcome of a threshold or a check: ``fail`` beats ``unknown`` beats ``pass``."""

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"


_RANK = {Verdict.PASS: 0, Verdict.UNKNOWN: 1, Verdict.FAIL: 2}


def worst(verdicts: Iterable[Verdict | str]) -> Verdict:
    """Combine verdicts: any ``fail`` → fail, else any ``unknown`` → unknown, else pass."""
    out = Verdict.PASS
    for v in verdicts:
        if _RANK[Verdict(v)] > _RANK[out]:
            out = Verdict(v)
    return out


class Comparison(enum.StrEnum):
    GE = ">="
    LE = "<="
    EQ = "=="
    NE = "!="
    GT = ">"
    LT = "<"


_COMPARE: Mapping[Comparison, Callable[[float, float], bool]] = {
    Comparison.GE: operator.ge,
    Comparison.LE: operator.le,
    Comparison.EQ: operator.eq,
    Comparison.NE: operator.ne,
    Comparison.GT: operator.gt,
    Comparison.LT: operator.lt,
}

TIMING_SYMBOLS: frozenset[str] = frozenset(f.name for f in fields(Timings)) - {"time_scale"}
SCENARIO_SYMBOLS: frozenset[str] = frozenset(
    {"recovery_window_s", "warmup_s", "users", "apps_per_user", "sessions", "time_scale"}
)
_KNOWN = TIMING_SYMBOLS | SCENARIO_SYMBOLS

_LINE = re.compile(
    r"^\s*(?P<metric>[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\s*"
    r"(?P<op>>=|<=|==|!=|>|<)\s*(?P<expr>.+?)\s*$"
)
_UNIT = re.compile(r"(?<![A-Za-z0-9_.])(\d+(?:\.\d*)?|\.\d+)(ms|s)\b")
_BINOPS: Mapping[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _strip_units(expr: str) -> str:
    def repl(m: re.Match[str]) -> str:
        number = float(m.group(1))
        return repr(number / 1000.0 if m.group(2) == "ms" else number)

    return _UNIT.sub(repl, expr)


def _check_node(node: ast.AST, text: str, names: set[str]) -> None:
    if isinstance(node, ast.Expression):
        _check_node(node.body, text, names)
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        _check_node(node.left, text, names)
        _check_node(node.right, text, names)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        _check_node(node.operand, text, names)
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
        if not math.isfinite(float(node.value)):  # type: ignore[arg-type]
            raise ThresholdError(f"threshold {text!r}: numbers must be finite")
    elif isinstance(node, ast.Name):
        if node.id not in _KNOWN:
            known = ", ".join(sorted(_KNOWN))
            raise ThresholdError(
                f"threshold {text!r}: unknown symbol {node.id!r} (known: {known})"
            )
        names.add(node.id)
    else:
        raise ThresholdError(
            f"threshold {text!r}: only numbers, timing symbols, + - * / and parentheses "
            "are allowed on the right-hand side"
        )


def _eval_node(node: ast.AST, symbols: Mapping[str, float]) -> float:
    if isinstance(node, ast.Expression):
        return _eval_node(node.body, symbols)
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](
            _eval_node(node.left, symbols), _eval_node(node.right, symbols)
        )
    if isinstance(node, ast.UnaryOp):
        value = _eval_node(node.operand, symbols)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Constant):
        return float(node.value)  # type: ignore[arg-type]
    if isinstance(node, ast.Name):
        return float(symbols[node.id])
    raise AssertionError(node)  # pragma: no cover - rejected by _check_node


@dataclass(frozen=True, slots=True)
class ThresholdResult:
    """One evaluated threshold; ``measured``/``expected`` are ``None`` when unknown."""

    threshold: str
    metric: str
    comparison: Comparison
    verdict: Verdict
    measured: float | None
    expected: float | None

    def to_json(self) -> dict[str, object]:
        return {
            "threshold": self.threshold,
            "metric": self.metric,
            "op": self.comparison.value,
            "verdict": self.verdict.value,
            "measured": self.measured,
            "expected": self.expected,
        }


@dataclass(frozen=True, slots=True, init=False)
class Threshold:
    """A parsed threshold; build with ``Threshold("recovery.rate >= 0.99")``."""

    text: str
    check: str
    key: str
    comparison: Comparison
    expression: str
    symbols: frozenset[str]
    _tree: ast.Expression = field(compare=False, repr=False)

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise ThresholdError(f"threshold must be a string, got {text!r}")
        m = _LINE.match(text)
        if m is None:
            raise ThresholdError(
                f"threshold {text!r}: expected '<check>.<metric> <op> <value>' with op one of "
                ">= <= == != > <"
            )
        expr = m.group("expr")
        try:
            tree = ast.parse(_strip_units(expr), mode="eval")
        except SyntaxError:
            raise ThresholdError(f"threshold {text!r}: cannot parse {expr!r}") from None
        names: set[str] = set()
        _check_node(tree, text, names)
        check, key = m.group("metric").split(".", 1)
        object.__setattr__(self, "text", text.strip())
        object.__setattr__(self, "check", check)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "comparison", Comparison(m.group("op")))
        object.__setattr__(self, "expression", expr)
        object.__setattr__(self, "symbols", frozenset(names))
        object.__setattr__(self, "_tree", tree)

    @property
    def metric(self) -> str:
        return f"{self.check}.{self.key}"

    def expected(self, symbols: Mapping[str, float] | None = None) -> float:
        """The right-hand side's value; raises :class:`ThresholdError` on a missing symbol."""
        symbols = symbols or {}
        missing = sorted(self.symbols - set(symbols))
        if missing:
            raise ThresholdError(f"threshold {self.text!r}: no value for {', '.join(missing)}")
        try:
            return _eval_node(self._tree, symbols)
        except ZeroDivisionError:
            raise ThresholdError(f"threshold {self.text!r}: division by zero") from None

    def evaluate(
        self,
        metrics: Mapping[str, float | int | None],
        symbols: Mapping[str, float] | None = None,
    ) -> ThresholdResult:
        """Compare ``metrics[key]`` (or ``metrics["check.key"]``) against the expression."""
        expected = self.expected(symbols)
        raw = metrics.get(self.key, metrics.get(self.metric))
        measured: float | None
        if raw is None or isinstance(raw, bool) or not isinstance(raw, int | float):
            measured = None
        else:
            measured = float(raw)
            if math.isnan(measured):
                measured = None
        if measured is None:
            verdict = Verdict.UNKNOWN
        elif _COMPARE[self.comparison](measured, expected):
            verdict = Verdict.PASS
        else:
            verdict = Verdict.FAIL
        return ThresholdResult(
            threshold=self.text,
            metric=self.metric,
            comparison=self.comparison,
            verdict=verdict,
            measured=measured,
            expected=expected,
        )

    def __repr__(self) -> str:
        return f"Threshold({self.text!r})"

    def __str__(self) -> str:
        return self.text
