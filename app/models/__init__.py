"""All models, imported here so Alembic and `db.create_all` see every table."""
from app.models.campaign import (
    Campaign,
    DispatcherState,
    Invitation,
    InvitationToken,
    MailSend,
    Wave,
    hash_token,
)
from app.models.jobs import ReviewPackJob
from app.models.org import Provider, ServiceArea, Stakeholder
from app.models.response import Answer, PooledResponse, Response, ResponseDraft, ScoreTally
from app.models.survey import Question, SurveyDefinition
from app.models.user import User

__all__ = [
    "Answer",
    "Campaign",
    "DispatcherState",
    "Invitation",
    "InvitationToken",
    "MailSend",
    "PooledResponse",
    "Provider",
    "Question",
    "Response",
    "ResponseDraft",
    "ReviewPackJob",
    "ScoreTally",
    "ServiceArea",
    "Stakeholder",
    "SurveyDefinition",
    "User",
    "Wave",
    "hash_token",
]
