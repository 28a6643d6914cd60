"""Honest tracking: signed links and the open pixel in mail, and how machine traffic is told from people.

- tokens: what a tracked link or pixel carries, signed, so it is answered from the token alone;
- links: rewriting a mail's HTML part to tracked links, adding the pixel, and the referral link's path;
- rules: the scanner and proxy rules (MACHINE_AGENTS, the one list to maintain) that flag machine traffic.

Read-only. The answers to a tracked link or pixel (the Django views and the WSGI fast path) are in
messaging/views/tracking.py; recording the events (an in-process buffer written in bulk) is in
messaging/actions/tracking_events.py.
"""
