"""Messaging's pages and HTTP answers, one module per subject: the console's outbox, suppression list,
templates and follow-ups; the candidate's unsubscribe pages; tracked links and the pixel; the providers'
event webhooks. Thin: reads come from selectors and the read modules, every write goes through actions."""
