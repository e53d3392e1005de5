"""The billing team's view of money outside invoices: Checkout sessions, Stripe events and the
customers' credit (which staff refund from here). Records only: nobody adds, edits or deletes
them by hand."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from accounts.admin import RecordAdmin
from accounts.models import Customer
from billing import services
from billing.admin.invoices import ReadOnlyInline
from billing.exceptions import BillingError
from billing.forms import CreditRefundForm
from billing.models import CheckoutItem, CheckoutSession, CreditEntry, StripeEvent
from billing.selectors import credit_balance, credit_balances
from core.money import format_money


def credit_text(held: dict, but: str) -> str:
    """The credit held in the other currencies (refunded with ?currency=CODE)."""
    return ", ".join(format_money(a, code) for code, a in held.items() if code != but)


class CheckoutItemInline(ReadOnlyInline):
    model = CheckoutItem
    fields = ["invoice", "amount"]


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(RecordAdmin):
    list_display = ["stripe_id", "customer", "status", "amount_total", "currency", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["stripe_id", "customer__name", "items__invoice__number"]
    list_select_related = ["customer"]
    inlines = [CheckoutItemInline]


@admin.register(StripeEvent)
class StripeEventAdmin(RecordAdmin):
    list_display = ["stripe_id", "type", "needs_attention", "outcome", "received_at"]
    list_filter = ["needs_attention", "type", "received_at"]
    search_fields = ["stripe_id", "payment_intent", "outcome"]


@admin.register(CreditEntry)
class CreditEntryAdmin(RecordAdmin):
    """The customers' credit, entry by entry: where each amount came from and where it went.
    Entries are made by the workflows only; staff refund credit with the action."""

    list_display = ["created_at", "customer", "kind", "signed_amount", "currency", "note"]
    list_filter = ["kind", ("customer", admin.RelatedOnlyFieldListFilter), "created_at"]
    search_fields = ["customer__name", "customer__number", "note", "payment_intent", "reference"]
    list_select_related = ["customer"]
    actions = ["refund_credit"]

    def has_refund_permission(self, request, obj=None):
        return request.user.has_perm("billing.refund_credit")

    @admin.action(
        description="Refund credit to the customer (one customer)", permissions=["refund"]
    )
    def refund_credit(self, request, queryset):
        customers = set(queryset.values_list("customer", flat=True))
        if len(customers) != 1:
            self.message_user(request, "Select entries of exactly one customer.", messages.WARNING)
            return None
        return redirect("admin:billing_creditentry_refund", customers.pop())

    def get_urls(self):
        own = [
            path(
                "refund/<int:customer_pk>/",
                self.admin_site.admin_view(self.refund_view),
                name="billing_creditentry_refund",
            )
        ]
        return own + super().get_urls()

    def refund_view(self, request, customer_pk):
        customer = get_object_or_404(Customer, pk=customer_pk)
        if not self.has_refund_permission(request):
            raise PermissionDenied
        # Credit is held per currency: refunded in one, `?currency=` (else the one it holds).
        held = credit_balances(customer)
        currency = request.GET.get("currency") or next(iter(held), "")
        currency = currency if currency in held else customer.billing_profile.currency
        balance = credit_balance(customer, currency)
        form = CreditRefundForm(request.POST or None, initial={"amount": balance})
        if request.method == "POST" and form.is_valid():
            try:
                services.refund_customer_credit(
                    customer=customer,
                    amount=form.cleaned_data["amount"],
                    currency=currency,
                    reference=form.cleaned_data["reference"],
                    actor=request.user,
                )
            except BillingError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(
                    request,
                    f"Refund of {form.cleaned_data['amount']} {currency} recorded for {customer}.",
                )
                return redirect(reverse("admin:billing_creditentry_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": (
                f"Refund credit: {customer} (balance {balance} {currency}"
                + (f"; it also holds {credit_text(held, currency)})" if len(held) > 1 else ")")
            ),
            "form": form,
            "submit": "Record refund",
        }
        return TemplateResponse(request, "admin/billing/money_form.html", context)
