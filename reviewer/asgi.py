import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewer.settings")
django.setup(set_prefix=False)

from reviewer.intake.limits import UploadLimits, WorkDirASGIHandler  # noqa: E402

# What get_asgi_application() returns, with request bodies spooled under var/ and the
# upload URLs' limits applied before a body is read.
application = UploadLimits(WorkDirASGIHandler())
