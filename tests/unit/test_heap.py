"""A started process leaves its start-up objects to reference counting alone."""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = """
import gc, json
from mailer.heap import YOUNG_OBJECTS, settle_heap
before = gc.get_threshold()
settle_heap()
print(json.dumps([gc.get_freeze_count(), gc.get_threshold(), before, YOUNG_OBJECTS]))
"""


def test_settle_heap_freezes_start_up_and_collects_young_objects_less_often() -> None:
    # In a process of its own: freezing the test runner's heap would keep its garbage.
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
    )
    frozen, after, before, young = json.loads(out.stdout)
    assert frozen > 1000  # the imports' objects at least
    assert after == [young, before[1], before[2]]
    assert young > before[0]


def test_a_processing_worker_collects_young_objects_as_cpython_does() -> None:
    # Its garbage cycles hold parsed mail: collected late, they raise its peak.
    probe = (
        "import gc, json\n"
        "from mailer.heap import PROCESSING_YOUNG_OBJECTS, settle_heap\n"
        "before = gc.get_threshold()\n"
        "settle_heap(PROCESSING_YOUNG_OBJECTS)\n"
        "print(json.dumps([gc.get_threshold(), before]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    after, before = json.loads(out.stdout)
    assert after == before  # 700, 10, 10
