# Home Assistant 2026.11+ installs probatio as `voluptuous` before anything
# imports it (homeassistant/__init__.py: probatio.compat.install_as_voluptuous),
# so at run time our `import voluptuous` is probatio. The type checker is told
# the same; HA 2026.2 (the minimum) still ships the real voluptuous, with the
# same API.
from probatio import *
