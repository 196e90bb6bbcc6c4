"""Jinja2 templates of the HTML report (inline CSS and script: pages stand alone)."""

from __future__ import annotations

__all__ = ["CSS", "INDEX", "SCENARIO", "SORT_SCRIPT"]

CSS = """
:root { --fg:#1b1b1b; --muted:#555; --line:#d0d0d0; --bg:#fff; --panel:#f6f7f9;
  --pass:#007a5a; --fail:#b3470a; --unknown:#8a6100; --error:#8e3b73; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin:0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans",
  sans-serif; color:var(--fg); background:var(--bg); }
main { max-width: 1100px; margin: 0 auto; padding: 1rem; }
header.top { border-bottom: 1px solid var(--line); margin-bottom: 1rem; }
h1 { font-size: 1.6rem; margin: .3rem 0; overflow-wrap: anywhere; }
h2 { font-size: 1.25rem; margin: 1.8rem 0 .6rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1rem 0 .4rem; }
a { color: #0b5cad; }
nav.toc { display:flex; flex-wrap:wrap; gap:.3rem .9rem; font-size:.92rem; margin:.5rem 0 1rem; }
.verdict { display:inline-block; font-weight:700; padding:.05rem .55rem; border-radius:.3rem;
  color:#fff; letter-spacing:.03em; white-space:nowrap; }
.verdict.pass { background:var(--pass); } .verdict.fail { background:var(--fail); }
.verdict.unknown { background:var(--unknown); } .verdict.error { background:var(--error); }
.verdict.big { font-size:1.2rem; padding:.2rem .8rem; }
dl.facts { display:grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr));
  gap:.5rem 1rem; margin:.8rem 0; }
dl.facts div { background:var(--panel); padding:.4rem .6rem; border-radius:.3rem; }
dl.facts dt { font-size:.8rem; color:var(--muted); } dl.facts dd { margin:0; font-weight:600;
  overflow-wrap:anywhere; }
.scroll { overflow-x:auto; max-width:100%; }
table { border-collapse: collapse; width:100%; font-size:.92rem; margin:.4rem 0 1rem; }
th, td { border-bottom:1px solid var(--line); padding:.3rem .5rem; text-align:left;
  vertical-align:top; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
th { background:var(--panel); }
th button { all: unset; cursor:pointer; font-weight:700; }
th button:focus-visible { outline: 2px solid #0b5cad; }
th[aria-sort="ascending"] button::after { content:" \\25B2"; }
th[aria-sort="descending"] button::after { content:" \\25BC"; }
td.id { overflow-wrap:anywhere; min-width: 10rem; }
figure { margin: .5rem 0 1rem; background:#fff; max-width:100%; }
.plotbox { overflow-x:auto; }
/* in a narrow window a plot keeps a readable size and scrolls sideways in its box */
figure svg.plot { width:100%; min-width:720px; height:auto; display:block; }
.grid2 figure svg.plot { min-width:560px; }
figcaption { font-size:.88rem; color:var(--muted); }
.grid2 { display:grid; grid-template-columns: minmax(0, 1fr); gap: 1rem; }
@media (min-width: 900px) { .grid2 { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
  .grid2 figure svg.plot { min-width: 0; } }
.note { color:var(--muted); font-size:.92rem; }
details { background:var(--panel); padding:.4rem .7rem; border-radius:.3rem; margin:.4rem 0; }
summary { cursor:pointer; font-weight:600; }
footer { color:var(--muted); font-size:.85rem; border-top:1px solid var(--line);
  margin-top:2rem; padding-top:.5rem; }
@media (max-width: 600px) { body { font-size:15px; } main { padding:.6rem; }
  th, td { padding:.25rem .3rem; } }
@media print { nav.toc { display:none; } }
"""

SORT_SCRIPT = """
(function () {
  function key(cell) {
    var raw = cell.getAttribute("data-sort");
    if (raw === null) { raw = cell.textContent.trim(); }
    var num = Number(raw);
    return (raw !== "" && raw !== "-" && !isNaN(num))
      ? {n: true, v: num} : {n: false, v: raw.toLowerCase()};
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, col) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          var c;
          if (x.n && y.n) { c = x.v - y.v; }
          else if (x.n !== y.n) { c = x.n ? -1 : 1; }
          else { c = x.v < y.v ? -1 : (x.v > y.v ? 1 : 0); }
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
"""

