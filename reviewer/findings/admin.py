from django.contrib import admin

from .models import Finding, ReviewFindings, Triage


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = ("review", "position", "severity", "kind", "title")
    list_filter = ("severity", "kind")
    raw_id_fields = ("review",)


@admin.register(ReviewFindings)
class ReviewFindingsAdmin(admin.ModelAdmin):
    list_display = ("review", "structured", "unstructured", "citations", "citations_verified")
    raw_id_fields = ("review", "previous")


@admin.register(Triage)
class TriageAdmin(admin.ModelAdmin):
    list_display = ("project", "state", "title", "updated_by", "updated_at")
    list_filter = ("state",)
    raw_id_fields = ("project", "review")
