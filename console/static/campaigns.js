/* The campaign editor: each step's decision kept up to date as the form changes, and the date-field inputs
 * shown only for steps counted from a date field.
 *
 * The form works without this file: "Add step", "Remove", "Up", "Down" and "Show decisions" are submit buttons
 * the server handles, and every page it renders shows each step's decision. Here every change posts the form to
 * the preview URL (with the CSRF token) and swaps in the decision it answers for each step. No inline script:
 * the page runs under the console's strict Content-Security-Policy.
 */
(function () {
  "use strict";

  function all(root, selector) {
    return Array.prototype.slice.call(root.querySelectorAll(selector));
  }

  function syncKinds(form) {
    all(form, "[data-step]").forEach(function (step) {
      var kind = step.querySelector("[data-delay-kind]");
      var relative = kind && kind.value === "field";
      all(step, "[data-field-only]").forEach(function (el) { el.hidden = !relative; });
    });
  }

  function setup(form) {
    var url = form.getAttribute("data-preview-url");
    var csrfToken = form.querySelector("input[name=csrf_token]").value;
    var timer = null;
    var refresh = window.SealedLiveForm.refresher(url, form, csrfToken, function (answer) {
      Object.keys(answer.decisions || {}).forEach(function (prefix) {
        var panel = form.querySelector('[data-decision-for="' + prefix + '"]');
        if (panel) {
          panel.innerHTML = answer.decisions[prefix];
        }
      });
    }, function () { /* the page keeps the last decisions; "Show decisions" asks the server */ });

    function later() {
      syncKinds(form);
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 250);
    }

    form.addEventListener("change", later);
    form.addEventListener("input", later);
    syncKinds(form);
  }

  all(document, "[data-campaign-form]").forEach(setup);
}());
