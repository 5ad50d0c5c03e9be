"""WSGI entry point for gunicorn: `gunicorn 'api.wsgi:app'` (configuration from TIDU_* env vars).

Timers are fired by separate `tidu scheduler` processes in this setup, not by API workers.
"""

from api import create_app, settle_heap

app = create_app()
settle_heap()
