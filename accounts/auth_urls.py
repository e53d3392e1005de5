"""Login, logout, password change and reset: Django's auth views with our templates."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("", include("django.contrib.auth.urls")),
]
