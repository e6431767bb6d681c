"""Input validation for the account page and the sign-in code step."""
from __future__ import annotations

from django import forms


class TotpCodeForm(forms.Form):
    # Rendered by templates/reports/partials/totp_code_field.html (one-time-code autofill).
    code = forms.CharField(label="6-digit code", max_length=10, help_text="From your authenticator app.")

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not (code.isdigit() and len(code) == 6):
            raise forms.ValidationError("Enter the 6 digits your authenticator app shows.")
        return code
