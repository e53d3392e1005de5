from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.account, name="account"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/delete/", views.contact_delete, name="contact_delete"),
    path("switch/", views.switch_customer, name="switch_customer"),
]
