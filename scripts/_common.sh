# Shared by the scripts: paths and the project's interpreters. Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The newest Home Assistant (Python 3.14): everything runs here by default.
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
# The minimum Home Assistant hacs.json declares (Python 3.13): the HA-facing tests run here too.
VENV_MIN="$ROOT/.venv-min"
# The oldest wyoming release the server supports (what the minimum HA pins).
WYOMING_OLDEST=1.7.2
# The setup stamp changes whenever what setup installs changes.
setup_stamp() {
    cat "$ROOT/pyproject.toml" "$ROOT/scripts/setup" "$ROOT/scripts/ha-newest-overrides.txt" | sha256sum | cut -d' ' -f1
}
# libturbojpeg: HA's camera component (which its AI tasks load) logs an error without it.
has_turbojpeg() { { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep -q libturbojpeg.so; }
system_is_ready() {
    { command -v mosquitto >/dev/null || [[ -x /usr/sbin/mosquitto ]]; } \
        && command -v mosquitto_pub >/dev/null && command -v ffmpeg >/dev/null \
        && command -v espeak-ng >/dev/null && command -v flite >/dev/null \
        && has_turbojpeg
}
setup_is_current() {
    [[ -x "$PY" && -f "$VENV/.alicia-setup" && "$(cat "$VENV/.alicia-setup")" == "$(setup_stamp)" ]] && system_is_ready
}
minimum_is_current() {
    [[ -x "$VENV_MIN/bin/python" && -f "$VENV_MIN/.alicia-setup" && "$(cat "$VENV_MIN/.alicia-setup")" == "$(setup_stamp)" ]]
}
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
