"""The relay's writing modules, one per topic: `registration` (the referral link, the form, the double
opt-in), `ledger` (credits and slots, append-only), `contracts`, and the operator's and companies' work on
registrants, referral requests and introductions."""
