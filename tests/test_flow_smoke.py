"""The new hire's whole path, end to end against the emulator."""

from app.models import AuditEvent
from security_helpers import outcomes


def test_new_hire_reaches_working_credentials(person, app):
    page = person.enroll_fully()
    body = page.get_data(as_text=True)
    assert page.status_code == 200, body[:3000]
    assert "Your session credentials" in body
    assert "aws_session_token" in body
    assert person.user.secret_access_key not in body
    with app.app_context():
        actions = [e.action for e in outcomes().order_by(AuditEvent.id)]
    assert actions == ["sign_in", "device_created", "device_enabled", "credentials_issued", "enrollment_completed"]
