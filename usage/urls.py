from django.urls import path

from usage import views

urlpatterns = [path("", views.usage_overview, name="usage")]
