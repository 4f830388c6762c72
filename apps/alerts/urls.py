from django.urls import path

from . import views

_ENDPOINT = "orgs/<slug:slug>/webhooks/<int:endpoint_id>/"
_ALERTS = "orgs/<slug:slug>/alerts"
_CHANNEL = f"{_ALERTS}/channels/<int:channel_id>/"
_RULE = f"{_ALERTS}/rules/<int:rule_id>/"
_INCIDENT = f"{_ALERTS}/incidents/<int:incident_id>/"

urlpatterns = [
    path("orgs/<slug:slug>/webhooks/", views.webhooks, name="webhooks"),
    path("orgs/<slug:slug>/webhooks/create/", views.create, name="webhook_create"),
    path(_ENDPOINT, views.webhook, name="webhook"),
    path(f"{_ENDPOINT}edit/", views.update, name="webhook_update"),
    path(f"{_ENDPOINT}rotate/", views.rotate, name="webhook_rotate"),
    path(f"{_ENDPOINT}test/", views.send_test, name="webhook_test"),
    path(f"{_ENDPOINT}delete/", views.delete, name="webhook_delete"),
    path(f"{_ENDPOINT}messages/<str:msg_id>/redeliver/", views.redeliver,
         name="webhook_redeliver"),
    # channels
    path(f"{_ALERTS}/channels/", views.channels, name="alert_channels"),
    path(f"{_ALERTS}/channels/create/", views.channel_create, name="alert_channel_create"),
    path(_CHANNEL, views.channel, name="alert_channel"),
    path(f"{_CHANNEL}edit/", views.channel_update, name="alert_channel_update"),
    path(f"{_CHANNEL}test/", views.channel_test, name="alert_channel_test"),
    path(f"{_CHANNEL}delete/", views.channel_delete, name="alert_channel_delete"),
    # rules
    path(f"{_ALERTS}/rules/", views.rules, name="alert_rules"),
    path(f"{_ALERTS}/rules/create/", views.rule_create, name="alert_rule_create"),
    path(_RULE, views.rule, name="alert_rule"),
    path(f"{_RULE}edit/", views.rule_update, name="alert_rule_update"),
    path(f"{_RULE}delete/", views.rule_delete, name="alert_rule_delete"),
    path(f"{_RULE}escalation/", views.rule_escalation, name="alert_rule_escalation"),
    path(f"{_RULE}mute/", views.rule_mute, name="alert_rule_mute"),
    # maintenance windows
    path(f"{_ALERTS}/maintenance/", views.maintenance_windows, name="maintenance_windows"),
    path(f"{_ALERTS}/maintenance/create/", views.maintenance_window_create,
         name="maintenance_window_create"),
    path(f"{_ALERTS}/maintenance/<int:window_id>/delete/", views.maintenance_window_delete,
         name="maintenance_window_delete"),
    # incidents
    path(f"{_ALERTS}/incidents/", views.incidents, name="incidents"),
    path(_INCIDENT, views.incident, name="incident"),
    path(f"{_INCIDENT}acknowledge/", views.incident_acknowledge,
         name="incident_acknowledge"),
    # the acknowledge link of notifications: no login, the signed token is the authority
    path("alerts/ack/<str:token>/", views.incident_ack, name="incident_ack"),
]
