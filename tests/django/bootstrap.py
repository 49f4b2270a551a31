"""Creates the database and a user with an API token; prints the token."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "printjobs.settings")
import django  # noqa: E402

django.setup()
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

call_command("migrate", run_syncdb=True, verbosity=0)
user, _ = User.objects.get_or_create(username="pos")
token, _ = Token.objects.get_or_create(user=user)
print(token.key)
