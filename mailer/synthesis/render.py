"""The report as Markdown and as one self-contained HTML page, written to a folder.

The HTML carries its chart as a ``data:`` URI and its styles inline, so it
can be mailed or opened anywhere without remote assets; every text from a
participant is escaped. The Markdown points at the PNG beside it.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, select_autoescape

from mailer.synthesis.data import Report

CHART = "participation.png"

_HTML = """<!DOCTYPE html>
<html lang="{{ r.language }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{ w.report }}: {{ r.title }}</title>
</head>
<body style="margin:0;background:#fff;color:#1a1a1a;font:16px/1.5 Arial,Helvetica,sans-serif">
<main style="max-width:52em;margin:0 auto;padding:1em">
<p style="margin:0;color:#4a4a4a">{{ w.report }} · {{ r.slug }}</p>
<h1 style="font-size:1.5em;line-height:1.25;margin:.2em 0">{{ r.title }}</h1>
<p style="margin:0">{{ r.window }} {{ r.generated }}</p>
<h2 style="font-size:1.2em;margin:1.5em 0 .5em">{{ w.overview }}</h2>
<p style="margin:0">{{ w.contributions }}: <strong>{{ r.total }}</strong> ·
{{ w.participants }}: <strong>{{ r.participants }}</strong> ·
{{ w.questions }}: <strong>{{ r.questions | length }}</strong></p>
<div style="display:flex;flex-wrap:wrap;align-items:flex-start;gap:2em;margin-top:1em">
{% for title, rows in ((w.by_constituency, r.by_constituency), (w.by_language, r.by_language)) %}
<table style="border-collapse:collapse;min-width:18em">
<caption style="text-align:left;font-weight:bold;padding-bottom:.3em">{{ title }}</caption>
{% for name, n in rows %}
<tr><td style="padding:.2em .8em .2em 0;border-bottom:1px solid #ddd">{{ name }}</td>
<td style="padding:.2em 0;border-bottom:1px solid #ddd;text-align:right">{{ n }}</td>
<td style="padding:.2em 0 .2em .8em;border-bottom:1px solid #ddd;text-align:right;color:#4a4a4a">{{ (100 * n / r.total) | round | int }} %</td></tr>
{% endfor %}
</table>
{% endfor %}
</div>
<h2 style="font-size:1.2em;margin:1.5em 0 .5em">{{ w.per_day }}</h2>
<img src="data:image/png;base64,{{ chart }}" alt="{{ w.per_day_alt }}" style="max-width:100%;height:auto">
{% for q in r.questions %}
<h2 style="font-size:1.2em;margin:2em 0 .3em;padding-top:.5em;border-top:2px solid #1a1a1a">{{ w.question.format(n=q.number) }} ({{ w.week.format(w=q.week) }}) · {{ q.contributions | length }}</h2>
<p style="margin:0;font-style:italic">{{ q.text }}</p>
{% for c in q.contributions %}
<section style="margin:1em 0 0 0">
<h3 style="font-size:1em;margin:0">{{ c.author }} <span style="font-weight:normal">({% if c.organisation %}{{ c.organisation }}, {% endif %}{{ c.constituency }}, {{ w[c.language] | default(c.language) }})</span></h3>
<p style="margin:0;color:#4a4a4a;font-size:.9em">{{ c.when }}{% if c.reply_to %}, {{ c.reply_to }}{% endif %}</p>
{% for para in c.body.split("\\n\\n") %}<p style="margin:.4em 0;white-space:pre-line">{{ para }}</p>{% endfor %}
</section>
{% else %}
<p>{{ w.none }}</p>
{% endfor %}
{% endfor %}
</main>
</body>
</html>
"""


@dataclass(frozen=True)
class ReportFiles:
    """Where the report was written."""

    html: Path
    markdown: Path
    chart: Path


def to_html(report: Report, png: bytes) -> str:
    """The report as one HTML page with its chart embedded."""
    env = Environment(autoescape=select_autoescape(default=True), trim_blocks=True)
    template = env.from_string(_HTML)
    chart = base64.b64encode(png).decode("ascii")
    return template.render(r=report, w=report.labels, chart=chart)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|])")


def md(text: str) -> str:
    """*text* with Markdown's special characters escaped."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def to_markdown(report: Report, chart: str = CHART) -> str:
    """The report as Markdown, the chart linked as *chart*."""
    w = report.labels
    out = [f"# {md(w['report'])}: {md(report.title)}", ""]
    out += [
        f"{md(report.window)} {md(report.generated)}",
        "",
        f"## {w['overview']}",
        "",
    ]
    out += [
        f"- {w['contributions']}: **{report.total}**",
        f"- {w['participants']}: **{report.participants}**",
        f"- {w['questions']}: **{len(report.questions)}**",
        "",
    ]
    for title, rows in ((w["by_constituency"], report.by_constituency),
                        (w["by_language"], report.by_language)):  # fmt: skip
        out += [
            f"### {title}",
            "",
            f"| | {w['count']} | {w['share']} |",
            "|---|---:|---:|",
        ]
        share = (
            (lambda n: round(100 * n / report.total)) if report.total else (lambda n: 0)
        )
        out += [f"| {md(name)} | {n} | {share(n)} % |" for name, n in rows]
        out.append("")
    out += [f"## {w['per_day']}", "", f"![{md(w['per_day_alt'])}]({chart})", ""]
    out += [f"| {w['day']} | {w['count']} |", "|---|---:|"]
    out += [f"| {d.isoformat()} | {sum(c.values())} |" for d, c in report.per_day]
    out.append("")
    for q in report.questions:
        title = w["question"].format(n=q.number)
        out += [
            f"## {title} ({w['week'].format(w=q.week)}) · {len(q.contributions)}",
            "",
        ]
        out += [f"*{md(q.text)}*", ""]
        if not q.contributions:
            out += [w["none"], ""]
        for c in q.contributions:
            about = ", ".join(
                x
                for x in (c.organisation, c.constituency, w.get(c.language, c.language))
                if x
            )
            head = f"**{md(c.author)}** ({md(about)}), {md(c.when)}"
            if c.reply_to:
                head = "↳ " + head + f", {md(c.reply_to)}"
            out += [head, ""]
            out += [f"> {md(line)}".rstrip() for line in c.body.splitlines()]
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def write_report(report: Report, folder: Path) -> ReportFiles:
    """Write ``report.html``, ``report.md`` and the chart into *folder* (made if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    # matplotlib costs ~100 MB and a slow import: only the report loads it.
    from mailer.synthesis.chart import participation_png

    png = participation_png(report)
    files = ReportFiles(folder / "report.html", folder / "report.md", folder / CHART)
    files.chart.write_bytes(png)
    files.html.write_text(to_html(report, png), encoding="utf-8")
    files.markdown.write_text(to_markdown(report), encoding="utf-8")
    return files
