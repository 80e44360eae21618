"""ediscuss: moderated, time-boxed public e-discussions by plain email."""

from __future__ import annotations
