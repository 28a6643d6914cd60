"""Privacy: what the law and the person expect of the personal data the other apps hold. Retention enforced
(anonymisation past the deadline), the person's requests (export, correction, stop of use, deletion), the
company's export of all its data, and the public privacy-policy pages.

It sits above relay, messaging and talent because erasing a person reaches into each of them; intake calls it
for ATS deletion events."""
