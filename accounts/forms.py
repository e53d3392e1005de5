from django import forms

from accounts.models import Contact


class ContactForm(forms.ModelForm):
    """An invoice email address and its roles, for one customer."""

    class Meta:
        model = Contact
        fields = ["email", "name", "is_billing", "is_tech", "is_dpo"]
        labels = {"email": "Email address"}

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.instance.customer = customer
        self.fields["email"].widget.attrs.update(autocomplete="email", autofocus=True)

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        taken = Contact.objects.filter(customer=self.customer, email__iexact=email)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("This email address is already a contact.")
        return email
