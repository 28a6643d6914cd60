"""How sending one mail can fail: the delivery loop retries a temporary failure and gives up on a permanent
one. Building the mail (compose) raises PermanentFailure too, so both import them from here."""


class TemporaryFailure(Exception):
    """Worth another attempt later (a 4xx answer, no answer, a provider's rate limit)."""


class PermanentFailure(Exception):
    """This mail will never go out as it is (a 5xx answer, an address the header cannot hold, a template
    that cannot render with this message's data)."""
