"""Every data file the package needs is declared as package data (a non-editable install, such as
the Docker image, has only what pyproject.toml lists)."""

from __future__ import annotations

import fnmatch
import tomllib

from tests.conftest import REPO


def test_every_data_file_under_monitor_is_package_data():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["monitor"]
    package = REPO / "monitor"
    # C sources are compiled by setup.py's Extension (and .so files are what it builds).
    missing = [str(p.relative_to(package)) for p in package.rglob("*")
               if p.is_file() and p.suffix not in (".py", ".pyc", ".c", ".so") and "__pycache__" not in p.parts
               and not any(fnmatch.fnmatch(p.name, pat.split("/")[-1]) for pat in patterns)]
    assert not missing, f"not installed by pip (add to package-data): {missing}"
