from django.urls import path

from usage import views

# /usage/ itself is the portal's page (portal/urls.py): it shows billing's figures too.
urlpatterns = [
    path("export.csv", views.export_csv, name="usage_export_csv"),
    path("daily.csv", views.daily_csv, name="usage_daily_csv"),
]
