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
// <details data-open-wide>: open on a wide screen, folded on a phone (the pool page's filters and facets).
document.addEventListener("DOMContentLoaded", function () {
  if (!window.matchMedia("(min-width: 701px)").matches) return;
  document.querySelectorAll("details[data-open-wide]").forEach(function (details) { details.open = true; });
});
// <input type="checkbox" data-check-all="name">: ticks or clears every checkbox called `name` in its form.
document.addEventListener("change", function (event) {
  var all = event.target.closest && event.target.closest("[data-check-all]");
  if (!all || !all.form) return;
  all.form.querySelectorAll('input[type=checkbox][name="' + all.dataset.checkAll + '"]').forEach(function (box) {
    box.checked = all.checked;
  });
});
// An htmx form with data-swap-errors: a 400 answer (the form with its error) is swapped in like a 200.
document.addEventListener("htmx:beforeSwap", function (event) {
  var source = event.detail.requestConfig && event.detail.requestConfig.elt;
  if (event.detail.xhr.status === 400 && source && source.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
// <button data-print>: the browser's print dialog (the printable report; "PDFとして保存" there).
document.addEventListener("click", function (event) {
  if (event.target.closest && event.target.closest("[data-print]")) window.print();
});
