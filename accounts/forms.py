from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, SetPasswordMixin
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from accounts.models import Contact, Customer, Invitation, Membership, Phone, User
from accounts.services import CUSTOMER_INFO_FIELDS
from accounts.validation import normalize_phone, normalize_vat_id
from core.collation import collation_key


def country_choices() -> list[tuple[str, str]]:
    """Every country by its name in the active language, in that language's alphabetical
    order (Swedish: ..., Zimbabwe, Åland, Österrike). Called each time the form is drawn."""
    language = get_language()
    names = [(country.code, str(country.name)) for country in countries]
    return sorted(names, key=lambda choice: collation_key(choice[1], language))


class EmailLoginForm(AuthenticationForm):
    """Django's login form, its username an email field: phones show the @ keyboard, and
    password managers still fill it as the username."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].widget.input_type = "email"
        self.fields["username"].widget.attrs["autocomplete"] = "username"


class CustomerInfoForm(forms.ModelForm):
    """What an owner may change of the details printed on invoices."""

    country = forms.ChoiceField(label=_("Country"), choices=country_choices)

    class Meta:
        model = Customer
        fields = CUSTOMER_INFO_FIELDS
        help_texts = {
            "vat_id": _("With or without the country prefix, e.g. SE556677889901."),
            "country": "",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["address_line1"].widget.attrs["autocomplete"] = "address-line1"
        self.fields["address_line2"].widget.attrs["autocomplete"] = "address-line2"
        self.fields["postal_code"].widget.attrs["autocomplete"] = "postal-code"
        self.fields["city"].widget.attrs["autocomplete"] = "address-level2"
        self.fields["country"].widget.attrs["autocomplete"] = "country"

    def clean(self):
        cleaned = super().clean()
        if "country" in cleaned and "vat_id" in cleaned:
            try:
                cleaned["vat_id"] = normalize_vat_id(cleaned["vat_id"], cleaned["country"])
            except forms.ValidationError as error:
                self.add_error("vat_id", error)
        return cleaned


def language_names(codes) -> list[tuple[str, str]]:
    """Languages as both choices on the Settings tab name them: in the reader's language, with
    the language's own name beside it when that differs ("Swedish (svenska)")."""
    names = []
    for code in codes:
        info = get_language_info(code)
        name, own = str(info["name_translated"]), info["name_local"]
        names.append((code, name if name.casefold() == own.casefold() else f"{name} ({own})"))
    return names


class LanguageForm(forms.ModelForm):
    """The language the portal speaks to the person logged in (every role chooses their own)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = language_names(code for code, _ in settings.LANGUAGES)

    class Meta:
        model = User
        fields = ["language"]
        help_texts = {"language": ""}


class ContactForm(forms.ModelForm):
    """An email address and its roles, for one customer."""

    class Meta:
        model = Contact
        fields = ["email", "name", "is_billing", "is_tech", "is_dpo"]
        labels = {"email": _("Email address")}

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.instance.customer = customer
        self.fields["email"].widget.attrs.update(autocomplete="email", autofocus=True)

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if self._others().filter(email__iexact=email).exists():
            raise forms.ValidationError(_("This email address is already a contact."))
        return email

    def clean(self):
        cleaned = super().clean()
        if not self._others().exists():
            # The customer's only address receives everything, whatever was ticked.
            cleaned.update(dict.fromkeys(Contact.ROLES.values(), True))
        return cleaned

    def _others(self):
        return Contact.objects.filter(customer=self.customer).exclude(pk=self.instance.pk)


class PhoneForm(forms.ModelForm):
    # Typed with spaces and punctuation; stored shorter, in E.164.
    number = forms.CharField(
        max_length=40,
        label=_("Phone number"),
        help_text=_("With the country code, e.g. +46 8 123 456 00."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )

    class Meta:
        model = Phone
        fields = ["label", "number"]

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.instance.customer = customer

    def clean_number(self):
        number = normalize_phone(self.cleaned_data["number"], self.customer.country)
        taken = Phone.objects.filter(customer=self.customer, number=number)
        if taken.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("This number is already on the list."))
        return number


class InvitationForm(forms.ModelForm):
    class Meta:
        model = Invitation
        fields = ["email", "role"]
        labels = {"email": _("Email address")}

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.customer = customer
        self.fields["email"].widget.attrs["autocomplete"] = "off"

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role)


class JoinForm(SetPasswordMixin, forms.Form):
    """An invited person without a login chooses their name and password."""

    full_name = forms.CharField(max_length=150, required=False, label=_("Your name"))
    password1, password2 = SetPasswordMixin.create_password_fields()

    def __init__(self, *args, email, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email
        self.fields["full_name"].widget.attrs["autocomplete"] = "name"

    def clean(self):
        self.validate_passwords()
        return super().clean()

    def _post_clean(self):
        super()._post_clean()
        # The password validators compare it with the person's name and address.
        user = User(email=self.email, full_name=self.cleaned_data.get("full_name", ""))
        self.validate_password_for_user(user)
