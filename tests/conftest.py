"""Test-suite settings shared by every test module."""

import os

from hypothesis import settings

# Wall-clock deadlines make property tests flaky on a loaded 2-core CI machine; CI also
# derandomises, so a red build can be reproduced exactly by rerunning it.
settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")

# pytester runs small pytest sessions in a subprocess-free sandbox (the kit's plugin test).
pytest_plugins = ("pytester",)
