"""``ediscuss demo``: the model discussion played end to end by email on a compressed clock.

:func:`run_demo` is the entry point; :mod:`mailer.demo.story` and
:mod:`mailer.demo.story_late` hold the script that the acceptance test checks.
"""

from __future__ import annotations

from mailer.demo.runner import DemoError, DemoOptions, DemoRun, run_demo

__all__ = ["DemoError", "DemoOptions", "DemoRun", "run_demo"]
