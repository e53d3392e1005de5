from django.urls import path

from accounts import contact_views, team_views, views

urlpatterns = [
    path("", views.account, name="account"),
    path("customer/", views.customer_info_edit, name="customer_info_edit"),
    path("language/", views.language_edit, name="language_edit"),
    path("contacts/new/", contact_views.contact_create, name="contact_create"),
    path("contacts/<int:pk>/edit/", contact_views.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/delete/", contact_views.contact_delete, name="contact_delete"),
    path(
        "contacts/<int:pk>/roles/<str:role>/",
        contact_views.contact_toggle_role,
        name="contact_toggle_role",
    ),
    path("contacts/<int:pk>/resend/", contact_views.contact_resend, name="contact_resend"),
    path("confirm/<str:token>/", contact_views.contact_confirm, name="contact_confirm"),
    path("phones/new/", contact_views.phone_create, name="phone_create"),
    path("phones/<int:pk>/edit/", contact_views.phone_edit, name="phone_edit"),
    path("phones/<int:pk>/delete/", contact_views.phone_delete, name="phone_delete"),
    path("team/invite/", team_views.member_invite, name="member_invite"),
    path("team/<int:pk>/role/", team_views.member_role, name="member_role"),
    path("team/<int:pk>/remove/", team_views.member_remove, name="member_remove"),
    path(
        "team/invitations/<int:pk>/revoke/",
        team_views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("invitation/<str:token>/", team_views.invitation_accept, name="invitation_accept"),
    path("switch/", views.switch_customer, name="switch_customer"),
]
