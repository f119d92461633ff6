"""WSGI entry point (``cohortvault serve`` runs it under gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cohortvault.settings")
application = get_wsgi_application()
