from django.contrib import admin
from django.utils.html import format_html_join

from reviewer import llm
from reviewer.counts.models import ObservedRatio
from reviewer.counts.services import ratio_for
from reviewer.runs import library_settings


@admin.register(ObservedRatio)
class ObservedRatioAdmin(admin.ModelAdmin):
    """Per model: how the provider counts against our o200k count, and what budgets use."""

    list_display = ["model_id", "provider", "sample_count", "catalogue", "in_use", "updated_at"]
    search_fields = ["model_id"]
    readonly_fields = [
        "model_id",
        "provider",
        "catalogue",
        "in_use",
        "in_use_source",
        "recent",
        "updated_at",
    ]
    exclude = ["samples"]

    def has_add_permission(self, request):
        return False  # rows come from reviews

    def has_change_permission(self, request, obj=None):
        return False

    def _model(self, obj):
        return library_settings.model_for(obj.model_id)

    @admin.display(description="samples")
    def sample_count(self, obj):
        return len(obj.samples)

    @admin.display(description="catalogue ratio")
    def catalogue(self, obj):
        found = llm.catalogue_ratio(self._model(obj))
        return f"{found.value:g}: {found.source}"

    @admin.display(description="ratio budgets use")
    def in_use(self, obj):
        ratio = ratio_for(self._model(obj))
        return f"{ratio.value:g} ({ratio.kind})"

    @admin.display(description="why")
    def in_use_source(self, obj):
        return ratio_for(self._model(obj)).source

    @admin.display(description="recent reviews (reported / ours)")
    def recent(self, obj):
        rows = [
            (
                s.get("at", ""),
                s.get("review") or "-",
                s["reported"],
                s["ours"],
                f"{s['reported'] / s['ours']:.3f}",
            )
            for s in reversed(obj.samples[-20:])
            if s.get("ours")
        ]
        if not rows:
            return "-"
        return format_html_join("\n", "<div>{} · review {} · {} / {} = {}</div>", rows)
