"""The relay's pages: `public` and `consent` (the candidate's and registrant's, no login), `company` (a company's
console: ledger and referral requests), `operator*` and `requests_desk` (the operator's desk)."""
