"""The billing team's invoice tools: invoices with their lines, payments and timeline, and the
workflows (finalize, void, credit, PDF, email, bank payment) as actions and forms."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, Sum
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.admin import NeedsAttentionFilter
from billing import delivery, jobs, services
from billing.exceptions import BillingError
from billing.forms import BankPaymentForm, CreditNoteForm
from billing.models import (
    CheckoutSession,
    CreditReason,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    Payment,
)
from billing.pdf import PdfRenderError, PdfUnavailable
from billing.views import pdf_response
from core.money import ZERO, format_money


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    fields = [
        "position",
        "service",
        "metric",
        "month",
        "description",
        "quantity",
        "unit",
        "unit_price",
        "amount",
    ]
    readonly_fields = ["amount"]

    def _editable(self, obj):
        return obj is None or obj.status == Invoice.Status.DRAFT

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = [
        "received_at",
        "kind",
        "amount",
        "currency",
        "method",
        "source",
        "reference",
        "stripe_payment_intent",
        "recorded_by",
    ]


class InvoicesNeedingAttention(NeedsAttentionFilter):
    """Invoices whose online payment did not match what was owed (money to look at by hand),
    or whose email found no Billing address to go to."""

    def needing_attention(self, queryset):
        return queryset.filter(
            Q(checkouts__status=CheckoutSession.Status.NEEDS_REVIEW)
            | Q(undelivered_at__isnull=False)
        ).distinct()


class InvoiceEventInline(ReadOnlyInline):
    model = InvoiceEvent
    fields = ["created_at", "kind", "what_happened", "actor"]
    readonly_fields = ["what_happened"]
    verbose_name = "timeline entry"
    verbose_name_plural = "timeline"

    @admin.display(description="what happened")
    def what_happened(self, event: InvoiceEvent) -> str:
        return event.text


def totals_per_currency(invoices) -> list[tuple[str, str, str]]:
    """(currency, total, outstanding) of the invoices, one row per currency, written out.
    Each column summed apart and subtracted in Decimal (SQLite computes F() sums as REAL)."""
    is_open = Q(status__in=Invoice.OPEN_STATUSES)
    rows = (
        invoices.order_by()
        .values("currency")
        .annotate(
            all_total=Sum("total"),
            open_total=Sum("total", filter=is_open),
            paid=Sum("amount_paid", filter=is_open),
            credited=Sum("amount_credited", filter=is_open),
            applied=Sum("credit_applied", filter=is_open),
        )
        .order_by("currency")
    )
    figures = []
    for row in rows:
        parts = [row[k] or ZERO for k in ("open_total", "paid", "credited", "applied")]
        owed = parts[0] - parts[1] - parts[2] - parts[3]
        code = row["currency"]
        figures.append(
            (code, format_money(row["all_total"] or ZERO, code), format_money(owed, code))
        )
    return figures


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "customer",
        "kind",
        "status_badge",
        "issue_date",
        "due_date",
        "total",
        "outstanding",
        "currency",
    ]
    list_filter = [
        InvoicesNeedingAttention,
        "status",
        "kind",
        ("customer", admin.RelatedOnlyFieldListFilter),
        "issue_date",
    ]
    date_hierarchy = "issue_date"

    def changelist_view(self, request, extra_context=None):
        """The list, with the totals of what it shows summed per currency, never across."""
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            response.context_data["totals_per_currency"] = totals_per_currency(changelist.queryset)
        return response

    search_fields = ["number", "customer__name", "customer__number"]
    list_select_related = ["customer"]
    autocomplete_fields = ["customer"]
    inlines = [InvoiceLineInline, PaymentInline, InvoiceEventInline]
    actions = [
        "finalize_selected",
        "void_selected",
        "credit_selected_in_full",
        "regenerate_pdfs",
        "resend_emails",
        "record_bank_payment",
    ]
    draft_fields = ["customer", "period_start", "period_end", "vat_rate"]

    class Media:
        css = {"all": ["css/admin.css"]}

    @admin.display(description="status", ordering="status")
    def status_badge(self, invoice):
        coloured = invoice.status in {"paid", "unpaid", "overdue"}
        return format_html(
            '<strong class="invoice-status-{}">{}</strong>',
            invoice.status if coloured else "other",
            invoice.get_status_display(),
        )

    def get_readonly_fields(self, request, obj=None):
        every_field = [f.name for f in Invoice._meta.fields if f.name != "id"]
        if obj is None:
            return [f for f in every_field if f not in self.draft_fields]
        if obj.status == Invoice.Status.DRAFT:
            return [f for f in every_field if f not in self.draft_fields]
        return every_field

    def get_fields(self, request, obj=None):
        if obj is None:
            return self.draft_fields
        return super().get_fields(request, obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.refresh_draft_totals(invoice=form.instance)

    def has_delete_permission(self, request, obj=None):
        # Issued invoices are records the law asks us to keep; only drafts go away.
        is_draft = obj is not None and obj.status == Invoice.Status.DRAFT
        return is_draft and super().has_delete_permission(request, obj)

    # The workflows' permissions (Invoice.Meta.permissions), for the actions and the forms.
    def has_finalize_permission(self, request, obj=None):
        return request.user.has_perm("billing.finalize_invoice")

    def has_void_permission(self, request, obj=None):
        return request.user.has_perm("billing.void_invoice")

    def has_credit_permission(self, request, obj=None):
        return request.user.has_perm("billing.credit_invoice")

    def has_record_payment_permission(self, request, obj=None):
        return request.user.has_perm("billing.record_payment")

    def has_send_permission(self, request, obj=None):
        return request.user.has_perm("billing.send_invoice")

    def render_change_form(self, request, context, *args, **kwargs):
        context |= {
            "can_record_payment": self.has_record_payment_permission(request),
            "can_credit": self.has_credit_permission(request),
        }
        return super().render_change_form(request, context, *args, **kwargs)

    # ---- Actions on the selection ----

    def _each(self, request, queryset, work, done: str):
        succeeded = 0
        for invoice in queryset.select_related("customer"):
            try:
                work(invoice)
            # OSError: the mail server refused the email or could not be reached.
            except (BillingError, PdfUnavailable, PdfRenderError, OSError) as exc:
                self.message_user(request, f"{invoice}: {exc}", messages.ERROR)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, done.format(count=succeeded), messages.SUCCESS)

    @admin.action(
        description="Finalize (number, PDF, email to Billing contacts)", permissions=["finalize"]
    )
    def finalize_selected(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda invoice: services.finalize_invoice(invoice=invoice, actor=request.user),
            "{count} invoice(s) finalized.",
        )

    @admin.action(description="Void (only if nothing was paid or credited)", permissions=["void"])
    def void_selected(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda invoice: services.void_invoice(invoice=invoice, actor=request.user),
            "{count} invoice(s) voided.",
        )

    @admin.action(description="Issue a credit note for the whole invoice", permissions=["credit"])
    def credit_selected_in_full(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda invoice: services.issue_credit_note(
                invoice=invoice, reason_code=CreditReason.CREDITED_IN_FULL, actor=request.user
            ),
            "{count} credit note(s) issued.",
        )

    @admin.action(description="Regenerate PDF", permissions=["send"])
    def regenerate_pdfs(self, request, queryset):
        self._each(
            request,
            queryset.exclude(status=Invoice.Status.DRAFT),
            lambda invoice: jobs.after_commit(jobs.RENDER_PDF, invoice.pk, True),
            "PDF regeneration queued for {count} invoice(s).",
        )

    @admin.action(description="Resend email to Billing contacts", permissions=["send"])
    def resend_emails(self, request, queryset):
        self._each(
            request,
            queryset.exclude(status=Invoice.Status.DRAFT),
            lambda invoice: delivery.email_invoice(
                invoice=invoice, resend=True, actor=request.user
            ),
            "{count} invoice(s) emailed again.",
        )

    @admin.action(description="Record bank payment (one invoice)", permissions=["record_payment"])
    def record_bank_payment(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one invoice.", messages.WARNING)
            return None
        return redirect("admin:billing_invoice_record_payment", queryset.get().pk)

    # ---- Forms for one invoice: bank payment, credit note by amount ----

    def get_urls(self):
        own = [
            path(
                "<int:pk>/record-payment/",
                self.admin_site.admin_view(self.record_payment_view),
                name="billing_invoice_record_payment",
            ),
            path(
                "<int:pk>/credit-note/",
                self.admin_site.admin_view(self.credit_note_view),
                name="billing_invoice_credit_note",
            ),
            path(
                "<int:pk>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="billing_invoice_pdf",
            ),
        ]
        return own + super().get_urls()

    def _invoice_form(self, request, pk, *, allowed, form_class, title, submit, work):
        invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
        if not allowed(request, invoice):
            raise PermissionDenied
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                message = work(invoice, form)
            except BillingError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, message, messages.SUCCESS)
                return redirect(reverse("admin:billing_invoice_change", args=[invoice.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{title}: {invoice}",
            "invoice": invoice,
            "form": form,
            "submit": submit,
        }
        return TemplateResponse(request, "admin/billing/money_form.html", context)

    def pdf_view(self, request, pk):
        invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
        if not self.has_view_permission(request, invoice):
            raise PermissionDenied
        return pdf_response(request, invoice)

    def record_payment_view(self, request, pk):
        def work(invoice, form):
            services.record_bank_payment(
                invoice=invoice,
                amount=form.cleaned_data["amount"],
                received_at=form.received_at,
                reference=form.cleaned_data["reference"],
                actor=request.user,
            )
            return f"Bank payment of {form.cleaned_data['amount']} recorded on {invoice}."

        return self._invoice_form(
            request,
            pk,
            allowed=self.has_record_payment_permission,
            form_class=BankPaymentForm,
            title="Record bank payment",
            submit="Record payment",
            work=work,
        )

    def credit_note_view(self, request, pk):
        def work(invoice, form):
            note = services.issue_credit_note(
                invoice=invoice,
                net_amount=form.cleaned_data["net_amount"],
                reason_code=form.cleaned_data["reason_code"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
            return f"Credit note {note} issued for {invoice}."

        return self._invoice_form(
            request,
            pk,
            allowed=self.has_credit_permission,
            form_class=CreditNoteForm,
            title="Issue credit note",
            submit="Issue credit note",
            work=work,
        )
