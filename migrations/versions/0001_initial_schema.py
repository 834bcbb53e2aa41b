"""Initial schema: organisation, survey catalog, campaigns and waves, responses, accounts.

Reviewed by hand after autogenerate. UTCDateTime columns are plain timezone-aware DateTime here:
the type decorator only converts values in Python, the stored type is the same.

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 16:41:11.958732

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('provider',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('contract_reference', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider')),
    sa.UniqueConstraint('name', name=op.f('uq_provider_name'))
    )
    op.create_table('stakeholder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('department', sa.String(length=120), nullable=True),
    sa.Column('location', sa.String(length=120), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_stakeholder_email_lowercase')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stakeholder')),
    sa.UniqueConstraint('email', name=op.f('uq_stakeholder_email'))
    )
    with op.batch_alter_table('stakeholder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stakeholder_department'), ['department'], unique=False)

    op.create_table('survey_definition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=80), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_definition')),
    sa.UniqueConstraint('code', 'checksum', name=op.f('uq_survey_definition_code_checksum')),
    sa.UniqueConstraint('code', 'version', name=op.f('uq_survey_definition_code_version'))
    )
    with op.batch_alter_table('survey_definition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_definition_code'), ['code'], unique=False)

    op.create_table('campaign',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('audience_departments', sa.JSON(), nullable=False),
    sa.Column('audience_area_codes', sa.JSON(), nullable=False),
    sa.Column('cadence', sa.String(length=20), nullable=False),
    sa.Column('interval_count', sa.Integer(), nullable=False),
    sa.Column('anchor_date', sa.Date(), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('reminder_days', sa.JSON(), nullable=False),
    sa.Column('anonymity', sa.String(length=20), nullable=False),
    sa.Column('segment_attributes', sa.JSON(), nullable=False),
    sa.Column('min_group_size', sa.Integer(), nullable=False),
    sa.Column('fatigue_days', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("anonymity IN ('anonymous', 'confidential')", name=op.f('ck_campaign_anonymity_known')),
    sa.CheckConstraint("cadence IN ('monthly', 'quarterly', 'weekly')", name=op.f('ck_campaign_cadence_known')),
    sa.CheckConstraint('fatigue_days >= 0', name=op.f('ck_campaign_fatigue_not_negative')),
    sa.CheckConstraint('interval_count >= 1', name=op.f('ck_campaign_interval_positive')),
    sa.CheckConstraint('min_group_size >= 2', name=op.f('ck_campaign_min_group_size_at_least_two')),
    sa.CheckConstraint('window_days >= 1', name=op.f('ck_campaign_window_positive')),
    sa.ForeignKeyConstraint(['definition_id'], ['survey_definition.id'], name=op.f('fk_campaign_definition_id_survey_definition'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_campaign_provider_id_provider'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign')),
    sa.UniqueConstraint('name', name=op.f('uq_campaign_name'))
    )
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_provider_id'), ['provider_id'], unique=False)

    op.create_table('question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('help_text', sa.Text(), nullable=True),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('min_value', sa.Integer(), nullable=True),
    sa.Column('max_value', sa.Integer(), nullable=True),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.CheckConstraint("kind IN ('rating', 'nps', 'hours', 'reasons', 'comment', 'choice')", name=op.f('ck_question_kind_known')),
    sa.CheckConstraint("scope IN ('area', 'relationship')", name=op.f('ck_question_scope_known')),
    sa.CheckConstraint('min_value IS NULL OR max_value IS NULL OR min_value <= max_value', name=op.f('ck_question_range_ordered')),
    sa.ForeignKeyConstraint(['definition_id'], ['survey_definition.id'], name=op.f('fk_question_definition_id_survey_definition'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_question')),
    sa.UniqueConstraint('definition_id', 'code', name=op.f('uq_question_definition_id_code'))
    )
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_definition_id'), ['definition_id'], unique=False)

    op.create_table('service_area',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('target_satisfaction', sa.Float(), nullable=True),
    sa.Column('target_happiness', sa.Float(), nullable=True),
    sa.CheckConstraint('target_happiness IS NULL OR (target_happiness >= -100 AND target_happiness <= 100)', name=op.f('ck_service_area_target_happiness_range')),
    sa.CheckConstraint('target_satisfaction IS NULL OR (target_satisfaction >= 1 AND target_satisfaction <= 5)', name=op.f('ck_service_area_target_satisfaction_range')),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_service_area_provider_id_provider'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_area')),
    sa.UniqueConstraint('code', name=op.f('uq_service_area_code'))
    )
    with op.batch_alter_table('service_area', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_area_provider_id'), ['provider_id'], unique=False)

    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('must_change_password', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role <> 'provider' OR provider_id IS NOT NULL", name=op.f('ck_user_provider_user_has_provider')),
    sa.CheckConstraint("role IN ('admin', 'manager', 'provider')", name=op.f('ck_user_role_known')),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_user_email_lowercase')),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_user_provider_id_provider'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user')),
    sa.UniqueConstraint('email', name=op.f('uq_user_email'))
    )
    op.create_table('campaign_service_area',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('service_area_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_service_area_campaign_id_campaign'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_area_id'], ['service_area.id'], name=op.f('fk_campaign_service_area_service_area_id_service_area'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'service_area_id', name=op.f('pk_campaign_service_area'))
    )
    op.create_table('stakeholder_service_area',
    sa.Column('stakeholder_id', sa.Integer(), nullable=False),
    sa.Column('service_area_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['service_area_id'], ['service_area.id'], name=op.f('fk_stakeholder_service_area_service_area_id_service_area'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stakeholder_id'], ['stakeholder.id'], name=op.f('fk_stakeholder_service_area_stakeholder_id_stakeholder'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('stakeholder_id', 'service_area_id', name=op.f('pk_stakeholder_service_area'))
    )
    op.create_table('wave',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('scheduled', 'open', 'closed')", name=op.f('ck_wave_state_known')),
    sa.CheckConstraint('closes_at > opens_at', name=op.f('ck_wave_closes_after_opening')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_wave_campaign_id_campaign'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wave')),
    sa.UniqueConstraint('campaign_id', 'label', name=op.f('uq_wave_campaign_id_label'))
    )
    with op.batch_alter_table('wave', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wave_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('stakeholder_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminders_sent', sa.Integer(), nullable=False),
    sa.Column('last_reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminder_claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'sending', 'sent', 'failed')", name=op.f('ck_invitation_state_known')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_invitation_attempts_not_negative')),
    sa.CheckConstraint('reminders_sent >= 0', name=op.f('ck_invitation_reminders_not_negative')),
    sa.ForeignKeyConstraint(['stakeholder_id'], ['stakeholder.id'], name=op.f('fk_invitation_stakeholder_id_stakeholder'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['wave_id'], ['wave.id'], name=op.f('fk_invitation_wave_id_wave'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
    sa.UniqueConstraint('wave_id', 'stakeholder_id', name=op.f('uq_invitation_wave_id_stakeholder_id'))
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_stakeholder_id'), ['stakeholder_id'], unique=False)
        batch_op.create_index('ix_invitation_state_next_attempt_at', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitation_wave_id'), ['wave_id'], unique=False)

    op.create_table('score_tally',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('question_code', sa.String(length=80), nullable=False),
    sa.Column('area_key', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=120), nullable=False),
    sa.Column('score', sa.SmallInteger(), nullable=False),
    sa.Column('answer_count', sa.Integer(), nullable=False),
    sa.CheckConstraint('answer_count >= 0', name=op.f('ck_score_tally_count_not_negative')),
    sa.ForeignKeyConstraint(['wave_id'], ['wave.id'], name=op.f('fk_score_tally_wave_id_wave'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_tally')),
    sa.UniqueConstraint('wave_id', 'question_code', 'area_key', 'department', 'score', name=op.f('uq_score_tally_wave_id_question_code_area_key_department_score'))
    )
    op.create_table('invitation_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], name=op.f('fk_invitation_token_invitation_id_invitation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invitation_token_token_hash'))
    )
    with op.batch_alter_table('invitation_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_token_invitation_id'), ['invitation_id'], unique=False)

    op.create_table('response',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('department', sa.String(length=120), nullable=True),
    sa.Column('location', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], name=op.f('fk_response_invitation_id_invitation'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['wave_id'], ['wave.id'], name=op.f('fk_response_wave_id_wave'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response')),
    sa.UniqueConstraint('invitation_id', name=op.f('uq_response_invitation_id'))
    )
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.create_index('ix_response_wave_id_department', ['wave_id', 'department'], unique=False)

    op.create_table('response_draft',
    sa.Column('invitation_id', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], name=op.f('fk_response_draft_invitation_id_invitation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('invitation_id', name=op.f('pk_response_draft'))
    )
    op.create_table('answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Uuid(), nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('service_area_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.SmallInteger(), nullable=True),
    sa.Column('hours', sa.Float(), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('sentiment_polarity', sa.Float(), nullable=True),
    sa.Column('sentiment_subjectivity', sa.Float(), nullable=True),
    sa.Column('sentiment_label', sa.String(length=10), nullable=True),
    sa.Column('sentiment_drivers', sa.JSON(), nullable=True),
    sa.Column('analyzer_version', sa.String(length=80), nullable=True),
    sa.Column('label_override', sa.String(length=10), nullable=True),
    sa.Column('label_override_by_id', sa.Integer(), nullable=True),
    sa.Column('label_override_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('shareable', sa.Boolean(), nullable=False),
    sa.CheckConstraint("label_override IS NULL OR label_override IN ('positive', 'neutral', 'negative')", name=op.f('ck_answer_override_known')),
    sa.CheckConstraint("sentiment_label IS NULL OR sentiment_label IN ('positive', 'neutral', 'negative')", name=op.f('ck_answer_label_known')),
    sa.CheckConstraint('hours IS NULL OR (hours >= 0 AND hours <= 1000)', name=op.f('ck_answer_hours_range')),
    sa.CheckConstraint('score IS NULL OR (score >= 0 AND score <= 10)', name=op.f('ck_answer_score_range')),
    sa.CheckConstraint('sentiment_polarity IS NULL OR (sentiment_polarity >= -1 AND sentiment_polarity <= 1)', name=op.f('ck_answer_polarity_range')),
    sa.CheckConstraint('sentiment_subjectivity IS NULL OR (sentiment_subjectivity >= 0 AND sentiment_subjectivity <= 1)', name=op.f('ck_answer_subjectivity_range')),
    sa.ForeignKeyConstraint(['label_override_by_id'], ['user.id'], name=op.f('fk_answer_label_override_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_answer_question_id_question'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], name=op.f('fk_answer_response_id_response'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_area_id'], ['service_area.id'], name=op.f('fk_answer_service_area_id_service_area'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['wave_id'], ['wave.id'], name=op.f('fk_answer_wave_id_wave'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer')),
    sa.UniqueConstraint('response_id', 'question_id', 'service_area_id', name=op.f('uq_answer_response_id_question_id_service_area_id'))
    )
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_answer_response_id'), ['response_id'], unique=False)
        batch_op.create_index('ix_answer_wave_id_question_id_service_area_id', ['wave_id', 'question_id', 'service_area_id'], unique=False)



def downgrade():
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_index('ix_answer_wave_id_question_id_service_area_id')
        batch_op.drop_index(batch_op.f('ix_answer_response_id'))

    op.drop_table('answer')
    op.drop_table('response_draft')
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_index('ix_response_wave_id_department')

    op.drop_table('response')
    with op.batch_alter_table('invitation_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_token_invitation_id'))

    op.drop_table('invitation_token')
    op.drop_table('score_tally')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_wave_id'))
        batch_op.drop_index('ix_invitation_state_next_attempt_at')
        batch_op.drop_index(batch_op.f('ix_invitation_stakeholder_id'))

    op.drop_table('invitation')
    with op.batch_alter_table('wave', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wave_campaign_id'))

    op.drop_table('wave')
    op.drop_table('stakeholder_service_area')
    op.drop_table('campaign_service_area')
    op.drop_table('user')
    with op.batch_alter_table('service_area', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_area_provider_id'))

    op.drop_table('service_area')
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_definition_id'))

    op.drop_table('question')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_provider_id'))

    op.drop_table('campaign')
    with op.batch_alter_table('survey_definition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_definition_code'))

    op.drop_table('survey_definition')
    with op.batch_alter_table('stakeholder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stakeholder_department'))

    op.drop_table('stakeholder')
    op.drop_table('provider')
