"""Security headers, and throttling of sign-in, sign-up and password reset.

Django 5.2 has no built-in Content-Security-Policy, so a tiny middleware sets one that
allows only the app's own scripts, styles and connections. A view that needs another
policy (the self-contained HTML export) sets its own header, which is kept.

The throttles count in the shared cache (reviewer.throttle) per client address as the
trusted proxies report it, so one address can neither guess one account's password nor
spray guesses over many accounts, nor create accounts or reset mails in bulk.
"""

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, PasswordResetView

from . import throttle

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
def _address(request):
    return throttle.address_subject(throttle.client_address(request))


def _login_limits(request, username):
    """(scope, subject, failures allowed): per username and address, and per address."""
    address = _address(request)
    limits = [("login", ((username or "").strip().lower(), address), settings.LOGIN_MAX_FAILURES)]
    if settings.LOGIN_MAX_FAILURES_PER_ADDRESS > 0:
        limits.append(("login-address", (address,), settings.LOGIN_MAX_FAILURES_PER_ADDRESS))
    return limits


def _login_window():
    return settings.LOGIN_LOCKOUT_MINUTES * 60


def lockout_seconds(request, username):
    """Seconds until this username may be tried again from this address (0: now)."""
    limits = _login_limits(request, username)
    return max(throttle.locked_for(scope, parts) for scope, parts, _ in limits)


def record_failure(request, username):
    window = _login_window()
    for scope, parts, limit in _login_limits(request, username):
        failures, _ = throttle.count(scope, parts, window)
        if failures >= limit:
            # Locked for a whole lockout period from the failure that reached the limit.
            throttle.lock(scope, parts, window)


def clear_failures(request, username):
    # Only the username's own count: the address's count stays, or one working account
    # would let an address wipe its record of guesses at others.
    scope, parts, _ = _login_limits(request, username)[0]
    throttle.forget(scope, parts, _login_window())


def _too_many(seconds, what):
    return f"Too many {what}; try again in {throttle.in_minutes(seconds)}."


class ThrottledLoginMixin:
    def clean(self):
        username = self.cleaned_data.get("username")
        seconds = lockout_seconds(self.request, username)
        if seconds:
            self.retry_after = seconds
            raise forms.ValidationError(_too_many(seconds, "failed attempts"), code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            record_failure(self.request, username)
            raise
        clear_failures(self.request, username)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your username and password didn't match. Please try again.",
    }


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The admin's own login page counts against the same limits."""


def refused(response, seconds):
    """The response as a 429 that says when to come back."""
    response.status_code = 429
    response["Retry-After"] = str(seconds)
    return response


class ThrottledLoginView(LoginView):
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error("__all__", "throttled"):
            return refused(response, form.retry_after)
        return response


# -- sign-up and password reset -------------------------------------------------------------
_HOUR = 3600


def signup_refusal(request):
    """Counts a sign-up attempt; (seconds to wait, sentence) when over the limit, else None."""
    limit = settings.SIGNUPS_PER_ADDRESS_PER_HOUR
    seconds = throttle.over_limit("signup", (_address(request),), limit, _HOUR)
    return (seconds, _too_many(seconds, "sign-ups from your network")) if seconds else None


class ThrottledPasswordResetView(PasswordResetView):
    """Per address, and per target email whether or not an account has it, so that a
    refusal tells nothing about which addresses exist."""

    def form_valid(self, form):
        email = form.cleaned_data["email"].strip().lower()
        seconds = throttle.over_limit(
            "reset-address",
            (_address(self.request),),
            settings.PASSWORD_RESETS_PER_ADDRESS_PER_HOUR,
            _HOUR,
        ) or throttle.over_limit(
            "reset-email", (email,), settings.PASSWORD_RESETS_PER_EMAIL_PER_HOUR, _HOUR
        )
        if seconds:
            form.add_error(None, _too_many(seconds, "password reset requests"))
            return refused(self.form_invalid(form), seconds)
        return super().form_valid(form)
