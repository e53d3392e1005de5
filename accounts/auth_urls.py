"""Login, logout, password change and reset: Django's auth views with our templates; the
reset form is throttled (accounts.auth_views), logins through django-axes (see settings)."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.auth_views import PasswordResetView
from accounts.forms import EmailLoginForm

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=EmailLoginForm
        ),
        name="login",
    ),
    path("password_reset/", PasswordResetView.as_view(), name="password_reset"),
    path("", include("django.contrib.auth.urls")),
]
