"""The survey catalog: shipped files validate, broken ones are rejected precisely, loading is versioned."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from app.errors import CatalogError
from app.models import Question, SurveyDefinition
from app.services import catalog

SURVEYS = Path(__file__).resolve().parents[2] / "surveys"
DEFAULT = SURVEYS / "quarterly-provider-satisfaction.yaml"


@pytest.mark.parametrize("path", catalog.definition_files(SURVEYS), ids=lambda p: p.name)
def test_every_shipped_definition_validates(path):
    spec = catalog.parse_file(path)
    assert spec["questions"], "a survey without questions"


def test_default_survey_covers_what_an_outsourcing_review_needs():
    spec = catalog.parse_file(DEFAULT)
    by_code = {q["code"]: q for q in spec["questions"]}
    assert by_code["satisfaction"]["scale"] == {"min": 1, "max": 5, "min_label": "Very dissatisfied",
                                               "max_label": "Very satisfied"}
    assert by_code["recommend"]["kind"] == "nps" and by_code["recommend"]["metric"] == "happiness"
    assert {"responsiveness", "resolution_quality", "communication", "expertise"} <= by_code.keys()
    assert by_code["time_lost"]["kind"] == "hours"
    assert by_code["reasons"]["good"] and by_code["reasons"]["bad"]
    assert {"partnership", "proactivity", "account_management"} <= by_code.keys()
    assert all(by_code[c]["scope"] == "relationship" for c in ("partnership", "proactivity", "account_management"))


def _broken(tmp_path: Path, mutate) -> Path:
    spec = yaml.safe_load(DEFAULT.read_text())
    mutate(spec)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("mutate", "where", "problem"),
    [
        (lambda s: s.pop("title"), "$", "'title' is a required property"),
        (lambda s: s["questions"][0]["scale"].update(max="five"), "$.questions[0].scale.max", "is not of type 'integer'"),
        (lambda s: s["questions"][1].update(kind="slider"), "$.questions[1].kind", "is not one of"),
        (lambda s: s["questions"][2].update(code="satisfaction"), "$.questions[2].code", "duplicate question code"),
        (lambda s: s["questions"][7].update(follows="nothing"), "$.questions[7].follows", "not an earlier question"),
        (lambda s: s["questions"][5].update(scale={"min": 1, "max": 5}), "$.questions[5].scale", "0 to 10"),
        (lambda s: s["questions"][0]["scale"].update(min=5, max=1), "$.questions[0].scale", "min must be smaller"),
        (lambda s: s["questions"][0].update(colour="red"), "$.questions[0]", "'colour' was unexpected"),
    ],
    ids=["missing-title", "scale-not-integer", "unknown-kind", "duplicate-code", "reasons-follow-unknown",
         "nps-not-0-10", "scale-reversed", "unknown-key"],
)
def test_broken_definition_is_rejected_with_file_path_and_problem(tmp_path, mutate, where, problem):
    path = _broken(tmp_path, mutate)
    with pytest.raises(CatalogError) as caught:
        catalog.parse_file(path)
    assert caught.value.source == "broken.yaml"
    assert caught.value.path == where
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"broken.yaml: {where}: ")


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("code: x\ntitle: [unclosed\nquestions: []\n")
    with pytest.raises(CatalogError) as caught:
        catalog.parse_file(path)
    assert caught.value.path.startswith("line ")
    assert "not valid YAML" in caught.value.problem


def test_loading_twice_is_a_no_op_and_a_change_makes_a_new_version(db, tmp_path):
    shutil.copy(DEFAULT, tmp_path / DEFAULT.name)
    first = catalog.load_directory(tmp_path)
    again = catalog.load_directory(tmp_path)
    assert [(r.version, r.created) for r in first] == [(1, True)]
    assert [(r.version, r.created) for r in again] == [(1, False)]
    assert db.session.scalar(select(func.count()).select_from(SurveyDefinition)) == 1

    # Re-indenting and comments are not a change; a new question text is.
    text = (tmp_path / DEFAULT.name).read_text()
    (tmp_path / DEFAULT.name).write_text("# edited comment\n" + text)
    assert catalog.load_directory(tmp_path)[0].created is False
    (tmp_path / DEFAULT.name).write_text(text.replace("How quickly did they respond", "How fast did they respond"))
    changed = catalog.load_directory(tmp_path)
    assert [(r.version, r.created) for r in changed] == [(2, True)]
    codes = db.session.execute(
        select(SurveyDefinition.version, Question.code).join(Question).where(Question.code == "responsiveness")
    ).all()
    assert sorted(codes) == [(1, "responsiveness"), (2, "responsiveness")], "codes stay stable across versions"


def test_a_broken_file_loads_nothing(db, tmp_path):
    shutil.copy(DEFAULT, tmp_path / "a.yaml")
    _broken(tmp_path, lambda s: s.update(code="other", title=""))
    with pytest.raises(CatalogError):
        catalog.load_directory(tmp_path)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SurveyDefinition)) == 0


def test_cli_validate_reports_broken_files(runner, tmp_path):
    shutil.copy(DEFAULT, tmp_path / DEFAULT.name)
    _broken(tmp_path, lambda s: s["questions"][0].update(kind="slider"))
    result = runner.invoke(args=["surveys", "validate", str(tmp_path)])
    assert result.exit_code == 1
    assert f"ok      {DEFAULT.name}" in result.output
    assert "INVALID broken.yaml: $.questions[0].kind:" in result.output
