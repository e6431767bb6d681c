"""Two-step sign-in with a TOTP authenticator app (django-otp), SECURITY.md promise 8.

policy: who owes a code or an enrolment, remembered per session; qr: the enrolment QR code;
middleware: keeps a session that owes either away from the app. Writes live in
reports.services.totp, pages in reports.views.account.
"""
