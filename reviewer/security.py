"""Security headers and login throttling.

Django 5.2 has no built-in Content-Security-Policy, so a tiny middleware sets one that
allows only the app's own scripts, styles and connections. A view that needs another
policy (the self-contained HTML export) sets its own header, which is kept.
"""

import hashlib
import math
import time

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


# -- login throttling -----------------------------------------------------------------------
def _client_ip(request):
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def _key(username, ip):
    digest = hashlib.sha256(f"{(username or '').strip().lower()}\0{ip}".encode()).hexdigest()
    return f"login-failures:{digest}"


def _window():
    return settings.LOGIN_LOCKOUT_MINUTES * 60


def _failures(key):
    now = time.time()
    return [t for t in cache.get(key, []) if now - t < _window()]


def lockout_minutes(request, username):
    """Minutes until this username may be tried again from this address (0: not locked)."""
    failures = _failures(_key(username, _client_ip(request)))
    if len(failures) < settings.LOGIN_MAX_FAILURES:
        return 0
    # Locked until the oldest failure that keeps the count at the limit leaves the window.
    unlock_at = failures[-settings.LOGIN_MAX_FAILURES] + _window()
    return max(1, math.ceil((unlock_at - time.time()) / 60))


def record_failure(request, username):
    key = _key(username, _client_ip(request))
    failures = _failures(key)
    failures.append(time.time())
    cache.set(key, failures[-settings.LOGIN_MAX_FAILURES :], timeout=_window())


def clear_failures(request, username):
    cache.delete(_key(username, _client_ip(request)))


class ThrottledAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your username and password didn't match. Please try again.",
    }

    def clean(self):
        username = self.cleaned_data.get("username")
        minutes = lockout_minutes(self.request, username)
        if minutes:
            unit = "minute" if minutes == 1 else "minutes"
            raise forms.ValidationError(
                f"Too many failed attempts; try again in {minutes} {unit}.", code="throttled"
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            record_failure(self.request, username)
            raise
        clear_failures(self.request, username)
        return cleaned


class ThrottledLoginView(LoginView):
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 429 if form.has_error("__all__", "throttled") else 200
        return response
