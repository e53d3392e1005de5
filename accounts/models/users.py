"""Who may log in: a User, by email address, and the password reset links they ask for."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, email):
        # People type their address in any case; it is stored lower-cased.
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an email address. Staff run the admin; others act for customers."""

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    language = models.CharField(
        _("language of the portal"),
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text="The language the portal's pages speak to this person.",
    )
    is_staff = models.BooleanField(default=False, help_text="Can log in to the admin.")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email


class PasswordResetRequest(models.Model):
    """One request for a password reset link, kept for the throttle's window. `email` is what
    was typed, lower-cased, and may belong to no user: unknown addresses count the same.
    `sent_at`: when a worker handled it (mailed the link, or found no login to mail it to)."""

    email = models.EmailField()
    ip_address = models.GenericIPAddressField(null=True)
    requested_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["email", "requested_at"]),
            models.Index(fields=["ip_address", "requested_at"]),
            models.Index(fields=["requested_at"]),
        ]

    def __str__(self):
        return f"{self.email} from {self.ip_address} at {self.requested_at:%Y-%m-%d %H:%M}"
