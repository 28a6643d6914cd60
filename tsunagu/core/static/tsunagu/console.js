// The console's small behaviours, asked for by data- attributes: the Content-Security-Policy allows no
// inline script or event handler (onclick="…"), so they live here.
"use strict";
// <select data-autosubmit>: choosing an option submits its form (the language switch).
document.addEventListener("change", function (event) {
  var field = event.target.closest && event.target.closest("[data-autosubmit]");
  if (field && field.form) field.form.submit();
});
// <form data-confirm="…"> or <button data-confirm="…">: ask before submitting; cancelling stops it.
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  var question = (button && button.dataset.confirm) || event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
}, true);
