"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
from coord import create_app

app = create_app()
