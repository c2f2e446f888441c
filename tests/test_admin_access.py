"""Who may open which admin URL: every URL against every kind of visitor."""

from __future__ import annotations

import re

import pytest
from admin_helpers import ADMIN, enrolled, give_device, with_mfa
from pages import FORBIDDEN, assert_page

from conftest import Person, code, make_test_app

pytest_plugins = ["admin_fixtures"]

TARGET = "target.user"
SERIAL = f"arn:aws:iam::123456789012:mfa/{TARGET}"
KEY = "TARGETKEYIDPLACEHOLDER"  # replaced by the target's real key ID in each request

# Every admin URL, with the form data a real admin would send.
URLS = [
    ("GET", "/admin/", None),
    ("POST", "/admin/refresh", {}),
    ("POST", "/admin/export", {"show": "all", "sort": "name", "order": "asc"}),
    ("GET", f"/admin/users/{TARGET}", None),
    ("POST", f"/admin/users/{TARGET}/reset", {"serial": SERIAL, "reason": "lost phone, ticket 42"}),
    ("GET", f"/admin/users/{TARGET}/keys/{KEY}/deactivate", None),
    ("POST", f"/admin/users/{TARGET}/keys/{KEY}/deactivate", {"reason": "unused 120 days, ticket 43"}),
    ("GET", "/admin/history", None),
    ("GET", "/admin/reminders?finding=IAM.19", None),
    ("POST", "/admin/reminders", {"finding": "IAM.19", "deadline": ""}),
    ("GET", "/admin/audit", None),
    ("POST", "/admin/audit/export", {}),
]
ROLES = ["anonymous", "user without MFA", "user with MFA", "admin without MFA", "admin with MFA"]


def test_every_admin_url_is_in_the_matrix(lite_app):
    """A new admin route must be added to URLS, or this fails."""
    rules = {(rule.rule, method) for rule in lite_app.url_map.iter_rules() if rule.endpoint.startswith("admin.")
             for method in rule.methods - {"HEAD", "OPTIONS"}}
    listed = {(url.replace(TARGET, "<user_name>").replace(KEY, "<key_id>").split("?")[0], method)
              for method, url, _ in URLS}
    assert rules == listed


def visitor(role: str, app, iam, make_user) -> Person | None:
    """Return a browser in the given role (None: nobody signed in)."""
    if role == "anonymous":
        return None
    is_admin = role.startswith("admin")
    user = make_user(ADMIN if is_admin else "plain.user")
    if role.endswith("with MFA"):
        return with_mfa(app, iam, user)
    if is_admin:
        give_device(iam, ADMIN)  # an enrolled admin who has not typed a code in this session
    person = Person(app.test_client(), user)
    person.sign_in()
    return person


def ask(client, method: str, url: str, data: dict | None):
    """Send one request as the matrix describes it."""
    return client.get(url) if method == "GET" else client.post(url, data=data)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "url", "data"), URLS, ids=[f"{m} {u}" for m, u, _ in URLS])
def test_access_matrix(lite_app, iam, make_user, role, method, url, data):
    """Anonymous: sign in. Non-admins: 403. Admins without MFA: the code page. Admins with MFA: the page."""
    url = url.replace(KEY, make_user(TARGET).access_key_id)
    give_device(iam, TARGET)
    person = visitor(role, lite_app, iam, make_user)
    client = person.client if person else lite_app.test_client()
    if role == "admin with MFA":
        client.post("/admin/refresh")  # so the exports have a snapshot to export
    answer = ask(client, method, url, data)
    body = answer.get_data(as_text=True)
    if role == "anonymous":
        assert answer.status_code == 302 and answer.location.startswith("/login?next=")
    elif role in ("user without MFA", "user with MFA"):
        assert answer.status_code == 403, body[:500]
        assert "You do not have access to this page" in body and TARGET not in body
    elif role == "admin without MFA":
        assert answer.status_code == 302 and answer.location.startswith("/credentials")
        page = client.get(answer.location).get_data(as_text=True)
        assert "Admin pages need a current MFA code" in page and TARGET not in page
    else:
        followed = client.get(answer.location) if answer.status_code == 302 else answer
        assert answer.status_code in (200, 302) and followed.status_code == 200, body[:1000]
        assert "You do not have access" not in followed.get_data(as_text=True)


@pytest.fixture
def group_app(moto, tmp_path):
    """The portal with admins named by IAM group only."""
    return make_test_app(tmp_path, ADMIN_GROUPS=["portal-admins"])


def test_group_admins_are_checked_with_their_mfa_session(group_app, iam, make_user):
    """Group members become admins once MFA lets the portal read their groups; others stay out."""
    iam.create_group(GroupName="portal-admins")
    member = make_user("group.admin")
    iam.add_user_to_group(GroupName="portal-admins", UserName="group.admin")
    outsider = make_user("outsider")

    waiting = Person(group_app.test_client(), member)
    waiting.sign_in()
    # Before MFA nobody can tell a group admin from anyone else: both are asked for a code, not shown data.
    assert waiting.client.get("/admin/").location == "/credentials/code?next=/admin/&why=admin"

    admin = enrolled(group_app, member)
    assert_page(admin.client.get("/admin/"), 200, "MFA enrollment")
    assert_page(enrolled(group_app, outsider).client.get("/admin/"), 403, FORBIDDEN)


def test_tokenless_admin_post_is_refused(moto, tmp_path, iam, make_user):
    """With CSRF protection on (as in production), a POST without the form's token changes nothing."""
    app = make_test_app(tmp_path, ADMIN_USERS=[ADMIN], WTF_CSRF_ENABLED=True)
    admin = Person(app.test_client(), make_user(ADMIN))
    login_page = admin.client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page)
    admin.client.post("/login", data={"access_key_id": admin.user.access_key_id, "csrf_token": token.group(1),
                                      "secret_access_key": admin.user.secret_access_key})
    answer = admin.client.post("/admin/refresh")
    assert answer.status_code == 400 and "This form has expired" in answer.get_data(as_text=True)
    with app.app_context():
        from app.models import ReportSnapshot

        assert ReportSnapshot.query.count() == 0


def test_admin_link_only_for_admins(lite_app, make_user):
    """The top bar offers Admin only to configured admins."""
    admin = Person(lite_app.test_client(), make_user(ADMIN))
    admin.sign_in()
    plain = Person(lite_app.test_client(), make_user("plain.user"))
    plain.sign_in()
    assert 'href="/admin/"' in admin.client.get("/").get_data(as_text=True)
    assert 'href="/admin/"' not in plain.client.get("/").get_data(as_text=True)




def test_admin_returns_to_the_page_asked_for_after_typing_a_code(lite_app, iam, make_user):
    walker = Person(lite_app.test_client(), make_user(ADMIN))
    walker.seed = give_device(iam, ADMIN)
    walker.sign_in()
    asked = walker.client.get("/admin/audit")
    assert asked.location == "/credentials/code?next=/admin/audit&why=admin"
    page = walker.client.get(asked.location).get_data(as_text=True)
    assert "Your code unlocks the admin pages." in page and 'name="duration"' not in page
    typed = walker.client.post(asked.location, data={"device": f"arn:aws:iam::123456789012:mfa/{ADMIN}",
                                                     "code": code(walker.seed, 1)})
    assert typed.status_code == 302 and typed.location == "/admin/audit"
    assert_page(walker.client.get(typed.location), 200, "Audit log")
