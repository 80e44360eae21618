"""The moderators' synthesis report: contributions per question, counts, participation per day.

:func:`load_report` reads it from the store; :func:`write_report` writes it as
HTML (chart embedded), Markdown and a PNG chart into a folder.
"""

from __future__ import annotations

from mailer.synthesis.data import Report, build_report, load_report
from mailer.synthesis.render import ReportFiles, to_html, to_markdown, write_report

__all__ = [
    "Report",
    "ReportFiles",
    "build_report",
    "load_report",
    "to_html",
    "to_markdown",
    "write_report",
]
