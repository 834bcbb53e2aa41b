"""What every blueprint's forms share: putting a service's InvalidInput next to the fields it names."""
from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm

from app.errors import InvalidInput

SHORT_CODE = 12  # messages this short are codes ("taken", "unknown"): the error's sentence replaces them


def apply_errors(form: FlaskForm, error: InvalidInput) -> None:
    """Show each message of `error` next to the field it names, keeping what was typed. A message for
    no field of this form is flashed above it instead, so nothing the service said is lost."""
    placed = False
    for name, messages in error.errors.items():
        if name in form:
            form[name].errors = [*form[name].errors,
                                 *(message if len(message) > SHORT_CODE else error.message for message in messages)]
            placed = True
    if not placed:
        flash(error.message, "error")
