from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from accounts.models import Contact, Customer, Membership, Phone, User


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
        (None, {"fields": ["email", "password", "full_name"]}),
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
    list_display = ["number", "name", "country", "vat_id", "payment_terms_days", "created_at"]
    list_filter = ["country", "payment_terms_days", "currency"]
    search_fields = ["name", "number", "vat_id", "contacts__email", "memberships__user__email"]
    readonly_fields = ["created_at"]
    inlines = [MembershipInline, ContactInline, PhoneInline]
    fieldsets = [
        (None, {"fields": ["name", "number", "vat_id"]}),
        (
            "Address",
            {"fields": ["address_line1", "address_line2", "postal_code", "city", "country"]},
        ),
        (
            "Billing",
            {"fields": ["currency", "payment_terms_days", "timezone", "stripe_customer_id"]},
        ),
        (None, {"fields": ["created_at"]}),
    ]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "customer", "is_billing", "is_tech", "is_dpo"]
    list_filter = ["is_billing", "is_tech", "is_dpo"]
    search_fields = ["email", "name", "customer__name", "customer__number"]
    autocomplete_fields = ["customer"]
