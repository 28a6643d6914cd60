"""The relay's pages: `public` (the candidate's), `company` (a company's console), `operator` (the desk)."""