_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="wsquake">
<title>{{ title }}</title>
<style>""" + CSS + """</style>
</head>
"""

_VERDICT = """{% macro badge(verdict, big=False) -%}
{%- set icons = {"pass": "\u2714", "fail": "\u2716", "unknown": "?", "error": "!"} -%}
<span class="verdict {{ verdict }}{{ ' big' if big else '' }}">{{ icons.get(verdict, '?') }}
 {{ verdict | upper }}</span>
{%- endmacro %}"""

SCENARIO = _VERDICT + """{% set title = "wsquake · " ~ v.name ~ " · " ~ facts.verdict %}""" + \
    _HEAD + """<body>
<main>
<header class="top">
{% if index_href %}<p><a href="{{ index_href }}">&larr; run {{ facts.run_id }}</a></p>{% endif %}
<h1>{{ v.name }} {{ badge(facts.verdict, True) }}</h1>
<nav class="toc" aria-label="sections">
<a href="#checks">Checks</a><a href="#connected">Connected</a><a href="#traffic">Traffic</a>
<a href="#recovery">Recovery</a><a href="#delivery">Delivery</a>
<a href="#swimlanes">Worst sessions</a><a href="#cloud">Cloud</a>
<a href="#sessions">Sessions</a><a href="#examples">Examples</a>
</nav>
</header>

<section id="verdict" aria-labelledby="h-verdict">
<h2 id="h-verdict">Verdict</h2>
<dl class="facts">
<div><dt>verdict</dt><dd>{{ badge(facts.verdict) }}</dd></div>
<div><dt>run</dt><dd>{{ facts.run_id }}</dd></div>
<div><dt>started</dt><dd>{{ facts.started_at | when }}</dd></div>
<div><dt>duration (wall s)</dt><dd>{{ facts.duration_s | num }}</dd></div>
<div><dt>time scale</dt><dd>{{ facts.time_scale | num }}</dd></div>
<div><dt>events</dt><dd>{{ facts.events | num }}</dd></div>
<div><dt>faults applied / healed / rolled back</dt><dd>{{ facts.faults_applied }} /
 {{ facts.faults_healed }} / {{ facts.faults_rolled_back }}</dd></div>
<div><dt>checks failed / unknown</dt><dd>{{ facts.checks_failed }} / {{ facts.checks_unknown }}
 of {{ facts.checks }}</dd></div>
</dl>
{% if facts.interrupted %}<p><strong>Interrupted:</strong> the run was stopped before the
scenario finished; verdicts cover what was recorded.</p>{% endif %}
{% if facts.error %}<p><strong>Harness error:</strong> {{ facts.error }}</p>{% endif %}
{% if facts.truncated_lines %}<p class="note">{{ facts.truncated_lines }} truncated history
line(s) were ignored.</p>{% endif %}
{% if not v.history %}<p class="note">No history was recorded for this scenario: the plots
are empty.</p>{% endif %}
{% if faults %}
<h3>Fault windows</h3>
<div class="scroll"><table>
<thead><tr><th>fault</th><th>target</th><th>toxic</th><th class="num">start (s)</th>
<th class="num">end (s)</th></tr></thead>
<tbody>
{% for f in faults %}<tr><td>{{ f.fault }}</td><td>{{ f.target }}</td><td>{{ f.toxic }}</td>
<td class="num">{{ f.start_s | num }}</td><td class="num">{{ f.end_s | num }}</td></tr>
{% endfor %}
</tbody></table></div>
{% endif %}
</section>

<section id="checks" aria-labelledby="h-checks">
<h2 id="h-checks">Checks and thresholds</h2>
{% if not checks %}<p class="note">No check results.</p>{% endif %}
<div class="scroll"><table>
<thead><tr><th>check</th><th>verdict</th><th>summary</th></tr></thead>
<tbody>
{% for c in checks %}
<tr><td>{{ c.check }}</td><td>{{ badge(c.verdict) }}</td><td>{{ c.summary }}</td></tr>
{% endfor %}
</tbody></table></div>
{% if by_check %}
<div class="scroll"><table>
<thead><tr><th>check</th><th>threshold</th><th class="num">measured</th>
<th class="num">expected</th><th>verdict</th></tr></thead>
<tbody>
{% for check, rows in by_check.items() %}{% for t in rows %}
<tr><td>{{ check }}</td><td><code>{{ t.expr }}</code></td>
<td class="num">{{ t.measured | num }}</td><td class="num">{{ t.expected | num }}</td>
<td>{{ badge(t.verdict) }}</td></tr>
{% endfor %}{% endfor %}
</tbody></table></div>
{% endif %}
</section>

