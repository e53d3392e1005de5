from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.html import format_html_join

from accounts import audit, services
from accounts.models import (
    AuditEntry,
    Contact,
    Customer,
    Invitation,
    Membership,
    Phone,
    TaxChange,
    UndeliveredMail,
    User,
)


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email"]


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user", "customer"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserCreationForm
    form = UserEditForm
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["last_login", "date_joined"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["email", "password", "full_name", "language"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {"classes": ["wide"], "fields": ["email", "usable_password", "password1", "password2"]},
        ),
    ]


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


class PhoneInline(admin.TabularInline):
    model = Phone
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """Who the customer is; billing adds how it is billed (billing/admin/profiles.py)."""

    list_display = ["number", "name", "country", "vat_id", "created_at"]
    list_filter = ["country"]
    search_fields = ["name", "number", "vat_id", "contacts__email", "memberships__user__email"]
    readonly_fields = ["created_at"]
    inlines = [MembershipInline, ContactInline, PhoneInline]
    fieldsets = [
        (None, {"fields": ["name", "number", "vat_id"]}),
        (
            "Address",
            {"fields": ["address_line1", "address_line2", "postal_code", "city", "country"]},
        ),
        (None, {"fields": ["timezone", "invoice_reference", "created_at"]}),
    ]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "customer", "is_billing", "is_tech", "is_dpo", "confirmed_at"]
    list_filter = ["is_billing", "is_tech", "is_dpo", ("confirmed_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "name", "customer__name", "customer__number"]
    autocomplete_fields = ["customer"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "customer", "role", "invited_by", "created_at", "accepted_at"]
    list_filter = ["role", ("accepted_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "customer__name", "customer__number"]
    autocomplete_fields = ["customer"]
    readonly_fields = ["invited_by", "created_at", "accepted_at", "accepted_by"]


class RecordAdmin(admin.ModelAdmin):
    """Records the workflows write (an audit trail, money that moved, events received): staff
    read them, and nobody adds, edits or deletes one by hand. Every app's admin may use it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(RecordAdmin):
    """The Account pane's audit trail, read-only: a record nobody may rewrite, staff included."""

    list_display = ["at", "customer", "action", "subject", "actor_email"]
    list_filter = ["action", "at"]
    search_fields = ["subject", "actor_email", "customer__name", "customer__number"]
    date_hierarchy = "at"
    list_select_related = ["customer"]
    fields = ["at", "customer", "actor_email", "action", "subject", "what_changed"]
    readonly_fields = fields

    @admin.display(description="what changed")
    def what_changed(self, entry):
        return format_html_join("", "<div>{}: {} → {}</div>", audit.changes(entry)) or "—"


class NeedsAttentionFilter(admin.SimpleListFilter):
    """A list's "needs attention" filter (?attention=yes): the rows staff have to act on, as
    the subclass's `needing_attention` picks them. Every app's admin may use it."""

    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("yes", "Needs attention")]

    def queryset(self, request, queryset):
        return self.needing_attention(queryset) if self.value() == "yes" else queryset

    def needing_attention(self, queryset):
        raise NotImplementedError


class AwaitingReviewFilter(NeedsAttentionFilter):
    """The requests staff still have to decide."""

    def needing_attention(self, queryset):
        return queryset.pending()


@admin.register(TaxChange)
class TaxChangeAdmin(RecordAdmin):
    """Customers' changes of country or VAT id, which decide the VAT on their invoices: staff
    check them (the VAT id against the company, e.g. in VIES) and approve or reject them."""

    list_display = [
        "requested_at",
        "customer",
        "confirmed_country",
        "confirmed_vat_id",
        "country",
        "vat_id",
        "status",
        "requested_by",
        "decided_by",
    ]
    list_filter = [AwaitingReviewFilter, "status"]
    # The filters show how many requests each choice holds: the count of those needing review.
    show_facets = admin.ShowFacets.ALWAYS
    search_fields = ["customer__name", "customer__number", "vat_id", "confirmed_vat_id"]
    list_select_related = ["customer", "requested_by", "decided_by"]
    actions = ["approve_selected", "reject_selected"]
    fields = [
        "customer",
        "status",
        "confirmed_country",
        "confirmed_vat_id",
        "country",
        "vat_id",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
    ]
    readonly_fields = fields

    def has_review_permission(self, request):
        return request.user.has_perm("accounts.review_taxchange")

    def _decide(self, request, queryset, decide, done: str):
        decided = [change for change in queryset if decide(change=change, actor=request.user)]
        if decided:
            self.message_user(request, f"{done}: {len(decided)}.", messages.SUCCESS)
        if len(decided) < len(queryset):
            self.message_user(
                request,
                f"{len(queryset) - len(decided)} no longer awaited review and stay as they were.",
                messages.WARNING,
            )

    @admin.action(
        description="Approve: invoices use the new country and VAT id", permissions=["review"]
    )
    def approve_selected(self, request, queryset):
        self._decide(request, queryset, services.tax_change_approve, "Approved")

    @admin.action(description="Reject: invoices keep the confirmed ones", permissions=["review"])
    def reject_selected(self, request, queryset):
        self._decide(request, queryset, services.tax_change_reject, "Rejected")


class MailStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("failed", "Failed: left to staff"), ("retrying", "Retrying")]

    def queryset(self, request, queryset):
        if self.value() == "failed":
            return queryset.exclude(gave_up_at=None)
        if self.value() == "retrying":
            return queryset.filter(gave_up_at=None)
        return queryset


@admin.register(UndeliveredMail)
class UndeliveredMailAdmin(RecordAdmin):
    """Emails whose send failed: retried by the sweeps every 10 minutes, until sent (the row
    then goes) or failed too often. Failed ones wait for staff: fix the cause (the mail server,
    the address), then *Try again*, and the next sweep sends them."""

    list_display = ["subject", "kind", "customer", "recipients", "failures", "state"]
    list_filter = [MailStateFilter, "kind"]
    search_fields = ["subject", "recipients", "customer__name", "customer__number"]
    list_select_related = ["customer"]
    fields = [
        "kind",
        "subject",
        "customer",
        "recipients",
        "failures",
        "last_error",
        "first_failed_at",
        "last_failed_at",
        "gave_up_at",
    ]
    readonly_fields = fields
    actions = ["try_again"]

    @admin.display(description="state")
    def state(self, mail):
        return "Failed" if mail.gave_up_at else "Retrying"

    @admin.action(description="Try again", permissions=["retry"])
    def try_again(self, request, queryset):
        count = queryset.update(gave_up_at=None, failures=0)
        messages.success(request, f"{count} email(s) will be sent by the next sweep.")

    def has_retry_permission(self, request):
        return request.user.has_perm("accounts.change_undeliveredmail")
