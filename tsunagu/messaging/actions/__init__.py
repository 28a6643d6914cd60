"""Every change messaging makes, one module per topic (as Zulip's zerver/actions/): templates, notices
(planning, cancelling, waking a worker), delivery, alerts, follow-ups, suppression, tracking events,
provider events and captured mail. Nothing else in messaging writes."""
