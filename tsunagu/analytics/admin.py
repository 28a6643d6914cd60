from django.contrib import admin

from tsunagu.analytics.models import DailyCount, HiringCost, RollupState
from tsunagu.lib.admin import ReadOnlyAdmin


@admin.register(DailyCount)
class DailyCountAdmin(ReadOnlyAdmin):
    list_display = ["company", "day", "metric", "dimension", "value", "count"]
    list_filter = ["metric", "dimension"]


@admin.register(RollupState)
class RollupStateAdmin(ReadOnlyAdmin):
    list_display = ["company", "watermark", "refreshed_at"]


@admin.register(HiringCost)
class HiringCostAdmin(ReadOnlyAdmin):
    list_display = ["company", "month", "cost_yen", "hires", "updated_at"]
