"""The minimal settings that django-stubs' mypy plugin loads."""

SECRET_KEY = "lint-only"
INSTALLED_APPS: list[str] = []
