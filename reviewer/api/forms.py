from django import forms


class ApiTokenForm(forms.Form):
    name = forms.CharField(label="Token name", max_length=100)
