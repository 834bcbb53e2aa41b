"""Admin pages for stakeholders (list, CSV import, undoing opt-outs) and campaigns with their waves."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from app.admin import bp
from app.admin.forms import CampaignForm, CampaignReportingForm, CampaignSenderForm, StakeholderImportForm
from app.auth.access import admin_required
from app.errors import InvalidInput, InvalidTransition
from app.extensions import db, limiter
from app.models import Campaign, Invitation, Stakeholder, Wave
from app.models.base import utcnow
from app.forms import apply_errors
from app.services import bounces
from app.services import campaigns as campaign_service
from app.services import mail_check
from app.services import providers as provider_service
from app.services import send_rate
from app.services import stakeholders as stakeholder_service
from app.services.mailer import MailSettings, email_previews

STAKEHOLDERS_PER_PAGE = 50
SKIPPED_ROWS_SHOWN = 10


@bp.get("/stakeholders")
@admin_required
def stakeholders():
    search = request.args.get("q", "").strip()[:200]
    opted_out = request.args.get("opted_out") == "1"
    page = db.paginate(stakeholder_service.search_query(search, opted_out=opted_out),
                       per_page=STAKEHOLDERS_PER_PAGE, error_out=False)
    return render_template("admin/stakeholders.html", page=page, search=search, opted_out=opted_out,
                           counts=stakeholder_service.stakeholder_counts())


@bp.post("/stakeholders/<int:stakeholder_id>/opt-in")
@admin_required
def stakeholder_opt_in(stakeholder_id: int):
    stakeholder = db.get_or_404(Stakeholder, stakeholder_id)
    stakeholder_service.undo_opt_out(stakeholder)
    flash(f"{stakeholder.email} will be invited to surveys again.", "success")
    return redirect(url_for("admin.stakeholders", q=request.form.get("q") or None,
                            opted_out=request.form.get("opted_out") or None))


@bp.post("/stakeholders/<int:stakeholder_id>/deliverable")
@admin_required
def stakeholder_clear_undeliverable(stakeholder_id: int):
    stakeholder = db.get_or_404(Stakeholder, stakeholder_id)
    bounces.clear_undeliverable(stakeholder)
    flash(f"{stakeholder.email} will be invited to surveys again.", "success")
    return redirect(url_for("admin.stakeholders", q=request.form.get("q") or None,
                            opted_out=request.form.get("opted_out") or None))


@bp.route("/stakeholders/import", methods=["GET", "POST"])
@admin_required
def stakeholders_import():
    form = StakeholderImportForm()
    report = None
    too_many = None
    status = 200
    if form.validate_on_submit():
        try:
            report = stakeholder_service.import_stakeholders(
                form.file.data.stream, sync=form.sync.data, skip_invalid=form.skip_invalid.data,
                force=form.sync.data and form.confirm_deactivation.data)
        except stakeholder_service.TooManyDeactivations as error:
            too_many = error
            status = 422
        except InvalidInput as error:
            form.file.errors = [*form.file.errors, error.message]
            status = 422
        else:
            if report.applied:
                flash(f"Import finished: {report.summary()}.", "success")
                for row_error in report.errors[:SKIPPED_ROWS_SHOWN]:
                    flash(f"Skipped {row_error}", "info")
                if report.invalid_rows > SKIPPED_ROWS_SHOWN:
                    flash(f"… and {report.invalid_rows - SKIPPED_ROWS_SHOWN} more skipped rows.", "info")
                return redirect(url_for("admin.stakeholders"))
            status = 422
    elif form.is_submitted():
        status = 422
    return render_template("admin/stakeholders_import.html", form=form, report=report, too_many=too_many,
                           sync_share=stakeholder_service.SYNC_CONFIRM_SHARE), status


@bp.get("/campaigns")
@admin_required
def campaigns():
    return render_template("admin/campaigns.html", summaries=campaign_service.campaign_summaries())


def _campaign_form() -> CampaignForm:
    form = CampaignForm()
    form.provider_id.choices = [SelectChoice(p.id, p.name) for p in provider_service.all_providers()]
    form.definition_id.choices = [SelectChoice(d.id, f"{d.title} (v{d.version})")
                                  for d in campaign_service.latest_definitions()]
    form.audience_area_codes.choices = [SelectChoice(a.code, f"{a.name} ({a.provider.name})")
                                        for a in provider_service.active_service_areas()]
    return form


@bp.route("/campaigns/new", methods=["GET", "POST"])
@admin_required
def campaign_new():
    form = _campaign_form()
    status = 200
    if form.validate_on_submit():
        try:
            campaign = campaign_service.create_campaign(
                name=form.name.data, provider_id=form.provider_id.data, definition_id=form.definition_id.data,
                anchor_date=form.anchor_date.data, now=utcnow(), timezone=current_app.config["TIMEZONE"],
                cadence=form.cadence.data, interval_count=form.interval_count.data,
                window_days=form.window_days.data,
                reminder_days=campaign_service.parse_day_list(form.reminder_days.data),
                anonymity=form.anonymity.data, min_group_size=form.min_group_size.data,
                fatigue_days=form.fatigue_days.data, areas_per_person=form.areas_per_person.data,
                audience_departments=(form.audience_departments.data or "").split(","),
                audience_area_codes=form.audience_area_codes.data or [],
                sender_name=form.sender_name.data, reply_to=form.reply_to.data)
        except InvalidInput as error:
            apply_errors(form, error)
            status = 422
        else:
            flash(f"Campaign {campaign.name} created.", "success")
            return redirect(url_for("admin.campaign_detail", campaign_id=campaign.id))
    elif form.is_submitted():
        status = 422
    return render_template("admin/campaign_new.html", form=form,
                           estimates=campaign_service.time_estimates(campaign_service.latest_definitions())), status


def _reporting_form(campaign: Campaign, waves: list[Wave], formdata=None) -> CampaignReportingForm:
    form = CampaignReportingForm(formdata=formdata, data={
        "baseline_wave_id": campaign.baseline_wave_id or 0, "hourly_cost": campaign.hourly_cost,
        "currency": campaign.currency or ""})
    form.baseline_wave_id.choices = [SelectChoice(0, "No baseline")] + [
        SelectChoice(w.id, w.label) for w in waves if w.state != "scheduled"]
    return form


@bp.get("/campaigns/<int:campaign_id>")
@admin_required
def campaign_detail(campaign_id: int):
    return _campaign_page(db.get_or_404(Campaign, campaign_id))


def _sender_form(campaign: Campaign, formdata=None) -> CampaignSenderForm:
    return CampaignSenderForm(formdata=formdata, data={"sender_name": campaign.sender_name or "",
                                                       "reply_to": campaign.reply_to or ""})


def _campaign_page(campaign: Campaign, reporting_form: CampaignReportingForm | None = None, status: int = 200,
                   sender_form: CampaignSenderForm | None = None):
    waves = campaign_service.waves_newest_first(campaign.id)
    reporting_form = reporting_form or _reporting_form(campaign, waves)
    return render_template("admin/campaign_detail.html", campaign=campaign, waves=waves,
                           reporting_form=reporting_form, sender_form=sender_form or _sender_form(campaign),
                           estimate=campaign_service.campaign_time_estimate(campaign),
                           area_rates=campaign_service.area_response_rates(campaign, waves),
                           counts=campaign_service.wave_counts(campaign.id), empty=campaign_service.WaveCounts(),
                           failed=campaign_service.failed_invitations(campaign.id),
                           bounced=campaign_service.bounced_invitations(campaign.id),
                           sending=send_rate.sending_overview(utcnow(),
                                                              send_rate.SendLimits.from_config(current_app.config)),
                           email_previews=email_previews(campaign, waves, MailSettings.from_config(current_app.config),
                                                         utcnow())), status


@bp.post("/campaigns/<int:campaign_id>/report-settings")
@admin_required
def campaign_report_settings(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    form = _reporting_form(campaign, campaign_service.waves_newest_first(campaign.id), request.form)
    if form.validate():
        try:
            campaign_service.save_report_settings(campaign, baseline_wave_id=form.baseline_wave_id.data,
                                                  hourly_cost=form.hourly_cost.data, currency=form.currency.data)
        except InvalidInput as error:
            apply_errors(form, error)
        else:
            flash("Report settings saved.", "success")
            return redirect(url_for("admin.campaign_detail", campaign_id=campaign.id))
    return _campaign_page(campaign, form, 422)


@bp.post("/campaigns/<int:campaign_id>/sender")
@admin_required
def campaign_sender(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    form = _sender_form(campaign, request.form)
    if form.validate():
        try:
            campaign_service.save_sender_settings(campaign, sender_name=form.sender_name.data,
                                                  reply_to=form.reply_to.data)
        except InvalidInput as error:
            apply_errors(form, error)
        else:
            flash("Email settings saved.", "success")
            return redirect(url_for("admin.campaign_detail", campaign_id=campaign.id))
    return _campaign_page(campaign, status=422, sender_form=form)


def _signed_in_user_key() -> str:
    return f"user:{current_user.get_id()}"


@bp.post("/campaigns/<int:campaign_id>/test-message")
@admin_required
# Each request opens a session with the mail server: an admin checking settings needs a few, not hundreds.
@limiter.limit("10 per hour", key_func=_signed_in_user_key)
def campaign_test_message(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    try:
        result = mail_check.send_test_message(MailSettings.from_config(current_app.config),
                                              request.form.get("email", ""), utcnow())
    except InvalidInput as error:
        flash(error.message, "error")
    else:
        flash(result.summary(), "success" if result.delivered else "error")
    return redirect(url_for("admin.campaign_detail", campaign_id=campaign.id))


@bp.context_processor
def inject_dispatcher_health() -> dict:
    """Admin pages say when the dispatcher last ran: without it no wave opens and no email leaves."""
    if not (current_user.is_authenticated and current_user.has_role("admin")):
        return {}
    return {"dispatcher_health": mail_check.dispatcher_health(utcnow())}


def _wave_action(wave_id: int, action, done: str):
    wave = db.get_or_404(Wave, wave_id)
    try:
        result = action(wave)
    except InvalidTransition as error:
        flash(error.message, "error")
    else:
        flash(done.format(wave=wave, result=result), "success")
    return redirect(url_for("admin.campaign_detail", campaign_id=wave.campaign_id))


@bp.post("/waves/<int:wave_id>/open")
@admin_required
def wave_open(wave_id: int):
    return _wave_action(wave_id, lambda wave: campaign_service.open_wave_now(wave, utcnow()),
                        "Wave {wave.label} is open; {result.invited} invitations will go out with the next "
                        "dispatcher pass.")


@bp.post("/waves/<int:wave_id>/close")
@admin_required
def wave_close(wave_id: int):
    return _wave_action(wave_id, lambda wave: campaign_service.close_wave_early(wave, utcnow()),
                        "Wave {wave.label} is closed.")


@bp.post("/invitations/<int:invitation_id>/resend")
@admin_required
def invitation_resend(invitation_id: int):
    invitation = db.get_or_404(Invitation, invitation_id)
    try:
        campaign_service.resend_invitation(invitation, utcnow())
    except InvalidTransition as error:
        flash(error.message, "error")
    else:
        flash(f"The invitation to {invitation.stakeholder.email} will be sent again with a new link.", "success")
    return redirect(url_for("admin.campaign_detail", campaign_id=invitation.wave.campaign_id))
