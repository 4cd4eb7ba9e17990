"""The test project's own settings; /etc/opt/geodemo/settings.py imports them and sets DATABASES."""
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.gis",
    "places",
]
ROOT_URLCONF = "geodemo.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Replaced by the deployment's settings; kept so that a missing override fails loudly.
DATABASES = {}
