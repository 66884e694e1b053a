from django.contrib import admin

from .models import TeamReviewMail, Webhook, WebhookDelivery


@admin.register(TeamReviewMail)
class TeamReviewMailAdmin(admin.ModelAdmin):
    list_display = ["membership", "created_at"]


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["project", "url", "updated_at"]
    exclude = ["encrypted_secret"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["webhook", "event", "attempt", "status_code", "ok", "created_at"]
    list_filter = ["ok", "event"]
