"""The team of a customer: inviting people by email, accepting, changing roles, removing.
Every change locks the customer's row (accounts.services.customers.lock_customer) and is audited; a
customer always keeps at least one owner."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import audit, emails, jobs, links
from accounts.models import AuditEntry, Invitation, Membership, UndeliveredMail, User
from accounts.services.customers import lock_customer

LAST_OWNER = gettext_lazy(
    "An account needs an owner: make another member an owner first, then change this one."
)


def _owners_left(customer_id: int) -> int:
    return Membership.objects.filter(customer_id=customer_id, role=Membership.Role.OWNER).count()


@transaction.atomic
def member_invite(*, invitation: Invitation, actor: User) -> Invitation:
    """Invite an address with a role; the signed link is mailed after commit."""
    customer = lock_customer(invitation.customer_id)
    if customer.memberships.filter(user__email__iexact=invitation.email).exists():
        raise ValidationError(
            {"email": _("%(email)s is already a member.") % {"email": invitation.email}}
        )
    invitation.invited_by = actor
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError:
        raise ValidationError(
            {
                "email": _(
                    "This address already has an open invitation. Revoke it to send a new one."
                )
            }
        ) from None
    audit.record(
        customer=customer,
        actor=actor,
        action=AuditEntry.Action.MEMBER_INVITED,
        subject=invitation.email,
        after={"role": invitation.role},
    )
    jobs.after_commit(jobs.SEND_INVITATION, invitation.pk)
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: User) -> None:
    lock_customer(invitation.customer_id)
    if not Invitation.objects.filter(pk=invitation.pk, accepted_at=None).delete()[0]:
        raise ValidationError(
            _("%(email)s has already accepted the invitation.") % {"email": invitation.email}
        )
    audit.record(
        customer=invitation.customer,
        actor=actor,
        action=AuditEntry.Action.INVITATION_REVOKED,
        subject=invitation.email,
        before={"role": invitation.role},
    )


def open_invitation(token: str) -> Invitation:
    """The invitation a link stands for, still open; else links.LinkRefused (tampered, expired,
    used, revoked)."""
    invitation = (
        Invitation.objects.select_related("customer", "invited_by")
        .filter(pk=links.read_invitation(token))
        .first()
    )
    if invitation is None:
        raise links.LinkRefused(links.Refusal.OUTDATED)
    if invitation.accepted_at:
        raise links.LinkRefused(links.Refusal.USED)
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    """Join the invitation's customer as `user`, whose address must be the invited one. A
    second acceptance of the same link is refused (links.LinkRefused USED)."""
    invitation = open_invitation(token)
    if user.email.lower() != invitation.email.lower():
        raise ValidationError(_("This invitation is for %(email)s.") % {"email": invitation.email})
    lock_customer(invitation.customer_id)
    claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at=None).update(
        accepted_at=timezone.now(), accepted_by=user
    )
    if not claimed:
        raise links.LinkRefused(links.Refusal.USED)
    membership, created = Membership.objects.get_or_create(
        user=user, customer_id=invitation.customer_id, defaults={"role": invitation.role}
    )
    if created:
        audit.record(
            customer=invitation.customer,
            actor=user,
            action=AuditEntry.Action.MEMBER_JOINED,
            subject=user.email,
            after={"role": membership.role},
        )
    return membership


@transaction.atomic
def invitation_accept_as_new_user(
    *, token: str, full_name: str, password: str
) -> tuple[User, Membership]:
    """Create the invited person's login with the password they chose, and join."""
    invitation = open_invitation(token)
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise ValidationError(
            _("%(email)s has a login already: log in to accept.") % {"email": invitation.email}
        )
    user = User.objects.create_user(invitation.email, password, full_name=full_name)
    return user, invitation_accept(token=token, user=user)


def mail_invitation(*, invitation_id: int) -> bool:
    """Send the invitation link once (claimed through `sent_at`), unless it has been accepted
    or revoked meanwhile (task side)."""
    invitation = (
        Invitation.objects.select_related("customer", "invited_by")
        .filter(pk=invitation_id, accepted_at=None)
        .first()
    )
    if invitation is None:
        return False
    claim = Invitation.objects.filter(pk=invitation.pk, accepted_at=None, sent_at=None)
    mail = jobs.Mail(
        kind=UndeliveredMail.Kind.INVITATION,
        object_id=invitation.pk,
        subject=f"Invitation of {invitation.email}",
        recipients=[invitation.email],
        customer_id=invitation.customer_id,
    )
    return jobs.send_once(claim, "sent_at", lambda: emails.invitation(invitation).send(), mail)


@transaction.atomic
def member_change_role(*, membership: Membership, role: str, actor: User) -> Membership:
    lock_customer(membership.customer_id)
    membership = Membership.objects.select_related("user", "customer").get(pk=membership.pk)
    before = audit.snapshot(membership, ["role"])
    membership.role = role
    membership.save(update_fields=["role"])
    if not _owners_left(membership.customer_id):
        raise ValidationError(LAST_OWNER)
    audit.record(
        customer=membership.customer,
        actor=actor,
        action=AuditEntry.Action.MEMBER_ROLE_CHANGED,
        subject=membership.user.email,
        before=before,
        after=audit.snapshot(membership, ["role"]),
    )
    return membership


@transaction.atomic
def member_remove(*, membership: Membership, actor: User) -> None:
    lock_customer(membership.customer_id)
    before = audit.snapshot(membership, ["role"])
    if not Membership.objects.filter(pk=membership.pk).delete()[0]:
        return
    if not _owners_left(membership.customer_id):
        raise ValidationError(LAST_OWNER)
    audit.record(
        customer=membership.customer,
        actor=actor,
        action=AuditEntry.Action.MEMBER_REMOVED,
        subject=membership.user.email,
        before=before,
    )
