"""A person signs in with the keyboard only in a real browser."""
from __future__ import annotations

import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_manager_signs_in_with_the_keyboard(page, live_server, manager_user, screenshot):
    page.goto(f"{live_server}/")
    assert page.title().startswith("Sign in")
    page.keyboard.press("Tab")  # skip link first, as a keyboard user meets it
    page.focus("#email")
    page.keyboard.type(manager_user.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    screenshot(page, "filled")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert manager_user.email in page.inner_text("header")
    screenshot(page, "signed-in")
