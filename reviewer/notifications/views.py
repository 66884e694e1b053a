"""Notification settings of a person, and a project's webhook with its delivery log."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from reviewer.notifications.forms import WebhookForm
from reviewer.notifications.models import TeamReviewMail, Webhook, WebhookDelivery
from reviewer.reviews.access import get_project_for_user
from reviewer.teams.models import Membership, Role

DELIVERIES_SHOWN = 100


@login_required
def notification_settings(request):
    memberships = list(
        Membership.objects.filter(user=request.user)
        .select_related("team")
        .order_by("team__personal_for", "team__name")
    )
    if request.method == "POST":
        wanted = {m.pk for m in memberships if request.POST.get(f"team-{m.team_id}") == "on"}
        mine = TeamReviewMail.objects.filter(membership__in=memberships)
        mine.exclude(membership__in=wanted).delete()
        have = set(mine.values_list("membership_id", flat=True))
        TeamReviewMail.objects.bulk_create(TeamReviewMail(membership_id=pk) for pk in wanted - have)
        messages.success(request, "Notification settings saved.")
        return redirect("notification_settings")
    opted = set(
        TeamReviewMail.objects.filter(membership__in=memberships).values_list(
            "membership_id", flat=True
        )
    )
    for m in memberships:
        m.team_mail = m.pk in opted
    return render(request, "notifications/settings.html", {"memberships": memberships})


@login_required
def project_webhook(request, pk):
    project = get_project_for_user(request.user, pk, Role.ADMIN)
    webhook = Webhook.objects.filter(project=project).first()
    context = {"project": project, "webhook": webhook}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action == "delete" and webhook is not None:
            webhook.delete()
            messages.success(request, "Webhook removed.")
            return redirect("project_webhook", project.pk)
        if action == "regenerate" and webhook is not None:
            context["new_secret"] = webhook.new_secret()
            webhook.save()
        else:
            form = WebhookForm(request.POST, instance=webhook or Webhook(project=project))
            if form.is_valid():
                created = webhook is None
                webhook = form.save(commit=False)
                if created:
                    webhook.created_by = request.user
                    context["new_secret"] = webhook.new_secret()
                webhook.save()
                context["webhook"] = webhook
                if not created:
                    messages.success(request, "Webhook URL saved.")
                    return redirect("project_webhook", project.pk)
            else:
                context["form"] = form
                status = 400
    context.setdefault("form", WebhookForm(instance=context["webhook"]))
    if context["webhook"] is not None:
        context["deliveries"] = context["webhook"].deliveries.select_related("review")[:10]
    return render(request, "notifications/webhook.html", context, status=status)


@login_required
@require_GET
def webhook_deliveries(request, pk):
    project = get_project_for_user(request.user, pk, Role.ADMIN)
    deliveries = WebhookDelivery.objects.filter(webhook__project=project).select_related("review")[
        :DELIVERIES_SHOWN
    ]
    context = {
        "project": project,
        "deliveries": deliveries,
        "webhook_url": reverse("project_webhook", args=[project.pk]),
    }
    return render(request, "notifications/deliveries.html", context)
