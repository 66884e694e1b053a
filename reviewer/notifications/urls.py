from django.urls import path

from . import views

urlpatterns = [
    path("account/notifications", views.notification_settings, name="notification_settings"),
    path("projects/<int:pk>/webhook", views.project_webhook, name="project_webhook"),
    path(
        "projects/<int:pk>/webhook/deliveries",
        views.webhook_deliveries,
        name="webhook_deliveries",
    ),
]