{% macro figure(pid, caption) %}
<figure id="fig-{{ pid }}" data-figure="{{ pid }}">
<div class="plotbox">{{ figures[pid] }}</div>
<figcaption>{{ caption }}</figcaption>
</figure>
{% endmacro %}

<section id="connected" aria-labelledby="h-connected">
<h2 id="h-connected">Connected glasses and apps</h2>
{{ figure("connected", "Acknowledged client sockets per role (init ok → close); hatched grey
spans are fault windows.") }}
</section>

<section id="traffic" aria-labelledby="h-traffic">
<h2 id="h-traffic">Message rate and end-to-end latency</h2>
{{ figure("traffic", "Top: stream messages sent by the glasses and received by the apps per
scenario second. Bottom: echo-probe round trips (glasses → cloud → app → glasses).") }}
</section>

<section id="recovery" aria-labelledby="h-recovery">
<h2 id="h-recovery">Recovery</h2>
<div class="grid2">
{{ figure("ttr-cdf", "Fraction of disrupted connections recovered within t; a curve that
stops below 1 means some never recovered.") }}
{{ figure("phases", "Detect (fault → loss seen), reconnect (→ acknowledged), resubscribe
(→ full subscription set), caught up (→ first fresh message).") }}
</div>
<div class="scroll"><table>
<thead><tr><th>phase</th><th class="num">p50 (s)</th><th class="num">p95 (s)</th>
<th class="num">max (s)</th><th class="num">connections</th></tr></thead>
<tbody>
{% for p in phases %}<tr><td>{{ p.phase | replace("_", " ") }}</td>
<td class="num">{{ p.p50_s | num }}</td><td class="num">{{ p.p95_s | num }}</td>
<td class="num">{{ p.max_s | num }}</td><td class="num">{{ p.n }}</td></tr>
{% endfor %}
</tbody></table></div>
</section>

<section id="delivery" aria-labelledby="h-delivery">
<h2 id="h-delivery">Delivery by phase</h2>
{{ figure("delivery", "Messages lost and duplicated, by the phase their send fell in:
steady (before the first fault), fault, recovery (within the recovery window), after.") }}
<div class="scroll"><table>
<thead><tr><th>phase</th><th class="num">expected</th><th class="num">delivered</th>
<th class="num">lost</th><th class="num">duplicated</th></tr></thead>
<tbody>
{% for d in delivery %}<tr><td>{{ d.phase }}</td><td class="num">{{ d.expected }}</td>
<td class="num">{{ d.delivered }}</td><td class="num">{{ d.lost }}</td>
<td class="num">{{ d.duplicated }}</td></tr>
{% endfor %}
</tbody></table></div>
</section>

<section id="swimlanes" aria-labelledby="h-swimlanes">
<h2 id="h-swimlanes">Worst sessions</h2>
{{ figure("swimlanes", "One lane per session, worst first: bars are acknowledged
connections, marks are the client's events (shape and colour by kind).") }}
</section>

<section id="cloud" aria-labelledby="h-cloud">
<h2 id="h-cloud">Cloud metrics</h2>
{{ figure("cloud-metrics", "What the cloud reported on each probe: sessions and sockets
(top), and its counters from /metrics (bottom).") }}
</section>

<section id="sessions" aria-labelledby="h-sessions">
<h2 id="h-sessions">Sessions</h2>
<p class="note">{{ sessions_total }} client session(s), worst first{% if sessions_total >
sessions | length %}; the first {{ sessions | length }} shown{% endif %}. Click a heading to
sort.</p>
<div class="scroll"><table class="sortable" id="session-table">
<thead><tr>
<th><button type="button">client</button></th><th><button type="button">role</button></th>
<th><button type="button">outcome</button></th>
<th class="num"><button type="button">time to recover (s)</button></th>
<th class="num"><button type="button">connections</button></th>
<th class="num"><button type="button">losses</button></th>
<th class="num"><button type="button">sent</button></th>
<th class="num"><button type="button">received</button></th>
<th class="num"><button type="button">lost</button></th>
<th class="num"><button type="button">duplicated</button></th>
</tr></thead>
<tbody>
{% for s in sessions %}<tr><td class="id">{{ s.client_id }}<br><span class="note">{{
s.component }}</span></td><td>{{ s.role }}</td><td>{{ s.outcome | replace("_", " ") }}</td>
<td class="num" data-sort="{{ s.ttr_s if s.ttr_s is not none else '' }}">{{ s.ttr_s | num }}</td>
<td class="num">{{ s.connections }}</td><td class="num">{{ s.losses }}</td>
<td class="num">{{ s.sent }}</td><td class="num">{{ s.received }}</td>
<td class="num">{{ s.lost }}</td><td class="num">{{ s.duplicated }}</td></tr>
{% endfor %}
</tbody></table></div>
</section>

<section id="examples" aria-labelledby="h-examples">
<h2 id="h-examples">Failing examples</h2>
{% if not examples %}<p class="note">No failing examples.</p>{% endif %}
{% for e in examples %}
<details><summary>{{ e.check }}: {{ e.outcome }} · {{ e.client_id }}</summary>
<p>{{ e.detail }}</p><p class="note">{{ e.component }} · {{ e.events }} event(s) in
summary.json</p></details>
{% endfor %}
</section>

<footer>wsquake report · run {{ facts.run_id }} · scenario {{ v.name }} · times are scenario
seconds since the warm-up began.</footer>
</main>
<script>""" + SORT_SCRIPT + """</script>
</body>
</html>
"""

INDEX = _VERDICT + """{% set title = "wsquake · run " ~ run_id ~ " · " ~ verdict %}""" + \
    _HEAD + """<body>
<main>
<header class="top">
<h1>Run {{ run_id }} {{ badge(verdict, True) }}</h1>
</header>
<section id="run" aria-labelledby="h-run">
<h2 id="h-run">Run</h2>
<dl class="facts">
<div><dt>verdict</dt><dd>{{ badge(verdict) }}</dd></div>
<div><dt>started</dt><dd>{{ run.started_at | when }}</dd></div>
<div><dt>finished</dt><dd>{{ run.finished_at | when }}</dd></div>
<div><dt>exit code</dt><dd>{{ run.exit_code if run.exit_code is not none else "-" }}</dd></div>
<div><dt>scenarios</dt><dd>{{ rows | length }}</dd></div>
</dl>
{% if run.interrupted %}<p><strong>Interrupted:</strong> the run was stopped early.</p>{% endif %}
</section>
<section id="scenarios" aria-labelledby="h-scenarios">
<h2 id="h-scenarios">Scenarios</h2>
<div class="scroll"><table id="scenario-table">
<thead><tr><th>scenario</th><th>verdict</th><th class="num">duration (s)</th>
<th class="num">time scale</th><th class="num">faults</th><th class="num">checks failed</th>
<th class="num">checks unknown</th><th class="num">recovery p95 (s)</th>
<th class="num">never recovered</th><th class="num">lost</th>
<th class="num">duplicated</th></tr></thead>
<tbody>
{% for r in rows %}<tr><td>{% if r.href %}<a href="{{ r.href }}">{{ r.scenario }}</a>{% else
%}{{ r.scenario }}{% endif %}</td><td>{{ badge(r.verdict) }}</td>
<td class="num">{{ r.duration_s | num }}</td><td class="num">{{ r.time_scale | num }}</td>
<td class="num">{{ r.faults_applied }}</td><td class="num">{{ r.checks_failed }}</td>
<td class="num">{{ r.checks_unknown }}</td>
<td class="num">{{ r["recovery.p95_s"] | num }}</td>
<td class="num">{{ r["recovery.never"] | num }}</td>
<td class="num">{{ r["delivery.lost"] | num }}</td>
<td class="num">{{ r["delivery.duplicated"] | num }}</td></tr>
{% endfor %}
</tbody></table></div>
</section>
<footer>wsquake report · run {{ run_id }}</footer>
</main>
</body>
</html>
"""
