import os

from django.core.wsgi import get_wsgi_application

from config.startup import refuse_to_start_misconfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()
refuse_to_start_misconfigured()
