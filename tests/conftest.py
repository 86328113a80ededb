"""Shared fixtures for the Plenary tests."""

# Real services started once per session: postgres_url, redis_url, chromium_path,
# browser, screenshot_dir (see tests/_services.py).
from tests._services import *  # noqa: F403
from tests._meeting_fixtures import *  # noqa: E402,F403
