"""Build of the optional C accelerator; everything else is in pyproject.toml.

The extension is optional: without a C compiler the install still succeeds and the matcher uses
its pure-Python path (``monitor.match.fastlines.AVAILABLE`` tells which). ``MONITOR_REQUIRE_C=1``
makes a failed compile fail the install instead (the Docker build sets it).
"""

import os

from setuptools import Extension, setup

setup(ext_modules=[Extension("monitor.match._lines", ["monitor/match/_lines.c"],
                             optional=os.environ.get("MONITOR_REQUIRE_C") != "1",
                             extra_compile_args=["-O2"])])
