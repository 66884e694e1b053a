from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from .models import Invite, Role, Team


class SignupForm(UserCreationForm):
    email = forms.EmailField(label="Email", help_text="For password resets and invites.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ["username", "email"]

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email exists already.")
        return email


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name"]
        labels = {"name": "Team name"}


def _role_choices(assignable):
    return [(value, label) for value, label in Role.choices if value in assignable]


class InviteForm(forms.ModelForm):
    class Meta:
        model = Invite
        fields = ["email", "role"]
        labels = {"email": "Email (optional)", "role": "Role"}

    def __init__(self, *args, assignable=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = False
        self.fields["email"].widget.attrs["aria-describedby"] = "invite-email-help"
        self.fields["role"].choices = _role_choices(assignable)
        self.fields["role"].initial = Role.MEMBER


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role")

    def __init__(self, *args, assignable=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _role_choices(assignable)
