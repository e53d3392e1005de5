from django.urls import path

from usage import views

# Mounted under /usage/ beside the Usage page itself, which is the portal's (portal/urls.py): it
# shows billing's fragments too.
urlpatterns = [
    path("export.csv", views.export_csv, name="usage_export_csv"),
    path("daily.csv", views.daily_csv, name="usage_daily_csv"),
    path("prices/", views.prices, name="usage_prices"),
]
