"""Build hook: ship the top-level ``cases/`` inside the wheel as ``conformance/_cases``.

The cases live at the top of the repository (they are data, reviewed like code); an
installed tool finds them through :func:`conformance.scenario.bundled_cases_dir`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCases(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads cases/ from the checkout
        source = Path(__file__).resolve().parent / "cases"
        target = Path(self.build_lib) / "conformance" / "_cases"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.pyc", "__pycache__"))


setup(cmdclass={"build_py": BuildWithCases})
