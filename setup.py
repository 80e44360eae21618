"""Build hook: the wheel carries the mail templates inside the package.

The repository keeps them at the top, ``digest_templates/``, beside
``config.toml``; an installed ``mailer`` finds them as
``mailer/digest_templates/`` (see :mod:`mailer.outbound.templates`) and the
shipped configuration as ``mailer/config/config.toml``. Everything else is in
``pyproject.toml``.
"""

from __future__ import annotations

import os

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithTopLevelData(build_py):
    """``build_py`` that also copies the top-level mail templates and configuration."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads them where they are
            return
        package = os.path.join(self.build_lib, "mailer")
        self.copy_tree("digest_templates", os.path.join(package, "digest_templates"))
        self.copy_file("config.toml", os.path.join(package, "config", "config.toml"))


setup(cmdclass={"build_py": BuildPyWithTopLevelData})
