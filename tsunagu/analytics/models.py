"""Pre-aggregated figures for the dashboard: one row per company, company-local day and counted thing.

The dashboard sums these rows over the chosen period instead of reading millions of applications and
messages (tsunagu/analytics/actions/rollup.py keeps them current). Each row counts one `metric` on one
`day`, optionally broken down by a `dimension` (応募経路, job category, job, rejection reason, template
variant, delay bucket) and its `value`; dimension "" is the company's total.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from tsunagu.companies.models import Company


class DailyCount(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="daily_counts")
    day = models.DateField()
    metric = models.CharField(max_length=40)
    dimension = models.CharField(max_length=20, blank=True)
    value = models.CharField(max_length=200, blank=True)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "metric", "dimension", "day", "value"],
                                               name="daily_count_unique")]
        indexes = [models.Index(fields=["company", "dimension", "metric", "day"], name="daily_count_read_idx")]

    def __str__(self):
        return f"{self.day} {self.metric} {self.dimension}={self.value}: {self.count}"


class RollupState(models.Model):
    """How far the company's DailyCount rows are current: rows of the source tables changed after
    `watermark` have not been counted yet."""
    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="rollup_state")
    watermark = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    # The time zone the rows were counted in: when the company changes its own, everything is counted again.
    time_zone = models.CharField(max_length=64, blank=True)
    # Local days (ISO dates) still to be recounted: a time-boxed refresh leaves the rest here.
    pending_days = models.JSONField(default=list, blank=True)


class HiringCost(models.Model):
    """What HR says hiring cost in a month (advertising, agencies, events...), and how many it hired: the
    basis of 採用単価 with and without the relay."""
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="hiring_costs")
    month = models.DateField(_("月"))  # the first day of the month
    cost_yen = models.PositiveBigIntegerField(_("採用費用(円)"))
    hires = models.PositiveIntegerField(_("採用人数"))
    note = models.CharField(_("メモ"), max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "month"], name="hiring_cost_unique_month")]
