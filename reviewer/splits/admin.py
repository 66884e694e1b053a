from django.contrib import admin

from reviewer.splits.models import ReviewPart


@admin.register(ReviewPart)
class ReviewPartAdmin(admin.ModelAdmin):
    list_display = ("review", "index", "is_synthesis", "status", "prompt_tokens", "cost_usd")
    list_filter = ("status", "is_synthesis")
    readonly_fields = ("files", "truncated", "text")
