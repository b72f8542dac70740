# Shared by the scripts: paths and the project's interpreter. Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
# The setup stamp changes whenever what setup installs changes.
setup_stamp() {
    cat "$ROOT/pyproject.toml" "$ROOT/scripts/setup" | sha256sum | cut -d' ' -f1
}
setup_is_current() {
    [[ -x "$PY" && -f "$VENV/.alicia-setup" && "$(cat "$VENV/.alicia-setup")" == "$(setup_stamp)" ]] \
        && { command -v mosquitto >/dev/null || [[ -x /usr/sbin/mosquitto ]]; } \
        && command -v ffmpeg >/dev/null
}
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
