from django.contrib import admin

from .models import (
    CatalogueEntry,
    GitToken,
    Project,
    ProviderKey,
    Review,
    SharedValue,
    ShareLink,
    StreamEvent,
)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "model", "created_at"]
    search_fields = ["name"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["pk", "project", "model", "status", "created_at", "cost_usd"]
    list_filter = ["status", "model"]
    readonly_fields = ["pack_summary", "archive_sha256", "lease_expires_at"]


@admin.register(StreamEvent)
class StreamEventAdmin(admin.ModelAdmin):
    list_display = ["review", "seq", "kind"]


@admin.register(CatalogueEntry)
class CatalogueEntryAdmin(admin.ModelAdmin):
    list_display = ["model_id", "label", "adapter", "provider", "context_tokens"]
    readonly_fields = ["count_ratio_in_use"]

    @admin.display(description="count ratio budgets use")
    def count_ratio_in_use(self, obj):
        # How the provider counts against o200k: learned from its reviews, else the default.
        from reviewer.counts.services import ratio_for

        if obj.pk is None:
            return "-"
        ratio = ratio_for(obj.to_model_info())
        return f"{ratio.value:g} ({ratio.kind}): {ratio.source}"


@admin.register(SharedValue)
class SharedValueAdmin(admin.ModelAdmin):
    list_display = ["key", "value", "expires_at"]


@admin.register(ProviderKey)
class ProviderKeyAdmin(admin.ModelAdmin):
    list_display = ["team", "provider", "updated_at"]
    # The ciphertext is useless to show and the plaintext must never be shown.
    exclude = ["encrypted_key"]


@admin.register(GitToken)
class GitTokenAdmin(admin.ModelAdmin):
    list_display = ["team", "created_by", "updated_at"]
    # As for provider keys: neither the ciphertext nor the token is ever shown.
    exclude = ["encrypted_token"]


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = ["review", "created_by", "created_at", "expires_at", "revoked_at"]
    readonly_fields = ["token"]
