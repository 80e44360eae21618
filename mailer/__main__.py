"""``python -m mailer`` is the same as the ``ediscuss`` command."""

from __future__ import annotations

import sys

from mailer.cli import main

sys.exit(main())
