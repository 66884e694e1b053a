from django import forms

from reviewer.intake.limits import field_limits, too_large_sentence
from reviewer.reviews.models import Project


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name"]
        labels = {"name": "Name"}


class ProjectSettingsForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "model", "ignore_patterns", "include_patterns"]
        labels = {
            "ignore_patterns": "Extra ignore patterns",
            "include_patterns": "Force-include patterns",
        }
        widgets = {
            "ignore_patterns": forms.Textarea(
                attrs={"rows": 4, "placeholder": "docs/legacy/\n*.snap"}
            ),
            "include_patterns": forms.Textarea(attrs={"rows": 3, "placeholder": "vendor/ourlib/"}),
        }
        labels["model"] = "Default model"

    def __init__(self, *args, **kwargs):
        from reviewer.runs import library_settings

        super().__init__(*args, **kwargs)
        choices = library_settings.model_choices(self.instance.team)
        current = self.instance.model
        if current and current not in dict(choices):
            # A model id the catalogue no longer lists stays selectable until changed.
            choices.append((current, current))
        self.fields["model"] = forms.ChoiceField(
            label="Default model", choices=choices, initial=current, required=False
        )

    def clean_model(self):
        return self.cleaned_data.get("model") or self.instance.model


def check_size(upload, field):
    """The limit FieldLimitUploadHandler enforced while the file arrived, as a sentence."""
    if upload.size > field_limits()[field]:
        raise forms.ValidationError(too_large_sentence(field), code="too_large")
    return upload


class RerunForm(forms.Form):
    archive = forms.FileField(label="Replacement archive")

    def clean_archive(self):
        return check_size(self.cleaned_data["archive"], "archive")


ARCHIVE_OR_URL = "Give either an archive or a repository URL, not both."


class UploadForm(forms.Form):
    """An archive, or a repository's URL (and optionally a branch, tag or commit), with
    the specification. The page says which with `source`; API callers send one of the
    two and get a sentence when they send both or neither."""

    source = forms.ChoiceField(
        label="Code",
        required=False,
        choices=[("archive", "Upload an archive"), ("url", "Repository URL")],
    )
    archive = forms.FileField(
        label="Repository archive",
        required=False,
        error_messages={"required": "Choose the repository archive."},
    )
    repo_url = forms.CharField(label="Clone URL", required=False, max_length=2000)
    ref = forms.CharField(label="Branch, tag or commit", required=False, max_length=255)
    spec = forms.FileField(
        label="Specification PDF", error_messages={"required": "Choose the specification PDF."}
    )
    model = forms.ChoiceField(label="Model", required=False)
    # "split": the whole repository in several requests and a merge; "single" or empty:
    # one request (files are left out when it does not fit).
    mode = forms.CharField(label="Mode", required=False)

    def __init__(self, *args, model_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = list(model_choices)

    def clean_archive(self):
        archive = self.cleaned_data.get("archive")
        return check_size(archive, "archive") if archive else None

    def clean(self):
        data = super().clean()
        source = data.get("source") or ""
        archive, url = data.get("archive"), (data.get("repo_url") or "").strip()
        if not source:
            if archive and url:
                raise forms.ValidationError(ARCHIVE_OR_URL, code="both")
            source = "url" if url else "archive"
        data["source"] = source
        # The page's other mode may still carry a value: only the chosen one counts.
        if source == "url":
            data["archive"] = None
            if not url and "repo_url" not in self.errors:
                self.add_error(
                    "repo_url",
                    forms.ValidationError("Give the repository's URL.", code="required"),
                )
        else:
            data["repo_url"], data["ref"] = "", ""
            if not archive and "archive" not in self.errors:
                self.add_error(
                    "archive",
                    forms.ValidationError(
                        self.fields["archive"].error_messages["required"], code="required"
                    ),
                )
        return data

    @property
    def by_url(self):
        return self.cleaned_data.get("source") == "url"

    def clean_mode(self):
        mode = self.cleaned_data.get("mode") or "single"
        if mode not in ("single", "split"):
            raise forms.ValidationError(f"Unknown mode “{mode[:40]}”; use single or split.")
        return mode

    def clean_spec(self):
        spec = check_size(self.cleaned_data["spec"], "spec")
        head = spec.read(5)
        spec.seek(0)
        if head != b"%PDF-":
            raise forms.ValidationError("The specification is not a PDF.")
        return spec


PATTERNS_MAX_CHARS = 100_000


class PackChoicesForm(forms.Form):
    """The model and patterns typed on a draft's preview. A field the request leaves out
    means "as saved" (the draft's model, the project's patterns); an empty one means none."""

    model = forms.ChoiceField(label="Model", required=False)
    ignore_patterns = forms.CharField(
        label="Extra ignore patterns", required=False, strip=False, max_length=PATTERNS_MAX_CHARS
    )
    include_patterns = forms.CharField(
        label="Force-include patterns", required=False, strip=False, max_length=PATTERNS_MAX_CHARS
    )

    def __init__(self, data, review):
        from reviewer.runs import library_settings

        super().__init__(data)
        self.review = review
        choices = library_settings.model_choices(review.project.team)
        if review.model not in dict(choices):
            # The draft's own model stays selectable even if the catalogue dropped it.
            choices.append((review.model, review.model))
        self.fields["model"].choices = choices

    def first_error(self):
        for name, errors in self.errors.items():
            label = self.fields[name].label if name in self.fields else "Request"
            return f"{label}: {' '.join(errors)}"
        return ""

    def snapshot(self):
        from reviewer.runs import library_settings

        data = self.cleaned_data

        def typed(name):
            return data[name] if name in self.data else None

        # The checkbox is sent only when ticked: with the other fields present its
        # absence means one request; a request with no fields keeps the draft's mode.
        mode = self.review.pack_options.get("mode")
        if "model" in self.data:
            mode = "split" if self.data.get("mode") == "split" else None
        return library_settings.snapshot_for(
            self.review.project,
            data["model"] or self.review.model,
            typed("ignore_patterns"),
            typed("include_patterns"),
            mode=mode,
        )
