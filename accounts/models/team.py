"""Who acts for a customer: a user's seat and role (Membership), and an owner's invitation
to take one (Invitation)."""

import datetime

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models.customers import Customer
from accounts.models.users import User

INVITATION_VALIDITY = datetime.timedelta(days=7)


class Membership(models.Model):
    """A user's seat on a customer account; the role decides what they may change."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        BILLING = "billing", _("Billing")
        VIEWER = "viewer", _("Viewer")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["customer__name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "customer"], name="one_membership_per_customer")
        ]

    def __str__(self):
        return f"{self.user} is {self.get_role_display()} of {self.customer.name}"

    @property
    def can_manage_billing(self) -> bool:
        """Owners and billing members pay invoices and choose who receives them; viewers read."""
        return self.role in {self.Role.OWNER, self.Role.BILLING}

    @property
    def is_owner(self) -> bool:
        """Owners also edit the customer's details and settings, and manage the team."""
        return self.role == self.Role.OWNER


class Invitation(models.Model):
    """An owner's invitation to join a customer with a role: accepted at most once, through a
    link signed when it was sent and valid for INVITATION_VALIDITY."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email address"))
    role = models.CharField(
        _("role"), max_length=10, choices=Membership.Role, default=Membership.Role.VIEWER
    )
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When its link was mailed.")
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                "customer",
                condition=models.Q(accepted_at=None),
                name="one_open_invitation_per_email",
                violation_error_message=_("This address already has an open invitation."),
            )
        ]

    def __str__(self):
        return f"{self.email} invited to {self.customer.name} as {self.get_role_display()}"

    @property
    def expires_at(self):
        return self.created_at + INVITATION_VALIDITY

    @property
    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at
