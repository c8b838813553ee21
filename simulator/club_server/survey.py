"""The satisfaction survey SMS after a confirmed purchase: when the store's program says
survey_sms yes, at most one per member in survey_every_days days (campaign_marks, set in the
confirmation's own database transaction: a repeated 0220 queues nothing more)."""

from simulator.club_server import campaign_storage as cs
from simulator.club_server import campaign_texts as texts
from simulator.club_server.campaign_settings import CampaignSettings

SURVEY = "survey"
DAY = 86400.0


def after_purchase(ctx, txn, card, member):
    cfg = CampaignSettings(ctx.merchant["program_id"], ctx.settings)
    if not cfg.on("survey_sms") or not member["phone"]:
        return
    older_than = ctx.now - cfg.number("survey_every_days") * DAY
    if cs.mark_if_older(ctx.store, member["id"], SURVEY, ctx.now, older_than, txn["id"]):
        text = texts.notice(
            SURVEY, when=ctx.now, card_last4=card["last4"], store=ctx.merchant["name_fa"]
        )
        ctx.store.add_outbox(member["phone"], text, txn["id"], ctx.now)
