"""A media player for scripts/develop only: it plays what HA sends by fetching the audio."""
