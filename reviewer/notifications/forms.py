import ipaddress

from django import forms
from django.conf import settings

from reviewer.notifications.models import Webhook
from reviewer.notifications.outbound import Refused, check_url, forbidden_address


class WebhookForm(forms.ModelForm):
    url = forms.URLField(
        label="Webhook URL",
        max_length=500,
        assume_scheme="https",
        # A text box: the page's styles cover it, and the server checks the URL anyway.
        widget=forms.TextInput(attrs={"inputmode": "url", "autocomplete": "off"}),
        help_text="https only; called with a signed JSON body when a review ends.",
    )

    class Meta:
        model = Webhook
        fields = ["url"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        allow_private = settings.WEBHOOK_ALLOW_PRIVATE
        try:
            parsed = check_url(url, allow_private)
        except Refused as exc:
            raise forms.ValidationError(str(exc))
        # Names are resolved (and checked again) at each delivery; an address is refused now.
        try:
            literal = ipaddress.ip_address(parsed.host)
        except ValueError:
            literal = None
        if literal is not None and not allow_private and forbidden_address(str(literal)):
            raise forms.ValidationError("The webhook URL points at a private or reserved address.")
        return url
