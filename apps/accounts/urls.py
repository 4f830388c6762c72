from django.urls import path

from . import views

urlpatterns = [
    path("orgs/", views.organization_list, name="organization_list"),
    path("orgs/switch/", views.switch_organization, name="switch_organization"),
    path("orgs/<slug:slug>/settings/", views.organization_settings, name="organization_settings"),
    path("orgs/<slug:slug>/audit/", views.audit_log, name="organization_audit"),
    path("orgs/<slug:slug>/invite/", views.invite, name="organization_invite"),
    path(
        "orgs/<slug:slug>/members/<int:member_id>/role/",
        views.change_member_role,
        name="organization_member_role",
    ),
    path(
        "orgs/<slug:slug>/members/<int:member_id>/remove/",
        views.remove_member,
        name="organization_member_remove",
    ),
    path(
        "orgs/<slug:slug>/invitations/<int:invitation_id>/revoke/",
        views.revoke_invitation,
        name="organization_invitation_revoke",
    ),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
]
